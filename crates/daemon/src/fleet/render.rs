//! The fleet view as text: sites, zones (a serial per site, laggards starred) and which
//! site answers each anycast address from here.

use super::view::FleetView;
use crate::tables::table;

/// The three tables.
pub(crate) fn render(view: &FleetView) -> String {
    let mut out = String::new();
    let sites = view
        .sites
        .iter()
        .map(|site| {
            let state = if site.reachable == site.endpoints {
                "ok".to_string()
            } else if site.reachable == 0 {
                "UNREACHABLE".to_string()
            } else {
                format!("PARTIAL {}/{}", site.reachable, site.endpoints)
            };
            let clouds = if site.clouds.is_empty() {
                "-".to_string()
            } else {
                site.clouds
                    .iter()
                    .map(|c| {
                        if c.is_announced() && c.state == "announced" {
                            format!("{} announced", c.name)
                        } else {
                            format!("{} {}", c.name, c.state.to_uppercase())
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            vec![
                site.name.clone(),
                state,
                clouds,
                if site.peers == 0 {
                    "-".to_string()
                } else {
                    format!("{}/{}", site.peers_up, site.peers)
                },
                match (site.reachable, site.queries_per_second) {
                    (0, _) => "-".to_string(),
                    (_, Some(rate)) => format!("{rate:.1}"),
                    (_, None) => format!("{} total", site.queries_total),
                },
                site.errors.join("; "),
            ]
        })
        .collect();
    out.push_str(&table(
        &["SITE", "STATE", "CLOUDS", "BGP UP", "Q/S", "PROBLEM"],
        sites,
    ));
    // Why a cloud is not announced, one line each.
    for site in &view.sites {
        for cloud in site.clouds.iter().filter(|c| !c.is_announced()) {
            if let Some(reason) = &cloud.reason {
                out.push_str(&format!("  {} {}: {reason}\n", site.name, cloud.name));
            }
        }
    }
    if !view.zones.is_empty() {
        out.push('\n');
        let mut header = vec!["ZONE"];
        header.extend(view.sites.iter().map(|s| s.name.as_str()));
        header.push("LAGGING");
        let rows = view
            .zones
            .iter()
            .map(|zone| {
                let mut row = vec![zone.name.clone()];
                for (site, serial) in view.sites.iter().zip(&zone.serials) {
                    row.push(match serial {
                        None => "-".to_string(),
                        Some(s) if zone.lagging.contains(&site.name) => format!("{s}*"),
                        Some(s) => s.to_string(),
                    });
                }
                row.push(if zone.lagging.is_empty() {
                    "-".to_string()
                } else {
                    zone.lagging.join(", ")
                });
                row
            })
            .collect();
        out.push_str(&table(&header, rows));
    }
    if !view.anycast.is_empty() {
        out.push('\n');
        let rows = view
            .anycast
            .iter()
            .map(|row| {
                vec![
                    row.cloud.clone(),
                    row.address.clone(),
                    match (&row.answered_by, row.rtt_ms, &row.error) {
                        (Some(by), Some(ms), _) => format!("{by} ({ms:.1} ms)"),
                        (_, _, Some(error)) => format!("NONE: {error}"),
                        _ => "-".to_string(),
                    },
                ]
            })
            .collect();
        out.push_str(&table(&["CLOUD", "ADDRESS", "ANSWERED FROM HERE BY"], rows));
    }
    out
}
