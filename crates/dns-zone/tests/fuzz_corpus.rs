//! Replays the zone-file fuzz seeds (fuzz/corpus/zonefile, signed zones included) and
//! seeded mutations of them through the loader: the CI smoke run of the zonefile fuzz
//! target. Both readers run (the fast one, and `domain`'s when the fast one gives up); a
//! zone that loads must have its SOA, anything else must come back as problems, never a
//! panic out of the loader. The `patch` seeds (differences against a fixed zone) go
//! through the patch and the build, which must agree; the `reload` seeds (new versions of
//! that zone's file) through the reload and the build.

#[test]
fn corpus_and_mutations_load_or_fail_cleanly() {
    let seeds = test_support::read_corpus(env!("CARGO_MANIFEST_DIR"), "zonefile", 6);
    let (mut loaded, mut rejected) = (0, 0);
    // Bounded: 300 mutations per seed (flips, truncations, insertions).
    let runs = test_support::replay_corpus(&seeds, 300, 0, |input| {
        let Ok(text) = std::str::from_utf8(input) else {
            return;
        };
        match dns_zone::load_zone_str(text, b"\x07example\x00") {
            Ok((zone, _)) => {
                assert!(zone.record_count() > 0);
                loaded += 1;
            }
            Err(err) => {
                assert!(!err.problems.is_empty());
                rejected += 1;
            }
        }
    });
    println!("{runs} inputs: {loaded} loaded, {rejected} rejected with problems");
    assert!(
        loaded > 0 && rejected > 0,
        "{loaded} loaded, {rejected} rejected"
    );
}

#[test]
fn patch_corpus_and_mutations_agree_with_the_build() {
    let seeds = test_support::read_corpus(env!("CARGO_MANIFEST_DIR"), "patch", 10);
    // Bounded: 300 mutations per seed; `patch_anything` panics on any disagreement.
    let mut patched = 0;
    let runs = test_support::replay_corpus(&seeds, 300, 0, |input| {
        patched += usize::from(dns_zone::fuzz::patch_anything(input));
    });
    println!("{runs} differences: {patched} patched and built alike, the rest left to the build");
    assert!(patched > 0 && patched < runs, "{patched} of {runs} patched");
}

#[test]
fn reload_corpus_and_mutations_serve_what_the_build_serves() {
    let seeds = test_support::read_corpus(env!("CARGO_MANIFEST_DIR"), "reload", 10);
    // Bounded: 100 mutations per seed; `reload_anything` panics on any disagreement.
    let mut patched = 0;
    let runs = test_support::replay_corpus(&seeds, 100, 0, |input| {
        patched += usize::from(dns_zone::fuzz::reload_anything(input));
    });
    println!("{runs} files: {patched} patched and built alike, the rest left to the build");
    assert!(patched > 0 && patched < runs, "{patched} of {runs} patched");
}
