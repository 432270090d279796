//! The lab's error type.

use std::fmt;

/// What went wrong while building, running or tearing down a lab.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The topology file is invalid; the message names the key.
    Topology(String),
    /// A file or process operation failed.
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A command exited with an error.
    Command {
        /// The command line.
        command: String,
        /// Its exit status and stderr.
        output: String,
    },
    /// A bounded wait ran out.
    Timeout {
        /// What we waited for, with what was seen last.
        what: String,
    },
    /// The run directory holds no lab (or another one).
    NoLab(String),
}

impl Error {
    /// An I/O error while doing `what`.
    pub fn io(what: impl fmt::Display, source: std::io::Error) -> Self {
        Self::Io {
            what: what.to_string(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Topology(m) => write!(f, "topology: {m}"),
            Self::Io { what, source } => write!(f, "{what}: {source}"),
            Self::Command { command, output } => write!(f, "`{command}` failed: {output}"),
            Self::Timeout { what } => write!(f, "timed out waiting for {what}"),
            Self::NoLab(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
