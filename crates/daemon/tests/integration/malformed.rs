//! Malformed and unusual queries over UDP and TCP.
//!
//! Each case says what a conforming authoritative server does with it:
//! answer with a given RCODE (FORMERR for bad wire format, RFC 1035 4.1.1;
//! NOTIMP for opcodes it does not implement; BADVERS for EDNS versions above
//! 0, RFC 6891 6.1.3) or drop it (messages shorter than a header, and
//! responses, i.e. QR=1, which must never be answered to avoid loops).
//! Messages whose question cannot be parsed may be answered with FORMERR or
//! dropped (Knot drops them). After the whole corpus the server must still
//! answer a normal query and its process must still be running.
//!
//! Set `ANYNS_TEST_SUBJECT=knot` to run the corpus against knotd. Knot differs
//! in two places on purpose: it ignores an OPT record with a non-root owner
//! (we expect FORMERR, RFC 6891 6.1.2 requires the root owner) and it answers
//! UPDATE with NOTAUTH because it implements dynamic update.
//!
//! The same corpus is written to `fuzz/corpus/message/` at the workspace root
//! as seeds for a message-parser fuzz target.

use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::support::dns::{
    self, BADVERS, Edns, FORMERR, NOERROR, NOTIMP, Query, Reply, Rng, SOA, opt_record, rcode_name,
};

/// Message ID of every hand-made case.
const ID: u16 = 0xbeef;

/// How long to wait before concluding a message was dropped.
const DROP_WAIT: Duration = Duration::from_millis(300);

/// What the server must do with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Answer with this (extended) RCODE.
    Rcode(u16),
    /// Answer with this RCODE or send nothing back: for messages whose
    /// question cannot be parsed, where Knot drops and others answer FORMERR.
    RcodeOrDrop(u16),
    /// Send nothing back.
    Drop,
    /// Either drop or answer with any RCODE (random input).
    AnyOrDrop,
}

struct Case {
    name: String,
    bytes: Vec<u8>,
    expect: Expect,
}

fn case(name: &str, bytes: Vec<u8>, expect: Expect) -> Case {
    Case {
        name: name.to_owned(),
        bytes,
        expect,
    }
}

/// A 12-byte header: ID, flags, QD/AN/NS/AR counts.
fn header(flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut bytes = ID.to_be_bytes().to_vec();
    bytes.extend_from_slice(&flags.to_be_bytes());
    for count in counts {
        bytes.extend_from_slice(&count.to_be_bytes());
    }
    bytes
}

/// `example. IN SOA` as a question entry.
fn question() -> Vec<u8> {
    let mut bytes = dns::name_to_wire("example.");
    bytes.extend_from_slice(&SOA.to_be_bytes());
    bytes.extend_from_slice(&1u16.to_be_bytes());
    bytes
}

/// A header with one question and the given flags and ARCOUNT, then `rest`.
fn message(flags: u16, arcount: u16, rest: &[u8]) -> Vec<u8> {
    let mut bytes = header(flags, [1, 0, 0, arcount]);
    bytes.extend_from_slice(rest);
    bytes
}

fn valid_query() -> Vec<u8> {
    Query::new("example.", SOA).id(ID).to_bytes()
}

/// The fixed corpus.
fn corpus() -> Vec<Case> {
    use Expect::{Drop, Rcode, RcodeOrDrop};
    let mut cases = vec![
        case("drop-empty", Vec::new(), Drop),
        case("drop-truncated-header", valid_query()[..7].to_vec(), Drop),
        case("drop-11-bytes", valid_query()[..11].to_vec(), Drop),
        case(
            "formerr-header-only",
            header(0, [1, 0, 0, 0]),
            RcodeOrDrop(FORMERR),
        ),
        case("formerr-qdcount0", header(0, [0, 0, 0, 0]), Rcode(FORMERR)),
    ];
    let mut two = header(0, [2, 0, 0, 0]);
    two.extend_from_slice(&question());
    two.extend_from_slice(&question());
    cases.push(case("formerr-qdcount2", two, RcodeOrDrop(FORMERR)));
    cases.push(case(
        "formerr-qdcount2-one-present",
        {
            let mut bytes = header(0, [2, 0, 0, 0]);
            bytes.extend_from_slice(&question());
            bytes
        },
        RcodeOrDrop(FORMERR),
    ));
    cases.push(case(
        "formerr-truncated-question",
        message(0, 0, &question()[..question().len() - 3]),
        RcodeOrDrop(FORMERR),
    ));
    cases.push(case(
        "formerr-unterminated-name",
        message(0, 0, b"\x07example\x03"),
        RcodeOrDrop(FORMERR),
    ));

    // Labels: length 64 (0x40 is the reserved extended label type), 0x80.
    let mut long_label = vec![64];
    long_label.extend_from_slice(&[b'a'; 64]);
    long_label.extend_from_slice(&[0, 0, 6, 0, 1]);
    cases.push(case(
        "formerr-label-64",
        message(0, 0, &long_label),
        RcodeOrDrop(FORMERR),
    ));
    cases.push(case(
        "formerr-label-type-0x80",
        message(0, 0, &[0x80, b'a', 0, 0, 6, 0, 1]),
        RcodeOrDrop(FORMERR),
    ));
    // Name longer than 255 octets: five 63-octet labels (320 octets).
    let mut long_name = Vec::new();
    for _ in 0..5 {
        long_name.push(63);
        long_name.extend_from_slice(&[b'x'; 63]);
    }
    long_name.extend_from_slice(&[0, 0, 6, 0, 1]);
    cases.push(case(
        "formerr-name-256",
        message(0, 0, &long_name),
        RcodeOrDrop(FORMERR),
    ));

    // Compression in the question: pointer to itself, pointer loop through a
    // label, forward pointer, pointer past the end.
    cases.push(case(
        "formerr-loop",
        message(0, 0, &[0xc0, 12, 0, 6, 0, 1]),
        RcodeOrDrop(FORMERR),
    ));
    cases.push(case(
        "formerr-loop-two-step",
        message(0, 0, &[1, b'a', 0xc0, 12, 0, 6, 0, 1]),
        RcodeOrDrop(FORMERR),
    ));
    cases.push(case(
        "formerr-forward-pointer",
        message(0, 0, &[0xc0, 18, 0, 6, 0, 1, 3, b'c', b'o', b'm', 0]),
        RcodeOrDrop(FORMERR),
    ));
    cases.push(case(
        "formerr-pointer-past-end",
        message(0, 0, &[0xc0, 200, 0, 6, 0, 1]),
        RcodeOrDrop(FORMERR),
    ));

    // Trailing bytes that no section count accounts for.
    let mut garbage = valid_query();
    garbage.extend_from_slice(b"\xde\xad\xbe\xef\x00");
    cases.push(case(
        "formerr-garbage-after-question",
        garbage,
        Rcode(FORMERR),
    ));

    // OPT problems (RFC 6891 6.1.1): two OPT records, OPT with a non-root
    // owner, OPT cut short.
    let opt = opt_record(Edns::payload(1232));
    let mut double = question();
    double.extend_from_slice(&opt);
    double.extend_from_slice(&opt);
    cases.push(case(
        "formerr-two-opt",
        message(0, 2, &double),
        Rcode(FORMERR),
    ));
    let mut owned = question();
    owned.extend_from_slice(&dns::name_to_wire("example."));
    owned.extend_from_slice(&opt[1..]);
    cases.push(case(
        "formerr-opt-owner",
        message(0, 1, &owned),
        RcodeOrDrop(FORMERR),
    ));
    let mut short_opt = question();
    short_opt.extend_from_slice(&opt[..7]);
    cases.push(case(
        "formerr-opt-truncated",
        message(0, 1, &short_opt),
        Rcode(FORMERR),
    ));
    // ARCOUNT claims a record that is not there.
    cases.push(case(
        "formerr-arcount-without-record",
        message(0, 1, &question()),
        Rcode(FORMERR),
    ));

    // EDNS version 1: BADVERS (RFC 6891 6.1.3).
    let badvers = Query::new("example.", SOA).id(ID).edns(Some(Edns {
        version: 1,
        ..Edns::payload(1232)
    }));
    cases.push(case("badvers-edns1", badvers.to_bytes(), Rcode(BADVERS)));

    // Opcodes other than QUERY (NOTIFY aside): NOTIMP, with the opcode echoed.
    for (name, opcode) in [
        ("notimp-opcode-iquery", 1u16),
        ("notimp-opcode-status", 2),
        ("notimp-opcode-3", 3),
        ("notimp-opcode-update", 5),
        ("notimp-opcode-15", 15),
    ] {
        cases.push(case(
            name,
            message(opcode << 11, 0, &question()),
            Rcode(NOTIMP),
        ));
    }

    // Responses (QR=1) are never answered, valid or not.
    cases.push(case("drop-qr-set", message(0x8000, 0, &question()), Drop));
    cases.push(case(
        "drop-qr-set-aa-noerror",
        message(0x8400, 0, &question()),
        Drop,
    ));
    cases.push(case(
        "drop-qr-set-garbage",
        message(0x8000, 0, b"\xff\xff\xff\xff"),
        Drop,
    ));
    cases.push(case(
        "drop-qr-set-header-only",
        header(0x8000, [0; 4]),
        Drop,
    ));
    cases
}

/// Seeded random input: raw random bytes and bit-flipped valid queries.
fn random_corpus() -> Vec<Case> {
    let mut rng = Rng::new(0xd15ea5e);
    let mut cases = Vec::new();
    for index in 0..48 {
        let len = rng.below(80);
        let bytes = rng.bytes(len);
        cases.push(random_case(format!("random-bytes-{index:02}"), bytes));
    }
    for index in 0..48 {
        let mut bytes = Query::new("www.example.", SOA)
            .id(ID)
            .edns(Some(Edns::payload(1232)))
            .to_bytes();
        for _ in 0..=rng.below(3) {
            let at = rng.below(bytes.len());
            bytes[at] ^= 1 << rng.below(8);
        }
        cases.push(random_case(format!("random-flip-{index:02}"), bytes));
    }
    cases
}

/// A random case must be dropped when it has no full header or QR set, and
/// may be answered (any RCODE) or dropped otherwise.
fn random_case(name: String, bytes: Vec<u8>) -> Case {
    let expect = if bytes.len() < 12 || bytes[2] & 0x80 != 0 {
        Expect::Drop
    } else {
        Expect::AnyOrDrop
    };
    Case {
        name,
        bytes,
        expect,
    }
}

/// Checks one reply (or its absence) against the expectation.
fn check(case: &Case, reply: Option<Vec<u8>>, transport: &str) -> Option<String> {
    let context = format!("{} over {transport}", case.name);
    match (case.expect, reply) {
        (Expect::Drop | Expect::AnyOrDrop | Expect::RcodeOrDrop(_), None) => None,
        (Expect::Rcode(rcode), None) => Some(format!(
            "{context}: expected {}, got no reply",
            rcode_name(rcode)
        )),
        (Expect::Drop, Some(bytes)) => Some(format!(
            "{context}: expected no reply, got {}",
            describe(&Reply::parse(bytes))
        )),
        (expect, Some(bytes)) => {
            let reply = Reply::parse(bytes);
            let id = u16::from_be_bytes([case.bytes[0], case.bytes[1]]);
            let opcode = (case.bytes[2] >> 3) & 0x0f;
            let mut problems = Vec::new();
            if !reply.qr {
                problems.push("QR clear".to_owned());
            }
            if reply.id != id {
                problems.push(format!("ID {:#06x}, sent {id:#06x}", reply.id));
            }
            if reply.opcode != opcode {
                problems.push(format!("opcode {}, sent {opcode}", reply.opcode));
            }
            if let Expect::Rcode(rcode) | Expect::RcodeOrDrop(rcode) = expect {
                if reply.rcode != rcode {
                    problems.push(format!(
                        "rcode {}, expected {}",
                        rcode_name(reply.rcode),
                        rcode_name(rcode)
                    ));
                }
                if rcode == BADVERS && reply.opt.as_ref().map(|opt| opt.version) != Some(0) {
                    problems.push("BADVERS without an OPT record of version 0".to_owned());
                }
            }
            (!problems.is_empty()).then(|| format!("{context}: {}", problems.join(", ")))
        }
    }
}

fn describe(reply: &Reply) -> String {
    format!(
        "reply id={:#06x} qr={} opcode={} rcode={} ({} bytes)",
        reply.id,
        reply.qr,
        reply.opcode,
        rcode_name(reply.rcode),
        reply.bytes.len()
    )
}

fn wait_for(case: &Case) -> Duration {
    match case.expect {
        Expect::Rcode(_) => dns::UDP_TIMEOUT,
        Expect::RcodeOrDrop(_) => Duration::from_secs(1),
        Expect::Drop | Expect::AnyOrDrop => DROP_WAIT,
    }
}

fn send_udp(addr: SocketAddr, case: &Case) -> Option<Vec<u8>> {
    dns::udp_exchange_timeout(addr, &case.bytes, wait_for(case))
}

fn send_tcp(addr: SocketAddr, case: &Case) -> Option<Vec<u8>> {
    let mut stream = dns::tcp_connect(addr);
    stream
        .set_read_timeout(Some(wait_for(case)))
        .expect("set TCP timeout");
    dns::tcp_send(&mut stream, &case.bytes);
    dns::tcp_read_frame(&mut stream)
}

/// The server still answers `example. SOA` authoritatively over UDP and TCP.
fn assert_still_serving(server: &mut dns::ServerProcess) {
    assert!(
        server.is_running(),
        "{} (pid {}) is no longer running; log:\n{}",
        server.name,
        server.pid(),
        server.log()
    );
    let query = Query::new("example.", SOA).id(0x0a0a);
    for (transport, reply) in [
        ("UDP", query.send_udp(server.addr)),
        ("TCP", query.send_tcp(server.addr)),
    ] {
        let reply = reply.unwrap_or_else(|| {
            panic!("no answer to example. SOA over {transport} after the malformed corpus")
        });
        assert_eq!(reply.rcode, NOERROR, "over {transport}");
        assert!(reply.aa, "over {transport}");
        assert_eq!(reply.answer.len(), 1, "over {transport}");
    }
}

fn run_corpus(
    server: &mut dns::ServerProcess,
    cases: &[Case],
    send: fn(SocketAddr, &Case) -> Option<Vec<u8>>,
    transport: &str,
) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| check(case, send(server.addr, case), transport))
        .collect();
    assert_still_serving(server);
    assert!(
        failures.is_empty(),
        "{} of {} malformed messages handled wrongly over {transport}:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn malformed_queries_over_udp() {
    let mut server = dns::start_subject();
    run_corpus(&mut server, &corpus(), send_udp, "UDP");
}

#[test]
fn malformed_queries_over_tcp() {
    let mut server = dns::start_subject();
    run_corpus(&mut server, &corpus(), send_tcp, "TCP");
}

#[test]
fn random_queries_over_udp_and_tcp() {
    let mut server = dns::start_subject();
    let cases = random_corpus();
    run_corpus(&mut server, &cases, send_udp, "UDP");
    run_corpus(&mut server, &cases[..cases.len() / 4], send_tcp, "TCP");
}

/// A malformed message on a persistent TCP connection: the server answers it
/// (FORMERR) and keeps serving the connection, or closes the connection
/// (RFC 7766 6.2.4 lets it); it never answers wrongly or dies.
#[test]
fn malformed_message_inside_a_tcp_connection() {
    let mut server = dns::start_subject();
    let corpus = corpus();
    let bad = corpus
        .iter()
        .find(|case| case.name == "formerr-qdcount0")
        .unwrap();
    let mut stream = dns::tcp_connect(server.addr);
    dns::tcp_send(&mut stream, &valid_query());
    let first = dns::tcp_read_frame(&mut stream).map(Reply::parse);
    assert_eq!(
        first.map(|reply| (reply.id, reply.rcode)),
        Some((ID, NOERROR)),
        "valid query on a fresh TCP connection"
    );
    dns::tcp_send(&mut stream, &bad.bytes);
    match dns::tcp_read_frame(&mut stream) {
        None => {} // closed: allowed
        Some(reply) => {
            if let Some(problem) = check(bad, Some(reply), "a persistent TCP connection") {
                panic!("{problem}");
            }
            dns::tcp_send(&mut stream, &valid_query());
            if let Some(reply) = dns::tcp_read_frame(&mut stream) {
                let reply = Reply::parse(reply);
                assert_eq!(
                    (reply.id, reply.rcode),
                    (ID, NOERROR),
                    "valid query after a malformed one on the same connection"
                );
            }
        }
    }
    assert_still_serving(&mut server);
}

/// Writes the corpus to `fuzz/corpus/message/` (deterministic content, so
/// rewriting leaves the checked-in files unchanged).
#[test]
fn seed_fuzz_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/message");
    fs::create_dir_all(&dir).expect("create fuzz corpus dir");
    let cases: Vec<Case> = corpus().into_iter().chain(random_corpus()).collect();
    let mut names = std::collections::BTreeSet::new();
    for case in &cases {
        assert!(
            names.insert(case.name.clone()),
            "duplicate case {}",
            case.name
        );
        fs::write(dir.join(format!("{}.bin", case.name)), &case.bytes).expect("write seed");
    }
    // A valid query too, so the fuzzer starts from something that parses.
    fs::write(dir.join("valid-example-soa.bin"), valid_query()).expect("write seed");
    fs::write(
        dir.join("valid-edns-nsid-do.bin"),
        Query::new("www.example.", dns::A)
            .id(ID)
            .edns(Some(Edns {
                dnssec_ok: true,
                nsid: true,
                ..Edns::payload(1232)
            }))
            .to_bytes(),
    )
    .expect("write seed");
    assert!(fs::read_dir(&dir).expect("list fuzz corpus").count() > cases.len());
}
