//! The session's timers (RFC 4271 §8.1.1 session attributes, RFC 9687 SendHoldTimer) as
//! deadlines; the driver sleeps until [`Timers::next`] and the FSM asks [`Timers::take_expired`].

use std::time::Instant;

/// One of the session's timers, named after the RFC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// ConnectRetryTimer (RFC 4271 §8.1.1); its expiry is Event 9.
    ConnectRetry,
    /// HoldTimer; its expiry is Event 10.
    Hold,
    /// KeepaliveTimer; its expiry is Event 11.
    Keepalive,
    /// IdleHoldTimer (DampPeerOscillations); its expiry is Event 13.
    IdleHold,
    /// SendHoldTimer (RFC 9687 §4); its expiry is SendHoldTimer_Expires.
    SendHold,
    /// The HoldTimer of a second connection to the peer while a collision (RFC 4271 §6.8)
    /// is being resolved: it closes that connection only.
    SecondHold,
}

impl Timer {
    /// Every timer, in the order expiries are handled when several are due at once: the ones
    /// that take the session down first.
    const ALL: [Self; 6] = [
        Self::SendHold,
        Self::Hold,
        Self::SecondHold,
        Self::Keepalive,
        Self::ConnectRetry,
        Self::IdleHold,
    ];

    fn index(self) -> usize {
        match self {
            Self::SendHold => 0,
            Self::Hold => 1,
            Self::Keepalive => 2,
            Self::ConnectRetry => 3,
            Self::IdleHold => 4,
            Self::SecondHold => 5,
        }
    }
}

/// Deadlines of the running timers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    deadlines: [Option<Instant>; 6],
}

impl Timers {
    /// (Re)starts `timer` to expire at `at`.
    pub(crate) fn start(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
    }

    /// Stops `timer`.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    /// The earliest deadline of any running timer.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// A timer whose deadline is at or before `now`, stopped as it is returned.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = Timer::ALL
            .into_iter()
            .filter(|t| self.deadlines[t.index()].is_some_and(|d| d <= now))
            .min_by_key(|t| self.deadlines[t.index()])?;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn earliest_expires_first_and_stops() {
        let t0 = crate::sim::epoch();
        let mut timers = Timers::default();
        timers.start(Timer::Keepalive, t0 + Duration::from_secs(30));
        timers.start(Timer::Hold, t0 + Duration::from_secs(90));
        assert_eq!(timers.next(), Some(t0 + Duration::from_secs(30)));
        assert_eq!(timers.take_expired(t0), None);
        let late = t0 + Duration::from_secs(100);
        assert_eq!(timers.take_expired(late), Some(Timer::Keepalive));
        assert_eq!(timers.take_expired(late), Some(Timer::Hold));
        assert_eq!(timers.take_expired(late), None);
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn ties_go_to_the_timer_that_takes_the_session_down() {
        let t0 = crate::sim::epoch();
        let mut timers = Timers::default();
        timers.start(Timer::Keepalive, t0);
        timers.start(Timer::Hold, t0);
        assert_eq!(timers.take_expired(t0), Some(Timer::Hold));
    }
}
