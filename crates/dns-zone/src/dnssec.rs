//! What serving a pre-signed zone needs, built once at load: which signatures cover which
//! RRset (see `ZoneArena::push_node`), how nonexistence is proved (the `denial` types: NSEC,
//! RFC 4034 §4, or NSEC3, RFC 5155), and indexes that make the proofs binary searches on the
//! query path: NSEC owners in canonical order (RFC 4034 §6.1), NSEC3 owners in hash order.
//!
//! Load-time checks live here too: an NSEC3 chain whose next-hashed-owner fields do not link,
//! or that leaves an authoritative name without a matching NSEC3 (outside opt-out spans), is an
//! error; signatures that expire within a window are a warning.

use std::cmp::Ordering;

use dns_wire::name_to_text;
use dns_wire::types::rtype;

use crate::denial::{Denial, NSEC3_HASH_LEN, NSEC3_LABEL_LEN, Nsec3Param, base32hex};
use crate::error::{Problem, Severity};
use crate::zone::{HAS_NSEC3, Node, Zone};

/// RFC 5155 §11: hash algorithm 1 is SHA-1.
const SHA1_ALGORITHM: u8 = 1;
/// RFC 5155 §3.1.2.1: the Opt-Out flag of an NSEC3 record.
const OPT_OUT: u8 = 1;
/// NSEC3PARAM (RFC 5155 §4).
pub(crate) const NSEC3PARAM: u16 = 51;
/// How many names without an NSEC3 are listed before the rest are only counted.
const MAX_LISTED: usize = 10;

/// Where a hashed name falls in an NSEC3 chain.
#[derive(Clone, Copy, Debug)]
pub enum Nsec3Lookup<'z> {
    /// An NSEC3 owner is the hash of the name.
    Matches(Node<'z>),
    /// The NSEC3 whose owner precedes the hash (wrapping around): it covers the name.
    Covers(Node<'z>),
    /// The zone has no NSEC3 chain.
    Absent,
}

impl Zone {
    /// The NSEC whose owner is the greatest at or before `name` in canonical order (RFC 4034
    /// §6.1): the NSEC matching or covering the name. `None` when the zone has no NSEC chain.
    pub fn nsec_covering(&self, name: &[u8]) -> Option<Node<'_>> {
        let Denial::Nsec { order } = self.denial() else {
            return None;
        };
        let at_or_before = order.partition_point(|&i| {
            canonical_cmp(self.node(i as usize).name, name) != Ordering::Greater
        });
        let index = match at_or_before {
            0 => *order.last()?,
            n => order[n - 1],
        };
        Some(self.node(index as usize))
    }

    /// The NSEC3 matching or covering the hash of `name` (lowercased wire form).
    pub fn nsec3_lookup(&self, name: &[u8]) -> Nsec3Lookup<'_> {
        let Denial::Nsec3 { param, order } = self.denial() else {
            return Nsec3Lookup::Absent;
        };
        let label = param.hashed_label(name);
        let before =
            order.partition_point(|&i| first_label(self.node(i as usize).name) < &label[..]);
        if let Some(&i) = order.get(before) {
            let node = self.node(i as usize);
            if first_label(node.name) == label {
                return Nsec3Lookup::Matches(node);
            }
        }
        let index = match before {
            0 => order.last(),
            n => order.get(n - 1),
        };
        match index {
            Some(&i) => Nsec3Lookup::Covers(self.node(i as usize)),
            None => Nsec3Lookup::Absent,
        }
    }
}

/// The first label of a wire name, without its length octet.
fn first_label(name: &[u8]) -> &[u8] {
    let len = name.first().copied().unwrap_or(0) as usize;
    name.get(1..1 + len).unwrap_or_default()
}

//= https://www.rfc-editor.org/rfc/rfc4034#section-6.1
//# ... sorting names according to their most significant (rightmost) labels first, and
//# then by the label contents, as left-justified unsigned octet strings, where the
//# absence of an octet sorts before a zero value octet
/// Canonical DNS name order of two lowercased wire names.
pub fn canonical_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let mut a_labels = [0u8; 128];
    let mut b_labels = [0u8; 128];
    let a_count = label_starts(a, &mut a_labels);
    let b_count = label_starts(b, &mut b_labels);
    for k in 1..=a_count.min(b_count) {
        let a_label = first_label(&a[a_labels[a_count - k] as usize..]);
        let b_label = first_label(&b[b_labels[b_count - k] as usize..]);
        match a_label.cmp(b_label) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    a_count.cmp(&b_count)
}

/// Offsets of the non-root labels of `name` (at most 127); returns how many.
fn label_starts(name: &[u8], starts: &mut [u8; 128]) -> usize {
    let mut count = 0;
    let mut at = 0usize;
    while let Some(&len) = name.get(at) {
        if len == 0 || count == starts.len() {
            break;
        }
        starts[count] = at as u8;
        count += 1;
        at += 1 + len as usize;
    }
    count
}

/// Appends a key whose octet order is the canonical order of `name`: labels right to left,
/// each followed by 0, with octets 0 and 1 escaped as (1, 1) and (1, 2).
fn push_canonical_key(name: &[u8], key: &mut Vec<u8>) {
    let mut starts = [0u8; 128];
    let count = label_starts(name, &mut starts);
    for &start in starts[..count].iter().rev() {
        for &octet in first_label(&name[start as usize..]) {
            match octet {
                0 | 1 => key.extend_from_slice(&[1, octet + 1]),
                _ => key.push(octet),
            }
        }
        key.push(0);
    }
}

/// Builds the denial index of a freshly built zone, marks nodes with a matching NSEC3, and
/// checks the NSEC3 chain. Errors and warnings go to `problems`.
pub(crate) fn index_denial(zone: &mut Zone, file: &str, problems: &mut Vec<Problem>) {
    let apex = zone.apex();
    let signed = apex
        .rrset(rtype::SOA)
        .is_some_and(|soa| soa.signatures().next().is_some());
    let mut report = |severity, message: String| {
        problems.push(Problem {
            severity,
            file: file.to_string(),
            line: 0,
            message,
        });
    };
    if let Some(nsec3param) = apex.rrset(NSEC3PARAM) {
        let Some(param) = Nsec3Param::from_rdata(nsec3param.first()) else {
            report(Severity::Error, "malformed NSEC3PARAM at the apex".into());
            return;
        };
        if param.algorithm != SHA1_ALGORITHM {
            report(
                Severity::Warning,
                format!(
                    "NSEC3 hash algorithm {} is not supported; negative answers carry no proofs",
                    param.algorithm
                ),
            );
            zone.set_denial(Denial::None, signed);
            return;
        }
        let chain = index_nsec3(zone, &param, &mut report);
        check_nsec3_coverage(zone, &param, &chain, &mut report);
        let order = chain.iter().map(|&(_, index)| index).collect();
        zone.set_denial(Denial::Nsec3 { param, order }, signed);
    } else if apex.rrset(rtype::NSEC).is_some() {
        let order = index_nsec(zone, &mut report);
        zone.set_denial(Denial::Nsec { order }, signed);
    } else {
        zone.set_denial(Denial::None, signed);
    }
}

/// NSEC owners sorted in canonical order. Reports links that do not lead to the next owner
/// (the last leads back to the apex) and authoritative names without an NSEC (RFC 4035
/// §2.3: every owner in the zone but glue and occluded names has one; empty non-terminals
/// have none).
fn index_nsec(zone: &Zone, report: &mut impl FnMut(Severity, String)) -> Box<[u32]> {
    let mut keys = Vec::new();
    let mut spans = Vec::new();
    for index in 0..zone.regular_node_count() {
        let node = zone.node(index);
        if node.rrset(rtype::NSEC).is_some() {
            let start = keys.len();
            push_canonical_key(node.name, &mut keys);
            spans.push((start as u32, keys.len() as u32, index as u32));
        }
    }
    spans.sort_unstable_by(|a, b| {
        keys[a.0 as usize..a.1 as usize].cmp(&keys[b.0 as usize..b.1 as usize])
    });
    let order: Box<[u32]> = spans.into_iter().map(|(_, _, index)| index).collect();
    let mut broken = 0;
    for (k, &index) in order.iter().enumerate() {
        let node = zone.node(index as usize);
        let next = zone.node(order[(k + 1) % order.len()] as usize);
        let rdata = node
            .rrset(rtype::NSEC)
            .map(|r| r.first())
            .unwrap_or_default();
        let next_field = dns_wire::Name::parse_uncompressed(rdata, 0)
            .ok()
            .and_then(|(_, len)| rdata.get(..len));
        if next_field.is_some_and(|field| field.eq_ignore_ascii_case(next.name)) {
            continue;
        }
        broken += 1;
        if broken <= MAX_LISTED {
            //= https://www.rfc-editor.org/rfc/rfc4034#section-4.1.1
            //# The Next Domain field contains the next owner name (in the canonical ordering
            //# of the zone) that has authoritative data or contains a delegation point NS
            //# RRset
            report(
                Severity::Error,
                format!(
                    "NSEC chain broken: the next name of {} is not {}",
                    name_to_text(node.name),
                    name_to_text(next.name)
                ),
            );
        }
    }
    let missing: Vec<usize> = (0..zone.regular_node_count())
        .filter(|&index| {
            let node = zone.node(index);
            node.rrset(rtype::NSEC).is_none()
                && !node.is_empty_non_terminal()
                && !is_below_cut(zone, node.name)
        })
        .collect();
    report_missing(zone, &missing, "NSEC", report);
    order
}

/// NSEC3 owners with the zone's parameters as (hashed label, node index), sorted by label;
/// reports owners that are not hashes and a chain whose next-hashed-owner fields do not
/// link (RFC 5155 §7.1). The labels are copied out so that sorting and the coverage check
/// walk contiguous memory rather than the nodes.
fn index_nsec3(
    zone: &Zone,
    param: &Nsec3Param,
    report: &mut impl FnMut(Severity, String),
) -> Vec<([u8; NSEC3_LABEL_LEN], u32)> {
    let mut chain = Vec::new();
    for index in zone.regular_node_count()..zone.node_count() {
        let node = zone.node(index);
        let Some(nsec3) = node.rrset(rtype::NSEC3) else {
            continue;
        };
        if !param.matches(nsec3.first()) {
            continue;
        }
        let label = <[u8; NSEC3_LABEL_LEN]>::try_from(first_label(node.name))
            .ok()
            .filter(|label| label.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'v')));
        let Some(label) = label else {
            report(
                Severity::Error,
                format!(
                    "NSEC3 owner {} is not a base32hex SHA-1 hash",
                    name_to_text(node.name)
                ),
            );
            continue;
        };
        chain.push((label, index as u32));
    }
    chain.sort_unstable();
    for (k, &(_, index)) in chain.iter().enumerate() {
        let node = zone.node(index as usize);
        let (next_label, next_index) = chain[(k + 1) % chain.len()];
        let rdata = node
            .rrset(rtype::NSEC3)
            .map(|r| r.first())
            .unwrap_or_default();
        let linked = next_hashed_owner(rdata)
            .and_then(|hash| <&[u8; NSEC3_HASH_LEN]>::try_from(hash).ok())
            .is_some_and(|hash| base32hex(hash) == next_label);
        if !linked {
            //= https://www.rfc-editor.org/rfc/rfc5155#section-7.1
            //# The value of the Next Hashed Owner Name field ... is the next hashed owner
            //# name in hash order
            report(
                Severity::Error,
                format!(
                    "NSEC3 chain broken: the next hashed owner of {} is not {}",
                    name_to_text(node.name),
                    name_to_text(zone.node(next_index as usize).name)
                ),
            );
        }
    }
    chain
}

/// The Next Hashed Owner Name field of NSEC3 RDATA (RFC 5155 §3.2).
fn next_hashed_owner(rdata: &[u8]) -> Option<&[u8]> {
    let salt_len = *rdata.get(4)? as usize;
    let hash_len = *rdata.get(5 + salt_len)? as usize;
    rdata.get(6 + salt_len..6 + salt_len + hash_len)
}

/// The flags of NSEC3 RDATA.
pub(crate) fn nsec3_flags(rdata: &[u8]) -> u8 {
    rdata.get(1).copied().unwrap_or(0)
}

/// Marks every node whose hash has an NSEC3, and reports authoritative names without one
/// unless an opt-out NSEC3 covers them (RFC 5155 §7.1: insecure delegations and the empty
/// non-terminals above them may be left out).
fn check_nsec3_coverage(
    zone: &mut Zone,
    param: &Nsec3Param,
    chain: &[([u8; NSEC3_LABEL_LEN], u32)],
    report: &mut impl FnMut(Severity, String),
) {
    // Every name's hash, sorted, walked beside the sorted chain: one pass, no searches.
    let mut hashed: Vec<([u8; NSEC3_LABEL_LEN], u32)> = (0..zone.regular_node_count())
        .map(|index| (param.hashed_label(zone.node(index).name), index as u32))
        .collect();
    hashed.sort_unstable();
    let mut missing = Vec::new();
    let mut matched = Vec::new();
    let mut at = 0;
    for &(label, index) in &hashed {
        let index = index as usize;
        while at < chain.len() && chain[at].0 < label {
            at += 1;
        }
        if chain.get(at).is_some_and(|(owner, _)| *owner == label) {
            matched.push(index);
            continue;
        }
        // The NSEC3 before the hash covers it; before the first one, the last (wrapping).
        let Some(&(_, cover)) = at
            .checked_sub(1)
            .map_or_else(|| chain.last(), |k| chain.get(k))
        else {
            missing.push(index);
            continue;
        };
        let node = zone.node(index);
        if is_below_cut(zone, node.name) {
            continue;
        }
        let opt_out = zone
            .node(cover as usize)
            .rrset(rtype::NSEC3)
            .is_some_and(|r| nsec3_flags(r.first()) & OPT_OUT != 0);
        let insecure = node.is_empty_non_terminal()
            || (node.is_delegation() && node.rrset(rtype::DS).is_none());
        if !(opt_out && insecure) {
            missing.push(index);
        }
    }
    missing.sort_unstable();
    for index in matched {
        zone.set_node_flag(index, HAS_NSEC3);
    }
    report_missing(zone, &missing, "NSEC3", report);
}

/// Reports the authoritative names (node indices) a chain leaves out, the first few by name.
fn report_missing(
    zone: &Zone,
    missing: &[usize],
    kind: &str,
    report: &mut impl FnMut(Severity, String),
) {
    if missing.is_empty() {
        return;
    }
    let listed: Vec<String> = missing
        .iter()
        .take(MAX_LISTED)
        .map(|&i| name_to_text(zone.node(i).name))
        .collect();
    let more = missing.len().saturating_sub(MAX_LISTED);
    report(
        Severity::Error,
        format!(
            "{kind} chain does not cover the zone: no {kind} for {}{}",
            listed.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ),
    );
}

/// Whether a proper ancestor of `name` below the apex is a delegation (the name is glue or
/// occluded) or a DNAME (RFC 6672 §2.4: names below it are occluded): such names are
/// outside the NSEC and NSEC3 chains.
fn is_below_cut(zone: &Zone, name: &[u8]) -> bool {
    let origin_len = zone.origin().len();
    let mut at = name;
    while at.len() > origin_len {
        at = &at[1 + at[0] as usize..];
        if at.len() > origin_len
            && zone
                .find(at)
                .is_some_and(|n| n.is_delegation() || n.rrset(rtype::DNAME).is_some())
        {
            return true;
        }
    }
    false
}

/// The earliest expiration among the zone's RRSIGs, compared in serial arithmetic (RFC
/// 1982, as validators compare them), or `None` when it has none.
pub(crate) fn earliest_expiration(zone: &Zone) -> Option<u32> {
    let mut earliest: Option<u32> = None;
    for node in zone.nodes() {
        let Some(rrsigs) = node.rrset(rtype::RRSIG) else {
            continue;
        };
        for rdata in rrsigs.rdatas() {
            let Some(&[a, b, c, d]) = rdata.get(8..12) else {
                continue;
            };
            let expiration = u32::from_be_bytes([a, b, c, d]);
            if earliest.is_none_or(|e| (expiration.wrapping_sub(e) as i32) < 0) {
                earliest = Some(expiration);
            }
        }
    }
    earliest
}

//= https://www.rfc-editor.org/rfc/rfc4034#section-3.1.5
//# The Signature Expiration and Inception field values specify a date and time in the
//# form of a 32-bit unsigned number of seconds elapsed since 1 January 1970 00:00:00 UTC
/// Warns about RRSIGs that have expired or expire within `window` seconds of `now` (seconds
/// since the epoch), with serial-number arithmetic (RFC 1982) as validators use.
pub(crate) fn check_signature_expiry(
    zone: &Zone,
    now: u64,
    window: u32,
    file: &str,
    problems: &mut Vec<Problem>,
) {
    let now = now as u32;
    let mut expired = 0usize;
    let mut expiring = 0usize;
    let mut first: Option<(i64, String)> = None;
    for node in zone.nodes() {
        let Some(rrsigs) = node.rrset(rtype::RRSIG) else {
            continue;
        };
        for rdata in rrsigs.rdatas() {
            let Some(expiration) = rdata.get(8..12) else {
                continue;
            };
            let expiration =
                u32::from_be_bytes([expiration[0], expiration[1], expiration[2], expiration[3]]);
            let left = expiration.wrapping_sub(now) as i32 as i64;
            if left < 0 {
                expired += 1;
            } else if left < window as i64 {
                expiring += 1;
            } else {
                continue;
            }
            if first.as_ref().is_none_or(|(soonest, _)| left < *soonest) {
                first = Some((left, name_to_text(node.name)));
            }
        }
    }
    let Some((left, name)) = first else {
        return;
    };
    let message = if expired > 0 {
        format!(
            "{expired} signatures have expired and {expiring} more expire within {} days (first: {name}, {}s ago)",
            window / 86_400,
            -left
        )
    } else {
        format!(
            "{expiring} signatures expire within {} days (first: {name}, in {left}s)",
            window / 86_400
        )
    };
    problems.push(Problem {
        severity: Severity::Warning,
        file: file.to_string(),
        line: 0,
        message,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(text: &str) -> Vec<u8> {
        dns_wire::name_from_text(text).unwrap()
    }

    //= https://www.rfc-editor.org/rfc/rfc4034#section-6.1
    //# example  a.example  yljkjljk.a.example  Z.a.example  zABC.a.EXAMPLE  z.example
    //# \001.z.example  *.z.example  \200.z.example
    #[test]
    fn test_6_1_canonical_order_matches_rfc_example_and_keys_agree() {
        let names = [
            "example.",
            "a.example.",
            "yljkjljk.a.example.",
            "z.a.example.",
            "zabc.a.example.",
            "z.example.",
            "\\001.z.example.",
            "*.z.example.",
            "\\200.z.example.",
        ];
        let wires: Vec<Vec<u8>> = names.iter().map(|n| wire(n)).collect();
        for (i, a) in wires.iter().enumerate() {
            for (j, b) in wires.iter().enumerate() {
                assert_eq!(
                    canonical_cmp(a, b),
                    i.cmp(&j),
                    "{} vs {}",
                    names[i],
                    names[j]
                );
                let (mut ka, mut kb) = (Vec::new(), Vec::new());
                push_canonical_key(a, &mut ka);
                push_canonical_key(b, &mut kb);
                assert_eq!(ka.cmp(&kb), i.cmp(&j), "keys {} vs {}", names[i], names[j]);
            }
        }
    }

    //= https://www.rfc-editor.org/rfc/rfc5155#appendix-A
    //# H(example)       = 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom
    //# H(a.example)     = 35mthgpgcu1qg68fab165klnsnk3dpvl
    #[test]
    fn test_appendix_a_hashes() {
        let param = Nsec3Param {
            algorithm: 1,
            iterations: 12,
            salt: vec![0xaa, 0xbb, 0xcc, 0xdd].into(),
        };
        assert_eq!(
            &param.hashed_label(&wire("example.")),
            b"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"
        );
        assert_eq!(
            &param.hashed_label(&wire("a.example.")),
            b"35mthgpgcu1qg68fab165klnsnk3dpvl"
        );
        assert_eq!(
            &param.hashed_label(&wire("*.w.example.")),
            b"r53bq7cc2uvmubfu5ocmm6pers9tk9en"
        );
    }

    const NSEC: &str = include_str!("../testdata/sec-nsec.zone");
    const NSEC3: &str = include_str!("../testdata/sec-nsec3.zone");
    const OPT_OUT: &str = include_str!("../testdata/sec-optout.zone");

    fn load(text: &str, origin: &str) -> Result<(Zone, Vec<Problem>), crate::ZoneError> {
        crate::load_zone_str(text, &wire(origin))
    }

    #[test]
    fn signed_zones_load_with_their_denial_index() {
        let (zone, problems) = load(NSEC, "sec-nsec.").unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert!(zone.is_signed());
        assert!(matches!(zone.denial(), Denial::Nsec { .. }));
        let www = zone.find(&wire("www.sec-nsec.")).unwrap();
        let a = www.rrset(rtype::A).unwrap();
        assert_eq!(a.signatures().count(), 1);
        assert_eq!(&a.signatures().next().unwrap()[..2], &[0, 1]);
        // nx.sec-nsec. sorts after ns1.sec-nsec. and before secure.sec-nsec.
        let cover = zone.nsec_covering(&wire("nx.sec-nsec.")).unwrap();
        assert_eq!(cover.name, &wire("ns1.sec-nsec.")[..]);
        assert_eq!(
            zone.nsec_covering(&wire("www.sec-nsec.")).unwrap().name,
            &wire("www.sec-nsec.")[..]
        );
        // after the last name: the last NSEC covers it
        assert_eq!(
            zone.nsec_covering(&wire("zzz.sec-nsec.")).unwrap().name,
            &wire("www.sec-nsec.")[..]
        );

        for (text, origin) in [(NSEC3, "sec-nsec3."), (OPT_OUT, "sec-optout.")] {
            let (zone, problems) = load(text, origin).unwrap();
            assert!(problems.is_empty(), "{problems:?}");
            assert!(matches!(zone.denial(), Denial::Nsec3 { .. }));
            // NSEC3 owners are not names of the zone
            assert!(zone.nodes().any(|n| n.rrset(rtype::NSEC3).is_some()));
            assert!(zone.find(&wire(origin)).unwrap().has_nsec3());
            let www = wire(&format!("www.{origin}"));
            assert!(zone.find(&www).unwrap().has_nsec3());
            assert!(matches!(zone.nsec3_lookup(&www), Nsec3Lookup::Matches(_)));
            let nx = wire(&format!("nx.{origin}"));
            assert!(matches!(zone.nsec3_lookup(&nx), Nsec3Lookup::Covers(_)));
        }
        let (zone, _) = load(OPT_OUT, "sec-optout.").unwrap();
        let unsigned = zone.find(&wire("optout-deleg.sec-optout.")).unwrap();
        assert!(unsigned.is_delegation() && !unsigned.has_nsec3());
    }

    #[test]
    fn broken_or_incomplete_nsec_chain_is_rejected() {
        // The NSEC of alias-nx removed: alias's NSEC now leads to a name without one.
        let text: String = NSEC
            .lines()
            .filter(|l| !(l.starts_with("alias-nx.") && l.contains("NSEC")))
            .map(|l| format!("{l}\n"))
            .collect();
        let err = load(&text, "sec-nsec.").unwrap_err();
        let messages: Vec<&str> = err.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("NSEC chain broken: the next name of alias.sec-nsec.")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("no NSEC for alias-nx.sec-nsec.")),
            "{messages:?}"
        );
        // A name added after signing; glue under a delegation needs no NSEC.
        let text = format!("{NSEC}added.sec-nsec. 3600 IN A 192.0.2.99\n");
        let err = load(&text, "sec-nsec.").unwrap_err();
        assert!(
            err.problems[0]
                .message
                .contains("no NSEC for added.sec-nsec."),
            "{:?}",
            err.problems
        );
        let text = format!("{NSEC}ns.insecure.sec-nsec. 3600 IN A 192.0.2.99\n");
        assert!(load(&text, "sec-nsec.").is_ok());
        // A name below a DNAME needs no NSEC: it is refused for itself (RFC 6672 §2.3).
        let text = format!("{NSEC}x.dname.sec-nsec. 3600 IN A 192.0.2.99\n");
        let err = load(&text, "sec-nsec.").unwrap_err();
        assert!(
            err.problems
                .iter()
                .all(|p| p.message.contains("below the DNAME")),
            "{:?}",
            err.problems
        );
    }

    #[test]
    fn test_7_1_broken_or_incomplete_nsec3_chain_is_rejected() {
        // One NSEC3 removed: its predecessor no longer links, and its name has no NSEC3.
        let victim = NSEC3
            .lines()
            .find(|l| l.contains("\tNSEC3\t"))
            .unwrap()
            .split('\t')
            .next()
            .unwrap()
            .to_owned();
        let text: String = NSEC3
            .lines()
            .filter(|l| !l.starts_with(&victim))
            .map(|l| format!("{l}\n"))
            .collect();
        let err = load(&text, "sec-nsec3.").unwrap_err();
        let messages: Vec<&str> = err.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            messages.iter().any(|m| m.starts_with("NSEC3 chain broken")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("does not cover")),
            "{messages:?}"
        );
        // A secure name added after signing is not covered by an opt-out span.
        let text = format!("{NSEC3}added.sec-nsec3. 3600 IN A 192.0.2.99\n");
        let err = load(&text, "sec-nsec3.").unwrap_err();
        assert!(
            err.problems[0].message.contains("added.sec-nsec3."),
            "{:?}",
            err.problems
        );
    }

    #[test]
    fn the_earliest_signature_expiration_is_kept() {
        let (zone, _) = load(NSEC, "sec-nsec.").unwrap();
        // Every signature of the test zone expires at 2026-12-23 09:25:41 UTC.
        let expires = 1_798_017_941;
        assert_eq!(zone.signatures_expire_in(expires - 100), Some(100));
        assert_eq!(zone.signatures_expire_in(expires + 5), Some(-5));
        let unsigned = "$ORIGIN u.\n@ 60 SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n";
        let (zone, _) = load(unsigned, "u.").unwrap();
        assert_eq!(zone.signatures_expire_in(expires), None);
    }

    #[test]
    fn expiring_signatures_warn_with_the_window() {
        let mut builder = crate::ZoneBuilder::new(&wire("sec-nsec."), "<text>");
        // 2026-12-20: the signatures expire on 2026-12-23, within a week.
        builder.check_signatures_at(1_797_724_800, 7 * 86_400);
        crate::load::scan_text_into(&mut builder, NSEC);
        let (_, problems) = builder.finish().unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].message.contains("expire within 7 days"),
            "{problems:?}"
        );
        // 2027: all have expired.
        let mut builder = crate::ZoneBuilder::new(&wire("sec-nsec."), "<text>");
        builder.check_signatures_at(1_800_000_000, 7 * 86_400);
        crate::load::scan_text_into(&mut builder, NSEC);
        let (_, problems) = builder.finish().unwrap();
        assert!(problems[0].message.contains("have expired"), "{problems:?}");
    }
}
