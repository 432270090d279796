//! The RFC 4271 §8 finite state machine for one announce-only peer: states, the inputs that
//! drive them ([`Command`], bytes, timeouts) and the outputs ([`SessionEvent`], bytes,
//! deadlines).
//!
//! The methods follow the RFC's per-state event lists; where this FSM deviates from them the
//! crate docs say so (see "Simplifications").

use std::collections::VecDeque;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bgp_wire::{
    AS_TRANS, AttributeError, BGP_VERSION, Capability, CeaseSubcode, Error, ErrorAction, ErrorCode,
    Family, FsmSubcode, GracefulRestart, GracefulRestartFamily, Message, Negotiated, Notification,
    Open, Prefix, RouteRefresh, Update, frame_len,
};

mod collision;

use crate::announce::{Mark, Routes};
use crate::config::{MIN_DEFAULT_SEND_HOLD_TIME, OPEN_HOLD_TIME, PeerConfig};
use crate::connections::{Initiator, Second, collision_cease};
use crate::timers::{Timer, Timers};

/// Session states (RFC 4271 §8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Refusing connections; waiting for Start or the IdleHoldTimer.
    Idle,
    /// Waiting for our outgoing TCP connection to complete.
    Connect,
    /// Waiting for the peer to connect (or for the ConnectRetryTimer to try again).
    Active,
    /// OPEN sent, waiting for the peer's OPEN.
    OpenSent,
    /// OPENs exchanged, waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// Up: UPDATEs and KEEPALIVEs flow.
    Established,
}

impl State {
    /// Whether the session owns a TCP connection in this state.
    fn has_connection(self) -> bool {
        matches!(self, Self::OpenSent | Self::OpenConfirm | Self::Established)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Inputs from the driver other than bytes and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Start the session and keep restarting it after failures (RFC 4271 Event 1
    /// ManualStart, or Event 4 with passive TCP establishment).
    Start,
    /// Stop the session and do not restart it (Event 2 ManualStop); an Established session
    /// sends Cease/Administrative Shutdown with `message` as the RFC 9003 shutdown
    /// communication (empty for none).
    Stop {
        /// Shutdown communication for the peer's operator.
        message: String,
    },
    /// Announce a configured prefix.
    Announce(Prefix),
    /// Withdraw a prefix.
    Withdraw(Prefix),
    /// Keep announcing a configured prefix but with the GRACEFUL_SHUTDOWN community
    /// 65535:0 attached (RFC 8326), so the peer moves traffic away before a withdraw.
    GracefulShutdown(Prefix),
    /// Our outgoing TCP connection to the peer is up (Event 16).
    TcpConnected,
    /// A TCP connection the peer opened to us is up (Event 17).
    TcpAccepted,
    /// The second connection (see [`SessionEvent::SecondConnection`]) was closed by the
    /// peer or failed.
    SecondClosed,
    /// Our outgoing connection attempt failed (Event 18 TcpConnectionFails).
    TcpFailed,
    /// The connection was closed by the peer or failed (Event 18 TcpConnectionFails).
    TcpClosed,
    /// The BFD session to the peer went down after having been Up (RFC 5882 §4.3: the
    /// path is gone, so the session is too). An open connection is closed with
    /// Cease/BFD Down (RFC 9384) and the session restarts after the idle hold time.
    BfdDown,
}

/// Outputs for the driver, taken with [`Session::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The state changed.
    StateChanged {
        /// The old state.
        from: State,
        /// The new state.
        to: State,
    },
    /// Open an outgoing TCP connection to the peer, abandoning any attempt in progress;
    /// report the outcome with [`Command::TcpConnected`] or [`Command::TcpFailed`].
    WantConnect,
    /// Write out what [`Session::poll_transmit`] still has, then close the connection (or
    /// abandon the connection attempt).
    WantDisconnect,
    /// Close the connection just reported with [`Command::TcpConnected`] or
    /// [`Command::TcpAccepted`]: the session is not accepting one (it is Idle, Established,
    /// or already has two). The existing connection, if any, stays.
    ConnectionRefused,
    /// Keep the connection just reported as the session's second connection: the peer and
    /// we connected to each other at the same time (RFC 4271 §6.8). Its bytes go to
    /// [`Session::handle_second_bytes`], [`Session::poll_second_transmit`] has what to
    /// write to it, and [`Command::SecondClosed`] reports its loss. The collision is
    /// resolved once both connections carry the peer's OPEN.
    SecondConnection,
    /// Write out what [`Session::poll_second_transmit`] still has (a NOTIFICATION, usually
    /// Cease/Connection Collision Resolution), then close the second connection.
    WantDisconnectSecond,
    /// The second connection is now the session's connection and the old one is the
    /// second, which a [`SessionEvent::WantDisconnectSecond`] follows: swap the two, with
    /// their unwritten bytes.
    ConnectionsSwapped {
        /// Who opened the connection the session keeps.
        kept: Initiator,
    },
    /// The session reached Established.
    Established {
        /// Negotiated hold time (zero: no keepalives, no hold timer).
        hold_time: Duration,
        /// Families both sides advertised; only these are announced.
        families: Vec<Family>,
        /// The peer's BGP Identifier.
        peer_id: Ipv4Addr,
    },
    /// The session lost its connection (from OpenSent, OpenConfirm or Established).
    Down {
        /// Why.
        reason: DownReason,
    },
    /// An Announce, Withdraw or GracefulShutdown named a prefix outside the allow-list.
    AnnounceRefused(Prefix),
    /// A received UPDATE had an attribute error handled by RFC 7606 without a reset.
    UpdateError(AttributeError),
}

/// Why a session went down.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownReason {
    /// [`Command::Stop`]; we sent Cease/Administrative Shutdown.
    Stopped {
        /// The shutdown communication we sent.
        message: String,
    },
    /// Nothing arrived for the hold time; we sent Hold Timer Expired.
    HoldTimerExpired,
    /// Our output was not drained for the send hold time (RFC 9687); we sent Send Hold
    /// Timer Expired, if it could get out.
    SendHoldTimerExpired,
    /// The peer sent something malformed or unacceptable; we sent its NOTIFICATION.
    ProtocolError(Error),
    /// The peer sent a message not allowed in the state; we sent an FSM Error (RFC 6608).
    UnexpectedMessage {
        /// The state it arrived in.
        state: State,
    },
    /// The peer sent a NOTIFICATION.
    NotificationReceived(Notification),
    /// The TCP connection closed or failed.
    ConnectionClosed,
    /// [`Command::BfdDown`]; we sent Cease/BFD Down.
    BfdDown,
}

impl DownReason {
    /// The NOTIFICATION we send for this reason, if any: the session's one mapping from
    /// reasons to wire codes (parse errors delegate to [`Error::notification`]).
    pub fn notification(&self) -> Option<Notification> {
        Some(match self {
            //= https://www.rfc-editor.org/rfc/rfc4486#section-4
            //# If a BGP speaker decides to administratively shut down its peering with a
            //# neighbor, then the speaker SHOULD send a NOTIFICATION message with the Error
            //# Code Cease and the Error Subcode "Administrative Shutdown".
            Self::Stopped { message } => {
                Notification::cease(CeaseSubcode::AdministrativeShutdown, message)
            }
            //= https://www.rfc-editor.org/rfc/rfc4271#section-6.5
            //# If a system does not receive successive KEEPALIVE, UPDATE, and/or
            //# NOTIFICATION messages within the period specified in the Hold Time field of
            //# the OPEN message, then the NOTIFICATION message with the Hold Timer Expired
            //# Error Code is sent and the BGP connection is closed.
            Self::HoldTimerExpired => Notification::new(ErrorCode::HoldTimerExpired, 0, Vec::new()),
            Self::SendHoldTimerExpired => {
                Notification::new(ErrorCode::SendHoldTimerExpired, 0, Vec::new())
            }
            Self::ProtocolError(error) => error.notification(),
            //= https://www.rfc-editor.org/rfc/rfc6608#section-4
            //# If a BGP speaker receives an unexpected message (e.g., KEEPALIVE/UPDATE/
            //# ROUTE-REFRESH message) on a session in OpenSent state, it MUST send to the
            //# neighbor a NOTIFICATION message with the Error Code Finite State Machine
            //# Error and the Error Subcode "Receive Unexpected Message in OpenSent State".
            Self::UnexpectedMessage { state } => {
                let subcode = match state {
                    State::OpenSent => FsmSubcode::UnexpectedMessageInOpenSent,
                    State::OpenConfirm => FsmSubcode::UnexpectedMessageInOpenConfirm,
                    State::Established => FsmSubcode::UnexpectedMessageInEstablished,
                    _ => FsmSubcode::Unspecified,
                };
                Notification::new(ErrorCode::Fsm, subcode.into(), Vec::new())
            }
            //= https://www.rfc-editor.org/rfc/rfc9384#section-3
            //# When a BGP connection is terminated due to a BFD session going into the Down
            //# state, the BGP speaker SHOULD send a NOTIFICATION message with the error code
            //# "Cease" and the error subcode "BFD Down".
            Self::BfdDown => Notification::cease(CeaseSubcode::BfdDown, ""),
            Self::NotificationReceived(_) | Self::ConnectionClosed => return None,
        })
    }
}

/// Counters a driver can export as metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages received and parsed.
    pub messages_received: u64,
    /// UPDATEs sent, End-of-RIB markers included.
    pub updates_sent: u64,
    /// UPDATEs received, End-of-RIB markers included.
    pub updates_received: u64,
    /// Prefixes the peer announced to us (parsed, counted, never installed).
    pub prefixes_received: u64,
    /// Prefixes the peer withdrew, including those of treat-as-withdraw UPDATEs.
    pub withdrawals_received: u64,
    /// UPDATEs handled as treat-as-withdraw (RFC 7606).
    pub treat_as_withdraw: u64,
    /// ROUTE-REFRESH requests received.
    pub route_refreshes_received: u64,
    /// NOTIFICATIONs sent.
    pub notifications_sent: u64,
    /// NOTIFICATIONs received.
    pub notifications_received: u64,
    /// Times the session reached Established.
    pub established: u64,
    /// Times the session went down.
    pub downs: u64,
    /// Connection collisions resolved (RFC 4271 §6.8).
    pub collisions: u64,
}

/// What the OPEN exchange settled.
#[derive(Debug, Clone)]
struct Negotiation {
    hold_time: Duration,
    keepalive_time: Option<Duration>,
    wire: Negotiated,
    families: Vec<Family>,
    peer_id: Ipv4Addr,
}

/// One BGP session with one peer, without I/O; see the crate docs for how to drive it.
#[derive(Debug)]
pub struct Session {
    config: PeerConfig,
    state: State,
    timers: Timers,
    events: VecDeque<SessionEvent>,
    transmit: Vec<u8>,
    receive: Vec<u8>,
    connected: bool,
    /// Restart automatically after failures (set by Start, cleared by Stop).
    started: bool,
    negotiation: Option<Negotiation>,
    routes: Routes,
    /// Who opened the session's connection.
    initiator: Initiator,
    /// A second connection to the peer while a collision is being resolved.
    second: Option<Second>,
    /// Bytes to write to the second connection.
    second_transmit: Vec<u8>,
    /// Counts the connections the FSM has run on, so that a loop over one connection's
    /// bytes stops when the session moves to another.
    generation: u64,
    /// Our KEEPALIVE on the session's connection (in OpenConfirm) waits for a collision's
    /// outcome; `peer_keepalive_early`: the peer's came meanwhile.
    keepalive_deferred: bool,
    peer_keepalive_early: bool,
    /// The IdleHoldTime the next failure will wait.
    idle_hold: Duration,
    established_at: Option<Instant>,
    stats: SessionStats,
}

impl Session {
    /// A session in Idle, not started, announcing nothing.
    ///
    /// `now` is taken for uniformity with the other calls; no timer runs until
    /// [`Command::Start`].
    pub fn new(config: PeerConfig, now: Instant) -> Self {
        let _ = now;
        Self {
            routes: Routes::new(&config),
            idle_hold: config.settings().idle_hold_time,
            config,
            state: State::Idle,
            timers: Timers::default(),
            events: VecDeque::new(),
            transmit: Vec::new(),
            receive: Vec::new(),
            connected: false,
            started: false,
            negotiation: None,
            initiator: Initiator::Local,
            second: None,
            second_transmit: Vec::new(),
            generation: 0,
            keepalive_deferred: false,
            peer_keepalive_early: false,
            established_at: None,
            stats: SessionStats::default(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }

    /// The prefixes currently wanted announced (sent whenever the session is Established).
    pub fn wanted(&self) -> impl Iterator<Item = &Prefix> {
        self.routes.wanted()
    }

    /// Applies a command.
    pub fn handle_command(&mut self, now: Instant, command: Command) {
        match command {
            Command::Start => self.manual_start(now),
            Command::Stop { message } => self.manual_stop(now, message),
            Command::Announce(prefix) => self.set_route(now, prefix, Some(Mark::Normal)),
            Command::Withdraw(prefix) => self.set_route(now, prefix, None),
            Command::GracefulShutdown(prefix) => {
                self.set_route(now, prefix, Some(Mark::GracefulShutdown));
            }
            Command::TcpConnected => self.tcp_connected(now, Initiator::Local),
            Command::TcpAccepted => self.tcp_connected(now, Initiator::Remote),
            Command::SecondClosed => self.second_closed(now),
            // A failed attempt matters only while waiting for it: a connection the peer
            // opened meanwhile may carry the session.
            Command::TcpFailed if self.state != State::Connect => {}
            Command::TcpFailed | Command::TcpClosed => self.tcp_failed(now),
            Command::BfdDown if self.state.has_connection() => {
                self.go_down(now, DownReason::BfdDown);
            }
            Command::BfdDown => {}
        }
    }

    /// Takes bytes read from the TCP stream; message framing is handled here.
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        if !self.connected || !self.state.has_connection() {
            return;
        }
        let mut buf = std::mem::take(&mut self.receive);
        buf.extend_from_slice(bytes);
        let mut offset = 0;
        let generation = self.generation;
        // A collision can hand the session another connection mid-buffer: the rest of
        // these bytes belonged to the one it left.
        while self.connected && self.generation == generation {
            match frame_len(&buf[offset..]) {
                Ok(Some(len)) => {
                    let frame = &buf[offset..offset + len];
                    offset += len;
                    self.handle_frame(now, frame);
                }
                Ok(None) => break,
                Err(error) => {
                    self.go_down(now, DownReason::ProtocolError(error));
                    break;
                }
            }
        }
        if self.connected && self.generation == generation {
            buf.drain(..offset);
            self.receive = buf;
        }
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.take_expired(now) {
            match timer {
                //= https://www.rfc-editor.org/rfc/rfc4271#section-8.2.2
                //# If the HoldTimer_Expires (Event 10), the local system: - sends a
                //# NOTIFICATION message with the error code Hold Timer Expired
                Timer::Hold if self.connected => self.go_down(now, DownReason::HoldTimerExpired),
                // RFC 9687 §4, paraphrased: when the SendHoldTimer expires, send
                // NOTIFICATION 8 (Send Hold Timer Expired) if possible and close the
                // connection rather than wait for the peer.
                Timer::SendHold if self.connected => {
                    self.go_down(now, DownReason::SendHoldTimerExpired);
                }
                //= https://www.rfc-editor.org/rfc/rfc4271#section-8.2.2
                //# If the KeepaliveTimer_Expires event occurs (Event 11), the local system:
                //# - sends a KEEPALIVE message, and - restarts its KeepaliveTimer, unless the
                //# negotiated HoldTime value is zero.
                Timer::Keepalive
                    if matches!(self.state, State::OpenConfirm | State::Established) =>
                {
                    self.send(now, &Message::Keepalive);
                }
                Timer::ConnectRetry => self.connect_retry_expired(now),
                //= https://www.rfc-editor.org/rfc/rfc4271#section-8.1.3
                //# Event 13: IdleHoldTimer_Expires
                Timer::IdleHold if self.state == State::Idle && self.started => self.begin(now),
                Timer::SecondHold => self.second_hold_expired(now),
                _ => {}
            }
        }
    }

    /// Moves the bytes to write to the TCP stream into `out`; `false` if there are none.
    ///
    /// Call it only when the bytes can be written soon: data left here is what the send
    /// hold timer (RFC 9687) watches.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        if self.transmit.is_empty() {
            return false;
        }
        out.append(&mut self.transmit);
        self.timers.stop(Timer::SendHold);
        true
    }

    /// When [`Self::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The next event for the driver.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    fn set_state(&mut self, to: State) {
        if self.state != to {
            let from = self.state;
            self.state = to;
            self.events
                .push_back(SessionEvent::StateChanged { from, to });
        }
    }

    //= https://www.rfc-editor.org/rfc/rfc4271#section-8.2.2
    //# In response to a ManualStart event (Event 1) or an AutomaticStart event (Event 3),
    //# the local system: [...] - starts the ConnectRetryTimer with the initial value, -
    //# initiates a TCP connection to the other BGP peer, [...] - changes its state to
    //# Connect.
    fn manual_start(&mut self, now: Instant) {
        self.started = true;
        if self.state == State::Idle {
            self.begin(now);
        }
    }

    /// Leaves Idle: connect, or wait passively for the peer.
    fn begin(&mut self, now: Instant) {
        self.timers.stop(Timer::IdleHold);
        if self.config.settings().passive {
            self.set_state(State::Active);
        } else {
            self.timers.start(
                Timer::ConnectRetry,
                now + self.config.settings().connect_retry_time,
            );
            self.set_state(State::Connect);
            self.events.push_back(SessionEvent::WantConnect);
        }
    }

    fn manual_stop(&mut self, now: Instant, message: String) {
        self.started = false;
        self.idle_hold = self.config.settings().idle_hold_time;
        match self.state {
            State::Idle => self.timers.stop(Timer::IdleHold),
            State::Connect | State::Active => {
                if self.state == State::Connect {
                    self.events.push_back(SessionEvent::WantDisconnect);
                }
                self.timers.stop(Timer::ConnectRetry);
                self.set_state(State::Idle);
            }
            State::OpenSent | State::OpenConfirm | State::Established => {
                self.go_down(now, DownReason::Stopped { message });
            }
        }
    }

    fn set_route(&mut self, now: Instant, prefix: Prefix, mark: Option<Mark>) {
        if self.routes.set(prefix, mark).is_err() {
            self.events.push_back(SessionEvent::AnnounceRefused(prefix));
            return;
        }
        if self.state == State::Established {
            let families = self.families();
            for update in self.routes.changes(&families) {
                self.send(now, &Message::Update(update));
            }
        }
    }

    fn families(&self) -> Vec<Family> {
        self.negotiation
            .as_ref()
            .map(|n| n.families.clone())
            .unwrap_or_default()
    }

    fn tcp_connected(&mut self, now: Instant, initiator: Initiator) {
        match self.state {
            State::Connect | State::Active => {}
            // The other side's connection while ours exchanges OPENs: a collision, resolved
            // once both carry the peer's OPEN (RFC 4271 §6.8).
            State::OpenSent | State::OpenConfirm
                if self.second.is_none() && initiator != self.initiator =>
            {
                self.open_second(now, initiator);
                return;
            }
            // Idle refuses connections (RFC 4271 §8.2.2).
            //= https://www.rfc-editor.org/rfc/rfc4271#section-6.8
            //# Unless allowed via configuration, a connection collision with an existing
            //# BGP connection that is in the Established state causes closing of the newly
            //# created connection.
            _ => {
                self.events.push_back(SessionEvent::ConnectionRefused);
                return;
            }
        }
        //= https://www.rfc-editor.org/rfc/rfc4271#section-8.2.2
        //# If the TCP connection succeeds (Event 16 or Event 17), the local system checks
        //# the DelayOpen attribute prior to processing. [...] If the DelayOpen attribute is
        //# set to FALSE, the local system: - stops the ConnectRetryTimer (if running) and
        //# sets the ConnectRetryTimer to zero, - completes BGP initialization - sends an
        //# OPEN message to its peer, - sets the HoldTimer to a large value, and - changes
        //# its state to OpenSent.
        self.connected = true;
        self.initiator = initiator;
        self.generation += 1;
        self.keepalive_deferred = false;
        self.peer_keepalive_early = false;
        self.transmit.clear();
        self.receive.clear();
        self.timers.stop(Timer::ConnectRetry);
        let open = self.open_message();
        self.send(now, &Message::Open(open));
        self.timers.start(Timer::Hold, now + OPEN_HOLD_TIME);
        self.set_state(State::OpenSent);
    }

    fn open_message(&self) -> Open {
        let s = self.config.settings();
        let mut capabilities: Vec<Capability> = self
            .config
            .families()
            .into_iter()
            .map(Capability::Multiprotocol)
            .collect();
        capabilities.push(Capability::RouteRefresh);
        capabilities.push(Capability::FourOctetAs(s.local_as));
        if let Some(restart_time) = s.graceful_restart {
            //= https://www.rfc-editor.org/rfc/rfc4724#section-3
            //# Restart Time: This is the estimated time (in seconds) it will take for the BGP
            //# session to be re-established after a restart.
            capabilities.push(Capability::GracefulRestart(GracefulRestart {
                restart_flags: 0,
                restart_time: restart_time.as_secs().min(0x0fff) as u16,
                families: self
                    .config
                    .families()
                    .into_iter()
                    .map(|family| GracefulRestartFamily { family, flags: 0 })
                    .collect(),
            }));
        }
        Open {
            version: BGP_VERSION,
            //= https://www.rfc-editor.org/rfc/rfc6793#section-4.2.1
            //# AS_TRANS MUST be used when the NEW BGP speaker does not have a two-octet AS
            //# number (even if multiple Autonomous Systems would use it).
            my_as: u16::try_from(s.local_as).unwrap_or(AS_TRANS),
            hold_time: self.config.hold_time_secs(),
            bgp_identifier: s.router_id,
            capabilities,
        }
    }

    fn tcp_failed(&mut self, now: Instant) {
        match self.state {
            // The connection attempt failed: retry when the ConnectRetryTimer expires.
            State::Connect => {
                self.timers.start(
                    Timer::ConnectRetry,
                    now + self.config.settings().connect_retry_time,
                );
                self.set_state(State::Active);
            }
            State::Idle | State::Active => {}
            State::OpenSent | State::OpenConfirm | State::Established => {
                self.connected = false;
                self.go_down(now, DownReason::ConnectionClosed);
            }
        }
    }

    fn connect_retry_expired(&mut self, now: Instant) {
        //= https://www.rfc-editor.org/rfc/rfc4271#section-8.2.2
        //# In response to the ConnectRetryTimer_Expires event (Event 9), the local system:
        //# - drops the TCP connection, - restarts the ConnectRetryTimer, - [...] - initiates
        //# a TCP connection to the other BGP peer
        let retry = now + self.config.settings().connect_retry_time;
        match self.state {
            State::Connect => {
                self.events.push_back(SessionEvent::WantDisconnect);
                self.timers.start(Timer::ConnectRetry, retry);
                self.events.push_back(SessionEvent::WantConnect);
            }
            State::Active if !self.config.settings().passive => {
                self.timers.start(Timer::ConnectRetry, retry);
                self.set_state(State::Connect);
                self.events.push_back(SessionEvent::WantConnect);
            }
            _ => {}
        }
    }

    fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        let wire = self
            .negotiation
            .as_ref()
            .map(|n| n.wire)
            .unwrap_or_default();
        let message = match Message::parse(frame, wire) {
            Ok(message) => message,
            Err(error) => {
                self.go_down(now, DownReason::ProtocolError(error));
                return;
            }
        };
        self.stats.messages_received += 1;
        match (self.state, message) {
            //= https://www.rfc-editor.org/rfc/rfc4271#section-8.2.2
            //# If the local system receives a NOTIFICATION message (Event 24 or Event 25)
            //# ... the local system: - sets the ConnectRetryTimer to zero, ... - drops the
            //# TCP connection, ...
            (_, Message::Notification(notification)) => {
                self.stats.notifications_received += 1;
                self.go_down(now, DownReason::NotificationReceived(notification));
            }
            (State::OpenSent, Message::Open(open)) => self.handle_open(now, &open),
            //= https://www.rfc-editor.org/rfc/rfc4271#section-8.2.2
            //# If the local system receives a KEEPALIVE message (KeepAliveMsg (Event 26)),
            //# the local system: - restarts the HoldTimer and - changes its state to
            //# Established.
            (State::OpenConfirm, Message::Keepalive) if self.keepalive_deferred => {
                // Our KEEPALIVE waits for the collision's outcome (see `fsm::collision`):
                // the peer's is remembered until then.
                self.restart_hold(now);
                self.peer_keepalive_early = true;
            }
            (State::OpenConfirm, Message::Keepalive) => {
                // RFC 4271 §6.8: a connection still exchanging OPENs collides with an
                // Established one and is closed.
                self.close_second(Some(collision_cease()));
                self.restart_hold(now);
                self.set_state(State::Established);
                self.on_established(now);
            }
            (State::Established, Message::Keepalive) => self.restart_hold(now),
            (State::Established, Message::Update(update)) => {
                self.restart_hold(now);
                self.handle_update(&update);
            }
            (State::Established, Message::RouteRefresh(refresh)) => {
                self.handle_route_refresh(now, refresh);
            }
            (state, _) => self.go_down(now, DownReason::UnexpectedMessage { state }),
        }
    }

    fn handle_open(&mut self, now: Instant, open: &Open) {
        if let Err(error) = self.check_open(open) {
            self.go_down(now, DownReason::ProtocolError(error));
            return;
        }
        let negotiation = self.negotiate(open);
        let (hold_time, hold_secs) = (negotiation.hold_time, negotiation.hold_time.as_secs());
        self.negotiation = Some(negotiation);
        //= https://www.rfc-editor.org/rfc/rfc4271#section-8.2.2
        //# When an OPEN message is received, all fields are checked for correctness. If
        //# there are no errors in the OPEN message (Event 19), the local system: - resets
        //# the DelayOpenTimer to zero, - sets the BGP ConnectRetryTimer to zero, - sends a
        //# KEEPALIVE message, and - sets a KeepaliveTimer ... - sets the HoldTimer
        //# according to the negotiated value (see Section 4.2), - changes its state to
        //# OpenConfirm.
        // Unless a collision is pending: then the KEEPALIVE waits for its outcome.
        if self.second.is_some() {
            self.keepalive_deferred = true;
        } else {
            self.send(now, &Message::Keepalive);
        }
        if hold_secs == 0 {
            self.timers.stop(Timer::Hold);
            self.timers.stop(Timer::Keepalive);
        } else {
            self.timers.start(Timer::Hold, now + hold_time);
        }
        self.set_state(State::OpenConfirm);
        self.resolve_collision(now);
    }

    /// The checks of a received OPEN beyond its syntax.
    fn check_open(&self, open: &Open) -> Result<(), Error> {
        let s = self.config.settings();
        //= https://www.rfc-editor.org/rfc/rfc4271#section-6.2
        //# If the Autonomous System field of the OPEN message is unacceptable, then the
        //# Error Subcode MUST be set to Bad Peer AS.
        if open.asn() != s.peer_as {
            return Err(Error::BadPeerAs);
        }
        // RFC 6286 §2.2, paraphrased: within an AS the BGP Identifiers of peers must
        // differ; between ASes they may be equal.
        if self.config.is_internal() && open.bgp_identifier == s.router_id {
            return Err(Error::BadBgpIdentifier);
        }
        Ok(())
    }

    /// What a checked OPEN settles with our configuration.
    fn negotiate(&self, open: &Open) -> Negotiation {
        //= https://www.rfc-editor.org/rfc/rfc4271#section-4.2
        //# Upon receipt of an OPEN message, a BGP speaker MUST calculate the value of the
        //# Hold Timer by using the smaller of its configured Hold Time and the Hold Time
        //# received in the OPEN message.
        let hold_secs = self.config.hold_time_secs().min(open.hold_time);
        let hold_time = Duration::from_secs(u64::from(hold_secs));
        //= https://www.rfc-editor.org/rfc/rfc4271#section-10
        //# The suggested default value for the KeepaliveTime is 1/3 of the HoldTime.
        let keepalive_time = (hold_secs > 0).then(|| hold_time / 3);
        // RFC 4760 §8 and RFC 4271, paraphrased: a peer that advertises no
        // Multiprotocol capability speaks plain BGP-4, that is IPv4 unicast only.
        let mut theirs = open.families();
        if theirs.is_empty() {
            theirs.push(Family::IPV4_UNICAST);
        }
        let families = self
            .config
            .families()
            .into_iter()
            .filter(|f| theirs.contains(f))
            .collect();
        Negotiation {
            hold_time,
            keepalive_time,
            wire: Negotiated {
                four_octet_as: open.four_octet_as().is_some(),
            },
            families,
            peer_id: open.bgp_identifier,
        }
    }

    fn on_established(&mut self, now: Instant) {
        self.established_at = Some(now);
        self.stats.established += 1;
        let Some(negotiation) = self.negotiation.clone() else {
            return;
        };
        self.events.push_back(SessionEvent::Established {
            hold_time: negotiation.hold_time,
            families: negotiation.families.clone(),
            peer_id: negotiation.peer_id,
        });
        for family in negotiation.families {
            for update in self.routes.changes(&[family]) {
                self.send(now, &Message::Update(update));
            }
            // RFC 4724 §2, paraphrased: sending End-of-RIB after the initial update is
            // recommended even without graceful restart, as it helps convergence.
            self.send(now, &Message::Update(Update::end_of_rib(family)));
        }
    }

    /// Received routes are parsed and counted, never installed: we only announce.
    fn handle_update(&mut self, update: &Update) {
        self.stats.updates_received += 1;
        if update.end_of_rib_family().is_some() {
            return;
        }
        let announced = u64::try_from(update.announced().count()).unwrap_or(u64::MAX);
        let withdrawn = u64::try_from(update.withdrawn_prefixes().count()).unwrap_or(u64::MAX);
        //= https://www.rfc-editor.org/rfc/rfc7606#section-2
        //# In this approach, the UPDATE message containing the path attribute in question
        //# MUST be treated as though all contained routes had been withdrawn
        if update.action() == Some(ErrorAction::TreatAsWithdraw) {
            self.stats.treat_as_withdraw += 1;
            self.stats.withdrawals_received += announced + withdrawn;
        } else {
            self.stats.prefixes_received += announced;
            self.stats.withdrawals_received += withdrawn;
        }
        for error in &update.errors {
            self.events.push_back(SessionEvent::UpdateError(*error));
        }
    }

    fn handle_route_refresh(&mut self, now: Instant, refresh: RouteRefresh) {
        self.stats.route_refreshes_received += 1;
        //= https://www.rfc-editor.org/rfc/rfc2918#section-4
        //# If a BGP speaker receives from its peer a ROUTE-REFRESH message with the <AFI,
        //# SAFI> that the speaker didn't advertise to the peer at the session establishment
        //# time via capability advertisement, the speaker shall ignore such a message.
        if refresh.subtype != 0 || !self.families().contains(&refresh.family) {
            return;
        }
        for update in self.routes.full(refresh.family) {
            self.send(now, &Message::Update(update));
        }
    }

    fn restart_hold(&mut self, now: Instant) {
        if let Some(n) = &self.negotiation {
            if !n.hold_time.is_zero() {
                self.timers.start(Timer::Hold, now + n.hold_time);
            }
        }
    }

    fn send_hold_time(&self) -> Duration {
        let s = self.config.settings();
        let hold = self
            .negotiation
            .as_ref()
            .map_or(s.hold_time, |n| n.hold_time);
        s.send_hold_time
            .unwrap_or_else(|| MIN_DEFAULT_SEND_HOLD_TIME.max(hold * 2))
    }

    /// Queues a message for the peer.
    fn send(&mut self, now: Instant, message: &Message) {
        let wire = self
            .negotiation
            .as_ref()
            .map(|n| n.wire)
            .unwrap_or_default();
        let was_empty = self.transmit.is_empty();
        // Messages built here stay under 4096 octets (config limits, chunked UPDATEs), so
        // emit does not fail; if it ever did, sending nothing is the safe outcome.
        if message.emit(&mut self.transmit, wire).is_err() {
            return;
        }
        self.stats.messages_sent += 1;
        match message {
            Message::Update(_) => self.stats.updates_sent += 1,
            Message::Notification(_) => self.stats.notifications_sent += 1,
            _ => {}
        }
        //= https://www.rfc-editor.org/rfc/rfc4271#section-8.2.2
        //# Each time the local system sends a KEEPALIVE or UPDATE message, it restarts its
        //# KeepaliveTimer, unless the negotiated HoldTime value is zero.
        if matches!(message, Message::Keepalive | Message::Update(_)) {
            if let Some(keepalive) = self.negotiation.as_ref().and_then(|n| n.keepalive_time) {
                self.timers.start(Timer::Keepalive, now + keepalive);
            }
        }
        if was_empty && self.connected {
            self.timers
                .start(Timer::SendHold, now + self.send_hold_time());
        }
    }

    /// Leaves a state with a connection: NOTIFICATION if the reason has one, close, Idle,
    /// and the IdleHoldTimer if the session should restart.
    fn go_down(&mut self, now: Instant, reason: DownReason) {
        if self.second.is_some() {
            let session_wide = matches!(reason, DownReason::Stopped { .. } | DownReason::BfdDown);
            if self.started && !session_wide {
                // The connection failed, not the session: carry on over the other one.
                self.take_over_second(now, reason.notification());
                return;
            }
            self.close_second(reason.notification());
        }
        if self.connected {
            // Unsent UPDATEs and KEEPALIVEs are moot once the session closes; drop them so
            // the NOTIFICATION goes out first.
            self.transmit.clear();
            if let Some(notification) = reason.notification() {
                self.send(now, &Message::Notification(notification));
            }
            self.events.push_back(SessionEvent::WantDisconnect);
        }
        self.keepalive_deferred = false;
        self.peer_keepalive_early = false;
        self.connected = false;
        self.receive.clear();
        self.negotiation = None;
        self.routes.reset();
        for timer in [
            Timer::Hold,
            Timer::Keepalive,
            Timer::SendHold,
            Timer::ConnectRetry,
        ] {
            self.timers.stop(timer);
        }
        self.stats.downs += 1;
        let reset_after = self.config.settings().idle_hold_reset_after;
        if let Some(since) = self.established_at.take() {
            if now.saturating_duration_since(since) >= reset_after {
                self.idle_hold = self.config.settings().idle_hold_time;
            }
        }
        self.set_state(State::Idle);
        self.events.push_back(SessionEvent::Down { reason });
        // RFC 4271 §8.1.1, paraphrased: with DampPeerOscillations the IdleHoldTimer keeps
        // a flapping peer in Idle, and the IdleHoldTime grows while it keeps flapping.
        if self.started {
            self.timers.start(Timer::IdleHold, now + self.idle_hold);
            let doubled = self.idle_hold.saturating_mul(2);
            self.idle_hold = doubled.min(self.config.settings().max_idle_hold_time);
        }
    }
}
