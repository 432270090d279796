//! Measuring a disruption: a client streams queries while something happens to a site,
//! and the stream's records say when the answers moved and how many were lost. Shared by
//! the demo's steps and the end-to-end tests (a leaf below both).

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::Error;
use crate::lab::Lab;
use crate::probe::{Failover, ProbeOptions, ProbeRecord};
use crate::render::{Table, ms_or};

/// Queries per second of the demo's and the tests' client streams (the rate of the failover
/// baseline in docs/lab-notes.md).
pub const RATE: u32 = 50;

/// What happened around one disruption while a client streamed queries.
#[derive(Clone, Debug)]
pub struct Disruption {
    /// When the action happened.
    pub at: SystemTime,
    /// Every query of the stream.
    pub records: Vec<ProbeRecord>,
    /// Figures relative to `at` and the site that answered before.
    pub figures: Failover,
    /// The site answering before the action.
    pub before: Option<String>,
    /// The site answering at the end.
    pub after: Option<String>,
    /// From the action to the change of best route at the client's router, if seen.
    pub route_change: Option<Duration>,
    /// The best route at the client's router after the change.
    pub new_route: Option<String>,
}

impl Disruption {
    /// Queries without an answer sent at or after the action.
    pub fn lost_after(&self) -> usize {
        self.records
            .iter()
            .filter(|r| r.sent >= self.at && r.answer().is_none())
            .count()
    }
}

/// Streams `count` queries at `rate`/s from `client` to `address`; after `lead` runs
/// `action` (which returns when it acted), watches the best route at the client's router,
/// and measures the failover away from the site that answered first. Bounded by the
/// stream's length.
pub fn disrupt(
    lab: &Lab,
    client: &str,
    address: IpAddr,
    options: &ProbeOptions,
    lead: Duration,
    action: impl FnOnce() -> Result<SystemTime, Error>,
) -> Result<Disruption, Error> {
    let c = lab
        .topology
        .client(client)
        .ok_or_else(|| Error::NoLab(format!("no client {client}")))?;
    let router = lab.topology.routers[lab.topology.clients[c].router]
        .name
        .clone();
    let route_before = lab.best_route(&router, address);
    let stream = lab.stream(client, options)?;
    let wanted = (lead.as_secs_f64() / options.interval.as_secs_f64().max(0.001)) as usize;
    let early = stream.wait_records(wanted.max(1), lead + Duration::from_secs(5));
    let before = early.iter().rev().find_map(|r| r.nsid()).map(str::to_owned);
    let window = options.interval * options.count + Duration::from_secs(1);
    let (at, watched) = std::thread::scope(|scope| {
        let watcher = scope
            .spawn(|| lab.watch_route_change(&router, address, route_before.as_deref(), window));
        let at = action();
        (at, watcher.join().ok().flatten())
    });
    let at = at?;
    let records = stream.finish();
    let figures = Failover::measure(&records, at, before.as_deref().unwrap_or("-"));
    let after = records
        .iter()
        .rev()
        .find_map(|r| r.nsid())
        .map(str::to_owned);
    Ok(Disruption {
        at,
        route_change: watched
            .as_ref()
            .and_then(|(t, _)| t.duration_since(at).ok()),
        new_route: watched.and_then(|(_, r)| r),
        records,
        figures,
        before,
        after,
    })
}

pub(crate) fn disruption_table(d: &Disruption, what: &str) -> String {
    let mut t = Table::new(&["what", "measured"]);
    t.row(vec![
        "answering before".into(),
        d.before.clone().unwrap_or_else(|| "-".into()),
    ]);
    t.row(vec![
        format!("{what} -> best route at the client's router changes"),
        format!(
            "{} (now {})",
            ms_or(d.route_change, "not seen"),
            d.new_route.as_deref().unwrap_or("no route")
        ),
    ]);
    t.row(vec![
        format!("{what} -> first answer from another site"),
        format!(
            "{} ({})",
            ms_or(d.figures.to_other_site, "never"),
            d.figures.new_site.as_deref().unwrap_or("-")
        ),
    ]);
    t.row(vec![
        format!(
            "{what} -> last answer from {}",
            d.before.as_deref().unwrap_or("-")
        ),
        ms_or(d.figures.last_from_old, "none after"),
    ]);
    t.row(vec![
        "queries lost".into(),
        format!("{} of {} ({} q/s)", d.lost_after(), d.figures.sent, RATE),
    ]);
    t.row(vec![
        "answering at the end".into(),
        d.after.clone().unwrap_or_else(|| "-".into()),
    ]);
    t.render()
}
