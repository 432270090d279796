//! UDP serving: one blocking thread per socket, answering in a loop with reused buffers.
//!
//! Blocking threads rather than tokio tasks: a UDP query is one read, one synchronous
//! answer and one write, and the reactor's wake-ups would cost more than the answer.
//! On a wildcard address (0.0.0.0 or ::) the answer must leave from the address the query
//! came to: netio's batch reads each destination and sends each reply from it.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Instant;

use dns_auth::answer_cache::AnswerCache;
use dns_auth::cookies::AnswerCookie;
use dns_auth::rrl::{self, RateDecision, RateLimiter};
use dns_auth::{Outcome, Transport};
use dns_wire::Query;
use netio::{DEFAULT_BATCH, UdpBatch};
use tracing::{debug, warn};

use super::context::DnsContext;
use super::dispatch::{Dispatched, dispatch};
use crate::clock;
use crate::resolver::{Resolver, UdpReply};
use crate::state::QueryCounters;

/// Starts a worker thread for each socket; `resolver` is set on a resolver listener.
pub(crate) fn spawn_workers(
    sockets: Vec<UdpSocket>,
    address: SocketAddr,
    context: &Arc<DnsContext>,
    resolver: Option<&Arc<Resolver>>,
) {
    for (index, socket) in sockets.into_iter().enumerate() {
        let context = context.clone();
        let resolver = resolver.cloned();
        let spawned = std::thread::Builder::new()
            .name(format!("udp-{address}-{index}"))
            .spawn(move || serve(Arc::new(socket), address, &context, resolver));
        if let Err(err) = spawned {
            warn!(%address, "cannot start UDP worker: {err}");
        }
    }
}

/// Answers on one socket until the process ends. Queries are read and answers sent in
/// batches (`recvmmsg`/`sendmmsg`): under load one system call moves many datagrams; when
/// idle, a batch is a single datagram and nothing waits. A socket bound to one address
/// replies from it by construction; on a wildcard address each answer leaves from the
/// address its query was sent to (read from `IP_PKTINFO`/`IPV6_PKTINFO`).
fn serve(
    socket: Arc<UdpSocket>,
    address: SocketAddr,
    context: &DnsContext,
    resolver: Option<Arc<Resolver>>,
) {
    let mut batch = if address.ip().is_unspecified() {
        match netio::enable_packet_info(&*socket, address.is_ipv6()) {
            Ok(()) => UdpBatch::with_packet_info(DEFAULT_BATCH),
            Err(err) => {
                warn!(%address, "cannot enable packet info, replies may leave from another address: {err}");
                UdpBatch::new(DEFAULT_BATCH)
            }
        }
    } else {
        UdpBatch::new(DEFAULT_BATCH)
    };
    let mut worker = Worker::new(context, socket.clone(), resolver);
    loop {
        let count = match batch.recv(&socket) {
            Ok(count) => count,
            Err(err) => {
                debug!("udp recvmmsg: {err}");
                continue;
            }
        };
        // One clock read per batch at each end: every answer of the batch is counted with
        // the batch's time (arrival in user space to send) in the latency histogram.
        let arrived = clock::now();
        worker.tick();
        let mut answered = 0;
        for slot in 0..count {
            let peer = batch.peer(slot);
            let destination = batch.destination(slot);
            let (query, answer) = batch.query_and_answer(slot);
            if let Some(len) = worker.answer(context, query, peer, destination, answer) {
                batch.queue_answer(slot, len);
                answered += 1;
            }
        }
        batch.send(&socket);
        if answered > 0 {
            let nanos = clock::now().duration_since(arrived).as_nanos() as u64;
            worker.counters.record_latency(nanos, answered, true);
        }
        // A batch that did not fill means the socket is not busy: instead of waking for each
        // datagram (a wake-up costs more than an answer), let a few gather. An idle server
        // answers a lone query at once; the wait starts after its answer is sent.
        if count < DEFAULT_BATCH && !context.udp_batch_window.is_zero() {
            std::thread::sleep(context.udp_batch_window);
        }
    }
}

/// What one UDP worker thread keeps: its counters, its rate limiter and the storage for
/// the query being answered; on a resolver listener the resolver and the socket its
/// later answers leave by.
struct Worker {
    counters: Arc<QueryCounters>,
    socket: Arc<UdpSocket>,
    resolver: Option<Arc<Resolver>>,
    limiter: Option<RateLimiter>,
    /// Answers to queries seen before (on a resolver listener: those answered from the
    /// zones or the resolver's cache, TTLs counted down).
    answers: Option<AnswerCache>,
    query: Query,
    started: Instant,
    now_ms: u64,
}

impl Worker {
    fn new(context: &DnsContext, socket: Arc<UdpSocket>, resolver: Option<Arc<Resolver>>) -> Self {
        let answers = (context.answer_cache > 0)
            .then(|| AnswerCache::new(context.answer_cache, random_seed()));
        Self {
            counters: context.counters.udp_worker(),
            socket,
            resolver,
            limiter: context
                .rate_limit
                .as_ref()
                .map(|r| RateLimiter::new(r.rate, r.slip)),
            answers,
            query: Query::empty(),
            started: clock::now(),
            now_ms: 0,
        }
    }

    /// Reads the clock (once per batch of datagrams), for the rate limiter and the
    /// counting down of a resolver's copied answers.
    fn tick(&mut self) {
        if self.limiter.is_some() || self.resolver.is_some() {
            self.now_ms = clock::now().duration_since(self.started).as_millis() as u64;
        }
    }

    /// Answers one message into `answer`; returns the length to send, if any.
    #[inline(always)]
    fn answer(
        &mut self,
        context: &DnsContext,
        msg: &[u8],
        peer: Option<SocketAddr>,
        destination: Option<IpAddr>,
        answer: &mut Vec<u8>,
    ) -> Option<usize> {
        // Read before answering: an answer stored under it is from these zones (and this
        // resolver's cache) or newer. Both numbers only grow, so their sum moves with either.
        let mut generation = context.zones.generation();
        let mut copies = self.answers.as_mut();
        if let Some(resolver) = &self.resolver {
            generation = generation.wrapping_add(resolver.cache().generation());
            // A client outside the allow-list is refused, never answered with a copy.
            copies = copies.filter(|_| resolver.allows(peer.map(|p| p.ip())));
        }
        if let Some(cache) = copies {
            if let Some(outcome) = cache.answer(generation, self.now_ms, msg, answer) {
                self.counters.record(&outcome, true);
                self.counters.record_cached();
                let Outcome::Answered { len, rcode, .. } = outcome else {
                    return None;
                };
                return self.limit(context, peer, rcode, answer, len);
            }
        }
        let dispatched = dispatch(
            context,
            self.resolver.as_deref(),
            msg,
            &mut self.query,
            peer.map(|p| p.ip()),
            Transport::Udp,
            &self.counters,
            true,
            answer,
        );
        if let (
            Some(cache),
            Dispatched::Answered {
                len,
                rcode,
                cacheable: Some((truncated, ttls)),
                ..
            },
        ) = (&mut self.answers, dispatched)
        {
            let outcome = Outcome::Answered {
                len,
                rcode,
                truncated,
            };
            cache.store(
                generation,
                self.now_ms,
                msg,
                (outcome, ttls),
                &answer[..len],
            );
        }
        match dispatched {
            Dispatched::Answered { len, .. } if self.limiter.is_none() => Some(len),
            Dispatched::Answered {
                len,
                cookie_valid: true,
                ..
            } => Some(len),
            Dispatched::Answered { len, rcode, .. } => {
                self.limit(context, peer, rcode, answer, len)
            }
            Dispatched::Notified(len) => Some(len),
            Dispatched::Resolve { cookie } => self.resolve(msg, peer, destination, cookie, answer),
            Dispatched::Transfer | Dispatched::Nothing => None,
        }
    }

    /// Hands a cache miss to the resolver, whose task sends the answer later; when too
    /// many are pending, answers SERVFAIL now.
    #[inline(never)]
    fn resolve(
        &mut self,
        msg: &[u8],
        peer: Option<SocketAddr>,
        destination: Option<IpAddr>,
        cookie: Option<AnswerCookie>,
        answer: &mut Vec<u8>,
    ) -> Option<usize> {
        let (Some(resolver), Some(peer)) = (&self.resolver, peer) else {
            return None;
        };
        let reply = UdpReply {
            socket: self.socket.clone(),
            peer,
            source: destination,
        };
        if resolver.spawn_udp(msg, &self.query, reply, cookie) {
            return None;
        }
        let (len, outcome) = resolver.overloaded(msg, &self.query, cookie, answer);
        self.counters.record(&outcome, true);
        Some(len)
    }

    /// Applies the rate limit to an answer of `len` octets (kept out of the common path).
    #[inline(never)]
    fn limit(
        &mut self,
        context: &DnsContext,
        peer: Option<SocketAddr>,
        rcode: u16,
        answer: &mut [u8],
        len: usize,
    ) -> Option<usize> {
        let (Some(limiter), Some(peer), Some(limit)) =
            (&mut self.limiter, peer, &context.rate_limit)
        else {
            return Some(len);
        };
        if limit.exempt.iter().any(|p| p.contains(peer.ip())) {
            return Some(len);
        }
        match limiter.decide(peer.ip(), rcode, self.now_ms) {
            RateDecision::Send => Some(len),
            RateDecision::Slip => {
                self.counters.record_limited(true);
                Some(rrl::slip(answer, len))
            }
            RateDecision::Drop => {
                self.counters.record_limited(false);
                None
            }
        }
    }
}

/// A seed for an answer cache's hash that a sender cannot guess (std's per-process random
/// hash keys, drawn from the OS).
fn random_seed() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(clock::now())
}
