//! The cache gives back exactly what the answer path wrote, under the new ID, and nothing
//! for a query that differs or for zones of another generation.

use std::sync::Arc;

use dns_wire::types::rtype;
use dns_zone::{ZoneSet, load_zone_str};

use super::*;
use crate::{AnswerConfig, Transport, respond};

const ZONE: &str = "$ORIGIN example.\n$TTL 3600\n@ SOA ns1 hostmaster 42 7200 3600 1209600 300\n\
                    @ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.10\nwww AAAA 2001:db8::10\n";

fn zones() -> ZoneSet {
    let (zone, _) = load_zone_str(ZONE, b"\x07example\x00").unwrap();
    let mut set = ZoneSet::new();
    set.insert(Arc::new(zone));
    set
}

/// A query with `id` for `name`, with EDNS (payload 1232, DO as given).
fn query(id: u16, name: &str, qtype: u16, dnssec_ok: bool) -> Vec<u8> {
    let mut msg = id.to_be_bytes().to_vec();
    msg.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    msg.extend_from_slice(&dns_wire::name_from_text(name).unwrap());
    msg.extend_from_slice(&qtype.to_be_bytes());
    msg.extend_from_slice(&1u16.to_be_bytes());
    msg.extend_from_slice(&[
        0,
        0,
        41,
        0x04,
        0xd0,
        0,
        0,
        if dnssec_ok { 0x80 } else { 0 },
        0,
        0,
        0,
    ]);
    msg
}

/// Answers `msg` the normal way and stores the answer.
fn answer_and_store(cache: &mut AnswerCache, generation: u64, msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let outcome = respond(
        msg,
        &zones(),
        &AnswerConfig::default(),
        Transport::Udp,
        &mut out,
    );
    cache.store(generation, 0, msg, (outcome, Ttls::Fixed), &out);
    out
}

fn from_cache(cache: &mut AnswerCache, generation: u64, msg: &[u8]) -> Option<(Vec<u8>, Outcome)> {
    let mut out = vec![0xff; 3]; // the cache clears what was there
    cache.answer(generation, 0, msg, &mut out).map(|o| (out, o))
}

#[test]
fn a_stored_answer_comes_back_under_the_new_id() {
    let mut cache = AnswerCache::new(64, 7);
    assert!(from_cache(&mut cache, 0, &query(1, "www.example.", rtype::A, false)).is_none());
    let first = answer_and_store(&mut cache, 0, &query(1, "www.example.", rtype::A, false));
    let (again, outcome) = from_cache(
        &mut cache,
        0,
        &query(0x4242, "www.example.", rtype::A, false),
    )
    .expect("the same question is answered from the cache");
    assert_eq!(&again[..2], &[0x42, 0x42]);
    assert_eq!(again[2..], first[2..]);
    let normal = {
        let mut out = Vec::new();
        let msg = query(0x4242, "www.example.", rtype::A, false);
        let outcome = respond(
            &msg,
            &zones(),
            &AnswerConfig::default(),
            Transport::Udp,
            &mut out,
        );
        assert_eq!(
            outcome,
            Outcome::Answered {
                len: out.len(),
                rcode: 0,
                truncated: false
            }
        );
        out
    };
    assert_eq!(again, normal, "what the answer path writes for the new ID");
    assert_eq!(
        outcome,
        Outcome::Answered {
            len: again.len(),
            rcode: 0,
            truncated: false
        }
    );
    // Negative answers are kept with their code.
    answer_and_store(&mut cache, 0, &query(1, "nx.example.", rtype::A, false));
    let (_, outcome) =
        from_cache(&mut cache, 0, &query(2, "nx.example.", rtype::A, false)).unwrap();
    assert!(
        matches!(outcome, Outcome::Answered { rcode: 3, .. }),
        "{outcome:?}"
    );
}

#[test]
fn a_query_that_differs_in_any_octet_is_another_entry() {
    let mut cache = AnswerCache::new(64, 7);
    answer_and_store(&mut cache, 0, &query(1, "www.example.", rtype::A, false));
    for other in [
        query(1, "WWW.example.", rtype::A, false),
        query(1, "www.example.", rtype::AAAA, false),
        query(1, "www.example.", rtype::A, true),
        query(1, "www.example.", rtype::A, false)[..29].to_vec(),
    ] {
        assert!(from_cache(&mut cache, 0, &other).is_none(), "{other:?}");
    }
    let mut no_recursion = query(1, "www.example.", rtype::A, false);
    no_recursion[2] = 0;
    assert!(from_cache(&mut cache, 0, &no_recursion).is_none());
}

#[test]
fn a_new_generation_of_zones_empties_the_cache() {
    let mut cache = AnswerCache::new(64, 7);
    let msg = query(1, "www.example.", rtype::A, false);
    answer_and_store(&mut cache, 5, &msg);
    assert!(
        from_cache(&mut cache, 5, &msg).is_none(),
        "stored for a generation the cache has not seen"
    );
    assert!(from_cache(&mut cache, 6, &msg).is_none());
    answer_and_store(&mut cache, 6, &msg);
    assert!(from_cache(&mut cache, 6, &msg).is_some());
    assert!(from_cache(&mut cache, 7, &msg).is_none(), "zones changed");
    // An answer computed from an older generation is not stored.
    answer_and_store(&mut cache, 6, &msg);
    assert!(from_cache(&mut cache, 7, &msg).is_none());
    // Many generations later (the stamp wraps) nothing old comes back.
    answer_and_store(&mut cache, 7, &msg);
    cache.stamp = u32::MAX;
    assert!(from_cache(&mut cache, 8, &msg).is_none());
    assert_eq!(cache.stamp, 1);
    assert!(from_cache(&mut cache, 8, &msg).is_none());
}

#[test]
fn a_set_keeps_the_two_answers_used_last() {
    let mut cache = AnswerCache::new(2, 7); // one set of two
    let [a, b, c] =
        ["ns1.example.", "www.example.", "nx.example."].map(|n| query(1, n, rtype::A, false));
    answer_and_store(&mut cache, 0, &a);
    answer_and_store(&mut cache, 0, &b);
    assert!(from_cache(&mut cache, 0, &a).is_some());
    answer_and_store(&mut cache, 0, &c);
    assert!(from_cache(&mut cache, 0, &a).is_some(), "used last, kept");
    assert!(
        from_cache(&mut cache, 0, &b).is_none(),
        "used least recently, replaced"
    );
    assert!(from_cache(&mut cache, 0, &c).is_some());
}

#[test]
fn oversized_queries_and_dropped_messages_are_not_stored() {
    let mut cache = AnswerCache::new(64, 7);
    let mut long = query(1, "www.example.", rtype::A, false);
    long.resize(2 + MAX_KEY + 1, 0);
    let answered = Outcome::Answered {
        len: 14,
        rcode: 0,
        truncated: false,
    };
    cache.store(0, 0, &long, (answered, Ttls::Fixed), &[0; 14]);
    assert!(from_cache(&mut cache, 0, &long).is_none());
    let msg = query(1, "www.example.", rtype::A, false);
    cache.store(0, 0, &msg, (Outcome::Dropped, Ttls::Fixed), &[]);
    assert!(from_cache(&mut cache, 0, &msg).is_none());
}

#[test]
fn the_code_and_truncation_come_back_as_stored() {
    let mut cache = AnswerCache::new(64, 7);
    let msg = query(1, "www.example.", rtype::A, false);
    let answer = [0, 1, 0x83, 0x00, 9, 9];
    let stored = Outcome::Answered {
        len: answer.len(),
        rcode: 16,
        truncated: true,
    };
    cache.store(0, 0, &msg, (stored, Ttls::Fixed), &answer);
    let (out, outcome) =
        from_cache(&mut cache, 0, &query(7, "www.example.", rtype::A, false)).unwrap();
    assert_eq!(out, [0, 7, 0x83, 0x00, 9, 9]);
    assert_eq!(outcome, stored);
}

/// A resolver's answer: the question of `msg`, a CNAME (TTL `cname_ttl`) to an A record
/// (TTL `a_ttl`), and an OPT record whose flags (DO) must never be aged.
fn resolver_answer(msg: &[u8], cname_ttl: u32, a_ttl: u32) -> Vec<u8> {
    use dns_wire::writer::{MessageWriter, RdataNames, Section};
    let question = &msg[12..msg.len() - 11];
    let header = dns_wire::Header {
        id: u16::from_be_bytes([msg[0], msg[1]]),
        flags: dns_wire::Header::QR | dns_wire::Header::RD | dns_wire::Header::RA,
        ..Default::default()
    };
    let mut out = Vec::new();
    let mut w = MessageWriter::new(&mut out, header, Some(question));
    let target = b"\x01a\x07example\x00";
    w.push_record(
        &question[..question.len() - 4],
        rtype::CNAME,
        1,
        cname_ttl,
        target,
        RdataNames::One,
    )
    .unwrap();
    w.push_record(
        target,
        rtype::A,
        1,
        a_ttl,
        &[192, 0, 2, 7],
        RdataNames::Opaque,
    )
    .unwrap();
    w.set_section(Section::Additional);
    w.push_opt(1232, 0, true, &[]).unwrap();
    w.finish();
    out
}

fn answered(answer: &[u8]) -> Outcome {
    Outcome::Answered {
        len: answer.len(),
        rcode: 0,
        truncated: false,
    }
}

fn ttls_of(message: &[u8]) -> Vec<u32> {
    let mut ttls = Vec::new();
    dns_wire::for_each_ttl(message, |_, ttl| ttls.push(ttl)).unwrap();
    ttls
}

#[test]
fn a_counting_down_answer_is_aged_and_ends_before_its_smallest_ttl() {
    let mut cache = AnswerCache::new(64, 7);
    let msg = query(1, "www.example.", rtype::A, true);
    let answer = resolver_answer(&msg, 300, 60);
    cache.store(
        0,
        10_000,
        &msg,
        (answered(&answer), Ttls::CountDown),
        &answer,
    );
    let mut out = Vec::new();
    let copy_at = |cache: &mut AnswerCache, now_ms: u64, out: &mut Vec<u8>| {
        let again = query(9, "www.example.", rtype::A, true);
        cache.answer(0, now_ms, &again, out).map(|_| ttls_of(out))
    };
    assert_eq!(copy_at(&mut cache, 10_999, &mut out), Some(vec![300, 60]));
    assert_eq!(copy_at(&mut cache, 12_500, &mut out), Some(vec![298, 58]));
    // Everything but the TTLs (and the ID) is what was stored: the OPT record's DO too.
    let mut expected = answer.clone();
    expected[..2].copy_from_slice(&[0, 9]);
    let mut positions = Vec::new();
    dns_wire::for_each_ttl(&answer, |at, ttl| positions.push((at, ttl))).unwrap();
    for (at, ttl) in positions {
        expected[at..at + 4].copy_from_slice(&(ttl - 2).to_be_bytes());
    }
    assert_eq!(out, expected);
    // The A record's 60 s end at 70 s on this clock: the copy stops a second before.
    assert_eq!(copy_at(&mut cache, 68_999, &mut out), Some(vec![242, 2]));
    assert_eq!(copy_at(&mut cache, 69_000, &mut out), None);
    assert_eq!(
        copy_at(&mut cache, 69_001, &mut out),
        None,
        "and stays gone"
    );
    // Its place takes the next answer at once.
    let fresh = resolver_answer(&msg, 300, 60);
    cache.store(0, 69_001, &msg, (answered(&fresh), Ttls::CountDown), &fresh);
    assert_eq!(copy_at(&mut cache, 69_001, &mut out), Some(vec![300, 60]));
}

#[test]
fn answers_that_cannot_count_down_are_not_kept() {
    let mut cache = AnswerCache::new(64, 7);
    let msg = query(1, "www.example.", rtype::A, true);
    let short = resolver_answer(&msg, 300, 1);
    cache.store(0, 0, &msg, (answered(&short), Ttls::CountDown), &short);
    assert!(from_cache(&mut cache, 0, &msg).is_none(), "a TTL of 1 s");
    // No record at all (a truncated answer: its question and OPT only): nothing to bound it.
    let mut bare = resolver_answer(&msg, 300, 60);
    bare.truncate(12 + msg.len() - 12 - 11);
    bare[6..12].fill(0);
    cache.store(0, 0, &msg, (answered(&bare), Ttls::CountDown), &bare);
    assert!(from_cache(&mut cache, 0, &msg).is_none(), "no TTL");
    // An answer that does not parse.
    let mut cut = resolver_answer(&msg, 300, 60);
    cut.truncate(cut.len() - 13);
    cache.store(0, 0, &msg, (answered(&cut), Ttls::CountDown), &cut);
    assert!(from_cache(&mut cache, 0, &msg).is_none(), "cut");
    // The same bare answer kept as fixed (an authoritative answer) lasts its generation.
    cache.store(0, 0, &msg, (answered(&bare), Ttls::Fixed), &bare);
    let mut out = Vec::new();
    assert!(cache.answer(0, u64::MAX - 1, &msg, &mut out).is_some());
}

#[test]
fn storing_a_query_again_replaces_its_entry() {
    let mut cache = AnswerCache::new(2, 7); // one set of two
    let msg = query(1, "www.example.", rtype::TXT, false);
    for answer in [[0x12, 0x34, 0x84, 0x00, 1], [0x12, 0x34, 0x84, 0x03, 2]] {
        let outcome = Outcome::Answered {
            len: answer.len(),
            rcode: u16::from(answer[3]),
            truncated: false,
        };
        cache.store(0, 0, &msg, (outcome, Ttls::Fixed), &answer);
        let (out, got) = from_cache(&mut cache, 0, &msg).expect("stored");
        assert_eq!((&out[2..], got), (&answer[2..], outcome));
    }
    // The other entry of the set is still free: a second query fills it, keeping the first.
    let other = query(1, "ns1.example.", rtype::A, false);
    answer_and_store(&mut cache, 0, &other);
    assert!(from_cache(&mut cache, 0, &msg).is_some());
    assert!(from_cache(&mut cache, 0, &other).is_some());
}
