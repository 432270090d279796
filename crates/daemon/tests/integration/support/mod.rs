//! Helpers shared by the whole suite: the anyns binary, the zone corpus and the external
//! tools, free loopback ports, a process spawned with its output in a log file, polling for
//! a condition, and [`Daemon`], a process stopped by its own PID.
//!
//! [`dns`] starts anyns and knotd on loopback and builds and parses DNS messages,
//! [`signing`] signs test zones with ldnsutils, [`bgp`] runs anyns and its BGP peers in
//! network namespaces, and [`differential`] compares the resolver with Unbound in one. Every process is stopped by its own PID; nothing is ever killed by
//! name.

pub(crate) mod bgp;
pub(crate) mod differential;
pub(crate) mod dns;
pub(crate) mod signing;
pub(crate) mod tree;

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tempfile::TempDir;

// ---------------------------------------------------------------------------
// Paths, tools, ports

/// Directory of the zone corpus (`crates/daemon/tests/data`).
pub(crate) fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Path of the anyns binary built by cargo for these tests; panics with a
/// clear message if it is missing.
pub(crate) fn anyns_bin() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_anyns"));
    assert!(
        path.is_file(),
        "the anyns binary is missing at {}; build it with `cargo build -p anyns`",
        path.display()
    );
    path
}

/// Finds an external program in PATH or the sbin directories (knotd lives in /usr/sbin and
/// FRR's bgpd in /usr/lib/frr, which are not always in a test's PATH). Panics if it is
/// missing: the README's test command installs every tool (scripts/install-deps.sh), so
/// its absence is a failure, not a reason to skip.
pub(crate) fn require_tool(name: &str) -> PathBuf {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let extra = [
        "/usr/sbin",
        "/usr/local/sbin",
        "/usr/lib/frr",
        "/sbin",
        "/usr/bin",
        "/bin",
    ];
    std::env::split_paths(&path_var)
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "required tool `{name}` not found in PATH or sbin directories; run \
                 scripts/install-deps.sh (Debian: knot, knot-dnsutils, dnsutils, ldnsutils, \
                 unbound, bird2, gobgpd, frr) before running the interop tests"
            )
        })
}

/// Seconds since 1970 (for TSIG and RRSIG times in tests).
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Picks a loopback port that is free for both UDP and TCP right now.
pub(crate) fn free_port() -> u16 {
    // Below the kernel's ephemeral range (32768 and up by default): a port picked from that
    // range can be taken by a client socket of a parallel test before the server binds it.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    let start = std::process::id().wrapping_mul(7_919);
    for _ in 0..SPAN {
        let step = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = (FIRST + start.wrapping_add(step * 97) % SPAN) as u16;
        if UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && TcpListener::bind(("127.0.0.1", port)).is_ok()
        {
            return port;
        }
    }
    panic!(
        "no loopback port free for both UDP and TCP in {FIRST}..{}",
        FIRST + SPAN
    );
}

/// A temporary directory for one test's files (configs, logs, sockets).
pub(crate) fn test_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("anyns-bgp-")
        .tempdir()
        .expect("tempdir")
}

// ---------------------------------------------------------------------------
// Waiting

/// The tests that measure times share the machine's two cores: they take this lock to run
/// one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the lock that runs the timing tests one at a time.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `probe` every 20 ms until it returns `Some`, or panics after `timeout` with
/// `what` and the last `context`.
pub(crate) fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out after {timeout:?} waiting for {what}\n{}",
                context()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits up to 5 s for a line of `log()` holding every one of `parts` (a line written just
/// after what the test saw happen); returns the whole log.
pub(crate) fn wait_for_log_line(log: impl Fn() -> String, parts: &[&str]) -> String {
    wait_for(
        &format!("a log line with {parts:?}"),
        Duration::from_secs(5),
        || Some(log()).filter(|log| log.lines().any(|l| parts.iter().all(|p| l.contains(p)))),
        &log,
    )
}

// ---------------------------------------------------------------------------
// Processes

/// Spawns `command` with stdin from /dev/null and stdout and stderr into a new file at
/// `log`; `name` is for the panic message if it cannot start.
pub(crate) fn spawn_logged(name: &str, command: &mut Command, log: &Path) -> Child {
    let file = fs::File::create(log)
        .unwrap_or_else(|e| panic!("create log {} of {name}: {e}", log.display()));
    command
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("clone log handle"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {name}: {e}"))
}

/// A daemon started by a test: SIGTERM then SIGKILL by its PID on drop.
pub(crate) struct Daemon {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    /// Spawns `command` with stdout and stderr to `log`.
    pub(crate) fn spawn(name: &str, mut command: Command, log: PathBuf) -> Self {
        let child = spawn_logged(name, &mut command, &log);
        Self {
            name: name.into(),
            child: Some(child),
            log,
        }
    }

    /// Its log so far.
    pub(crate) fn log(&self) -> String {
        format!(
            "---- {} log ----\n{}",
            self.name,
            fs::read_to_string(&self.log).unwrap_or_default()
        )
    }

    /// Panics with the log if it has exited.
    pub(crate) fn assert_running(&mut self) {
        if let Some(child) = &mut self.child {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{} exited with {status}\n{}", self.name, self.log());
            }
        }
    }

    /// The process ID.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Freezes the process (SIGSTOP) until the returned guard is dropped (SIGCONT), so
    /// cleanup never meets a stopped process.
    pub(crate) fn freeze(&self) -> Frozen {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "kill -STOP {pid}");
        Frozen { pid }
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit; returns how long it took.
    pub(crate) fn terminate(&mut self, timeout: Duration) -> Duration {
        self.signal("-TERM", timeout)
    }

    /// Sends SIGKILL (a crash, as far as the peers can tell) and waits for the exit.
    pub(crate) fn kill(&mut self) -> Duration {
        self.signal("-KILL", Duration::from_secs(5))
    }

    fn signal(&mut self, signal: &str, timeout: Duration) -> Duration {
        let start = Instant::now();
        let Some(mut child) = self.child.take() else {
            return Duration::ZERO;
        };
        let _ = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status();
        while start.elapsed() < timeout {
            if let Ok(Some(_)) = child.try_wait() {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{} did not exit within {timeout:?} of {signal}\n{}",
            self.name,
            self.log()
        );
    }
}

/// A process stopped with SIGSTOP; SIGCONT on drop.
pub(crate) struct Frozen {
    pid: u32,
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.pid.to_string()])
            .status();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts anyns on the host (loopback-only tests) with `config`, written to
/// `dir/{tag}.toml`; its log goes to `dir/{tag}.log`.
pub(crate) fn start_local_anyns(dir: &Path, tag: &str, config: &str) -> Daemon {
    let path = dir.join(format!("{tag}.toml"));
    fs::write(&path, config).expect("write anyns config");
    let mut command = Command::new(anyns_bin());
    command.arg("serve").arg("-c").arg(&path);
    command.env("RUST_LOG", "info");
    Daemon::spawn(tag, command, dir.join(format!("{tag}.log")))
}

/// One HTTP/1.1 exchange with `address` (the metrics endpoint): returns the status line and
/// the body.
pub(crate) fn http_get(address: SocketAddr, request: &str) -> (String, String) {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    stream.write_all(request.as_bytes()).expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

/// BIND 9 (Debian's `named`) in the foreground with `conf`, logging to `dir/named.log`.
pub(crate) fn start_named(dir: &Path, conf: &str) -> Daemon {
    let path = dir.join("named.conf");
    fs::write(&path, conf).unwrap();
    let mut command = Command::new(require_tool("named"));
    command.arg("-g").arg("-c").arg(&path);
    Daemon::spawn("named", command, dir.join("named.log"))
}
