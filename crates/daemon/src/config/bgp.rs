//! The `[bgp]` section: what the file says ([`RawBgp`], serde with `deny_unknown_fields`)
//! and what the speaker runs with ([`BgpConfig`], validated, one
//! [`bgp_session::PeerConfig`] per peer).
//!
//! ```toml
//! [bgp]
//! local-as = 65000
//! router-id = "198.51.100.1"
//! prefixes = ["203.0.113.53/32", "2001:db8:53::/48"]
//! next-hop-v4 = "198.51.100.1"
//! next-hop-v6 = "2001:db8::1"
//!
//! [[bgp.peer]]
//! address = "198.51.100.2"
//! remote-as = 65001
//! local-address = "198.51.100.1"
//! bfd = true                # RFC 5880/5881 single-hop BFD to this peer
//! bfd-interval-ms = 300     # desired min TX and required min RX
//! bfd-multiplier = 3
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bgp_session::bgp_wire::{Community, LargeCommunity, Prefix};
use bgp_session::{
    DEFAULT_CONNECT_RETRY_TIME, DEFAULT_HOLD_TIME, DEFAULT_IDLE_HOLD_TIME,
    DEFAULT_MAX_IDLE_HOLD_TIME, PeerConfig, PeerSettings,
};
use serde::Deserialize;

use super::error::ConfigError;

/// The well-known BGP port (RFC 4271 §8.2.1, "TCP port 179").
pub const DEFAULT_BGP_PORT: u16 = 179;

/// Default BFD interval, both Desired Min TX and Required Min RX: with the default
/// multiplier a peer detects a frozen process in under a second (900 ms), slow enough that
/// a busy shared host does not flap (RFC 5880 leaves the value to the operator).
pub const DEFAULT_BFD_INTERVAL: Duration = Duration::from_millis(300);

/// Default BFD Detect Mult: three lost packets make a failure, the common choice (BIRD's
/// and FRR's default too).
pub const DEFAULT_BFD_MULTIPLIER: u8 = 3;

/// Shortest idle hold accepted: below this a flapping peer is redialled in a tight loop.
/// The largest Restart Time a graceful-restart capability carries (RFC 4724 §3: 12 bits).
const MAX_RESTART_TIME: u16 = 4095;
const MIN_IDLE_HOLD: Duration = Duration::from_millis(100);

/// Shortest BFD interval accepted: below this a tokio timer on a loaded host is not
/// precise enough to keep the session up.
pub const MIN_BFD_INTERVAL: Duration = Duration::from_millis(10);

/// Longest BFD interval accepted (a minute; slower is no use for failure detection).
pub const MAX_BFD_INTERVAL: Duration = Duration::from_secs(60);

/// The `[bgp]` section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawBgp {
    local_as: u32,
    router_id: String,
    #[serde(default)]
    prefixes: Vec<String>,
    next_hop_v4: Option<String>,
    next_hop_v6: Option<String>,
    med: Option<u32>,
    #[serde(default)]
    prepend: u8,
    #[serde(default)]
    communities: Vec<String>,
    #[serde(default)]
    large_communities: Vec<String>,
    #[serde(default)]
    no_export: bool,
    hold_time: Option<u16>,
    connect_retry_time: Option<u64>,
    /// Milliseconds to wait before reconnecting after a session is lost (doubling on each
    /// further loss, up to two minutes, RFC 4271 §8.1.1 DampPeerOscillations).
    idle_hold_ms: Option<u64>,
    /// Seconds; advertises graceful restart (RFC 4724). Absent: off (see bgp-session).
    graceful_restart: Option<u16>,
    #[serde(default)]
    peer: Vec<RawPeer>,
}

/// One `[[bgp.peer]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPeer {
    address: String,
    port: Option<u16>,
    remote_as: u32,
    local_address: Option<String>,
    #[serde(default)]
    passive: bool,
    listen_port: Option<u16>,
    md5_password: Option<String>,
    #[serde(default)]
    ttl_security: bool,
    #[serde(default)]
    bfd: bool,
    bfd_interval_ms: Option<u64>,
    bfd_multiplier: Option<u8>,
}

/// The validated `[bgp]` section.
#[derive(Clone, Debug)]
pub struct BgpConfig {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP Identifier.
    pub router_id: Ipv4Addr,
    /// What this site announces (the allow-list of every peer).
    pub prefixes: Vec<Prefix>,
    /// The peers.
    pub peers: Vec<BgpPeer>,
}

/// One validated peer.
#[derive(Clone, Debug)]
pub struct BgpPeer {
    /// The peer's address and the port we connect to (for a passive peer, the port we
    /// listen on, at `local_address`).
    pub address: SocketAddr,
    /// The address our end binds to: the site's unicast address.
    pub local_address: Option<IpAddr>,
    /// Wait for the peer to connect instead of connecting.
    pub passive: bool,
    /// Where the peer's connections are accepted: `local_address:port` for a passive peer,
    /// `local_address:listen-port` for an active one that also accepts (both sides then
    /// connect, and collisions are resolved by BGP Identifier, RFC 4271 §6.8).
    pub listen_at: Option<SocketAddr>,
    /// RFC 2385 TCP MD5 signature key.
    pub md5_password: Option<String>,
    /// RFC 5082 GTSM: send with TTL 255, accept only TTL 254 or more.
    pub ttl_security: bool,
    /// Single-hop BFD (RFC 5881) to the peer, if enabled.
    pub bfd: Option<PeerBfd>,
    /// The session's validated settings.
    pub session: PeerConfig,
}

/// The BFD settings of one peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerBfd {
    /// Desired Min TX Interval and Required Min RX Interval while Up.
    pub interval: Duration,
    /// Detect Mult.
    pub multiplier: u8,
}

impl TryFrom<RawBgp> for BgpConfig {
    type Error = ConfigError;

    /// Errors name the key within `[bgp]` (`peer[0].address`).
    fn try_from(bgp: RawBgp) -> Result<Self, ConfigError> {
        let err = |key: &str, what: String| ConfigError::at(key, what);
        let router_id: Ipv4Addr = bgp.router_id.parse().map_err(|_| {
            err(
                "router-id",
                format!("{:?} is not an IPv4 address", bgp.router_id),
            )
        })?;
        let mut prefixes = Vec::new();
        for (i, text) in bgp.prefixes.iter().enumerate() {
            let prefix: Prefix = text
                .parse()
                .map_err(|e| err(&format!("prefixes[{i}]"), format!("{text:?}: {e}")))?;
            if prefix.to_string() != *text {
                return Err(err(
                    &format!("prefixes[{i}]"),
                    format!("{text:?} has host bits set (did you mean {prefix}?)"),
                ));
            }
            if prefixes.contains(&prefix) {
                return Err(err(
                    &format!("prefixes[{i}]"),
                    format!("{text} is listed twice"),
                ));
            }
            prefixes.push(prefix);
        }
        let next_hop_v4 = bgp
            .next_hop_v4
            .as_deref()
            .map(|t| {
                t.parse::<Ipv4Addr>()
                    .map_err(|_| err("next-hop-v4", format!("{t:?} is not an IPv4 address")))
            })
            .transpose()?;
        let next_hop_v6 = bgp
            .next_hop_v6
            .as_deref()
            .map(|t| {
                t.parse::<Ipv6Addr>()
                    .map_err(|_| err("next-hop-v6", format!("{t:?} is not an IPv6 address")))
            })
            .transpose()?;
        let communities = bgp
            .communities
            .iter()
            .enumerate()
            .map(|(i, t)| {
                parse_community(t).ok_or_else(|| {
                    err(
                        &format!("communities[{i}]"),
                        format!("{t:?} is not ASN:VALUE (16-bit each)"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let large_communities = bgp
            .large_communities
            .iter()
            .enumerate()
            .map(|(i, t)| {
                parse_large_community(t).ok_or_else(|| {
                    err(
                        &format!("large-communities[{i}]"),
                        format!("{t:?} is not GLOBAL:LOCAL1:LOCAL2 (32-bit each)"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let hold_time = bgp
            .hold_time
            .map_or(DEFAULT_HOLD_TIME, |s| Duration::from_secs(u64::from(s)));
        let connect_retry_time = bgp
            .connect_retry_time
            .map_or(DEFAULT_CONNECT_RETRY_TIME, Duration::from_secs);
        let idle_hold_time = bgp
            .idle_hold_ms
            .map_or(DEFAULT_IDLE_HOLD_TIME, Duration::from_millis);
        if !(MIN_IDLE_HOLD..=DEFAULT_MAX_IDLE_HOLD_TIME).contains(&idle_hold_time) {
            return Err(err(
                "idle-hold-ms",
                format!(
                    "must be {} to {} ms",
                    MIN_IDLE_HOLD.as_millis(),
                    DEFAULT_MAX_IDLE_HOLD_TIME.as_millis()
                ),
            ));
        }
        //= https://www.rfc-editor.org/rfc/rfc4724#section-3
        //# Restart Time: 12 bits
        if let Some(seconds) = bgp.graceful_restart.filter(|s| *s > MAX_RESTART_TIME) {
            return Err(err(
                "graceful-restart",
                format!(
                    "{seconds} s does not fit the 12-bit Restart Time (0 to {MAX_RESTART_TIME})"
                ),
            ));
        }
        if bgp.peer.is_empty() {
            return Err(err("peer", "at least one [[bgp.peer]] is needed".into()));
        }
        let mut peers: Vec<BgpPeer> = Vec::new();
        for (i, raw) in bgp.peer.into_iter().enumerate() {
            let key = |k: &str| format!("peer[{i}].{k}");
            let ip: IpAddr = raw.address.parse().map_err(|_| {
                err(
                    &key("address"),
                    format!("{:?} is not an IP address", raw.address),
                )
            })?;
            if peers.iter().any(|p| p.address.ip() == ip) {
                return Err(err(&key("address"), format!("{ip} is listed twice")));
            }
            let local_address = raw
                .local_address
                .as_deref()
                .map(|t| {
                    t.parse::<IpAddr>().map_err(|_| {
                        err(&key("local-address"), format!("{t:?} is not an IP address"))
                    })
                })
                .transpose()?;
            if local_address.is_some_and(|l| l.is_ipv4() != ip.is_ipv4()) {
                return Err(err(
                    &key("local-address"),
                    format!("not of the same family as address {ip}"),
                ));
            }
            if raw.passive && local_address.is_none() {
                return Err(err(
                    &key("local-address"),
                    "a passive peer needs the address to listen on".into(),
                ));
            }
            let listen_at = match (raw.passive, raw.listen_port, local_address) {
                (true, Some(_), _) => {
                    return Err(err(
                        &key("listen-port"),
                        "a passive peer listens on `port`; listen-port is for an active peer \
                         that also accepts the peer's connections"
                            .into(),
                    ));
                }
                (_, Some(0), _) => {
                    return Err(err(&key("listen-port"), "must be 1 to 65535".into()));
                }
                (false, Some(_), None) => {
                    return Err(err(
                        &key("local-address"),
                        "listen-port needs the address to listen on".into(),
                    ));
                }
                (false, Some(port), Some(local)) => Some(SocketAddr::new(local, port)),
                (true, None, Some(local)) => {
                    Some(SocketAddr::new(local, raw.port.unwrap_or(DEFAULT_BGP_PORT)))
                }
                _ => None,
            };
            if let Some(password) = &raw.md5_password {
                if password.is_empty() || password.len() > netio::TCP_MD5_MAX_KEY_LEN {
                    return Err(err(
                        &key("md5-password"),
                        format!("must be 1 to {} octets", netio::TCP_MD5_MAX_KEY_LEN),
                    ));
                }
            }
            let bfd = if raw.bfd {
                if local_address.is_none() {
                    return Err(err(
                        &key("bfd"),
                        "single-hop BFD needs local-address to send from".into(),
                    ));
                }
                let interval = raw
                    .bfd_interval_ms
                    .map_or(DEFAULT_BFD_INTERVAL, Duration::from_millis);
                if !(MIN_BFD_INTERVAL..=MAX_BFD_INTERVAL).contains(&interval) {
                    return Err(err(
                        &key("bfd-interval-ms"),
                        format!(
                            "must be {} to {} ms",
                            MIN_BFD_INTERVAL.as_millis(),
                            MAX_BFD_INTERVAL.as_millis()
                        ),
                    ));
                }
                let multiplier = raw.bfd_multiplier.unwrap_or(DEFAULT_BFD_MULTIPLIER);
                if multiplier == 0 {
                    return Err(err(&key("bfd-multiplier"), "must be 1 to 255".into()));
                }
                Some(PeerBfd {
                    interval,
                    multiplier,
                })
            } else {
                for (name, set) in [
                    ("bfd-interval-ms", raw.bfd_interval_ms.is_some()),
                    ("bfd-multiplier", raw.bfd_multiplier.is_some()),
                ] {
                    if set {
                        return Err(err(&key(name), "set without bfd = true".into()));
                    }
                }
                None
            };
            let settings = PeerSettings {
                passive: raw.passive,
                hold_time,
                connect_retry_time,
                idle_hold_time,
                prefixes: prefixes.clone(),
                next_hop_v4,
                next_hop_v6,
                prepend: bgp.prepend,
                med: bgp.med,
                communities: communities.clone(),
                large_communities: large_communities.clone(),
                no_export: bgp.no_export,
                graceful_restart: bgp
                    .graceful_restart
                    .map(|s| Duration::from_secs(u64::from(s))),
                ..PeerSettings::new(bgp.local_as, raw.remote_as, router_id)
            };
            let session = PeerConfig::try_from(settings)
                .map_err(|e| err(&format!("peer[{i}]"), e.to_string()))?;
            peers.push(BgpPeer {
                address: SocketAddr::new(ip, raw.port.unwrap_or(DEFAULT_BGP_PORT)),
                local_address,
                passive: raw.passive,
                listen_at,
                md5_password: raw.md5_password,
                ttl_security: raw.ttl_security,
                bfd,
                session,
            });
        }
        Ok(Self {
            local_as: bgp.local_as,
            router_id,
            prefixes,
            peers,
        })
    }
}

/// `ASN:VALUE`, each 16 bits (RFC 1997).
fn parse_community(text: &str) -> Option<Community> {
    let (asn, value) = text.split_once(':')?;
    Some(Community::new(asn.parse().ok()?, value.parse().ok()?))
}

/// `GLOBAL:LOCAL1:LOCAL2`, each 32 bits (RFC 8092).
fn parse_large_community(text: &str) -> Option<LargeCommunity> {
    let mut parts = text.split(':').map(str::parse::<u32>);
    let community = LargeCommunity {
        global_admin: parts.next()?.ok()?,
        local_data_1: parts.next()?.ok()?,
        local_data_2: parts.next()?.ok()?,
    };
    parts.next().is_none().then_some(community)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, ConfigError};

    use super::*;

    const BGP: &str = r#"
[[listen]]
address = "127.0.0.1:5353"

[bgp]
local-as = 65000
router-id = "198.51.100.1"
prefixes = ["203.0.113.53/32", "2001:db8:53::/48"]
next-hop-v4 = "198.51.100.1"
next-hop-v6 = "2001:db8::1"
med = 10
prepend = 2
communities = ["65000:1"]
large-communities = ["65000:1:2"]
no-export = true
hold-time = 30
idle-hold-ms = 500

[[bgp.peer]]
address = "198.51.100.2"
remote-as = 65001
local-address = "198.51.100.1"
md5-password = "secret"
ttl-security = true
bfd = true
bfd-interval-ms = 100
bfd-multiplier = 5

[[bgp.peer]]
address = "2001:db8::2"
port = 1179
remote-as = 65001
local-address = "2001:db8::1"
passive = true
"#;

    /// The `[bgp]` section of `text`.
    fn parse(text: &str) -> Result<BgpConfig, ConfigError> {
        Config::from_toml(text, Path::new(".")).map(|c| c.bgp.expect("a [bgp] section"))
    }

    #[test]
    fn parses_every_key() {
        let bgp = parse(BGP).unwrap();
        assert_eq!(bgp.local_as, 65000);
        assert_eq!(bgp.prefixes.len(), 2);
        assert_eq!(bgp.peers.len(), 2);
        let first = &bgp.peers[0];
        assert_eq!(first.address, "198.51.100.2:179".parse().unwrap());
        assert_eq!(first.md5_password.as_deref(), Some("secret"));
        assert!(first.ttl_security && !first.passive);
        let s = first.session.settings();
        assert_eq!((s.local_as, s.peer_as), (65000, 65001));
        assert_eq!(s.med, Some(10));
        assert_eq!(s.prepend, 2);
        assert_eq!(s.communities, vec![Community::new(65000, 1)]);
        assert_eq!(
            s.large_communities,
            vec![LargeCommunity {
                global_admin: 65000,
                local_data_1: 1,
                local_data_2: 2
            }]
        );
        assert!(s.no_export);
        assert_eq!(s.hold_time, Duration::from_secs(30));
        assert_eq!(s.connect_retry_time, DEFAULT_CONNECT_RETRY_TIME);
        assert_eq!(s.idle_hold_time, Duration::from_millis(500));
        let second = &bgp.peers[1];
        assert_eq!(second.address, "[2001:db8::2]:1179".parse().unwrap());
        assert!(second.passive && second.session.settings().passive);
        assert_eq!(
            first.bfd,
            Some(PeerBfd {
                interval: Duration::from_millis(100),
                multiplier: 5
            })
        );
        assert_eq!(second.bfd, None);
    }

    #[test]
    fn listen_port_accepts_an_active_peer_too() {
        let bgp = parse(&BGP.replacen(
            "ttl-security = true",
            "ttl-security = true\nlisten-port = 179",
            1,
        ))
        .unwrap();
        assert_eq!(
            bgp.peers[0].listen_at,
            Some("198.51.100.1:179".parse().unwrap())
        );
        assert!(!bgp.peers[0].passive);
        // A passive peer is accepted on local-address:port; an active one without
        // listen-port is not accepted at all.
        assert_eq!(
            bgp.peers[1].listen_at,
            Some("[2001:db8::1]:1179".parse().unwrap())
        );
        assert_eq!(parse(BGP).unwrap().peers[0].listen_at, None);
        for (from, to) in [
            ("passive = true", "passive = true\nlisten-port = 179"),
            (
                "ttl-security = true",
                "ttl-security = true\nlisten-port = 0",
            ),
        ] {
            let err = parse(&BGP.replacen(from, to, 1)).unwrap_err().to_string();
            assert!(err.contains("listen-port"), "{to}: {err}");
        }
        let no_local = BGP
            .replacen(
                "local-address = \"198.51.100.1\"\n",
                "listen-port = 179\n",
                1,
            )
            .replacen(
                "bfd = true\nbfd-interval-ms = 100\nbfd-multiplier = 5\n",
                "",
                1,
            );
        let err = parse(&no_local).unwrap_err().to_string();
        assert!(err.contains("bgp.peer[0].local-address"), "{err}");
    }

    #[test]
    fn bfd_defaults_and_checks() {
        let bgp = parse(&BGP.replace("bfd-interval-ms = 100\nbfd-multiplier = 5\n", "")).unwrap();
        assert_eq!(
            bgp.peers[0].bfd,
            Some(PeerBfd {
                interval: DEFAULT_BFD_INTERVAL,
                multiplier: DEFAULT_BFD_MULTIPLIER
            })
        );
        for (from, to, key) in [
            (
                "bfd-interval-ms = 100",
                "bfd-interval-ms = 5",
                "bgp.peer[0].bfd-interval-ms",
            ),
            (
                "bfd-multiplier = 5",
                "bfd-multiplier = 0",
                "bgp.peer[0].bfd-multiplier",
            ),
            ("bfd = true", "bfd = false", "bgp.peer[0].bfd-interval-ms"),
            ("local-address = \"198.51.100.1\"", "", "bgp.peer[0].bfd"),
        ] {
            let err = parse(&BGP.replacen(from, to, 1)).unwrap_err().to_string();
            assert!(err.contains(key), "{from} -> {to}: {err}");
        }
    }

    #[test]
    fn no_bgp_section_means_no_speaker() {
        let config =
            Config::from_toml("[[listen]]\naddress = \"127.0.0.1:53\"\n", Path::new(".")).unwrap();
        assert!(config.bgp.is_none());
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        for (from, to) in [("no-export", "no-exprt"), ("ttl-security", "gtsm")] {
            let err = parse(&BGP.replace(from, to)).unwrap_err().to_string();
            assert!(err.contains(to), "{err}");
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            (
                "\"198.51.100.1\"\nprefixes",
                "\"nope\"\nprefixes",
                "bgp.router-id",
            ),
            ("203.0.113.53/32", "203.0.113.53/24", "bgp.prefixes[0]"),
            ("2001:db8:53::/48", "203.0.113.53/32", "bgp.prefixes[1]"),
            ("\"65000:1\"", "\"65000:70000\"", "bgp.communities[0]"),
            ("\"65000:1:2\"", "\"65000:1\"", "bgp.large-communities[0]"),
            (
                "address = \"198.51.100.2\"",
                "address = \"x\"",
                "bgp.peer[0].address",
            ),
            (
                "address = \"2001:db8::2\"",
                "address = \"198.51.100.2\"",
                "bgp.peer[1].address",
            ),
            (
                "local-address = \"2001:db8::1\"",
                "local-address = \"198.51.100.1\"",
                "bgp.peer[1].local-address",
            ),
            ("\"secret\"", "\"\"", "bgp.peer[0].md5-password"),
            ("hold-time = 30", "hold-time = 2", "bgp.peer[0]"),
            (
                "idle-hold-ms = 500",
                "idle-hold-ms = 10",
                "bgp.idle-hold-ms",
            ),
            ("next-hop-v6 = \"2001:db8::1\"", "", "bgp.peer[0]"),
            (
                "idle-hold-ms = 500",
                "idle-hold-ms = 500\ngraceful-restart = 5000",
                "bgp.graceful-restart",
            ),
        ];
        for (from, to, key) in cases {
            let err = parse(&BGP.replacen(from, to, 1)).unwrap_err().to_string();
            assert!(err.contains(key), "{from} -> {to}: {err}");
        }
    }

    #[test]
    fn communities_parse() {
        assert_eq!(
            parse_community("65535:0"),
            Some(Community::GRACEFUL_SHUTDOWN)
        );
        assert_eq!(parse_community("1:2:3"), None);
        assert_eq!(parse_large_community("1:2:3:4"), None);
        assert_eq!(
            parse_large_community("4200000000:0:1").map(|c| c.global_admin),
            Some(4_200_000_000)
        );
    }
}
