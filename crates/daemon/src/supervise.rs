//! The supervisor of `[supervise]`: starts the site's N DNS instances (`anyns serve
//! --config FILE --instance I`), writes their PID files (the health driver kills a hung
//! instance through them), restarts one that exits (after 1 s, doubling to 10 s while it
//! keeps dying young), and stops them all when the supervisor stops. An instance exits
//! by itself when its supervisor is gone (`watch_parent`), so a SIGKILLed supervisor
//! leaves no orphan serving the anycast address without a BGP speaker.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::config::SuperviseConfig;
use crate::error::Error;
use crate::logging::LogFormat;

/// An instance that dies within this long after its start waits longer before the next.
const YOUNG: Duration = Duration::from_secs(5);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How often the supervisor looks at its children.
const TICK: Duration = Duration::from_millis(100);
/// How long stopping waits for the instances after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// One instance's process and its restart state.
struct Slot {
    child: Option<Child>,
    started: Instant,
    backoff: Duration,
    restart_at: Option<Instant>,
}

/// The running supervisor.
pub(crate) struct Supervisor {
    stopping: Arc<AtomicBool>,
    slots: Arc<Mutex<Vec<Slot>>>,
    config: SuperviseConfig,
}

impl Supervisor {
    /// Starts every instance and the thread that watches them.
    pub(crate) fn start(
        config_file: &Path,
        config: &SuperviseConfig,
        log_format: LogFormat,
    ) -> Result<Self, Error> {
        std::fs::create_dir_all(&config.run_dir)
            .map_err(|e| Error::io(format!("supervise run-dir {}", config.run_dir.display()), e))?;
        let program = std::env::current_exe().map_err(|e| Error::io("own executable", e))?;
        let config_file = std::path::absolute(config_file)
            .map_err(|e| Error::io(format!("config {}", config_file.display()), e))?;
        let spawn = move |i: usize| -> std::io::Result<Child> {
            Command::new(&program)
                .arg("--log-format")
                .arg(log_format.name())
                .arg("serve")
                .arg("--config")
                .arg(&config_file)
                .arg("--instance")
                .arg(i.to_string())
                .stdin(Stdio::null())
                .spawn()
        };
        let mut slots = Vec::new();
        for i in 0..config.instances {
            let child = spawn(i).map_err(|e| Error::io(format!("instance {i}"), e))?;
            write_pid(&config.pid_file(i), child.id());
            info!(instance = i, pid = child.id(), "instance started");
            slots.push(Slot {
                child: Some(child),
                started: Instant::now(),
                backoff: FIRST_BACKOFF,
                restart_at: None,
            });
        }
        let supervisor = Self {
            stopping: Arc::default(),
            slots: Arc::new(Mutex::new(slots)),
            config: config.clone(),
        };
        let (stopping, slots, pid_files) = (
            supervisor.stopping.clone(),
            supervisor.slots.clone(),
            config.pid_files(),
        );
        std::thread::Builder::new()
            .name("supervisor".into())
            .spawn(move || watch(&stopping, &slots, &pid_files, spawn))
            .map_err(|e| Error::io("supervisor thread", e))?;
        Ok(supervisor)
    }

    /// SIGTERM to every instance, SIGKILL to those still there after the timeout; the PID
    /// files are removed.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        for slot in slots.iter_mut() {
            if let Some(child) = &slot.child {
                signal(child.id(), nix::sys::signal::Signal::SIGTERM);
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        for slot in slots.iter_mut() {
            if let Some(mut child) = slot.child.take() {
                while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if matches!(child.try_wait(), Ok(None)) {
                    warn!(
                        pid = child.id(),
                        "instance still running after SIGTERM: SIGKILL"
                    );
                    let _ = child.kill();
                }
                let _ = child.wait();
            }
        }
        for i in 0..self.config.instances {
            let _ = std::fs::remove_file(self.config.pid_file(i));
        }
        info!(instances = self.config.instances, "instances stopped");
    }
}

fn signal(pid: u32, signal: nix::sys::signal::Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
    }
}

fn write_pid(path: &PathBuf, pid: u32) {
    if let Err(err) = std::fs::write(path, format!("{pid}\n")) {
        warn!(file = %path.display(), "cannot write the instance's PID file: {err}");
    }
}

/// Reaps exited instances and starts them again, until stopping.
fn watch(
    stopping: &AtomicBool,
    slots: &Mutex<Vec<Slot>>,
    pid_files: &[PathBuf],
    spawn: impl Fn(usize) -> std::io::Result<Child>,
) {
    while !stopping.load(Ordering::SeqCst) {
        std::thread::sleep(TICK);
        let mut slots = slots.lock().unwrap_or_else(|e| e.into_inner());
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        for (i, slot) in slots.iter_mut().enumerate() {
            if let Some(child) = &mut slot.child {
                if let Ok(Some(status)) = child.try_wait() {
                    let lived = slot.started.elapsed();
                    slot.backoff = if lived < YOUNG {
                        (slot.backoff * 2).min(MAX_BACKOFF)
                    } else {
                        FIRST_BACKOFF
                    };
                    let wait = if lived < YOUNG {
                        slot.backoff
                    } else {
                        Duration::ZERO
                    };
                    warn!(instance = i, pid = child.id(), %status, ?lived, restart_in = ?wait, "instance exited");
                    slot.child = None;
                    slot.restart_at = Some(Instant::now() + wait);
                }
            }
            if slot.child.is_none() && slot.restart_at.is_some_and(|at| Instant::now() >= at) {
                match spawn(i) {
                    Ok(child) => {
                        write_pid(&pid_files[i], child.id());
                        info!(instance = i, pid = child.id(), "instance restarted");
                        slot.child = Some(child);
                        slot.started = Instant::now();
                        slot.restart_at = None;
                    }
                    Err(err) => {
                        warn!(instance = i, "instance restart failed: {err}");
                        slot.restart_at = Some(Instant::now() + MAX_BACKOFF);
                    }
                }
            }
        }
    }
}

/// In an instance: exits the process when the supervisor that started it is gone (it
/// would otherwise keep answering on the anycast address with nobody to withdraw it).
pub(crate) fn watch_parent() {
    let parent = std::os::unix::process::parent_id();
    std::thread::Builder::new()
        .name("parent-watch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                if std::os::unix::process::parent_id() != parent {
                    warn!("the supervisor is gone: instance exiting");
                    std::process::exit(1);
                }
            }
        })
        .map(drop)
        .unwrap_or_else(|e| warn!("parent watch not started: {e}"));
}
