//! Replays the fuzz seed corpus (fuzz/corpus/bfd_packet) and seeded mutations of it
//! through `fuzz_parse`: the CI smoke run of the bfd_packet fuzz target, without
//! libFuzzer.

use std::time::Instant;

#[test]
fn corpus_and_mutations_never_fault() {
    let seeds = test_support::read_corpus(env!("CARGO_MANIFEST_DIR"), "bfd_packet", 5);
    for seed in &seeds {
        bfd::ControlPacket::parse(seed).unwrap_or_else(|e| panic!("seed: {e}: {seed:?}"));
    }
    #[allow(clippy::disallowed_methods)] // the origin of virtual time, read once
    let now = Instant::now();
    let runs =
        test_support::replay_corpus(&seeds, 500, 0, |input| bfd::fuzz::fuzz_parse(now, input));
    println!("{runs} inputs parsed or refused without a fault");
}
