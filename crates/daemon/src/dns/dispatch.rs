//! One inbound message, classified once (`dns_auth::classify`) and routed: queries to the
//! answer path (on a resolver listener: the zones served here, else the resolver's cache,
//! else a resolution), NOTIFY to the transfer module, AXFR/IXFR to the TCP connection
//! (over UDP, the answer path refuses them). A query carrying TSIG is verified first and
//! its answer signed (`signed_query`).

use std::net::IpAddr;

use dns_auth::answer_cache::Ttls;
use dns_auth::cookies::AnswerCookie;
use dns_auth::{
    AnswerExtras, Inbound, Outcome, Transport, classify, error_response_to, respond_to_malformed,
    respond_to_query,
};
use dns_wire::types::{class, ede, option, rcode, rtype};
use dns_wire::{Header, Opcode, Query};
use tracing::debug;

use super::context::DnsContext;
use crate::clock::unix_now;
use crate::resolver::Resolver;
use crate::state::QueryCounters;
use crate::transfer::notify::handle_notify;

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dispatched {
    /// A query answered with `len` octets in `out` and `rcode` (counted; rate limiting
    /// applies over UDP unless the client proved its address with a valid server cookie).
    Answered {
        /// Response length.
        len: usize,
        /// Response code, extended codes included.
        rcode: u16,
        /// The query carried a valid server cookie (RFC 7873 §5.2.4: not rate limited).
        cookie_valid: bool,
        /// The answer over UDP depends only on the query's octets, the zones and the
        /// resolver's cache (no cookie, TSIG, EXPIRE, nor the client): it may go to the
        /// answer cache, with `truncated` and how its TTLs behave.
        cacheable: Option<(bool, Ttls)>,
    },
    /// A NOTIFY answered with `len` octets in `out`.
    Notified(usize),
    /// A transfer request over TCP, parsed into the `query` given: the connection
    /// streams the transfer.
    Transfer,
    /// A query for the resolver that the cache cannot answer, parsed into the `query`
    /// given: the listener starts a resolution (and counts its answer), whose answer
    /// carries `cookie` as its COOKIE option when the query had one (RFC 7873).
    Resolve {
        /// The client cookie and our server cookie.
        cookie: Option<AnswerCookie>,
    },
    /// Nothing to send (a response, a runt; a query that gets no answer).
    Nothing,
}

/// Routes `msg` from `peer`, answering into `out`. `query` is reused storage for the
/// parsed question; `counters` counts queries (`single_writer`: this thread alone writes
/// them); `resolver` is set on a resolver listener.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // the query path: no struct to build per message
pub(crate) fn dispatch(
    context: &DnsContext,
    resolver: Option<&Resolver>,
    msg: &[u8],
    query: &mut Query,
    peer: Option<IpAddr>,
    transport: Transport,
    counters: &QueryCounters,
    single_writer: bool,
    out: &mut Vec<u8>,
) -> Dispatched {
    let mut cacheable = false;
    let outcome = match (classify(msg, query), resolver) {
        (Inbound::Notify, _) => {
            return match peer.and_then(|peer| handle_notify(&context.transfers, msg, peer, out)) {
                Some(len) => Dispatched::Notified(len),
                None => Dispatched::Nothing,
            };
        }
        (Inbound::Transfer, _) if transport == Transport::Tcp => return Dispatched::Transfer,
        (Inbound::Query, Some(resolver)) => {
            let Ok(cookie) = answer_cookie_for(context, msg, query, peer, counters, single_writer)
            else {
                //= https://www.rfc-editor.org/rfc/rfc7873#section-5.2.2
                //# If the COOKIE option is too short ... or too long ... FORMERR
                let outcome =
                    error_response_to(msg, query, rcode::FORMERR, None, &context.answer, out);
                counters.record(&outcome, single_writer);
                return answered(outcome, false, None);
            };
            let Some((outcome, ttls)) =
                for_the_resolver(context, resolver, msg, query, peer, transport, out)
            else {
                return Dispatched::Resolve {
                    cookie: cookie.map(|(c, _)| c),
                };
            };
            let valid = cookie.is_some_and(|(_, valid)| valid);
            let udp = transport == Transport::Udp;
            let (outcome, ttls) = match cookie {
                Some((cookie, _)) => {
                    let limit = dns_wire::answer_limit(query.edns, udp, context.answer.udp_payload);
                    // The server cookie is the client's own: such an answer is not copied.
                    (with_cookie_option(outcome, &cookie, limit, out), None)
                }
                None => (outcome, ttls.filter(|_| udp)),
            };
            counters.record(&outcome, single_writer);
            return answered(outcome, valid, ttls);
        }
        (Inbound::Query | Inbound::Transfer, _) if query.has_tsig => {
            signed_query(context, msg, query, transport, out)
        }
        (Inbound::Query | Inbound::Transfer, _) if cookie_of(context, msg, query).is_some() => {
            return with_cookie(
                context,
                msg,
                query,
                peer,
                transport,
                counters,
                single_writer,
                out,
            );
        }
        (Inbound::Query | Inbound::Transfer, _) => {
            let zones = context.zones.load();
            let extras = AnswerExtras {
                expire: expire_of(context, query),
                ..AnswerExtras::default()
            };
            cacheable = extras.expire.is_none() && transport == Transport::Udp;
            respond_to_query(msg, query, &zones, &context.answer, transport, extras, out)
        }
        (Inbound::Malformed(err), _) => respond_to_malformed(msg, err, out),
    };
    counters.record(&outcome, single_writer);
    answered(outcome, false, cacheable.then_some(Ttls::Fixed))
}

/// RFC 7314: for an SOA query carrying EXPIRE at a secondary zone's apex, the seconds the
/// zone has left before it expires here (a primary's answer carries its SOA EXPIRE).
#[inline]
fn expire_of(context: &DnsContext, query: &Query) -> Option<u32> {
    if query.qtype != rtype::SOA || !query.edns.is_some_and(|e| e.expire) {
        return None;
    }
    expire_left(context, query.qname.as_wire())
}

#[inline(never)]
fn expire_left(context: &DnsContext, origin: &[u8]) -> Option<u32> {
    if !context.transfers.zone(origin)?.is_secondary() {
        return None;
    }
    let (view, _) = context.transfers.refresh_view(origin)?;
    let left = view
        .expire_at?
        .saturating_duration_since(crate::clock::now());
    Some(u32::try_from(left.as_secs()).unwrap_or(u32::MAX))
}

/// `outcome` as what became of the message; `copied`: how the answer's TTLs behave if it
/// may go to the answer cache.
fn answered(outcome: Outcome, cookie_valid: bool, copied: Option<Ttls>) -> Dispatched {
    match outcome {
        Outcome::Answered {
            len,
            rcode,
            truncated,
        } => Dispatched::Answered {
            len,
            rcode,
            cookie_valid,
            cacheable: copied.map(|ttls| (truncated, ttls)),
        },
        Outcome::Dropped => Dispatched::Nothing,
    }
}

/// The COOKIE option for the answer to a query (RFC 7873 §5.2), counted, and whether the
/// query's server cookie was ours and valid; `Ok(None)` without a client cookie or with
/// cookies off; `Err` for a malformed option (or no client address to check it against).
#[inline(never)]
fn answer_cookie_for(
    context: &DnsContext,
    msg: &[u8],
    query: &Query,
    peer: Option<IpAddr>,
    counters: &QueryCounters,
    single_writer: bool,
) -> Result<Option<(AnswerCookie, bool)>, ()> {
    let (Some(secrets), Some(option)) = (&context.cookies, cookie_of(context, msg, query)) else {
        return Ok(None);
    };
    let now = unix_now() as u32;
    let checked = match peer {
        Some(client) => dns_auth::cookies::check(Some(option), client, now, secrets),
        None => dns_auth::cookies::CookieCheck::Malformed,
    };
    count_cookie(counters, checked, single_writer);
    let Some(client) = peer.filter(|_| checked != dns_auth::cookies::CookieCheck::Malformed) else {
        return Err(());
    };
    let mut cookie: AnswerCookie = [0; 24];
    dns_auth::cookies::answer_cookie(option, checked, client, now, secrets, &mut cookie);
    Ok(Some((
        cookie,
        checked == dns_auth::cookies::CookieCheck::Valid,
    )))
}

/// `outcome` with `cookie` added to its OPT record, when it fits in `limit` (else as it
/// was: the client gets our server cookie with a later, smaller answer).
pub(crate) fn with_cookie_option(
    outcome: Outcome,
    cookie: &AnswerCookie,
    limit: usize,
    out: &mut Vec<u8>,
) -> Outcome {
    match outcome {
        Outcome::Answered {
            len,
            rcode,
            truncated,
        } if out.len() == len => {
            let len =
                dns_wire::append_opt_option(out, option::COOKIE, cookie, limit).unwrap_or(len);
            Outcome::Answered {
                len,
                rcode,
                truncated,
            }
        }
        other => other,
    }
}

/// Counts a cookie check for the metrics.
fn count_cookie(
    counters: &QueryCounters,
    checked: dns_auth::cookies::CookieCheck,
    single_writer: bool,
) {
    use dns_auth::cookies::CookieCheck;
    let result = match checked {
        CookieCheck::ClientOnly => 0,
        CookieCheck::Valid => 1,
        CookieCheck::Invalid => 2,
        CookieCheck::Malformed | CookieCheck::Absent => 3,
    };
    counters.record_cookie(result, single_writer);
}

/// The query's COOKIE option, when the server answers cookies.
#[inline(always)]
fn cookie_of<'m>(context: &DnsContext, msg: &'m [u8], query: &Query) -> Option<&'m [u8]> {
    context.cookies.as_ref()?;
    query.edns?.cookie_in(msg)
}

/// A query with a COOKIE option (RFC 7873 §5.2): a malformed one is a format error; else
/// the answer carries the client cookie and our server cookie, and a query whose server
/// cookie we made (any site of the cloud, the same secret) is exempt from rate limiting.
#[inline(never)]
#[allow(clippy::too_many_arguments)] // the query path's arguments
fn with_cookie(
    context: &DnsContext,
    msg: &[u8],
    query: &Query,
    peer: Option<IpAddr>,
    transport: Transport,
    counters: &QueryCounters,
    single_writer: bool,
    out: &mut Vec<u8>,
) -> Dispatched {
    let (outcome, valid) =
        match answer_cookie_for(context, msg, query, peer, counters, single_writer) {
            Ok(None) => return Dispatched::Nothing,
            //= https://www.rfc-editor.org/rfc/rfc7873#section-5.2.2
            //# If the COOKIE option is too short ... or too long ... FORMERR
            Err(()) => (
                error_response_to(msg, query, rcode::FORMERR, None, &context.answer, out),
                false,
            ),
            Ok(Some((cookie, valid))) => {
                let zones = context.zones.load();
                let extras = AnswerExtras {
                    cookie: Some(&cookie),
                    expire: expire_of(context, query),
                };
                let outcome =
                    respond_to_query(msg, query, &zones, &context.answer, transport, extras, out);
                (outcome, valid)
            }
        };
    counters.record(&outcome, single_writer);
    answered(outcome, valid, None)
}

/// A query carrying a TSIG record (RFC 8945 §5.2): verified against the configured keys;
/// answered and signed when it verifies, NOTAUTH with the TSIG error when it does not
/// (BADKEY, BADSIG unsigned; BADTIME signed, §5.3.2).
#[inline(never)]
fn signed_query(
    context: &DnsContext,
    msg: &[u8],
    query: &Query,
    transport: Transport,
    out: &mut Vec<u8>,
) -> Outcome {
    match context.transfers.check_query_signature(msg) {
        Ok(signed) => {
            let zones = context.zones.load();
            let outcome = respond_to_query(
                msg,
                query,
                &zones,
                &context.answer,
                transport,
                AnswerExtras::default(),
                out,
            );
            match (outcome, signed.into_signer()) {
                (
                    Outcome::Answered {
                        len,
                        rcode,
                        truncated,
                    },
                    Some(mut signer),
                ) => {
                    out.truncate(len);
                    signer.sign(out, unix_now());
                    Outcome::Answered {
                        len: out.len(),
                        rcode,
                        truncated,
                    }
                }
                (outcome, _) => outcome,
            }
        }
        Err(why) => {
            debug!(why = %why.why, "signed query refused");
            let outcome = error_response_to(msg, query, rcode::NOTAUTH, None, &context.answer, out);
            match outcome {
                Outcome::Answered {
                    len,
                    rcode,
                    truncated,
                } => {
                    out.truncate(len);
                    context.transfers.append_tsig_error(out, msg, &why);
                    Outcome::Answered {
                        len: out.len(),
                        rcode,
                        truncated,
                    }
                }
                Outcome::Dropped => Outcome::Dropped,
            }
        }
    }
}

/// A query on a resolver listener, answered now if it can be: refused to clients outside
/// the allow-list; answered from a zone served here when one holds the name
/// authoritatively; else from the cache. `None`: it must be resolved. With the answer, how
/// its TTLs behave if it may be copied (`None`: it may not; it depends on the client).
#[inline(never)]
fn for_the_resolver(
    context: &DnsContext,
    resolver: &Resolver,
    msg: &[u8],
    query: &Query,
    peer: Option<IpAddr>,
    transport: Transport,
    out: &mut Vec<u8>,
) -> Option<(Outcome, Option<Ttls>)> {
    if !resolver.allows(peer) {
        // Not an open resolver (docs: an open resolver is an amplifier for anyone).
        let refused = error_response_to(
            msg,
            query,
            rcode::REFUSED,
            Some(ede::PROHIBITED),
            &context.answer,
            out,
        );
        return Some((refused, None));
    }
    let refusal = if query.edns.is_some_and(|e| e.version > 0) {
        // RFC 6891 §6.1.3: only EDNS version 0 is spoken here.
        Some(rcode::BADVERS)
    } else if !dns_resolve::is_resolvable_type(query.qtype) {
        // Type 0 and the meta types are never resolved nor cached.
        Some(rcode::NOTIMP)
    } else {
        None
    };
    if let Some(code) = refusal {
        let refused = error_response_to(msg, query, code, None, &context.answer, out);
        return Some((refused, None));
    }
    let zones = context.zones.load();
    let standard = query.header.opcode() == Opcode::Query && query.qclass == class::IN;
    if !standard || zones.find_zone(&query.qname).is_some() {
        let outcome = respond_to_query(
            msg,
            query,
            &zones,
            &context.answer,
            transport,
            AnswerExtras::default(),
            out,
        );
        let authoritative = out
            .get(2)
            .is_some_and(|f| u16::from(*f) << 8 & Header::AA != 0);
        // A referral out of a zone served here is not an answer for a resolver's client.
        if !standard || authoritative || !matches!(outcome, Outcome::Answered { .. }) {
            return Some((outcome, Some(Ttls::Fixed)));
        }
    }
    let outcome = resolver.answer_from_cache(msg, query, transport, out)?;
    Some((outcome, Some(Ttls::CountDown)))
}
