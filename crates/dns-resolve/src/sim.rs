//! A virtual network for the resolver's tests: authoritative servers answered by the real
//! authoritative engine (`dns_auth::respond` over zones loaded by `dns_zone`), a virtual
//! clock, and servers that can be made silent or hostile. Every query sent is logged.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dns_auth::{AnswerConfig, Transport, respond};
use dns_wire::{Response, name_from_text};
use dns_zone::{ZoneSet, load_zone_str};

use crate::anchors::TrustAnchors;
use crate::answer::Resolved;
use crate::cache::{Cache, CachePolicy};
use crate::delegation::{ConfiguredZone, Hints};
use crate::resolution::{Action, Env, Event, Resolution};
use crate::servers::ServerTable;
use crate::settings::Settings;

/// Makes a reply from (query, honest reply).
pub(crate) type Rewriter = Box<dyn Fn(&[u8], Vec<u8>) -> Vec<u8>>;

/// How a virtual server behaves.
pub(crate) enum Behaviour {
    /// Answers from its zones.
    Answer,
    /// Never answers.
    Silent,
    /// Answers UDP with a truncated empty answer (TC), TCP from its zones.
    TruncateUdp,
    /// Answers with whatever the function makes of its honest answer.
    Rewrite(Rewriter),
}

pub(crate) struct Server {
    zones: ZoneSet,
    behaviour: Behaviour,
}

/// One query seen by a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sent {
    pub(crate) to: SocketAddr,
    /// The name as sent (case kept), in text.
    pub(crate) qname: String,
    pub(crate) qtype: u16,
    pub(crate) tcp: bool,
}

/// The network, the resolver's shared state and the clock.
pub(crate) struct Net {
    pub(crate) servers: HashMap<SocketAddr, Server>,
    pub(crate) log: Vec<Sent>,
    pub(crate) cache: Cache,
    pub(crate) table: ServerTable,
    pub(crate) hints: Hints,
    pub(crate) zones: Vec<ConfiguredZone>,
    pub(crate) settings: Settings,
    pub(crate) now: Instant,
    /// Trust anchors (none: no validation).
    pub(crate) anchors: TrustAnchors,
    /// The wall clock the signatures are checked against.
    pub(crate) unix_now: u32,
    /// Resolutions are started as for a client with CD set.
    pub(crate) checking_disabled: bool,
}

/// The address of virtual server `n` (192.0.2.n:53).
pub(crate) fn at(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 53))
}

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

impl Net {
    /// A network whose root servers are those the hints text names.
    pub(crate) fn new(hints: &str) -> Self {
        let records = dns_zone::read_records_str(hints, b"\0").expect("hints");
        let settings = Settings {
            ipv6: false,
            ..Settings::default()
        };
        Self {
            servers: HashMap::new(),
            log: Vec::new(),
            cache: Cache::new(CachePolicy::default()),
            table: ServerTable::new(),
            hints: Hints::from_records(&records, 53).expect("hints"),
            zones: Vec::new(),
            settings,
            now: start(),
            anchors: TrustAnchors::none(),
            unix_now: 1_800_000_000,
            checking_disabled: false,
        }
    }

    /// Adds (or extends) server `address` with the zone `origin` from `text`.
    pub(crate) fn serve(&mut self, address: SocketAddr, origin: &str, text: &str) {
        let wire = name_from_text(origin).expect("origin");
        let (zone, _) = load_zone_str(text, &wire).unwrap_or_else(|e| panic!("{origin}: {e}"));
        let server = self.servers.entry(address).or_insert_with(|| Server {
            zones: ZoneSet::new(),
            behaviour: Behaviour::Answer,
        });
        server.zones.insert(Arc::new(zone));
    }

    pub(crate) fn behave(&mut self, address: SocketAddr, behaviour: Behaviour) {
        self.servers
            .get_mut(&address)
            .expect("a server added with serve()")
            .behaviour = behaviour;
    }

    fn env(&self) -> Env<'_> {
        Env {
            cache: &self.cache,
            servers: &self.table,
            hints: &self.hints,
            zones: &self.zones,
            settings: &self.settings,
            anchors: &self.anchors,
            unix_now: self.unix_now,
        }
    }

    /// Resolves `name` (text) and `qtype` to the end; answers take 1 ms, silence lasts
    /// until the resolution's deadline.
    pub(crate) fn resolve(&mut self, name: &str, qtype: u16) -> Resolved {
        let wire = name_from_text(name).expect("name").to_ascii_lowercase();
        let mut resolution =
            Resolution::new(self.now, &wire, qtype, self.checking_disabled, &self.env());
        for _ in 0..10_000 {
            let Some(action) = resolution.poll_action() else {
                let deadline = resolution
                    .deadline()
                    .expect("a resolution waits for something");
                self.now = self.now.max(deadline);
                resolution.handle(self.now, Event::Tick, &self.env());
                continue;
            };
            match action {
                Action::Done(resolved) => return resolved,
                Action::Send {
                    exchange,
                    to,
                    tcp,
                    message,
                } => {
                    let mut as_response = message.clone();
                    as_response[2] |= 0x80;
                    let query = Response::parse(&as_response).expect("a well-formed query");
                    self.log.push(Sent {
                        to,
                        qname: String::from_utf8_lossy(
                            &query.question_bytes()[..query.question_bytes().len() - 4],
                        )
                        .into_owned(),
                        qtype: query.qtype,
                        tcp,
                    });
                    let Some(reply) = self.answer(to, &message, tcp) else {
                        continue;
                    };
                    self.now += Duration::from_millis(1);
                    let event = Event::Response {
                        exchange,
                        from: to,
                        message: &reply,
                    };
                    resolution.handle(self.now, event, &self.env());
                }
            }
        }
        panic!("resolution of {name} did not end");
    }

    fn answer(&self, to: SocketAddr, message: &[u8], tcp: bool) -> Option<Vec<u8>> {
        let server = self.servers.get(&to)?;
        let transport = if tcp { Transport::Tcp } else { Transport::Udp };
        let mut out = Vec::new();
        let honest = |out: &mut Vec<u8>| {
            respond(
                message,
                &server.zones,
                &AnswerConfig::default(),
                transport,
                out,
            );
            out.clone()
        };
        match &server.behaviour {
            Behaviour::Answer => Some(honest(&mut out)),
            Behaviour::Silent => None,
            Behaviour::TruncateUdp if !tcp => {
                let mut reply = honest(&mut out);
                // Keep header and question, set TC, drop every record.
                let question_end = 12 + Response::parse(&reply).ok()?.question_bytes().len();
                reply.truncate(question_end);
                reply[2] |= 0x02;
                reply[6..12].fill(0);
                Some(reply)
            }
            Behaviour::TruncateUdp => Some(honest(&mut out)),
            Behaviour::Rewrite(f) => Some(f(message, honest(&mut out))),
        }
    }

    /// How many queries were sent so far.
    pub(crate) fn sent(&self) -> usize {
        self.log.len()
    }
}
