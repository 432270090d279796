//! The validator against a signed virtual tree (testdata/signed-tree, made by
//! testdata/make-signed-tree.sh with ldns-signzone): a signed root (NSEC) delegates
//! `test.` (NSEC3), which delegates one zone per case. Each case must come out secure,
//! insecure or bogus as RFC 4035 says, and the cache must keep what was concluded.

use std::time::Instant;

use dns_wire::types::{ede, rcode, rtype};
use dns_wire::{Header, MessageWriter, Query, Response, Section, name_from_text};
use dns_zone::rdata_names_for;

use crate::anchors::TrustAnchors;
use crate::answer::{AnswerSettings, answer_from_cache};
use crate::failure::Failure;
use crate::security::Security;
use crate::sim::{Behaviour, Net, at};

const HINTS: &str = ". 3600000 IN NS a.root.\na.root. 3600000 IN A 192.0.2.1\n";

macro_rules! zone {
    ($file:literal) => {
        include_str!(concat!("testdata/signed-tree/", $file))
    };
}

/// The signed tree: the root at .1, `test.` at .2, the cases at .3 to .9.
fn signed_tree() -> Net {
    let mut net = Net::new(HINTS);
    net.serve(at(1), ".", zone!("root.zone"));
    net.serve(at(2), "test.", zone!("test.zone"));
    let cases = [
        ("secure.test.", zone!("secure.test.zone")),
        ("nsec3.test.", zone!("nsec3.test.zone")),
        ("insecure.test.", zone!("insecure.test.zone")),
        ("unlinked.test.", zone!("unlinked.test.zone")),
        ("bogus.test.", zone!("bogus.test.zone")),
        ("expired.test.", zone!("expired.test.zone")),
        ("wrongds.test.", zone!("wrongds.test.zone")),
    ];
    for (n, (origin, text)) in cases.into_iter().enumerate() {
        net.serve(at(3 + n as u8), origin, text);
    }
    let anchor = format!("$TTL 3600\n{}", zone!("anchor"));
    let records = dns_zone::read_records_str(&anchor, b"\0").expect("anchor");
    net.anchors = TrustAnchors::from_records(records).expect("anchor");
    // 2027-01-15: inside the signatures' validity, after expired.test.'s.
    net.unix_now = 1_800_000_000;
    net
}

fn secure(net: &mut Net, name: &str, qtype: u16) -> crate::Resolved {
    let resolved = net.resolve(name, qtype);
    assert_eq!(resolved.failure, None, "{name}");
    assert_eq!(
        resolved.security,
        Security::Secure,
        "{name} {qtype}: {resolved:?}"
    );
    resolved
}

fn bogus(net: &mut Net, name: &str, qtype: u16) -> (u16, &'static str) {
    let resolved = net.resolve(name, qtype);
    assert_eq!(resolved.rcode, rcode::SERVFAIL, "{name}: {resolved:?}");
    assert_eq!(resolved.security, Security::Bogus, "{name}");
    match resolved.failure {
        Some(Failure::Bogus(code, why)) => (code, why),
        other => panic!("{name}: not bogus but {other:?}"),
    }
}

#[test]
fn test_4035_positive_answers_of_signed_zones_are_secure() {
    let mut net = signed_tree();
    let www = secure(&mut net, "www.secure.test.", rtype::A);
    assert_eq!(www.answer[0].rdatas, [[192, 0, 2, 80]]);
    assert!(!www.answer[0].sigs.is_empty(), "RRSIGs kept for DO clients");
    secure(&mut net, "www.nsec3.test.", rtype::AAAA);
    secure(&mut net, "txt.nsec3.test.", rtype::TXT);
    // A CNAME in the zone, and one into another signed zone.
    let alias = secure(&mut net, "alias.secure.test.", rtype::A);
    assert_eq!(alias.answer.len(), 2);
    secure(&mut net, "ext.nsec3.test.", rtype::A);
    // The keys themselves, and a DS asked by a client (the parent's, RFC 4035 §3.1.4.1).
    secure(&mut net, "secure.test.", rtype::DNSKEY);
    secure(&mut net, "secure.test.", rtype::DS);
}

#[test]
fn test_4035_5_4_denials_are_proven_with_nsec_and_nsec3() {
    let mut net = signed_tree();
    for zone in ["secure.test.", "nsec3.test."] {
        let nx = secure(&mut net, &format!("nothing.{zone}"), rtype::A);
        assert_eq!(nx.rcode, rcode::NXDOMAIN);
        assert!(
            nx.authority
                .iter()
                .any(|s| matches!(s.rtype, rtype::NSEC | rtype::NSEC3))
        );
        let nodata = secure(&mut net, &format!("www.{zone}"), rtype::MX);
        assert_eq!((nodata.rcode, nodata.answer.len()), (rcode::NOERROR, 0));
        // An empty non-terminal, and a name below a wildcard's owner.
        secure(&mut net, &format!("deep.{zone}"), rtype::A);
        let expanded = secure(&mut net, &format!("anything.wild.{zone}"), rtype::A);
        assert_eq!(expanded.answer[0].rdatas, [[192, 0, 2, 81]]);
    }
    // No DS for an unsigned child: proven by the parent's NSEC3.
    let no_ds = secure(&mut net, "insecure.test.", rtype::DS);
    assert_eq!((no_ds.rcode, no_ds.answer.len()), (rcode::NOERROR, 0));
}

#[test]
fn test_4035_4_3_zones_without_a_chain_of_trust_are_insecure() {
    let mut net = signed_tree();
    for name in [
        "www.insecure.test.",
        "www.unlinked.test.",
        "nothing.insecure.test.",
    ] {
        let resolved = net.resolve(name, rtype::A);
        assert_eq!(resolved.failure, None, "{name}");
        assert_eq!(resolved.security, Security::Insecure, "{name}");
    }
}

#[test]
fn test_4035_5_5_bogus_answers_are_servfail_with_an_extended_error() {
    let mut net = signed_tree();
    let (code, why) = bogus(&mut net, "www.bogus.test.", rtype::A);
    assert_eq!(
        (code, why),
        (ede::DNSSEC_BOGUS, "signature does not verify")
    );
    // The rest of that zone is intact.
    secure(&mut net, "txt.bogus.test.", rtype::TXT);
    let (code, _) = bogus(&mut net, "www.expired.test.", rtype::A);
    assert_eq!(code, ede::SIGNATURE_EXPIRED);
    let (code, _) = bogus(&mut net, "www.wrongds.test.", rtype::A);
    assert_eq!(code, ede::DNSKEY_MISSING);
}

#[test]
fn bogus_answers_are_remembered_and_cd_clients_get_the_data() {
    let mut net = signed_tree();
    bogus(&mut net, "www.bogus.test.", rtype::A);
    let before = net.sent();
    bogus(&mut net, "www.bogus.test.", rtype::A);
    assert_eq!(
        net.sent(),
        before,
        "a bogus answer is not fetched again at once"
    );
    // RFC 4035 §3.2.2: with CD the client validates; it gets the data, without AD.
    net.checking_disabled = true;
    let resolved = net.resolve("www.bogus.test.", rtype::A);
    assert_eq!(resolved.rcode, rcode::NOERROR);
    assert_eq!(resolved.answer[0].rdatas, [[192, 0, 2, 99]]);
    assert_ne!(resolved.security, Security::Secure);
}

#[test]
fn validated_answers_are_served_from_the_cache_with_ad_and_rrsigs() {
    let mut net = signed_tree();
    secure(&mut net, "alias.secure.test.", rtype::A);
    net.resolve("www.insecure.test.", rtype::A);
    let settings = AnswerSettings {
        udp_payload: 1232,
        identity: None,
        max_chain: 8,
        validating: true,
    };
    let ask = |net: &Net, name: &str, dnssec_ok: bool| -> Option<Vec<u8>> {
        let mut msg = Vec::new();
        let wire = name_from_text(name).unwrap();
        let options = dns_wire::QueryOptions {
            flags: Header::RD,
            edns: Some((1232, dnssec_ok)),
            ..Default::default()
        };
        dns_wire::write_query(&mut msg, 7, &wire, rtype::A, 1, options);
        let query = Query::parse(&msg).unwrap();
        let mut out = Vec::new();
        let now: Instant = net.now;
        let (len, _) = answer_from_cache(&net.cache, now, &msg, &query, &settings, true, &mut out)?;
        out.truncate(len);
        Some(out)
    };
    let signed = ask(&net, "alias.secure.test.", true).expect("a cache hit");
    let response = Response::parse(&signed).unwrap();
    assert!(response.flag(Header::AD));
    assert_eq!(response.header.ancount, 4, "CNAME, A and their RRSIGs");
    let plain = ask(&net, "alias.secure.test.", false).unwrap();
    let response = Response::parse(&plain).unwrap();
    assert!(!response.flag(Header::AD), "no AD without DO or AD asked");
    assert_eq!(response.header.ancount, 2);
    let insecure = ask(&net, "www.insecure.test.", true).unwrap();
    assert!(!Response::parse(&insecure).unwrap().flag(Header::AD));
    // Data fetched but not validated (an NS address) is not a validated answer.
    assert!(ask(&net, "ns.secure.test.", true).is_none());
}

#[test]
fn without_anchors_nothing_is_validated() {
    let mut net = signed_tree();
    net.anchors = TrustAnchors::none();
    let resolved = net.resolve("www.bogus.test.", rtype::A);
    assert_eq!(resolved.rcode, rcode::NOERROR);
    assert_eq!(resolved.security, Security::Unchecked);
}

/// `reply` without its records of the `dropped` types (a man in the middle stripping
/// signatures or proofs).
fn stripped(reply: &[u8], dropped: &[u16]) -> Vec<u8> {
    let response = Response::parse(reply).unwrap();
    let mut out = Vec::new();
    let header = Header {
        id: response.header.id,
        flags: response.header.flags,
        ..Header::default()
    };
    let mut writer = MessageWriter::new(&mut out, header, Some(response.question_bytes()));
    for section in [Section::Answer, Section::Authority, Section::Additional] {
        writer.set_section(section);
        for record in response.records(section) {
            let r = record.unwrap();
            if dropped.contains(&r.rtype) {
                continue;
            }
            let names = rdata_names_for(r.rtype);
            writer
                .push_record(&r.owner, r.rtype, r.class, r.ttl, &r.rdata, names)
                .unwrap();
        }
    }
    let len = writer.finish();
    out.truncate(len);
    out
}

#[test]
fn stripped_signatures_and_proofs_make_a_signed_zone_bogus() {
    for (dropped, name, code) in [
        (&[rtype::RRSIG][..], "www.secure.test.", ede::RRSIGS_MISSING),
        (
            &[rtype::NSEC][..],
            "nothing.secure.test.",
            ede::NSEC_MISSING,
        ),
        (
            &[rtype::NSEC3][..],
            "nothing.nsec3.test.",
            ede::NSEC_MISSING,
        ),
    ] {
        let mut net = signed_tree();
        // Learn the keys first, then have the zones' servers answer stripped.
        secure(&mut net, "txt.secure.test.", rtype::TXT);
        secure(&mut net, "txt.nsec3.test.", rtype::TXT);
        let dropped = dropped.to_vec();
        for n in [3, 4] {
            let dropped = dropped.clone();
            net.behave(
                at(n),
                Behaviour::Rewrite(Box::new(move |_, reply| stripped(&reply, &dropped))),
            );
        }
        let (got, _) = bogus(&mut net, name, rtype::A);
        assert_eq!(got, code, "{name} without {dropped:?}");
    }
}

#[test]
fn a_delegation_stripped_of_its_ds_is_not_believed_insecure() {
    let mut net = signed_tree();
    // test.'s server drops DS records and their NSEC3 proofs: the child looks unsigned,
    // which only a proof of the DS's absence may show.
    net.behave(
        at(2),
        Behaviour::Rewrite(Box::new(|_, reply| {
            stripped(&reply, &[rtype::DS, rtype::NSEC3])
        })),
    );
    bogus(&mut net, "www.secure.test.", rtype::A);
}

#[test]
fn a_proven_ds_denial_is_secure_data_yet_leaves_its_zone_insecure() {
    for first_the_zone in [true, false] {
        let mut net = signed_tree();
        let zone_first = |net: &mut Net| {
            let www = net.resolve("www.insecure.test.", rtype::A);
            assert_eq!((www.failure, www.security), (None, Security::Insecure));
        };
        if first_the_zone {
            zone_first(&mut net);
        }
        let ds = secure(&mut net, "insecure.test.", rtype::DS);
        assert_eq!(ds.answer.len(), 0);
        zone_first(&mut net);
        // And again from the cache: the denial secure, the zone's data insecure.
        secure(&mut net, "insecure.test.", rtype::DS);
        zone_first(&mut net);
    }
}

#[test]
fn test_4035_5_3_3_signed_data_is_kept_no_longer_than_its_signatures_allow() {
    let mut net = signed_tree();
    // An hour before the signatures of the tree expire (2040-01-01).
    net.unix_now = 2_208_988_800 - 3_600;
    let www = secure(&mut net, "txt.secure.test.", rtype::TXT);
    assert!(www.answer[0].ttl <= 300, "the zone's TTL");
    net.unix_now = 2_208_988_800 - 100;
    net.cache.flush(b"\0", true);
    let www = net.resolve("txt.nsec3.test.", rtype::TXT);
    assert!(www.answer[0].ttl <= 100, "{}", www.answer[0].ttl);
}
