//! Recursive resolution for anyns: the iterator, the cache and the answers written from
//! it, with no I/O and no clock (time is passed in).
//!
//! ```text
//!   client query ─► answer::answer_from_cache ──hit──► response bytes (the worker thread)
//!                        │ miss
//!                        ▼
//!   resolution::Resolution (one per question)  ◄── Event::Response / Failed / Tick
//!        │ Action::Send {to, tcp, message}         (the daemon sends from its unicast
//!        │ Action::Done(Resolved) ─► answer::write_answer      address and feeds back)
//!        ▼
//!   cache::Cache (shared: RRsets, negative answers)   servers::ServerTable (RTT, back-off)
//!        ▲ statuses, zones' places in the chain of trust
//!   validation (the chain of trust from anchors::TrustAnchors; dnssec/ does the arithmetic)
//! ```
//!
//! Hand-written on `dns-wire` rather than taken from a resolver crate: the cache-hit path
//! must cost what the authoritative answer path costs, the state machine must be sans-IO
//! so that the daemon alone chooses the source address of every query, and the limits
//! against amplification (NXNSAttack) must be ours to set (docs/decisions).
#![forbid(unsafe_code)]

pub mod anchors;
pub mod answer;
pub mod cache;
pub mod cookies;
pub mod delegation;
pub mod dnssec;
pub mod entropy;
pub mod failure;
mod names;
pub mod resolution;
pub mod rrset;
pub mod security;
pub mod servers;
pub mod settings;
mod validation;

pub use anchors::{AnchorError, BUILT_IN_ROOT_ANCHORS, TrustAnchors};
pub use answer::{AnswerSettings, Resolved, answer_from_cache, answer_stale, write_answer};
pub use cache::{BOGUS_TTL, Cache, CachePolicy, Cached, Denial, Negative, STALE_ANSWER_TTL, Trust};
pub use delegation::{BUILT_IN_ROOT_HINTS, ConfiguredZone, Delegation, Hints, HintsError};
pub use failure::Failure;
pub use resolution::{Action, Env, Event, Resolution, is_resolvable_type};
pub use rrset::RrSet;
pub use security::Security;
pub use servers::ServerTable;
pub use settings::{Limits, Settings};

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_cookies;
#[cfg(test)]
mod tests_dnssec;
