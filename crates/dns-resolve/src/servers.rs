//! Which name server to ask: smoothed round-trip times per address (RFC 6298's estimator),
//! timeouts derived from them, and backing off servers that stop answering; it also holds
//! the DNS cookies exchanged with them (`cookies`). Shared by every resolution: what one
//! learns, the next uses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::cookies::CookieJar;
use crate::entropy::Entropy;

/// The timeout for a server never heard from, and its rank among measured ones (Unbound's
/// 376 ms is for the Internet; this is long enough for any path and short enough that a
/// dead unknown server costs less than half a second).
pub const UNKNOWN_TIMEOUT: Duration = Duration::from_millis(400);
/// The shortest timeout, however fast a server has been.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(50);
/// The longest timeout, after repeated losses.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3);
/// Consecutive timeouts after which a server is avoided for a while.
const DOWN_AFTER: u32 = 3;
/// How long a server is avoided at first; doubled per further timeout, up to two minutes.
const DOWN_FOR: Duration = Duration::from_secs(5);
const MAX_DOWN_FOR: Duration = Duration::from_secs(120);
/// Servers remembered at most: a zone can name fresh addresses with every referral, so the
/// table is pruned (backed-off servers are kept longest) rather than left to grow.
const MAX_SERVERS: usize = 50_000;

/// One pick in this many goes to another usable server than the fastest, so a server
/// that got faster is noticed.
const EXPLORE_ONE_IN: u32 = 20;

#[derive(Clone, Copy, Debug)]
struct Stats {
    /// Whether `srtt` comes from an answer (not only from losses).
    measured: bool,
    srtt: Duration,
    rttvar: Duration,
    /// Consecutive timeouts.
    losses: u32,
    down_until: Option<Instant>,
}

/// Upper bounds of the round-trip time histogram's buckets, in microseconds (the last
/// bucket, +Inf, is implied).
pub const RTT_BUCKETS_US: [u64; 10] = [
    1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
];

/// Round-trip times of every answer, in the buckets of [`RTT_BUCKETS_US`] (not cumulative;
/// the last is +Inf), their sum in microseconds and their count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RttHistogram {
    /// Answers per bucket.
    pub buckets: [u64; RTT_BUCKETS_US.len() + 1],
    /// Sum of the round-trip times, microseconds.
    pub sum_us: u64,
}

/// Round-trip statistics of every server asked, and the DNS cookies exchanged with them.
#[derive(Default)]
pub struct ServerTable {
    servers: Mutex<HashMap<IpAddr, Stats>>,
    cookies: CookieJar,
    rtt_buckets: [AtomicU64; RTT_BUCKETS_US.len() + 1],
    rtt_sum_us: AtomicU64,
}

impl ServerTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<IpAddr, Stats>) -> T) -> T {
        let mut servers = self
            .servers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if servers.len() >= MAX_SERVERS {
            servers.retain(|_, s| s.down_until.is_some());
            if servers.len() >= MAX_SERVERS / 2 {
                servers.clear();
            }
        }
        f(&mut servers)
    }

    /// Our client cookies and the servers' cookies (RFC 7873).
    pub fn cookies(&self) -> &CookieJar {
        &self.cookies
    }

    /// Servers remembered now.
    pub fn len(&self) -> usize {
        self.with(|servers| servers.len())
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How long to wait for `server` (RFC 6298 §2: SRTT + 4 RTTVAR, doubled per loss).
    pub fn timeout_for(&self, server: IpAddr) -> Duration {
        self.with(|servers| match servers.get(&server) {
            None => UNKNOWN_TIMEOUT,
            Some(stats) => {
                let base = (stats.srtt + 4 * stats.rttvar).max(MIN_TIMEOUT);
                base.saturating_mul(1 << stats.losses.min(6))
                    .min(MAX_TIMEOUT)
            }
        })
    }

    /// The round-trip times of every answer so far.
    pub fn rtt_histogram(&self) -> RttHistogram {
        RttHistogram {
            buckets: std::array::from_fn(|i| self.rtt_buckets[i].load(Ordering::Relaxed)),
            sum_us: self.rtt_sum_us.load(Ordering::Relaxed),
        }
    }

    /// An answer came back after `rtt`.
    pub fn record_rtt(&self, server: IpAddr, rtt: Duration) {
        let us = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
        let bucket = RTT_BUCKETS_US
            .iter()
            .position(|&bound| us <= bound)
            .unwrap_or(RTT_BUCKETS_US.len());
        self.rtt_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.rtt_sum_us.fetch_add(us, Ordering::Relaxed);
        self.with(|servers| {
            let stats = servers.entry(server).or_insert(Stats {
                measured: false,
                srtt: rtt,
                rttvar: rtt / 2,
                losses: 0,
                down_until: None,
            });
            if !stats.measured {
                // RFC 6298 §2.2: the first measurement sets the estimate.
                stats.measured = true;
                stats.srtt = rtt;
                stats.rttvar = rtt / 2;
            }
            let delta = stats.srtt.abs_diff(rtt);
            stats.rttvar = (stats.rttvar * 3 + delta) / 4;
            stats.srtt = (stats.srtt * 7 + rtt) / 8;
            stats.losses = 0;
            stats.down_until = None;
        });
    }

    /// `server` did not answer in time (or refused the connection).
    pub fn record_loss(&self, now: Instant, server: IpAddr) {
        self.with(|servers| {
            let stats = servers.entry(server).or_insert(Stats {
                measured: false,
                srtt: UNKNOWN_TIMEOUT,
                rttvar: Duration::ZERO,
                losses: 0,
                down_until: None,
            });
            stats.losses = stats.losses.saturating_add(1);
            if stats.losses >= DOWN_AFTER {
                let factor = 1u32 << (stats.losses - DOWN_AFTER).min(5);
                stats.down_until = Some(now + DOWN_FOR.saturating_mul(factor).min(MAX_DOWN_FOR));
            }
        });
    }

    /// The index of the candidate to ask next: the fastest that is not backed off (an
    /// unknown one counts as [`UNKNOWN_TIMEOUT`]), now and then another usable one; when
    /// all are backed off, the one whose back-off ends first.
    pub fn pick(
        &self,
        now: Instant,
        candidates: &[IpAddr],
        entropy: &mut Entropy,
    ) -> Option<usize> {
        if candidates.is_empty() {
            return None;
        }
        self.with(|servers| {
            let rank = |ip: &IpAddr| -> (bool, Duration) {
                match servers.get(ip) {
                    None => (false, UNKNOWN_TIMEOUT),
                    Some(s) => match s.down_until {
                        Some(until) if until > now => (true, until - now),
                        _ => (false, s.srtt),
                    },
                }
            };
            let usable: Vec<usize> = (0..candidates.len())
                .filter(|&i| !rank(&candidates[i]).0)
                .collect();
            if usable.is_empty() {
                return (0..candidates.len()).min_by_key(|&i| rank(&candidates[i]).1);
            }
            if usable.len() > 1 && entropy.below(EXPLORE_ONE_IN) == 0 {
                return Some(usable[entropy.below(usable.len() as u32) as usize]);
            }
            // Among equals (all unknown at first), a random one: load spreads.
            let best = usable.iter().map(|&i| rank(&candidates[i]).1).min()?;
            let ties: Vec<usize> = usable
                .into_iter()
                .filter(|&i| rank(&candidates[i]).1 == best)
                .collect();
            Some(ties[entropy.below(ties.len() as u32) as usize])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)]
    fn start() -> Instant {
        Instant::now()
    }

    #[test]
    fn the_fastest_server_is_preferred_and_a_silent_one_backed_off() {
        let table = ServerTable::new();
        let (fast, slow, dead): (IpAddr, IpAddr, IpAddr) = (
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            "192.0.2.3".parse().unwrap(),
        );
        let now = start();
        for _ in 0..5 {
            table.record_rtt(fast, Duration::from_millis(2));
            table.record_rtt(slow, Duration::from_millis(80));
        }
        let mut e = Entropy::new();
        let picks = (0..200)
            .filter(|_| table.pick(now, &[slow, fast], &mut e) == Some(1))
            .count();
        assert!(picks > 170, "fast picked {picks} of 200");
        assert!(picks < 200, "the slow one is still explored now and then");
        assert!(table.timeout_for(fast) >= MIN_TIMEOUT);
        assert_eq!(table.timeout_for(dead), UNKNOWN_TIMEOUT);
        for _ in 0..3 {
            table.record_loss(now, dead);
        }
        assert_eq!(
            table.pick(now, &[dead, slow], &mut e).map(|i| i == 1),
            Some(true)
        );
        // All backed off: the one that comes back first is still tried.
        assert_eq!(table.pick(now, &[dead], &mut e), Some(0));
        // Timeouts grow with losses, up to the cap.
        assert_eq!(table.timeout_for(dead), MAX_TIMEOUT);
        table.record_rtt(dead, Duration::from_millis(1));
        assert!(table.timeout_for(dead) < Duration::from_millis(100));
    }

    #[test]
    fn the_table_stays_bounded() {
        let table = ServerTable::new();
        for i in 0..(MAX_SERVERS as u32 + 10) {
            table.record_rtt(
                IpAddr::from(std::net::Ipv6Addr::from(
                    (0x2001_0db8_u128 << 96) | u128::from(i),
                )),
                Duration::from_millis(5),
            );
        }
        assert!(table.len() < MAX_SERVERS);
    }
}
