//! Peer configuration: the raw [`PeerSettings`] a caller fills in, and the validated
//! [`PeerConfig`] a [`Session`](crate::Session) is built from.
//!
//! Defaults are named constants whose docs give the reason.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use bgp_wire::{Community, Family, LargeCommunity, Prefix};

/// Default hold time we propose.
//= https://www.rfc-editor.org/rfc/rfc4271#section-10
//# The suggested default value for the HoldTime is 90 seconds.
pub const DEFAULT_HOLD_TIME: Duration = Duration::from_secs(90);

/// Default time between outgoing connection attempts.
//= https://www.rfc-editor.org/rfc/rfc4271#section-10
//# The suggested default value for the ConnectRetryTime is 120 seconds.
pub const DEFAULT_CONNECT_RETRY_TIME: Duration = Duration::from_secs(120);

/// Hold time while waiting for the peer's OPEN.
//= https://www.rfc-editor.org/rfc/rfc4271#section-8.2.2
//# A HoldTimer value of 4 minutes is suggested.
pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);

/// First wait in Idle before restarting after the session went down (RFC 4271 §8.1.1
/// IdleHoldTime; the value is ours: short enough that a site returns quickly after one
/// blip).
pub const DEFAULT_IDLE_HOLD_TIME: Duration = Duration::from_secs(5);

/// Cap on the doubled IdleHoldTime, so a flapping peer is retried at least every two minutes.
pub const DEFAULT_MAX_IDLE_HOLD_TIME: Duration = Duration::from_secs(120);

/// How long a session must stay Established for the IdleHoldTime to return to its first
/// value (ours: a session that lives a minute is not flapping).
pub const DEFAULT_IDLE_HOLD_RESET_AFTER: Duration = Duration::from_secs(60);

/// Lower bound of the default send hold time.
///
/// RFC 9687 §3 (paraphrased, to be checked against the text): the suggested default
/// SendHoldTime is 8 minutes or twice the negotiated HoldTime, whichever is greater.
pub const MIN_DEFAULT_SEND_HOLD_TIME: Duration = Duration::from_secs(480);

/// Most communities (each kind) we attach; keeps an UPDATE's attributes well under 4096
/// octets.
pub const MAX_COMMUNITIES: usize = 64;

/// Most extra copies of our AS we prepend.
pub const MAX_PREPEND: u8 = 16;

/// What the caller configures for one peer; turned into a [`PeerConfig`] by `try_from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSettings {
    /// Our AS number (4-octet capable).
    pub local_as: u32,
    /// The AS the peer must announce in its OPEN.
    pub peer_as: u32,
    /// Our BGP Identifier.
    pub router_id: Ipv4Addr,
    /// Never initiate the TCP connection; wait for the peer (RFC 4271 §8.1.1 PassiveTcpEstablishment).
    pub passive: bool,
    /// Hold time we propose: zero or 3..=65535 whole seconds.
    pub hold_time: Duration,
    /// Time between outgoing connection attempts.
    pub connect_retry_time: Duration,
    /// First wait in Idle after the session went down; doubles on each further failure.
    pub idle_hold_time: Duration,
    /// Cap on the doubled idle hold time.
    pub max_idle_hold_time: Duration,
    /// Established this long, the idle hold time returns to `idle_hold_time`.
    pub idle_hold_reset_after: Duration,
    /// RFC 9687 send hold time; `None` for the default (max of 8 minutes and twice the
    /// negotiated hold time).
    pub send_hold_time: Option<Duration>,
    /// The prefixes we may announce (allow-list); `Announce` for any other is refused.
    pub prefixes: Vec<Prefix>,
    /// NEXT_HOP for IPv4 prefixes (next-hop self); required if any prefix is IPv4.
    pub next_hop_v4: Option<Ipv4Addr>,
    /// Global IPv6 next hop (RFC 2545); required if any prefix is IPv6.
    pub next_hop_v6: Option<Ipv6Addr>,
    /// Link-local IPv6 next hop, sent with the global one when set (RFC 2545 §3).
    pub next_hop_v6_link_local: Option<Ipv6Addr>,
    /// Extra copies of our AS to prepend on eBGP (0 for none).
    pub prepend: u8,
    /// MULTI_EXIT_DISC to send, if any.
    pub med: Option<u32>,
    /// Communities to attach to every announcement.
    pub communities: Vec<Community>,
    /// Large communities to attach to every announcement.
    pub large_communities: Vec<LargeCommunity>,
    /// Attach NO_EXPORT, for a local-scope site (RFC 4786 §4.1).
    pub no_export: bool,
    /// Advertise graceful restart (RFC 4724) with this Restart Time. Off by default: a
    /// peer that honours it keeps our routes while we are down, which is the opposite of
    /// what an anycast site wants when its DNS dies (fate sharing). Forwarding state is never
    /// claimed preserved (an announce-only speaker forwards nothing).
    pub graceful_restart: Option<Duration>,
}

impl PeerSettings {
    /// Settings with every optional field at its default.
    pub fn new(local_as: u32, peer_as: u32, router_id: Ipv4Addr) -> Self {
        Self {
            local_as,
            peer_as,
            router_id,
            passive: false,
            hold_time: DEFAULT_HOLD_TIME,
            connect_retry_time: DEFAULT_CONNECT_RETRY_TIME,
            idle_hold_time: DEFAULT_IDLE_HOLD_TIME,
            max_idle_hold_time: DEFAULT_MAX_IDLE_HOLD_TIME,
            idle_hold_reset_after: DEFAULT_IDLE_HOLD_RESET_AFTER,
            send_hold_time: None,
            prefixes: Vec::new(),
            next_hop_v4: None,
            next_hop_v6: None,
            next_hop_v6_link_local: None,
            prepend: 0,
            med: None,
            communities: Vec::new(),
            large_communities: Vec::new(),
            no_export: false,
            graceful_restart: None,
        }
    }
}

/// Validated peer configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    settings: PeerSettings,
}

impl PeerConfig {
    /// The validated settings.
    pub fn settings(&self) -> &PeerSettings {
        &self.settings
    }

    /// Whether this is an iBGP session.
    pub fn is_internal(&self) -> bool {
        self.settings.local_as == self.settings.peer_as
    }

    /// The families of the allowed prefixes, which we advertise in the OPEN; IPv4 unicast
    /// if there are no prefixes at all.
    pub fn families(&self) -> Vec<Family> {
        let mut families: Vec<Family> = self.settings.prefixes.iter().map(Prefix::family).collect();
        families.sort();
        families.dedup();
        if families.is_empty() {
            families.push(Family::IPV4_UNICAST);
        }
        families
    }

    /// Hold time we propose, in seconds.
    pub(crate) fn hold_time_secs(&self) -> u16 {
        // Validation keeps it within u16.
        u16::try_from(self.settings.hold_time.as_secs()).unwrap_or(u16::MAX)
    }
}

/// Why [`PeerSettings`] were rejected; each variant names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `local_as` or `peer_as` is zero.
    AsZero,
    /// `router_id` is 0.0.0.0 (RFC 6286 §2.2).
    RouterIdZero,
    /// `hold_time` is not zero or 3..=65535 whole seconds (RFC 4271 §4.2).
    HoldTime,
    /// A timer (`connect_retry_time`, `idle_hold_time`, `max_idle_hold_time` or
    /// `send_hold_time`) is zero, or `max_idle_hold_time` is below `idle_hold_time`.
    Timer,
    /// A prefix's family has no next hop configured.
    NextHopMissing(Family),
    /// `prepend` exceeds [`MAX_PREPEND`].
    Prepend,
    /// `communities` or `large_communities` has more than [`MAX_COMMUNITIES`] entries.
    TooManyCommunities,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AsZero => f.write_str("local_as and peer_as must not be zero"),
            Self::RouterIdZero => f.write_str("router_id must not be 0.0.0.0"),
            Self::HoldTime => f.write_str("hold_time must be 0 or 3..=65535 whole seconds"),
            Self::Timer => {
                f.write_str("timers must be non-zero and max_idle_hold_time >= idle_hold_time")
            }
            Self::NextHopMissing(family) => write!(f, "no next hop configured for {family}"),
            Self::Prepend => write!(f, "prepend must be at most {MAX_PREPEND}"),
            Self::TooManyCommunities => {
                write!(f, "at most {MAX_COMMUNITIES} communities of each kind")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl TryFrom<PeerSettings> for PeerConfig {
    type Error = ConfigError;

    fn try_from(settings: PeerSettings) -> Result<Self, Self::Error> {
        let s = &settings;
        if s.local_as == 0 || s.peer_as == 0 {
            return Err(ConfigError::AsZero);
        }
        if s.router_id.is_unspecified() {
            return Err(ConfigError::RouterIdZero);
        }
        //= https://www.rfc-editor.org/rfc/rfc4271#section-4.2
        //# The Hold Time MUST be either zero or at least three seconds.
        let hold = s.hold_time.as_secs();
        if s.hold_time.subsec_nanos() != 0 || hold == 1 || hold == 2 || hold > u64::from(u16::MAX) {
            return Err(ConfigError::HoldTime);
        }
        let zero = |d: Duration| d.is_zero();
        if zero(s.connect_retry_time)
            || zero(s.idle_hold_time)
            || s.max_idle_hold_time < s.idle_hold_time
            || s.send_hold_time.is_some_and(zero)
        {
            return Err(ConfigError::Timer);
        }
        for prefix in &s.prefixes {
            let family = prefix.family();
            let has = match family {
                Family::IPV4_UNICAST => s.next_hop_v4.is_some(),
                _ => s.next_hop_v6.is_some(),
            };
            if !has {
                return Err(ConfigError::NextHopMissing(family));
            }
        }
        if s.prepend > MAX_PREPEND {
            return Err(ConfigError::Prepend);
        }
        if s.communities.len() > MAX_COMMUNITIES || s.large_communities.len() > MAX_COMMUNITIES {
            return Err(ConfigError::TooManyCommunities);
        }
        Ok(Self { settings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PeerSettings {
        PeerSettings {
            prefixes: vec!["192.0.2.0/24".parse().unwrap()],
            next_hop_v4: Some(Ipv4Addr::new(198, 51, 100, 1)),
            ..PeerSettings::new(65001, 65000, Ipv4Addr::new(192, 0, 2, 1))
        }
    }

    #[test]
    fn valid_settings_convert() {
        let config = PeerConfig::try_from(base()).unwrap();
        assert_eq!(config.families(), vec![Family::IPV4_UNICAST]);
        assert_eq!(config.hold_time_secs(), 90);
        assert!(!config.is_internal());
    }

    #[test]
    fn test_4_2_hold_time_zero_or_at_least_three() {
        for (secs, ok) in [
            (0, true),
            (1, false),
            (2, false),
            (3, true),
            (65535, true),
            (65536, false),
        ] {
            let s = PeerSettings {
                hold_time: Duration::from_secs(secs),
                ..base()
            };
            assert_eq!(PeerConfig::try_from(s).is_ok(), ok, "{secs}");
        }
        let s = PeerSettings {
            hold_time: Duration::from_millis(3500),
            ..base()
        };
        assert_eq!(PeerConfig::try_from(s), Err(ConfigError::HoldTime));
    }

    #[test]
    fn rejects_bad_settings() {
        let cases = [
            (
                PeerSettings {
                    local_as: 0,
                    ..base()
                },
                ConfigError::AsZero,
            ),
            (
                PeerSettings {
                    router_id: Ipv4Addr::UNSPECIFIED,
                    ..base()
                },
                ConfigError::RouterIdZero,
            ),
            (
                PeerSettings {
                    idle_hold_time: Duration::ZERO,
                    ..base()
                },
                ConfigError::Timer,
            ),
            (
                PeerSettings {
                    prefixes: vec!["2001:db8::/48".parse().unwrap()],
                    ..base()
                },
                ConfigError::NextHopMissing(Family::IPV6_UNICAST),
            ),
            (
                PeerSettings {
                    prepend: 17,
                    ..base()
                },
                ConfigError::Prepend,
            ),
        ];
        for (settings, error) in cases {
            assert_eq!(PeerConfig::try_from(settings), Err(error));
        }
    }
}
