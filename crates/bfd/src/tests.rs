//! Two sessions wired back to back with a virtual clock: bring-up, detection, the Poll
//! sequence, AdminDown and malformed input.

use std::time::{Duration, Instant};

use crate::packet::{ControlPacket, Diag, State};
use crate::session::{BfdEvent, Command, Config, Discard, Session, Settings};

/// An arbitrary origin for virtual time; the only clock read in this crate's tests.
#[allow(clippy::disallowed_methods)] // tests need some Instant to count from
fn epoch() -> Instant {
    Instant::now()
}

const MS: Duration = Duration::from_millis(1);

fn settings(discriminator: u32, interval: Duration) -> Settings {
    Settings {
        local_discriminator: discriminator,
        desired_min_tx: interval,
        required_min_rx: interval,
        detect_mult: 3,
        jitter_seed: u64::from(discriminator),
    }
}

fn session(discriminator: u32, interval: Duration, now: Instant) -> Session {
    Session::new(
        Config::try_from(settings(discriminator, interval)).unwrap(),
        now,
    )
}

/// Two sessions, A and B, and the packets between them (delivered at once).
struct Pair {
    now: Instant,
    a: Session,
    b: Session,
    /// Packets each side sent, decoded, with the time sent.
    sent_by_a: Vec<(Instant, ControlPacket)>,
    sent_by_b: Vec<(Instant, ControlPacket)>,
    /// Events each side gave, with their time.
    events_a: Vec<(Instant, BfdEvent)>,
    events_b: Vec<(Instant, BfdEvent)>,
    /// A's packets are lost (a frozen or cut-off A).
    a_silent: bool,
}

impl Pair {
    fn new(interval_a: Duration, interval_b: Duration) -> Self {
        let now = epoch();
        Self {
            now,
            a: session(7, interval_a, now),
            b: session(9, interval_b, now),
            sent_by_a: Vec::new(),
            sent_by_b: Vec::new(),
            events_a: Vec::new(),
            events_b: Vec::new(),
            a_silent: false,
        }
    }

    /// Moves packets and events until neither side has output; then returns.
    fn exchange(&mut self) {
        let mut out = Vec::new();
        loop {
            let mut moved = false;
            while self.a.poll_transmit(&mut out) {
                moved = true;
                self.sent_by_a
                    .push((self.now, ControlPacket::parse(&out).unwrap()));
                if !self.a_silent {
                    self.b.handle_packet(self.now, &out).unwrap();
                }
            }
            while self.b.poll_transmit(&mut out) {
                moved = true;
                self.sent_by_b
                    .push((self.now, ControlPacket::parse(&out).unwrap()));
                self.a.handle_packet(self.now, &out).unwrap();
            }
            while let Some(e) = self.a.poll_event() {
                self.events_a.push((self.now, e));
            }
            while let Some(e) = self.b.poll_event() {
                self.events_b.push((self.now, e));
            }
            if !moved {
                return;
            }
        }
    }

    /// Runs virtual time forward to `until`, waking at each deadline.
    fn drive(&mut self, until: Instant) {
        self.exchange();
        loop {
            let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    self.a.handle_timeout(self.now);
                    self.b.handle_timeout(self.now);
                    self.exchange();
                }
                _ => break,
            }
        }
        self.now = until;
    }

    fn drive_for(&mut self, span: Duration) {
        self.drive(self.now + span);
    }
}

fn changes(events: &[(Instant, BfdEvent)]) -> Vec<(State, State, Diag)> {
    events
        .iter()
        .map(|(_, e)| match e {
            BfdEvent::StateChanged { from, to, diag } => (*from, *to, *diag),
        })
        .collect()
}

#[test]
fn test_6_2_two_sessions_come_up() {
    let mut pair = Pair::new(300 * MS, 300 * MS);
    pair.drive_for(3 * MS);
    assert_eq!(pair.a.state(), State::Up);
    assert_eq!(pair.b.state(), State::Up);
    // A spoke first: B saw A's Down and went Init; A saw B's Init and went straight Up.
    assert_eq!(
        changes(&pair.events_a),
        [(State::Down, State::Up, Diag::None)]
    );
    assert_eq!(
        changes(&pair.events_b),
        [
            (State::Down, State::Init, Diag::None),
            (State::Init, State::Up, Diag::None)
        ]
    );
    assert_eq!(pair.a.remote_discriminator(), 9);
    assert_eq!(pair.b.remote_discriminator(), 7);
    // They stay up for a long while, sending at about the negotiated rate.
    pair.sent_by_a.clear();
    pair.drive_for(Duration::from_secs(60));
    assert_eq!((pair.a.state(), pair.b.state()), (State::Up, State::Up));
    let sent = pair.sent_by_a.len();
    // 300 ms less 0-25% jitter: between 200 and 267 packets a minute.
    assert!((200..=267).contains(&sent), "{sent} packets in 60 s");
    assert_eq!(pair.a.stats().ups, 1);
    assert_eq!(pair.a.stats().downs, 0);
}

#[test]
fn test_6_8_3_one_second_while_not_up() {
    let now = epoch();
    let mut a = session(7, 50 * MS, now);
    let mut out = Vec::new();
    assert!(a.poll_transmit(&mut out));
    let first = ControlPacket::parse(&out).unwrap();
    assert_eq!(first.state, State::Down);
    assert_eq!(first.desired_min_tx, 1_000_000);
    assert_eq!(first.required_min_rx, 50_000);
    assert_eq!(first.your_discriminator, 0);
    // No peer: packets go out every 0.75 to 1 s.
    let next = a.poll_timeout().unwrap();
    assert!(next >= now + 750 * MS && next <= now + Duration::from_secs(1));
}

#[test]
fn test_6_8_4_silent_peer_is_down_at_the_detection_time() {
    let mut pair = Pair::new(100 * MS, 300 * MS);
    pair.drive_for(Duration::from_secs(5));
    assert_eq!((pair.a.state(), pair.b.state()), (State::Up, State::Up));
    // B's detection time: A's detect mult × max(B's required min rx 300, A's tx 100).
    assert_eq!(pair.b.detection_time(), Some(900 * MS));
    // A's: B's mult × max(100, B's desired tx 300).
    assert_eq!(pair.a.detection_time(), Some(900 * MS));
    pair.a_silent = true;
    let last_heard = pair.now;
    // The last packet B took from A is at or before `last_heard`.
    let last_from_a = pair.sent_by_a.last().unwrap().0;
    pair.drive_for(Duration::from_secs(3));
    assert_eq!(pair.b.state(), State::Down);
    let (at, event) = *pair.events_b.last().unwrap();
    assert_eq!(
        event,
        BfdEvent::StateChanged {
            from: State::Up,
            to: State::Down,
            diag: Diag::ControlDetectionTimeExpired
        }
    );
    assert_eq!(
        at,
        last_from_a + 900 * MS,
        "down exactly at the detection time"
    );
    assert!(at > last_heard);
    assert_eq!(pair.b.diag(), Diag::ControlDetectionTimeExpired);
    assert_eq!(pair.b.remote_discriminator(), 0);
    // B's Down reaches A, which goes Down too (diag 3) and then Init (it still hears B),
    // and B sends at 1 s again.
    assert!(changes(&pair.events_a).contains(&(
        State::Up,
        State::Down,
        Diag::NeighborSignaledSessionDown
    )));
    assert_eq!(pair.a.state(), State::Init);
    let down_packets: Vec<_> = pair
        .sent_by_b
        .iter()
        .filter(|(t, _)| *t > at)
        .map(|(_, p)| *p)
        .collect();
    assert!(down_packets.iter().all(|p| p.state == State::Down));
    assert!(down_packets.iter().all(|p| p.desired_min_tx == 1_000_000));
    assert_eq!(pair.b.stats().downs, 1);
    // A speaks again: they come back up.
    pair.a_silent = false;
    pair.drive_for(Duration::from_secs(5));
    assert_eq!((pair.a.state(), pair.b.state()), (State::Up, State::Up));
}

#[test]
fn test_6_5_poll_and_final_on_interval_change() {
    let mut pair = Pair::new(100 * MS, 100 * MS);
    pair.drive_for(Duration::from_secs(2));
    // Coming Up changed Desired Min TX from 1 s to 100 ms: each side polled with the new
    // value and the other answered with Final, which ended the sequence.
    let up_at = pair.events_a.last().unwrap().0;
    let polls: Vec<_> = pair
        .sent_by_a
        .iter()
        .filter(|(_, p)| p.poll)
        .map(|(_, p)| *p)
        .collect();
    assert!(!polls.is_empty());
    assert!(
        polls
            .iter()
            .all(|p| p.desired_min_tx == 100_000 && p.state == State::Up)
    );
    let first_poll = pair.sent_by_a.iter().position(|(_, p)| p.poll).unwrap();
    let first_poll_at = pair.sent_by_a[first_poll].0;
    assert!(first_poll_at >= up_at);
    let finals: Vec<_> = pair
        .sent_by_b
        .iter()
        .filter(|(t, p)| p.final_bit && *t >= first_poll_at)
        .collect();
    assert!(!finals.is_empty(), "B answered the poll");
    assert!(finals.iter().all(|(_, p)| !p.poll));
    assert!(!pair.a.polling() && !pair.b.polling());
    // After the Final, A no longer polls.
    let last_poll = pair.sent_by_a.iter().rposition(|(_, p)| p.poll).unwrap();
    let later = &pair.sent_by_a[last_poll + 1..];
    assert!(later.len() > 5 && later.iter().all(|(_, p)| !p.poll));
    // And sends at the new rate: 75-100 ms apart.
    for pair_of in later.windows(2) {
        let gap = pair_of[1].0 - pair_of[0].0;
        assert!(gap >= 75 * MS && gap <= 100 * MS, "{gap:?}");
    }
}

#[test]
fn test_6_8_7_jitter_with_detect_mult_one_is_75_to_90_percent() {
    let now = epoch();
    let mut s = settings(7, 100 * MS);
    s.detect_mult = 1;
    s.desired_min_tx = Duration::from_secs(2);
    let mut a = Session::new(Config::try_from(s).unwrap(), now);
    let mut out = Vec::new();
    let mut t = now;
    for _ in 0..200 {
        a.handle_timeout(t);
        assert!(a.poll_transmit(&mut out));
        let next = a.poll_timeout().unwrap();
        let gap = next - t;
        assert!(gap >= 1500 * MS && gap <= 1800 * MS, "{gap:?}");
        t = next;
    }
}

#[test]
fn test_6_8_16_admin_down_is_signalled_and_not_a_failure_here() {
    let mut pair = Pair::new(100 * MS, 100 * MS);
    pair.drive_for(Duration::from_secs(2));
    let now = pair.now;
    pair.a.handle_command(now, Command::AdminDown);
    pair.drive_for(10 * MS);
    assert_eq!(pair.a.state(), State::AdminDown);
    assert_eq!(pair.b.state(), State::Down);
    assert_eq!(pair.b.diag(), Diag::NeighborSignaledSessionDown);
    let (_, last) = pair.sent_by_a.last().unwrap();
    assert_eq!(
        (last.state, last.diag),
        (State::AdminDown, Diag::AdministrativelyDown)
    );
    // Held down however long it takes.
    pair.drive_for(Duration::from_secs(10));
    assert_eq!(pair.a.state(), State::AdminDown);
    let now = pair.now;
    pair.a.handle_command(now, Command::Enable);
    pair.drive_for(Duration::from_secs(3));
    assert_eq!((pair.a.state(), pair.b.state()), (State::Up, State::Up));
}

#[test]
fn test_6_8_6_discriminator_rules_and_malformed_packets() {
    let mut pair = Pair::new(100 * MS, 100 * MS);
    pair.drive_for(Duration::from_secs(2));
    let now = pair.now;
    let good = pair.sent_by_b.last().unwrap().1;
    let emit = |p: ControlPacket| {
        let mut out = Vec::new();
        p.emit(&mut out);
        out
    };
    // Not for us.
    let wrong = emit(ControlPacket {
        your_discriminator: 8,
        ..good
    });
    assert_eq!(
        pair.a.handle_packet(now, &wrong),
        Err(Discard::WrongDiscriminator(8))
    );
    // Up without knowing who we are.
    let zero = emit(ControlPacket {
        your_discriminator: 0,
        state: State::Down,
        ..good
    });
    let zero_up = emit(ControlPacket {
        your_discriminator: 0,
        ..good
    });
    assert_eq!(
        pair.a.handle_packet(now, &zero_up),
        Err(Discard::ZeroDiscriminatorInState(State::Up))
    );
    // Malformed: version, multiplier zero, truncated.
    let mut bad = emit(good);
    bad[0] = 0x40;
    assert!(matches!(
        pair.a.handle_packet(now, &bad),
        Err(Discard::Malformed(_))
    ));
    assert!(pair.a.handle_packet(now, &emit(good)[..20]).is_err());
    assert_eq!(pair.a.stats().packets_discarded, 4);
    // None of this changed the session.
    assert_eq!(pair.a.state(), State::Up);
    assert!(pair.a.poll_event().is_none());
    // A well-formed Down with Your Discriminator zero is accepted and takes A down.
    assert_eq!(pair.a.handle_packet(now, &zero), Ok(()));
    assert_eq!(pair.a.state(), State::Down);
}

#[test]
fn silence_from_the_start_sends_slowly_and_never_comes_up() {
    let mut pair = Pair::new(100 * MS, 100 * MS);
    pair.a_silent = true;
    pair.drive_for(Duration::from_secs(10));
    assert_eq!(pair.b.state(), State::Down);
    // B never heard A, so it stays Down and sends once a second; A hears B's Down
    // packets, so it sits in Init (each one restarts its detection timer).
    assert!(
        (10..=14).contains(&pair.sent_by_b.len()),
        "{}",
        pair.sent_by_b.len()
    );
    assert_eq!(pair.a.state(), State::Init);
    assert_eq!(pair.a.detection_time(), Some(Duration::from_secs(3)));
}

#[test]
fn config_is_validated() {
    use crate::session::ConfigError;
    let ok = settings(1, 100 * MS);
    assert!(Config::try_from(ok.clone()).is_ok());
    let cases = [
        (
            Settings {
                local_discriminator: 0,
                ..ok.clone()
            },
            ConfigError::ZeroDiscriminator,
        ),
        (
            Settings {
                detect_mult: 0,
                ..ok.clone()
            },
            ConfigError::ZeroDetectMult,
        ),
        (
            Settings {
                desired_min_tx: Duration::ZERO,
                ..ok.clone()
            },
            ConfigError::BadInterval,
        ),
        (
            Settings {
                required_min_rx: Duration::from_secs(5000),
                ..ok
            },
            ConfigError::BadInterval,
        ),
    ];
    for (settings, error) in cases {
        assert_eq!(Config::try_from(settings), Err(error));
    }
}

#[test]
fn fuzz_hook_survives_mutations() {
    let mut pair = Pair::new(100 * MS, 100 * MS);
    pair.drive_for(Duration::from_secs(2));
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for (_, p) in pair.sent_by_a.iter().chain(&pair.sent_by_b) {
        let mut out = Vec::new();
        p.emit(&mut out);
        seeds.push(out);
    }
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let now = epoch();
    for i in 0..20_000 {
        let mut input = seeds[i % seeds.len()].clone();
        for _ in 0..1 + next() % 3 {
            let at = (next() % input.len() as u64) as usize;
            input[at] ^= 1 << (next() % 8);
        }
        if next() % 4 == 0 {
            input.extend_from_slice(&seeds[(next() % seeds.len() as u64) as usize]);
        }
        crate::fuzz::fuzz_parse(now, &input);
    }
}
