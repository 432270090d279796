//! Helpers for the BGP interop tests: a pair of network namespaces joined by a veth
//! (anyns in `a`, the peer in `b`), and the daemons run inside them — anyns, BIRD 2,
//! GoBGP and FRR's bgpd — each with every file in a temporary directory.
//!
//! Addresses are from the documentation ranges only and there is no default route: all
//! traffic stays on the veth. Every process is stopped by its own PID (SIGTERM, then
//! SIGKILL) and every namespace this module created is deleted, in `Drop`.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::{Daemon, anyns_bin, require_tool, wait_for};

/// anyns's side of the veth.
pub(crate) const A_V4: &str = "198.51.100.1";
/// The peer's side of the veth.
pub(crate) const B_V4: &str = "198.51.100.2";
/// anyns's IPv6 address on the veth.
pub(crate) const A_V6: &str = "2001:db8::1";
/// The peer's IPv6 address on the veth.
pub(crate) const B_V6: &str = "2001:db8::2";
/// anyns's AS.
pub(crate) const LOCAL_AS: u32 = 65000;
/// The peer's AS.
pub(crate) const PEER_AS: u32 = 65001;
/// The service prefixes anyns announces.
pub(crate) const PREFIX_V4: &str = "203.0.113.53/32";
/// The IPv6 service prefix.
pub(crate) const PREFIX_V6: &str = "2001:db8:53::/48";

/// Bound on each wait in the tests.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// Whether we run as root; prints a loud notice when not (the test then skips).
pub(crate) fn is_root(test: &str) -> bool {
    let root = fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        eprintln!(
            "\n!!!!! SKIPPED {test}: needs root (network namespaces); CI runs as root !!!!!\n"
        );
    }
    root
}

/// Runs a command to completion, panicking with its output if it fails.
fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

// ---------------------------------------------------------------------------
// Namespaces

/// Two namespaces joined by a veth: `a` (anyns, 198.51.100.1, 2001:db8::1) and `b` (the
/// peer, .2 and ::2). Deleted on drop, after the processes in them are gone.
pub(crate) struct NetnsPair {
    pub(crate) a: String,
    pub(crate) b: String,
}

impl NetnsPair {
    /// Creates the pair; the names carry this process's PID and a counter.
    pub(crate) fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let base = format!("anyns-bgpt-{}-{n}", std::process::id());
        let pair = Self {
            a: format!("{base}-a"),
            b: format!("{base}-b"),
        };
        let ip = require_tool("ip");
        for ns in [&pair.a, &pair.b] {
            run(Command::new(&ip).args(["netns", "add", ns]));
        }
        run(Command::new(&ip).args([
            "link", "add", "veth-a", "netns", &pair.a, "type", "veth", "peer", "name", "veth-b",
            "netns", &pair.b,
        ]));
        for (ns, dev, v4, v6) in [
            (&pair.a, "veth-a", A_V4, A_V6),
            (&pair.b, "veth-b", B_V4, B_V6),
        ] {
            pair.exec_ok(ns, &["ip", "link", "set", "lo", "up"]);
            pair.exec_ok(ns, &["ip", "addr", "add", &format!("{v4}/24"), "dev", dev]);
            pair.exec_ok(
                ns,
                &[
                    "ip",
                    "-6",
                    "addr",
                    "add",
                    &format!("{v6}/64"),
                    "dev",
                    dev,
                    "nodad",
                ],
            );
            pair.exec_ok(ns, &["ip", "link", "set", dev, "up"]);
        }
        // The veth needs a moment to come up on both ends.
        for (ns, dev) in [(&pair.a, "veth-a"), (&pair.b, "veth-b")] {
            wait_link_up(ns, dev);
        }
        pair
    }

    /// A command that runs `program` inside namespace `ns`.
    pub(crate) fn command(&self, ns: &str, program: &Path) -> Command {
        netns_command(ns, program)
    }

    fn exec_ok(&self, ns: &str, args: &[&str]) {
        let mut command = self.command(ns, &require_tool(args[0]));
        run(command.args(&args[1..]));
    }
}

/// A namespace with only loopback, deleted on drop (after the daemons in it are gone).
pub(crate) struct LoopbackNetns {
    name: String,
}

impl LoopbackNetns {
    /// A fresh namespace named after `tag` and this process.
    pub(crate) fn new(tag: &str) -> Self {
        let name = format!("anyns-{tag}-{}", std::process::id());
        let ip = require_tool("ip");
        // A namespace left by a run that was killed.
        let _ = Command::new(&ip)
            .args(["netns", "del", &name])
            .stderr(std::process::Stdio::null())
            .status();
        let ok = Command::new(&ip).args(["netns", "add", &name]).status();
        assert!(ok.is_ok_and(|s| s.success()), "ip netns add {name}");
        let ok = netns_command(&name, &ip)
            .args(["link", "set", "lo", "up"])
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "lo up in {name}");
        Self { name }
    }

    /// A command that runs `program` inside the namespace.
    pub(crate) fn command(&self, program: &Path) -> Command {
        netns_command(&self.name, program)
    }
}

impl Drop for LoopbackNetns {
    fn drop(&mut self) {
        let _ = Command::new(require_tool("ip"))
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A command that runs `program` inside network namespace `ns` (`ip netns exec`).
pub(crate) fn netns_command(ns: &str, program: &Path) -> Command {
    let mut command = Command::new(require_tool("ip"));
    command.args(["netns", "exec", ns]).arg(program);
    command
}

/// Waits (up to 5 s) until link `dev` in namespace `ns` is up (LOWER_UP): a veth needs a
/// moment to come up on both ends.
pub(crate) fn wait_link_up(ns: &str, dev: &str) {
    let ip = require_tool("ip");
    wait_for(
        &format!("{dev} in {ns} to come up"),
        Duration::from_secs(5),
        || {
            let out = netns_command(ns, &ip)
                .args(["-o", "link", "show", dev])
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout)
                .contains("LOWER_UP")
                .then_some(())
        },
        String::new,
    );
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        let ip = require_tool("ip");
        for ns in [&self.a, &self.b] {
            // Anything still running in our own namespace is ours: stop it by PID.
            if let Ok(out) = Command::new(&ip).args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
            let _ = Command::new(&ip).args(["netns", "del", ns]).status();
        }
    }
}

// ---------------------------------------------------------------------------
// anyns

/// What differs between the anyns configurations of the tests.
#[derive(Clone, Debug)]
pub(crate) struct AnynsPeer {
    /// Peer address.
    pub(crate) address: &'static str,
    /// Our bind address.
    pub(crate) local: &'static str,
    /// Listen instead of connecting.
    pub(crate) passive: bool,
    /// TCP-MD5 key.
    pub(crate) md5: Option<&'static str>,
    /// GTSM.
    pub(crate) ttl_security: bool,
    /// BFD with this interval (ms).
    pub(crate) bfd_interval_ms: Option<u32>,
}

impl AnynsPeer {
    /// An active peer over IPv4.
    pub(crate) const V4: Self = Self {
        address: B_V4,
        local: A_V4,
        passive: false,
        md5: None,
        ttl_security: false,
        bfd_interval_ms: None,
    };
    /// An active peer over IPv6.
    pub(crate) const V6: Self = Self {
        address: B_V6,
        local: A_V6,
        ..Self::V4
    };
}

/// The anyns configuration: our AS prepended twice, MED 10, a community and a large
/// community, both service prefixes.
pub(crate) fn anyns_config(peers: &[AnynsPeer]) -> String {
    let mut text = format!(
        r#"[server]
udp-workers = 1

[[listen]]
address = "127.0.0.1:5300"

[bgp]
local-as = {LOCAL_AS}
router-id = "{A_V4}"
prefixes = ["{PREFIX_V4}", "{PREFIX_V6}"]
next-hop-v4 = "{A_V4}"
next-hop-v6 = "{A_V6}"
med = 10
prepend = 2
communities = ["65000:1"]
large-communities = ["65000:1:2"]
hold-time = 30
connect-retry-time = 1
"#
    );
    for peer in peers {
        text.push_str(&format!(
            "\n[[bgp.peer]]\naddress = \"{}\"\nremote-as = {PEER_AS}\nlocal-address = \"{}\"\npassive = {}\nttl-security = {}\n",
            peer.address, peer.local, peer.passive, peer.ttl_security
        ));
        if let Some(md5) = peer.md5 {
            text.push_str(&format!("md5-password = \"{md5}\"\n"));
        }
        if let Some(interval) = peer.bfd_interval_ms {
            text.push_str(&format!(
                "bfd = true\nbfd-interval-ms = {interval}\nbfd-multiplier = 3\n"
            ));
        }
    }
    text
}

/// Starts anyns in namespace `a` with `config`; `tag` names its files in `dir`.
pub(crate) fn start_anyns(net: &NetnsPair, dir: &Path, tag: &str, config: &str) -> Daemon {
    let conf = dir.join(format!("anyns-{tag}.toml"));
    fs::write(&conf, config).expect("write anyns config");
    let mut command = net.command(&net.a, &anyns_bin());
    command.arg("serve").arg("-c").arg(&conf);
    command.env("RUST_LOG", "info");
    Daemon::spawn("anyns", command, dir.join(format!("anyns-{tag}.log")))
}

// ---------------------------------------------------------------------------
// BIRD 2

/// A BIRD 2 instance in namespace `b` with its own config, control socket and pid file.
pub(crate) struct Bird {
    pub(crate) daemon: Daemon,
    socket: PathBuf,
}

/// BIRD protocol options beyond the defaults, per session.
#[derive(Clone, Debug, Default)]
pub(crate) struct BirdSession {
    /// TCP-MD5 password.
    pub(crate) password: Option<&'static str>,
    /// GTSM.
    pub(crate) ttl_security: bool,
    /// Only accept connections.
    pub(crate) passive: bool,
    /// BFD on both sessions (`bfd on`), 100 ms × 3 (`protocol bfd`).
    pub(crate) bfd: bool,
}

impl Bird {
    /// Starts BIRD with two sessions to anyns, `anyns4` over IPv4 (IPv4 unicast) and
    /// `anyns6` over IPv6 (IPv6 unicast), and waits for its control socket.
    pub(crate) fn start(net: &NetnsPair, dir: &Path, session: &BirdSession) -> Self {
        let conf = dir.join("bird.conf");
        let socket = dir.join("bird.ctl");
        let mut options = String::new();
        if let Some(password) = session.password {
            options.push_str(&format!("    password \"{password}\";\n"));
        }
        if session.ttl_security {
            options.push_str("    ttl security on;\n");
        }
        if session.passive {
            options.push_str("    passive on;\n");
        }
        if session.bfd {
            options.push_str("    bfd on;\n");
        }
        // Short error wait and connect timers: the default error wait time holds a session
        // down for a minute after the peer restarts (docs/lab-notes.md).
        let protocol = |name: &str, local: &str, neighbor: &str, channel: &str| {
            format!(
                r#"
protocol bgp {name} {{
    local {local} as {PEER_AS};
    neighbor {neighbor} as {LOCAL_AS};
    hold time 30;
    error wait time 1, 10;
    connect delay time 1;
    connect retry time 1;
{options}    {channel} {{ import all; export none; }};
}}
"#
            )
        };
        let bfd = if session.bfd {
            "protocol bfd {\n    interface \"*\" {\n        min rx interval 100 ms;\n        \
             min tx interval 100 ms;\n        multiplier 3;\n    };\n}\n"
        } else {
            ""
        };
        let text = format!(
            "router id {B_V4};\nlog \"{}\" all;\nprotocol device {{ }}\n{bfd}{}{}",
            dir.join("bird.log").display(),
            protocol("anyns4", B_V4, A_V4, "ipv4"),
            protocol("anyns6", B_V6, A_V6, "ipv6"),
        );
        fs::write(&conf, text).expect("write bird config");
        let daemon = spawn_bird(&net.b, dir, &conf, &socket);
        let mut bird = Self { daemon, socket };
        wait_for(
            "BIRD's control socket",
            Duration::from_secs(10),
            || {
                bird.birdc(&["show", "status"])
                    .contains("Daemon is up")
                    .then_some(())
            },
            String::new,
        );
        bird.daemon.assert_running();
        bird
    }

    /// Runs a birdc command and returns its output.
    pub(crate) fn birdc(&self, args: &[&str]) -> String {
        birdc(&self.socket, args)
    }

    /// Whether BGP protocol `name` is Established.
    pub(crate) fn established(&self, name: &str) -> bool {
        self.birdc(&["show", "protocols", name])
            .lines()
            .any(|l| l.starts_with(name) && l.contains("Established"))
    }

    /// Whether BIRD's BFD session to `address` is Up.
    pub(crate) fn bfd_up(&self, address: &str) -> bool {
        self.birdc(&["show", "bfd", "sessions"])
            .lines()
            .any(|l| l.starts_with(address) && l.split_whitespace().nth(2) == Some("Up"))
    }

    /// The `show route all` block of `prefix`, if BIRD has a route for it.
    pub(crate) fn route(&self, prefix: &str) -> Option<String> {
        let out = self.birdc(&["show", "route", prefix, "all"]);
        route_block(&out, prefix)
    }

    /// BIRD's own log file.
    pub(crate) fn log(&self, dir: &Path) -> String {
        format!(
            "---- bird.log ----\n{}",
            fs::read_to_string(dir.join("bird.log")).unwrap_or_default()
        )
    }
}

/// Starts BIRD in the foreground in namespace `ns` with the config file `conf` and the
/// control socket `socket`; its pid file (`bird.pid`) and output (`bird.out`) go to `dir`.
pub(crate) fn spawn_bird(ns: &str, dir: &Path, conf: &Path, socket: &Path) -> Daemon {
    let mut command = netns_command(ns, &require_tool("bird"));
    command
        .arg("-f")
        .arg("-c")
        .arg(conf)
        .arg("-s")
        .arg(socket)
        .arg("-P")
        .arg(dir.join("bird.pid"));
    Daemon::spawn("bird", command, dir.join("bird.out"))
}

/// Runs birdc against the control socket `socket` and returns its output (empty if it
/// cannot run).
pub(crate) fn birdc(socket: &Path, args: &[&str]) -> String {
    Command::new(require_tool("birdc"))
        .arg("-s")
        .arg(socket)
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

/// The lines of a `show route all` output from the one starting with `prefix` to the next
/// route (or the end).
fn route_block(output: &str, prefix: &str) -> Option<String> {
    let mut lines = output.lines().skip_while(|l| !l.starts_with(prefix));
    let first = lines.next()?;
    let mut block = vec![first];
    block.extend(lines.take_while(|l| l.starts_with(char::is_whitespace)));
    Some(block.join("\n"))
}

// ---------------------------------------------------------------------------
// GoBGP

/// A gobgpd in namespace `b`, its gRPC API on 127.0.0.1 inside the namespace.
pub(crate) struct GoBgp {
    pub(crate) daemon: Daemon,
    api: String,
}

/// The gobgpd API port (inside namespace `b`, which nothing else uses).
const GOBGP_API: &str = "127.0.0.1:50051";

impl GoBgp {
    /// Starts gobgpd with one IPv4 session to anyns carrying IPv4 and IPv6 unicast, signed
    /// with TCP-MD5 (RFC 2385) under `password` when there is one.
    pub(crate) fn start(net: &NetnsPair, dir: &Path, password: Option<&str>) -> Self {
        let conf = dir.join("gobgpd.toml");
        let auth = password
            .map(|p| format!("    auth-password = \"{p}\"\n"))
            .unwrap_or_default();
        let text = format!(
            r#"[global.config]
  as = {PEER_AS}
  router-id = "{B_V4}"
  local-address-list = ["{B_V4}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{A_V4}"
    peer-as = {LOCAL_AS}
{auth}  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 30
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#
        );
        fs::write(&conf, text).expect("write gobgpd config");
        let mut command = net.command(&net.b, &require_tool("gobgpd"));
        command
            .arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg("--pprof-disable")
            .arg(format!("--api-hosts={GOBGP_API}"));
        let daemon = Daemon::spawn("gobgpd", command, dir.join("gobgpd.log"));
        Self {
            daemon,
            api: GOBGP_API.into(),
        }
    }

    /// Runs the gobgp client inside namespace `b`.
    pub(crate) fn gobgp(&self, net: &NetnsPair, args: &[&str]) -> String {
        let (host, port) = self.api.split_once(':').expect("host:port");
        let output = net
            .command(&net.b, &require_tool("gobgp"))
            .args(["-u", host, "-p", port])
            .args(args)
            .output();
        match output {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
            Err(_) => String::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// FRR

/// FRR's bgpd in namespace `b`, without zebra, its vty socket in the temporary directory.
pub(crate) struct Frr {
    pub(crate) daemon: Daemon,
    vty_dir: PathBuf,
}

impl Frr {
    /// Starts bgpd with one IPv4 session to anyns carrying IPv4 and IPv6 unicast, signed
    /// with TCP-MD5 (RFC 2385) under `password` when there is one.
    pub(crate) fn start(net: &NetnsPair, dir: &Path, password: Option<&str>) -> Self {
        let conf = dir.join("bgpd.conf");
        let vty_dir = dir.join("frr");
        fs::create_dir_all(&vty_dir).expect("vty dir");
        let auth = password
            .map(|p| format!(" neighbor {A_V4} password {p}\n"))
            .unwrap_or_default();
        let text = format!(
            r#"hostname anyns-test
log file {}/bgpd.log debugging
!
router bgp {PEER_AS}
 bgp router-id {B_V4}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor {A_V4} remote-as {LOCAL_AS}
 neighbor {A_V4} timers connect 1
 neighbor {A_V4} timers 10 30
{auth} address-family ipv4 unicast
  neighbor {A_V4} activate
 exit-address-family
 address-family ipv6 unicast
  neighbor {A_V4} activate
 exit-address-family
!
"#,
            dir.display()
        );
        fs::write(&conf, text).expect("write bgpd config");
        let mut command = net.command(&net.b, &require_tool("bgpd"));
        command
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("bgpd.pid"))
            .arg("--vty_socket")
            .arg(&vty_dir)
            .arg("-z")
            .arg(dir.join("zserv.api"))
            .arg("-Z")
            .arg("-S")
            .arg("-P")
            .arg("0");
        let daemon = Daemon::spawn("bgpd", command, dir.join("bgpd.out"));
        Self { daemon, vty_dir }
    }

    /// Runs a vtysh command against this bgpd.
    pub(crate) fn vtysh(&self, command: &str) -> String {
        let output = Command::new(require_tool("vtysh"))
            .arg("--vty_socket")
            .arg(&self.vty_dir)
            .args(["-d", "bgpd", "-c", command])
            .output();
        match output {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
            Err(_) => String::new(),
        }
    }
}

/// The log of the anyns started with `tag` by [`start_anyns`], headed for a failure report.
pub(crate) fn anyns_log(dir: &Path, tag: &str) -> String {
    format!(
        "---- anyns-{tag}.log ----\n{}",
        fs::read_to_string(dir.join(format!("anyns-{tag}.log"))).unwrap_or_default()
    )
}
