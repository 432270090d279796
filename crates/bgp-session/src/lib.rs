//! The RFC 4271 §8 BGP finite state machine for one announce-only peer of anyns, without I/O.
//!
//! A [`Session`] owns the protocol state for one peer: the FSM, its timers, the OPEN
//! negotiation, what we want announced and what the peer has from us. It has no sockets, no
//! clock and no runtime: the driver passes in bytes, commands and `now`, and takes out bytes,
//! events and the next deadline. It never reads the clock itself (`clippy.toml` forbids
//! `Instant::now`). Wire encoding lives in `bgp-wire`.
//!
//! It deliberately does **not** install received routes (they are parsed, checked and
//! counted), run a decision process, originate anything outside the configured allow-list,
//! or talk to more than one peer: the daemon runs one `Session` per peer.
//!
//! # Driving a session
//!
//! ```text
//!   health / control ──Command──►┐                       ┌──► poll_event() ──► driver actions
//!   TCP read ─────────bytes─────►│        Session        ├──► poll_transmit() ──► TCP write
//!   TCP connect/close ─Command──►│  (FSM, timers, RIB)   ├──► poll_timeout() ──► sleep_until
//!   timer fired ──handle_timeout►┘                       │
//! ```
//!
//! One task per peer runs this loop (with `now` from `tokio::time::Instant::now().into_std()`):
//!
//! 1. Build a [`PeerConfig`] from [`PeerSettings`] with `try_from`, create the session with
//!    [`Session::new`], and send [`Command::Start`].
//! 2. Wait for the first of:
//!    * bytes read from the connection → [`Session::handle_bytes`];
//!    * end of stream or a read/write error → [`Command::TcpClosed`];
//!    * our outgoing connect succeeded → [`Command::TcpConnected`]; it failed →
//!      [`Command::TcpFailed`];
//!    * an accepted connection from the peer's address → [`Command::TcpAccepted`] (keep
//!      any outgoing attempt in progress: it may become the second connection of a
//!      collision);
//!    * bytes, end of stream or an error on the second connection, if there is one →
//!      [`Session::handle_second_bytes`], [`Command::SecondClosed`];
//!    * the deadline from [`Session::poll_timeout`] → [`Session::handle_timeout`];
//!    * a command from health or control → [`Session::handle_command`] (announce, withdraw,
//!      graceful shutdown, stop).
//! 3. Then drain [`Session::poll_event`] and act on these events, in order:
//!    * [`SessionEvent::WantConnect`]: start a non-blocking TCP connect to the peer, port 179,
//!      from the site's unicast address, replacing any attempt in progress;
//!    * [`SessionEvent::WantDisconnect`]: write what [`Session::poll_transmit`] still holds
//!      (it ends with the NOTIFICATION; do not wait long for it), then close the connection,
//!      or abandon the connect attempt if there is no connection yet;
//!    * [`SessionEvent::ConnectionRefused`]: close the connection you just reported; the
//!      session keeps the one it has, if any;
//!    * [`SessionEvent::SecondConnection`]: keep the connection you just reported as the
//!      second one (a collision is being resolved);
//!    * [`SessionEvent::ConnectionsSwapped`]: swap the two connections, with their
//!      unwritten bytes;
//!    * [`SessionEvent::WantDisconnectSecond`]: write what
//!      [`Session::poll_second_transmit`] has, then close the second connection;
//!    * the others ([`SessionEvent::StateChanged`], [`SessionEvent::Established`],
//!      [`SessionEvent::Down`], [`SessionEvent::AnnounceRefused`],
//!      [`SessionEvent::UpdateError`]) are for logs and metrics.
//! 4. While the connection can take more bytes, move them out with
//!    [`Session::poll_transmit`] and write them. Only take bytes you can write soon: bytes
//!    left in the session are what the RFC 9687 send hold timer watches, so a peer that
//!    stops reading is detected.
//!
//! [`Session::stats`] gives counters for metrics.
//!
//! # What is announced
//!
//! Only prefixes in [`PeerSettings::prefixes`] (an allow-list); `Announce` for any other
//! prefix is refused with [`SessionEvent::AnnounceRefused`]. Announcements carry ORIGIN IGP,
//! AS_PATH of our AS (plus `prepend` copies; empty on iBGP, which gets LOCAL_PREF 100 instead),
//! NEXT_HOP self (IPv4) or an MP_REACH_NLRI next hop (IPv6, RFC 2545), and the configured
//! MED, communities, large communities and NO_EXPORT. `GracefulShutdown` re-announces with
//! 65535:0 (RFC 8326). The initial set goes out on Established, followed by an End-of-RIB
//! per family; after that UPDATEs are sent only for changes; a ROUTE-REFRESH gets the full
//! set again for its family. Commands given before Established are remembered and sent on
//! establishment.
//!
//! # Simplifications (versus RFC 4271 §8 and friends)
//!
//! * **Connection collisions** (RFC 4271 §6.8): a connection that arrives while the
//!   session's exchanges OPENs is kept as a second connection; once both carry the peer's
//!   OPEN the collision is resolved by BGP Identifier and the other connection is closed
//!   with Cease/Connection Collision Resolution. Deviation: while a collision is pending,
//!   our KEEPALIVE waits for the outcome (so the peer cannot establish the connection we
//!   close). A connection arriving once our KEEPALIVE is out stays second to it, and one
//!   arriving once the session is Established is refused. See the `fsm::collision`
//!   module.
//! * **Connect failures**: `TcpFailed` in Connect goes to Active and retries when the
//!   ConnectRetryTimer expires (the RFC's DelayOpen-style path), rather than to Idle.
//! * **Any loss of an open connection** (OpenSent, OpenConfirm, Established) goes to Idle
//!   with the IdleHoldTimer (DampPeerOscillations, RFC 4271 §8.1.1), including OpenSent +
//!   TcpConnectionFails, which the RFC sends to Active. The idle hold time doubles on each
//!   failure up to [`PeerSettings::max_idle_hold_time`] and returns to its first value once a
//!   session stays Established for [`PeerSettings::idle_hold_reset_after`]. `Start` while
//!   Idle starts at once, bypassing the idle hold.
//! * **Send hold timer** (RFC 9687): "our output is not drained" means bytes queued in the
//!   session that the driver has not taken with `poll_transmit` for the send hold time
//!   (default: max of 8 minutes and twice the hold time). It runs in OpenSent, OpenConfirm
//!   and Established.
//! * No DelayOpen, no MinRouteAdvertisementInterval (UPDATEs go out as soon as a command
//!   changes what we want), no graceful restart (the capability is parsed, never sent), no
//!   enhanced route refresh (RFC 7313 BoRR/EoRR are ignored), no ADD-PATH, no extended
//!   messages, no maximum-prefix limit (received routes are not stored).
//! * Only KEEPALIVE and UPDATE restart the hold timer, as RFC 4271 §4.4 names them;
//!   ROUTE-REFRESH does not.

#![forbid(unsafe_code)]

mod announce;
mod config;
mod connections;
mod fsm;
mod timers;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

/// The wire codec, re-exported so a driver reaches `Prefix`, `Notification` and friends
/// through one path.
pub use bgp_wire;
pub use config::{
    ConfigError, DEFAULT_CONNECT_RETRY_TIME, DEFAULT_HOLD_TIME, DEFAULT_IDLE_HOLD_RESET_AFTER,
    DEFAULT_IDLE_HOLD_TIME, DEFAULT_MAX_IDLE_HOLD_TIME, MAX_COMMUNITIES, MAX_PREPEND,
    MIN_DEFAULT_SEND_HOLD_TIME, OPEN_HOLD_TIME, PeerConfig, PeerSettings,
};
pub use connections::Initiator;
pub use fsm::{Command, DownReason, Session, SessionEvent, SessionStats, State};
