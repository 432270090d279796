//! Why a refresh, a transfer or a NOTIFY to a secondary failed: typed, so the refresh task
//! can log and count it and tests can match it.

use core::fmt;
use std::io;
use std::net::SocketAddr;

use dns_auth::client::ResponseError;

/// A failed exchange with a primary or a secondary.
#[derive(Debug)]
pub(crate) enum TransferError {
    /// The zone has no primaries to ask.
    NoPrimaries,
    /// Binding the zone's unicast source address failed.
    BindSource(io::Error),
    /// A socket operation failed (`what` names it).
    Io(&'static str, io::Error),
    /// No answer in time (`what` names the step).
    TimedOut(&'static str),
    /// The answer does not do (wrong ID, rcode, malformed, a transfer out of order).
    Response(ResponseError),
    /// The answer's TSIG does not verify.
    Tsig(dns_tsig::TsigError),
    /// A signed transfer whose last message is not signed (RFC 8945 §5.3.1).
    UnsignedEnd(dns_tsig::TsigError),
    /// The primary says the zone is up to date, but there is no copy here.
    UpToDateWithoutCopy,
    /// An IXFR arrived without a copy to apply it to.
    IncrementalWithoutCopy,
    /// The received zone failed its checks.
    Rejected(dns_zone::ZoneError),
    /// The received zone could not be stored, so it is not served.
    Store(io::Error),
    /// The zone left its catalog while it was being transferred.
    RemovedFromCatalog,
    /// What went wrong with one primary.
    AtPrimary(SocketAddr, Box<Self>),
    /// The TLS connection to the primary failed (handshake, or a key not pinned).
    Tls(String),
    /// The SOA query failed over UDP and then over TCP.
    OverBothTransports {
        /// Over UDP.
        udp: Box<Self>,
        /// Over TCP.
        tcp: Box<Self>,
    },
}

impl TransferError {
    /// Wraps `self` as what happened at `primary`.
    pub(crate) fn at(self, primary: SocketAddr) -> Self {
        Self::AtPrimary(primary, Box::new(self))
    }
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPrimaries => f.write_str("no primaries"),
            Self::BindSource(e) => write!(f, "bind source: {e}"),
            Self::Io(what, e) => write!(f, "{what}: {e}"),
            Self::TimedOut(what) => write!(f, "{what} timed out"),
            Self::Response(e) => write!(f, "{e}"),
            Self::Tsig(e) => write!(f, "TSIG: {e}"),
            Self::UnsignedEnd(e) => write!(f, "TSIG: the last message is not signed ({e})"),
            Self::UpToDateWithoutCopy => f.write_str("primary says up to date but we have no copy"),
            Self::IncrementalWithoutCopy => f.write_str("IXFR without a current copy"),
            Self::Rejected(e) => write!(f, "received zone rejected: {e}"),
            Self::Store(e) => write!(f, "cannot store the received zone, not serving it: {e}"),
            Self::RemovedFromCatalog => {
                f.write_str("zone removed from its catalog during the transfer")
            }
            Self::AtPrimary(primary, e) => write!(f, "{primary}: {e}"),
            Self::Tls(why) => write!(f, "TLS: {why}"),
            Self::OverBothTransports { udp, tcp } => write!(f, "{udp}; over TCP: {tcp}"),
        }
    }
}

impl std::error::Error for TransferError {}

impl From<ResponseError> for TransferError {
    fn from(e: ResponseError) -> Self {
        Self::Response(e)
    }
}
