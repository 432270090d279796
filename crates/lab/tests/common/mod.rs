//! Helpers shared by the lab's end-to-end test files: one lab at a time (a process-wide
//! mutex: the machine has two cores and the tests measure times), each in its own run
//! directory, torn down when dropped; the catchment checked against the topology's model.
#![allow(dead_code)] // each test file uses its own part

use std::net::IpAddr;
use std::ops::Deref;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyns_lab::{Lab, LabOptions, ProbeRecord};

/// The default lab.
pub(crate) const TOPOLOGY: &str = include_str!("../../../../lab/default.toml");
/// The resolver lab: the default one plus the DNS tree and a resolver cloud.
pub(crate) const RESOLVER: &str = include_str!("../../../../lab/resolver.toml");

/// One lab at a time.
pub(crate) static SERIAL: Mutex<()> = Mutex::new(());

pub(crate) fn is_root(test: &str) -> bool {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        eprintln!(
            "\n!!!!! SKIPPED {test}: needs root (network namespaces, BIRD); `sudo ./scripts/test.sh` runs it !!!!!\n"
        );
    }
    root
}

pub(crate) fn run_dir(test: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lab-{test}"))
}

pub(crate) fn lab_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_anyns-lab"))
}

/// The anyns binary: $ANYNS_BIN, or `anyns` beside anyns-lab (`cargo test --workspace`
/// builds it there, since the anyns package has integration tests).
pub(crate) fn anyns_bin() -> PathBuf {
    let path = std::env::var_os("ANYNS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| lab_bin().with_file_name("anyns"));
    assert!(
        path.is_file(),
        "{} not found: run `cargo build -p anyns` first (or `cargo test --workspace`)",
        path.display()
    );
    path
}

/// A lab for one test; torn down (before the next test may start) when dropped.
pub(crate) struct TestLab {
    pub(crate) lab: Lab,
    pub(crate) _serial: MutexGuard<'static, ()>,
}

impl Deref for TestLab {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        &self.lab
    }
}

pub(crate) fn lab_up(test: &str) -> Option<TestLab> {
    lab_up_with(test, TOPOLOGY)
}

/// A lab from `topology_text` (a variant of the default topology).
pub(crate) fn lab_up_with(test: &str, topology_text: &str) -> Option<TestLab> {
    if !is_root(test) {
        return None;
    }
    let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let lab = Lab::up(&LabOptions {
        topology_text: topology_text.into(),
        run_dir: run_dir(test),
        anyns_bin: anyns_bin(),
        lab_bin: lab_bin(),
        verbose: false,
    })
    .unwrap_or_else(|e| panic!("{test}: lab up: {e}"));
    eprintln!("[{test}] lab up in {:?}", started.elapsed());
    Some(TestLab {
        lab,
        _serial: serial,
    })
}

/// Tears down the lab in a run directory when dropped (for labs built by the CLI).
pub(crate) struct DownOnDrop(pub(crate) PathBuf);

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        let _ = Lab::down_dir(&self.0);
    }
}

pub(crate) fn ids(lab: &Lab, site: &str, cloud: &str) -> (usize, usize) {
    (
        lab.topology.site(site).expect("site"),
        lab.topology.cloud(cloud).expect("cloud"),
    )
}

pub(crate) fn v4_of(lab: &Lab, cloud: &str) -> IpAddr {
    let c = lab.topology.cloud(cloud).expect("cloud");
    lab.topology.clouds[c].v4().expect("IPv4 service address")
}

/// Waits (bounded) until every client's answer for every service address comes from one of
/// the sites the topology model expects with `down` instances out; returns the table.
pub(crate) fn assert_catchment(lab: &Lab, down: &[(usize, usize)], within: Duration) {
    let services = lab.services();
    let check = |table: &[Vec<Option<ProbeRecord>>]| -> Vec<String> {
        let mut wrong = Vec::new();
        for (client, row) in table.iter().enumerate() {
            for (&(cloud, address), record) in services.iter().zip(row) {
                let expected: Vec<&str> = lab
                    .topology
                    .expected_catchment(client, cloud, down)
                    .into_iter()
                    .map(|s| lab.topology.sites[s].name.as_str())
                    .collect();
                let answer = record.as_ref().and_then(|r| r.answer());
                let good = answer.is_some_and(|a| {
                    lab.served(cloud, a) && a.nsid.as_deref().is_some_and(|n| expected.contains(&n))
                });
                if !good {
                    wrong.push(format!(
                        "{} -> {address}: got {:?}, expected one of {expected:?}",
                        lab.topology.clients[client].name,
                        record.as_ref().map(|r| r.outcome.clone())
                    ));
                }
            }
        }
        wrong
    };
    let deadline = Instant::now() + within;
    loop {
        let wrong = check(&lab.catchment());
        if wrong.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "catchment differs from the nearest-site model:\n{}\n{}",
            wrong.join("\n"),
            lab.status()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
