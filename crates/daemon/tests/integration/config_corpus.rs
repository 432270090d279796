//! Replays the config fuzz seeds (fuzz/corpus/config: the README's examples, the packaged
//! config, the lab's generated site, primary, announcer and resolver configs) and seeded
//! mutations of them through the loader: the CI smoke run of the `config` fuzz target.
//! Every input is a configuration or an error naming something; none panics.

use std::path::Path;

use anyns::config::Config;

#[test]
fn config_corpus_and_mutations_load_or_fail_with_a_message() {
    let seeds = test_support::read_corpus(env!("CARGO_MANIFEST_DIR"), "config", 10);
    let (mut loaded, mut rejected) = (0, 0);
    // Bounded: 300 mutations per seed (flips, truncations, insertions).
    let runs = test_support::replay_corpus(&seeds, 300, 0, |input| {
        let Ok(text) = std::str::from_utf8(input) else {
            return;
        };
        match Config::from_toml(text, Path::new("/nonexistent/anyns-fuzz")) {
            Ok(_) => loaded += 1,
            Err(err) => {
                assert!(!err.to_string().is_empty(), "an empty error for:\n{text}");
                rejected += 1;
            }
        }
    });
    println!("{runs} inputs: {loaded} loaded, {rejected} rejected with a message");
    assert!(
        loaded > 0 && rejected > 0,
        "{loaded} loaded, {rejected} rejected"
    );
}
