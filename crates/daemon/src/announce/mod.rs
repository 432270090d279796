//! Health-driven announcement (docs/design.md principle 3): probe tasks feed results to one
//! driver task, which runs a [`health::Cloud`] per cloud and turns its intents into
//! [`BgpHandle`] calls. The control socket and SIGTERM talk to the driver through a
//! [`Health`] handle.
//!
//! ```text
//!  dns probe task (per instance / server) ─┐
//!  zone freshness task (per cloud) ────────┼─CheckResult─► driver ─► health::Cloud ─► intents ─► BgpHandle
//!  command task (per command) ─────────────┘                 ▲  └─► events ─► tracing, status
//!  control socket / SIGTERM ──Request (drain, undrain, status)┘
//! ```

mod instance_lag;
mod probe;
mod rotation;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bgp_session::bgp_wire::Prefix;
use health::{CheckId, Cloud, Command, Event, Intent, State};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tracing::{info, warn};

use crate::bgp::BgpHandle;
use crate::config::{CloudConfig, HealthConfig};
use crate::state::ZoneStore;
use crate::transfer::state::Transfers;
use probe::{CheckResult, Expect};

/// A cloud's probe names (name, type) as the questions a DNS probe asks between its zones.
fn probe_questions(names: &[(Vec<u8>, u16)]) -> Vec<rotation::Question> {
    names
        .iter()
        .map(|(name, qtype)| rotation::Question {
            name: name.clone(),
            qtype: *qtype,
            kind: rotation::QuestionKind::Answer,
        })
        .collect()
}

/// Kills a hung DNS instance (its probes time out) named by its PID file. A frozen process
/// keeps its SO_REUSEPORT socket and with it a share of the flows, which would be black-holed
/// while the other instances keep the route up; once killed, the kernel gives its share to
/// the live instances. The PID is checked to be an anyns process first (PID files go stale).
fn kill_hung_instance(cloud: &str, pid_file: &std::path::Path) {
    let pid = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok());
    let Some(pid) = pid.filter(|&p| p > 1) else {
        warn!(cloud, file = %pid_file.display(), "hung instance: no PID to kill");
        return;
    };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if !String::from_utf8_lossy(&cmdline).contains("anyns") {
        warn!(
            cloud,
            pid, "hung instance: PID {pid} is not an anyns process; not killing"
        );
        return;
    }
    match nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    ) {
        Ok(()) => warn!(
            cloud,
            pid,
            "hung DNS instance killed (SIGKILL) so its share of the traffic moves to the others"
        ),
        Err(err) => warn!(cloud, pid, "hung instance: kill failed: {err}"),
    }
}

/// State changes kept per cloud for the status report.
const RECENT_EVENTS: usize = 16;

/// A request to the driver.
#[derive(Debug)]
pub(crate) enum Request {
    /// Drain every cloud.
    Drain,
    /// Undrain every cloud.
    Undrain,
    /// Report only.
    Status,
}

/// The status report (the control socket's JSON).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) clouds: Vec<CloudReport>,
}

/// One cloud in the report.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CloudReport {
    pub(crate) name: String,
    pub(crate) state: &'static str,
    pub(crate) prefixes: Vec<String>,
    pub(crate) instances_up: usize,
    pub(crate) instances: usize,
    pub(crate) min_instances: usize,
    pub(crate) penalty: u32,
    pub(crate) last_reason: Option<String>,
    pub(crate) checks: Vec<CheckReport>,
    pub(crate) recent: Vec<String>,
}

/// One check in the report.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CheckReport {
    pub(crate) name: String,
    pub(crate) up: bool,
    pub(crate) last_failure: Option<String>,
    /// The latest result: "ok" or its cause.
    pub(crate) last_result: Option<String>,
    /// How long the latest run took, in milliseconds.
    pub(crate) latency_ms: Option<f64>,
}

impl Report {
    /// Whether no cloud is announced any more (after a drain).
    pub(crate) fn all_withdrawn(&self) -> bool {
        self.clouds.iter().all(|c| !c.is_announced())
    }
}

impl CloudReport {
    /// Whether the cloud's prefixes are announced: healthy, held by the last-site guard, or
    /// draining (announced with GRACEFUL_SHUTDOWN until the withdrawal).
    pub(crate) fn is_announced(&self) -> bool {
        self.state == State::Announced.name()
            || self.state == State::Draining.name()
            || self.state == State::GuardHeld.name()
    }
}

/// The running health driver and its checks.
pub(crate) struct Health {
    requests: mpsc::UnboundedSender<(Request, oneshot::Sender<Report>)>,
    checks: Vec<JoinHandle<()>>,
}

impl Health {
    /// Starts the checks and the driver. Must be called inside the tokio runtime.
    pub(crate) fn start(
        config: &HealthConfig,
        zones: &Arc<ZoneStore>,
        transfers: &Arc<Transfers>,
        bgp: Option<Arc<BgpHandle>>,
    ) -> Self {
        let now = Instant::now();
        let (results_tx, results) = mpsc::unbounded_channel();
        let mut checks = Vec::new();
        let mut clouds = Vec::new();
        for (index, cloud) in config.clouds.iter().enumerate() {
            let policy = health::Policy {
                min_instances: cloud.min_instances,
                ..config.policy
            };
            let mut names = Vec::new();
            for (i, address) in cloud.instances.iter().enumerate() {
                let (expect, names_probed) = match &cloud.resolver_probe {
                    Some(name) => (Expect::Recursive, vec![name.clone()]),
                    None => (Expect::LoadedSerial, cloud.zones.clone()),
                };
                let probe_names = match &cloud.resolver_probe {
                    Some(_) => Vec::new(),
                    None => probe_questions(&cloud.probe_names),
                };
                names.push(format!("dns {address}"));
                checks.push(tokio::spawn(probe::dns_probe(
                    zones.clone(),
                    index,
                    CheckId::Instance(i),
                    *address,
                    names_probed,
                    probe_names,
                    expect,
                    policy.interval,
                    policy.timeout,
                    config.stale_after,
                    results_tx.clone(),
                )));
            }
            let mut site = 0;
            let mut next_site = || {
                site += 1;
                CheckId::Site(site - 1)
            };
            if !cloud.zones.is_empty() {
                names.push("zones fresh".into());
                checks.push(tokio::spawn(probe::freshness(
                    zones.clone(),
                    transfers.clone(),
                    index,
                    next_site(),
                    cloud.zones.clone(),
                    policy.interval,
                    config.stale_after,
                    results_tx.clone(),
                )));
            }
            for address in &cloud.servers {
                names.push(format!("server {address}"));
                checks.push(tokio::spawn(probe::dns_probe(
                    zones.clone(),
                    index,
                    next_site(),
                    *address,
                    cloud.zones.clone(),
                    probe_questions(&cloud.probe_names),
                    Expect::Authoritative,
                    policy.interval,
                    policy.timeout,
                    config.stale_after,
                    results_tx.clone(),
                )));
            }
            for command in &cloud.commands {
                names.push(format!("command {}", command.join(" ")));
                checks.push(tokio::spawn(probe::command(
                    index,
                    next_site(),
                    command.clone(),
                    cloud.command_interval,
                    cloud.command_timeout,
                    results_tx.clone(),
                )));
            }
            let site_checks = names.len() - cloud.instances.len();
            clouds.push(CloudRun {
                config: cloud.clone(),
                machine: Cloud::new(
                    now.into_std(),
                    policy,
                    cloud.prefixes.clone(),
                    cloud.instances.len(),
                    site_checks,
                ),
                checks: names
                    .into_iter()
                    .map(|name| CheckReport {
                        name,
                        up: false,
                        last_failure: None,
                        last_result: None,
                        latency_ms: None,
                    })
                    .collect(),
                recent: VecDeque::new(),
            });
            info!(
                cloud = %cloud.name,
                instances = cloud.instances.len(),
                min_instances = cloud.min_instances,
                site_checks,
                interval = ?policy.interval,
                timeout = ?policy.timeout,
                rise = policy.rise,
                fall = policy.fall,
                "health checks started"
            );
        }
        let (requests, request_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            clouds,
            bgp,
            started: now,
        };
        tokio::spawn(driver.run(results, request_rx));
        Self { requests, checks }
    }

    /// Sends a request to the driver and waits for its report (`None` if the driver ended).
    pub(crate) async fn request(&self, request: Request) -> Option<Report> {
        let (reply, answer) = oneshot::channel();
        self.requests.send((request, reply)).ok()?;
        answer.await.ok()
    }

    /// A sender for the control socket.
    pub(crate) fn requester(&self) -> mpsc::UnboundedSender<(Request, oneshot::Sender<Report>)> {
        self.requests.clone()
    }

    /// Drains every cloud and waits until each is withdrawn (at most `timeout`).
    pub(crate) async fn drain(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        if self.request(Request::Drain).await.is_none() {
            return false;
        }
        while Instant::now() < deadline {
            match self.request(Request::Status).await {
                Some(report) if report.all_withdrawn() => return true,
                Some(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                None => return false,
            }
        }
        false
    }

    /// Stops the probes (their queries would otherwise count as traffic during a drain).
    pub(crate) fn stop_checks(&self) {
        for check in &self.checks {
            check.abort();
        }
    }
}

/// One cloud in the driver.
struct CloudRun {
    config: CloudConfig,
    machine: Cloud<Prefix>,
    checks: Vec<CheckReport>,
    recent: VecDeque<String>,
}

impl CloudRun {
    fn check_index(&self, check: CheckId) -> usize {
        match check {
            CheckId::Instance(i) => i,
            CheckId::Site(i) => self.config.instances.len() + i,
        }
    }

    fn report(&self, now: Instant) -> CloudReport {
        let status = self.machine.status(now.into_std());
        CloudReport {
            name: self.config.name.clone(),
            state: status.state.name(),
            prefixes: self
                .config
                .prefixes
                .iter()
                .map(ToString::to_string)
                .collect(),
            instances_up: status.instances_up,
            instances: status.instances,
            min_instances: status.min_instances,
            penalty: status.penalty,
            last_reason: status.last_reason.map(|r| self.reason_text(r)),
            checks: self.checks.clone(),
            recent: self.recent.iter().cloned().collect(),
        }
    }

    /// A reason with the check's name instead of its index.
    fn reason_text(&self, reason: health::Reason) -> String {
        match reason {
            health::Reason::Unhealthy { check, cause } => {
                let name = &self.checks[self.check_index(check)].name;
                format!("{name}: {cause}")
            }
            other => other.to_string(),
        }
    }
}

struct Driver {
    clouds: Vec<CloudRun>,
    bgp: Option<Arc<BgpHandle>>,
    started: Instant,
}

impl Driver {
    async fn run(
        mut self,
        mut results: mpsc::UnboundedReceiver<CheckResult>,
        mut requests: mpsc::UnboundedReceiver<(Request, oneshot::Sender<Report>)>,
    ) {
        loop {
            let wake = self
                .clouds
                .iter()
                .filter_map(|c| c.machine.poll_timeout())
                .min()
                .map(Instant::from_std);
            tokio::select! {
                result = results.recv() => {
                    let Some(result) = result else { return };
                    let now = Instant::now().into_std();
                    if let Some(cloud) = self.clouds.get_mut(result.cloud) {
                        let index = cloud.check_index(result.check);
                        let report = &mut cloud.checks[index];
                        report.latency_ms = Some(result.latency.as_secs_f64() * 1000.0);
                        report.last_result = Some(match &result.result {
                            Ok(()) => "ok".to_string(),
                            Err(cause) => cause.to_string(),
                        });
                        // A check that never came up has no down transition to carry its
                        // reason: keep the latest failure of a check that is down.
                        if let Err(cause) = &result.result {
                            if !report.up {
                                report.last_failure = Some(cause.to_string());
                            }
                        }
                        cloud.machine.handle_result(now, result.check, result.result);
                    }
                }
                request = requests.recv() => {
                    let Some((request, reply)) = request else { return };
                    let now = Instant::now().into_std();
                    let command = match request {
                        Request::Drain => Some(Command::Drain),
                        Request::Undrain => Some(Command::Undrain),
                        Request::Status => None,
                    };
                    if let Some(command) = command {
                        info!(?command, "operator command");
                        for cloud in &mut self.clouds {
                            cloud.machine.handle_command(now, command);
                        }
                    }
                    self.flush();
                    let now = Instant::now();
                    let _ = reply.send(Report {
                        clouds: self.clouds.iter().map(|c| c.report(now)).collect(),
                    });
                }
                () = async { match wake { Some(at) => sleep_until(at).await, None => std::future::pending().await } } => {
                    let now = Instant::now().into_std();
                    for cloud in &mut self.clouds {
                        cloud.machine.handle_timeout(now);
                    }
                }
            }
            self.flush();
        }
    }

    /// Carries out intents and logs events.
    fn flush(&mut self) {
        let elapsed = self.started.elapsed();
        for cloud in &mut self.clouds {
            while let Some(intent) = cloud.machine.poll_intent() {
                let name = &cloud.config.name;
                match &intent {
                    Intent::Announce(prefix) => info!(cloud = %name, %prefix, "announce"),
                    Intent::GracefulShutdown(prefix) => {
                        info!(cloud = %name, %prefix, "graceful shutdown (RFC 8326 community)")
                    }
                    Intent::Withdraw(prefix) => warn!(cloud = %name, %prefix, "withdraw"),
                }
                if let Some(bgp) = &self.bgp {
                    match intent {
                        Intent::Announce(prefix) => bgp.announce(prefix),
                        Intent::GracefulShutdown(prefix) => bgp.graceful_shutdown(prefix),
                        Intent::Withdraw(prefix) => bgp.withdraw(prefix),
                    }
                }
            }
            while let Some(event) = cloud.machine.poll_event() {
                match event {
                    Event::CheckUp { check } => {
                        let index = cloud.check_index(check);
                        cloud.checks[index].up = true;
                        info!(cloud = %cloud.config.name, check = %cloud.checks[index].name, "check up");
                    }
                    Event::CheckDown { check, cause } => {
                        let index = cloud.check_index(check);
                        cloud.checks[index].up = false;
                        cloud.checks[index].last_failure = Some(cause.to_string());
                        warn!(cloud = %cloud.config.name, check = %cloud.checks[index].name, %cause, "check down");
                        // Kill a hung instance only while another instance is up: then the
                        // kill moves its flows to a live one. A lone hung instance is already
                        // withdrawn around; it is left for the operator (or a watchdog).
                        if let (CheckId::Instance(i), health::Cause::Timeout) = (check, &cause) {
                            let others_up = (0..cloud.config.instances.len())
                                .any(|j| j != i && cloud.checks[j].up);
                            if let (true, Some(pid_file)) =
                                (others_up, cloud.config.instance_pid_files.get(i))
                            {
                                kill_hung_instance(&cloud.config.name, pid_file);
                            }
                        }
                    }
                    Event::StateChanged { from, to, reason } => {
                        let reason = cloud.reason_text(reason);
                        info!(cloud = %cloud.config.name, %from, %to, %reason, "cloud state changed");
                        if cloud.recent.len() == RECENT_EVENTS {
                            cloud.recent.pop_front();
                        }
                        cloud.recent.push_back(format!(
                            "+{:.3}s {from} -> {to}: {reason}",
                            elapsed.as_secs_f64()
                        ));
                    }
                }
            }
        }
    }
}
