//! Query counters that cost the query path next to nothing: each UDP worker thread owns a
//! block of counters it alone writes (a load and a store, no locked read-modify-write, on a
//! cache line no other thread writes), and the exporter sums the blocks when scraped. TCP
//! shares one block updated with atomic adds (its rate is a fraction of UDP's).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dns_auth::Outcome;

/// Response codes counted one by one (0..=23 covers RFC 6895's common ones, BADVERS 16
/// included); higher extended codes share the last slot.
pub(crate) const RCODE_SLOTS: usize = 24;

/// Upper bounds of the response-size buckets, octets: 512 (no EDNS), 1232 (the EDNS
/// default), 1452 (Ethernet path MTU over IPv6) mark where answers start to truncate or
/// fragment; larger ones are TCP's.
pub(crate) const SIZE_BUCKETS: [u64; 9] = [64, 128, 256, 512, 1024, 1232, 1452, 4096, 16384];
/// Upper bounds of the processing-latency buckets, nanoseconds (10 µs .. 1 s).
pub(crate) const LATENCY_BUCKETS_NS: [u64; 11] = [
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    5_000_000,
    25_000_000,
    100_000_000,
    1_000_000_000,
];

/// One writer's counters, alone on its cache lines.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct QueryCounters {
    queries: AtomicU64,
    rcodes: [AtomicU64; RCODE_SLOTS],
    other_rcode: AtomicU64,
    truncated: AtomicU64,
    dropped: AtomicU64,
    rate_slipped: AtomicU64,
    rate_dropped: AtomicU64,
    /// Answers copied from a UDP worker's answer cache.
    cached: AtomicU64,
    /// Answers by size (the last slot: larger than every bound), and their total octets.
    sizes: [AtomicU64; SIZE_BUCKETS.len() + 1],
    size_sum: AtomicU64,
    /// Queries by processing latency (the last slot: slower than every bound), and their
    /// total nanoseconds.
    latencies: [AtomicU64; LATENCY_BUCKETS_NS.len() + 1],
    latency_sum_ns: AtomicU64,
    /// Queries with a COOKIE option, by verdict (indexed like [`COOKIE_RESULTS`]).
    cookies: [AtomicU64; COOKIE_RESULTS.len()],
}

/// The verdicts on a query's COOKIE option, as the metrics name them.
pub(crate) const COOKIE_RESULTS: [&str; 4] = ["client-only", "valid", "invalid", "malformed"];

/// The slot of `value` among buckets with upper bounds `bounds`.
#[inline]
fn bucket(bounds: &[u64], value: u64) -> usize {
    bounds
        .iter()
        .position(|&b| value <= b)
        .unwrap_or(bounds.len())
}

/// Adds `n` to `counter` (see [`bump`]).
#[inline]
fn add_n(counter: &AtomicU64, n: u64, single_writer: bool) {
    if single_writer {
        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    } else {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

impl QueryCounters {
    /// Counts a query's COOKIE verdict (an index into [`COOKIE_RESULTS`]).
    #[inline]
    pub(crate) fn record_cookie(&self, result: usize, single_writer: bool) {
        if let Some(counter) = self.cookies.get(result) {
            bump(counter, single_writer);
        }
    }

    /// Counts `queries` answered in `nanos` each, from their arrival in user space to
    /// their answers' send (a UDP batch's queries all take the batch's time).
    #[inline]
    pub(crate) fn record_latency(&self, nanos: u64, queries: u64, single_writer: bool) {
        add_n(
            &self.latencies[bucket(&LATENCY_BUCKETS_NS, nanos)],
            queries,
            single_writer,
        );
        add_n(&self.latency_sum_ns, nanos * queries, single_writer);
    }

    /// Counts an answer the rate limiter slipped (sent truncated) or dropped (single writer:
    /// UDP workers only).
    #[inline]
    pub(crate) fn record_limited(&self, slipped: bool) {
        let counter = if slipped {
            &self.rate_slipped
        } else {
            &self.rate_dropped
        };
        bump(counter, true);
    }

    /// Counts an answer copied from the answer cache (UDP workers only; counted by
    /// [`Self::record`] as well).
    #[inline]
    pub(crate) fn record_cached(&self) {
        bump(&self.cached, true);
    }

    /// Counts a query and its outcome. `single_writer`: only this thread ever writes this
    /// block, so a plain load and store is exact and cheaper than an atomic add.
    #[inline]
    pub(crate) fn record(&self, outcome: &Outcome, single_writer: bool) {
        let add = |counter: &AtomicU64| bump(counter, single_writer);
        add(&self.queries);
        match *outcome {
            Outcome::Answered {
                rcode,
                truncated,
                len,
            } => {
                add(&self.sizes[bucket(&SIZE_BUCKETS, len as u64)]);
                add_n(&self.size_sum, len as u64, single_writer);
                match self.rcodes.get(usize::from(rcode)) {
                    Some(counter) => add(counter),
                    None => add(&self.other_rcode),
                }
                if truncated {
                    add(&self.truncated);
                }
            }
            Outcome::Dropped => add(&self.dropped),
        }
    }

    fn add_to(&self, totals: &mut Totals) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        totals.queries += get(&self.queries);
        for (sum, counter) in totals.rcodes.iter_mut().zip(&self.rcodes) {
            *sum += get(counter);
        }
        totals.other_rcode += get(&self.other_rcode);
        totals.truncated += get(&self.truncated);
        totals.dropped += get(&self.dropped);
        totals.rate_slipped += get(&self.rate_slipped);
        totals.rate_dropped += get(&self.rate_dropped);
        totals.cached += get(&self.cached);
        for (sum, counter) in totals.sizes.iter_mut().zip(&self.sizes) {
            *sum += get(counter);
        }
        totals.size_sum += get(&self.size_sum);
        for (sum, counter) in totals.latencies.iter_mut().zip(&self.latencies) {
            *sum += get(counter);
        }
        totals.latency_sum_ns += get(&self.latency_sum_ns);
        for (sum, counter) in totals.cookies.iter_mut().zip(&self.cookies) {
            *sum += get(counter);
        }
    }
}

/// Adds one to `counter`. `single_writer`: only this thread ever writes it, so a plain
/// load and store is exact and cheaper than an atomic add.
#[inline]
fn bump(counter: &AtomicU64, single_writer: bool) {
    if single_writer {
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    } else {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sums over every block of one transport.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) queries: u64,
    pub(crate) rcodes: [u64; RCODE_SLOTS],
    pub(crate) other_rcode: u64,
    pub(crate) truncated: u64,
    pub(crate) dropped: u64,
    pub(crate) rate_slipped: u64,
    pub(crate) rate_dropped: u64,
    pub(crate) cached: u64,
    pub(crate) sizes: [u64; SIZE_BUCKETS.len() + 1],
    pub(crate) size_sum: u64,
    pub(crate) latencies: [u64; LATENCY_BUCKETS_NS.len() + 1],
    pub(crate) latency_sum_ns: u64,
    pub(crate) cookies: [u64; COOKIE_RESULTS.len()],
}

/// Every block of the process.
#[derive(Default)]
pub(crate) struct Counters {
    udp: Mutex<Vec<Arc<QueryCounters>>>,
    tcp: QueryCounters,
    /// Control-socket commands by name (rare: a lock is fine).
    control: Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

impl Counters {
    /// A new block for one UDP worker thread (it alone writes it).
    pub(crate) fn udp_worker(&self) -> Arc<QueryCounters> {
        let block = Arc::new(QueryCounters::default());
        self.udp
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(block.clone());
        block
    }

    /// The block TCP connections share (atomic adds).
    pub(crate) fn tcp(&self) -> &QueryCounters {
        &self.tcp
    }

    /// UDP totals.
    pub(crate) fn udp_totals(&self) -> Totals {
        let mut totals = Totals::default();
        for block in self.udp.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            block.add_to(&mut totals);
        }
        totals
    }

    /// TCP totals.
    pub(crate) fn tcp_totals(&self) -> Totals {
        let mut totals = Totals::default();
        self.tcp.add_to(&mut totals);
        totals
    }

    /// Counts one control-socket command.
    pub(crate) fn count_control(&self, command: &'static str) {
        *self
            .control
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(command)
            .or_default() += 1;
    }

    /// Control-socket commands so far, by name.
    pub(crate) fn control_counts(&self) -> Vec<(&'static str, u64)> {
        let counts = self.control.lock().unwrap_or_else(|e| e.into_inner());
        counts.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// Queries over both transports (the drain watches this).
    pub(crate) fn queries(&self) -> u64 {
        self.udp_totals().queries + self.tcp_totals().queries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_sum_per_transport_and_rcode() {
        let counters = Counters::default();
        let (a, b) = (counters.udp_worker(), counters.udp_worker());
        let answered = |rcode, truncated| Outcome::Answered {
            len: 12,
            rcode,
            truncated,
        };
        a.record(&answered(0, false), true);
        a.record(&answered(3, false), true);
        b.record(&answered(0, true), true);
        b.record(&Outcome::Dropped, true);
        b.record(&answered(4095, false), true);
        counters.tcp().record(&answered(5, false), false);
        let udp = counters.udp_totals();
        assert_eq!(udp.queries, 5);
        assert_eq!((udp.rcodes[0], udp.rcodes[3]), (2, 1));
        assert_eq!((udp.truncated, udp.dropped, udp.other_rcode), (1, 1, 1));
        assert_eq!(counters.tcp_totals().rcodes[5], 1);
        assert_eq!(counters.queries(), 6);
        assert!(align_of::<QueryCounters>() >= 128);
    }

    #[test]
    fn sizes_and_latencies_fall_in_their_buckets() {
        let counters = Counters::default();
        let udp = counters.udp_worker();
        for len in [12, 512, 513, 1232, 1233, 20_000] {
            udp.record(
                &Outcome::Answered {
                    len,
                    rcode: 0,
                    truncated: false,
                },
                true,
            );
        }
        udp.record_latency(8_000, 3, true);
        udp.record_latency(2_000_000_000, 1, true);
        let totals = counters.udp_totals();
        // <=64, <=512, <=1024, <=1232, <=1452, > 16384
        assert_eq!(totals.sizes, [1, 0, 0, 1, 1, 1, 1, 0, 0, 1]);
        assert_eq!(totals.size_sum, 12 + 512 + 513 + 1232 + 1233 + 20_000);
        assert_eq!(totals.latencies[0], 3, "8 µs <= 10 µs, three queries");
        assert_eq!(
            totals.latencies[LATENCY_BUCKETS_NS.len()],
            1,
            "2 s: beyond 1 s"
        );
        assert_eq!(totals.latency_sum_ns, 24_000 + 2_000_000_000);
    }
}
