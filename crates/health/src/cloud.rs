//! One cloud's state machine: checks with rise/fall, k of N, hold-down, damping, the guard
//! and drain.

use core::fmt;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::cause::{Cause, Scope};
use crate::policy::Policy;

/// Which check a result belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckId {
    /// A DNS instance serving the cloud (counted for k of N), by index.
    Instance(usize),
    /// A site-wide check (zone freshness, command, third-party server), by index; every one
    /// must be up.
    Site(usize),
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Instance(i) => write!(f, "instance {i}"),
            Self::Site(i) => write!(f, "site check {i}"),
        }
    }
}

/// An operator's command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Leave politely: GRACEFUL_SHUTDOWN, then withdraw, then stay out.
    Drain,
    /// Come back once the checks pass.
    Undrain,
}

/// What the site should tell its BGP peers about one prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent<P> {
    /// Announce the prefix (normally).
    Announce(P),
    /// Keep announcing it with the GRACEFUL_SHUTDOWN mark (RFC 8326).
    GracefulShutdown(P),
    /// Withdraw it.
    Withdraw(P),
}

/// Where a cloud stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not announced: not healthy (yet).
    Down,
    /// Healthy but not announced: the hold-down after a withdrawal has not passed.
    HoldDown,
    /// Not announced: flap damping holds it out until the penalty decays.
    Suppressed,
    /// Announced.
    Announced,
    /// Announced although unhealthy: every failing check failed for a global reason and the
    /// last-site guard is on.
    GuardHeld,
    /// Announced with GRACEFUL_SHUTDOWN; withdrawn when the grace time ends.
    Draining,
    /// Withdrawn by the operator until undrained.
    Drained,
}

impl State {
    /// The name used in logs and the control API.
    pub fn name(self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::HoldDown => "hold-down",
            Self::Suppressed => "suppressed",
            Self::Announced => "announced",
            Self::GuardHeld => "guard-held",
            Self::Draining => "draining",
            Self::Drained => "drained",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the state changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Every check needed is up.
    Healthy,
    /// A check needed is down, for this cause.
    Unhealthy {
        /// The check.
        check: CheckId,
        /// Its last failure.
        cause: Cause,
    },
    /// The hold-down after the last withdrawal has passed.
    HoldDownEnded,
    /// The damping penalty went over the suppress threshold.
    Suppressed {
        /// The penalty.
        penalty: u32,
    },
    /// The damping penalty decayed below the reuse threshold.
    Reused,
    /// The operator asked for a drain.
    Drain,
    /// The GRACEFUL_SHUTDOWN time ended.
    GraceEnded,
    /// The operator asked to undrain.
    Undrain,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Healthy => f.write_str("checks pass"),
            Self::Unhealthy { check, cause } => write!(f, "{check}: {cause}"),
            Self::HoldDownEnded => f.write_str("hold-down ended"),
            Self::Suppressed { penalty } => write!(f, "flap damping (penalty {penalty})"),
            Self::Reused => f.write_str("damping penalty decayed below reuse"),
            Self::Drain => f.write_str("drain requested"),
            Self::GraceEnded => f.write_str("graceful-shutdown time ended"),
            Self::Undrain => f.write_str("undrain requested"),
        }
    }
}

/// Something that happened, for logs, metrics and the control API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A check went up (after `rise` successes).
    CheckUp {
        /// The check.
        check: CheckId,
    },
    /// A check went down (after `fall` failures, or one definitive failure).
    CheckDown {
        /// The check.
        check: CheckId,
        /// The failure that took it down.
        cause: Cause,
    },
    /// The cloud changed state.
    StateChanged {
        /// Before.
        from: State,
        /// After.
        to: State,
        /// Why.
        reason: Reason,
    },
}

/// A snapshot of a cloud for the control API.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Status {
    /// The state.
    pub state: State,
    /// Instances up.
    pub instances_up: usize,
    /// Instances probed.
    pub instances: usize,
    /// Instances needed (k).
    pub min_instances: usize,
    /// Site checks up.
    pub site_checks_up: usize,
    /// Site checks.
    pub site_checks: usize,
    /// The damping penalty now.
    pub penalty: u32,
    /// The reason of the last state change.
    pub last_reason: Option<Reason>,
}

/// Rise/fall bookkeeping of one check.
#[derive(Clone, Copy, Debug, Default)]
struct Check {
    up: bool,
    successes: u32,
    failures: u32,
    last_cause: Option<Cause>,
}

impl Check {
    /// Records a result; returns the new state if it changed.
    fn record(&mut self, result: Result<(), Cause>, policy: &Policy) -> Option<bool> {
        match result {
            Ok(()) => {
                self.failures = 0;
                self.successes = self.successes.saturating_add(1);
                if !self.up && self.successes >= policy.rise.max(1) {
                    self.up = true;
                    return Some(true);
                }
            }
            Err(cause) => {
                self.successes = 0;
                self.last_cause = Some(cause);
                self.failures = if cause.is_definitive() {
                    self.failures.max(policy.fall)
                } else {
                    self.failures.saturating_add(1)
                };
                if self.up && self.failures >= policy.fall.max(1) {
                    self.up = false;
                    return Some(false);
                }
            }
        }
        None
    }
}

/// Where a drain is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Drain {
    Serving,
    Grace { until: Instant },
    Drained,
}

/// What the peers have from us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Withdrawn,
    Announced,
    GracefulShutdown,
}

/// The health state machine of one cloud. See the crate documentation.
#[derive(Debug)]
pub struct Cloud<P> {
    policy: Policy,
    prefixes: Vec<P>,
    instances: Vec<Check>,
    site: Vec<Check>,
    state: State,
    route: Route,
    drain: Drain,
    /// When health last withdrew the cloud (the hold-down runs from here).
    withdrawn_at: Option<Instant>,
    /// Damping penalty as of `penalty_at`.
    penalty: f64,
    penalty_at: Instant,
    suppressed: bool,
    last_reason: Option<Reason>,
    intents: VecDeque<Intent<P>>,
    events: VecDeque<Event>,
}

impl<P: Clone> Cloud<P> {
    /// A cloud announcing `prefixes`, with `instances` instances and `site_checks` site-wide
    /// checks, every check down until it has passed `rise` times.
    pub fn new(
        now: Instant,
        policy: Policy,
        prefixes: Vec<P>,
        instances: usize,
        site_checks: usize,
    ) -> Self {
        Self {
            policy,
            prefixes,
            instances: vec![Check::default(); instances],
            site: vec![Check::default(); site_checks],
            state: State::Down,
            route: Route::Withdrawn,
            drain: Drain::Serving,
            withdrawn_at: None,
            penalty: 0.0,
            penalty_at: now,
            suppressed: false,
            last_reason: None,
            intents: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The prefixes.
    pub fn prefixes(&self) -> &[P] {
        &self.prefixes
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// A probe or check result. Unknown check indices are ignored.
    pub fn handle_result(&mut self, now: Instant, check: CheckId, result: Result<(), Cause>) {
        let policy = self.policy;
        let tracker = match check {
            CheckId::Instance(i) => self.instances.get_mut(i),
            CheckId::Site(i) => self.site.get_mut(i),
        };
        let Some(tracker) = tracker else {
            return;
        };
        match tracker.record(result, &policy) {
            Some(true) => self.events.push_back(Event::CheckUp { check }),
            Some(false) => {
                let cause = tracker.last_cause.unwrap_or(Cause::Timeout);
                self.events.push_back(Event::CheckDown { check, cause });
            }
            None => {}
        }
        self.evaluate(now, None);
    }

    /// An operator's command.
    pub fn handle_command(&mut self, now: Instant, command: Command) {
        match command {
            Command::Drain => {
                if self.drain != Drain::Serving {
                    return;
                }
                if self.route == Route::Withdrawn {
                    self.drain = Drain::Drained;
                    self.evaluate(now, Some(Reason::Drain));
                    return;
                }
                //= https://www.rfc-editor.org/rfc/rfc8326#section-3
                //# the GRACEFUL_SHUTDOWN community [...] SHOULD be attached to the routes
                //# before they are withdrawn
                self.set_route(Route::GracefulShutdown);
                self.drain = Drain::Grace {
                    until: now + self.policy.graceful_shutdown,
                };
                self.evaluate(now, Some(Reason::Drain));
            }
            Command::Undrain => {
                if self.drain == Drain::Serving {
                    return;
                }
                self.drain = Drain::Serving;
                if self.route == Route::GracefulShutdown {
                    // Undrained during the grace time: back to a normal announcement.
                    self.set_route(Route::Announced);
                }
                self.evaluate(now, Some(Reason::Undrain));
            }
        }
    }

    /// Time passed: the grace time, the hold-down or the damping may have ended.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.evaluate(now, None);
    }

    /// The next intent for the BGP speaker.
    pub fn poll_intent(&mut self) -> Option<Intent<P>> {
        self.intents.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.drain, self.state) {
            (Drain::Grace { until }, _) => Some(until),
            (_, State::HoldDown) => self.hold_down_end(),
            (_, State::Suppressed) => Some(self.reuse_at()),
            _ => None,
        }
    }

    /// A snapshot for the control API.
    pub fn status(&self, now: Instant) -> Status {
        Status {
            state: self.state,
            instances_up: self.instances.iter().filter(|c| c.up).count(),
            instances: self.instances.len(),
            min_instances: self.min_instances(),
            site_checks_up: self.site.iter().filter(|c| c.up).count(),
            site_checks: self.site.len(),
            penalty: self.penalty_now(now) as u32,
            last_reason: self.last_reason,
        }
    }

    /// k, clamped to 1..=N (0 when there are no instances: site checks alone decide).
    fn min_instances(&self) -> usize {
        if self.instances.is_empty() {
            0
        } else {
            self.policy.min_instances.clamp(1, self.instances.len())
        }
    }

    /// `Ok` when healthy, otherwise a failing check with its cause, and whether every
    /// failing check that makes the cloud unhealthy failed for a global reason.
    fn health(&self) -> Result<(), (CheckId, Cause, bool)> {
        let instances_up = self.instances.iter().filter(|c| c.up).count();
        let mut failing = Vec::new();
        if instances_up < self.min_instances() {
            failing.extend(
                self.instances
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !c.up)
                    .map(|(i, c)| (CheckId::Instance(i), c.last_cause)),
            );
        }
        failing.extend(
            self.site
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.up)
                .map(|(i, c)| (CheckId::Site(i), c.last_cause)),
        );
        let Some(&(check, cause)) = failing.first() else {
            return Ok(());
        };
        let global = failing
            .iter()
            .all(|(_, cause)| cause.is_some_and(|c| c.scope() == Scope::Global));
        Err((check, cause.unwrap_or(Cause::Timeout), global))
    }

    /// Recomputes the state and emits intents and events; `reason` is the operator's, if a
    /// command caused this.
    fn evaluate(&mut self, now: Instant, command: Option<Reason>) {
        let mut reason = command;
        if self.suppressed && self.penalty_now(now) < self.reuse() {
            self.suppressed = false;
            reason = Some(Reason::Reused);
        }
        let next = match self.drain {
            Drain::Grace { until } if now >= until => {
                self.set_route(Route::Withdrawn);
                self.drain = Drain::Drained;
                reason = reason.or(Some(Reason::GraceEnded));
                State::Drained
            }
            Drain::Grace { .. } => State::Draining,
            Drain::Drained => State::Drained,
            Drain::Serving => match (self.route, self.health()) {
                (Route::Withdrawn, Ok(())) => {
                    if self.suppressed {
                        State::Suppressed
                    } else if self.hold_down_end().is_some_and(|end| now < end) {
                        State::HoldDown
                    } else {
                        self.set_route(Route::Announced);
                        if self.state == State::HoldDown && command.is_none() {
                            reason = reason.or(Some(Reason::HoldDownEnded));
                        }
                        State::Announced
                    }
                }
                (Route::Withdrawn, Err((check, cause, _))) => {
                    reason = reason.or(Some(Reason::Unhealthy { check, cause }));
                    if self.suppressed {
                        State::Suppressed
                    } else {
                        State::Down
                    }
                }
                (_, Ok(())) => State::Announced,
                (_, Err((check, cause, global))) => {
                    reason = reason.or(Some(Reason::Unhealthy { check, cause }));
                    if self.policy.last_site_guard && global {
                        State::GuardHeld
                    } else {
                        self.set_route(Route::Withdrawn);
                        self.withdrawn_at = Some(now);
                        if self.add_penalty(now) {
                            reason = Some(Reason::Suppressed {
                                penalty: self.penalty as u32,
                            });
                            State::Suppressed
                        } else {
                            State::Down
                        }
                    }
                }
            },
        };
        if next != self.state {
            let reason = reason.unwrap_or(Reason::Healthy);
            self.events.push_back(Event::StateChanged {
                from: self.state,
                to: next,
                reason,
            });
            self.state = next;
            self.last_reason = Some(reason);
        }
    }

    fn set_route(&mut self, route: Route) {
        if route == self.route {
            return;
        }
        self.route = route;
        for prefix in &self.prefixes {
            self.intents.push_back(match route {
                Route::Withdrawn => Intent::Withdraw(prefix.clone()),
                Route::Announced => Intent::Announce(prefix.clone()),
                Route::GracefulShutdown => Intent::GracefulShutdown(prefix.clone()),
            });
        }
    }

    fn hold_down_end(&self) -> Option<Instant> {
        self.withdrawn_at.map(|at| at + self.policy.hold_down)
    }

    //= https://www.rfc-editor.org/rfc/rfc2439#section-4.2
    //# the figure of merit is decayed exponentially
    fn penalty_now(&self, now: Instant) -> f64 {
        let Some(damping) = self.policy.damping else {
            return 0.0;
        };
        let elapsed = now.saturating_duration_since(self.penalty_at).as_secs_f64();
        let half_life = damping.half_life.as_secs_f64().max(f64::MIN_POSITIVE);
        self.penalty * (-elapsed / half_life).exp2()
    }

    fn reuse(&self) -> f64 {
        self.policy.damping.map_or(0.0, |d| f64::from(d.reuse))
    }

    /// Adds one withdrawal's penalty; returns whether the cloud is now suppressed.
    fn add_penalty(&mut self, now: Instant) -> bool {
        let Some(damping) = self.policy.damping else {
            return false;
        };
        let half_lives = damping.max_suppress.as_secs_f64()
            / damping.half_life.as_secs_f64().max(f64::MIN_POSITIVE);
        let ceiling = f64::from(damping.reuse) * half_lives.min(64.0).exp2();
        self.penalty = (self.penalty_now(now) + f64::from(damping.penalty)).min(ceiling);
        self.penalty_at = now;
        if self.penalty > f64::from(damping.suppress) {
            self.suppressed = true;
        }
        self.suppressed
    }

    /// When the penalty falls below reuse (now, if it already has).
    fn reuse_at(&self) -> Instant {
        let Some(damping) = self.policy.damping else {
            return self.penalty_at;
        };
        let reuse = f64::from(damping.reuse).max(1.0);
        let half_lives = (self.penalty / reuse).log2().max(0.0);
        // A millisecond past the crossing, so the decayed value is below reuse then.
        let wait = damping.half_life.as_secs_f64() * half_lives + 0.001;
        self.penalty_at + Duration::from_secs_f64(wait.min(1e9))
    }
}
