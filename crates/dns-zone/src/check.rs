//! Semantic checks a zone must pass before it serves, as named-checkzone and Knot's
//! semantic checks do: SOA and NS at the apex, CNAME exclusivity, glue for delegations,
//! data hidden below zone cuts.

use std::collections::HashMap;

use dns_wire::name_to_text;
use dns_wire::types::rtype;

use crate::build::{PendingNode, PendingRrset, is_at_or_below};
use crate::error::{Problem, Severity};
use crate::hash::BuildNameHasher;

/// Types that may share a name with a CNAME (RFC 4035 §2.5 / RFC 2181 §10.1).
const CNAME_COMPANIONS: [u16; 2] = [rtype::RRSIG, rtype::NSEC];

/// Runs every check on `nodes` (apex first), appending problems. Returns the SOA serial.
pub(crate) fn check_zone(
    nodes: &[PendingNode],
    origin: &[u8],
    file: &str,
    problems: &mut Vec<Problem>,
) -> Option<u32> {
    let mut report = |rrset: Option<&PendingRrset>, severity, message: String| {
        problems.push(Problem {
            severity,
            file: rrset
                .map(|r| r.source.file.to_string())
                .unwrap_or_else(|| file.to_string()),
            line: rrset.map(|r| r.source.line as usize).unwrap_or(0),
            message,
        });
    };
    let by_name: HashMap<&[u8], usize, BuildNameHasher> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (&*n.name, i))
        .collect();
    let find = |name: &[u8]| by_name.get(name).map(|&i| &nodes[i]);

    //= https://www.rfc-editor.org/rfc/rfc1035#section-5.2
    //# Exactly one SOA RR should be present at the top of the zone.
    let apex = &nodes[0];
    let serial = match rrset_of(apex, rtype::SOA) {
        None => {
            report(
                None,
                Severity::Error,
                "no SOA record at the zone apex".into(),
            );
            None
        }
        Some(soa) if soa.rdatas.len() > 1 => {
            report(
                Some(soa),
                Severity::Error,
                "more than one SOA record at the apex".into(),
            );
            None
        }
        Some(soa) => soa_serial(&soa.rdatas[0]),
    };
    //= https://www.rfc-editor.org/rfc/rfc1035#section-5.2
    //# at least one NS RR must be present at the top of the zone.
    if rrset_of(apex, rtype::NS).is_none() {
        report(
            None,
            Severity::Error,
            "no NS records at the zone apex".into(),
        );
    }

    let cuts: Vec<&PendingNode> = nodes[1..]
        .iter()
        .filter(|n| rrset_of(n, rtype::NS).is_some())
        .collect();
    let below_cut = |name: &[u8]| -> Option<&[u8]> {
        let mut at: &[u8] = name;
        while at.len() > origin.len() {
            if let Some(node) = find(at) {
                if !std::ptr::eq(node, apex) && rrset_of(node, rtype::NS).is_some() && at != name {
                    return Some(&node.name);
                }
            }
            at = &at[1 + at[0] as usize..];
        }
        None
    };

    for node in &nodes[1..] {
        let name = name_to_text(&node.name);
        if let Some(soa) = rrset_of(node, rtype::SOA) {
            report(
                Some(soa),
                Severity::Error,
                format!("SOA record at {name}, not at the apex"),
            );
        }
        if let Some(cname) = rrset_of(node, rtype::CNAME) {
            //= https://www.rfc-editor.org/rfc/rfc2181#section-10.1
            //# there may be only one such canonical name
            if cname.rdatas.len() > 1 {
                report(
                    Some(cname),
                    Severity::Error,
                    format!("more than one CNAME at {name}"),
                );
            }
            let others = node
                .rrsets
                .iter()
                .any(|r| r.rtype != rtype::CNAME && !CNAME_COMPANIONS.contains(&r.rtype));
            if others {
                report(
                    Some(cname),
                    Severity::Error,
                    format!("CNAME and other data at {name}"),
                );
            }
        }
        if let Some(cut) = below_cut(&node.name) {
            let hidden = node
                .rrsets
                .iter()
                .find(|r| r.rtype != rtype::A && r.rtype != rtype::AAAA);
            if let Some(rrset) = hidden {
                report(
                    Some(rrset),
                    Severity::Warning,
                    format!(
                        "{name} is below the delegation {} and is not served (occluded)",
                        name_to_text(cut)
                    ),
                );
            }
        }
    }
    if let Some(cname) = rrset_of(apex, rtype::CNAME) {
        report(
            Some(cname),
            Severity::Error,
            "CNAME at the zone apex".into(),
        );
    }

    //= https://www.rfc-editor.org/rfc/rfc1034#section-4.2.1
    //# ... glue RRs ... are necessary when the name server's name is below the cut
    for cut in &cuts {
        let Some(ns) = rrset_of(cut, rtype::NS) else {
            continue;
        };
        for target in &ns.rdatas {
            let target = target.to_ascii_lowercase();
            if !is_at_or_below(&target, origin) {
                continue;
            }
            let needs_glue = is_at_or_below(&target, &cut.name) || below_cut(&target).is_some();
            let has_address = find(&target).is_some_and(|n| {
                rrset_of(n, rtype::A).is_some() || rrset_of(n, rtype::AAAA).is_some()
            });
            if needs_glue && !has_address {
                report(
                    Some(ns),
                    Severity::Error,
                    format!(
                        "missing glue: NS target {} of the delegation {} has no A or AAAA record",
                        name_to_text(&target),
                        name_to_text(&cut.name)
                    ),
                );
            }
        }
    }
    serial
}

/// The serial from SOA RDATA: after two names, the first of five 32-bit fields.
fn soa_serial(rdata: &[u8]) -> Option<u32> {
    let fixed = rdata.get(rdata.len().checked_sub(20)?..)?;
    Some(u32::from_be_bytes(fixed[..4].try_into().ok()?))
}

fn rrset_of(node: &PendingNode, rtype: u16) -> Option<&PendingRrset> {
    node.rrsets.iter().find(|r| r.rtype == rtype)
}
