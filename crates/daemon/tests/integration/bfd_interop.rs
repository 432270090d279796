//! BFD interop (RFC 5880, RFC 5881 single hop): anyns's BFD against BIRD 2 across the
//! veth of the BGP interop tests (documentation addresses only, no default route). Needs
//! root; skips loudly without it.
//!
//! The point of BFD for anyns: a frozen process (SIGSTOP) keeps its TCP sessions open, so
//! BGP alone keeps the routes for the hold time (30 s here); with BFD the router drops
//! them within its Detection Time (3 × 100 ms).

use std::time::{Duration, Instant};

use crate::support::bgp::*;
use crate::support::{serial, test_dir, wait_for};

/// The peers, both with BFD at 100 ms × 3.
fn bfd_peers() -> [AnynsPeer; 2] {
    [
        AnynsPeer {
            bfd_interval_ms: Some(100),
            ..AnynsPeer::V4
        },
        AnynsPeer {
            bfd_interval_ms: Some(100),
            ..AnynsPeer::V6
        },
    ]
}

/// With BFD on both sides, BIRD's BFD sessions come Up; when anyns is frozen, BIRD drops
/// both routes in well under a second (the BGP hold time is 30 s); when it thaws, the
/// sessions and routes come back.
#[test]
fn bird_bfd_drops_routes_of_a_frozen_anyns_within_a_second() {
    if !is_root("bird_bfd_drops_routes_of_a_frozen_anyns_within_a_second") {
        return;
    }
    let _serial = serial();
    let dir = test_dir();
    let net = NetnsPair::new();
    let bird = Bird::start(
        &net,
        dir.path(),
        &BirdSession {
            bfd: true,
            ..BirdSession::default()
        },
    );
    let anyns = start_anyns(&net, dir.path(), "1", &anyns_config(&bfd_peers()));
    let context = || {
        format!(
            "{}\n{}\n{}",
            anyns_log(dir.path(), "1"),
            bird.log(dir.path()),
            bird.birdc(&["show", "bfd", "sessions"])
        )
    };
    let started = Instant::now();
    for address in [A_V4, A_V6] {
        wait_for(
            &format!("BIRD's BFD session to {address} Up"),
            WAIT,
            || bird.bfd_up(address).then_some(()),
            context,
        );
    }
    eprintln!(
        "anyns start -> both BFD sessions Up: {:?}",
        started.elapsed()
    );
    for prefix in [PREFIX_V4, PREFIX_V6] {
        wait_for(
            &format!("{prefix} in BIRD"),
            WAIT,
            || bird.route(prefix),
            context,
        );
    }
    eprintln!("{}", bird.birdc(&["show", "bfd", "sessions"]));
    // Steady for a while: no flaps at 100 ms on a shared machine.
    std::thread::sleep(Duration::from_secs(2));
    assert!(bird.bfd_up(A_V4) && bird.bfd_up(A_V6), "{}", context());

    let frozen_at = Instant::now();
    let frozen = anyns.freeze();
    wait_for(
        "BIRD to drop the routes of the frozen anyns",
        Duration::from_secs(10),
        || (bird.route(PREFIX_V4).is_none() && bird.route(PREFIX_V6).is_none()).then_some(()),
        context,
    );
    let gone = frozen_at.elapsed();
    eprintln!("SIGSTOP -> both routes gone from BIRD (BFD 100 ms x 3): {gone:?}");
    assert!(
        gone < Duration::from_secs(1),
        "routes took {gone:?} to go\n{}",
        context()
    );
    assert!(!bird.bfd_up(A_V4), "{}", context());
    // BIRD says why: its BGP session's last error is the BFD session.
    let protocols = bird.birdc(&["show", "protocols", "all", "anyns4"]);
    eprintln!("{protocols}");
    assert!(protocols.contains("BFD session down"), "{protocols}");

    let thawed_at = Instant::now();
    drop(frozen);
    for prefix in [PREFIX_V4, PREFIX_V6] {
        wait_for(
            &format!("{prefix} back after SIGCONT"),
            WAIT,
            || bird.route(prefix),
            context,
        );
    }
    eprintln!(
        "SIGCONT -> both routes back in BIRD: {:?}",
        thawed_at.elapsed()
    );
    for address in [A_V4, A_V6] {
        wait_for(
            &format!("BFD to {address} Up again"),
            WAIT,
            || bird.bfd_up(address).then_some(()),
            context,
        );
    }
    let log = anyns_log(dir.path(), "1");
    assert!(log.contains("bfd session down"), "{log}");
}

/// The control: without BFD, a frozen anyns keeps its routes in BIRD (until the 30 s hold
/// timer), so BFD is what removed them above.
#[test]
fn bird_without_bfd_keeps_routes_of_a_frozen_anyns() {
    if !is_root("bird_without_bfd_keeps_routes_of_a_frozen_anyns") {
        return;
    }
    let _serial = serial();
    let dir = test_dir();
    let net = NetnsPair::new();
    let bird = Bird::start(&net, dir.path(), &BirdSession::default());
    let anyns = start_anyns(
        &net,
        dir.path(),
        "1",
        &anyns_config(&[AnynsPeer::V4, AnynsPeer::V6]),
    );
    let context = || format!("{}\n{}", anyns_log(dir.path(), "1"), bird.log(dir.path()));
    for prefix in [PREFIX_V4, PREFIX_V6] {
        wait_for(
            &format!("{prefix} in BIRD"),
            WAIT,
            || bird.route(prefix),
            context,
        );
    }
    let frozen = anyns.freeze();
    let frozen_at = Instant::now();
    while frozen_at.elapsed() < Duration::from_secs(2) {
        assert!(
            bird.route(PREFIX_V4).is_some() && bird.route(PREFIX_V6).is_some(),
            "a route went after {:?} without BFD\n{}",
            frozen_at.elapsed(),
            context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "SIGSTOP without BFD -> routes still in BIRD after {:?}",
        frozen_at.elapsed()
    );
    drop(frozen);
}
