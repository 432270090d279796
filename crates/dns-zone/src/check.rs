//! Semantic checks a zone must pass before it serves, as named-checkzone and Knot's
//! semantic checks do: SOA and NS at the apex, CNAME exclusivity, glue for delegations,
//! data hidden below zone cuts.

use std::sync::Arc;

use dns_wire::name_to_text;
use dns_wire::types::rtype;

use crate::error::{Problem, Severity};
use crate::pending::{Pending, PendingNode, PendingRrset, is_at_or_below};

/// Types that may share a name with a CNAME (RFC 4035 §2.5 / RFC 2181 §10.1).
const CNAME_COMPANIONS: [u16; 2] = [rtype::RRSIG, rtype::NSEC];

/// Runs every check on `nodes` (apex first), appending problems. Returns the SOA serial.
pub(crate) fn check_zone<'n>(
    pending: &'n Pending,
    find: impl Fn(&[u8]) -> Option<&'n PendingNode>,
    origin: &[u8],
    files: &[Arc<str>],
    problems: &mut Vec<Problem>,
) -> Option<u32> {
    // Zone-wide problems point at the first record of the zone's own file.
    let nodes = &pending.nodes;
    let rrset_of = |node: &'n PendingNode, rtype: u16| pending.rrset(node, rtype);
    let first_line = nodes
        .iter()
        .flat_map(|n| pending.rrsets(n))
        .filter(|r| r.source.file == 0)
        .map(|r| r.source.line)
        .min()
        .unwrap_or(1)
        .max(1) as usize;
    let mut report = |rrset: Option<&PendingRrset>, severity, message: String| {
        problems.push(Problem {
            severity,
            file: files[rrset.map_or(0, |r| r.source.file as usize)].to_string(),
            line: rrset.map_or(first_line, |r| r.source.line as usize),
            message,
        });
    };

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
        Some(soa) if soa.len() > 1 => {
            report(
                Some(soa),
                Severity::Error,
                "more than one SOA record at the apex".into(),
            );
            None
        }
        Some(soa) => pending.rdatas(soa).next().and_then(soa_serial),
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
    // The nearest zone cut strictly above `name`, if any (only walked when cuts exist).
    let below_cut = |name: &[u8]| -> Option<&[u8]> {
        if cuts.is_empty() || name.len() <= origin.len() {
            return None;
        }
        let mut at: &[u8] = &name[1 + name[0] as usize..];
        while at.len() > origin.len() {
            if let Some(node) = find(at) {
                if rrset_of(node, rtype::NS).is_some() {
                    return Some(pending.name(node));
                }
            }
            at = &at[1 + at[0] as usize..];
        }
        None
    };

    let has_dname = nodes.iter().any(|n| rrset_of(n, rtype::DNAME).is_some());
    // The DNAME at or above `name`'s parent, if any (only walked when the zone has one).
    let below_dname = |name: &[u8]| -> Option<&[u8]> {
        if !has_dname || name.len() <= origin.len() {
            return None;
        }
        let mut at: &[u8] = &name[1 + name[0] as usize..];
        while at.len() >= origin.len() {
            if let Some(node) = find(at) {
                if rrset_of(node, rtype::DNAME).is_some() {
                    return Some(pending.name(node));
                }
            }
            if at.len() == origin.len() {
                break;
            }
            at = &at[1 + at[0] as usize..];
        }
        None
    };

    for node in &nodes[1..] {
        let name = || name_to_text(pending.name(node));
        //= https://www.rfc-editor.org/rfc/rfc6672#section-2.3
        //# Resource records MUST NOT exist at any subdomain of the owner of a DNAME RR.
        if let Some(dname) = below_dname(pending.name(node)) {
            if let Some(rrset) = pending.rrsets(node).first() {
                report(
                    Some(rrset),
                    Severity::Error,
                    format!(
                        "{} is below the DNAME at {}: it could never be reached (RFC 6672 §2.3)",
                        name(),
                        name_to_text(dname)
                    ),
                );
            }
        }
        if let Some(soa) = rrset_of(node, rtype::SOA) {
            report(
                Some(soa),
                Severity::Error,
                format!("SOA record at {}, not at the apex", name()),
            );
        }
        if let Some(cname) = rrset_of(node, rtype::CNAME) {
            //= https://www.rfc-editor.org/rfc/rfc2181#section-10.1
            //# there may be only one such canonical name
            if cname.len() > 1 {
                report(
                    Some(cname),
                    Severity::Error,
                    format!("more than one CNAME at {}", name()),
                );
            }
            let others = pending
                .rrsets(node)
                .iter()
                .any(|r| r.rtype != rtype::CNAME && !CNAME_COMPANIONS.contains(&r.rtype));
            if others {
                report(
                    Some(cname),
                    Severity::Error,
                    format!("CNAME and other data at {}", name()),
                );
            }
        }
        if let Some(cut) = below_cut(pending.name(node)) {
            let hidden = pending
                .rrsets(node)
                .iter()
                .find(|r| r.rtype != rtype::A && r.rtype != rtype::AAAA);
            if let Some(rrset) = hidden {
                report(
                    Some(rrset),
                    Severity::Warning,
                    format!(
                        "{} is below the delegation {} and is not served (occluded)",
                        name(),
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
        for target in pending.rdatas(ns) {
            let target = target.to_ascii_lowercase();
            if !is_at_or_below(&target, origin) {
                continue;
            }
            let needs_glue =
                is_at_or_below(&target, pending.name(cut)) || below_cut(&target).is_some();
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
                        name_to_text(pending.name(cut))
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
