//! Which NSEC or NSEC3 records prove a negative or wildcard answer (RFC 4035 §3.1.3,
//! RFC 5155 §7.2), chosen as Knot chooses them. Only collected when the query has DO set and
//! the zone is signed; the records themselves are written by `resolve`.
//!
//! Lookups are binary searches over indexes built at load (dns-zone); NSEC3 hashes are
//! computed here only for the two or three names a proof needs. Nothing allocates.

use dns_zone::{Denial, Node, Nsec3Lookup, Zone};

/// More than any one answer needs: three for an NSEC3 NXDOMAIN, plus wildcard proofs along
/// a CNAME chain.
const MAX_PROOFS: usize = 8;

/// The NSEC/NSEC3 owners proving an answer, without repeats.
pub(crate) struct Proofs<'z> {
    nodes: [Option<Node<'z>>; MAX_PROOFS],
    count: usize,
}

impl<'z> Proofs<'z> {
    pub(crate) fn new() -> Self {
        Self {
            nodes: [None; MAX_PROOFS],
            count: 0,
        }
    }

    /// The nodes whose NSEC or NSEC3 RRset goes into the authority section.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = Node<'z>> + '_ {
        self.nodes[..self.count].iter().flatten().copied()
    }

    fn push(&mut self, node: Option<Node<'z>>) {
        let Some(node) = node else { return };
        let known = self.nodes[..self.count]
            .iter()
            .flatten()
            .any(|n| core::ptr::eq(n.name, node.name));
        if !known && self.count < MAX_PROOFS {
            self.nodes[self.count] = Some(node);
            self.count += 1;
        }
    }

    //= https://www.rfc-editor.org/rfc/rfc4035#section-3.1.3.2
    //# An NSEC RR proving that there is no exact match for <SNAME, SCLASS>.
    //# An NSEC RR proving that the zone contains no RRsets that would match
    //# <SNAME, SCLASS> via wildcard name expansion.
    //= https://www.rfc-editor.org/rfc/rfc5155#section-7.2.2
    //# the server MUST include the NSEC3 RRs that constitute the closest encloser proof
    //# ... and an NSEC3 RR that covers the wildcard at the closest encloser
    /// Name error: `sname` does not exist; `closest` is its closest encloser.
    pub(crate) fn prove_nxdomain(&mut self, zone: &'z Zone, sname: &[u8], closest: Node<'z>) {
        if uses_nsec(zone) {
            self.push(zone.nsec_covering(sname));
            let mut wildcard = [0u8; 257];
            if let Some(wildcard) = wildcard_at(closest.name, &mut wildcard) {
                self.push(zone.nsec_covering(wildcard));
            }
            return;
        }
        let encloser = provable_encloser(zone, closest);
        self.closest_encloser_proof(zone, sname, encloser);
        let mut wildcard = [0u8; 257];
        if let Some(wildcard) = wildcard_at(encloser.name, &mut wildcard) {
            self.push(nsec3_node(zone.nsec3_lookup(wildcard)));
        }
    }

    //= https://www.rfc-editor.org/rfc/rfc4035#section-3.1.3.1
    //# the server MUST include the NSEC RR for <SNAME, SCLASS>
    //= https://www.rfc-editor.org/rfc/rfc5155#section-7.2.3
    //# the server MUST include the NSEC3 RR that matches QNAME
    //= https://www.rfc-editor.org/rfc/rfc5155#section-7.2.4
    //# If there is no NSEC3 RR that matches QNAME, the server MUST return a closest
    //# provable encloser proof for QNAME
    /// No data of the type at `node` (the name's node, or the wildcard that matched it;
    /// also a delegation without DS). `closest` is the closest encloser: the node itself,
    /// or the wildcard's parent when `expanded`.
    pub(crate) fn prove_nodata(
        &mut self,
        zone: &'z Zone,
        sname: &[u8],
        node: Node<'z>,
        closest: Node<'z>,
        expanded: bool,
    ) {
        if uses_nsec(zone) {
            if node.is_empty_non_terminal() {
                // An empty non-terminal has no NSEC: the one covering its name shows that no
                // type exists there (and, as Knot sends it, nothing more).
                self.push(zone.nsec_covering(sname));
            } else if node.rrset(dns_wire::types::rtype::NSEC).is_some() {
                self.push(Some(node));
            }
            if expanded {
                self.prove_wildcard_answer(zone, sname, closest);
            }
            return;
        }
        if node.has_nsec3() {
            self.push(nsec3_node(zone.nsec3_lookup(node.name)));
        }
        if expanded || !node.has_nsec3() {
            //= https://www.rfc-editor.org/rfc/rfc5155#section-7.2.5
            //# the server MUST include the closest encloser proof for QNAME, ... and the
            //# NSEC3 RR that matches the wildcard
            let encloser = provable_encloser(zone, closest);
            self.closest_encloser_proof(zone, sname, encloser);
        }
    }

    //= https://www.rfc-editor.org/rfc/rfc4035#section-3.1.3.3
    //# the server MUST include ... an NSEC RR proving that the zone contains no closer
    //# match for <SNAME, SCLASS>
    //= https://www.rfc-editor.org/rfc/rfc5155#section-7.2.6
    //# The server MUST include the NSEC3 RR that covers the "next closer" name
    /// A wildcard expanded for `sname`, whose closest encloser is `closest`.
    pub(crate) fn prove_wildcard_answer(
        &mut self,
        zone: &'z Zone,
        sname: &[u8],
        closest: Node<'z>,
    ) {
        if uses_nsec(zone) {
            self.push(zone.nsec_covering(sname));
            return;
        }
        let encloser = provable_encloser(zone, closest);
        self.push(nsec3_node(
            zone.nsec3_lookup(next_closer(encloser.name, sname)),
        ));
    }

    //= https://www.rfc-editor.org/rfc/rfc5155#section-7.2.1
    //# An NSEC3 RR that matches the closest (provable) encloser.
    //# An NSEC3 RR that covers the "next closer" name to the closest encloser.
    fn closest_encloser_proof(&mut self, zone: &'z Zone, sname: &[u8], encloser: Node<'z>) {
        self.push(nsec3_node(zone.nsec3_lookup(encloser.name)));
        let next = next_closer(encloser.name, sname);
        if let Nsec3Lookup::Covers(node) = zone.nsec3_lookup(next) {
            self.push(Some(node));
        }
    }
}

/// NSEC (rather than NSEC3 or nothing) proves nonexistence in `zone`.
fn uses_nsec(zone: &Zone) -> bool {
    matches!(zone.denial(), Denial::Nsec { .. })
}

fn nsec3_node(lookup: Nsec3Lookup<'_>) -> Option<Node<'_>> {
    match lookup {
        Nsec3Lookup::Matches(node) | Nsec3Lookup::Covers(node) => Some(node),
        Nsec3Lookup::Absent => None,
    }
}

/// The closest provable encloser: `node` or its nearest ancestor whose hash has an NSEC3
/// (opt-out leaves insecure delegations and the empty non-terminals above them out).
fn provable_encloser<'z>(zone: &'z Zone, node: Node<'z>) -> Node<'z> {
    let origin = zone.origin();
    let mut node = node;
    let mut name = node.name;
    while !node.has_nsec3() && name.len() > origin.len() {
        name = &name[1 + name[0] as usize..];
        if let Some(parent) = zone.find(name) {
            node = parent;
        }
    }
    node
}

/// The next closer name (RFC 5155 §1.3): `sname` cut to one label more than `encloser`.
fn next_closer<'a>(encloser: &[u8], sname: &'a [u8]) -> &'a [u8] {
    let mut name = sname;
    let mut previous = sname;
    while name.len() > encloser.len() {
        previous = name;
        name = &name[1 + name[0] as usize..];
    }
    previous
}

/// `*.name` in `buf`, when it fits in a name.
fn wildcard_at<'b>(name: &[u8], buf: &'b mut [u8; 257]) -> Option<&'b [u8]> {
    if name.len() + 2 > 255 {
        return None;
    }
    buf[0] = 1;
    buf[1] = b'*';
    buf[2..2 + name.len()].copy_from_slice(name);
    Some(&buf[..2 + name.len()])
}

/// Whether `name`'s first label is `*`: such a query name matches the wildcard itself and
/// needs no proof of a closer name (as Knot decides).
pub(crate) fn is_wildcard_name(name: &[u8]) -> bool {
    name.starts_with(b"\x01*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_closer_is_one_label_below_the_encloser() {
        let sname = b"\x01a\x01b\x07example\x00";
        assert_eq!(
            next_closer(b"\x07example\x00", sname),
            b"\x01b\x07example\x00"
        );
        assert_eq!(next_closer(b"\x01b\x07example\x00", sname), &sname[..]);
    }
}
