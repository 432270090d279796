//! `[supervise]`: this process starts and restarts the site's DNS instances itself (the
//! split model of decision 0005 without a unit per instance). Each instance is `anyns
//! serve --config THIS_FILE --instance I`: the same listeners (shared through
//! SO_REUSEPORT) plus a probe address of its own, the same zones, and none of the BGP,
//! health, control or metrics parts, which stay here, in the supervisor.
//!
//! ```toml
//! [supervise]
//! instances = 2                                   # 1..=32
//! probe-addresses = ["127.0.1.1:53", "127.0.1.2:53"]  # default: 127.0.1.(I+1), first listener's port
//! run-dir = "/run/anyns"                          # instance PID files; default: $RUNTIME_DIRECTORY,
//!                                                 # else the control socket's directory
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{ConfigError, KeyPath};
use super::listen::Listen;

/// Most instances a supervisor runs.
const MAX_INSTANCES: usize = 32;

/// `[supervise]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawSupervise {
    instances: usize,
    #[serde(default)]
    probe_addresses: Vec<String>,
    run_dir: Option<PathBuf>,
}

/// The instances a supervisor runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuperviseConfig {
    /// How many.
    pub instances: usize,
    /// Each instance's own address, which the health checks probe.
    pub probe_addresses: Vec<SocketAddr>,
    /// Where each instance's PID file is written (`instance-I.pid`).
    pub run_dir: PathBuf,
}

impl SuperviseConfig {
    /// Instance `i`'s PID file.
    pub fn pid_file(&self, i: usize) -> PathBuf {
        self.run_dir.join(format!("instance-{i}.pid"))
    }

    /// Every instance's PID file.
    pub fn pid_files(&self) -> Vec<PathBuf> {
        (0..self.instances).map(|i| self.pid_file(i)).collect()
    }
}

/// What `[supervise]` is read against.
pub(crate) struct SuperviseDefaults<'a> {
    pub(crate) base: &'a Path,
    pub(crate) listen: &'a [Listen],
    pub(crate) control_socket: Option<&'a Path>,
}

impl TryFrom<(RawSupervise, &SuperviseDefaults<'_>)> for SuperviseConfig {
    type Error = ConfigError;

    fn try_from(
        (raw, defaults): (RawSupervise, &SuperviseDefaults<'_>),
    ) -> Result<Self, ConfigError> {
        if !(1..=MAX_INSTANCES).contains(&raw.instances) {
            return Err(ConfigError::at(
                "instances",
                format!("{} is out of range (1..={MAX_INSTANCES})", raw.instances),
            ));
        }
        let port = defaults.listen.first().map_or(53, |l| l.address.port());
        let probe_addresses: Vec<SocketAddr> = if raw.probe_addresses.is_empty() {
            (0..raw.instances)
                .map(|i| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 1, i as u8 + 1)), port))
                .collect()
        } else {
            raw.probe_addresses
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    text.parse::<SocketAddr>().map_err(|_| {
                        ConfigError::new(
                            KeyPath::root("probe-addresses").index(i),
                            format!("{text:?} is not ADDR:PORT"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?
        };
        if probe_addresses.len() != raw.instances {
            return Err(ConfigError::at(
                "probe-addresses",
                format!("one per instance ({} instances)", raw.instances),
            ));
        }
        for (i, address) in probe_addresses.iter().enumerate() {
            if defaults.listen.iter().any(|l| l.address == *address)
                || probe_addresses[..i].contains(address)
            {
                return Err(ConfigError::new(
                    KeyPath::root("probe-addresses").index(i),
                    format!("{address} is listened on already: each instance needs its own"),
                ));
            }
        }
        let run_dir = match (
            raw.run_dir,
            std::env::var_os("RUNTIME_DIRECTORY"),
            defaults.control_socket,
        ) {
            (Some(dir), ..) => defaults.base.join(dir),
            // systemd's RuntimeDirectory= (several are separated by colons: the first).
            (None, Some(dirs), _) => {
                PathBuf::from(dirs.to_string_lossy().split(':').next().unwrap_or_default())
            }
            (None, None, Some(socket)) => socket
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            (None, None, None) => {
                return Err(ConfigError::at(
                    "run-dir",
                    "is needed (no RUNTIME_DIRECTORY, no control-socket)",
                )
                .hint("name a directory for the instances' PID files, e.g. \"/run/anyns\""));
            }
        };
        Ok(Self {
            instances: raw.instances,
            probe_addresses,
            run_dir,
        })
    }
}
