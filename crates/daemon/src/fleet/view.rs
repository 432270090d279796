//! The fleet view computed from one poll (and the one before it, for rates): per site its
//! reachability, clouds and their states, BGP peers up and queries per second; per zone
//! each site's serial and who lags; per anycast address which site answers it from here.
//! No I/O: the polls come in, the view goes out.

use serde::Serialize;
use serde_json::Value;

use super::inventory::Inventory;
use super::poll::Poll;

/// The whole view.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct FleetView {
    pub(crate) sites: Vec<SiteView>,
    pub(crate) zones: Vec<ZoneRow>,
    pub(crate) anycast: Vec<AnycastRow>,
}

/// One site.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct SiteView {
    pub(crate) name: String,
    /// Status endpoints that answered, of how many.
    pub(crate) reachable: usize,
    pub(crate) endpoints: usize,
    /// Why endpoints did not answer ("ADDR: why").
    pub(crate) errors: Vec<String>,
    /// Each cloud the site's processes run, with its state (and the last reason when it
    /// is not announced).
    pub(crate) clouds: Vec<CloudState>,
    pub(crate) peers_up: usize,
    pub(crate) peers: usize,
    pub(crate) queries_total: u64,
    /// Over the time since the previous poll; none on the first.
    pub(crate) queries_per_second: Option<f64>,
}

/// A cloud at one site.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CloudState {
    pub(crate) name: String,
    pub(crate) state: String,
    pub(crate) reason: Option<String>,
}

impl CloudState {
    /// Whether the cloud's prefixes are out there.
    pub(crate) fn is_announced(&self) -> bool {
        matches!(self.state.as_str(), "announced" | "guard-held" | "draining")
    }
}

/// One zone across the fleet.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ZoneRow {
    pub(crate) name: String,
    /// Per site (in inventory order): the serial served; none where the site does not
    /// serve the zone or did not answer.
    pub(crate) serials: Vec<Option<u32>>,
    /// The newest serial any site serves.
    pub(crate) newest: u32,
    /// Sites serving an older serial, lagging their primary, or expired.
    pub(crate) lagging: Vec<String>,
}

/// One anycast address from this vantage point.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct AnycastRow {
    pub(crate) cloud: String,
    pub(crate) address: String,
    /// The identity that answered.
    pub(crate) answered_by: Option<String>,
    pub(crate) rtt_ms: Option<f64>,
    pub(crate) error: Option<String>,
}

/// Whether serial `a` is older than `b` (RFC 1982 arithmetic).
fn older(a: u32, b: u32) -> bool {
    a != b && (b.wrapping_sub(a) as i32) > 0
}

/// The view of `poll`, with rates against `previous` (same inventory).
pub(crate) fn compute(inventory: &Inventory, poll: &Poll, previous: Option<&Poll>) -> FleetView {
    let elapsed = previous.map(|p| poll.at.saturating_duration_since(p.at).as_secs_f64());
    let mut sites = Vec::new();
    for (i, site) in inventory.sites.iter().enumerate() {
        let polled = &poll.sites[i];
        let answers: Vec<&Value> = polled.iter().filter_map(|p| p.as_ref().ok()).collect();
        let errors = site
            .status
            .iter()
            .zip(polled)
            .filter_map(|(address, p)| p.as_ref().err().map(|e| format!("{address}: {e}")))
            .collect();
        let mut clouds = Vec::new();
        let (mut peers, mut peers_up) = (0, 0);
        for answer in &answers {
            for cloud in answer["clouds"].as_array().into_iter().flatten() {
                let state = cloud["state"].as_str().unwrap_or("?").to_string();
                let reason = cloud["last_reason"].as_str().map(str::to_string);
                clouds.push(CloudState {
                    name: cloud["name"].as_str().unwrap_or("?").to_string(),
                    state,
                    reason,
                });
            }
            for peer in answer["peers"].as_array().into_iter().flatten() {
                peers += 1;
                if peer["state"] == "Established" {
                    peers_up += 1;
                }
            }
        }
        let total = |p: &Poll| -> Option<u64> {
            let answers: Vec<u64> = p.sites[i]
                .iter()
                .map(|a| a.as_ref().ok().and_then(|v| v["queries_total"].as_u64()))
                .collect::<Option<_>>()?;
            Some(answers.iter().sum())
        };
        let queries_total = answers
            .iter()
            .filter_map(|a| a["queries_total"].as_u64())
            .sum();
        let queries_per_second = match (previous.and_then(total), total(poll), elapsed) {
            (Some(before), Some(now), Some(seconds)) if seconds > 0.0 && now >= before => {
                Some((now - before) as f64 / seconds)
            }
            _ => None,
        };
        sites.push(SiteView {
            name: site.name.clone(),
            reachable: answers.len(),
            endpoints: site.status.len(),
            errors,
            clouds,
            peers_up,
            peers,
            queries_total,
            queries_per_second,
        });
    }
    FleetView {
        zones: zone_rows(inventory, poll),
        anycast: anycast_rows(inventory, poll),
        sites,
    }
}

/// Every zone any site serves, with each site's (lowest) serial and the laggards.
fn zone_rows(inventory: &Inventory, poll: &Poll) -> Vec<ZoneRow> {
    let mut names: Vec<String> = Vec::new();
    for answer in poll.sites.iter().flatten().filter_map(|p| p.as_ref().ok()) {
        for zone in answer["zones"].as_array().into_iter().flatten() {
            if let Some(name) = zone["name"].as_str() {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
        }
    }
    names.sort();
    names
        .into_iter()
        .map(|name| {
            // Per site: (lowest serial, whether any process says it lags or expired).
            let per_site: Vec<(Option<u32>, bool)> = poll
                .sites
                .iter()
                .map(|polled| {
                    let mut serial: Option<u32> = None;
                    let mut lags = false;
                    for answer in polled.iter().filter_map(|p| p.as_ref().ok()) {
                        let zones = answer["zones"].as_array().into_iter().flatten();
                        for zone in zones.filter(|z| z["name"] == name.as_str()) {
                            lags |= zone["lag_seconds"].is_number() || zone["expired"] == true;
                            if let Some(s) = zone["serial"].as_u64().map(|s| s as u32) {
                                serial = Some(match serial {
                                    Some(old) if older(old, s) => old,
                                    _ => s,
                                });
                            }
                        }
                    }
                    (serial, lags)
                })
                .collect();
            let newest = per_site
                .iter()
                .filter_map(|(s, _)| *s)
                .fold(None, |newest: Option<u32>, s| match newest {
                    Some(n) if !older(n, s) => Some(n),
                    _ => Some(s),
                })
                .unwrap_or(0);
            let lagging = inventory
                .sites
                .iter()
                .zip(&per_site)
                .filter(|(_, (serial, lags))| *lags || serial.is_some_and(|s| older(s, newest)))
                .map(|(site, _)| site.name.clone())
                .collect();
            ZoneRow {
                name,
                serials: per_site.iter().map(|(s, _)| *s).collect(),
                newest,
                lagging,
            }
        })
        .collect()
}

fn anycast_rows(inventory: &Inventory, poll: &Poll) -> Vec<AnycastRow> {
    let mut rows = Vec::new();
    for (cloud, results) in inventory.clouds.iter().zip(&poll.anycast) {
        for (address, result) in cloud.addresses.iter().zip(results) {
            let shown = if address.port() == 53 {
                address.ip().to_string()
            } else {
                address.to_string()
            };
            rows.push(match result {
                Ok(answered) => AnycastRow {
                    cloud: cloud.name.clone(),
                    address: shown,
                    answered_by: Some(answered.identity.clone()),
                    rtt_ms: Some(answered.rtt.as_secs_f64() * 1000.0),
                    error: None,
                },
                Err(why) => AnycastRow {
                    cloud: cloud.name.clone(),
                    address: shown,
                    answered_by: None,
                    rtt_ms: None,
                    error: Some(why.clone()),
                },
            });
        }
    }
    rows
}

/// A poll made of given answers, for tests.
#[cfg(test)]
pub(crate) fn poll_of(sites: Vec<Vec<super::poll::Polled>>, at: std::time::Instant) -> Poll {
    Poll {
        sites,
        anycast: Vec::new(),
        at,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::json;

    use super::*;

    fn inventory() -> Inventory {
        Inventory::from_toml(
            "[[site]]\nname = \"ams\"\nstatus = [\"192.0.2.1:9153\"]\n\
             [[site]]\nname = \"fra\"\nstatus = [\"192.0.2.2:9153\", \"192.0.2.3:9153\"]\n\
             [[site]]\nname = \"nyc\"\nstatus = [\"192.0.2.4:9153\"]\n",
        )
        .unwrap()
    }

    fn status(queries: u64, cloud_state: &str, serial: u32, lag: Option<f64>) -> Value {
        json!({
            "queries_total": queries,
            "clouds": [{"name": "ns1", "state": cloud_state, "last_reason": "operator drain"}],
            "peers": [{"state": "Established"}, {"state": "Active"}],
            "zones": [{"name": "example.", "serial": serial, "lag_seconds": lag, "expired": false}],
        })
    }

    #[test]
    fn laggards_drained_sites_rates_and_unreachable_sites_are_told_apart() {
        let t0 = Instant::now();
        let before = poll_of(
            vec![
                vec![Ok(status(1000, "announced", 7, None))],
                vec![
                    Ok(status(10, "drained", 6, None)),
                    Ok(status(5, "drained", 7, None)),
                ],
                vec![Err("connect: refused".into())],
            ],
            t0,
        );
        let now = poll_of(
            vec![
                vec![Ok(status(1500, "announced", 7, None))],
                vec![
                    Ok(status(10, "drained", 6, Some(30.0))),
                    Ok(status(5, "drained", 7, None)),
                ],
                vec![Err("no answer within 1000 ms".into())],
            ],
            t0 + Duration::from_secs(2),
        );
        let view = compute(&inventory(), &now, Some(&before));
        let [ams, fra, nyc] = &view.sites[..] else {
            panic!("{view:?}")
        };
        assert_eq!(ams.queries_per_second, Some(250.0));
        assert_eq!((ams.peers_up, ams.peers), (1, 2));
        assert!(ams.clouds[0].is_announced());
        assert_eq!((fra.reachable, fra.endpoints), (2, 2));
        assert!(
            fra.clouds
                .iter()
                .all(|c| c.state == "drained" && !c.is_announced())
        );
        assert_eq!(fra.queries_per_second, Some(0.0));
        assert_eq!((nyc.reachable, nyc.endpoints), (0, 1));
        assert_eq!(nyc.errors, vec!["192.0.2.4:9153: no answer within 1000 ms"]);
        assert_eq!(nyc.queries_per_second, None);
        let zone = &view.zones[0];
        assert_eq!(zone.name, "example.");
        assert_eq!(
            zone.serials,
            vec![Some(7), Some(6), None],
            "fra's lowest serial"
        );
        assert_eq!(zone.newest, 7);
        assert_eq!(zone.lagging, vec!["fra"]);
        // No previous poll: no rate.
        assert_eq!(
            compute(&inventory(), &now, None).sites[0].queries_per_second,
            None
        );
    }

    #[test]
    fn serials_compare_in_sequence_space() {
        assert!(older(7, 8));
        assert!(older(u32::MAX, 1), "wrapped");
        assert!(!older(8, 7));
        assert!(!older(5, 5));
    }
}
