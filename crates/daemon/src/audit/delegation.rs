//! The NS sets: in-bailiwick name servers without addresses, delegations without glue or
//! with glue the child disagrees with, a child whose NS set differs from the parent's
//! delegation (when both zones are given), and, knowing which addresses are anycast, an NS
//! set with no unicast fallback or with every server in one cloud.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dns_wire::types::rtype;
use dns_zone::Zone;

use super::finding::{Finding, Severity};
use crate::acl::Prefix;

/// The names of an NS RRset (lowercase wire form).
fn ns_names(zone: &Zone, owner: &[u8]) -> Vec<Vec<u8>> {
    let Some(ns) = zone.find(owner).and_then(|n| n.rrset(rtype::NS)) else {
        return Vec::new();
    };
    ns.rdatas()
        .map(|rdata| {
            let mut name = rdata.to_vec();
            dns_wire::lowercase_in_place(&mut name);
            name
        })
        .collect()
}

/// The A and AAAA addresses `zone` holds for `name`.
fn addresses(zone: &Zone, name: &[u8]) -> Vec<IpAddr> {
    let Some(node) = zone.find(name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(a) = node.rrset(rtype::A) {
        out.extend(a.rdatas().filter_map(|r| {
            <[u8; 4]>::try_from(r)
                .ok()
                .map(|b| IpAddr::V4(Ipv4Addr::from(b)))
        }));
    }
    if let Some(aaaa) = node.rrset(rtype::AAAA) {
        out.extend(aaaa.rdatas().filter_map(|r| {
            <[u8; 16]>::try_from(r)
                .ok()
                .map(|b| IpAddr::V6(Ipv6Addr::from(b)))
        }));
    }
    out
}

/// Whether `name` is `zone` or below it (wire forms, lowercase).
fn is_within(name: &[u8], zone: &[u8]) -> bool {
    name.len() >= zone.len() && name.ends_with(zone) && {
        // On a label boundary: walk labels until the suffix is reached.
        let mut at = 0;
        while name.len() - at > zone.len() {
            at += 1 + name[at] as usize;
        }
        name.len() - at == zone.len()
    }
}

fn text(name: &[u8]) -> String {
    dns_wire::name_to_text(name)
}

/// The NS findings of `zone`; `zones` are every zone given (children are looked up there);
/// `anycast` the prefixes known to be anycast (empty: unknown, those checks are skipped).
pub(crate) fn findings(zone: &Zone, zones: &[&Zone], anycast: &[Prefix]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let origin = zone.origin();
    let apex_ns = ns_names(zone, origin);
    if apex_ns.is_empty() {
        findings.push(Finding::new(
            Severity::Error,
            "ns.none",
            format!("{} NS", text(origin)),
            "no NS RRset at the apex",
            "a zone needs its NS set at the apex (and the parent's delegation must match it)",
        ));
    }
    // In-bailiwick name servers need addresses in the zone.
    let mut known_addresses = Vec::new();
    let mut unknown = 0;
    for ns in &apex_ns {
        let found = addresses(zone, ns);
        if is_within(ns, origin) && found.is_empty() {
            findings.push(Finding::new(
                Severity::Error,
                "ns.in-bailiwick-without-address",
                format!("{} NS {}", text(origin), text(ns)),
                "no A or AAAA record for it in the zone",
                "a name server inside the zone needs its addresses there (and as glue in the \
                 parent), or resolvers cannot reach it",
            ));
        }
        if found.is_empty() {
            unknown += 1;
        }
        known_addresses.extend(found.into_iter().map(|a| (ns.clone(), a)));
    }
    // Delegations: glue, and the child's own view when it is given.
    for node in zone.nodes() {
        if node.name == origin || !node.is_delegation() {
            continue;
        }
        let cut = node.name;
        let delegated = ns_names(zone, cut);
        for ns in delegated.iter().filter(|ns| is_within(ns, cut)) {
            let glue = addresses(zone, ns);
            if glue.is_empty() {
                findings.push(Finding::new(
                    Severity::Error,
                    "delegation.missing-glue",
                    format!("{} NS {}", text(cut), text(ns)),
                    "the name server is inside the child and the parent has no address for it",
                    "add its A/AAAA records beside the delegation (glue): without them resolvers \
                     cannot reach the child",
                ));
            }
            if let Some(child) = zones.iter().find(|z| z.origin() == cut) {
                let theirs: BTreeSet<IpAddr> = addresses(child, ns).into_iter().collect();
                let ours: BTreeSet<IpAddr> = glue.into_iter().collect();
                if !theirs.is_empty() && !ours.is_empty() && theirs != ours {
                    findings.push(Finding::new(
                        Severity::Warning,
                        "delegation.glue-mismatch",
                        format!("{} glue for {}", text(cut), text(ns)),
                        format!("parent {ours:?}, child {theirs:?}"),
                        "the parent's glue and the child's addresses differ: resolvers use \
                         one or the other depending on what they cached; make them equal",
                    ));
                }
            }
        }
        if let Some(child) = zones.iter().find(|z| z.origin() == cut) {
            let parent_set: BTreeSet<Vec<u8>> = delegated.iter().cloned().collect();
            let child_set: BTreeSet<Vec<u8>> = ns_names(child, cut).into_iter().collect();
            if parent_set != child_set {
                let names = |set: &BTreeSet<Vec<u8>>| {
                    set.iter().map(|n| text(n)).collect::<Vec<_>>().join(" ")
                };
                findings.push(Finding::new(
                    Severity::Error,
                    "delegation.ns-mismatch",
                    format!("{} NS", text(cut)),
                    format!(
                        "parent: {}; child: {}",
                        names(&parent_set),
                        names(&child_set)
                    ),
                    "the delegation and the child's apex NS set differ: servers only one side \
                     lists get no or lame traffic; make both the same",
                ));
            }
        }
    }
    // Anycast: a unicast fallback, and more than one cloud.
    if !anycast.is_empty() && !known_addresses.is_empty() {
        let is_anycast = |a: &IpAddr| anycast.iter().any(|p| p.contains(*a));
        let unicast = known_addresses.iter().any(|(_, a)| !is_anycast(a));
        if !unicast && unknown == 0 {
            findings.push(Finding::new(
                Severity::Warning,
                "ns.no-unicast-fallback",
                format!("{} NS", text(origin)),
                format!("all {} addresses are anycast", known_addresses.len()),
                "add a name server on a unicast address: when TCP over anycast breaks (a route \
                 change mid-connection), resolvers fall back to it",
            ));
        }
        let clouds: BTreeSet<String> = known_addresses
            .iter()
            .filter_map(|(_, a)| {
                anycast
                    .iter()
                    .find(|p| p.contains(*a))
                    .map(|p| format!("{p:?}"))
            })
            .collect();
        if clouds.len() == 1 && !unicast && unknown == 0 {
            findings.push(Finding::new(
                Severity::Warning,
                "ns.one-cloud",
                format!("{} NS", text(origin)),
                "every name server is in one anycast prefix",
                "a routing problem of that prefix takes the whole zone down: spread the NS set \
                 over two clouds (different prefixes, ideally different upstreams)",
            ));
        }
    }
    findings
}
