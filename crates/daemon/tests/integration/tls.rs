//! DNS over TLS and zone transfers over TLS on loopback (no root needed), with the real
//! clients: `kdig +tls` queries on an anycast-role and a unicast-role TLS listener, AXFR
//! over TLS served on the unicast one only, a TLS session resumed at another process that
//! shares the ticket key (and not at one that does not), the certificate reloaded on SIGHUP,
//! and `check-config` naming each TLS mistake. Certificates are made with `openssl`.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::dns::{A, Query};
use crate::support::{self, free_port, require_tool, start_local_anyns, test_dir, wait_for};

const ZONE: &str = "$ORIGIN example.\n$TTL 300\n@ SOA ns1 hostmaster 7 3600 600 1209600 300\n\
                    @ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\n";
const TICKET_KEY: &str = "5e1f0a3c9b7d2e4f6a8c0b1d3e5f7a9c2b4d6e8f0a1c3e5b7d9f1a3c5e7b9d0f";

/// A self-signed certificate and key (EC P-256 unless `rsa_bits`) for `name`, in `dir`.
fn certificate(dir: &Path, stem: &str, name: &str, rsa_bits: Option<u32>) {
    let key = match rsa_bits {
        Some(bits) => format!("rsa:{bits}"),
        None => "ec".to_string(),
    };
    let mut command = Command::new(require_tool("openssl"));
    command.args(["req", "-x509", "-nodes", "-days", "2", "-newkey", &key]);
    if rsa_bits.is_none() {
        command.args(["-pkeyopt", "ec_paramgen_curve:prime256v1"]);
    }
    let status = command
        .arg("-keyout")
        .arg(dir.join(format!("{stem}.key")))
        .arg("-out")
        .arg(dir.join(format!("{stem}.pem")))
        .args([
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            &format!("subjectAltName=DNS:{name}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl req");
    assert!(status.success(), "openssl req");
}

fn kdig(address: &str, port: u16, args: &[&str]) -> String {
    let out = Command::new(require_tool("kdig"))
        .arg(format!("@{address}"))
        .args(["-p", &port.to_string(), "+tls", "+time=3", "+retry=0"])
        .args(args)
        .output()
        .expect("kdig");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// One `openssl s_client` connection: with `sess_in`, tries to resume that session; with
/// `sess_out`, saves the session. Returns what it printed.
fn s_client(port: u16, sess_in: Option<&Path>, sess_out: Option<&Path>) -> String {
    let mut command = Command::new(require_tool("openssl"));
    command.args([
        "s_client",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-alpn",
        "dot",
    ]);
    if let Some(file) = sess_in {
        command.arg("-sess_in").arg(file);
    }
    if let Some(file) = sess_out {
        command.arg("-sess_out").arg(file);
    }
    // Stdin open for a moment: the TLS 1.3 ticket arrives after the handshake.
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl s_client");
    std::thread::sleep(Duration::from_millis(500));
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("s_client");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn config(
    plain: &str,
    tls_listeners: &[(&str, u16, &str)],
    cert: &str,
    ticket: Option<&str>,
) -> String {
    let mut text = format!(
        "[server]\nidentity = \"tls-test\"\nudp-workers = 1\n\
         [[listen]]\naddress = \"{plain}\"\nrole = \"unicast\"\n"
    );
    for (address, port, role) in tls_listeners {
        text.push_str(&format!(
            "[[listen]]\naddress = \"{address}:{port}\"\nrole = \"{role}\"\ntransport = \"tls\"\n"
        ));
    }
    text.push_str(&format!(
        "[[zone]]\nname = \"example.\"\nfile = \"example.zone\"\nallow-transfer = [\"127.0.0.0/8\"]\n\
         [tls]\ncertificate = \"{cert}.pem\"\nkey = \"{cert}.key\"\n"
    ));
    if let Some(ticket) = ticket {
        text.push_str(&format!("ticket-key-file = \"{ticket}\"\n"));
    }
    text
}

#[test]
fn dns_and_transfers_over_tls_with_shared_tickets() {
    let _serial = support::serial();
    let dir = test_dir();
    fs::write(dir.path().join("example.zone"), ZONE).unwrap();
    certificate(dir.path(), "cert", "ns.example", None);
    fs::write(dir.path().join("ticket.key"), TICKET_KEY).unwrap();
    fs::write(
        dir.path().join("other-ticket.key"),
        TICKET_KEY.replace('5', "6"),
    )
    .unwrap();
    let (plain, anycast_tls, unicast_tls) = (free_port(), free_port(), free_port());
    let mut first = start_local_anyns(
        dir.path(),
        "first",
        &config(
            &format!("127.0.0.1:{plain}"),
            &[
                ("127.0.0.2", anycast_tls, "anycast"),
                ("127.0.0.1", unicast_tls, "unicast"),
            ],
            "cert",
            Some("ticket.key"),
        ),
    );
    wait_for(
        "the plain listener",
        Duration::from_secs(10),
        || Query::new("www.example.", A).send_udp(([127, 0, 0, 1], plain).into()),
        || first.log(),
    );

    // DNS over TLS on both TLS listeners.
    for (address, port) in [("127.0.0.2", anycast_tls), ("127.0.0.1", unicast_tls)] {
        let out = kdig(address, port, &["www.example.", "A"]);
        assert!(
            out.contains("status: NOERROR") && out.contains("192.0.2.80"),
            "{out}"
        );
        assert!(out.contains("TLS session (TLS1.3)"), "TLS 1.3: {out}");
    }
    // AXFR over TLS: served on the unicast listener, refused on the anycast one.
    let axfr = kdig("127.0.0.1", unicast_tls, &["example.", "AXFR"]);
    assert_eq!(axfr.matches("\tSOA\t").count(), 2, "a whole zone: {axfr}");
    let refused = kdig("127.0.0.2", anycast_tls, &["example.", "AXFR"]);
    assert!(refused.contains("REFUSED"), "{refused}");

    // A session resumed at another process sharing the ticket key; not at one without it.
    let (second_port, third_port) = (free_port(), free_port());
    let second_dir = dir.path().join("second");
    let third_dir = dir.path().join("third");
    for sub in [&second_dir, &third_dir] {
        fs::create_dir_all(sub).unwrap();
        fs::write(sub.join("example.zone"), ZONE).unwrap();
        for file in ["cert.pem", "cert.key"] {
            fs::copy(dir.path().join(file), sub.join(file)).unwrap();
        }
    }
    let second = start_local_anyns(
        &second_dir,
        "second",
        &config(
            &format!("127.0.0.1:{}", free_port()),
            &[("127.0.0.1", second_port, "unicast")],
            "cert",
            Some("../ticket.key"),
        ),
    );
    let third = start_local_anyns(
        &third_dir,
        "third",
        &config(
            &format!("127.0.0.1:{}", free_port()),
            &[("127.0.0.1", third_port, "unicast")],
            "cert",
            Some("../other-ticket.key"),
        ),
    );
    for (port, daemon) in [(second_port, &second), (third_port, &third)] {
        wait_for(
            "a TLS listener",
            Duration::from_secs(10),
            || {
                std::net::TcpStream::connect(("127.0.0.1", port))
                    .ok()
                    .map(drop)
            },
            || daemon.log(),
        );
    }
    let session = dir.path().join("session.pem");
    let fresh = s_client(unicast_tls, None, Some(&session));
    assert!(fresh.contains("New, TLSv1.3"), "{fresh}");
    assert!(session.exists(), "a session saved: {fresh}");
    let resumed = s_client(second_port, Some(&session), None);
    assert!(
        resumed.contains("Reused, TLSv1.3"),
        "resumed at the other site: {resumed}"
    );
    let full = s_client(third_port, Some(&session), None);
    assert!(
        full.contains("New, TLSv1.3"),
        "another key: a full handshake: {full}"
    );

    // SIGHUP: a new certificate for new connections.
    certificate(dir.path(), "cert", "ns2.example", None);
    let status = Command::new("kill")
        .args(["-HUP", &first.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for(
        "the new certificate",
        Duration::from_secs(10),
        || {
            s_client(unicast_tls, None, None)
                .contains("ns2.example")
                .then_some(())
        },
        || first.log(),
    );
    assert!(
        first.log().contains("TLS certificate and key reloaded"),
        "{}",
        first.log()
    );
    first.assert_running();
}

#[test]
fn check_config_names_each_tls_mistake() {
    let dir = test_dir();
    fs::write(dir.path().join("example.zone"), ZONE).unwrap();
    certificate(dir.path(), "good", "ns.example", None);
    certificate(dir.path(), "weak", "ns.example", Some(1024));
    certificate(dir.path(), "other", "ns.example", None);
    fs::write(dir.path().join("short.key"), "abcd").unwrap();
    let check = |text: &str| {
        let path = dir.path().join("anyns.toml");
        fs::write(&path, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_anyns"))
            .arg("check-config")
            .arg(&path)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let listeners = [("127.0.0.1", 853, "unicast")];
    let (code, said) = check(&config("127.0.0.1:53", &listeners, "good", None));
    assert_eq!(code, Some(0), "{said}");
    let no_tls = config("127.0.0.1:53", &listeners, "good", None);
    let no_tls = &no_tls[..no_tls.find("[tls]").unwrap()];
    for (text, key, words) in [
        (
            no_tls.to_string(),
            "listen[1].transport",
            "needs a [tls] section",
        ),
        (
            config("127.0.0.1:53", &listeners, "missing", None),
            "tls.certificate",
            "missing.pem",
        ),
        (
            config("127.0.0.1:53", &listeners, "weak", None),
            "tls.key",
            "weak.key",
        ),
        (
            config("127.0.0.1:53", &listeners, "good", None).replace("good.key", "other.key"),
            "tls.key",
            "other.key",
        ),
        (
            config("127.0.0.1:53", &listeners, "good", Some("short.key")),
            "tls.ticket-key-file",
            "64 hex digits",
        ),
        (
            config("127.0.0.1:53", &[("203.0.113.53", 853, "anycast")], "good", None)
                .replace("transport = \"tls\"\n", "transport = \"tls\"\ntransfers = true\n"),
            "listen[1].transfers",
            "zone transfers over TLS on an anycast listener",
        ),
        (
            "[server]\nstorage = \".\"\n[[listen]]\naddress = \"127.0.0.1:53\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nprimaries = [\"192.0.2.1\"]\ntransfer-tls = { spki = [\"nope\"] }\n"
                .to_string(),
            "zone[0].transfer-tls.spki[0]",
            "not the base64 of a SHA-256 digest",
        ),
    ] {
        let (code, said) = check(&text);
        assert_eq!(code, Some(2), "{key}: {said}");
        assert!(
            said.contains(&format!("{key}: ")) && said.contains(words),
            "{key}: {said}"
        );
    }
}

/// The SPKI pin of a certificate file, as the README tells operators to compute it.
fn spki_pin(cert: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64",
            cert.display()
        ))
        .output()
        .expect("openssl");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// An anyns secondary requests its transfers over TLS (XoT) from an anyns primary whose
/// key it pins: the zone arrives over TLS, and a new version after a NOTIFY; with a wrong
/// pin the transfer is refused and the stored version keeps serving.
#[test]
fn a_secondary_transfers_over_tls_from_a_pinned_primary() {
    let _serial = support::serial();
    let dir = test_dir();
    let primary_dir = dir.path().join("primary");
    fs::create_dir_all(&primary_dir).unwrap();
    fs::write(primary_dir.join("example.zone"), ZONE).unwrap();
    certificate(&primary_dir, "cert", "primary.example", None);
    let (primary_port, primary_tls, secondary_port) = (free_port(), free_port(), free_port());
    let primary = start_local_anyns(
        &primary_dir,
        "primary",
        &format!(
            "[server]\nudp-workers = 1\n\
             [[listen]]\naddress = \"127.0.0.1:{primary_port}\"\nrole = \"unicast\"\ntransfers = false\n\
             [[listen]]\naddress = \"127.0.0.1:{primary_tls}\"\nrole = \"unicast\"\ntransport = \"tls\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\nallow-transfer = [\"127.0.0.0/8\"]\n\
             notify = [\"127.0.0.1:{secondary_port}\"]\n\
             [tls]\ncertificate = \"cert.pem\"\nkey = \"cert.key\"\n"
        ),
    );
    let secondary_config = |pin: &str| {
        format!(
            "[server]\nudp-workers = 1\nstorage = \"storage\"\n\
             [[listen]]\naddress = \"127.0.0.1:{secondary_port}\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nprimaries = [\"127.0.0.1:{primary_port}\"]\n\
             transfer-tls = {{ spki = [\"{pin}\"], port = {primary_tls} }}\n"
        )
    };
    let secondary_dir = dir.path().join("secondary");
    fs::create_dir_all(secondary_dir.join("storage")).unwrap();
    let pin = spki_pin(&primary_dir.join("cert.pem"));
    let serial_at = |port: u16| -> Option<u32> {
        let bytes = support::dns::udp_exchange_timeout(
            ([127, 0, 0, 1], port).into(),
            &Query::new("example.", 6).to_bytes(),
            Duration::from_millis(500),
        )?;
        let reply = support::dns::Reply::parse(bytes);
        reply
            .answer
            .first()
            .and_then(|soa| soa.rdata.split_whitespace().nth(2)?.parse().ok())
    };
    {
        let secondary = start_local_anyns(&secondary_dir, "secondary", &secondary_config(&pin));
        wait_for(
            "serial 7 over TLS",
            Duration::from_secs(15),
            || (serial_at(secondary_port) == Some(7)).then_some(()),
            || format!("{}\n{}", secondary.log(), primary.log()),
        );
        assert!(secondary.log().contains("tls=true"), "{}", secondary.log());
        assert!(
            primary.log().contains("transfer served"),
            "the primary served it (plain transfers are off there): {}",
            primary.log()
        );
        // A new version: NOTIFY, then IXFR over TLS.
        fs::write(
            primary_dir.join("example.zone"),
            ZONE.replace(" 7 3600", " 8 3600"),
        )
        .unwrap();
        let status = Command::new("kill")
            .args(["-HUP", &primary.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        wait_for(
            "serial 8 over TLS",
            Duration::from_secs(15),
            || (serial_at(secondary_port) == Some(8)).then_some(()),
            || format!("{}\n{}", secondary.log(), primary.log()),
        );
    }
    // A wrong pin: refused, and the stored version 8 keeps serving.
    fs::write(
        primary_dir.join("example.zone"),
        ZONE.replace(" 7 3600", " 9 3600"),
    )
    .unwrap();
    let status = Command::new("kill")
        .args(["-HUP", &primary.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let secondary = start_local_anyns(
        &secondary_dir,
        "secondary-wrong-pin",
        &secondary_config(wrong),
    );
    wait_for(
        "the refusal",
        Duration::from_secs(15),
        || {
            secondary
                .log()
                .contains("not one of the pinned ones")
                .then_some(())
        },
        || secondary.log(),
    );
    assert_eq!(
        serial_at(secondary_port),
        Some(8),
        "the stored version serves"
    );
}

const TSIG: &str = "cC8xTnNJMnRmWUp5bTRzUzBzN0xRY0g1WDl6R3VkZXY=";

/// XoT with BIND 9.18 both ways, TSIG on top: anyns a secondary of BIND over TLS (BIND's
/// key pinned), and BIND a secondary of anyns over TLS.
#[test]
fn xot_with_bind_both_ways() {
    let _serial = support::serial();
    let dir = test_dir();
    let (bind_plain, bind_tls, anyns_plain, anyns_tls, bind_secondary, anyns_secondary) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    // BIND the primary, transfers over TLS with the key only.
    let bind_dir = dir.path().join("bind");
    fs::create_dir_all(&bind_dir).unwrap();
    fs::write(bind_dir.join("example.zone"), ZONE).unwrap();
    certificate(&bind_dir, "bind", "bind.example", None);
    let d = bind_dir.display();
    let bind = support::start_named(
        &bind_dir,
        &format!(
            "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; recursion no;\n\
             listen-on port {bind_plain} {{ 127.0.0.1; }};\n\
             listen-on port {bind_tls} tls local {{ 127.0.0.1; }};\n\
             listen-on-v6 {{ none; }}; dnssec-validation no; notify no; }};\n\
             tls local {{ key-file \"{d}/bind.key\"; cert-file \"{d}/bind.pem\"; }};\n\
             key \"xfr-key.\" {{ algorithm hmac-sha256; secret \"{TSIG}\"; }};\n\
             zone \"example.\" {{ type primary; file \"{d}/example.zone\";\n\
             allow-transfer transport tls {{ key xfr-key.; }}; }};\n"
        ),
    );
    wait_for(
        "named to answer",
        Duration::from_secs(15),
        || Query::new("www.example.", A).send_udp(([127, 0, 0, 1], bind_plain).into()),
        || bind.log(),
    );
    // anyns a secondary of BIND, over TLS with BIND's key pinned, signed with the key.
    let secondary_dir = dir.path().join("anyns-secondary");
    fs::create_dir_all(secondary_dir.join("storage")).unwrap();
    let pin = spki_pin(&bind_dir.join("bind.pem"));
    let secondary = start_local_anyns(
        &secondary_dir,
        "anyns-secondary",
        &format!(
            "[server]\nudp-workers = 1\nstorage = \"storage\"\n\
             [[listen]]\naddress = \"127.0.0.1:{anyns_secondary}\"\nrole = \"unicast\"\n\
             [[key]]\nname = \"xfr-key.\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{TSIG}\"\n\
             [[zone]]\nname = \"example.\"\nprimaries = [\"127.0.0.1:{bind_plain}\"]\nkey = \"xfr-key.\"\n\
             transfer-tls = {{ spki = [\"{pin}\"], port = {bind_tls} }}\n"
        ),
    );
    wait_for(
        "anyns's copy from BIND over TLS",
        Duration::from_secs(20),
        || {
            Query::new("www.example.", A)
                .send_udp(([127, 0, 0, 1], anyns_secondary).into())
                .filter(|r| r.answer.len() == 1)
        },
        || format!("{}\n{}", secondary.log(), bind.log()),
    );
    assert!(secondary.log().contains("tls=true"), "{}", secondary.log());

    // anyns the primary, BIND its secondary over TLS (opportunistic on BIND's side), TSIG.
    let primary_dir = dir.path().join("anyns-primary");
    fs::create_dir_all(&primary_dir).unwrap();
    fs::write(
        primary_dir.join("example.zone"),
        ZONE.replace(" 7 3600", " 42 3600"),
    )
    .unwrap();
    certificate(&primary_dir, "cert", "anyns.example", None);
    let primary = start_local_anyns(
        &primary_dir,
        "anyns-primary",
        &format!(
            "[server]\nudp-workers = 1\n\
             [[listen]]\naddress = \"127.0.0.1:{anyns_plain}\"\nrole = \"unicast\"\ntransfers = false\n\
             [[listen]]\naddress = \"127.0.0.1:{anyns_tls}\"\nrole = \"unicast\"\ntransport = \"tls\"\n\
             [[key]]\nname = \"xfr-key.\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{TSIG}\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\nallow-transfer = [\"127.0.0.0/8\"]\nkey = \"xfr-key.\"\n\
             [tls]\ncertificate = \"cert.pem\"\nkey = \"cert.key\"\n"
        ),
    );
    wait_for(
        "anyns primary",
        Duration::from_secs(10),
        || Query::new("www.example.", A).send_udp(([127, 0, 0, 1], anyns_plain).into()),
        || primary.log(),
    );
    let bind2_dir = dir.path().join("bind-secondary");
    fs::create_dir_all(&bind2_dir).unwrap();
    let d = bind2_dir.display();
    let bind2 = support::start_named(
        &bind2_dir,
        &format!(
            "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; recursion no;\n\
             listen-on port {bind_secondary} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};\n\
             dnssec-validation no; notify no; }};\n\
             key \"xfr-key.\" {{ algorithm hmac-sha256; secret \"{TSIG}\"; }};\n\
             zone \"example.\" {{ type secondary; file \"{d}/example.db\";\n\
             primaries {{ 127.0.0.1 port {anyns_tls} key xfr-key. tls ephemeral; }}; }};\n"
        ),
    );
    wait_for(
        "BIND's copy from anyns over TLS (serial 42)",
        Duration::from_secs(20),
        || {
            let bytes = support::dns::udp_exchange_timeout(
                ([127, 0, 0, 1], bind_secondary).into(),
                &Query::new("example.", 6).to_bytes(),
                Duration::from_millis(500),
            )?;
            let reply = support::dns::Reply::parse(bytes);
            reply
                .answer
                .first()
                .filter(|soa| soa.rdata.split_whitespace().nth(2) == Some("42"))
                .map(drop)
        },
        || format!("{}\n{}", bind2.log(), primary.log()),
    );
    let log = primary.log();
    assert!(
        log.contains("transfer served") && log.contains("tsig=true"),
        "{log}"
    );
}

/// NSD 4.6 serves AXFR over its TLS port: an anyns secondary transfers from it over TLS
/// with NSD's key pinned. (Debian 12's Knot 3.2 has no XoT; its NSD cannot request
/// transfers over TLS, only serve them.)
#[test]
fn xot_from_nsd() {
    let _serial = support::serial();
    let dir = test_dir();
    let (nsd_plain, nsd_tls, secondary_port) = (free_port(), free_port(), free_port());
    let nsd_dir = dir.path().join("nsd");
    fs::create_dir_all(&nsd_dir).unwrap();
    fs::write(
        nsd_dir.join("example.zone"),
        ZONE.replace(" 7 3600", " 77 3600"),
    )
    .unwrap();
    certificate(&nsd_dir, "nsd", "nsd.example", None);
    let d = nsd_dir.display();
    fs::write(
        nsd_dir.join("nsd.conf"),
        format!(
            "server:\n    ip-address: 127.0.0.1@{nsd_plain}\n    ip-address: 127.0.0.1@{nsd_tls}\n\
             \x20   tls-port: {nsd_tls}\n    tls-service-key: \"{d}/nsd.key\"\n    tls-service-pem: \"{d}/nsd.pem\"\n\
             \x20   server-count: 1\n    username: \"\"\n    database: \"\"\n\
             \x20   zonelistfile: \"{d}/zone.list\"\n    xfrdfile: \"{d}/xfrd.state\"\n\
             \x20   pidfile: \"{d}/nsd.pid\"\n    zonesdir: \"{d}\"\n    logfile: \"{d}/nsd.log\"\n\
             remote-control:\n    control-enable: no\n\
             zone:\n    name: example.\n    zonefile: example.zone\n    provide-xfr: 127.0.0.0/8 NOKEY\n"
        ),
    )
    .unwrap();
    let mut command = Command::new(require_tool("nsd"));
    command.arg("-d").arg("-c").arg(nsd_dir.join("nsd.conf"));
    let nsd = support::Daemon::spawn("nsd", command, nsd_dir.join("stderr.log"));
    wait_for(
        "nsd",
        Duration::from_secs(10),
        || Query::new("www.example.", A).send_udp(([127, 0, 0, 1], nsd_plain).into()),
        || nsd.log(),
    );
    let secondary_dir = dir.path().join("secondary");
    fs::create_dir_all(secondary_dir.join("storage")).unwrap();
    let pin = spki_pin(&nsd_dir.join("nsd.pem"));
    let secondary = start_local_anyns(
        &secondary_dir,
        "secondary",
        &format!(
            "[server]\nudp-workers = 1\nstorage = \"storage\"\n\
             [[listen]]\naddress = \"127.0.0.1:{secondary_port}\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nprimaries = [\"127.0.0.1:{nsd_plain}\"]\n\
             transfer-tls = {{ spki = [\"{pin}\"], port = {nsd_tls} }}\n"
        ),
    );
    wait_for(
        "serial 77 from NSD over TLS",
        Duration::from_secs(20),
        || {
            let log = secondary.log();
            (log.contains("zone transferred and serving") && log.contains("serial=77"))
                .then_some(())
        },
        || format!("{}\n{}", secondary.log(), nsd.log()),
    );
    assert!(secondary.log().contains("tls=true"), "{}", secondary.log());
}
