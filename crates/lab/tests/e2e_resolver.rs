//! End-to-end tests of the resolver cloud in the resolver lab (`lab/resolver.toml`: the
//! default lab plus the lab's own signed DNS tree and the resolver cloud `rec` at rs1@r1
//! and rs2@r3, with BFD to their routers). Needs root; skips loudly without it.
//!
//! Traffic is seen with nftables rules loaded in the lab's own namespaces only (a table of
//! their own, gone with the namespace). Figures are printed; `--nocapture` shows them.

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyns_lab::demo::{RATE, disrupt};
use anyns_lab::dns::qtype;
use anyns_lab::report::topology_variant;
use anyns_lab::tree::FAR_BIG_TXT_STRINGS;
use anyns_lab::{Lab, ProbeOptions, ProbeRecord};
use common::*;

/// The nftables table the tests load into lab namespaces.
const TABLE: &str = "anyns_lab_test";

fn rec(lab: &Lab) -> (IpAddr, IpAddr) {
    let c = lab.topology.cloud("rec").expect("rec cloud");
    let cloud = &lab.topology.clouds[c];
    (cloud.v4().expect("v4"), cloud.v6().expect("v6"))
}

/// One query with RD from `client` to `server`, its record.
fn ask(lab: &Lab, client: &str, server: IpAddr, name: &str, qtype: u16, tcp: bool) -> ProbeRecord {
    let options = ProbeOptions {
        tcp,
        timeout: Duration::from_secs(12),
        ..ProbeOptions::resolve(server, name, qtype, 1, 1)
    };
    let records = lab.probe(client, &options).expect("probe");
    records.into_iter().next().expect("one record")
}

/// The sum of the `counter packets N` of `node`'s test table.
fn counted(lab: &Lab, node: &str) -> u64 {
    let text = lab.nft_table(node, TABLE).expect("nft list");
    text.split("counter packets ")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn flush_caches(lab: &Lab) {
    for site in ["rs1", "rs2"] {
        let out = lab
            .control_args(site, "rec", &["flush", "--all"])
            .expect("flush");
        assert!(!out.contains("error"), "{site}: {out}");
    }
}

/// Clients of both resolver sites, over IPv4 and IPv6, resolve names of every kind of zone
/// of the tree (signed NSEC and NSEC3 with AD, a wildcard, an NXDOMAIN, a CNAME chain into
/// an unsigned zone, a big answer over TCP). Every query the tree's servers saw in the
/// meantime came from a resolver site's unicast address: never from the resolver cloud's
/// anycast address, never from a client.
#[test]
fn resolver_queries_leave_only_from_unicast_addresses() {
    let Some(lab) = lab_up_with(
        "resolver_queries_leave_only_from_unicast_addresses",
        RESOLVER,
    ) else {
        return;
    };
    assert_catchment(&lab, &[], Duration::from_secs(10));
    let tree_nodes = lab.tree_nodes();
    let tree_nodes: Vec<&str> = tree_nodes.iter().map(String::as_str).collect();
    lab.record_dns_sources(&tree_nodes).expect("nft");
    flush_caches(&lab);
    let (v4, v6) = rec(&lab);
    let cases: [(&str, u16, u16, Option<bool>); 8] = [
        ("www.nsec.example.", qtype::A, 0, Some(true)),
        ("www.nsec3.example.", qtype::A, 0, Some(true)),
        ("x.wild.nsec.example.", qtype::A, 0, Some(true)),
        ("nope.nsec3.example.", qtype::A, 3, Some(true)),
        ("start.chain.example.", qtype::A, 0, Some(false)),
        ("www.plain.example.", qtype::AAAA, 0, Some(false)),
        ("small.far.example.", qtype::TXT, 0, Some(false)),
        ("example.", qtype::SOA, 0, Some(true)),
    ];
    for client in ["c1", "c2", "c3"] {
        for server in [v4, v6] {
            for (name, qtype, rcode, ad) in cases {
                let record = ask(&lab, client, server, name, qtype, false);
                let answer = record
                    .answer()
                    .unwrap_or_else(|| panic!("{client} -> {server} {name}: {record:?}"));
                assert!(answer.ra && !answer.aa, "{client} {name}: {answer:?}");
                assert_eq!(answer.rcode as u16, rcode, "{client} {name}: {answer:?}");
                if let Some(ad) = ad {
                    assert_eq!(answer.ad, ad, "{client} {name} AD: {answer:?}");
                }
            }
        }
        let big = ask(&lab, client, v4, "big.far.example.", qtype::TXT, true);
        let answer = big.answer().expect("big.far over TCP");
        assert_eq!(answer.ancount as usize, FAR_BIG_TXT_STRINGS, "{answer:?}");
    }
    let allowed = lab.resolver_unicast();
    let mut seen = BTreeSet::new();
    for node in tree_nodes {
        let from = lab.dns_sources(node).expect("nft list");
        eprintln!("FIGURE sources of queries at {node}: {from:?}");
        seen.extend(from);
    }
    assert!(!seen.is_empty(), "the tree's servers saw no query");
    let stray: Vec<&IpAddr> = seen.difference(&allowed).collect();
    assert!(
        stray.is_empty(),
        "queries from {stray:?}, not a resolver's unicast address ({allowed:?})"
    );
    assert!(!seen.contains(&v4) && !seen.contains(&v6));
    assert!(
        seen.iter().any(IpAddr::is_ipv4),
        "no upstream query over IPv4"
    );
    for site in ["rs1", "rs2"] {
        let metrics = lab.scrape(site, "rec").expect("metrics");
        let sent = metrics
            .get("anyns_resolver_upstream_queries_total{transport=\"udp\"}")
            .copied()
            .unwrap_or_default();
        assert!(sent > 0.0, "{site} sent no upstream query: {metrics:?}");
    }
}

/// TCP to the tree's anycast clouds is dropped inside ams and nyc (what a route change in
/// the middle of a TCP session does): a name whose answer needs TCP still resolves,
/// through far.example.'s unicast-only name server.
#[test]
fn tcp_to_anycast_broken_resolves_through_the_unicast_server() {
    let Some(lab) = lab_up_with(
        "tcp_to_anycast_broken_resolves_through_the_unicast_server",
        RESOLVER,
    ) else {
        return;
    };
    let anycast: Vec<String> = ["root", "leaf"]
        .iter()
        .flat_map(|cloud| {
            let c = lab.topology.cloud(cloud).expect("cloud");
            lab.topology.clouds[c].addresses.clone()
        })
        .map(|a| a.to_string())
        .collect();
    let (four, six): (Vec<&String>, Vec<&String>) = anycast.iter().partition(|a| !a.contains(':'));
    let join = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    for node in ["ams", "nyc"] {
        let script = format!(
            "add table inet {TABLE}\n\
             add chain inet {TABLE} input {{ type filter hook input priority -300; policy accept; }}\n\
             add rule inet {TABLE} input ip daddr {{ {} }} tcp dport 53 counter drop\n\
             add rule inet {TABLE} input ip6 daddr {{ {} }} tcp dport 53 counter drop\n",
            join(&four),
            join(&six),
        );
        lab.nft(node, &script).expect("nft drop");
    }
    let slow_script = format!(
        "add table inet {TABLE}\n\
         add chain inet {TABLE} input {{ type filter hook input priority -300; policy accept; }}\n\
         add rule inet {TABLE} input tcp dport 53 counter\n"
    );
    lab.nft("slow", &slow_script).expect("nft count");
    let (v4, _) = rec(&lab);
    let mut times = Vec::new();
    for round in 0..3 {
        flush_caches(&lab);
        let started = Instant::now();
        let record = ask(&lab, "c1", v4, "big.far.example.", qtype::TXT, true);
        let took = started.elapsed();
        let answer = record.answer().unwrap_or_else(|| {
            panic!("round {round}: {record:?}\n{}", lab.log("rs1", "anyns-rec"))
        });
        assert_eq!(answer.rcode, 0, "round {round}: {answer:?}");
        assert_eq!(answer.ancount as usize, FAR_BIG_TXT_STRINGS, "{answer:?}");
        times.push(took);
    }
    eprintln!(
        "FIGURE big.far.example. over TCP with TCP to anycast dropped: {times:?} per resolution"
    );
    let dropped: u64 = ["ams", "nyc"].iter().map(|n| counted(&lab, n)).sum();
    let at_slow = counted(&lab, "slow");
    eprintln!("FIGURE TCP segments dropped at ams+nyc: {dropped}, TCP segments at slow: {at_slow}");
    assert!(dropped > 0, "TCP to the anycast servers was never tried");
    assert!(at_slow > 0, "the unicast-only server saw no TCP");
    // UDP to the anycast servers still works: a small answer needs no fallback.
    let small = ask(&lab, "c1", v4, "small.far.example.", qtype::TXT, false);
    assert_eq!(small.answer().map(|a| a.rcode), Some(0), "{small:?}");
}

/// A resolver site fails three ways under c1's stream of cached queries (50 q/s): its
/// upstreams become unreachable (its health probe, a name resolved past the cache, fails
/// and it withdraws while still answering from its cache), it hangs (SIGSTOP: BFD drops
/// the route within 300 ms), and it dies (SIGKILL: the BGP session goes with it). Each
/// time c1's queries move to rs2; the losses are counted and bounded.
#[test]
fn resolver_site_failure_moves_clients() {
    let topology = topology_variant(RESOLVER, "damping = false\n", "", "");
    let Some(lab) = lab_up_with("resolver_site_failure_moves_clients", &topology) else {
        return;
    };
    let (v4, _) = rec(&lab);
    let name = "www.plain.example.";
    // Both sites' caches hold the name: a failover is not a cold resolution.
    for client in ["c1", "c3"] {
        let record = ask(&lab, client, v4, name, qtype::A, false);
        assert!(record.answer().is_some_and(|a| a.rcode == 0), "{record:?}");
    }
    let unicast = |site: &str| lab.instance_address(site, "rec").expect("unicast");
    let warm = ask(&lab, "c1", unicast("rs2"), name, qtype::A, false);
    assert!(warm.answer().is_some(), "{warm:?}");
    let stream = ProbeOptions::resolve(v4, name, qtype::A, RATE, 4 * RATE);
    let back_to_rs1 = |lab: &Lab| {
        let started = Instant::now();
        loop {
            let record = ask(lab, "c1", v4, name, qtype::A, false);
            if record.nsid() == Some("rs1") {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "c1 not back at rs1\n{}",
                lab.status()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };

    // (a) The upstreams unreachable: rs1's queries toward r1 are dropped.
    let cut = format!(
        "add table inet {TABLE}\n\
         add chain inet {TABLE} output {{ type filter hook output priority -300; policy accept; }}\n\
         add rule inet {TABLE} output oifname \"to-r1\" meta l4proto {{ tcp, udp }} th dport 53 counter drop\n"
    );
    let upstream = disrupt(&lab, "c1", v4, &stream, Duration::from_secs(1), || {
        let at = std::time::SystemTime::now();
        lab.nft("rs1", &cut)?;
        Ok(at)
    })
    .unwrap();
    eprintln!(
        "FIGURE resolver failover (rs1's upstreams unreachable, c1 at {RATE} q/s): route change at r1 {:?}, first answer from {:?} after {:?}, lost {} of {}",
        upstream.route_change,
        upstream.figures.new_site,
        upstream.figures.to_other_site,
        upstream.lost_after(),
        upstream.figures.sent
    );
    assert_eq!(upstream.before.as_deref(), Some("rs1"));
    assert_eq!(upstream.after.as_deref(), Some("rs2"), "{}", lab.status());
    assert!(upstream.lost_after() <= 2, "lost {}", upstream.lost_after());
    lab.nft("rs1", &format!("delete table inet {TABLE}\n"))
        .unwrap();
    eprintln!("FIGURE rs1 back after the cut: {:?}", back_to_rs1(&lab));

    // (b) Hung: SIGSTOP. BFD (100 ms x 3) tells r1.
    let pid = lab.instance_pid("rs1", "rec").expect("rs1 runs");
    let hang = disrupt(&lab, "c1", v4, &stream, Duration::from_secs(1), || {
        let at = std::time::SystemTime::now();
        anyns_lab::system::signal(pid, "STOP")?;
        Ok(at)
    })
    .unwrap();
    anyns_lab::system::signal(pid, "CONT").unwrap();
    eprintln!(
        "FIGURE resolver failover (SIGSTOP rs1, BFD, c1 at {RATE} q/s): route change at r1 {:?}, first answer from {:?} after {:?}, lost {} of {}",
        hang.route_change,
        hang.figures.new_site,
        hang.figures.to_other_site,
        hang.lost_after(),
        hang.figures.sent
    );
    assert_eq!(hang.after.as_deref(), Some("rs2"), "{}", lab.status());
    let failover = hang.figures.to_other_site.expect("an answer from rs2");
    assert!(
        failover < Duration::from_secs(1),
        "failover took {failover:?}"
    );
    assert!(hang.lost_after() <= 30, "lost {}", hang.lost_after());
    eprintln!("FIGURE rs1 back after SIGCONT: {:?}", back_to_rs1(&lab));

    // (c) Dead: SIGKILL.
    let kill = disrupt(&lab, "c1", v4, &stream, Duration::from_secs(1), || {
        lab.stop_instance("rs1", "rec", "KILL", Duration::from_secs(5))
            .map(|(at, _)| at)
    })
    .unwrap();
    eprintln!(
        "FIGURE resolver failover (SIGKILL rs1, c1 at {RATE} q/s): route change at r1 {:?}, first answer from {:?} after {:?}, lost {} of {}",
        kill.route_change,
        kill.figures.new_site,
        kill.figures.to_other_site,
        kill.lost_after(),
        kill.figures.sent
    );
    assert_eq!(kill.before.as_deref(), Some("rs1"));
    assert_eq!(kill.after.as_deref(), Some("rs2"));
    assert!(kill.lost_after() <= 3, "lost {}", kill.lost_after());
}

/// SIGTERM to rs1 under c1's stream: the route is marked GRACEFUL_SHUTDOWN, then
/// withdrawn, rs1 answers until the queries stop coming and the resolutions in progress
/// are answered: nothing is lost.
#[test]
fn resolver_drain_loses_nothing() {
    let Some(lab) = lab_up_with("resolver_drain_loses_nothing", RESOLVER) else {
        return;
    };
    let (v4, _) = rec(&lab);
    let name = "www.nsec.example.";
    let unicast = lab.instance_address("rs2", "rec").expect("unicast");
    for server in [v4, unicast] {
        let record = ask(&lab, "c1", server, name, qtype::A, false);
        assert!(record.answer().is_some_and(|a| a.ad), "{record:?}");
    }
    // r1 must know the way to rs2 (through r3) before rs1 leaves.
    let started = Instant::now();
    while !lab
        .birdc("r1", &["show", "route", "for", &v4.to_string(), "all"])
        .contains("[peer_r3_4 ")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            lab.status()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let stream = ProbeOptions::resolve(v4, name, qtype::A, RATE, 5 * RATE);
    let drain = disrupt(&lab, "c1", v4, &stream, Duration::from_secs(1), || {
        lab.stop_instance("rs1", "rec", "TERM", Duration::from_secs(15))
            .map(|(at, _)| at)
    })
    .unwrap();
    eprintln!(
        "FIGURE resolver drain (SIGTERM rs1, c1 at {RATE} q/s): moved to {:?} after {:?}, lost {} of {}",
        drain.figures.new_site,
        drain.figures.to_other_site,
        drain.lost_after(),
        drain.figures.sent
    );
    assert_eq!(drain.before.as_deref(), Some("rs1"));
    assert_eq!(drain.after.as_deref(), Some("rs2"));
    assert_eq!(drain.lost_after(), 0, "a drain loses nothing");
    let log = lab.log("rs1", "anyns-rec");
    assert!(log.contains("graceful shutdown"), "{log}");
}
