//! The control socket's JSON answers as the tables `anyns ctl` prints.

use serde_json::Value;

use crate::tables::{duration, fields, table};

/// How an answer is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum View {
    /// `status`, `drain`, `undrain`: one row per cloud.
    Clouds,
    /// `health`: one row per check of each cloud.
    Checks,
    /// `zone list`: one row per zone.
    Zones,
    /// `zone status`: one field per line.
    Zone,
    /// `zone reload|refresh|retransfer|notify`: one line.
    Action,
    /// `bgp peers`: one row per peer.
    Peers,
    /// Anything else: one field per line.
    Fields,
}

/// The text for `value` shown as `view`.
pub(super) fn render(view: View, value: &Value) -> String {
    match view {
        View::Clouds => table(
            &[
                "CLOUD",
                "STATE",
                "PREFIXES",
                "INSTANCES",
                "PENALTY",
                "LAST REASON",
            ],
            rows(value, "clouds", |c| {
                vec![
                    text(&c["name"]),
                    text(&c["state"]),
                    list(&c["prefixes"]),
                    format!("{}/{}", text(&c["instances_up"]), text(&c["instances"])),
                    text(&c["penalty"]),
                    text(&c["last_reason"]),
                ]
            }),
        ),
        View::Checks => {
            let mut lines = Vec::new();
            for cloud in value["clouds"].as_array().into_iter().flatten() {
                for check in cloud["checks"].as_array().into_iter().flatten() {
                    lines.push(vec![
                        text(&cloud["name"]),
                        text(&check["name"]),
                        if check["up"].as_bool() == Some(true) {
                            "up".to_string()
                        } else {
                            "DOWN".to_string()
                        },
                        text(&check["last_result"]),
                        check["latency_ms"]
                            .as_f64()
                            .map_or_else(dash, |ms| format!("{ms:.1} ms")),
                        text(&check["last_failure"]),
                    ]);
                }
            }
            table(
                &[
                    "CLOUD",
                    "CHECK",
                    "STATE",
                    "LAST RESULT",
                    "LATENCY",
                    "LAST FAILURE",
                ],
                lines,
            )
        }
        View::Zones => table(
            &["ZONE", "KIND", "SERIAL", "PRIMARY", "LAG", "STATE"],
            rows(value, "zones", |z| {
                vec![
                    text(&z["name"]),
                    text(&z["kind"]),
                    text(&z["serial"]),
                    text(&z["primary_serial"]),
                    z["lag_seconds"].as_f64().map_or_else(dash, duration),
                    zone_state(z),
                ]
            }),
        ),
        View::Zone => {
            let seconds = |key: &str| value[key].as_f64().map_or_else(dash, duration);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let ago = |key: &str| {
                value[key].as_u64().map_or_else(dash, |at| {
                    format!("{} ago", duration(now.saturating_sub(at) as f64))
                })
            };
            fields(&[
                ("zone", text(&value["name"])),
                ("kind", text(&value["kind"])),
                ("state", zone_state(value)),
                ("serial", text(&value["serial"])),
                ("records", text(&value["records"])),
                ("primary serial", text(&value["primary_serial"])),
                ("lag", seconds("lag_seconds")),
                ("last attempt", ago("last_attempt_unix")),
                ("last success", ago("last_success_unix")),
                ("last result", text(&value["last_result"])),
                ("next refresh in", seconds("next_refresh_in_seconds")),
                ("expires in", seconds("expires_in_seconds")),
                ("signed", text(&value["signed"])),
                (
                    "signatures expire in",
                    value["signatures_expire_in_seconds"]
                        .as_f64()
                        .map_or_else(dash, duration),
                ),
            ])
        }
        View::Action => format!(
            "{}: {}: {}\n",
            text(&value["zone"]),
            text(&value["action"]),
            text(&value["result"])
        ),
        View::Peers => table(
            &[
                "PEER",
                "STATE",
                "UPTIME",
                "ANNOUNCED",
                "UPDATES OUT/IN",
                "LAST ERROR",
            ],
            rows(value, "peers", |p| {
                vec![
                    text(&p["address"]),
                    text(&p["state"]),
                    p["uptime_seconds"].as_f64().map_or_else(dash, duration),
                    list(&p["announced"]),
                    format!(
                        "{}/{}",
                        text(&p["updates_sent"]),
                        text(&p["updates_received"])
                    ),
                    text(&p["last_error"]),
                ]
            }),
        ),
        View::Fields => {
            let pairs: Vec<(&str, String)> = value
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), text(v)))
                .collect();
            fields(&pairs)
        }
    }
}

/// "serving", "EXPIRED", or "not loaded" for a zone without a copy.
fn zone_state(zone: &Value) -> String {
    if zone["expired"].as_bool() == Some(true) {
        "EXPIRED".to_string()
    } else if zone["serial"].is_null() {
        "NOT LOADED".to_string()
    } else if zone["lag_seconds"].is_number() {
        "LAGGING".to_string()
    } else {
        "serving".to_string()
    }
}

/// The cell of a missing value.
fn dash() -> String {
    "-".to_string()
}

/// One row per element of `value[key]`.
fn rows(value: &Value, key: &str, row: impl Fn(&Value) -> Vec<String>) -> Vec<Vec<String>> {
    value[key]
        .as_array()
        .into_iter()
        .flatten()
        .map(row)
        .collect()
}

/// A JSON value as a cell: strings bare, null as "-".
fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(_) => list(value),
        other => other.to_string(),
    }
}

/// A JSON array as "a, b"; "-" when empty.
fn list(value: &Value) -> String {
    let items: Vec<String> = value.as_array().into_iter().flatten().map(text).collect();
    if items.is_empty() {
        "-".to_string()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn zones_show_as_an_aligned_table_with_laggards_flagged() {
        let answer = json!({"zones": [
            {"name": "example.com.", "kind": "secondary", "serial": 7, "primary_serial": 9,
             "lag_seconds": 75.0, "expired": false},
            {"name": "b.example.", "kind": "primary", "serial": 2024010101,
             "primary_serial": null, "lag_seconds": null, "expired": false},
        ]});
        let shown = render(View::Zones, &answer);
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 3, "{shown}");
        assert!(lines[0].starts_with("ZONE          KIND"), "{shown}");
        assert!(
            lines[1].contains("1m15s") && lines[1].ends_with("LAGGING"),
            "{shown}"
        );
        assert!(lines[2].ends_with("serving"), "{shown}");
        assert_eq!(
            lines[1].find("secondary"),
            lines[2].find("primary"),
            "{shown}"
        );
    }
}
