//! `anyns audit --live ZONE --server ADDR ...`: the zone's name servers asked on the wire
//! (every exchange bounded by `--timeout-ms`): SOA serial and NS set per server and their
//! agreement, the NSID behind each address, TCP reachability, the EDNS conformance tests of
//! RFC 8906 §8, and the answer sizes of the apex's SOA, NS and DNSKEY and of an NXDOMAIN
//! (with DO, over TCP so nothing is truncated, and whether a 1232-octet buffer truncates).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use dns_wire::types::{class, option, rcode, rtype};
use dns_wire::{Header, Response, Section};
use serde::Serialize;

use super::finding::{Finding, Severity, octets};
use crate::acl::Prefix;

/// The EDNS Padding option (RFC 7830).
const PADDING: u16 = 12;

/// What one query asks beyond its question.
#[derive(Clone, Copy, Debug, Default)]
struct Ask {
    /// OPT: (buffer, version, DO, an unknown flag, an unknown option, NSID).
    edns: Option<(u16, u8, bool, bool, bool, bool)>,
    opcode: u8,
    /// An RFC 7830 padding option of this many octets.
    padding: u16,
}

impl Ask {
    fn edns(buffer: u16, dnssec_ok: bool) -> Self {
        Self {
            edns: Some((buffer, 0, dnssec_ok, false, false, false)),
            ..Self::default()
        }
    }
}

/// A query written by hand, so every bit the conformance tests need can be set.
fn query(id: u16, qname: &[u8], qtype: u16, ask: Ask) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&(u16::from(ask.opcode & 0xf) << 11).to_be_bytes());
    let arcount = u16::from(ask.edns.is_some());
    for count in [1u16, 0, 0, arcount] {
        m.extend_from_slice(&count.to_be_bytes());
    }
    m.extend_from_slice(qname);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&class::IN.to_be_bytes());
    if let Some((buffer, version, dnssec_ok, unknown_flag, unknown_option, nsid)) = ask.edns {
        m.push(0);
        m.extend_from_slice(&rtype::OPT.to_be_bytes());
        m.extend_from_slice(&buffer.to_be_bytes());
        m.push(0);
        m.push(version);
        let flags = u16::from(dnssec_ok) << 15 | u16::from(unknown_flag) << 14;
        m.extend_from_slice(&flags.to_be_bytes());
        let mut options = Vec::new();
        if unknown_option {
            options.extend_from_slice(&[0, 100, 0, 0]);
        }
        if nsid {
            options.extend_from_slice(&option::NSID.to_be_bytes());
            options.extend_from_slice(&[0, 0]);
        }
        if ask.padding > 0 {
            options.extend_from_slice(&PADDING.to_be_bytes());
            options.extend_from_slice(&ask.padding.to_be_bytes());
            options.resize(options.len() + usize::from(ask.padding), 0);
        }
        m.extend_from_slice(&(options.len() as u16).to_be_bytes());
        m.extend_from_slice(&options);
    }
    m
}

/// A response, reduced to what the checks read.
#[derive(Clone, Debug, Default)]
struct Answer {
    size: usize,
    rcode: u16,
    aa: bool,
    tc: bool,
    answers: u16,
    /// OPT: (version, DO, the unknown flag echoed, option codes).
    opt: Option<(u8, bool, bool, Vec<u16>)>,
    nsid: Option<String>,
    soa_serial: Option<u32>,
    ns: BTreeSet<String>,
}

/// The additional section's records, read past the others (`Response` keeps the OPT
/// record to itself, and the checks need its raw flags and options).
fn additional(msg: &[u8], header: &Header) -> Vec<dns_wire::Record> {
    let mut pos = 12;
    while let Some(&len) = msg.get(pos) {
        if len & 0xc0 == 0xc0 {
            pos += 2;
            break;
        }
        pos += 1 + len as usize;
        if len == 0 {
            break;
        }
    }
    pos += 4;
    let mut out = Vec::new();
    let skip = usize::from(header.ancount) + usize::from(header.nscount);
    for i in 0..skip + usize::from(header.arcount) {
        let Ok((record, next)) = dns_wire::read_record(msg, pos) else {
            break;
        };
        pos = next;
        if i >= skip {
            out.push(record);
        }
    }
    out
}

fn read_answer(msg: &[u8], id: u16) -> Option<Answer> {
    let response = Response::parse(msg).ok()?;
    if response.header.id != id {
        return None;
    }
    let flags = response.header.flags;
    let mut answer = Answer {
        size: msg.len(),
        rcode: flags & 0xf,
        aa: flags & Header::AA != 0,
        tc: flags & Header::TC != 0,
        answers: response.header.ancount,
        ..Answer::default()
    };
    for record in response.records(Section::Answer).flatten() {
        match record.rtype {
            rtype::SOA => {
                let mut at = 0;
                for _ in 0..2 {
                    while let Some(&len) = record.rdata.get(at) {
                        at += 1 + len as usize;
                        if len == 0 {
                            break;
                        }
                    }
                }
                answer.soa_serial = record
                    .rdata
                    .get(at..at + 4)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            }
            rtype::NS => {
                let mut name = record.rdata.clone();
                dns_wire::lowercase_in_place(&mut name);
                answer.ns.insert(dns_wire::name_to_text(&name));
            }
            _ => {}
        }
    }
    for record in additional(msg, &response.header) {
        if record.rtype != rtype::OPT {
            continue;
        }
        let ttl = record.ttl;
        let (extended, version) = ((ttl >> 24) as u16, (ttl >> 16) as u8);
        answer.rcode |= extended << 4;
        let mut codes = Vec::new();
        let mut options = record.rdata.as_slice();
        while options.len() >= 4 {
            let code = u16::from_be_bytes([options[0], options[1]]);
            let len = usize::from(u16::from_be_bytes([options[2], options[3]]));
            let Some(data) = options.get(4..4 + len) else {
                break;
            };
            if code == option::NSID && !data.is_empty() {
                answer.nsid = Some(String::from_utf8_lossy(data).into_owned());
            }
            codes.push(code);
            options = &options[4 + len..];
        }
        answer.opt = Some((version, ttl & 0x8000 != 0, ttl & 0x4000 != 0, codes));
    }
    Some(answer)
}

/// One exchange over UDP (`tcp`: over TCP), bounded by `timeout`.
fn exchange(
    server: SocketAddr,
    message: &[u8],
    tcp: bool,
    timeout: Duration,
) -> Result<Answer, String> {
    let id = u16::from_be_bytes([message[0], message[1]]);
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("no answer within {} ms", timeout.as_millis()))
    };
    let timed_out = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            format!("no answer within {} ms", timeout.as_millis())
        }
        _ => e.to_string(),
    };
    if tcp {
        let mut stream =
            TcpStream::connect_timeout(&server, left()?).map_err(|e| format!("TCP: {e}"))?;
        let mut framed = (message.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(message);
        stream
            .set_write_timeout(Some(left()?))
            .map_err(|e| e.to_string())?;
        stream.write_all(&framed).map_err(|e| format!("TCP: {e}"))?;
        stream
            .set_read_timeout(Some(left()?))
            .map_err(|e| e.to_string())?;
        let mut length = [0u8; 2];
        stream.read_exact(&mut length).map_err(timed_out)?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(length))];
        stream.read_exact(&mut buf).map_err(timed_out)?;
        return read_answer(&buf, id).ok_or_else(|| "unreadable answer".to_string());
    }
    let local: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).map_err(|e| e.to_string())?;
    socket.connect(server).map_err(|e| e.to_string())?;
    socket.send(message).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 65_535];
    loop {
        socket
            .set_read_timeout(Some(left()?))
            .map_err(|e| e.to_string())?;
        let n = socket.recv(&mut buf).map_err(timed_out)?;
        if let Some(answer) = read_answer(&buf[..n], id) {
            return Ok(answer);
        }
    }
}

/// One RFC 8906 test's verdict at one server.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Check {
    pub(crate) test: &'static str,
    pub(crate) ok: bool,
    pub(crate) detail: String,
}

/// Everything learnt from one server.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ServerReport {
    pub(crate) server: String,
    pub(crate) nsid: Option<String>,
    pub(crate) serial: Option<u32>,
    pub(crate) ns: Vec<String>,
    pub(crate) tcp: Result<(), String>,
    pub(crate) checks: Vec<Check>,
    /// (query, octets over TCP, truncated with a 1232-octet buffer over UDP).
    pub(crate) sizes: Vec<(String, usize, Option<bool>)>,
    pub(crate) anycast: bool,
}

/// Asks `server` everything, for the zone `origin` (wire form).
fn ask_server(server: SocketAddr, origin: &[u8], timeout: Duration, anycast: bool) -> ServerReport {
    let mut id = 0x4000u16 ^ (std::process::id() as u16);
    let mut next = || {
        id = id.wrapping_add(1);
        id
    };
    let zone = dns_wire::name_to_text(origin);
    let soa = exchange(
        server,
        &query(
            next(),
            origin,
            rtype::SOA,
            Ask {
                edns: Some((1232, 0, false, false, false, true)),
                ..Ask::default()
            },
        ),
        false,
        timeout,
    );
    let ns = exchange(
        server,
        &query(next(), origin, rtype::NS, Ask::edns(1232, false)),
        false,
        timeout,
    );
    let tcp = exchange(
        server,
        &query(next(), origin, rtype::SOA, Ask::default()),
        true,
        timeout,
    )
    .and_then(|a| {
        if a.rcode == rcode::NOERROR && a.answers > 0 {
            Ok(())
        } else {
            Err(format!("rcode {}", a.rcode))
        }
    });
    // RFC 8906 §8.
    let mut checks = Vec::new();
    let mut check = |test: &'static str,
                     ask: Ask,
                     qtype: u16,
                     verdict: &dyn Fn(&Answer) -> Result<(), String>| {
        let result = exchange(server, &query(next(), origin, qtype, ask), false, timeout)
            .and_then(|a| verdict(&a));
        checks.push(Check {
            test,
            ok: result.is_ok(),
            detail: result.err().unwrap_or_default(),
        });
    };
    let noerror_v0 = |a: &Answer| match (&a.opt, a.rcode) {
        (Some((0, ..)), 0) => Ok(()),
        (opt, code) => Err(format!("rcode {code}, OPT {opt:?}")),
    };
    check(
        "plain (no EDNS)",
        Ask::default(),
        rtype::SOA,
        &|a| match (&a.opt, a.rcode, a.aa) {
            (None, 0, true) => Ok(()),
            (opt, code, aa) => Err(format!("rcode {code}, AA {aa}, OPT {opt:?}")),
        },
    );
    check("edns", Ask::edns(1232, false), rtype::SOA, &noerror_v0);
    check(
        "edns1 (unknown version)",
        Ask {
            edns: Some((1232, 1, false, false, false, false)),
            ..Ask::default()
        },
        rtype::SOA,
        &|a| match (&a.opt, a.rcode) {
            (Some((0, ..)), 16) if a.answers == 0 => Ok(()),
            (opt, code) => Err(format!(
                "want BADVERS with OPT version 0: rcode {code}, OPT {opt:?}"
            )),
        },
    );
    check(
        "edns unknown option",
        Ask {
            edns: Some((1232, 0, false, false, true, false)),
            ..Ask::default()
        },
        rtype::SOA,
        &|a| {
            noerror_v0(a)?;
            match &a.opt {
                Some((_, _, _, codes)) if codes.contains(&100) => {
                    Err("the unknown option echoed".into())
                }
                _ => Ok(()),
            }
        },
    );
    check(
        "edns unknown flag",
        Ask {
            edns: Some((1232, 0, false, true, false, false)),
            ..Ask::default()
        },
        rtype::SOA,
        &|a| {
            noerror_v0(a)?;
            match &a.opt {
                Some((_, _, true, _)) => Err("the unknown flag echoed".into()),
                _ => Ok(()),
            }
        },
    );
    check("edns DO", Ask::edns(1232, true), rtype::SOA, &noerror_v0);
    check(
        "edns padding",
        Ask {
            padding: 32,
            ..Ask::edns(1232, false)
        },
        rtype::SOA,
        &noerror_v0,
    );
    check(
        "unknown opcode",
        Ask {
            opcode: 15,
            ..Ask::default()
        },
        rtype::SOA,
        &|a| {
            if a.rcode == rcode::NOTIMP {
                Ok(())
            } else {
                Err(format!("want NOTIMP: rcode {}", a.rcode))
            }
        },
    );
    // Sizes: over TCP (whole), and whether UDP with a 1232 buffer truncates.
    let mut sizes = Vec::new();
    let nxdomain = {
        let mut name = vec![17];
        name.extend_from_slice(b"anyns-audit-probe");
        name.extend_from_slice(origin);
        name
    };
    for (label, qname, qtype) in [
        ("SOA", origin.to_vec(), rtype::SOA),
        ("NS", origin.to_vec(), rtype::NS),
        ("DNSKEY", origin.to_vec(), rtype::DNSKEY),
        ("NXDOMAIN", nxdomain, rtype::A),
    ] {
        let shown = format!(
            "{} {label} +DO",
            if label == "NXDOMAIN" {
                format!("anyns-audit-probe.{zone}")
            } else {
                zone.clone()
            }
        );
        let whole = exchange(
            server,
            &query(next(), &qname, qtype, Ask::edns(4096, true)),
            true,
            timeout,
        );
        let udp = exchange(
            server,
            &query(next(), &qname, qtype, Ask::edns(1232, true)),
            false,
            timeout,
        );
        if let Ok(whole) = whole {
            sizes.push((shown, whole.size, udp.ok().map(|a| a.tc)));
        }
    }
    let (soa, ns) = (soa.ok(), ns.ok());
    ServerReport {
        server: server.to_string(),
        nsid: soa.as_ref().and_then(|a| a.nsid.clone()),
        serial: soa.as_ref().and_then(|a| a.soa_serial),
        ns: ns.map(|a| a.ns.into_iter().collect()).unwrap_or_default(),
        tcp,
        checks,
        sizes,
        anycast,
    }
}

/// Asks every server (a thread each) and turns what came back into findings.
// The collect spawns every thread before the first join: lazily, they would run one by one.
#[allow(clippy::needless_collect)]
pub(crate) fn audit(
    origin: &[u8],
    servers: &[SocketAddr],
    timeout: Duration,
    anycast: &[Prefix],
) -> (Vec<ServerReport>, Vec<Finding>) {
    let reports: Vec<ServerReport> = std::thread::scope(|scope| {
        let handles: Vec<_> = servers
            .iter()
            .map(|&server| {
                let is_anycast = anycast.iter().any(|p| p.contains(server.ip()));
                scope.spawn(move || ask_server(server, origin, timeout, is_anycast))
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut findings = Vec::new();
    let name = |r: &ServerReport| match &r.nsid {
        Some(nsid) => format!("{} (NSID {nsid})", r.server),
        None => r.server.clone(),
    };
    let serials: BTreeSet<u32> = reports.iter().filter_map(|r| r.serial).collect();
    let newest = serials.iter().max().copied();
    for report in &reports {
        match report.serial {
            None => findings.push(Finding::new(
                Severity::Error,
                "live.no-answer",
                name(report),
                "no SOA answer over UDP",
                "a listed name server that does not answer costs every resolver a timeout",
            )),
            Some(serial) if serials.len() > 1 && Some(serial) != newest => {
                findings.push(Finding::new(
                    Severity::Warning,
                    "live.serial-behind",
                    name(report),
                    format!("serial {serial}, newest {}", newest.unwrap_or(serial)),
                    "this server lags the others: check its transfers (anyns ctl zone status)",
                ))
            }
            Some(_) => {}
        }
        if let Err(why) = &report.tcp {
            findings.push(Finding::new(
                Severity::Error,
                "live.tcp-unreachable",
                name(report),
                why.clone(),
                "RFC 7766 requires TCP: truncated answers and large ones need it; open TCP/53",
            ));
        }
        for check in report
            .checks
            .iter()
            .filter(|c| !c.ok && report.serial.is_some())
        {
            findings.push(Finding::new(
                Severity::Warning,
                "live.edns-nonconformant",
                format!("{}: {}", name(report), check.test),
                check.detail.clone(),
                "RFC 8906 §8: resolvers read a wrong EDNS answer as a broken server and fall \
                 back or give up; fix the server or what sits in front of it",
            ));
        }
        for (query, size, truncated) in &report.sizes {
            if *size > 1232 {
                findings.push(Finding::new(
                    Severity::Warning,
                    "live.size-over-1232",
                    format!("{}: {query}", name(report)),
                    format!(
                        "{}{}",
                        octets(*size),
                        if *truncated == Some(true) {
                            ", TC with a 1232 buffer"
                        } else {
                            ""
                        }
                    ),
                    "resolvers with the Flag Day buffer retry over TCP, which breaks over \
                     anycast when routes move",
                ));
            }
        }
    }
    let ns_sets: BTreeSet<&Vec<String>> = reports
        .iter()
        .filter(|r| !r.ns.is_empty())
        .map(|r| &r.ns)
        .collect();
    if ns_sets.len() > 1 {
        findings.push(Finding::new(
            Severity::Error,
            "live.ns-mismatch",
            "NS sets",
            ns_sets
                .iter()
                .map(|s| s.join(" "))
                .collect::<Vec<_>>()
                .join(" | "),
            "the servers disagree on the zone's NS set: make every copy the same",
        ));
    }
    if !anycast.is_empty() && !reports.iter().any(|r| !r.anycast && r.tcp.is_ok()) {
        findings.push(Finding::new(
            Severity::Warning,
            "live.no-unicast-server",
            "name servers asked",
            "none outside the anycast prefixes answers TCP",
            "a unicast name server is the fallback when TCP over anycast breaks",
        ));
    }
    (reports, findings)
}
