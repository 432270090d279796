//! How far each secondary zone lags its primary: the newest serial this site has been told
//! about (a NOTIFY's serial or the primary's SOA serial) and since when the served serial
//! has been older than it. The refresh task and the NOTIFY handler write it; the health
//! probes read it and report `Cause::ZoneStale` once a lag lasts longer than the bound
//! (RFC 4786 §4.6: a site whose data is stale should stop announcing).
//!
//! Serials compare in RFC 1982 arithmetic. The lag starts when a newer serial is first
//! learnt and keeps that start while even newer serials arrive, so a primary that changes
//! faster than the site can follow still makes the site stale; it ends when the served
//! serial catches up with the newest known one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One zone's lag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lag {
    /// The newest serial known to exist at the primary.
    pub(crate) known_serial: u32,
    /// When the served serial first fell behind a known one.
    pub(crate) since: Instant,
}

/// RFC 1982: `a` is newer than `b`.
fn newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

/// Lags per zone origin (wire form).
#[derive(Debug, Default)]
pub(crate) struct Lags {
    zones: HashMap<Vec<u8>, Lag>,
}

impl Lags {
    /// The primary has (at least) `known`; this site serves `served` (`None`: no copy yet).
    pub(crate) fn learnt(&mut self, origin: &[u8], known: u32, served: Option<u32>, now: Instant) {
        if served.is_some_and(|s| !newer(known, s)) {
            // Up to date with what we were just told; an older lag may remain only if it
            // is about a still newer serial.
            if let Some(lag) = self.zones.get(origin) {
                if served.is_some_and(|s| !newer(lag.known_serial, s)) {
                    self.zones.remove(origin);
                }
            }
            return;
        }
        self.zones
            .entry(origin.to_vec())
            .and_modify(|lag| {
                if newer(known, lag.known_serial) {
                    lag.known_serial = known;
                }
            })
            .or_insert(Lag {
                known_serial: known,
                since: now,
            });
    }

    /// This site now serves `served`: the lag ends if that is the newest known serial.
    pub(crate) fn served(&mut self, origin: &[u8], served: u32) {
        if self
            .zones
            .get(origin)
            .is_some_and(|lag| !newer(lag.known_serial, served))
        {
            self.zones.remove(origin);
        }
    }

    /// Forgets a zone (removed from its catalog).
    pub(crate) fn forget(&mut self, origin: &[u8]) {
        self.zones.remove(origin);
    }

    /// Every lagging zone: (origin, newest known serial, how long it has lagged at `now`).
    pub(crate) fn all(&self, now: Instant) -> Vec<(Vec<u8>, u32, Duration)> {
        self.zones
            .iter()
            .map(|(origin, lag)| {
                (
                    origin.clone(),
                    lag.known_serial,
                    now.saturating_duration_since(lag.since),
                )
            })
            .collect()
    }

    /// The zone's lag, if it lags.
    pub(crate) fn get(&self, origin: &[u8]) -> Option<Lag> {
        self.zones.get(origin).copied()
    }

    /// Whether the zone has lagged for longer than `bound` at `now`.
    pub(crate) fn is_stale(&self, origin: &[u8], bound: Duration, now: Instant) -> bool {
        self.get(origin)
            .is_some_and(|lag| now.saturating_duration_since(lag.since) > bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Z: &[u8] = b"\x07example\0";

    #[test]
    fn a_newer_serial_starts_a_lag_that_ends_when_served() {
        let t0 = Instant::now();
        let mut lags = Lags::default();
        lags.learnt(Z, 7, Some(7), t0);
        assert_eq!(lags.get(Z), None, "told what we serve: no lag");
        lags.learnt(Z, 8, Some(7), t0);
        assert_eq!(
            lags.get(Z),
            Some(Lag {
                known_serial: 8,
                since: t0
            })
        );
        let bound = Duration::from_secs(30);
        assert!(!lags.is_stale(Z, bound, t0 + Duration::from_secs(30)));
        assert!(lags.is_stale(Z, bound, t0 + Duration::from_secs(31)));
        lags.served(Z, 8);
        assert_eq!(lags.get(Z), None);
        assert!(!lags.is_stale(Z, bound, t0 + Duration::from_secs(60)));
    }

    #[test]
    fn newer_serials_keep_the_start_and_partial_catch_up_keeps_the_lag() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(10);
        let mut lags = Lags::default();
        lags.learnt(Z, 8, Some(7), t0);
        lags.learnt(Z, 9, Some(7), t1);
        assert_eq!(
            lags.get(Z).map(|l| (l.known_serial, l.since)),
            Some((9, t0))
        );
        // An older NOTIFY (reordered) does not lower the known serial.
        lags.learnt(Z, 8, Some(7), t1);
        assert_eq!(lags.get(Z).map(|l| l.known_serial), Some(9));
        // Serving 8 is still behind 9; an SOA answer of 8 (a lagging primary) too.
        lags.served(Z, 8);
        lags.learnt(Z, 8, Some(8), t1);
        assert_eq!(
            lags.get(Z).map(|l| (l.known_serial, l.since)),
            Some((9, t0))
        );
        lags.served(Z, 9);
        assert_eq!(lags.get(Z), None);
    }

    #[test]
    fn serials_compare_in_rfc1982_arithmetic_and_no_copy_lags() {
        let t0 = Instant::now();
        let mut lags = Lags::default();
        lags.learnt(Z, 2, Some(u32::MAX), t0);
        assert_eq!(
            lags.get(Z).map(|l| l.known_serial),
            Some(2),
            "2 follows 2^32-1"
        );
        lags.served(Z, 3);
        assert_eq!(lags.get(Z), None);
        lags.learnt(Z, u32::MAX, Some(3), t0);
        assert_eq!(lags.get(Z), None, "2^32-1 is older than 3");
        lags.learnt(Z, 5, None, t0);
        assert!(lags.get(Z).is_some(), "no copy yet: lagging");
        lags.forget(Z);
        assert_eq!(lags.get(Z), None);
    }
}
