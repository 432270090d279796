//! Test helpers shared by the crates of the workspace (a dev-dependency only).
//!
//! [`replay_corpus`] is the CI smoke run of a fuzz target without libFuzzer: every seed of a
//! corpus directory and a bounded number of seeded mutations of each (bit flips,
//! truncations, insertions) go through the target's entry point.
#![forbid(unsafe_code)]

use std::path::Path;

/// Reads the seeds of `fuzz/corpus/<name>` (relative to the workspace root), sorted.
/// Panics when the directory is unreadable or holds fewer than `min_seeds` files.
pub fn read_corpus(manifest_dir: &str, name: &str, min_seeds: usize) -> Vec<Vec<u8>> {
    let dir = Path::new(manifest_dir).join("../../fuzz/corpus").join(name);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path();
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect();
    assert!(
        seeds.len() >= min_seeds,
        "seed corpus {name} too small: {}",
        seeds.len()
    );
    seeds.sort();
    seeds
}

/// Feeds every seed, then `mutations` seeded mutations of each, to `target`. Mutations keep
/// the first `keep_prefix` octets (e.g. a BGP marker) intact. Returns how many inputs ran.
pub fn replay_corpus(
    seeds: &[Vec<u8>],
    mutations: usize,
    keep_prefix: usize,
    mut target: impl FnMut(&[u8]),
) -> usize {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut runs = 0;
    for seed in seeds {
        target(seed);
        runs += 1;
        for _ in 0..mutations {
            let mut input = seed.clone();
            let span = input.len().saturating_sub(keep_prefix);
            let at = keep_prefix + if span == 0 { 0 } else { next() as usize % span };
            match next() % 3 {
                0 if at < input.len() => input[at] ^= 1 << (next() % 8),
                1 if at < input.len() => input.truncate(at),
                _ => input.insert(at.min(input.len()), next() as u8),
            }
            target(&input);
            runs += 1;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_bounded_and_keep_the_prefix() {
        let seeds = vec![b"MARKERabc".to_vec(), b"MARKER".to_vec()];
        let mut seen = Vec::new();
        let runs = replay_corpus(&seeds, 50, 6, |input| seen.push(input.to_vec()));
        assert_eq!(runs, 2 * 51);
        assert!(seen.iter().all(|input| input.starts_with(b"MARKER")));
        assert!(
            seen.iter()
                .any(|input| input.as_slice() != b"MARKERabc" && input.as_slice() != b"MARKER")
        );
    }
}
