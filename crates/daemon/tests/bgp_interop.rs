//! BGP interop: anyns's speaker against real peers (BIRD 2, GoBGP, FRR) across a veth
//! between two network namespaces this test creates (documentation addresses only, no
//! default route). Needs root; skips loudly without it.
//!
//! Each test is bounded by [`bgp_common::WAIT`] per wait and cleans up its daemons (by
//! PID) and namespaces in `Drop`.

mod bgp_common;

use std::time::{Duration, Instant};

use bgp_common::*;

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
    let _anyns = start_anyns(&net, dir.path(), "2", &config);
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
}

fn anyns_log(dir: &std::path::Path, tag: &str) -> String {
    format!(
        "---- anyns-{tag}.log ----\n{}",
        std::fs::read_to_string(dir.join(format!("anyns-{tag}.log"))).unwrap_or_default()
    )
}
