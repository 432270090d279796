//! Health checks and the control socket on loopback (no root needed): `anyns status`,
//! `drain`, `undrain` over the control socket, and a second anyns instance probed by the
//! first one being detected when it hangs (SIGSTOP) and when it dies (SIGKILL).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{
    self, Daemon, free_port, http_get, start_local_anyns, test_dir, unix_now, wait_for,
};

/// A zone for the instances to serve.
const ZONE: &str = "$ORIGIN example.\n$TTL 300\n\
@ IN SOA ns1.example. hostmaster.example. 7 3600 600 86400 300\n\
@ IN NS ns1.example.\nns1 IN A 192.0.2.53\nwww IN A 192.0.2.80\n";

fn start(dir: &Path, tag: &str, config: &str) -> Daemon {
    fs::write(dir.join("example.zone"), ZONE).expect("zone");
    start_local_anyns(dir, tag, config)
}

/// Runs `anyns <command> --socket SOCKET` and returns (success, stdout).
fn control(socket: &Path, command: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_anyns"))
        .arg(command)
        .arg("--socket")
        .arg(socket)
        .output()
        .expect("run anyns control command");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The first cloud's state in a status JSON.
fn state(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json.trim()).ok()?;
    Some(value["clouds"][0]["state"].as_str()?.to_string())
}

fn wait_state(socket: &Path, want: &str, timeout: Duration, daemon: &Daemon) -> Duration {
    let start = Instant::now();
    wait_for(
        &format!("cloud state {want}"),
        timeout,
        || (state(&control(socket, "status").1).as_deref() == Some(want)).then_some(()),
        || format!("{}\n{}", control(socket, "status").1, daemon.log()),
    );
    start.elapsed()
}

/// `anyns status`, `drain`, `undrain` over the control socket, with a BGP section whose
/// peer never answers (the announcements are only recorded).
#[test]
fn control_socket_drain_undrain_status() {
    let _serial = support::serial();
    let dir = test_dir();
    let port = free_port();
    let bgp_port = free_port();
    let socket = dir.path().join("anyns.sock");
    let config = format!(
        r#"[server]
udp-workers = 1
control-socket = "{}"

[[listen]]
address = "127.0.0.1:{port}"

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

[health]
graceful-shutdown-ms = 300
"#,
        socket.display()
    );
    let mut anyns = start(dir.path(), "anyns", &config);
    wait_for(
        "the control socket",
        Duration::from_secs(10),
        || socket.exists().then_some(()),
        || anyns.log(),
    );
    let rise = wait_state(&socket, "announced", Duration::from_secs(5), &anyns);
    eprintln!("start -> announced (rise 3 x 50 ms): within {rise:?} of the socket appearing");
    let (ok, status) = control(&socket, "status");
    assert!(ok, "{status}");
    let value: serde_json::Value = serde_json::from_str(status.trim()).expect("JSON");
    let cloud = &value["clouds"][0];
    assert_eq!(cloud["name"], "default");
    assert_eq!(cloud["prefixes"][0], "203.0.113.53/32");
    assert_eq!(cloud["instances_up"], 1);
    let checks: Vec<&str> = cloud["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        checks,
        vec![format!("dns 127.0.0.1:{port}").as_str(), "zones fresh"]
    );

    // Drain: draining at once (GRACEFUL_SHUTDOWN), drained after the grace time.
    let (ok, answer) = control(&socket, "drain");
    assert!(ok, "{answer}");
    assert_eq!(state(&answer).as_deref(), Some("draining"), "{answer}");
    wait_state(&socket, "drained", Duration::from_secs(3), &anyns);
    // Undrain: the checks pass, so it is announced at once.
    let (ok, answer) = control(&socket, "undrain");
    assert!(ok, "{answer}");
    assert_eq!(state(&answer).as_deref(), Some("announced"), "{answer}");
    // The line protocol: a typo is answered with an error object.
    let mut stream = UnixStream::connect(&socket).expect("connect");
    stream.write_all(b"dran\nstatus\n").expect("write");
    let mut lines = BufReader::new(stream).lines();
    let first = lines.next().expect("answer").expect("read");
    assert!(
        first.contains("\"error\"") && first.contains("unknown command"),
        "{first}"
    );
    let second = lines.next().expect("answer").expect("read");
    assert_eq!(state(&second).as_deref(), Some("announced"), "{second}");

    let log = anyns.log();
    for line in [
        "from=down to=announced reason=checks pass",
        "from=announced to=draining reason=drain requested",
        "from=draining to=drained reason=graceful-shutdown time ended",
        "from=drained to=announced reason=undrain requested",
    ] {
        assert!(log.contains(line), "missing {line:?}\n{log}");
    }
    // SIGTERM drains (no queries arrive, so it stops after the quiet period) and exits.
    let took = anyns.terminate(Duration::from_secs(10));
    eprintln!("SIGTERM -> exit with drain: {took:?}");
    assert!(!socket.exists(), "the control socket is removed on exit");
}

/// Two instances: `b` serves, `a` only probes it (k = 1 of N = 1). A SIGSTOPped `b` (hung)
/// and a SIGKILLed `b` (dead) are each detected and the cloud goes down; the times are
/// printed (detection only; BGP adds the propagation, see health_bird.rs).
#[test]
fn a_hung_or_dead_instance_is_detected() {
    let _serial = support::serial();
    let dir = test_dir();
    let (port_a, port_b) = (free_port(), free_port());
    let socket = dir.path().join("a.sock");
    let b_config = format!(
        "[server]\nudp-workers = 1\n\n[[listen]]\naddress = \"127.0.0.1:{port_b}\"\n\n\
         [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n"
    );
    let a_config = format!(
        r#"[server]
udp-workers = 1
control-socket = "{}"

[[listen]]
address = "127.0.0.1:{port_a}"

[[zone]]
name = "example."
file = "example.zone"

[health]
hold-down-ms = 200
damping = false

[[health.cloud]]
name = "ns1"
instances = ["127.0.0.1:{port_b}"]
"#,
        socket.display()
    );
    let mut b = start(dir.path(), "b", &b_config);
    let a = start(dir.path(), "a", &a_config);
    wait_for(
        "the control socket",
        Duration::from_secs(10),
        || socket.exists().then_some(()),
        || a.log(),
    );
    wait_state(&socket, "announced", Duration::from_secs(5), &a);

    let frozen = b.freeze();
    let hung = wait_state(&socket, "down", Duration::from_secs(5), &a);
    eprintln!("SIGSTOP -> withdrawn (detection): {hung:?}");
    drop(frozen);
    wait_state(&socket, "announced", Duration::from_secs(5), &a);

    let start = Instant::now();
    b.kill();
    wait_state(&socket, "down", Duration::from_secs(5), &a);
    let dead = start.elapsed();
    eprintln!("SIGKILL -> withdrawn (detection): {dead:?}");
    let log = a.log();
    assert!(log.contains("no answer within the probe timeout"), "{log}");
    assert!(log.contains("port unreachable"), "{log}");
    // Bounds well above the defaults (fall 2 x 50 ms) so a loaded CI host does not flap.
    assert!(
        hung < Duration::from_secs(1),
        "hang detected after {hung:?}"
    );
    assert!(
        dead < Duration::from_secs(1),
        "death detected after {dead:?}"
    );
}

/// A secondary whose primary publishes a newer serial it cannot transfer (the primary
/// answers SOA but refuses AXFR/IXFR to it) lags past `stale-after-ms` and withdraws with
/// "zone lags its primary" (RFC 4786 §4.6); when transfers work again it catches
/// up and announces again.
#[test]
fn a_secondary_lagging_its_primary_withdraws() {
    let _serial = support::serial();
    let dir = test_dir();
    let (primary_port, port) = (free_port(), free_port());
    let socket = dir.path().join("s.sock");
    let primary_dir = dir.path().join("primary");
    fs::create_dir_all(&primary_dir).expect("primary dir");
    // SOA refresh 2 s (the refresh task's minimum), retry 1 s.
    let zone = |serial: u32| {
        format!(
            "$ORIGIN example.\n$TTL 300\n@ IN SOA ns1.example. hostmaster.example. {serial} 2 1 86400 300\n\
             @ IN NS ns1.example.\nns1 IN A 192.0.2.53\n"
        )
    };
    let primary = |serial: u32, allow: &str| {
        fs::write(primary_dir.join("example.zone"), zone(serial)).expect("zone");
        let config = format!(
            "[server]\nudp-workers = 1\n\n[[listen]]\naddress = \"127.0.0.1:{primary_port}\"\nrole = \"unicast\"\n\n\
             [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\nallow-transfer = [\"{allow}\"]\n"
        );
        start_local_anyns(&primary_dir, &format!("primary-{serial}"), &config)
    };
    let mut p = primary(7, "127.0.0.1/32");
    let storage = dir.path().join("storage");
    let config = format!(
        r#"[server]
udp-workers = 1
control-socket = "{}"
storage = "{}"

[[listen]]
address = "127.0.0.1:{port}"
role = "unicast"

[[zone]]
name = "example."
primaries = ["127.0.0.1:{primary_port}"]
source = "127.0.0.1"

[health]
hold-down-ms = 200
damping = false
stale-after-ms = 1000
"#,
        socket.display(),
        storage.display()
    );
    let s = start(dir.path(), "secondary", &config);
    wait_for(
        "the control socket",
        Duration::from_secs(10),
        || socket.exists().then_some(()),
        || s.log(),
    );
    wait_state(&socket, "announced", Duration::from_secs(15), &s);

    // The primary moves to serial 8 and refuses transfers to the secondary (only a
    // documentation range may transfer): SOA queries see 8, transfers fail.
    p.terminate(Duration::from_secs(10));
    let _p = primary(8, "192.0.2.0/24");
    let started = Instant::now();
    wait_state(&socket, "down", Duration::from_secs(15), &s);
    let took = started.elapsed();
    let (_, status) = control(&socket, "status");
    eprintln!(
        "FIGURE primary at serial 8, transfer refused -> withdrawn after {took:?} (bound 1 s, SOA refresh 2 s)"
    );
    assert!(status.contains("zone lags its primary"), "{status}");
    let log = s.log();
    assert!(log.contains("transfer failed"), "{log}");
    drop(_p);

    // Transfers allowed again: the secondary catches up and announces again.
    let _p = primary(9, "127.0.0.1/32");
    wait_state(&socket, "announced", Duration::from_secs(15), &s);
    let (_, status) = control(&socket, "status");
    assert!(status.contains("zones fresh"), "{status}");
}

/// A separate instance that takes a new version later than the process probing it (a
/// split-model DNS instance, a `[supervise]` child) is lagging, not broken: `a` loads serial
/// 8 while its instance `b` still serves 7, and the cloud stays announced for
/// `stale-after-ms` (2 s), then goes down naming the serials; `b` catching up announces
/// again, and `b` ahead of `a` (serial 9) keeps it announced.
#[test]
fn an_instance_behind_the_loaded_serial_withdraws_only_after_stale_after() {
    let _serial = support::serial();
    let dir = test_dir();
    let (port_a, port_b) = (free_port(), free_port());
    let socket = dir.path().join("a.sock");
    let zone = |serial: u32| {
        format!(
            "$ORIGIN example.\n$TTL 300\n@ IN SOA ns1.example. hostmaster.example. {serial} 3600 600 86400 300\n\
             @ IN NS ns1.example.\nns1 IN A 192.0.2.53\n"
        )
    };
    let (dir_a, dir_b) = (dir.path().join("a"), dir.path().join("b"));
    for (d, serial) in [(&dir_a, 7), (&dir_b, 7)] {
        fs::create_dir_all(d).expect("dir");
        fs::write(d.join("example.zone"), zone(serial)).expect("zone");
    }
    let hup = |daemon: &Daemon| {
        let status = Command::new("kill")
            .args(["-HUP", &daemon.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    };
    let b_config = format!(
        "[server]\nudp-workers = 1\n\n[[listen]]\naddress = \"127.0.0.1:{port_b}\"\n\n\
         [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n"
    );
    let a_config = format!(
        r#"[server]
udp-workers = 1
control-socket = "{}"

[[listen]]
address = "127.0.0.1:{port_a}"

[[zone]]
name = "example."
file = "example.zone"

[health]
hold-down-ms = 200
damping = false
stale-after-ms = 2000
# Slower rounds than the default 20 ms: the test asserts "still announced" every 100 ms, so
# a stall of a loaded machine must not look like a failed instance.
interval-ms = 100
timeout-ms = 80

[[health.cloud]]
name = "ns1"
instances = ["127.0.0.1:{port_b}"]
"#,
        socket.display()
    );
    let b = start_local_anyns(&dir_b, "b", &b_config);
    let a = start_local_anyns(&dir_a, "a", &a_config);
    wait_for(
        "the control socket",
        Duration::from_secs(10),
        || socket.exists().then_some(()),
        || a.log(),
    );
    wait_state(&socket, "announced", Duration::from_secs(5), &a);

    fs::write(dir_a.join("example.zone"), zone(8)).expect("zone");
    let started = Instant::now();
    hup(&a);
    // Still announced through most of the bound (the probes see 7 against 8 all along).
    while started.elapsed() < Duration::from_millis(1500) {
        let (_, status) = control(&socket, "status");
        assert_eq!(
            state(&status).as_deref(),
            Some("announced"),
            "withdrawn {:?} after the reload, before stale-after-ms\n{status}\n{}",
            started.elapsed(),
            a.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_state(&socket, "down", Duration::from_secs(5), &a);
    let took = started.elapsed();
    eprintln!("FIGURE instance behind by one serial -> withdrawn after {took:?} (stale-after 2 s)");
    assert!(took >= Duration::from_secs(2), "{took:?}");
    let (_, status) = control(&socket, "status");
    assert!(
        status.contains("answered serial 7, 8 is loaded"),
        "{status}"
    );

    fs::write(dir_b.join("example.zone"), zone(8)).expect("zone");
    hup(&b);
    wait_state(&socket, "announced", Duration::from_secs(5), &a);

    // The instance ahead of the prober: serving the newer version is no failure.
    fs::write(dir_b.join("example.zone"), zone(9)).expect("zone");
    hup(&b);
    let ahead = Instant::now();
    while ahead.elapsed() < Duration::from_secs(3) {
        let (_, status) = control(&socket, "status");
        assert_eq!(
            state(&status).as_deref(),
            Some("announced"),
            "an instance ahead was taken for a failure\n{status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The probe asks every zone and every probe name in turn, and a wrong answer to one of
/// them fails every round until it is answered right (a truncated answer is a right one:
/// the records are there): an instance that lost the name
/// `www.example.` (NXDOMAIN), then one whose `example.net.` stays behind the serial loaded
/// here past `stale-after-ms`, takes the cloud down although its other answers are right (a
/// passing round used to reset the failure count, so one zone of two never withdrew).
#[test]
fn a_missing_probe_name_or_one_missing_zone_of_two_withdraws() {
    let _serial = support::serial();
    let dir = test_dir();
    let (port_a, port_b) = (free_port(), free_port());
    let socket = dir.path().join("a.sock");
    let example = |www: bool| {
        format!(
            "$ORIGIN example.\n$TTL 300\n@ IN SOA ns1.example. hostmaster.example. 7 3600 600 86400 300\n\
             @ IN NS ns1.example.\nns1 IN A 192.0.2.53\n{}{}",
            if www { "www IN A 192.0.2.80\n" } else { "" },
            // Too large for 512 octets: the probe's answer comes truncated, which passes.
            (0..8)
                .map(|i| format!("big IN TXT \"{i}{}\"\n", "x".repeat(100)))
                .collect::<String>()
        )
    };
    let net = |serial: u32| {
        format!(
            "$ORIGIN example.net.\n$TTL 300\n@ IN SOA ns1.example. hostmaster.example. {serial} 3600 600 86400 300\n\
             @ IN NS ns1.example.\n"
        )
    };
    let (dir_a, dir_b) = (dir.path().join("a"), dir.path().join("b"));
    for d in [&dir_a, &dir_b] {
        fs::create_dir_all(d).expect("dir");
        fs::write(d.join("example.zone"), example(true)).expect("zone");
        fs::write(d.join("net.zone"), net(3)).expect("zone");
    }
    let zones = "[[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n\n\
                 [[zone]]\nname = \"example.net.\"\nfile = \"net.zone\"\n";
    let b_config = |zones: &str| {
        format!(
            "[server]\nudp-workers = 1\n\n[[listen]]\naddress = \"127.0.0.1:{port_b}\"\n\n{zones}"
        )
    };
    let a_config = format!(
        r#"[server]
udp-workers = 1
control-socket = "{}"

[[listen]]
address = "127.0.0.1:{port_a}"

{zones}
[health]
hold-down-ms = 200
damping = false
stale-after-ms = 500

[[health.cloud]]
name = "ns1"
instances = ["127.0.0.1:{port_b}"]
probe-names = ["www.example.", "big.example. TXT"]
"#,
        socket.display()
    );
    let b = start_local_anyns(&dir_b, "b", &b_config(zones));
    let a = start_local_anyns(&dir_a, "a", &a_config);
    wait_for(
        "the control socket",
        Duration::from_secs(10),
        || socket.exists().then_some(()),
        || a.log(),
    );
    wait_state(&socket, "announced", Duration::from_secs(5), &a);

    let hup_b = || {
        let status = Command::new("kill")
            .args(["-HUP", &b.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    };
    // www goes from b's copy (the serial stays: only the name's answer is wrong).
    fs::write(dir_b.join("example.zone"), example(false)).expect("zone");
    hup_b();
    wait_state(&socket, "down", Duration::from_secs(5), &a);
    let (_, status) = control(&socket, "status");
    assert!(status.contains("answered rcode 3"), "{status}");
    fs::write(dir_b.join("example.zone"), example(true)).expect("zone");
    hup_b();
    wait_state(&socket, "announced", Duration::from_secs(5), &a);

    // b's example.net. falls behind (serial 2 against 3 here): two of the three questions
    // are still answered right.
    fs::write(dir_b.join("net.zone"), net(2)).expect("zone");
    hup_b();
    wait_state(&socket, "down", Duration::from_secs(5), &a);
    let (_, status) = control(&socket, "status");
    assert!(
        status.contains("answered serial 2, 3 is loaded"),
        "{status}"
    );
    // ... and it stays down: the right answers do not bring it back.
    let since = Instant::now();
    while since.elapsed() < Duration::from_secs(1) {
        let (_, status) = control(&socket, "status");
        assert_eq!(state(&status).as_deref(), Some("down"), "{status}");
        std::thread::sleep(Duration::from_millis(100));
    }
    fs::write(dir_b.join("net.zone"), net(3)).expect("zone");
    hup_b();
    wait_state(&socket, "announced", Duration::from_secs(5), &a);
}

/// A zone whose signatures have expired (one RRSIG that expired a month ago; its bytes are
/// never validated here) takes the cloud down with the reason, and the metrics show the
/// time since it expired; the same zone with a signature valid for another month is
/// announced.
#[test]
fn expired_signatures_withdraw_the_cloud() {
    let _serial = support::serial();
    let now = unix_now();
    // RRSIG times as seconds (RFC 4034 §3.2 allows the number form): a month ago, in a month.
    let month = 30 * 86_400;
    for (expiration, want) in [(now - month, "down"), (now + month, "announced")] {
        let dir = test_dir();
        let (port, metrics_port) = (free_port(), free_port());
        let socket = dir.path().join("s.sock");
        let zone = format!(
            "{ZONE}@ 300 IN RRSIG SOA 13 1 300 {expiration} {} 1 example. AAAA\n",
            expiration - 2 * month
        );
        fs::write(dir.path().join("signed.zone"), zone).expect("zone");
        let config = format!(
            r#"[server]
udp-workers = 1
control-socket = "{}"
metrics = "127.0.0.1:{metrics_port}"

[[listen]]
address = "127.0.0.1:{port}"
role = "unicast"

[[zone]]
name = "example."
file = "signed.zone"

[health]
hold-down-ms = 200
damping = false
"#,
            socket.display()
        );
        let daemon = start(dir.path(), "signed", &config);
        wait_for(
            "the control socket",
            Duration::from_secs(10),
            || socket.exists().then_some(()),
            || daemon.log(),
        );
        wait_state(&socket, want, Duration::from_secs(10), &daemon);
        if want == "down" {
            // Down from the start; wait for the freshness check to give its reason.
            wait_for(
                "the expired-signatures reason",
                Duration::from_secs(10),
                || {
                    control(&socket, "status")
                        .1
                        .contains("zone signatures have expired")
                        .then_some(())
                },
                || control(&socket, "status").1,
            );
        } else {
            let (_, status) = control(&socket, "status");
            assert!(!status.contains("zone signatures have expired"), "{status}");
        }
        let (_, body) = http_get(
            ([127, 0, 0, 1], metrics_port).into(),
            "GET /metrics HTTP/1.1\r\n\r\n",
        );
        let left: i64 = body
            .lines()
            .find_map(|l| {
                l.strip_prefix("anyns_zone_signatures_expire_seconds{zone=\"example.\"} ")
            })
            .expect("the expiry gauge")
            .parse()
            .expect("a number");
        assert_eq!(left < 0, want == "down", "{body}");
    }
}
