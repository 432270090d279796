//! `bgp peers` on the control socket: each peer's session state, uptime, the prefixes
//! announced to it and why it last went down.

use serde_json::json;

use super::{Controlled, error_json};
use crate::clock;

/// `bgp peers`.
pub(super) fn peers(controlled: &Controlled) -> String {
    let Some(bgp) = &controlled.bgp else {
        return error_json("no BGP speaker here (configure [bgp])");
    };
    let now = clock::now();
    let peers: Vec<_> = bgp
        .status()
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
        .collect();
    json!({ "peers": peers }).to_string()
}
