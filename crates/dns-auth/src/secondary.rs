//! When a secondary zone refreshes (RFC 1035 §4.3.5, RFC 1996): SOA timers, NOTIFY, retry
//! and expiry, as a state machine with time passed in. The daemon performs the actions
//! (SOA query, transfer) over the site's unicast address and reports back.
//!
//! ```text
//!  timer / NOTIFY ──► QuerySoa ──► primary newer? ──► Transfer ──► done: refresh timer
//!                         │ no: refresh timer          │ failed: retry timer
//!                         └ failed: retry timer        └──► no success before EXPIRE ──► Expired
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::serial::Serial;

/// The SOA timers that drive a secondary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoaTimers {
    /// How often to check the primary.
    pub refresh: Duration,
    /// How soon to try again after a failure.
    pub retry: Duration,
    /// How long the zone may go without a successful check before it stops being served.
    pub expire: Duration,
}

/// Timer floors and ceilings so a hostile or broken SOA cannot make us hammer the primary
/// or never refresh (Knot and BIND clamp the same way).
const MIN_REFRESH: Duration = Duration::from_secs(2);
const MAX_REFRESH: Duration = Duration::from_secs(24 * 3600);
const MIN_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(3600);

impl SoaTimers {
    /// Reads REFRESH, RETRY and EXPIRE from SOA RDATA.
    pub fn from_soa(rdata: &[u8]) -> Option<Self> {
        let fixed = rdata.get(rdata.len().checked_sub(20)?..)?;
        let field =
            |i: usize| u32::from_be_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
        let secs = |v: u32| Duration::from_secs(u64::from(v));
        Some(Self {
            refresh: secs(field(4)).clamp(MIN_REFRESH, MAX_REFRESH),
            retry: secs(field(8)).clamp(MIN_RETRY, MAX_RETRY),
            expire: secs(field(12)).max(MIN_REFRESH),
        })
    }
}

/// What the daemon should do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshAction {
    /// Ask the primary for its SOA.
    QuerySoa,
    /// Transfer the zone: IXFR from our serial when we have one, else AXFR.
    Transfer {
        /// Ask for IXFR.
        incremental: bool,
    },
    /// EXPIRE passed without a successful refresh: stop answering for the zone (SERVFAIL).
    Expired,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Busy {
    Idle,
    QueryingSoa,
    Transferring,
}

/// The refresh state of one secondary zone.
#[derive(Debug)]
pub struct Refresh {
    serial: Option<u32>,
    timers: SoaTimers,
    busy: Busy,
    next_check: Instant,
    expire_at: Option<Instant>,
    notified: bool,
    expired: bool,
    actions: VecDeque<RefreshAction>,
}

impl Refresh {
    /// A secondary serving `serial` (from a stored copy, checked `age` ago at most) or
    /// nothing yet. It checks the primary at once.
    pub fn new(now: Instant, serving: Option<(u32, SoaTimers)>, default_timers: SoaTimers) -> Self {
        let (serial, timers) = match serving {
            Some((serial, timers)) => (Some(serial), timers),
            None => (None, default_timers),
        };
        Self {
            serial,
            timers,
            busy: Busy::Idle,
            next_check: now,
            // A stored copy gets a full EXPIRE from start-up (we cannot know its age).
            expire_at: serial.map(|_| now + timers.expire),
            notified: false,
            expired: false,
            actions: VecDeque::new(),
        }
    }

    /// The serial being served.
    pub fn serial(&self) -> Option<u32> {
        self.serial
    }

    /// Whether the zone expired (and is answered with SERVFAIL).
    pub fn is_expired(&self) -> bool {
        self.expired
    }

    /// When the primary's SOA is checked next, unless a check or transfer is under way.
    pub fn next_check(&self) -> Option<Instant> {
        (self.busy == Busy::Idle).then_some(self.next_check)
    }

    /// When the zone expires without a successful refresh (none before a first copy).
    pub fn expire_at(&self) -> Option<Instant> {
        self.expire_at
    }

    /// The operator asks for a full transfer now, whatever the serials say; refused
    /// (`false`) while a check or transfer is under way.
    pub fn force_transfer(&mut self) -> bool {
        if self.busy != Busy::Idle {
            return false;
        }
        self.busy = Busy::Transferring;
        self.actions
            .push_back(RefreshAction::Transfer { incremental: false });
        true
    }

    /// A NOTIFY arrived from an allowed primary (RFC 1996 §3.7: treat it as the refresh
    /// timer expiring, unless it names a serial we already have).
    pub fn handle_notify(&mut self, now: Instant, serial: Option<u32>) {
        if let (Some(theirs), Some(ours)) = (serial, self.serial) {
            if !Serial(ours).is_older_than(Serial(theirs)) {
                return;
            }
        }
        if self.busy == Busy::Idle {
            self.next_check = now;
            self.handle_timeout(now);
        } else {
            self.notified = true;
        }
    }

    /// The primary's SOA serial arrived.
    pub fn handle_soa(&mut self, now: Instant, primary_serial: u32) {
        if self.busy != Busy::QueryingSoa {
            return;
        }
        let newer = self
            .serial
            .is_none_or(|ours| Serial(ours).is_older_than(Serial(primary_serial)));
        if newer {
            self.busy = Busy::Transferring;
            self.actions.push_back(RefreshAction::Transfer {
                incremental: self.serial.is_some(),
            });
        } else {
            self.succeeded(now);
        }
    }

    /// A transfer brought `serial` with these timers (or the primary had nothing newer).
    pub fn handle_transferred(&mut self, now: Instant, serial: u32, timers: SoaTimers) {
        self.serial = Some(serial);
        self.timers = timers;
        self.expired = false;
        self.succeeded(now);
    }

    /// The SOA query or the transfer failed (timeout, refused, bad data).
    pub fn handle_failure(&mut self, now: Instant) {
        self.busy = Busy::Idle;
        self.next_check = now + self.timers.retry;
        self.run_notified(now);
    }

    fn succeeded(&mut self, now: Instant) {
        self.busy = Busy::Idle;
        self.next_check = now + self.timers.refresh;
        if self.serial.is_some() {
            self.expire_at = Some(now + self.timers.expire);
        }
        self.run_notified(now);
    }

    fn run_notified(&mut self, now: Instant) {
        if std::mem::take(&mut self.notified) {
            self.next_check = now;
            self.handle_timeout(now);
        }
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(expire_at) = self.expire_at {
            //= https://www.rfc-editor.org/rfc/rfc1035#section-4.3.5
            //# If the secondary ... cannot refresh ... within the EXPIRE interval, it must
            //# stop answering for the zone
            if now >= expire_at && !self.expired {
                self.expired = true;
                self.actions.push_back(RefreshAction::Expired);
            }
        }
        if self.busy == Busy::Idle && now >= self.next_check {
            self.busy = Busy::QueryingSoa;
            self.actions.push_back(RefreshAction::QuerySoa);
        }
    }

    /// The next action to perform.
    pub fn poll_action(&mut self) -> Option<RefreshAction> {
        self.actions.pop_front()
    }

    /// When to call [`Self::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let check = (self.busy == Busy::Idle).then_some(self.next_check);
        let expire = self.expire_at.filter(|_| !self.expired);
        match (check, expire) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMERS: SoaTimers = SoaTimers {
        refresh: Duration::from_secs(60),
        retry: Duration::from_secs(10),
        expire: Duration::from_secs(300),
    };

    /// Tests need one real instant to start virtual time from; nothing else reads the clock.
    #[allow(clippy::disallowed_methods)]
    fn start() -> Instant {
        Instant::now()
    }

    fn drain(r: &mut Refresh) -> Vec<RefreshAction> {
        std::iter::from_fn(|| r.poll_action()).collect()
    }

    #[test]
    fn an_operator_forces_a_full_transfer_only_when_idle() {
        let t0 = start();
        let mut r = Refresh::new(t0, Some((5, TIMERS)), TIMERS);
        r.handle_timeout(t0);
        assert_eq!(drain(&mut r), vec![RefreshAction::QuerySoa]);
        assert_eq!(r.next_check(), None, "busy checking");
        assert!(!r.force_transfer(), "refused while the SOA query runs");
        r.handle_soa(t0, 5);
        assert_eq!(r.next_check(), Some(t0 + TIMERS.refresh));
        assert_eq!(r.expire_at(), Some(t0 + TIMERS.expire));
        assert!(r.force_transfer(), "same serial, transferred anyway");
        assert_eq!(
            drain(&mut r),
            vec![RefreshAction::Transfer { incremental: false }]
        );
        let t1 = t0 + Duration::from_secs(1);
        r.handle_transferred(t1, 5, TIMERS);
        assert_eq!(r.next_check(), Some(t1 + TIMERS.refresh));
        assert_eq!(r.expire_at(), Some(t1 + TIMERS.expire));
    }

    #[test]
    fn checks_at_start_then_every_refresh() {
        let t0 = start();
        let mut r = Refresh::new(t0, Some((5, TIMERS)), TIMERS);
        r.handle_timeout(t0);
        assert_eq!(drain(&mut r), vec![RefreshAction::QuerySoa]);
        r.handle_soa(t0, 5);
        assert!(drain(&mut r).is_empty());
        assert_eq!(r.poll_timeout(), Some(t0 + TIMERS.refresh));
        r.handle_timeout(t0 + TIMERS.refresh);
        assert_eq!(drain(&mut r), vec![RefreshAction::QuerySoa]);
        r.handle_soa(t0 + TIMERS.refresh, 6);
        assert_eq!(
            drain(&mut r),
            vec![RefreshAction::Transfer { incremental: true }]
        );
        r.handle_transferred(t0 + TIMERS.refresh, 6, TIMERS);
        assert_eq!(r.serial(), Some(6));
    }

    #[test]
    fn a_new_secondary_asks_for_axfr() {
        let t0 = start();
        let mut r = Refresh::new(t0, None, TIMERS);
        r.handle_timeout(t0);
        r.handle_soa(t0, 1);
        assert_eq!(
            drain(&mut r),
            vec![
                RefreshAction::QuerySoa,
                RefreshAction::Transfer { incremental: false }
            ]
        );
    }

    #[test]
    fn test_1035_4_3_5_retry_then_expire() {
        let t0 = start();
        let mut r = Refresh::new(t0, Some((5, TIMERS)), TIMERS);
        let mut now = t0;
        let mut queries = 0;
        while now < t0 + TIMERS.expire + Duration::from_secs(1) {
            r.handle_timeout(now);
            for action in drain(&mut r) {
                match action {
                    RefreshAction::QuerySoa => {
                        queries += 1;
                        r.handle_failure(now);
                    }
                    RefreshAction::Expired => assert!(now >= t0 + TIMERS.expire),
                    other => panic!("{other:?}"),
                }
            }
            now = r
                .poll_timeout()
                .unwrap_or(now + Duration::from_secs(1))
                .max(now + Duration::from_millis(1));
        }
        assert!(r.is_expired());
        assert_eq!(
            queries,
            1 + 300 / 10,
            "one query at start, then one per RETRY"
        );
        // A later success brings it back.
        r.handle_timeout(now + TIMERS.retry);
        r.handle_soa(now + TIMERS.retry, 6);
        r.handle_transferred(now + TIMERS.retry, 6, TIMERS);
        assert!(!r.is_expired());
    }

    #[test]
    fn test_1996_notify_triggers_a_check_unless_not_newer() {
        let t0 = start();
        let mut r = Refresh::new(t0, Some((5, TIMERS)), TIMERS);
        r.handle_timeout(t0);
        r.handle_soa(t0, 5);
        drain(&mut r);
        let t1 = t0 + Duration::from_secs(5);
        r.handle_notify(t1, Some(5));
        assert!(drain(&mut r).is_empty(), "same serial: nothing to do");
        r.handle_notify(t1, Some(7));
        assert_eq!(drain(&mut r), vec![RefreshAction::QuerySoa]);
        // A NOTIFY while busy is remembered and acted on afterwards.
        r.handle_notify(t1, None);
        assert!(drain(&mut r).is_empty());
        r.handle_soa(t1, 5);
        assert_eq!(drain(&mut r), vec![RefreshAction::QuerySoa]);
    }

    #[test]
    fn timers_from_soa_are_clamped() {
        let mut rdata = b"\x00\x00".to_vec();
        for v in [9u32, 0, 0, 100_000_000, 60] {
            rdata.extend_from_slice(&v.to_be_bytes());
        }
        let t = SoaTimers::from_soa(&rdata).unwrap();
        assert_eq!(t.refresh, MIN_REFRESH);
        assert_eq!(t.retry, MIN_RETRY);
        assert_eq!(t.expire, Duration::from_secs(100_000_000));
    }
}
