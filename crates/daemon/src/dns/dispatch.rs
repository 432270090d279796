//! One inbound message, classified once (`dns_auth::classify`) and routed: queries to the
//! answer path, NOTIFY to the transfer module, AXFR/IXFR to the TCP connection (over UDP,
//! the answer path refuses them).

use std::net::IpAddr;

use dns_auth::{Inbound, Outcome, Transport, classify, respond_to_malformed, respond_to_query};
use dns_wire::Query;

use super::context::DnsContext;
use crate::state::QueryCounters;
use crate::transfer::notify::handle_notify;

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dispatched {
    /// A query answered with `len` octets in `out` and `rcode` (counted; rate limiting
    /// applies over UDP).
    Answered {
        /// Response length.
        len: usize,
        /// Response code, extended codes included.
        rcode: u16,
    },
    /// A NOTIFY answered with `len` octets in `out`.
    Notified(usize),
    /// A transfer request over TCP, parsed into the `query` given: the connection
    /// streams the transfer.
    Transfer,
    /// Nothing to send (a response, a runt; a query that gets no answer).
    Nothing,
}

/// Routes `msg` from `peer`, answering into `out`. `query` is reused storage for the
/// parsed question; `counters` counts queries (`single_writer`: this thread alone writes
/// them).
#[inline(always)]
#[allow(clippy::too_many_arguments)] // the query path: no struct to build per message
pub(crate) fn dispatch(
    context: &DnsContext,
    msg: &[u8],
    query: &mut Query,
    peer: Option<IpAddr>,
    transport: Transport,
    counters: &QueryCounters,
    single_writer: bool,
    out: &mut Vec<u8>,
) -> Dispatched {
    let outcome = match classify(msg, query) {
        Inbound::Notify => {
            return match peer.and_then(|peer| handle_notify(&context.transfers, msg, peer, out)) {
                Some(len) => Dispatched::Notified(len),
                None => Dispatched::Nothing,
            };
        }
        Inbound::Transfer if transport == Transport::Tcp => return Dispatched::Transfer,
        Inbound::Query | Inbound::Transfer => {
            let zones = context.zones.load();
            respond_to_query(msg, query, &zones, &context.answer, transport, out)
        }
        Inbound::Malformed(err) => respond_to_malformed(msg, err, out),
    };
    counters.record(&outcome, single_writer);
    match outcome {
        Outcome::Answered { len, rcode, .. } => Dispatched::Answered { len, rcode },
        Outcome::Dropped => Dispatched::Nothing,
    }
}
