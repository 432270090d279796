//! Answer sizes, measured with the server's own answer code (`dns_auth::respond`, over
//! TCP so nothing is truncated): for every owner and type, and for a referral per
//! delegation, an NXDOMAIN and a NODATA with their proofs, a wildcard answer per wildcard,
//! and ANY at the apex; each without EDNS, with EDNS, with DO, and with DO and NSID.

use dns_auth::{AnswerConfig, Outcome, Transport, respond};
use dns_wire::types::{class, option, rtype};
use dns_wire::{Header, MessageWriter};
use dns_zone::{Zone, ZoneSet};
use serde::Serialize;

use super::finding::{Finding, Severity, octets};

/// The Flag Day 2020 EDNS buffer: a larger answer is truncated for most resolvers.
const FLAG_DAY: usize = 1232;
/// RFC 9715's advice: above this, fragmentation (or TCP) on common paths.
const PATH_MTU: usize = 1400;
/// Without EDNS a client takes at most this over UDP.
const NO_EDNS: usize = 512;
/// A label no zone is expected to hold, for the NXDOMAIN, wildcard and referral probes.
const PROBE_LABEL: &[u8] = b"anyns-audit-probe";
/// A private-use type no zone is expected to hold, for the NODATA probe.
const ABSENT_TYPE: u16 = 65_280;

/// One query and the size of its answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Measured {
    /// What the query is: answer, referral, nxdomain, nodata, wildcard, any.
    pub(crate) kind: &'static str,
    pub(crate) qname: String,
    pub(crate) qtype: String,
    /// "no EDNS", "EDNS", "EDNS+DO", "EDNS+DO+NSID".
    pub(crate) variant: &'static str,
    pub(crate) size: usize,
}

/// The mnemonic of a type, `TYPEn` for the others.
pub(crate) fn type_name(rtype: u16) -> String {
    let name = match rtype {
        rtype::A => "A",
        rtype::NS => "NS",
        rtype::CNAME => "CNAME",
        rtype::SOA => "SOA",
        rtype::PTR => "PTR",
        rtype::HINFO => "HINFO",
        rtype::MX => "MX",
        rtype::TXT => "TXT",
        rtype::AAAA => "AAAA",
        rtype::SRV => "SRV",
        rtype::DNAME => "DNAME",
        rtype::DS => "DS",
        rtype::RRSIG => "RRSIG",
        rtype::NSEC => "NSEC",
        rtype::DNSKEY => "DNSKEY",
        rtype::NSEC3 => "NSEC3",
        rtype::ANY => "ANY",
        29 => "LOC",
        35 => "NAPTR",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        59 => "CDS",
        60 => "CDNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        257 => "CAA",
        _ => return format!("TYPE{rtype}"),
    };
    name.to_string()
}

/// A query for `qname`/`qtype`: no OPT, or OPT with a 4096-octet buffer, DO and NSID as
/// asked.
fn query(qname: &[u8], qtype: u16, edns: Option<(bool, bool)>) -> Vec<u8> {
    let mut question = qname.to_vec();
    question.extend_from_slice(&qtype.to_be_bytes());
    question.extend_from_slice(&class::IN.to_be_bytes());
    let mut out = Vec::new();
    let mut writer = MessageWriter::new(
        &mut out,
        Header {
            id: 0x5a5a,
            ..Header::default()
        },
        Some(&question),
    );
    if let Some((dnssec_ok, nsid)) = edns {
        let nsid_option = [(option::NSID, &[][..])];
        let options: &[(u16, &[u8])] = if nsid { &nsid_option } else { &[] };
        let _ = writer.push_opt(4096, 0, dnssec_ok, options);
    }
    writer.finish();
    out
}

/// `label.name` in wire form.
fn child(label: &[u8], name: &[u8]) -> Vec<u8> {
    let mut wire = vec![label.len() as u8];
    wire.extend_from_slice(label);
    wire.extend_from_slice(name);
    wire
}

/// Whether `name` is below a delegation of `zone` (glue, or data the cut hides).
fn occluded(zone: &Zone, name: &[u8]) -> bool {
    let origin_len = zone.origin().len();
    let mut at = name;
    while at.len() > origin_len {
        at = &at[1 + at[0] as usize..];
        if at.len() > origin_len && zone.find(at).is_some_and(|n| n.is_delegation()) {
            return true;
        }
    }
    false
}

/// One query to measure: (kind, qname, qtype).
type Probe = (&'static str, Vec<u8>, u16);

/// Every probe of `zone`. At most `limit` owner names are walked; the flag says whether
/// every one was.
fn probes(zone: &Zone, limit: usize) -> (Vec<Probe>, bool) {
    let origin = zone.origin();
    let mut probes = vec![
        ("nxdomain", child(PROBE_LABEL, origin), rtype::A),
        ("nodata", origin.to_vec(), ABSENT_TYPE),
        ("any", origin.to_vec(), rtype::ANY),
    ];
    let mut complete = true;
    for (walked, node) in zone.nodes().enumerate() {
        if walked == limit {
            complete = false;
            break;
        }
        let name = node.name;
        let delegation = name != origin && node.is_delegation();
        if delegation {
            probes.push(("referral", child(b"www", name), rtype::A));
            continue;
        }
        if occluded(zone, name) {
            continue;
        }
        for rrset in node.rrsets() {
            if matches!(rrset.rtype, rtype::RRSIG | rtype::NSEC | rtype::NSEC3) {
                continue;
            }
            if node.is_wildcard() {
                let parent = &name[1 + name[0] as usize..];
                probes.push(("wildcard", child(PROBE_LABEL, parent), rrset.rtype));
            } else {
                probes.push(("answer", name.to_vec(), rrset.rtype));
            }
        }
    }
    (probes, complete)
}

/// Measures every probe of `zone` (served with the others of `zones`) in every variant.
/// `identity`: the NSID the server would add. Returns the measurements and whether every
/// owner name was walked.
pub(crate) fn measure(
    zones: &ZoneSet,
    zone: &Zone,
    identity: Option<&[u8]>,
    limit: usize,
) -> (Vec<Measured>, bool) {
    let config = AnswerConfig {
        identity: identity.map(Into::into),
        ..AnswerConfig::default()
    };
    let (probes, complete) = probes(zone, limit);
    let mut variants: Vec<(&'static str, Option<(bool, bool)>)> = vec![
        ("no EDNS", None),
        ("EDNS", Some((false, false))),
        ("EDNS+DO", Some((true, false))),
    ];
    if identity.is_some() {
        variants.push(("EDNS+DO+NSID", Some((true, true))));
    }
    let mut out = Vec::new();
    let mut measured = Vec::new();
    for (kind, qname, qtype) in probes {
        for &(variant, edns) in &variants {
            let message = query(&qname, qtype, edns);
            if let Outcome::Answered { len, .. } =
                respond(&message, zones, &config, Transport::Tcp, &mut out)
            {
                measured.push(Measured {
                    kind,
                    qname: dns_wire::name_to_text(&qname),
                    qtype: type_name(qtype),
                    variant,
                    size: len,
                });
            }
        }
    }
    (measured, complete)
}

/// The findings of a zone's measurements: per query, its largest EDNS answer against 1400
/// (error) and 1232 (warning), and its answer without EDNS against 512 (info).
pub(crate) fn findings(measured: &[Measured]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut i = 0;
    while i < measured.len() {
        let same = |m: &Measured| {
            m.qname == measured[i].qname
                && m.qtype == measured[i].qtype
                && m.kind == measured[i].kind
        };
        let group: Vec<&Measured> = measured[i..].iter().take_while(|m| same(m)).collect();
        i += group.len();
        let largest = group
            .iter()
            .filter(|m| m.variant != "no EDNS")
            .max_by_key(|m| m.size);
        if let Some(m) = largest {
            let at = format!("{} {} ({}, {})", m.qname, m.qtype, m.kind, m.variant);
            if m.size > PATH_MTU {
                findings.push(Finding::new(
                    Severity::Error,
                    "size.over-1400",
                    at,
                    octets(m.size),
                    "over RFC 9715's 1400-octet advice: fragmented on common paths or truncated, \
                     then TCP, which breaks over anycast when routes move; shrink the answer \
                     (ECDSA or Ed25519 keys, fewer keys or NS names, minimal responses)",
                ));
            } else if m.size > FLAG_DAY {
                findings.push(Finding::new(
                    Severity::Warning,
                    "size.over-1232",
                    at,
                    octets(m.size),
                    "over the DNS Flag Day 2020 buffer: resolvers that use 1232 get TC and retry \
                     over TCP, which breaks over anycast when routes move; shrink it or make sure \
                     a unicast name server answers TCP",
                ));
            }
        }
        if let Some(m) = group
            .iter()
            .find(|m| m.variant == "no EDNS" && m.size > NO_EDNS)
        {
            findings.push(Finding::new(
                Severity::Info,
                "size.over-512-without-edns",
                format!("{} {} ({})", m.qname, m.qtype, m.kind),
                octets(m.size),
                "a client without EDNS gets this truncated and must use TCP",
            ));
        }
    }
    findings
}

/// The `n` largest answers (EDNS variants).
pub(crate) fn largest(measured: &[Measured], n: usize) -> Vec<Measured> {
    let mut sorted: Vec<Measured> = measured
        .iter()
        .filter(|m| m.variant != "no EDNS")
        .cloned()
        .collect();
    sorted.sort_by_key(|m| std::cmp::Reverse(m.size));
    let mut out: Vec<Measured> = Vec::new();
    for m in sorted {
        if out.len() == n {
            break;
        }
        // The largest variant of each query only.
        if !out
            .iter()
            .any(|o| o.qname == m.qname && o.qtype == m.qtype && o.kind == m.kind)
        {
            out.push(m);
        }
    }
    out
}
