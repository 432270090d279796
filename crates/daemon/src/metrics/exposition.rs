//! The Prometheus text exposition format (version 0.0.4) of what a site's operator watches:
//! queries and answers by transport and response code, zone serials and expiry, BGP
//! sessions, and what the health checks announce.

use std::fmt::Write as _;
use std::net::SocketAddr;

use bgp_session::State;
use dns_zone::ZoneSet;

use crate::announce::Report;
use crate::bgp::PeerStatus;
use crate::state::{COOKIE_RESULTS, LATENCY_BUCKETS_NS, RCODE_SLOTS, SIZE_BUCKETS, Totals};

/// Everything one scrape shows.
pub(crate) struct Snapshot<'a> {
    pub(crate) udp: Totals,
    pub(crate) tcp: Totals,
    pub(crate) tcp_connections: usize,
    pub(crate) zones: &'a ZoneSet,
    /// Seconds since 1970, for the signatures' time left.
    pub(crate) now: u64,
    /// Secondary zones behind their primary: (origin, newest known serial, for how long).
    pub(crate) lags: Vec<(Vec<u8>, u32, std::time::Duration)>,
    pub(crate) peers: Vec<(SocketAddr, PeerStatus)>,
    pub(crate) health: Option<Report>,
    pub(crate) resolver: Option<ResolverTotals>,
    /// Transfers by (direction, result).
    pub(crate) transfers: Vec<(&'static str, &'static str, u64)>,
    /// Control-socket commands by name.
    pub(crate) control: Vec<(&'static str, u64)>,
}

/// The resolver's figures at a scrape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ResolverTotals {
    pub(crate) cache_hits: u64,
    pub(crate) cache_misses: u64,
    pub(crate) cache_evictions: u64,
    pub(crate) cache_entries: usize,
    pub(crate) cache_bytes: usize,
    pub(crate) upstream_udp: u64,
    pub(crate) upstream_tcp: u64,
    pub(crate) upstream_failures: u64,
    pub(crate) resolutions: u64,
    /// SERVFAIL by cause, in the order of `dns_resolve::Failure::CAUSES`.
    pub(crate) failures: [u64; dns_resolve::Failure::CAUSES.len()],
    pub(crate) rtt: dns_resolve::servers::RttHistogram,
    pub(crate) overflows: u64,
    pub(crate) client_limited: u64,
    pub(crate) stale: u64,
    pub(crate) joined: u64,
    pub(crate) secure: u64,
    pub(crate) insecure: u64,
    pub(crate) bogus: u64,
    pub(crate) cookies: dns_resolve::cookies::CookieCounts,
    pub(crate) pending: usize,
}

/// The mnemonic of a response code (RFC 6895 §2.3), `RCODEn` for the unnamed.
fn rcode_name(code: usize) -> String {
    let name = match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        _ => return format!("RCODE{code}"),
    };
    name.to_string()
}

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One transport's series of a histogram: cumulative buckets (`counts` has one more slot
/// than `bounds`, beyond the last bound), the sum and the count.
fn histogram(
    out: &mut String,
    name: &str,
    transport: &str,
    bounds: &[String],
    counts: &[u64],
    sum: String,
) {
    let mut cumulative = 0;
    for (i, count) in counts.iter().enumerate() {
        cumulative += count;
        let le = bounds.get(i).map_or("+Inf", String::as_str);
        let _ = writeln!(
            out,
            "{name}_bucket{{transport=\"{transport}\",le=\"{le}\"}} {cumulative}"
        );
    }
    let _ = writeln!(out, "{name}_sum{{transport=\"{transport}\"}} {sum}");
    let _ = writeln!(
        out,
        "{name}_count{{transport=\"{transport}\"}} {cumulative}"
    );
}

/// Renders a scrape.
pub(crate) fn render(snapshot: &Snapshot<'_>) -> String {
    let mut out = String::with_capacity(4096);
    let transports = [("udp", &snapshot.udp), ("tcp", &snapshot.tcp)];
    header(
        &mut out,
        "anyns_queries_total",
        "counter",
        "DNS queries received (NOTIFY and transfers excluded).",
    );
    for (transport, totals) in transports {
        let _ = writeln!(
            out,
            "anyns_queries_total{{transport=\"{transport}\"}} {}",
            totals.queries
        );
    }
    header(
        &mut out,
        "anyns_responses_total",
        "counter",
        "Answers by response code (rate-limited ones included: see anyns_responses_rate_limited_total).",
    );
    for (transport, totals) in transports {
        for code in 0..RCODE_SLOTS {
            let count = totals.rcodes[code];
            if count > 0 {
                let _ = writeln!(
                    out,
                    "anyns_responses_total{{transport=\"{transport}\",rcode=\"{}\"}} {count}",
                    rcode_name(code)
                );
            }
        }
        if totals.other_rcode > 0 {
            let _ = writeln!(
                out,
                "anyns_responses_total{{transport=\"{transport}\",rcode=\"other\"}} {}",
                totals.other_rcode
            );
        }
    }
    header(
        &mut out,
        "anyns_responses_truncated_total",
        "counter",
        "UDP answers sent with TC set.",
    );
    let _ = writeln!(
        out,
        "anyns_responses_truncated_total {}",
        snapshot.udp.truncated
    );
    header(
        &mut out,
        "anyns_queries_dropped_total",
        "counter",
        "Messages not answered (responses, fewer than 12 octets).",
    );
    for (transport, totals) in transports {
        let _ = writeln!(
            out,
            "anyns_queries_dropped_total{{transport=\"{transport}\"}} {}",
            totals.dropped
        );
    }
    header(
        &mut out,
        "anyns_responses_rate_limited_total",
        "counter",
        "UDP answers over the rate limit: sent truncated (slip) or not sent (drop).",
    );
    let _ = writeln!(
        out,
        "anyns_responses_rate_limited_total{{action=\"slip\"}} {}",
        snapshot.udp.rate_slipped
    );
    let _ = writeln!(
        out,
        "anyns_responses_rate_limited_total{{action=\"drop\"}} {}",
        snapshot.udp.rate_dropped
    );
    header(
        &mut out,
        "anyns_answer_cache_hits_total",
        "counter",
        "UDP answers copied from a worker's answer cache (counted in the answers too; on \
         a resolver listener, cache hits the resolver's lookups do not count).",
    );
    let _ = writeln!(out, "anyns_answer_cache_hits_total {}", snapshot.udp.cached);
    header(
        &mut out,
        "anyns_tcp_connections",
        "gauge",
        "Open TCP connections.",
    );
    let _ = writeln!(out, "anyns_tcp_connections {}", snapshot.tcp_connections);
    header(
        &mut out,
        "anyns_response_size_bytes",
        "histogram",
        "Answers by size in octets (RFC 9199: watch what exceeds 1232 over UDP).",
    );
    for (transport, totals) in transports {
        let bounds = SIZE_BUCKETS.map(|b| b.to_string());
        histogram(
            &mut out,
            "anyns_response_size_bytes",
            transport,
            &bounds,
            &totals.sizes,
            totals.size_sum.to_string(),
        );
    }
    header(
        &mut out,
        "anyns_query_duration_seconds",
        "histogram",
        "Time from a query's arrival in the server to its answer's send (UDP: per batch of \
         datagrams, each counted with its batch's time).",
    );
    for (transport, totals) in transports {
        let bounds = LATENCY_BUCKETS_NS.map(|ns| (ns as f64 / 1e9).to_string());
        histogram(
            &mut out,
            "anyns_query_duration_seconds",
            transport,
            &bounds,
            &totals.latencies,
            (totals.latency_sum_ns as f64 / 1e9).to_string(),
        );
    }

    header(
        &mut out,
        "anyns_cookies_total",
        "counter",
        "Queries with a DNS COOKIE option by verdict (RFC 7873): a client cookie alone, a \
         server cookie made with the fleet's secret (current or previous), one not (another \
         secret, too old), or a malformed option. Invalid ones during a secret rotation mean \
         a site lacks the previous secret.",
    );
    for (i, result) in COOKIE_RESULTS.iter().enumerate() {
        let count: u64 = transports.iter().map(|(_, t)| t.cookies[i]).sum();
        let _ = writeln!(out, "anyns_cookies_total{{result=\"{result}\"}} {count}");
    }
    header(
        &mut out,
        "anyns_transfers_total",
        "counter",
        "Zone transfers by direction (in: this site's secondaries; out: served to peers) and result.",
    );
    for (direction, result, n) in &snapshot.transfers {
        let _ = writeln!(
            out,
            "anyns_transfers_total{{direction=\"{direction}\",result=\"{result}\"}} {n}"
        );
    }
    header(
        &mut out,
        "anyns_control_commands_total",
        "counter",
        "Commands received on the control socket (anyns ctl), by command.",
    );
    for (command, n) in &snapshot.control {
        let _ = writeln!(
            out,
            "anyns_control_commands_total{{command=\"{}\"}} {n}",
            label(command)
        );
    }
    // Each zone's name as a label once, and the lags by origin: a scrape of a catalog with
    // many thousands of members stays linear.
    let mut zones: Vec<(String, &std::sync::Arc<dns_zone::Zone>)> = snapshot
        .zones
        .iter()
        .map(|zone| (label(&dns_wire::name_to_text(zone.origin())), zone))
        .collect();
    zones.sort_by(|a, b| a.1.origin().cmp(b.1.origin()));
    let lags: std::collections::HashMap<&[u8], f64> = snapshot
        .lags
        .iter()
        .map(|(origin, _, lag)| (origin.as_slice(), lag.as_secs_f64()))
        .collect();
    header(
        &mut out,
        "anyns_zone_serial",
        "gauge",
        "SOA serial of each zone served.",
    );
    for (name, zone) in &zones {
        let _ = writeln!(
            out,
            "anyns_zone_serial{{zone=\"{name}\"}} {}",
            zone.serial()
        );
    }
    header(
        &mut out,
        "anyns_zone_expired",
        "gauge",
        "1 when a secondary zone has expired (answered SERVFAIL).",
    );
    for (name, zone) in &zones {
        let expired = u8::from(snapshot.zones.is_expired(zone.origin()));
        let _ = writeln!(out, "anyns_zone_expired{{zone=\"{name}\"}} {expired}");
    }
    header(
        &mut out,
        "anyns_zone_signatures_expire_seconds",
        "gauge",
        "Seconds until the first RRSIG of a signed zone expires (negative: expired).",
    );
    for (name, zone) in &zones {
        if let Some(left) = zone.signatures_expire_in(snapshot.now) {
            let _ = writeln!(
                out,
                "anyns_zone_signatures_expire_seconds{{zone=\"{name}\"}} {left}"
            );
        }
    }
    header(
        &mut out,
        "anyns_zone_lag_seconds",
        "gauge",
        "How long a secondary zone has served an older serial than its primary has (0: up to date).",
    );
    for (name, zone) in &zones {
        let lag = lags.get(zone.origin()).copied().unwrap_or(0.0);
        let _ = writeln!(out, "anyns_zone_lag_seconds{{zone=\"{name}\"}} {lag:.3}");
    }
    header(
        &mut out,
        "anyns_zone_records",
        "gauge",
        "Records of each zone served.",
    );
    for (name, zone) in &zones {
        let _ = writeln!(
            out,
            "anyns_zone_records{{zone=\"{name}\"}} {}",
            zone.record_count()
        );
    }

    if !snapshot.peers.is_empty() {
        header(
            &mut out,
            "anyns_bgp_session_established",
            "gauge",
            "1 while the BGP session with the peer is Established.",
        );
        for (peer, status) in &snapshot.peers {
            let up = u8::from(status.state == State::Established);
            let _ = writeln!(out, "anyns_bgp_session_established{{peer=\"{peer}\"}} {up}");
        }
        header(
            &mut out,
            "anyns_bgp_updates_sent_total",
            "counter",
            "BGP UPDATEs sent to the peer (End-of-RIB included).",
        );
        for (peer, status) in &snapshot.peers {
            let _ = writeln!(
                out,
                "anyns_bgp_updates_sent_total{{peer=\"{peer}\"}} {}",
                status.stats.updates_sent
            );
        }
        header(
            &mut out,
            "anyns_bgp_notifications_received_total",
            "counter",
            "BGP NOTIFICATIONs received from the peer.",
        );
        for (peer, status) in &snapshot.peers {
            let _ = writeln!(
                out,
                "anyns_bgp_notifications_received_total{{peer=\"{peer}\"}} {}",
                status.stats.notifications_received
            );
        }
    }
    if let Some(report) = &snapshot.health {
        header(
            &mut out,
            "anyns_cloud_announced",
            "gauge",
            "1 while the cloud's prefixes are announced (also held by the last-site guard or draining).",
        );
        for cloud in &report.clouds {
            let up = u8::from(cloud.is_announced());
            let _ = writeln!(
                out,
                "anyns_cloud_announced{{cloud=\"{}\"}} {up}",
                label(&cloud.name)
            );
        }
        header(
            &mut out,
            "anyns_cloud_instances_up",
            "gauge",
            "Instances of the cloud whose checks pass.",
        );
        for cloud in &report.clouds {
            let _ = writeln!(
                out,
                "anyns_cloud_instances_up{{cloud=\"{}\"}} {}",
                label(&cloud.name),
                cloud.instances_up
            );
        }
    }
    if let Some(r) = &snapshot.resolver {
        render_resolver(&mut out, r);
    }
    out
}

fn render_resolver(out: &mut String, r: &ResolverTotals) {
    let counters: [(&str, &str, u64); 15] = [
        (
            "anyns_resolver_cache_lookups_total{result=\"hit\"}",
            "Cache lookups (every lookup of a resolution counts).",
            r.cache_hits,
        ),
        (
            "anyns_resolver_cache_lookups_total{result=\"miss\"}",
            "",
            r.cache_misses,
        ),
        (
            "anyns_resolver_cache_evictions_total",
            "Entries evicted to stay within the cache size.",
            r.cache_evictions,
        ),
        (
            "anyns_resolver_upstream_queries_total{transport=\"udp\"}",
            "Queries sent to other servers, from the unicast address.",
            r.upstream_udp,
        ),
        (
            "anyns_resolver_upstream_queries_total{transport=\"tcp\"}",
            "",
            r.upstream_tcp,
        ),
        (
            "anyns_resolver_upstream_failures_total",
            "Upstream exchanges that failed (refused, reset, unreachable).",
            r.upstream_failures,
        ),
        (
            "anyns_resolver_resolutions_total",
            "Client queries the cache could not answer.",
            r.resolutions,
        ),
        (
            "anyns_resolver_stale_answers_total",
            "Failed resolutions answered with expired data (serve-stale).",
            r.stale,
        ),
        (
            "anyns_resolver_joined_total",
            "Cache misses that waited for a resolution of the same name already running.",
            r.joined,
        ),
        (
            "anyns_resolver_validation_total{result=\"secure\"}",
            "Resolved answers by DNSSEC validation result (bogus ones are answered SERVFAIL).",
            r.secure,
        ),
        (
            "anyns_resolver_validation_total{result=\"insecure\"}",
            "",
            r.insecure,
        ),
        (
            "anyns_resolver_validation_total{result=\"bogus\"}",
            "",
            r.bogus,
        ),
        (
            "anyns_resolver_upstream_cookies_total{result=\"echoed\"}",
            "Upstream answers by DNS cookie (RFC 7873): ours echoed, none (a server without cookies), or another client's (not believed).",
            r.cookies.echoed,
        ),
        (
            "anyns_resolver_upstream_cookies_total{result=\"absent\"}",
            "",
            r.cookies.absent,
        ),
        (
            "anyns_resolver_upstream_cookies_total{result=\"wrong\"}",
            "",
            r.cookies.wrong,
        ),
    ];
    for (series, help, value) in counters {
        let name = series.split('{').next().unwrap_or(series);
        if !help.is_empty() {
            header(out, name, "counter", help);
        }
        let _ = writeln!(out, "{series} {value}");
    }
    header(
        out,
        "anyns_resolver_servfail_total",
        "counter",
        "Client queries answered SERVFAIL, by cause: no server answered, timeout, a work limit, DNSSEC bogus, or refused at once (too many resolutions in progress, in all or for the client).",
    );
    let causes = dns_resolve::Failure::CAUSES.iter().zip(r.failures);
    let refused = [
        (&"overload", r.overflows),
        (&"client-limit", r.client_limited),
    ];
    for (cause, n) in causes.chain(refused) {
        let _ = writeln!(
            out,
            "anyns_resolver_servfail_total{{cause=\"{cause}\"}} {n}"
        );
    }
    header(
        out,
        "anyns_resolver_upstream_rtt_seconds",
        "histogram",
        "Round-trip time of the upstream answers.",
    );
    let mut cumulative = 0;
    let bounds = dns_resolve::servers::RTT_BUCKETS_US.iter().map(Some);
    for (bound, n) in bounds.chain([None]).zip(r.rtt.buckets) {
        cumulative += n;
        let le = bound.map_or_else(|| "+Inf".to_string(), |us| format!("{}", *us as f64 / 1e6));
        let _ = writeln!(
            out,
            "anyns_resolver_upstream_rtt_seconds_bucket{{le=\"{le}\"}} {cumulative}"
        );
    }
    let _ = writeln!(
        out,
        "anyns_resolver_upstream_rtt_seconds_sum {}\nanyns_resolver_upstream_rtt_seconds_count {cumulative}",
        r.rtt.sum_us as f64 / 1e6
    );
    let gauges: [(&str, &str, usize); 3] = [
        (
            "anyns_resolver_cache_entries",
            "RRsets and negative answers cached.",
            r.cache_entries,
        ),
        (
            "anyns_resolver_cache_bytes",
            "Memory the cache's entries take, roughly.",
            r.cache_bytes,
        ),
        (
            "anyns_resolver_pending",
            "Resolutions in progress.",
            r.pending,
        ),
    ];
    for (name, help, value) in gauges {
        header(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_zones_and_escapes_labels() {
        let mut udp = Totals {
            queries: 3,
            ..Totals::default()
        };
        udp.rcodes[0] = 2;
        udp.rcodes[3] = 1;
        udp.sizes[0] = 2;
        udp.sizes[6] = 1;
        udp.size_sum = 1400;
        udp.latencies[1] = 3;
        udp.latency_sum_ns = 60_000;
        let mut zones = ZoneSet::new();
        let (zone, _) = dns_zone::load_zone_str(
            "$ORIGIN a\\\"b.\n@ 60 SOA ns h 42 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n",
            b"\x03a\"b\x00",
        )
        .unwrap();
        zones.insert(std::sync::Arc::new(zone));
        let text = render(&Snapshot {
            udp,
            tcp: Totals::default(),
            tcp_connections: 1,
            zones: &zones,
            now: 0,
            lags: vec![(
                b"\x03a\"b\x00".to_vec(),
                43,
                std::time::Duration::from_millis(1500),
            )],
            peers: Vec::new(),
            health: None,
            resolver: Some(ResolverTotals {
                cache_hits: 7,
                upstream_tcp: 2,
                pending: 1,
                ..ResolverTotals::default()
            }),
            transfers: vec![("in", "ixfr", 4)],
            control: vec![("zone reload", 2)],
        });
        for series in [
            "anyns_response_size_bytes_bucket{transport=\"udp\",le=\"64\"} 2\n",
            "anyns_response_size_bytes_bucket{transport=\"udp\",le=\"1232\"} 2\n",
            "anyns_response_size_bytes_bucket{transport=\"udp\",le=\"1452\"} 3\n",
            "anyns_response_size_bytes_bucket{transport=\"udp\",le=\"+Inf\"} 3\n",
            "anyns_response_size_bytes_sum{transport=\"udp\"} 1400\n",
            "anyns_response_size_bytes_count{transport=\"udp\"} 3\n",
            "anyns_query_duration_seconds_bucket{transport=\"udp\",le=\"0.00001\"} 0\n",
            "anyns_query_duration_seconds_bucket{transport=\"udp\",le=\"0.000025\"} 3\n",
            "anyns_query_duration_seconds_sum{transport=\"udp\"} 0.00006\n",
            "anyns_query_duration_seconds_count{transport=\"tcp\"} 0\n",
            "anyns_transfers_total{direction=\"in\",result=\"ixfr\"} 4\n",
            "anyns_control_commands_total{command=\"zone reload\"} 2\n",
        ] {
            assert!(text.contains(series), "{series}in {text}");
        }
        assert!(
            text.contains("anyns_resolver_cache_lookups_total{result=\"hit\"} 7\n")
                && text.contains("anyns_resolver_upstream_queries_total{transport=\"tcp\"} 2\n")
                && text.contains("anyns_resolver_pending 1\n"),
            "{text}"
        );
        assert!(
            text.contains("anyns_queries_total{transport=\"udp\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("anyns_responses_total{transport=\"udp\",rcode=\"NXDOMAIN\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("anyns_zone_serial{zone=\"a\\\\\\\"b.\"} 42\n"),
            "{text}"
        );
        assert!(
            text.contains("anyns_zone_lag_seconds{zone=\"a\\\\\\\"b.\"} 1.500\n"),
            "{text}"
        );
        assert!(
            !text.contains("anyns_zone_signatures_expire_seconds{"),
            "an unsigned zone has no signature expiry: {text}"
        );
        assert!(!text.contains("anyns_bgp"), "no BGP section without peers");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').expect("name value");
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
