//! Health policy for anyns: probe results in, announce/withdraw intents out.
//!
//! docs/design.md principle 3, "a site announces only what it can serve": the daemon probes every
//! local DNS instance with real queries and checks its zones, and this crate decides, per
//! *cloud* (a set of service prefixes served by the local instances), whether the site
//! should announce the cloud's prefixes. It has no sockets, no clock and no runtime, and it
//! knows nothing of BGP: it emits [`Intent`]s (`Announce`, `GracefulShutdown`, `Withdraw`)
//! that the daemon turns into BGP commands. `now` is passed into every call (`clippy.toml`
//! forbids `Instant::now`), so the tests drive it with virtual time.
//!
//! ```text
//!   probe results ──handle_result(now, check, Ok | Err(cause))─►┐
//!   drain / undrain ─handle_command(now, command)──────────────►│  Cloud   ├─► poll_intent() ─► BGP
//!   timer fired ──handle_timeout(now)──────────────────────────►│          ├─► poll_event()  ─► logs, metrics
//!                                                               └──────────┴─► poll_timeout() ─► sleep_until
//! ```
//!
//! # The policy ([`Policy`])
//!
//! * **Rise and fall**: a check goes up after `rise` consecutive successes and down after
//!   `fall` consecutive failures. A failure that cannot be noise ([`Cause::is_definitive`]:
//!   a closed port, an expired zone) takes a check down at once.
//! * **k of N**: the cloud is healthy while at least `min_instances` of its instances are up
//!   and every site check (zone freshness, commands, third-party servers) is up.
//! * **Hold-down**: after a withdrawal caused by health, the cloud is not announced again
//!   until `hold_down` has passed, however healthy it looks.
//! * **Flap damping** (after RFC 2439): each health withdrawal adds a penalty that decays
//!   exponentially with `half_life`; above `suppress` the cloud stays withdrawn until the
//!   penalty decays below `reuse`. A flapping site stays out.
//! * **The last-site guard** (optional): a site cannot see the other sites, but it can tell
//!   a failure that would hit every site alike from one of its own. Zone data problems
//!   (an expired or stale zone, [`Scope::Global`]) come from the shared primary and are the
//!   same at every site; a dead process, a timeout or a failed command ([`Scope::Local`])
//!   are this site's. With the guard on, a cloud whose every failing check failed for a
//!   global reason is kept announced ([`State::GuardHeld`]): withdrawing would take the
//!   cloud off the Internet when all sites do the same, and answering SERVFAIL is better
//!   than no route at all. Local failures withdraw as usual.
//! * **Drain**: [`Command::Drain`] re-announces with the GRACEFUL_SHUTDOWN mark (RFC 8326)
//!   for `graceful_shutdown`, then withdraws and stays out until [`Command::Undrain`], after
//!   which the cloud is announced as soon as its checks pass. Planned withdrawals add no
//!   damping penalty and start no hold-down.
//!
//! Every state change comes out of [`Cloud::poll_event`] with its cause, and
//! [`Cloud::status`] gives a snapshot for a control API.
//!
//! It deliberately does **not** schedule probes, send queries or know what a prefix is: the
//! prefix type is a parameter, and the probe interval and timeout in [`Policy`] are for the
//! driver.

#![forbid(unsafe_code)]

mod cause;
mod cloud;
mod policy;
#[cfg(test)]
mod tests;

pub use cause::{Cause, Scope};
pub use cloud::{CheckId, Cloud, Command, Event, Intent, Reason, State, Status};
pub use policy::{
    DEFAULT_FALL, DEFAULT_GRACEFUL_SHUTDOWN, DEFAULT_HOLD_DOWN, DEFAULT_INTERVAL, DEFAULT_RISE,
    DEFAULT_TIMEOUT, Damping, Policy,
};
