//! Bidirectional Forwarding Detection (RFC 5880) for one single-hop session (RFC 5881),
//! without I/O.
//!
//! A [`Session`] owns the protocol state of one BFD session in Asynchronous mode: the
//! state machine (AdminDown, Down, Init, Up), the negotiated intervals, the Poll sequence
//! and the Detection Time. It has no sockets, no clock and no random source: the driver
//! passes in received packets, commands and `now` (`clippy.toml` forbids `Instant::now`),
//! and takes out packets, events and the next deadline; jitter comes from a generator
//! seeded by [`Settings::jitter_seed`]. [`ControlPacket`] is the wire codec.
//!
//! ```text
//!   UDP :3784 read ──bytes──► handle_packet ┐                  ┌► poll_transmit ──► UDP send
//!   control ──────────────── handle_command ┤     Session      ├► poll_event ──► logs, BGP
//!   timer fired ──────────── handle_timeout ┘                  └► poll_timeout ──► sleep_until
//! ```
//!
//! # Driving a session
//!
//! 1. Build a [`Config`] from [`Settings`] with `try_from` and create the session with
//!    [`Session::new`]; it starts in Down and owes its first packet at once.
//! 2. Wait for the first of: a packet for this session (demultiplexed by Your
//!    Discriminator, or by source address when that is zero) → [`Session::handle_packet`];
//!    a command → [`Session::handle_command`]; the deadline of [`Session::poll_timeout`] →
//!    [`Session::handle_timeout`].
//! 3. Send every packet [`Session::poll_transmit`] gives (to the peer's port 3784, from
//!    the session's fixed source port, TTL 255), and act on [`Session::poll_event`].
//!
//! # Simplifications (versus RFC 5880)
//!
//! * Asynchronous mode only: no Demand mode (the D bit is never set and a peer's D bit is
//!   ignored, so we keep sending periodic packets) and no Echo function (Required Min Echo
//!   RX Interval is zero).
//! * No authentication: packets with the A bit are discarded.
//! * Always the Active role (we send from the start, RFC 5880 §6.1).
//! * A state change sends a packet at once instead of waiting for the next periodic one
//!   (as BIRD and FRR do); it speeds up session establishment and tells the peer about a
//!   Down without delay. §6.8.7 asks only that Final packets bypass the schedule.
//! * The only interval change is the one §6.8.3 imposes (one second while not Up, the
//!   configured rate while Up), so the Poll sequence never has to hold back an increase
//!   of the transmit interval or of the Detection Time; both take effect at once.
//! * In AdminDown packets keep going out at the slow rate for as long as the session is
//!   held down, rather than for one Detection Time.

#![forbid(unsafe_code)]

mod packet;
mod session;

#[doc(hidden)]
pub mod fuzz;

#[cfg(test)]
mod tests;

pub use packet::{ControlPacket, Diag, PACKET_LEN, ParseError, State, VERSION};
pub use session::{
    BfdEvent, BfdStats, Command, Config, ConfigError, Discard, MAX_INTERVAL, SLOW_TX_INTERVAL,
    Session, Settings,
};

/// The UDP port single-hop Control packets are sent to (RFC 5881 §4).
pub const CONTROL_PORT: u16 = 3784;

/// The range of UDP source ports for Control packets (RFC 5881 §4).
pub const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;

/// The TTL / hop limit single-hop packets are sent with and must arrive with
/// (RFC 5881 §5).
pub const TTL: u8 = 255;
