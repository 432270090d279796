//! `anyns ctl` against running daemons on loopback (no root needed): a primary and its
//! secondary, each with a control socket; every word of `ctl` is run and what it shows
//! (tables and `--json`) is checked against what the daemons do.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::{self, Daemon, free_port, start_local_anyns, test_dir, wait_for};

fn zone(serial: u32) -> String {
    format!(
        "$ORIGIN example.\n$TTL 300\n\
         @ IN SOA ns1.example. hostmaster.example. {serial} 3600 600 86400 300\n\
         @ IN NS ns1.example.\nns1 IN A 192.0.2.53\nwww IN A 192.0.2.{serial}\n"
    )
}

/// `anyns ctl --socket SOCKET WORDS...`: (exit code, stdout and stderr).
fn ctl(socket: &Path, words: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_anyns"))
        .arg("ctl")
        .arg("--socket")
        .arg(socket)
        .args(words.split_whitespace())
        .output()
        .expect("run anyns ctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// `ctl --json WORDS...`, which must succeed, as JSON.
fn ctl_json(socket: &Path, words: &str) -> serde_json::Value {
    let (code, out) = ctl(socket, &format!("--json {words}"));
    assert_eq!(code, 0, "ctl {words}: {out}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("ctl {words}: {e}: {out}"))
}

fn wait_json(
    what: &str,
    socket: &Path,
    words: &str,
    daemons: &[&Daemon],
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    wait_for(
        what,
        Duration::from_secs(15),
        || Some(ctl_json(socket, words)).filter(&ok),
        || {
            let logs: Vec<String> = daemons.iter().map(|d| d.log()).collect();
            format!("{}\n{}", ctl_json(socket, words), logs.join("\n"))
        },
    )
}

#[test]
fn every_ctl_word_against_a_primary_and_its_secondary() {
    let _serial = support::serial();
    let dir = test_dir();
    let (primary_port, secondary_port, bgp_port) = (free_port(), free_port(), free_port());
    let primary_dir = dir.path().join("primary");
    let secondary_dir = dir.path().join("secondary");
    fs::create_dir_all(&primary_dir).unwrap();
    fs::create_dir_all(&secondary_dir).unwrap();
    fs::write(primary_dir.join("example.zone"), zone(7)).unwrap();
    let primary_socket = primary_dir.join("ctl.sock");
    let secondary_socket = secondary_dir.join("ctl.sock");
    let primary = start_local_anyns(
        &primary_dir,
        "primary",
        &format!(
            "[server]\nudp-workers = 1\ncontrol-socket = \"{}\"\n\
             [[listen]]\naddress = \"127.0.0.1:{primary_port}\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n\
             notify = [\"127.0.0.1:{secondary_port}\"]\nallow-transfer = [\"127.0.0.0/8\"]\n",
            primary_socket.display()
        ),
    );
    let secondary = start_local_anyns(
        &secondary_dir,
        "secondary",
        &format!(
            r#"[server]
udp-workers = 1
control-socket = "{socket}"
storage = "{storage}"

[[listen]]
address = "127.0.0.1:{secondary_port}"
role = "unicast"

[[zone]]
name = "example."
primaries = ["127.0.0.1:{primary_port}"]

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
            socket = secondary_socket.display(),
            storage = secondary_dir.join("storage").display(),
        ),
    );
    let daemons = [&primary, &secondary];
    for socket in [&primary_socket, &secondary_socket] {
        wait_for(
            "the control sockets",
            Duration::from_secs(10),
            || socket.exists().then_some(()),
            || format!("{}\n{}", primary.log(), secondary.log()),
        );
    }

    // zone list / zone status: the secondary has serial 7 from the primary.
    let status = wait_json(
        "serial 7 at the secondary",
        &secondary_socket,
        "zone status example.",
        &daemons,
        |v| v["serial"] == 7,
    );
    assert_eq!(status["kind"], "secondary", "{status}");
    assert_eq!(status["primary_serial"], 7, "{status}");
    assert_eq!(status["last_result"], "serving serial 7", "{status}");
    let next = status["next_refresh_in_seconds"].as_f64().unwrap();
    assert!((3000.0..=3600.0).contains(&next), "REFRESH 3600: {status}");
    let expires = status["expires_in_seconds"].as_f64().unwrap();
    assert!(
        (86000.0..=86400.0).contains(&expires),
        "EXPIRE 86400: {status}"
    );
    assert!(status["lag_seconds"].is_null(), "{status}");
    let (code, table) = ctl(&secondary_socket, "zone list");
    assert_eq!(code, 0, "{table}");
    let row = table
        .lines()
        .find(|l| l.starts_with("example."))
        .expect(&table);
    for cell in ["secondary", "7", "serving"] {
        assert!(row.contains(cell), "{cell:?} in {table}");
    }
    let (code, fields) = ctl(&secondary_socket, "zone status example.");
    assert_eq!(code, 0, "{fields}");
    assert!(fields.contains("next refresh in:"), "{fields}");
    assert!(fields.contains("expires in:"), "{fields}");

    // zone reload at the primary: the new file is served and NOTIFYd to the secondary.
    fs::write(primary_dir.join("example.zone"), zone(8)).unwrap();
    let (code, out) = ctl(&primary_socket, "zone reload example.");
    assert_eq!(
        (code, out.trim()),
        (0, "example.: reload: serving serial 8")
    );
    wait_json(
        "serial 8 at the secondary (NOTIFY)",
        &secondary_socket,
        "zone status example.",
        &daemons,
        |v| v["serial"] == 8,
    );
    // A broken file: the reload fails with the reason, serial 8 stays.
    fs::write(primary_dir.join("example.zone"), "@ IN SOA broken\n").unwrap();
    let (code, out) = ctl(&primary_socket, "zone reload example.");
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains("reload failed, the served version stays"),
        "{out}"
    );
    assert_eq!(
        ctl_json(&primary_socket, "zone status example.")["serial"],
        8
    );
    // Reload and refresh/retransfer belong to one side each.
    let (code, out) = ctl(&secondary_socket, "zone reload example.");
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("is a secondary zone"), "{out}");

    // zone refresh: an SOA check now, which finds the primary at 8.
    let (code, out) = ctl(&secondary_socket, "zone refresh example.");
    assert_eq!(code, 0, "{out}");
    wait_json(
        "the refresh's SOA check",
        &secondary_socket,
        "zone status example.",
        &daemons,
        |v| v["last_result"] == "primary has serial 8",
    );
    // zone retransfer: a full transfer although the serial is the same.
    let (code, out) = ctl(&secondary_socket, "zone retransfer example.");
    assert_eq!(code, 0, "{out}");
    wait_json(
        "the forced transfer",
        &secondary_socket,
        "zone status example.",
        &daemons,
        |v| v["last_result"] == "serving serial 8",
    );
    assert!(
        secondary.log().contains("operator: full transfer"),
        "{}",
        secondary.log()
    );
    // zone notify from the primary: the secondary receives one more NOTIFY.
    let notifies = |log: String| log.matches("NOTIFY received").count();
    let before = notifies(secondary.log());
    let (code, out) = ctl(&primary_socket, "zone notify example.");
    assert_eq!(
        (code, out.trim()),
        (0, "example.: notify: NOTIFY for serial 8 sent to 1 targets")
    );
    wait_for(
        "the operator's NOTIFY",
        Duration::from_secs(10),
        || (notifies(secondary.log()) > before).then_some(()),
        || secondary.log(),
    );

    // bgp peers: the peer never answers; the table shows it and that it is not up.
    let peers = ctl_json(&secondary_socket, "bgp peers");
    let peer = &peers["peers"][0];
    assert_eq!(peer["address"], format!("127.0.0.1:{bgp_port}"), "{peers}");
    assert_ne!(peer["state"], "Established", "{peers}");
    assert!(peer["uptime_seconds"].is_null(), "{peers}");
    let (code, table) = ctl(&secondary_socket, "bgp peers");
    assert_eq!(code, 0, "{table}");
    assert!(table.starts_with("PEER"), "{table}");
    assert!(table.contains(&format!("127.0.0.1:{bgp_port}")), "{table}");
    let (code, out) = ctl(&primary_socket, "bgp peers");
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("no BGP speaker here"), "{out}");

    // health: each check with its last result and latency; status: the cloud.
    wait_for(
        "the cloud announced",
        Duration::from_secs(10),
        || {
            (ctl_json(&secondary_socket, "status")["clouds"][0]["state"] == "announced")
                .then_some(())
        },
        || secondary.log(),
    );
    let (code, table) = ctl(&secondary_socket, "health");
    assert_eq!(code, 0, "{table}");
    let check = table
        .lines()
        .find(|l| l.contains(&format!("dns 127.0.0.1:{secondary_port}")))
        .expect(&table);
    assert!(
        check.contains(" up ") && check.contains(" ok ") && check.contains(" ms"),
        "{table}"
    );
    // drain, status, undrain.
    let (code, table) = ctl(&secondary_socket, "drain");
    assert_eq!(code, 0, "{table}");
    assert!(table.contains("draining"), "{table}");
    wait_for(
        "drained",
        Duration::from_secs(5),
        || {
            ctl(&secondary_socket, "status")
                .1
                .contains("drained")
                .then_some(())
        },
        || secondary.log(),
    );
    let (code, table) = ctl(&secondary_socket, "undrain");
    assert_eq!(code, 0, "{table}");
    assert!(table.contains("announced"), "{table}");

    // Unknown words: a usage error (exit 2) naming what exists; an unknown zone: the
    // daemon's message (exit 4).
    let (code, out) = ctl(&secondary_socket, "zone frobnicate example.");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("unknown command \"zone frobnicate example.\""),
        "{out}"
    );
    assert!(out.contains("zone status ZONE"), "{out}");
    let (code, out) = ctl(&secondary_socket, "zone status nowhere.example.");
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("no zone nowhere.example. here"), "{out}");
}
