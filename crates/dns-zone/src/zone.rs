//! The in-memory zone: nodes (one per owner name, empty non-terminals included), their
//! RRsets with packed RDATA, and the set of zones a server is authoritative for.

use std::collections::HashMap;
use std::sync::Arc;

use dns_wire::RdataNames;
use dns_wire::types::rtype;

use crate::denial::Denial;
use crate::hash::BuildNameHasher;
use crate::table::NameTable;

/// One RRset: all records of one type at one name (RFC 2181 §5), sharing one TTL. A view
/// into the zone's RDATA arena.
#[derive(Clone, Copy)]
pub struct Rrset<'z> {
    /// The record type.
    pub rtype: u16,
    /// The TTL of every record in the set.
    pub ttl: u32,
    /// Number of records.
    pub count: u16,
    /// The RDATAs, each preceded by its 2-octet length, in wire form (names uncompressed,
    /// case as in the zone file), and the rest of the arena after them: `count` says where
    /// the RRset ends.
    packed: &'z [u8],
    /// The node's RRSIG RDATAs (RFC 4034 §3), packed the same way and ordered by type
    /// covered, then the rest of the arena; `rrsig_count` of them (0 when it has none).
    rrsigs: &'z [u8],
    rrsig_count: u16,
}

impl std::fmt::Debug for Rrset<'_> {
    /// The RRset's own RDATAs (its views reach to the end of the arena).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rrset")
            .field("rtype", &self.rtype)
            .field("ttl", &self.ttl)
            .field("rdatas", &self.rdatas().collect::<Vec<_>>())
            .finish()
    }
}

impl<'z> Rrset<'z> {
    /// The RDATAs in wire form.
    pub fn rdatas(&self) -> RdataIter<'z> {
        RdataIter {
            rest: self.packed,
            left: self.count,
        }
    }

    /// The first RDATA (every RRset has at least one).
    pub fn first(&self) -> &'z [u8] {
        self.rdatas().next().unwrap_or_default()
    }

    /// The RDATAs of the RRSIG records whose type covered is this RRset's type.
    #[inline]
    pub fn signatures(&self) -> impl Iterator<Item = &'z [u8]> + 'z {
        let rtype = self.rtype;
        RdataIter {
            rest: self.rrsigs,
            left: self.rrsig_count,
        }
        .filter(move |rdata| rrsig_type_covered(rdata) == rtype)
    }
}

/// Iterator over the RDATAs of an [`Rrset`].
#[derive(Clone, Debug)]
pub struct RdataIter<'a> {
    rest: &'a [u8],
    left: u16,
}

impl<'a> Iterator for RdataIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        self.left = self.left.checked_sub(1)?;
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

/// How an RRset is stored: where its RDATAs start in the arena and how many there are (they
/// are length-prefixed, so the end is found by walking them). 12 bytes (the signatures
/// covering it are found in the node's RRSIG RRset when asked for).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RrsetEntry {
    data_start: u32,
    ttl: u32,
    rtype: u16,
    count: u16,
}

impl RrsetEntry {
    /// The RRset's RDATAs, length-prefixed, within `arena`.
    fn packed<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let start = self.data_start as usize;
        let mut end = start;
        for _ in 0..self.count {
            let Some(len) = arena.get(end..end + 2) else {
                break;
            };
            end += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
        }
        &arena[start..end.min(arena.len())]
    }
}

/// How a node is stored: its name in the name arena and its RRsets in the RRset table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NodeEntry {
    name_start: u32,
    rrsets_start: u32,
    rrset_count: u16,
    name_len: u8,
    flags: u8,
}

const DELEGATION: u8 = 1;
const CNAME: u8 = 2;
const DNAME: u8 = 4;
/// The node's hashed name has an NSEC3 record (RFC 5155 §7.1), found at load.
pub(crate) const HAS_NSEC3: u8 = 8;
/// The node has an RRSIG RRset.
const HAS_RRSIG: u8 = 16;

/// One owner name and its RRsets, viewed in its zone. A node without RRsets is an empty
/// non-terminal.
#[derive(Clone, Copy, Debug)]
pub struct Node<'z> {
    /// The owner name, lowercased wire form.
    pub name: &'z [u8],
    rrsets: &'z [RrsetEntry],
    rdata: &'z [u8],
    flags: u8,
}

impl<'z> Node<'z> {
    fn rrset_at(&self, entry: &RrsetEntry) -> Rrset<'z> {
        let from = |e: &RrsetEntry| &self.rdata[e.data_start as usize..];
        let (rrsigs, rrsig_count) = match self.flags & HAS_RRSIG {
            0 => (&[][..], 0),
            _ => self
                .rrsets
                .iter()
                .find(|e| e.rtype == rtype::RRSIG)
                .map_or((&[][..], 0), |e| (from(e), e.count)),
        };
        Rrset {
            rtype: entry.rtype,
            ttl: entry.ttl,
            count: entry.count,
            packed: from(entry),
            rrsigs,
            rrsig_count,
        }
    }

    /// The RRset of `rtype`, if any.
    #[inline]
    pub fn rrset(&self, rtype: u16) -> Option<Rrset<'z>> {
        self.rrsets
            .iter()
            .find(|r| r.rtype == rtype)
            .map(|e| self.rrset_at(e))
    }

    /// The RRsets, in type order.
    pub fn rrsets(self) -> impl Iterator<Item = Rrset<'z>> + 'z {
        self.rrsets.iter().map(move |e| self.rrset_at(e))
    }

    /// Whether `other` holds the same RRsets: same types and TTLs, and the same RDATA in
    /// the same order (compared as packed octets).
    pub(crate) fn same_data(&self, other: &Node<'_>) -> bool {
        self.rrsets.len() == other.rrsets.len()
            && self.rrsets.iter().zip(other.rrsets).all(|(a, b)| {
                a.rtype == b.rtype
                    && a.ttl == b.ttl
                    && a.count == b.count
                    && a.packed(self.rdata) == b.packed(other.rdata)
            })
    }

    /// A zone cut below the apex: the node has NS records (RFC 1034 §4.2.1).
    #[inline]
    pub fn is_delegation(&self) -> bool {
        self.flags & DELEGATION != 0
    }

    /// The node has a CNAME.
    #[inline]
    pub fn has_cname(&self) -> bool {
        self.flags & CNAME != 0
    }

    /// The node has a DNAME (RFC 6672).
    #[inline]
    pub fn has_dname(&self) -> bool {
        self.flags & DNAME != 0
    }

    /// An empty non-terminal (RFC 8020 §2 calls it an ENT): no RRsets.
    pub fn is_empty_non_terminal(&self) -> bool {
        self.rrsets.is_empty()
    }

    /// In an NSEC3 zone: an NSEC3 record matches this node's hashed name.
    #[inline]
    pub fn has_nsec3(&self) -> bool {
        self.flags & HAS_NSEC3 != 0
    }

    /// A wildcard owner (`*.` as first label, RFC 4592 §2.1.1).
    #[inline]
    pub fn is_wildcard(&self) -> bool {
        self.name.starts_with(b"\x01*")
    }
}

/// New RRsets for one node (see [`Zone::with_nodes_rewritten`]): the node's index and its
/// RRsets as (type, TTL, RDATAs), in the node's type order.
#[derive(Debug)]
pub(crate) struct NodeRewrite<'a> {
    pub(crate) index: usize,
    pub(crate) rrsets: Vec<(u16, u32, Vec<&'a [u8]>)>,
}

/// Builds the arenas of a zone, node by node, in index order.
#[derive(Debug, Default)]
pub(crate) struct ZoneArena {
    nodes: Vec<NodeEntry>,
    rrsets: Vec<RrsetEntry>,
    names: Vec<u8>,
    rdata: Vec<u8>,
}

impl ZoneArena {
    /// An arena with room for `nodes` nodes, `rrsets` RRsets and the given octets.
    pub(crate) fn with_capacity(nodes: usize, rrsets: usize, names: usize, rdata: usize) -> Self {
        Self {
            nodes: Vec::with_capacity(nodes),
            rrsets: Vec::with_capacity(rrsets),
            names: Vec::with_capacity(names),
            rdata: Vec::with_capacity(rdata),
        }
    }

    /// Appends a node; `rrsets` are (type, TTL, RDATAs), at most one per type. The first
    /// node pushed is the apex. Fails when the zone outgrows 4 GiB of RDATA.
    pub(crate) fn push_node<'a, R: Iterator<Item = &'a [u8]>>(
        &mut self,
        name: &[u8],
        rrsets: impl Iterator<Item = (u16, u32, R)>,
    ) -> Result<(), &'static str> {
        let is_apex = self.nodes.is_empty();
        let rrsets_start = self.rrsets.len();
        let flags = encode_rrsets(&mut self.rrsets, &mut self.rdata, is_apex, rrsets)?;
        let name_start = u32::try_from(self.names.len()).map_err(|_| "zone names over 4 GiB")?;
        self.names.extend_from_slice(name);
        self.nodes.push(NodeEntry {
            name_start,
            rrsets_start: u32::try_from(rrsets_start).map_err(|_| "too many RRsets")?,
            rrset_count: (self.rrsets.len() - rrsets_start) as u16,
            name_len: name.len() as u8,
            flags,
        });
        Ok(())
    }
}

/// Appends one node's RRsets (type, TTL, RDATAs; at most one per type) to `entries` and
/// their RDATA to `rdata`. Returns the node's flags. Fails when `rdata` outgrows 4 GiB.
fn encode_rrsets<'a, R: Iterator<Item = &'a [u8]>>(
    entries: &mut Vec<RrsetEntry>,
    rdata_arena: &mut Vec<u8>,
    is_apex: bool,
    rrsets: impl Iterator<Item = (u16, u32, R)>,
) -> Result<u8, &'static str> {
    let mut flags = 0;
    for (rtype, ttl, rdatas) in rrsets {
        let data_start = rdata_arena.len();
        let mut count = 0usize;
        if rtype == rtype::RRSIG {
            // Ordered by type covered, as a build orders them whatever their input order.
            let mut sorted: Vec<&[u8]> = rdatas.collect();
            sorted.sort_by(|a, b| {
                rrsig_type_covered(a)
                    .cmp(&rrsig_type_covered(b))
                    .then(a.cmp(b))
            });
            for rdata in sorted {
                rdata_arena.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
                rdata_arena.extend_from_slice(rdata);
                count += 1;
            }
        } else {
            for rdata in rdatas {
                rdata_arena.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
                rdata_arena.extend_from_slice(rdata);
                count += 1;
            }
        }
        flags |= match rtype {
            rtype::NS if !is_apex => DELEGATION,
            rtype::CNAME => CNAME,
            rtype::DNAME => DNAME,
            rtype::RRSIG => HAS_RRSIG,
            _ => 0,
        };
        u32::try_from(rdata_arena.len()).map_err(|_| "zone data over 4 GiB")?;
        entries.push(RrsetEntry {
            data_start: data_start as u32,
            ttl,
            rtype,
            count: u16::try_from(count).map_err(|_| "an RRset of more than 65,535 records")?,
        });
    }
    Ok(flags)
}

/// The type covered by an RRSIG RDATA (RFC 4034 §3.1.1); 0 when too short.
pub(crate) fn rrsig_type_covered(rdata: &[u8]) -> u16 {
    match rdata {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

/// A loaded, checked zone.
#[derive(Debug)]
pub struct Zone {
    origin_label_count: usize,
    /// Nodes `0..regular_nodes` are in the name table; the rest are NSEC3 owners, which
    /// live in their own hashed namespace (RFC 5155 §7.2.9: not answered as names).
    regular_nodes: usize,
    // Names, nodes, their table and the denial index are shared with the versions made
    // from this one by [`Zone::with_nodes_rewritten`], which changes only RRsets.
    denial: Arc<Denial>,
    signed: bool,
    nodes: Arc<[NodeEntry]>,
    rrsets: Box<[RrsetEntry]>,
    names: Arc<[u8]>,
    rdata: Box<[u8]>,
    table: Arc<NameTable>,
    serial: u32,
    record_count: usize,
    /// The earliest RRSIG expiration (RFC 4034 §3.1.5, serial arithmetic), if signed.
    earliest_expiration: Option<u32>,
    /// RDATA octets no RRset points to any more (left by rewritten nodes).
    stale_rdata: usize,
}

impl Zone {
    /// Assembles a zone; node 0 must be the apex with its SOA (checked by the builder) and
    /// `table` must index the nodes by name.
    pub(crate) fn from_parts(
        arena: ZoneArena,
        table: NameTable,
        regular_nodes: usize,
        serial: u32,
        record_count: usize,
    ) -> Self {
        let mut zone = Self {
            origin_label_count: 0,
            regular_nodes,
            denial: Arc::new(Denial::None),
            signed: false,
            nodes: arena.nodes.into(),
            rrsets: arena.rrsets.into_boxed_slice(),
            names: arena.names.into(),
            rdata: arena.rdata.into_boxed_slice(),
            table: Arc::new(table),
            serial,
            record_count,
            earliest_expiration: None,
            stale_rdata: 0,
        };
        zone.origin_label_count = label_count(zone.origin());
        zone
    }

    /// Sets how nonexistence is proved and whether the zone is signed (by the builder,
    /// after the nodes are in place).
    pub(crate) fn set_denial(&mut self, denial: Denial, signed: bool) {
        self.denial = Arc::new(denial);
        self.signed = signed;
    }

    /// Sets the earliest RRSIG expiration (by the builder).
    pub(crate) fn set_earliest_expiration(&mut self, expiration: Option<u32>) {
        self.earliest_expiration = expiration;
    }

    /// A new version of this zone in which each of `rewrites` gives a node new RRsets of
    /// the same types, in the same order: names, flags, the name table and the denial
    /// index stay valid and are shared with this version; RRsets and RDATA are copied, the
    /// new RDATA appended (the old left as [`Zone::stale_rdata`]). `None` when a rewrite
    /// changes a node's types or the RDATA outgrows 4 GiB.
    pub(crate) fn with_nodes_rewritten(
        &self,
        rewrites: &[NodeRewrite<'_>],
        serial: u32,
        record_count: usize,
    ) -> Option<Self> {
        let added: usize = rewrites
            .iter()
            .flat_map(|r| &r.rrsets)
            .flat_map(|(_, _, rdatas)| rdatas)
            .map(|rdata| rdata.len() + 2)
            .sum();
        let mut rdata = Vec::with_capacity(self.rdata.len() + added);
        rdata.extend_from_slice(&self.rdata);
        let mut rrsets = self.rrsets.to_vec();
        let mut stale_rdata = self.stale_rdata;
        let mut encoded = Vec::new();
        for rewrite in rewrites {
            let node = self.nodes.get(rewrite.index)?;
            let start = node.rrsets_start as usize;
            let old = &mut rrsets[start..start + node.rrset_count as usize];
            let same_types = old.len() == rewrite.rrsets.len()
                && old.iter().zip(&rewrite.rrsets).all(|(o, n)| o.rtype == n.0);
            if !same_types {
                return None;
            }
            stale_rdata += old.iter().map(|o| o.packed(&rdata).len()).sum::<usize>();
            encoded.clear();
            let new = rewrite
                .rrsets
                .iter()
                .map(|(rtype, ttl, rdatas)| (*rtype, *ttl, rdatas.iter().copied()));
            encode_rrsets(&mut encoded, &mut rdata, rewrite.index == 0, new).ok()?;
            old.copy_from_slice(&encoded);
        }
        Some(Self {
            origin_label_count: self.origin_label_count,
            regular_nodes: self.regular_nodes,
            denial: self.denial.clone(),
            signed: self.signed,
            nodes: self.nodes.clone(),
            rrsets: rrsets.into_boxed_slice(),
            names: self.names.clone(),
            rdata: rdata.into_boxed_slice(),
            table: self.table.clone(),
            serial,
            record_count,
            earliest_expiration: self.earliest_expiration,
            stale_rdata,
        })
    }

    /// RDATA octets held that no RRset uses (left by [`Zone::with_nodes_rewritten`]; a
    /// build from records has none).
    pub(crate) fn stale_rdata(&self) -> usize {
        self.stale_rdata
    }

    /// The name arena, for tests that check what versions share.
    #[cfg(test)]
    pub(crate) fn names_shared(&self) -> Arc<[u8]> {
        self.names.clone()
    }

    /// RDATA octets held, stale ones included.
    pub(crate) fn rdata_len(&self) -> usize {
        self.rdata.len()
    }

    /// The index of the node named `name` in the name table, if any.
    pub(crate) fn find_index(&self, name: &[u8]) -> Option<usize> {
        self.table
            .find(name, |i| self.name_of(&self.nodes[i as usize]))
            .map(|i| i as usize)
    }

    /// The index of the node named `name`, NSEC3 owners included (they are not in the
    /// name table: a build sorts them by name after the others).
    pub(crate) fn find_any_index(&self, name: &[u8]) -> Option<usize> {
        if let Some(index) = self.find_index(name) {
            return Some(index);
        }
        let (mut low, mut high) = (self.regular_nodes, self.nodes.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.node_at(middle).name.cmp(name) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }

    /// Seconds from `now` (seconds since 1970) until the zone's first RRSIG expires;
    /// negative once one has expired, `None` for a zone without signatures. A site serving
    /// expired signatures gives validating resolvers bogus answers.
    pub fn signatures_expire_in(&self, now: u64) -> Option<i64> {
        self.earliest_expiration
            .map(|expiration| i64::from(expiration.wrapping_sub(now as u32) as i32))
    }

    /// Marks node `index` as having a matching NSEC3.
    pub(crate) fn set_node_flag(&mut self, index: usize, flag: u8) {
        let nodes = Arc::get_mut(&mut self.nodes).expect("flags are set while building");
        nodes[index].flags |= flag;
    }

    /// The node at `index` (any node, NSEC3 owners included).
    pub(crate) fn node(&self, index: usize) -> Node<'_> {
        self.node_at(index)
    }

    /// Number of nodes in the name table (NSEC3 owners excluded).
    pub(crate) fn regular_node_count(&self) -> usize {
        self.regular_nodes
    }

    /// How nonexistence is proved in this zone.
    pub fn denial(&self) -> &Denial {
        &self.denial
    }

    /// The zone is signed: its apex SOA has an RRSIG (as Knot decides).
    #[inline]
    pub fn is_signed(&self) -> bool {
        self.signed
    }

    #[inline]
    fn name_of(&self, entry: &NodeEntry) -> &[u8] {
        let start = entry.name_start as usize;
        &self.names[start..start + entry.name_len as usize]
    }

    #[inline]
    fn node_at(&self, index: usize) -> Node<'_> {
        let entry = &self.nodes[index];
        let start = entry.rrsets_start as usize;
        Node {
            name: self.name_of(entry),
            rrsets: &self.rrsets[start..start + entry.rrset_count as usize],
            rdata: &self.rdata,
            flags: entry.flags,
        }
    }

    /// The zone's name, lowercased wire form.
    pub fn origin(&self) -> &[u8] {
        self.name_of(&self.nodes[0])
    }

    /// Labels in the origin, counting the root label.
    pub fn origin_label_count(&self) -> usize {
        self.origin_label_count
    }

    /// The apex node.
    pub fn apex(&self) -> Node<'_> {
        self.node_at(0)
    }

    /// The SOA RRset at the apex.
    pub fn soa(&self) -> Option<Rrset<'_>> {
        self.apex().rrset(rtype::SOA)
    }

    /// The SOA serial.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The TTL of negative answers: min(SOA TTL, SOA MINIMUM) (RFC 2308 §5).
    pub fn negative_ttl(&self) -> u32 {
        let Some(soa) = self.soa() else { return 0 };
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
    pub fn find(&self, name: &[u8]) -> Option<Node<'_>> {
        self.table
            .find(name, |i| self.name_of(&self.nodes[i as usize]))
            .map(|i| self.node_at(i as usize))
    }

    /// All nodes, apex first.
    pub fn nodes(&self) -> impl Iterator<Item = Node<'_>> {
        (0..self.nodes.len()).map(|i| self.node_at(i))
    }

    /// Number of nodes (owner names and empty non-terminals).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of resource records.
    pub fn record_count(&self) -> usize {
        self.record_count
    }

    /// Heap bytes held.
    pub fn heap_size(&self) -> usize {
        self.denial.heap_size()
            + self.table.heap_size()
            + self.nodes.len() * size_of::<NodeEntry>()
            + self.rrsets.len() * size_of::<RrsetEntry>()
            + self.names.len()
            + self.rdata.len()
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

/// The zones a server answers for, found by the longest matching origin. A secondary zone
/// past EXPIRE stays in the set, marked expired, so queries for it get SERVFAIL rather than
/// an answer from a parent zone or REFUSED.
#[derive(Debug, Default, Clone)]
pub struct ZoneSet {
    zones: HashMap<Box<[u8]>, ZoneEntry, BuildNameHasher>,
    min_labels: usize,
    max_labels: usize,
}

#[derive(Debug, Clone)]
struct ZoneEntry {
    zone: Arc<Zone>,
    expired: bool,
}

impl ZoneSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a zone (not expired).
    pub fn insert(&mut self, zone: Arc<Zone>) {
        let labels = zone.origin_label_count();
        self.min_labels = if self.zones.is_empty() {
            labels
        } else {
            self.min_labels.min(labels)
        };
        self.max_labels = self.max_labels.max(labels);
        self.zones.insert(
            zone.origin().into(),
            ZoneEntry {
                zone,
                expired: false,
            },
        );
    }

    /// Marks a zone expired (or serving again). Returns whether the zone is in the set.
    pub fn set_expired(&mut self, origin: &[u8], expired: bool) -> bool {
        match self.zones.get_mut(origin) {
            Some(entry) => {
                entry.expired = expired;
                true
            }
            None => false,
        }
    }

    /// Removes a zone by origin.
    pub fn remove(&mut self, origin: &[u8]) -> Option<Arc<Zone>> {
        self.zones.remove(origin).map(|e| e.zone)
    }

    /// The zone with exactly this origin.
    pub fn get(&self, origin: &[u8]) -> Option<&Arc<Zone>> {
        self.zones.get(origin).map(|e| &e.zone)
    }

    /// The most specific zone containing `name` (a lowercased name), with whether it expired.
    #[inline]
    pub fn find(&self, name: &dns_wire::Name) -> Option<(&Zone, bool)> {
        if self.zones.is_empty() {
            return None;
        }
        let top = name.label_count().min(self.max_labels);
        (self.min_labels..=top).rev().find_map(|labels| {
            self.zones
                .get(name.suffix(labels))
                .map(|e| (&*e.zone, e.expired))
        })
    }

    /// The most specific zone containing `name` that is not expired.
    #[inline]
    pub fn find_zone(&self, name: &dns_wire::Name) -> Option<&Zone> {
        self.find(name)
            .filter(|(_, expired)| !expired)
            .map(|(zone, _)| zone)
    }

    /// The zones, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Zone>> {
        self.zones.values().map(|e| &e.zone)
    }

    /// Whether the zone with this origin is marked expired.
    pub fn is_expired(&self, origin: &[u8]) -> bool {
        self.zones.get(origin).is_some_and(|e| e.expired)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rrset_of_more_than_65535_records_is_refused() {
        // Its count would not fit the entry's 16 bits (nor any message): refused, where it
        // used to be cut to 65,535 while all the data stayed.
        let rdatas: Vec<[u8; 4]> = (0..65_536u32).map(u32::to_be_bytes).collect();
        let push = |n: usize| {
            let mut arena = ZoneArena::with_capacity(1, 1, 9, n * 6);
            let rrset = (rtype::A, 300, rdatas[..n].iter().map(|r| &r[..]));
            arena.push_node(b"\x07example\x00", std::iter::once(rrset))?;
            Ok::<_, &str>(arena)
        };
        let err = push(65_536).map(|_| ()).unwrap_err();
        assert!(err.contains("more than 65,535 records"), "{err}");
        let arena = push(65_535).expect("65,535 records fit");
        assert_eq!(arena.rrsets[0].count, 65_535);
        assert_eq!(arena.rrsets[0].packed(&arena.rdata).len(), 65_535 * 6);
    }
}
