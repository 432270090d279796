//! Finding where a name lands in a zone (RFC 1034 §4.3.2 step 3, RFC 4592, RFC 6672):
//! walk down from the apex one label at a time; a zone cut or a DNAME on the way ends the
//! walk; otherwise the name exists, matches a wildcard, or does not exist.

use dns_wire::Name;
use dns_wire::types::rtype;
use dns_zone::{Node, Zone};

/// Where a name lands.
pub(crate) enum Landing<'z> {
    /// The name exists (possibly as an empty non-terminal).
    Exact(Node<'z>),
    /// The name does not exist but `*.closest-encloser` does (RFC 4592 §3.3.1): the
    /// wildcard node and the closest encloser.
    Wildcard(Node<'z>, Node<'z>),
    /// A zone cut at or above the name (at the name itself only when not asking for DS).
    Referral(Node<'z>),
    /// A DNAME at a proper ancestor (RFC 6672 §3.2).
    Dname(Node<'z>),
    /// The name does not exist (NXDOMAIN); the closest encloser.
    Missing(Node<'z>),
}

/// Locates `name` (at or below the zone's origin) in `zone`.
pub(crate) fn locate<'z>(zone: &'z Zone, name: &Name, qtype: u16) -> Landing<'z> {
    let apex = zone.apex();
    let first = zone.origin_label_count();
    let last = name.label_count();
    if last == first {
        return Landing::Exact(apex);
    }
    if apex.has_dname() {
        return Landing::Dname(apex);
    }
    let mut closest = apex;
    for labels in first + 1..=last {
        let Some(node) = zone.find(name.suffix(labels)) else {
            return wildcard_or_missing(zone, closest);
        };
        if labels < last {
            if node.is_delegation() {
                return Landing::Referral(node);
            }
            if node.has_dname() {
                return Landing::Dname(node);
            }
        } else {
            //= https://www.rfc-editor.org/rfc/rfc4035#section-3.1.4.1
            //# the DS RRset is on the parent side of the zone cut
            if node.is_delegation() && qtype != rtype::DS {
                return Landing::Referral(node);
            }
            return Landing::Exact(node);
        }
        closest = node;
    }
    Landing::Exact(closest)
}

//= https://www.rfc-editor.org/rfc/rfc4592#section-3.3.1
//# the source of synthesis is the wildcard domain name "*.<closest encloser>"
fn wildcard_or_missing<'z>(zone: &'z Zone, closest: Node<'z>) -> Landing<'z> {
    let mut wildcard = [0u8; 257];
    wildcard[0] = 1;
    wildcard[1] = b'*';
    let len = closest.name.len();
    if len + 2 > 255 {
        return Landing::Missing(closest);
    }
    wildcard[2..2 + len].copy_from_slice(closest.name);
    match zone.find(&wildcard[..2 + len]) {
        Some(node) => Landing::Wildcard(node, closest),
        None => Landing::Missing(closest),
    }
}
