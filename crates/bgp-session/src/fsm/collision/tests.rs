//! Two sessions that connect to each other at the same time, over two virtual TCP
//! connections, driven as the crate docs tell a driver to: each side keeps a main and a
//! second connection slot and follows `SecondConnection`, `ConnectionsSwapped`,
//! `WantDisconnect` and `WantDisconnectSecond`.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bgp_wire::{Message, Negotiated, frame_len};

use super::SECOND_OPEN_WAIT;
use crate::config::{PeerConfig, PeerSettings};
use crate::connections::{Initiator, survivor};
use crate::fsm::{Command, Session, SessionEvent, State};
use crate::sim::{epoch, settings};

/// Connection 0 is opened by side A, connection 1 by side B.
const FROM_A: usize = 0;
const FROM_B: usize = 1;

/// One direction of one connection.
#[derive(Default)]
struct Pipe {
    bytes: Vec<u8>,
    /// Every frame sent this way (for assertions).
    frames: Vec<Vec<u8>>,
    partial: Vec<u8>,
}

impl Pipe {
    fn push(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
        self.partial.extend_from_slice(bytes);
        while let Ok(Some(len)) = frame_len(&self.partial) {
            self.frames.push(self.partial.drain(..len).collect());
        }
    }

    /// (code, subcode) of the NOTIFICATIONs sent this way.
    fn notifications(&self) -> Vec<(u8, u8)> {
        self.frames
            .iter()
            .filter(|f| f[18] == 3)
            .map(|f| (f[19], f[20]))
            .collect()
    }

    fn updates(&self) -> usize {
        let four = Negotiated::FOUR_OCTET_AS;
        self.frames
            .iter()
            .filter(|f| {
                matches!(Message::parse(f, four), Ok(Message::Update(u))
                    if u.end_of_rib_family().is_none())
            })
            .count()
    }
}

struct Side {
    session: Session,
    main: Option<usize>,
    second: Option<usize>,
    /// The connection last reported to the session.
    offered: Option<usize>,
    swaps: Vec<Initiator>,
}

struct World {
    now: Instant,
    sides: [Side; 2],
    /// pipes[conn][from side]
    pipes: [[Pipe; 2]; 2],
    open: [bool; 2],
}

impl World {
    fn new(a: PeerSettings, b: PeerSettings) -> Self {
        let now = epoch();
        let side = |s: PeerSettings| Side {
            session: Session::new(PeerConfig::try_from(s).unwrap(), now),
            main: None,
            second: None,
            offered: None,
            swaps: Vec::new(),
        };
        Self {
            now,
            sides: [side(a), side(b)],
            pipes: Default::default(),
            open: [false, false],
        }
    }

    fn command(&mut self, side: usize, command: Command) {
        self.sides[side].session.handle_command(self.now, command);
        self.events(side);
    }

    /// Both sides connect to each other: each first sees its own connection, then the
    /// other's.
    fn connect_at_once(&mut self) {
        self.command(0, Command::Start);
        self.command(1, Command::Start);
        self.open = [true, true];
        self.report(0, FROM_A, Command::TcpConnected);
        self.report(1, FROM_B, Command::TcpConnected);
        self.report(0, FROM_B, Command::TcpAccepted);
        self.report(1, FROM_A, Command::TcpAccepted);
    }

    fn report(&mut self, side: usize, conn: usize, command: Command) {
        let s = &mut self.sides[side];
        s.offered = Some(conn);
        let had = s.session.state();
        s.session.handle_command(self.now, command);
        if matches!(had, State::Connect | State::Active) {
            s.main = s.offered.take();
        }
        self.events(side);
        self.sides[side].offered = None;
    }

    fn events(&mut self, side: usize) {
        while let Some(event) = self.sides[side].session.poll_event() {
            let s = &mut self.sides[side];
            match event {
                SessionEvent::SecondConnection => s.second = s.offered.take(),
                SessionEvent::ConnectionRefused => {
                    if let Some(conn) = s.offered.take() {
                        self.open[conn] = false;
                    }
                }
                SessionEvent::ConnectionsSwapped { kept } => {
                    std::mem::swap(&mut s.main, &mut s.second);
                    s.swaps.push(kept);
                }
                SessionEvent::WantDisconnect => {
                    self.flush(side);
                    if let Some(conn) = self.sides[side].main.take() {
                        self.open[conn] = false;
                    }
                }
                SessionEvent::WantDisconnectSecond => {
                    self.flush(side);
                    if let Some(conn) = self.sides[side].second.take() {
                        self.open[conn] = false;
                    }
                }
                _ => {}
            }
        }
    }

    /// Moves a side's output into the pipes of its connections.
    fn flush(&mut self, side: usize) {
        let s = &mut self.sides[side];
        let mut out = Vec::new();
        if s.session.poll_transmit(&mut out) {
            if let Some(conn) = s.main {
                self.pipes[conn][side].push(&out);
            }
        }
        out.clear();
        if s.session.poll_second_transmit(&mut out) {
            if let Some(conn) = s.second {
                self.pipes[conn][side].push(&out);
            }
        }
    }

    /// Delivers everything in flight, in the order given, until nothing moves; then tells
    /// each side about connections the other closed.
    fn run(&mut self, order: [usize; 2]) {
        for _ in 0..100 {
            let mut moved = false;
            for side in 0..2 {
                self.flush(side);
            }
            for conn in order {
                for from in 0..2 {
                    let bytes = std::mem::take(&mut self.pipes[conn][from].bytes);
                    if bytes.is_empty() {
                        continue;
                    }
                    moved = true;
                    let to = 1 - from;
                    let s = &mut self.sides[to];
                    if s.main == Some(conn) {
                        s.session.handle_bytes(self.now, &bytes);
                    } else if s.second == Some(conn) {
                        s.session.handle_second_bytes(self.now, &bytes);
                    }
                    self.events(to);
                }
            }
            for side in 0..2 {
                let s = &mut self.sides[side];
                if s.main.is_some_and(|c| !self.open[c]) {
                    s.main = None;
                    s.session.handle_command(self.now, Command::TcpClosed);
                    moved = true;
                } else if s.second.is_some_and(|c| !self.open[c]) {
                    s.second = None;
                    s.session.handle_command(self.now, Command::SecondClosed);
                    moved = true;
                }
                self.events(side);
            }
            if !moved {
                return;
            }
        }
        panic!("the two sessions never settled");
    }

    fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        loop {
            let next = self
                .sides
                .iter()
                .filter_map(|s| s.session.poll_timeout())
                .min();
            match next {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    for side in 0..2 {
                        self.sides[side].session.handle_timeout(self.now);
                        self.events(side);
                    }
                    self.run([0, 1]);
                }
                _ => break,
            }
        }
        self.now = end;
    }

    fn state(&self, side: usize) -> State {
        self.sides[side].session.state()
    }
}

fn with_id(a: bool, id: [u8; 4]) -> PeerSettings {
    PeerSettings {
        router_id: Ipv4Addr::from(id),
        ..settings(a)
    }
}

/// Cease / Connection Collision Resolution.
const CEASE_7: (u8, u8) = (6, 7);

#[test]
fn both_sides_keep_the_connection_opened_by_the_higher_identifier() {
    // B's identifier (192.0.2.2) is the higher: both keep B's connection.
    for order in [[FROM_A, FROM_B], [FROM_B, FROM_A]] {
        let mut w = World::new(settings(true), settings(false));
        w.command(0, Command::Announce("203.0.113.0/24".parse().unwrap()));
        w.connect_at_once();
        w.run(order);
        assert_eq!(w.state(0), State::Established, "{order:?}");
        assert_eq!(w.state(1), State::Established, "{order:?}");
        assert_eq!(w.sides[0].main, Some(FROM_B), "{order:?}");
        assert_eq!(w.sides[1].main, Some(FROM_B), "{order:?}");
        assert!(!w.open[FROM_A], "the losing connection is closed");
        assert!(w.sides[0].second.is_none() && w.sides[1].second.is_none());
        // A closed its own connection with Cease/7; B closed the one A opened too.
        assert!(
            w.pipes[FROM_A][0].notifications().contains(&CEASE_7),
            "{order:?}"
        );
        assert_eq!(w.sides[0].swaps, vec![Initiator::Remote]);
        assert!(w.sides[0].session.stats().collisions >= 1);
        // The route wanted before the collision reached B over the surviving connection.
        assert_eq!(w.pipes[FROM_B][0].updates(), 1, "{order:?}");
        w.advance(Duration::from_secs(600));
        assert_eq!(w.state(0), State::Established);
        assert_eq!(w.state(1), State::Established);
    }
}

#[test]
fn the_higher_local_identifier_keeps_its_own_connection() {
    let mut w = World::new(with_id(true, [192, 0, 2, 9]), settings(false));
    w.connect_at_once();
    w.run([FROM_A, FROM_B]);
    assert_eq!(w.state(0), State::Established);
    assert_eq!(w.state(1), State::Established);
    assert_eq!(w.sides[0].main, Some(FROM_A));
    assert_eq!(w.sides[1].main, Some(FROM_A));
    assert!(w.sides[0].swaps.is_empty());
    assert_eq!(w.sides[1].swaps, vec![Initiator::Remote]);
    assert!(w.pipes[FROM_B][1].notifications().contains(&CEASE_7));
}

#[test]
fn equal_identifiers_keep_the_connection_of_the_higher_as() {
    // RFC 6286 §2.3: both 192.0.2.7; B has the higher AS (65002).
    let mut w = World::new(
        with_id(true, [192, 0, 2, 7]),
        with_id(false, [192, 0, 2, 7]),
    );
    w.connect_at_once();
    w.run([FROM_B, FROM_A]);
    assert_eq!(w.state(0), State::Established);
    assert_eq!(w.sides[0].main, Some(FROM_B));
    assert_eq!(w.sides[1].main, Some(FROM_B));
}

#[test]
fn survivor_compares_identifiers_as_unsigned_integers() {
    let id = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    // 200.0.0.1 is above 10.0.0.1 as an unsigned integer (it would be negative as i32).
    assert_eq!(
        survivor(id("200.0.0.1"), 1, id("10.0.0.1"), 2),
        Initiator::Local
    );
    assert_eq!(
        survivor(id("10.0.0.1"), 1, id("200.0.0.1"), 2),
        Initiator::Remote
    );
    assert_eq!(
        survivor(id("10.0.0.1"), 3, id("10.0.0.1"), 2),
        Initiator::Local
    );
    assert_eq!(
        survivor(id("10.0.0.1"), 2, id("10.0.0.1"), 3),
        Initiator::Remote
    );
}

#[test]
fn a_failed_connection_hands_the_session_to_the_second() {
    let mut w = World::new(settings(true), settings(false));
    w.connect_at_once();
    // The connection A opened dies before any OPEN crossed it.
    w.open[FROM_A] = false;
    w.pipes[FROM_A] = Default::default();
    assert_eq!(w.sides[1].second, Some(FROM_A));
    w.sides[1].second = None;
    w.sides[1]
        .session
        .handle_command(w.now, Command::SecondClosed);
    w.run([FROM_B, FROM_A]);
    assert_eq!(w.state(0), State::Established);
    assert_eq!(w.state(1), State::Established);
    assert_eq!(w.sides[0].main, Some(FROM_B));
    assert_eq!(
        w.sides[0].session.stats().downs,
        0,
        "no Down: the session carried on"
    );
}

#[test]
fn a_second_connection_that_never_opens_is_closed_by_its_hold_timer() {
    let mut w = World::new(settings(true), settings(false));
    w.command(0, Command::Start);
    w.open = [true, true];
    w.report(0, FROM_A, Command::TcpConnected);
    w.report(0, FROM_B, Command::TcpAccepted);
    assert_eq!(w.sides[0].second, Some(FROM_B));
    // Nobody answers on either connection for SECOND_OPEN_WAIT: the second connection's
    // own timer closes it with Hold Timer Expired.
    w.now += SECOND_OPEN_WAIT + Duration::from_secs(1);
    w.sides[0].session.handle_timeout(w.now);
    w.events(0);
    assert!(w.sides[0].second.is_none(), "second connection closed");
    assert!(!w.open[FROM_B]);
    assert!(w.pipes[FROM_B][0].notifications().contains(&(4, 0)));
}

#[test]
fn a_connection_once_established_refuses_a_new_one() {
    let mut w = World::new(settings(true), settings(false));
    w.command(0, Command::Start);
    w.command(1, Command::Start);
    w.open = [true, false];
    w.report(0, FROM_A, Command::TcpConnected);
    w.report(1, FROM_A, Command::TcpAccepted);
    w.run([FROM_A, FROM_B]);
    assert_eq!(w.state(0), State::Established);
    w.open[FROM_B] = true;
    w.report(0, FROM_B, Command::TcpAccepted);
    assert!(!w.open[FROM_B], "refused");
    assert_eq!(w.sides[0].main, Some(FROM_A));
    assert_eq!(w.state(0), State::Established);
}

#[test]
fn a_second_connection_with_a_bad_open_is_closed_alone() {
    let mut w = World::new(settings(true), settings(false));
    w.command(0, Command::Start);
    w.open = [true, true];
    w.report(0, FROM_A, Command::TcpConnected);
    w.report(0, FROM_B, Command::TcpAccepted);
    // An OPEN from the wrong AS on the second connection.
    let mut wrong = settings(false);
    wrong.local_as = 64999;
    let mut impostor = Session::new(PeerConfig::try_from(wrong).unwrap(), w.now);
    impostor.handle_command(w.now, Command::Start);
    impostor.handle_command(w.now, Command::TcpConnected);
    let mut open = Vec::new();
    impostor.poll_transmit(&mut open);
    w.sides[0].session.handle_second_bytes(w.now, &open);
    w.events(0);
    w.flush(0);
    assert!(w.sides[0].second.is_none());
    assert_eq!(
        w.state(0),
        State::OpenSent,
        "the first connection is untouched"
    );
    assert!(
        w.pipes[FROM_B][0].notifications().contains(&(2, 2)),
        "Bad Peer AS"
    );
}

#[test]
fn a_second_connection_with_the_peers_open_is_kept_when_ours_gets_none() {
    // A's identifier is the higher, so A waits for B's OPEN on its own connection; but B
    // never accepted that connection. After SECOND_OPEN_WAIT A keeps B's connection.
    let mut w = World::new(with_id(true, [192, 0, 2, 9]), settings(false));
    w.command(0, Command::Start);
    w.command(1, Command::Start);
    w.open = [true, true];
    w.report(0, FROM_A, Command::TcpConnected);
    w.report(1, FROM_B, Command::TcpConnected);
    w.report(0, FROM_B, Command::TcpAccepted);
    assert_eq!(w.sides[0].second, Some(FROM_B));
    w.run([FROM_B, FROM_A]);
    assert_eq!(
        w.state(0),
        State::OpenSent,
        "A waits: its identifier says keep its own"
    );
    assert_eq!(
        w.state(1),
        State::OpenConfirm,
        "B has no KEEPALIVE from A yet"
    );
    w.advance(SECOND_OPEN_WAIT + Duration::from_secs(1));
    assert_eq!(w.state(0), State::Established);
    assert_eq!(w.state(1), State::Established);
    assert_eq!(w.sides[0].main, Some(FROM_B));
    assert_eq!(w.sides[0].swaps, vec![Initiator::Remote]);
}

#[test]
fn no_keepalive_goes_out_on_a_connection_while_its_collision_is_pending() {
    // Both sides hold both OPENs before any KEEPALIVE: the only KEEPALIVEs sent travel on
    // the connection kept (B's, the higher identifier).
    let mut w = World::new(settings(true), settings(false));
    w.connect_at_once();
    w.run([FROM_A, FROM_B]);
    assert_eq!(w.state(0), State::Established);
    assert_eq!(w.state(1), State::Established);
    let keepalives = |conn: usize, from: usize| {
        w.pipes[conn][from]
            .frames
            .iter()
            .filter(|f| f[18] == 4)
            .count()
    };
    assert_eq!(
        keepalives(FROM_A, 0) + keepalives(FROM_A, 1),
        0,
        "none on the closed one"
    );
    assert!(keepalives(FROM_B, 0) >= 1 && keepalives(FROM_B, 1) >= 1);
}
