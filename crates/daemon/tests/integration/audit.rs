//! `anyns audit` (offline, no root needed): a clean zone has no finding; a crafted zone or
//! configuration shows each finding class; the exit status follows `--fail-on`; and the
//! sizes it reports are what a running anyns sends on the wire for the same queries.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::dns::{Edns, Query, start_knot_from};
use crate::support::{self, free_port, start_local_anyns, test_dir, wait_for};

/// `anyns audit --json ARGS`: (exit code, the report).
fn audit(dir: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_anyns"))
        .current_dir(dir)
        .arg("audit")
        .arg("--json")
        .args(args)
        .output()
        .expect("anyns audit");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), report)
}

/// The finding codes of a report.
fn codes(report: &serde_json::Value) -> Vec<String> {
    let mut codes: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

/// A TXT RRset of about `octets` octets (strings of 200).
fn big_txt(owner: &str, octets: usize) -> String {
    let strings: Vec<String> = (0..octets / 200)
        .map(|i| format!("\"{}\"", char::from(b'a' + i as u8).to_string().repeat(199)))
        .collect();
    format!("{owner} TXT {}\n", strings.join(" "))
}

const CLEAN: &str = "$ORIGIN example.\n$TTL 3600\n\
    @ SOA ns1 hostmaster 1 3600 600 1209600 300\n\
    @ NS ns1\n@ NS ns2.example.net.\nns1 A 192.0.2.53\nwww A 192.0.2.80\n";

#[test]
fn a_clean_zone_has_no_finding_and_each_class_is_found() {
    let dir = test_dir();
    fs::write(dir.path().join("clean.zone"), CLEAN).unwrap();
    let (code, report) = audit(dir.path(), &["--zone", "example.=clean.zone"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["findings"], serde_json::json!([]), "{report}");
    assert!(report["largest"].as_array().unwrap().len() >= 3, "{report}");

    // Every zone-level class in one crafted zone.
    let broken = format!(
        "$ORIGIN example.\n$TTL 3600\n\
         @ SOA ns1 hostmaster 1 3600 7200 86400 86400\n\
         @ NS ns1\n@ NS ns-without-address\nns1 A 192.0.2.53\n\
         forever 2000000 A 192.0.2.9\n{}{}",
        big_txt("big", 1300),
        big_txt("bigger", 1600),
    );
    fs::write(dir.path().join("broken.zone"), broken).unwrap();
    let (code, report) = audit(dir.path(), &["--zone", "example.=broken.zone"]);
    assert_eq!(code, Some(1), "errors fail the run: {report}");
    let found = codes(&report);
    for expected in [
        "ns.in-bailiwick-without-address",
        "size.over-1232",
        "size.over-1400",
        "size.over-512-without-edns",
        "soa.expire-short",
        "soa.negative-ttl-long",
        "soa.retry-not-below-refresh",
        "ttl.over-a-week",
    ] {
        assert!(
            found.iter().any(|c| c == expected),
            "{expected} in {found:?}"
        );
    }
    let largest = &report["largest"][0];
    assert_eq!(largest["qname"], "bigger.example.", "{report}");

    // A zone file that does not load (here: a delegation without its glue) is a finding
    // per problem, by line.
    fs::write(
        dir.path().join("noglue.zone"),
        CLEAN.to_string() + "child NS ns.child\n",
    )
    .unwrap();
    let (code, report) = audit(dir.path(), &["--zone", "example.=noglue.zone"]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(codes(&report), vec!["zone.does-not-load"], "{report}");
    let fact = report["findings"][0]["fact"].as_str().unwrap();
    assert!(
        fact.contains("noglue.zone:8") && fact.contains("missing glue"),
        "{fact}"
    );

    // Warnings alone pass by default and fail with --fail-on warning.
    let warnings_only = CLEAN.replace("1209600 300", "86400 300");
    fs::write(dir.path().join("warn.zone"), warnings_only).unwrap();
    let (code, report) = audit(dir.path(), &["--zone", "example.=warn.zone"]);
    assert_eq!(
        (code, codes(&report)),
        (Some(0), vec!["soa.expire-short".to_string()])
    );
    let (code, _) = audit(
        dir.path(),
        &["--zone", "example.=warn.zone", "--fail-on", "warning"],
    );
    assert_eq!(code, Some(1));
}

#[test]
fn anycast_name_servers_need_a_unicast_fallback_and_two_clouds() {
    let dir = test_dir();
    let zone = |extra: &str| {
        format!(
            "$ORIGIN example.\n$TTL 3600\n@ SOA ns1 h 1 3600 600 1209600 300\n\
             @ NS ns1\n@ NS ns2\nns1 A 203.0.113.53\nns2 A 203.0.113.54\n{extra}"
        )
    };
    fs::write(dir.path().join("anycast.zone"), zone("")).unwrap();
    let (_, report) = audit(
        dir.path(),
        &[
            "--zone",
            "example.=anycast.zone",
            "--anycast",
            "203.0.113.0/24",
        ],
    );
    assert_eq!(
        codes(&report),
        vec!["ns.no-unicast-fallback", "ns.one-cloud"],
        "{report}"
    );
    fs::write(
        dir.path().join("fallback.zone"),
        zone("@ NS ns3\nns3 A 198.51.100.7\n"),
    )
    .unwrap();
    let (_, report) = audit(
        dir.path(),
        &[
            "--zone",
            "example.=fallback.zone",
            "--anycast",
            "203.0.113.0/24",
        ],
    );
    assert_eq!(codes(&report), Vec::<String>::new(), "{report}");
    // The parent's delegation and the child's NS set differ (both zones given).
    fs::write(
        dir.path().join("parent.zone"),
        CLEAN.to_string() + "child NS a.ns.example.net.\nchild NS b.ns.example.net.\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("child.zone"),
        "$ORIGIN child.example.\n$TTL 3600\n@ SOA a.ns.example.net. h 1 3600 600 1209600 300\n\
         @ NS a.ns.example.net.\n@ NS c.ns.example.net.\n",
    )
    .unwrap();
    let (_, report) = audit(
        dir.path(),
        &[
            "--zone",
            "example.=parent.zone",
            "--zone",
            "child.example.=child.zone",
        ],
    );
    assert_eq!(codes(&report), vec!["delegation.ns-mismatch"], "{report}");
}

#[test]
fn deployment_mistakes_across_site_configurations() {
    let dir = test_dir();
    fs::write(dir.path().join("example.zone"), CLEAN).unwrap();
    let site = |name: &str, identity: &str, extra_listen: &str, zone_extra: &str| {
        let text = format!(
            "[server]\nidentity = \"{identity}\"\n\
             [[listen]]\naddress = \"203.0.113.53:53\"\nrole = \"anycast\"\n{extra_listen}\
             [[listen]]\naddress = \"198.51.100.{}:53\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n{zone_extra}\
             [bgp]\nlocal-as = 64600\nrouter-id = \"198.51.100.1\"\nprefixes = [\"203.0.113.53/32\"]\n\
             next-hop-v4 = \"198.51.100.1\"\n[[bgp.peer]]\naddress = \"198.51.100.254\"\nremote-as = 64500\n",
            name.len()
        );
        fs::write(dir.path().join(format!("{name}.toml")), text).unwrap();
    };
    site(
        "ams",
        "site",
        "transfers = true\n",
        "notify = [\"203.0.113.53\"]\n",
    );
    site("nyc1", "site", "", "");
    let (code, report) = audit(dir.path(), &["-c", "ams.toml", "-c", "nyc1.toml"]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(
        codes(&report),
        vec![
            "deploy.identity-not-unique",
            "deploy.one-upstream-as",
            "deploy.transfer-peer-anycast",
            "deploy.transfers-on-anycast",
        ],
        "{report}"
    );
}

/// The sizes `audit` reports for the largest answers are the lengths anyns sends for the
/// same queries over TCP (and NSID is counted with the configured identity).
#[test]
fn reported_sizes_are_what_the_server_sends() {
    let _serial = support::serial();
    let dir = test_dir();
    let zone = CLEAN.to_string()
        + &big_txt("big", 1300)
        + "*.wild A 192.0.2.1\nsub NS ns.sub\nns.sub A 192.0.2.99\n";
    fs::write(dir.path().join("example.zone"), &zone).unwrap();
    let port = free_port();
    let config = format!(
        "[server]\nidentity = \"site-1\"\nudp-workers = 1\n\
         [[listen]]\naddress = \"127.0.0.1:{port}\"\nrole = \"unicast\"\n\
         [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n"
    );
    fs::write(dir.path().join("site.toml"), &config).unwrap();
    let (_, report) = audit(dir.path(), &["-c", "site.toml"]);
    let daemon = start_local_anyns(dir.path(), "anyns", &config);
    let address = ([127, 0, 0, 1], port).into();
    wait_for(
        "anyns to answer",
        Duration::from_secs(10),
        || Query::new("www.example.", 1).send_udp(address),
        || daemon.log(),
    );
    let largest = report["largest"].as_array().unwrap();
    let kinds: Vec<&str> = largest.iter().filter_map(|m| m["kind"].as_str()).collect();
    for kind in ["answer", "referral", "wildcard", "nxdomain"] {
        assert!(kinds.contains(&kind), "{kind} among the largest: {report}");
    }
    for m in largest {
        let qtype = match m["qtype"].as_str().unwrap() {
            "A" => 1,
            "NS" => 2,
            "SOA" => 6,
            "TXT" => 16,
            "ANY" => 255,
            other => other
                .strip_prefix("TYPE")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("type {other}")),
        };
        let variant = m["variant"].as_str().unwrap();
        let mut query = Query::new(m["qname"].as_str().unwrap(), qtype);
        if variant != "no EDNS" {
            query = query.edns(Some(Edns {
                dnssec_ok: variant.contains("DO"),
                nsid: variant.contains("NSID"),
                ..Edns::payload(4096)
            }));
        }
        let reply = query.send_tcp(address).expect("an answer");
        assert_eq!(
            reply.bytes.len() as u64,
            m["size"].as_u64().unwrap(),
            "{m} (the wire says {})",
            reply.bytes.len()
        );
    }
}

/// `audit --live` against anyns, Knot and NSD serving the same zone, a copy of it that lags with
/// another NS set, and an address nobody answers on: RFC 8906's tests pass at both servers,
/// the sizes they send are the same, the laggard and the NS mismatch are named, and the
/// silent address costs one timeout and two errors.
#[test]
fn the_live_audit_compares_servers_on_the_wire() {
    let _serial = support::serial();
    let dir = test_dir();
    let zone = CLEAN.to_string() + &big_txt("big", 1300);
    fs::write(dir.path().join("example.zone"), &zone).unwrap();
    let lagging = dir.path().join("lagging");
    fs::create_dir_all(&lagging).unwrap();
    fs::write(
        lagging.join("example.zone"),
        zone.replace("hostmaster 1 ", "hostmaster 0 ")
            .replace("@ NS ns2.example.net.", "@ NS ns3.example.net."),
    )
    .unwrap();
    let (port, lagging_port, silent) = (free_port(), free_port(), free_port());
    let config = |port: u16| {
        format!(
            "[server]\nidentity = \"site-{port}\"\nudp-workers = 1\n\
             [[listen]]\naddress = \"127.0.0.1:{port}\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n"
        )
    };
    let anyns = start_local_anyns(dir.path(), "anyns", &config(port));
    let behind = start_local_anyns(&lagging, "lagging", &config(lagging_port));
    let knot = start_knot_from(&[("example.", "example.zone")], dir.path());
    // NSD with minimal responses, as anyns and Knot answer.
    let nsd_port = free_port();
    let nsd_dir = dir.path().join("nsd");
    fs::create_dir_all(&nsd_dir).unwrap();
    fs::write(nsd_dir.join("example.zone"), &zone).unwrap();
    let nsd_conf = nsd_dir.join("nsd.conf");
    fs::write(
        &nsd_conf,
        format!(
            "server:\n    ip-address: 127.0.0.1@{nsd_port}\n    server-count: 1\n    username: \"\"\n\
             \x20   database: \"\"\n    zonelistfile: \"{d}/zone.list\"\n    xfrdfile: \"{d}/xfrd.state\"\n\
             \x20   pidfile: \"{d}/nsd.pid\"\n    zonesdir: \"{d}\"\n    logfile: \"{d}/nsd.log\"\n\
             \x20   minimal-responses: yes\n    rrl-ratelimit: 0\n\
             remote-control:\n    control-enable: no\n\
             zone:\n    name: example.\n    zonefile: example.zone\n",
            d = nsd_dir.display()
        ),
    )
    .unwrap();
    let mut command = Command::new(support::require_tool("nsd"));
    command.arg("-d").arg("-c").arg(&nsd_conf);
    let nsd = support::Daemon::spawn("nsd", command, nsd_dir.join("stderr.log"));
    let nsd_address: std::net::SocketAddr = ([127, 0, 0, 1], nsd_port).into();
    wait_for(
        "nsd to answer",
        Duration::from_secs(10),
        || Query::new("www.example.", 1).send_udp(nsd_address),
        || nsd.log(),
    );
    for (address, daemon) in [(port, &anyns), (lagging_port, &behind)] {
        wait_for(
            "anyns to answer",
            Duration::from_secs(10),
            || Query::new("www.example.", 1).send_udp(([127, 0, 0, 1], address).into()),
            || daemon.log(),
        );
    }
    let (code, report) = audit(
        dir.path(),
        &[
            "--live",
            "example.",
            "--server",
            &format!("127.0.0.1:{port}"),
            "--server",
            &knot.addr.to_string(),
            "--server",
            &nsd_address.to_string(),
            "--server",
            &format!("127.0.0.1:{lagging_port}"),
            "--server",
            &format!("127.0.0.1:{silent}"),
            "--timeout-ms",
            "500",
        ],
    );
    assert_eq!(code, Some(1), "{report}");
    let servers = report["servers"].as_array().unwrap();
    let (ours, knot, nsd) = (&servers[0], &servers[1], &servers[2]);
    assert_eq!(ours["nsid"], format!("site-{port}"), "{report}");
    let failed = |server: &serde_json::Value| -> Vec<String> {
        server["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ok"] != true)
            .map(|c| c["test"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(failed(ours), Vec::<String>::new(), "{ours}");
    assert_eq!(failed(knot), Vec::<String>::new(), "{knot}");
    // NSD drops a query with an unknown opcode where RFC 8906's test expects NOTIMP: the
    // audit says so, and passes it on everything else.
    assert_eq!(failed(nsd), vec!["unknown opcode"], "{nsd}");
    for server in [ours, knot, nsd] {
        assert_eq!(server["serial"], 1);
        assert_eq!(server["tcp"], serde_json::json!({ "Ok": null }), "{server}");
    }
    assert_eq!(
        ours["sizes"], knot["sizes"],
        "anyns and Knot send the same sizes"
    );
    assert_eq!(
        ours["sizes"], nsd["sizes"],
        "anyns and NSD send the same sizes"
    );
    assert_eq!(ours["sizes"].as_array().unwrap().len(), 4, "{ours}");
    let found = codes(&report);
    assert_eq!(
        found,
        vec![
            "live.edns-nonconformant",
            "live.no-answer",
            "live.ns-mismatch",
            "live.serial-behind",
            "live.tcp-unreachable"
        ],
        "{report}"
    );
    let named = |code: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code)
            .map(|f| f["at"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        named("live.serial-behind"),
        vec![format!(
            "127.0.0.1:{lagging_port} (NSID site-{lagging_port})"
        )]
    );
    assert_eq!(
        named("live.tcp-unreachable"),
        vec![format!("127.0.0.1:{silent}")]
    );
}

/// The classes the other tests do not reach: glue the child contradicts, a cloud one site
/// announces, a long REFRESH, and signatures that expire soon and before EXPIRE (a zone
/// signed with ldns-signzone for a few days).
#[test]
fn glue_clouds_refresh_and_signature_timers() {
    let dir = test_dir();
    // Glue 192.0.2.1 in the parent, 192.0.2.2 in the child.
    fs::write(
        dir.path().join("parent.zone"),
        CLEAN.to_string() + "child NS ns.child\nns.child A 192.0.2.1\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("child.zone"),
        "$ORIGIN child.example.\n$TTL 3600\n@ SOA ns h 1 3600 600 1209600 300\n\
         @ NS ns\nns A 192.0.2.2\n",
    )
    .unwrap();
    let (_, report) = audit(
        dir.path(),
        &[
            "--zone",
            "example.=parent.zone",
            "--zone",
            "child.example.=child.zone",
        ],
    );
    assert_eq!(codes(&report), vec!["delegation.glue-mismatch"], "{report}");

    // REFRESH of a day.
    fs::write(
        dir.path().join("slow.zone"),
        CLEAN.replace("hostmaster 1 3600 600", "hostmaster 1 86400 600"),
    )
    .unwrap();
    let (_, report) = audit(dir.path(), &["--zone", "example.=slow.zone"]);
    assert_eq!(codes(&report), vec!["soa.refresh-long"], "{report}");

    // Two sites, a second cloud at one of them only.
    fs::write(dir.path().join("example.zone"), CLEAN).unwrap();
    for (name, prefixes, unicast) in [
        ("ams", "\"203.0.113.53/32\", \"198.51.100.53/32\"", 7),
        ("nyc", "\"203.0.113.53/32\"", 8),
    ] {
        fs::write(
            dir.path().join(format!("{name}.toml")),
            format!(
                "[server]\nidentity = \"{name}\"\n\
                 [[listen]]\naddress = \"198.51.100.{unicast}:53\"\nrole = \"unicast\"\n\
                 [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n\
                 [bgp]\nlocal-as = 64600\nrouter-id = \"198.51.100.{unicast}\"\nprefixes = [{prefixes}]\n\
                 next-hop-v4 = \"198.51.100.{unicast}\"\n\
                 [[bgp.peer]]\naddress = \"198.51.100.254\"\nremote-as = 6450{unicast}\n"
            ),
        )
        .unwrap();
    }
    let (_, report) = audit(dir.path(), &["-c", "ams.toml", "-c", "nyc.toml"]);
    assert_eq!(codes(&report), vec!["deploy.single-site-cloud"], "{report}");
    assert_eq!(report["findings"][0]["at"], "198.51.100.53/32", "{report}");

    // Signatures for five days, then for two, against an EXPIRE of two weeks.
    let keygen = |dir: &Path| -> String {
        let out = Command::new(support::require_tool("ldns-keygen"))
            .args(["-a", "ECDSAP256SHA256", "example."])
            .current_dir(dir)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let key = keygen(dir.path());
    for (days, expected) in [
        (
            5,
            vec![
                "dnssec.signatures-before-expire",
                "dnssec.signatures-expire",
            ],
        ),
        (
            2,
            vec![
                "dnssec.signatures-before-expire",
                "dnssec.signatures-expire-soon",
            ],
        ),
    ] {
        let expiration = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + days * 86_400;
        let status = Command::new(support::require_tool("ldns-signzone"))
            .args([
                "-e",
                &expiration.to_string(),
                "-f",
                "signed.zone",
                "-o",
                "example.",
            ])
            .arg("example.zone")
            .arg(&key)
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let (_, report) = audit(dir.path(), &["--zone", "example.=signed.zone"]);
        let found: Vec<String> = codes(&report)
            .into_iter()
            .filter(|c| c.starts_with("dnssec."))
            .collect();
        assert_eq!(found, expected, "{days} days: {report}");
    }
}

/// The remaining classes, offline and live: a zone without NS, EXPIRE not above
/// REFRESH + RETRY, short NS TTLs, a site without identity, a secondary not yet
/// transferred; live, an NS set too large for 1232 octets and no unicast server.
#[test]
fn the_remaining_classes() {
    let dir = test_dir();
    fs::write(
        dir.path().join("odd.zone"),
        "$ORIGIN example.\n$TTL 3600\n@ SOA ns1 h 1 3600 600 3600 300\n@ 60 NS ns1\n\
         ns1 A 192.0.2.53\n",
    )
    .unwrap();
    let (_, report) = audit(dir.path(), &["--zone", "example.=odd.zone"]);
    let found = codes(&report);
    for expected in [
        "soa.expire-before-retry",
        "soa.expire-short",
        "ttl.short-infrastructure",
    ] {
        assert!(
            found.iter().any(|c| c == expected),
            "{expected} in {found:?}"
        );
    }
    fs::write(
        dir.path().join("site.toml"),
        "[server]\nstorage = \"storage\"\n[[listen]]\naddress = \"198.51.100.7:53\"\nrole = \"unicast\"\n\
         [[zone]]\nname = \"example.\"\nprimaries = [\"192.0.2.1\"]\n",
    )
    .unwrap();
    fs::create_dir_all(dir.path().join("storage")).unwrap();
    let (code, report) = audit(dir.path(), &["-c", "site.toml"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(
        codes(&report),
        vec!["deploy.no-identity", "zone.not-audited"],
        "{report}"
    );

    // Live: 30 NS names of 60 octets do not fit in 1232 octets; the only server is anycast.
    let _serial = support::serial();
    let mut zone =
        String::from("$ORIGIN example.\n$TTL 3600\n@ SOA ns1 h 1 3600 600 1209600 300\n");
    for i in 0..30 {
        zone.push_str(&format!("@ NS ns{i}-{}.example.net.\n", "x".repeat(50)));
    }
    fs::write(dir.path().join("wide.zone"), &zone).unwrap();
    let port = free_port();
    let daemon = start_local_anyns(
        dir.path(),
        "wide",
        &format!(
            "[server]\nudp-workers = 1\n[[listen]]\naddress = \"127.0.0.1:{port}\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"wide.zone\"\n"
        ),
    );
    wait_for(
        "anyns",
        Duration::from_secs(10),
        || Query::new("example.", 6).send_udp(([127, 0, 0, 1], port).into()),
        || daemon.log(),
    );
    let (_, report) = audit(
        dir.path(),
        &[
            "--live",
            "example.",
            "--server",
            &format!("127.0.0.1:{port}"),
            "--anycast",
            "127.0.0.0/8",
        ],
    );
    assert_eq!(
        codes(&report),
        vec!["live.no-unicast-server", "live.size-over-1232"],
        "{report}"
    );
    let size = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "live.size-over-1232")
        .unwrap();
    assert!(
        size["fact"]
            .as_str()
            .unwrap()
            .contains("TC with a 1232 buffer"),
        "{size}"
    );
}
