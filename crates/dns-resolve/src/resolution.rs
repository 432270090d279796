//! One client question resolved by iteration, as a sans-IO state machine: the caller feeds
//! it events (a response arrived, a connection failed, time passed) and carries out its
//! actions (send this query to that server over UDP or TCP; done, here is the answer). It
//! reads no clock and opens no socket; everything it learns goes into the shared cache.
//!
//! ```text
//!   cache? ──hit──► Done
//!     │ miss
//!   closest cut (configured zone, cached NS, root hints)
//!     └► pick a server (servers.rs) ─► Send (random ID, 0x20 case, EDNS 1232)
//!          ◄─ response: ID, source and question (exact case) checked, else ignored
//!             TC ─► same server over TCP
//!             records outside the asked zone dropped (bailiwick), then:
//!               answer ─► cache, Done      CNAME ─► follow (chain limit)
//!               NXDOMAIN/NODATA ─► negative cache (RFC 2308), Done
//!               referral ─► cache NS + in-bailiwick glue, cut moves down (referral limit)
//!               anything else (lame, SERVFAIL, REFUSED, upward referral) ─► next server
//!          ◄─ timeout / TCP failure ─► next server (RTT table backs the server off)
//!   no address for any server of the cut ─► look up an NS name (a nested frame, limited)
//!   client's answer, anchors configured and CD clear ─► validation::Validator
//!          concludes (Secure/Insecure: Done; Bogus: SERVFAIL) or names a DS/DNSKEY
//!          RRset it lacks ─► fetched by a nested frame, then asked again
//! ```
//!
//! Minimised queries (RFC 9156): the servers of a zone are first asked for the name one
//! label below the zone (type A), and the full name only once the cut above it is known;
//! an NXDOMAIN to a minimised query is re-asked with the full name (relaxed mode, as
//! Unbound's default: some servers answer NXDOMAIN for empty non-terminals).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use dns_wire::types::{class, rcode, rtype};
use dns_wire::{Header, QueryOptions, Record, Response, Section, write_query};

use crate::anchors::TrustAnchors;
use crate::answer::Resolved;
use crate::cache::{Cache, Cached, Negative, Trust};
use crate::cookies::CookieCheck;
use crate::delegation::{
    ConfiguredZone, CutKind, Delegation, Hints, NsServer, address_in, configured_for,
};
use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::names::is_at_or_below;
use crate::rrset::{RrSet, group};
use crate::security::Security;
use crate::servers::ServerTable;
use crate::settings::Settings;
use crate::validation::{Next, Validator};

/// What a resolution reads and writes besides its own state: shared by all of them.
pub struct Env<'a> {
    /// The cache.
    pub cache: &'a Cache,
    /// Round-trip times of the servers.
    pub servers: &'a ServerTable,
    /// Where iteration starts.
    pub hints: &'a Hints,
    /// Forward and stub zones.
    pub zones: &'a [ConfiguredZone],
    /// The knobs.
    pub settings: &'a Settings,
    /// Where chains of trust start; none: no validation.
    pub anchors: &'a TrustAnchors,
    /// Wall-clock seconds since 1970 modulo 2^32, for signature validity.
    pub unix_now: u32,
}

/// What the caller must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send `message` to `to` (over TCP when `tcp`, framed by the caller), from the site's
    /// unicast address, and report what comes back with `exchange`.
    Send {
        /// Identifies this exchange in the events about it.
        exchange: u32,
        /// The server.
        to: SocketAddr,
        /// Over TCP.
        tcp: bool,
        /// The query.
        message: Vec<u8>,
    },
    /// The resolution is over.
    Done(Resolved),
}

/// What happened.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A datagram (or a TCP message) arrived for `exchange` from `from`.
    Response {
        /// The exchange it answers.
        exchange: u32,
        /// Who sent it.
        from: SocketAddr,
        /// The message.
        message: &'a [u8],
    },
    /// The exchange failed at once: connection refused or reset, ICMP unreachable.
    Failed {
        /// The exchange.
        exchange: u32,
    },
    /// Time passed (the caller wakes the resolution at [`Resolution::deadline`]).
    Tick,
}

/// Why a frame looks something up.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Purpose {
    /// The client's question.
    Client,
    /// The address of a name server of the frame below it on the stack.
    Address { ns_name: Vec<u8> },
    /// A DS or DNSKEY RRset the validation of the client's answer needs (it goes into
    /// the cache, where the validator reads it).
    Key,
}

/// The client's answer while its chain of trust is fetched.
#[derive(Clone, Debug)]
struct Validation {
    resolved: Resolved,
    /// The RRsets fetched for it so far (each is fetched once).
    fetched: Vec<(Vec<u8>, u16)>,
}

/// Key RRsets one validation may fetch: DS and DNSKEY for each zone from the anchor down.
const MAX_KEY_FETCHES: usize = 32;

/// One question being resolved: the client's, or an NS name's address.
#[derive(Clone, Debug)]
struct Frame {
    purpose: Purpose,
    /// The name being resolved now (moves along CNAMEs).
    qname: Vec<u8>,
    qtype: u16,
    /// CNAMEs followed so far, in order.
    chain: Vec<RrSet>,
    /// The servers being asked; `None` until chosen.
    cut: Option<Delegation>,
    /// Attempts per server at this cut.
    attempts: Vec<(SocketAddr, u8)>,
    /// Labels below the cut asked in a minimised query (`None`: the full name).
    minimised: Option<usize>,
    /// Minimisation steps taken.
    minimise_steps: u8,
    /// Minimisation given up for this name (an NXDOMAIN to a minimised query).
    full_name_only: bool,
    /// NS address lookups started for the current cut.
    ns_lookups: u8,
}

impl Frame {
    fn new(purpose: Purpose, qname: Vec<u8>, qtype: u16) -> Self {
        Self {
            purpose,
            qname,
            qtype,
            chain: Vec::new(),
            cut: None,
            attempts: Vec::new(),
            minimised: None,
            minimise_steps: 0,
            full_name_only: false,
            ns_lookups: 0,
        }
    }

    /// Asks the new cut's servers for one label below it first (RFC 9156), when the name
    /// is deeper than that and minimisation is on.
    fn start_minimising(&mut self, settings: &Settings) {
        let Some(cut) = &self.cut else {
            return;
        };
        let deeper = label_count(&self.qname) > label_count(&cut.zone) + 1;
        if settings.qname_minimisation
            && !self.full_name_only
            && cut.kind == CutKind::Iterate
            && deeper
        {
            self.minimised = Some(1);
        }
    }

    /// Moves to `cut`, forgetting the attempts at the previous one.
    fn enter(&mut self, cut: Delegation) {
        self.cut = Some(cut);
        self.attempts.clear();
        self.minimised = None;
        self.ns_lookups = 0;
    }
}

/// The query in flight.
#[derive(Clone, Debug)]
struct Outstanding {
    exchange: u32,
    server: SocketAddr,
    tcp: bool,
    id: u16,
    /// The query carried an OPT record.
    edns: bool,
    /// The query carried our DNS cookie: the answer must echo it.
    cookie: bool,
    /// The question as sent (name in its randomised case, type, class).
    question: Vec<u8>,
    /// The name and type asked, lowercased (a minimised query asks less than the frame).
    asked: Vec<u8>,
    sent_at: Instant,
    deadline: Instant,
}

/// Outcome of handling one response, for the frame on top.
enum Step {
    /// Ask again (next server, deeper cut, next CNAME, next minimisation step).
    Continue,
    /// The frame has its answer.
    Finished(Resolved),
}

/// A resolution.
pub struct Resolution {
    frames: Vec<Frame>,
    outstanding: Option<Outstanding>,
    next_exchange: u32,
    sends: u16,
    referrals: u8,
    deadline: Instant,
    entropy: Entropy,
    actions: Vec<Action>,
    done: bool,
    /// Scratch for the randomised name.
    cased: Vec<u8>,
    /// The port name servers are asked on.
    port: u16,
    /// The send budget (from the settings).
    max_sends: u16,
    /// Servers that answered with the question's case changed: asked without 0x20 since.
    no_case: Vec<SocketAddr>,
    /// Servers that refused our EDNS query (FORMERR/NOTIMP without OPT): asked without.
    no_edns: Vec<SocketAddr>,
    /// Servers that answered BADCOOKIE and were asked again with their new cookie.
    cookie_retried: Vec<SocketAddr>,
    /// Scratch for the COOKIE option.
    cookie: Vec<u8>,
    /// The client's question.
    question: (Vec<u8>, u16),
    /// The answer is validated before it is given (anchors configured, CD clear).
    validate: bool,
    /// Upstream queries carry DO (anchors configured): RRSIGs and proofs are cached
    /// even for CD clients, so a later validation finds them.
    dnssec_ok: bool,
    /// The answer being validated.
    validation: Option<Validation>,
}

impl Resolution {
    /// Starts resolving `qname` (lowercased wire form) and `qtype` at `now`, validating
    /// the answer unless `checking_disabled` (the client's CD bit) or no anchor is
    /// configured; the first action is ready at once.
    pub fn new(
        now: Instant,
        qname: &[u8],
        qtype: u16,
        checking_disabled: bool,
        env: &Env<'_>,
    ) -> Self {
        let mut resolution = Self {
            frames: vec![Frame::new(Purpose::Client, qname.to_vec(), qtype)],
            outstanding: None,
            next_exchange: 0,
            sends: 0,
            referrals: 0,
            deadline: now + env.settings.resolution_timeout,
            entropy: Entropy::new(),
            actions: Vec::new(),
            done: false,
            cased: Vec::with_capacity(256),
            port: env.settings.upstream_port,
            max_sends: env.settings.limits.max_sends,
            no_case: Vec::new(),
            no_edns: Vec::new(),
            cookie_retried: Vec::new(),
            cookie: Vec::with_capacity(40),
            question: (qname.to_vec(), qtype),
            validate: !env.anchors.is_empty() && !checking_disabled,
            dnssec_ok: !env.anchors.is_empty(),
            validation: None,
        };
        if !is_resolvable_type(qtype) {
            resolution.finish(Resolved {
                rcode: rcode::NOTIMP,
                ..Resolved::default()
            });
            return resolution;
        }
        resolution.advance(now, env);
        resolution
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        if self.actions.is_empty() {
            None
        } else {
            Some(self.actions.remove(0))
        }
    }

    /// When to feed [`Event::Tick`] at the latest.
    pub fn deadline(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        Some(match &self.outstanding {
            Some(outstanding) => outstanding.deadline.min(self.deadline),
            None => self.deadline,
        })
    }

    /// Whether [`Action::Done`] has been given.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds an event.
    pub fn handle(&mut self, now: Instant, event: Event<'_>, env: &Env<'_>) {
        if self.done {
            return;
        }
        if now >= self.deadline {
            self.finish(Resolved::failed(Failure::Timeout));
            return;
        }
        match event {
            Event::Response {
                exchange,
                from,
                message,
            } => self.on_response(now, exchange, from, message, env),
            Event::Failed { exchange } => {
                if let Some(outstanding) = self.outstanding.take_if(|o| o.exchange == exchange) {
                    env.servers.record_loss(now, outstanding.server.ip());
                    self.advance(now, env);
                }
            }
            Event::Tick => {
                if let Some(outstanding) = self.outstanding.take_if(|o| now >= o.deadline) {
                    env.servers.record_loss(now, outstanding.server.ip());
                    self.advance(now, env);
                }
            }
        }
    }

    fn finish(&mut self, resolved: Resolved) {
        self.done = true;
        self.outstanding = None;
        self.actions.clear();
        self.actions.push(Action::Done(resolved));
    }

    /// Decides what the frame on top does next, until something is sent or the client
    /// frame is finished.
    fn advance(&mut self, now: Instant, env: &Env<'_>) {
        // Each pass either sends, finishes a frame or changes state that only moves
        // forward (CNAME hops, cuts, attempts), all bounded by the limits.
        for _ in 0..1024 {
            if self.done || self.outstanding.is_some() {
                return;
            }
            if self.frames.is_empty() {
                self.validate(now, env);
                continue;
            }
            match self.next_step(now, env) {
                Ok(true) => return,
                Ok(false) => {}
                Err(failure) => self.frame_failed(failure),
            }
        }
        self.finish(Resolved::failed(Failure::Limit("too many steps")));
    }

    /// Validates the client's answer with what the cache holds, or starts fetching the
    /// DS or DNSKEY RRset the validator asks for; finishes when it concludes.
    fn validate(&mut self, now: Instant, env: &Env<'_>) {
        let Some(mut validation) = self.validation.take() else {
            self.finish(Resolved::failed(Failure::Limit("no frame")));
            return;
        };
        let validator = Validator {
            cache: env.cache,
            anchors: env.anchors,
            now,
            unix_now: env.unix_now,
        };
        let (qname, qtype) = &self.question;
        let resolved = &validation.resolved;
        let next = validator.answer(
            qname,
            *qtype,
            resolved.rcode == rcode::NXDOMAIN,
            &resolved.answer,
            &resolved.authority,
        );
        match next {
            Next::Ready(Ok(security)) => {
                let mut resolved = validation.resolved;
                resolved.security = security;
                self.finish(resolved);
            }
            Next::Ready(Err(failure)) => self.finish(Resolved {
                security: Security::Bogus,
                ..Resolved::failed(failure)
            }),
            Next::Need(name, rtype) => {
                let key = (name, rtype);
                if validation.fetched.contains(&key) || validation.fetched.len() >= MAX_KEY_FETCHES
                {
                    self.finish(Resolved {
                        security: Security::Bogus,
                        ..Resolved::failed(Failure::Bogus(
                            dns_wire::types::ede::DNSKEY_MISSING,
                            "the zone's DS or DNSKEY could not be fetched",
                        ))
                    });
                    return;
                }
                self.frames
                    .push(Frame::new(Purpose::Key, key.0.clone(), key.1));
                validation.fetched.push(key);
                self.validation = Some(validation);
            }
        }
    }

    /// One step of the frame on top. `Ok(true)`: a query was sent.
    fn next_step(&mut self, now: Instant, env: &Env<'_>) -> Result<bool, Failure> {
        let limits = env.settings.limits;
        let frame = self.frames.last_mut().ok_or(Failure::Limit("no frame"))?;
        // The cache first, CNAMEs included.
        if let Some(resolved) = cached_answer(env.cache, now, frame) {
            self.frame_finished(resolved);
            return Ok(false);
        }
        if let Some(Cached::Set(cname, ttl)) = (frame.qtype != rtype::CNAME
            && frame.qtype != rtype::ANY)
            .then(|| {
                env.cache
                    .get_trusted(now, &frame.qname, rtype::CNAME, Trust::Answer)
            })
            .flatten()
        {
            follow_cname(
                frame,
                RrSet {
                    ttl,
                    ..(*cname).clone()
                },
                limits.max_chain,
            )?;
            return Ok(false);
        }
        if frame.cut.is_none() {
            let cut = closest_cut(env, now, &frame.qname, frame.qtype);
            frame.enter(cut);
            frame.start_minimising(env.settings);
        }
        let cut = frame.cut.as_ref().ok_or(Failure::NoReachableAuthority)?;
        // A server to ask: an untried address, then a second try of those that timed out.
        let candidates: Vec<SocketAddr> = cut
            .addresses()
            .filter(|a| (a.is_ipv4() && env.settings.ipv4) || (a.is_ipv6() && env.settings.ipv6))
            .collect();
        let mut usable: Vec<SocketAddr> = candidates
            .iter()
            .copied()
            .filter(|a| attempts(frame, *a) == 0)
            .collect();
        if usable.is_empty() && cut.servers.iter().all(|s| s.looked_up) {
            usable = candidates
                .iter()
                .copied()
                .filter(|a| attempts(frame, *a) == 1)
                .collect();
        }
        if usable.is_empty() {
            return self.look_up_a_server(env).map(|()| false);
        }
        let ips: Vec<IpAddr> = usable.iter().map(SocketAddr::ip).collect();
        let pick = env
            .servers
            .pick(now, &ips, &mut self.entropy)
            .ok_or(Failure::NoReachableAuthority)?;
        let server = usable[pick];
        self.send(now, env, server, false)?;
        Ok(true)
    }

    /// No address left to try at the cut: look up the address of one of its servers
    /// that has none yet (a glueless delegation), or give up.
    fn look_up_a_server(&mut self, env: &Env<'_>) -> Result<(), Failure> {
        let limits = env.settings.limits;
        let depth = self.frames.len();
        let frame = self
            .frames
            .last_mut()
            .ok_or(Failure::NoReachableAuthority)?;
        let cut = frame.cut.as_mut().ok_or(Failure::NoReachableAuthority)?;
        let Some(server) = cut.servers.iter_mut().find(|s| !s.looked_up) else {
            return Err(Failure::NoReachableAuthority);
        };
        server.looked_up = true;
        let ns_name = server.name.clone();
        // A name below the cut it serves cannot be found without glue from above it.
        if is_at_or_below(&ns_name, &cut.zone) || depth > usize::from(limits.max_depth) {
            return Ok(());
        }
        if frame.ns_lookups >= limits.max_ns_lookups {
            // NXNSAttack: a referral with many glueless names gets only a few looked up.
            for server in &mut cut.servers {
                server.looked_up = true;
            }
            return Ok(());
        }
        frame.ns_lookups += 1;
        // Cached addresses end the lookup at once (the frame answers from the cache).
        let qtype = if env.settings.ipv4 {
            rtype::A
        } else {
            rtype::AAAA
        };
        self.frames.push(Frame::new(
            Purpose::Address {
                ns_name: ns_name.clone(),
            },
            ns_name,
            qtype,
        ));
        Ok(())
    }

    /// Sends the frame's question (or its minimised form) to `server`.
    fn send(
        &mut self,
        now: Instant,
        env: &Env<'_>,
        server: SocketAddr,
        tcp: bool,
    ) -> Result<(), Failure> {
        if self.sends >= env.settings.limits.max_sends {
            return Err(Failure::Limit("too many queries for one answer"));
        }
        self.sends += 1;
        let settings = env.settings;
        let frame = self
            .frames
            .last_mut()
            .ok_or(Failure::NoReachableAuthority)?;
        let cut = frame.cut.as_ref().ok_or(Failure::NoReachableAuthority)?;
        let (asked, asked_type) = match (frame.minimised, tcp) {
            (Some(labels), _) => (below(&frame.qname, &cut.zone, labels), rtype::A),
            (None, _) => (frame.qname.clone(), frame.qtype),
        };
        let asked_type = if asked == frame.qname {
            frame.qtype
        } else {
            asked_type
        };
        let plain_case = self.no_case.contains(&server);
        if settings.case_randomisation && !plain_case {
            self.entropy.randomise_case(&asked, &mut self.cased);
        } else {
            self.cased.clone_from(&asked);
        }
        let edns = (!self.no_edns.contains(&server))
            .then_some((settings.upstream_payload, self.dnssec_ok));
        let id = self.entropy.id();
        let flags = match cut.kind {
            CutKind::Forward => Header::RD,
            CutKind::Iterate => 0,
        };
        let cookie = settings.cookies && edns.is_some();
        if cookie {
            env.servers
                .cookies()
                .option_for(server.ip(), &mut self.cookie);
        } else {
            self.cookie.clear();
        }
        let mut message = Vec::with_capacity(asked.len() + 80);
        write_query(
            &mut message,
            id,
            &self.cased,
            asked_type,
            class::IN,
            QueryOptions {
                flags,
                edns,
                cookie: &self.cookie,
            },
        );
        match frame.attempts.iter_mut().find(|(a, _)| *a == server) {
            Some((_, count)) => *count += 1,
            None => frame.attempts.push((server, 1)),
        }
        let mut question = self.cased.clone();
        question.extend_from_slice(&asked_type.to_be_bytes());
        question.extend_from_slice(&class::IN.to_be_bytes());
        let exchange = self.next_exchange;
        self.next_exchange += 1;
        let timeout = if tcp {
            tcp_timeout(env.servers.timeout_for(server.ip()))
        } else {
            env.servers.timeout_for(server.ip())
        };
        self.outstanding = Some(Outstanding {
            exchange,
            server,
            tcp,
            id,
            edns: edns.is_some(),
            cookie,
            question,
            asked,
            sent_at: now,
            deadline: now + timeout,
        });
        self.actions.push(Action::Send {
            exchange,
            to: server,
            tcp,
            message,
        });
        Ok(())
    }

    fn on_response(
        &mut self,
        now: Instant,
        exchange: u32,
        from: SocketAddr,
        message: &[u8],
        env: &Env<'_>,
    ) {
        let Some(outstanding) = &self.outstanding else {
            return;
        };
        if outstanding.exchange != exchange || outstanding.server != from {
            return;
        }
        // RFC 5452 §9.1: ID, source and question must match, or the datagram is ignored
        // (a forged answer must guess them all; the real one may still come).
        let Ok(response) = Response::parse(message) else {
            return;
        };
        let same_case = response.question_bytes() == outstanding.question.as_slice();
        let question_matches = response
            .question_bytes()
            .eq_ignore_ascii_case(&outstanding.question);
        if response.header.id != outstanding.id || !question_matches {
            return;
        }
        let retry_plainly = if env.settings.case_randomisation && !same_case {
            // The question came back in another case: a forgery that missed the 0x20 bits,
            // or a server that does not keep the case. Not believed; the server is asked
            // once more without 0x20 (Unbound's fallback), which a forger must win again.
            !self.no_case.contains(&from)
        } else {
            false
        };
        if env.settings.case_randomisation && !same_case && !retry_plainly {
            return;
        }
        // RFC 7873 §5.3: an answer that does not echo our client cookie is not ours.
        if outstanding.cookie
            && env.servers.cookies().check(from.ip(), response.cookie()) == CookieCheck::Wrong
        {
            return;
        }
        let Some(outstanding) = self.outstanding.take() else {
            return;
        };
        let code = response.rcode();
        let refused_edns = outstanding.edns
            && response.edns.is_none()
            && (code == rcode::FORMERR || code == rcode::NOTIMP)
            && !self.no_edns.contains(&from);
        // RFC 7873 §5.3: BADCOOKIE carries the server cookie to use: ask again, once.
        let bad_cookie =
            outstanding.cookie && code == rcode::BADCOOKIE && !self.cookie_retried.contains(&from);
        if retry_plainly || refused_edns || bad_cookie {
            if retry_plainly {
                self.no_case.push(from);
            } else if bad_cookie {
                self.cookie_retried.push(from);
            } else {
                // RFC 6891 §7: a server that does not know EDNS is asked without it.
                self.no_edns.push(from);
            }
            if let Err(failure) = self.send(now, env, from, outstanding.tcp) {
                self.frame_failed(failure);
                self.advance(now, env);
            }
            return;
        }
        env.servers.record_rtt(
            from.ip(),
            now.saturating_duration_since(outstanding.sent_at),
        );
        if response.flag(Header::TC) && !outstanding.tcp {
            // RFC 7766 §5: a truncated answer is asked again over TCP, same server.
            if let Err(failure) = self.send(now, env, from, true) {
                self.frame_failed(failure);
                self.advance(now, env);
            }
            return;
        }
        match self.process(now, env, &outstanding, &response) {
            Ok(Step::Continue) => {}
            Ok(Step::Finished(resolved)) => self.frame_finished(resolved),
            Err(failure) => self.frame_failed(failure),
        }
        self.advance(now, env);
    }

    /// What a checked response means for the frame on top.
    fn process(
        &mut self,
        now: Instant,
        env: &Env<'_>,
        outstanding: &Outstanding,
        response: &Response<'_>,
    ) -> Result<Step, Failure> {
        let limits = env.settings.limits;
        let frame = self
            .frames
            .last_mut()
            .ok_or(Failure::NoReachableAuthority)?;
        let Some(cut) = frame.cut.clone() else {
            return Ok(Step::Continue);
        };
        let code = response.rcode();
        let lame = |frame: &mut Frame| {
            // Not asked again at this cut: its answer will not change.
            mark_lame(frame, outstanding.server);
            Ok(Step::Continue)
        };
        if code != rcode::NOERROR && code != rcode::NXDOMAIN {
            // SERVFAIL, REFUSED (lame), FORMERR, NOTIMP: another server may do better.
            return lame(frame);
        }
        if response.flag(Header::TC) {
            // Truncated even over TCP: its RRsets may be partial; believe none of them.
            return lame(frame);
        }
        // Iterating, only an authoritative server's answers and denials are believed (a
        // recursive server listed as NS passes on what it has cached: Unbound's
        // "recursion lame"); a forwarder's answers are final by configuration.
        let authoritative = response.flag(Header::AA) || cut.kind == CutKind::Forward;
        let Some(sections) = scrub(response, &cut.zone, env.unix_now) else {
            return lame(frame);
        };
        let minimised = outstanding.asked != frame.qname;
        if minimised {
            if let Some(referral) = referral_in(&sections, &cut.zone, &outstanding.asked) {
                return self.follow_referral(now, env, referral, &sections);
            }
            let frame = self
                .frames
                .last_mut()
                .ok_or(Failure::NoReachableAuthority)?;
            if !authoritative {
                return lame(frame);
            }
            if code == rcode::NXDOMAIN {
                // Relaxed minimisation: some servers say NXDOMAIN for an empty
                // non-terminal; ask for the whole name before believing it.
                frame.full_name_only = true;
                frame.minimised = None;
            } else {
                frame.minimise_steps += 1;
                let labels = frame.minimised.unwrap_or(1) + 1;
                let more = label_count(&frame.qname) > label_count(&cut.zone) + labels;
                frame.minimised =
                    (more && frame.minimise_steps < limits.max_minimise).then_some(labels);
            }
            frame.attempts.clear();
            return Ok(Step::Continue);
        }
        // The full question was asked.
        let qname = frame.qname.clone();
        let qtype = frame.qtype;
        if !authoritative {
            if cut.kind == CutKind::Iterate {
                if let Some(referral) = referral_in(&sections, &cut.zone, &qname) {
                    return self.follow_referral(now, env, referral, &sections);
                }
            }
            return lame(frame);
        }
        // The chain from qname: the RRset asked for, or a CNAME and what it leads to. The
        // first owner's data is the server's own (authoritative); what follows a CNAME is
        // believed less (RFC 2181 §5.4.1) and only as far as the chain limit.
        let chain = chain_sets(&sections.answer, &qname, qtype, limits.max_chain);
        for (hop, set) in &chain {
            let trust = if *hop == 0 {
                Trust::Authoritative
            } else {
                Trust::Answer
            };
            env.cache.insert(now, (*set).clone(), trust);
        }
        let policy = env.settings.cache;
        // NSEC and NSEC3 RRsets: the proofs of a denial, or of a wildcard expansion.
        let proof: Vec<RrSet> = sections
            .authority
            .iter()
            .filter(|s| matches!(s.rtype, rtype::NSEC | rtype::NSEC3))
            .cloned()
            .collect();
        if let Some((_, data)) = chain
            .iter()
            .find(|(hop, s)| *hop == 0 && (s.rtype == qtype || qtype == rtype::ANY))
        {
            return Ok(Step::Finished(Resolved {
                answer: vec![bounded_ttl((*data).clone(), &policy)],
                authority: proof,
                ..Resolved::default()
            }));
        }
        if qtype != rtype::CNAME && qtype != rtype::ANY {
            if let Some((_, cname)) = chain
                .iter()
                .find(|(hop, s)| *hop == 0 && s.rtype == rtype::CNAME)
            {
                let target_in_zone = cname
                    .target()
                    .is_some_and(|t| is_at_or_below(&t, &cut.zone));
                // RFC 6672 §3.4: a CNAME synthesized from a DNAME comes with the DNAME,
                // which the answer carries before it.
                if let Some(dname) = sections.answer.iter().find(|s| {
                    s.rtype == rtype::DNAME
                        && s.owner.len() < qname.len()
                        && is_at_or_below(&qname, &s.owner)
                }) {
                    env.cache.insert(now, dname.clone(), Trust::Authoritative);
                    frame.chain.push(bounded_ttl(dname.clone(), &policy));
                }
                follow_cname(
                    frame,
                    bounded_ttl((*cname).clone(), &policy),
                    limits.max_chain,
                )?;
                if target_in_zone && cut.kind == CutKind::Iterate {
                    // Same zone: the same servers know the target (the cache may already).
                    frame.enter(cut);
                }
                return Ok(Step::Continue);
            }
        }
        let soa = sections
            .authority
            .iter()
            .find(|s| s.rtype == rtype::SOA && is_at_or_below(&qname, &s.owner))
            .cloned();
        if code == rcode::NXDOMAIN || soa.is_some() {
            env.cache.insert_negative(
                now,
                Negative {
                    name: qname,
                    rtype: qtype,
                    nxdomain: code == rcode::NXDOMAIN,
                    soa: soa.clone(),
                    proof: proof.clone(),
                },
                Trust::Authoritative,
            );
            // RFC 2308 §3: the SOA goes out with the TTL a cache may keep the denial.
            let soa = soa.map(|soa| {
                let ttl = soa_minimum(&soa).map_or(soa.ttl, |m| soa.ttl.min(m));
                bounded_ttl(RrSet { ttl, ..soa }, &policy)
            });
            let mut authority: Vec<RrSet> = soa.into_iter().collect();
            authority.extend(proof.into_iter().map(|p| bounded_ttl(p, &policy)));
            return Ok(Step::Finished(Resolved {
                rcode: code,
                authority,
                ..Resolved::default()
            }));
        }
        if cut.kind == CutKind::Iterate {
            if let Some(referral) = referral_in(&sections, &cut.zone, &qname) {
                return self.follow_referral(now, env, referral, &sections);
            }
        }
        if cut.kind == CutKind::Forward {
            // A forwarder's empty answer without SOA: NODATA, not kept.
            return Ok(Step::Finished(Resolved::default()));
        }
        // An empty answer without SOA, an upward or sideways referral: lame.
        lame(frame)
    }

    /// Moves the frame on top to the zone `referral` delegates to.
    fn follow_referral(
        &mut self,
        now: Instant,
        env: &Env<'_>,
        referral: RrSet,
        sections: &Sections,
    ) -> Result<Step, Failure> {
        self.referrals = self.referrals.saturating_add(1);
        if self.referrals > env.settings.limits.max_referrals {
            return Err(Failure::Limit("too many referrals"));
        }
        let frame = self
            .frames
            .last_mut()
            .ok_or(Failure::NoReachableAuthority)?;
        let parent = frame
            .cut
            .as_ref()
            .map(|c| c.zone.clone())
            .unwrap_or_default();
        env.cache.insert(now, referral.clone(), Trust::Referral);
        // A signed parent's DS RRset for the child (RFC 4035 §3.1.4): the next link of a
        // chain of trust, checked when a validation reads it.
        if let Some(ds) = sections
            .authority
            .iter()
            .find(|s| s.rtype == rtype::DS && s.owner == referral.owner)
        {
            env.cache.insert(now, ds.clone(), Trust::Authoritative);
        }
        let mut servers = NsServer::named_by(&referral);
        // Glue: addresses of the new zone's servers, only for names inside the zone of
        // the server that gave them (anything else could be a poisoning attempt). Glue for
        // names inside the new zone is kept in the cache; glue for a sibling's name serves
        // this delegation only (it must not replace that sibling's own glue).
        for set in &sections.additional {
            if !matches!(set.rtype, rtype::A | rtype::AAAA) || !is_at_or_below(&set.owner, &parent)
            {
                continue;
            }
            let Some(server) = servers.iter_mut().find(|s| s.name == set.owner) else {
                continue;
            };
            if is_at_or_below(&set.owner, &referral.owner) {
                env.cache.insert(now, set.clone(), Trust::Glue);
            }
            for ip in set.rdatas.iter().filter_map(|r| address_in(set.rtype, r)) {
                if (ip.is_ipv4() && env.settings.ipv4) || (ip.is_ipv6() && env.settings.ipv6) {
                    server
                        .addresses
                        .push(SocketAddr::new(ip, env.settings.upstream_port));
                    server.looked_up = true;
                }
            }
        }
        fill_from_cache(env, now, &mut servers);
        frame.enter(Delegation {
            zone: referral.owner,
            servers,
            kind: CutKind::Iterate,
        });
        frame.start_minimising(env.settings);
        Ok(Step::Continue)
    }

    /// The frame on top has its answer: give it to the client, or its addresses to the
    /// frame that needed them.
    fn frame_finished(&mut self, mut resolved: Resolved) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        match frame.purpose {
            Purpose::Client => {
                let mut answer = frame.chain;
                answer.append(&mut resolved.answer);
                resolved.answer = answer;
                let answered = resolved.failure.is_none()
                    && matches!(resolved.rcode, rcode::NOERROR | rcode::NXDOMAIN);
                if self.validate && answered {
                    self.validation = Some(Validation {
                        resolved,
                        fetched: Vec::new(),
                    });
                } else {
                    self.finish(resolved);
                }
            }
            // In the cache now, where the validator looks.
            Purpose::Key => {}
            Purpose::Address { ns_name } => {
                let addresses: Vec<IpAddr> = resolved
                    .answer
                    .iter()
                    .filter(|s| matches!(s.rtype, rtype::A | rtype::AAAA))
                    .flat_map(|s| s.rdatas.iter().filter_map(|r| address_in(s.rtype, r)))
                    .collect();
                self.give_addresses(&ns_name, &addresses);
            }
        }
    }

    /// The frame on top cannot be answered.
    fn frame_failed(&mut self, failure: Failure) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        match frame.purpose {
            Purpose::Client => self.finish(Resolved::failed(failure)),
            // Only running out of the whole budget stops the resolution; a name server
            // whose own name cannot be resolved (a loop, a dead zone) is just unusable.
            Purpose::Address { ns_name } if self.sends < self.max_sends => {
                self.give_addresses(&ns_name, &[]);
            }
            // The validator finds it missing and concludes.
            Purpose::Key if self.sends < self.max_sends => {}
            Purpose::Address { .. } | Purpose::Key => self.finish(Resolved::failed(failure)),
        }
    }

    fn give_addresses(&mut self, ns_name: &[u8], addresses: &[IpAddr]) {
        let port = self.port;
        if let Some(cut) = self.frames.last_mut().and_then(|f| f.cut.as_mut()) {
            for server in cut.servers.iter_mut().filter(|s| s.name == ns_name) {
                server
                    .addresses
                    .extend(addresses.iter().map(|ip| SocketAddr::new(*ip, port)));
                server.looked_up = true;
            }
        }
    }
}

/// How long a TCP exchange with a server of UDP timeout `rto` may take: a handshake and
/// the exchange are three round trips; at least half a second (a slow accept on a busy
/// server), at most four. A connection to an anycast address whose route moved never
/// completes (the SYN-ACK goes to another site, or no site answers it): the next server of
/// the NS set must get its turn within the resolution's time, so the wait follows the
/// server's measured speed rather than a fixed system timeout.
fn tcp_timeout(rto: Duration) -> Duration {
    (rto * 3).clamp(Duration::from_millis(500), Duration::from_secs(4))
}

fn attempts(frame: &Frame, server: SocketAddr) -> u8 {
    frame
        .attempts
        .iter()
        .find(|(a, _)| *a == server)
        .map_or(0, |(_, n)| *n)
}

/// The frame's answer if the cache holds it (the data, NXDOMAIN or NODATA). A server's
/// address may come from glue; a client's answer must come from an answer.
fn cached_answer(cache: &Cache, now: Instant, frame: &Frame) -> Option<Resolved> {
    let trust = match frame.purpose {
        Purpose::Client | Purpose::Key => Trust::Answer,
        Purpose::Address { .. } => Trust::Glue,
    };
    Some(
        match cache.get_trusted(now, &frame.qname, frame.qtype, trust)? {
            Cached::Set(set, ttl) => Resolved {
                answer: vec![RrSet {
                    ttl,
                    ..(*set).clone()
                }],
                ..Resolved::default()
            },
            Cached::NxDomain(denial, ttl) => Resolved {
                rcode: rcode::NXDOMAIN,
                authority: denial.sets().map(|s| RrSet { ttl, ..s.clone() }).collect(),
                ..Resolved::default()
            },
            Cached::NoData(denial, ttl) => Resolved {
                authority: denial.sets().map(|s| RrSet { ttl, ..s.clone() }).collect(),
                ..Resolved::default()
            },
        },
    )
}

/// Adds `cname` to the frame's chain and moves it to the target.
fn follow_cname(frame: &mut Frame, cname: RrSet, max_chain: u8) -> Result<(), Failure> {
    let target = cname.target().ok_or(Failure::NoReachableAuthority)?;
    if frame.chain.len() >= usize::from(max_chain)
        || target == frame.qname
        || frame.chain.iter().any(|c| c.owner == target)
    {
        return Err(Failure::Limit("CNAME chain too long or looping"));
    }
    frame.chain.push(cname);
    frame.qname = target;
    frame.cut = None;
    frame.full_name_only = false;
    frame.minimise_steps = 0;
    Ok(())
}

/// The closest cut known for `name`: a forward zone holding it; else a stub zone or a
/// cached delegation, whichever is deeper; else the root hints. A DS record lives in the
/// parent zone (RFC 4035 §3.1.4.1), so for DS the search starts one label up.
fn closest_cut(env: &Env<'_>, now: Instant, name: &[u8], qtype: u16) -> Delegation {
    let configured = configured_for(env.zones, name);
    if let Some(zone) = configured.filter(|z| z.forward) {
        // A forward zone is policy (split horizon, egress): no cached cut below it wins.
        return zone.delegation();
    }
    let mut at = match name.first() {
        Some(&len) if qtype == rtype::DS && len > 0 => 1 + usize::from(len),
        _ => 0,
    };
    loop {
        let suffix = &name[at..];
        if let Some(zone) = configured.filter(|z| z.zone.len() >= suffix.len()) {
            return zone.delegation();
        }
        if let Some(Cached::Set(ns, _)) = env.cache.get(now, suffix, rtype::NS) {
            let mut servers = NsServer::named_by(&ns);
            fill_from_cache(env, now, &mut servers);
            if servers
                .iter()
                .any(|s| !s.addresses.is_empty() || !s.looked_up)
            {
                return Delegation {
                    zone: suffix.to_vec(),
                    servers,
                    kind: CutKind::Iterate,
                };
            }
        }
        match name.get(at) {
            Some(&len) if len > 0 => at += 1 + usize::from(len),
            _ => return env.hints.root().clone(),
        }
    }
}

/// Fills in the addresses the cache holds for `servers`; those found need no lookup.
fn fill_from_cache(env: &Env<'_>, now: Instant, servers: &mut [NsServer]) {
    let port = env.settings.upstream_port;
    for server in servers.iter_mut() {
        for (qtype, enabled) in [
            (rtype::A, env.settings.ipv4),
            (rtype::AAAA, env.settings.ipv6),
        ] {
            if !enabled {
                continue;
            }
            if let Some(Cached::Set(set, _)) = env.cache.get(now, &server.name, qtype) {
                for ip in set.rdatas.iter().filter_map(|r| address_in(qtype, r)) {
                    let address = SocketAddr::new(ip, port);
                    if !server.addresses.contains(&address) {
                        server.addresses.push(address);
                    }
                    server.looked_up = true;
                }
            }
        }
    }
}

/// The RRsets of a response whose owners lie inside the zone asked (the bailiwick);
/// everything else is dropped, never cached.
struct Sections {
    answer: Vec<RrSet>,
    authority: Vec<RrSet>,
    additional: Vec<RrSet>,
}

/// RRsets with RRSIGs are kept no longer than the signatures allow (RFC 4035 §5.3.3):
/// their original TTL, and not past their expiration at `unix_now`.
fn scrub(response: &Response<'_>, zone: &[u8], unix_now: u32) -> Option<Sections> {
    let read = |section| -> Option<Vec<RrSet>> {
        let records: Vec<Record> = response
            .records(section)
            .collect::<Result<Vec<_>, _>>()
            .ok()?
            .into_iter()
            .filter(|r| r.class == class::IN && is_at_or_below(&r.owner, zone))
            .collect();
        let mut sets = group(records);
        for set in sets.iter_mut().filter(|s| !s.sigs.is_empty()) {
            let limit = set
                .sigs
                .iter()
                .filter_map(|rdata| crate::dnssec::Rrsig::parse(rdata).ok())
                // Expired ones are left to the validator (bogus, kept briefly).
                .filter(|rrsig| rrsig.check_validity(unix_now).is_ok())
                .map(|rrsig| rrsig.max_ttl(unix_now))
                .max();
            if let Some(limit) = limit {
                set.ttl = set.ttl.min(limit);
            }
        }
        Some(sets)
    };
    Some(Sections {
        answer: read(Section::Answer)?,
        authority: read(Section::Authority)?,
        additional: read(Section::Additional)?,
    })
}

/// The NS RRset of a referral for `name` from the servers of `zone`: a zone strictly below
/// `zone` holding `name` (anything else is an upward or sideways referral: lame).
fn referral_in(sections: &Sections, zone: &[u8], name: &[u8]) -> Option<RrSet> {
    if sections.answer.iter().any(|s| s.owner == name) {
        return None;
    }
    sections
        .authority
        .iter()
        .find(|s| {
            s.rtype == rtype::NS
                && s.owner.len() > zone.len()
                && is_at_or_below(&s.owner, zone)
                && is_at_or_below(name, &s.owner)
        })
        .cloned()
}

/// The RRsets of an answer section that answer (`qname`, `qtype`), with the number of
/// CNAME hops before each: at each owner along the chain, the RRset of the type asked and
/// the CNAME, followed at most `max_chain` times. Anything else, even in bailiwick, is not
/// what was asked and is not believed. Linear in the answer's size per hop.
fn chain_sets<'s>(
    answer: &'s [RrSet],
    qname: &[u8],
    qtype: u16,
    max_chain: u8,
) -> Vec<(usize, &'s RrSet)> {
    let mut sets = Vec::new();
    let mut owner = qname.to_vec();
    for hop in 0..=usize::from(max_chain) {
        let mut next = None;
        for set in answer.iter().filter(|s| s.owner == owner) {
            if set.rtype == qtype || qtype == rtype::ANY {
                sets.push((hop, set));
            } else if set.rtype == rtype::CNAME {
                sets.push((hop, set));
                next = set.target();
            }
        }
        match next {
            Some(target) if target != owner && qtype != rtype::CNAME => owner = target,
            _ => break,
        }
    }
    sets
}

/// Whether a client may ask a resolver for `qtype`: not type 0, nor the meta types that
/// only make sense between two given servers (OPT, TKEY, TSIG, IXFR, AXFR, MAILB, MAILA;
/// RFC 6895 §3.1). Those get NOTIMP, never an upstream query or a cache entry.
pub fn is_resolvable_type(qtype: u16) -> bool {
    !matches!(
        qtype,
        0 | rtype::OPT
            | 249
            | rtype::TSIG
            | rtype::IXFR
            | rtype::AXFR
            | rtype::MAILB
            | rtype::MAILA
    )
}

/// The MINIMUM field of an SOA RRset's first record.
fn soa_minimum(soa: &RrSet) -> Option<u32> {
    let rdata = soa.rdatas.first()?;
    let m = rdata.get(rdata.len().checked_sub(4)?..)?;
    Some(u32::from_be_bytes([m[0], m[1], m[2], m[3]]))
}

/// `set` with its TTL inside the policy's bounds, as the cache would keep it.
fn bounded_ttl(set: RrSet, policy: &crate::cache::CachePolicy) -> RrSet {
    let ttl = crate::rrset::sane_ttl(set.ttl)
        .max(policy.min_ttl)
        .min(policy.max_ttl);
    RrSet { ttl, ..set }
}

/// Marks `server` as not to be asked again at the frame's cut.
fn mark_lame(frame: &mut Frame, server: SocketAddr) {
    match frame.attempts.iter_mut().find(|(a, _)| *a == server) {
        Some((_, count)) => *count = u8::MAX,
        None => frame.attempts.push((server, u8::MAX)),
    }
}

fn label_count(name: &[u8]) -> usize {
    let mut count = 0;
    let mut at = 0;
    while let Some(&len) = name.get(at) {
        if len == 0 {
            break;
        }
        count += 1;
        at += 1 + usize::from(len);
    }
    count
}

/// `name` cut to `labels` labels below `zone`.
fn below(name: &[u8], zone: &[u8], labels: usize) -> Vec<u8> {
    let keep = label_count(zone) + labels;
    let drop = label_count(name).saturating_sub(keep);
    let mut at = 0;
    for _ in 0..drop {
        at += 1 + usize::from(name[at]);
    }
    name[at..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_below_a_zone() {
        let name = b"\x01a\x01b\x01c\x04test\0";
        assert_eq!(label_count(name), 4);
        assert_eq!(below(name, b"\x04test\0", 1), b"\x01c\x04test\0");
        assert_eq!(below(name, b"\0", 2), b"\x01c\x04test\0");
        assert_eq!(below(name, b"\0", 9), name);
    }
}
