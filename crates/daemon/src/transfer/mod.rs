//! Zone transfers in the daemon: serving AXFR/IXFR on unicast listeners, NOTIFY in and
//! out, secondaries refreshing from their primaries over the unicast address, catalog
//! zones, and the files that make received zones survive a restart.
//!
//! ```text
//!  primary reload ─► journal (diff old→new) ─► NOTIFY secondaries (from the unicast address)
//!  NOTIFY in (UDP/TCP) ─► policy ─► secondary task ─► Refresh FSM (dns-auth) ─► SOA query,
//!      IXFR/AXFR over TCP (or TLS: xot.rs) from the unicast address ─► snapshot written
//!      ─► swapped in ─► journal
//!  AXFR/IXFR in (TCP) ─► policy (listener, zone, allow-transfer, TSIG) ─► XfrResponse messages
//! ```
//! The protocol logic (messages, transfer reading, refresh timers, the allow/refuse policy
//! and its response codes) is in `dns-auth` and `dns-zone`; this module does the I/O.
//! `state` holds one entry per zone; the other modules only use it.

pub(crate) mod catalog;
mod error;
pub(crate) mod notify;
mod outbound;
pub(crate) mod secondary;
pub(crate) mod state;
mod storage;
mod tsig;
pub(crate) mod xfr_out;
mod xot;
