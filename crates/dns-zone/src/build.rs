//! Turning a list of records into a [`Zone`]: grouping into RRsets, dropping duplicates
//! (RFC 2181 §5), adding empty non-terminals, and running the semantic checks.
//!
//! Records wait in compact form: owners and RDATA in one byte arena, records as spans into
//! it, so a million-record zone costs a few allocations rather than millions (loading time
//! was dominated by page faults of per-record allocations).

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use dns_wire::types::{class, rtype};

use crate::check::check_zone;
use crate::dnssec::{check_signature_expiry, earliest_expiration, index_denial};
use crate::error::{Problem, Severity, ZoneError};
use crate::hash::BuildNameHasher;
use crate::pending::{Pending, PendingNode, PendingRrset, Source, Span, is_at_or_below};
use crate::table::NameTable;
use crate::zone::{Zone, ZoneArena};

/// A record as the builder holds it, for tests: (owner, type, TTL, RDATA, line).
#[cfg(test)]
pub(crate) type RecordAsRead = (Vec<u8>, u16, u32, Vec<u8>, u32);

/// A builder's size at one moment (see [`ZoneBuilder::checkpoint`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checkpoint {
    bytes: usize,
    records: usize,
    problems: usize,
}

/// A record as read, before grouping.
#[derive(Clone, Copy, Debug)]
struct PendingRecord {
    owner: Span,
    rdata: Span,
    ttl: u32,
    rtype: u16,
    source: Source,
}

/// Collects records for one zone and builds it.
#[derive(Debug)]
pub struct ZoneBuilder {
    origin: Box<[u8]>,
    files: Vec<Arc<str>>,
    bytes: Vec<u8>,
    records: Vec<PendingRecord>,
    problems: Vec<Problem>,
    /// (now, window) for the signature expiry warning.
    signature_check: Option<(u64, u32)>,
}

impl ZoneBuilder {
    /// A builder for the zone `origin` (wire form, any case) read from `file`.
    pub fn new(origin: &[u8], file: &str) -> Self {
        Self {
            origin: origin.to_ascii_lowercase().into_boxed_slice(),
            files: vec![file.into()],
            bytes: Vec::new(),
            records: Vec::new(),
            problems: Vec::new(),
            signature_check: None,
        }
    }

    /// Adds a record (owner in wire form, any case); returns whether it was taken. Records
    /// outside the zone or of another class are reported as errors and left out.
    pub fn add(&mut self, owner: &[u8], rtype: u16, rclass: u16, ttl: u32, rdata: &[u8]) -> bool {
        let source = Source { file: 0, line: 0 };
        self.add_from(owner, rtype, rclass, ttl, rdata, source)
    }

    /// Adds an owned record (a transfer's, a snapshot's, a journal's), as [`Self::add`].
    pub fn add_record(&mut self, record: &dns_wire::Record) -> bool {
        self.add(
            &record.owner,
            record.rtype,
            record.class,
            record.ttl,
            &record.rdata,
        )
    }

    pub(crate) fn add_from(
        &mut self,
        owner: &[u8],
        rtype: u16,
        rclass: u16,
        ttl: u32,
        rdata: &[u8],
        source: Source,
    ) -> bool {
        // Records of one owner usually follow each other: share the owner's bytes.
        let last_owner = self.records.last().map(|r| r.owner);
        let owner = match last_owner {
            Some(last) if self.bytes[last.range()].eq_ignore_ascii_case(owner) => last,
            _ => {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(owner);
                self.bytes[start..].make_ascii_lowercase();
                Span {
                    start: start as u32,
                    len: owner.len() as u32,
                }
            }
        };
        if !is_at_or_below(&self.bytes[owner.range()], &self.origin) {
            let message = format!(
                "out-of-zone data: {} is not in {}",
                dns_wire::name_to_text(&self.bytes[owner.range()]),
                dns_wire::name_to_text(&self.origin)
            );
            self.problem(&source, Severity::Error, message);
            return false;
        }
        if rclass != class::IN {
            self.problem(
                &source,
                Severity::Error,
                format!("class {rclass} is not IN"),
            );
            return false;
        }
        if rdata.len() > usize::from(u16::MAX) {
            let message = format!("record data too long: {} octets", rdata.len());
            self.problem(&source, Severity::Error, message);
            return false;
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(rdata);
        let rdata = Span {
            start: start as u32,
            len: rdata.len() as u32,
        };
        self.records.push(PendingRecord {
            owner,
            rdata,
            ttl,
            rtype,
            source,
        });
        true
    }

    /// The index of `file` for [`Source`], adding it when new.
    pub(crate) fn file_index(&mut self, file: &str) -> u32 {
        match self.files.iter().position(|f| &**f == file) {
            Some(index) => index as u32,
            None => {
                self.files.push(file.into());
                (self.files.len() - 1) as u32
            }
        }
    }

    pub(crate) fn problem(&mut self, source: &Source, severity: Severity, message: String) {
        self.problems.push(Problem {
            severity,
            file: self.files[source.file as usize].to_string(),
            line: source.line as usize,
            message,
        });
    }

    pub(crate) fn report(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    /// The records added so far: (owner, type, TTL, RDATA, line), for tests that compare
    /// readers.
    #[cfg(test)]
    pub(crate) fn records_as_read(&self) -> Vec<RecordAsRead> {
        self.records
            .iter()
            .map(|r| {
                (
                    self.bytes[r.owner.range()].to_vec(),
                    r.rtype,
                    r.ttl,
                    self.bytes[r.rdata.range()].to_vec(),
                    r.source.line,
                )
            })
            .collect()
    }

    /// The problems reported so far, as text (tests).
    #[cfg(test)]
    pub(crate) fn problems_as_read(&self) -> Vec<String> {
        self.problems.iter().map(|p| p.to_string()).collect()
    }

    /// Where the builder stands now, to [`rollback`](Self::rollback) to.
    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            bytes: self.bytes.len(),
            records: self.records.len(),
            problems: self.problems.len(),
        }
    }

    /// Forgets every record and problem added since `checkpoint`.
    pub(crate) fn rollback(&mut self, checkpoint: Checkpoint) {
        self.bytes.truncate(checkpoint.bytes);
        self.records.truncate(checkpoint.records);
        self.problems.truncate(checkpoint.problems);
    }

    /// The records as read, without the checks a zone must pass (a file of root hints or
    /// trust anchors has no SOA and is not a zone), or every problem when reading found an
    /// error. Owners are lowercased, class IN.
    pub fn into_records(self) -> Result<Vec<dns_wire::Record>, ZoneError> {
        if self.problems.iter().any(|p| p.severity == Severity::Error) {
            return Err(ZoneError {
                problems: self.problems,
            });
        }
        Ok(self
            .records
            .iter()
            .map(|r| dns_wire::Record {
                owner: self.bytes[r.owner.range()].to_ascii_lowercase(),
                rtype: r.rtype,
                class: class::IN,
                ttl: r.ttl,
                rdata: self.bytes[r.rdata.range()].to_vec(),
            })
            .collect())
    }

    /// Builds the zone, or returns every problem when any is an error. Warnings come back
    /// with the zone.
    pub fn finish(mut self) -> Result<(Zone, Vec<Problem>), ZoneError> {
        if u32::try_from(self.bytes.len()).is_err() {
            let problem = Problem {
                severity: Severity::Error,
                file: self.files[0].to_string(),
                line: 0,
                message: "zone data over 4 GiB".into(),
            };
            return Err(ZoneError {
                problems: vec![problem],
            });
        }
        let records = std::mem::take(&mut self.records);
        let mut pending = self.group(records);
        let record_count = pending.rdatas.len(); // duplicates dropped (RFC 2181 §5)
        let apex = pending
            .nodes
            .iter()
            .position(|n| pending.name(n) == &*self.origin);
        match apex {
            Some(at) => pending.nodes.swap(0, at),
            None => {
                let name = pending.push_name(&self.origin);
                pending.nodes.insert(0, PendingNode { name, rrsets: 0..0 });
            }
        }
        // NSEC3 owners live in their own hashed namespace (RFC 5155 §7.2.9): kept after
        // the other nodes, out of the name table and out of the empty non-terminal pass.
        let nsec3_nodes = pending.take_nsec3_nodes();
        let mut table = NameTable::build(pending.nodes.iter().map(|n| pending.name(n)));
        if add_empty_non_terminals(&mut pending, &table, &self.origin) {
            table = NameTable::build(pending.nodes.iter().map(|n| pending.name(n)));
        }
        let regular_nodes = pending.nodes.len();
        pending.nodes.extend(nsec3_nodes);
        let find = |name: &[u8]| {
            table
                .find(name, |i| pending.name(&pending.nodes[i as usize]))
                .map(|i| &pending.nodes[i as usize])
        };
        // A file that could not be read whole: the records after its error are missing,
        // so "no SOA", "no NS" or "missing glue" would only be echoes of it.
        let read_failed = self.problems.iter().any(|p| p.severity == Severity::Error);
        let serial = if read_failed {
            None
        } else {
            check_zone(
                &pending,
                find,
                &self.origin,
                &self.files,
                &mut self.problems,
            )
        };
        let mut problems = self.problems;
        problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
        if problems.iter().any(|p| p.severity == Severity::Error) {
            return Err(ZoneError { problems });
        }
        let names: usize = pending.nodes.iter().map(|n| n.name.len as usize).sum();
        let rdata: usize = pending.rdatas.iter().map(|d| d.len as usize + 2).sum();
        let mut arena =
            ZoneArena::with_capacity(pending.nodes.len(), pending.rrsets.len(), names, rdata);
        for node in &pending.nodes {
            let rrsets = pending
                .rrsets(node)
                .iter()
                .map(|r| (r.rtype, r.ttl, pending.rdatas(r)));
            if let Err(message) = arena.push_node(pending.name(node), rrsets) {
                let problem = Problem {
                    severity: Severity::Error,
                    file: self.files[0].to_string(),
                    line: 0,
                    message: message.into(),
                };
                return Err(ZoneError {
                    problems: vec![problem],
                });
            }
        }
        drop(pending);
        let mut zone = Zone::from_parts(
            arena,
            table,
            regular_nodes,
            serial.unwrap_or(0),
            record_count,
        );
        index_denial(&mut zone, &self.files[0], &mut problems);
        let expiration = earliest_expiration(&zone);
        zone.set_earliest_expiration(expiration);
        if let Some((now, window)) = self.signature_check {
            check_signature_expiry(&zone, now, window, &self.files[0], &mut problems);
        }
        problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
        if problems.iter().any(|p| p.severity == Severity::Error) {
            return Err(ZoneError { problems });
        }
        Ok((zone, problems))
    }

    /// The zone's origin, lowercased wire form.
    #[cfg(test)]
    pub(crate) fn origin(&self) -> &[u8] {
        &self.origin
    }

    /// Warns about signatures that have expired or expire within `window` seconds of `now`
    /// (seconds since 1970; the caller reads the clock, the zone code never does).
    pub fn check_signatures_at(&mut self, now: u64, window: u32) {
        self.signature_check = Some((now, window));
    }

    /// Sorts records by owner and type and folds them into nodes and RRsets, dropping exact
    /// duplicates and taking an RRset's TTL from its first record (RFC 2181 §5.2; a warning
    /// names the record that differed).
    fn group(&mut self, records: Vec<PendingRecord>) -> Pending {
        let bytes = std::mem::take(&mut self.bytes);
        let records = sort_by_owner_and_type(records, &bytes);
        let mut pending = Pending {
            bytes,
            ..Pending::default()
        };
        // The RDATAs of the RRset being grouped, once it is large: the duplicate check stays
        // linear (a file with 65,536 records at one name took minutes without it).
        let mut large_rrset: HashSet<&[u8], BuildNameHasher> = HashSet::default();
        for record in &records {
            let owner = &pending.bytes[record.owner.range()];
            let same_node = pending
                .nodes
                .last()
                .is_some_and(|n| pending.name(n) == owner);
            if !same_node {
                let at = pending.rrsets.len() as u32;
                pending.nodes.push(PendingNode {
                    name: record.owner,
                    rrsets: at..at,
                });
            }
            let same_rrset = same_node
                && pending
                    .rrsets
                    .last()
                    .is_some_and(|r| r.rtype == record.rtype);
            if same_rrset {
                let rrset = pending.rrsets.last().expect("checked above");
                let rdata = &pending.bytes[record.rdata.range()];
                let duplicate = if rrset.rdatas.len() < LARGE_RRSET {
                    pending.rdatas(rrset).any(|existing| existing == rdata)
                } else {
                    if large_rrset.is_empty() {
                        let bytes = &pending.bytes;
                        let range = rrset.rdatas.start as usize..rrset.rdatas.end as usize;
                        large_rrset.extend(
                            pending.rdatas[range]
                                .iter()
                                .map(|span| &bytes[span.range()]),
                        );
                    }
                    !large_rrset.insert(rdata)
                };
                if duplicate {
                    continue;
                }
                // RRSIGs carry the TTL of the RRset they cover (RFC 4034 §3), so they differ.
                if rrset.ttl != record.ttl && record.rtype != rtype::RRSIG {
                    let message = format!(
                        "TTL {} differs from the RRset's TTL {}; using {}",
                        record.ttl, rrset.ttl, rrset.ttl
                    );
                    self.problem(&record.source, Severity::Warning, message);
                }
                pending.rdatas.push(record.rdata);
                let end = pending.rdatas.len() as u32;
                pending.rrsets.last_mut().expect("checked above").rdatas.end = end;
            } else {
                large_rrset.clear();
                let at = pending.rdatas.len() as u32;
                pending.rdatas.push(record.rdata);
                pending.rrsets.push(PendingRrset {
                    rtype: record.rtype,
                    ttl: record.ttl,
                    rdatas: at..at + 1,
                    source: record.source,
                });
                let end = pending.rrsets.len() as u32;
                pending.nodes.last_mut().expect("pushed above").rrsets.end = end;
            }
        }
        pending
    }
}

/// Adds a node without RRsets for every missing ancestor between a name and the origin,
/// so that lookups can tell NXDOMAIN from NODATA (RFC 8020) by the table alone. Returns
/// whether any was added (the table must then be rebuilt).
fn add_empty_non_terminals(pending: &mut Pending, table: &NameTable, origin: &[u8]) -> bool {
    let mut added: HashSet<Box<[u8]>, BuildNameHasher> = HashSet::default();
    for node in &pending.nodes {
        let mut name = pending.name(node);
        while name.len() > origin.len() {
            name = &name[1 + name[0] as usize..];
            let exists = table
                .find(name, |i| pending.name(&pending.nodes[i as usize]))
                .is_some();
            if exists || !added.insert(name.into()) {
                break;
            }
        }
    }
    let any = !added.is_empty();
    for name in added {
        let span = pending.push_name(&name);
        let at = pending.rrsets.len() as u32;
        pending.nodes.push(PendingNode {
            name: span,
            rrsets: at..at,
        });
    }
    any
}

/// From this many records an RRset's duplicates are found by hash.
const LARGE_RRSET: usize = 32;

/// Input with at most this many descents is sorted by merging its runs.
const NEARLY_SORTED_DESCENTS: usize = 16;

/// Orders records by owner (wire bytes, lowercased) and type, stable: the records of an
/// RRset keep the order of the file.
///
/// Records of one owner mostly come together (and then share the owner's span), so runs of
/// them are sorted rather than records: a signed zone has four records per name, and the
/// sort compares a quarter of the names it would otherwise.
fn sort_by_owner_and_type(records: Vec<PendingRecord>, bytes: &[u8]) -> Vec<PendingRecord> {
    let mut runs: Vec<(Span, Range<usize>)> = Vec::new();
    for (index, record) in records.iter().enumerate() {
        match runs.last_mut() {
            Some((owner, range)) if *owner == record.owner => range.end = index + 1,
            _ => runs.push((record.owner, index..index + 1)),
        }
    }
    // The first 16 octets as a number decide most comparisons without touching the arena
    // (zero padding keeps the order: a shorter name ties and is then compared in full); the
    // run's position keeps the sort stable.
    let prefix = |span: Span| {
        let name = &bytes[span.range()];
        let mut key = [0u8; 16];
        let len = name.len().min(16);
        key[..len].copy_from_slice(&name[..len]);
        u128::from_be_bytes(key)
    };
    let mut keyed: Vec<(u128, usize)> = runs
        .iter()
        .enumerate()
        .map(|(position, (owner, _))| (prefix(*owner), position))
        .collect();
    let order = |&(a_key, a): &(u128, usize), &(b_key, b): &(u128, usize)| {
        a_key
            .cmp(&b_key)
            .then_with(|| bytes[runs[a].0.range()].cmp(&bytes[runs[b].0.range()]))
            .then(a.cmp(&b))
    };
    // A zone transfer arrives in a zone's order, the apex moved to the front: a few
    // descents at most, which the run-merging stable sort takes in one or two linear passes
    // where quicksort would partition the whole million again.
    let descents = keyed
        .windows(2)
        .filter(|pair| order(&pair[0], &pair[1]).is_gt())
        .take(NEARLY_SORTED_DESCENTS + 1)
        .count();
    match descents {
        0 => {}
        1..=NEARLY_SORTED_DESCENTS => keyed.sort_by(order),
        _ => keyed.sort_unstable_by(order),
    }
    let run = |at: usize| &runs[keyed[at].1];
    let mut sorted = Vec::with_capacity(records.len());
    let mut at = 0;
    while at < keyed.len() {
        // Runs of the same owner from different places in the file make one node.
        let owner = &bytes[run(at).0.range()];
        let node_start = sorted.len();
        while at < keyed.len() && &bytes[run(at).0.range()] == owner {
            sorted.extend_from_slice(&records[run(at).1.clone()]);
            at += 1;
        }
        sorted[node_start..].sort_by_key(|r: &PendingRecord| r.rtype);
    }
    sorted
}
