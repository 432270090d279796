//! Replays the fuzz seed corpus (fuzz/corpus/message) and seeded mutations of it through
//! `respond`: the CI smoke run of the message fuzz target, without libFuzzer.

use std::path::Path;

#[test]
fn corpus_and_mutations_never_panic_and_answer_well_formed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/message");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    assert!(seeds.len() >= 50, "seed corpus too small: {}", seeds.len());
    seeds.sort();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut runs = 0;
    for seed in &seeds {
        dns_auth::fuzz::respond_to_anything(seed);
        runs += 1;
        // Bounded: 200 mutations per seed (flips, truncations, insertions).
        for _ in 0..200 {
            let mut input = seed.clone();
            match next() % 3 {
                0 if !input.is_empty() => {
                    let at = next() as usize % input.len();
                    input[at] ^= 1 << (next() % 8);
                }
                1 if !input.is_empty() => input.truncate(next() as usize % input.len()),
                _ => {
                    let at = next() as usize % (input.len() + 1);
                    input.insert(at, next() as u8);
                }
            }
            dns_auth::fuzz::respond_to_anything(&input);
            runs += 1;
        }
    }
    println!("{runs} inputs answered or dropped without a fault");
}
