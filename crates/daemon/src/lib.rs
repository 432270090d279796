//! The anyns daemon: wires the protocol crates to sockets, timers, signals and files.
//!
//! ```text
//!  config (TOML or flags) ─► Config ─► zones::load_all ─► ArcSwap<ZoneSet>
//!                                          ▲ SIGHUP: reload, keep old zone on error
//!  UDP: one blocking thread per SO_REUSEPORT socket: recv ─► dns_auth::respond ─► send
//!  TCP: tokio tasks: accept ─► length-framed queries ─► respond ─► write (idle timeout,
//!       connection limit shedding the oldest idle connection)
//!  BGP: one tokio task per peer driving a bgp_session::Session; serve announces the
//!       configured prefixes once listeners are up and stops the sessions on SIGTERM
//! ```
//!
//! Only this crate knows the config format, tokio, signals and log setup.

pub mod bgp;
pub mod cli;
pub mod config;
mod error;
pub mod logging;
mod serve;
mod sockets;
mod tcp;
mod transfer;
mod udp;
pub mod zones;

pub use error::Error;

/// Runs a command.
pub fn run(cli: cli::Cli) -> Result<(), Error> {
    match cli.command {
        cli::Command::Serve(args) => {
            let config = config::Config::from_serve_args(&args)?;
            serve::serve(config)
        }
        cli::Command::CheckZone(args) => zones::check_zone_command(&args),
    }
}
