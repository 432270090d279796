//! The daemon's own behaviour around the answers: SIGHUP reloads (atomic; a broken zone
//! keeps the serving one), TCP per RFC 7766 (pipelining, idle timeout, RFC 7828 keepalive,
//! the connection limit), replies from the address asked on a wildcard listener, IPv6.

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::dns::{
    Edns, NOERROR, Query, Reply, SOA, TXT, tcp_connect, tcp_read_frame, tcp_send, udp_exchange,
};
use crate::support::{self, anyns_bin, free_port, spawn_logged};

/// An anyns started from a config file, killed on drop.
struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("anyns.log")).unwrap_or_default()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success());
    }
}

fn zone_text(serial: u32, extra: &str) -> String {
    format!(
        "$ORIGIN example.\n$TTL 300\n@ SOA ns1 hostmaster {serial} 7200 3600 1209600 60\n\
         @ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.80\n{extra}"
    )
}

/// Starts anyns with `server` settings and `listen` addresses; waits until `probe` answers.
fn start(server: &str, listen: &[SocketAddr], zone: &str, probe: SocketAddr) -> Daemon {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("example.zone"), zone).unwrap();
    let listens: String = listen
        .iter()
        .map(|a| format!("[[listen]]\naddress = \"{a}\"\n"))
        .collect();
    let config = format!(
        "[server]\nidentity = \"serving-test\"\nudp-workers = 2\n{server}\n{listens}\
         [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n"
    );
    fs::write(dir.path().join("anyns.toml"), config).unwrap();
    let mut command = Command::new(anyns_bin());
    command
        .args(["serve", "--config"])
        .arg(dir.path().join("anyns.toml"));
    let child = spawn_logged("anyns", &mut command, &dir.path().join("anyns.log"));
    let daemon = Daemon { child, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if udp_exchange(probe, &Query::new("example.", SOA).to_bytes()).is_some() {
            return daemon;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("anyns did not answer on {probe}; log:\n{}", daemon.log());
}

fn serial(addr: SocketAddr) -> Option<u32> {
    let reply = Reply::parse(udp_exchange(addr, &Query::new("example.", SOA).to_bytes())?);
    let soa = reply.answer.first()?;
    soa.rdata.split_whitespace().nth(2)?.parse().ok()
}

/// Polls `check` until it holds, for up to `timeout`.
fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    support::wait_for(what, timeout, || check().then_some(()), String::new);
}

fn loopback(port: u16) -> SocketAddr {
    ([127, 0, 0, 1], port).into()
}

#[test]
fn sighup_reloads_atomically_and_a_broken_zone_keeps_serving_the_old_one() {
    let addr = loopback(free_port());
    let daemon = start("", &[addr], &zone_text(1, ""), addr);
    let zone_file = daemon.dir.path().join("example.zone");
    assert_eq!(serial(addr), Some(1));

    // A client keeps asking during the reloads: every answer must be a whole zone's.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut answers = 0;
            for _ in 0..20_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                // UDP may lose a datagram on a loaded machine: three tries before failing.
                let query = Query::new("www.example.", 1).to_bytes();
                let bytes = (0..3)
                    .find_map(|_| udp_exchange(addr, &query))
                    .expect("an answer during reload");
                let reply = Reply::parse(bytes);
                assert_eq!(reply.rcode, NOERROR);
                assert!(reply.aa && reply.answer.len() == 1, "{reply:?}");
                answers += 1;
            }
            answers
        })
    };

    // Names enough that one changed address leaves most of the data in use (a patch of a
    // tiny zone is refused: the old SOA alone would be a large share of stale data).
    let filler: String = (0..40)
        .map(|i| format!("h{i} A 198.51.100.{i}\n"))
        .collect();
    fs::write(
        &zone_file,
        zone_text(2, &format!("new A 192.0.2.2\n{filler}")),
    )
    .unwrap();
    daemon.signal("HUP");
    wait_for("serial 2", Duration::from_secs(5), || {
        serial(addr) == Some(2)
    });
    let new = Reply::parse(udp_exchange(addr, &Query::new("new.example.", 1).to_bytes()).unwrap());
    assert_eq!(new.answer.len(), 1);
    assert!(
        daemon.log().contains("patched=false"),
        "a name added: built"
    );

    // Only data changes: the reload reads the difference and patches it in.
    fs::write(
        &zone_file,
        zone_text(3, &format!("new A 192.0.2.3\n{filler}")),
    )
    .unwrap();
    daemon.signal("HUP");
    wait_for("serial 3", Duration::from_secs(5), || {
        serial(addr) == Some(3)
    });
    let new = Reply::parse(udp_exchange(addr, &Query::new("new.example.", 1).to_bytes()).unwrap());
    assert_eq!(new.answer.len(), 1);
    assert_eq!(new.answer[0].rdata, "192.0.2.3", "{new:?}");
    assert!(daemon.log().contains("patched=true"), "{}", daemon.log());

    fs::write(&zone_file, zone_text(4, "www CNAME ns1\n")).unwrap();
    daemon.signal("HUP");
    wait_for(
        "the reload failure in the log",
        Duration::from_secs(5),
        || daemon.log().contains("keeping the zone that is serving"),
    );
    assert_eq!(
        serial(addr),
        Some(3),
        "the broken zone must not replace the serving one"
    );
    assert!(
        daemon.log().contains("CNAME and other data"),
        "{}",
        daemon.log()
    );

    stop.store(true, Ordering::Relaxed);
    let answers = watcher.join().expect("watcher saw only whole zones");
    assert!(answers > 0);
    println!("{answers} queries answered during three reloads");
}

/// The answer cache's hits, from the metrics endpoint at `metrics`.
fn cache_hits(metrics: SocketAddr) -> u64 {
    let (_, body) = support::http_get(metrics, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    body.lines()
        .find_map(|l| l.strip_prefix("anyns_answer_cache_hits_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no cache metric in {body}"))
}

#[test]
fn the_answer_cache_repeats_answers_exactly_and_follows_every_zone_change() {
    // The listener is anycast by default: metrics go to another loopback address.
    let addr = loopback(free_port());
    let metrics: SocketAddr = ([127, 0, 0, 9], free_port()).into();
    let server = format!("metrics = \"{metrics}\"");
    let daemon = start(&server, &[addr], &zone_text(1, ""), addr);
    let zone_file = daemon.dir.path().join("example.zone");
    let ask = |id: u16| {
        let query = Query::new("www.example.", 1).id(id).to_bytes();
        Reply::parse(
            (0..3)
                .find_map(|_| udp_exchange(addr, &query))
                .expect("an answer"),
        )
    };
    let hits_before = cache_hits(metrics);
    let first = ask(1);
    for id in 2..40u16 {
        let again = ask(id);
        assert_eq!(again.id, id);
        assert_eq!(
            again.bytes[2..],
            first.bytes[2..],
            "the same answer but the ID"
        );
    }
    // Two workers, each with its own cache: most of the 38 repeats were copies.
    let hits = cache_hits(metrics) - hits_before;
    assert!(hits >= 30, "{hits} answers from the cache");

    // A reload changes the address: no worker answers the old one after the new serial.
    fs::write(
        &zone_file,
        zone_text(2, "").replace("192.0.2.80", "192.0.2.81"),
    )
    .unwrap();
    daemon.signal("HUP");
    wait_for("serial 2", Duration::from_secs(5), || {
        serial(addr) == Some(2)
    });
    for id in 100..140u16 {
        let reply = ask(id);
        assert_eq!(reply.answer[0].rdata, "192.0.2.81", "{reply:?}");
    }
}

#[test]
fn test_7766_pipelined_tcp_queries_are_all_answered_in_order() {
    let addr = loopback(free_port());
    let _daemon = start("", &[addr], &zone_text(1, ""), addr);
    let mut stream = tcp_connect(addr);
    let mut burst = Vec::new();
    for id in 0..20u16 {
        let query = Query::new("www.example.", 1).id(0x1000 + id).to_bytes();
        burst.extend_from_slice(&(query.len() as u16).to_be_bytes());
        burst.extend_from_slice(&query);
    }
    std::io::Write::write_all(&mut stream, &burst).unwrap();
    for id in 0..20u16 {
        let reply = Reply::parse(tcp_read_frame(&mut stream).expect("answer"));
        assert_eq!(reply.id, 0x1000 + id);
        assert_eq!(reply.answer.len(), 1);
    }
}

#[test]
fn test_7828_keepalive_is_advertised_and_idle_connections_close() {
    let addr = loopback(free_port());
    let _daemon = start("tcp-idle-timeout = 1", &[addr], &zone_text(1, ""), addr);
    let mut stream = tcp_connect(addr);
    // EDNS with an empty edns-tcp-keepalive option (code 11).
    let mut query = Query::new("www.example.", 1)
        .edns(Some(Edns::payload(1232)))
        .to_bytes();
    let opt_rdlen_at = query.len() - 2;
    query.extend_from_slice(&[0, 11, 0, 0]);
    query[opt_rdlen_at + 1] = 4;
    tcp_send(&mut stream, &query);
    let reply = tcp_read_frame(&mut stream).expect("answer");
    // The timeout comes back in units of 100 ms: 1 s = 10.
    assert!(reply.ends_with(&[0, 11, 0, 2, 0, 10]), "{reply:02x?}");
    let started = Instant::now();
    assert!(
        tcp_read_frame(&mut stream).is_none(),
        "the server closes an idle connection"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_millis(1900),
        "{waited:?}"
    );
}

#[test]
fn tcp_connection_limit_sheds_the_connection_idle_longest() {
    let addr = loopback(free_port());
    let _daemon = start("tcp-max-connections = 2", &[addr], &zone_text(1, ""), addr);
    let query = Query::new("www.example.", 1).to_bytes();
    let mut oldest = tcp_connect(addr);
    tcp_send(&mut oldest, &query);
    assert!(tcp_read_frame(&mut oldest).is_some());
    thread::sleep(Duration::from_millis(50));
    let mut second = tcp_connect(addr);
    tcp_send(&mut second, &query);
    assert!(tcp_read_frame(&mut second).is_some());
    let mut third = tcp_connect(addr);
    tcp_send(&mut third, &query);
    assert!(
        tcp_read_frame(&mut third).is_some(),
        "a new connection is admitted at the limit"
    );
    assert!(
        tcp_read_frame(&mut oldest).is_none(),
        "the longest-idle connection was closed"
    );
    tcp_send(&mut second, &query);
    assert!(
        tcp_read_frame(&mut second).is_some(),
        "the other connection still works"
    );
}

#[test]
fn wildcard_listener_replies_from_the_address_the_query_came_to() {
    let port = free_port();
    let wildcard: SocketAddr = ([0, 0, 0, 0], port).into();
    let _daemon = start("", &[wildcard], &zone_text(1, ""), loopback(port));
    for last in [1u8, 2, 3] {
        let target: SocketAddr = ([127, 0, 0, last], port).into();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        // A connected socket only accepts datagrams whose source is `target`.
        socket.connect(target).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        socket
            .send(&Query::new("www.example.", 1).to_bytes())
            .unwrap();
        let mut buf = [0u8; 512];
        let len = socket
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no reply from {target}: {e}"));
        assert_eq!(Reply::parse(buf[..len].to_vec()).answer.len(), 1);
    }
}

#[test]
fn ipv6_listener_and_chaos_identity() {
    let port = free_port();
    let v6: SocketAddr = format!("[::1]:{port}").parse().unwrap();
    if UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("!!! SKIPPED: no IPv6 loopback on this machine");
        return;
    }
    let v4 = loopback(port);
    let _daemon = start("", &[v4, v6], &zone_text(1, ""), v4);
    let socket = UdpSocket::bind("[::1]:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket
        .send_to(&Query::new("id.server.", TXT).class(3).to_bytes(), v6)
        .unwrap();
    let mut buf = [0u8; 512];
    let len = socket.recv(&mut buf).expect("answer over IPv6");
    let reply = Reply::parse(buf[..len].to_vec());
    assert!(reply.answer[0].rdata.contains("serving-test"), "{reply:?}");
}

/// SIGUSR1 (what log rotators send) and SIGUSR2 must not kill the daemon: it logs them and
/// keeps serving.
#[test]
fn sigusr1_and_sigusr2_are_logged_and_the_daemon_keeps_serving() {
    let addr = loopback(free_port());
    let daemon = start("", &[addr], &zone_text(1, ""), addr);
    for signal in ["USR1", "USR2"] {
        daemon.signal(signal);
        wait_for(
            &format!("SIG{signal} in the log"),
            Duration::from_secs(5),
            || daemon.log().contains(&format!("SIG{signal}: ignored")),
        );
        assert_eq!(serial(addr), Some(1), "still serving after SIG{signal}");
    }
}

/// A second `anyns serve` on an address another one serves would silently take a share of
/// its queries (SO_REUSEPORT): it is refused (exit 2, naming the listener) unless every
/// instance says it is one of a site's (`shared-listen = true`). A daemon whose control
/// socket path another running daemon serves is refused too, and the first keeps it.
#[test]
fn a_second_daemon_cannot_take_a_share_or_the_control_socket() {
    let addr = loopback(free_port());
    let first = start("", &[addr], &zone_text(1, ""), addr);
    let run = |dir: &std::path::Path, config: &str| {
        fs::write(dir.join("second.toml"), config).unwrap();
        Command::new(anyns_bin())
            .args(["serve", "--config"])
            .arg(dir.join("second.toml"))
            .output()
            .expect("run anyns")
    };
    let second = format!(
        "[[listen]]\naddress = \"{addr}\"\n[[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n"
    );
    let out = run(first.dir.path(), &second);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("listen[0].address") && stderr.contains("in use by another process"),
        "{stderr}"
    );
    assert_eq!(serial(addr), Some(1), "the first one still answers");
    drop(first);

    // Instances of one site share their address when each says so.
    let addr = loopback(free_port());
    let shared = start("shared-listen = true", &[addr], &zone_text(1, ""), addr);
    let dir = shared.dir.path();
    let socket = dir.join("control.sock");
    let config = format!(
        "[server]\nshared-listen = true\nudp-workers = 1\ncontrol-socket = \"{}\"\n\
         [[listen]]\naddress = \"{addr}\"\n[[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n\
         [health]\n[[health.cloud]]\nname = \"ns1\"\ninstances = [\"{addr}\"]\n",
        socket.display()
    );
    fs::write(dir.join("with-socket.toml"), &config).unwrap();
    let mut command = Command::new(anyns_bin());
    command
        .args(["serve", "--config"])
        .arg(dir.join("with-socket.toml"));
    let mut holder = spawn_logged("anyns-control", &mut command, &dir.join("holder.log"));
    support::wait_for(
        "the control socket",
        Duration::from_secs(10),
        || socket.exists().then_some(()),
        || fs::read_to_string(dir.join("holder.log")).unwrap_or_default(),
    );
    // A third instance with the same control socket: refused, the socket stays the holder's.
    let out = run(dir, &config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("server.control-socket"), "{stderr}");
    let status = Command::new(anyns_bin())
        .args(["status", "--socket"])
        .arg(&socket)
        .output()
        .expect("anyns status");
    assert!(
        status.status.success(),
        "the holder still answers on its socket"
    );
    let _ = holder.kill();
    let _ = holder.wait();
}

/// Under systemd (`Type=notify`, `WatchdogSec=`): READY=1 once it serves, WATCHDOG=1 pings
/// while its own listener answers, STOPPING=1 on SIGTERM. The notify socket is a datagram
/// socket of this test, named by `$NOTIFY_SOCKET` as systemd does.
#[test]
fn systemd_notify_ready_watchdog_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().expect("tempdir");
    let socket_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&socket_path).expect("notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let addr = loopback(free_port());
    fs::write(dir.path().join("example.zone"), zone_text(1, "")).unwrap();
    fs::write(
        dir.path().join("anyns.toml"),
        format!(
            "[server]\nidentity = \"notify-test\"\nudp-workers = 1\n[[listen]]\naddress = \"{addr}\"\n\
             [[zone]]\nname = \"example.\"\nfile = \"example.zone\"\n"
        ),
    )
    .unwrap();
    let mut command = Command::new(anyns_bin());
    command
        .args(["serve", "--config"])
        .arg(dir.path().join("anyns.toml"))
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000");
    let child = spawn_logged("anyns", &mut command, &dir.path().join("anyns.log"));
    let daemon = Daemon { child, dir };
    let read = || {
        let mut buf = [0u8; 512];
        let n = notify
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no notification ({e}); log:\n{}", daemon.log()));
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let first = read();
    assert!(first.starts_with("READY=1\n"), "{first:?}");
    assert!(
        first.contains("STATUS=serving 1 zones on 1 listeners"),
        "{first:?}"
    );
    assert_eq!(serial(addr), Some(1), "READY only once it answers");
    let pings = (0..3)
        .map(|_| read())
        .filter(|m| m == "WATCHDOG=1\n")
        .count();
    assert_eq!(pings, 3, "a ping every WATCHDOG_USEC / 2");
    daemon.signal("TERM");
    let stopping = (0..10).map(|_| read()).any(|m| m == "STOPPING=1\n");
    assert!(stopping, "STOPPING=1 on SIGTERM");
}

/// `--log-format json`: every log line is one JSON object with the level, the target and
/// the message among its fields (for journald or a collector to parse).
#[test]
fn json_log_lines_are_one_object_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = loopback(free_port());
    fs::write(dir.path().join("example.zone"), zone_text(1, "")).unwrap();
    let mut command = Command::new(anyns_bin());
    command
        .args(["--log-format", "json", "serve", "--listen"])
        .arg(addr.to_string())
        .arg("--zone")
        .arg(format!(
            "example.={}",
            dir.path().join("example.zone").display()
        ));
    let child = spawn_logged("anyns", &mut command, &dir.path().join("anyns.log"));
    let daemon = Daemon { child, dir };
    wait_for("the daemon to answer", Duration::from_secs(10), || {
        serial(addr) == Some(1)
    });
    let log = daemon.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "{log}");
    for line in lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            value["level"].is_string() && value["target"].is_string(),
            "{line}"
        );
        assert!(value["fields"]["message"].is_string(), "{line}");
    }
    assert!(log.contains("\"message\":\"serving\""), "{log}");
}

/// SIGHUP re-reads the configuration and says what it cannot apply live: an edited
/// identity is named as needing a restart (and the old one keeps answering), a broken file
/// is reported with its error (the running configuration stays), an unchanged one is said
/// to be unchanged; the zone file is reloaded every time.
#[test]
fn sighup_reports_configuration_changes_that_need_a_restart() {
    let addr = loopback(free_port());
    let daemon = start("", &[addr], &zone_text(1, ""), addr);
    let config_path = daemon.dir.path().join("anyns.toml");
    let original = fs::read_to_string(&config_path).unwrap();
    daemon.signal("HUP");
    wait_for("the unchanged report", Duration::from_secs(5), || {
        daemon.log().contains("SIGHUP: configuration unchanged")
    });
    fs::write(
        &config_path,
        original.replace("serving-test", "renamed-site"),
    )
    .unwrap();
    fs::write(daemon.dir.path().join("example.zone"), zone_text(2, "")).unwrap();
    daemon.signal("HUP");
    wait_for("the restart warning", Duration::from_secs(5), || {
        daemon.log().contains("need a restart") && daemon.log().contains("changed=server")
    });
    wait_for("serial 2", Duration::from_secs(5), || {
        serial(addr) == Some(2)
    });
    fs::write(&config_path, "[[listen]]\naddress = \"nowhere\"\n").unwrap();
    daemon.signal("HUP");
    wait_for("the invalid-file warning", Duration::from_secs(5), || {
        daemon
            .log()
            .contains("the configuration file is not valid now")
            && daemon.log().contains("listen[0].address")
    });
    assert_eq!(serial(addr), Some(2), "still serving");
}
