//! A zone being built, before packing: records grouped into nodes and RRsets as spans over
//! one byte arena, each RRset with the file and line it came from. `build` fills it, `check`
//! reads it.

use std::ops::Range;

use dns_wire::types::rtype;

/// Where a record came from, for problem reports: an index into the builder's files and a
/// line (kept small: a million records carry one each).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Source {
    pub(crate) file: u32,
    pub(crate) line: u32,
}

/// A range of the builder's byte arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

impl Span {
    pub(crate) fn range(self) -> Range<usize> {
        self.start as usize..self.start as usize + self.len as usize
    }
}

/// An RRset before packing, with the line of its first record (read by the checks).
#[derive(Debug)]
pub(crate) struct PendingRrset {
    pub(crate) rtype: u16,
    pub(crate) ttl: u32,
    /// Indices into [`Pending::rdatas`].
    pub(crate) rdatas: Range<u32>,
    pub(crate) source: Source,
}

impl PendingRrset {
    /// Number of records.
    pub(crate) fn len(&self) -> usize {
        self.rdatas.len()
    }
}

/// A node before packing.
#[derive(Debug)]
pub(crate) struct PendingNode {
    pub(crate) name: Span,
    /// Indices into [`Pending::rrsets`].
    pub(crate) rrsets: Range<u32>,
}

/// The grouped zone before packing: nodes, RRsets and RDATA spans over one byte arena.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    pub(crate) bytes: Vec<u8>,
    pub(crate) nodes: Vec<PendingNode>,
    pub(crate) rrsets: Vec<PendingRrset>,
    pub(crate) rdatas: Vec<Span>,
}

impl Pending {
    /// A node's name.
    pub(crate) fn name(&self, node: &PendingNode) -> &[u8] {
        &self.bytes[node.name.range()]
    }

    /// A node's RRsets.
    pub(crate) fn rrsets(&self, node: &PendingNode) -> &[PendingRrset] {
        &self.rrsets[node.rrsets.start as usize..node.rrsets.end as usize]
    }

    /// A node's RRset of `rtype`.
    pub(crate) fn rrset(&self, node: &PendingNode, rtype: u16) -> Option<&PendingRrset> {
        self.rrsets(node).iter().find(|r| r.rtype == rtype)
    }

    /// An RRset's RDATAs.
    pub(crate) fn rdatas(&self, rrset: &PendingRrset) -> impl Iterator<Item = &[u8]> {
        self.rdatas[rrset.rdatas.start as usize..rrset.rdatas.end as usize]
            .iter()
            .map(|span| &self.bytes[span.range()])
    }

    /// Removes the nodes holding only NSEC3 records and their signatures and returns them.
    pub(crate) fn take_nsec3_nodes(&mut self) -> Vec<PendingNode> {
        let is_nsec3_only = |node: &PendingNode| {
            let rrsets = &self.rrsets[node.rrsets.start as usize..node.rrsets.end as usize];
            rrsets.iter().any(|r| r.rtype == rtype::NSEC3)
                && rrsets
                    .iter()
                    .all(|r| r.rtype == rtype::NSEC3 || r.rtype == rtype::RRSIG)
        };
        if !self.nodes.iter().any(is_nsec3_only) {
            return Vec::new();
        }
        let (nsec3, regular): (Vec<PendingNode>, Vec<PendingNode>) =
            std::mem::take(&mut self.nodes)
                .into_iter()
                .partition(|n| is_nsec3_only(n));
        self.nodes = regular;
        nsec3
    }

    /// Appends a name to the arena.
    pub(crate) fn push_name(&mut self, name: &[u8]) -> Span {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(name);
        Span {
            start: start as u32,
            len: name.len() as u32,
        }
    }
}

/// Whether `name` equals `origin` or lies below it (both lowercased wire form).
pub(crate) fn is_at_or_below(name: &[u8], origin: &[u8]) -> bool {
    if !name.ends_with(origin) {
        return false;
    }
    let mut at = 0;
    let cut = name.len() - origin.len();
    while at < cut {
        at += 1 + name[at] as usize;
    }
    at == cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_or_below_respects_label_boundaries() {
        assert!(is_at_or_below(
            b"\x03www\x07example\x00",
            b"\x07example\x00"
        ));
        assert!(is_at_or_below(b"\x07example\x00", b"\x07example\x00"));
        assert!(!is_at_or_below(b"\x08xexample\x00", b"\x07example\x00"));
        assert!(is_at_or_below(b"\x07example\x00", b"\x00"));
    }
}
