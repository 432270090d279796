//! The in-memory zone: nodes (one per owner name, empty non-terminals included), their
//! RRsets with packed RDATA, and the set of zones a server is authoritative for.

use std::collections::HashMap;
use std::sync::Arc;

use dns_wire::RdataNames;
use dns_wire::types::rtype;

use crate::hash::BuildNameHasher;
use crate::table::NameTable;

/// One RRset: all records of one type at one name (RFC 2181 §5), sharing one TTL.
#[derive(Clone, Debug)]
pub struct Rrset {
    /// The record type.
    pub rtype: u16,
    /// The TTL of every record in the set.
    pub ttl: u32,
    /// Number of records.
    pub count: u16,
    /// The RDATAs, each preceded by its 2-octet length, in wire form (names uncompressed,
    /// case as in the zone file).
    packed: Box<[u8]>,
}

impl Rrset {
    /// Packs RDATAs into an RRset.
    pub fn new(rtype: u16, ttl: u32, rdatas: &[Vec<u8>]) -> Self {
        let mut packed = Vec::with_capacity(rdatas.iter().map(|r| r.len() + 2).sum());
        for rdata in rdatas {
            packed.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            packed.extend_from_slice(rdata);
        }
        Self {
            rtype,
            ttl,
            count: rdatas.len() as u16,
            packed: packed.into_boxed_slice(),
        }
    }

    /// The RDATAs in wire form.
    pub fn rdatas(&self) -> RdataIter<'_> {
        RdataIter { rest: &self.packed }
    }

    /// The first RDATA (every RRset has at least one).
    pub fn first(&self) -> &[u8] {
        self.rdatas().next().unwrap_or_default()
    }

    /// Bytes of memory held outside the struct.
    pub fn heap_size(&self) -> usize {
        self.packed.len()
    }
}

/// Iterator over the RDATAs of an [`Rrset`].
#[derive(Clone, Debug)]
pub struct RdataIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for RdataIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let len = u16::from_be_bytes([*self.rest.first()?, *self.rest.get(1)?]) as usize;
        let rdata = self.rest.get(2..2 + len)?;
        self.rest = &self.rest[2 + len..];
        Some(rdata)
    }
}

/// How the names in RDATA of `rtype` may be compressed when sent (RFC 3597 §4: only the
/// RFC 1035 types).
pub fn rdata_names_for(rtype: u16) -> RdataNames {
    match rtype {
        rtype::NS | rtype::CNAME | rtype::PTR => RdataNames::One,
        rtype::SOA => RdataNames::Soa,
        rtype::MX => RdataNames::AfterTwoOctets,
        _ => RdataNames::Opaque,
    }
}

/// One owner name and its RRsets. A node without RRsets is an empty non-terminal.
#[derive(Clone, Debug)]
pub struct Node {
    /// The owner name, lowercased wire form.
    pub name: Box<[u8]>,
    /// The RRsets, at most one per type.
    pub rrsets: Box<[Rrset]>,
    flags: u8,
}

impl Node {
    const DELEGATION: u8 = 1;
    const CNAME: u8 = 2;
    const DNAME: u8 = 4;

    pub(crate) fn new(name: Box<[u8]>, rrsets: Vec<Rrset>, is_apex: bool) -> Self {
        let has = |t| rrsets.iter().any(|r| r.rtype == t);
        let mut flags = 0;
        if has(rtype::NS) && !is_apex {
            flags |= Self::DELEGATION;
        }
        if has(rtype::CNAME) {
            flags |= Self::CNAME;
        }
        if has(rtype::DNAME) {
            flags |= Self::DNAME;
        }
        Self {
            name,
            rrsets: rrsets.into_boxed_slice(),
            flags,
        }
    }

    /// The RRset of `rtype`, if any.
    #[inline]
    pub fn rrset(&self, rtype: u16) -> Option<&Rrset> {
        self.rrsets.iter().find(|r| r.rtype == rtype)
    }

    /// A zone cut below the apex: the node has NS records (RFC 1034 §4.2.1).
    #[inline]
    pub fn is_delegation(&self) -> bool {
        self.flags & Self::DELEGATION != 0
    }

    /// The node has a CNAME.
    #[inline]
    pub fn has_cname(&self) -> bool {
        self.flags & Self::CNAME != 0
    }

    /// The node has a DNAME (RFC 6672).
    #[inline]
    pub fn has_dname(&self) -> bool {
        self.flags & Self::DNAME != 0
    }

    /// An empty non-terminal (RFC 8020 §2 calls it an ENT): no RRsets.
    pub fn is_empty_non_terminal(&self) -> bool {
        self.rrsets.is_empty()
    }
}

/// A loaded, checked zone.
#[derive(Debug)]
pub struct Zone {
    origin_label_count: usize,
    nodes: Box<[Node]>,
    table: NameTable,
    serial: u32,
    record_count: usize,
}

impl Zone {
    /// Assembles a zone; `nodes[0]` must be the apex with its SOA (checked by the builder)
    /// and `table` must index `nodes` by name.
    pub(crate) fn from_parts(
        nodes: Vec<Node>,
        table: NameTable,
        serial: u32,
        record_count: usize,
    ) -> Self {
        let origin_label_count = label_count(&nodes[0].name);
        Self {
            origin_label_count,
            nodes: nodes.into_boxed_slice(),
            table,
            serial,
            record_count,
        }
    }

    /// The zone's name, lowercased wire form.
    pub fn origin(&self) -> &[u8] {
        &self.nodes[0].name
    }

    /// Labels in the origin, counting the root label.
    pub fn origin_label_count(&self) -> usize {
        self.origin_label_count
    }

    /// The apex node.
    pub fn apex(&self) -> &Node {
        &self.nodes[0]
    }

    /// The SOA RRset at the apex.
    pub fn soa(&self) -> &Rrset {
        // The builder refuses zones without an apex SOA, so this always finds one.
        self.nodes[0]
            .rrset(rtype::SOA)
            .unwrap_or(&self.nodes[0].rrsets[0])
    }

    /// The SOA serial.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The TTL of negative answers: min(SOA TTL, SOA MINIMUM) (RFC 2308 §5).
    pub fn negative_ttl(&self) -> u32 {
        let soa = self.soa();
        let rdata = soa.first();
        let minimum = rdata
            .get(rdata.len().saturating_sub(4)..)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0);
        soa.ttl.min(minimum)
    }

    /// The node named `name` (lowercased wire form), if the zone has one.
    #[inline]
    pub fn find(&self, name: &[u8]) -> Option<&Node> {
        let nodes = &self.nodes;
        self.table
            .find(name, |i| &nodes[i as usize].name)
            .map(|i| &nodes[i as usize])
    }

    /// All nodes, apex first.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Number of resource records.
    pub fn record_count(&self) -> usize {
        self.record_count
    }

    /// Approximate heap bytes held (for reports).
    pub fn heap_size(&self) -> usize {
        self.table.heap_size()
            + self
                .nodes
                .iter()
                .map(|n| {
                    size_of::<Node>()
                        + n.name.len()
                        + n.rrsets
                            .iter()
                            .map(|r| size_of::<Rrset>() + r.heap_size())
                            .sum::<usize>()
                })
                .sum::<usize>()
    }
}

/// Labels in a wire name, counting the root label.
pub(crate) fn label_count(wire: &[u8]) -> usize {
    let mut count = 0;
    let mut at = 0;
    while let Some(&len) = wire.get(at) {
        count += 1;
        if len == 0 {
            break;
        }
        at += 1 + len as usize;
    }
    count
}

/// The zones a server answers for, found by the longest matching origin.
#[derive(Debug, Default, Clone)]
pub struct ZoneSet {
    zones: HashMap<Box<[u8]>, Arc<Zone>, BuildNameHasher>,
    min_labels: usize,
    max_labels: usize,
}

impl ZoneSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a zone.
    pub fn insert(&mut self, zone: Arc<Zone>) {
        let labels = zone.origin_label_count();
        self.min_labels = if self.zones.is_empty() {
            labels
        } else {
            self.min_labels.min(labels)
        };
        self.max_labels = self.max_labels.max(labels);
        self.zones.insert(zone.origin().into(), zone);
    }

    /// Removes a zone by origin.
    pub fn remove(&mut self, origin: &[u8]) -> Option<Arc<Zone>> {
        self.zones.remove(origin)
    }

    /// The zone with exactly this origin.
    pub fn get(&self, origin: &[u8]) -> Option<&Arc<Zone>> {
        self.zones.get(origin)
    }

    /// The most specific zone containing `name` (a lowercased name).
    #[inline]
    pub fn find_zone(&self, name: &dns_wire::Name) -> Option<&Zone> {
        if self.zones.is_empty() {
            return None;
        }
        let top = name.label_count().min(self.max_labels);
        (self.min_labels..=top)
            .rev()
            .find_map(|labels| self.zones.get(name.suffix(labels)).map(|z| &**z))
    }

    /// The zones, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Zone>> {
        self.zones.values()
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether there are no zones.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }
}
