//! `[supervise]` on loopback (no root needed): one `anyns serve` starts two DNS instances
//! sharing the service address, probes them, restarts one killed with SIGKILL, kills and
//! restarts one that hangs (SIGSTOP) while the cloud stays announced, and stops them all
//! when it stops.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::dns::{A, Query};
use crate::support::{self, free_port, start_local_anyns, test_dir, wait_for};

fn pid_of(file: &Path) -> Option<u32> {
    fs::read_to_string(file).ok()?.trim().parse().ok()
}

fn alive(pid: u32) -> bool {
    // A zombie (exited, not yet reaped) is not alive.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.split_whitespace().nth(2).map(str::to_string))
        .is_some_and(|state| state != "Z")
}

fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

/// `anyns ctl status --json` as JSON.
fn status(socket: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_anyns"))
        .args(["ctl", "--json", "--socket"])
        .arg(socket)
        .arg("status")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

#[test]
fn a_supervisor_starts_restarts_and_stops_its_instances() {
    let _serial = support::serial();
    let dir = test_dir();
    let (port, bgp_port) = (free_port(), free_port());
    fs::write(
        dir.path().join("example.zone"),
        "$ORIGIN example.\n$TTL 300\n@ SOA ns1 h 7 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\n",
    )
    .unwrap();
    let socket = dir.path().join("ctl.sock");
    let run_dir = dir.path().join("run");
    let config = format!(
        r#"[server]
identity = "site-1"
udp-workers = 1
control-socket = "{socket}"

[[listen]]
address = "127.0.0.2:{port}"
role = "anycast"

[[zone]]
name = "example."
file = "example.zone"

[supervise]
instances = 2
probe-addresses = ["127.0.1.1:{port}", "127.0.1.2:{port}"]
run-dir = "{run}"

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
graceful-shutdown-ms = 200
drain-quiet-ms = 200
"#,
        socket = socket.display(),
        run = run_dir.display(),
    );
    let mut supervisor = start_local_anyns(dir.path(), "supervisor", &config);
    let pid_files = [
        run_dir.join("instance-0.pid"),
        run_dir.join("instance-1.pid"),
    ];
    let announced_with_both = || {
        let status = status(&socket);
        let cloud = &status["clouds"][0];
        (cloud["state"] == "announced" && cloud["instances_up"] == 2).then_some(())
    };
    wait_for(
        "both instances up and the cloud announced",
        Duration::from_secs(15),
        announced_with_both,
        || format!("{}\n{}", status(&socket), supervisor.log()),
    );
    let first: Vec<u32> = pid_files
        .iter()
        .map(|f| pid_of(f).expect("a PID file"))
        .collect();
    assert!(first.iter().all(|&p| alive(p)), "{first:?}");
    // The service address is answered (by the instances: the supervisor does not listen on it).
    let service = ([127, 0, 0, 2], port).into();
    let reply = Query::new("ns1.example.", A)
        .send_udp(service)
        .expect("an answer on the service address");
    assert_eq!(reply.answer.len(), 1, "{reply:?}");

    // SIGKILL: the instance is started again, under a new PID.
    kill("-KILL", first[0]);
    let restarted = wait_for(
        "instance 0 restarted",
        Duration::from_secs(10),
        || pid_of(&pid_files[0]).filter(|&p| p != first[0] && alive(p)),
        || supervisor.log(),
    );
    wait_for(
        "both up again",
        Duration::from_secs(10),
        announced_with_both,
        || format!("{}\n{}", status(&socket), supervisor.log()),
    );

    // SIGSTOP: the probes time out, the health driver kills it (another is up), the
    // supervisor restarts it; the cloud stays announced throughout.
    kill("-STOP", first[1]);
    wait_for(
        "the hung instance killed and restarted",
        Duration::from_secs(10),
        || pid_of(&pid_files[1]).filter(|&p| p != first[1] && alive(p)),
        || supervisor.log(),
    );
    assert!(!alive(first[1]), "the hung instance is gone");
    let log = supervisor.log();
    assert!(log.contains("hung DNS instance killed"), "{log}");
    assert!(
        !log.contains("withdraw"),
        "a hung instance of two does not withdraw: {log}"
    );
    wait_for(
        "both up again",
        Duration::from_secs(10),
        announced_with_both,
        || format!("{}\n{}", status(&socket), supervisor.log()),
    );

    // Stopping the supervisor stops every instance.
    let now: Vec<u32> = vec![restarted, pid_of(&pid_files[1]).unwrap()];
    supervisor.terminate(Duration::from_secs(15));
    for pid in now {
        assert!(!alive(pid), "instance {pid} outlived its supervisor");
    }
    assert!(pid_files.iter().all(|f| !f.exists()), "PID files removed");
}
