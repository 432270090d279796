//! `GET /metrics` (Prometheus text) on loopback, no root needed: counters move by exactly
//! the queries sent (by transport and response code), the zone's serial is exported, BGP
//! and health sections appear with a `[bgp]` section (its peer never answers, so the
//! session is down while the cloud is announced), and anything but `GET /metrics` is
//! refused.

use std::collections::HashMap;
use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::support::dns::{A, Query};
use crate::support::{self, free_port, http_get, start_local_anyns, test_dir, wait_for};

const ZONE: &str = "$ORIGIN example.\n$TTL 300\n\
@ IN SOA ns1.example. hostmaster.example. 2024070101 3600 600 86400 300\n\
@ IN NS ns1.example.\nns1 IN A 192.0.2.53\nwww IN A 192.0.2.80\n";

/// The samples of a scrape: `name{labels}` -> value.
fn scrape(address: SocketAddr) -> HashMap<String, f64> {
    let (status, body) = http_get(address, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("series value");
            (series.to_string(), value.parse().expect("a number"))
        })
        .collect()
}

/// A scrape taken between UDP batches: a worker counts each answer's size as it builds it
/// and the batch's time after the send, so a scrape that lands inside a batch (a health
/// probe's, say) sees sizes ahead of times. Scrapes again until they agree (5 s at most;
/// the caller's assertions then fail on a scrape that never did).
fn settled_scrape(address: SocketAddr) -> HashMap<String, f64> {
    let agree = |samples: &HashMap<String, f64>| {
        ["udp", "tcp"].iter().all(|transport| {
            value(
                samples,
                &format!("anyns_response_size_bytes_count{{transport=\"{transport}\"}}"),
            ) == value(
                samples,
                &format!("anyns_query_duration_seconds_count{{transport=\"{transport}\"}}"),
            )
        })
    };
    let mut samples = scrape(address);
    for _ in 0..250 {
        if agree(&samples) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        samples = scrape(address);
    }
    samples
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

#[test]
fn metrics_count_queries_and_export_zones_bgp_and_health() {
    let _serial = support::serial();
    let dir = test_dir();
    let (port, metrics_port, bgp_port) = (free_port(), free_port(), free_port());
    fs::write(dir.path().join("example.zone"), ZONE).unwrap();
    let config = format!(
        r#"[server]
udp-workers = 2
metrics = "127.0.0.1:{metrics_port}"

[[listen]]
address = "127.0.0.2:{port}"

[[zone]]
name = "example."
file = "example.zone"

[bgp]
local-as = 65000
router-id = "192.0.2.1"
prefixes = ["203.0.113.53/32"]
next-hop-v4 = "192.0.2.1"
connect-retry-time = 1

[[bgp.peer]]
address = "127.0.0.1"
port = {bgp_port}
remote-as = 65001
"#
    );
    let anyns = start_local_anyns(dir.path(), "anyns", &config);
    let dns: SocketAddr = ([127, 0, 0, 2], port).into();
    let metrics: SocketAddr = ([127, 0, 0, 1], metrics_port).into();
    wait_for(
        "the cloud announced, in the metrics",
        Duration::from_secs(10),
        || {
            let ok = TcpStream::connect(metrics).is_ok()
                && value(&scrape(metrics), "anyns_cloud_announced{cloud=\"default\"}") == 1.0;
            ok.then_some(())
        },
        || anyns.log(),
    );
    let before = settled_scrape(metrics);
    let (udp_nx, udp_refused, tcp_ok) = (4, 3, 2);
    for (name, count) in [
        ("nothere.example.", udp_nx),
        ("www.example.test.", udp_refused),
    ] {
        for _ in 0..count {
            Query::new(name, A).send_udp(dns).expect("a UDP answer");
        }
    }
    for _ in 0..tcp_ok {
        Query::new("www.example.", A)
            .send_tcp(dns)
            .expect("a TCP answer");
    }
    let after = settled_scrape(metrics);
    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(
        delta("anyns_responses_total{transport=\"udp\",rcode=\"NXDOMAIN\"}"),
        f64::from(udp_nx)
    );
    assert_eq!(
        delta("anyns_responses_total{transport=\"udp\",rcode=\"REFUSED\"}"),
        f64::from(udp_refused)
    );
    assert_eq!(
        delta("anyns_responses_total{transport=\"tcp\",rcode=\"NOERROR\"}"),
        f64::from(tcp_ok)
    );
    assert_eq!(
        delta("anyns_queries_total{transport=\"tcp\"}"),
        f64::from(tcp_ok)
    );
    // The health probes' SOA queries are UDP queries too.
    assert!(delta("anyns_queries_total{transport=\"udp\"}") >= f64::from(udp_nx + udp_refused));
    assert_eq!(
        value(&after, "anyns_zone_serial{zone=\"example.\"}"),
        2024070101.0
    );
    assert_eq!(value(&after, "anyns_zone_records{zone=\"example.\"}"), 4.0);
    assert_eq!(value(&after, "anyns_zone_expired{zone=\"example.\"}"), 0.0);
    let peer = format!("anyns_bgp_session_established{{peer=\"127.0.0.1:{bgp_port}\"}}");
    assert_eq!(after.get(&peer), Some(&0.0), "{after:?}");
    assert_eq!(
        value(&after, "anyns_cloud_instances_up{cloud=\"default\"}"),
        1.0
    );
    // The histograms: TCP carried exactly the two answers (the probes use UDP), each small
    // and answered in well under a second.
    for series in [
        "anyns_response_size_bytes_count{transport=\"tcp\"}",
        "anyns_response_size_bytes_bucket{transport=\"tcp\",le=\"512\"}",
        "anyns_query_duration_seconds_count{transport=\"tcp\"}",
        "anyns_query_duration_seconds_bucket{transport=\"tcp\",le=\"1\"}",
    ] {
        assert_eq!(delta(series), f64::from(tcp_ok), "{series}");
    }
    assert!(delta("anyns_query_duration_seconds_sum{transport=\"tcp\"}") > 0.0);
    assert!(
        delta("anyns_response_size_bytes_count{transport=\"udp\"}")
            >= f64::from(udp_nx + udp_refused)
    );
    assert_eq!(
        delta("anyns_response_size_bytes_count{transport=\"udp\"}"),
        delta("anyns_query_duration_seconds_count{transport=\"udp\"}"),
        "every UDP answer has its size and its time"
    );
    // GET /status: the same site as JSON, for anyns fleet.
    let (status, body) = http_get(metrics, "GET /status HTTP/1.1\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(json["zones"][0]["name"], "example.", "{json}");
    assert_eq!(json["zones"][0]["serial"], 2024070101u32, "{json}");
    assert_eq!(json["clouds"][0]["state"], "announced", "{json}");
    assert_eq!(
        json["peers"][0]["address"],
        format!("127.0.0.1:{bgp_port}"),
        "{json}"
    );
    assert!(json["queries_total"].as_u64().unwrap() >= (udp_nx + udp_refused + tcp_ok) as u64);
    let (status, _) = http_get(metrics, "GET /other HTTP/1.1\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, _) = http_get(metrics, "POST /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
}

/// `[server] rate-limit`: a burst of 200 queries from one source network gets about `rate`
/// full answers; over the limit every second answer is slipped (TC, so a real resolver
/// retries over TCP) and the others dropped; TCP is not limited; the metrics count both.
#[test]
fn rate_limiting_slips_and_drops_over_the_limit() {
    let _serial = support::serial();
    let dir = test_dir();
    let (port, metrics_port) = (free_port(), free_port());
    fs::write(dir.path().join("example.zone"), ZONE).unwrap();
    // Loopback is exempt by default (the health probes come from there): exempt nothing.
    let config = format!(
        r#"[server]
udp-workers = 1
metrics = "127.0.0.1:{metrics_port}"
rate-limit = 10
rate-limit-slip = 2
rate-limit-exempt = []

[[listen]]
address = "127.0.0.2:{port}"
role = "unicast"

[[zone]]
name = "example."
file = "example.zone"
"#
    );
    let anyns = start_local_anyns(dir.path(), "anyns", &config);
    let dns: SocketAddr = ([127, 0, 0, 2], port).into();
    let metrics: SocketAddr = ([127, 0, 0, 1], metrics_port).into();
    wait_for(
        "the metrics listener",
        Duration::from_secs(10),
        || TcpStream::connect(metrics).ok().map(|_| ()),
        || anyns.log(),
    );
    // Let the bucket fill (it starts full anyway) and send the burst from one socket.
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let sent = 200u16;
    for id in 0..sent {
        let query = Query::new("www.example.", A).id(id).to_bytes();
        socket.send_to(&query, dns).unwrap();
    }
    let (mut full, mut truncated) = (0, 0);
    let mut buf = [0u8; 1500];
    while let Ok((len, _)) = socket.recv_from(&mut buf) {
        let answers = u16::from_be_bytes([buf[6], buf[7]]);
        if len >= 12 && buf[2] & 0x02 != 0 {
            assert_eq!(answers, 0, "a slipped answer carries no records");
            truncated += 1;
        } else if answers > 0 {
            full += 1;
        }
    }
    let dropped = i32::from(sent) - full - truncated;
    eprintln!(
        "FIGURE rate-limit 10/s, slip 2, burst of {sent}: {full} answered, {truncated} truncated, {dropped} dropped"
    );
    assert!((10..=20).contains(&full), "{full} full answers");
    assert!(
        truncated >= 80 && dropped >= 80,
        "{truncated} truncated, {dropped} dropped"
    );
    // TCP is not limited.
    let reply = Query::new("www.example.", A)
        .send_tcp(dns)
        .expect("a TCP answer");
    assert_eq!(reply.answer.len(), 1);
    let samples = scrape(metrics);
    let limited = value(
        &samples,
        "anyns_responses_rate_limited_total{action=\"slip\"}",
    ) + value(
        &samples,
        "anyns_responses_rate_limited_total{action=\"drop\"}",
    );
    assert_eq!(limited, f64::from(truncated + dropped), "{samples:?}");
}

/// Idle connections cannot keep the scrapes out: with twenty connections open that never
/// send a request (more than the endpoint serves at once), a scrape still gets its answer
/// (the connections waiting longest without a request are closed for it).
#[test]
fn idle_connections_do_not_block_a_scrape() {
    let dir = test_dir();
    let (port, metrics_port) = (free_port(), free_port());
    fs::write(dir.path().join("example.zone"), ZONE).unwrap();
    let config = format!(
        "[server]\nudp-workers = 1\nmetrics = \"127.0.0.1:{metrics_port}\"\n\n\
         [[listen]]\naddress = \"127.0.0.2:{port}\"\n\n\
         [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n"
    );
    let anyns = start_local_anyns(dir.path(), "metrics-idle", &config);
    let metrics: SocketAddr = ([127, 0, 0, 1], metrics_port).into();
    wait_for(
        "the metrics endpoint",
        Duration::from_secs(10),
        || TcpStream::connect(metrics).ok().map(|_| ()),
        || anyns.log(),
    );
    let idle: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(metrics).expect("an idle connection"))
        .collect();
    let started = std::time::Instant::now();
    let samples = scrape(metrics);
    assert!(
        samples.contains_key("anyns_queries_total{transport=\"udp\"}"),
        "{samples:?}"
    );
    eprintln!(
        "a scrape behind 20 idle connections answered in {:?}",
        started.elapsed()
    );
    drop(idle);
}
