//! One BFD session in Asynchronous mode (RFC 5880 §6): the state machine of §6.2, reception
//! (§6.8.6), transmission (§6.8.7), timer negotiation (§6.8.2-§6.8.4) and the Poll
//! sequence (§6.5).

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::packet::{ControlPacket, Diag, ParseError, State};

/// The slowest rate a session uses while it is not Up.
//= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.3
//# When bfd.SessionState is not Up, the system MUST set bfd.DesiredMinTxInterval to a
//# value of not less than one second (1,000,000 microseconds).
pub const SLOW_TX_INTERVAL: Duration = Duration::from_secs(1);

/// The longest interval the wire can carry (2^32 - 1 µs, about 71 minutes).
pub const MAX_INTERVAL: Duration = Duration::from_micros(u32::MAX as u64);

/// What a session is configured with, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// bfd.LocalDiscr: nonzero and unique among the system's sessions.
    pub local_discriminator: u32,
    /// bfd.DesiredMinTxInterval while Up.
    pub desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval.
    pub required_min_rx: Duration,
    /// bfd.DetectMult.
    pub detect_mult: u8,
    /// Seed of the generator that jitters the transmit interval.
    pub jitter_seed: u64,
}

/// Why [`Settings`] were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The local discriminator is zero.
    ZeroDiscriminator,
    /// An interval is zero or longer than [`MAX_INTERVAL`].
    BadInterval,
    /// The detect multiplier is zero.
    ZeroDetectMult,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ZeroDiscriminator => "the local discriminator must not be zero",
            Self::BadInterval => "intervals must be between 1 µs and 2^32-1 µs",
            Self::ZeroDetectMult => "the detect multiplier must not be zero",
        })
    }
}

impl std::error::Error for ConfigError {}

/// Validated [`Settings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    settings: Settings,
}

impl Config {
    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

impl TryFrom<Settings> for Config {
    type Error = ConfigError;

    fn try_from(settings: Settings) -> Result<Self, ConfigError> {
        if settings.local_discriminator == 0 {
            return Err(ConfigError::ZeroDiscriminator);
        }
        let valid = |d: Duration| d >= Duration::from_micros(1) && d <= MAX_INTERVAL;
        if !valid(settings.desired_min_tx) || !valid(settings.required_min_rx) {
            return Err(ConfigError::BadInterval);
        }
        if settings.detect_mult == 0 {
            return Err(ConfigError::ZeroDetectMult);
        }
        Ok(Self { settings })
    }
}

/// Inputs other than packets and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Hold the session in AdminDown (RFC 5880 §6.8.16), telling the peer so.
    AdminDown,
    /// Leave AdminDown for Down and come up again.
    Enable,
}

/// Outputs for the driver, taken with [`Session::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BfdEvent {
    /// bfd.SessionState changed.
    StateChanged {
        /// The old state.
        from: State,
        /// The new state.
        to: State,
        /// bfd.LocalDiag after the change: why (for a change to Down or AdminDown).
        diag: Diag,
    },
}

/// Why a received packet was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Discard {
    /// It did not parse (RFC 5880 §6.8.6, packet-only checks).
    Malformed(ParseError),
    /// Your Discriminator is nonzero and is not ours.
    WrongDiscriminator(u32),
    /// Your Discriminator is zero while the session is Init or Up.
    ZeroDiscriminatorInState(State),
}

impl fmt::Display for Discard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed: {e}"),
            Self::WrongDiscriminator(d) => write!(f, "your discriminator {d} is not ours"),
            Self::ZeroDiscriminatorInState(s) => write!(f, "your discriminator zero in {s}"),
        }
    }
}

/// Counters a driver can export as metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BfdStats {
    /// Control packets sent.
    pub packets_sent: u64,
    /// Control packets received and accepted.
    pub packets_received: u64,
    /// Control packets discarded.
    pub packets_discarded: u64,
    /// Times the session came Up.
    pub ups: u64,
    /// Times the session went from Up to Down.
    pub downs: u64,
}

/// One BFD session, without I/O; see the crate docs for how to drive it.
#[derive(Debug)]
pub struct Session {
    config: Config,
    /// bfd.SessionState.
    state: State,
    /// bfd.LocalDiag.
    local_diag: Diag,
    /// bfd.RemoteDiscr.
    remote_discriminator: u32,
    /// bfd.RemoteSessionState.
    remote_state: State,
    /// bfd.RemoteMinRxInterval.
    remote_min_rx: Duration,
    /// The Desired Min TX Interval of the last packet received.
    remote_desired_min_tx: Duration,
    /// The Detect Mult of the last packet received.
    remote_detect_mult: u8,
    /// bfd.DesiredMinTxInterval as advertised now.
    desired_min_tx: Duration,
    /// We are sending packets with Poll set until one with Final arrives.
    polling: bool,
    /// A packet with Final set is owed to the peer.
    final_due: bool,
    /// A periodic packet is due now.
    periodic_due: bool,
    /// When the next periodic packet is due.
    next_transmit: Option<Instant>,
    /// When the Detection Time runs out.
    detect_deadline: Option<Instant>,
    rng: XorShift,
    events: VecDeque<BfdEvent>,
    stats: BfdStats,
}

impl Session {
    /// A session in Down that sends its first packet at once.
    pub fn new(config: Config, now: Instant) -> Self {
        let rng = XorShift::new(config.settings.jitter_seed);
        let desired_min_tx = config.settings.desired_min_tx.max(SLOW_TX_INTERVAL);
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.1
        //# bfd.RemoteMinRxInterval [...] MUST be initialized to 1.
        let mut session = Self {
            config,
            state: State::Down,
            local_diag: Diag::None,
            remote_discriminator: 0,
            remote_state: State::Down,
            remote_min_rx: Duration::from_micros(1),
            remote_desired_min_tx: Duration::ZERO,
            remote_detect_mult: 0,
            desired_min_tx,
            polling: false,
            final_due: false,
            periodic_due: true,
            next_transmit: None,
            detect_deadline: None,
            rng,
            events: VecDeque::new(),
            stats: BfdStats::default(),
        };
        session.schedule_next(now);
        session
    }

    /// bfd.SessionState.
    pub fn state(&self) -> State {
        self.state
    }

    /// bfd.LocalDiag.
    pub fn diag(&self) -> Diag {
        self.local_diag
    }

    /// bfd.LocalDiscr.
    pub fn local_discriminator(&self) -> u32 {
        self.config.settings.local_discriminator
    }

    /// bfd.RemoteDiscr (zero until the peer is heard).
    pub fn remote_discriminator(&self) -> u32 {
        self.remote_discriminator
    }

    /// Whether a Poll sequence is in progress (RFC 5880 §6.5).
    pub fn polling(&self) -> bool {
        self.polling
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> &BfdStats {
        &self.stats
    }

    /// The interval between our periodic packets, before jitter (`None`: the peer wants
    /// none).
    //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.2
    //# the transmission time interval used by the local system [is] the larger of
    //# bfd.DesiredMinTxInterval and bfd.RemoteMinRxInterval
    pub fn transmit_interval(&self) -> Option<Duration> {
        (!self.remote_min_rx.is_zero()).then(|| self.desired_min_tx.max(self.remote_min_rx))
    }

    /// The Detection Time (`None` until the peer is heard).
    //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.4
    //# In Asynchronous mode, the Detection Time calculated in the local system is equal
    //# to the value of Detect Mult received from the remote system, multiplied by the
    //# agreed transmit interval of the remote system (the greater of
    //# bfd.RequiredMinRxInterval and the last received Desired Min TX Interval).
    pub fn detection_time(&self) -> Option<Duration> {
        (self.remote_detect_mult > 0).then(|| {
            let agreed = self
                .config
                .settings
                .required_min_rx
                .max(self.remote_desired_min_tx);
            agreed * u32::from(self.remote_detect_mult)
        })
    }

    /// Takes a received Control packet (the UDP payload).
    pub fn handle_packet(&mut self, now: Instant, bytes: &[u8]) -> Result<(), Discard> {
        let result = self.receive(now, bytes);
        if result.is_err() {
            self.stats.packets_discarded += 1;
        } else {
            self.stats.packets_received += 1;
        }
        result
    }

    fn receive(&mut self, now: Instant, bytes: &[u8]) -> Result<(), Discard> {
        let packet = ControlPacket::parse(bytes).map_err(Discard::Malformed)?;
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If the Your Discriminator field is nonzero, it MUST be used to select the session
        //# with which this BFD packet is associated. If no session is found, the packet MUST
        //# be discarded.
        if packet.your_discriminator != 0
            && packet.your_discriminator != self.config.settings.local_discriminator
        {
            return Err(Discard::WrongDiscriminator(packet.your_discriminator));
        }
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If the Your Discriminator field is zero and the State field is not Down or
        //# AdminDown, the packet MUST be discarded.
        if packet.your_discriminator == 0 && !matches!(packet.state, State::Down | State::AdminDown)
        {
            return Err(Discard::ZeroDiscriminatorInState(packet.state));
        }
        self.remote_discriminator = packet.my_discriminator;
        self.remote_state = packet.state;
        let previous_interval = self.transmit_interval();
        self.remote_min_rx = Duration::from_micros(u64::from(packet.required_min_rx));
        self.remote_desired_min_tx = Duration::from_micros(u64::from(packet.desired_min_tx));
        self.remote_detect_mult = packet.detect_mult;
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If a BFD Control packet is received with the Final (F) bit set to 1, the Poll
        //# Sequence MUST be terminated.
        if packet.final_bit {
            self.polling = false;
        }
        if self.transmit_interval() != previous_interval {
            self.reschedule(now);
        }
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If the Poll (P) bit is set, send a BFD Control packet to the remote system with
        //# the Poll (P) bit clear, and the Final (F) bit set (see section 6.8.7).
        if packet.poll {
            self.final_due = true;
        }
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If bfd.SessionState is AdminDown: Discard the packet
        if self.state == State::AdminDown {
            return Ok(());
        }
        // The Detection Time restarts with every packet not discarded.
        self.detect_deadline = self.detection_time().map(|t| now + t);
        self.transition(now, packet.state);
        Ok(())
    }

    /// The §6.2 state machine on a received state.
    fn transition(&mut self, now: Instant, received: State) {
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If received state is AdminDown: If bfd.SessionState is not Down: Set
        //# bfd.LocalDiag to 3 (Neighbor signaled session down) Set bfd.SessionState to Down
        if received == State::AdminDown {
            if self.state != State::Down {
                self.local_diag = Diag::NeighborSignaledSessionDown;
                self.set_state(now, State::Down);
            }
            return;
        }
        match (self.state, received) {
            //# If bfd.SessionState is Down: If received State is Down: Set
            //# bfd.SessionState to Init Else if received State is Init: Set
            //# bfd.SessionState to Up
            (State::Down, State::Down) => self.set_state(now, State::Init),
            (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                //# Else if bfd.SessionState is Init: If received State is Init or Up: Set
                //# bfd.SessionState to Up
                self.local_diag = Diag::None;
                self.set_state(now, State::Up);
            }
            //# Else (bfd.SessionState is Up): If received State is Down: Set
            //# bfd.LocalDiag to 3 (Neighbor signaled session down) Set bfd.SessionState
            //# to Down
            (State::Up, State::Down) => {
                self.local_diag = Diag::NeighborSignaledSessionDown;
                self.set_state(now, State::Down);
            }
            _ => {}
        }
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.detect_deadline.is_some_and(|d| d <= now) {
            self.detect_deadline = None;
            //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.4
            //# If Demand mode is not active, and a period of time equal to the Detection
            //# Time passes without the receipt of a valid, authenticated BFD packet from the
            //# remote system, then bfd.SessionState is Down: if bfd.SessionState is Init or
            //# Up, the session has gone down -- the local system MUST set bfd.SessionState
            //# to Down and bfd.LocalDiag to 1 (Control Detection Time Expired).
            //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.1
            //# [bfd.RemoteDiscr] MUST be set to zero if the Detection Time expires
            self.remote_discriminator = 0;
            self.remote_detect_mult = 0;
            self.remote_state = State::Down;
            self.remote_min_rx = Duration::from_micros(1);
            self.remote_desired_min_tx = Duration::ZERO;
            if matches!(self.state, State::Init | State::Up) {
                self.local_diag = Diag::ControlDetectionTimeExpired;
                self.set_state(now, State::Down);
            }
        }
        if self.next_transmit.is_some_and(|t| t <= now) {
            self.periodic_due = true;
            self.schedule_next(now);
        }
    }

    /// Applies a command.
    pub fn handle_command(&mut self, now: Instant, command: Command) {
        match command {
            //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.16
            //# the system MUST set bfd.SessionState to AdminDown and bfd.LocalDiag to an
            //# appropriate value
            Command::AdminDown if self.state != State::AdminDown => {
                self.local_diag = Diag::AdministrativelyDown;
                self.detect_deadline = None;
                self.set_state(now, State::AdminDown);
            }
            //# If signaling is received from outside BFD that the session should be
            //# enabled, [...] the system MUST set bfd.SessionState to Down
            Command::Enable if self.state == State::AdminDown => {
                self.set_state(now, State::Down);
            }
            _ => {}
        }
    }

    /// Writes the next Control packet to send into `out` (cleared first); `false` if none
    /// is due.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.7
        //# If a BFD Control packet is received with the Poll (P) bit set to 1, the receiving
        //# system MUST transmit a BFD Control packet with the Poll (P) bit clear and the
        //# Final (F) bit set as soon as practicable, without respect to the transmission
        //# timer or any other transmission limitations
        let (poll, final_bit) = if self.final_due {
            self.final_due = false;
            (false, true)
        } else if self.periodic_due {
            self.periodic_due = false;
            //= https://www.rfc-editor.org/rfc/rfc5880#section-6.5
            //# the sending system [...] periodically transmits BFD Control packets with the
            //# Poll (P) bit set
            (self.polling, false)
        } else {
            return false;
        };
        let packet = self.packet(poll, final_bit);
        out.clear();
        packet.emit(out);
        self.stats.packets_sent += 1;
        true
    }

    /// When [`Self::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.next_transmit, self.detect_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next event for the driver.
    pub fn poll_event(&mut self) -> Option<BfdEvent> {
        self.events.pop_front()
    }

    /// The packet we send now.
    //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.7
    //# The contents of transmitted BFD Control packets MUST be set as follows:
    fn packet(&self, poll: bool, final_bit: bool) -> ControlPacket {
        let micros = |d: Duration| u32::try_from(d.as_micros()).unwrap_or(u32::MAX);
        let s = &self.config.settings;
        ControlPacket {
            diag: self.local_diag,
            state: self.state,
            poll,
            final_bit,
            // We share fate with the control plane on purpose (the process is what is
            // watched), so C is clear.
            control_plane_independent: false,
            demand: false,
            detect_mult: s.detect_mult,
            my_discriminator: s.local_discriminator,
            your_discriminator: self.remote_discriminator,
            desired_min_tx: micros(self.desired_min_tx),
            required_min_rx: micros(s.required_min_rx),
            //# Required Min Echo RX Interval: Set to bfd.RequiredMinEchoRxInterval [...];
            //# zero: this system does not support the Echo function.
            required_min_echo_rx: 0,
        }
    }

    fn set_state(&mut self, now: Instant, to: State) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        if to == State::Up {
            self.stats.ups += 1;
        } else if from == State::Up {
            self.stats.downs += 1;
        }
        self.events.push_back(BfdEvent::StateChanged {
            from,
            to,
            diag: self.local_diag,
        });
        let desired = if to == State::Up {
            self.config.settings.desired_min_tx
        } else {
            self.config.settings.desired_min_tx.max(SLOW_TX_INTERVAL)
        };
        if desired != self.desired_min_tx {
            self.desired_min_tx = desired;
            //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.3
            //# If either bfd.DesiredMinTxInterval is changed or bfd.RequiredMinRxInterval
            //# is changed, a Poll Sequence MUST be initiated (see section 6.5).
            self.polling = true;
        }
        // Tell the peer at once rather than at the next periodic packet (see the crate
        // docs, "Simplifications").
        self.periodic_due = true;
        self.schedule_next(now);
    }

    /// The transmit interval may have shortened: bring the next packet forward if it is
    /// due later than a full new interval from now.
    fn reschedule(&mut self, now: Instant) {
        match (self.next_transmit, self.transmit_interval()) {
            (Some(next), Some(interval)) if next > now + interval => self.schedule_next(now),
            (None, Some(_)) => self.next_transmit = Some(now),
            (_, None) => self.next_transmit = None,
            _ => {}
        }
    }

    /// Schedules the next periodic packet one jittered interval from `now`.
    //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.7
    //# The periodic transmission of BFD Control packets MUST be jittered on a per-packet
    //# basis by up to 25%, that is, the interval MUST be reduced by a random value of 0
    //# to 25% [...] If bfd.DetectMult is equal to 1, the interval between transmitted BFD
    //# Control packets MUST be no more than 90% of the negotiated transmission interval,
    //# and MUST be no less than 75% of the negotiated transmission interval.
    fn schedule_next(&mut self, now: Instant) {
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.7
        //# A system MUST NOT periodically transmit BFD Control packets if
        //# bfd.RemoteMinRxInterval is zero.
        let Some(interval) = self.transmit_interval() else {
            self.next_transmit = None;
            return;
        };
        let max_reduction: u32 = 25;
        let min_reduction: u32 = if self.config.settings.detect_mult == 1 {
            10
        } else {
            0
        };
        let span = u64::from(max_reduction - min_reduction + 1);
        // Below 26, so the conversion cannot fail.
        let reduction = min_reduction + u32::try_from(self.rng.next() % span).unwrap_or(0);
        self.next_transmit = Some(now + interval * (100 - reduction) / 100);
    }
}

/// A xorshift64 generator: enough for jitter, seeded by the caller.
#[derive(Debug, Clone)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // Zero is the generator's fixed point.
        Self(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
