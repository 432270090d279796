//! Answers checked record by record against the RFCs' rules, on a small zone.

use dns_wire::Header;
use dns_zone::load_zone_str;
use std::sync::Arc;

use super::*;

const ZONE: &str = "$ORIGIN example.
$TTL 3600
@       SOA ns1 hostmaster 42 7200 3600 1209600 300
        NS ns1
        NS ns2.other.net.
ns1     A 192.0.2.1
www     A 192.0.2.10
        AAAA 2001:db8::10
alias   CNAME www
chain   CNAME alias
out     CNAME www.other.net.
loop1   CNAME loop2
loop2   CNAME loop1
mail    MX 10 www
*.wild  A 192.0.2.99
a.b.ent TXT \"x\"
sub     NS ns.sub
        NS ns1
ns.sub  A 192.0.2.53
big     TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"
        TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"
        TXT \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"
        TXT \"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\"
        TXT \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"
        TXT \"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"
d       DNAME example.net.
";

fn zones() -> ZoneSet {
    let (zone, _) = load_zone_str(ZONE, b"\x07example\x00").unwrap();
    let mut set = ZoneSet::new();
    set.insert(Arc::new(zone));
    set
}

fn config() -> AnswerConfig {
    AnswerConfig {
        identity: Some((*b"site-a").into()),
        ..AnswerConfig::default()
    }
}

/// A query in wire form; `edns` is (payload, DO, NSID).
fn query(name: &str, qtype: u16, edns: Option<(u16, bool, bool)>) -> Vec<u8> {
    let mut msg = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    msg.extend_from_slice(&dns_wire::name_from_text(name).unwrap());
    msg.extend_from_slice(&qtype.to_be_bytes());
    msg.extend_from_slice(&1u16.to_be_bytes());
    if let Some((payload, dnssec_ok, nsid)) = edns {
        msg[11] = 1;
        msg.extend_from_slice(&[0, 0, 41]);
        msg.extend_from_slice(&payload.to_be_bytes());
        msg.extend_from_slice(&[0, 0, if dnssec_ok { 0x80 } else { 0 }, 0]);
        if nsid {
            msg.extend_from_slice(&[0, 4, 0, 3, 0, 0]);
        } else {
            msg.extend_from_slice(&[0, 0]);
        }
    }
    msg
}

/// A decoded response: header and (owner text, type) per section, via our own parser of
/// names plus a tiny record walker.
struct Reply {
    header: Header,
    answer: Vec<(String, u16)>,
    authority: Vec<(String, u16, u32)>,
    additional: Vec<(String, u16)>,
    raw: Vec<u8>,
}

fn ask(name: &str, qtype: u16, edns: Option<(u16, bool, bool)>, transport: Transport) -> Reply {
    let mut out = Vec::new();
    let outcome = respond(
        &query(name, qtype, edns),
        &zones(),
        &config(),
        transport,
        &mut out,
    );
    assert!(matches!(outcome, Outcome::Answered { .. }));
    decode(out)
}

fn decode(raw: Vec<u8>) -> Reply {
    let header = Header::parse(&raw).unwrap();
    let mut at = 12;
    for _ in 0..header.qdcount {
        let (_, end) = Name::parse_compressed(&raw, at).unwrap();
        at = end + 4;
    }
    let mut sections = [Vec::new(), Vec::new(), Vec::new()];
    for (i, count) in [header.ancount, header.nscount, header.arcount]
        .into_iter()
        .enumerate()
    {
        for _ in 0..count {
            let (name, end) = Name::parse_compressed(&raw, at).unwrap();
            let rtype = u16::from_be_bytes([raw[end], raw[end + 1]]);
            let ttl = u32::from_be_bytes(raw[end + 4..end + 8].try_into().unwrap());
            let rdlen = u16::from_be_bytes([raw[end + 8], raw[end + 9]]) as usize;
            sections[i].push((dns_wire::name_to_text(name.as_wire()), rtype, ttl));
            at = end + 10 + rdlen;
        }
    }
    assert_eq!(at, raw.len(), "trailing bytes in response");
    let [answer, authority, additional] = sections;
    Reply {
        header,
        answer: answer.into_iter().map(|(n, t, _)| (n, t)).collect(),
        authority,
        additional: additional.into_iter().map(|(n, t, _)| (n, t)).collect(),
        raw,
    }
}

fn rcode_of(reply: &Reply) -> u16 {
    reply.header.flags & 0xf
}

fn aa(reply: &Reply) -> bool {
    reply.header.flags & Header::AA != 0
}

#[test]
fn test_4_3_2_exact_match_is_authoritative() {
    let r = ask("www.example.", rtype::A, None, Transport::Udp);
    assert_eq!(rcode_of(&r), rcode::NOERROR);
    assert!(aa(&r));
    assert_eq!(r.answer, vec![("www.example.".into(), rtype::A)]);
    assert!(r.authority.is_empty() && r.additional.is_empty());
    assert_eq!(r.header.id, 0xabcd);
    assert!(r.header.flags & Header::RD != 0);
}

#[test]
fn question_case_is_echoed() {
    let r = ask("WwW.ExAmPlE.", rtype::A, None, Transport::Udp);
    assert_eq!(&r.raw[12..24], b"\x03WwW\x07ExAmPlE");
    assert_eq!(r.answer.len(), 1);
}

#[test]
fn test_2308_nodata_and_nxdomain_carry_soa_with_minimum_ttl() {
    let r = ask("www.example.", rtype::MX, None, Transport::Udp);
    assert_eq!(rcode_of(&r), rcode::NOERROR);
    assert!(r.answer.is_empty());
    assert_eq!(r.authority, vec![("example.".into(), rtype::SOA, 300)]);
    let r = ask("nope.example.", rtype::A, None, Transport::Udp);
    assert_eq!(rcode_of(&r), rcode::NXDOMAIN);
    assert!(aa(&r));
    assert_eq!(r.authority, vec![("example.".into(), rtype::SOA, 300)]);
}

#[test]
fn empty_non_terminal_is_nodata() {
    let r = ask("b.ent.example.", rtype::A, None, Transport::Udp);
    assert_eq!(rcode_of(&r), rcode::NOERROR);
    assert_eq!(r.authority.len(), 1);
}

#[test]
fn test_4592_wildcard_synthesis() {
    let r = ask("x.wild.example.", rtype::A, None, Transport::Udp);
    assert_eq!(r.answer, vec![("x.wild.example.".into(), rtype::A)]);
    let r = ask("y.x.wild.example.", rtype::A, None, Transport::Udp);
    assert_eq!(r.answer, vec![("y.x.wild.example.".into(), rtype::A)]);
    let r = ask("x.wild.example.", rtype::MX, None, Transport::Udp);
    assert_eq!(rcode_of(&r), rcode::NOERROR);
    assert!(r.answer.is_empty());
}

#[test]
fn cname_chain_is_followed_in_zone() {
    let r = ask("chain.example.", rtype::A, None, Transport::Udp);
    assert_eq!(
        r.answer,
        vec![
            ("chain.example.".into(), rtype::CNAME),
            ("alias.example.".into(), rtype::CNAME),
            ("www.example.".into(), rtype::A)
        ]
    );
    let r = ask("out.example.", rtype::A, None, Transport::Udp);
    assert_eq!(r.answer, vec![("out.example.".into(), rtype::CNAME)]);
    assert_eq!(rcode_of(&r), rcode::NOERROR);
    let r = ask("loop1.example.", rtype::A, None, Transport::Udp);
    assert_eq!(
        r.answer,
        vec![
            ("loop1.example.".into(), rtype::CNAME),
            ("loop2.example.".into(), rtype::CNAME)
        ]
    );
    // ANY matches the CNAME itself: the chain is not followed.
    let r = ask("chain.example.", rtype::ANY, None, Transport::Udp);
    assert_eq!(r.answer, vec![("chain.example.".into(), rtype::CNAME)]);
    let r = ask("alias.example.", rtype::CNAME, None, Transport::Udp);
    assert_eq!(r.answer, vec![("alias.example.".into(), rtype::CNAME)]);
}

#[test]
fn test_4035_3_1_4_1_ds_at_child_apex_comes_from_the_parent() {
    let mut set = zones();
    let child =
        "$ORIGIN sub.example.\n@ 60 SOA ns.sub h 7 1 1 1 60\n@ NS ns.sub\nns A 192.0.2.53\n";
    let (child, _) = load_zone_str(child, b"\x03sub\x07example\x00").unwrap();
    set.insert(Arc::new(child));
    let mut out = Vec::new();
    respond(
        &query("sub.example.", rtype::DS, None),
        &set,
        &config(),
        Transport::Udp,
        &mut out,
    );
    let r = decode(out);
    assert!(aa(&r));
    assert_eq!(r.authority, vec![("example.".into(), rtype::SOA, 300)]);
    let mut out = Vec::new();
    respond(
        &query("sub.example.", rtype::SOA, None),
        &set,
        &config(),
        Transport::Udp,
        &mut out,
    );
    assert_eq!(
        decode(out).answer,
        vec![("sub.example.".into(), rtype::SOA)]
    );
}

#[test]
fn test_4_3_2_referral_has_no_aa_and_carries_glue() {
    let r = ask("host.sub.example.", rtype::A, None, Transport::Udp);
    assert_eq!(rcode_of(&r), rcode::NOERROR);
    assert!(!aa(&r));
    assert!(r.answer.is_empty());
    assert_eq!(r.authority.len(), 2);
    assert!(
        r.authority
            .iter()
            .all(|(n, t, _)| n == "sub.example." && *t == rtype::NS)
    );
    assert!(r.additional.contains(&("ns.sub.example.".into(), rtype::A)));
    assert!(r.additional.contains(&("ns1.example.".into(), rtype::A)));
    // DS is answered from the parent side (here: NODATA, authoritative).
    let r = ask("sub.example.", rtype::DS, None, Transport::Udp);
    assert!(aa(&r));
    assert_eq!(r.authority[0].1, rtype::SOA);
}

#[test]
fn mx_targets_in_zone_go_to_additional() {
    let r = ask("mail.example.", rtype::MX, None, Transport::Udp);
    assert_eq!(
        r.additional,
        vec![
            ("www.example.".into(), rtype::A),
            ("www.example.".into(), rtype::AAAA)
        ]
    );
}

#[test]
fn test_6672_dname_synthesizes_cname() {
    let r = ask("a.b.d.example.", rtype::A, None, Transport::Udp);
    assert_eq!(
        r.answer,
        vec![
            ("d.example.".into(), rtype::DNAME),
            ("a.b.d.example.".into(), rtype::CNAME)
        ]
    );
    let (target, _) = Name::parse_compressed(&r.raw, r.raw.len() - 17).unwrap();
    assert_eq!(dns_wire::name_to_text(target.as_wire()), "a.b.example.net.");
}

#[test]
fn refused_outside_our_zones_with_ede() {
    let r = ask(
        "www.example.org.",
        rtype::A,
        Some((1232, false, false)),
        Transport::Udp,
    );
    assert_eq!(rcode_of(&r), rcode::REFUSED);
    assert!(!aa(&r));
    // OPT carries EDE 20 (Not Authoritative).
    assert!(r.raw.ends_with(&[0, 15, 0, 2, 0, 20]));
}

#[test]
fn test_8482_any_gets_one_rrset() {
    let r = ask("www.example.", rtype::ANY, None, Transport::Udp);
    assert_eq!(r.answer, vec![("www.example.".into(), rtype::A)]);
}

#[test]
fn truncation_keeps_header_question_and_opt() {
    let r = ask("big.example.", rtype::TXT, None, Transport::Udp);
    assert!(r.header.flags & Header::TC != 0);
    assert!(r.answer.is_empty() && r.authority.is_empty());
    let r = ask(
        "big.example.",
        rtype::TXT,
        Some((512, true, true)),
        Transport::Udp,
    );
    assert!(r.header.flags & Header::TC != 0);
    assert_eq!(r.header.arcount, 1);
    let r = ask(
        "big.example.",
        rtype::TXT,
        Some((1232, false, false)),
        Transport::Udp,
    );
    assert!(r.header.flags & Header::TC == 0);
    assert_eq!(r.answer.len(), 6);
    let r = ask("big.example.", rtype::TXT, None, Transport::Tcp);
    assert!(r.header.flags & Header::TC == 0);
    assert_eq!(r.answer.len(), 6);
}

#[test]
fn test_5001_nsid_and_do_echo() {
    let r = ask(
        "www.example.",
        rtype::A,
        Some((1232, true, true)),
        Transport::Udp,
    );
    assert!(r.raw.ends_with(b"\x00\x03\x00\x06site-a"));
    // OPT: payload 1232, DO set.
    let opt = r.raw.len() - 10 - 11;
    assert_eq!(&r.raw[opt + 3..opt + 5], &1232u16.to_be_bytes());
    assert_eq!(r.raw[opt + 7] & 0x80, 0x80);
}

#[test]
fn test_4892_chaos_identity() {
    let mut q = query("id.server.", rtype::TXT, None);
    let len = q.len();
    q[len - 1] = 3;
    let mut out = Vec::new();
    respond(&q, &zones(), &config(), Transport::Udp, &mut out);
    let r = decode(out);
    assert_eq!(r.answer, vec![("id.server.".into(), rtype::TXT)]);
    assert!(r.raw.ends_with(b"\x06site-a"));
    assert!(aa(&r), "the identity is authoritative data");
    let mut q = query("version.bind.", rtype::TXT, None);
    q[len + 1] = 3;
    let mut out = Vec::new();
    respond(&q, &zones(), &config(), Transport::Udp, &mut out);
    let r = decode(out);
    assert_eq!(r.header.flags & 0xf, rcode::REFUSED);
    assert!(!aa(&r), "a refusal is not authoritative");
    // Another type at the identity's name: refused, as Knot does (not an empty NOERROR).
    let mut q = query("id.server.", rtype::A, None);
    let len = q.len();
    q[len - 1] = 3;
    let mut out = Vec::new();
    respond(&q, &zones(), &config(), Transport::Udp, &mut out);
    let r = decode(out);
    assert_eq!(r.header.flags & 0xf, rcode::REFUSED);
    assert!(!aa(&r) && r.answer.is_empty());
}

#[test]
fn test_6895_3_1_type_0_is_not_implemented() {
    let r = ask("www.example.", 0, None, Transport::Udp);
    assert_eq!(rcode_of(&r), rcode::NOTIMP);
    assert!(r.answer.is_empty());
}

#[test]
fn test_8906_8_2_5_an_unknown_opcode_without_a_question_is_notimp() {
    // A header alone (QDCOUNT 0), opcode 15 and UPDATE: NOTIMP, not FORMERR.
    for opcode in [15u8, 5] {
        let mut q = vec![0xab, 0xcd, opcode << 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut out = Vec::new();
        let outcome = respond(&q, &zones(), &config(), Transport::Udp, &mut out);
        assert!(
            matches!(
                outcome,
                Outcome::Answered {
                    rcode: rcode::NOTIMP,
                    len: 12,
                    ..
                }
            ),
            "opcode {opcode}: {outcome:?}"
        );
        assert_eq!(out[2] >> 3 & 0x0f, opcode, "the opcode is echoed");
        // With EDNS (an OPT alone after the header): NOTIMP with an OPT (RFC 8906 §8.2).
        let mut with_opt = q.clone();
        with_opt[11] = 1;
        with_opt.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        let outcome = respond(&with_opt, &zones(), &config(), Transport::Udp, &mut out);
        assert!(matches!(
            outcome,
            Outcome::Answered {
                rcode: rcode::NOTIMP,
                ..
            }
        ));
        assert_eq!(u16::from_be_bytes([out[10], out[11]]), 1, "an OPT: {out:?}");
        // A plain query without a question stays a format error.
        q[2] = 0;
        let outcome = respond(&q, &zones(), &config(), Transport::Udp, &mut out);
        assert!(matches!(
            outcome,
            Outcome::Answered {
                rcode: rcode::FORMERR,
                ..
            }
        ));
    }
}

#[test]
fn test_6891_7_formerr_carries_an_opt_when_the_query_had_a_sound_one() {
    let arcount = |out: &[u8]| u16::from_be_bytes([out[10], out[11]]);
    let formerr = |q: &[u8], out: &mut Vec<u8>| {
        let outcome = respond(q, &zones(), &config(), Transport::Udp, out);
        assert!(
            matches!(
                outcome,
                Outcome::Answered {
                    rcode: rcode::FORMERR,
                    ..
                }
            ),
            "{outcome:?}"
        );
    };
    let mut out = Vec::new();
    // Two questions, each framed soundly, then an OPT: FORMERR with an OPT.
    let one = query("www.example.", rtype::A, Some((1232, true, false)));
    let question_end = 12 + one[12..].iter().position(|&b| b == 0).unwrap() + 1 + 4;
    let mut two = one[..question_end].to_vec();
    two.extend_from_slice(&one[12..]);
    two[5] = 2;
    formerr(&two, &mut out);
    assert_eq!(arcount(&out), 1, "an OPT: {out:?}");
    assert_eq!(out.len(), 12 + 11);
    assert_eq!(out[12 + 7] & 0x80, 0x80, "the DO bit is echoed");
    // Bytes after the OPT: still FORMERR with an OPT.
    let mut trailing = one.clone();
    trailing.extend_from_slice(&[1, 2, 3]);
    formerr(&trailing, &mut out);
    assert_eq!(arcount(&out), 1);
    // Two OPTs (RFC 6891 §6.1.1), a cut-off message, a malformed option: no OPT trusted.
    let mut two_opts = one.clone();
    two_opts.extend_from_slice(&one[question_end..]);
    two_opts[11] = 2;
    let cut = &one[..one.len() - 2];
    let mut bad_option = one.clone();
    let len = bad_option.len();
    bad_option[len - 2] = 4; // RDLENGTH 4
    bad_option.extend_from_slice(&[0, 3, 0, 9]); // an NSID option claiming 9 octets
    for (what, q) in [
        ("two OPTs", &two_opts[..]),
        ("cut", cut),
        ("bad option", &bad_option),
    ] {
        formerr(q, &mut out);
        assert_eq!(arcount(&out), 0, "{what}: {out:?}");
    }
}

#[test]
fn test_6891_badvers_and_notimp_and_formerr() {
    let mut q = query("www.example.", rtype::A, Some((1232, false, false)));
    let len = q.len();
    q[len - 5] = 1; // EDNS version 1
    let mut out = Vec::new();
    let outcome = respond(&q, &zones(), &config(), Transport::Udp, &mut out);
    assert!(matches!(
        outcome,
        Outcome::Answered {
            rcode: rcode::BADVERS,
            ..
        }
    ));
    let mut q = query("www.example.", rtype::A, None);
    q[2] |= 5 << 3; // opcode UPDATE
    let outcome = respond(&q, &zones(), &config(), Transport::Udp, &mut out);
    assert!(matches!(
        outcome,
        Outcome::Answered {
            rcode: rcode::NOTIMP,
            ..
        }
    ));
    let q = &query("www.example.", rtype::A, None)[..20];
    let outcome = respond(q, &zones(), &config(), Transport::Udp, &mut out);
    assert!(matches!(
        outcome,
        Outcome::Answered {
            rcode: rcode::FORMERR,
            len: 12,
            ..
        }
    ));
    let mut q = query("www.example.", rtype::A, None);
    q[2] |= 0x80;
    assert_eq!(
        respond(&q, &zones(), &config(), Transport::Udp, &mut out),
        Outcome::Dropped
    );
}

#[test]
fn test_1035_4_3_5_expired_zone_answers_servfail() {
    let mut set = zones();
    assert!(set.set_expired(b"\x07example\x00", true));
    let mut out = Vec::new();
    let outcome = respond(
        &query("www.example.", rtype::A, None),
        &set,
        &config(),
        Transport::Udp,
        &mut out,
    );
    assert!(matches!(
        outcome,
        Outcome::Answered {
            rcode: rcode::SERVFAIL,
            ..
        }
    ));
    assert!(decode(out).answer.is_empty());
}

// ---------------------------------------------------------------------------
// Signed zones (pre-signed with ldns-signzone; the same files dns-zone's tests load)

fn signed_zones() -> ZoneSet {
    let mut set = ZoneSet::new();
    for (text, origin) in [
        (
            include_str!("../../../dns-zone/testdata/sec-nsec.zone"),
            "sec-nsec.",
        ),
        (
            include_str!("../../../dns-zone/testdata/sec-nsec3.zone"),
            "sec-nsec3.",
        ),
        (
            include_str!("../../../dns-zone/testdata/sec-optout.zone"),
            "sec-optout.",
        ),
    ] {
        let origin = dns_wire::name_from_text(origin).unwrap();
        let (zone, _) = load_zone_str(text, &origin).unwrap();
        set.insert(Arc::new(zone));
    }
    set
}

fn ask_signed(name: &str, qtype: u16, edns: Option<(u16, bool, bool)>) -> Reply {
    let mut out = Vec::new();
    respond(
        &query(name, qtype, edns),
        &signed_zones(),
        &config(),
        Transport::Udp,
        &mut out,
    );
    decode(out)
}

fn types_of(records: &[(String, u16, u32)]) -> Vec<u16> {
    let mut types: Vec<u16> = records.iter().map(|r| r.1).collect();
    types.sort_unstable();
    types
}

const DO: Option<(u16, bool, bool)> = Some((1232, true, false));
const NO_DO: Option<(u16, bool, bool)> = Some((1232, false, false));

#[test]
fn test_4035_3_1_1_rrsigs_only_with_do() {
    let plain = ask_signed("www.sec-nsec3.", rtype::A, NO_DO);
    assert_eq!(plain.answer, vec![("www.sec-nsec3.".into(), rtype::A)]);
    let signed = ask_signed("www.sec-nsec3.", rtype::A, DO);
    assert_eq!(
        signed.answer,
        vec![
            ("www.sec-nsec3.".into(), rtype::A),
            ("www.sec-nsec3.".into(), rtype::RRSIG)
        ]
    );
    // Negative answers without DO: the SOA alone.
    let nx = ask_signed("nx.sec-nsec3.", rtype::A, NO_DO);
    assert_eq!(types_of(&nx.authority), vec![rtype::SOA]);
}

#[test]
fn test_5155_7_2_2_nxdomain_has_closest_encloser_next_closer_and_wildcard() {
    let r = ask_signed("nx.sec-nsec3.", rtype::A, DO);
    assert_eq!(rcode_of(&r), rcode::NXDOMAIN);
    // SOA, three NSEC3 (apex match, next closer cover, wildcard cover), four RRSIGs
    let mut expected = vec![rtype::SOA];
    expected.extend([rtype::RRSIG; 4]);
    expected.extend([rtype::NSEC3; 3]);
    assert_eq!(types_of(&r.authority), expected);
    // The signature of a negative SOA takes its TTL (RFC 2308 §3).
    assert!(r.authority.iter().all(|(_, _, ttl)| *ttl == 300));
}

#[test]
fn test_4035_3_1_3_2_nsec_nxdomain_and_ent_nodata() {
    let r = ask_signed("nx.sec-nsec.", rtype::A, DO);
    assert_eq!(rcode_of(&r), rcode::NXDOMAIN);
    assert_eq!(
        types_of(&r.authority),
        vec![
            rtype::SOA,
            rtype::RRSIG,
            rtype::RRSIG,
            rtype::RRSIG,
            rtype::NSEC,
            rtype::NSEC
        ]
    );
    let ent = ask_signed("c.ent.sec-nsec.", rtype::A, DO);
    assert_eq!(rcode_of(&ent), rcode::NOERROR);
    assert!(ent.answer.is_empty());
    assert_eq!(
        types_of(&ent.authority),
        vec![rtype::SOA, rtype::RRSIG, rtype::RRSIG, rtype::NSEC]
    );
}

#[test]
fn test_4035_3_1_3_3_wildcard_answer_signed_under_the_query_name_with_proof() {
    let r = ask_signed("x.wild.sec-nsec3.", rtype::A, DO);
    assert_eq!(
        r.answer,
        vec![
            ("x.wild.sec-nsec3.".into(), rtype::A),
            ("x.wild.sec-nsec3.".into(), rtype::RRSIG)
        ]
    );
    assert_eq!(types_of(&r.authority), vec![rtype::RRSIG, rtype::NSEC3]);
}

#[test]
fn test_5155_7_2_7_opt_out_referral_has_closest_provable_encloser_proof() {
    let r = ask_signed("www.optout-deleg.sec-optout.", rtype::A, DO);
    assert!(!aa(&r));
    assert_eq!(
        types_of(&r.authority),
        vec![
            rtype::NS,
            rtype::RRSIG,
            rtype::RRSIG,
            rtype::NSEC3,
            rtype::NSEC3
        ]
    );
    let secure = ask_signed("www.secure.sec-nsec.", rtype::A, DO);
    assert_eq!(
        types_of(&secure.authority),
        vec![rtype::NS, rtype::DS, rtype::RRSIG]
    );
}

#[test]
fn test_5155_7_2_9_nsec3_owner_names_do_not_exist() {
    let r = ask_signed("www.sec-nsec3.", rtype::A, DO);
    assert_eq!(rcode_of(&r), rcode::NOERROR);
    let (zone, _) = load_zone_str(
        include_str!("../../../dns-zone/testdata/sec-nsec3.zone"),
        &dns_wire::name_from_text("sec-nsec3.").unwrap(),
    )
    .unwrap();
    let owner = zone
        .nodes()
        .find(|n| n.rrset(rtype::NSEC3).is_some())
        .unwrap()
        .name
        .to_vec();
    let r = ask_signed(&dns_wire::name_to_text(&owner), rtype::NSEC3, DO);
    assert_eq!(rcode_of(&r), rcode::NXDOMAIN);
}

#[test]
fn signed_dnskey_over_512_octets_is_truncated() {
    let r = ask_signed("sec-nsec.", rtype::DNSKEY, Some((512, true, false)));
    assert_ne!(r.header.flags & Header::TC, 0);
    assert!(r.answer.is_empty() && r.authority.is_empty());
    let r = ask_signed("sec-nsec.", rtype::DNSKEY, DO);
    assert_eq!(r.header.flags & Header::TC, 0);
    assert_eq!(r.answer.iter().filter(|a| a.1 == rtype::RRSIG).count(), 1);
}

/// An IXFR query with the client's SOA in the authority section (RFC 1995 §3).
fn ixfr_query(name: &str, serial: u32) -> Vec<u8> {
    let mut msg = query(name, rtype::IXFR, None);
    msg[9] = 1; // NSCOUNT
    msg.extend_from_slice(&dns_wire::name_from_text(name).unwrap());
    msg.extend_from_slice(&rtype::SOA.to_be_bytes());
    msg.extend_from_slice(&1u16.to_be_bytes());
    msg.extend_from_slice(&300u32.to_be_bytes());
    let mut rdata = b"\x01a\x00\x01b\x00".to_vec();
    rdata.extend_from_slice(&serial.to_be_bytes());
    rdata.extend_from_slice(&[0; 16]);
    msg.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    msg.extend_from_slice(&rdata);
    msg
}

#[test]
fn test_1995_ixfr_over_udp_gets_the_current_soa_and_without_its_soa_formerr() {
    let mut out = Vec::new();
    respond(
        &ixfr_query("example.", 1),
        &zones(),
        &config(),
        Transport::Udp,
        &mut out,
    );
    let r = decode(out);
    assert_eq!(rcode_of(&r), rcode::NOERROR);
    assert_eq!(
        r.answer,
        vec![("example.".into(), rtype::SOA)],
        "a single SOA: ask over TCP"
    );
    assert!(aa(&r));
    // Without the client's SOA: a format error.
    let r = ask("example.", rtype::IXFR, None, Transport::Udp);
    assert_eq!(rcode_of(&r), rcode::FORMERR);
    // Not a zone's apex here: refused.
    let mut out = Vec::new();
    respond(
        &ixfr_query("www.example.", 1),
        &zones(),
        &config(),
        Transport::Udp,
        &mut out,
    );
    assert_eq!(rcode_of(&decode(out)), rcode::REFUSED);
    // AXFR over UDP stays refused.
    let r = ask("example.", rtype::AXFR, None, Transport::Udp);
    assert_eq!(rcode_of(&r), rcode::REFUSED);
}
