//! Turning a list of records into a [`Zone`]: grouping into RRsets, dropping duplicates
//! (RFC 2181 §5), adding empty non-terminals, and running the semantic checks.

use std::collections::HashSet;
use std::sync::Arc;

use dns_wire::types::class;

use crate::check::check_zone;
use crate::error::{Problem, Severity, ZoneError};
use crate::hash::BuildNameHasher;
use crate::table::NameTable;
use crate::zone::{Zone, ZoneArena};

/// Where a record came from, for problem reports: an index into the builder's files and a
/// line (kept small: a million records carry one each).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Source {
    pub(crate) file: u32,
    pub(crate) line: u32,
}

/// A record as read, before grouping.
#[derive(Debug)]
pub(crate) struct PendingRecord {
    pub(crate) owner: Box<[u8]>,
    pub(crate) rtype: u16,
    pub(crate) ttl: u32,
    pub(crate) rdata: Vec<u8>,
    pub(crate) source: Source,
}

/// An RRset before packing, with the line of its first record (read by the checks).
#[derive(Debug)]
pub(crate) struct PendingRrset {
    pub(crate) rtype: u16,
    pub(crate) ttl: u32,
    pub(crate) rdatas: Vec<Vec<u8>>,
    pub(crate) source: Source,
}

/// A node before packing.
#[derive(Debug)]
pub(crate) struct PendingNode {
    pub(crate) name: Box<[u8]>,
    pub(crate) rrsets: Vec<PendingRrset>,
}

/// Collects records for one zone and builds it.
#[derive(Debug)]
pub struct ZoneBuilder {
    origin: Box<[u8]>,
    files: Vec<Arc<str>>,
    records: Vec<PendingRecord>,
    problems: Vec<Problem>,
}

impl ZoneBuilder {
    /// A builder for the zone `origin` (wire form, any case) read from `file`.
    pub fn new(origin: &[u8], file: &str) -> Self {
        Self {
            origin: origin.to_ascii_lowercase().into_boxed_slice(),
            files: vec![file.into()],
            records: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Adds a record (owner in wire form, any case). Records outside the zone or of
    /// another class are reported as errors.
    pub fn add(&mut self, owner: &[u8], rtype: u16, rclass: u16, ttl: u32, rdata: Vec<u8>) {
        let source = Source { file: 0, line: 0 };
        self.add_from(owner, rtype, rclass, ttl, rdata, source);
    }

    pub(crate) fn add_from(
        &mut self,
        owner: &[u8],
        rtype: u16,
        rclass: u16,
        ttl: u32,
        rdata: Vec<u8>,
        source: Source,
    ) {
        let owner = owner.to_ascii_lowercase().into_boxed_slice();
        if !is_at_or_below(&owner, &self.origin) {
            self.problem(
                &source,
                Severity::Error,
                format!(
                    "out-of-zone data: {} is not in {}",
                    dns_wire::name_to_text(&owner),
                    dns_wire::name_to_text(&self.origin)
                ),
            );
            return;
        }
        if rclass != class::IN {
            self.problem(
                &source,
                Severity::Error,
                format!("class {rclass} is not IN"),
            );
            return;
        }
        self.records.push(PendingRecord {
            owner,
            rtype,
            ttl,
            rdata,
            source,
        });
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

    /// Builds the zone, or returns every problem when any is an error. Warnings come back
    /// with the zone.
    pub fn finish(mut self) -> Result<(Zone, Vec<Problem>), ZoneError> {
        let records = std::mem::take(&mut self.records);
        let record_count = records.len();
        let mut nodes = group(records, &mut self);
        match nodes.iter().position(|n| *n.name == *self.origin) {
            Some(at) => nodes.swap(0, at),
            None => nodes.insert(
                0,
                PendingNode {
                    name: self.origin.clone(),
                    rrsets: Vec::new(),
                },
            ),
        }
        let mut table = NameTable::build(nodes.iter().map(|n| &*n.name));
        if add_empty_non_terminals(&mut nodes, &table, &self.origin) {
            table = NameTable::build(nodes.iter().map(|n| &*n.name));
        }
        let find = |name: &[u8]| {
            table
                .find(name, |i| &nodes[i as usize].name)
                .map(|i| &nodes[i as usize])
        };
        let serial = check_zone(&nodes, find, &self.origin, &self.files, &mut self.problems);
        let mut problems = self.problems;
        problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
        if problems.iter().any(|p| p.severity == Severity::Error) {
            return Err(ZoneError { problems });
        }
        let names: usize = nodes.iter().map(|n| n.name.len()).sum();
        let rrsets: usize = nodes.iter().map(|n| n.rrsets.len()).sum();
        let rdata: usize = nodes
            .iter()
            .flat_map(|n| &n.rrsets)
            .flat_map(|r| &r.rdatas)
            .map(|d| d.len() + 2)
            .sum();
        let mut arena = ZoneArena::with_capacity(nodes.len(), rrsets, names, rdata);
        for node in &nodes {
            let rrsets = node.rrsets.iter().map(|r| (r.rtype, r.ttl, &r.rdatas[..]));
            if let Err(message) = arena.push_node(&node.name, rrsets) {
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
        drop(nodes);
        Ok((
            Zone::from_parts(arena, table, serial.unwrap_or(0), record_count),
            problems,
        ))
    }
}

/// Sorts records by owner and type and folds them into nodes and RRsets, dropping exact
/// duplicates and taking an RRset's TTL from its first record (RFC 2181 §5.2; a warning
/// names the record that differed).
fn group(mut records: Vec<PendingRecord>, builder: &mut ZoneBuilder) -> Vec<PendingNode> {
    // Stable: records of one RRset keep the order of the file.
    records.sort_by(|a, b| a.owner.cmp(&b.owner).then(a.rtype.cmp(&b.rtype)));
    let mut nodes: Vec<PendingNode> = Vec::new();
    for record in records {
        let same_node = nodes.last().is_some_and(|n| n.name == record.owner);
        if !same_node {
            nodes.push(PendingNode {
                name: record.owner,
                rrsets: Vec::new(),
            });
        }
        let node = nodes.last_mut().expect("pushed above");
        match node.rrsets.last_mut() {
            Some(rrset) if rrset.rtype == record.rtype => {
                if rrset.rdatas.contains(&record.rdata) {
                    continue;
                }
                if rrset.ttl != record.ttl {
                    builder.problem(
                        &record.source,
                        Severity::Warning,
                        format!(
                            "TTL {} differs from the RRset's TTL {}; using {}",
                            record.ttl, rrset.ttl, rrset.ttl
                        ),
                    );
                }
                rrset.rdatas.push(record.rdata);
            }
            _ => node.rrsets.push(PendingRrset {
                rtype: record.rtype,
                ttl: record.ttl,
                rdatas: vec![record.rdata],
                source: record.source,
            }),
        }
    }
    nodes
}

/// Adds a node without RRsets for every missing ancestor between a name and the origin,
/// so that lookups can tell NXDOMAIN from NODATA (RFC 8020) by the table alone. Returns
/// whether any was added (the table must then be rebuilt).
fn add_empty_non_terminals(nodes: &mut Vec<PendingNode>, table: &NameTable, origin: &[u8]) -> bool {
    let mut added: HashSet<Box<[u8]>, BuildNameHasher> = HashSet::default();
    for node in nodes.iter() {
        let mut name: &[u8] = &node.name;
        while name.len() > origin.len() {
            name = &name[1 + name[0] as usize..];
            let exists = table.find(name, |i| &nodes[i as usize].name).is_some();
            if exists || !added.insert(name.into()) {
                break;
            }
        }
    }
    let any = !added.is_empty();
    nodes.extend(added.into_iter().map(|name| PendingNode {
        name,
        rrsets: Vec::new(),
    }));
    any
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
