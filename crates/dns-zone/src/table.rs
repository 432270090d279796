//! An open-addressing table from names to node indices.
//!
//! Hand-written so that a node's name is stored once (in the node) rather than again as a
//! map key: the table holds 4 bytes per slot (the node index and, in the bits the index
//! does not need, a tag of the name's hash), which matters for zones of millions of names.

use crate::hash::hash_bytes;

/// A free slot.
const EMPTY: u32 = u32::MAX;

/// The table is filled in 2^REGION_BITS regions (3 KiB each for a million names).
const REGION_BITS: u32 = 12;

/// Index of node indices keyed by the nodes' names.
#[derive(Debug, Default)]
pub(crate) struct NameTable {
    /// The node index in the low `index_bits`, a tag of the name's hash above it;
    /// [`EMPTY`] when free (no index is all ones in its bits).
    slots: Box<[u32]>,
    index_bits: u32,
}

/// The bits of a slot that hold the index, for a table of `count` names: enough that no
/// index is all ones (a million names: 20, leaving a 12-bit tag; a miss compares a name
/// about once in 4,096 probes).
fn index_bits_for(count: usize) -> u32 {
    (usize::BITS - (count + 1).leading_zeros()).clamp(1, 32)
}

/// The slot for node `index` of a name with `hash`.
#[inline]
fn slot_of(hash: u64, index: u32, index_bits: u32) -> u32 {
    (tag_of(hash, index_bits) | u64::from(index)) as u32
}

/// The hash's tag, in place above the index bits (the upper bits of the hash's upper half:
/// the lower half places the name in the table).
#[inline]
fn tag_of(hash: u64, index_bits: u32) -> u64 {
    (hash >> 32 >> index_bits) << index_bits
}

/// A name's home slot in a table of `capacity` slots: the lower 32 bits of its hash scaled
/// to the table (any capacity, not only powers of two; monotonic in those bits).
#[inline]
fn home(hash: u64, capacity: usize) -> usize {
    (((hash & 0xffff_ffff) * capacity as u64) >> 32) as usize
}

impl NameTable {
    /// A table for `names`, where `names[i]` is the name of node `i`.
    pub(crate) fn build<'a>(names: impl ExactSizeIterator<Item = &'a [u8]>) -> Self {
        let count = names.len();
        // Two thirds full at most: a miss probes about five slots (most in one cache
        // line), and a million names take 12 MiB (a power of two would take 16).
        let capacity = (count * 3 / 2).max(8);
        // Inserting in node order writes to a random slot each time: a cache miss per name
        // once the table outgrows the caches, and most of a large zone's build time. So
        // the names are first grouped by the region of the table their home slot lies in
        // (a counting sort on the top bits of the bits that place it), then inserted region
        // by region: each region's writes stay within a few KiB.
        let region_bits = REGION_BITS.min(capacity.ilog2());
        let region = |hash: u64| ((hash & 0xffff_ffff) >> (32 - region_bits)) as usize;
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
        let index_bits = index_bits_for(count);
        let mut slots = vec![EMPTY; capacity].into_boxed_slice();
        for (hash, index) in grouped {
            let mut slot = home(hash, capacity);
            while slots[slot] != EMPTY {
                slot = next(slot, capacity);
            }
            slots[slot] = slot_of(hash, index, index_bits);
        }
        Self { slots, index_bits }
    }

    /// Finds the node whose name is `name`; `name_of` gives a node's name.
    #[inline]
    pub(crate) fn find<'a>(&self, name: &[u8], name_of: impl Fn(u32) -> &'a [u8]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let hash = hash_bytes(name);
        let mask = (u64::MAX >> (64 - self.index_bits)) as u32;
        let tag = tag_of(hash, self.index_bits) as u32;
        let capacity = self.slots.len();
        let mut slot = home(hash, capacity);
        loop {
            let entry = self.slots[slot];
            if entry == EMPTY {
                return None;
            }
            if entry & !mask == tag && name_of(entry & mask) == name {
                return Some(entry & mask);
            }
            slot = next(slot, capacity);
        }
    }

    /// Bytes of memory held.
    pub(crate) fn heap_size(&self) -> usize {
        self.slots.len() * 4
    }
}

/// The slot after `slot`, wrapping at the end of the table.
#[inline]
fn next(slot: usize, capacity: usize) -> usize {
    if slot + 1 == capacity { 0 } else { slot + 1 }
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

    #[test]
    fn index_bits_leave_no_index_all_ones() {
        for count in [0, 1, 2, 3, 6, 7, 8, 1_000_000, (1 << 20) - 2, (1 << 20) - 1] {
            let bits = index_bits_for(count);
            let mask = u64::MAX >> (64 - bits);
            assert!((count as u64) < mask, "{count}: {bits} bits");
        }
        assert_eq!(index_bits_for(1_000_000), 20);
        assert_eq!(
            index_bits_for(usize::MAX >> 1),
            32,
            "never more than a slot"
        );
    }
}
