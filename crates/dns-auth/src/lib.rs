//! Authoritative answers for anyns: query bytes and the loaded zones in, response bytes out.
//!
//! ```text
//!  bytes ─► Query::parse ─┬─ error ─► FORMERR (or drop: responses, runts)
//!                         ├─ opcode ≠ QUERY ─► NOTIMP
//!                         ├─ EDNS version > 0 ─► BADVERS
//!                         ├─ class CH ─► id.server / hostname.bind / version.bind
//!                         └─ class IN ─► ZoneSet::find_zone ─► lookup (walk down from the
//!                              apex: cut? DNAME? exact? wildcard?) ─► sections ─► truncate?
//!                              ─► OPT (payload, DO, NSID, EDE) ─► bytes
//! ```
//!
//! Follows RFC 1034 §4.3.2 with RFC 4592 (wildcards), RFC 6672 (DNAME), RFC 2308 (negative
//! answers), RFC 6891 (EDNS) and minimal responses: positive answers carry no NS in the
//! authority section; the additional section carries only glue and in-zone addresses of
//! NS, MX and SRV targets.
//!
//! Signed zones (RFC 4035 §3.1, RFC 5155 §7.2): with DO set, RRSIGs go with every RRset
//! that has them and NSEC/NSEC3 records prove negative, wildcard and referral answers, each
//! chosen as Knot chooses it (`proof`). Zones are pre-signed: nothing is signed here.
//!
//! What it does not do: no I/O, no clock, no signing. [`respond`] never panics and does not
//! allocate once `out` has grown.
#![forbid(unsafe_code)]

pub mod answer_cache;
mod chaos;
pub mod client;
mod config;
pub mod cookies;
#[doc(hidden)]
pub mod fuzz;
mod inbound;
pub mod lag;
mod lookup;
mod proof;
pub mod refusal;
mod resolve;
mod respond;
pub mod rrl;
pub mod secondary;
mod serial;
pub mod xfr;

pub use config::{AnswerConfig, AnswerExtras, DEFAULT_UDP_PAYLOAD, Transport};
pub use inbound::{Inbound, classify};
pub use respond::{
    Outcome, error_response, error_response_to, respond, respond_to_malformed, respond_to_query,
};
pub use serial::Serial;
