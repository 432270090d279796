//! Writing the resolver's answers to clients, from the cache (the hot path: a hit is
//! answered on the thread that received the query) or from a finished resolution.

use std::time::Instant;

use dns_wire::types::{class, ede, option, rcode, rtype};
use dns_wire::{Header, MessageWriter, Query, Section};
use dns_zone::rdata_names_for;

use crate::cache::{Cache, CachedRef, Trust};
use crate::failure::Failure;
use crate::rrset::RrSet;
use crate::security::Security;

/// How answers are written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerSettings {
    /// The largest UDP answer we send (and advertise), whatever the client offers.
    pub udp_payload: u16,
    /// The NSID (RFC 5001) returned when asked.
    pub identity: Option<Vec<u8>>,
    /// CNAMEs followed in the cache before the query is resolved instead.
    pub max_chain: u8,
    /// DNSSEC validation is on: data not yet validated is not answered from the cache
    /// (the query is resolved, which validates it), bogus data only to CD queries.
    pub validating: bool,
}

/// An answer ready to write: response code, answer and authority sections with the TTLs
/// to send, and the reason when it is a failure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    /// The response code.
    pub rcode: u16,
    /// The answer section: the CNAME chain, then the data.
    pub answer: Vec<RrSet>,
    /// The authority section (the SOA of a negative answer).
    pub authority: Vec<RrSet>,
    /// Why it failed, for the Extended DNS Error.
    pub failure: Option<Failure>,
    /// What validation concluded (AD is set only for [`Security::Secure`]).
    pub security: Security,
}

impl Resolved {
    /// A failure.
    pub fn failed(failure: Failure) -> Self {
        Self {
            rcode: failure.rcode(),
            failure: Some(failure),
            ..Self::default()
        }
    }
}

/// Answers `query` from the cache alone, following CNAMEs, into `out`; returns the length
/// and response code, or `None` when something is missing (the query must be resolved).
///
/// The hot path of the resolver: each RRset is written into the response under its
/// shard's lock, straight from the cache (no copy, no allocation, no shared counter).
pub fn answer_from_cache(
    cache: &Cache,
    now: Instant,
    msg: &[u8],
    query: &Query,
    settings: &AnswerSettings,
    udp: bool,
    out: &mut Vec<u8>,
) -> Option<(usize, u16)> {
    answer_aged(cache, now, msg, query, settings, udp, out, None)
}

/// [`answer_from_cache`] for a query that could not be resolved, with data expired less
/// than `window` ago (serve-stale, RFC 8767): TTL 30 and the Extended DNS Error "Stale
/// Answer".
#[allow(clippy::too_many_arguments)] // the answer path's arguments and the window
pub fn answer_stale(
    cache: &Cache,
    now: Instant,
    msg: &[u8],
    query: &Query,
    settings: &AnswerSettings,
    udp: bool,
    out: &mut Vec<u8>,
    window: std::time::Duration,
) -> Option<(usize, u16)> {
    answer_aged(cache, now, msg, query, settings, udp, out, Some(window))
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn answer_aged(
    cache: &Cache,
    now: Instant,
    msg: &[u8],
    query: &Query,
    settings: &AnswerSettings,
    udp: bool,
    out: &mut Vec<u8>,
    stale: Option<std::time::Duration>,
) -> Option<(usize, u16)> {
    let qtype = query.qtype;
    let header = Header {
        id: query.header.id,
        flags: Header::QR | Header::RA | (query.header.flags & (Header::RD | Header::CD)),
        ..Header::default()
    };
    let dnssec = query.edns.is_some_and(|e| e.dnssec_ok);
    let checking_disabled = query.header.flags & Header::CD != 0;
    // What a validating resolver may answer from the cache: validated data, or anything
    // when the client checks for itself.
    let usable = |security: Security| {
        !settings.validating
            || checking_disabled
            || matches!(security, Security::Secure | Security::Insecure)
    };
    let mut all_secure = settings.validating;
    let mut writer = MessageWriter::new(out, header, Some(query.question_bytes(msg)));
    let mut name = [0u8; 255];
    let qname = query.qname.as_wire();
    let mut name_len = qname.len().min(255);
    name[..name_len].copy_from_slice(&qname[..name_len]);
    let mut target = [0u8; 255];
    let mut code = None;
    for _ in 0..=settings.max_chain {
        let current = &name[..name_len];
        // The data, or a denial: written, and the walk ends.
        let ended = cache.visit_aged(
            now,
            current,
            qtype,
            Trust::Answer,
            stale,
            |found, security| {
                if !usable(security) {
                    return None;
                }
                all_secure &= security == Security::Secure;
                match found {
                    CachedRef::Set(set, ttl) => {
                        writer.set_section(Section::Answer);
                        push_set(&mut writer, set, ttl, dnssec).then_some(rcode::NOERROR)
                    }
                    CachedRef::NxDomain(denial, ttl) | CachedRef::NoData(denial, ttl) => {
                        let nx = matches!(found, CachedRef::NxDomain(..));
                        writer.set_section(Section::Authority);
                        let fits = denial
                            .sets()
                            .filter(|set| dnssec || set.rtype == rtype::SOA)
                            .all(|set| push_set(&mut writer, set, ttl, dnssec));
                        fits.then_some(if nx { rcode::NXDOMAIN } else { rcode::NOERROR })
                    }
                }
            },
        );
        if let Some(ended) = ended {
            code = Some(ended?);
            break;
        }
        // RFC 1034 §4.3.2: a CNAME is not followed for CNAME or ANY.
        if qtype == rtype::CNAME || qtype == rtype::ANY {
            return None;
        }
        let next = cache.visit_aged(
            now,
            current,
            rtype::CNAME,
            Trust::Answer,
            stale,
            |found, security| {
                let CachedRef::Set(cname, ttl) = found else {
                    return None;
                };
                if !usable(security) {
                    return None;
                }
                all_secure &= security == Security::Secure;
                let to = cname.rdatas.first()?;
                writer.set_section(Section::Answer);
                push_set(&mut writer, cname, ttl, dnssec).then_some(())?;
                let len = to.len().min(255);
                target[..len].copy_from_slice(&to[..len]);
                Some(len)
            },
        )??;
        name[..next].copy_from_slice(&target[..next]);
        name[..next].make_ascii_lowercase();
        name_len = next;
    }
    let code = code?;
    writer.set_flags(writer.flags() | code | authenticated(query, all_secure));
    let ede = stale.map(|_| (ede::STALE_ANSWER, "served stale"));
    Some((finish(writer, query, settings, udp, code, ede), code))
}

/// AD when the answer is secure and the client asked with DO or AD (RFC 6840 §5.8).
fn authenticated(query: &Query, secure: bool) -> u16 {
    let asked = query.edns.is_some_and(|e| e.dnssec_ok) || query.header.flags & Header::AD != 0;
    if secure && asked { Header::AD } else { 0 }
}

/// Appends every record of `set` with `ttl`, and its RRSIGs when `dnssec` (the client set
/// DO, RFC 4035 §3.2.1); false when the message is full.
fn push_set(writer: &mut MessageWriter<'_>, set: &RrSet, ttl: u32, dnssec: bool) -> bool {
    let names = rdata_names_for(set.rtype);
    let data = set.rdatas.iter().all(|rdata| {
        writer
            .push_record(&set.owner, set.rtype, class::IN, ttl, rdata, names)
            .is_ok()
    });
    let sigs = !dnssec || {
        let names = rdata_names_for(rtype::RRSIG);
        set.sigs.iter().all(|rdata| {
            writer
                .push_record(&set.owner, rtype::RRSIG, class::IN, ttl, rdata, names)
                .is_ok()
        })
    };
    data && sigs
}

/// Adds the OPT record when the client sent one (our payload size, NSID if asked, the
/// failure's Extended DNS Error), cuts an answer too large for the client to its question
/// with TC, and returns the length.
fn finish(
    mut writer: MessageWriter<'_>,
    query: &Query,
    settings: &AnswerSettings,
    udp: bool,
    code: u16,
    ede: Option<(u16, &str)>,
) -> usize {
    let limit = dns_wire::answer_limit(query.edns, udp, settings.udp_payload);
    let extended = (code >> 4) as u8;
    let mut fits = true;
    if let Some(edns) = query.edns {
        let mut options: [(u16, &[u8]); 2] = [(0, &[]); 2];
        let mut count = 0;
        if let (true, Some(identity)) = (edns.nsid, &settings.identity) {
            options[count] = (option::NSID, identity);
            count += 1;
        }
        let mut data = [0u8; 64];
        if let Some((info, text)) = ede {
            let text = &text.as_bytes()[..text.len().min(data.len() - 2)];
            data[..2].copy_from_slice(&info.to_be_bytes());
            data[2..2 + text.len()].copy_from_slice(text);
            options[count] = (option::EDE, &data[..2 + text.len()]);
            count += 1;
        }
        fits = writer
            .push_opt(settings.udp_payload, extended, false, &options[..count])
            .is_ok();
    }
    if !fits || writer.len() > limit {
        writer.truncate_to_question();
        writer.set_flags(writer.flags() | Header::TC);
        if query.edns.is_some() {
            let _ = writer.push_opt(settings.udp_payload, extended, false, &[]);
        }
    }
    writer.finish()
}

/// Writes the response to `query` (received as `msg`) carrying `resolved`: the client's
/// ID, question (its case kept) and RD/CD flags, RA set, AA clear; EDNS when the client
/// used it (our payload size, NSID if asked, the failure as an Extended DNS Error). Over
/// UDP an answer larger than the client can take is sent as its question with TC set.
pub fn write_answer(
    msg: &[u8],
    query: &Query,
    resolved: &Resolved,
    settings: &AnswerSettings,
    udp: bool,
    out: &mut Vec<u8>,
) -> usize {
    let flags = Header::QR
        | Header::RA
        | (query.header.flags & (Header::RD | Header::CD))
        | (resolved.rcode & 0x000f)
        | authenticated(query, resolved.security == Security::Secure);
    let header = Header {
        id: query.header.id,
        flags,
        ..Header::default()
    };
    let mut writer = MessageWriter::new(out, header, Some(query.question_bytes(msg)));
    let dnssec = query.edns.is_some_and(|e| e.dnssec_ok);
    let fits = push_sets(&mut writer, Section::Answer, &resolved.answer, dnssec)
        && push_sets(&mut writer, Section::Authority, &resolved.authority, dnssec);
    if !fits {
        writer.truncate_to_question();
        writer.set_flags(writer.flags() | Header::TC);
    }
    let ede = resolved.failure.map(Failure::extended_error);
    finish(writer, query, settings, udp, resolved.rcode, ede)
}

/// Appends `sets` to `section`; NSEC and NSEC3 proofs only for DO clients.
fn push_sets(
    writer: &mut MessageWriter<'_>,
    section: Section,
    sets: &[RrSet],
    dnssec: bool,
) -> bool {
    writer.set_section(section);
    sets.iter()
        .filter(|set| dnssec || !matches!(set.rtype, rtype::NSEC | rtype::NSEC3))
        .all(|set| push_set(writer, set, set.ttl, dnssec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{CachePolicy, Negative};
    use dns_wire::Response;

    #[allow(clippy::disallowed_methods)]
    fn start() -> Instant {
        Instant::now()
    }

    fn query(name: &[u8], qtype: u16, edns: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let options = dns_wire::QueryOptions {
            flags: Header::RD,
            edns: edns.then_some((1232, false)),
            ..Default::default()
        };
        dns_wire::write_query(&mut out, 0x4242, name, qtype, class::IN, options);
        out
    }

    fn set(owner: &[u8], rtype: u16, rdata: &[u8]) -> RrSet {
        RrSet {
            owner: owner.to_vec(),
            rtype,
            class: 1,
            ttl: 300,
            rdatas: vec![rdata.to_vec()],
            sigs: Vec::new(),
        }
    }

    #[test]
    fn a_cached_cname_chain_is_answered_with_the_clients_case_and_ra() {
        let cache = Cache::new(CachePolicy::default());
        let now = start();
        cache.insert(
            now,
            set(b"\x03www\x04test\0", rtype::CNAME, b"\x04host\x04test\0"),
            Trust::Authoritative,
        );
        cache.insert(
            now,
            set(b"\x04host\x04test\0", rtype::A, &[192, 0, 2, 7]),
            Trust::Authoritative,
        );
        let msg = query(b"\x03WwW\x04test\0", rtype::A, true);
        let parsed = Query::parse(&msg).unwrap();
        let settings = AnswerSettings {
            udp_payload: 1232,
            identity: None,
            max_chain: 8,
            validating: false,
        };
        let mut out = Vec::new();
        let (len, code) =
            answer_from_cache(&cache, now, &msg, &parsed, &settings, true, &mut out).unwrap();
        assert_eq!(code, rcode::NOERROR);
        let response = Response::parse(&out[..len]).unwrap();
        assert_eq!(response.header.id, 0x4242);
        assert!(
            response.flag(Header::RA) && response.flag(Header::RD) && !response.flag(Header::AA)
        );
        assert_eq!(&response.question_bytes()[..5], b"\x03WwW\x04");
        let answer: Vec<_> = response
            .records(Section::Answer)
            .map(Result::unwrap)
            .collect();
        assert_eq!(answer.len(), 2);
        assert_eq!(answer[1].rdata, [192, 0, 2, 7]);
        // Nothing cached for AAAA: the query must be resolved.
        let msg = query(b"\x04host\x04test\0", rtype::AAAA, false);
        let parsed = Query::parse(&msg).unwrap();
        assert!(answer_from_cache(&cache, now, &msg, &parsed, &settings, true, &mut out).is_none());
    }

    #[test]
    fn negative_answers_carry_the_soa_and_failures_an_extended_error() {
        let cache = Cache::new(CachePolicy::default());
        let now = start();
        let mut soa = b"\x02ns\x04test\0\x04host\x04test\0".to_vec();
        soa.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 60]);
        cache.insert_negative(
            now,
            Negative {
                name: b"\x04gone\x04test\0".to_vec(),
                rtype: rtype::A,
                nxdomain: true,
                soa: Some(set(b"\x04test\0", rtype::SOA, &soa)),
                proof: Vec::new(),
            },
            Trust::Authoritative,
        );
        let settings = AnswerSettings {
            udp_payload: 1232,
            identity: None,
            max_chain: 8,
            validating: false,
        };
        let mut out = Vec::new();
        // NXDOMAIN covers every type: a TXT query is answered with the SOA, its TTL 60.
        let msg = query(b"\x04gone\x04test\0", rtype::TXT, true);
        let parsed = Query::parse(&msg).unwrap();
        let (len, code) =
            answer_from_cache(&cache, now, &msg, &parsed, &settings, true, &mut out).unwrap();
        assert_eq!(code, rcode::NXDOMAIN);
        let response = Response::parse(&out[..len]).unwrap();
        assert_eq!(response.rcode(), rcode::NXDOMAIN);
        let authority: Vec<_> = response
            .records(Section::Authority)
            .map(Result::unwrap)
            .collect();
        assert_eq!((authority[0].rtype, authority[0].ttl), (rtype::SOA, 60));
        let msg = query(b"\x04gone\x04test\0", rtype::A, true);
        let parsed = Query::parse(&msg).unwrap();
        let failed = Resolved::failed(Failure::NoReachableAuthority);
        let len = write_answer(&msg, &parsed, &failed, &settings, true, &mut out);
        let response = Response::parse(&out[..len]).unwrap();
        assert_eq!(response.rcode(), rcode::SERVFAIL);
        let ede_at = out[..len]
            .windows(2)
            .position(|w| w == option::EDE.to_be_bytes())
            .unwrap();
        assert_eq!(
            &out[ede_at + 4..ede_at + 6],
            &ede::NO_REACHABLE_AUTHORITY.to_be_bytes()
        );
    }

    #[test]
    fn an_answer_too_large_for_the_client_is_truncated() {
        let msg = query(b"\x03big\x04test\0", rtype::TXT, false);
        let parsed = Query::parse(&msg).unwrap();
        let mut txt = vec![200u8];
        txt.extend_from_slice(&[b'x'; 200]);
        let resolved = Resolved {
            answer: vec![RrSet {
                rdatas: (0..4u8)
                    .map(|i| {
                        let mut r = txt.clone();
                        r[1] = b'a' + i;
                        r
                    })
                    .collect(),
                ..set(b"\x03big\x04test\0", rtype::TXT, &[])
            }],
            ..Resolved::default()
        };
        let settings = AnswerSettings {
            udp_payload: 1232,
            identity: None,
            max_chain: 8,
            validating: false,
        };
        let mut out = Vec::new();
        let len = write_answer(&msg, &parsed, &resolved, &settings, true, &mut out);
        let response = Response::parse(&out[..len]).unwrap();
        assert!(response.flag(Header::TC));
        assert_eq!(response.header.ancount, 0);
        let len = write_answer(&msg, &parsed, &resolved, &settings, false, &mut out);
        let response = Response::parse(&out[..len]).unwrap();
        assert_eq!(response.header.ancount, 4, "over TCP the whole answer goes");
    }
}
