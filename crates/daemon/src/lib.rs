//! The anyns daemon: wires the protocol crates to sockets, timers, signals and files.
//!
//! ```text
//!  config (TOML or flags) ─► Config ─► zones::load_all ─► ArcSwap<ZoneSet>
//!                                          ▲ SIGHUP: reload, keep old zone on error
//!  UDP: one blocking thread per SO_REUSEPORT socket: recv ─► dns_auth::respond ─► send
//!  TCP: tokio tasks: accept ─► length-framed queries ─► respond ─► write (idle timeout,
//!       connection limit shedding the oldest idle connection)
//!  BGP: one tokio task per peer driving a bgp_session::Session; serve announces the
//!       prefixes the health driver asks for and stops the sessions on SIGTERM
//!  health: probe tasks (DNS queries to every instance, zone expiry, commands) ─►
//!       health::Cloud per cloud ─► announce / withdraw; control socket: drain, status
//! ```
//!
//! Only this crate knows the config format, tokio, signals and log setup.

mod acl;
pub mod announce;
pub mod audit;
pub mod bgp;
pub mod cli;
mod clock;
pub mod config;
pub mod control;
mod ctl;
mod dns;
mod error;
mod fleet;
pub mod logging;
mod metrics;
mod outbound;
mod resolver;
mod serve;
mod sockets;
mod state;
mod supervise;
mod systemd;
mod tables;
mod tls_tickets;
mod transfer;
mod views;
pub mod zones;

pub use error::{Error, ZoneFailure};

/// Runs a command.
pub fn run(cli: cli::Cli) -> Result<(), Error> {
    match cli.command {
        cli::Command::Serve(args) => {
            let config = config::Config::from_serve_args(&args)?;
            if let Some(i) = args.instance {
                let config = config.instance_view(i)?;
                if let Some(storage) = &config.storage {
                    std::fs::create_dir_all(storage)
                        .map_err(|e| Error::io(format!("storage {}", storage.display()), e))?;
                }
                supervise::watch_parent();
                return serve::serve(config, None);
            }
            match (config.supervise.clone(), &args.config) {
                (Some(supervise), Some(file)) => {
                    let supervisor =
                        supervise::Supervisor::start(file, &supervise, cli.log_format)?;
                    serve::serve(config.supervisor_view(), Some(supervisor))
                }
                _ => serve::serve(config, None),
            }
        }
        cli::Command::CheckZone(args) => zones::check_zone_command(&args),
        cli::Command::CheckConfig(args) => zones::check_config_command(&args),
        cli::Command::Ctl(args) => ctl::command(&args),
        cli::Command::Audit(args) => audit::command(&args),
        cli::Command::Fleet(cli::FleetCommand::Status(args)) => fleet::status_command(&args),
        cli::Command::Fleet(cli::FleetCommand::Serve(args)) => fleet::serve_command(&args),
        cli::Command::Drain(args) => control_command(&args, "drain"),
        cli::Command::Undrain(args) => control_command(&args, "undrain"),
        cli::Command::Status(args) => control_command(&args, "status"),
        cli::Command::Flush(args) => {
            let command = match (&args.name, args.tree) {
                (Some(name), false) => format!("flush {name}"),
                (Some(name), true) => format!("flush-tree {name}"),
                (None, _) => "flush-tree .".to_string(),
            };
            control_command(&args.control, &command)
        }
        cli::Command::Cache(args) => control_command(&args, "cache"),
    }
}

/// `anyns drain|undrain|status`: one line to the control socket, the JSON answer printed.
fn control_command(args: &cli::ControlArgs, command: &str) -> Result<(), Error> {
    let socket = control::socket_path(args.socket.clone(), args.config.as_deref())?;
    println!("{}", control::client(&socket, command)?);
    Ok(())
}
