//! The recursive resolver service: answers queries arriving on the `service = "resolver"`
//! listeners, from the zones served here, from the cache, or by resolving them.
//!
//! ```text
//!  UDP worker / TCP task ─► dns::dispatch ─► Resolver::answer_now
//!        zone served here? ─► dns_auth (authoritative answer)
//!        cache hit?        ─► dns_resolve::answer_from_cache (on the worker thread)
//!        miss              ─► Resolver::spawn_udp / resolve (a tokio task)
//!                               dns_resolve::Resolution ◄─► upstream::exchange
//!                                  (sockets from outbound.rs: the unicast source only)
//!                               answer ─► netio::send_from (the address the query came to)
//! ```
//!
//! The state (cache, server RTTs) is shared by every listener and task; the cache is
//! sharded so UDP workers answering hits rarely meet on a lock.

mod upstream;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use dns_auth::{Outcome, Transport};
use dns_resolve::{
    Action, AnswerSettings, Cache, ConfiguredZone, Env, Event, Failure, Hints, Resolution,
    Resolved, Security, ServerTable, Settings, TrustAnchors,
};
use dns_wire::{Header, Query};
use tokio::runtime::Handle;
use tokio::sync::watch;
use tracing::{debug, warn};

use dns_auth::cookies::AnswerCookie;

use crate::acl::Prefix;
use crate::clock;
use crate::config::{ResolverConfig, UnicastSources};
use crate::state::QueryCounters;

/// How long a TCP connection to an upstream server may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// An upstream exchange in progress.
type Exchange = std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<u8>>> + Send>>;

/// A question as resolutions are shared: name, type, and the CD bit (a CD client gets
/// data a validating resolution would refuse).
type Question = (Vec<u8>, u16, bool);

/// Resolutions in progress, by question, with the channel their result comes on.
type Inflight = Mutex<HashMap<Question, watch::Receiver<Option<Arc<Resolved>>>>>;

/// Whether a client query runs the resolution of its name or waits for a running one.
enum Role {
    Lead(watch::Sender<Option<Arc<Resolved>>>),
    Wait(watch::Receiver<Option<Arc<Resolved>>>),
}

/// The first client's resolution of a name: its entry goes when it ends.
struct Leader<'a> {
    inflight: &'a Inflight,
    key: Question,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        self.inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

/// One UDP resolution of a client in progress: given back when dropped.
struct ClientSlot<'a> {
    resolver: &'a Resolver,
    client: IpAddr,
}

impl Drop for ClientSlot<'_> {
    fn drop(&mut self) {
        self.resolver.release_client_slot(self.client);
    }
}

/// Counters of the resolver, read by the metrics.
#[derive(Default)]
pub(crate) struct ResolverStats {
    /// Queries sent upstream over UDP and over TCP.
    pub(crate) upstream_udp: AtomicU64,
    pub(crate) upstream_tcp: AtomicU64,
    /// Upstream exchanges that failed (timeout, refused, reset).
    pub(crate) upstream_failures: AtomicU64,
    /// Client queries resolved (cache misses), and those that ended in SERVFAIL by cause
    /// (`Failure::CAUSES`).
    pub(crate) resolutions: AtomicU64,
    pub(crate) failures: [AtomicU64; Failure::CAUSES.len()],
    /// Misses answered SERVFAIL at once because too many were pending.
    pub(crate) overflows: AtomicU64,
    /// Misses answered SERVFAIL at once because their client had too many pending.
    pub(crate) client_limited: AtomicU64,
    /// Failed resolutions answered with expired data (serve-stale).
    pub(crate) stale: AtomicU64,
    /// Client queries that waited for a resolution of the same name already running.
    pub(crate) joined: AtomicU64,
    /// Resolved answers by DNSSEC status: secure, insecure, bogus (not counted: CD
    /// queries and validation off).
    pub(crate) secure: AtomicU64,
    pub(crate) insecure: AtomicU64,
    pub(crate) bogus: AtomicU64,
}

/// Where a resolved UDP answer goes: the worker's socket, the client, and the address
/// the query was sent to (on a wildcard socket).
pub(crate) struct UdpReply {
    pub(crate) socket: Arc<UdpSocket>,
    pub(crate) peer: SocketAddr,
    pub(crate) source: Option<IpAddr>,
}

/// The resolver.
pub(crate) struct Resolver {
    cache: Cache,
    servers: ServerTable,
    hints: Hints,
    anchors: TrustAnchors,
    zones: Vec<ConfiguredZone>,
    settings: Settings,
    sources: UnicastSources,
    allow: Vec<Prefix>,
    answer: AnswerSettings,
    runtime: Handle,
    pending: AtomicUsize,
    max_pending: usize,
    /// UDP resolutions in progress per client address.
    per_client: Mutex<HashMap<IpAddr, u32>>,
    max_per_client: u32,
    inflight: Inflight,
    /// Counts the answers sent after resolving over UDP (atomic adds: tasks share it).
    udp_counters: Arc<QueryCounters>,
    pub(crate) stats: ResolverStats,
}

impl Resolver {
    /// The resolver for `config`; misses are resolved on `runtime`.
    pub(crate) fn new(
        config: &ResolverConfig,
        identity: Option<Vec<u8>>,
        udp_counters: Arc<QueryCounters>,
        runtime: Handle,
    ) -> Self {
        if config.anchors.is_empty() {
            warn!(
                "resolver: DNSSEC validation off (dnssec-validation = false, or a hints file \
                 without trust-anchor-file)"
            );
        }
        Self {
            cache: Cache::new(config.settings.cache),
            servers: ServerTable::new(),
            hints: config.hints.clone(),
            anchors: config.anchors.clone(),
            zones: config.zones.clone(),
            settings: config.settings.clone(),
            sources: config.sources,
            allow: config.allow_query.clone(),
            answer: AnswerSettings {
                udp_payload: config.settings.upstream_payload,
                identity,
                max_chain: config.settings.limits.max_chain,
                validating: !config.anchors.is_empty(),
            },
            runtime,
            pending: AtomicUsize::new(0),
            max_pending: config.max_pending,
            per_client: Mutex::new(HashMap::new()),
            max_per_client: config.max_pending_per_client,
            inflight: Mutex::new(HashMap::new()),
            udp_counters,
            stats: ResolverStats::default(),
        }
    }

    /// Whether `peer` may use the resolver.
    pub(crate) fn allows(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|ip| self.allow.iter().any(|p| p.contains(ip)))
    }

    /// The cache (metrics, flush).
    pub(crate) fn cache(&self) -> &Cache {
        &self.cache
    }

    /// How long one resolution may take.
    pub(crate) fn resolution_timeout(&self) -> Duration {
        self.settings.resolution_timeout
    }

    /// The round-trip times of the upstream answers.
    pub(crate) fn rtt_histogram(&self) -> dns_resolve::servers::RttHistogram {
        self.servers.rtt_histogram()
    }

    /// What the upstream answers' DNS cookies said.
    pub(crate) fn cookie_counts(&self) -> dns_resolve::cookies::CookieCounts {
        self.servers.cookies().counts()
    }

    /// Resolutions in progress.
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// Answers `query` from the cache into `out` if it can.
    #[inline]
    pub(crate) fn answer_from_cache(
        &self,
        msg: &[u8],
        query: &Query,
        transport: Transport,
        out: &mut Vec<u8>,
    ) -> Option<Outcome> {
        let (len, rcode) = dns_resolve::answer_from_cache(
            &self.cache,
            clock::now(),
            msg,
            query,
            &self.answer,
            transport == Transport::Udp,
            out,
        )?;
        Some(Outcome::Answered {
            len,
            rcode,
            truncated: out.get(2).is_some_and(|f| f & 0x02 != 0),
        })
    }

    /// Resolves a UDP query on the runtime and sends the answer to `reply`. Returns
    /// `false` (nothing started) when too many resolutions are pending.
    pub(crate) fn spawn_udp(
        self: &Arc<Self>,
        msg: &[u8],
        query: &Query,
        reply: UdpReply,
        cookie: Option<AnswerCookie>,
    ) -> bool {
        let client = reply.peer.ip();
        if !self.take_client_slot(client) {
            self.stats.client_limited.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if self.pending.fetch_add(1, Ordering::Relaxed) >= self.max_pending {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            self.release_client_slot(client);
            self.stats.overflows.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let resolver = self.clone();
        let (msg, query) = (msg.to_vec(), query.clone());
        self.runtime.spawn(async move {
            // Given back however the task ends (also when the runtime drops it).
            let _slot = ClientSlot {
                resolver: &resolver,
                client,
            };
            let resolved = resolver.resolve_shared(&query).await;
            let mut out = Vec::with_capacity(512);
            let (len, rcode) = resolver.write(&msg, &query, &resolved, true, &mut out);
            let len = resolver.add_cookie(&query, true, cookie, len, &mut out);
            resolver.udp_counters.record(
                &Outcome::Answered {
                    len,
                    rcode,
                    truncated: out.get(2).is_some_and(|f| f & 0x02 != 0),
                },
                false,
            );
            if let Err(err) =
                netio::send_from(&*reply.socket, &out[..len], reply.peer, reply.source)
            {
                debug!(peer = %reply.peer, "resolver answer not sent: {err}");
            }
            resolver.pending.fetch_sub(1, Ordering::Relaxed);
        });
        true
    }

    /// Counts a UDP resolution for `client`; false when it has too many in progress.
    fn take_client_slot(&self, client: IpAddr) -> bool {
        let mut clients = self
            .per_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let pending = clients.entry(client).or_default();
        if *pending >= self.max_per_client {
            return false;
        }
        *pending += 1;
        true
    }

    fn release_client_slot(&self, client: IpAddr) {
        let mut clients = self
            .per_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(pending) = clients.get_mut(&client) {
            *pending = pending.saturating_sub(1);
            if *pending == 0 {
                clients.remove(&client);
            }
        }
    }

    /// The answer to a miss when too many resolutions are pending: SERVFAIL, now.
    pub(crate) fn overloaded(
        &self,
        msg: &[u8],
        query: &Query,
        cookie: Option<AnswerCookie>,
        out: &mut Vec<u8>,
    ) -> (usize, Outcome) {
        let resolved = Resolved::failed(Failure::Limit("too many queries in progress"));
        let len = dns_resolve::write_answer(msg, query, &resolved, &self.answer, true, out);
        let len = self.add_cookie(query, true, cookie, len, out);
        let outcome = Outcome::Answered {
            len,
            rcode: resolved.rcode,
            truncated: false,
        };
        (len, outcome)
    }

    /// Resolves `query` (TCP connections await it in order) and writes the answer.
    pub(crate) async fn answer_over_tcp(
        &self,
        msg: &[u8],
        query: &Query,
        cookie: Option<AnswerCookie>,
        out: &mut Vec<u8>,
    ) -> Outcome {
        self.pending.fetch_add(1, Ordering::Relaxed);
        let resolved = self.resolve_shared(query).await;
        self.pending.fetch_sub(1, Ordering::Relaxed);
        let (len, rcode) = self.write(msg, query, &resolved, false, out);
        let len = self.add_cookie(query, false, cookie, len, out);
        Outcome::Answered {
            len,
            rcode,
            truncated: false,
        }
    }

    /// Adds the COOKIE option (RFC 7873) to the answer of `len` octets in `out` when the
    /// query had one and it fits the client's size (over UDP); returns the length.
    fn add_cookie(
        &self,
        query: &Query,
        udp: bool,
        cookie: Option<AnswerCookie>,
        len: usize,
        out: &mut Vec<u8>,
    ) -> usize {
        let Some(cookie) = cookie.filter(|_| out.len() == len) else {
            return len;
        };
        let limit = dns_wire::answer_limit(query.edns, udp, self.answer.udp_payload);
        dns_wire::append_opt_option(out, dns_wire::types::option::COOKIE, &cookie, limit)
            .unwrap_or(len)
    }

    /// Writes the answer of a finished resolution; a failed one is answered from data
    /// expired within the serve-stale window when there is some (RFC 8767).
    fn write(
        &self,
        msg: &[u8],
        query: &Query,
        resolved: &Resolved,
        udp: bool,
        out: &mut Vec<u8>,
    ) -> (usize, u16) {
        if let (Some(_), Some(window)) = (resolved.failure, self.settings.serve_stale) {
            let stale = dns_resolve::answer_stale(
                &self.cache,
                clock::now(),
                msg,
                query,
                &self.answer,
                udp,
                out,
                window,
            );
            if let Some(answered) = stale {
                self.stats.stale.fetch_add(1, Ordering::Relaxed);
                return answered;
            }
        }
        if let Some(failure) = resolved.failure {
            self.stats.failures[failure.cause_index()].fetch_add(1, Ordering::Relaxed);
        }
        let len = dns_resolve::write_answer(msg, query, resolved, &self.answer, udp, out);
        (len, resolved.rcode)
    }

    fn env(&self) -> Env<'_> {
        Env {
            cache: &self.cache,
            servers: &self.servers,
            hints: &self.hints,
            zones: &self.zones,
            settings: &self.settings,
            anchors: &self.anchors,
            unix_now: clock::unix_now() as u32,
        }
    }

    /// The answer to `query`, resolved once however many clients ask for the same name and
    /// type meanwhile: the first runs the resolution, the others wait for its result (a
    /// burst of queries for one name costs one set of upstream queries).
    async fn resolve_shared(&self, query: &Query) -> Arc<Resolved> {
        let key = (
            query.qname.as_wire().to_vec(),
            query.qtype,
            query.header.flags & Header::CD != 0,
        );
        let role = self.join_or_lead(&key);
        match role {
            Role::Lead(done) => {
                // Removes the entry however this ends (a TCP client that goes away drops
                // the future): the waiters then resolve for themselves.
                let _leader = Leader {
                    inflight: &self.inflight,
                    key,
                };
                let resolved = Arc::new(self.resolve(query).await);
                let _ = done.send(Some(resolved.clone()));
                resolved
            }
            Role::Wait(mut waiting) => {
                self.stats.joined.fetch_add(1, Ordering::Relaxed);
                let shared = waiting
                    .wait_for(Option::is_some)
                    .await
                    .ok()
                    .and_then(|result| result.clone());
                match shared {
                    Some(resolved) => resolved,
                    None => Arc::new(self.resolve(query).await),
                }
            }
        }
    }

    /// Leads the resolution of `key` if none is running, else waits for the running one.
    fn join_or_lead(&self, key: &Question) -> Role {
        let mut inflight = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(waiting) = inflight.get(key) {
            return Role::Wait(waiting.clone());
        }
        let (done, waiting) = watch::channel(None);
        inflight.insert(key.clone(), waiting);
        Role::Lead(done)
    }

    /// Runs one resolution to its end: carries out its sends (one at a time) and feeds it
    /// what comes back, or a tick at its deadline.
    async fn resolve(&self, query: &Query) -> Resolved {
        self.stats.resolutions.fetch_add(1, Ordering::Relaxed);
        let mut resolution = Resolution::new(
            clock::now(),
            query.qname.as_wire(),
            query.qtype,
            query.header.flags & Header::CD != 0,
            &self.env(),
        );
        let mut in_flight: Option<(u32, SocketAddr, Exchange)> = None;
        loop {
            while let Some(action) = resolution.poll_action() {
                match action {
                    Action::Done(resolved) => {
                        let counter = match resolved.security {
                            Security::Secure => Some(&self.stats.secure),
                            Security::Insecure => Some(&self.stats.insecure),
                            Security::Bogus => Some(&self.stats.bogus),
                            Security::Unchecked => None,
                        };
                        if let Some(counter) = counter {
                            counter.fetch_add(1, Ordering::Relaxed);
                        }
                        return resolved;
                    }
                    Action::Send {
                        exchange,
                        to,
                        tcp,
                        message,
                    } => {
                        let counter = if tcp {
                            &self.stats.upstream_tcp
                        } else {
                            &self.stats.upstream_udp
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                        let sources = self.sources;
                        in_flight = Some((
                            exchange,
                            to,
                            Box::pin(async move {
                                upstream::exchange(&sources, to, tcp, &message, CONNECT_TIMEOUT)
                                    .await
                            }),
                        ));
                    }
                }
            }
            let Some(deadline) = resolution.deadline() else {
                return Resolved::failed(Failure::Timeout);
            };
            let sleep = tokio::time::sleep_until(deadline.into());
            let event_result = match in_flight.as_mut() {
                Some((_, _, future)) => tokio::select! {
                    result = future => Some(result),
                    () = sleep => None,
                },
                None => {
                    sleep.await;
                    None
                }
            };
            let now = clock::now();
            match event_result {
                None => resolution.handle(now, Event::Tick, &self.env()),
                Some(result) => {
                    let Some((exchange, from, _)) = in_flight.take() else {
                        continue;
                    };
                    match result {
                        Ok(message) => {
                            let event = Event::Response {
                                exchange,
                                from,
                                message: &message,
                            };
                            resolution.handle(now, event, &self.env());
                        }
                        Err(err) => {
                            debug!(server = %from, "upstream exchange failed: {err}");
                            self.stats.upstream_failures.fetch_add(1, Ordering::Relaxed);
                            resolution.handle(now, Event::Failed { exchange }, &self.env());
                        }
                    }
                }
            }
            // A tick that timed the exchange out queued the next send, which replaces the
            // abandoned exchange on the next pass.
        }
    }
}
