//! How long a DNS instance probed by this process may answer an older serial than the one
//! loaded here: a separate instance (split model, `[supervise]`, a secondary of its own)
//! takes a new version a moment before or after this process does, so a serial mismatch is
//! lag, not breakage, until it has lasted `stale-after` (the bound a secondary gets behind
//! its primary). An instance ahead of this process is serving the newer data: it passes
//! (this process's own freshness check covers its copy). Pure: the time is passed in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use dns_auth::Serial;
use health::Cause;

/// The lag of one instance, per zone.
#[derive(Debug)]
pub(super) struct InstanceLag {
    bound: Duration,
    /// Since when the instance has been behind, and the serial it answered then, per zone
    /// origin (wire form). An instance that moves on (a newer serial, still behind ours)
    /// is catching up: its lag starts again.
    behind_since: HashMap<Vec<u8>, (Instant, u32)>,
}

impl InstanceLag {
    pub(super) fn new(bound: Duration) -> Self {
        Self {
            bound,
            behind_since: HashMap::new(),
        }
    }

    /// The result of a probe round for `zone` once lag is allowed for: a serial behind
    /// ours passes until it has been behind for the bound, then fails as it came; a serial
    /// ahead of ours passes; the serial loaded here ends the lag. Other failures say
    /// nothing about the serial and pass through unchanged.
    pub(super) fn judge(
        &mut self,
        zone: &[u8],
        result: Result<(), Cause>,
        now: Instant,
    ) -> Result<(), Cause> {
        match result {
            Ok(()) => {
                self.behind_since.remove(zone);
                Ok(())
            }
            Err(Cause::WrongSerial { expected, got })
                if Serial(got).is_newer_than(Serial(expected)) =>
            {
                self.behind_since.remove(zone);
                Ok(())
            }
            Err(cause @ Cause::WrongSerial { got, .. }) => {
                let entry = self.behind_since.entry(zone.to_vec()).or_insert((now, got));
                if Serial(got).is_newer_than(Serial(entry.1)) {
                    *entry = (now, got);
                }
                if now.saturating_duration_since(entry.0) < self.bound {
                    Ok(())
                } else {
                    Err(cause)
                }
            }
            Err(other) => Err(other),
        }
    }

    /// Forgets the lag of zones no longer probed (expired here, or gone in a reload).
    pub(super) fn retain(&mut self, mut probed: impl FnMut(&[u8]) -> bool) {
        self.behind_since.retain(|zone, _| probed(zone));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: &[u8] = b"\x07example\x00";
    const OTHER: &[u8] = b"\x05other\x00";

    fn behind(expected: u32, got: u32) -> Result<(), Cause> {
        Err(Cause::WrongSerial { expected, got })
    }

    #[test]
    fn an_instance_behind_passes_until_the_bound_then_fails() {
        let t0 = Instant::now();
        let mut lag = InstanceLag::new(Duration::from_secs(30));
        assert_eq!(lag.judge(ZONE, behind(2, 1), t0), Ok(()));
        let at = |s| t0 + Duration::from_secs(s);
        assert_eq!(lag.judge(ZONE, behind(2, 1), at(29)), Ok(()));
        assert_eq!(lag.judge(ZONE, behind(2, 1), at(30)), behind(2, 1));
        // Catching up ends the lag; a later mismatch starts a new one.
        assert_eq!(lag.judge(ZONE, Ok(()), at(31)), Ok(()));
        assert_eq!(lag.judge(ZONE, behind(3, 2), at(40)), Ok(()));
        assert_eq!(lag.judge(ZONE, behind(3, 2), at(69)), Ok(()));
        assert_eq!(lag.judge(ZONE, behind(3, 2), at(70)), behind(3, 2));
    }

    #[test]
    fn an_instance_that_moves_on_starts_its_lag_again() {
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let mut lag = InstanceLag::new(Duration::from_secs(10));
        assert_eq!(lag.judge(ZONE, behind(5, 3), t0), Ok(()));
        // Serial 4 (still behind 5 or 6 here): catching up, the lag starts again.
        assert_eq!(lag.judge(ZONE, behind(6, 4), at(9)), Ok(()));
        assert_eq!(lag.judge(ZONE, behind(6, 4), at(18)), Ok(()));
        assert_eq!(lag.judge(ZONE, behind(6, 4), at(19)), behind(6, 4));
        // A zone no longer probed is forgotten: when it comes back its lag starts anew.
        lag.retain(|z| z != ZONE);
        assert_eq!(lag.judge(ZONE, behind(6, 4), at(20)), Ok(()));
    }

    #[test]
    fn an_instance_ahead_passes_and_serials_wrap() {
        let t0 = Instant::now();
        let mut lag = InstanceLag::new(Duration::ZERO);
        assert_eq!(lag.judge(ZONE, behind(2, 3), t0), Ok(()));
        // RFC 1982: 0 is newer than u32::MAX, and u32::MAX is behind 0.
        assert_eq!(lag.judge(ZONE, behind(u32::MAX, 0), t0), Ok(()));
        assert_eq!(
            lag.judge(ZONE, behind(0, u32::MAX), t0),
            behind(0, u32::MAX)
        );
    }

    #[test]
    fn zones_lag_apart_and_other_failures_pass_through() {
        let t0 = Instant::now();
        let mut lag = InstanceLag::new(Duration::from_secs(10));
        assert_eq!(lag.judge(ZONE, behind(2, 1), t0), Ok(()));
        let later = t0 + Duration::from_secs(10);
        assert_eq!(lag.judge(OTHER, behind(5, 4), later), Ok(()));
        assert_eq!(lag.judge(ZONE, behind(2, 1), later), behind(2, 1));
        assert_eq!(
            lag.judge(ZONE, Err(Cause::Timeout), later),
            Err(Cause::Timeout)
        );
        // A timeout says nothing about the serial: the lag goes on.
        assert_eq!(lag.judge(ZONE, behind(2, 1), later), behind(2, 1));
    }
}
