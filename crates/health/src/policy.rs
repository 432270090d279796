//! The knobs of a cloud's health policy, with defaults and the reasons for them.

use std::time::Duration;

/// Default probe interval. The failover targets (measured in the lab at 50 q/s: first answer
/// from another site ≤ 50 ms after a crash, ≤ 100 ms after a hang) are detection budgets:
/// a crash is seen at the next round (a closed port is definitive), so half an interval on
/// average plus ~15 ms of BGP propagation; a hang needs `fall` silent rounds. 20 ms meets
/// both with margin (`anyns-lab failover-report`); it costs 2 × 50 = 100 small queries/s
/// per instance, nothing next to a site's capacity (~170k q/s in the lab).
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(20);

/// Default probe timeout, shorter than the interval so one probe ends before the next
/// starts and a hung server is detected in about `fall` intervals. A healthy server does not
/// delay an answer that long: the default receive buffer holds ~2,000 queries, ~12 ms of
/// work at full rate; under overload packets are dropped, not delayed, which is why the
/// driver sends each probe twice (see the daemon) and `fall` is 3.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(16);

/// Default rise: three good probes (60 ms at the default interval) before announcing, so a
/// restarting instance proves itself before attracting traffic (the hold-down keeps a
/// withdrawn cloud out for longer anyway).
pub const DEFAULT_RISE: u32 = 3;

/// Default fall: three failed rounds in a row, i.e. six probe copies unanswered within
/// 16 ms over ~60 ms: a hang is caught in ~2 intervals + a timeout (~56 ms + phase), while
/// a full-rate load (measured: dnsperf at ~170k q/s for 10 s, probes on the loaded socket)
/// never trips it. Definitive failures (a closed port, an expired or stale zone) take a
/// check down at once regardless.
pub const DEFAULT_FALL: u32 = 3;

/// Default hold-down after a health withdrawal: the route stays out at least this long,
/// so a site that recovers and fails again does not churn routes faster than BGP settles.
pub const DEFAULT_HOLD_DOWN: Duration = Duration::from_secs(2);

/// Default time the GRACEFUL_SHUTDOWN mark (RFC 8326) is announced before a drain
/// withdraws: time for the routers to prefer another site (RFC 8326 §3 leaves it to the
/// operator; one second covers a small network's convergence).
pub const DEFAULT_GRACEFUL_SHUTDOWN: Duration = Duration::from_secs(1);

/// Flap damping, after RFC 2439 §4: a penalty per health withdrawal that halves every
/// `half_life`; above `suppress` the cloud is held out until the penalty falls below `reuse`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Damping {
    /// Penalty added by each health withdrawal (RFC 2439's "figure of merit" increment).
    pub penalty: u32,
    /// Time for the penalty to halve.
    pub half_life: Duration,
    /// Above this the cloud is suppressed.
    pub suppress: u32,
    /// Below this a suppressed cloud may be announced again.
    pub reuse: u32,
    /// Longest a cloud stays suppressed after its last withdrawal: the penalty is capped at
    /// `reuse × 2^(max_suppress / half_life)` (RFC 2439 §4.2's ceiling).
    pub max_suppress: Duration,
}

impl Default for Damping {
    /// RFC 2439's shape with a site's time scale: 1000 per flap, half-life 30 s (the RFC's 15
    /// min is for Internet routes), suppressed on the 4th flap within about half a minute,
    /// reused after about 35 s of calm, never out longer than 10 min.
    fn default() -> Self {
        Self {
            penalty: 1000,
            half_life: Duration::from_secs(30),
            suppress: 3000,
            reuse: 1500,
            max_suppress: Duration::from_secs(600),
        }
    }
}

/// A cloud's health policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Policy {
    /// How often the driver probes each instance (not used by the state machine).
    pub interval: Duration,
    /// How long the driver waits for a probe's answer (not used by the state machine).
    pub timeout: Duration,
    /// Consecutive successes for a check to go up.
    pub rise: u32,
    /// Consecutive failures for a check to go down.
    pub fall: u32,
    /// Minimum time from a health withdrawal to the next announcement.
    pub hold_down: Duration,
    /// How many instances must be up for the cloud to be healthy (k of N; clamped to 1..=N).
    pub min_instances: usize,
    /// Flap damping; `None` turns it off.
    pub damping: Option<Damping>,
    /// Keep announcing when every failing check failed for a global reason.
    pub last_site_guard: bool,
    /// How long a drain announces GRACEFUL_SHUTDOWN before withdrawing.
    pub graceful_shutdown: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            rise: DEFAULT_RISE,
            fall: DEFAULT_FALL,
            hold_down: DEFAULT_HOLD_DOWN,
            min_instances: 1,
            damping: Some(Damping::default()),
            last_site_guard: false,
            graceful_shutdown: DEFAULT_GRACEFUL_SHUTDOWN,
        }
    }
}
