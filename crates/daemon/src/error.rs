//! Fatal errors of the daemon and their exit codes, mapped in one place
//! ([`Error::exit_code`]).

use core::fmt;
use std::io;
use std::path::PathBuf;

use crate::config::ConfigError;

/// Why a command failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid (exit code 2): the error names the key.
    Config(ConfigError),
    /// A zone could not be loaded at start-up (exit code 3).
    Zone {
        /// The zone's name.
        zone: String,
        /// Why.
        why: ZoneFailure,
    },
    /// A socket, the runtime or another operating-system resource could not be had
    /// (exit code 4).
    Io {
        /// What was being opened or done, e.g. "udp socket 192.0.2.1:53".
        what: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// The running daemon answered a control command with an error (exit code 4).
    Control(String),
    /// The command line asks for something that does not exist (exit code 2).
    Usage(String),
    /// `audit` found something at or above `--fail-on` (exit code 1).
    Findings(String),
    /// `check-zone` found errors (exit code 1).
    CheckFailed {
        /// The zone file.
        file: PathBuf,
        /// How many errors.
        errors: usize,
    },
}

/// Why a zone did not load.
#[derive(Debug)]
#[non_exhaustive]
pub enum ZoneFailure {
    /// A primary zone without a file.
    NoFile,
    /// The file did not load; its problems were logged.
    Load(dns_zone::ZoneError),
}

impl Error {
    /// An operating-system error while doing `what`.
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) | Self::Usage(_) => 2,
            Self::Zone { .. } => 3,
            Self::Io { .. } | Self::Control(_) => 4,
            Self::CheckFailed { .. } | Self::Findings(_) => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(m) => write!(f, "configuration: {m}"),
            Self::Zone { zone, why } => write!(f, "zone: {zone}: {why}"),
            Self::Io { what, source } => write!(f, "{what}: {source}"),
            Self::Control(m) | Self::Usage(m) | Self::Findings(m) => f.write_str(m),
            Self::CheckFailed { file, errors } => {
                write!(f, "{}: {errors} error(s)", file.display())
            }
        }
    }
}

impl fmt::Display for ZoneFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoFile => f.write_str("no zone file"),
            Self::Load(err) => write!(f, "{err}"),
        }
    }
}

impl From<ConfigError> for Error {
    fn from(err: ConfigError) -> Self {
        Self::Config(err)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Config(err) => Some(err),
            _ => None,
        }
    }
}
