//! Filling the answer, authority and additional sections for a query in one zone
//! (RFC 1034 §4.3.2), following CNAME and DNAME chains inside the zone.

use dns_wire::types::{class, rcode, rtype};
use dns_wire::{MessageWriter, Name, Owner, RdataNames, Section, WriteError};
use dns_zone::{Node, Rrset, Zone, rdata_names_for};

use crate::lookup::{Landing, locate};
use crate::proof::{Proofs, is_wildcard_name};

/// RFC 1034 §3.6.2 forbids CNAME loops; bound the chain like Knot and NSD do.
const MAX_CHAIN: usize = 16;
/// Targets whose addresses may go into the additional section.
const MAX_ADDITIONAL_TARGETS: usize = 16;

/// What resolving produced, besides the records written.
pub(crate) struct Resolution {
    /// The response code.
    pub(crate) rcode: u16,
    /// Whether AA is set (cleared for referrals).
    pub(crate) authoritative: bool,
    /// The sections did not fit `limit`: answer with TC instead.
    pub(crate) truncated: bool,
}

/// Names whose A/AAAA may be added to the additional section.
struct Additional<'z> {
    targets: [&'z [u8]; MAX_ADDITIONAL_TARGETS],
    count: usize,
    /// The glue of a referral must fit (RFC 9471 §3); other additional data is optional.
    required: bool,
}

impl<'z> Additional<'z> {
    fn new() -> Self {
        Self {
            targets: [&[]; MAX_ADDITIONAL_TARGETS],
            count: 0,
            required: false,
        }
    }

    fn push(&mut self, target: &'z [u8]) {
        let known = self.targets[..self.count]
            .iter()
            .any(|t| t.eq_ignore_ascii_case(target));
        if !known && self.count < MAX_ADDITIONAL_TARGETS {
            self.targets[self.count] = target;
            self.count += 1;
        }
    }

    /// Collects the targets of NS, MX and SRV records (RFC 1035 §3.3.9, RFC 2782) into
    /// `additional`, made on first use: most answers have no targets and skip initialising
    /// the table.
    fn collect(additional: &mut Option<Self>, rrset: Rrset<'z>) {
        let skip = match rrset.rtype {
            rtype::NS => 0,
            rtype::MX => 2,
            rtype::SRV => 6,
            _ => return,
        };
        let additional = additional.get_or_insert_with(Self::new);
        for rdata in rrset.rdatas() {
            if let Some(target) = rdata.get(skip..) {
                additional.push(target);
            }
        }
    }
}

/// Writes the answer to (`qname`, `qtype`) from `zone` into `writer`, keeping the message
/// within `limit` octets (the caller reserves room for OPT). With `dnssec` (DO set and the
/// zone signed, RFC 4035 §3.1) RRSIGs go with every RRset that has them, and NSEC/NSEC3
/// records prove negative and wildcard answers.
pub(crate) fn resolve(
    zone: &Zone,
    qname: &Name,
    qtype: u16,
    writer: &mut MessageWriter<'_>,
    limit: usize,
    dnssec: bool,
) -> Resolution {
    let mut result = Resolution {
        rcode: rcode::NOERROR,
        authoritative: true,
        truncated: false,
    };
    let mut additional: Option<Additional<'_>> = None;
    // The name being answered: the query name, then each CNAME/DNAME target in turn.
    let mut chased: Name;
    let mut name: &Name = qname;
    let mut authority: Option<(&[u8], Rrset<'_>)> = None;
    // With DNSSEC: the DS of a secure referral, and the NSEC/NSEC3 proofs.
    let mut delegation_signer: Option<(&[u8], Rrset<'_>)> = None;
    // Made on first use: an unsigned answer never pays for initialising it.
    let mut proofs: Option<Proofs<'_>> = None;
    let mut overflow = false;
    // Nodes whose CNAME is already in the answer: reaching one again is a loop (RFC 1034
    // §3.6.2); stop there, as Knot does, without repeating records.
    let mut visited: [&[u8]; MAX_CHAIN] = [&[]; MAX_CHAIN];
    for step in 0..MAX_CHAIN {
        let landing = locate(zone, name, qtype);
        let node = match landing {
            Landing::Exact(node) => node,
            Landing::Wildcard(node, closest) => {
                //= https://www.rfc-editor.org/rfc/rfc4035#section-3.1.3.3
                //# the server MUST include ... an NSEC RR proving that the zone contains no
                //# closer match
                if dnssec && !is_wildcard_name(name.as_wire()) {
                    proofs
                        .get_or_insert_with(Proofs::new)
                        .prove_wildcard_answer(zone, name.as_wire(), closest);
                }
                node
            }
            Landing::Referral(cut) => {
                if let Some(ns) = cut.rrset(rtype::NS) {
                    // A referral after a CNAME keeps AA for the CNAME part (RFC 1034 §4.3.2).
                    result.authoritative = step > 0;
                    authority = Some((cut.name, ns));
                    Additional::collect(&mut additional, ns);
                    if let Some(additional) = &mut additional {
                        additional.required = true;
                    }
                }
                if dnssec {
                    //= https://www.rfc-editor.org/rfc/rfc4035#section-3.1.4
                    //# If a DS RRset is present at the delegation point, the name server MUST
                    //# return both the DS RRset and its associated RRSIG RR(s) ... If no DS
                    //# RRset is present ... return the NSEC RR that proves that the DS RRset
                    //# was not present
                    match cut.rrset(rtype::DS) {
                        Some(ds) => delegation_signer = Some((cut.name, ds)),
                        None => proofs.get_or_insert_with(Proofs::new).prove_nodata(
                            zone,
                            name.as_wire(),
                            cut,
                            cut,
                            false,
                        ),
                    }
                }
                break;
            }
            Landing::Dname(owner) => {
                let Some(dname) = owner.rrset(rtype::DNAME) else {
                    break;
                };
                overflow |= (push_rrset(writer, owner.name, dname, dnssec)).is_err();
                //= https://www.rfc-editor.org/rfc/rfc6672#section-2.2
                //# the DNAME substitution ... replaces the owner with the target
                let Ok(target) = Name::from_wire(dname.first()) else {
                    break;
                };
                let Ok(next) = name.replace_suffix(owner.name, target.as_wire()) else {
                    result.rcode = rcode::YXDOMAIN;
                    break;
                };
                overflow |= (writer.push_record(
                    name.as_wire(),
                    rtype::CNAME,
                    class::IN,
                    dname.ttl,
                    next.as_wire(),
                    rdata_names_for(rtype::CNAME),
                ))
                .is_err();
                if !next.is_at_or_below(zone.origin()) {
                    break;
                }
                chased = next;
                name = &chased;
                continue;
            }
            Landing::Missing(closest) => {
                //= https://www.rfc-editor.org/rfc/rfc6604#section-2.1
                //# the RCODE ... reflects the last name in the chain
                result.rcode = rcode::NXDOMAIN;
                authority = zone
                    .apex()
                    .rrset(rtype::SOA)
                    .map(|soa| (zone.origin(), soa));
                if dnssec {
                    proofs.get_or_insert_with(Proofs::new).prove_nxdomain(
                        zone,
                        name.as_wire(),
                        closest,
                    );
                }
                break;
            }
        };
        if visited[..step].contains(&node.name) {
            break;
        }
        //= https://www.rfc-editor.org/rfc/rfc1034#section-4.3.2
        //# If the data at the node is a CNAME, and QTYPE doesn't match CNAME, copy the CNAME
        // (ANY, and RRSIG and NSEC, which may share the name (RFC 4035 §2.5), match the
        // CNAME node's own records, so the chain is not followed.)
        if node.has_cname()
            && !matches!(
                qtype,
                rtype::CNAME | rtype::ANY | rtype::RRSIG | rtype::NSEC
            )
        {
            let Some(cname) = node.rrset(rtype::CNAME) else {
                break;
            };
            visited[step] = node.name;
            overflow |= (push_rrset_at(writer, name, qname, cname, dnssec)).is_err();
            let Ok(target) = Name::from_wire(cname.first()) else {
                break;
            };
            if !target.is_at_or_below(zone.origin()) || target.as_wire() == name.as_wire() {
                break;
            }
            chased = target;
            name = &chased;
            continue;
        }
        match answer_rrset(node, qtype) {
            Some(rrset) if qtype == rtype::RRSIG => {
                overflow |= (push_first_signature(writer, name, qname, node, rrset)).is_err();
            }
            Some(rrset) => {
                overflow |= (push_rrset_at(writer, name, qname, rrset, dnssec)).is_err();
                Additional::collect(&mut additional, rrset);
            }
            None => {
                authority = zone
                    .apex()
                    .rrset(rtype::SOA)
                    .map(|soa| (zone.origin(), soa));
                if dnssec {
                    // The closest encloser, and whether a wildcard was expanded (RFC 4592).
                    let (closest, expanded) = match landing {
                        Landing::Wildcard(_, closest) => {
                            (closest, !is_wildcard_name(name.as_wire()))
                        }
                        _ => (node, false),
                    };
                    proofs.get_or_insert_with(Proofs::new).prove_nodata(
                        zone,
                        name.as_wire(),
                        node,
                        closest,
                        expanded,
                    );
                }
            }
        }
        break;
    }
    if let Some((owner, rrset)) = authority {
        writer.set_section(Section::Authority);
        overflow |= (if rrset.rtype == rtype::SOA {
            push_negative_soa(writer, zone, qname, rrset, dnssec)
        } else {
            push_rrset(writer, owner, rrset, false)
        })
        .is_err();
    }
    if dnssec {
        writer.set_section(Section::Authority);
        if let Some((owner, ds)) = delegation_signer {
            overflow |= push_rrset(writer, owner, ds, true).is_err();
        }
        for node in proofs.iter().flat_map(Proofs::nodes) {
            let proof = node.rrset(rtype::NSEC).or_else(|| node.rrset(rtype::NSEC3));
            if let Some(proof) = proof {
                overflow |= push_rrset(writer, node.name, proof, true).is_err();
            }
        }
    }
    if overflow || writer.len() > limit {
        result.truncated = true;
        return result;
    }
    let Some(additional) = additional else {
        return result;
    };
    writer.set_section(Section::Additional);
    for &target in &additional.targets[..additional.count] {
        let Ok(target) = Name::from_wire(target) else {
            continue;
        };
        let Some(host) = zone.find(target.as_wire()) else {
            continue;
        };
        for address_type in [rtype::A, rtype::AAAA] {
            let Some(rrset) = host.rrset(address_type) else {
                continue;
            };
            let checkpoint = writer.checkpoint();
            if push_rrset(writer, host.name, rrset, dnssec).is_err() || writer.len() > limit {
                writer.rollback(checkpoint);
                result.truncated |= additional.required && target.is_at_or_below(zone.origin());
                return result;
            }
        }
    }
    result
}

/// The RRset answering `qtype` at `node`. ANY gets one RRset, as Knot answers it
/// (RFC 8482 §4.2 allows a subset): the first by type, not the SOA.
fn answer_rrset(node: Node<'_>, qtype: u16) -> Option<Rrset<'_>> {
    if qtype == rtype::ANY {
        //= https://www.rfc-editor.org/rfc/rfc8482#section-4.2
        //# A DNS responder ... can choose to respond with a subset of the RRsets
        return node
            .rrsets()
            .find(|r| r.rtype != rtype::SOA)
            .or_else(|| node.rrsets().next());
    }
    node.rrset(qtype)
}

/// Writes an RRset owned by `name` (and, with `dnssec`, its RRSIGs); when that is the query
/// name itself, the owner is a pointer to the question (no compression search: the common
/// case of every answer). A wildcard's RRSIGs go out under the expanded name: their labels
/// field tells validators so (RFC 4035 §3.1.3.3).
fn push_rrset_at(
    writer: &mut MessageWriter<'_>,
    name: &Name,
    qname: &Name,
    rrset: Rrset<'_>,
    dnssec: bool,
) -> Result<(), WriteError> {
    let owner = if core::ptr::eq(name, qname) {
        Owner::At(QUESTION_NAME)
    } else {
        Owner::Name(name.as_wire())
    };
    push_rrset_as(writer, owner, rrset, dnssec)
}

/// Answers a query for type RRSIG as Knot does: one signature (the first by type covered),
/// with the TTL of the RRset it covers.
fn push_first_signature(
    writer: &mut MessageWriter<'_>,
    name: &Name,
    qname: &Name,
    node: Node<'_>,
    rrsigs: Rrset<'_>,
) -> Result<(), WriteError> {
    let first = rrsigs.first();
    let covered = match first {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    let ttl = node.rrset(covered).map_or(rrsigs.ttl, |r| r.ttl);
    let owner = if core::ptr::eq(name, qname) {
        Owner::At(QUESTION_NAME)
    } else {
        Owner::Name(name.as_wire())
    };
    writer.push_record_as(
        owner,
        rtype::RRSIG,
        class::IN,
        ttl,
        first,
        RdataNames::Opaque,
    )
}

/// Where the question name starts: right after the 12-octet header.
const QUESTION_NAME: u16 = 12;

/// Writes an RRset and, with `dnssec`, the RRSIGs covering it (RRSIG TTL = the RRset's TTL,
/// RFC 4034 §3).
fn push_rrset(
    writer: &mut MessageWriter<'_>,
    owner: &[u8],
    rrset: Rrset<'_>,
    dnssec: bool,
) -> Result<(), WriteError> {
    push_rrset_as(writer, Owner::Name(owner), rrset, dnssec)
}

fn push_rrset_as(
    writer: &mut MessageWriter<'_>,
    owner: Owner<'_>,
    rrset: Rrset<'_>,
    dnssec: bool,
) -> Result<(), WriteError> {
    let names = rdata_names_for(rrset.rtype);
    for rdata in rrset.rdatas() {
        writer.push_record_as(owner, rrset.rtype, class::IN, rrset.ttl, rdata, names)?;
    }
    if dnssec {
        for signature in rrset.signatures() {
            writer.push_record_as(
                owner,
                rtype::RRSIG,
                class::IN,
                rrset.ttl,
                signature,
                RdataNames::Opaque,
            )?;
        }
    }
    Ok(())
}

//= https://www.rfc-editor.org/rfc/rfc2308#section-3
//# the TTL of this record is set from the minimum of the MINIMUM field of the SOA
//# record and the TTL of the SOA itself
fn push_negative_soa(
    writer: &mut MessageWriter<'_>,
    zone: &Zone,
    qname: &Name,
    soa: Rrset<'_>,
    dnssec: bool,
) -> Result<(), WriteError> {
    // The query name is at or below the origin, so the origin is a suffix of the question.
    let origin_at = (QUESTION_NAME as usize + qname.as_wire().len() - zone.origin().len()) as u16;
    writer.push_record_owner_at(
        origin_at,
        rtype::SOA,
        class::IN,
        zone.negative_ttl(),
        soa.first(),
        rdata_names_for(rtype::SOA),
    )?;
    if dnssec {
        // The signature's TTL follows the SOA's negative TTL, as Knot sends it.
        for signature in soa.signatures() {
            writer.push_record_owner_at(
                origin_at,
                rtype::RRSIG,
                class::IN,
                zone.negative_ttl(),
                signature,
                RdataNames::Opaque,
            )?;
        }
    }
    Ok(())
}
