//! Replays the fuzz seed corpus (fuzz/corpus/bgp_message) and seeded mutations of it
//! through `fuzz_parse`: the CI smoke run of the bgp_message fuzz target, without
//! libFuzzer.

#[test]
fn corpus_and_mutations_parse_without_a_fault() {
    let seeds = test_support::read_corpus(env!("CARGO_MANIFEST_DIR"), "bgp_message", 10);
    // Every seed is at least one whole message that parses.
    for seed in &seeds {
        let len = bgp_wire::frame_len(seed).unwrap().unwrap();
        bgp_wire::Message::parse(&seed[..len], bgp_wire::Negotiated::FOUR_OCTET_AS)
            .unwrap_or_else(|e| panic!("seed does not parse: {e}: {seed:?}"));
    }
    // Bounded: 500 mutations per seed, past the 16-octet marker.
    let runs = test_support::replay_corpus(&seeds, 500, 16, bgp_wire::fuzz::fuzz_parse);
    println!("{runs} inputs parsed or refused without a fault");
}
