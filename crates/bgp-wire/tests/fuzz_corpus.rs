//! Replays the fuzz seed corpus (fuzz/corpus/bgp_message) and seeded mutations of it
//! through `fuzz_parse`: the CI smoke run of the bgp_message fuzz target, without
//! libFuzzer.

use std::path::Path;

#[test]
fn corpus_and_mutations_parse_without_a_fault() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/bgp_message");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    assert!(seeds.len() >= 10, "seed corpus too small: {}", seeds.len());
    seeds.sort();
    // Every seed is at least one whole message that parses.
    for seed in &seeds {
        let len = bgp_wire::frame_len(seed).unwrap().unwrap();
        bgp_wire::Message::parse(&seed[..len], bgp_wire::Negotiated::FOUR_OCTET_AS)
            .unwrap_or_else(|e| panic!("seed does not parse: {e}: {seed:?}"));
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut runs = 0;
    for seed in &seeds {
        bgp_wire::fuzz::fuzz_parse(seed);
        runs += 1;
        // Bounded: 500 mutations per seed (flips past the marker, truncations, insertions).
        for _ in 0..500 {
            let mut input = seed.clone();
            let at = 16 + (next() as usize % (input.len() - 16));
            match next() % 3 {
                0 => input[at] ^= 1 << (next() % 8),
                1 => input.truncate(at),
                _ => input.insert(at, next() as u8),
            }
            bgp_wire::fuzz::fuzz_parse(&input);
            runs += 1;
        }
    }
    println!("{runs} inputs parsed or refused without a fault");
}
