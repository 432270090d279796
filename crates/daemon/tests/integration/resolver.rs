//! The resolver end to end on loopback: a tree of anyns authoritative servers (the root,
//! `test.`, `example.test.` twice, `other.` with `glueless.test.`), each its own process on
//! its own 127.0.0.x address, and an anyns resolver with those servers as its hints. A
//! spy server (a socket of this test) serves `spy.test.` and records where the resolver's
//! queries come from.

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::dns::{Edns, Query, Reply};
use crate::support::tree::{EXAMPLE_AND_GLUELESS, HINTS, ROOT, test_zone};
use crate::support::{
    Daemon, anyns_bin, free_port, http_get, start_local_anyns, test_dir, wait_for,
};

const A: u16 = 1;
const SOA: u16 = 6;
const TXT: u16 = 16;
const CNAME: u16 = 5;

/// `spy.test.`, served by the spy (a socket of this test) on 127.0.0.7.
const SPY: &str = "\
spy.test. 3600 IN NS ns.spy.test.
ns.spy.test. 3600 IN A 127.0.0.7
";

const OTHER: &str = "\
other. 3600 IN SOA ns.other. admin.other. 1 1800 900 604800 60
other. 3600 IN NS ns.other.
ns.other. 3600 IN A 127.0.0.6
";

const GLUELESS: &str = "\
glueless.test. 3600 IN SOA ns.other. admin.other. 1 1800 900 604800 60
glueless.test. 3600 IN NS ns.other.
www.glueless.test. 300 IN A 192.0.2.82
";

fn example() -> String {
    let mut zone = String::from(
        "\
example.test. 3600 IN SOA ns1.example.test. admin.example.test. 1 1800 900 604800 60
example.test. 3600 IN NS ns1.example.test.
example.test. 3600 IN NS ns2.example.test.
ns1.example.test. 3600 IN A 127.0.0.4
ns2.example.test. 3600 IN A 127.0.0.5
www.example.test. 300 IN A 192.0.2.80
alias.example.test. 300 IN CNAME www.glueless.test.
a.b.c.deep.example.test. 300 IN A 192.0.2.81
",
    );
    // Too large for a 1232-octet UDP answer: fetched over TCP.
    for i in 0..8 {
        zone.push_str(&format!(
            "big.example.test. 300 IN TXT \"{i}{}\"\n",
            "x".repeat(200)
        ));
    }
    zone
}

/// What the spy server saw: each query's source and name (lowercased wire form).
type Spied = Arc<Mutex<Vec<(SocketAddr, Vec<u8>)>>>;

/// The running tree and resolver.
struct Tree {
    /// Authoritative servers: root, test., example.test. (.4 and .5), other.
    servers: Vec<Daemon>,
    resolver: Daemon,
    /// The resolver's unicast listener (also its source) and anycast one.
    unicast: SocketAddr,
    anycast: SocketAddr,
    metrics: SocketAddr,
    /// Sources and names of the queries the spy server saw.
    spied: Spied,
    /// The resolver's control socket.
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn authoritative(dir: &Path, tag: &str, address: SocketAddr, zones: &[(&str, String)]) -> Daemon {
    let mut command = Command::new(anyns_bin());
    command
        .arg("serve")
        .arg("--listen")
        .arg(address.to_string())
        .arg("--udp-workers")
        .arg("1");
    for (origin, text) in zones {
        let file = dir.join(format!(
            "{tag}-{}.zone",
            origin.trim_end_matches('.').replace('.', "_")
        ));
        fs::write(&file, text).expect("zone file");
        command
            .arg("--zone")
            .arg(format!("{origin}={}", file.display()));
    }
    Daemon::spawn(tag, command, dir.join(format!("{tag}.log")))
}

/// Starts the tree and a resolver; `extra` is added to its `[resolver]` section (and may
/// open further sections); `{UNICAST}` in it is the resolver's unicast listener.
fn start(extra: &str) -> Tree {
    let dir = test_dir();
    let port = free_port();
    let at = |last: u8| SocketAddr::from(([127, 0, 0, last], port));
    let servers = vec![
        authoritative(dir.path(), "root", at(2), &[(".", ROOT.into())]),
        authoritative(
            dir.path(),
            "tld",
            at(3),
            &[("test.", test_zone(&format!("{EXAMPLE_AND_GLUELESS}{SPY}")))],
        ),
        authoritative(dir.path(), "leaf1", at(4), &[("example.test.", example())]),
        authoritative(dir.path(), "leaf2", at(5), &[("example.test.", example())]),
        authoritative(
            dir.path(),
            "other",
            at(6),
            &[
                ("other.", OTHER.into()),
                ("glueless.test.", GLUELESS.into()),
            ],
        ),
    ];
    let spied = spy(at(7));
    fs::write(dir.path().join("hints.zone"), HINTS).expect("hints");
    let (resolver_port, metrics_port) = (free_port(), free_port());
    let unicast = SocketAddr::from(([127, 0, 0, 1], resolver_port));
    let anycast = SocketAddr::from(([127, 0, 0, 53], resolver_port));
    let metrics = SocketAddr::from(([127, 0, 0, 1], metrics_port));
    let config = format!(
        r#"
[server]
udp-workers = 1
identity = "resolver-1"
metrics = "{metrics}"
control-socket = "anyns.sock"

[[listen]]
address = "{anycast}"
role = "anycast"
service = "resolver"

[[listen]]
address = "{unicast}"
role = "unicast"
service = "resolver"

[resolver]
hints = "hints.zone"
upstream-port = {port}
resolution-timeout-ms = 3000
{extra}
"#
    )
    .replace("{UNICAST}", &unicast.to_string());
    let resolver = start_local_anyns(dir.path(), "resolver", &config);
    let tree = Tree {
        servers,
        resolver,
        unicast,
        anycast,
        metrics,
        spied,
        socket: dir.path().join("anyns.sock"),
        _dir: dir,
    };
    for (server, last) in tree.servers.iter().zip(2u8..) {
        let probe = Query::new(".", SOA).id(7);
        wait_for(
            &format!("authoritative server on 127.0.0.{last}"),
            Duration::from_secs(20),
            || probe.send_udp(at(last)).map(|_| ()),
            || server.log(),
        );
    }
    let probe = Query::new("resolver.invalid.", SOA).rd(true);
    wait_for(
        "the resolver to answer",
        Duration::from_secs(20),
        || probe.send_udp(tree.unicast).map(|_| ()),
        || tree.resolver.log(),
    );
    tree
}

/// A name server for `spy.test.` on `address`, run by this test: answers every A query
/// with 192.0.2.99 and records the source of each query.
fn spy(address: SocketAddr) -> Spied {
    let socket = UdpSocket::bind(address).expect("bind the spy");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut buf = [0u8; 512];
        while Instant::now() < deadline {
            let Ok((len, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            let name_end = (12..len).find(|&i| buf[i] == 0).unwrap_or(len);
            record
                .lock()
                .unwrap()
                .push((from, buf[12..name_end].to_ascii_lowercase()));
            let Some(reply) = spy_answer(&buf[..len]) else {
                continue;
            };
            let asked = buf[12..len].to_ascii_lowercase();
            if asked.starts_with(b"\x05burst") || asked.starts_with(b"\x04slow") {
                // Slow for this name (within the resolver's shortest timeout): a burst of
                // clients asking for it arrives while its resolution runs.
                std::thread::sleep(Duration::from_millis(30));
            }
            let _ = socket.send_to(&reply, from);
        }
    });
    seen
}

/// The query's header and question, with QR and AA set and one A record for the name.
fn spy_answer(query: &[u8]) -> Option<Vec<u8>> {
    let mut at = 12;
    while *query.get(at)? != 0 {
        at += 1 + usize::from(query[at]);
    }
    let end = at + 5;
    let mut reply = query.get(..end)?.to_vec();
    reply[2] = 0x84 | (reply[2] & 0x01);
    reply[3] = 0;
    reply[6..12].copy_from_slice(&[0, 1, 0, 0, 0, 0]);
    reply.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 99]);
    Some(reply)
}

fn ask(to: SocketAddr, name: &str, qtype: u16) -> Reply {
    Query::new(name, qtype)
        .rd(true)
        .edns(Some(Edns::payload(1232)))
        .send_udp(to)
        .unwrap_or_else(|| panic!("no answer to {name} from {to}"))
}

fn metric(tree: &Tree, series: &str) -> u64 {
    let (_, body) = http_get(tree.metrics, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{body}"))
}

#[test]
fn resolves_through_a_tree_of_anyns_servers_and_answers_again_from_the_cache() {
    let tree = start("");
    let reply = ask(tree.anycast, "WwW.ExAmPlE.TeSt.", A);
    assert_eq!(reply.rcode, 0, "{}", tree.resolver.log());
    assert!(reply.ra && reply.rd && !reply.aa);
    assert_eq!(reply.answer.len(), 1);
    assert_eq!(reply.answer[0].rdata, "192.0.2.80");
    // The client's case is echoed (0x20 works through the resolver).
    let (qname, _, _) = reply.question.unwrap();
    assert_eq!(&qname[..4], b"\x03WwW");
    let upstream = metric(
        &tree,
        "anyns_resolver_upstream_queries_total{transport=\"udp\"}",
    );
    let again = ask(tree.unicast, "www.example.test.", A);
    assert_eq!(again.answer[0].rdata, "192.0.2.80");
    assert!(again.answer[0].ttl <= 300);
    assert_eq!(
        metric(
            &tree,
            "anyns_resolver_upstream_queries_total{transport=\"udp\"}"
        ),
        upstream,
        "the second answer came from the cache"
    );

    // A CNAME into a zone whose server has no glue.
    let alias = ask(tree.unicast, "alias.example.test.", A);
    assert_eq!(alias.rcode, 0);
    assert_eq!(alias.answer.len(), 2);
    assert_eq!(alias.answer[0].rtype, CNAME);
    assert_eq!(alias.answer[1].rdata, "192.0.2.82");

    // NXDOMAIN and NODATA carry the zone's SOA, its TTL bounded by MINIMUM (RFC 2308).
    let nx = ask(tree.unicast, "nope.example.test.", A);
    assert_eq!(nx.rcode, 3);
    assert_eq!(nx.authority[0].rtype, SOA);
    assert!(nx.authority[0].ttl <= 60);
    let nodata = ask(tree.unicast, "www.example.test.", TXT);
    assert_eq!((nodata.rcode, nodata.answer.len()), (0, 0));
    assert_eq!(nodata.authority[0].rtype, SOA);

    // Type 0 and meta types are not resolved (NOTIMP) and leave the cache alone; an EDNS
    // version we do not speak gets BADVERS.
    assert_eq!(ask(tree.unicast, "www.example.test.", 0).rcode, 4);
    assert_eq!(ask(tree.unicast, "www.example.test.", A).answer.len(), 1);
    let badvers = Query::new("www.example.test.", A)
        .rd(true)
        .edns(Some(Edns {
            version: 1,
            ..Edns::payload(1232)
        }))
        .send_udp(tree.unicast)
        .expect("an answer");
    assert_eq!(badvers.rcode, 16);
}

#[test]
fn large_answers_come_over_tcp_and_queries_leave_from_the_unicast_address() {
    let tree = start("");
    // Upstream: 8 x 200 octets do not fit 1232, so the resolver asks again over TCP.
    let over_udp = ask(tree.anycast, "big.example.test.", TXT);
    assert!(over_udp.tc, "too big for the client's 1232 either: TC");
    assert!(
        metric(
            &tree,
            "anyns_resolver_upstream_queries_total{transport=\"tcp\"}"
        ) >= 1
    );
    let over_tcp = Query::new("big.example.test.", TXT)
        .rd(true)
        .send_tcp(tree.anycast)
        .expect("a TCP answer");
    assert_eq!(over_tcp.answer.len(), 8);

    // Asked on the anycast address, the resolver still queries from the unicast one.
    for name in ["a.spy.test.", "b.spy.test.", "c.spy.test."] {
        let reply = ask(tree.anycast, name, A);
        assert_eq!(
            reply.answer[0].rdata,
            "192.0.2.99",
            "{}",
            tree.resolver.log()
        );
    }
    let spied: Vec<SocketAddr> = tree.spied.lock().unwrap().iter().map(|(s, _)| *s).collect();
    assert!(spied.len() >= 3, "{spied:?}");
    assert!(
        spied.iter().all(|s| s.ip() == tree.unicast.ip()),
        "queries came from {spied:?}, not only from {}",
        tree.unicast.ip()
    );
    let ports: std::collections::HashSet<u16> = spied.iter().map(SocketAddr::port).collect();
    assert!(
        ports.len() >= 3,
        "each query from its own random port: {spied:?}"
    );
}

#[test]
fn a_dead_name_server_is_skipped_and_strangers_are_refused() {
    let mut tree = start("allow-query = [\"127.0.0.1/32\", \"127.0.0.53/32\"]");
    tree.servers[2].kill();
    let started = Instant::now();
    for name in ["a.b.c.deep.example.test.", "www.example.test."] {
        let reply = ask(tree.unicast, name, A);
        assert_eq!(reply.rcode, 0, "{name}: {}", tree.resolver.log());
        assert_eq!(reply.answer.len(), 1);
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // Garbage and malformed queries get FORMERR or nothing, and the resolver goes on.
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let good = Query::new("www.example.test.", A).rd(true).to_bytes();
    for i in 0..300usize {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut datagram = good.clone();
        match i % 3 {
            0 => datagram.truncate((seed as usize) % good.len()),
            1 => datagram[(seed as usize) % good.len()] ^= (seed >> 8) as u8 | 1,
            _ => datagram = seed.to_le_bytes().repeat(1 + i % 9),
        }
        let _ = socket.send_to(&datagram, tree.unicast);
    }
    assert_eq!(ask(tree.unicast, "www.example.test.", A).answer.len(), 1);
    tree.resolver.assert_running();

    // A client outside allow-query is refused (not an open resolver).
    let socket = UdpSocket::bind("127.0.0.9:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    socket
        .send_to(
            &Query::new("www.example.test.", A)
                .rd(true)
                .id(99)
                .to_bytes(),
            tree.unicast,
        )
        .expect("send");
    let mut buf = [0u8; 512];
    let (len, _) = socket.recv_from(&mut buf).expect("an answer");
    let reply = Reply::parse(buf[..len].to_vec());
    assert_eq!(reply.rcode, 5, "REFUSED");
}

#[test]
fn copied_answers_count_down_skip_strangers_and_end_with_a_flush() {
    let tree = start("allow-query = [\"127.0.0.1/32\", \"127.0.0.53/32\"]");
    let copies = || metric(&tree, "anyns_answer_cache_hits_total");
    let upstream = || {
        metric(
            &tree,
            "anyns_resolver_upstream_queries_total{transport=\"udp\"}",
        )
    };
    let query = Query::new("www.example.test.", A)
        .rd(true)
        .edns(Some(Edns::payload(1232)));
    let send = |id: u16| {
        query
            .clone()
            .id(id)
            .send_udp(tree.unicast)
            .expect("an answer")
    };
    assert_eq!(send(1).rcode, 0, "resolved: {}", tree.resolver.log());
    let from_cache = send(2);
    let before = copies();
    let copy = send(3);
    assert_eq!(copies(), before + 1, "the same octets again: a copy");
    assert_eq!(copy.id, 3);
    assert_eq!(copy.answer[0].rdata, from_cache.answer[0].rdata);
    assert!(copy.answer[0].ttl.abs_diff(from_cache.answer[0].ttl) <= 1);

    // Its TTL counts down with the clock, as the cache's own answer does.
    std::thread::sleep(Duration::from_millis(2100));
    let aged = send(4);
    assert_eq!(copies(), before + 2);
    let (was, now) = (copy.answer[0].ttl, aged.answer[0].ttl);
    assert!(now + 2 <= was && now + 3 >= was, "{was} -> {now}");
    let cache_answer = Query::new("WWW.example.test.", A)
        .rd(true)
        .edns(Some(Edns::payload(1232)))
        .send_udp(tree.unicast)
        .expect("an answer");
    assert_eq!(copies(), before + 2, "other octets: from the cache");
    assert!(cache_answer.answer[0].ttl.abs_diff(now) <= 1);

    // A client outside allow-query sending the very same octets is refused.
    let socket = UdpSocket::bind("127.0.0.9:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    socket
        .send_to(&query.clone().id(5).to_bytes(), tree.unicast)
        .expect("send");
    let mut buf = [0u8; 512];
    let (len, _) = socket.recv_from(&mut buf).expect("an answer");
    assert_eq!(Reply::parse(buf[..len].to_vec()).rcode, 5, "REFUSED");
    assert_eq!(copies(), before + 2);

    // A flush ends the copies: the name is resolved again.
    let sent = upstream();
    control(&tree, &["flush", "www.example.test."]);
    assert_eq!(send(6).answer[0].rdata, "192.0.2.80");
    assert_eq!(upstream(), sent + 1, "resolved again after the flush");
    assert_eq!(copies(), before + 2);
}

/// The first cloud's state, from `anyns status`.
fn cloud_state(tree: &Tree) -> Option<String> {
    let out = Command::new(anyns_bin())
        .arg("status")
        .arg("--socket")
        .arg(&tree.socket)
        .output()
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(value["clouds"][0]["state"].as_str()?.to_string())
}

#[test]
fn a_resolver_cloud_is_up_only_while_recursion_reaches_the_authority() {
    let mut tree = start(
        "[health]\ninterval-ms = 100\ntimeout-ms = 80\n\n[[health.cloud]]\nname = \"resolvers\"\ninstances = [\"{UNICAST}\"]\nresolver-probe = \"example.test.\"\n",
    );
    let wait_state = |tree: &Tree, want: &[&str]| {
        wait_for(
            &format!("the resolver cloud {want:?}"),
            Duration::from_secs(15),
            || {
                cloud_state(tree)
                    .filter(|s| want.contains(&s.as_str()))
                    .map(|_| ())
            },
            || format!("{:?}\n{}", cloud_state(tree), tree.resolver.log()),
        );
    };
    wait_state(&tree, &["announced"]);
    // The probes ask random names below example.test.: each one reaches its servers.
    let resolutions = metric(&tree, "anyns_resolver_resolutions_total");
    assert!(resolutions >= 3, "{resolutions}");
    // Both of example.test.'s servers die: the resolver still answers (SERVFAIL), but
    // cannot resolve, so its cloud must leave.
    tree.servers[2].kill();
    tree.servers[3].kill();
    wait_state(&tree, &["down", "hold-down"]);
}

/// One control command; the JSON answer.
fn control(tree: &Tree, args: &[&str]) -> serde_json::Value {
    let out = Command::new(anyns_bin())
        .args(args)
        .arg("--socket")
        .arg(&tree.socket)
        .output()
        .expect("anyns control command");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn the_cache_is_flushed_by_name_subtree_or_whole_and_its_counters_read() {
    let tree = start("");
    for name in [
        "www.example.test.",
        "a.b.c.deep.example.test.",
        "www.glueless.test.",
    ] {
        assert_eq!(ask(tree.unicast, name, A).rcode, 0);
    }
    let before = control(&tree, &["cache"]);
    assert!(before["entries"].as_u64().unwrap() >= 3, "{before}");
    assert!(before["hits"].as_u64().unwrap() > 0 && before["bytes"].as_u64().unwrap() > 0);
    let upstream = || {
        metric(
            &tree,
            "anyns_resolver_upstream_queries_total{transport=\"udp\"}",
        )
    };
    let sent = upstream();
    assert_eq!(
        control(&tree, &["flush", "www.example.test."])["flushed"],
        1
    );
    ask(tree.unicast, "www.example.test.", A);
    assert_eq!(upstream(), sent + 1, "asked again after the flush");
    // The subtree of example.test.: its names and delegation go; glueless.test. stays.
    let flushed = control(&tree, &["flush", "example.test.", "--tree"])["flushed"]
        .as_u64()
        .unwrap();
    assert!(flushed >= 3, "{flushed}");
    let sent = upstream();
    ask(tree.unicast, "www.glueless.test.", A);
    assert_eq!(upstream(), sent, "still cached");
    control(&tree, &["flush", "--all"]);
    assert_eq!(control(&tree, &["cache"])["entries"], 0);
}

#[test]
fn test_8767_expired_answers_are_served_while_the_authority_is_down() {
    let mut tree = start("max-ttl = 1\nserve-stale-max-ttl = 3600");
    assert_eq!(
        ask(tree.unicast, "www.example.test.", A).answer[0].rdata,
        "192.0.2.80"
    );
    tree.servers[2].kill();
    tree.servers[3].kill();
    std::thread::sleep(Duration::from_millis(1500));
    let stale = ask(tree.unicast, "www.example.test.", A);
    let (_, body) = http_get(tree.metrics, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(
        stale.rcode,
        0,
        "{:?} {}",
        String::from_utf8_lossy(&stale.bytes),
        body.lines()
            .filter(|l| l.starts_with("anyns_resolver"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        (stale.answer[0].rdata.as_str(), stale.answer[0].ttl),
        ("192.0.2.80", 30)
    );
    assert_eq!(metric(&tree, "anyns_resolver_stale_answers_total"), 1);
    // A name never resolved has nothing stale: SERVFAIL, counted by its cause.
    assert_eq!(ask(tree.unicast, "never.example.test.", A).rcode, 2);
    let unreachable = metric(
        &tree,
        "anyns_resolver_servfail_total{cause=\"unreachable\"}",
    ) + metric(&tree, "anyns_resolver_servfail_total{cause=\"timeout\"}");
    assert!(unreachable >= 1, "no SERVFAIL counted");
    assert_eq!(
        metric(&tree, "anyns_resolver_servfail_total{cause=\"bogus\"}"),
        0
    );
    // Every upstream answer's round trip is in the histogram.
    let answered = metric(&tree, "anyns_resolver_upstream_rtt_seconds_count");
    let within_a_second = metric(
        &tree,
        "anyns_resolver_upstream_rtt_seconds_bucket{le=\"1\"}",
    );
    assert!(
        answered >= 3 && within_a_second == answered,
        "{answered} {within_a_second}"
    );
}

#[test]
fn a_burst_of_queries_for_one_name_is_resolved_once() {
    let tree = start("");
    ask(tree.unicast, "warm.spy.test.", A);
    // Twenty queries from one socket, back to back, then their answers.
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    for i in 0..20u16 {
        let query = Query::new("burst.spy.test.", A).rd(true).id(0x4000 + i);
        socket
            .send_to(&query.to_bytes(), tree.unicast)
            .expect("send");
    }
    let mut buf = [0u8; 512];
    for _ in 0..20 {
        let (len, _) = socket
            .recv_from(&mut buf)
            .expect("an answer for every client");
        assert_eq!(Reply::parse(buf[..len].to_vec()).answer.len(), 1);
    }
    let asked = tree
        .spied
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, name)| name.starts_with(b"\x05burst"))
        .count();
    let joined = metric(&tree, "anyns_resolver_joined_total");
    let resolutions = metric(&tree, "anyns_resolver_resolutions_total");
    assert_eq!(
        asked, 1,
        "{asked} queries reached the server ({resolutions} resolutions)"
    );
    assert!(
        joined >= 10,
        "{joined} of 19 waited for the running resolution"
    );
    eprintln!("20 clients at once: {asked} upstream queries, {joined} joined a running resolution");
}

#[test]
fn sigterm_answers_the_resolutions_in_progress_before_stopping() {
    let mut tree = start("");
    ask(tree.unicast, "warm.spy.test.", A);
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let query = Query::new("slow.spy.test.", A).rd(true).id(0x5157);
    socket
        .send_to(&query.to_bytes(), tree.unicast)
        .expect("send");
    // The spy takes 30 ms to answer: SIGTERM arrives while the resolution runs.
    std::thread::sleep(Duration::from_millis(5));
    tree.resolver.terminate(Duration::from_secs(10));
    let mut buf = [0u8; 512];
    let (len, _) = socket
        .recv_from(&mut buf)
        .expect("the answer, sent before the resolver stopped");
    let reply = Reply::parse(buf[..len].to_vec());
    assert_eq!((reply.id, reply.answer.len()), (0x5157, 1));
}

/// DNS cookies (RFC 7873) with a server that answers them: knotd with mod-cookies serves
/// `cookie.test.` (a stub zone of the resolver). The resolver sends its client cookie,
/// Knot echoes it with a server cookie, and the answers are believed; so do the tree's
/// anyns servers, while the spy (a socket of this test) answers without one, which is
/// believed too.
#[test]
fn dns_cookies_are_exchanged_with_a_server_that_answers_them() {
    let zones = tempfile::tempdir().expect("tempdir");
    fs::write(
        zones.path().join("cookie.test.zone"),
        "cookie.test. 3600 IN SOA ns.cookie.test. admin.cookie.test. 1 1800 900 604800 60\n\
         cookie.test. 3600 IN NS ns.cookie.test.\n\
         ns.cookie.test. 3600 IN A 127.0.0.1\n\
         www.cookie.test. 300 IN A 192.0.2.77\n",
    )
    .expect("zone");
    let knot = crate::support::dns::start_knot_with(
        &[("cookie.test.", "cookie.test.zone")],
        zones.path(),
        "    global-module: mod-cookies\n",
    );
    let tree = start(&format!(
        "[[resolver.stub]]\nzone = \"cookie.test.\"\nservers = [\"{}\"]\n",
        knot.addr
    ));
    for round in 0..3 {
        let reply = ask(tree.unicast, "www.cookie.test.", A);
        assert_eq!(
            reply.rcode,
            0,
            "round {round}: {reply:?}\n{}",
            tree.resolver.log()
        );
        assert_eq!(reply.answer.len(), 1, "{reply:?}");
        let _ = Command::new(anyns_bin())
            .args(["flush", "--all", "--socket"])
            .arg(&tree.socket)
            .output();
    }
    let reply = ask(tree.unicast, "www.example.test.", A);
    assert_eq!(reply.rcode, 0, "{reply:?}");
    let reply = ask(tree.unicast, "cookieless.spy.test.", A);
    assert_eq!(reply.rcode, 0, "{reply:?}");
    let echoed = metric(
        &tree,
        "anyns_resolver_upstream_cookies_total{result=\"echoed\"}",
    );
    let absent = metric(
        &tree,
        "anyns_resolver_upstream_cookies_total{result=\"absent\"}",
    );
    let wrong = metric(
        &tree,
        "anyns_resolver_upstream_cookies_total{result=\"wrong\"}",
    );
    eprintln!("FIGURE upstream answers by cookie: echoed {echoed}, absent {absent}, wrong {wrong}");
    assert!(
        echoed >= 3,
        "Knot and anyns echoed our cookie in {echoed} answers"
    );
    assert!(absent >= 1, "the spy answers without cookies");
    assert_eq!(wrong, 0);
}

/// One client cannot take every resolution slot: with `max-pending-per-client = 4`, a
/// burst of twenty slow names from one address gets SERVFAIL at once beyond four in
/// progress, while another client is still resolved.
#[test]
fn one_client_gets_only_its_share_of_pending_resolutions() {
    let tree = start("max-pending-per-client = 4");
    ask(tree.unicast, "warm.spy.test.", A);
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    for i in 0..20u16 {
        // Distinct slow names (the spy waits 30 ms before each answer, one at a time).
        let query = Query::new(&format!("slow{i}.spy.test."), A)
            .rd(true)
            .id(0x5000 + i);
        socket
            .send_to(&query.to_bytes(), tree.unicast)
            .expect("send");
    }
    // Another client (another address) meanwhile.
    let other = UdpSocket::bind("127.0.0.9:0").expect("bind another client");
    other
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let query = Query::new("other-client.spy.test.", A).rd(true).id(0x6000);
    other
        .send_to(&query.to_bytes(), tree.unicast)
        .expect("send");
    let mut buf = [0u8; 512];
    let (len, _) = other.recv_from(&mut buf).expect("an answer");
    let reply = Reply::parse(buf[..len].to_vec());
    assert_eq!(reply.rcode, 0, "another client is served: {reply:?}");
    let (mut answered, mut refused) = (0, 0);
    for _ in 0..20 {
        let (len, _) = socket
            .recv_from(&mut buf)
            .expect("an answer for every query");
        match Reply::parse(buf[..len].to_vec()).rcode {
            0 => answered += 1,
            2 => refused += 1,
            other => panic!("rcode {other}"),
        }
    }
    let limited = metric(
        &tree,
        "anyns_resolver_servfail_total{cause=\"client-limit\"}",
    );
    eprintln!("one client, 20 slow names: {answered} resolved, {refused} SERVFAIL at once");
    assert!(
        answered >= 1 && refused >= 10,
        "{answered} resolved, {refused} refused ({limited} for the limit)\n{}",
        tree.resolver.log()
    );
    assert!(
        limited >= 10 && limited <= refused as u64,
        "{limited} of {refused}"
    );
}

/// The cookie a `dig +cookie` answer carried (client and server parts, in hex), and
/// whether dig found its own client cookie in it ("good").
fn dig_cookie(to: SocketAddr, name: &str, args: &[&str]) -> Option<(String, bool)> {
    let out = Command::new(crate::support::require_tool("dig"))
        .args(["+tries=1", "+time=5", "-p", &to.port().to_string()])
        .arg(format!("@{}", to.ip()))
        .args(args)
        .arg(name)
        .output()
        .expect("dig");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("; COOKIE: "))?;
    let hex = line
        .trim_start_matches("; COOKIE: ")
        .split_whitespace()
        .next()?;
    Some((hex.to_string(), line.contains("(good)")))
}

/// RFC 7873 on the resolver's own listeners: a query with a client cookie gets it back
/// with a server cookie, whether the answer comes from a resolution (UDP and TCP) or from
/// the cache; a query presenting that server cookie is counted valid; a malformed COOKIE
/// option gets FORMERR.
#[test]
fn the_resolver_answers_dns_cookies_on_its_listeners() {
    let tree = start("");
    let client = "0102030405060708";
    // A miss, resolved: the answer carries our client cookie and a server cookie.
    let (first, good) = dig_cookie(
        tree.unicast,
        "www.example.test.",
        &[&format!("+cookie={client}")],
    )
    .unwrap_or_else(|| panic!("no COOKIE in the resolved answer\n{}", tree.resolver.log()));
    assert!(
        good && first.len() == 48 && first.starts_with(client),
        "{first}"
    );
    // From the cache, presenting the server cookie: answered with one, counted valid.
    let (again, good) = dig_cookie(
        tree.unicast,
        "www.example.test.",
        &[&format!("+cookie={first}")],
    )
    .expect("a COOKIE in the cached answer");
    assert!(good && again.starts_with(client), "{again}");
    assert!(metric(&tree, "anyns_cookies_total{result=\"valid\"}") >= 1);
    // Over TCP, on the anycast listener, for a name resolved afresh.
    let (tcp, good) = dig_cookie(
        tree.anycast,
        "other.",
        &["+tcp", "SOA", &format!("+cookie={client}")],
    )
    .expect("a COOKIE over TCP");
    assert!(good && tcp.len() == 48, "{tcp}");
    // A COOKIE option of five octets (RFC 7873 §5.2.2): FORMERR.
    let mut malformed = Query::new("www.example.test.", A).rd(true).to_bytes();
    malformed.extend_from_slice(&[
        0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 9, 0, 10, 0, 5, 1, 2, 3, 4, 5,
    ]);
    malformed[11] = 1;
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    socket.send_to(&malformed, tree.unicast).expect("send");
    let mut buf = [0u8; 512];
    let len = socket.recv(&mut buf).expect("an answer");
    assert_eq!(buf[3] & 0x0f, 1, "FORMERR: {:?}", &buf[..len]);
}
