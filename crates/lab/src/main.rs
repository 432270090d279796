//! `anyns-lab`: build, inspect and tear down the anycast lab; run the demo.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyns_lab::lab::DEFAULT_RUN_DIR;
use anyns_lab::{Error, Lab, LabOptions, ProbeOptions, dns, probe};
use clap::{Args, Parser, Subcommand};

/// The topology `up` and `demo` use when none is given.
const DEFAULT_TOPOLOGY: &str = include_str!("../../../lab/default.toml");

/// anyns's anycast lab: BIRD 2 routers, anyns sites and clients in network namespaces
/// (needs root).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Where configs, logs, control sockets and pid files go; namespace names derive from it.
    #[arg(long, global = true, default_value = DEFAULT_RUN_DIR)]
    run_dir: PathBuf,
    /// The anyns binary; default: `anyns` beside this program.
    #[arg(long, global = true)]
    anyns: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the lab and wait until every client sees every cloud; it keeps running.
    Up(TopologyArg),
    /// Stop every process of the lab by PID and delete its namespaces (idempotent).
    Down,
    /// Processes, BGP sessions, best routes and catchment of the running lab.
    Status,
    /// `anyns fleet status` over the running lab's sites, from a client's namespace.
    Fleet {
        /// The vantage point (a client of the topology); default: the first client.
        #[arg(long)]
        client: Option<String>,
        /// One JSON object instead of the tables.
        #[arg(long)]
        json: bool,
    },
    /// Keeps the fleet dashboard up for the running lab: `anyns fleet serve` in a client's
    /// namespace, reachable from the host at the printed loopback URL (a port-forward
    /// between the two loopbacks); runs until Ctrl-C.
    Dashboard {
        /// The vantage point (a client of the topology); default: the first client.
        #[arg(long)]
        client: Option<String>,
        /// The port on both loopbacks.
        #[arg(long, default_value_t = 8053)]
        port: u16,
    },
    /// Bring up the default lab, show catchment, failover, drain and a zone change, tear down.
    Demo(TopologyArg),
    /// The failover figures over several runs (median and max): kill -9 and SIGSTOP
    /// of ams's DNS instance under c1's 50 q/s stream, two instances with one failing, and
    /// no route change under full-rate load. Builds its own labs (needs root, dnsperf).
    FailoverReport(ReportArgs),
    /// The lab's DNS client, run inside a client namespace: one line per query.
    #[command(hide = true)]
    Probe(ProbeArgs),
    /// One long-lived DNS connection (TCP or TLS) to ADDR:PORT, a query every interval,
    /// reconnecting when it breaks; JSON lines (run inside a client namespace).
    #[command(hide = true)]
    ConnectionProbe {
        /// The server.
        address: std::net::SocketAddr,
        /// tcp, tls-resume or tls-full.
        #[arg(long, default_value = "tcp")]
        mode: String,
        /// The name asked (SOA).
        #[arg(long, default_value = "example.")]
        qname: String,
        #[arg(long, default_value_t = 20)]
        interval_ms: u64,
        #[arg(long, default_value_t = 4000)]
        duration_ms: u64,
    },
    /// One `GET /metrics` to ADDR:PORT, body to stdout (run inside a site's namespace).
    #[command(hide = true)]
    Scrape {
        /// The instance's metrics address.
        address: std::net::SocketAddr,
    },
}

#[derive(Debug, Args)]
struct TopologyArg {
    /// Topology file (TOML); default: lab/default.toml (built in).
    #[arg(long)]
    topology: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ReportArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// Runs per failure kind.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

#[derive(Debug, Args)]
struct ProbeArgs {
    #[arg(long, required = true)]
    server: Vec<IpAddr>,
    #[arg(long, default_value = "example.")]
    qname: String,
    #[arg(long, default_value = "SOA")]
    qtype: String,
    #[arg(long, default_value_t = 1)]
    count: u32,
    #[arg(long, default_value_t = 20)]
    interval_ms: u64,
    #[arg(long, default_value_t = 500)]
    timeout_ms: u64,
    #[arg(long)]
    tcp: bool,
    #[arg(long)]
    no_edns: bool,
    /// Set RD (ask a resolver).
    #[arg(long)]
    rd: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("anyns-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let lab_bin = std::env::current_exe().map_err(|e| Error::io("current_exe", e))?;
    let anyns_bin = cli
        .anyns
        .clone()
        .unwrap_or_else(|| sibling(&lab_bin, "anyns"));
    let options = |topology: &TopologyArg| -> Result<LabOptions, Error> {
        let topology_text = match &topology.topology {
            Some(path) => {
                std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?
            }
            None => DEFAULT_TOPOLOGY.to_string(),
        };
        Ok(LabOptions {
            topology_text,
            run_dir: cli.run_dir.clone(),
            anyns_bin: anyns_bin.clone(),
            lab_bin: lab_bin.clone(),
            verbose: true,
        })
    };
    match &cli.command {
        Command::Up(topology) => {
            let lab = Lab::up(&options(topology)?)?;
            println!("lab up in {}", lab.run_dir().display());
            print!("{}", lab.catchment_table());
            println!("`anyns-lab status` shows it, `anyns-lab down` removes it.");
            lab.leave_running();
            Ok(())
        }
        Command::Down => {
            let report = Lab::down_dir(&cli.run_dir)?;
            println!(
                "down: {} processes stopped, {} namespaces deleted ({:.1} s)",
                report.processes,
                report.namespaces,
                report.took.as_secs_f64()
            );
            Ok(())
        }
        Command::Status => {
            let lab = Lab::attach(&cli.run_dir, anyns_bin, lab_bin)?;
            print!("{}", lab.status());
            Ok(())
        }
        Command::Fleet { client, json } => {
            let lab = Lab::attach(&cli.run_dir, anyns_bin, lab_bin)?;
            let client = match client {
                Some(client) => client.clone(),
                None => lab
                    .topology
                    .clients
                    .first()
                    .map(|c| c.name.clone())
                    .ok_or_else(|| Error::NoLab("the topology has no client".into()))?,
            };
            print!("{}", lab.fleet(&client, *json)?);
            Ok(())
        }
        Command::Dashboard { client, port } => {
            let lab = Lab::attach(&cli.run_dir, anyns_bin, lab_bin)?;
            let client = match client {
                Some(client) => client.clone(),
                None => lab
                    .topology
                    .clients
                    .first()
                    .map(|c| c.name.clone())
                    .ok_or_else(|| Error::NoLab("the topology has no client".into()))?,
            };
            lab.start_dashboard(&client, *port)?;
            let target = std::net::SocketAddr::from(([127, 0, 0, 1], *port));
            let forward = anyns_lab::forward::Forward::start(target, &lab.ns(&client), target)?;
            println!(
                "fleet dashboard of the lab, seen from {client}: http://{}/  (Ctrl-C to stop the forward; \
                 the dashboard stops with `anyns-lab down`)",
                forward.local
            );
            lab.leave_running();
            loop {
                std::thread::park();
            }
        }
        Command::Demo(topology) => anyns_lab::demo::run(&options(topology)?),
        Command::FailoverReport(args) => {
            let mut options = options(&args.topology)?;
            options.verbose = false;
            anyns_lab::report::failover_report(&options, args.runs)
        }
        Command::Scrape { address } => {
            print!("{}", anyns_lab::metrics::scrape_text(*address)?);
            Ok(())
        }
        Command::ConnectionProbe {
            address,
            mode,
            qname,
            interval_ms,
            duration_ms,
        } => {
            let mode = match mode.as_str() {
                "tcp" => anyns_lab::connection::Mode::Tcp,
                "tls-resume" => anyns_lab::connection::Mode::TlsResume,
                "tls-full" => anyns_lab::connection::Mode::TlsFull,
                other => {
                    return Err(Error::Topology(format!(
                        "--mode {other}: tcp, tls-resume or tls-full"
                    )));
                }
            };
            anyns_lab::connection::run(
                *address,
                qname,
                mode,
                Duration::from_millis(*interval_ms),
                Duration::from_millis(*duration_ms),
            )
        }
        Command::Probe(args) => {
            let qtype = dns::qtype_from_text(&args.qtype)
                .ok_or_else(|| Error::Topology(format!("--qtype {}: unknown", args.qtype)))?;
            let options = ProbeOptions {
                servers: args.server.clone(),
                qname: args.qname.clone(),
                qtype,
                count: args.count,
                interval: Duration::from_millis(args.interval_ms),
                timeout: Duration::from_millis(args.timeout_ms),
                tcp: args.tcp,
                edns: !args.no_edns,
                rd: args.rd,
            };
            use std::io::Write as _;
            let stdout = std::io::stdout();
            probe::run_probe(&options, |record| {
                let mut out = stdout.lock();
                let _ = writeln!(out, "{}", record.to_line());
                let _ = out.flush();
            })
        }
    }
}

fn sibling(exe: &Path, name: &str) -> PathBuf {
    exe.parent()
        .map_or_else(|| PathBuf::from(name), |dir| dir.join(name))
}
