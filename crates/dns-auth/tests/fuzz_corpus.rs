//! Replays the fuzz seed corpus (fuzz/corpus/message) and seeded mutations of it through
//! `respond`: the CI smoke run of the message fuzz target, without libFuzzer.

#[test]
fn corpus_and_mutations_never_panic_and_answer_well_formed() {
    let seeds = test_support::read_corpus(env!("CARGO_MANIFEST_DIR"), "message", 50);
    // Bounded: 200 mutations per seed (flips, truncations, insertions).
    let runs = test_support::replay_corpus(&seeds, 200, 0, dns_auth::fuzz::respond_to_anything);
    println!("{runs} inputs answered or dropped without a fault");
}
