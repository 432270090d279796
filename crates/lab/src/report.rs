//! `anyns-lab failover-report`: benchmark-style failover figures, measured in
//! the lab over several runs (median and max), not a timed test.
//!
//! 1. One DNS instance at ams with a separate announcer (decision 0005's split model), c1
//!    (behind r1, nearest to ams) streaming 50 q/s to ns1: the instance is killed (-9) or
//!    hung (SIGSTOP) while its link and BGP session stay up. Figures: ms from the failure
//!    to the withdrawal seen at r1, to the first answer from another site, queries lost.
//! 2. Two DNS instances at ams, one killed or hung: queries lost, and whether r1 ever lost
//!    the route (it must not: one healthy instance of two is enough).
//! 3. False alarms: dnsperf at full rate for 10 s against ams (split model) and nyc (one
//!    process, probed on the loaded anycast socket itself): the route must never change.
//!
//! Flap damping is off in these labs (`damping = false`): the report fails the same site
//! on purpose many times in a minute, which is exactly what damping is there to punish.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::demo::{Disruption, RATE, disrupt};
use crate::render::Table;
use crate::{Error, Lab, LabOptions, ProbeOptions, system};

/// Time the stream runs before the failure.
const LEAD: Duration = Duration::from_secs(1);
/// Length of a dnsperf run (false-alarm check).
const LOAD_SECONDS: u32 = 10;

/// `text` (a topology) with `line` added to site `site`'s table, and `top` lines first.
pub fn topology_variant(text: &str, top: &str, site: &str, line: &str) -> String {
    let marker = format!("name = \"{site}\"\n");
    let mut out = String::from(top);
    let mut inserted = false;
    for part in text.split_inclusive('\n') {
        out.push_str(part);
        if !inserted && part == marker && !line.is_empty() {
            out.push_str(line);
            out.push('\n');
            inserted = true;
        }
    }
    out
}

/// One measured failure.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// Failure to the route change at the client's router (`None`: it never changed).
    pub withdrawn: Option<Duration>,
    /// Failure to the first answer from another site (`None`: none came).
    pub other_site: Option<Duration>,
    /// Queries sent at or after the failure without an answer.
    pub lost: usize,
    /// Queries sent at or after the failure.
    pub sent: usize,
}

impl Run {
    fn of(d: &Disruption) -> Self {
        Self {
            withdrawn: d.route_change,
            other_site: d.figures.to_other_site,
            lost: d.lost_after(),
            sent: d.records.iter().filter(|r| r.sent >= d.at).count(),
        }
    }
}

fn median_max(values: &mut [f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    Some((median, values[n - 1]))
}

fn ms_stat(runs: &[Run], f: impl Fn(&Run) -> Option<Duration>) -> String {
    let mut v: Vec<f64> = runs
        .iter()
        .filter_map(|r| f(r).map(|d| d.as_secs_f64() * 1000.0))
        .collect();
    let missing = runs.len() - v.len();
    match median_max(&mut v) {
        Some((m, x)) if missing == 0 => format!("{m:.0} / {x:.0}"),
        Some((m, x)) => format!("{m:.0} / {x:.0} ({missing} never)"),
        None => "never".into(),
    }
}

fn lost_stat(runs: &[Run]) -> String {
    let mut v: Vec<f64> = runs.iter().map(|r| r.lost as f64).collect();
    let sent: usize = runs.iter().map(|r| r.sent).sum();
    match median_max(&mut v) {
        Some((m, x)) => format!("{m:.1} / {x:.0} (of {sent})"),
        None => "-".into(),
    }
}

/// Waits until c1 is answered by ams for ns1 again and r1's route points to it.
fn wait_back(lab: &Lab, ns1: IpAddr) -> Result<(), Error> {
    let route = lab.site_protocol("ams", "ns1", false);
    system::wait_for(
        "r1's route back to ams and c1 answered by ams",
        Duration::from_secs(20),
        Duration::from_millis(100),
        || {
            if lab.best_route("r1", ns1) != route {
                return None;
            }
            let records = lab
                .probe("c1", &ProbeOptions::once(&[ns1], &lab.topology.zone))
                .ok()?;
            records
                .iter()
                .any(|r| r.nsid() == Some("ams"))
                .then_some(())
        },
        || lab.log("ams", "anyns-ns1"),
    )
}

/// Waits until ams's announcer for ns1 sees `up` instances up.
fn wait_instances_up(lab: &Lab, up: usize) -> Result<(), Error> {
    let want = format!("\"instances_up\":{up},");
    system::wait_for(
        &format!("{up} instances up at ams/ns1"),
        Duration::from_secs(10),
        Duration::from_millis(50),
        || {
            lab.control("ams", "ns1", "status")
                .ok()
                .filter(|s| s.contains(&want))
        },
        || lab.control("ams", "ns1", "status").unwrap_or_default(),
    )
    .map(|_| ())
}

fn stream(lab: &Lab, ns1: IpAddr) -> ProbeOptions {
    ProbeOptions::stream(ns1, &lab.topology.zone, RATE, 3 * RATE)
}

/// Kill and hang of ams's only DNS instance, `runs` times each.
fn single_instance(lab: &Lab, runs: usize, say: &dyn Fn(&str)) -> Result<[Vec<Run>; 2], Error> {
    let ns1 = lab.topology.clouds[lab.topology.cloud("ns1").unwrap_or(0)]
        .v4()
        .ok_or_else(|| Error::Topology("ns1 needs an IPv4 address".into()))?;
    let mut kills = Vec::new();
    let mut hangs = Vec::new();
    for run in 1..=runs {
        let d = disrupt(lab, "c1", ns1, &stream(lab, ns1), LEAD, || {
            lab.kill_dns_instance("ams", "ns1", 0)
        })?;
        let r = Run::of(&d);
        say(&format!(
            "  kill -9 run {run}: withdrawn at r1 {:?}, other site after {:?}, lost {}",
            r.withdrawn, r.other_site, r.lost
        ));
        kills.push(r);
        lab.start_dns_instance("ams", "ns1", 0)?;
        wait_back(lab, ns1)?;

        let d = disrupt(lab, "c1", ns1, &stream(lab, ns1), LEAD, || {
            lab.signal_dns_instance("ams", "ns1", 0, "STOP")
        });
        lab.signal_dns_instance("ams", "ns1", 0, "CONT")?;
        let r = Run::of(&d?);
        say(&format!(
            "  SIGSTOP run {run}: withdrawn at r1 {:?}, other site after {:?}, lost {}",
            r.withdrawn, r.other_site, r.lost
        ));
        hangs.push(r);
        wait_back(lab, ns1)?;
    }
    Ok([kills, hangs])
}

/// Kill and hang of one of ams's two DNS instances, `runs` times each.
fn two_instances(lab: &Lab, runs: usize, say: &dyn Fn(&str)) -> Result<[Vec<Run>; 2], Error> {
    let ns1 = lab.topology.clouds[lab.topology.cloud("ns1").unwrap_or(0)]
        .v4()
        .ok_or_else(|| Error::Topology("ns1 needs an IPv4 address".into()))?;
    let mut kills = Vec::new();
    let mut hangs = Vec::new();
    for run in 1..=runs {
        wait_instances_up(lab, 2)?;
        let d = disrupt(lab, "c1", ns1, &stream(lab, ns1), LEAD, || {
            lab.kill_dns_instance("ams", "ns1", 1)
        })?;
        let r = Run::of(&d);
        say(&format!(
            "  kill -9 of 1 of 2, run {run}: route change at r1 {:?}, lost {} of {}",
            r.withdrawn, r.lost, r.sent
        ));
        kills.push(r);
        lab.start_dns_instance("ams", "ns1", 1)?;
        wait_instances_up(lab, 2)?;

        let d = disrupt(lab, "c1", ns1, &stream(lab, ns1), LEAD, || {
            lab.signal_dns_instance("ams", "ns1", 1, "STOP")
        });
        lab.signal_dns_instance("ams", "ns1", 1, "CONT")?;
        let r = Run::of(&d?);
        say(&format!(
            "  SIGSTOP of 1 of 2, run {run}: route change at r1 {:?}, lost {} of {}",
            r.withdrawn, r.lost, r.sent
        ));
        hangs.push(r);
    }
    Ok([kills, hangs])
}

/// One dnsperf run at full rate from `client` to `address` while r{router}'s route is
/// watched; (queries/s, lost, route change seen).
pub fn load_without_false_alarm(
    lab: &Lab,
    client: &str,
    router: &str,
    address: IpAddr,
    seconds: u32,
) -> Result<(f64, u64, Option<String>), Error> {
    let file = lab.run_dir().join("dnsperf-queries.txt");
    let zone = &lab.topology.zone;
    std::fs::write(&file, format!("{zone} SOA\n{zone} NS\n"))
        .map_err(|e| Error::io(file.display(), e))?;
    let before = lab.best_route(router, address);
    let window = Duration::from_secs(u64::from(seconds) + 1);
    let (out, changed) = std::thread::scope(|scope| {
        let watcher =
            scope.spawn(|| lab.watch_route_change(router, address, before.as_deref(), window));
        let out = system::in_ns(&lab.ns(client), &system::tool("dnsperf"))
            .args(["-s", &address.to_string(), "-d"])
            .arg(&file)
            .args(["-l", &seconds.to_string(), "-q", "200", "-t", "1"])
            .output();
        (out, watcher.join().ok().flatten())
    });
    let out = out.map_err(|e| Error::io("dnsperf", e))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |name: &str| -> Option<String> {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.split_whitespace().next().unwrap_or("").to_string())
    };
    let qps = field("Queries per second")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::NoLab(format!("dnsperf printed no rate:\n{text}")))?;
    let lost = field("Queries lost")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok((
        qps,
        lost,
        changed.map(|(_, r)| r.unwrap_or_else(|| "none".into())),
    ))
}

/// Runs the report and prints it.
pub fn failover_report(options: &LabOptions, runs: usize) -> Result<(), Error> {
    let runs = runs.clamp(1, 50);
    let say = |m: &str| println!("{m}");
    let started = Instant::now();
    let base = options.topology_text.clone();

    println!("== failover report: {runs} runs, c1 streaming {RATE} q/s to ns1 (nearest site ams)");
    println!("\n-- ams with one DNS instance and a separate announcer (decision 0005)");
    let mut one = Lab::up(&LabOptions {
        topology_text: topology_variant(
            &base,
            "damping = false\n",
            "ams",
            "separate-announcer = true",
        ),
        ..options.clone()
    })?;
    let [kills, hangs] = single_instance(&one, runs, &say)?;
    let ns1 = one.topology.clouds[one.topology.cloud("ns1").unwrap_or(0)]
        .v4()
        .ok_or_else(|| Error::Topology("ns1 needs an IPv4 address".into()))?;
    println!("\n-- false alarms: dnsperf at full rate for {LOAD_SECONDS} s, route watched");
    let mut loads = Vec::new();
    for (client, router, site, model) in [
        ("c1", "r1", "ams", "announcer + 1 instance"),
        (
            "c3",
            "r3",
            "nyc",
            "one process, probes on the loaded socket",
        ),
    ] {
        let (qps, lost, changed) =
            load_without_false_alarm(&one, client, router, ns1, LOAD_SECONDS)?;
        say(&format!(
            "  {site} ({model}): {qps:.0} q/s, {lost} lost by dnsperf, route change at {router}: {}",
            changed.as_deref().unwrap_or("none")
        ));
        loads.push((site, model, qps, lost, changed));
    }
    one.down()?;

    println!("\n-- ams with two DNS instances (SO_REUSEPORT), k = 1 of 2");
    let mut two = Lab::up(&LabOptions {
        topology_text: topology_variant(&base, "damping = false\n", "ams", "instances = 2"),
        ..options.clone()
    })?;
    let [kills2, hangs2] = two_instances(&two, runs, &say)?;
    two.down()?;

    let mut t = Table::new(&[
        "failure (ams, 50 q/s)",
        "to withdrawal at r1, ms (median / max)",
        "to first answer from nyc, ms",
        "lost (median / max)",
        "target",
    ]);
    t.row(vec![
        "kill -9, 1 instance".into(),
        ms_stat(&kills, |r| r.withdrawn),
        ms_stat(&kills, |r| r.other_site),
        lost_stat(&kills),
        "≤ 50 ms, ≤ 2 lost".into(),
    ]);
    t.row(vec![
        "SIGSTOP, 1 instance".into(),
        ms_stat(&hangs, |r| r.withdrawn),
        ms_stat(&hangs, |r| r.other_site),
        lost_stat(&hangs),
        "≤ 100 ms, ≤ 5 lost".into(),
    ]);
    t.row(vec![
        "kill -9, 1 of 2 instances".into(),
        ms_stat(&kills2, |r| r.withdrawn),
        ms_stat(&kills2, |r| r.other_site),
        lost_stat(&kills2),
        "no withdrawal, 0 lost".into(),
    ]);
    t.row(vec![
        "SIGSTOP, 1 of 2 instances".into(),
        ms_stat(&hangs2, |r| r.withdrawn),
        ms_stat(&hangs2, |r| r.other_site),
        lost_stat(&hangs2),
        "(no target)".into(),
    ]);
    let mut out = format!("\n== summary ({runs} runs each)\n");
    out.push_str(&t.render());
    let mut l = Table::new(&[
        "full-rate load (10 s)",
        "q/s",
        "dnsperf lost",
        "route change",
    ]);
    for (site, model, qps, lost, changed) in &loads {
        l.row(vec![
            format!("{site}: {model}"),
            format!("{qps:.0}"),
            lost.to_string(),
            changed.clone().unwrap_or_else(|| "none".into()),
        ]);
    }
    out.push('\n');
    out.push_str(&l.render());
    let p = health::Policy::default();
    let _ = writeln!(
        out,
        "\nhealth defaults: interval {:?}, timeout {:?}, fall {} (closed port: 1), rise {}, hold-down {:?}; report took {:.0} s",
        p.interval,
        p.timeout,
        p.fall,
        p.rise,
        p.hold_down,
        started.elapsed().as_secs_f64()
    );
    print!("{out}");
    Ok(())
}
