//! Reloading a zone file against the version that serves. Most reloads of a large zone
//! change a few records (new addresses, a new serial): reading the new file straight into
//! a difference with the serving version and patching it in (`crate::patch`) costs one
//! pass over the file, and memory for the difference and a copy of the RRset table,
//! where a build holds the file's records, their sorted groups and a whole second zone
//! (about 3.5x the zone's memory at its peak).
//!
//! The difference is read only where it is exactly what a build of the file would serve:
//! each owner's records together in the file (as generated and signed zones have them),
//! every name of the serving version present, no `$INCLUDE`, nothing the fast reader
//! leaves to `domain`, no RRset whose TTLs disagree (the build warns about those). On
//! anything else, or a difference the patch leaves to a build (a name added or removed, a
//! whole RRset, a delegation, the denial chain, more than an eighth of the records), the
//! file is loaded and built as at start-up, with that path's checks and messages.

use std::ops::Range;
use std::path::Path;

use dns_wire::Record;
use dns_wire::types::{class, rtype};

use crate::difference::Diff;
use crate::dnssec::check_signature_expiry;
use crate::error::{Problem, ZoneError};
use crate::load::{load_zone_bytes_at, load_zone_file_at};
use crate::patch::patch;
use crate::pending::{Source, is_at_or_below};
use crate::text::{GiveUp, RecordSink, read_zone_text};
use crate::zone::{Node, Zone};

/// A zone file read again: the new version, its warnings, and the difference from the
/// serving version when it was found by reading the file against it.
#[derive(Debug)]
pub struct Reloaded {
    /// The new version.
    pub zone: Zone,
    /// Warnings (errors make the reload fail).
    pub problems: Vec<Problem>,
    /// The difference from the serving version, when the new version was patched from it
    /// (the journal can take it as it is).
    pub difference: Option<Diff>,
}

/// Reads `path` again for the zone `serving` is a version of (see the module
/// documentation); `now` and `signature_window` as for [`load_zone_file_at`].
pub fn reload_zone_file_at(
    serving: &Zone,
    path: &Path,
    now: u64,
    signature_window: u32,
) -> Result<Reloaded, ZoneError> {
    let origin = serving.origin();
    let built = |(zone, problems)| Reloaded {
        zone,
        problems,
        difference: None,
    };
    let Ok(src) = std::fs::read(path) else {
        // The build says why the file cannot be read.
        return load_zone_file_at(path, origin, now, signature_window).map(built);
    };
    let Some(difference) = difference_from_text(serving, &src) else {
        return load_zone_bytes_at(&src, path, origin, now, signature_window).map(built);
    };
    // The text is not needed for the patch: its memory goes before the new RRsets come.
    drop(src);
    let file = path.display().to_string();
    match patched(serving, difference, &file, now, signature_window) {
        Some(reloaded) => Ok(reloaded),
        // Rarely: a difference the patch leaves to a build. The file is read again.
        None => load_zone_file_at(path, origin, now, signature_window).map(built),
    }
}

/// The new version patched from the difference read from `src` (the text of `file`), or
/// `None` to build it.
pub(crate) fn patch_from_text(
    serving: &Zone,
    src: &[u8],
    file: &str,
    now: u64,
    window: u32,
) -> Option<Reloaded> {
    patched(
        serving,
        difference_from_text(serving, src)?,
        file,
        now,
        window,
    )
}

/// The difference from `serving` read from the text `src`, or `None` to build it.
fn difference_from_text(serving: &Zone, src: &[u8]) -> Option<Diff> {
    let mut reading = DifferenceReader::new(serving);
    read_zone_text(&mut reading, src, 0, serving.origin(), None, &mut |_, _| {
        Err(GiveUp)
    })
    .ok()?;
    reading.finish()
}

/// `serving` with `difference` patched in, checked as a load checks signatures; `None`
/// when the patch leaves it to a build.
fn patched(
    serving: &Zone,
    difference: Diff,
    file: &str,
    now: u64,
    window: u32,
) -> Option<Reloaded> {
    let zone = patch(serving, &difference)?;
    let mut problems = Vec::new();
    check_signature_expiry(&zone, now, window, file, &mut problems);
    Some(Reloaded {
        zone,
        problems,
        difference: Some(difference),
    })
}

/// Compares the records of a zone file with the serving version, owner by owner, as the
/// reader reads them.
struct DifferenceReader<'z> {
    serving: &'z Zone,
    /// The owner being read (lowercased) and its records: type, TTL, RDATA in `rdata`.
    owner: Vec<u8>,
    records: Vec<(u16, u32, Range<usize>)>,
    rdata: Vec<u8>,
    /// Serving nodes whose owner was read, one bit each, and how many.
    seen: Vec<u64>,
    seen_count: usize,
    /// The node after the last one compared.
    next: usize,
    /// Owner and RDATA octets read, as a build counts them.
    octets: usize,
    grouped: Grouped,
    new_soa: Option<Record>,
    removed: Vec<Record>,
    added: Vec<Record>,
    /// Beyond this many changed records a build is cheaper than the patch.
    limit: usize,
}

impl<'z> DifferenceReader<'z> {
    fn new(serving: &'z Zone) -> Self {
        Self {
            serving,
            owner: Vec::with_capacity(256),
            records: Vec::new(),
            rdata: Vec::new(),
            seen: vec![0; serving.node_count().div_ceil(64)],
            seen_count: 0,
            next: 0,
            octets: 0,
            grouped: Grouped::default(),
            new_soa: None,
            removed: Vec::new(),
            added: Vec::new(),
            limit: (serving.record_count() / 8).max(64),
        }
    }

    /// Compares the owner read last with its node in the serving version.
    fn compare_owner(&mut self) -> Result<(), GiveUp> {
        if self.records.is_empty() {
            return Ok(());
        }
        let serving = self.serving;
        // A file written from a zone's listing has its owners in the zone's order: the
        // node after the last one is tried before the name table (a cache miss or two).
        let index = match self.next {
            next if next < serving.node_count() && serving.node(next).name == self.owner => next,
            _ => serving.find_any_index(&self.owner).ok_or(GiveUp)?,
        };
        self.next = index + 1;
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        if self.seen[word] & bit != 0 {
            // The owner came back after others: its records are not together.
            return Err(GiveUp);
        }
        self.seen[word] |= bit;
        self.seen_count += 1;
        let mut grouped = std::mem::take(&mut self.grouped);
        let compared = self.compare_node(serving.node(index), index == 0, &mut grouped);
        self.grouped = grouped;
        compared?;
        if self.removed.len() + self.added.len() > self.limit {
            return Err(GiveUp);
        }
        self.records.clear();
        self.rdata.clear();
        Ok(())
    }

    /// The differences between the owner read and its serving `node`. An RRset whose
    /// TTL or RDATAs differ, or only their order (a build keeps the file's order), is
    /// replaced whole, so that the patched RRset has the file's order; RRSIGs are compared
    /// as sets (both ways order them by type covered).
    fn compare_node(
        &mut self,
        node: Node<'_>,
        at_apex: bool,
        grouped: &mut Grouped,
    ) -> Result<(), GiveUp> {
        if node.is_empty_non_terminal() {
            // Records at a name that had none: a new RRset, and the name count below
            // counts named nodes only.
            return Err(GiveUp);
        }
        grouped.group(&mut self.records, &self.rdata)?;
        let rdata = &self.rdata;
        for &(rtype, ttl, ref kept) in &grouped.rrsets {
            let ours = &grouped.kept[kept.clone()];
            if at_apex && rtype == rtype::SOA {
                let [soa] = ours else {
                    return Err(GiveUp);
                };
                self.new_soa = Some(owned(&self.owner, rtype, ttl, &rdata[soa.clone()]));
                continue;
            }
            let theirs = node.rrset(rtype).filter(|r| r.ttl == ttl);
            let ours_data = || ours.iter().map(|range| &rdata[range.clone()]);
            if rtype == rtype::RRSIG {
                for data in ours_data() {
                    if !theirs.is_some_and(|r| r.rdatas().any(|d| d == data)) {
                        self.added.push(owned(&self.owner, rtype, ttl, data));
                    }
                }
                continue;
            }
            let same = theirs
                .is_some_and(|r| usize::from(r.count) == ours.len() && r.rdatas().eq(ours_data()));
            if !same {
                self.added
                    .extend(ours_data().map(|data| owned(&self.owner, rtype, ttl, data)));
                if let Some(old) = node.rrset(rtype) {
                    self.removed.extend(
                        old.rdatas()
                            .map(|data| owned(node.name, rtype, old.ttl, data)),
                    );
                }
            }
        }
        for rrset in node.rrsets() {
            if at_apex && rrset.rtype == rtype::SOA {
                continue;
            }
            let ours = grouped
                .rrsets
                .iter()
                .find(|&&(rtype, _, _)| rtype == rrset.rtype)
                .map(|&(_, ttl, ref kept)| (ttl, &grouped.kept[kept.clone()]));
            let kept = |data: &[u8]| {
                ours.is_some_and(|(ttl, ours)| {
                    ttl == rrset.ttl && ours.iter().any(|r| &rdata[r.clone()] == data)
                })
            };
            match ours {
                // Replaced whole above.
                Some(_) if rrset.rtype != rtype::RRSIG => {}
                _ => {
                    for data in rrset.rdatas().filter(|d| !kept(d)) {
                        self.removed
                            .push(owned(node.name, rrset.rtype, rrset.ttl, data));
                    }
                }
            }
        }
        Ok(())
    }

    /// The difference, once the file is read: `None` when a name of the serving version
    /// was not in the file or the file has no SOA at the apex.
    fn finish(mut self) -> Option<Diff> {
        self.compare_owner().ok()?;
        let named = self
            .serving
            .nodes()
            .filter(|n| !n.is_empty_non_terminal())
            .count();
        if self.seen_count != named {
            return None;
        }
        Some(Diff {
            old_soa: self.serving.soa_record()?,
            new_soa: self.new_soa?,
            removed: self.removed,
            added: self.added,
        })
    }
}

/// Owners with more records than this are left to the build.
const LARGE_OWNER: usize = 256;

/// One owner's records as a build groups them: by type in the file's order, the TTL of
/// each type's first record, exact duplicates dropped (RFC 2181 §5). Kept between owners
/// so that a million owners do not cost a million allocations.
#[derive(Default)]
struct Grouped {
    /// Type, TTL and the range of `kept` holding the RRset's RDATA.
    rrsets: Vec<(u16, u32, Range<usize>)>,
    /// RDATA ranges (of the reader's `rdata`) kept, RRset after RRset.
    kept: Vec<Range<usize>>,
}

impl Grouped {
    /// Groups `records` (type, TTL, range of `rdata`). TTLs that disagree (RRSIGs aside:
    /// they carry their RRset's, RFC 4034 §3) give up, for the build's warning.
    fn group(
        &mut self,
        records: &mut [(u16, u32, Range<usize>)],
        rdata: &[u8],
    ) -> Result<(), GiveUp> {
        // Its duplicate check is quadratic: an owner with that many records is built.
        if records.len() > LARGE_OWNER {
            return Err(GiveUp);
        }
        records.sort_by_key(|&(rtype, _, _)| rtype);
        self.rrsets.clear();
        self.kept.clear();
        for (rtype, ttl, range) in records.iter().cloned() {
            let data = &rdata[range.clone()];
            match self.rrsets.last_mut() {
                Some((last, first_ttl, kept)) if *last == rtype => {
                    if *first_ttl != ttl && rtype != rtype::RRSIG {
                        return Err(GiveUp);
                    }
                    if !self.kept[kept.clone()]
                        .iter()
                        .any(|r| &rdata[r.clone()] == data)
                    {
                        self.kept.push(range);
                        kept.end += 1;
                    }
                }
                _ => {
                    let at = self.kept.len();
                    self.kept.push(range);
                    self.rrsets.push((rtype, ttl, at..at + 1));
                }
            }
        }
        Ok(())
    }
}

/// A record of class IN.
fn owned(owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Record {
    Record {
        owner: owner.to_vec(),
        rtype,
        class: class::IN,
        ttl,
        rdata: rdata.to_vec(),
    }
}

impl RecordSink for DifferenceReader<'_> {
    fn record(
        &mut self,
        owner: &[u8],
        rtype: u16,
        ttl: u32,
        rdata: &[u8],
        _source: Source,
    ) -> Result<(), GiveUp> {
        // The octets a build would hold (an owner once per run of it, every RDATA): past
        // 4 GiB the build refuses the file.
        self.octets += rdata.len();
        if !self.owner.eq_ignore_ascii_case(owner) {
            self.octets += owner.len();
            self.compare_owner()?;
            self.owner.clear();
            self.owner.extend_from_slice(owner);
            self.owner.make_ascii_lowercase();
            if !is_at_or_below(&self.owner, self.serving.origin()) {
                return Err(GiveUp);
            }
        }
        if u32::try_from(self.octets).is_err() {
            return Err(GiveUp);
        }
        let start = self.rdata.len();
        self.rdata.extend_from_slice(rdata);
        self.records.push((rtype, ttl, start..self.rdata.len()));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
