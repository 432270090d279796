//! The entry point: one query in, one response (or nothing) out. Every error is mapped to
//! its response code here and nowhere else.

use dns_wire::types::{class, ede, option, rcode, rtype};
use dns_wire::{Header, MessageWriter, Name, Opcode, ParseError, Query};
use dns_zone::{Zone, ZoneSet};

use crate::chaos::answer_chaos;
use crate::config::{AnswerConfig, AnswerExtras, DEFAULT_UDP_PAYLOAD, MIN_UDP_PAYLOAD, Transport};
use crate::resolve::resolve;

/// RFC 1035 §4.2.1: without EDNS, UDP messages are at most 512 octets.
const CLASSIC_UDP_LIMIT: usize = 512;
/// RFC 1035 §4.2.2: TCP messages carry a 2-octet length.
const TCP_LIMIT: usize = u16::MAX as usize;
/// Flags copied from the query into the response (RFC 1035 §4.1.1, RFC 4035 §3.1.6 for CD).
const COPIED_FLAGS: u16 = Header::RD | Header::CD | 0x7800;

/// What happened to a query, for counters and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing is sent (a response, or fewer than 12 octets).
    Dropped,
    /// A response of this many octets was written to `out`, with this response code
    /// (extended codes included) and TC flag.
    Answered {
        /// Response length.
        len: usize,
        /// Response code, extended codes included.
        rcode: u16,
        /// Whether TC is set.
        truncated: bool,
    },
}

/// Answers `query` from `zones` into `out` (cleared first). For callers that have not
/// classified the message: the daemon classifies it once ([`crate::classify`]) and calls
/// [`respond_to_query`] or [`respond_to_malformed`].
pub fn respond(
    query: &[u8],
    zones: &ZoneSet,
    config: &AnswerConfig,
    transport: Transport,
    out: &mut Vec<u8>,
) -> Outcome {
    let mut parsed = Query::empty();
    if let Err(err) = parsed.parse_into(query) {
        return respond_to_malformed(query, err, out);
    }
    respond_to_query(
        query,
        &parsed,
        zones,
        config,
        transport,
        AnswerExtras::default(),
        out,
    )
}

/// Answers the query `parsed` (read from the bytes `query`) from `zones` into `out`, with
/// the options of `extras` (a cookie, a secondary's time to expiry).
#[inline]
pub fn respond_to_query(
    query: &[u8],
    parsed: &Query,
    zones: &ZoneSet,
    config: &AnswerConfig,
    transport: Transport,
    extras: AnswerExtras<'_>,
    out: &mut Vec<u8>,
) -> Outcome {
    let cookie = extras.cookie;
    //= https://www.rfc-editor.org/rfc/rfc7314#section-3
    //# The EXPIRE option ... SOA, AXFR and IXFR queries
    let wants_expire = parsed.qtype == rtype::SOA && parsed.edns.is_some_and(|e| e.expire);
    let mut expire: Option<[u8; 4]> = None;
    let header = Header {
        flags: Header::QR | (parsed.header.flags & COPIED_FLAGS),
        ..parsed.header
    };
    let mut writer = MessageWriter::new(out, header, Some(parsed.question_bytes(query)));
    let limit = match (transport, parsed.edns) {
        (Transport::Tcp, _) => TCP_LIMIT,
        (Transport::Udp, None) => CLASSIC_UDP_LIMIT,
        //= https://www.rfc-editor.org/rfc/rfc6891#section-6.2.5
        //# Values lower than 512 MUST be treated as equal to 512.
        (Transport::Udp, Some(edns)) => {
            edns.udp_payload
                .max(MIN_UDP_PAYLOAD)
                .min(config.udp_payload.max(MIN_UDP_PAYLOAD)) as usize
        }
    };
    let nsid = match (parsed.edns, &config.identity) {
        (Some(edns), Some(identity)) if edns.nsid => Some(&**identity),
        _ => None,
    };
    let keepalive = config.tcp_keepalive.to_be_bytes();
    let keepalive = match (transport, parsed.edns) {
        (Transport::Tcp, Some(edns)) if edns.tcp_keepalive => Some(&keepalive[..]),
        _ => None,
    };
    let mut extended_error = None;
    let mut authoritative = false;
    let mut truncated = false;
    let code = if let Some(edns) = parsed.edns.filter(|e| e.version > 0) {
        //= https://www.rfc-editor.org/rfc/rfc6891#section-6.1.3
        //# If a responder does not implement the VERSION level of the request, then it
        //# MUST respond with RCODE=BADVERS.
        let _ = edns;
        rcode::BADVERS
    } else if parsed.header.opcode() != Opcode::Query {
        rcode::NOTIMP
    } else {
        match (parsed.qclass, parsed.qtype) {
            (class::CH, _) => {
                let code = answer_chaos(&parsed.qname, parsed.qtype, config, &mut writer);
                // The identity is our own data (as Knot marks it); a refusal is not.
                authoritative = code == rcode::NOERROR;
                code
            }
            //= https://www.rfc-editor.org/rfc/rfc6895#section-3.1
            //# TYPE 0 ... reserved: no data has it; NOTIMP, as Knot answers
            (_, 0) => rcode::NOTIMP,
            //= https://www.rfc-editor.org/rfc/rfc1995#section-3
            //# the authority section ... contains the SOA record of client's version
            (class::IN | class::ANY, rtype::IXFR)
                if transport == Transport::Udp && parsed.header.nscount == 0 =>
            {
                rcode::FORMERR
            }
            //= https://www.rfc-editor.org/rfc/rfc1995#section-2
            //# If the UDP reply does not fit, the query is responded to with a single SOA
            //# record of the server's current version to inform the client that a TCP
            //# query should be initiated.
            (class::IN | class::ANY, rtype::IXFR) if transport == Transport::Udp => {
                match find_zone(zones, &parsed.qname, rtype::SOA) {
                    Some((zone, false)) if zone.origin() == parsed.qname.as_wire() => {
                        let opt_len = opt_len(parsed.edns.is_some(), nsid, keepalive, None)
                            + cookie.map_or(0, |c| 4 + c.len());
                        let room = limit.saturating_sub(opt_len);
                        let result =
                            resolve(zone, &parsed.qname, rtype::SOA, &mut writer, room, false);
                        authoritative = result.authoritative;
                        result.rcode
                    }
                    _ => {
                        extended_error = Some(ede::NOT_AUTHORITATIVE);
                        rcode::REFUSED
                    }
                }
            }
            (class::IN | class::ANY, rtype::AXFR | rtype::IXFR) => {
                extended_error = Some(ede::NOT_SUPPORTED);
                rcode::REFUSED
            }
            (class::IN | class::ANY, _) => match find_zone(zones, &parsed.qname, parsed.qtype) {
                Some((_, true)) => {
                    //= https://www.rfc-editor.org/rfc/rfc1035#section-4.3.5
                    //# the zone ... expired: stop answering for it (SERVFAIL, as BIND and Knot)
                    rcode::SERVFAIL
                }
                Some((zone, false)) => {
                    let opt_len = opt_len(parsed.edns.is_some(), nsid, keepalive, None)
                        + cookie.map_or(0, |c| 4 + c.len())
                        + if wants_expire { 8 } else { 0 };
                    let room = limit.saturating_sub(opt_len);
                    if wants_expire && zone.origin() == parsed.qname.as_wire() {
                        let own = zone
                            .soa()
                            .and_then(|soa| crate::secondary::SoaTimers::from_soa(soa.first()))
                            .map(|t| t.expire.as_secs() as u32);
                        expire = extras.expire.or(own).map(u32::to_be_bytes);
                    }
                    //= https://www.rfc-editor.org/rfc/rfc4035#section-3.1
                    //# a security-aware name server MUST include the appropriate DNSSEC RRs
                    //# ... when the DO bit is set
                    let dnssec = zone.is_signed() && parsed.edns.is_some_and(|e| e.dnssec_ok);
                    let result =
                        resolve(zone, &parsed.qname, parsed.qtype, &mut writer, room, dnssec);
                    authoritative = result.authoritative;
                    truncated = result.truncated;
                    result.rcode
                }
                None => {
                    extended_error = Some(ede::NOT_AUTHORITATIVE);
                    rcode::REFUSED
                }
            },
            _ => {
                extended_error = Some(ede::NOT_SUPPORTED);
                rcode::REFUSED
            }
        }
    };
    if truncated {
        //= https://www.rfc-editor.org/rfc/rfc2181#section-9
        //# the TC bit ... set ... the message is truncated: send header, question and OPT
        let question_only = MessageWriter::new(out, header, Some(parsed.question_bytes(query)));
        writer = question_only;
    }
    let mut flags = header.flags | (code & 0xf);
    if authoritative {
        flags |= Header::AA;
    }
    if truncated {
        flags |= Header::TC;
    }
    writer.set_flags(flags);
    if let Some(edns) = parsed.edns {
        let ede_data;
        let mut options: [(u16, &[u8]); 5] = [(0, &[]); 5];
        let mut count = 0;
        if let Some(expire) = &expire {
            options[count] = (option::EXPIRE, expire);
            count += 1;
        }
        if let Some(cookie) = cookie {
            options[count] = (option::COOKIE, cookie);
            count += 1;
        }
        if let Some(nsid) = nsid {
            options[count] = (option::NSID, nsid);
            count += 1;
        }
        if let Some(keepalive) = keepalive {
            options[count] = (option::TCP_KEEPALIVE, keepalive);
            count += 1;
        }
        if let Some(info) = extended_error {
            ede_data = info.to_be_bytes();
            options[count] = (option::EDE, &ede_data);
            count += 1;
        }
        let extended = (code >> 4) as u8;
        let payload = config.udp_payload.max(MIN_UDP_PAYLOAD);
        if writer
            .push_opt(payload, extended, edns.dnssec_ok, &options[..count])
            .is_err()
        {
            return Outcome::Dropped;
        }
    }
    let len = writer.finish();
    Outcome::Answered {
        len,
        rcode: code,
        truncated,
    }
}

/// The zone to answer from: the most specific one, except that DS at a zone's apex is
/// answered from the parent zone when we serve it too.
fn find_zone<'z>(zones: &'z ZoneSet, qname: &Name, qtype: u16) -> Option<(&'z Zone, bool)> {
    let (zone, expired) = zones.find(qname)?;
    //= https://www.rfc-editor.org/rfc/rfc4035#section-3.1.4.1
    //# the DS RRset ... is authoritative data in the parent zone
    if qtype == rtype::DS && zone.origin() == qname.as_wire() && qname.label_count() > 1 {
        if let Some(parent) = Name::from_wire(qname.suffix(qname.label_count() - 1))
            .ok()
            .and_then(|parent| zones.find(&parent))
        {
            return Some(parent);
        }
    }
    Some((zone, expired))
}

/// Length of the OPT record we will add.
fn opt_len(edns: bool, nsid: Option<&[u8]>, keepalive: Option<&[u8]>, ede: Option<u16>) -> usize {
    if !edns {
        return 0;
    }
    11 + nsid.map_or(0, |n| 4 + n.len())
        + keepalive.map_or(0, |k| 4 + k.len())
        + ede.map_or(0, |_| 6)
}

/// A response with only the question, `code` and (with EDNS) an Extended DNS Error
/// (RFC 8914): for refusals decided outside [`respond`], e.g. a transfer on an anycast
/// address or from a host outside the access list.
pub fn error_response(
    query: &[u8],
    code: u16,
    ede: Option<u16>,
    config: &AnswerConfig,
    out: &mut Vec<u8>,
) -> Outcome {
    match Query::parse(query) {
        Ok(parsed) => error_response_to(query, &parsed, code, ede, config, out),
        Err(err) => respond_to_malformed(query, err, out),
    }
}

/// [`error_response`] for a query already parsed (`parsed`, read from `query`).
pub fn error_response_to(
    query: &[u8],
    parsed: &Query,
    code: u16,
    ede: Option<u16>,
    config: &AnswerConfig,
    out: &mut Vec<u8>,
) -> Outcome {
    let flags = Header::QR | (parsed.header.flags & COPIED_FLAGS) | (code & 0xf);
    let header = Header {
        flags,
        ..parsed.header
    };
    let mut writer = MessageWriter::new(out, header, Some(parsed.question_bytes(query)));
    if let Some(edns) = parsed.edns {
        let data;
        let options: &[(u16, &[u8])] = match ede {
            Some(info) => {
                data = info.to_be_bytes();
                &[(option::EDE, &data)]
            }
            None => &[],
        };
        let payload = config.udp_payload.max(MIN_UDP_PAYLOAD);
        if writer
            .push_opt(payload, (code >> 4) as u8, edns.dnssec_ok, options)
            .is_err()
        {
            return Outcome::Dropped;
        }
    }
    let len = writer.finish();
    Outcome::Answered {
        len,
        rcode: code,
        truncated: false,
    }
}

/// FORMERR with the header only (the question could not be trusted), or nothing. A
/// request with an opcode we do not implement gets NOTIMP whatever its body (RFC 8906
/// §8.2.5 asks the opcode to be checked first: a header-only UPDATE is not a format error).
/// Either carries an OPT when the request's records are framed soundly and hold one sound
/// OPT ([`dns_wire::framed_edns`]).
pub fn respond_to_malformed(query: &[u8], err: ParseError, out: &mut Vec<u8>) -> Outcome {
    let (Some(code), Some(header)) = (err.rcode(), Header::parse(query)) else {
        return Outcome::Dropped;
    };
    let code = match header.opcode() {
        Opcode::Query | Opcode::Notify => code,
        Opcode::Other(_) => rcode::NOTIMP,
    };
    let flags = Header::QR | (header.flags & (COPIED_FLAGS & !Header::CD)) | code;
    let mut writer = MessageWriter::new(out, Header { flags, ..header }, None);
    //= https://www.rfc-editor.org/rfc/rfc6891#section-7
    //# responders ... MUST include an OPT record in the response
    if let Some(edns) = dns_wire::framed_edns(query) {
        if writer
            .push_opt(DEFAULT_UDP_PAYLOAD, 0, edns.dnssec_ok, &[])
            .is_err()
        {
            return Outcome::Dropped;
        }
    }
    let len = writer.finish();
    Outcome::Answered {
        len,
        rcode: code,
        truncated: false,
    }
}

#[cfg(test)]
mod tests;
