//! Zone transfers with a real Knot on loopback: Knot primary -> anyns secondary
//! (AXFR, then NOTIFY + IXFR), anyns primary -> Knot secondary (NOTIFY + IXFR), transfers
//! refused on the anycast listener and taken only from the unicast source address, a
//! stored copy served after kill -9 without the primary, EXPIRE -> SERVFAIL, and a transfer
//! cut mid-stream leaving the old version serving, and TSIG errors answered as Knot
//! answers them.
//!
//! Addresses: Knot on 127.0.0.1, anyns's unicast listener on 127.0.0.2 (its source address
//! for everything outbound), its anycast listener on 127.0.0.3. Knot's ACLs name 127.0.0.2
//! alone, so a transfer or NOTIFY from any other source address fails the test.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::dns::{self, Query, Reply, SOA, tcp_connect, tcp_read_frame, tcp_send};
use crate::support::{
    anyns_bin, free_port, require_tool, spawn_logged, unix_now, wait_for, wait_for_log_line,
};

const KNOT: [u8; 4] = [127, 0, 0, 1];
const UNICAST: [u8; 4] = [127, 0, 0, 2];
const ANYCAST: [u8; 4] = [127, 0, 0, 3];
/// The TSIG key both sides share (RFC 8945, HMAC-SHA256), base64 as keymgr prints it.
const TSIG_SECRET: &str = "cC8xTnNJMnRmWUp5bTRzUzBzN0xRY0g1WDl6R3VkZXY=";
const KEY_CONFIG: &str = "[[key]]\nname = \"xfr-key.\"\nalgorithm = \"hmac-sha256\"\nsecret = \"cC8xTnNJMnRmWUp5bTRzUzBzN0xRY0g1WDl6R3VkZXY=\"\n";

struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(program: &Path, args: &[&str], log: PathBuf) -> Process {
    let mut command = Command::new(program);
    command.args(args);
    let child = spawn_logged(&program.display().to_string(), &mut command, &log);
    Process { child, log }
}

fn zone_text(serial: u32, expire: u32, extra: &str) -> String {
    format!(
        "$ORIGIN example.\n$TTL 300\n@ SOA ns1 hostmaster {serial} 2 1 {expire} 60\n@ NS ns1\n\
         ns1 A 192.0.2.1\nwww A 192.0.2.80\n{extra}"
    )
}

fn serial_at(addr: SocketAddr) -> Option<(u16, Option<u32>)> {
    let bytes = dns::udp_exchange_timeout(
        addr,
        &Query::new("example.", SOA).to_bytes(),
        Duration::from_millis(500),
    )?;
    let reply = Reply::parse(bytes);
    let serial = reply
        .answer
        .first()
        .and_then(|soa| soa.rdata.split_whitespace().nth(2)?.parse().ok());
    Some((reply.rcode, serial))
}

/// Polls `check` until it holds; returns how long that took, or panics after `timeout`
/// with the logs of `logs`.
fn wait_until(
    what: &str,
    timeout: Duration,
    logs: &[&Process],
    mut check: impl FnMut() -> bool,
) -> Duration {
    let started = Instant::now();
    wait_for(
        what,
        timeout,
        || check().then(|| started.elapsed()),
        || {
            let logs: Vec<String> = logs.iter().map(|p| p.log()).collect();
            format!("logs:\n{}", logs.join("\n-----\n"))
        },
    )
}

/// Knot as the primary of example. (notifying anyns) or as its secondary.
fn start_knot(dir: &Path, port: u16, anyns_port: u16, primary: bool) -> Process {
    let knotd = require_tool("knotd");
    let role = if primary {
        format!(
            "    file: {dir}/example.zone\n    notify: anyns\n    acl: [from_anyns]\n    zonefile-load: difference\n    journal-content: changes\n",
            dir = dir.display()
        )
    } else {
        "    master: anyns\n    acl: [from_anyns]\n    zonefile-sync: -1\n".to_string()
    };
    let action = if primary { "transfer" } else { "notify" };
    let conf = format!(
        "server:\n    rundir: {d}\n    listen: 127.0.0.1@{port}\n\
         database:\n    storage: {d}\n\
         log:\n  - target: stderr\n    any: info\n\
         key:\n  - id: xfr-key.\n    algorithm: hmac-sha256\n    secret: {TSIG_SECRET}\n\
         remote:\n  - id: anyns\n    address: 127.0.0.2@{anyns_port}\n    key: xfr-key.\n\
         acl:\n  - id: from_anyns\n    address: 127.0.0.2\n    key: xfr-key.\n    action: {action}\n\
         template:\n  - id: default\n    storage: {d}\n    semantic-checks: off\n\
         zone:\n  - domain: example.\n{role}",
        d = dir.display()
    );
    fs::write(dir.join("knot.conf"), conf).unwrap();
    let conf = dir.join("knot.conf");
    spawn(
        &knotd,
        &["-c", conf.to_str().unwrap()],
        dir.join("knotd.log"),
    )
}

fn anyns_config(dir: &Path, port: u16, zone: &str) -> PathBuf {
    let config = format!(
        "[server]\nidentity = \"secondary-test\"\nudp-workers = 1\nstorage = \"{storage}\"\n\
         [[listen]]\naddress = \"127.0.0.2:{port}\"\nrole = \"unicast\"\n\
         [[listen]]\naddress = \"127.0.0.3:{port}\"\nrole = \"anycast\"\n{zone}",
        storage = dir.join("storage").display()
    );
    let path = dir.join("anyns.toml");
    fs::write(&path, config).unwrap();
    path
}

fn start_anyns(config: &Path, log: PathBuf) -> Process {
    spawn(
        &anyns_bin(),
        &["serve", "--config", config.to_str().unwrap()],
        log,
    )
}

fn addr(ip: [u8; 4], port: u16) -> SocketAddr {
    (ip, port).into()
}

/// AXFR over TCP; returns the rcode of the first message and the number of records.
fn axfr(server: SocketAddr) -> (u16, usize) {
    let mut stream = tcp_connect(server);
    tcp_send(&mut stream, &Query::new("example.", 252).to_bytes());
    let mut records = 0;
    let mut soas = 0;
    loop {
        let Some(frame) = tcp_read_frame(&mut stream) else {
            return (u16::MAX, records);
        };
        let reply = Reply::parse(frame);
        if reply.rcode != 0 {
            return (reply.rcode, 0);
        }
        for rr in &reply.answer {
            records += 1;
            soas += usize::from(rr.rtype == SOA);
        }
        if soas >= 2 {
            return (0, records);
        }
    }
}

#[test]
fn knot_primary_to_anyns_secondary_with_notify_ixfr_and_restart_from_storage() {
    let dir = tempfile::tempdir().unwrap();
    let (knot_port, anyns_port) = (free_port(), free_port());
    fs::write(dir.path().join("example.zone"), zone_text(1, 3600, "")).unwrap();
    let knot = start_knot(dir.path(), knot_port, anyns_port, true);
    let zone = format!(
        "{KEY_CONFIG}[[zone]]\nname = \"example.\"\nprimaries = [\"127.0.0.1:{knot_port}\"]\nallow-transfer = [\"127.0.0.1\"]\nkey = \"xfr-key.\"\n"
    );
    let config = anyns_config(dir.path(), anyns_port, &zone);
    let anyns = start_anyns(&config, dir.path().join("anyns.log"));
    let anycast = addr(ANYCAST, anyns_port);
    let took = wait_until(
        "the first transfer",
        Duration::from_secs(15),
        &[&anyns, &knot],
        || serial_at(anycast) == Some((0, Some(1))),
    );
    println!("first AXFR served on the anycast address after {took:?}");
    assert!(
        anyns.log().contains("kind=\"AXFR\"") || anyns.log().contains("kind=AXFR"),
        "{}",
        anyns.log()
    );
    let snapshot = dir.path().join("storage/example..zone.snapshot");
    let snapshot_of_serial_1 = fs::read(&snapshot).expect("stored before serving");

    // A change on the primary reaches anyns by NOTIFY and IXFR, well before REFRESH.
    fs::write(
        dir.path().join("example.zone"),
        zone_text(2, 3600, "new A 192.0.2.2\n"),
    )
    .unwrap();
    let knotc = require_tool("knotc");
    let socket = dir.path().join("knot.sock");
    let status = Command::new(knotc)
        .args(["-s", socket.to_str().unwrap(), "zone-reload", "example."])
        .status()
        .unwrap();
    assert!(status.success());
    let took = wait_until(
        "serial 2 by NOTIFY + IXFR",
        Duration::from_secs(10),
        &[&anyns, &knot],
        || serial_at(anycast) == Some((0, Some(2))),
    );
    println!("NOTIFY -> IXFR -> serving serial 2 took {took:?}");
    // The log line follows the swap by a moment: wait for it rather than read once.
    let log = wait_for_log_line(
        || anyns.log(),
        &["zone transferred and serving", "serial=2"],
    );
    assert!(log.contains("NOTIFY received"), "{log}");
    assert!(log.contains("IXFR"), "the change came as IXFR: {log}");
    assert!(
        log.contains("journaled=true"),
        "the IXFR was made durable by the journal before serving: {log}"
    );

    // Transfers: refused on the anycast listener; on the unicast one only with the key.
    assert_eq!(axfr(anycast).0, 5, "AXFR on the anycast address is REFUSED");
    let (code, _) = axfr(addr(UNICAST, anyns_port));
    assert_eq!(
        code, 9,
        "an unsigned AXFR of a zone with a key gets NOTAUTH"
    );
    let kdig = require_tool("kdig");
    let out = Command::new(kdig)
        .args([
            "@127.0.0.2",
            "-p",
            &anyns_port.to_string(),
            "-y",
            &format!("hmac-sha256:xfr-key.:{TSIG_SECRET}"),
            "example.",
            "AXFR",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("TSIG PSEUDOSECTION") || text.contains("TSIG"),
        "{text}"
    );
    assert!(
        !text.to_lowercase().contains("failed"),
        "kdig verified the signed AXFR: {text}"
    );
    let records = text
        .lines()
        .filter(|l| !l.starts_with(';') && l.contains("\tIN\t"))
        .count();
    assert_eq!(records, 6, "SOA NS A A A SOA: {text}");
    assert!(
        snapshot.exists(),
        "received zone stored at {}",
        snapshot.display()
    );

    // kill -9, primary gone: the restart serves the stored serial at once. The snapshot
    // of serial 1 is put back first, as a crash between storing the IXFR's journal and
    // the new snapshot leaves it: the journal brings the restart to serial 2.
    drop(anyns);
    drop(knot);
    fs::write(&snapshot, &snapshot_of_serial_1).unwrap();
    let anyns = start_anyns(&config, dir.path().join("anyns2.log"));
    let took = wait_until(
        "the stored copy after restart",
        Duration::from_secs(5),
        &[&anyns],
        || serial_at(anycast) == Some((0, Some(2))),
    );
    println!("restart to serving the stored serial 2 took {took:?}, primary down");
    assert!(
        anyns.log().contains("stored journal applied"),
        "{}",
        anyns.log()
    );
}

#[test]
fn anyns_primary_to_knot_secondary_with_notify_and_ixfr() {
    let dir = tempfile::tempdir().unwrap();
    let (knot_port, anyns_port) = (free_port(), free_port());
    let zone_file = dir.path().join("primary.zone");
    fs::write(&zone_file, zone_text(1, 3600, "")).unwrap();
    let zone = format!(
        "{KEY_CONFIG}[[zone]]\nname = \"example.\"\nfile = \"{}\"\nnotify = [\"127.0.0.1:{knot_port}\"]\nallow-transfer = [\"127.0.0.1\"]\nkey = \"xfr-key.\"\n",
        zone_file.display()
    );
    let config = anyns_config(dir.path(), anyns_port, &zone);
    let anyns = start_anyns(&config, dir.path().join("anyns.log"));
    let knot = start_knot(dir.path(), knot_port, anyns_port, false);
    let knot_addr = addr(KNOT, knot_port);
    wait_until(
        "Knot's first transfer",
        Duration::from_secs(15),
        &[&knot, &anyns],
        || serial_at(knot_addr) == Some((0, Some(1))),
    );
    fs::write(&zone_file, zone_text(2, 3600, "new A 192.0.2.2\n")).unwrap();
    let status = Command::new("kill")
        .args(["-HUP", &anyns.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let took = wait_until(
        "Knot at serial 2",
        Duration::from_secs(10),
        &[&knot, &anyns],
        || serial_at(knot_addr) == Some((0, Some(2))),
    );
    println!("anyns reload -> NOTIFY -> Knot serving serial 2 took {took:?}");
    let anyns_log = anyns.log();
    assert!(anyns_log.contains("NOTIFY acknowledged"), "{anyns_log}");
    assert!(
        anyns_log.contains("plan=\"incremental\"") || anyns_log.contains("plan=incremental"),
        "{anyns_log}"
    );
    assert!(knot.log().to_lowercase().contains("ixfr"), "{}", knot.log());
}

/// A primary written for the test: answers SOA queries with `serial` over UDP (unless
/// `udp_silent`, as behind a firewall that passes only TCP) and over TCP, and serves the
/// zone over TCP — whole, or cut after half of the first message when `cut` is set.
struct FakePrimary {
    port: u16,
    serial: Arc<AtomicU32>,
    cut: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl FakePrimary {
    fn start() -> Self {
        Self::start_with(false)
    }

    fn start_with(udp_silent: bool) -> Self {
        let port = free_port();
        let serial = Arc::new(AtomicU32::new(2));
        let cut = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let udp = UdpSocket::bind(addr(KNOT, port)).unwrap();
        udp.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let tcp = TcpListener::bind(addr(KNOT, port)).unwrap();
        tcp.set_nonblocking(true).unwrap();
        let (s, c, st) = (serial.clone(), cut.clone(), stop.clone());
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !st.load(Ordering::Relaxed) {
                if let Ok((len, from)) = udp.recv_from(&mut buf) {
                    if udp_silent {
                        continue;
                    }
                    let zones = zone_set(s.load(Ordering::Relaxed));
                    let mut out = Vec::new();
                    if let dns_auth::Outcome::Answered { len, .. } = dns_auth::respond(
                        &buf[..len],
                        &zones,
                        &dns_auth::AnswerConfig::default(),
                        dns_auth::Transport::Udp,
                        &mut out,
                    ) {
                        let _ = udp.send_to(&out[..len], from);
                    }
                }
                if let Ok((mut stream, _)) = tcp.accept() {
                    stream.set_nonblocking(false).unwrap();
                    let mut len = [0u8; 2];
                    if stream.read_exact(&mut len).is_err() {
                        continue;
                    }
                    let mut query = vec![0u8; u16::from_be_bytes(len) as usize];
                    if stream.read_exact(&mut query).is_err() {
                        continue;
                    }
                    let parsed = dns_wire::Query::parse(&query).unwrap();
                    let zones = zone_set(s.load(Ordering::Relaxed));
                    if parsed.qtype == SOA {
                        let mut out = Vec::new();
                        if let dns_auth::Outcome::Answered { len, .. } = dns_auth::respond(
                            &query,
                            &zones,
                            &dns_auth::AnswerConfig::default(),
                            dns_auth::Transport::Tcp,
                            &mut out,
                        ) {
                            let mut frame = (len as u16).to_be_bytes().to_vec();
                            frame.extend_from_slice(&out[..len]);
                            let _ = stream.write_all(&frame);
                        }
                        continue;
                    }
                    let zone = zones.get(b"\x07example\x00").unwrap().clone();
                    let mut response = dns_auth::xfr::XfrResponse::new(
                        parsed.header,
                        parsed.question_bytes(&query),
                        &zone,
                        dns_auth::xfr::XfrPlan::Full,
                    );
                    let mut out = Vec::new();
                    while response.next_message(&mut out) {
                        let mut frame = (out.len() as u16).to_be_bytes().to_vec();
                        frame.extend_from_slice(&out);
                        if c.load(Ordering::Relaxed) {
                            let _ = stream.write_all(&frame[..frame.len() / 2]);
                            break;
                        }
                        let _ = stream.write_all(&frame);
                    }
                }
            }
        });
        Self {
            port,
            serial,
            cut,
            stop,
        }
    }
}

impl Drop for FakePrimary {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn zone_set(serial: u32) -> dns_zone::ZoneSet {
    let extra: String = (0..50)
        .map(|i| format!("host{i} A 192.0.2.{}\n", i + 1))
        .collect();
    // REFRESH 2 s, RETRY 1 s, EXPIRE 6 s: the expiry test runs in seconds.
    let text = zone_text(serial, 6, &extra);
    let (zone, _) = dns_zone::load_zone_str(&text, b"\x07example\x00").unwrap();
    let mut set = dns_zone::ZoneSet::new();
    set.insert(Arc::new(zone));
    set
}

#[test]
fn cut_transfer_keeps_the_old_version_and_expiry_answers_servfail() {
    let dir = tempfile::tempdir().unwrap();
    let primary = FakePrimary::start();
    let anyns_port = free_port();
    let zone = format!(
        "[[zone]]\nname = \"example.\"\nprimaries = [\"127.0.0.1:{}\"]\n",
        primary.port
    );
    let config = anyns_config(dir.path(), anyns_port, &zone);
    let anyns = start_anyns(&config, dir.path().join("anyns.log"));
    let anycast = addr(ANYCAST, anyns_port);
    wait_until("serial 2", Duration::from_secs(10), &[&anyns], || {
        serial_at(anycast) == Some((0, Some(2)))
    });

    // Serial 3 is offered but every transfer is cut in the middle.
    primary.cut.store(true, Ordering::Relaxed);
    primary.serial.store(3, Ordering::Relaxed);
    wait_until(
        "a failed transfer",
        Duration::from_secs(10),
        &[&anyns],
        || anyns.log().contains("transfer cut"),
    );
    assert_eq!(
        serial_at(anycast),
        Some((0, Some(2))),
        "the old version keeps serving"
    );

    // The primary goes silent: after EXPIRE (6 s) the zone answers SERVFAIL.
    primary.stop.store(true, Ordering::Relaxed);
    let took = wait_until(
        "SERVFAIL after EXPIRE",
        Duration::from_secs(15),
        &[&anyns],
        || serial_at(anycast).is_some_and(|(rcode, _)| rcode == 2),
    );
    println!(
        "zone stopped answering {took:?} after the primary went silent (EXPIRE 6 s, counted from the last good refresh)"
    );
    assert!(anyns.log().contains("zone expired"), "{}", anyns.log());
}

fn catalog_text(serial: u32, members: &[(&str, &str)]) -> String {
    let mut text = format!(
        "$ORIGIN catalog.invalid.\n$TTL 0\n@ SOA invalid. invalid. {serial} 3600 600 2419200 3600\n\
         @ NS invalid.\nversion TXT \"2\"\n"
    );
    for (unique, zone) in members {
        text.push_str(&format!("{unique}.zones PTR {zone}\n"));
    }
    text
}

fn soa_rcode(server: SocketAddr, zone: &str) -> Option<u16> {
    let bytes = dns::udp_exchange_timeout(
        server,
        &Query::new(zone, SOA).to_bytes(),
        Duration::from_millis(500),
    )?;
    Some(Reply::parse(bytes).rcode)
}

#[test]
fn test_9432_catalog_on_knot_provisions_and_removes_member_zones() {
    let dir = tempfile::tempdir().unwrap();
    let (knot_port, anyns_port) = (free_port(), free_port());
    for member in ["m1", "m2"] {
        let text = format!(
            "$ORIGIN {member}.example.\n$TTL 300\n@ SOA ns hm 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n"
        );
        fs::write(dir.path().join(format!("{member}.zone")), text).unwrap();
    }
    fs::write(
        dir.path().join("catalog.zone"),
        catalog_text(1, &[("a1", "m1.example.")]),
    )
    .unwrap();
    let knotd = require_tool("knotd");
    let d = dir.path().display();
    let conf = format!(
        "server:\n    rundir: {d}\n    listen: 127.0.0.1@{knot_port}\n\
         database:\n    storage: {d}\n\
         log:\n  - target: stderr\n    any: info\n\
         remote:\n  - id: anyns\n    address: 127.0.0.2@{anyns_port}\n\
         acl:\n  - id: from_anyns\n    address: 127.0.0.2\n    action: transfer\n\
         template:\n  - id: default\n    storage: {d}\n    semantic-checks: off\n    acl: [from_anyns]\n    zonefile-load: difference\n    journal-content: changes\n\
         zone:\n  - domain: catalog.invalid.\n    file: {d}/catalog.zone\n    notify: anyns\n\
         \x20 - domain: m1.example.\n    file: {d}/m1.zone\n\
         \x20 - domain: m2.example.\n    file: {d}/m2.zone\n"
    );
    fs::write(dir.path().join("knot.conf"), conf).unwrap();
    let knot = spawn(
        &knotd,
        &["-c", dir.path().join("knot.conf").to_str().unwrap()],
        dir.path().join("knotd.log"),
    );
    let zone = format!(
        "[[zone]]\nname = \"catalog.invalid.\"\nprimaries = [\"127.0.0.1:{knot_port}\"]\ncatalog = \"consumer\"\n"
    );
    let config = anyns_config(dir.path(), anyns_port, &zone);
    let anyns = start_anyns(&config, dir.path().join("anyns.log"));
    let anycast = addr(ANYCAST, anyns_port);
    let took = wait_until(
        "m1.example. provisioned from the catalog",
        Duration::from_secs(20),
        &[&anyns, &knot],
        || soa_rcode(anycast, "m1.example.") == Some(0),
    );
    println!("catalog member m1 serving {took:?} after start");
    assert_eq!(
        soa_rcode(anycast, "m2.example."),
        Some(5),
        "m2 is not in the catalog yet"
    );

    // On the primary: m2 joins the catalog, m1 leaves.
    fs::write(
        dir.path().join("catalog.zone"),
        catalog_text(2, &[("a2", "m2.example.")]),
    )
    .unwrap();
    let knotc = require_tool("knotc");
    let socket = dir.path().join("knot.sock");
    let status = Command::new(knotc)
        .args([
            "-s",
            socket.to_str().unwrap(),
            "zone-reload",
            "catalog.invalid.",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let took = wait_until(
        "m2 added and m1 removed",
        Duration::from_secs(20),
        &[&anyns, &knot],
        || {
            soa_rcode(anycast, "m2.example.") == Some(0)
                && soa_rcode(anycast, "m1.example.") == Some(5)
        },
    );
    println!("catalog change -> m2 serving, m1 gone after {took:?}");
    let log = anyns.log();
    assert!(
        log.contains("catalog member added") && log.contains("catalog member removed"),
        "{log}"
    );
    assert!(
        !dir.path()
            .join("storage/m1.example..zone.snapshot")
            .exists(),
        "m1's stored copy is deleted"
    );
    assert!(
        dir.path()
            .join("storage/m2.example..zone.snapshot")
            .exists()
    );
}

#[test]
fn test_9432_anyns_produced_catalog_provisions_an_anyns_consumer() {
    let dir = tempfile::tempdir().unwrap();
    let (primary_port, secondary_port) = (free_port(), free_port());
    let primary_dir = dir.path().join("primary");
    fs::create_dir_all(&primary_dir).unwrap();
    fs::write(primary_dir.join("example.zone"), zone_text(5, 3600, "")).unwrap();
    let primary_config = primary_dir.join("anyns.toml");
    fs::write(
        &primary_config,
        format!(
            "[[listen]]\naddress = \"127.0.0.1:{primary_port}\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\nallow-transfer = [\"127.0.0.0/8\"]\n\
             [[zone]]\nname = \"catalog.invalid.\"\ncatalog = \"producer\"\nallow-transfer = [\"127.0.0.0/8\"]\n"
        ),
    )
    .unwrap();
    let primary = start_anyns(&primary_config, dir.path().join("primary.log"));
    let zone = format!(
        "[[zone]]\nname = \"catalog.invalid.\"\nprimaries = [\"127.0.0.1:{primary_port}\"]\ncatalog = \"consumer\"\n"
    );
    let config = anyns_config(dir.path(), secondary_port, &zone);
    let secondary = start_anyns(&config, dir.path().join("secondary.log"));
    let took = wait_until(
        "example. provisioned from the produced catalog",
        Duration::from_secs(20),
        &[&secondary, &primary],
        || serial_at(addr(ANYCAST, secondary_port)) == Some((0, Some(5))),
    );
    println!("anyns producer -> anyns consumer: member serving after {took:?}");
}

/// Knot as a primary of example. whose transfers need `xfr-key.` (ACL open to loopback).
fn start_knot_keyed_primary(dir: &Path, port: u16) -> Process {
    fs::write(dir.join("example.zone"), zone_text(1, 3600, "")).unwrap();
    let conf = format!(
        "server:\n    rundir: {d}\n    listen: 127.0.0.1@{port}\n\
         database:\n    storage: {d}\n\
         log:\n  - target: stderr\n    any: info\n\
         key:\n  - id: xfr-key.\n    algorithm: hmac-sha256\n    secret: {TSIG_SECRET}\n\
         acl:\n  - id: keyed\n    address: 127.0.0.0/8\n    key: xfr-key.\n    action: transfer\n\
         template:\n  - id: default\n    storage: {d}\n    semantic-checks: off\n\
         zone:\n  - domain: example.\n    file: {d}/example.zone\n    acl: keyed\n",
        d = dir.display()
    );
    fs::write(dir.join("knot.conf"), conf).unwrap();
    spawn(
        &require_tool("knotd"),
        &["-c", dir.join("knot.conf").to_str().unwrap()],
        dir.join("knotd.log"),
    )
}

/// What came back for a signed AXFR request: (rcode, TSIG error, MAC length, what our
/// verifier says of the answer).
fn tsig_answer(
    server: SocketAddr,
    key: &dns_tsig::Key,
    signed_at: u64,
) -> (u16, Option<u16>, usize, Result<(), dns_tsig::TsigError>) {
    let mut request = Query::new("example.", 252).to_bytes();
    let request_mac = dns_tsig::sign_request(&mut request, key, signed_at);
    let mut stream = tcp_connect(server);
    tcp_send(&mut stream, &request);
    let frame = tcp_read_frame(&mut stream).expect("an answer");
    let rcode = u16::from(frame[3] & 0x0f);
    let tsig = dns_tsig::find_tsig(&frame).expect("a well-formed TSIG record");
    let verified =
        dns_tsig::ResponseVerifier::new(key.clone(), request_mac).verify(&frame, unix_now());
    (
        rcode,
        tsig.as_ref().map(|t| t.error),
        tsig.map_or(0, |t| t.mac.len()),
        verified,
    )
}

/// RFC 8945 §5.2: a transfer request with a bad signature (BADSIG), an unknown key (BADKEY)
/// or a time outside the fudge (BADTIME) gets NOTAUTH with a TSIG record carrying the
/// error, as Knot answers it: unsigned for BADSIG and BADKEY, signed for BADTIME (our
/// verifier checks the MAC and reports the peer's error); kdig names the error for both.
#[test]
fn tsig_errors_are_answered_as_knot_answers_them() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let (knot_port, anyns_port) = (free_port(), free_port());
    let knot_dir = dir.path().join("knot");
    fs::create_dir_all(&knot_dir).unwrap();
    let knot = start_knot_keyed_primary(&knot_dir, knot_port);
    let zone_file = dir.path().join("primary.zone");
    fs::write(&zone_file, zone_text(1, 3600, "")).unwrap();
    let zone = format!(
        "{KEY_CONFIG}[[zone]]\nname = \"example.\"\nfile = \"{}\"\nallow-transfer = [\"127.0.0.0/8\"]\nkey = \"xfr-key.\"\n",
        zone_file.display()
    );
    let anyns = start_anyns(
        &anyns_config(dir.path(), anyns_port, &zone),
        dir.path().join("anyns.log"),
    );
    let servers = [
        ("knot", addr(KNOT, knot_port)),
        ("anyns", addr(UNICAST, anyns_port)),
    ];
    for (_, server) in servers {
        wait_until(
            "a server answering",
            Duration::from_secs(10),
            &[&knot, &anyns],
            || serial_at(server) == Some((0, Some(1))),
        );
    }
    let secret = base64::engine::general_purpose::STANDARD
        .decode(TSIG_SECRET)
        .unwrap();
    let good =
        dns_tsig::Key::new("xfr-key.", dns_tsig::Algorithm::HmacSha256, secret.clone()).unwrap();
    let wrong_secret =
        dns_tsig::Key::new("xfr-key.", dns_tsig::Algorithm::HmacSha256, vec![7; 32]).unwrap();
    let unknown =
        dns_tsig::Key::new("other-key.", dns_tsig::Algorithm::HmacSha256, secret).unwrap();
    let now = unix_now();
    let mut answers = Vec::new();
    for (name, server) in servers {
        let badsig = tsig_answer(server, &wrong_secret, now);
        let badkey = tsig_answer(server, &unknown, now);
        let badtime = tsig_answer(server, &good, now - 3600);
        println!("{name}: BADSIG {badsig:?}, BADKEY {badkey:?}, BADTIME {badtime:?}");
        assert_eq!((badsig.0, badsig.1, badsig.2), (9, Some(16), 0), "{name}");
        assert_eq!((badkey.0, badkey.1, badkey.2), (9, Some(17), 0), "{name}");
        assert_eq!((badtime.0, badtime.1), (9, Some(18)), "{name}");
        assert!(badtime.2 > 0, "{name}: BADTIME is signed");
        assert_eq!(
            badtime.3,
            Err(dns_tsig::TsigError::PeerError(18)),
            "{name}: the BADTIME answer's MAC verifies"
        );
        answers.push((badsig.1, badkey.1, badtime.1));
    }
    assert_eq!(answers[0], answers[1], "anyns answers as Knot does");
    let kdig = require_tool("kdig");
    let out = Command::new(kdig)
        .args([
            "@127.0.0.2",
            "-p",
            &anyns_port.to_string(),
            "-y",
            "hmac-sha256:xfr-key.:Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyMTI=",
            "example.",
            "AXFR",
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("'BADSIG'"), "kdig names the error: {text}");
}

/// A primary reachable over TCP only (UDP silently dropped, as by a firewall): the SOA
/// query falls back to TCP and the zone is transferred and served.
#[test]
fn soa_query_falls_back_to_tcp_when_udp_gets_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    let primary = FakePrimary::start_with(true);
    let anyns_port = free_port();
    let zone = format!(
        "[[zone]]\nname = \"example.\"\nprimaries = [\"127.0.0.1:{}\"]\n",
        primary.port
    );
    let config = anyns_config(dir.path(), anyns_port, &zone);
    let anyns = start_anyns(&config, dir.path().join("anyns.log"));
    let took = wait_until(
        "serial 2 by SOA over TCP",
        Duration::from_secs(15),
        &[&anyns],
        || serial_at(addr(ANYCAST, anyns_port)) == Some((0, Some(2))),
    );
    println!("UDP silent, SOA over TCP -> serving serial 2 after {took:?}");
    let log = anyns.log();
    assert!(log.contains("SOA answered over TCP"), "{log}");
}

/// Fault: the secondary killed (SIGKILL) while a large transfer is arriving (5 and 60 ms
/// after the primary's NOTIFY reached it) and just after it started serving the new
/// version. Restarted with the primary gone, it serves a whole version from its storage
/// (the old or the new one, never a part: its AXFR has every record of that version), and
/// once it had served the new version, that is the one it comes back with.
#[test]
fn kill_9_during_a_transfer_leaves_a_whole_version_in_storage() {
    const BIG: usize = 100_000;
    let big: String = (0..BIG)
        .map(|i| format!("h{i} A 192.0.2.{}\n", i % 250 + 1))
        .collect();
    // Records of each version as an AXFR counts them (SOA twice).
    let count = |extra: usize| 4 + extra + 1;
    for kill_at in [Some(5u64), Some(60), None] {
        let dir = tempfile::tempdir().unwrap();
        let (primary_port, secondary_port) = (free_port(), free_port());
        let primary_dir = dir.path().join("primary");
        fs::create_dir_all(&primary_dir).unwrap();
        fs::write(primary_dir.join("example.zone"), zone_text(1, 604800, "")).unwrap();
        let primary_config = primary_dir.join("anyns.toml");
        fs::write(
            &primary_config,
            format!(
                "[server]\nudp-workers = 1\n[[listen]]\naddress = \"127.0.0.1:{primary_port}\"\nrole = \"unicast\"\n\
                 [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n\
                 notify = [\"127.0.0.2:{secondary_port}\"]\nallow-transfer = [\"127.0.0.0/8\"]\n"
            ),
        )
        .unwrap();
        let primary = start_anyns(&primary_config, primary_dir.join("anyns.log"));
        let zone = format!(
            "[[zone]]\nname = \"example.\"\nprimaries = [\"127.0.0.1:{primary_port}\"]\n\
             allow-transfer = [\"127.0.0.0/8\"]\n"
        );
        let config = anyns_config(dir.path(), secondary_port, &zone);
        let secondary = start_anyns(&config, dir.path().join("anyns.log"));
        let anycast = addr(ANYCAST, secondary_port);
        wait_until(
            "serial 1 at the secondary",
            Duration::from_secs(20),
            &[&primary, &secondary],
            || serial_at(anycast) == Some((0, Some(1))),
        );
        // Version 2 is large: the primary reloads it and NOTIFYs; the secondary pulls it.
        fs::write(primary_dir.join("example.zone"), zone_text(2, 604800, &big)).unwrap();
        let status = Command::new("kill")
            .args(["-HUP", &primary.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        match kill_at {
            Some(ms) => {
                wait_until(
                    "the NOTIFY",
                    Duration::from_secs(30),
                    &[&primary, &secondary],
                    || secondary.log().contains("NOTIFY received"),
                );
                thread::sleep(Duration::from_millis(ms));
            }
            None => {
                wait_until(
                    "serial 2 at the secondary",
                    Duration::from_secs(60),
                    &[&primary, &secondary],
                    || serial_at(anycast) == Some((0, Some(2))),
                );
            }
        }
        drop(secondary); // SIGKILL, then reaped
        drop(primary);
        // Restarted alone: what its storage holds.
        let restarted = start_anyns(&config, dir.path().join("restarted.log"));
        wait_until(
            "the restarted secondary to answer",
            Duration::from_secs(30),
            &[&restarted],
            || serial_at(anycast).is_some_and(|(rcode, serial)| rcode == 0 && serial.is_some()),
        );
        let serial = serial_at(anycast).and_then(|(_, s)| s).unwrap();
        let (rcode, records) = axfr(addr(UNICAST, secondary_port));
        eprintln!(
            "FIGURE SIGKILL {}: restarted with serial {serial}, {records} records",
            kill_at.map_or_else(
                || "just after serial 2 was served".to_string(),
                |ms| format!("{ms} ms after the NOTIFY"),
            )
        );
        assert_eq!(rcode, 0, "{}", restarted.log());
        assert!(matches!(serial, 1 | 2), "serial {serial}");
        if kill_at.is_none() {
            assert_eq!(serial, 2, "the version it served is the one it stored");
        }
        let expected = if serial == 2 { count(BIG) } else { count(0) };
        assert_eq!(
            records,
            expected,
            "a whole version (serial {serial})\n{}",
            restarted.log()
        );
    }
}

/// Fault: the primary killed (SIGKILL) while the secondary pulls a 100,000-record
/// version. The secondary keeps serving the old version whole; once the primary is back,
/// its retry timer (SOA retry 1 s) brings the new one in.
#[test]
fn primary_killed_mid_transfer_then_back_the_secondary_catches_up() {
    const BIG: usize = 100_000;
    let big: String = (0..BIG)
        .map(|i| format!("h{i} A 192.0.2.{}\n", i % 250 + 1))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (primary_port, secondary_port) = (free_port(), free_port());
    let primary_dir = dir.path().join("primary");
    fs::create_dir_all(&primary_dir).unwrap();
    fs::write(primary_dir.join("example.zone"), zone_text(1, 604800, "")).unwrap();
    let primary_config = primary_dir.join("anyns.toml");
    fs::write(
        &primary_config,
        format!(
            "[server]\nudp-workers = 1\n[[listen]]\naddress = \"127.0.0.1:{primary_port}\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n\
             notify = [\"127.0.0.2:{secondary_port}\"]\nallow-transfer = [\"127.0.0.0/8\"]\n"
        ),
    )
    .unwrap();
    let primary = start_anyns(&primary_config, primary_dir.join("anyns.log"));
    let zone = format!(
        "[[zone]]\nname = \"example.\"\nprimaries = [\"127.0.0.1:{primary_port}\"]\n\
         allow-transfer = [\"127.0.0.0/8\"]\n"
    );
    let config = anyns_config(dir.path(), secondary_port, &zone);
    let secondary = start_anyns(&config, dir.path().join("anyns.log"));
    let anycast = addr(ANYCAST, secondary_port);
    wait_until(
        "serial 1 at the secondary",
        Duration::from_secs(20),
        &[&primary, &secondary],
        || serial_at(anycast) == Some((0, Some(1))),
    );
    fs::write(primary_dir.join("example.zone"), zone_text(2, 604800, &big)).unwrap();
    let status = Command::new("kill")
        .args(["-HUP", &primary.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_until(
        "the NOTIFY",
        Duration::from_secs(30),
        &[&primary, &secondary],
        || secondary.log().contains("NOTIFY received"),
    );
    thread::sleep(Duration::from_millis(10));
    drop(primary); // SIGKILL in the middle of the transfer (or just before it)
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        serial_at(anycast),
        Some((0, Some(1))),
        "the old version keeps serving\n{}",
        secondary.log()
    );
    assert_eq!(axfr(addr(UNICAST, secondary_port)), (0, 5), "whole");
    let primary = start_anyns(&primary_config, primary_dir.join("anyns-again.log"));
    let took = wait_until(
        "serial 2 at the secondary",
        Duration::from_secs(30),
        &[&primary, &secondary],
        || serial_at(anycast) == Some((0, Some(2))),
    );
    eprintln!("FIGURE the secondary caught up {took:?} after the primary came back");
    assert_eq!(axfr(addr(UNICAST, secondary_port)), (0, BIG + 5));
}

/// Fault: the secondary's storage fills up (a 1 MiB tmpfs mounted by the test, as root)
/// while a 100,000-record version arrives. The old version keeps serving (a version is
/// served only once stored), the failure is logged and the zone lags in the metrics;
/// once there is room again (the tmpfs grown), a retry brings the new version in.
#[test]
fn a_full_disk_keeps_the_old_version_until_there_is_room() {
    if !crate::support::bgp::is_root("a_full_disk_keeps_the_old_version_until_there_is_room") {
        return;
    }
    const BIG: usize = 100_000;
    let big: String = (0..BIG)
        .map(|i| format!("h{i} A 192.0.2.{}\n", i % 250 + 1))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    fs::create_dir_all(&storage).unwrap();
    let mount = |options: &str| {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&storage)
            .status()
            .expect("mount");
        assert!(status.success(), "mount {options}");
    };
    mount("size=1m");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(storage.clone());
    let (primary_port, secondary_port, metrics_port) = (free_port(), free_port(), free_port());
    let primary_dir = dir.path().join("primary");
    fs::create_dir_all(&primary_dir).unwrap();
    fs::write(primary_dir.join("example.zone"), zone_text(1, 604800, "")).unwrap();
    let primary_config = primary_dir.join("anyns.toml");
    fs::write(
        &primary_config,
        format!(
            "[server]\nudp-workers = 1\n[[listen]]\naddress = \"127.0.0.1:{primary_port}\"\nrole = \"unicast\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n\
             notify = [\"127.0.0.2:{secondary_port}\"]\nallow-transfer = [\"127.0.0.0/8\"]\n"
        ),
    )
    .unwrap();
    let primary = start_anyns(&primary_config, primary_dir.join("anyns.log"));
    let zone = format!(
        "[[zone]]\nname = \"example.\"\nprimaries = [\"127.0.0.1:{primary_port}\"]\n\
         allow-transfer = [\"127.0.0.0/8\"]\n"
    );
    let config = anyns_config(dir.path(), secondary_port, &zone);
    let text = fs::read_to_string(&config).unwrap().replace(
        "udp-workers = 1\n",
        &format!("udp-workers = 1\nmetrics = \"127.0.0.2:{metrics_port}\"\n"),
    );
    fs::write(&config, text).unwrap();
    let secondary = start_anyns(&config, dir.path().join("anyns.log"));
    let anycast = addr(ANYCAST, secondary_port);
    wait_until(
        "serial 1 at the secondary",
        Duration::from_secs(20),
        &[&primary, &secondary],
        || serial_at(anycast) == Some((0, Some(1))),
    );
    fs::write(primary_dir.join("example.zone"), zone_text(2, 604800, &big)).unwrap();
    let status = Command::new("kill")
        .args(["-HUP", &primary.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The transfer arrives but cannot be stored: logged, and the old version still served.
    wait_until(
        "a storage failure in the log",
        Duration::from_secs(30),
        &[&secondary],
        || {
            let log = secondary.log().to_lowercase();
            log.contains("no space")
                || log.contains("storage") && (log.contains("fail") || log.contains("error"))
        },
    );
    assert_eq!(
        serial_at(anycast),
        Some((0, Some(1))),
        "a version is served only once stored\n{}",
        secondary.log()
    );
    assert_eq!(axfr(addr(UNICAST, secondary_port)), (0, 5));
    let (_, body) = crate::support::http_get(
        addr(UNICAST, metrics_port),
        "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let lag = body
        .lines()
        .find_map(|l| l.strip_prefix("anyns_zone_lag_seconds{zone=\"example.\"} "))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(
        lag.is_some_and(|l| l > 0.0),
        "the zone lags: {lag:?}\n{body}"
    );
    // Room again: the next retry stores and serves version 2.
    mount("remount,size=64m");
    let took = wait_until(
        "serial 2 at the secondary",
        Duration::from_secs(60),
        &[&primary, &secondary],
        || serial_at(anycast) == Some((0, Some(2))),
    );
    eprintln!("FIGURE version 2 stored and served {took:?} after the disk had room again");
    assert_eq!(axfr(addr(UNICAST, secondary_port)), (0, BIG + 5));
    drop(secondary);
    drop(primary);
}
