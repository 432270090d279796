//! A patch must give exactly the zone a build of the same difference gives: same records
//! in the same order, same counts, flags, serial and signature expiry.

use std::sync::Arc;

use dns_wire::Record;

use super::*;
use crate::fuzz::assert_same_zone;
use crate::load::load_zone_str;
use crate::transfer::{apply, diff, rebuild_one};

const ORIGIN: &[u8] = b"\x07example\x00";

/// A zone as lines of (owner, TTL, type, RDATA text), so that tests can mutate it.
type Lines = Vec<(String, u32, &'static str, String)>;

fn base_lines() -> Lines {
    let mut lines: Lines = vec![
        ("@".into(), 300, "NS", "ns".into()),
        ("@".into(), 300, "NS", "ns2".into()),
        ("ns".into(), 300, "A", "192.0.2.1".into()),
        ("ns2".into(), 300, "A", "192.0.2.2".into()),
        ("*.w".into(), 300, "A", "192.0.2.9".into()),
        ("sub".into(), 300, "NS", "ns.sub".into()),
        ("ns.sub".into(), 300, "A", "192.0.2.10".into()),
        ("d".into(), 300, "DNAME", "elsewhere.example.net.".into()),
    ];
    for i in 0..60 {
        let h = format!("h{i}");
        lines.push((h.clone(), 300, "A", format!("192.0.2.{}", 20 + i)));
        if i % 3 == 0 {
            lines.push((h.clone(), 300, "A", format!("198.51.100.{}", 20 + i)));
        }
        lines.push((h.clone(), 300, "TXT", format!("\"n{i}\"")));
        if i % 5 == 0 {
            lines.push((h.clone(), 300, "MX", format!("10 mail.h{i}")));
        }
        if i % 10 == 0 {
            lines.push((format!("c{i}"), 300, "CNAME", h.clone()));
        }
    }
    lines
}

fn zone_of(serial: u32, lines: &Lines) -> Zone {
    let mut text = format!("$ORIGIN example.\n@ 300 SOA ns hm {serial} 2 3 4 60\n");
    for (owner, ttl, rtype, rdata) in lines {
        text.push_str(&format!("{owner} {ttl} {rtype} {rdata}\n"));
    }
    load_zone_str(&text, ORIGIN).unwrap().0
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn line_of(&mut self, lines: &Lines, rtype: &str) -> usize {
        let of_type: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].2 == rtype).collect();
        of_type[self.below(of_type.len())]
    }
}

/// Changes the data of RRsets that stay: what a patch handles.
fn mutate_data(lines: &mut Lines, rng: &mut Rng) {
    match rng.below(7) {
        0 => {
            let at = rng.line_of(lines, "A");
            lines[at].3 = format!("203.0.113.{}", rng.below(250));
        }
        1 => {
            let at = rng.line_of(lines, "A");
            let line = (
                lines[at].0.clone(),
                300,
                "A",
                format!("203.0.113.{}", rng.below(250)),
            );
            lines.push(line);
        }
        2 => {
            // Drops one address of an owner that keeps another.
            let at = rng.line_of(lines, "A");
            let owner = lines[at].0.clone();
            if lines.iter().filter(|l| l.0 == owner && l.2 == "A").count() > 1 {
                lines.remove(at);
            }
        }
        3 => {
            let at = rng.line_of(lines, "TXT");
            let owner = lines[at].0.clone();
            for line in lines.iter_mut().filter(|l| l.0 == owner) {
                line.1 = 60;
            }
        }
        4 => {
            let at = rng.line_of(lines, "CNAME");
            lines[at].3 = format!("h{}", rng.below(60));
        }
        5 => {
            let at = rng.line_of(lines, "MX");
            lines[at].3 = format!("{} mail.example.net.", rng.below(100));
        }
        _ => {
            let at = lines.iter().position(|l| l.0 == "@" && l.3 == "ns2");
            if let Some(at) = at {
                lines[at].3 = "ns.example.net.".into();
            }
        }
    }
}

fn listing(zone: &Zone) -> Vec<Record> {
    zone.records().map(|r| r.to_owned_record()).collect()
}

fn sorted(mut records: Vec<Record>) -> Vec<Record> {
    records.sort_by(|a, b| (&a.owner, a.rtype, &a.rdata).cmp(&(&b.owner, b.rtype, &b.rdata)));
    records
}

#[test]
fn data_changes_are_patched_exactly_as_a_build_would_make_them() {
    for seed in 1..=60u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let lines = base_lines();
        let mut changed = lines.clone();
        for _ in 0..1 + rng.below(6) {
            mutate_data(&mut changed, &mut rng);
        }
        let (old, new) = (zone_of(1, &lines), zone_of(2, &changed));
        let difference = diff(&old, &new).unwrap();
        let patched = patch(&old, &difference)
            .unwrap_or_else(|| panic!("seed {seed}: {difference:?} was not patched"));
        let (built, _) = rebuild_one(&old, &difference).unwrap();
        assert_same_zone(&patched, &built, &format!("seed {seed}"));
        assert_eq!(
            sorted(listing(&patched)),
            sorted(listing(&new)),
            "seed {seed}"
        );
        assert!(
            patched.stale_rdata() > 0,
            "seed {seed}: old data is left behind"
        );
    }
}

#[test]
fn what_a_build_indexes_or_checks_is_left_to_the_build() {
    let lines = base_lines();
    let with = |change: &dyn Fn(&mut Lines)| {
        let mut changed = lines.clone();
        change(&mut changed);
        changed
    };
    let cases: Vec<(&str, Lines)> = vec![
        (
            "a new name",
            with(&|l| l.push(("new".into(), 300, "A", "192.0.2.7".into()))),
        ),
        (
            "a new type",
            with(&|l| l.push(("h1".into(), 300, "AAAA", "2001:db8::1".into()))),
        ),
        (
            "an RRset removed",
            with(&|l| l.retain(|x| !(x.0 == "h1" && x.2 == "TXT"))),
        ),
        ("a name removed", with(&|l| l.retain(|x| x.0 != "h2"))),
        (
            "a delegation's NS",
            with(&|l| l.push(("sub".into(), 300, "NS", "ns.example.net.".into()))),
        ),
    ];
    let old = zone_of(1, &lines);
    for (what, changed) in cases {
        let difference = diff(&old, &zone_of(2, &changed)).unwrap();
        assert!(patch(&old, &difference).is_none(), "{what} was patched");
        let (built, _) = apply(&old, std::slice::from_ref(&difference)).unwrap();
        assert_eq!(
            sorted(listing(&built)),
            sorted(listing(&zone_of(2, &changed)))
        );
    }
    // A second CNAME cannot be written in a zone file; an IXFR can bring one.
    let mut changed = lines.clone();
    changed.push(("h1".into(), 300, "A", "192.0.2.7".into()));
    let mut difference = diff(&old, &zone_of(2, &changed)).unwrap();
    let mut second = difference.added[0].clone();
    (second.owner, second.rtype, second.rdata) = (wire("c10"), rtype::CNAME, wire("h3"));
    difference.added.push(second);
    assert!(
        patch(&old, &difference).is_none(),
        "two CNAMEs were patched"
    );
    assert!(
        apply(&old, &[difference]).is_err(),
        "a build refuses two CNAMEs"
    );
}

/// `label.example.` in wire form.
fn wire(label: &str) -> Vec<u8> {
    let mut out = vec![label.len() as u8];
    out.extend_from_slice(label.as_bytes());
    out.extend_from_slice(ORIGIN);
    out
}

#[test]
fn successive_patches_share_names_and_are_compacted_by_a_build() {
    // Each version changes the addresses of other names: the stale data grows until a
    // build compacts it.
    let mut lines = base_lines();
    let mut zone = zone_of(1, &lines);
    let mut patched_versions = 0;
    for serial in 2..12u32 {
        let owners: Vec<String> = (0..6)
            .map(|i| format!("h{}", serial * 6 + i - 12))
            .collect();
        for line in lines
            .iter_mut()
            .filter(|l| l.2 == "A" && owners.contains(&l.0))
        {
            line.3 = format!("203.0.113.{serial}");
        }
        let difference = diff(&zone, &zone_of(serial, &lines)).unwrap();
        let was_patched = patch(&zone, &difference).is_some();
        patched_versions += usize::from(was_patched);
        let (next, _) = apply(&zone, &[difference]).unwrap();
        assert_eq!(
            sorted(listing(&next)),
            sorted(listing(&zone_of(serial, &lines)))
        );
        assert!(next.stale_rdata() * STALE_SHARE <= next.rdata_len());
        if was_patched {
            assert!(Arc::ptr_eq(&zone.names_shared(), &next.names_shared()));
        }
        zone = next;
    }
    assert!(
        (1..10).contains(&patched_versions),
        "{patched_versions} patched"
    );
}

#[test]
fn new_signatures_move_the_earliest_expiration() {
    // Unsigned names beside them, so that the rewritten nodes are a small part.
    let others: String = (0..100)
        .map(|i| format!("f{i} 300 A 192.0.2.{i}\n"))
        .collect();
    let text = |serial: u32, ns_expires: &str| {
        format!(
            "$ORIGIN example.\n@ 300 SOA ns hm {serial} 2 3 4 60\n\
             @ 300 RRSIG SOA 13 1 300 20270101000000 20261201000000 1 example. AAAA\n\
             @ 300 NS ns\nns 300 A 192.0.2.1\n\
             ns 300 RRSIG A 13 2 300 {ns_expires} 20261201000000 1 example. AAAA\n{others}"
        )
    };
    let old = load_zone_str(&text(1, "20270201000000"), ORIGIN).unwrap().0;
    let new = load_zone_str(&text(2, "20261215000000"), ORIGIN).unwrap().0;
    let difference = diff(&old, &new).unwrap();
    let patched = patch(&old, &difference).expect("a signature change is patched");
    let (built, _) = rebuild_one(&old, &difference).unwrap();
    assert_same_zone(&patched, &built, "");
    assert!(patched.is_signed());
    assert_ne!(
        patched.signatures_expire_in(1_800_000_000),
        old.signatures_expire_in(1_800_000_000)
    );
}
