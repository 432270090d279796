//! BGP interop: anyns's speaker against real peers (BIRD 2, GoBGP, FRR) across a veth
//! between two network namespaces this test creates (documentation addresses only, no
//! default route). Needs root; skips loudly without it.
//!
//! Each test is bounded by [`WAIT`] per wait and cleans up its daemons (by PID) and
//! namespaces in `Drop`.

use std::time::{Duration, Instant};

use crate::support::bgp::*;
use crate::support::{require_tool, serial, test_dir, wait_for};

/// The anyns speaker establishes IPv4 and IPv6 sessions with BIRD and announces both
/// prefixes with the configured attributes; SIGTERM sends Cease/Administrative Shutdown
/// with the RFC 9003 message and the routes go; a restart brings them back.
#[test]
fn bird_announce_shutdown_restart() {
    if !is_root("bird_announce_shutdown_restart") {
        return;
    }
    let _serial = serial();
    let dir = test_dir();
    let net = NetnsPair::new();
    let bird = Bird::start(&net, dir.path(), &BirdSession::default());
    let config = anyns_config(&[AnynsPeer::V4, AnynsPeer::V6]);
    let started = Instant::now();
    let mut anyns = start_anyns(&net, dir.path(), "1", &config);
    let context = || format!("{}\n{}", anyns_log(dir.path(), "1"), bird.log(dir.path()));
    let v4 = wait_for(
        "the IPv4 route in BIRD",
        WAIT,
        || bird.route(PREFIX_V4),
        context,
    );
    eprintln!(
        "anyns start -> {PREFIX_V4} in BIRD: {:?}",
        started.elapsed()
    );
    let v6 = wait_for(
        "the IPv6 route in BIRD",
        WAIT,
        || bird.route(PREFIX_V6),
        context,
    );
    eprintln!(
        "anyns start -> {PREFIX_V6} in BIRD: {:?}",
        started.elapsed()
    );
    eprintln!("{v4}\n{v6}");
    for block in [&v4, &v6] {
        for want in [
            "BGP.as_path: 65000 65000 65000",
            "BGP.origin: IGP",
            "BGP.med: 10",
            "BGP.community: (65000,1)",
            "BGP.large_community: (65000, 1, 2)",
        ] {
            assert!(block.contains(want), "missing {want:?} in\n{block}");
        }
    }
    assert!(v4.contains("BGP.next_hop: 198.51.100.1"), "{v4}");
    assert!(v6.contains("BGP.next_hop: 2001:db8::1"), "{v6}");
    assert!(bird.established("anyns4") && bird.established("anyns6"));
    anyns.assert_running();

    // SIGTERM: Cease with the shutdown communication, routes withdrawn.
    let stopping = Instant::now();
    let exit = anyns.terminate(Duration::from_secs(5));
    wait_for(
        "the routes to leave BIRD",
        WAIT,
        || (bird.route(PREFIX_V4).is_none() && bird.route(PREFIX_V6).is_none()).then_some(()),
        context,
    );
    eprintln!(
        "SIGTERM -> anyns exit: {exit:?}; SIGTERM -> routes gone from BIRD: {:?}",
        stopping.elapsed()
    );
    // BIRD logs the Cease subcode and the RFC 9003 message, and keeps the message.
    let log = bird.log(dir.path());
    for session in ["anyns4", "anyns6"] {
        let line = format!("{session}: Received: Administrative shutdown: \"anyns shutting down\"");
        assert!(
            log.contains(&line),
            "BIRD did not log {line:?}\n{}",
            context()
        );
    }
    let protocols = bird.birdc(&["show", "protocols", "all", "anyns4"]);
    assert!(
        protocols.contains("Message:        anyns shutting down"),
        "{protocols}"
    );

    // Restart: the routes come back.
    let restarted = Instant::now();
    let mut anyns = start_anyns(&net, dir.path(), "2", &config);
    let context2 = || format!("{}\n{}", anyns_log(dir.path(), "2"), bird.log(dir.path()));
    wait_for(
        "the IPv4 route after restart",
        WAIT,
        || bird.route(PREFIX_V4),
        context2,
    );
    wait_for(
        "the IPv6 route after restart",
        WAIT,
        || bird.route(PREFIX_V6),
        context2,
    );
    eprintln!(
        "anyns restart -> routes back in BIRD: {:?}",
        restarted.elapsed()
    );

    // Fate sharing: a crash (SIGKILL) drops the TCP sessions, and BIRD withdraws at once
    // instead of waiting for the hold timer (30 s here).
    let crashed = Instant::now();
    anyns.kill();
    wait_for(
        "the routes to leave BIRD after SIGKILL",
        Duration::from_secs(10),
        || (bird.route(PREFIX_V4).is_none() && bird.route(PREFIX_V6).is_none()).then_some(()),
        context2,
    );
    eprintln!("SIGKILL -> routes gone from BIRD: {:?}", crashed.elapsed());
}

/// TCP-MD5 (RFC 2385) and GTSM (RFC 5082) on both sides: the IPv4 session with anyns
/// connecting, the IPv6 one with anyns listening (the keys then sit on its listener). With
/// a wrong password neither session comes up, nor without GTSM on our side.
#[test]
fn bird_md5_and_gtsm() {
    if !is_root("bird_md5_and_gtsm") {
        return;
    }
    let _serial = serial();
    let dir = test_dir();
    let net = NetnsPair::new();
    let bird = Bird::start(
        &net,
        dir.path(),
        &BirdSession {
            password: Some("anyns-md5-key"),
            ttl_security: true,
            ..BirdSession::default()
        },
    );
    let peers = |key| {
        [
            AnynsPeer {
                md5: Some(key),
                ttl_security: true,
                ..AnynsPeer::V4
            },
            AnynsPeer {
                md5: Some(key),
                ttl_security: true,
                passive: true,
                ..AnynsPeer::V6
            },
        ]
    };
    let mut anyns = start_anyns(
        &net,
        dir.path(),
        "1",
        &anyns_config(&peers("anyns-md5-key")),
    );
    let context = || format!("{}\n{}", anyns_log(dir.path(), "1"), bird.log(dir.path()));
    wait_for(
        "the IPv4 route with MD5",
        WAIT,
        || bird.route(PREFIX_V4),
        context,
    );
    wait_for(
        "the IPv6 route with MD5 (passive)",
        WAIT,
        || bird.route(PREFIX_V6),
        context,
    );
    let protocols = bird.birdc(&["show", "protocols", "all", "anyns6"]);
    assert!(
        protocols.contains("Source address:   2001:db8::2"),
        "{protocols}"
    );
    anyns.terminate(Duration::from_secs(5));
    wait_for(
        "the routes to leave BIRD",
        WAIT,
        || (bird.route(PREFIX_V4).is_none() && bird.route(PREFIX_V6).is_none()).then_some(()),
        context,
    );

    let mut wrong = start_anyns(&net, dir.path(), "2", &anyns_config(&peers("wrong-key")));
    let watch_until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < watch_until {
        assert!(
            !bird.established("anyns4") && !bird.established("anyns6"),
            "a session came up with a wrong MD5 key\n{}",
            anyns_log(dir.path(), "2")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    wrong.assert_running();
    let log = anyns_log(dir.path(), "2");
    assert!(!log.contains("bgp session established"), "{log}");
    assert!(bird.route(PREFIX_V4).is_none() && bird.route(PREFIX_V6).is_none());
    wrong.terminate(Duration::from_secs(5));

    // The right key but no GTSM on our side: BIRD drops our segments (TTL 64 < 255), so
    // the positive case above really depended on our TTL 255.
    let no_gtsm = peers("anyns-md5-key").map(|peer| AnynsPeer {
        ttl_security: false,
        ..peer
    });
    let mut plain = start_anyns(&net, dir.path(), "3", &anyns_config(&no_gtsm));
    let watch_until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < watch_until {
        assert!(
            !bird.established("anyns4") && !bird.established("anyns6"),
            "a session came up without GTSM on our side\n{}",
            anyns_log(dir.path(), "3")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    plain.assert_running();
}

/// GoBGP over one IPv4 session carrying both families: AS path, MED, communities, large
/// communities, next hops; on SIGTERM GoBGP logs our shutdown communication and drops the
/// routes.
#[test]
fn gobgp_announce_and_shutdown() {
    if !is_root("gobgp_announce_and_shutdown") {
        return;
    }
    let _serial = serial();
    let dir = test_dir();
    let net = NetnsPair::new();
    let gobgp = GoBgp::start(&net, dir.path(), None);
    wait_for(
        "gobgpd's API",
        WAIT,
        || gobgp.gobgp(&net, &["global"]).contains("AS:").then_some(()),
        || gobgp.daemon.log(),
    );
    let started = Instant::now();
    let mut anyns = start_anyns(&net, dir.path(), "1", &anyns_config(&[AnynsPeer::V4]));
    let context = || format!("{}\n{}", anyns_log(dir.path(), "1"), gobgp.daemon.log());
    let rib = |family: &str| -> Option<serde_json::Value> {
        let out = gobgp.gobgp(&net, &["global", "rib", "-a", family, "-j"]);
        let value: serde_json::Value = serde_json::from_str(&out).ok()?;
        let prefix = if family == "ipv4" {
            PREFIX_V4
        } else {
            PREFIX_V6
        };
        value.get(prefix)?.get(0).cloned()
    };
    let v4 = wait_for("the IPv4 route in GoBGP", WAIT, || rib("ipv4"), context);
    eprintln!(
        "anyns start -> {PREFIX_V4} in GoBGP: {:?}",
        started.elapsed()
    );
    let v6 = wait_for("the IPv6 route in GoBGP", WAIT, || rib("ipv6"), context);
    for (path, next_hop) in [(&v4, A_V4), (&v6, A_V6)] {
        let attrs = path["attrs"].as_array().expect("attrs");
        let attr = |kind: u64| {
            attrs
                .iter()
                .find(|a| a["type"] == kind)
                .unwrap_or_else(|| panic!("no attribute {kind} in {path}"))
        };
        assert_eq!(attr(1)["value"], 0, "ORIGIN IGP: {path}");
        assert_eq!(
            attr(2)["as_paths"][0]["asns"],
            serde_json::json!([65000, 65000, 65000]),
            "{path}"
        );
        assert_eq!(attr(4)["metric"], 10, "{path}");
        let community = (65000u64 << 16) | 1;
        assert_eq!(
            attr(8)["communities"],
            serde_json::json!([community]),
            "{path}"
        );
        assert_eq!(
            attr(32)["value"],
            serde_json::json!([{"ASN": 65000, "LocalData1": 1, "LocalData2": 2}]),
            "{path}"
        );
        let hop = if next_hop == A_V4 { attr(3) } else { attr(14) };
        assert_eq!(hop["nexthop"], next_hop, "{path}");
    }

    let stopping = Instant::now();
    anyns.terminate(Duration::from_secs(5));
    wait_for(
        "the routes to leave GoBGP",
        WAIT,
        || (rib("ipv4").is_none() && rib("ipv6").is_none()).then_some(()),
        context,
    );
    eprintln!(
        "SIGTERM -> routes gone from GoBGP: {:?}",
        stopping.elapsed()
    );
    let log = gobgp.daemon.log();
    assert!(
        log.contains("Communicated-Reason=\"anyns shutting down\"")
            && log.contains("subcode 2(administrative shutdown)"),
        "{log}"
    );
}

/// FRR's bgpd (standalone, no zebra) over one IPv4 session carrying both families: the
/// same attributes; on SIGTERM it records Cease/Administrative Shutdown and our message.
#[test]
fn frr_announce_and_shutdown() {
    if !is_root("frr_announce_and_shutdown") {
        return;
    }
    let _serial = serial();
    let dir = test_dir();
    let net = NetnsPair::new();
    let frr = Frr::start(&net, dir.path(), None);
    wait_for(
        "bgpd's vty",
        WAIT,
        || {
            frr.vtysh("show bgp summary")
                .contains("65001")
                .then_some(())
        },
        || frr.daemon.log(),
    );
    let started = Instant::now();
    let mut anyns = start_anyns(&net, dir.path(), "1", &anyns_config(&[AnynsPeer::V4]));
    let context = || format!("{}\n{}", anyns_log(dir.path(), "1"), frr.daemon.log());
    let route = |family: &str, prefix: &str| -> Option<serde_json::Value> {
        let out = frr.vtysh(&format!("show bgp {family} unicast {prefix} json"));
        let value: serde_json::Value = serde_json::from_str(&out).ok()?;
        value.get("paths")?.get(0).cloned()
    };
    let v4 = wait_for(
        "the IPv4 route in FRR",
        WAIT,
        || route("ipv4", PREFIX_V4),
        context,
    );
    eprintln!("anyns start -> {PREFIX_V4} in FRR: {:?}", started.elapsed());
    let v6 = wait_for(
        "the IPv6 route in FRR",
        WAIT,
        || route("ipv6", PREFIX_V6),
        context,
    );
    for (path, next_hop) in [(&v4, A_V4), (&v6, A_V6)] {
        assert_eq!(path["aspath"]["string"], "65000 65000 65000", "{path}");
        assert_eq!(path["origin"], "IGP", "{path}");
        assert_eq!(path["metric"], 10, "{path}");
        assert_eq!(path["community"]["string"], "65000:1", "{path}");
        assert_eq!(path["largeCommunity"]["string"], "65000:1:2", "{path}");
        assert_eq!(path["nexthops"][0]["ip"], next_hop, "{path}");
        assert_eq!(path["valid"], true, "{path}");
    }

    let stopping = Instant::now();
    anyns.terminate(Duration::from_secs(5));
    wait_for(
        "the routes to leave FRR",
        WAIT,
        || (route("ipv4", PREFIX_V4).is_none() && route("ipv6", PREFIX_V6).is_none()).then_some(()),
        context,
    );
    eprintln!("SIGTERM -> routes gone from FRR: {:?}", stopping.elapsed());
    let neighbor = frr.vtysh(&format!("show bgp neighbors {A_V4} json"));
    let neighbor: serde_json::Value = serde_json::from_str(&neighbor).expect("neighbor json");
    let neighbor = &neighbor[A_V4];
    assert_eq!(
        neighbor["lastNotificationReason"], "Cease/Administrative Shutdown",
        "{neighbor}"
    );
    assert_eq!(
        neighbor["lastShutdownDescription"], "anyns shutting down",
        "{neighbor}"
    );
}

/// TCP-MD5 (RFC 2385) with GoBGP and FRR as with BIRD: with the peer's key the session
/// comes up and the IPv4 route is there; with another key no session comes up (the
/// peer's kernel drops our unsigned-for-it segments) and anyns keeps running.
#[test]
fn gobgp_and_frr_md5() {
    if !is_root("gobgp_and_frr_md5") {
        return;
    }
    let _serial = serial();
    {
        let dir = test_dir();
        let net = NetnsPair::new();
        let gobgp = GoBgp::start(&net, dir.path(), Some(MD5_KEY));
        wait_for(
            "gobgpd's API",
            WAIT,
            || gobgp.gobgp(&net, &["global"]).contains("AS:").then_some(()),
            || gobgp.daemon.log(),
        );
        md5_wrong_key_then_right(
            &net,
            dir.path(),
            "GoBGP",
            || {
                gobgp
                    .gobgp(&net, &["global", "rib", "-a", "ipv4"])
                    .contains(PREFIX_V4)
            },
            || gobgp.daemon.log(),
        );
    }
    {
        let dir = test_dir();
        let net = NetnsPair::new();
        let frr = Frr::start(&net, dir.path(), Some(MD5_KEY));
        wait_for(
            "bgpd's vty",
            WAIT,
            || {
                frr.vtysh("show bgp summary")
                    .contains("65001")
                    .then_some(())
            },
            || frr.daemon.log(),
        );
        md5_wrong_key_then_right(
            &net,
            dir.path(),
            "FRR",
            || {
                frr.vtysh(&format!("show bgp ipv4 unicast {PREFIX_V4} json"))
                    .contains("\"paths\"")
            },
            || frr.daemon.log(),
        );
    }
}

/// The peer's MD5 key in [`gobgp_and_frr_md5`].
const MD5_KEY: &str = "anyns-md5-key";

/// Against a peer expecting [`MD5_KEY`]: an anyns with another key gets no route into the
/// peer for 4 s (and keeps running, never established); one with the key does.
fn md5_wrong_key_then_right(
    net: &NetnsPair,
    dir: &std::path::Path,
    peer: &str,
    has_route: impl Fn() -> bool,
    peer_log: impl Fn() -> String,
) {
    let with_key = |key| {
        [AnynsPeer {
            md5: Some(key),
            ..AnynsPeer::V4
        }]
    };
    let mut wrong = start_anyns(net, dir, "wrong", &anyns_config(&with_key("wrong-key")));
    let watch_until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < watch_until {
        assert!(
            !has_route(),
            "{peer} took a route over a session with the wrong MD5 key\n{}",
            anyns_log(dir, "wrong")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    wrong.assert_running();
    let log = anyns_log(dir, "wrong");
    assert!(!log.contains("bgp session established"), "{log}");
    wrong.terminate(Duration::from_secs(5));
    let mut right = start_anyns(net, dir, "right", &anyns_config(&with_key(MD5_KEY)));
    wait_for(
        &format!("the IPv4 route in {peer} over MD5"),
        WAIT,
        || has_route().then_some(()),
        || format!("{}\n{}", anyns_log(dir, "right"), peer_log()),
    );
    right.terminate(Duration::from_secs(5));
}

/// RFC 4271 §6.8 with BIRD: anyns (`listen-port = 179`) and BIRD connect to each other at
/// the same time. nftables in anyns's namespace holds back every BGP segment with data
/// (the TCP handshakes pass), so both connections are up and both sides' OPENs wait; once
/// released, both sides resolve the collision by BGP Identifier and keep the same
/// connection: the one BIRD opened while anyns's identifier is below BIRD's, the one anyns
/// opened once it is above. Each round: one session comes up without a reset, the route is
/// announced, and the session stays up.
#[test]
fn bird_connection_collision() {
    if !is_root("bird_connection_collision") {
        return;
    }
    let _serial = serial();
    let nft = require_tool("nft");
    // anyns's identifier below BIRD's (198.51.100.2), then above it.
    for (round, router_id) in [(1, A_V4), (2, "198.51.100.9")] {
        let dir = test_dir();
        let net = NetnsPair::new();
        let rules = dir.path().join("hold.nft");
        let drop = "tcp dport 179 meta length > 64 drop; tcp sport 179 meta length > 64 drop;";
        std::fs::write(
            &rules,
            format!(
                "table inet hold {{\n chain out {{ type filter hook output priority 0; {drop} }}\n \
                 chain in {{ type filter hook input priority 0; {drop} }}\n}}\n"
            ),
        )
        .unwrap();
        let added = net.command(&net.a, &nft).arg("-f").arg(&rules).status();
        assert!(added.is_ok_and(|s| s.success()), "nft rules, round {round}");
        let bird = Bird::start(&net, dir.path(), &BirdSession::default());
        let config = anyns_config(&[AnynsPeer::V4])
            .replace(
                &format!("router-id = \"{A_V4}\""),
                &format!("router-id = \"{router_id}\""),
            )
            .replace("connect-retry-time = 1", "connect-retry-time = 5")
            .replace("passive = false\n", "passive = false\nlisten-port = 179\n");
        let tag = format!("collision{round}");
        let mut anyns = start_anyns(&net, dir.path(), &tag, &config);
        let context = || format!("{}\n{}", anyns_log(dir.path(), &tag), bird.log(dir.path()));
        // Both connections come up while their OPENs are held back.
        wait_for(
            "anyns to hold two connections to BIRD",
            WAIT,
            || {
                anyns_log(dir.path(), &tag)
                    .contains("bgp connection collision")
                    .then_some(())
            },
            context,
        );
        let released = Instant::now();
        let mut del = net.command(&net.a, &nft);
        assert!(
            del.args(["delete", "table", "inet", "hold"])
                .status()
                .is_ok_and(|s| s.success())
        );
        wait_for(
            "the IPv4 route in BIRD",
            WAIT,
            || bird.route(PREFIX_V4),
            context,
        );
        eprintln!(
            "round {round}: released -> route in BIRD: {:?}",
            released.elapsed()
        );
        // It stays up: no second session races the first.
        std::thread::sleep(Duration::from_secs(3));
        assert!(bird.established("anyns4"), "round {round}\n{}", context());
        let log = anyns_log(dir.path(), &tag);
        // Resolved without a reset: the session never went down, and came up once.
        assert!(
            !log.contains("bgp session down"),
            "round {round}: the session went down\n{}",
            context()
        );
        assert_eq!(
            log.matches("bgp session established").count(),
            1,
            "round {round}: one session\n{}",
            context()
        );
        // Both kept the connection opened by the higher identifier: BIRD's in round 1.
        let swapped = log.contains("the session moves to the other connection");
        eprintln!(
            "round {round}: anyns kept the connection {}",
            if swapped { "BIRD opened" } else { "it opened" }
        );
        assert_eq!(
            swapped,
            round == 1,
            "round {round}: who kept what\n{}",
            context()
        );
        let protocols = bird.birdc(&["show", "protocols", "all", "anyns4"]);
        assert!(protocols.contains("Established"), "{protocols}");
        anyns.assert_running();
    }
}
