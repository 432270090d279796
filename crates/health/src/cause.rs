//! Why a check failed, and whether that failure is this site's or every site's.

use core::fmt;

/// Why a check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// No answer within the probe timeout (a hung or overloaded server, or a lost packet).
    Timeout,
    /// The port is closed (ICMP port unreachable): nothing listens there.
    Refused,
    /// The server answered with this rcode instead of NOERROR.
    Rcode(u16),
    /// The answer did not have AA set.
    NotAuthoritative,
    /// The server answered with another SOA serial than the one loaded here.
    WrongSerial {
        /// The serial loaded in this process.
        expected: u32,
        /// The serial in the answer.
        got: u32,
    },
    /// An authoritative NOERROR answer without a record of the type asked (a probe name).
    NoAnswer,
    /// The answer could not be parsed or did not match the query.
    Malformed,
    /// A socket error other than a refused port.
    Io(std::io::ErrorKind),
    /// A zone expired: no successful refresh within the SOA EXPIRE.
    ZoneExpired,
    /// A secondary lags its primary's serial for longer than the allowed bound.
    ZoneStale,
    /// A zone serves RRSIGs past their expiration: validating resolvers get bogus answers.
    SignaturesExpired,
    /// A command check exited unsuccessfully (with this code; `None`: killed by a signal).
    CommandFailed(Option<i32>),
    /// A command check did not finish within its timeout.
    CommandTimeout,
    /// A command check could not be started (not found, not executable ...).
    CommandNotRun(std::io::ErrorKind),
}

/// Whom a failure concerns: decides whether the last-site guard may hold a withdrawal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// This site only: a process, a socket, a command.
    Local,
    /// Every site alike: the zone data they all get from the same primary.
    Global,
}

impl Cause {
    /// Whom the failure concerns.
    pub fn scope(&self) -> Scope {
        match self {
            Self::ZoneExpired | Self::ZoneStale | Self::SignaturesExpired => Scope::Global,
            _ => Scope::Local,
        }
    }

    /// Whether the failure cannot be noise, so one is enough to take a check down: a closed
    /// port does not come from load (a busy server drops or delays, it does not refuse), and
    /// zone state is read from memory.
    pub fn is_definitive(&self) -> bool {
        matches!(
            self,
            Self::Refused | Self::ZoneExpired | Self::ZoneStale | Self::SignaturesExpired
        )
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("no answer within the probe timeout"),
            Self::Refused => f.write_str("port unreachable (nothing listening)"),
            Self::Rcode(rcode) => write!(f, "answered rcode {rcode}"),
            Self::NotAuthoritative => f.write_str("answer without AA"),
            Self::WrongSerial { expected, got } => {
                write!(f, "answered serial {got}, {expected} is loaded")
            }
            Self::NoAnswer => f.write_str("answered no record of the type probed"),
            Self::Malformed => f.write_str("malformed or mismatched answer"),
            Self::Io(kind) => write!(f, "socket error: {kind}"),
            Self::ZoneExpired => f.write_str("zone expired"),
            Self::ZoneStale => f.write_str("zone lags its primary"),
            Self::SignaturesExpired => f.write_str("zone signatures have expired"),
            Self::CommandFailed(Some(code)) => write!(f, "command exited with {code}"),
            Self::CommandFailed(None) => f.write_str("command killed by a signal"),
            Self::CommandTimeout => f.write_str("command timed out"),
            Self::CommandNotRun(kind) => write!(f, "command could not be started: {kind}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_cannot_start_is_not_called_a_socket_error() {
        let text = Cause::CommandNotRun(std::io::ErrorKind::NotFound).to_string();
        assert!(text.starts_with("command could not be started"), "{text}");
        assert!(!text.contains("socket"), "{text}");
        assert_eq!(
            Cause::CommandNotRun(std::io::ErrorKind::NotFound).scope(),
            Scope::Local
        );
    }
}
