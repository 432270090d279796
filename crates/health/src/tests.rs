//! Policy tests with virtual time: a `Sim` feeds probe rounds every `interval` and records
//! intents and state changes; nothing sleeps.

use std::time::{Duration, Instant};

use crate::{Cause, CheckId, Cloud, Command, Damping, Event, Intent, Policy, Reason, Scope, State};

const PREFIX: &str = "203.0.113.53/32";
const MS: Duration = Duration::from_millis(1);

/// A cloud with one prefix, driven in virtual time.
struct Sim {
    cloud: Cloud<&'static str>,
    now: Instant,
    intents: Vec<Intent<&'static str>>,
    events: Vec<Event>,
}

impl Sim {
    #[allow(clippy::disallowed_methods)] // the virtual clock needs some Instant to count from
    fn new(policy: Policy, instances: usize, site_checks: usize) -> Self {
        let now = Instant::now();
        Self {
            cloud: Cloud::new(now, policy, vec![PREFIX], instances, site_checks),
            now,
            intents: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Advances time by `by`, firing the cloud's timers on the way.
    fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(at) = self.cloud.poll_timeout().filter(|&at| at <= end) {
            self.now = self.now.max(at);
            self.cloud.handle_timeout(self.now);
            self.drain_outputs();
        }
        self.now = end;
    }

    /// One probe round: advance one interval, then give every instance and site check the
    /// same result.
    fn round(&mut self, instances: &[Result<(), Cause>], site: &[Result<(), Cause>]) {
        let interval = self.cloud.policy().interval;
        self.advance(interval);
        for (i, result) in instances.iter().enumerate() {
            self.cloud
                .handle_result(self.now, CheckId::Instance(i), *result);
        }
        for (i, result) in site.iter().enumerate() {
            self.cloud
                .handle_result(self.now, CheckId::Site(i), *result);
        }
        self.drain_outputs();
    }

    /// `n` rounds of one instance answering `result`.
    fn rounds(&mut self, n: usize, result: Result<(), Cause>) {
        for _ in 0..n {
            self.round(&[result], &[]);
        }
    }

    fn command(&mut self, command: Command) {
        self.cloud.handle_command(self.now, command);
        self.drain_outputs();
    }

    fn drain_outputs(&mut self) {
        while let Some(intent) = self.cloud.poll_intent() {
            self.intents.push(intent);
        }
        while let Some(event) = self.cloud.poll_event() {
            self.events.push(event);
        }
    }

    fn take_intents(&mut self) -> Vec<Intent<&'static str>> {
        std::mem::take(&mut self.intents)
    }

    fn reasons_to(&self, state: State) -> Vec<Reason> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::StateChanged { to, reason, .. } if *to == state => Some(*reason),
                _ => None,
            })
            .collect()
    }
}

/// The policy these tests were written against: explicit timing and fall, so that a change
/// of the defaults (tuned in the lab) does not change what the tests mean.
fn base() -> Policy {
    Policy {
        interval: Duration::from_millis(50),
        timeout: Duration::from_millis(40),
        fall: 2,
        ..Policy::default()
    }
}

fn no_damping() -> Policy {
    Policy {
        damping: None,
        ..base()
    }
}

#[test]
fn default_fall_needs_three_silent_rounds() {
    let mut sim = Sim::new(
        Policy {
            damping: None,
            ..Policy::default()
        },
        1,
        0,
    );
    sim.rounds(3, Ok(()));
    sim.take_intents();
    sim.rounds(2, Err(Cause::Timeout));
    assert_eq!(sim.cloud.state(), State::Announced);
    sim.rounds(1, Err(Cause::Timeout));
    assert_eq!(sim.cloud.state(), State::Down);
    // A closed port is definitive: one round.
    let mut sim = Sim::new(Policy::default(), 1, 0);
    sim.rounds(3, Ok(()));
    sim.rounds(1, Err(Cause::Refused));
    assert_eq!(sim.cloud.state(), State::Down);
}

#[test]
fn rise_announces_after_three_good_probes() {
    let mut sim = Sim::new(no_damping(), 1, 0);
    sim.rounds(2, Ok(()));
    assert_eq!(sim.cloud.state(), State::Down);
    assert!(sim.take_intents().is_empty());
    sim.rounds(1, Ok(()));
    assert_eq!(sim.cloud.state(), State::Announced);
    assert_eq!(sim.take_intents(), vec![Intent::Announce(PREFIX)]);
    assert!(sim.events.contains(&Event::CheckUp {
        check: CheckId::Instance(0)
    }));
}

#[test]
fn fall_withdraws_after_two_timeouts_not_one() {
    let mut sim = Sim::new(no_damping(), 1, 0);
    sim.rounds(3, Ok(()));
    sim.take_intents();
    // One lost probe in between good ones is noise.
    sim.rounds(1, Err(Cause::Timeout));
    sim.rounds(1, Ok(()));
    sim.rounds(1, Err(Cause::Timeout));
    assert_eq!(sim.cloud.state(), State::Announced);
    assert!(sim.take_intents().is_empty());
    sim.rounds(1, Err(Cause::Timeout));
    assert_eq!(sim.cloud.state(), State::Down);
    assert_eq!(sim.take_intents(), vec![Intent::Withdraw(PREFIX)]);
    assert_eq!(
        sim.reasons_to(State::Down),
        vec![Reason::Unhealthy {
            check: CheckId::Instance(0),
            cause: Cause::Timeout
        }]
    );
}

#[test]
fn a_refused_port_withdraws_at_once() {
    let mut sim = Sim::new(no_damping(), 1, 0);
    sim.rounds(3, Ok(()));
    sim.take_intents();
    sim.rounds(1, Err(Cause::Refused));
    assert_eq!(sim.cloud.state(), State::Down);
    assert_eq!(sim.take_intents(), vec![Intent::Withdraw(PREFIX)]);
}

#[test]
fn hold_down_delays_the_return() {
    let policy = Policy {
        hold_down: Duration::from_secs(2),
        ..no_damping()
    };
    let mut sim = Sim::new(policy, 1, 0);
    sim.rounds(3, Ok(()));
    sim.rounds(2, Err(Cause::Timeout));
    let withdrawn = sim.now;
    sim.take_intents();
    // Healthy again after three rounds, but the hold-down keeps it out.
    sim.rounds(3, Ok(()));
    assert_eq!(sim.cloud.state(), State::HoldDown);
    assert!(sim.take_intents().is_empty());
    // The cloud's own timer announces at the end of the hold-down, between probe rounds.
    assert_eq!(
        sim.cloud.poll_timeout(),
        Some(withdrawn + Duration::from_secs(2))
    );
    sim.advance(Duration::from_secs(2));
    assert_eq!(sim.cloud.state(), State::Announced);
    assert_eq!(sim.take_intents(), vec![Intent::Announce(PREFIX)]);
    assert_eq!(
        sim.reasons_to(State::Announced).last(),
        Some(&Reason::HoldDownEnded)
    );
}

#[test]
fn a_flapping_site_stays_out() {
    let policy = Policy {
        hold_down: Duration::from_millis(500),
        damping: Some(Damping::default()),
        ..base()
    };
    let mut sim = Sim::new(policy, 1, 0);
    // Flap: up for a second, down for a second, again and again.
    let mut announcements = 0;
    for _ in 0..10 {
        sim.rounds(20, Ok(()));
        sim.rounds(20, Err(Cause::Timeout));
        announcements += sim
            .take_intents()
            .iter()
            .filter(|i| matches!(i, Intent::Announce(_)))
            .count();
    }
    // The 4th withdrawal within a few seconds crosses suppress (3000): no more announcements.
    assert_eq!(announcements, 4);
    assert_eq!(sim.cloud.state(), State::Suppressed);
    assert!(matches!(
        sim.reasons_to(State::Suppressed)[..],
        [Reason::Suppressed { penalty }] if penalty > 3000
    ));
    // Healthy from now on: still out while the penalty decays ...
    sim.rounds(100, Ok(()));
    assert_eq!(sim.cloud.state(), State::Suppressed);
    assert!(sim.take_intents().is_empty());
    // ... and back once it falls below reuse (1500), within ~half a minute at half-life 30 s.
    let status = sim.cloud.status(sim.now);
    assert!(status.penalty > 1500, "{status:?}");
    sim.advance(Duration::from_secs(60));
    assert_eq!(sim.cloud.state(), State::Announced);
    assert_eq!(sim.take_intents(), vec![Intent::Announce(PREFIX)]);
    assert_eq!(
        sim.reasons_to(State::Announced).last(),
        Some(&Reason::Reused)
    );
    assert!(sim.cloud.status(sim.now).penalty < 1500);
}

#[test]
fn occasional_failures_are_not_damped() {
    let policy = Policy {
        hold_down: Duration::ZERO,
        ..base()
    };
    let mut sim = Sim::new(policy, 1, 0);
    // One outage a minute for ten minutes: the penalty decays between them.
    for _ in 0..10 {
        sim.rounds(3, Ok(()));
        sim.rounds(2, Err(Cause::Timeout));
        sim.advance(Duration::from_secs(60));
    }
    sim.rounds(3, Ok(()));
    assert_eq!(sim.cloud.state(), State::Announced);
}

#[test]
fn k_of_n_instances() {
    let policy = Policy {
        min_instances: 2,
        ..no_damping()
    };
    let mut sim = Sim::new(policy, 3, 0);
    let ok = Ok(());
    let dead = Err(Cause::Refused);
    // Two of three up is enough to announce.
    for _ in 0..3 {
        sim.round(&[ok, ok, dead], &[]);
    }
    assert_eq!(sim.cloud.state(), State::Announced);
    assert_eq!(sim.take_intents(), vec![Intent::Announce(PREFIX)]);
    // A second instance failing leaves one: withdrawn, naming a failing instance.
    sim.round(&[ok, dead, dead], &[]);
    assert_eq!(sim.cloud.state(), State::Down);
    assert_eq!(sim.take_intents(), vec![Intent::Withdraw(PREFIX)]);
    let status = sim.cloud.status(sim.now);
    assert_eq!(
        (status.instances_up, status.instances, status.min_instances),
        (1, 3, 2)
    );
}

#[test]
fn one_of_two_failing_keeps_the_route() {
    let mut sim = Sim::new(no_damping(), 2, 0);
    for _ in 0..3 {
        sim.round(&[Ok(()), Ok(())], &[]);
    }
    sim.take_intents();
    for _ in 0..10 {
        sim.round(&[Ok(()), Err(Cause::Timeout)], &[]);
    }
    assert_eq!(sim.cloud.state(), State::Announced);
    assert!(sim.take_intents().is_empty());
    assert!(sim.events.contains(&Event::CheckDown {
        check: CheckId::Instance(1),
        cause: Cause::Timeout
    }));
}

#[test]
fn a_failing_site_check_withdraws_whatever_the_instances() {
    let mut sim = Sim::new(no_damping(), 2, 1);
    for _ in 0..3 {
        sim.round(&[Ok(()), Ok(())], &[Ok(())]);
    }
    sim.take_intents();
    sim.round(&[Ok(()), Ok(())], &[Err(Cause::ZoneExpired)]);
    assert_eq!(sim.cloud.state(), State::Down);
    assert_eq!(sim.take_intents(), vec![Intent::Withdraw(PREFIX)]);
}

#[test]
fn the_guard_holds_a_global_failure_but_not_a_local_one() {
    let policy = Policy {
        last_site_guard: true,
        ..no_damping()
    };
    assert_eq!(Cause::ZoneExpired.scope(), Scope::Global);
    let mut sim = Sim::new(policy, 1, 1);
    for _ in 0..3 {
        sim.round(&[Ok(())], &[Ok(())]);
    }
    sim.take_intents();
    // The zone expired (as it would at every site sharing the primary): keep announcing.
    sim.round(&[Ok(())], &[Err(Cause::ZoneExpired)]);
    assert_eq!(sim.cloud.state(), State::GuardHeld);
    assert!(sim.take_intents().is_empty());
    // Now the instance dies too: that is this site's own failure, so withdraw.
    sim.rounds(1, Err(Cause::Refused));
    assert_eq!(sim.cloud.state(), State::Down);
    assert_eq!(sim.take_intents(), vec![Intent::Withdraw(PREFIX)]);
    // Without the guard, the expired zone alone withdraws.
    let mut sim = Sim::new(no_damping(), 1, 1);
    for _ in 0..3 {
        sim.round(&[Ok(())], &[Ok(())]);
    }
    sim.take_intents();
    sim.round(&[Ok(())], &[Err(Cause::ZoneExpired)]);
    assert_eq!(sim.take_intents(), vec![Intent::Withdraw(PREFIX)]);
}

#[test]
fn drain_marks_then_withdraws_then_stays_out_until_undrain() {
    let policy = Policy {
        graceful_shutdown: Duration::from_secs(1),
        ..no_damping()
    };
    let mut sim = Sim::new(policy, 1, 0);
    sim.rounds(3, Ok(()));
    sim.take_intents();
    sim.command(Command::Drain);
    assert_eq!(sim.cloud.state(), State::Draining);
    assert_eq!(sim.take_intents(), vec![Intent::GracefulShutdown(PREFIX)]);
    // Healthy probes during the grace time change nothing.
    sim.rounds(10, Ok(()));
    assert_eq!(sim.cloud.state(), State::Draining);
    sim.advance(Duration::from_millis(500));
    assert_eq!(sim.cloud.state(), State::Drained);
    assert_eq!(sim.take_intents(), vec![Intent::Withdraw(PREFIX)]);
    assert_eq!(sim.reasons_to(State::Drained), vec![Reason::GraceEnded]);
    // Stays out while healthy.
    sim.rounds(50, Ok(()));
    assert!(sim.take_intents().is_empty());
    // Undrain: back at once (checks pass, no hold-down or penalty for a planned drain).
    sim.command(Command::Undrain);
    assert_eq!(sim.cloud.state(), State::Announced);
    assert_eq!(sim.take_intents(), vec![Intent::Announce(PREFIX)]);
    assert_eq!(sim.cloud.status(sim.now).penalty, 0);
}

#[test]
fn undrain_waits_for_the_checks() {
    let mut sim = Sim::new(no_damping(), 1, 0);
    sim.rounds(3, Ok(()));
    sim.command(Command::Drain);
    sim.advance(Duration::from_secs(2));
    sim.rounds(2, Err(Cause::Refused));
    sim.take_intents();
    sim.command(Command::Undrain);
    assert_eq!(sim.cloud.state(), State::Down);
    assert!(sim.take_intents().is_empty());
    sim.rounds(3, Ok(()));
    assert_eq!(sim.cloud.state(), State::Announced);
    assert_eq!(sim.take_intents(), vec![Intent::Announce(PREFIX)]);
}

#[test]
fn undrain_during_the_grace_time_restores_the_normal_route() {
    let mut sim = Sim::new(no_damping(), 1, 0);
    sim.rounds(3, Ok(()));
    sim.take_intents();
    sim.command(Command::Drain);
    sim.advance(100 * MS);
    sim.command(Command::Undrain);
    assert_eq!(sim.cloud.state(), State::Announced);
    assert_eq!(
        sim.take_intents(),
        vec![Intent::GracefulShutdown(PREFIX), Intent::Announce(PREFIX)]
    );
    sim.advance(Duration::from_secs(5));
    assert!(sim.take_intents().is_empty());
}

#[test]
fn draining_a_withdrawn_cloud_is_immediate() {
    let mut sim = Sim::new(no_damping(), 1, 0);
    sim.command(Command::Drain);
    assert_eq!(sim.cloud.state(), State::Drained);
    assert!(sim.take_intents().is_empty());
    sim.rounds(5, Ok(()));
    assert_eq!(sim.cloud.state(), State::Drained);
}

#[test]
fn site_checks_alone_without_instances() {
    let mut sim = Sim::new(no_damping(), 0, 1);
    for _ in 0..3 {
        sim.round(&[], &[Ok(())]);
    }
    assert_eq!(sim.cloud.state(), State::Announced);
    sim.round(&[], &[Err(Cause::CommandFailed(Some(1)))]);
    sim.round(&[], &[Err(Cause::CommandFailed(Some(1)))]);
    assert_eq!(sim.cloud.state(), State::Down);
}

#[test]
fn every_transition_is_an_event_with_a_cause() {
    let mut sim = Sim::new(no_damping(), 1, 0);
    sim.rounds(3, Ok(()));
    sim.rounds(
        2,
        Err(Cause::WrongSerial {
            expected: 2,
            got: 1,
        }),
    );
    let changes: Vec<_> = sim
        .events
        .iter()
        .filter_map(|e| match e {
            Event::StateChanged { from, to, reason } => Some((*from, *to, reason.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (State::Down, State::Announced, "checks pass".to_string()),
            (
                State::Announced,
                State::Down,
                "instance 0: answered serial 1, 2 is loaded".to_string()
            ),
        ]
    );
}
