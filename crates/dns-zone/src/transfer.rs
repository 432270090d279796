//! What zone transfers need from a zone: its records in AXFR order, the difference between
//! two versions (IXFR, RFC 1995), applying differences, and a compact binary snapshot so a
//! secondary can store what it received before serving it (and serve it again at start-up).

use std::collections::HashMap;

use dns_wire::Record;
use dns_wire::types::{class, rtype};

use crate::build::ZoneBuilder;
use crate::difference::Diff;
use crate::error::{Problem, Severity, ZoneError};
use crate::hash::hash_bytes;
use crate::patch::patch;
use crate::zone::{Node, Zone};

/// One record of a zone, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordRef<'z> {
    /// Owner, lowercased wire form.
    pub owner: &'z [u8],
    /// Type.
    pub rtype: u16,
    /// TTL.
    pub ttl: u32,
    /// RDATA in wire form.
    pub rdata: &'z [u8],
}

impl RecordRef<'_> {
    /// An owned copy (class IN).
    pub fn to_owned_record(&self) -> Record {
        Record {
            owner: self.owner.to_vec(),
            rtype: self.rtype,
            class: class::IN,
            ttl: self.ttl,
            rdata: self.rdata.to_vec(),
        }
    }
}

impl Zone {
    /// Every record, the apex SOA first and not repeated (RFC 5936 §2.2: the caller sends
    /// the SOA again at the end).
    pub fn records(&self) -> impl Iterator<Item = RecordRef<'_>> {
        let soa = self.soa().into_iter().map(|soa| RecordRef {
            owner: self.origin(),
            rtype: rtype::SOA,
            ttl: soa.ttl,
            rdata: soa.first(),
        });
        let origin = self.origin();
        let rest = self.nodes().flat_map(move |node| {
            node.rrsets()
                .filter(move |r| !(r.rtype == rtype::SOA && node.name == origin))
                .flat_map(move |rrset| {
                    rrset.rdatas().map(move |rdata| RecordRef {
                        owner: node.name,
                        rtype: rrset.rtype,
                        ttl: rrset.ttl,
                        rdata,
                    })
                })
        });
        soa.chain(rest)
    }

    /// The apex SOA as a record.
    pub fn soa_record(&self) -> Option<Record> {
        self.records()
            .next()
            .filter(|r| r.rtype == rtype::SOA)
            .map(|r| r.to_owned_record())
    }
}

/// The difference between two versions of a zone. `None` when either has no SOA.
pub fn diff(old: &Zone, new: &Zone) -> Option<Diff> {
    diff_splitting_from(old, new, PARALLEL_DIFF_NODES)
}

/// [`diff`], on two threads from `parallel_from` nodes.
fn diff_splitting_from(old: &Zone, new: &Zone, parallel_from: usize) -> Option<Diff> {
    let old_soa = old.soa_record()?;
    let new_soa = new.soa_record()?;
    let (old_count, new_count) = (old.node_count(), new.node_count());
    // A large zone is walked in two halves at once, split where both versions have the
    // same name (any split is correct: every node of each version is visited once).
    let split = (old_count >= parallel_from)
        .then_some(old_count / 2)
        .filter(|&i| i < old.regular_node_count())
        .and_then(|i| Some((i, new.find_index(old.node(i).name)?)));
    let (removed, added) = match split {
        Some((i, j)) => std::thread::scope(|scope| {
            let second = scope.spawn(|| walk(old, new, i..old_count, j..new_count));
            let (mut removed, mut added) = walk(old, new, 0..i, 0..j);
            // A panic in the walk is a bug: let it surface as one.
            let (more_removed, more_added) = second
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            removed.extend(more_removed);
            added.extend(more_added);
            (removed, added)
        }),
        None => walk(old, new, 0..old_count, 0..new_count),
    };
    Some(Diff {
        old_soa,
        new_soa,
        removed,
        added,
    })
}

/// From this many nodes a difference is computed on two threads.
const PARALLEL_DIFF_NODES: usize = 200_000;

/// The records removed and added between `old` nodes `olds` and `new` nodes `news`.
///
/// Each node of the old version gives the records its namesake in the new one lacks
/// (removed), each node of the new version those its old namesake lacks (added). Both
/// versions list their nodes in the same order (one builder made both), so they are
/// walked side by side: a pair with the same name and the same packed data (most of a
/// large zone) is passed with one comparison, and only elsewhere is a node looked up in
/// the other version. A name in one version only advances that side, so the walk comes
/// back into step after an insertion or a removal.
fn walk(
    old: &Zone,
    new: &Zone,
    olds: std::ops::Range<usize>,
    news: std::ops::Range<usize>,
) -> (Vec<Record>, Vec<Record>) {
    let mut removed = Vec::new();
    let mut added = Vec::new();
    let (mut i, mut j) = (olds.start, news.start);
    let (old_end, new_end) = (olds.end, news.end);
    while i < old_end || j < new_end {
        let a = (i < old_end).then(|| old.node(i));
        let b = (j < new_end).then(|| new.node(j));
        match (a, b) {
            (Some(a), Some(b)) if a.name == b.name => {
                if !a.same_data(&b) {
                    missing_from(old, a, Some(b), &mut removed);
                    missing_from(new, b, Some(a), &mut added);
                }
                i += 1;
                j += 1;
            }
            (a, b) => {
                let a_peer = a.map(|a| counterpart(new, a));
                let b_peer = b.map(|b| counterpart(old, b));
                let a_is_gone = matches!(a_peer, Some(None));
                let b_is_new = matches!(b_peer, Some(None));
                if let (Some(a), Some(peer)) = (a, a_peer) {
                    if !b_is_new || a_is_gone {
                        missing_from(old, a, peer, &mut removed);
                        i += 1;
                    }
                }
                if let (Some(b), Some(peer)) = (b, b_peer) {
                    if !a_is_gone || b_is_new {
                        missing_from(new, b, peer, &mut added);
                        j += 1;
                    }
                }
            }
        }
    }
    (removed, added)
}

/// The node of `other` with the name of `node`, wherever it is there: a name may be an
/// NSEC3 owner in one version and a regular name in the other.
fn counterpart<'o>(other: &'o Zone, node: Node<'_>) -> Option<Node<'o>> {
    other.find_any_index(node.name).map(|i| other.node(i))
}

/// Appends the records of `node` (of `zone`) that `peer` lacks; the apex SOA is left out.
fn missing_from(zone: &Zone, node: Node<'_>, peer: Option<Node<'_>>, out: &mut Vec<Record>) {
    let at_apex = node.name == zone.origin();
    for rrset in node.rrsets() {
        if at_apex && rrset.rtype == rtype::SOA {
            continue;
        }
        let theirs = peer
            .and_then(|p| p.rrset(rrset.rtype))
            .filter(|r| r.ttl == rrset.ttl);
        for rdata in rrset.rdatas() {
            if !theirs.is_some_and(|t| t.rdatas().any(|d| d == rdata)) {
                out.push(Record {
                    owner: node.name.to_vec(),
                    rtype: rrset.rtype,
                    class: class::IN,
                    ttl: rrset.ttl,
                    rdata: rdata.to_vec(),
                });
            }
        }
    }
}

/// Up to this many differences are patched one after another (each patch copies the
/// zone's RRsets and RDATA once); longer sequences are built.
const PATCHED_SEQUENCE: usize = 8;

/// Applies difference sequences to `zone` and checks the result like a loaded zone.
pub fn apply(zone: &Zone, diffs: &[Diff]) -> Result<(Zone, Vec<Problem>), ZoneError> {
    if let [only] = diffs {
        return apply_one(zone, only);
    }
    if diffs.len() <= PATCHED_SEQUENCE {
        let mut patched: Option<Zone> = None;
        for diff in diffs {
            patched = patch(patched.as_ref().unwrap_or(zone), diff);
            if patched.is_none() {
                break;
            }
        }
        if let Some(patched) = patched {
            return Ok((patched, Vec::new()));
        }
    }
    let mut records: Vec<Record> = zone
        .records()
        .skip(1)
        .map(|r| r.to_owned_record())
        .collect();
    let mut soa = zone.soa_record();
    for diff in diffs {
        // One pass per difference (a search per removed record would be quadratic).
        let lowered = lowered_owners(diff);
        let mut removals = Removals::new(diff, &lowered);
        records.retain(|r| !removals.removes(&r.owner, r.rtype, &r.rdata));
        removals.all_found()?;
        records.extend(diff.added.iter().cloned());
        soa = Some(diff.new_soa.clone());
    }
    let mut builder = ZoneBuilder::new(zone.origin(), "<ixfr>");
    for record in soa.iter().chain(&records) {
        builder.add_record(record);
    }
    builder.finish()
}

/// [`apply`] for a single difference (an IXFR from the previous version, the usual case):
/// patched in place when it only changes data ([`patch`]); otherwise the zone's records go
/// straight into the builder, without an owned copy of each first
/// (two allocations per record, most of the time of a small change to a large zone).
fn apply_one(zone: &Zone, diff: &Diff) -> Result<(Zone, Vec<Problem>), ZoneError> {
    match patch(zone, diff) {
        Some(patched) => Ok((patched, Vec::new())),
        None => rebuild_one(zone, diff),
    }
}

/// [`apply_one`] by a build: the zone's records less the removed ones, then the added
/// ones, into a [`ZoneBuilder`], which checks the result as a loaded zone.
pub(crate) fn rebuild_one(zone: &Zone, diff: &Diff) -> Result<(Zone, Vec<Problem>), ZoneError> {
    let lowered = lowered_owners(diff);
    let mut removals = Removals::new(diff, &lowered);
    let mut builder = ZoneBuilder::new(zone.origin(), "<ixfr>");
    builder.add_record(&diff.new_soa);
    for record in zone.records().skip(1) {
        if removals.removes(record.owner, record.rtype, record.rdata) {
            continue;
        }
        builder.add(
            record.owner,
            record.rtype,
            class::IN,
            record.ttl,
            record.rdata,
        );
    }
    removals.all_found()?;
    for record in &diff.added {
        builder.add_record(record);
    }
    builder.finish()
}

/// The owners of a difference's removed records, lowercased (the zone's are by
/// construction), for [`Removals`] to borrow.
fn lowered_owners(diff: &Diff) -> Vec<Vec<u8>> {
    diff.removed
        .iter()
        .map(|r| r.owner.to_ascii_lowercase())
        .collect()
}

/// The records a difference removes, checked off as the zone's records go by.
struct Removals<'d> {
    diff: &'d Diff,
    gone: HashMap<RecordKey<'d>, usize>,
    found: Vec<bool>,
}

impl<'d> Removals<'d> {
    fn new(diff: &'d Diff, lowered: &'d [Vec<u8>]) -> Self {
        let gone = diff
            .removed
            .iter()
            .zip(lowered)
            .enumerate()
            .map(|(i, (r, owner))| ((owner.as_slice(), r.rtype, r.rdata.as_slice()), i))
            .collect();
        Self {
            diff,
            gone,
            found: vec![false; diff.removed.len()],
        }
    }

    /// Whether the difference removes this record (which is then checked off).
    fn removes(&mut self, owner: &[u8], rtype: u16, rdata: &[u8]) -> bool {
        match self.gone.get(&(owner, rtype, rdata)) {
            Some(&i) => {
                self.found[i] = true;
                true
            }
            None => false,
        }
    }

    /// An error naming a removed record the zone did not have.
    fn all_found(&self) -> Result<(), ZoneError> {
        match self.found.iter().position(|f| !f) {
            Some(missing) => Err(error(format!(
                "IXFR removes a record the zone does not have: {}",
                describe(&self.diff.removed[missing])
            ))),
            None => Ok(()),
        }
    }
}

/// What identifies a record in a zone: owner (lowercase), type and RDATA; TTL and class
/// do not.
type RecordKey<'a> = (&'a [u8], u16, &'a [u8]);

fn describe(record: &Record) -> String {
    format!(
        "{} type {}",
        dns_wire::name_to_text(&record.owner),
        record.rtype
    )
}

pub(crate) fn error(message: String) -> ZoneError {
    ZoneError {
        problems: vec![Problem {
            severity: Severity::Error,
            file: "<transfer>".into(),
            line: 0,
            message,
        }],
    }
}

/// Builds a zone from transferred records (AXFR: SOA first; a trailing SOA is ignored).
pub fn zone_from_records(
    origin: &[u8],
    records: &[Record],
) -> Result<(Zone, Vec<Problem>), ZoneError> {
    let mut builder = ZoneBuilder::new(origin, "<axfr>");
    let body = match records.last() {
        Some(last) if records.len() > 1 && last.rtype == rtype::SOA => {
            &records[..records.len() - 1]
        }
        _ => records,
    };
    for record in body {
        builder.add_record(record);
    }
    builder.finish()
}

const SNAPSHOT_MAGIC: &[u8; 8] = b"ANYNSZ1\n";

/// Encodes a zone as a snapshot: magic, origin, record count, records (as in the journal),
/// and a 64-bit check over everything before it.
pub fn encode_snapshot(zone: &Zone) -> Vec<u8> {
    let mut snapshot = SnapshotWriter::new(zone.origin(), zone.heap_size() + 64);
    for record in zone.records() {
        snapshot.add(
            record.owner,
            record.rtype,
            class::IN,
            record.ttl,
            record.rdata,
        );
    }
    snapshot.finish()
}

/// A snapshot written record by record, in the format of [`encode_snapshot`]: a secondary
/// writes it as a whole-zone transfer arrives, so that it can be stored while the zone is
/// built. Any order of the records gives back the same zone.
#[derive(Debug)]
pub struct SnapshotWriter {
    out: Vec<u8>,
    count: u64,
    /// Where the record count goes once known.
    count_at: usize,
}

impl SnapshotWriter {
    /// A snapshot of the zone `origin`, its buffer sized for `capacity` octets.
    pub fn new(origin: &[u8], capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity);
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.push(origin.len() as u8);
        out.extend_from_slice(origin);
        let count_at = out.len();
        out.extend_from_slice(&0u64.to_be_bytes());
        Self {
            out,
            count: 0,
            count_at,
        }
    }

    /// Adds a record of the zone (one [`crate::ZoneBuilder`] accepted).
    pub fn add(&mut self, owner: &[u8], rtype: u16, rclass: u16, ttl: u32, rdata: &[u8]) {
        put_record_parts(&mut self.out, owner, rtype, rclass, ttl, rdata);
        self.count += 1;
    }

    /// The snapshot's octets: the record count filled in, the check appended.
    pub fn finish(mut self) -> Vec<u8> {
        self.out[self.count_at..self.count_at + 8].copy_from_slice(&self.count.to_be_bytes());
        let check = hash_bytes(&self.out);
        self.out.extend_from_slice(&check.to_be_bytes());
        self.out
    }
}

/// Decodes and checks a snapshot written by [`encode_snapshot`] for `origin`.
pub fn decode_snapshot(bytes: &[u8], origin: &[u8]) -> Result<(Zone, Vec<Problem>), ZoneError> {
    let mut cursor = Cursor::open(bytes, SNAPSHOT_MAGIC, "zone snapshot")?;
    let origin_len = cursor.take(1)?[0] as usize;
    if !cursor.take(origin_len)?.eq_ignore_ascii_case(origin) {
        return Err(error("zone snapshot: of another zone".into()));
    }
    let count = u64::from(cursor.u32()?) << 32 | u64::from(cursor.u32()?);
    let mut builder = ZoneBuilder::new(origin, "<snapshot>");
    for _ in 0..count {
        builder.add_record(&cursor.record()?);
    }
    builder.finish()
}

pub(crate) fn put_record(out: &mut Vec<u8>, record: &Record) {
    put_record_parts(
        out,
        &record.owner,
        record.rtype,
        record.class,
        record.ttl,
        &record.rdata,
    );
}

fn put_record_parts(
    out: &mut Vec<u8>,
    owner: &[u8],
    rtype: u16,
    rclass: u16,
    ttl: u32,
    rdata: &[u8],
) {
    out.push(owner.len() as u8);
    out.extend_from_slice(owner);
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&rclass.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
}

/// Reads a snapshot or journal body front to back.
pub(crate) struct Cursor<'a> {
    body: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    /// A cursor over `body` (checked by the caller), from its start.
    pub(crate) fn over(body: &'a [u8], what: &'static str) -> Self {
        Self { body, at: 0, what }
    }

    /// Checks the magic and the trailing check of `bytes`; the cursor starts after the magic.
    fn open(bytes: &'a [u8], magic: &[u8; 8], what: &'static str) -> Result<Self, ZoneError> {
        let bad = |why: &str| error(format!("{what}: {why}"));
        let body_len = bytes.len().checked_sub(8).ok_or_else(|| bad("too short"))?;
        let (body, check) = bytes.split_at(body_len);
        if !body.starts_with(magic) {
            return Err(bad("bad magic"));
        }
        if hash_bytes(body).to_be_bytes() != check {
            return Err(bad("checksum mismatch (truncated or corrupt)"));
        }
        Ok(Self {
            body,
            at: magic.len(),
            what,
        })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ZoneError> {
        let what = self.what;
        let slice = self
            .body
            .get(self.at..self.at + n)
            .ok_or_else(|| error(format!("{what}: truncated")))?;
        self.at += n;
        Ok(slice)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ZoneError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn record(&mut self) -> Result<Record, ZoneError> {
        let owner_len = self.take(1)?[0] as usize;
        let owner = self.take(owner_len)?.to_vec();
        let fixed = self.take(10)?;
        let rdlen = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        Ok(Record {
            owner,
            rtype: u16::from_be_bytes([fixed[0], fixed[1]]),
            class: u16::from_be_bytes([fixed[2], fixed[3]]),
            ttl: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            rdata: self.take(rdlen)?.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_zone_str;

    /// Whether `zone` has exactly this record (same TTL too: a TTL change is a change).
    fn contains(zone: &Zone, record: &RecordRef<'_>) -> bool {
        zone.find(record.owner).is_some_and(|node| {
            node.rrset(record.rtype).is_some_and(|rrset| {
                rrset.ttl == record.ttl && rrset.rdatas().any(|d| d == record.rdata)
            })
        })
    }

    const V1: &str = "$ORIGIN example.\n$TTL 300\n@ SOA ns hm 1 2 3 4 60\n@ NS ns\nns A 192.0.2.1\n\
                      www A 192.0.2.2\nold TXT \"gone soon\"\n";
    const V2: &str = "$ORIGIN example.\n$TTL 300\n@ SOA ns hm 2 2 3 4 60\n@ NS ns\nns A 192.0.2.1\n\
                      www A 192.0.2.3\nnew TXT \"hello\"\n";

    fn zone(text: &str) -> Zone {
        load_zone_str(text, b"\x07example\x00").unwrap().0
    }

    #[test]
    fn records_start_with_the_soa_once() {
        let z = zone(V1);
        let records: Vec<_> = z.records().collect();
        assert_eq!(records.len(), 5);
        assert_eq!(records[0].rtype, rtype::SOA);
        assert_eq!(records.iter().filter(|r| r.rtype == rtype::SOA).count(), 1);
    }

    #[test]
    fn diff_then_apply_gives_the_new_version() {
        let (v1, v2) = (zone(V1), zone(V2));
        let d = diff(&v1, &v2).unwrap();
        assert_eq!((d.from_serial(), d.to_serial()), (1, 2));
        assert_eq!(d.removed.len(), 2, "{:?}", d.removed);
        assert_eq!(d.added.len(), 2);
        let (applied, _) = apply(&v1, &[d]).unwrap();
        assert_eq!(applied.serial(), 2);
        let mut got: Vec<_> = applied.records().map(|r| r.to_owned_record()).collect();
        let mut want: Vec<_> = v2.records().map(|r| r.to_owned_record()).collect();
        got.sort_by(|a, b| (&a.owner, a.rtype, &a.rdata).cmp(&(&b.owner, b.rtype, &b.rdata)));
        want.sort_by(|a, b| (&a.owner, a.rtype, &a.rdata).cmp(&(&b.owner, b.rtype, &b.rdata)));
        assert_eq!(got, want);
    }

    #[test]
    fn the_side_by_side_diff_finds_what_lookups_find() {
        // Insertions, removals, changed RDATA and TTLs, at the start, middle and end.
        let names = |skip: &[usize], changed: &[usize], ttl: &[usize], extra: &[&str]| {
            let mut text =
                String::from("$ORIGIN example.\n$TTL 300\n@ SOA ns hm 1 2 3 4 60\n@ NS ns\n");
            for i in 0..200 {
                if skip.contains(&i) {
                    continue;
                }
                let last = if changed.contains(&i) { 99 } else { i % 250 };
                let t = if ttl.contains(&i) { 60 } else { 300 };
                text.push_str(&format!("h{i} {t} A 192.0.2.{last}\nh{i} TXT \"n{i}\"\n"));
            }
            for line in extra {
                text.push_str(line);
            }
            zone(&text)
        };
        let old = names(&[5, 6], &[], &[], &["a0 A 192.0.2.1\n"]);
        let new = names(
            &[0, 100, 199],
            &[7, 50, 198],
            &[120],
            &["zz A 192.0.2.2\nh5 A 192.0.2.5\n"],
        );
        let d = diff(&old, &new).unwrap();
        let key = |r: &Record| (r.owner.clone(), r.rtype, r.ttl, r.rdata.clone());
        let mut removed: Vec<_> = d.removed.iter().map(key).collect();
        let mut added: Vec<_> = d.added.iter().map(key).collect();
        let brute = |from: &Zone, to: &Zone| {
            let mut out: Vec<_> = from
                .records()
                .skip(1)
                .filter(|r| !contains(to, r))
                .map(|r| key(&r.to_owned_record()))
                .collect();
            out.sort();
            out
        };
        removed.sort();
        added.sort();
        assert_eq!(removed, brute(&old, &new));
        assert_eq!(added, brute(&new, &old));
        // Walked in two halves at once, the same records.
        let halves = diff_splitting_from(&old, &new, 1).unwrap();
        let mut removed_halves: Vec<_> = halves.removed.iter().map(key).collect();
        let mut added_halves: Vec<_> = halves.added.iter().map(key).collect();
        removed_halves.sort();
        added_halves.sort();
        assert_eq!(
            (removed_halves, added_halves),
            (removed.clone(), added.clone())
        );
        assert_eq!(removed.len(), 2 * 3 + 3 + 1 + 1, "{removed:?}");
    }

    #[test]
    fn the_walk_finds_nsec3_owners_by_name() {
        // NSEC3 owners are not in the name table: a changed one is still matched by name.
        let text = include_str!("../testdata/sec-nsec3.zone");
        let origin = b"\x09sec-nsec3\x00";
        let old = load_zone_str(text, origin).unwrap().0;
        let changed = text.replacen(" 2024010101 ", " 2024010102 ", 1).replacen(
            "300\tIN\tNSEC3\t",
            "200\tIN\tNSEC3\t",
            1,
        );
        let new = load_zone_str(&changed, origin).unwrap().0;
        let d = diff(&old, &new).unwrap();
        assert_eq!((d.removed.len(), d.added.len()), (1, 1), "{d:?}");
        assert_eq!(
            (d.removed[0].rtype, d.added[0].rtype),
            (rtype::NSEC3, rtype::NSEC3)
        );
        assert_eq!((d.removed[0].ttl, d.added[0].ttl), (300, 200));
        let (applied, _) = apply(&old, &[d]).unwrap();
        let listing = |z: &Zone| {
            let mut all: Vec<Record> = z.records().map(|r| r.to_owned_record()).collect();
            all.sort_by(|a, b| (&a.owner, a.rtype, &a.rdata).cmp(&(&b.owner, b.rtype, &b.rdata)));
            all
        };
        assert_eq!(listing(&applied), listing(&new));
    }

    #[test]
    fn one_difference_and_a_sequence_apply_alike() {
        // `apply` takes a shortcut for a single difference; a sequence goes the long way.
        let (v1, v2) = (zone(V1), zone(V2));
        let v3 = zone(&V2.replace(" 2 ", " 3 ").replace("192.0.2.", "198.51.100."));
        let (d12, d23) = (diff(&v1, &v2).unwrap(), diff(&v2, &v3).unwrap());
        let listing = |z: &Zone| -> Vec<Record> {
            let mut all: Vec<Record> = z.records().map(|r| r.to_owned_record()).collect();
            all.sort_by(|a, b| (&a.owner, a.rtype, &a.rdata).cmp(&(&b.owner, b.rtype, &b.rdata)));
            all
        };
        let (step1, _) = apply(&v1, std::slice::from_ref(&d12)).unwrap();
        let (stepwise, _) = apply(&step1, std::slice::from_ref(&d23)).unwrap();
        let (at_once, _) = apply(&v1, &[d12, d23]).unwrap();
        assert_eq!(stepwise.serial(), 3);
        assert_eq!(listing(&stepwise), listing(&at_once));
        assert_eq!(listing(&stepwise), listing(&v3));
    }

    #[test]
    fn apply_refuses_to_remove_what_is_not_there() {
        let (v1, v2) = (zone(V1), zone(V2));
        let d = diff(&v1, &v2).unwrap();
        let (v2_zone, _) = apply(&v1, std::slice::from_ref(&d)).unwrap();
        assert!(apply(&v2_zone, &[d]).is_err());
    }

    #[test]
    fn snapshot_round_trip_and_corruption() {
        let z = zone(V2);
        let bytes = encode_snapshot(&z);
        let (back, _) = decode_snapshot(&bytes, b"\x07example\x00").unwrap();
        assert_eq!(back.serial(), 2);
        assert_eq!(back.record_count(), z.record_count());
        assert!(decode_snapshot(&bytes[..bytes.len() - 3], b"\x07example\x00").is_err());
        let mut flipped = bytes.clone();
        flipped[20] ^= 1;
        assert!(decode_snapshot(&flipped, b"\x07example\x00").is_err());
        assert!(decode_snapshot(&bytes, b"\x03net\x00").is_err());
    }

    #[test]
    fn axfr_records_build_a_zone() {
        let z = zone(V1);
        let mut records: Vec<Record> = z.records().map(|r| r.to_owned_record()).collect();
        records.push(records[0].clone());
        let (built, _) = zone_from_records(b"\x07example\x00", &records).unwrap();
        assert_eq!(built.serial(), 1);
        assert_eq!(built.record_count(), 5);
    }
}
