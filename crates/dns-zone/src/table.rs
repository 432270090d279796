//! An open-addressing table from names to node indices.
//!
//! Hand-written so that a node's name is stored once (in the node) rather than again as a
//! map key: the table holds 8 bytes per slot (hash tag and index), which matters for zones
//! of millions of names.

use crate::hash::hash_bytes;

const EMPTY: u32 = u32::MAX;

/// The table is filled in 2^REGION_BITS regions (4 KiB each for a million names).
const REGION_BITS: u32 = 12;

/// Index of node indices keyed by the nodes' names.
#[derive(Debug, Default)]
pub(crate) struct NameTable {
    /// (upper hash bits, node index); `EMPTY` index marks a free slot.
    slots: Box<[(u32, u32)]>,
    mask: usize,
}

impl NameTable {
    /// A table for `names`, where `names[i]` is the name of node `i`.
    pub(crate) fn build<'a>(names: impl ExactSizeIterator<Item = &'a [u8]>) -> Self {
        let count = names.len();
        let capacity = (count * 2).next_power_of_two().max(8);
        let mask = capacity - 1;
        // Inserting in node order writes to a random slot each time: a cache miss per name
        // once the table outgrows the caches (16 MiB for a million names), and most of a
        // large zone's build time. So the names are first grouped by the region of the
        // table their home slot lies in (a counting sort on its top bits), then inserted
        // region by region: each region's writes stay within a few KiB.
        let region_bits = capacity.trailing_zeros().min(REGION_BITS);
        let shift = capacity.trailing_zeros() - region_bits;
        let region = |hash: u64| (hash as usize & mask) >> shift;
        let hashes: Vec<u64> = names.map(hash_bytes).collect();
        let mut starts = vec![0usize; (1 << region_bits) + 1];
        for &hash in &hashes {
            starts[region(hash) + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut grouped = vec![(0u64, 0u32); count];
        for (index, &hash) in hashes.iter().enumerate() {
            let at = &mut starts[region(hash)];
            grouped[*at] = (hash, index as u32);
            *at += 1;
        }
        drop(hashes);
        let mut table = Self {
            slots: vec![(0, EMPTY); capacity].into_boxed_slice(),
            mask,
        };
        for (hash, index) in grouped {
            let mut slot = hash as usize & table.mask;
            while table.slots[slot].1 != EMPTY {
                slot = (slot + 1) & table.mask;
            }
            table.slots[slot] = ((hash >> 32) as u32, index);
        }
        table
    }

    /// Finds the node whose name is `name`; `name_of` gives a node's name.
    #[inline]
    pub(crate) fn find<'a>(&self, name: &[u8], name_of: impl Fn(u32) -> &'a [u8]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let hash = hash_bytes(name);
        let tag = (hash >> 32) as u32;
        let mut slot = hash as usize & self.mask;
        loop {
            let (slot_tag, index) = self.slots[slot];
            if index == EMPTY {
                return None;
            }
            if slot_tag == tag && name_of(index) == name {
                return Some(index);
            }
            slot = (slot + 1) & self.mask;
        }
    }

    /// Bytes of memory held.
    pub(crate) fn heap_size(&self) -> usize {
        self.slots.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_name_and_misses_others() {
        let names: Vec<Vec<u8>> = (0..1000)
            .map(|i| format!("\x04n{i:03}\x00").into_bytes())
            .collect();
        let table = NameTable::build(names.iter().map(|n| n.as_slice()));
        for (i, name) in names.iter().enumerate() {
            assert_eq!(table.find(name, |j| &names[j as usize]), Some(i as u32));
        }
        assert_eq!(table.find(b"\x04none\x00", |j| &names[j as usize]), None);
    }
}
