//! The demo's resolver step, for a lab with a resolver cloud (`lab/resolver.toml`): the
//! clients resolve names of the lab's signed DNS tree through the resolver cloud, the
//! tree's servers show that every query came from a resolver site's unicast address, and
//! one resolver site fails under a client's stream.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::Error;
use crate::disruption::{Disruption, RATE, disrupt, disruption_table};
use crate::dns::qtype;
use crate::lab::Lab;
use crate::probe::ProbeOptions;
use crate::render::{Table, ms, ms_or};
use crate::topology::Serves;

/// The names the clients resolve: (name, type, what it shows).
const NAMES: [(&str, u16, &str); 5] = [
    ("www.nsec.", qtype::A, "signed, NSEC"),
    ("www.nsec3.", qtype::A, "signed, NSEC3"),
    ("nope.nsec3.", qtype::A, "signed denial"),
    (
        "start.chain.",
        qtype::A,
        "CNAME chain into an unsigned zone",
    ),
    (
        "small.far.",
        qtype::TXT,
        "NS set: 2 anycast clouds + 1 unicast",
    ),
];

/// The resolver cloud's index and its IPv4 address.
pub(crate) fn resolver_cloud(lab: &Lab) -> Option<(usize, IpAddr)> {
    let c = *lab.topology.clouds_serving(Serves::Resolver).first()?;
    Some((c, lab.topology.clouds[c].v4()?))
}

/// Runs the step; the failure's figures (None without a resolver cloud).
pub(crate) fn run(lab: &Lab) -> Result<Option<(String, Disruption)>, Error> {
    let Some((cloud, address)) = resolver_cloud(lab) else {
        println!("    this topology has no resolver cloud (lab/resolver.toml has one): skipped");
        return Ok(None);
    };
    let cloud_name = lab.topology.clouds[cloud].name.clone();
    let nodes = lab.tree_nodes();
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    lab.record_dns_sources(&nodes)?;
    println!(
        "    each client asks {cloud_name} ({address}) twice: the first answer is resolved from the lab's root"
    );
    println!(
        "    (hints and trust anchor of the lab's own signed tree), the second comes from the cache."
    );
    let mut table = Table::new(&[
        "client", "name", "rcode", "AD", "resolver", "first", "again", "zone",
    ]);
    for client in &lab.topology.clients {
        for (label, qtype, what) in NAMES {
            let name = format!("{label}{}", lab.topology.zone);
            let options = ProbeOptions {
                timeout: Duration::from_secs(5),
                ..ProbeOptions::resolve(address, &name, qtype, 1, 1)
            };
            let first = lab.probe(&client.name, &options)?;
            let again = lab.probe(&client.name, &options)?;
            let answer = first.first().and_then(|r| r.answer());
            table.row(vec![
                client.name.clone(),
                name.clone(),
                answer.map_or_else(|| "-".into(), |a| rcode_name(a.rcode)),
                answer
                    .map_or("-", |a| if a.ad { "yes" } else { "no" })
                    .into(),
                first
                    .first()
                    .and_then(|r| r.nsid())
                    .unwrap_or("-")
                    .to_string(),
                ms_or(first.first().and_then(|r| r.rtt), "-"),
                ms_or(again.first().and_then(|r| r.rtt), "-"),
                what.into(),
            ]);
        }
    }
    print!("{}", table.render());
    let mut seen = BTreeSet::new();
    for node in &nodes {
        seen.extend(lab.dns_sources(node)?);
    }
    let allowed = lab.resolver_unicast();
    let list: Vec<String> = seen.iter().map(ToString::to_string).collect();
    println!(
        "    the tree's servers ({}) saw queries from: {}",
        nodes.join(", "),
        list.join(", ")
    );
    println!(
        "    every one a resolver site's unicast address, none the anycast address: {}",
        if !seen.is_empty() && seen.is_subset(&allowed) {
            "yes"
        } else {
            "NO"
        }
    );

    let client = lab.topology.clients[0].name.clone();
    let name = format!("www.nsec.{}", lab.topology.zone);
    // The other sites' caches hold the name too, so a failover is not a cold resolution.
    for c in &lab.topology.clients {
        lab.probe(
            &c.name,
            &ProbeOptions::resolve(address, &name, qtype::A, 1, 1),
        )?;
    }
    let stream = ProbeOptions::resolve(address, &name, qtype::A, RATE, 4 * RATE);
    let site = lab
        .probe(
            &client,
            &ProbeOptions::resolve(address, &name, qtype::A, 1, 1),
        )?
        .first()
        .and_then(|r| r.nsid().map(str::to_owned))
        .ok_or_else(|| Error::NoLab(format!("{client} gets no answer from {address}")))?;
    for c in &lab.topology.clients {
        for s in 0..lab.topology.sites.len() {
            if lab.topology.sites[s].clouds.contains(&cloud) && lab.topology.sites[s].name != site {
                let unicast = IpAddr::V4(lab.topology.instance_v4(s, cloud));
                lab.probe(
                    &c.name,
                    &ProbeOptions::resolve(unicast, &name, qtype::A, 1, 1),
                )?;
            }
        }
    }
    println!(
        "    a resolver site fails: SIGKILL to {site}'s anyns while {client} asks {address} for {name} at {RATE} q/s"
    );
    let started = Instant::now();
    let kill = disrupt(
        lab,
        &client,
        address,
        &stream,
        Duration::from_secs(1),
        || {
            lab.stop_instance(&site, &cloud_name, "KILL", Duration::from_secs(5))
                .map(|(at, _)| at)
        },
    )?;
    print!("{}", disruption_table(&kill, "SIGKILL"));
    lab.start_instance(&site, &cloud_name)?;
    lab.wait_bgp(Duration::from_secs(20))?;
    println!("    ({}; {site} restarted)", ms(started.elapsed()));
    Ok(Some((format!("SIGKILL {site} {cloud_name}"), kill)))
}

fn rcode_name(code: u8) -> String {
    match code {
        0 => "NOERROR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        5 => "REFUSED".into(),
        other => format!("RCODE{other}"),
    }
}
