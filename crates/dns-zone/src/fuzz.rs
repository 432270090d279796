//! Fuzzing entry points (used by `fuzz/` and by the corpus replay test). Not API.
//!
//! [`patch_anything`] turns any bytes into a difference against a fixed zone and checks the
//! patch against the build: whatever the patch accepts, the build must accept too and make
//! the same zone. [`reload_anything`] reads any bytes as a new version of that zone's file
//! against it: whatever the reload patches, a build of the text must serve too.

use std::sync::OnceLock;

use dns_wire::Record;
use dns_wire::types::{class, rtype};

use crate::difference::Diff;
use crate::load::load_zone_str;
use crate::patch::patch;
use crate::reload::patch_from_text;
use crate::transfer::rebuild_one;
use crate::zone::{Node, Zone};

const ORIGIN: &[u8] = b"\x07example\x00";

/// Owners the input picks from: the zone's, their uppercase forms and names it lacks.
const OWNERS: [&str; 12] = [
    "example.",
    "n1.example.",
    "n2.example.",
    "N3.EXAMPLE.",
    "c1.example.",
    "sub.example.",
    "ns.sub.example.",
    "*.w.example.",
    "a.b.example.",
    "b.example.",
    "new.example.",
    "net.",
];
/// Types the input picks from.
const TYPES: [u16; 12] = [
    rtype::A,
    rtype::AAAA,
    rtype::TXT,
    rtype::MX,
    rtype::CNAME,
    rtype::NS,
    rtype::RRSIG,
    rtype::SOA,
    rtype::NSEC,
    rtype::DNSKEY,
    rtype::DS,
    99,
];

fn base() -> &'static Zone {
    static BASE: OnceLock<Zone> = OnceLock::new();
    // A valid fixed zone: a failure here is a bug in this file.
    BASE.get_or_init(|| {
        load_zone_str(base_text(), ORIGIN)
            .expect("the fuzz zone loads")
            .0
    })
}

/// The fixed zone's file.
pub fn base_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut text = String::from(
            "$ORIGIN example.\n$TTL 300\n@ SOA ns hm 1 2 3 4 60\n@ NS ns\n@ NS ns2.example.net.\n\
             ns A 192.0.2.1\nc1 CNAME n1\nsub NS ns.sub\nns.sub A 192.0.2.3\nsub DS 1 13 2 00\n\
             *.w TXT \"w\"\na.b TXT \"ent above\"\n\
             n1 RRSIG A 13 2 300 20270101000000 20261201000000 1 example. AAAA\n",
        );
        for i in 0..100 {
            text.push_str(&format!("n{i} A 192.0.2.{i}\nn{i} TXT \"t{i}\"\n"));
            if i % 3 == 0 {
                text.push_str(&format!("n{i} AAAA 2001:db8::{i:x}\nn{i} MX {i} n{i}\n"));
            }
        }
        text
    })
}

/// A difference against the fixed zone, read from `data`: for each record, an operation
/// octet (bit 0: added, else removed; bit 6: class CH; bit 5: TTL 60, else 300), an owner,
/// a type, and either the index of one of the zone's RDATAs of that owner and type or a
/// length and that many octets.
fn difference_from(data: &[u8]) -> Option<Diff> {
    let zone = base();
    let soa = zone.soa_record()?;
    let mut new_soa = soa.clone();
    let serial_at = new_soa.rdata.len() - 20;
    new_soa.rdata[serial_at..serial_at + 4].copy_from_slice(&2u32.to_be_bytes());
    if data.first().is_some_and(|b| b & 0x80 != 0) {
        new_soa.owner = b"\x03net\x00".to_vec(); // not the apex
    }
    let mut diff = Diff {
        old_soa: soa,
        new_soa,
        removed: Vec::new(),
        added: Vec::new(),
    };
    let mut rest = data.get(1..)?;
    while let [op, owner, rtype, pick, tail @ ..] = rest {
        let owner_text = OWNERS[usize::from(*owner) % OWNERS.len()];
        let owner = dns_wire::name_from_text(owner_text).ok()?;
        let rtype = TYPES[usize::from(*rtype) % TYPES.len()];
        let existing: Vec<Vec<u8>> = zone
            .find(&owner.to_ascii_lowercase())
            .and_then(|node| node.rrset(rtype))
            .map(|rrset| rrset.rdatas().map(<[u8]>::to_vec).collect())
            .unwrap_or_default();
        let rdata = if *pick < 0x80 && !existing.is_empty() {
            rest = tail;
            existing[usize::from(*pick) % existing.len()].clone()
        } else {
            let len = usize::from(*pick & 0x3f).min(tail.len());
            rest = &tail[len..];
            tail[..len].to_vec()
        };
        let record = Record {
            owner,
            rtype,
            class: if op & 0x40 != 0 { class::CH } else { class::IN },
            ttl: if op & 0x20 != 0 { 60 } else { 300 },
            rdata,
        };
        if op & 1 == 1 {
            diff.added.push(record);
        } else {
            diff.removed.push(record);
        }
    }
    Some(diff)
}

/// Applies a difference read from `data` by patch and by build; panics when the patch
/// accepts what the build refuses, or when the two zones differ ([`assert_same_zone`]).
/// Returns whether
/// the difference was patched (and so compared).
pub fn patch_anything(data: &[u8]) -> bool {
    let Some(diff) = difference_from(data) else {
        return false;
    };
    let zone = base();
    let Some(patched) = patch(zone, &diff) else {
        return false;
    };
    let built = match rebuild_one(zone, &diff) {
        Ok((built, _)) => built,
        Err(err) => panic!("the patch accepted what the build refuses: {err:?}\n{diff:?}"),
    };
    assert_same_zone(&patched, &built, &format!("{diff:?}"));
    true
}

/// Reads `data` as a new version of the fixed zone's file against it, as a reload does;
/// panics when the reload patches a text that does not build, or makes another zone than
/// the build of the text ([`assert_same_zone`]: records in order, counts, flags, TTLs).
/// Returns whether the reload patched.
pub fn reload_anything(data: &[u8]) -> bool {
    // The build reads text (a file that is not UTF-8 goes to `domain`'s scanner, which
    // takes bytes): compared on UTF-8 only.
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Some(reloaded) = patch_from_text(base(), data, "<fuzz>", 0, 0) else {
        return false;
    };
    let built = match load_zone_str(text, ORIGIN) {
        Ok((built, _)) => built,
        Err(err) => panic!("the reload patched what the build refuses: {err:?}\n{text}"),
    };
    // In order: a build keeps each RRset in the file's order, and answers follow it.
    assert_same_zone(&reloaded.zone, &built, text);
    true
}

/// Panics unless `other` (a zone made another way: other, or read back from its
/// snapshot) is the zone `built` is: the same records in the same order, the same counts,
/// serial, signed state and signature expiry, and for every name the same flags and RRset
/// TTLs (`context` goes into the message). Shared by the patch's tests and the fuzz targets.
pub fn assert_same_zone(other: &Zone, built: &Zone, context: &str) {
    let listing = |z: &Zone| z.records().map(|r| r.to_owned_record()).collect::<Vec<_>>();
    assert_eq!(listing(other), listing(built), "{context}");
    assert_eq!(other.serial(), built.serial(), "{context}");
    assert_eq!(other.record_count(), built.record_count(), "{context}");
    assert_eq!(other.node_count(), built.node_count(), "{context}");
    assert_eq!(other.is_signed(), built.is_signed(), "{context}");
    assert_eq!(
        other.signatures_expire_in(1_800_000_000),
        built.signatures_expire_in(1_800_000_000),
        "{context}"
    );
    for node in built.nodes().take(built.regular_node_count()) {
        let found = other.find(node.name).expect("every name is kept");
        let flags = |n: &Node<'_>| (n.is_delegation(), n.has_cname(), n.has_dname());
        assert_eq!(flags(&found), flags(&node), "{context}");
        let ttls = |n: Node<'_>| n.rrsets().map(|r| (r.rtype, r.ttl)).collect::<Vec<_>>();
        assert_eq!(ttls(found), ttls(node), "{context}");
    }
}
