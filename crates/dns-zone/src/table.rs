//! An open-addressing table from names to node indices.
//!
//! Hand-written so that a node's name is stored once (in the node) rather than again as a
//! map key: the table holds 8 bytes per slot (hash tag and index), which matters for zones
//! of millions of names.

use crate::hash::hash_bytes;

const EMPTY: u32 = u32::MAX;

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
        let capacity = (names.len() * 2).next_power_of_two().max(8);
        let mut table = Self {
            slots: vec![(0, EMPTY); capacity].into_boxed_slice(),
            mask: capacity - 1,
        };
        for (index, name) in names.enumerate() {
            let hash = hash_bytes(name);
            let mut slot = hash as usize & table.mask;
            while table.slots[slot].1 != EMPTY {
                slot = (slot + 1) & table.mask;
            }
            table.slots[slot] = ((hash >> 32) as u32, index as u32);
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
