//! A deterministic two-peer simulator: two sessions wired back to back through one virtual
//! TCP connection, a virtual clock, and fault knobs. It plays the driver described in the
//! crate docs, so it also checks that contract.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bgp_wire::{Message, Negotiated, frame_len};

use crate::config::{PeerConfig, PeerSettings};
use crate::fsm::{Command, Session, SessionEvent, State};

/// An arbitrary origin for virtual time; the only clock read in this crate's tests.
#[allow(clippy::disallowed_methods)] // tests need some Instant to count from
pub(crate) fn epoch() -> Instant {
    Instant::now()
}

/// Settings for side A (AS 65001) or B (AS 65002) announcing to each other.
pub(crate) fn settings(a: bool) -> PeerSettings {
    let (local, peer, id, nh) = if a {
        (
            65001,
            65002,
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(198, 51, 100, 1),
        )
    } else {
        (
            65002,
            65001,
            Ipv4Addr::new(192, 0, 2, 2),
            Ipv4Addr::new(198, 51, 100, 2),
        )
    };
    PeerSettings {
        prefixes: vec![
            "203.0.113.0/24".parse().unwrap(),
            "192.0.2.0/24".parse().unwrap(),
            "2001:db8:53::/48".parse().unwrap(),
        ],
        next_hop_v4: Some(nh),
        next_hop_v6: Some("2001:db8::1".parse().unwrap()),
        connect_retry_time: Duration::from_secs(10),
        ..PeerSettings::new(local, peer, id)
    }
}

/// One side of the pair.
pub(crate) struct Side {
    pub(crate) session: Session,
    /// Events taken from the session, with the virtual time they were taken at.
    pub(crate) events: Vec<(Instant, SessionEvent)>,
    /// Messages this side received, decoded for assertions.
    pub(crate) received: Vec<Message>,
    /// Bytes received but not yet a whole message (for `received`).
    partial: Vec<u8>,
    /// Do not take this side's output (a peer that stopped reading).
    pub(crate) stall_output: bool,
    /// Lose everything this side sends.
    pub(crate) drop_output: bool,
}

impl Side {
    fn new(settings: PeerSettings, now: Instant) -> Self {
        Self {
            session: Session::new(PeerConfig::try_from(settings).unwrap(), now),
            events: Vec::new(),
            received: Vec::new(),
            partial: Vec::new(),
            stall_output: false,
            drop_output: false,
        }
    }

    /// Times at which this side asked for a connection.
    pub(crate) fn connect_times(&self) -> Vec<Instant> {
        self.events
            .iter()
            .filter(|(_, e)| *e == SessionEvent::WantConnect)
            .map(|(t, _)| *t)
            .collect()
    }

    /// Whether any taken event matches.
    pub(crate) fn saw(&self, f: impl Fn(&SessionEvent) -> bool) -> bool {
        self.events.iter().any(|(_, e)| f(e))
    }

    /// Received messages that are UPDATEs other than End-of-RIB markers.
    pub(crate) fn updates(&self) -> Vec<&bgp_wire::Update> {
        self.received
            .iter()
            .filter_map(|m| match m {
                Message::Update(u) if u.end_of_rib_family().is_none() => Some(u),
                _ => None,
            })
            .collect()
    }

    fn record(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        while let Ok(Some(len)) = frame_len(&self.partial) {
            let frame: Vec<u8> = self.partial.drain(..len).collect();
            if let Ok(m) = Message::parse(&frame, Negotiated::FOUR_OCTET_AS) {
                self.received.push(m);
            }
        }
    }
}

/// Two sessions and the one connection between them.
pub(crate) struct Pair {
    pub(crate) now: Instant,
    pub(crate) a: Side,
    pub(crate) b: Side,
    connected: bool,
}

impl Pair {
    pub(crate) fn new(a: PeerSettings, b: PeerSettings) -> Self {
        let now = epoch();
        Self {
            now,
            a: Side::new(a, now),
            b: Side::new(b, now),
            connected: false,
        }
    }

    /// Both sides started and run until quiet.
    pub(crate) fn established() -> Self {
        let mut pair = Self::new(settings(true), settings(false));
        pair.start_both();
        assert_eq!(pair.a.session.state(), State::Established);
        assert_eq!(pair.b.session.state(), State::Established);
        pair
    }

    pub(crate) fn start_both(&mut self) {
        self.command(true, Command::Start);
        self.command(false, Command::Start);
    }

    fn side(&mut self, a: bool) -> (&mut Side, &mut Side) {
        if a {
            (&mut self.a, &mut self.b)
        } else {
            (&mut self.b, &mut self.a)
        }
    }

    /// Gives side A (or B) a command, then runs until quiet.
    pub(crate) fn command(&mut self, a: bool, command: Command) {
        let now = self.now;
        self.side(a).0.session.handle_command(now, command);
        self.drive();
    }

    /// The connection breaks under both sides (a TCP reset), then runs until quiet.
    pub(crate) fn break_connection(&mut self) {
        let now = self.now;
        self.connected = false;
        self.a.session.handle_command(now, Command::TcpClosed);
        self.b.session.handle_command(now, Command::TcpClosed);
        self.drive();
    }

    /// Feeds raw bytes to side A (or B) as if its peer sent them, then runs until quiet.
    pub(crate) fn inject(&mut self, a: bool, bytes: &[u8]) {
        let now = self.now;
        let (side, _) = self.side(a);
        side.session.handle_bytes(now, bytes);
        self.drive();
    }

    /// Advances virtual time by `by`, firing timers in order.
    pub(crate) fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        loop {
            let next = [self.a.session.poll_timeout(), self.b.session.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    let now = self.now;
                    self.a.session.handle_timeout(now);
                    self.b.session.handle_timeout(now);
                    self.drive();
                }
                _ => break,
            }
        }
        self.now = end;
    }

    /// Plays the driver for both sides until neither has anything to do.
    pub(crate) fn drive(&mut self) {
        let mut progress = true;
        let mut rounds = 0;
        while progress {
            rounds += 1;
            assert!(rounds < 10_000, "simulation does not settle");
            progress = false;
            for a in [true, false] {
                progress |= self.transmit(a);
                while let Some(event) = self.side(a).0.session.poll_event() {
                    progress = true;
                    self.act(a, event);
                }
            }
        }
    }

    /// Moves side A's (or B's) output to the other side.
    fn transmit(&mut self, a: bool) -> bool {
        let now = self.now;
        let connected = self.connected;
        let (from, to) = self.side(a);
        if from.stall_output {
            return false;
        }
        let mut bytes = Vec::new();
        if !from.session.poll_transmit(&mut bytes) {
            return false;
        }
        if connected && !from.drop_output {
            to.record(&bytes);
            to.session.handle_bytes(now, &bytes);
        }
        true
    }

    fn act(&mut self, a: bool, event: SessionEvent) {
        let now = self.now;
        self.side(a).0.events.push((now, event.clone()));
        match event {
            SessionEvent::WantConnect => {
                let connected = self.connected;
                let (from, to) = self.side(a);
                let listening = matches!(to.session.state(), State::Connect | State::Active);
                if from.session.state() == State::Connect && listening && !connected {
                    self.connected = true;
                    let (from, to) = self.side(a);
                    from.partial.clear();
                    to.partial.clear();
                    from.session.handle_command(now, Command::TcpConnected);
                    to.session.handle_command(now, Command::TcpAccepted);
                } else if !connected {
                    from.session.handle_command(now, Command::TcpFailed);
                }
                // With a connection already up, the driver abandons its own attempt.
            }
            SessionEvent::WantDisconnect => {
                // Flush what is queued (the NOTIFICATION), then close.
                self.transmit(a);
                if self.connected {
                    self.connected = false;
                    let (_, to) = self.side(a);
                    to.session.handle_command(now, Command::TcpClosed);
                }
            }
            _ => {}
        }
    }
}
