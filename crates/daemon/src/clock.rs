//! The daemon's one clock. Timers and the state machines' `now` come from tokio's clock
//! (so a test with a paused runtime moves every timer at once); the core crates take `now`
//! as a `std::time::Instant`, read here. Wall-clock seconds (TSIG times, RRSIG validity,
//! catalog serials) come from [`unix_now`].

use std::time::Instant;

/// Now, for state machines and durations.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
