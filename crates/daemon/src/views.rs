//! The daemon's state as JSON for operators: the zones with their serials and lag, and
//! the BGP peers. One owner for these shapes: the control socket (`anyns ctl`) and the
//! status endpoint (`GET /status`, read by `anyns fleet`) both answer with them.

use serde_json::{Value, json};

use crate::bgp::BgpHandle;
use crate::clock;
use crate::state::ZoneStore;
use crate::transfer::state::Transfers;

/// What a zone is here: "primary" or "secondary" (`None`: not a zone here).
pub(crate) fn zone_kind(transfers: &Transfers, origin: &[u8]) -> Option<&'static str> {
    let transfer = transfers.zone(origin)?;
    Some(if transfer.is_secondary() {
        "secondary"
    } else {
        "primary"
    })
}

/// Every configured zone (catalog members included), sorted by name: its kind, serial
/// served, record count, whether it expired, the primary's serial and the lag.
pub(crate) fn zone_list(zones: &ZoneStore, transfers: &Transfers) -> Vec<Value> {
    let served = zones.snapshot();
    let mut list: Vec<Value> = transfers
        .origins()
        .into_iter()
        .map(|origin| {
            let zone = served.get(&origin);
            let (view, lagged) = transfers.refresh_view(&origin).unzip();
            json!({
                "name": dns_wire::name_to_text(&origin),
                "kind": zone_kind(transfers, &origin),
                "serial": zone.map(|z| z.serial()),
                "records": zone.map(|z| z.record_count()),
                "expired": served.is_expired(&origin),
                "primary_serial": view.and_then(|v| v.primary_serial),
                "lag_seconds": lagged.flatten().map(|d| d.as_secs_f64()),
            })
        })
        .collect();
    list.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    list
}

/// Each BGP peer: session state, uptime, the prefixes announced to it, UPDATE counts and
/// why it last went down.
pub(crate) fn bgp_peers(bgp: &BgpHandle) -> Vec<Value> {
    let now = clock::now();
    bgp.status()
        .into_iter()
        .map(|(address, status)| {
            let status = status.borrow();
            json!({
                "address": address.to_string(),
                "state": status.state.to_string(),
                "connection_open": status.connection_open,
                "uptime_seconds": status
                    .established_since
                    .map(|since| now.saturating_duration_since(since).as_secs_f64()),
                "announced": status.announced,
                "updates_sent": status.stats.updates_sent,
                "updates_received": status.stats.updates_received,
                "established_count": status.stats.established,
                "last_error": status.last_down,
            })
        })
        .collect()
}
