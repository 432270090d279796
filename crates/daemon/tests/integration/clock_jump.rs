//! The wall clock jumping under a running site (libfaketime, no root needed): DNSSEC
//! signatures are checked against the wall clock, so a jump past their expiry withdraws the
//! cloud (a validator would reject the site's answers) and a jump back announces it again;
//! the SOA timers run on the monotonic clock, which the jump does not move.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::{self, Daemon, anyns_bin, free_port, require_tool, test_dir, wait_for};

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

fn status(socket: &Path) -> serde_json::Value {
    let out = Command::new(anyns_bin())
        .args(["ctl", "--json", "--socket"])
        .arg(socket)
        .arg("status")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

#[test]
fn a_wall_clock_jump_past_the_signatures_withdraws_and_back_announces() {
    let _serial = support::serial();
    assert!(
        Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} missing: scripts/install-deps.sh installs faketime"
    );
    let dir = test_dir();
    fs::write(
        dir.path().join("example.zone"),
        "$ORIGIN example.\n$TTL 300\n@ SOA ns1 h 1 3600 600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n",
    )
    .unwrap();
    let key = Command::new(require_tool("ldns-keygen"))
        .args(["-a", "ECDSAP256SHA256", "example."])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let key = String::from_utf8_lossy(&key.stdout).trim().to_string();
    let expiration = support::unix_now() + 10 * 86_400;
    let signed = Command::new(require_tool("ldns-signzone"))
        .args([
            "-e",
            &expiration.to_string(),
            "-f",
            "signed.zone",
            "-o",
            "example.",
            "example.zone",
        ])
        .arg(&key)
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(signed.success());
    let (port, bgp_port) = (free_port(), free_port());
    let socket = dir.path().join("ctl.sock");
    fs::write(
        dir.path().join("anyns.toml"),
        format!(
            "[server]\nudp-workers = 1\ncontrol-socket = \"{}\"\n\
             [[listen]]\naddress = \"127.0.0.1:{port}\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"signed.zone\"\n\
             [bgp]\nlocal-as = 65000\nrouter-id = \"192.0.2.1\"\nprefixes = [\"203.0.113.53/32\"]\n\
             next-hop-v4 = \"192.0.2.1\"\nconnect-retry-time = 1\n\
             [[bgp.peer]]\naddress = \"127.0.0.1\"\nport = {bgp_port}\nremote-as = 65001\n\
             [health]\nhold-down-ms = 500\ndamping = false\n",
            socket.display()
        ),
    )
    .unwrap();
    let clock = dir.path().join("faketime");
    fs::write(&clock, "+0\n").unwrap();
    let mut command = Command::new(anyns_bin());
    command
        .args(["serve", "--config"])
        .arg(dir.path().join("anyns.toml"))
        .env("LD_PRELOAD", LIBFAKETIME)
        .env("FAKETIME_TIMESTAMP_FILE", &clock)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let daemon = Daemon::spawn("anyns", command, dir.path().join("anyns.log"));
    let state = || {
        status(&socket)["clouds"][0]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let wait_state = |want: &str| {
        wait_for(
            &format!("cloud {want}"),
            Duration::from_secs(20),
            || (state() == want).then_some(()),
            || format!("{}\n{}", status(&socket), daemon.log()),
        )
    };
    wait_state("announced");
    // Fifteen days later, on the wall clock only.
    fs::write(&clock, "+15d\n").unwrap();
    wait_for(
        "the withdrawal for expired signatures",
        Duration::from_secs(20),
        || (state() != "announced").then_some(()),
        || format!("{}\n{}", status(&socket), daemon.log()),
    );
    let reason = status(&socket)["clouds"][0]["last_reason"].to_string();
    assert!(reason.to_lowercase().contains("signature"), "{reason}");
    // The zone is still loaded and answered (SOA timers did not move: not expired).
    let zone = Command::new(anyns_bin())
        .args(["ctl", "--json", "--socket"])
        .arg(&socket)
        .args(["zone", "status", "example."])
        .output()
        .unwrap();
    let zone: serde_json::Value = serde_json::from_slice(&zone.stdout).unwrap();
    assert_eq!(zone["expired"], false, "{zone}");
    // Back to now: announced again.
    fs::write(&clock, "+0\n").unwrap();
    wait_state("announced");
}
