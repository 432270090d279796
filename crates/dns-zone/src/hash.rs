//! A small fast hash for lowercased wire names (the FxHash mixing step, 8 bytes at a time).
//!
//! Hand-written because the query path hashes every ancestor of a query name and std's
//! SipHash costs several times more; names are not attacker-chosen keys of a growing table
//! (the table is built once from the zone file), so DoS resistance is not needed here.

use core::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Hashes a byte string.
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    hash_with_seed(0, bytes)
}

/// Hashes a byte string, mixed with `seed` first: for tables whose keys an attacker
/// chooses (whole queries), a seed chosen at random per process keeps collisions unknown.
pub fn hash_with_seed(seed: u64, bytes: &[u8]) -> u64 {
    let mut hash = seed ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
    }
    // Final avalanche so the low bits used for the table index depend on every byte.
    hash ^= hash >> 29;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^ (hash >> 32)
}

/// A `Hasher` over [`hash_bytes`], for small std maps keyed by names.
#[derive(Default)]
pub(crate) struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 ^= hash_bytes(bytes);
    }
}

/// Builds [`NameHasher`]s.
pub(crate) type BuildNameHasher = BuildHasherDefault<NameHasher>;
