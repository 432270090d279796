//! Fatal errors of the daemon and their exit codes.

use core::fmt;

/// Why the daemon stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid (exit code 2).
    Config(String),
    /// A zone could not be loaded (exit code 1 for check-zone, 3 at start-up).
    Zone(String),
    /// A socket could not be opened (exit code 4).
    Io(String),
    /// `check-zone` found errors (exit code 1).
    CheckFailed(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) => 2,
            Self::Zone(_) => 3,
            Self::Io(_) => 4,
            Self::CheckFailed(_) => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(m) => write!(f, "configuration: {m}"),
            Self::Zone(m) => write!(f, "zone: {m}"),
            Self::Io(m) | Self::CheckFailed(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}
