//! How far one secondary zone lags its primary: the newest serial the site has been told
//! about (a NOTIFY's serial or the primary's SOA serial) and since when the served serial
//! has been older than it. The health checks call a zone stale once a lag lasts longer than
//! a bound (RFC 4786 §4.6: a site whose data is stale should stop announcing).
//!
//! The lag starts when a newer serial is first learnt and keeps that start while even
//! newer serials arrive, so a primary that changes faster than the site can follow still
//! makes the site stale; it ends when the served serial catches up with the newest known
//! one. Time is passed in.

use std::time::{Duration, Instant};

use crate::serial::Serial;

/// A zone's lag behind its primary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lag {
    /// The newest serial known to exist at the primary.
    pub known_serial: u32,
    /// When the served serial first fell behind a known one.
    pub since: Instant,
}

/// One zone's lag, if it lags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LagTracker {
    lag: Option<Lag>,
}

impl LagTracker {
    /// The primary has (at least) `known`; this site serves `served` (`None`: no copy yet).
    pub fn handle_known_serial(&mut self, known: u32, served: Option<u32>, now: Instant) {
        let behind = |known: u32| served.is_none_or(|s| Serial(known).is_newer_than(Serial(s)));
        if !behind(known) {
            // Up to date with what we were just told; an older lag may remain only if it
            // is about a still newer serial.
            if self.lag.is_some_and(|lag| !behind(lag.known_serial)) {
                self.lag = None;
            }
            return;
        }
        match &mut self.lag {
            Some(lag) => {
                if Serial(known).is_newer_than(Serial(lag.known_serial)) {
                    lag.known_serial = known;
                }
            }
            None => {
                self.lag = Some(Lag {
                    known_serial: known,
                    since: now,
                })
            }
        }
    }

    /// This site now serves `served`: the lag ends if that is the newest known serial.
    pub fn handle_served(&mut self, served: u32) {
        if self
            .lag
            .is_some_and(|lag| !Serial(lag.known_serial).is_newer_than(Serial(served)))
        {
            self.lag = None;
        }
    }

    /// The lag, if the zone lags.
    pub fn lag(&self) -> Option<Lag> {
        self.lag
    }

    /// How long the zone has lagged at `now`, if it lags.
    pub fn lagged_for(&self, now: Instant) -> Option<Duration> {
        self.lag.map(|lag| now.saturating_duration_since(lag.since))
    }

    /// Whether the zone has lagged for longer than `bound` at `now`.
    pub fn is_stale(&self, bound: Duration, now: Instant) -> bool {
        self.lagged_for(now).is_some_and(|lagged| lagged > bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Some instant to count from (tests only: the crate never reads the clock).
    #[allow(clippy::disallowed_methods)]
    fn start() -> Instant {
        Instant::now()
    }

    #[test]
    fn a_newer_serial_starts_a_lag_that_ends_when_served() {
        let t0 = start();
        let mut lag = LagTracker::default();
        lag.handle_known_serial(7, Some(7), t0);
        assert_eq!(lag.lag(), None, "told what we serve: no lag");
        lag.handle_known_serial(8, Some(7), t0);
        assert_eq!(
            lag.lag(),
            Some(Lag {
                known_serial: 8,
                since: t0
            })
        );
        let bound = Duration::from_secs(30);
        assert!(!lag.is_stale(bound, t0 + Duration::from_secs(30)));
        assert!(lag.is_stale(bound, t0 + Duration::from_secs(31)));
        lag.handle_served(8);
        assert_eq!(lag.lag(), None);
        assert!(!lag.is_stale(bound, t0 + Duration::from_secs(60)));
    }

    #[test]
    fn newer_serials_keep_the_start_and_partial_catch_up_keeps_the_lag() {
        let t0 = start();
        let t1 = t0 + Duration::from_secs(10);
        let mut lag = LagTracker::default();
        lag.handle_known_serial(8, Some(7), t0);
        lag.handle_known_serial(9, Some(7), t1);
        assert_eq!(lag.lag().map(|l| (l.known_serial, l.since)), Some((9, t0)));
        // An older NOTIFY (reordered) does not lower the known serial.
        lag.handle_known_serial(8, Some(7), t1);
        assert_eq!(lag.lag().map(|l| l.known_serial), Some(9));
        // Serving 8 is still behind 9; an SOA answer of 8 (a lagging primary) too.
        lag.handle_served(8);
        lag.handle_known_serial(8, Some(8), t1);
        assert_eq!(lag.lag().map(|l| (l.known_serial, l.since)), Some((9, t0)));
        lag.handle_served(9);
        assert_eq!(lag.lag(), None);
    }

    #[test]
    fn serials_compare_in_rfc1982_arithmetic_and_no_copy_lags() {
        let t0 = start();
        let mut lag = LagTracker::default();
        lag.handle_known_serial(2, Some(u32::MAX), t0);
        assert_eq!(
            lag.lag().map(|l| l.known_serial),
            Some(2),
            "2 follows 2^32-1"
        );
        lag.handle_served(3);
        assert_eq!(lag.lag(), None);
        lag.handle_known_serial(u32::MAX, Some(3), t0);
        assert_eq!(lag.lag(), None, "2^32-1 is older than 3");
        lag.handle_known_serial(5, None, t0);
        assert!(lag.lag().is_some(), "no copy yet: lagging");
    }
}
