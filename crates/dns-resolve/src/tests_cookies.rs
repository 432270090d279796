//! DNS cookies against servers that answer them (RFC 7873), on the virtual tree of
//! tests.rs: the engine behind it has no cookies, so the servers here add them to its
//! answers as a cookie-aware server would (or as a forger would get them wrong).

use std::cell::RefCell;
use std::rc::Rc;

use dns_wire::types::{option, rcode, rtype};
use dns_wire::{Header, MessageWriter, Query, Response, Section};
use dns_zone::rdata_names_for;

use crate::cookies::CLIENT_COOKIE_LEN;
use crate::sim::{Behaviour, at};
use crate::tests::{addresses, tree};

/// The server cookie the servers here hand out.
const SERVER_COOKIE: [u8; 16] = [0x5c; 16];

/// `reply` with its OPT record replaced by one carrying `cookie` and response code `code`
/// (the extended part in the OPT).
fn with_cookie(reply: &[u8], cookie: &[u8], code: u16) -> Vec<u8> {
    let response = Response::parse(reply).unwrap();
    let mut out = Vec::new();
    let header = Header {
        id: response.header.id,
        flags: (response.header.flags & !0x000f) | (code & 0x000f),
        ..Header::default()
    };
    let mut writer = MessageWriter::new(&mut out, header, Some(response.question_bytes()));
    if code == rcode::NOERROR {
        for section in [Section::Answer, Section::Authority, Section::Additional] {
            writer.set_section(section);
            for record in response.records(section) {
                let r = record.unwrap();
                let names = rdata_names_for(r.rtype);
                writer
                    .push_record(&r.owner, r.rtype, r.class, r.ttl, &r.rdata, names)
                    .unwrap();
            }
        }
    }
    writer
        .push_opt(1232, (code >> 4) as u8, false, &[(option::COOKIE, cookie)])
        .unwrap();
    let len = writer.finish();
    out.truncate(len);
    out
}

/// The COOKIE option of a query.
fn cookie_of(query: &[u8]) -> Vec<u8> {
    let parsed = Query::parse(query).unwrap();
    parsed
        .edns
        .and_then(|e| e.cookie_in(query))
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

/// A server (the last octet of its address) and the COOKIE option it received.
type Seen = (u8, Vec<u8>);

#[test]
fn test_7873_cookies_are_sent_and_the_server_cookie_comes_back() {
    let mut net = tree();
    // Which server saw which cookie: the two servers of example.test. are picked by
    // round-trip time, so the resolution is repeated until one of them is asked twice.
    let seen: Rc<RefCell<Vec<Seen>>> = Rc::default();
    for n in [4, 5] {
        let seen = seen.clone();
        net.behave(
            at(n),
            Behaviour::Rewrite(Box::new(move |query, reply| {
                let cookie = cookie_of(query);
                seen.borrow_mut().push((n, cookie.clone()));
                let mut answer = cookie[..CLIENT_COOKIE_LEN].to_vec();
                answer.extend_from_slice(&SERVER_COOKIE);
                with_cookie(&reply, &answer, rcode::NOERROR)
            })),
        );
    }
    let resolved = net.resolve("www.example.test.", rtype::A);
    assert_eq!(addresses(&resolved), [[192, 0, 2, 80]]);
    let asked_twice = |seen: &[Seen]| {
        [4, 5]
            .iter()
            .any(|n| seen.iter().filter(|(m, _)| m == n).count() >= 2)
    };
    for _ in 0..20 {
        if asked_twice(&seen.borrow()) {
            break;
        }
        net.cache.flush(b"\x03www\x07example\x04test\0", false);
        net.resolve("www.example.test.", rtype::A);
    }
    let seen = seen.borrow();
    assert!(asked_twice(&seen), "{seen:?}");
    for n in [4, 5] {
        let cookies: Vec<&Vec<u8>> = seen
            .iter()
            .filter(|(m, _)| *m == n)
            .map(|(_, c)| c)
            .collect();
        let Some((first, later)) = cookies.split_first() else {
            continue;
        };
        assert_eq!(
            first.len(),
            CLIENT_COOKIE_LEN,
            "first contact: a client cookie alone"
        );
        for cookie in later {
            assert_eq!(cookie.len(), CLIENT_COOKIE_LEN + SERVER_COOKIE.len());
            assert_eq!(
                cookie[CLIENT_COOKIE_LEN..],
                SERVER_COOKIE,
                "the server cookie goes back"
            );
        }
    }
}

#[test]
fn test_7873_5_3_answers_with_another_client_cookie_are_ignored() {
    let mut net = tree();
    // .4 answers with a cookie that is not ours (a forger, or a misrouted answer): never
    // believed, even though ID, port and question match; .5 answers honestly at first,
    // then not at all.
    net.behave(
        at(4),
        Behaviour::Rewrite(Box::new(|query, reply| {
            let mut forged = cookie_of(query);
            forged[0] ^= 0xff;
            forged.extend_from_slice(&SERVER_COOKIE);
            let mut forged_reply = with_cookie(&reply, &forged, rcode::NOERROR);
            // A forged address, to tell it apart if it were believed.
            let at = forged_reply
                .windows(4)
                .position(|w| w == [192, 0, 2, 80])
                .unwrap();
            forged_reply[at + 3] = 66;
            forged_reply
        })),
    );
    for _ in 0..4 {
        net.cache.flush(b"\0", true);
        let resolved = net.resolve("www.example.test.", rtype::A);
        assert_eq!(addresses(&resolved), [[192, 0, 2, 80]], "{resolved:?}");
    }
    net.behave(at(5), Behaviour::Silent);
    net.cache.flush(b"\0", true);
    let resolved = net.resolve("www.example.test.", rtype::A);
    assert!(
        addresses(&resolved).is_empty(),
        "a forged answer believed: {resolved:?}"
    );
    assert_eq!(resolved.rcode, rcode::SERVFAIL);
}

#[test]
fn test_7873_5_3_badcookie_is_asked_again_once_with_the_new_cookie() {
    let mut net = tree();
    let asked: Rc<RefCell<u32>> = Rc::default();
    for n in [4, 5] {
        let asked = asked.clone();
        net.behave(
            at(n),
            Behaviour::Rewrite(Box::new(move |query, reply| {
                *asked.borrow_mut() += 1;
                let cookie = cookie_of(query);
                let mut answer = cookie[..CLIENT_COOKIE_LEN].to_vec();
                answer.extend_from_slice(&SERVER_COOKIE);
                // Without the current server cookie: BADCOOKIE, with it.
                let code = if cookie[CLIENT_COOKIE_LEN..] == SERVER_COOKIE {
                    rcode::NOERROR
                } else {
                    rcode::BADCOOKIE
                };
                with_cookie(&reply, &answer, code)
            })),
        );
    }
    let resolved = net.resolve("www.example.test.", rtype::A);
    assert_eq!(addresses(&resolved), [[192, 0, 2, 80]], "{resolved:?}");
    assert!(*asked.borrow() <= 3, "asked {} times", asked.borrow());
}
