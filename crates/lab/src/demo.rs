//! `anyns-lab demo`: brings up a lab (scripts/demo.sh: lab/resolver.toml) and shows, a
//! table per step with timings, what anycast does with anyns: catchment, a site failing and
//! coming back, a drain, a zone change reaching every site, a resolver cloud (resolver_demo)
//! and the teardown. The measurement pieces ([`disrupt`], from `disruption`) are shared
//! with the end-to-end tests.

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use crate::disruption::disruption_table;
pub use crate::disruption::{Disruption, RATE, disrupt};
use crate::lab::{Lab, LabOptions};
use crate::probe::ProbeOptions;
use crate::render::{Table, ms, ms_or};
use crate::topology::Serves;
use crate::{Error, system};

/// How many steps the demo has.
const STEPS: usize = 8;

fn step(n: usize, title: &str) -> Instant {
    println!("\n[{n}/{STEPS}] {title}");
    Instant::now()
}

/// The kind of transfer (`IXFR`, `AXFR`) that brought `serial`, from an anyns log.
fn transfer_kind(log: &str, serial: u32) -> Option<String> {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("zone transferred") && l.contains(&format!("serial={serial}")))?;
    let kind = line.split("kind=").nth(1)?.split_whitespace().next()?;
    Some(format!("NOTIFY + {}", kind.trim_matches('"')))
}

/// Runs the demo on a lab built from `options`; tears it down at the end (and on error).
pub fn run(options: &LabOptions) -> Result<(), Error> {
    let whole = Instant::now();
    println!("anyns anycast lab demo: routers run BIRD 2, every site runs anyns (one process per");
    println!(
        "cloud, BGP inside the process), clients ask over UDP. Run dir {}",
        options.run_dir.display()
    );

    let t = step(1, "bringing the lab up");
    let mut lab = Lab::up(&LabOptions {
        verbose: true,
        ..options.clone()
    })?;
    println!("    up in {}", ms(t.elapsed()));
    let topo = lab.topology.clone();
    let mut sites = Table::new(&[
        "site",
        "router",
        "clouds (service addresses)",
        "scope",
        "unicast (per cloud)",
    ]);
    for (i, s) in topo.sites.iter().enumerate() {
        let clouds: Vec<String> = s
            .clouds
            .iter()
            .map(|&c| {
                let cloud = &topo.clouds[c];
                let addrs: Vec<String> = cloud.addresses.iter().map(ToString::to_string).collect();
                format!("{} {}", cloud.name, addrs.join(" "))
            })
            .collect();
        let unicast: Vec<String> = s
            .clouds
            .iter()
            .map(|&c| topo.instance_v4(i, c).to_string())
            .collect();
        sites.row(vec![
            s.name.clone(),
            format!(
                "{} AS{}",
                topo.routers[s.router].name, topo.routers[s.router].asn
            ),
            clouds.join(", "),
            format!("{:?}", s.scope).to_lowercase(),
            unicast.join(" "),
        ]);
    }
    if let (Some(p), Some(a)) = (&topo.primary, lab.primary_address()) {
        sites.row(vec![
            p.name.clone(),
            topo.routers[p.router].name.clone(),
            "(hidden primary)".into(),
            "-".into(),
            a.to_string(),
        ]);
    }
    print!("{}", sites.render());

    let t = step(
        2,
        "catchment: which site answers each client (NSID, RFC 5001)",
    );
    print!("{}", lab.catchment_table());
    println!(
        "    the nearest site by AS path answers; a local-scope site (NO_EXPORT) answers only the clients of"
    );
    println!("    its own router. Where two sites are equally near, the router breaks the tie.");
    println!("    ({})", ms(t.elapsed()));

    // The first client and its site for the first cloud's IPv4 address.
    let ns1 = topo.clouds[0].name.clone();
    let ns1_v4 = topo.clouds[0]
        .v4()
        .ok_or_else(|| Error::NoLab("first cloud has no IPv4 address".into()))?;
    let client = topo.clients[0].name.clone();
    let stream = ProbeOptions::stream(ns1_v4, &topo.zone, RATE, 4 * RATE);
    let site = lab
        .probe(&client, &ProbeOptions::once(&[ns1_v4], &topo.zone))?
        .first()
        .and_then(|r| r.nsid().map(str::to_owned))
        .ok_or_else(|| Error::NoLab(format!("{client} gets no answer from {ns1_v4}")))?;

    let t = step(
        3,
        &format!(
            "a site fails: SIGKILL to {site}'s anyns for {ns1} while {client} sends {RATE} q/s to {ns1_v4}"
        ),
    );
    let kill = disrupt(
        &lab,
        &client,
        ns1_v4,
        &stream,
        Duration::from_secs(1),
        || {
            lab.stop_instance(&site, &ns1, "KILL", Duration::from_secs(5))
                .map(|(at, _)| at)
        },
    )?;
    print!("{}", disruption_table(&kill, "SIGKILL"));
    println!(
        "    fate sharing: the process died, so did its BGP session; the router withdrew at once."
    );
    println!("    catchment now ({site}'s {ns1} is down; its other clouds still answer):");
    print!("{}", lab.catchment_table());
    println!("    restarting {site}'s anyns for {ns1} under the same stream:");
    let back = disrupt(
        &lab,
        &client,
        ns1_v4,
        &ProbeOptions {
            count: 3 * RATE,
            ..stream.clone()
        },
        Duration::from_millis(500),
        || lab.start_instance(&site, &ns1),
    )?;
    let mut t_back = Table::new(&["what", "measured"]);
    t_back.row(vec![
        "start -> best route at the client's router changes".into(),
        ms_or(back.route_change, "not seen"),
    ]);
    t_back.row(vec![
        "start -> first answer from the restarted site".into(),
        format!(
            "{} ({})",
            ms_or(back.figures.to_other_site, "never"),
            back.figures.new_site.as_deref().unwrap_or("-")
        ),
    ]);
    t_back.row(vec![
        "queries lost".into(),
        format!("{} of {}", back.lost_after(), back.figures.sent),
    ]);
    print!("{}", t_back.render());
    println!("    ({})", ms(t.elapsed()));
    lab.wait_bgp(Duration::from_secs(20))?;

    let t = step(
        4,
        &format!("a drain: SIGTERM to {site}'s anyns for {ns1} under the same stream"),
    );
    let drain = disrupt(
        &lab,
        &client,
        ns1_v4,
        &stream,
        Duration::from_secs(1),
        || {
            lab.stop_instance(&site, &ns1, "TERM", Duration::from_secs(5))
                .map(|(at, _)| at)
        },
    )?;
    print!("{}", disruption_table(&drain, "SIGTERM"));
    println!(
        "    SIGTERM drains (RFC 8326): the route is re-announced with GRACEFUL_SHUTDOWN (65535:0), which the\n    \
         routers honour with LOCAL_PREF 0, so {client} moves to another site while {site} still answers; the\n    \
         withdrawal follows 1 s later, then the process keeps answering until queries stop (500 ms quiet)\n    \
         and exits: {} of {} lost.",
        drain.lost_after(),
        drain.figures.sent
    );
    lab.start_instance(&site, &ns1)?;
    lab.wait_bgp(Duration::from_secs(20))?;
    println!("    ({}; {site} restarted)", ms(t.elapsed()));

    let t = step(5, "a zone change reaches every site");
    let old = lab.serial();
    let new = old + 1;
    if topo.transfers {
        println!(
            "    the primary's zone file gets serial {new} and the primary reloads (SIGHUP); it sends NOTIFY to"
        );
        println!(
            "    every site instance's unicast address, and each pulls the change from there (IXFR, RFC 1995)."
        );
    } else {
        println!(
            "    transfers are off in this topology: the lab rewrites every site's copy of the zone file and"
        );
        println!("    sends SIGHUP to every anyns.");
    }
    let published = lab.publish_serial(new)?;
    let mut targets: Vec<(String, IpAddr)> = Vec::new();
    if let (Some(p), Some(a)) = (&topo.primary, lab.primary_address()) {
        targets.push((format!("{} (hidden primary)", p.name), a));
    }
    for s in &topo.sites {
        for &c in s
            .clouds
            .iter()
            .filter(|&&c| topo.clouds[c].serves == Serves::Zone)
        {
            let cloud = &topo.clouds[c].name;
            if let Some(a) = lab.instance_address(&s.name, cloud) {
                targets.push((format!("{} {cloud}", s.name), a));
            }
        }
    }
    let mut seen: Vec<Option<Duration>> = vec![None; targets.len()];
    let servers: Vec<IpAddr> = targets.iter().map(|(_, a)| *a).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.iter().any(Option::is_none) && Instant::now() < deadline {
        let records = lab.probe(&client, &ProbeOptions::once(&servers, &topo.zone))?;
        for (i, a) in servers.iter().enumerate() {
            let serial = records
                .iter()
                .find(|r| r.server == *a)
                .and_then(|r| r.answer()?.serial);
            if seen[i].is_none() && serial == Some(new) {
                seen[i] = SystemTime::now().duration_since(published).ok();
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut table = Table::new(&["server (unicast)", "address", "serial", "seen after", "how"]);
    for ((name, a), s) in targets.iter().zip(&seen) {
        let how = match name.split_once(' ') {
            _ if !topo.transfers => "zone file + SIGHUP".to_string(),
            Some((site, cloud)) if !cloud.starts_with('(') => {
                transfer_kind(&lab.log(site, &format!("anyns-{cloud}")), new)
                    .unwrap_or_else(|| "?".into())
            }
            _ => "zone file + SIGHUP".to_string(),
        };
        table.row(vec![
            name.clone(),
            a.to_string(),
            if s.is_some() {
                new.to_string()
            } else {
                format!("still {old}")
            },
            ms_or(*s, "not within 10 s"),
            how,
        ]);
    }
    print!("{}", table.render());
    let everywhere = lab.catchment();
    let zone_columns: Vec<bool> = lab
        .services()
        .iter()
        .map(|&(c, _)| topo.clouds[c].serves == Serves::Zone)
        .collect();
    let all_new = everywhere.iter().all(|row| {
        row.iter()
            .zip(&zone_columns)
            .filter(|(_, zone)| **zone)
            .all(|(r, _)| r.as_ref().and_then(|r| r.answer()?.serial) == Some(new))
    });
    println!(
        "    every client through every service address sees serial {new}: {}",
        if all_new { "yes" } else { "NO" }
    );
    println!("    ({})", ms(t.elapsed()));

    let t = step(
        6,
        "a resolver cloud: clients resolve the lab's signed DNS tree through it",
    );
    let resolver = crate::resolver_demo::run(&lab)?;
    println!("    ({})", ms(t.elapsed()));

    let vantage = lab
        .topology
        .clients
        .get(1)
        .or_else(|| lab.topology.clients.first())
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let t = step(
        7,
        &format!("the fleet as an operator sees it: anyns fleet status, run from {vantage}"),
    );
    match lab.fleet(&vantage, false) {
        Ok(view) => {
            for line in view.lines() {
                println!("    {line}");
            }
        }
        Err(err) => println!("    fleet view failed: {err}"),
    }
    println!(
        "    each site polled over its unicast GET /status (clouds, BGP, serials, q/s), and each"
    );
    println!(
        "    anycast address asked for its NSID from {vantage}: the site that answers it from there."
    );
    println!("    ({})", ms(t.elapsed()));

    let t = step(8, "teardown");
    let report = lab.down()?;
    println!(
        "    {} processes stopped, {} namespaces deleted in {}",
        report.processes,
        report.namespaces,
        ms(t.elapsed())
    );
    let left = system::netns_list()
        .into_iter()
        .filter(|n| n.starts_with(&crate::lab::prefix_of(lab.run_dir())))
        .count();
    println!("    namespaces of this lab left: {left}");

    println!(
        "\nfigures ({RATE} q/s from {client} to {ns1_v4}, one query every {} ms):",
        1000 / RATE
    );
    let mut f = Table::new(&[
        "event",
        "route change at router",
        "first answer elsewhere",
        "queries lost",
    ]);
    f.row(vec![
        format!("SIGKILL {site} {ns1}"),
        ms_or(kill.route_change, "-"),
        ms_or(kill.figures.to_other_site, "never"),
        kill.lost_after().to_string(),
    ]);
    f.row(vec![
        format!("restart {site} {ns1}"),
        ms_or(back.route_change, "-"),
        ms_or(back.figures.to_other_site, "never"),
        back.lost_after().to_string(),
    ]);
    f.row(vec![
        format!("SIGTERM drain {site} {ns1}"),
        ms_or(drain.route_change, "-"),
        ms_or(drain.figures.to_other_site, "never"),
        drain.lost_after().to_string(),
    ]);
    if let Some((what, d)) = &resolver {
        f.row(vec![
            what.clone(),
            ms_or(d.route_change, "-"),
            ms_or(d.figures.to_other_site, "never"),
            d.lost_after().to_string(),
        ]);
    }
    print!("{}", f.render());
    println!("demo done in {}", ms(whole.elapsed()));
    Ok(())
}
