//! What the DNS listeners read: the serving zones, the answer settings, the counters, the
//! TCP limits, the rate limit and the transfer state (for NOTIFY and AXFR/IXFR).

use std::sync::Arc;
use std::time::Duration;

use dns_auth::AnswerConfig;

use crate::config::RateLimit;
use crate::state::{Connections, Counters, ZoneStore};
use crate::transfer::state::Transfers;

/// The listeners' shared context.
pub(crate) struct DnsContext {
    /// The zones served.
    pub(crate) zones: Arc<ZoneStore>,
    /// Payload size, identity, version, TCP keepalive.
    pub(crate) answer: AnswerConfig,
    /// Query counters (each UDP worker takes its own block).
    pub(crate) counters: Arc<Counters>,
    /// Open TCP connections.
    pub(crate) connections: Arc<Connections>,
    /// RFC 7766 idle timeout.
    pub(crate) tcp_idle_timeout: Duration,
    /// At most this many TCP connections.
    pub(crate) tcp_max_connections: usize,
    /// How long a UDP worker waits after a batch that did not fill (zero: not at all).
    pub(crate) udp_batch_window: Duration,
    /// Answers each UDP worker keeps (zero: no answer cache).
    pub(crate) answer_cache: usize,
    /// UDP response rate limiting, if on (each UDP worker keeps its own limiter).
    pub(crate) rate_limit: Option<RateLimit>,
    /// Transfer state: NOTIFY in, AXFR/IXFR out.
    pub(crate) transfers: Arc<Transfers>,
    /// DNS cookies (RFC 7873, RFC 9018): the secrets, when the server answers them.
    pub(crate) cookies: Option<dns_auth::cookies::CookieSecrets>,
}
