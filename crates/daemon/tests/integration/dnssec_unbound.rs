//! Validation test: Unbound, a validating resolver, resolves through anyns with the signed
//! test zones' KSKs as trust anchors (one `stub-zone` per zone pointing at anyns) and must
//! mark positive and negative answers authenticated (AD), for NSEC, NSEC3 and NSEC3 with
//! opt-out (where answers resting on an opt-out span are insecure, never bogus), and must
//! reject a zone with a tampered record as bogus (SERVFAIL).
//!
//! Unbound runs in the foreground on loopback (no daemonizing, no chroot, no remote control,
//! everything in a temporary directory) and is killed by its PID when the test ends.

use std::fmt::Write as _;
use std::fs;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::support::dns::{self, A, AnynsOptions, Edns, MX, NOERROR, NXDOMAIN, Query, Reply, TXT};
use crate::support::signing::{Chain, SignedZones, sign_zones, tamper};
use crate::support::{free_port, require_tool, spawn_logged};

/// SERVFAIL: what a validating resolver answers for bogus data.
const SERVFAIL: u16 = 2;
/// How long Unbound may take to answer its first query.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Unbound, killed by PID on drop.
struct Unbound {
    child: Child,
    addr: std::net::SocketAddr,
    log: std::path::PathBuf,
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Unbound {
    /// Asks with RD and DO, retrying a few times while the resolver warms up.
    fn ask(&self, name: &str, qtype: u16) -> Reply {
        let query = Query::new(name, qtype).rd(true).edns(Some(Edns {
            dnssec_ok: true,
            ..Edns::payload(1232)
        }));
        for attempt in 0..5 {
            if let Some(reply) = query.clone().id(0x5a00 + attempt).send_udp(self.addr) {
                return reply;
            }
        }
        panic!(
            "unbound did not answer {name}; log:\n{}",
            fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

#[test]
fn unbound_validates_signed_answers_and_rejects_a_tampered_zone() {
    let signed = sign_zones(&[
        ("sec-nsec.", Chain::Nsec),
        ("sec-nsec3.", Chain::Nsec3),
        ("sec-optout.", Chain::Nsec3OptOut),
        ("sec-tampered.", Chain::Nsec3),
    ]);
    tamper(
        &signed.file("sec-tampered."),
        "\tA\t192.0.2.3",
        "\tA\t192.0.2.99",
    );
    let zones = signed.list();
    let anyns = dns::start_anyns(&AnynsOptions {
        zones: &zones,
        source: Some(signed.path()),
        ..AnynsOptions::default()
    });
    let unbound = start_unbound(&signed, anyns.addr);

    for zone in ["sec-nsec.", "sec-nsec3.", "sec-optout."] {
        // Every NSEC3 of the opt-out zone has the flag (ldns-signzone -p), so every proof
        // that rests on a covering NSEC3 (next closer: NXDOMAIN, wildcards) may hide an
        // unsigned delegation: validators call those answers insecure, not secure (RFC
        // 5155 §9.2), while answers proved by a matching NSEC3 stay secure.
        let covered_secure = zone != "sec-optout.";
        let positive = unbound.ask(&format!("www.{zone}"), A);
        assert_eq!(positive.rcode, NOERROR, "www.{zone} A: {positive:?}");
        assert!(positive.ad, "www.{zone} A not authenticated: {positive:?}");
        assert!(!positive.answer.is_empty());

        let wildcard = unbound.ask(&format!("anything.wild.{zone}"), TXT);
        assert_eq!(wildcard.rcode, NOERROR, "wildcard in {zone}: {wildcard:?}");
        assert_eq!(wildcard.ad, covered_secure, "wildcard in {zone}: AD");

        let nxdomain = unbound.ask(&format!("nothere.{zone}"), A);
        assert_eq!(nxdomain.rcode, NXDOMAIN, "nothere.{zone}: {nxdomain:?}");
        assert_eq!(nxdomain.ad, covered_secure, "NXDOMAIN in {zone}: AD");

        let nodata = unbound.ask(&format!("www.{zone}"), MX);
        assert_eq!(nodata.rcode, NOERROR);
        assert!(
            nodata.answer.is_empty() && nodata.ad,
            "NODATA in {zone}: {nodata:?}"
        );

        let ent = unbound.ask(&format!("c.ent.{zone}"), A);
        assert_eq!(ent.rcode, NOERROR);
        assert!(ent.answer.is_empty() && ent.ad, "ENT in {zone}: {ent:?}");

        let wildcard_nodata = unbound.ask(&format!("x.wild.{zone}"), MX);
        assert_eq!(wildcard_nodata.rcode, NOERROR);
        assert_eq!(
            wildcard_nodata.ad, covered_secure,
            "wildcard NODATA in {zone}: {wildcard_nodata:?}"
        );
    }
    // Opt-out: the delegation outside the chain is provably insecure (no AD, not bogus).
    let optout = unbound.ask("optout-deleg.sec-optout.", 43);
    assert_eq!(optout.rcode, NOERROR, "opt-out DS: {optout:?}");

    let bogus = unbound.ask("www.sec-tampered.", A);
    assert_eq!(bogus.rcode, SERVFAIL, "tampered record accepted: {bogus:?}");
    let untouched = unbound.ask("mail.sec-tampered.", A);
    assert!(
        untouched.ad,
        "the rest of the tampered zone still validates"
    );
}

fn start_unbound(signed: &SignedZones, anyns: std::net::SocketAddr) -> Unbound {
    let unbound = require_tool("unbound");
    let dir = signed.path();
    let port = free_port();
    let mut conf = format!(
        "server:\n\
         \x20   interface: 127.0.0.1\n\
         \x20   port: {port}\n\
         \x20   do-ip6: no\n\
         \x20   do-daemonize: no\n\
         \x20   use-syslog: no\n\
         \x20   logfile: \"\"\n\
         \x20   verbosity: 1\n\
         \x20   val-log-level: 2\n\
         \x20   chroot: \"\"\n\
         \x20   username: \"\"\n\
         \x20   directory: \"{dir}\"\n\
         \x20   pidfile: \"{dir}/unbound.pid\"\n\
         \x20   num-threads: 1\n\
         \x20   so-reuseport: no\n\
         \x20   do-not-query-localhost: no\n\
         \x20   access-control: 127.0.0.0/8 allow\n\
         \x20   module-config: \"validator iterator\"\n\
         \x20   qname-minimisation: no\n\
         \x20   prefetch: no\n",
        dir = dir.display()
    );
    for anchor in &signed.anchors {
        // The .key file ends with a comment ({id = ..., size = ...}).
        let anchor = anchor.split(';').next().unwrap_or_default().trim();
        let _ = writeln!(conf, "    trust-anchor: \"{anchor}\"");
    }
    conf.push_str("remote-control:\n    control-enable: no\n");
    for (origin, _) in &signed.zones {
        let _ = writeln!(
            conf,
            "stub-zone:\n    name: \"{origin}\"\n    stub-addr: {}@{}",
            anyns.ip(),
            anyns.port()
        );
    }
    let conf_path = dir.join("unbound.conf");
    fs::write(&conf_path, conf).expect("write unbound.conf");
    let log = dir.join("unbound.log");
    let mut command = Command::new(unbound);
    command.arg("-d").arg("-c").arg(&conf_path);
    let child = spawn_logged("unbound", &mut command, &log);
    let mut unbound = Unbound {
        child,
        addr: ([127, 0, 0, 1], port).into(),
        log,
    };
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let probe = Query::new("sec-nsec.", 6).rd(true);
    loop {
        if let Ok(Some(status)) = unbound.child.try_wait() {
            panic!(
                "unbound exited with {status}; log:\n{}",
                fs::read_to_string(&unbound.log).unwrap_or_default()
            );
        }
        if probe.send_udp(unbound.addr).is_some() {
            return unbound;
        }
        assert!(
            Instant::now() < deadline,
            "unbound did not answer within {STARTUP_TIMEOUT:?}; log:\n{}",
            fs::read_to_string(&unbound.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
