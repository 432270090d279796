//! Differential test: anyns against Knot DNS on the zone corpus in `tests/data`.
//!
//! Both servers load the same staged corpus. The query list is generated from
//! the zones' contents (listed by AXFR from knotd): every owner name and every
//! empty non-terminal × its own types and a fixed probe set, a nonexistent name
//! below every node, names below wildcards and delegations, DS at delegations,
//! case-randomised (0x20) QNAMEs, ANY, and names outside every zone. Each query
//! is sent in several variants: UDP without EDNS, UDP with EDNS payload 512,
//! 1232 and 4096, and TCP with EDNS, the EDNS ones with DO clear and set.
//!
//! Compared for every query:
//! * RCODE (extended), AA, TC; RA and AD must be clear in both (unsigned
//!   zones, no recursion);
//! * the question echoed byte for byte, case included, by anyns;
//! * presence of OPT iff the query had EDNS, the DO bit echoed like Knot, and
//!   the server's payload size (both are configured with 1232);
//! * the size of anyns' UDP replies: at most 512 octets without EDNS, at most
//!   min(requested payload, 1232) with it (RFC 6891 6.2.5);
//! * answer and authority sections as multisets of (owner lowercased, type,
//!   class, TTL, RDATA);
//! * the additional section (without OPT) of referrals (AA clear, NS in
//!   authority): that is the glue.
//! * over UDP, the same query asked again with another ID from the same socket (so the
//!   same UDP worker answers it, from its answer cache): the same octets but the ID.
//!
//! Differences that are legitimate and therefore not compared:
//! * Positive answers: Knot may add the zone's NS RRset to the authority
//!   section; anyns answers minimally (RFC 1034 4.3.2 allows either), so the
//!   authority section is skipped when Knot's holds only NS records.
//! * Additional sections outside referrals: Knot adds addresses of NS/MX/SRV
//!   targets; anyns adds only in-zone MX/SRV targets (minimal responses).
//! * Truncated answers: when TC is set only RCODE and flags are compared;
//!   anyns must then carry nothing but header, question and OPT (checked
//!   separately), while Knot may keep the records that fit.
//! * ANY (RFC 8482): both answer with a subset of the RRsets at the name, and
//!   which one is an implementation choice, so for ANY only RCODE and flags are
//!   compared, plus a check that anyns' answer is non-empty when Knot's is.
//! * EDNS options: none are requested here (NSID is covered by interop_dig).
//!
//! `signed_answers_match_knot` runs the same comparison over zones signed at set-up
//! (support::signing: NSEC, NSEC3, NSEC3 with opt-out, RSASHA256) with the DNSSEC types
//! added to the probes: RRSIGs with every RRset, NSEC/NSEC3 proofs for NXDOMAIN, NODATA,
//! wildcards, empty non-terminals and insecure delegations, DS at cuts, DNSKEY that
//! truncates at 512 octets. Nothing more is exempted there than above.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Mutex;
use std::time::Duration;

use crate::support::dns::{
    self, A, AAAA, ANY, AnynsOptions, CNAME, CORPUS_ZONES, DNAME, DS, Edns, MX, NAPTR, NOERROR, NS,
    PTR, Query, Reply, Rng, Rr, SOA, SRV, TXT, rcode_name, type_name, wire_to_name,
};
use crate::support::signing::{Chain, sign_zones};

/// How many mismatching queries the failure report lists in full; the
/// environment variable `ANYNS_DIFF_REPORT_LIMIT` overrides it.
const REPORT_LIMIT: usize = 30;

fn report_limit() -> usize {
    std::env::var("ANYNS_DIFF_REPORT_LIMIT")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(REPORT_LIMIT)
}

/// Types probed at every node, in addition to the node's own types.
const PROBE_TYPES: &[u16] = &[A, AAAA, TXT, MX, NS, SOA, CNAME, DS, ANY];

/// RRSIG, NSEC, DNSKEY, NSEC3 and NSEC3PARAM (RFC 4034, RFC 5155).
const RRSIG: u16 = 46;
const NSEC: u16 = 47;
const DNSKEY: u16 = 48;
const NSEC3: u16 = 50;
const NSEC3PARAM: u16 = 51;

/// Types probed at every node of the signed zones.
const SIGNED_PROBE_TYPES: &[u16] = &[
    A, AAAA, TXT, MX, NS, SOA, CNAME, DS, ANY, RRSIG, NSEC, DNSKEY, NSEC3, NSEC3PARAM,
];

/// The signed zones: one per kind of chain.
const SIGNED_ZONES: &[(&str, Chain)] = &[
    ("sec-nsec.", Chain::Nsec),
    ("sec-nsec3.", Chain::Nsec3),
    ("sec-optout.", Chain::Nsec3OptOut),
];

/// Names in no zone of either server; both must refuse them.
const OUT_OF_ZONE: &[(&str, u16)] = &[
    (".", NS),
    ("com.", A),
    ("example.org.", SOA),
    ("www.example.org.", A),
    ("net.", NS),
    ("xexample.", A),
];

/// How a query is carried.
#[derive(Clone, Copy, Debug)]
enum Transport {
    /// UDP, no OPT record.
    UdpNoEdns,
    /// UDP with EDNS and this payload size.
    Udp(u16),
    /// TCP with EDNS (payload 1232).
    Tcp,
}

/// One way of sending every query.
#[derive(Clone, Copy, Debug)]
struct Variant {
    transport: Transport,
    dnssec_ok: bool,
}

impl Variant {
    fn all() -> Vec<Self> {
        let mut variants = vec![Self {
            transport: Transport::UdpNoEdns,
            dnssec_ok: false,
        }];
        for transport in [
            Transport::Udp(512),
            Transport::Udp(1232),
            Transport::Udp(4096),
            Transport::Tcp,
        ] {
            for dnssec_ok in [false, true] {
                variants.push(Self {
                    transport,
                    dnssec_ok,
                });
            }
        }
        variants
    }

    fn apply(self, query: &Query) -> Query {
        let edns = match self.transport {
            Transport::UdpNoEdns => None,
            Transport::Udp(payload) => Some(payload),
            Transport::Tcp => Some(1232),
        }
        .map(|payload| Edns {
            dnssec_ok: self.dnssec_ok,
            ..Edns::payload(payload)
        });
        query.clone().edns(edns)
    }

    fn send(self, query: &Query, addr: SocketAddr) -> Option<Reply> {
        match self.transport {
            Transport::Tcp => query.send_tcp(addr),
            _ => query.send_udp(addr),
        }
    }

    fn describe(self) -> String {
        let transport = match self.transport {
            Transport::UdpNoEdns => "udp/no-edns".to_owned(),
            Transport::Udp(payload) => format!("udp/edns{payload}"),
            Transport::Tcp => "tcp/edns1232".to_owned(),
        };
        if self.dnssec_ok {
            format!("{transport}+do")
        } else {
            transport
        }
    }

    fn dig_flags(self) -> String {
        let mut flags = match self.transport {
            Transport::UdpNoEdns => "+noedns +ignore".to_owned(),
            Transport::Udp(payload) => format!("+bufsize={payload} +ignore"),
            Transport::Tcp => "+tcp +bufsize=1232".to_owned(),
        };
        if self.dnssec_ok {
            flags.push_str(" +dnssec");
        }
        flags
    }
}

#[test]
fn answers_match_knot_on_corpus() {
    let knot = dns::start_knot(CORPUS_ZONES);
    let anyns = dns::start_subject();
    let queries = generate_queries(knot.addr, CORPUS_ZONES, PROBE_TYPES);
    assert!(
        queries.len() > 500,
        "query generation produced only {} queries",
        queries.len()
    );
    run_differential(&knot, anyns, &queries, "corpus");
}

#[test]
fn signed_answers_match_knot() {
    let signed = sign_zones(SIGNED_ZONES);
    let zones = signed.list();
    let knot = dns::start_knot_from(&zones, signed.path());
    let anyns = dns::start_anyns(&AnynsOptions {
        zones: &zones,
        source: Some(signed.path()),
        ..AnynsOptions::default()
    });
    let queries = generate_queries(knot.addr, &zones, SIGNED_PROBE_TYPES);
    assert!(
        queries.len() > 300,
        "query generation produced only {} queries",
        queries.len()
    );
    run_differential(&knot, anyns, &queries, "signed");
}

/// Sends every query in every variant to both servers and fails on any difference.
fn run_differential(
    knot: &dns::ServerProcess,
    anyns: dns::ServerProcess,
    queries: &[Query],
    label: &str,
) {
    let variants = Variant::all();

    let jobs: Vec<(usize, Variant)> = (0..queries.len())
        .flat_map(|index| variants.iter().map(move |&variant| (index, variant)))
        .collect();
    let mismatches = Mutex::new(Vec::new());
    let next_job = Mutex::new(0usize);
    // (exchanges with DO, Knot replies carrying RRSIGs, Knot replies with TC)
    let stats = Mutex::new((0usize, 0usize, 0usize));
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let job = {
                        let mut next = next_job.lock().unwrap();
                        let job = jobs.get(*next).copied();
                        *next += 1;
                        job
                    };
                    let Some((index, variant)) = job else { break };
                    let query = variant
                        .apply(&queries[index])
                        .id(u16::try_from(index % 65536).unwrap());
                    let expected = variant.send(&query, knot.addr);
                    let (actual, repeat_problem) = match variant.transport {
                        Transport::Tcp => (variant.send(&query, anyns.addr), None),
                        _ => ask_twice(&query, anyns.addr),
                    };
                    if let Some(knot_reply) = &expected {
                        let signed = knot_reply
                            .answer
                            .iter()
                            .chain(&knot_reply.authority)
                            .any(|rr| rr.rtype == RRSIG);
                        let mut stats = stats.lock().unwrap();
                        stats.0 += usize::from(variant.dnssec_ok);
                        stats.1 += usize::from(signed);
                        stats.2 += usize::from(knot_reply.tc);
                    }
                    let mut problems = compare(&query, expected.as_ref(), actual.as_ref());
                    if let Some(problem) = check_udp_size(variant, &query, actual.as_ref()) {
                        problems.push(problem);
                    }
                    problems.extend(repeat_problem);
                    if !problems.is_empty() {
                        mismatches.lock().unwrap().push(Mismatch {
                            index,
                            variant,
                            query,
                            problems,
                            knot: expected,
                            anyns: actual,
                        });
                    }
                }
            });
        }
    });

    let mut mismatches = mismatches.into_inner().unwrap();
    mismatches.sort_by_key(|mismatch| (mismatch.index, mismatch.variant.describe()));
    let total = jobs.len();
    let matched = total - mismatches.len();
    println!(
        "differential ({label}): {} queries x {} variants = {total} exchanges compared, {matched} matched, {} mismatched",
        queries.len(),
        variants.len(),
        mismatches.len()
    );
    let (dnssec_ok, signed, truncated) = stats.into_inner().unwrap();
    println!(
        "differential ({label}): {dnssec_ok} with DO, {signed} with RRSIGs in Knot's answer or authority, {truncated} truncated by Knot"
    );
    let mut anyns = anyns;
    assert!(
        anyns.is_running(),
        "anyns died during the run; log:\n{}",
        anyns.log()
    );
    if !mismatches.is_empty() {
        panic!("{}", report(&mismatches, total, matched));
    }
}

/// Asks `query` over UDP, then again with another ID from the same socket (the same
/// worker answers: from its answer cache). Returns the first reply and, when the second
/// is not the same octets but the ID, what differs.
fn ask_twice(query: &Query, addr: SocketAddr) -> (Option<Reply>, Option<String>) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.connect(addr).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let exchange = |query: &Query| -> Option<Vec<u8>> {
        socket.send(&query.to_bytes()).ok()?;
        let mut buf = vec![0u8; 65535];
        loop {
            let len = socket.recv(&mut buf).ok()?;
            if len >= 2 && buf[..2] == query.id.to_be_bytes() {
                return Some(buf[..len].to_vec());
            }
        }
    };
    let Some(first) = exchange(query) else {
        return (None, None);
    };
    let again = exchange(&query.clone().id(query.id ^ 0x5a5a));
    let problem = match &again {
        Some(again) if again[2..] == first[2..] => None,
        Some(again) => Some(format!(
            "asked again, the answer differs: {}",
            describe_reply(Some(&Reply::parse(again.clone())))
        )),
        None => Some("asked again, no answer".to_owned()),
    };
    (Some(Reply::parse(first)), problem)
}

// ---------------------------------------------------------------------------
// Query generation

/// A node of the zone tree: the owner's case as written and its types.
#[derive(Default)]
struct Node {
    wire: Vec<u8>,
    types: BTreeSet<u16>,
    zone: String,
}

fn generate_queries(knot: SocketAddr, zones: &[(&str, &str)], probes: &[u16]) -> Vec<Query> {
    let mut nodes: BTreeMap<Vec<u8>, Node> = BTreeMap::new();
    for (zone, _) in zones {
        let origin = dns::name_to_wire(zone);
        let records = dns::axfr(knot, zone);
        assert!(records.len() > 3, "AXFR of {zone} returned too little");
        for (owner, rr) in records {
            // Add the owner and every empty non-terminal between it and the apex.
            let mut name = owner.as_slice();
            loop {
                let node = nodes.entry(name.to_ascii_lowercase()).or_default();
                if node.wire.is_empty() {
                    node.wire = name.to_vec();
                    node.zone = (*zone).to_owned();
                }
                if name.eq_ignore_ascii_case(&origin) || name == [0] {
                    break;
                }
                name = &name[usize::from(name[0]) + 1..];
            }
            nodes
                .get_mut(&owner.to_ascii_lowercase())
                .unwrap()
                .types
                .insert(rr.rtype);
        }
    }

    let mut rng = Rng::new(0x20_20_20);
    let mut queries = Vec::new();
    for node in nodes.values() {
        let name = &node.wire;
        let types: BTreeSet<u16> = node.types.iter().chain(probes).copied().collect();
        for &qtype in &types {
            queries.push(Query::with_wire_name(name.clone(), qtype));
        }
        // 0x20: same names with randomised case, for a positive and a probe type.
        let randomized = dns::randomize_case(name, &mut rng);
        if let Some(&first) = node.types.iter().next() {
            queries.push(Query::with_wire_name(randomized.clone(), first));
        }
        queries.push(Query::with_wire_name(randomized, A));
        // A nonexistent name below every node.
        let below = prepend(b"nx-probe", name);
        queries.push(Query::with_wire_name(below.clone(), A));
        queries.push(Query::with_wire_name(below, TXT));
        // Names below wildcards: one and two labels, several types.
        if name.get(0..2) == Some(&[1, b'*'][..]) {
            let parent = &name[2..];
            for label in [&b"anything"[..], b"MiXeD-wild", b"*"] {
                for qtype in [A, AAAA, TXT, MX, CNAME, NAPTR, ANY] {
                    queries.push(Query::with_wire_name(prepend(label, parent), qtype));
                }
            }
            queries.push(Query::with_wire_name(
                prepend(b"deep", &prepend(b"two", parent)),
                A,
            ));
        }
        // Names below delegations (not at the apex of a zone).
        if node.types.contains(&NS) && !node.types.contains(&SOA) {
            for label in [&b"www"[..], b"ns1"] {
                queries.push(Query::with_wire_name(prepend(label, name), A));
            }
            queries.push(Query::with_wire_name(
                prepend(b"deep", &prepend(b"x", name)),
                NS,
            ));
            queries.push(Query::with_wire_name(prepend(b"x", name), DS));
        }
        // SRV/NAPTR probes at underscore names.
        if name.get(1) == Some(&b'_') {
            queries.push(Query::with_wire_name(name.clone(), SRV));
        }
    }
    for (name, qtype) in OUT_OF_ZONE {
        queries.push(Query::new(name, *qtype));
    }
    // The probes overlap (a wildcard owner is also a node): ask each once.
    let mut seen = BTreeSet::new();
    queries.retain(|query| seen.insert((query.qname.clone(), query.qtype)));
    queries
}

/// `label.name` in wire format.
fn prepend(label: &[u8], name: &[u8]) -> Vec<u8> {
    let mut wire = vec![u8::try_from(label.len()).unwrap()];
    wire.extend_from_slice(label);
    wire.extend_from_slice(name);
    wire
}

// ---------------------------------------------------------------------------
// Comparison

struct Mismatch {
    index: usize,
    variant: Variant,
    query: Query,
    problems: Vec<String>,
    knot: Option<Reply>,
    anyns: Option<Reply>,
}

/// Types whose RDATA holds only domain names and numbers: their names are
/// compared case-insensitively, since Knot lowercases names when it loads a
/// zone while anyns may preserve the zone file's case (RFC 4343).
const NAME_RDATA_TYPES: &[u16] = &[NS, CNAME, DNAME, PTR, MX, SRV, SOA];

/// The records sorted, with name-only RDATA lowercased: a comparable multiset.
fn sorted(records: &[Rr]) -> Vec<Rr> {
    let mut records: Vec<Rr> = records
        .iter()
        .map(|rr| {
            let mut rr = rr.clone();
            if NAME_RDATA_TYPES.contains(&rr.rtype) {
                rr.rdata = rr.rdata.to_ascii_lowercase();
            }
            rr
        })
        .collect();
    records.sort();
    records
}

fn is_referral(reply: &Reply) -> bool {
    !reply.aa && reply.authority.iter().any(|rr| rr.rtype == NS) && reply.answer.is_empty()
}

/// Server-side UDP payload size both servers are configured with.
const SERVER_PAYLOAD: usize = 1232;

/// A UDP reply larger than the client and server allow is a problem.
fn check_udp_size(variant: Variant, query: &Query, reply: Option<&Reply>) -> Option<String> {
    if matches!(variant.transport, Transport::Tcp) {
        return None;
    }
    let limit = query.edns.map_or(512, |edns| {
        usize::from(edns.payload).clamp(512, SERVER_PAYLOAD)
    });
    let size = reply?.bytes.len();
    (size > limit).then(|| format!("UDP reply of {size} octets exceeds the limit of {limit}"))
}

/// Returns the differences between Knot's reply and anyns' reply that matter.
fn compare(query: &Query, knot: Option<&Reply>, anyns: Option<&Reply>) -> Vec<String> {
    let mut problems = Vec::new();
    let (knot, anyns) = match (knot, anyns) {
        (None, None) => return problems,
        (Some(_), None) => return vec!["anyns did not answer".into()],
        (None, Some(_)) => return vec!["knot did not answer, anyns did".into()],
        (Some(knot), Some(anyns)) => (knot, anyns),
    };
    if let Some(err) = &anyns.parse_error {
        problems.push(format!("anyns reply does not parse: {err}"));
        return problems;
    }
    if !anyns.qr || anyns.id != query.id {
        problems.push(format!("anyns reply QR={} id={}", anyns.qr, anyns.id));
    }
    if anyns.question.as_ref() != Some(&(query.qname.clone(), query.qtype, query.qclass)) {
        problems.push(format!(
            "question not echoed exactly: sent {}, got {}",
            query.describe(),
            anyns.qname()
        ));
    }
    if knot.rcode != anyns.rcode {
        problems.push(format!(
            "rcode: knot {} anyns {}",
            rcode_name(knot.rcode),
            rcode_name(anyns.rcode)
        ));
    }
    for (flag, k, a) in [("aa", knot.aa, anyns.aa), ("tc", knot.tc, anyns.tc)] {
        if k != a {
            problems.push(format!("flag {flag}: knot {k} anyns {a}"));
        }
    }
    if anyns.ra || anyns.ad {
        problems.push(format!("anyns set ra={} ad={}", anyns.ra, anyns.ad));
    }
    if anyns.rd != query.rd {
        problems.push("anyns did not copy RD".into());
    }
    match (&query.edns, &anyns.opt) {
        (Some(_), None) => problems.push("EDNS query answered without OPT".into()),
        (None, Some(_)) => problems.push("non-EDNS query answered with OPT".into()),
        _ => {}
    }
    if let (Some(k), Some(a)) = (&knot.opt, &anyns.opt) {
        if k.payload != a.payload {
            problems.push(format!(
                "OPT payload: knot {} anyns {}",
                k.payload, a.payload
            ));
        }
        if k.dnssec_ok != a.dnssec_ok {
            problems.push(format!(
                "OPT DO bit: knot {} anyns {}",
                k.dnssec_ok, a.dnssec_ok
            ));
        }
    }
    if anyns.opt_count > 1 {
        problems.push(format!("anyns sent {} OPT records", anyns.opt_count));
    }
    if anyns.tc
        && (!anyns.answer.is_empty() || !anyns.authority.is_empty() || !anyns.additional.is_empty())
    {
        problems.push("anyns TC reply carries records besides OPT".into());
    }
    if knot.tc || anyns.tc {
        return problems;
    }
    if query.qtype == ANY {
        if !knot.answer.is_empty() && anyns.answer.is_empty() && knot.rcode == NOERROR {
            problems.push("ANY: knot answered records, anyns none".into());
        }
        let types: BTreeSet<u16> = anyns.answer.iter().map(|rr| rr.rtype).collect();
        let knot_types: BTreeSet<u16> = knot.answer.iter().map(|rr| rr.rtype).collect();
        if knot_types.len() == 1 && types.len() > 1 {
            problems.push(format!(
                "ANY: anyns answered {} RRsets, RFC 8482 asks for one",
                types.len()
            ));
        }
        return problems;
    }
    if sorted(&knot.answer) != sorted(&anyns.answer) {
        problems.push("answer section differs".into());
    }
    let knot_positive = knot.aa && knot.rcode == NOERROR && !knot.answer.is_empty();
    let knot_ns_only = !knot.authority.is_empty() && knot.authority.iter().all(|rr| rr.rtype == NS);
    if !(knot_positive && knot_ns_only) && sorted(&knot.authority) != sorted(&anyns.authority) {
        problems.push("authority section differs".into());
    }
    if is_referral(knot) && sorted(&knot.additional) != sorted(&anyns.additional) {
        problems.push("referral additional section (glue) differs".into());
    }
    problems
}

// ---------------------------------------------------------------------------
// Report

fn describe_reply(reply: Option<&Reply>) -> String {
    let Some(reply) = reply else {
        return "    (no reply)\n".into();
    };
    let mut out = String::new();
    let mut flags = Vec::new();
    for (name, set) in [
        ("qr", reply.qr),
        ("aa", reply.aa),
        ("tc", reply.tc),
        ("rd", reply.rd),
        ("ra", reply.ra),
        ("ad", reply.ad),
    ] {
        if set {
            flags.push(name);
        }
    }
    let _ = writeln!(
        out,
        "    {} flags [{}] question {} opt {}",
        rcode_name(reply.rcode),
        flags.join(" "),
        reply.qname(),
        reply.opt.as_ref().map_or_else(
            || "none".to_owned(),
            |opt| format!("payload={} do={}", opt.payload, opt.dnssec_ok)
        ),
    );
    if let Some(err) = &reply.parse_error {
        let _ = writeln!(out, "    parse error: {err}");
    }
    for (section, records) in [
        ("an", &reply.answer),
        ("ns", &reply.authority),
        ("ar", &reply.additional),
    ] {
        for rr in sorted(records) {
            let _ = writeln!(out, "    {section}: {rr}");
        }
    }
    out
}

fn report(mismatches: &[Mismatch], total: usize, matched: usize) -> String {
    // Group by query: one full entry per query, listing the other variants.
    let mut groups: BTreeMap<usize, Vec<&Mismatch>> = BTreeMap::new();
    for mismatch in mismatches {
        groups.entry(mismatch.index).or_default().push(mismatch);
    }
    let mut out = format!(
        "{} of {total} exchanges differ from Knot ({matched} matched), \
         for {} distinct queries; first {}:\n",
        mismatches.len(),
        groups.len(),
        report_limit().min(groups.len())
    );
    for group in groups.values().take(report_limit()) {
        let mismatch = group[0];
        let query = &mismatch.query;
        let _ = writeln!(
            out,
            "\n* {} [{}]: {}\n  dig @127.0.0.1 -p PORT {} {} +norec {}",
            query.describe(),
            mismatch.variant.describe(),
            mismatch.problems.join("; "),
            wire_to_name(&query.qname),
            type_name(query.qtype),
            mismatch.variant.dig_flags(),
        );
        if group.len() > 1 {
            let others: Vec<String> = group[1..]
                .iter()
                .map(|other| other.variant.describe())
                .collect();
            let _ = writeln!(out, "  also differs over: {}", others.join(", "));
        }
        let _ = write!(out, "  knot:\n{}", describe_reply(mismatch.knot.as_ref()));
        let _ = write!(out, "  anyns:\n{}", describe_reply(mismatch.anyns.as_ref()));
    }
    // Summarise the kinds of problem across all mismatches.
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for mismatch in mismatches {
        for problem in &mismatch.problems {
            let kind = problem.split(':').next().unwrap_or(problem).to_owned();
            *kinds.entry(kind).or_default() += 1;
        }
    }
    let _ = writeln!(out, "\nproblem counts:");
    for (kind, count) in kinds {
        let _ = writeln!(out, "  {count:6}  {kind}");
    }
    out
}
