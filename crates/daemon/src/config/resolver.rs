//! `[resolver]`: the recursive resolver service, answering on the listeners with
//! `service = "resolver"`.
//!
//! ```toml
//! [resolver]
//! source = ["192.0.2.7", "2001:db8::7"]  # unicast, one per family; default: the first
//!                                        # unicast listener of each family
//! allow-query = ["192.0.2.0/24"]         # default: loopback only (no open resolver)
//! hints = "root.hints"                   # zone-file format; default: IANA's, built in
//! trust-anchor-file = "root.key"         # DS or DNSKEY records; default: IANA's root
//!                                        # anchors with the built-in hints, none (no
//!                                        # validation) with a hints file
//! dnssec-validation = true               # false: never validate
//! cache-size-mb = 256
//! min-ttl = 0
//! max-ttl = 86400
//! negative-max-ttl = 3600
//! qname-minimisation = true
//! case-randomisation = true
//! cookies = true                         # RFC 7873 client cookies to every server
//! resolution-timeout-ms = 5000
//! max-pending = 10000
//! max-pending-per-client = 100           # UDP resolutions in progress for one address
//! serve-stale-max-ttl = 86400            # RFC 8767; default off
//!
//! [[resolver.forward]]   # and [[resolver.stub]]
//! zone = "corp.example."
//! servers = ["192.0.2.53", "192.0.2.54:5300"]
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use dns_resolve::{
    BUILT_IN_ROOT_HINTS, CachePolicy, ConfiguredZone, Hints, Limits, Settings, TrustAnchors,
};
use serde::Deserialize;

use super::error::{ConfigError, KeyPath};
use super::listen::{Listen, Role, Service};
use crate::acl::Prefix;

/// The DNS port.
const DNS_PORT: u16 = 53;
/// Default cache size.
const DEFAULT_CACHE_MB: usize = 256;
/// Default bound on queries waiting for upstream answers.
const DEFAULT_MAX_PENDING: usize = 10_000;
/// Default bound on one client's UDP queries waiting for upstream answers.
const DEFAULT_MAX_PENDING_PER_CLIENT: u32 = 100;

/// The section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawResolver {
    source: Option<Vec<String>>,
    allow_query: Option<Vec<String>>,
    hints: Option<PathBuf>,
    trust_anchor_file: Option<PathBuf>,
    dnssec_validation: Option<bool>,
    cache_size_mb: Option<usize>,
    min_ttl: Option<u32>,
    max_ttl: Option<u32>,
    negative_max_ttl: Option<u32>,
    qname_minimisation: Option<bool>,
    case_randomisation: Option<bool>,
    cookies: Option<bool>,
    resolution_timeout_ms: Option<u64>,
    max_pending: Option<usize>,
    max_pending_per_client: Option<u32>,
    /// Serve-stale (RFC 8767): answer from data expired at most this many seconds ago when
    /// a name cannot be resolved; 0 or absent: off.
    serve_stale_max_ttl: Option<u64>,
    /// The port upstream servers are asked on: 53, other values only for test rigs.
    upstream_port: Option<u16>,
    #[serde(default)]
    forward: Vec<RawZone>,
    #[serde(default)]
    stub: Vec<RawZone>,
}

/// A `[[resolver.forward]]` or `[[resolver.stub]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawZone {
    zone: String,
    servers: Vec<String>,
}

/// The site's unicast addresses upstream queries leave from, one per family; a family
/// without one is never used for upstream queries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnicastSources {
    /// The IPv4 source.
    pub v4: Option<Ipv4Addr>,
    /// The IPv6 source.
    pub v6: Option<Ipv6Addr>,
}

impl UnicastSources {
    /// The source for talking to `target`, if one of its family is configured.
    pub fn for_target(&self, target: SocketAddr) -> Option<IpAddr> {
        match target {
            SocketAddr::V4(_) => self.v4.map(IpAddr::V4),
            SocketAddr::V6(_) => self.v6.map(IpAddr::V6),
        }
    }
}

/// The validated section.
#[derive(Clone, Debug)]
pub struct ResolverConfig {
    /// Where upstream queries leave from.
    pub sources: UnicastSources,
    /// Who may query (others are REFUSED).
    pub allow_query: Vec<Prefix>,
    /// Where iteration starts.
    pub hints: Hints,
    /// Where validation starts; empty: no validation.
    pub anchors: TrustAnchors,
    /// Forward and stub zones.
    pub zones: Vec<ConfiguredZone>,
    /// The resolver's knobs.
    pub settings: Settings,
    /// Queries waiting for upstream answers at most; beyond, SERVFAIL at once.
    pub max_pending: usize,
    /// Resolutions one client address may have in progress over UDP; beyond, SERVFAIL at
    /// once (one client cannot take the whole of `max_pending`).
    pub max_pending_per_client: u32,
}

/// What `[resolver]` is read against.
pub(crate) struct ResolverDefaults<'a> {
    pub(crate) base: &'a Path,
    pub(crate) listen: &'a [Listen],
}

impl TryFrom<(RawResolver, &ResolverDefaults<'_>)> for ResolverConfig {
    type Error = ConfigError;

    /// Errors name the key within `[resolver]` (`source[0]`).
    fn try_from(
        (raw, defaults): (RawResolver, &ResolverDefaults<'_>),
    ) -> Result<Self, ConfigError> {
        let listen = defaults.listen;
        let sources = match &raw.source {
            Some(list) => sources(list, listen)?,
            None => UnicastSources {
                v4: listen.iter().find_map(|l| match l.address.ip() {
                    IpAddr::V4(ip) if l.role == Role::Unicast && !ip.is_unspecified() => Some(ip),
                    _ => None,
                }),
                v6: listen.iter().find_map(|l| match l.address.ip() {
                    IpAddr::V6(ip) if l.role == Role::Unicast && !ip.is_unspecified() => Some(ip),
                    _ => None,
                }),
            },
        };
        if sources.v4.is_none() && sources.v6.is_none() {
            return Err(ConfigError::at("source", "no unicast source address").hint(
                "name the site's unicast address in source, or add a [[listen]] with role = \"unicast\"",
            ));
        }
        let allow_query = match &raw.allow_query {
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    p.parse().map_err(|e| {
                        ConfigError::new(KeyPath::root("allow-query").index(i), format!("{e}"))
                    })
                })
                .collect::<Result<Vec<Prefix>, _>>()?,
            None => vec![
                "127.0.0.0/8".parse().expect("a prefix"),
                "::1".parse().expect("a prefix"),
            ],
        };
        let port = raw.upstream_port.unwrap_or(DNS_PORT);
        let hints = hints(raw.hints.as_deref(), defaults.base, port)?;
        let anchors = match (
            raw.dnssec_validation.unwrap_or(true),
            &raw.trust_anchor_file,
        ) {
            (false, _) => TrustAnchors::none(),
            (true, Some(path)) => anchors(path, defaults.base)?,
            (true, None) if raw.hints.is_none() => TrustAnchors::built_in(),
            // A private root (a lab's): IANA's anchors would make all of it bogus.
            (true, None) => TrustAnchors::none(),
        };
        let mut zones = Vec::new();
        for (key, list, forward) in [("forward", &raw.forward, true), ("stub", &raw.stub, false)] {
            for (i, zone) in list.iter().enumerate() {
                let at = KeyPath::root(key).index(i);
                let configured =
                    configured_zone(zone, forward, port, listen).map_err(|e| e.within(&at))?;
                if zones
                    .iter()
                    .any(|z: &ConfiguredZone| z.zone == configured.zone)
                {
                    return Err(ConfigError::new(at.key("zone"), "listed twice"));
                }
                zones.push(configured);
            }
        }
        let cache_mb = raw.cache_size_mb.unwrap_or(DEFAULT_CACHE_MB);
        if !(1..=1 << 20).contains(&cache_mb) {
            return Err(ConfigError::at(
                "cache-size-mb",
                format!("{cache_mb} is not 1 to 1048576"),
            ));
        }
        let defaults_policy = CachePolicy::default();
        let cache = CachePolicy {
            max_bytes: cache_mb << 20,
            min_ttl: raw.min_ttl.unwrap_or(defaults_policy.min_ttl),
            max_ttl: raw.max_ttl.unwrap_or(defaults_policy.max_ttl),
            max_negative_ttl: raw
                .negative_max_ttl
                .unwrap_or(defaults_policy.max_negative_ttl),
        };
        if cache.min_ttl > cache.max_ttl {
            return Err(ConfigError::at("min-ttl", "above max-ttl"));
        }
        let timeout = Duration::from_millis(raw.resolution_timeout_ms.unwrap_or(5000));
        if !(Duration::from_millis(100)..=Duration::from_secs(60)).contains(&timeout) {
            return Err(ConfigError::at(
                "resolution-timeout-ms",
                "must be 100 to 60000",
            ));
        }
        Ok(Self {
            sources,
            allow_query,
            hints,
            anchors,
            zones,
            settings: Settings {
                limits: Limits::default(),
                cache,
                qname_minimisation: raw.qname_minimisation.unwrap_or(true),
                case_randomisation: raw.case_randomisation.unwrap_or(true),
                cookies: raw.cookies.unwrap_or(true),
                upstream_payload: dns_auth::DEFAULT_UDP_PAYLOAD,
                upstream_port: port,
                resolution_timeout: timeout,
                serve_stale: raw
                    .serve_stale_max_ttl
                    .filter(|s| *s > 0)
                    .map(Duration::from_secs),
                ipv4: sources.v4.is_some(),
                ipv6: sources.v6.is_some(),
            },
            max_pending: raw.max_pending.unwrap_or(DEFAULT_MAX_PENDING).max(1),
            max_pending_per_client: raw
                .max_pending_per_client
                .unwrap_or(DEFAULT_MAX_PENDING_PER_CLIENT)
                .max(1),
        })
    }
}

/// `source`: at most one address per family, each a unicast one of this site.
fn sources(list: &[String], listen: &[Listen]) -> Result<UnicastSources, ConfigError> {
    let mut sources = UnicastSources::default();
    for (i, text) in list.iter().enumerate() {
        let key = KeyPath::root("source").index(i);
        let ip: IpAddr = text
            .parse()
            .map_err(|_| ConfigError::new(key.clone(), format!("{text:?} is not an address")))?;
        check_unicast(ip, listen).map_err(|e| e.within(&key))?;
        let taken = match ip {
            IpAddr::V4(v4) => sources.v4.replace(v4).is_some(),
            IpAddr::V6(v6) => sources.v6.replace(v6).is_some(),
        };
        if taken {
            return Err(ConfigError::new(key, "a second address of the same family"));
        }
    }
    Ok(sources)
}

/// An address queries may leave from: a specific address that is not one of our anycast
/// listeners' (docs/design.md principle 2: an answer to an anycast source can be routed
/// to another site and is lost).
fn check_unicast(ip: IpAddr, listen: &[Listen]) -> Result<(), ConfigError> {
    if ip.is_unspecified() {
        return Err(
            ConfigError::new(KeyPath::default(), format!("{ip} is not one address"))
                .hint("name the site's unicast address"),
        );
    }
    if listen
        .iter()
        .any(|l| l.role == Role::Anycast && l.address.ip() == ip)
    {
        return Err(ConfigError::new(
            KeyPath::default(),
            format!(
                "{ip} is an anycast address: answers to queries sent from it can be routed to another site"
            ),
        )
        .hint("name the site's unicast address"));
    }
    Ok(())
}

fn hints(path: Option<&Path>, base: &Path, port: u16) -> Result<Hints, ConfigError> {
    let key = || KeyPath::root("hints");
    let records = match path {
        Some(path) => {
            let path = if path.is_absolute() {
                path.to_path_buf()
            } else {
                base.join(path)
            };
            dns_zone::read_records_file(&path, b"\0")
                .map_err(|e| ConfigError::new(key(), e.to_string()))?
        }
        None => dns_zone::read_records_str(BUILT_IN_ROOT_HINTS, b"\0")
            .map_err(|e| ConfigError::new(key(), e.to_string()))?,
    };
    Hints::from_records(&records, port).map_err(|e| ConfigError::new(key(), e.to_string()))
}

/// `trust-anchor-file`: DS or DNSKEY records in zone-file format.
fn anchors(path: &Path, base: &Path) -> Result<TrustAnchors, ConfigError> {
    let key = || KeyPath::root("trust-anchor-file");
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let records = dns_zone::read_records_file(&path, b"\0")
        .map_err(|e| ConfigError::new(key(), e.to_string()))?;
    TrustAnchors::from_records(records).map_err(|e| {
        ConfigError::new(key(), format!("{}: {e}", path.display()))
            .hint("list the root's DS records, as IANA publishes them, or DNSKEY records")
    })
}

fn configured_zone(
    raw: &RawZone,
    forward: bool,
    port: u16,
    listen: &[Listen],
) -> Result<ConfiguredZone, ConfigError> {
    let mut zone = dns_wire::name_from_text(&raw.zone)
        .map_err(|e| ConfigError::at("zone", format!("{:?}: {e}", raw.zone)))?;
    dns_wire::lowercase_in_place(&mut zone);
    if raw.servers.is_empty() {
        return Err(ConfigError::at("servers", "at least one server is needed"));
    }
    let mut servers = Vec::new();
    for (i, text) in raw.servers.iter().enumerate() {
        let key = KeyPath::root("servers").index(i);
        let server = text
            .parse::<SocketAddr>()
            .ok()
            .or_else(|| {
                text.parse::<IpAddr>()
                    .ok()
                    .map(|ip| SocketAddr::new(ip, port))
            })
            .ok_or_else(|| {
                ConfigError::new(key.clone(), format!("{text:?} is not ADDR or ADDR:PORT"))
            })?;
        if listen
            .iter()
            .any(|l| l.role == Role::Anycast && l.address.ip() == server.ip())
        {
            return Err(ConfigError::new(
                key,
                format!(
                    "{} is one of our anycast addresses: the query could land at another site",
                    server.ip()
                ),
            ));
        }
        servers.push(server);
    }
    Ok(ConfiguredZone {
        zone,
        servers,
        forward,
    })
}

/// Checks the listeners against `[resolver]`: resolver listeners need it, and serve no
/// transfers.
pub(crate) fn check_listeners(listen: &[Listen], resolver: bool) -> Result<(), ConfigError> {
    for (i, l) in listen.iter().enumerate() {
        if l.service != Service::Resolver {
            continue;
        }
        let at = KeyPath::root("listen").index(i);
        if !resolver {
            return Err(ConfigError::new(
                at.key("service"),
                "\"resolver\" needs a [resolver] section",
            ));
        }
        if l.transfers {
            return Err(ConfigError::new(
                at.key("transfers"),
                "a resolver listener serves no transfers",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};
    use std::path::Path;

    const BASE: &str = r#"
[[listen]]
address = "192.0.2.53:53"
service = "resolver"

[[listen]]
address = "198.51.100.7:53"
role = "unicast"
service = "resolver"

[resolver]
"#;

    fn parse(extra: &str) -> Result<Config, ConfigError> {
        Config::from_toml(&format!("{BASE}{extra}"), Path::new("."))
    }

    #[test]
    fn defaults_take_the_unicast_listener_as_source_and_loopback_as_clients() {
        let config = parse("").unwrap();
        let resolver = config.resolver.unwrap();
        assert_eq!(resolver.sources.v4, Some("198.51.100.7".parse().unwrap()));
        assert_eq!(resolver.sources.v6, None);
        assert!(resolver.settings.ipv4 && !resolver.settings.ipv6);
        assert!(
            resolver
                .allow_query
                .iter()
                .any(|p| p.contains("127.0.0.1".parse().unwrap()))
        );
        assert!(
            !resolver
                .allow_query
                .iter()
                .any(|p| p.contains("192.0.2.1".parse().unwrap()))
        );
        assert_eq!(resolver.hints.root().servers.len(), 13);
    }

    #[test]
    fn an_anycast_source_is_refused_and_says_why() {
        let err = parse("source = [\"192.0.2.53\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("resolver.source[0]") && err.contains("anycast"),
            "{err}"
        );
        let err = parse("source = [\"0.0.0.0\"]\n").unwrap_err().to_string();
        assert!(err.contains("resolver.source[0]"), "{err}");
        let err = parse("source = [\"198.51.100.7\", \"198.51.100.8\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("resolver.source[1]"), "{err}");
        let err = parse("[[resolver.forward]]\nzone = \"corp.\"\nservers = [\"192.0.2.53\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("resolver.forward[0].servers[0]"), "{err}");
    }

    #[test]
    fn trust_anchors_come_from_a_file_or_iana_and_only_with_its_hints() {
        let resolver = parse("").unwrap().resolver.unwrap();
        assert!(
            resolver.anchors.at(b"\0").is_some(),
            "IANA's root anchors by default"
        );
        let off = parse("dnssec-validation = false\n")
            .unwrap()
            .resolver
            .unwrap();
        assert!(off.anchors.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let hints = dir.path().join("root.hints");
        std::fs::write(
            &hints,
            ". 3600 IN NS a.root.\na.root. 3600 IN A 192.0.2.1\n",
        )
        .unwrap();
        let private = parse(&format!("hints = {:?}\n", hints))
            .unwrap()
            .resolver
            .unwrap();
        assert!(
            private.anchors.is_empty(),
            "no IANA anchors for a private root"
        );
        let anchor = dir.path().join("root.key");
        std::fs::write(&anchor, ". 3600 IN DS 18230 13 2 e84b55bdbf0f1bf25075e27ec995130c918be7812733e418a1d14f5b9389ce73\n").unwrap();
        let config = format!("hints = {hints:?}\ntrust-anchor-file = {anchor:?}\n");
        let lab = parse(&config).unwrap().resolver.unwrap();
        assert_eq!(lab.anchors.at(b"\0").unwrap().ds.len(), 1);
        std::fs::write(&anchor, ". 3600 IN A 192.0.2.1\n").unwrap();
        let err = parse(&config).unwrap_err().to_string();
        assert!(
            err.contains("resolver.trust-anchor-file") && err.contains("only DS and DNSKEY"),
            "{err}"
        );
    }

    #[test]
    fn resolver_listeners_need_the_section() {
        let text = BASE.replace("[resolver]", "");
        let err = Config::from_toml(&text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen[0].service"), "{err}");
    }

    #[test]
    fn forward_and_stub_zones_and_limits() {
        let config = parse(
            "cache-size-mb = 8\nmin-ttl = 5\n[[resolver.forward]]\nzone = \"Corp.\"\nservers = [\"203.0.113.1\", \"203.0.113.2:5300\"]\n[[resolver.stub]]\nzone = \"lab.\"\nservers = [\"203.0.113.9\"]\n",
        )
        .unwrap();
        let resolver = config.resolver.unwrap();
        assert_eq!(resolver.zones.len(), 2);
        assert_eq!(resolver.zones[0].zone, b"\x04corp\0");
        assert!(resolver.zones[0].forward && !resolver.zones[1].forward);
        assert_eq!(resolver.zones[0].servers[1].port(), 5300);
        assert_eq!(resolver.settings.cache.max_bytes, 8 << 20);
        let err = parse("min-ttl = 10\nmax-ttl = 5\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("resolver.min-ttl"), "{err}");
        let err = parse("hints = \"/nonexistent/root.hints\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("resolver.hints"), "{err}");
    }
}
