//! The primer's TCP rule from the resolver's side, as root in a namespace of its own: a zone
//! whose NS set has two "anycast" servers and one unicast-only one; with TCP to the anycast
//! servers rejected by nftables (what a route moving mid-connection looks like: a reset),
//! a name whose answer needs TCP still resolves, through the unicast server.

use std::fmt::Write as _;
use std::fs;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::support::bgp::{LoopbackNetns, is_root};
use crate::support::tree::{HINTS, ROOT, test_zone};
use crate::support::{Daemon, anyns_bin, require_tool, test_dir, wait_for};

/// `far.test.`: two "anycast" servers and one unicast-only one.
const FAR_DELEGATION: &str = "\
far.test. 3600 IN NS a1.far.test.
far.test. 3600 IN NS a2.far.test.
far.test. 3600 IN NS slow.far.test.
a1.far.test. 3600 IN A 127.0.0.4
a2.far.test. 3600 IN A 127.0.0.5
slow.far.test. 3600 IN A 127.0.0.8
";

fn far() -> String {
    let mut z = String::from(
        "\
far.test. 3600 IN SOA a1.far.test. admin.far.test. 1 1800 900 604800 60
far.test. 3600 IN NS a1.far.test.
far.test. 3600 IN NS a2.far.test.
far.test. 3600 IN NS slow.far.test.
a1.far.test. 3600 IN A 127.0.0.4
a2.far.test. 3600 IN A 127.0.0.5
slow.far.test. 3600 IN A 127.0.0.8
small.far.test. 60 IN TXT \"hi\"
",
    );
    // Too large for a 1232-octet UDP answer: the resolver must ask over TCP.
    for i in 0..8 {
        let _ = writeln!(z, "big.far.test. 60 IN TXT \"{i}{}\"", "x".repeat(200));
    }
    z
}

#[test]
fn with_tcp_to_the_anycast_servers_broken_a_tcp_answer_comes_from_the_unicast_server() {
    if !is_root("with_tcp_to_the_anycast_servers_broken_a_tcp_answer_comes_from_the_unicast_server")
    {
        return;
    }
    let (dig, nft) = (require_tool("dig"), require_tool("nft"));
    let dir = test_dir();
    let ns = LoopbackNetns::new("rtcp");
    let serve = |tag: &str, last: u8, origin: &str, text: &str| {
        let file = dir.path().join(format!("{tag}.zone"));
        fs::write(&file, text).expect("zone");
        let mut command = ns.command(&anyns_bin());
        command
            .arg("serve")
            .args([
                "--listen",
                &format!("127.0.0.{last}:53"),
                "--udp-workers",
                "1",
            ])
            .arg("--zone")
            .arg(format!("{origin}={}", file.display()));
        Daemon::spawn(tag, command, dir.path().join(format!("{tag}.log")))
    };
    let mut daemons = vec![
        serve("root", 2, ".", ROOT),
        serve("tld", 3, "test.", &test_zone(FAR_DELEGATION)),
        serve("a1", 4, "far.test.", &far()),
    ];
    let hints = dir.path().join("root.hints");
    fs::write(&hints, HINTS).expect("hints");
    let socket = dir.path().join("resolver.sock");
    let config = dir.path().join("resolver.toml");
    fs::write(
        &config,
        format!(
            "[server]\nudp-workers = 1\ncontrol-socket = \"{}\"\n[[listen]]\naddress = \"127.0.0.1:53\"\nrole = \"unicast\"\nservice = \"resolver\"\n[resolver]\nhints = \"{}\"\n",
            socket.display(),
            hints.display()
        ),
    )
    .expect("resolver config");
    let mut command = ns.command(&anyns_bin());
    command.arg("serve").arg("-c").arg(&config);
    daemons.push(Daemon::spawn(
        "resolver",
        command,
        dir.path().join("resolver.log"),
    ));

    let ask = |name: &str, tcp: bool| -> Vec<String> {
        let mut command = ns.command(&dig);
        command.args(["@127.0.0.1", name, "TXT", "+short", "+time=8", "+tries=1"]);
        if tcp {
            command.arg("+tcp");
        }
        let out = command.output().expect("dig");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with('"'))
            .map(str::to_string)
            .collect()
    };
    let flush = |name: &str| {
        let out = Command::new(anyns_bin())
            .args(["flush", name, "--socket"])
            .arg(&socket)
            .output()
            .expect("anyns flush");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // While only a1 runs, the resolver learns a1's round-trip time: later it prefers the
    // anycast server, as it would in the field.
    wait_for(
        "the resolver to reach far.test.",
        Duration::from_secs(20),
        || (ask("small.far.test.", false) == ["\"hi\""]).then_some(()),
        || {
            daemons
                .iter()
                .map(Daemon::log)
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
    for _ in 0..3 {
        flush("small.far.test.");
        assert_eq!(ask("small.far.test.", false), ["\"hi\""]);
    }
    daemons.push(serve("a2", 5, "far.test.", &far()));
    daemons.push(serve("slow", 8, "far.test.", &far()));
    let slow: SocketAddr = "127.0.0.8:53".parse().expect("address");
    wait_for(
        "the unicast server",
        Duration::from_secs(20),
        || {
            let out = ns
                .command(&dig)
                .args([
                    &format!("@{}", slow.ip()),
                    "big.far.test.",
                    "TXT",
                    "+tcp",
                    "+short",
                    "+norec",
                ])
                .output()
                .ok()?;
            (String::from_utf8_lossy(&out.stdout).lines().count() == 8).then_some(())
        },
        || {
            daemons
                .iter()
                .map(Daemon::log)
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
    // TCP to the anycast servers is reset from now on.
    for rule in [
        "add table inet anyns_test",
        "add chain inet anyns_test out { type filter hook output priority 0 ; }",
        "add rule inet anyns_test out ip daddr { 127.0.0.4, 127.0.0.5 } tcp dport 53 counter reject with tcp reset",
    ] {
        let status = ns.command(&nft).args(rule.split(' ')).status();
        assert!(status.is_ok_and(|s| s.success()), "nft {rule}");
    }
    for round in 0..3 {
        flush("big.far.test.");
        let answer = ask("big.far.test.", true);
        assert_eq!(
            answer.len(),
            8,
            "round {round}: {answer:?}\n{}",
            daemons[3].log()
        );
    }
    let ruleset = ns
        .command(&nft)
        .args(["list", "ruleset"])
        .output()
        .expect("nft list");
    let ruleset = String::from_utf8_lossy(&ruleset.stdout);
    let rejected: u64 = ruleset
        .split("counter packets ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    assert!(
        rejected > 0,
        "no TCP attempt to the anycast servers was made:\n{ruleset}"
    );
    eprintln!(
        "TCP to the anycast servers reset {rejected} times; every answer came through the unicast server"
    );
}
