//! The systemd unit shipped in dist/: `systemd-analyze verify` accepts it without a
//! warning (with the built binary in place of /usr/bin/anyns), and it is what the daemon
//! implements: `Type=notify` with a watchdog (see `serving::systemd_notify_...`), a config
//! check before start, and no capability beyond binding low ports.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support::{anyns_bin, require_tool, test_dir};

#[test]
fn the_systemd_unit_verifies_and_asks_for_what_the_daemon_does() {
    let unit =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist/anyns.service"))
            .expect("dist/anyns.service");
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "ExecStartPre=/usr/bin/anyns check-config /etc/anyns/anyns.toml",
        "ExecStart=/usr/bin/anyns serve --config /etc/anyns/anyns.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=always",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
    ] {
        assert!(unit.contains(line), "the unit lacks {line:?}");
    }
    let dir = test_dir();
    let local = dir.path().join("anyns.service");
    let binary = anyns_bin();
    fs::write(
        &local,
        unit.replace("/usr/bin/anyns", binary.to_str().expect("a UTF-8 path")),
    )
    .unwrap();
    let output = Command::new(require_tool("systemd-analyze"))
        .arg("verify")
        .arg(&local)
        .output()
        .expect("systemd-analyze");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{said}");
    assert!(said.trim().is_empty(), "warnings: {said}");
}
