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

/// The package scripts/package-deb.sh builds (scripts/test.sh builds it before the tests
/// and sets ANYNS_REQUIRE_DEB=1, so in CI a missing package fails this test).
fn built_package() -> Option<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debian");
    let found = fs::read_dir(&dir).ok().and_then(|entries| {
        entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("anyns_") && n.ends_with(".deb"))
        })
    });
    if found.is_none() {
        assert!(
            std::env::var_os("ANYNS_REQUIRE_DEB").is_none(),
            "no package in {}: scripts/package-deb.sh did not build it",
            dir.display()
        );
        eprintln!(
            "\n!!!!! SKIPPED the_deb_installs_and_runs: no package in {}; run scripts/package-deb.sh !!!!!\n",
            dir.display()
        );
    }
    found
}

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(require_tool(program))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// The .deb holds what an operator needs (both binaries, the example configuration as a
/// conffile, the unit, the README) and, installed on this machine (root), runs: its
/// version, its configuration checked, its unit verified, a zone served and answered;
/// then it is purged. Not installed over an anyns the machine already has.
#[test]
fn the_deb_installs_and_runs() {
    let Some(deb) = built_package() else {
        return;
    };
    let deb = deb.to_str().expect("a UTF-8 path").to_string();
    let (ok, info) = run("dpkg-deb", &["--info", &deb]);
    assert!(ok, "{info}");
    for line in ["Package: anyns", "Depends: libc6", "Section: net"] {
        assert!(info.contains(line), "{line:?} in {info}");
    }
    let (ok, conffiles) = run("dpkg-deb", &["--info", &deb, "conffiles"]);
    assert!(
        ok && conffiles.trim() == "/etc/anyns/anyns.toml",
        "{conffiles}"
    );
    let (ok, contents) = run("dpkg-deb", &["--contents", &deb]);
    assert!(ok, "{contents}");
    for path in [
        "./usr/bin/anyns",
        "./usr/bin/anyns-lab",
        "./etc/anyns/anyns.toml",
        "./usr/lib/systemd/system/anyns.service",
        "./usr/share/doc/anyns/README.md",
    ] {
        assert!(contents.contains(path), "{path} in {contents}");
    }
    if !crate::support::bgp::is_root("the_deb_installs_and_runs (install step)") {
        return;
    }
    if run("dpkg", &["-s", "anyns"]).0 {
        eprintln!(
            "\n!!!!! SKIPPED the install step of the_deb_installs_and_runs: anyns is installed on this machine already !!!!!\n"
        );
        return;
    }
    let (ok, said) = run("dpkg", &["-i", &deb]);
    assert!(ok, "dpkg -i: {said}");
    let purge = Purge;
    let (ok, version) = run("/usr/bin/anyns", &["--version"]);
    assert!(
        ok && version.contains(env!("CARGO_PKG_VERSION")),
        "{version}"
    );
    let (ok, checked) = run("/usr/bin/anyns", &["check-config", "/etc/anyns/anyns.toml"]);
    assert!(ok, "{checked}");
    let (ok, verified) = run(
        "systemd-analyze",
        &["verify", "/usr/lib/systemd/system/anyns.service"],
    );
    assert!(ok && verified.trim().is_empty(), "{verified}");
    let (ok, help) = run("/usr/bin/anyns-lab", &["--help"]);
    assert!(ok && help.contains("anycast lab"), "{help}");
    // The installed binary serves a zone.
    let dir = test_dir();
    let port = crate::support::free_port();
    fs::write(
        dir.path().join("example.zone"),
        "$ORIGIN example.\n$TTL 300\n@ SOA ns1 h 7 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\n",
    )
    .unwrap();
    let config = dir.path().join("anyns.toml");
    fs::write(
        &config,
        format!(
            "[server]\nudp-workers = 1\n[[listen]]\naddress = \"127.0.0.1:{port}\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n"
        ),
    )
    .unwrap();
    let mut command = Command::new("/usr/bin/anyns");
    command.arg("serve").arg("-c").arg(&config);
    let daemon = crate::support::Daemon::spawn("installed", command, dir.path().join("anyns.log"));
    let address: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let reply = crate::support::wait_for(
        "the installed anyns to answer",
        std::time::Duration::from_secs(10),
        || {
            crate::support::dns::Query::new("ns1.example.", crate::support::dns::A)
                .send_udp(address)
        },
        || daemon.log(),
    );
    assert_eq!(reply.answer.len(), 1, "{reply:?}");
    drop(daemon);
    drop(purge);
    assert!(!Path::new("/usr/bin/anyns").exists(), "purged");
}

/// Purges the installed package when dropped (also when an assertion failed).
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", "anyns"]).output();
    }
}
