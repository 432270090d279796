//! Replays the fuzz seed corpus (fuzz/corpus/bfd_packet) and seeded mutations of it
//! through `fuzz_parse`: the CI smoke run of the bfd_packet fuzz target, without
//! libFuzzer.

use std::path::Path;
use std::time::Instant;

#[test]
fn corpus_and_mutations_never_fault() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/bfd_packet");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    assert!(seeds.len() >= 5, "seed corpus too small: {}", seeds.len());
    seeds.sort();
    for seed in &seeds {
        bfd::ControlPacket::parse(seed).unwrap_or_else(|e| panic!("seed: {e}: {seed:?}"));
    }
    #[allow(clippy::disallowed_methods)] // the origin of virtual time, read once
    let now = Instant::now();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut runs = 0;
    for seed in &seeds {
        bfd::fuzz::fuzz_parse(now, seed);
        runs += 1;
        for _ in 0..500 {
            let mut input = seed.clone();
            let at = next() as usize % input.len();
            match next() % 3 {
                0 => input[at] ^= 1 << (next() % 8),
                1 => input.truncate(at),
                _ => input.insert(at, next() as u8),
            }
            bfd::fuzz::fuzz_parse(now, &input);
            runs += 1;
        }
    }
    println!("{runs} inputs parsed or refused without a fault");
}
