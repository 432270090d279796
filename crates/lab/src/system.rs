//! Processes and namespaces: running commands, starting daemons with pid files, signals by
//! PID, and the bounded waits everything else uses.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;

/// Name of the empty, down bridge that marks a namespace as the lab's.
pub const MARKER: &str = "anyns-lab";

/// Finds a program in PATH or the sbin directories.
pub fn tool(name: &str) -> PathBuf {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];
    std::env::split_paths(&path_var)
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Runs a command to completion; its stdout, or an error with its stderr.
pub fn run(command: &mut Command) -> Result<String, Error> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io(format!("{command:?}"), e))?;
    if !output.status.success() {
        return Err(Error::Command {
            command: format!("{command:?}"),
            output: format!(
                "{}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A command that runs `program` inside namespace `ns`.
pub fn in_ns(ns: &str, program: &Path) -> Command {
    let mut command = Command::new(tool("ip"));
    command.args(["netns", "exec", ns]).arg(program);
    command
}

/// Runs a shell script inside namespace `ns` (`sh -ec`).
pub fn sh_in_ns(ns: &str, script: &str) -> Result<String, Error> {
    run(in_ns(ns, &tool("sh")).arg("-ec").arg(script))
}

/// Starts a daemon inside `ns` in its own process group (so a terminal's Ctrl-C does not
/// reach it; `down` stops it), output to `log`, its PID written to `pid_file`.
/// `ip netns exec` execs the program, so the child's PID is the daemon's.
pub fn spawn_daemon(
    ns: &str,
    program: &Path,
    args: &[&str],
    log: &Path,
    pid_file: &Path,
) -> Result<Child, Error> {
    let file = fs::File::create(log).map_err(|e| Error::io(log.display(), e))?;
    let err = file.try_clone().map_err(|e| Error::io(log.display(), e))?;
    let child = in_ns(ns, program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .env("RUST_LOG", "info")
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io(format!("start {}", program.display()), e))?;
    fs::write(pid_file, format!("{}\n", child.id()))
        .map_err(|e| Error::io(pid_file.display(), e))?;
    Ok(child)
}

/// Reads a pid file.
pub fn read_pid(pid_file: &Path) -> Option<u32> {
    fs::read_to_string(pid_file).ok()?.trim().parse().ok()
}

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesised command name.
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            !matches!(state, Some("Z" | "X") | None)
        }
        Err(_) => false,
    }
}

/// Sends `signal` (`KILL`, `TERM`, `HUP`) to `pid`.
pub fn signal(pid: u32, signal: &str) -> Result<(), Error> {
    run(Command::new(tool("kill"))
        .arg(format!("-{signal}"))
        .arg(pid.to_string()))
    .map(drop)
}

/// Waits up to `timeout` for `pid` to exit (reaping it if it is our child); true if it did.
pub fn wait_exit(pid: u32, child: Option<&mut Child>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut child = child;
    loop {
        let gone = match child.as_deref_mut() {
            Some(c) => !matches!(c.try_wait(), Ok(None)),
            None => !alive(pid),
        };
        if gone {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Stops processes by PID: TERM to all at once, up to `grace` for them to exit, then KILL
/// (docs/lab-notes.md: stopping daemons one by one is slow).
pub fn stop_all(pids: &[u32], grace: Duration) {
    let live: Vec<u32> = pids.iter().copied().filter(|&p| alive(p)).collect();
    if live.is_empty() {
        return;
    }
    let _ = Command::new(tool("kill"))
        .arg("-TERM")
        .args(live.iter().map(u32::to_string))
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && live.iter().any(|&p| alive(p)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left: Vec<u32> = live.into_iter().filter(|&p| alive(p)).collect();
    if !left.is_empty() {
        let _ = Command::new(tool("kill"))
            .arg("-KILL")
            .args(left.iter().map(u32::to_string))
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && left.iter().any(|&p| alive(p)) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Every network namespace name on the machine.
pub fn netns_list() -> Vec<String> {
    let out = run(Command::new(tool("ip")).args(["netns", "list"])).unwrap_or_default();
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The PIDs of every process in namespace `ns`.
pub fn netns_pids(ns: &str) -> Vec<u32> {
    run(Command::new(tool("ip")).args(["netns", "pids", ns]))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Whether namespace `ns` carries the lab's marker bridge.
pub fn has_marker(ns: &str) -> bool {
    run(Command::new(tool("ip")).args(["-n", ns, "link", "show", MARKER])).is_ok()
}

/// Polls `probe` every `every` until it returns `Some`, or fails after `timeout` with
/// `what` and the last value of `seen`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Option<T>,
    seen: impl Fn() -> String,
) -> Result<T, Error> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("{what} ({timeout:?}); {}", seen()),
            });
        }
        std::thread::sleep(every);
    }
}
