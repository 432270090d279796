//! The resolver against a virtual tree of authoritative servers (sim.rs): the real
//! authoritative engine answers, the clock is virtual, some servers misbehave.

use dns_wire::types::{class, rcode, rtype};
use dns_wire::{Header, MessageWriter, Response, Section, name_from_text};
use dns_zone::rdata_names_for;

use crate::cache::Cached;
use crate::failure::Failure;
use crate::sim::{Behaviour, Net, at};

const HINTS: &str = ". 3600000 IN NS a.root.\na.root. 3600000 IN A 192.0.2.1\n";

const ROOT: &str = "\
. 86400 IN SOA a.root. admin.root. 1 1800 900 604800 86400
. 86400 IN NS a.root.
a.root. 86400 IN A 192.0.2.1
test. 86400 IN NS ns1.test.
test. 86400 IN NS ns2.test.
ns1.test. 86400 IN A 192.0.2.2
ns2.test. 86400 IN A 192.0.2.3
other. 86400 IN NS ns.other.
ns.other. 86400 IN A 192.0.2.6
";

const TEST: &str = "\
test. 3600 IN SOA ns1.test. admin.test. 1 1800 900 604800 60
test. 3600 IN NS ns1.test.
test. 3600 IN NS ns2.test.
ns1.test. 3600 IN A 192.0.2.2
ns2.test. 3600 IN A 192.0.2.3
example.test. 3600 IN NS ns1.example.test.
example.test. 3600 IN NS ns2.example.test.
ns1.example.test. 3600 IN A 192.0.2.4
ns2.example.test. 3600 IN A 192.0.2.5
glueless.test. 3600 IN NS ns.other.
loop1.test. 3600 IN CNAME loop2.test.
loop2.test. 3600 IN CNAME loop1.test.
";

const EXAMPLE: &str = "\
example.test. 3600 IN SOA ns1.example.test. admin.example.test. 1 1800 900 604800 60
example.test. 3600 IN NS ns1.example.test.
example.test. 3600 IN NS ns2.example.test.
ns1.example.test. 3600 IN A 192.0.2.4
ns2.example.test. 3600 IN A 192.0.2.5
www.example.test. 300 IN A 192.0.2.80
alias.example.test. 300 IN CNAME www.glueless.test.
a.b.c.deep.example.test. 300 IN A 192.0.2.81
d.example.test. 300 IN DNAME other.
";

const OTHER: &str = "\
other. 3600 IN SOA ns.other. admin.other. 1 1800 900 604800 60
other. 3600 IN NS ns.other.
ns.other. 3600 IN A 192.0.2.6
y.other. 300 IN A 192.0.2.83
";

const GLUELESS: &str = "\
glueless.test. 3600 IN SOA ns.other. admin.other. 1 1800 900 604800 60
glueless.test. 3600 IN NS ns.other.
www.glueless.test. 300 IN A 192.0.2.82
";

/// The tree: root at .1, test. at .2 and .3, example.test. at .4 and .5, other. and
/// glueless.test. at .6.
pub(crate) fn tree() -> Net {
    let mut net = Net::new(HINTS);
    net.serve(at(1), ".", ROOT);
    net.serve(at(2), "test.", TEST);
    net.serve(at(3), "test.", TEST);
    net.serve(at(4), "example.test.", &with_big_txt(EXAMPLE));
    net.serve(at(5), "example.test.", &with_big_txt(EXAMPLE));
    net.serve(at(6), "other.", OTHER);
    net.serve(at(6), "glueless.test.", GLUELESS);
    net
}

/// Adds a TXT RRset too large for a 1232-octet answer.
fn with_big_txt(zone: &str) -> String {
    let mut text = zone.to_string();
    for i in 0..8 {
        text.push_str(&format!(
            "big.example.test. 300 IN TXT \"{i}{}\"\n",
            "x".repeat(200)
        ));
    }
    text
}

pub(crate) fn addresses(resolved: &crate::Resolved) -> Vec<[u8; 4]> {
    resolved
        .answer
        .iter()
        .filter(|s| s.rtype == rtype::A)
        .flat_map(|s| {
            s.rdatas
                .iter()
                .map(|r| <[u8; 4]>::try_from(&r[..]).unwrap())
        })
        .collect()
}

fn asked(net: &Net) -> Vec<(String, u8)> {
    net.log
        .iter()
        .map(|s| {
            (
                s.qname.to_ascii_lowercase(),
                s.to.ip()
                    .to_string()
                    .rsplit('.')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap(),
            )
        })
        .collect()
}

#[test]
fn iterates_down_the_tree_with_minimised_queries_then_answers_from_the_cache() {
    let mut net = tree();
    let resolved = net.resolve("www.example.test.", rtype::A);
    assert_eq!(resolved.rcode, rcode::NOERROR);
    assert_eq!(addresses(&resolved), [[192, 0, 2, 80]]);
    let asked = asked(&net);
    // RFC 9156: the root is asked for "test." only, test.'s servers for "example.test.".
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert_eq!(asked[0], ("\u{4}test\0".into(), 1));
    assert!(asked[1].0 == "\u{7}example\u{4}test\0" && [2, 3].contains(&asked[1].1));
    assert!(asked[2].0 == "\u{3}www\u{7}example\u{4}test\0" && [4, 5].contains(&asked[2].1));
    // The case of what was sent is randomised (0x20), the name the same.
    let sent_case: Vec<&str> = net.log.iter().map(|s| s.qname.as_str()).collect();
    assert!(net.log.iter().all(|s| s.qtype == rtype::A), "{sent_case:?}");
    // Again: from the cache, nothing sent.
    let again = net.resolve("www.example.test.", rtype::A);
    assert_eq!(addresses(&again), [[192, 0, 2, 80]]);
    assert_eq!(net.sent(), 3);
    // A sibling needs only the last server: the delegations are cached.
    let deep = net.resolve("a.b.c.deep.example.test.", rtype::A);
    assert_eq!(addresses(&deep), [[192, 0, 2, 81]]);
    assert!(
        net.log[3..].iter().all(|s| [4, 5].contains(
            &s.to
                .ip()
                .to_string()
                .rsplit('.')
                .next()
                .unwrap()
                .parse::<u8>()
                .unwrap()
        )),
        "{:?}",
        &net.log[3..]
    );
}

#[test]
fn a_cname_into_a_glueless_zone_is_followed() {
    let mut net = tree();
    let resolved = net.resolve("alias.example.test.", rtype::A);
    assert_eq!(resolved.rcode, rcode::NOERROR, "{resolved:?}");
    assert_eq!(resolved.answer.len(), 2);
    assert_eq!(resolved.answer[0].rtype, rtype::CNAME);
    assert_eq!(addresses(&resolved), [[192, 0, 2, 82]]);
    // ns.other.'s address was looked up (the root's referral to other. carries it as
    // glue), then glueless.test.'s server asked.
    assert!(
        net.log
            .iter()
            .any(|s| s.qname.eq_ignore_ascii_case("\u{5}other\0") && s.to == at(1))
    );
    assert!(net.log.last().unwrap().to == at(6));
    // The glue is not an answer (RFC 2181 §5.4.1): a client asking for it makes the
    // resolver ask the zone's own server.
    let sent = net.sent();
    let ns = net.resolve("ns.other.", rtype::A);
    assert_eq!(addresses(&ns), [[192, 0, 2, 6]]);
    assert_eq!(net.sent(), sent + 1);
}

#[test]
fn test_2308_negative_answers_are_cached_with_the_soa() {
    let mut net = tree();
    let nx = net.resolve("nope.example.test.", rtype::A);
    assert_eq!(nx.rcode, rcode::NXDOMAIN);
    assert_eq!(nx.authority.len(), 1);
    assert_eq!(nx.authority[0].rtype, rtype::SOA);
    let sent = net.sent();
    let again = net.resolve("nope.example.test.", rtype::TXT);
    assert_eq!(again.rcode, rcode::NXDOMAIN);
    assert_eq!(
        net.sent(),
        sent,
        "NXDOMAIN covers every type, from the cache"
    );
    let nodata = net.resolve("www.example.test.", rtype::TXT);
    assert_eq!((nodata.rcode, nodata.answer.len()), (rcode::NOERROR, 0));
    assert_eq!(nodata.authority[0].rtype, rtype::SOA);
    let wire = name_from_text("www.example.test.").unwrap();
    match net.cache.get(net.now, &wire, rtype::TXT) {
        Some(Cached::NoData(denial, ttl)) if denial.soa.is_some() => assert!(ttl <= 60),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_silent_server_is_skipped_and_backed_off() {
    let mut net = tree();
    net.behave(at(4), Behaviour::Silent);
    let begin = net.now;
    for i in 0..6 {
        let resolved = net.resolve("www.example.test.", rtype::A);
        assert_eq!(addresses(&resolved), [[192, 0, 2, 80]], "round {i}");
        net.cache
            .flush(&name_from_text("www.example.test.").unwrap(), false);
    }
    let to_silent = net.log.iter().filter(|s| s.to == at(4)).count();
    assert!(
        to_silent <= 3,
        "the silent server was asked {to_silent} times"
    );
    assert!(net.now - begin < std::time::Duration::from_secs(3));
}

#[test]
fn test_7766_truncated_answers_are_asked_again_over_tcp() {
    let mut net = tree();
    net.behave(at(4), Behaviour::TruncateUdp);
    net.behave(at(5), Behaviour::TruncateUdp);
    let resolved = net.resolve("big.example.test.", rtype::TXT);
    assert_eq!(resolved.rcode, rcode::NOERROR);
    assert_eq!(resolved.answer[0].rdatas.len(), 8);
    let last_two: Vec<bool> = net.log.iter().rev().take(2).map(|s| s.tcp).collect();
    assert_eq!(last_two, [true, false], "{:?}", net.log);
}

#[test]
fn a_cname_loop_ends_in_servfail() {
    let mut net = tree();
    let resolved = net.resolve("loop1.test.", rtype::A);
    assert_eq!(resolved.rcode, rcode::SERVFAIL);
    assert!(
        matches!(resolved.failure, Some(Failure::Limit(_))),
        "{resolved:?}"
    );
    assert!(net.sent() < 10);
}

#[test]
fn a_referral_to_many_glueless_names_costs_a_few_queries() {
    // NXNSAttack: a delegation to 40 name servers under a name that does not exist.
    let mut test = TEST.to_string();
    for i in 0..40 {
        test.push_str(&format!("nxns.test. 3600 IN NS ns{i}.nowhere.\n"));
    }
    let mut net = tree();
    net.serve(at(2), "test.", &test);
    net.serve(at(3), "test.", &test);
    let resolved = net.resolve("x.nxns.test.", rtype::A);
    assert_eq!(resolved.rcode, rcode::SERVFAIL);
    assert!(
        net.sent() <= 10,
        "{} queries sent: {:?}",
        net.sent(),
        net.log
    );
}

#[test]
fn all_servers_silent_is_a_servfail_with_an_extended_error() {
    let mut net = tree();
    net.behave(at(4), Behaviour::Silent);
    net.behave(at(5), Behaviour::Silent);
    let resolved = net.resolve("www.example.test.", rtype::A);
    assert_eq!(resolved.rcode, rcode::SERVFAIL);
    assert!(resolved.failure.is_some());
}

/// The honest reply with `extra` (owner, type, rdata) added to `section`.
fn with_extra(reply: &[u8], section: Section, extra: (&str, u16, Vec<u8>)) -> Vec<u8> {
    let response = Response::parse(reply).unwrap();
    let mut out = Vec::new();
    let header = Header {
        id: response.header.id,
        flags: response.header.flags,
        ..Header::default()
    };
    let mut w = MessageWriter::new(&mut out, header, Some(response.question_bytes()));
    for s in [Section::Answer, Section::Authority, Section::Additional] {
        w.set_section(s);
        for r in response.records(s) {
            let r = r.unwrap();
            w.push_record(
                &r.owner,
                r.rtype,
                r.class,
                r.ttl,
                &r.rdata,
                rdata_names_for(r.rtype),
            )
            .unwrap();
        }
        if s == section {
            let owner = name_from_text(extra.0).unwrap();
            w.push_record(
                &owner,
                extra.1,
                class::IN,
                86400,
                &extra.2,
                rdata_names_for(extra.1),
            )
            .unwrap();
        }
    }
    let len = w.finish();
    out.truncate(len);
    out
}

#[test]
fn out_of_bailiwick_and_unasked_records_are_not_believed() {
    let mut net = tree();
    // test.'s servers add an address for ns.other. (not theirs to give) to every answer,
    // and an unasked record inside their own zone to the answer section.
    for n in [2, 3] {
        net.behave(
            at(n),
            Behaviour::Rewrite(Box::new(|_, reply| {
                let reply = with_extra(
                    &reply,
                    Section::Additional,
                    ("ns.other.", rtype::A, vec![203, 0, 113, 66]),
                );
                with_extra(
                    &reply,
                    Section::Answer,
                    ("victim.test.", rtype::A, vec![203, 0, 113, 66]),
                )
            })),
        );
    }
    let resolved = net.resolve("www.example.test.", rtype::A);
    assert_eq!(addresses(&resolved), [[192, 0, 2, 80]]);
    for name in ["ns.other.", "victim.test."] {
        let wire = name_from_text(name).unwrap();
        assert_eq!(
            net.cache.get(net.now, &wire, rtype::A),
            None,
            "{name} was cached"
        );
    }
    // The glueless zone's server is found at its true address.
    let resolved = net.resolve("www.glueless.test.", rtype::A);
    assert_eq!(addresses(&resolved), [[192, 0, 2, 82]]);
}

#[test]
fn test_5452_answers_with_another_id_or_question_case_are_ignored() {
    for forge in [0usize, 1] {
        let mut net = tree();
        net.behave(
            at(4),
            Behaviour::Rewrite(Box::new(move |_, mut reply| {
                if forge == 0 {
                    reply[0] ^= 0xff;
                } else {
                    // Flip the case of every letter of the question.
                    for b in &mut reply[13..20] {
                        if b.is_ascii_alphabetic() {
                            *b ^= 0x20;
                        }
                    }
                }
                // And lie, should it be believed.
                let len = reply.len();
                reply[len - 4..].copy_from_slice(&[203, 0, 113, 66]);
                reply
            })),
        );
        net.behave(at(5), Behaviour::Silent);
        let resolved = net.resolve("www.example.test.", rtype::A);
        assert!(
            addresses(&resolved).iter().all(|a| a != &[203, 0, 113, 66]),
            "forge {forge}: {resolved:?}"
        );
        assert_eq!(resolved.rcode, rcode::SERVFAIL, "forge {forge}");
    }
}

#[test]
fn a_forward_zone_sends_rd_and_takes_the_answer() {
    let mut net = tree();
    net.zones.push(crate::ConfiguredZone {
        zone: name_from_text("example.test.").unwrap(),
        servers: vec![at(5)],
        forward: true,
    });
    let resolved = net.resolve("www.example.test.", rtype::A);
    assert_eq!(addresses(&resolved), [[192, 0, 2, 80]]);
    assert_eq!(net.sent(), 1);
    assert_eq!(net.log[0].to, at(5));
}

#[test]
fn a_huge_reversed_cname_chain_is_cheap_and_mostly_not_kept() {
    let mut net = tree();
    // example.test.'s servers answer with 3,000 CNAMEs, the chain in reverse order.
    for n in [4, 5] {
        net.behave(
            at(n),
            Behaviour::Rewrite(Box::new(|_, reply| {
                let response = Response::parse(&reply).unwrap();
                let mut out = Vec::new();
                let header = Header {
                    id: response.header.id,
                    flags: Header::QR | Header::AA,
                    ..Header::default()
                };
                let mut w = MessageWriter::new(&mut out, header, Some(response.question_bytes()));
                let name = |i: usize| {
                    if i == 0 {
                        response.qname.as_wire().to_vec()
                    } else {
                        name_from_text(&format!("c{i}.example.test.")).unwrap()
                    }
                };
                for i in (0..3000).rev() {
                    if w.push_record(
                        &name(i),
                        rtype::CNAME,
                        class::IN,
                        300,
                        &name(i + 1),
                        rdata_names_for(rtype::CNAME),
                    )
                    .is_err()
                    {
                        break;
                    }
                }
                let len = w.finish();
                out.truncate(len);
                out
            })),
        );
    }
    // (Before chains were walked hop by hop from the name asked, this took minutes.)
    let resolved = net.resolve("www.example.test.", rtype::A);
    assert_eq!(resolved.rcode, rcode::SERVFAIL, "{resolved:?}");
    assert!(
        net.cache.size().0 < 100,
        "{} entries cached",
        net.cache.size().0
    );
}

#[test]
fn type_0_and_meta_types_are_not_resolved() {
    let mut net = tree();
    for qtype in [0u16, rtype::OPT, rtype::AXFR, rtype::TSIG] {
        let resolved = net.resolve("www.example.test.", qtype);
        assert_eq!(resolved.rcode, rcode::NOTIMP, "type {qtype}");
    }
    assert_eq!(net.sent(), 0);
    assert!(crate::is_resolvable_type(rtype::A) && !crate::is_resolvable_type(0));
}

#[test]
fn a_non_authoritative_answer_from_an_iterated_server_is_not_believed() {
    let mut net = tree();
    // .4 answers like a recursive server (AA clear) with a wrong address.
    net.behave(
        at(4),
        Behaviour::Rewrite(Box::new(|_, mut reply| {
            reply[2] &= !0x04;
            let len = reply.len();
            if reply[3] & 0x0f == 0 && reply[7] > 0 {
                reply[len - 4..].copy_from_slice(&[203, 0, 113, 66]);
            }
            reply
        })),
    );
    for _ in 0..4 {
        let resolved = net.resolve("www.example.test.", rtype::A);
        assert_eq!(addresses(&resolved), [[192, 0, 2, 80]]);
        net.cache
            .flush(&name_from_text("www.example.test.").unwrap(), false);
    }
}

#[test]
fn a_forward_zone_wins_over_a_deeper_cached_delegation() {
    let mut net = tree();
    // Iterate once: example.test.'s delegation is cached.
    net.resolve("www.example.test.", rtype::A);
    net.cache
        .flush(&name_from_text("www.example.test.").unwrap(), false);
    net.zones.push(crate::ConfiguredZone {
        zone: name_from_text("test.").unwrap(),
        servers: vec![at(5)],
        forward: true,
    });
    let sent = net.sent();
    let resolved = net.resolve("www.example.test.", rtype::A);
    assert_eq!(addresses(&resolved), [[192, 0, 2, 80]]);
    assert_eq!(net.log[sent].to, at(5));
}

#[test]
fn ds_is_asked_of_the_parent() {
    let mut net = tree();
    net.resolve("www.example.test.", rtype::A);
    let sent = net.sent();
    let resolved = net.resolve("example.test.", rtype::DS);
    assert_eq!(resolved.rcode, rcode::NOERROR);
    let asked_of: Vec<_> = net.log[sent..].iter().map(|s| s.to).collect();
    assert!(
        asked_of.iter().all(|a| [at(2), at(3)].contains(a)),
        "{asked_of:?}"
    );
}

#[test]
fn glue_for_a_sibling_does_not_replace_its_own() {
    // mallory.test.'s referral names ns1.example.test. with an address of its own.
    let mut test = TEST.to_string();
    test.push_str("mallory.test. 3600 IN NS ns1.example.test.\n");
    let mut net = tree();
    net.serve(at(2), "test.", &test);
    net.serve(at(3), "test.", &test);
    net.behave(
        at(2),
        Behaviour::Rewrite(Box::new(|_, reply| {
            let response = Response::parse(&reply).unwrap();
            if response.qname.as_wire().ends_with(b"\x07mallory\x04test\0") {
                with_extra(
                    &reply,
                    Section::Additional,
                    ("ns1.example.test.", rtype::A, vec![203, 0, 113, 66]),
                )
            } else {
                reply
            }
        })),
    );
    net.behave(at(3), Behaviour::Silent);
    // example.test.'s true glue is cached first, then mallory.test.'s referral comes.
    let resolved = net.resolve("www.example.test.", rtype::A);
    assert_eq!(addresses(&resolved), [[192, 0, 2, 80]]);
    net.resolve("x.mallory.test.", rtype::A);
    let ns1 = name_from_text("ns1.example.test.").unwrap();
    match net.cache.get(net.now, &ns1, rtype::A) {
        Some(Cached::Set(set, _)) => assert_eq!(set.rdatas, [vec![192, 0, 2, 4]]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn test_6672_a_dname_answer_carries_the_dname_then_the_cname() {
    let mut net = tree();
    let resolved = net.resolve("y.d.example.test.", rtype::A);
    assert_eq!(resolved.rcode, rcode::NOERROR, "{resolved:?}");
    let types: Vec<u16> = resolved.answer.iter().map(|s| s.rtype).collect();
    assert_eq!(types, [rtype::DNAME, rtype::CNAME, rtype::A]);
    assert_eq!(addresses(&resolved), [[192, 0, 2, 83]]);
}

#[test]
fn cut_garbled_or_misaddressed_answers_are_ignored() {
    type Mangle = fn(&[u8], Vec<u8>) -> Vec<u8>;
    let manglers: [(&str, Mangle); 5] = [
        ("cut in half", |_, reply| reply[..reply.len() / 2].to_vec()),
        ("random bytes", |_, reply| {
            reply
                .iter()
                .map(|b| b.wrapping_mul(31).wrapping_add(7))
                .collect()
        }),
        ("QR clear", |_, mut reply| {
            reply[2] &= 0x7f;
            reply
        }),
        ("another question", |query, reply| {
            // The answer to www, sent for whatever was asked: the question differs.
            let _ = query;
            let mut other = reply;
            if let Some(at) = other
                .windows(4)
                .position(|w| w.eq_ignore_ascii_case(b"\x03www"))
            {
                other[at + 1] = b'v';
            }
            other
        }),
        ("empty", |_, _| Vec::new()),
    ];
    for (what, mangle) in manglers {
        let mut net = tree();
        net.behave(at(4), Behaviour::Rewrite(Box::new(mangle)));
        net.behave(at(5), Behaviour::Rewrite(Box::new(mangle)));
        let resolved = net.resolve("www.example.test.", rtype::A);
        assert_eq!(resolved.rcode, rcode::SERVFAIL, "{what}: {resolved:?}");
        let www = name_from_text("www.example.test.").unwrap();
        assert_eq!(net.cache.get(net.now, &www, rtype::A), None, "{what}");
    }
}

#[test]
fn no_bit_flip_of_an_answer_crashes_or_is_believed_outside_its_own_data() {
    // Every single-bit corruption of the final answer: the result is the truth or a
    // failure, unless the flip hit the address itself (which only DNSSEC could tell).
    for bit in 0..8 * 80 {
        let mut net = tree();
        let hit_rdata = std::rc::Rc::new(std::cell::Cell::new(false));
        for n in [4, 5] {
            let hit = hit_rdata.clone();
            net.behave(
                at(n),
                Behaviour::Rewrite(Box::new(move |_, mut reply| {
                    let rdata = reply.windows(4).position(|w| w == [192, 0, 2, 80]);
                    if rdata.is_some_and(|at| (at..at + 4).contains(&(bit / 8))) {
                        hit.set(true);
                    }
                    if bit / 8 < reply.len() {
                        reply[bit / 8] ^= 1 << (bit % 8);
                    }
                    reply
                })),
            );
        }
        let resolved = net.resolve("www.example.test.", rtype::A);
        if !hit_rdata.get() {
            for address in addresses(&resolved) {
                assert_eq!(address, [192, 0, 2, 80], "bit {bit}: {resolved:?}");
            }
        }
    }
}

#[test]
fn test_8767_expired_data_answers_when_the_authority_is_unreachable() {
    let mut net = tree();
    net.resolve("www.example.test.", rtype::A);
    net.now += std::time::Duration::from_secs(400);
    net.behave(at(4), Behaviour::Silent);
    net.behave(at(5), Behaviour::Silent);
    assert_eq!(
        net.resolve("www.example.test.", rtype::A).rcode,
        rcode::SERVFAIL
    );
    let mut msg = Vec::new();
    dns_wire::write_query(
        &mut msg,
        7,
        b"\x03www\x07example\x04test\0",
        rtype::A,
        class::IN,
        dns_wire::QueryOptions {
            flags: Header::RD,
            edns: Some((1232, false)),
            ..Default::default()
        },
    );
    let query = dns_wire::Query::parse(&msg).unwrap();
    let settings = crate::AnswerSettings {
        validating: false,
        udp_payload: 1232,
        identity: None,
        max_chain: 8,
    };
    let mut out = Vec::new();
    let hour = std::time::Duration::from_secs(3600);
    assert!(
        crate::answer_from_cache(&net.cache, net.now, &msg, &query, &settings, true, &mut out)
            .is_none()
    );
    let (len, code) = crate::answer_stale(
        &net.cache, net.now, &msg, &query, &settings, true, &mut out, hour,
    )
    .unwrap();
    assert_eq!(code, rcode::NOERROR);
    let response = Response::parse(&out[..len]).unwrap();
    let answer: Vec<_> = response
        .records(Section::Answer)
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        (answer[0].rdata.as_slice(), answer[0].ttl),
        (&[192, 0, 2, 80][..], crate::STALE_ANSWER_TTL)
    );
    // The "Stale Answer" Extended DNS Error (3).
    assert!(
        out[..len]
            .windows(6)
            .any(|w| w[..2] == [0, 15] && w[4..] == [0, 3])
    );
    // Too old for the window: nothing.
    let minute = std::time::Duration::from_secs(60);
    assert!(
        crate::answer_stale(
            &net.cache, net.now, &msg, &query, &settings, true, &mut out, minute
        )
        .is_none()
    );
}

#[test]
fn a_server_that_changes_the_case_or_refuses_edns_is_asked_again_plainly() {
    // .4 and .5 lowercase the question (they do not keep 0x20's case).
    let mut net = tree();
    for n in [4, 5] {
        net.behave(
            at(n),
            Behaviour::Rewrite(Box::new(|_, mut reply| {
                let end = 12 + Response::parse(&reply).map_or(0, |r| r.question_bytes().len());
                reply[12..end].make_ascii_lowercase();
                reply
            })),
        );
    }
    let resolved = net.resolve("www.example.test.", rtype::A);
    assert_eq!(addresses(&resolved), [[192, 0, 2, 80]]);
    let last = net.log.last().unwrap();
    assert_eq!(
        last.qname, "\u{3}www\u{7}example\u{4}test\0",
        "asked in plain case"
    );
    // .4 and .5 answer FORMERR without OPT to queries with OPT (an old server).
    let mut net = tree();
    for n in [4, 5] {
        net.behave(
            at(n),
            Behaviour::Rewrite(Box::new(|query, reply| {
                let has_opt = dns_wire::Query::parse(query).is_ok_and(|q| q.edns.is_some());
                if !has_opt {
                    return reply;
                }
                let question = Response::parse(&reply).unwrap().question_bytes().to_vec();
                let mut formerr = reply[..12].to_vec();
                formerr[3] = (formerr[3] & 0xf0) | 1;
                formerr[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 0]);
                formerr[4..6].copy_from_slice(&[0, 1]);
                formerr.extend_from_slice(&question);
                formerr
            })),
        );
    }
    let resolved = net.resolve("www.example.test.", rtype::A);
    assert_eq!(addresses(&resolved), [[192, 0, 2, 80]], "{resolved:?}");
}
