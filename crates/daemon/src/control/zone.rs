//! The zone commands of the control socket: `zone list`, `zone status ZONE` and the
//! actions `zone reload|refresh|retransfer|notify ZONE`. Each answers one JSON object.

use std::time::Instant;

use serde_json::json;
use tokio::sync::oneshot;

use super::controlled::{Controlled, ReloadRequest, error_json};
use crate::clock::{self, unix_now};
use crate::transfer::notify::send_notifies;
use crate::transfer::state::Poke;
use crate::views;

/// Seconds from now until `at` (negative once past).
fn seconds_until(at: Instant) -> f64 {
    let now = clock::now();
    if at >= now {
        at.duration_since(now).as_secs_f64()
    } else {
        -now.duration_since(at).as_secs_f64()
    }
}

/// `zone list`.
pub(super) fn list(controlled: &Controlled) -> String {
    json!({ "zones": views::zone_list(&controlled.zones, &controlled.transfers) }).to_string()
}

/// Reads a zone name given on the command line; `Err` is the error answer.
fn origin_of(controlled: &Controlled, name: &str) -> Result<Vec<u8>, String> {
    let mut wire =
        dns_wire::name_from_text(name).map_err(|e| error_json(&format!("{name:?}: {e}")))?;
    dns_wire::lowercase_in_place(&mut wire);
    if controlled.transfers.zone(&wire).is_none() {
        return Err(error_json(&format!("no zone {name} here")));
    }
    Ok(wire)
}

/// `zone status ZONE`: what is served, what the primary has, and the refresh timers.
pub(super) fn status(controlled: &Controlled, name: &str) -> String {
    let origin = match origin_of(controlled, name) {
        Ok(origin) => origin,
        Err(answer) => return answer,
    };
    let served = controlled.zones.snapshot();
    let zone = served.get(&origin);
    let (view, lagged) = controlled
        .transfers
        .refresh_view(&origin)
        .unwrap_or_default();
    json!({
        "name": dns_wire::name_to_text(&origin),
        "kind": views::zone_kind(&controlled.transfers, &origin),
        "serial": zone.map(|z| z.serial()),
        "records": zone.map(|z| z.record_count()),
        "expired": served.is_expired(&origin),
        "signed": zone.is_some_and(|z| z.is_signed()),
        "signatures_expire_in_seconds": zone.and_then(|z| z.signatures_expire_in(unix_now())),
        "primary_serial": view.primary_serial,
        "lag_seconds": lagged.map(|d| d.as_secs_f64()),
        "last_attempt_unix": view.last_attempt,
        "last_success_unix": view.last_success,
        "last_result": view.last_result,
        "next_refresh_in_seconds": view.next_check.map(seconds_until),
        "expires_in_seconds": view.expire_at.map(seconds_until),
    })
    .to_string()
}

/// `zone reload|refresh|retransfer|notify ZONE`.
pub(super) async fn act(controlled: &Controlled, action: &str, name: &str) -> String {
    let origin = match origin_of(controlled, name) {
        Ok(origin) => origin,
        Err(answer) => return answer,
    };
    let secondary = views::zone_kind(&controlled.transfers, &origin) == Some("secondary");
    let text = dns_wire::name_to_text(&origin);
    let done =
        |result: String| json!({ "zone": text, "action": action, "result": result }).to_string();
    match action {
        "reload" if secondary => error_json(&format!(
            "{text} is a secondary zone: use zone refresh or zone retransfer"
        )),
        "reload" => {
            let (reply, answer) = oneshot::channel();
            if controlled
                .reload
                .send(ReloadRequest {
                    origin: origin.clone(),
                    reply,
                })
                .is_err()
            {
                return error_json("the server is stopping");
            }
            match answer.await {
                Ok(Ok(serial)) => done(format!("serving serial {serial}")),
                Ok(Err(why)) => error_json(&format!(
                    "{text}: reload failed, the served version stays: {why}"
                )),
                Err(_) => error_json("the server is stopping"),
            }
        }
        "refresh" | "retransfer" if !secondary => {
            error_json(&format!("{text} is a primary zone here: use zone reload"))
        }
        "refresh" | "retransfer" => {
            let poke = match action {
                "refresh" => Poke::Notify(None),
                _ => Poke::Retransfer,
            };
            if controlled.transfers.poke(&origin, poke) {
                done("started (see zone status)".to_string())
            } else {
                error_json(&format!("{text}: its refresh task has stopped"))
            }
        }
        _ => {
            let Some(zone) = controlled.zones.get(&origin) else {
                return error_json(&format!("{text} is not served yet: nothing to announce"));
            };
            let targets = controlled
                .transfers
                .zone(&origin)
                .map_or(0, |t| t.notify.len());
            send_notifies(&controlled.transfers, &origin, zone.soa_record());
            done(format!(
                "NOTIFY for serial {} sent to {targets} targets",
                zone.serial()
            ))
        }
    }
}
