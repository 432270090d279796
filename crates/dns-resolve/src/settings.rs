//! Every knob of the resolver and its default, in one place (the daemon fills it from its
//! configuration).

use std::time::Duration;

use crate::cache::CachePolicy;

/// Bounds on the work one client query may cause: what keeps NXNSAttack-style fan-out,
/// referral loops and CNAME chains from turning one query into thousands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Queries sent upstream for one client query, sub-lookups included.
    pub max_sends: u16,
    /// Referrals followed for one name.
    pub max_referrals: u8,
    /// CNAME and DNAME records followed (RFC 1034 §3.6.2 asks to detect loops).
    pub max_chain: u8,
    /// Name-server address lookups (glueless delegations) for one delegation: NXNSAttack
    /// sends referrals with many glueless names; only this many are looked up.
    pub max_ns_lookups: u8,
    /// Nested lookups (an NS address whose own NS is glueless ...).
    pub max_depth: u8,
    /// QNAME minimisation steps before the full name is sent (RFC 9156 §2.3's
    /// MAX_MINIMISE_COUNT).
    pub max_minimise: u8,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_sends: 64,
            max_referrals: 24,
            max_chain: 12,
            max_ns_lookups: 4,
            max_depth: 4,
            max_minimise: 10,
        }
    }
}

/// The resolver's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The work bounds.
    pub limits: Limits,
    /// The cache's bounds.
    pub cache: CachePolicy,
    /// Ask each zone's servers only for the next label (RFC 9156).
    pub qname_minimisation: bool,
    /// Randomise the case of the names sent and check it comes back (0x20).
    pub case_randomisation: bool,
    /// Send DNS cookies upstream and require answers to echo ours (RFC 7873).
    pub cookies: bool,
    /// The UDP payload size advertised upstream (1232: no fragmentation on common paths).
    pub upstream_payload: u16,
    /// The port name servers listen on (53; test rigs use another).
    pub upstream_port: u16,
    /// A client query is answered SERVFAIL after this long.
    pub resolution_timeout: Duration,
    /// Serve-stale (RFC 8767): answer a query that cannot be resolved from data expired
    /// less than this long ago; `None`: off.
    pub serve_stale: Option<Duration>,
    /// Whether upstream servers of each family can be reached (a source address is
    /// configured for it).
    pub ipv4: bool,
    /// See `ipv4`.
    pub ipv6: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            cache: CachePolicy::default(),
            qname_minimisation: true,
            case_randomisation: true,
            cookies: true,
            upstream_payload: 1232,
            upstream_port: 53,
            resolution_timeout: Duration::from_secs(5),
            serve_stale: None,
            ipv4: true,
            ipv6: true,
        }
    }
}
