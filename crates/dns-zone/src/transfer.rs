//! What zone transfers need from a zone: its records in AXFR order, the difference between
//! two versions (IXFR, RFC 1995), applying differences, and a compact binary snapshot so a
//! secondary can store what it received before serving it (and serve it again at start-up).

use std::collections::HashMap;

use dns_wire::Record;
use dns_wire::types::{class, rtype};

use crate::build::ZoneBuilder;
use crate::error::{Problem, Severity, ZoneError};
use crate::hash::hash_bytes;
use crate::zone::Zone;

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

/// The change from one version of a zone to the next (one IXFR "difference sequence").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diff {
    /// The SOA before.
    pub old_soa: Record,
    /// The SOA after.
    pub new_soa: Record,
    /// Records removed (SOA excluded).
    pub removed: Vec<Record>,
    /// Records added (SOA excluded).
    pub added: Vec<Record>,
}

impl Diff {
    /// Serial before.
    pub fn from_serial(&self) -> u32 {
        soa_serial(&self.old_soa.rdata).unwrap_or(0)
    }

    /// Serial after.
    pub fn to_serial(&self) -> u32 {
        soa_serial(&self.new_soa.rdata).unwrap_or(0)
    }
}

/// The SOA serial in SOA RDATA.
pub fn soa_serial(rdata: &[u8]) -> Option<u32> {
    let fixed = rdata.get(rdata.len().checked_sub(20)?..)?;
    Some(u32::from_be_bytes(fixed[..4].try_into().ok()?))
}

/// The difference between two versions of a zone. `None` when either has no SOA.
pub fn diff(old: &Zone, new: &Zone) -> Option<Diff> {
    let old_soa = old.soa_record()?;
    let new_soa = new.soa_record()?;
    let mut removed = Vec::new();
    let mut added = Vec::new();
    let is_soa = |r: &RecordRef<'_>, zone: &Zone| r.rtype == rtype::SOA && r.owner == zone.origin();
    // Both versions list their records in the same order (one builder made both), so they
    // are walked side by side and only where they differ is a record looked up in the other
    // version: a lookup per record of both (a cache miss each in a large zone) took half a
    // second for a million records changed by 1%.
    let mut before = old.records().filter(|r| !is_soa(r, old)).peekable();
    let mut after = new.records().filter(|r| !is_soa(r, new)).peekable();
    loop {
        match (before.peek(), after.peek()) {
            (None, None) => break,
            (Some(a), Some(b)) if same_record(a, b) => {
                before.next();
                after.next();
            }
            (Some(a), Some(b)) => {
                // Added here, or removed there; or both elsewhere in the other version.
                let b_is_new = !contains(old, b);
                let a_is_gone = !contains(new, a);
                if b_is_new {
                    added.push(b.to_owned_record());
                    after.next();
                }
                if a_is_gone {
                    removed.push(a.to_owned_record());
                    before.next();
                }
                if !b_is_new && !a_is_gone {
                    before.next();
                    after.next();
                }
            }
            (Some(a), None) => {
                if !contains(new, a) {
                    removed.push(a.to_owned_record());
                }
                before.next();
            }
            (None, Some(b)) => {
                if !contains(old, b) {
                    added.push(b.to_owned_record());
                }
                after.next();
            }
        }
    }
    Some(Diff {
        old_soa,
        new_soa,
        removed,
        added,
    })
}

/// Whether two records are the same (owner, type, TTL and RDATA).
fn same_record(a: &RecordRef<'_>, b: &RecordRef<'_>) -> bool {
    a.rtype == b.rtype && a.ttl == b.ttl && a.owner == b.owner && a.rdata == b.rdata
}

/// Whether `zone` has exactly this record (same TTL too: a TTL change is a change).
fn contains(zone: &Zone, record: &RecordRef<'_>) -> bool {
    zone.find(record.owner).is_some_and(|node| {
        node.rrset(record.rtype).is_some_and(|rrset| {
            rrset.ttl == record.ttl && rrset.rdatas().any(|d| d == record.rdata)
        })
    })
}

/// Applies difference sequences to `zone` and checks the result like a loaded zone.
pub fn apply(zone: &Zone, diffs: &[Diff]) -> Result<(Zone, Vec<Problem>), ZoneError> {
    if let [only] = diffs {
        return apply_one(zone, only);
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
        builder.add(
            &record.owner,
            record.rtype,
            record.class,
            record.ttl,
            &record.rdata,
        );
    }
    builder.finish()
}

/// [`apply`] for a single difference (an IXFR from the previous version, the usual case):
/// the zone's records go straight into the builder, without an owned copy of each first
/// (two allocations per record, most of the time of a small change to a large zone).
fn apply_one(zone: &Zone, diff: &Diff) -> Result<(Zone, Vec<Problem>), ZoneError> {
    let lowered = lowered_owners(diff);
    let mut removals = Removals::new(diff, &lowered);
    let mut builder = ZoneBuilder::new(zone.origin(), "<ixfr>");
    let soa = &diff.new_soa;
    builder.add(&soa.owner, soa.rtype, soa.class, soa.ttl, &soa.rdata);
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
        builder.add(
            &record.owner,
            record.rtype,
            record.class,
            record.ttl,
            &record.rdata,
        );
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

fn error(message: String) -> ZoneError {
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
        builder.add(
            &record.owner,
            record.rtype,
            record.class,
            record.ttl,
            &record.rdata,
        );
    }
    builder.finish()
}

const SNAPSHOT_MAGIC: &[u8; 8] = b"ANYNSZ1\n";

/// Encodes a zone as a snapshot: magic, origin, record count, records (as in the journal),
/// and a 64-bit check over everything before it.
pub fn encode_snapshot(zone: &Zone) -> Vec<u8> {
    let mut out = Vec::with_capacity(zone.heap_size() + 64);
    out.extend_from_slice(SNAPSHOT_MAGIC);
    out.push(zone.origin().len() as u8);
    out.extend_from_slice(zone.origin());
    out.extend_from_slice(&(zone.record_count() as u64).to_be_bytes());
    for record in zone.records() {
        put_record_parts(
            &mut out,
            record.owner,
            record.rtype,
            class::IN,
            record.ttl,
            record.rdata,
        );
    }
    let check = hash_bytes(&out);
    out.extend_from_slice(&check.to_be_bytes());
    out
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
        let record = cursor.record()?;
        builder.add(
            &record.owner,
            record.rtype,
            record.class,
            record.ttl,
            &record.rdata,
        );
    }
    builder.finish()
}

const JOURNAL_MAGIC: &[u8; 8] = b"ANYNSJ1\n";

fn put_record(out: &mut Vec<u8>, record: &Record) {
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

/// Encodes a journal (differences, oldest first) with a trailing 64-bit check.
pub fn encode_journal(diffs: &[Diff]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(JOURNAL_MAGIC);
    out.extend_from_slice(&(diffs.len() as u32).to_be_bytes());
    for diff in diffs {
        put_record(&mut out, &diff.old_soa);
        out.extend_from_slice(&(diff.removed.len() as u32).to_be_bytes());
        diff.removed.iter().for_each(|r| put_record(&mut out, r));
        put_record(&mut out, &diff.new_soa);
        out.extend_from_slice(&(diff.added.len() as u32).to_be_bytes());
        diff.added.iter().for_each(|r| put_record(&mut out, r));
    }
    let check = hash_bytes(&out);
    out.extend_from_slice(&check.to_be_bytes());
    out
}

/// Decodes a journal written by [`encode_journal`].
pub fn decode_journal(bytes: &[u8]) -> Result<Vec<Diff>, ZoneError> {
    let mut cursor = Cursor::open(bytes, JOURNAL_MAGIC, "journal")?;
    let count = cursor.u32()?;
    let mut diffs = Vec::new();
    for _ in 0..count {
        let old_soa = cursor.record()?;
        let removed = (0..cursor.u32()?)
            .map(|_| cursor.record())
            .collect::<Result<_, _>>()?;
        let new_soa = cursor.record()?;
        let added = (0..cursor.u32()?)
            .map(|_| cursor.record())
            .collect::<Result<_, _>>()?;
        diffs.push(Diff {
            old_soa,
            new_soa,
            removed,
            added,
        });
    }
    Ok(diffs)
}

/// Reads a snapshot or journal body front to back.
struct Cursor<'a> {
    body: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
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

    fn u32(&mut self) -> Result<u32, ZoneError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn record(&mut self) -> Result<Record, ZoneError> {
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
        assert_eq!(removed.len(), 2 * 3 + 3 + 1 + 1, "{removed:?}");
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
    fn journal_round_trip_and_corruption() {
        let (v1, v2) = (zone(V1), zone(V2));
        let journal = vec![diff(&v1, &v2).unwrap()];
        let bytes = encode_journal(&journal);
        assert_eq!(decode_journal(&bytes).unwrap(), journal);
        assert!(decode_journal(&bytes[..bytes.len() - 1]).is_err());
        assert_eq!(decode_journal(&encode_journal(&[])).unwrap(), vec![]);
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
