//! Zone transfers with BIND 9.18 and NSD 4.6 on loopback, TSIG-signed, NOTIFY both ways: each
//! as the primary of an anyns secondary (a first transfer, then a change NOTIFYd and pulled)
//! and as the secondary of an anyns primary (the same from the other side). The peers are on
//! 127.0.0.1; anyns listens (and sends from) 127.0.0.2, its anycast listener is 127.0.0.3.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::dns::{Query, Reply, udp_exchange_timeout};
use crate::support::{
    self, Daemon, free_port, require_tool, start_local_anyns, test_dir, wait_for, wait_for_log_line,
};

const TSIG: &str = "cC8xTnNJMnRmWUp5bTRzUzBzN0xRY0g1WDl6R3VkZXY=";

/// The zone at `serial`: one record changes between serials, 40 stay (a difference small
/// enough for BIND's max-ixfr-ratio to serve it as IXFR).
fn zone(serial: u32) -> String {
    let mut text = format!(
        "$ORIGIN example.\n$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 1209600 60\n\
         @ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.{serial}\n"
    );
    for i in 0..40 {
        text.push_str(&format!("host{i} A 198.51.100.{i}\n"));
    }
    text
}

/// The SOA serial `address` serves for example., if it answers.
fn serial_at(address: [u8; 4], port: u16) -> Option<u32> {
    let bytes = udp_exchange_timeout(
        (address, port).into(),
        &Query::new("example.", 6).to_bytes(),
        Duration::from_millis(500),
    )?;
    Reply::parse(bytes)
        .answer
        .first()
        .and_then(|soa| soa.rdata.split_whitespace().nth(2)?.parse().ok())
}

fn hup(daemon: &Daemon) {
    let status = Command::new("kill")
        .args(["-HUP", &daemon.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn anyns_secondary(dir: &Path, port: u16, primary: u16) -> Daemon {
    fs::create_dir_all(dir.join("storage")).unwrap();
    start_local_anyns(
        dir,
        "anyns",
        &format!(
            "[server]\nudp-workers = 1\nstorage = \"storage\"\n\
             [[listen]]\naddress = \"127.0.0.2:{port}\"\nrole = \"unicast\"\n\
             [[listen]]\naddress = \"127.0.0.3:{port}\"\nrole = \"anycast\"\n\
             [[key]]\nname = \"xfr-key.\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{TSIG}\"\n\
             [[zone]]\nname = \"example.\"\nprimaries = [\"127.0.0.1:{primary}\"]\nkey = \"xfr-key.\"\n"
        ),
    )
}

fn anyns_primary(dir: &Path, port: u16, secondary: u16) -> Daemon {
    fs::write(dir.join("example.zone"), zone(1)).unwrap();
    start_local_anyns(
        dir,
        "anyns",
        &format!(
            "[server]\nudp-workers = 1\n\
             [[listen]]\naddress = \"127.0.0.2:{port}\"\nrole = \"unicast\"\n\
             [[key]]\nname = \"xfr-key.\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{TSIG}\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\nkey = \"xfr-key.\"\n\
             allow-transfer = [\"127.0.0.1\"]\nnotify = [\"127.0.0.1:{secondary}\"]\n"
        ),
    )
}

/// Waits until `address:port` serves `serial`.
fn wait_serial(address: [u8; 4], port: u16, serial: u32, logs: &[&Daemon]) {
    wait_for(
        &format!("serial {serial} at {address:?}:{port}"),
        Duration::from_secs(20),
        || (serial_at(address, port) == Some(serial)).then_some(()),
        || {
            logs.iter()
                .map(|d| d.log())
                .collect::<Vec<_>>()
                .join("\n-----\n")
        },
    );
}

#[test]
fn bind_primary_to_anyns_secondary_with_notify_and_ixfr() {
    let _serial = support::serial();
    let dir = test_dir();
    let (bind_port, anyns_port) = (free_port(), free_port());
    let bind_dir = dir.path().join("bind");
    fs::create_dir_all(&bind_dir).unwrap();
    fs::write(bind_dir.join("example.zone"), zone(1)).unwrap();
    let d = bind_dir.display();
    let bind = support::start_named(
        &bind_dir,
        &format!(
            "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; recursion no;\n\
             listen-on port {bind_port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};\n\
             dnssec-validation no; notify explicit; ixfr-from-differences yes; }};\n\
             key \"xfr-key.\" {{ algorithm hmac-sha256; secret \"{TSIG}\"; }};\n\
             zone \"example.\" {{ type primary; file \"{d}/example.zone\";\n\
             allow-transfer {{ key xfr-key.; }};\n\
             also-notify {{ 127.0.0.2 port {anyns_port} key xfr-key.; }}; }};\n"
        ),
    );
    wait_serial([127, 0, 0, 1], bind_port, 1, &[&bind]);
    let anyns = anyns_secondary(dir.path(), anyns_port, bind_port);
    wait_serial([127, 0, 0, 3], anyns_port, 1, &[&anyns, &bind]);
    fs::write(bind_dir.join("example.zone"), zone(2)).unwrap();
    hup(&bind);
    wait_serial([127, 0, 0, 3], anyns_port, 2, &[&anyns, &bind]);
    // The log line follows the swap by a moment: wait for it rather than read once.
    let log = wait_for_log_line(
        || anyns.log(),
        &["zone transferred and serving", "serial=2"],
    );
    assert!(log.contains("NOTIFY received"), "{log}");
    assert!(
        log.contains("kind=\"IXFR\"") || log.contains("kind=IXFR"),
        "BIND served IXFR: {log}"
    );
}

#[test]
fn anyns_primary_to_bind_secondary_with_notify_and_ixfr() {
    let _serial = support::serial();
    let dir = test_dir();
    let (bind_port, anyns_port) = (free_port(), free_port());
    let anyns = anyns_primary(dir.path(), anyns_port, bind_port);
    wait_serial([127, 0, 0, 2], anyns_port, 1, &[&anyns]);
    let bind_dir = dir.path().join("bind");
    fs::create_dir_all(&bind_dir).unwrap();
    let d = bind_dir.display();
    let bind = support::start_named(
        &bind_dir,
        &format!(
            "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; recursion no;\n\
             listen-on port {bind_port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};\n\
             dnssec-validation no; notify no; }};\n\
             key \"xfr-key.\" {{ algorithm hmac-sha256; secret \"{TSIG}\"; }};\n\
             zone \"example.\" {{ type secondary; file \"{d}/example.db\";\n\
             primaries {{ 127.0.0.2 port {anyns_port} key xfr-key.; }}; }};\n"
        ),
    );
    wait_serial([127, 0, 0, 1], bind_port, 1, &[&bind, &anyns]);
    fs::write(dir.path().join("example.zone"), zone(2)).unwrap();
    hup(&anyns);
    wait_serial([127, 0, 0, 1], bind_port, 2, &[&bind, &anyns]);
    let log = anyns.log();
    assert!(
        log.contains("plan=\"incremental\"") || log.contains("plan=incremental"),
        "BIND asked IXFR: {log}"
    );
    assert!(log.contains("tsig=true"), "{log}");
}

/// NSD's configuration for example. (primary: from `zonefile`; secondary: from anyns).
fn start_nsd(dir: &Path, port: u16, zone_lines: &str) -> Daemon {
    let d = dir.display();
    fs::write(
        dir.join("nsd.conf"),
        format!(
            "server:\n    ip-address: 127.0.0.1@{port}\n    server-count: 1\n    username: \"\"\n\
             \x20   database: \"\"\n    zonelistfile: \"{d}/zone.list\"\n    xfrdfile: \"{d}/xfrd.state\"\n\
             \x20   pidfile: \"{d}/nsd.pid\"\n    zonesdir: \"{d}\"\n    logfile: \"{d}/nsd.log\"\n\
             \x20   verbosity: 2\n\
             remote-control:\n    control-enable: no\n\
             key:\n    name: xfr-key.\n    algorithm: hmac-sha256\n    secret: \"{TSIG}\"\n\
             zone:\n    name: example.\n{zone_lines}"
        ),
    )
    .unwrap();
    let mut command = Command::new(require_tool("nsd"));
    command.arg("-d").arg("-c").arg(dir.join("nsd.conf"));
    Daemon::spawn("nsd", command, dir.join("stderr.log"))
}

#[test]
fn nsd_primary_to_anyns_secondary_with_notify() {
    let _serial = support::serial();
    let dir = test_dir();
    let (nsd_port, anyns_port) = (free_port(), free_port());
    let nsd_dir = dir.path().join("nsd");
    fs::create_dir_all(&nsd_dir).unwrap();
    fs::write(nsd_dir.join("example.zone"), zone(1)).unwrap();
    let nsd = start_nsd(
        &nsd_dir,
        nsd_port,
        &format!(
            "    zonefile: example.zone\n    provide-xfr: 127.0.0.2 xfr-key.\n\
             \x20   notify: 127.0.0.2@{anyns_port} xfr-key.\n"
        ),
    );
    wait_serial([127, 0, 0, 1], nsd_port, 1, &[&nsd]);
    let anyns = anyns_secondary(dir.path(), anyns_port, nsd_port);
    wait_serial([127, 0, 0, 3], anyns_port, 1, &[&anyns, &nsd]);
    fs::write(nsd_dir.join("example.zone"), zone(2)).unwrap();
    hup(&nsd);
    wait_serial([127, 0, 0, 3], anyns_port, 2, &[&anyns, &nsd]);
    assert!(anyns.log().contains("NOTIFY received"), "{}", anyns.log());
}

#[test]
fn anyns_primary_to_nsd_secondary_with_notify() {
    let _serial = support::serial();
    let dir = test_dir();
    let (nsd_port, anyns_port) = (free_port(), free_port());
    let anyns = anyns_primary(dir.path(), anyns_port, nsd_port);
    wait_serial([127, 0, 0, 2], anyns_port, 1, &[&anyns]);
    let nsd_dir = dir.path().join("nsd");
    fs::create_dir_all(&nsd_dir).unwrap();
    let nsd = start_nsd(
        &nsd_dir,
        nsd_port,
        &format!(
            "    zonefile: example.db\n    request-xfr: 127.0.0.2@{anyns_port} xfr-key.\n\
             \x20   allow-notify: 127.0.0.2 xfr-key.\n"
        ),
    );
    wait_serial([127, 0, 0, 1], nsd_port, 1, &[&nsd, &anyns]);
    fs::write(dir.path().join("example.zone"), zone(2)).unwrap();
    hup(&anyns);
    wait_serial([127, 0, 0, 1], nsd_port, 2, &[&nsd, &anyns]);
    assert!(anyns.log().contains("tsig=true"), "{}", anyns.log());
}

/// A catalog zone (RFC 9432, version 2) served by BIND 9.18 with its member zones: anyns
/// consumes it, provisions the members it lists and transfers them from BIND; a member
/// added to the catalog on BIND (reload, NOTIFY) is provisioned too.
#[test]
fn a_catalog_served_by_bind_provisions_members_at_anyns() {
    let _serial = support::serial();
    let dir = test_dir();
    let (bind_port, anyns_port) = (free_port(), free_port());
    let bind_dir = dir.path().join("bind");
    fs::create_dir_all(&bind_dir).unwrap();
    let catalog = |serial: u32, members: &[(&str, &str)]| {
        let mut text = format!(
            "$ORIGIN catalog.invalid.\n$TTL 0\n@ SOA invalid. invalid. {serial} 3600 600 2419200 3600\n\
             @ NS invalid.\nversion TXT \"2\"\n"
        );
        for (unique, zone) in members {
            text.push_str(&format!("{unique}.zones PTR {zone}\n"));
        }
        text
    };
    fs::write(
        bind_dir.join("catalog.zone"),
        catalog(1, &[("a1", "m1.example.")]),
    )
    .unwrap();
    for member in ["m1", "m2"] {
        fs::write(
            bind_dir.join(format!("{member}.zone")),
            format!(
                "$ORIGIN {member}.example.\n$TTL 300\n@ SOA ns hm 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n"
            ),
        )
        .unwrap();
    }
    let d = bind_dir.display();
    let zone_block = |name: &str, file: &str| {
        format!(
            "zone \"{name}\" {{ type primary; file \"{d}/{file}\"; allow-transfer {{ 127.0.0.2; }};\n\
             also-notify {{ 127.0.0.2 port {anyns_port}; }}; }};\n"
        )
    };
    let bind = support::start_named(
        &bind_dir,
        &format!(
            "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; recursion no;\n\
             listen-on port {bind_port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};\n\
             dnssec-validation no; notify explicit; }};\n{}{}{}",
            zone_block("catalog.invalid.", "catalog.zone"),
            zone_block("m1.example.", "m1.zone"),
            zone_block("m2.example.", "m2.zone"),
        ),
    );
    wait_for(
        "named",
        Duration::from_secs(20),
        || {
            udp_exchange_timeout(
                ([127, 0, 0, 1], bind_port).into(),
                &Query::new("catalog.invalid.", 6).to_bytes(),
                Duration::from_millis(500),
            )
            .filter(|bytes| Reply::parse(bytes.clone()).rcode == 0)
        },
        || bind.log(),
    );
    fs::create_dir_all(dir.path().join("storage")).unwrap();
    let anyns = start_local_anyns(
        dir.path(),
        "anyns",
        &format!(
            "[server]\nudp-workers = 1\nstorage = \"storage\"\n\
             [[listen]]\naddress = \"127.0.0.2:{anyns_port}\"\nrole = \"unicast\"\n\
             [[listen]]\naddress = \"127.0.0.3:{anyns_port}\"\nrole = \"anycast\"\n\
             [[zone]]\nname = \"catalog.invalid.\"\nprimaries = [\"127.0.0.1:{bind_port}\"]\ncatalog = \"consumer\"\n"
        ),
    );
    let rcode = |zone: &str| {
        udp_exchange_timeout(
            ([127, 0, 0, 3], anyns_port).into(),
            &Query::new(zone, 6).to_bytes(),
            Duration::from_millis(500),
        )
        .map(|bytes| Reply::parse(bytes).rcode)
    };
    let logs = || format!("{}\n-----\n{}", anyns.log(), bind.log());
    wait_for(
        "m1.example. provisioned from BIND's catalog",
        Duration::from_secs(20),
        || (rcode("m1.example.") == Some(0)).then_some(()),
        logs,
    );
    assert_eq!(
        rcode("m2.example."),
        Some(5),
        "m2 is not in the catalog yet"
    );
    fs::write(
        bind_dir.join("catalog.zone"),
        catalog(2, &[("a1", "m1.example."), ("a2", "m2.example.")]),
    )
    .unwrap();
    hup(&bind);
    wait_for(
        "m2.example. provisioned after the catalog changed",
        Duration::from_secs(20),
        || (rcode("m2.example.") == Some(0)).then_some(()),
        logs,
    );
}
