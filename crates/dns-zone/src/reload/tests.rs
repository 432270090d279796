//! A reload must serve what a build of the new file serves, whether it patched or built.

use std::path::PathBuf;

use super::*;
use crate::fuzz::assert_same_zone;
use crate::load::load_zone_str;

const ORIGIN: &[u8] = b"\x07example\x00";
const NOW: u64 = 1_700_000_000;

/// The test zone: SOA with `serial`, then `body`.
fn zone_text(serial: u32, body: &str) -> String {
    format!(
        "$ORIGIN example.\n$TTL 300\n@ SOA ns hostmaster {serial} 7200 3600 1209600 300\n\
         @ NS ns\n@ NS ns2\nns A 192.0.2.1\nns2 A 192.0.2.2\n{body}"
    )
}

fn hosts(changed: &[usize]) -> String {
    (0..40)
        .map(|i| {
            let last = if changed.contains(&i) {
                200 + i
            } else {
                10 + i
            };
            format!("h{i} A 198.51.100.{last}\nh{i} TXT \"host {i}\"\n")
        })
        .collect()
}

/// A file of its own per test (tests run in parallel).
fn write(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("anyns-reload-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn serving(text: &str) -> Zone {
    load_zone_str(text, ORIGIN)
        .expect("the serving version loads")
        .0
}

/// Reloads `new` over `old` and checks the result against a build of `new`; returns
/// whether it was patched.
fn reload(name: &str, old: &str, new: &str) -> bool {
    let path = write(name, new);
    let reloaded = reload_zone_file_at(&serving(old), &path, NOW, 0).expect("reloads");
    std::fs::remove_file(&path).unwrap();
    let built = load_zone_str(new, ORIGIN).expect("the new file builds").0;
    // In order: a build keeps each RRset in the file's order, and answers follow it.
    assert_same_zone(&reloaded.zone, &built, name);
    reloaded.difference.is_some()
}

#[test]
fn changed_addresses_are_patched_into_exactly_the_built_zone() {
    let old = zone_text(1, &hosts(&[]));
    let new = zone_text(2, &hosts(&[3, 17, 39]));
    let path = write("patched", &new);
    let reloaded = reload_zone_file_at(&serving(&old), &path, NOW, 0).unwrap();
    std::fs::remove_file(&path).unwrap();
    let difference = reloaded.difference.as_ref().expect("patched, not built");
    assert_eq!((difference.from_serial(), difference.to_serial()), (1, 2));
    assert_eq!((difference.removed.len(), difference.added.len()), (3, 3));
    assert!(difference.removed.iter().all(|r| r.rdata[3] < 200));
    assert!(difference.added.iter().all(|r| r.rdata[3] >= 200));
    // One record per RRset changed: even the order matches the build's.
    assert_same_zone(&reloaded.zone, &serving(&new), "patched");
}

#[test]
fn the_same_file_again_is_an_empty_difference() {
    let text = zone_text(1, &hosts(&[]));
    assert!(reload("same", &text, &text));
}

#[test]
fn a_changed_ttl_and_a_changed_txt_are_patched() {
    let old = zone_text(1, &hosts(&[]));
    let new = zone_text(2, &hosts(&[]))
        .replace("h5 A 198.51.100.15", "h5 60 A 198.51.100.15")
        .replace("\"host 7\"", "\"host seven\"");
    assert!(reload("ttl", &old, &new));
}

#[test]
fn what_a_patch_cannot_take_is_built() {
    let old = zone_text(1, &hosts(&[]));
    let base = zone_text(2, &hosts(&[]));
    let cases = [
        ("added name", format!("{base}new A 192.0.2.77\n")),
        (
            "removed name",
            base.replace("h9 A 198.51.100.19\nh9 TXT \"host 9\"\n", ""),
        ),
        ("added rrset", format!("{base}h4 AAAA 2001:db8::4\n")),
        // h2's records in two places: a build merges them, the reading gives up.
        (
            "owner split",
            format!(
                "{}h2 TXT \"host 2\"\n",
                base.replace("h2 TXT \"host 2\"\n", "")
            ),
        ),
        ("include", format!("{base}$INCLUDE /nonexistent/file\n")),
        ("removed rrset", base.replace("h6 TXT \"host 6\"\n", "")),
    ];
    for (name, new) in cases {
        if name == "include" {
            // The build reports the missing file: the reload fails, nothing is patched.
            let path = write("include", &new);
            assert!(reload_zone_file_at(&serving(&old), &path, NOW, 0).is_err());
            std::fs::remove_file(&path).unwrap();
            continue;
        }
        assert!(!reload(&name.replace(' ', "-"), &old, &new), "{name}");
    }
}

#[test]
fn ttls_that_disagree_are_built_with_the_builds_warning() {
    let old = zone_text(1, &hosts(&[]));
    let new = zone_text(2, &format!("{}h1 60 TXT \"second\"\n", hosts(&[])))
        .replace("h1 TXT \"host 1\"\nh2", "h2");
    let new = new.replace(
        "h1 A 198.51.100.11\n",
        "h1 A 198.51.100.11\nh1 TXT \"host 1\"\n",
    );
    let path = write("ttls", &new);
    let reloaded = reload_zone_file_at(&serving(&old), &path, NOW, 0).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(reloaded.difference.is_none());
    assert!(
        reloaded
            .problems
            .iter()
            .any(|p| p.message.contains("differs from the RRset's TTL")),
        "{:?}",
        reloaded.problems
    );
}

#[test]
fn a_broken_file_fails_as_a_build_fails() {
    let old = zone_text(1, &hosts(&[]));
    let new = zone_text(2, &hosts(&[])).replace("h3 A 198.51.100.13", "h3 A 198.51.100.");
    let path = write("broken", &new);
    let err = reload_zone_file_at(&serving(&old), &path, NOW, 0).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(!err.problems.is_empty());
}

/// A small deterministic generator (xorshift): the same edits every run.
struct Edits(u64);

impl Edits {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn random_edits_reload_to_what_a_build_serves() {
    let body = |lines: &[String]| lines.concat();
    let mut base: Vec<String> = (0..30)
        .flat_map(|i| {
            let mut lines = vec![
                format!("h{i} A 198.51.100.{i}\n"),
                format!("h{i} TXT \"t{i}\"\n"),
            ];
            if i % 3 == 0 {
                lines.push(format!("h{i} A 203.0.113.{i}\n"));
                lines.push(format!("h{i} MX 10 mail.h{i}\n"));
            }
            lines
        })
        .collect();
    base.push("w 300 TXT \"a\"\n".into());
    let old = zone_text(1, &body(&base));
    let mut rng = Edits(0x5eed);
    let (mut patched, mut built) = (0, 0);
    for round in 0..300 {
        let mut lines = base.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(lines.len());
            let line = lines[at].clone();
            match rng.below(9) {
                0 => lines[at] = line.replace("198.51.100.", "192.0.2."),
                1 => lines[at] = line.replacen(' ', " 60 ", 1),
                2 => lines.insert(at, line),
                3 if at + 1 < lines.len() => lines.swap(at, at + 1),
                4 => lines[at] = line.to_uppercase().replace("\"T", "\"t"),
                5 => lines.push(format!("n{round} A 192.0.2.7\n")),
                6 => {
                    lines.remove(at);
                }
                7 => lines[at] = line.replace("\"t", "\"changed "),
                _ => lines.insert(at + 1, line.replace("198.51.100.", "192.0.2.")),
            }
        }
        let new = zone_text(2, &body(&lines));
        if load_zone_str(&new, ORIGIN).is_err() {
            continue;
        }
        if reload(&format!("random-{round}"), &old, &new) {
            patched += 1;
        } else {
            built += 1;
        }
    }
    println!("{patched} patched, {built} built");
    assert!(
        patched > 100 && built > 30,
        "{patched} patched, {built} built"
    );
}

#[test]
fn a_reordered_rrset_is_served_in_the_files_order() {
    // Answers follow the RRset's order, and the first DNAME is the one followed.
    let zone = |serial: u32, www: [&str; 2], dname: [&str; 2]| {
        let body = format!(
            "www A 192.0.2.{}\nwww A 192.0.2.{}\nd DNAME {}.example.\nd DNAME {}.example.\n{}",
            www[0],
            www[1],
            dname[0],
            dname[1],
            hosts(&[])
        );
        zone_text(serial, &body)
    };
    let old = zone(1, ["10", "11"], ["a", "b"]);
    assert!(reload(
        "reordered",
        &old,
        &zone(2, ["11", "10"], ["b", "a"])
    ));
    assert!(reload(
        "partly-changed",
        &old,
        &zone(2, ["12", "10"], ["a", "b"])
    ));
}

#[test]
fn records_at_an_empty_non_terminal_are_built() {
    // b.example. exists only as the parent of a.b.example.: a name with records there is
    // new, even when another name is dropped to keep the count.
    let old = zone_text(1, "a.b A 192.0.2.1\nc A 192.0.2.3\n");
    let new = zone_text(2, "a.b A 192.0.2.1\nb A 192.0.2.9\n");
    assert!(!reload("ent", &old, &new));
}
