//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// anyns: an anycast authoritative DNS server.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// How log lines are written on stderr.
    #[arg(long, global = true, value_enum, default_value_t)]
    pub log_format: crate::logging::LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve zones over UDP and TCP.
    Serve(ServeArgs),
    /// Check a zone file like named-checkzone: exit 0 when valid, 1 with FILE:LINE errors.
    CheckZone(CheckZoneArgs),
    /// Check a configuration without starting: every key (exit 2 naming the first bad
    /// one), then every zone file it names (exit 1 with FILE:LINE errors).
    CheckConfig(CheckConfigArgs),
    /// Control a running server (knotc-style): status, health, drain, undrain, zone list,
    /// zone status ZONE, zone reload|refresh|retransfer|notify ZONE, bgp peers, cache,
    /// flush NAME, flush-tree NAME. Tables by default, --json for the daemon's answer.
    Ctl(CtlArgs),
    /// The whole fleet: each site's clouds, BGP peers, zone serials and queries/s, polled
    /// over its status endpoint, and which site answers each anycast address from here.
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Find a deployment's anycast pitfalls ahead of time: answer sizes (the server's own
    /// answer code), NS sets and delegations, SOA timers, TTLs, signatures, and the site
    /// configurations themselves. Exit 1 when a finding reaches --fail-on.
    Audit(AuditArgs),
    /// Drain a running server: GRACEFUL_SHUTDOWN, then withdraw every cloud (stays out).
    Drain(ControlArgs),
    /// Undrain: announce again once the health checks pass.
    Undrain(ControlArgs),
    /// Print the health status of a running server as JSON.
    Status(ControlArgs),
    /// Forget a name (or, with --tree, a subtree; with --all, everything) in a running
    /// resolver's cache.
    Flush(FlushArgs),
    /// Print a running resolver's cache size and counters as JSON.
    Cache(ControlArgs),
}

/// `anyns fleet ...`.
#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// One table of every site of the inventory (and its zones, and the anycast answers).
    Status(FleetStatusArgs),
    /// The same as a live, read-only web page with per-site plots of the last hour.
    Serve(FleetServeArgs),
}

/// `anyns fleet serve`.
#[derive(Debug, Args)]
pub struct FleetServeArgs {
    /// The inventory (TOML), as for `fleet status`.
    #[arg(long, short = 'i')]
    pub inventory: PathBuf,
    /// Where the page is served: a loopback or unicast address, never an anycast one.
    #[arg(long, default_value = "127.0.0.1:8053")]
    pub listen: std::net::SocketAddr,
    /// Poll the sites every SECONDS (0.5 to 60).
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub interval: f64,
    /// A file holding a bearer token (16 characters or more) every request must carry.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

/// `anyns fleet status`.
#[derive(Debug, Args)]
pub struct FleetStatusArgs {
    /// The inventory (TOML): sites with their status endpoints, clouds with their
    /// anycast addresses (see README).
    #[arg(long, short = 'i')]
    pub inventory: PathBuf,
    /// Print the view as one JSON object (per poll with --watch).
    #[arg(long)]
    pub json: bool,
    /// Poll again every SECONDS and redraw.
    #[arg(long, value_name = "SECONDS")]
    pub watch: Option<f64>,
    /// With --watch: stop after this many views.
    #[arg(long, requires = "watch")]
    pub count: Option<u32>,
}

/// `anyns audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// A site configuration (its zones, listeners and BGP); repeat for an inventory.
    #[arg(long, short = 'c')]
    pub config: Vec<PathBuf>,
    /// A zone file as ORIGIN=FILE (e.g. a child zone, or a zone without a config).
    #[arg(long, value_name = "ORIGIN=FILE")]
    pub zone: Vec<String>,
    /// A prefix the name servers' anycast addresses are in (beside the configs' anycast
    /// listeners and BGP prefixes).
    #[arg(long, value_name = "PREFIX")]
    pub anycast: Vec<String>,
    /// The NSID measured in answers when no config sets an identity.
    #[arg(long)]
    pub nsid: Option<String>,
    /// One JSON object instead of the tables.
    #[arg(long)]
    pub json: bool,
    /// The lowest severity that fails the run (exit 1).
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: crate::audit::Severity,
    /// Owner names measured per zone, at most.
    #[arg(long, default_value_t = 200_000)]
    pub max_names: usize,
    /// Audit ZONE on the wire instead: ask each --server (serials, NS sets, NSID, TCP,
    /// RFC 8906's EDNS tests, answer sizes).
    #[arg(long, value_name = "ZONE", requires = "server")]
    pub live: Option<String>,
    /// A name server to ask (ADDR, ADDR:PORT or [V6]:PORT), with --live. Repeatable.
    #[arg(long, value_name = "ADDR")]
    pub server: Vec<String>,
    /// With --live: the bound on each exchange.
    #[arg(long, default_value_t = 2000)]
    pub timeout_ms: u64,
}

/// `anyns ctl`.
#[derive(Debug, Args)]
pub struct CtlArgs {
    /// Print the daemon's JSON answer instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Where the server is.
    #[command(flatten)]
    pub control: ControlArgs,
    /// The command, e.g. `zone status example.com.`.
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub words: Vec<String>,
}

/// `anyns flush`.
#[derive(Debug, Args)]
pub struct FlushArgs {
    /// The name to forget (every type).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub name: Option<String>,
    /// Also everything below the name.
    #[arg(long)]
    pub tree: bool,
    /// Empty the whole cache.
    #[arg(long)]
    pub all: bool,
    /// Where the server is.
    #[command(flatten)]
    pub control: ControlArgs,
}

/// `anyns serve`: either `--config FILE`, or zones and listeners on the command line.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file (see README). Cannot be combined with --zone/--listen.
    #[arg(long, short = 'c', conflicts_with_all = ["zone", "listen"])]
    pub config: Option<PathBuf>,
    /// A zone to serve, as ORIGIN=FILE (e.g. example.com.=example.com.zone). Repeatable.
    #[arg(long, value_name = "ORIGIN=FILE")]
    pub zone: Vec<String>,
    /// An address to listen on, as ADDR:PORT ([V6]:PORT for IPv6). Repeatable.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Vec<String>,
    /// The site identity sent in NSID and CHAOS id.server / hostname.bind.
    #[arg(long)]
    pub nsid: Option<String>,
    /// Largest UDP answer, and the payload size advertised in OPT.
    #[arg(long)]
    pub udp_payload: Option<u16>,
    /// UDP sockets (and threads) per listener; default: one per CPU.
    #[arg(long)]
    pub udp_workers: Option<usize>,
    /// Microseconds a UDP worker waits after a batch that did not fill before reading again
    /// (`server.udp-batch-window-us`; default 0).
    #[arg(long, value_name = "MICROSECONDS")]
    pub udp_batch_window_us: Option<usize>,
    /// Answers each UDP worker keeps, to answer a query seen before by a copy
    /// (`server.answer-cache`; default 65536; 0: none).
    #[arg(long, value_name = "ENTRIES")]
    pub answer_cache: Option<usize>,
    /// Serve as DNS instance I of the config's `[supervise]` (the supervisor starts its
    /// instances so).
    #[arg(long, requires = "config", hide = true)]
    pub instance: Option<usize>,
}

/// `anyns check-config`.
#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The TOML configuration file.
    pub file: PathBuf,
}

/// `anyns check-zone`.
#[derive(Debug, Args)]
pub struct CheckZoneArgs {
    /// The zone's origin; default: the file name without a .zone/.db suffix.
    #[arg(long)]
    pub origin: Option<String>,
    /// Warn about RRSIGs that have expired or expire within this many days.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=366))]
    pub signature_warning_days: u32,
    /// The zone file.
    pub file: PathBuf,
}

/// `anyns drain|undrain|status`: where to find the running server's control socket.
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// The control socket.
    #[arg(long, short = 's', conflicts_with = "config")]
    pub socket: Option<PathBuf>,
    /// The server's configuration file (its `server.control-socket`).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
}
