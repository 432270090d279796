//! An RRset as the resolver holds it, and grouping the records of a response into RRsets.

use dns_wire::Record;
use dns_wire::types::rtype;

/// Records with the same owner, type and class (RFC 2181 §5), names inside RDATA
/// decompressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrSet {
    /// Owner, lowercased wire form.
    pub owner: Vec<u8>,
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// TTL: the lowest of the records' (RFC 2181 §5.2 asks for one; a set that differs is
    /// treated as its lowest).
    pub ttl: u32,
    /// Each record's RDATA.
    pub rdatas: Vec<Vec<u8>>,
    /// RDATA of the RRSIG records covering the set that came with it (RFC 4035 §3.1.1),
    /// kept with it so that a validator can check them and a DO client gets them.
    pub sigs: Vec<Vec<u8>>,
}

impl RrSet {
    /// A set of one record.
    pub fn single(record: Record) -> Self {
        Self {
            owner: record.owner,
            rtype: record.rtype,
            class: record.class,
            ttl: record.ttl,
            rdatas: vec![record.rdata],
            sigs: Vec::new(),
        }
    }

    /// Octets the set takes in memory, roughly: what the cache's budget counts.
    pub fn weight(&self) -> usize {
        const OVERHEAD: usize = 96;
        OVERHEAD
            + self.owner.len()
            + self
                .rdatas
                .iter()
                .chain(&self.sigs)
                .map(|r| r.len() + size_of::<Vec<u8>>())
                .sum::<usize>()
    }

    /// The signer's name of its first RRSIG (RFC 4034 §3.1.7), lowercased.
    pub fn signer(&self) -> Option<Vec<u8>> {
        let rdata = self.sigs.first()?;
        let name = rdata.get(RRSIG_FIXED..)?;
        let len = crate::names::wire_len(name)?;
        Some(name[..len].to_ascii_lowercase())
    }

    /// The first RDATA as a name (NS, CNAME, DNAME targets), lowercased.
    pub fn target(&self) -> Option<Vec<u8>> {
        self.rdatas.first().map(|r| r.to_ascii_lowercase())
    }
}

/// A TTL as RFC 2181 §8 reads it: a value with the top bit set is 0.
pub fn sane_ttl(ttl: u32) -> u32 {
    if ttl & 0x8000_0000 != 0 { 0 } else { ttl }
}

/// Octets of RRSIG RDATA before the signer's name (RFC 4034 §3.1).
const RRSIG_FIXED: usize = 18;

/// RRSIGs kept with one RRset at most (a validator tries at most 8 of them anyway).
const MAX_SIGS: usize = 16;

/// Records kept in one RRset at most (the duplicate check is linear in them).
const MAX_RDATAS: usize = 512;

/// Groups records into RRsets in the order their first record appears; duplicates (same
/// RDATA) are kept once. Linear in the records (a hostile answer may carry thousands).
pub fn group(records: Vec<Record>) -> Vec<RrSet> {
    let mut sets: Vec<RrSet> = Vec::new();
    let mut index: std::collections::HashMap<(Vec<u8>, u16, u16), usize> =
        std::collections::HashMap::new();
    for mut record in records {
        record.ttl = sane_ttl(record.ttl);
        let key = (record.owner.clone(), record.rtype, record.class);
        match index.get(&key) {
            Some(&at) => {
                let set = &mut sets[at];
                set.ttl = set.ttl.min(record.ttl);
                if set.rdatas.len() < MAX_RDATAS && !set.rdatas.contains(&record.rdata) {
                    set.rdatas.push(record.rdata);
                }
            }
            None => {
                index.insert(key, sets.len());
                sets.push(RrSet::single(record));
            }
        }
    }
    attach_signatures(sets)
}

/// Moves each RRSIG record onto the RRset it covers (same owner, class, and the type its
/// Type Covered field names); RRSIGs covering nothing given stay an RRSIG set of their own.
fn attach_signatures(mut sets: Vec<RrSet>) -> Vec<RrSet> {
    if !sets.iter().any(|s| s.rtype == rtype::RRSIG) {
        return sets;
    }
    let mut index = std::collections::HashMap::new();
    for (at, set) in sets.iter().enumerate() {
        if set.rtype != rtype::RRSIG {
            index.insert((set.owner.clone(), set.rtype, set.class), at);
        }
    }
    for at in 0..sets.len() {
        if sets[at].rtype != rtype::RRSIG {
            continue;
        }
        let rdatas = std::mem::take(&mut sets[at].rdatas);
        let mut left = Vec::new();
        for rdata in rdatas {
            let covered = rdata.get(..2).map(|t| u16::from_be_bytes([t[0], t[1]]));
            let target = covered
                .and_then(|t| index.get(&(sets[at].owner.clone(), t, sets[at].class)))
                .copied();
            match target {
                Some(to) if sets[to].sigs.len() < MAX_SIGS => sets[to].sigs.push(rdata),
                Some(_) => {}
                None => left.push(rdata),
            }
        }
        sets[at].rdatas = left;
    }
    sets.retain(|s| s.rtype != rtype::RRSIG || !s.rdatas.is_empty());
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Record {
        Record {
            owner: owner.to_vec(),
            rtype,
            class: 1,
            ttl,
            rdata: rdata.to_vec(),
        }
    }

    #[test]
    fn groups_by_owner_and_type_with_the_lowest_ttl() {
        let sets = group(vec![
            record(b"\x01a\x00", 1, 300, &[192, 0, 2, 1]),
            record(b"\x01b\x00", 1, 60, &[192, 0, 2, 9]),
            record(b"\x01a\x00", 1, 100, &[192, 0, 2, 2]),
            record(b"\x01a\x00", 1, 100, &[192, 0, 2, 2]),
            record(b"\x01a\x00", 28, 100, &[0; 16]),
        ]);
        assert_eq!(sets.len(), 3);
        assert_eq!(sets[0].ttl, 100);
        assert_eq!(sets[0].rdatas.len(), 2);
        assert_eq!(sets[1].owner, b"\x01b\x00");
    }
}
