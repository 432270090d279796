//! Configuration: the TOML file (or the `serve` flags) parsed into validated types.
//!
//! Each section has a file here holding what the file says (`Raw*`, serde with
//! `deny_unknown_fields`, so a misspelt key is an error that names it) and its conversion
//! into the validated type (`TryFrom`, with the already validated sections it depends on
//! passed beside it). A conversion reports keys relative to its section; this file puts
//! them under the section's path, so every error names the whole key
//! (`zone[2].primaries[0]`) in a [`ConfigError`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub mod bgp;
mod error;
pub mod health;
mod listen;
mod probe_name;
mod rate_limit;
mod resolver;
mod server;
mod supervise;
mod tls;
pub mod transfer;
mod zone;

pub use bgp::BgpConfig;
pub use error::{ConfigError, KeyPath};
pub use health::{CloudConfig, HealthConfig};
pub use listen::{Listen, Role, Service, Transport};
pub use rate_limit::RateLimit;
pub use resolver::{ResolverConfig, UnicastSources};
pub use server::{DEFAULT_TCP_IDLE_TIMEOUT, DEFAULT_TCP_MAX_CONNECTIONS};
pub use supervise::SuperviseConfig;
pub use tls::{ALPN_DOT, TlsConfig};
pub use transfer::ZoneTransfer;
pub use zone::{CatalogRole, MAX_SIGNATURE_WARNING_DAYS, ZoneConfig};

use bgp::RawBgp;
use health::{HealthDefaults, RawHealth};
use listen::RawListen;
use resolver::{RawResolver, ResolverDefaults};
use server::{RawServer, Server, ServerDefaults};
use supervise::{RawSupervise, SuperviseDefaults};
use transfer::{RawKey, TransferDefaults};
use zone::{RawZone, ZoneDefaults};

use crate::cli::ServeArgs;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    listen: Vec<RawListen>,
    #[serde(default)]
    zone: Vec<RawZone>,
    #[serde(default)]
    key: Vec<RawKey>,
    bgp: Option<RawBgp>,
    health: Option<RawHealth>,
    resolver: Option<RawResolver>,
    supervise: Option<RawSupervise>,
    tls: Option<tls::RawTls>,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// NSID / id.server identity.
    pub identity: Option<String>,
    /// version.bind answer; hidden when `None`.
    pub version: Option<String>,
    /// Largest UDP answer.
    pub udp_payload: u16,
    /// UDP sockets per listener.
    pub udp_workers: usize,
    /// After a UDP batch that did not fill, a worker waits this long before reading again,
    /// so the next read takes several datagrams (fewer wake-ups and system calls per
    /// answer, at the price of up to this much latency under load); zero: read at once.
    pub udp_batch_window: Duration,
    /// Answers each UDP worker keeps to answer the same query again by a copy (zero: no
    /// answer cache).
    pub answer_cache: usize,
    /// TCP idle timeout.
    pub tcp_idle_timeout: Duration,
    /// Concurrent TCP connections.
    pub tcp_max_connections: usize,
    /// Listeners.
    pub listen: Vec<Listen>,
    /// Zones.
    pub zones: Vec<ZoneConfig>,
    /// The BGP speaker, if `[bgp]` is present.
    pub bgp: Option<BgpConfig>,
    /// Health checks and drain (`[health]`; defaults when only `[bgp]` is present).
    pub health: Option<HealthConfig>,
    /// The control socket (`anyns drain`, `undrain`, `status`).
    pub control_socket: Option<PathBuf>,
    /// This daemon is one of several instances of a site sharing their listen addresses
    /// (SO_REUSEPORT, decision 0005); without it, an address another process already
    /// listens on is an error.
    pub shared_listen: bool,
    /// DNS cookie secrets (RFC 7873/9018); `None`: cookies are not answered.
    pub cookies: Option<dns_auth::cookies::CookieSecrets>,
    /// Where Prometheus scrapes `GET /metrics`.
    pub metrics: Option<SocketAddr>,
    /// UDP response rate limiting, if on.
    pub rate_limit: Option<RateLimit>,
    /// Where received zones and journals are stored.
    pub storage: Option<PathBuf>,
    /// TSIG keys (`[[key]]`).
    pub keys: Vec<dns_tsig::Key>,
    /// The recursive resolver (`[resolver]`), answering on the resolver listeners.
    pub resolver: Option<ResolverConfig>,
    /// The DNS instances this process starts and restarts (`[supervise]`).
    pub supervise: Option<SuperviseConfig>,
    /// The TLS listeners' certificate, key and ticket key (`[tls]`).
    pub tls: Option<TlsConfig>,
    /// The file this was read from (SIGHUP reads it again to report what changed).
    pub source: Option<PathBuf>,
}

impl Config {
    /// Reads and validates a TOML file; relative zone paths are taken from its directory.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(KeyPath::default(), format!("cannot read it: {e}")).in_file(path)
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        let mut config = Self::from_toml(&text, base).map_err(|e| e.in_file(path))?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses TOML text; relative zone paths are joined to `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text)
            .map_err(|e| ConfigError::new(KeyPath::default(), e.to_string()))?;
        Self::try_from_raw(raw, base)
    }

    /// Builds the configuration for `anyns serve`.
    pub fn from_serve_args(args: &ServeArgs) -> Result<Self, ConfigError> {
        let mut config = match &args.config {
            Some(path) => Self::from_file(path)?,
            None => {
                let raw = RawConfig {
                    server: RawServer::default(),
                    listen: args
                        .listen
                        .iter()
                        .map(|a| RawListen {
                            address: a.clone(),
                            role: None,
                            transfers: None,
                            service: None,
                            transport: Transport::Plain,
                        })
                        .collect(),
                    zone: args
                        .zone
                        .iter()
                        .map(|z| {
                            let (name, file) = z
                                .split_once('=')
                                .filter(|(name, file)| !name.is_empty() && !file.is_empty())
                                .ok_or_else(|| {
                                    ConfigError::new(
                                        KeyPath::root("--zone"),
                                        format!("{z:?}: expected ORIGIN=FILE"),
                                    )
                                    .hint("name the root zone \".\" (--zone .=root.zone)")
                                })?;
                            Ok(RawZone::primary(name, file))
                        })
                        .collect::<Result<_, ConfigError>>()?,
                    key: Vec::new(),
                    bgp: None,
                    health: None,
                    resolver: None,
                    supervise: None,
                    tls: None,
                };
                Self::try_from_raw(raw, Path::new("."))?
            }
        };
        if let Some(nsid) = &args.nsid {
            config.identity = Some(server::identity(nsid, KeyPath::root("--nsid"))?);
        }
        if let Some(payload) = args.udp_payload {
            config.udp_payload = server::udp_payload(payload, KeyPath::root("--udp-payload"))?;
        }
        if let Some(workers) = args.udp_workers {
            if workers == 0 {
                return Err(ConfigError::new(
                    KeyPath::root("--udp-workers"),
                    "0 workers would answer nothing",
                ));
            }
            config.udp_workers = workers;
        }
        if let Some(window) = args.udp_batch_window_us {
            if window > server::MAX_UDP_BATCH_WINDOW_US {
                return Err(ConfigError::new(
                    KeyPath::root("--udp-batch-window-us"),
                    format!("{window} is not 0 to {}", server::MAX_UDP_BATCH_WINDOW_US),
                ));
            }
            config.udp_batch_window = Duration::from_micros(window as u64);
        }
        if let Some(entries) = args.answer_cache {
            if entries > server::MAX_ANSWER_CACHE {
                return Err(ConfigError::new(
                    KeyPath::root("--answer-cache"),
                    format!("{entries} is not 0 to {}", server::MAX_ANSWER_CACHE),
                ));
            }
            config.answer_cache = entries;
        }
        Ok(config)
    }

    /// Converts the sections in the order they depend on each other: listeners,
    /// `[resolver]`, keys, zones, `[server]`, `[bgp]`, then `[health]`.
    fn try_from_raw(raw: RawConfig, base: &Path) -> Result<Self, ConfigError> {
        let listen = raw
            .listen
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                Listen::try_from(l).map_err(|e| e.within(&KeyPath::root("listen").index(i)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if listen.is_empty() {
            return Err(
                ConfigError::new(KeyPath::root("listen"), "no listen addresses")
                    .hint("add a [[listen]] section with an address, or pass --listen"),
            );
        }
        for (i, l) in listen.iter().enumerate() {
            if let Some(first) = listen[..i].iter().position(|o| o.address == l.address) {
                return Err(ConfigError::new(
                    KeyPath::root("listen").index(i).key("address"),
                    format!("{} is listen[{first}]'s address too", l.address),
                )
                .hint("each address and port is listened on once"));
            }
        }
        resolver::check_listeners(&listen, raw.resolver.is_some())?;
        let tls = raw
            .tls
            .map(|t| TlsConfig::load(t, base))
            .transpose()
            .map_err(|e| e.within(&KeyPath::root("tls")))?;
        if let (Some(i), None) = (
            listen.iter().position(|l| l.transport == Transport::Tls),
            &tls,
        ) {
            return Err(ConfigError::new(
                KeyPath::root("listen").index(i).key("transport"),
                "\"tls\" needs a [tls] section (certificate and key)",
            ));
        }
        let resolver = raw
            .resolver
            .map(|r| {
                ResolverConfig::try_from((
                    r,
                    &ResolverDefaults {
                        base,
                        listen: &listen,
                    },
                ))
            })
            .transpose()
            .map_err(|e| e.within(&KeyPath::root("resolver")))?;
        let keys = raw
            .key
            .iter()
            .enumerate()
            .map(|(i, k)| {
                dns_tsig::Key::try_from(k).map_err(|e| e.within(&KeyPath::root("key").index(i)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let anycast: Vec<std::net::IpAddr> = listen
            .iter()
            .filter(|l| l.role == Role::Anycast)
            .map(|l| l.address.ip())
            .collect();
        let zone_defaults = ZoneDefaults {
            base,
            transfer: TransferDefaults {
                source: listen
                    .iter()
                    .find(|l| l.role == Role::Unicast && !l.address.ip().is_unspecified())
                    .map(|l| l.address.ip()),
                keys: &keys,
                anycast: &anycast,
            },
        };
        let mut zones: Vec<ZoneConfig> = Vec::new();
        for (i, raw_zone) in raw.zone.into_iter().enumerate() {
            let at = KeyPath::root("zone").index(i);
            let zone =
                ZoneConfig::try_from((raw_zone, &zone_defaults)).map_err(|e| e.within(&at))?;
            if zones.iter().any(|other| other.origin == zone.origin) {
                return Err(ConfigError::new(
                    at.key("name"),
                    format!("{} is listed twice", dns_wire::name_to_text(&zone.origin)),
                ));
            }
            zones.push(zone);
        }
        if raw.server.storage.is_none() && zones.iter().any(|z| z.transfer.is_secondary()) {
            return Err(ConfigError::new(
                KeyPath::root("server").key("storage"),
                "required with secondary zones (received zones are stored there)",
            )
            .hint("name a directory anyns may write, e.g. \"/var/lib/anyns\""));
        }
        let server = Server::try_from((
            raw.server,
            &ServerDefaults {
                base,
                listen: &listen,
            },
        ))
        .map_err(|e| e.within(&KeyPath::root("server")))?;
        let bgp = raw
            .bgp
            .map(BgpConfig::try_from)
            .transpose()
            .map_err(|e| e.within(&KeyPath::root("bgp")))?;
        let supervise = raw
            .supervise
            .map(|raw| {
                SuperviseConfig::try_from((
                    raw,
                    &SuperviseDefaults {
                        base,
                        listen: &listen,
                        control_socket: server.control_socket.as_deref(),
                    },
                ))
            })
            .transpose()
            .map_err(|e| e.within(&KeyPath::root("supervise")))?;
        let health = match (raw.health, &bgp) {
            (None, None) => None,
            (health, bgp) => Some(
                HealthConfig::try_from((
                    health.unwrap_or_default(),
                    &HealthDefaults {
                        bgp: bgp.as_ref(),
                        listen: &listen,
                        zones: &zones,
                        supervised: supervise.as_ref(),
                    },
                ))
                .map_err(|e| e.within(&KeyPath::root("health")))?,
            ),
        };
        Ok(Self {
            identity: server.identity,
            version: server.version,
            udp_payload: server.udp_payload,
            udp_workers: server.udp_workers,
            udp_batch_window: server.udp_batch_window,
            answer_cache: server.answer_cache,
            tcp_idle_timeout: server.tcp_idle_timeout,
            tcp_max_connections: server.tcp_max_connections,
            listen,
            zones,
            bgp,
            health,
            control_socket: server.control_socket,
            shared_listen: server.shared_listen,
            cookies: server.cookies,
            metrics: server.metrics,
            rate_limit: server.rate_limit,
            storage: server.storage,
            keys,
            resolver,
            supervise,
            tls,
            source: None,
        })
    }
}

impl Config {
    /// The parts of `new` that differ from `self`, by key, for SIGHUP: the running daemon
    /// reloads zone files (their contents), while these need a restart. Sections are
    /// compared through their `Debug` text: no section holds anything whose text changes
    /// between two loads of the same file (the TLS section is compared by its file paths,
    /// a cookie secret drawn at start is compared as absent).
    pub fn changes_needing_restart(&self, new: &Self) -> Vec<&'static str> {
        let mut changed = Vec::new();
        let mut differs = |key: &'static str, a: String, b: String| {
            if a != b {
                changed.push(key);
            }
        };
        differs(
            "server",
            format!(
                "{:?}{:?}{}{}{:?}{}{:?}{}{:?}{:?}{:?}{:?}{:?}",
                self.identity,
                self.version,
                self.udp_payload,
                self.udp_workers,
                self.udp_batch_window,
                self.answer_cache,
                self.tcp_idle_timeout,
                self.tcp_max_connections,
                self.control_socket,
                self.metrics,
                self.rate_limit,
                self.storage,
                self.shared_listen
            ),
            format!(
                "{:?}{:?}{}{}{:?}{}{:?}{}{:?}{:?}{:?}{:?}{:?}",
                new.identity,
                new.version,
                new.udp_payload,
                new.udp_workers,
                new.udp_batch_window,
                new.answer_cache,
                new.tcp_idle_timeout,
                new.tcp_max_connections,
                new.control_socket,
                new.metrics,
                new.rate_limit,
                new.storage,
                new.shared_listen
            ),
        );
        differs(
            "listen",
            format!("{:?}", self.listen),
            format!("{:?}", new.listen),
        );
        differs(
            "zone",
            format!("{:?}", self.zones),
            format!("{:?}", new.zones),
        );
        differs("key", format!("{:?}", self.keys), format!("{:?}", new.keys));
        differs("bgp", format!("{:?}", self.bgp), format!("{:?}", new.bgp));
        differs(
            "health",
            format!("{:?}", self.health),
            format!("{:?}", new.health),
        );
        differs(
            "resolver",
            format!("{:?}", self.resolver),
            format!("{:?}", new.resolver),
        );
        differs(
            "supervise",
            format!("{:?}", self.supervise),
            format!("{:?}", new.supervise),
        );
        let tls_files = |c: &Self| {
            c.tls.as_ref().map(|t| {
                (
                    t.certificate.clone(),
                    t.key.clone(),
                    t.ticket_key_file.clone(),
                )
            })
        };
        differs(
            "tls",
            format!("{:?}", tls_files(self)),
            format!("{:?}", tls_files(new)),
        );
        changed
    }
}

/// The views of one `[supervise]` configuration: the supervisor's and each instance's.
impl Config {
    /// The configuration of DNS instance `i` of a supervised site: the listeners shared
    /// with the other instances plus its probe address, the zones (a storage directory of
    /// its own for secondaries), and nothing of BGP, health, control or metrics.
    pub fn instance_view(mut self, i: usize) -> Result<Self, ConfigError> {
        let Some(supervise) = self.supervise.take() else {
            return Err(ConfigError::new(
                KeyPath::root("--instance"),
                "the configuration has no [supervise] section",
            ));
        };
        let Some(&probe) = supervise.probe_addresses.get(i) else {
            return Err(ConfigError::new(
                KeyPath::root("--instance"),
                format!("{i}: [supervise] has {} instances", supervise.instances),
            ));
        };
        self.listen.push(Listen {
            address: probe,
            role: Role::Unicast,
            transfers: false,
            service: Service::Authoritative,
            transport: Transport::Plain,
        });
        self.shared_listen = true;
        self.bgp = None;
        self.health = None;
        self.control_socket = None;
        self.metrics = None;
        self.storage = self.storage.map(|s| s.join(format!("instance-{i}")));
        Ok(self)
    }

    /// The supervisor's own configuration: BGP, health (probing the instances), control
    /// and metrics, the zones (the probes compare serials with its copy) and the unicast
    /// listeners, shared with the instances; the anycast ones are the instances' alone.
    pub fn supervisor_view(mut self) -> Self {
        self.listen.retain(|l| l.role != Role::Anycast);
        self.shared_listen = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[server]
identity = "ams-1"
udp-payload = 1232

[[listen]]
address = "127.0.0.1:5353"
role = "unicast"

[[listen]]
address = "[::1]:5353"

[[zone]]
name = "Example.COM."
file = "example.zone"
"#;

    #[test]
    fn parses_a_full_config() {
        let config = Config::from_toml(GOOD, Path::new("/etc/anyns")).unwrap();
        assert_eq!(config.identity.as_deref(), Some("ams-1"));
        assert_eq!(config.listen.len(), 2);
        assert_eq!(config.listen[0].role, Role::Unicast);
        assert_eq!(config.listen[1].role, Role::Anycast);
        assert_eq!(config.zones[0].origin, b"\x07example\x03com\x00");
        assert_eq!(
            config.zones[0].file.as_deref(),
            Some(Path::new("/etc/anyns/example.zone"))
        );
        assert_eq!(config.tcp_idle_timeout, DEFAULT_TCP_IDLE_TIMEOUT);
    }

    #[test]
    fn rate_limit_defaults_and_errors() {
        let config = Config::from_toml(GOOD, Path::new(".")).unwrap();
        assert_eq!(config.rate_limit, None);
        let text = GOOD.replace("[server]", "[server]\nrate-limit = 20");
        let limit = Config::from_toml(&text, Path::new("."))
            .unwrap()
            .rate_limit
            .unwrap();
        assert_eq!((limit.rate, limit.slip), (20, 1));
        // Loopback and our own addresses are exempt by default.
        let own = |ip: &str| limit.exempt.iter().any(|p| p.contains(ip.parse().unwrap()));
        assert!(own("127.0.0.9") && own("::1"));
        assert!(!own("192.0.2.1"));
        for (extra, key) in [
            ("rate-limit-slip = 2", "server.rate-limit-slip"),
            ("rate-limit = 2000000", "server.rate-limit"),
            ("rate-limit = 5\nrate-limit-slip = 101", "rate-limit-slip"),
            (
                "rate-limit = 5\nrate-limit-exempt = [\"nope\"]",
                "server.rate-limit-exempt[0]",
            ),
        ] {
            let text = GOOD.replace("[server]", &format!("[server]\n{extra}"));
            let err = Config::from_toml(&text, Path::new("."))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn metrics_address_is_checked() {
        let text = GOOD.replace("[server]", "[server]\nmetrics = \"127.0.0.1:9153\"");
        let config = Config::from_toml(&text, Path::new(".")).unwrap();
        assert_eq!(config.metrics, Some("127.0.0.1:9153".parse().unwrap()));
        for (value, expected) in [
            ("nope", "not ADDR:PORT"),
            ("[::1]:9153", "anycast"),
            ("0.0.0.0:9153", "every address"),
        ] {
            let text = GOOD.replace("[server]", &format!("[server]\nmetrics = \"{value}\""));
            let err = Config::from_toml(&text, Path::new("."))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("server.metrics") && err.contains(expected),
                "{err}"
            );
        }
    }

    #[test]
    fn signature_warning_days_sets_the_window() {
        let config = Config::from_toml(GOOD, Path::new(".")).unwrap();
        assert_eq!(
            config.zones[0].signature_window,
            dns_zone::DEFAULT_SIGNATURE_WINDOW
        );
        let text = format!("{GOOD}signature-warning-days = 30\n");
        let config = Config::from_toml(&text, Path::new(".")).unwrap();
        assert_eq!(config.zones[0].signature_window, 30 * 86_400);
        let text = format!("{GOOD}signature-warning-days = 400\n");
        let err = Config::from_toml(&text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains("zone[0].signature-warning-days"), "{err}");
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let text = GOOD.replace("udp-payload", "udp-paylod");
        let err = Config::from_toml(&text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains("udp-paylod"), "{err}");
        let text = GOOD.replace("role = \"unicast\"", "role = \"multicast\"");
        let err = Config::from_toml(&text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains("multicast"), "{err}");
    }

    #[test]
    fn cookie_secrets_come_inline_or_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let secret = "e5e973e5a6b2a43f48e7dc849e37bfcf";
        let with = |server: &str| {
            Config::from_toml(
                &GOOD.replacen("udp-payload", &format!("{server}\nudp-payload"), 1),
                dir.path(),
            )
        };
        let config = with(&format!("cookie-secret = \"{secret}\"")).unwrap();
        assert_eq!(config.cookies.as_ref().unwrap().current[0], 0xe5);
        assert!(
            with("").unwrap().cookies.is_some(),
            "on by default, with a drawn secret"
        );
        assert!(with("cookies = false").unwrap().cookies.is_none());
        let file = dir.path().join("cookie.secrets");
        std::fs::write(
            &file,
            format!("# current, then previous\n{secret}\n{}\n", "00".repeat(16)),
        )
        .unwrap();
        let config = with(&format!("cookie-secret-file = {:?}", file)).unwrap();
        let secrets = config.cookies.unwrap();
        assert_eq!(
            (secrets.current[0], secrets.previous),
            (0xe5, Some([0; 16]))
        );
        for (server, key) in [
            ("cookie-secret = \"xyz\"", "server.cookie-secret"),
            (
                "cookies = false\ncookie-secret = \"e5e973e5a6b2a43f48e7dc849e37bfcf\"",
                "server.cookie-secret",
            ),
            (
                "cookie-secret-previous = \"e5e973e5a6b2a43f48e7dc849e37bfcf\"",
                "server.cookie-secret-previous",
            ),
            (
                "cookie-secret-file = \"/nonexistent\"",
                "server.cookie-secret-file",
            ),
        ] {
            let err = with(server).unwrap_err().to_string();
            assert!(err.contains(key), "{server}: {err}");
        }
    }

    #[test]
    fn a_control_socket_path_the_kernel_cannot_bind_is_an_error() {
        let with = |path: &str| {
            Config::from_toml(
                &GOOD.replacen(
                    "udp-payload",
                    &format!("control-socket = \"{path}\"\nudp-payload"),
                    1,
                ),
                Path::new("/etc/anyns"),
            )
        };
        let longest = format!("/run/{}.sock", "x".repeat(107 - "/run/.sock".len()));
        assert_eq!(longest.len(), 107);
        assert!(with(&longest).is_ok());
        let err = with(&format!("/run/{}.sock", "x".repeat(98)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("server.control-socket") && err.contains("108 octets long"),
            "{err}"
        );
    }

    #[test]
    fn out_of_range_values_are_errors_not_clamped() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        let storage = format!("storage = \"{}\"\nudp-payload", file.display());
        let cases = [
            (
                "udp-payload",
                "udp-workers = 0\nudp-payload",
                "server.udp-workers",
            ),
            (
                "udp-payload",
                "udp-batch-window-us = 10001\nudp-payload",
                "server.udp-batch-window-us",
            ),
            (
                "udp-payload",
                "tcp-max-connections = 0\nudp-payload",
                "server.tcp-max-connections",
            ),
            ("udp-payload", &storage, "server.storage"),
            ("127.0.0.1:5353", "127.0.0.1:0", "listen[0].address"),
            ("[::1]:5353", "127.0.0.1:5353", "listen[1].address"),
            (
                "file = \"example.zone\"",
                "file = \"example.zone\"\nprimaries = [\"192.0.2.1\"]",
                "zone[0].file",
            ),
        ];
        for (from, to, key) in cases {
            let text = GOOD.replacen(from, to, 1);
            let err = Config::from_toml(&text, dir.path())
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{to}: {err}");
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        let text = GOOD.replace("127.0.0.1:5353", "localhost");
        let err = Config::from_toml(&text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen[0].address"), "{err}");
        let text = GOOD.replace("1232", "100");
        let err = Config::from_toml(&text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.udp-payload"), "{err}");
        let text = GOOD.replace("Example.COM.", "a..b");
        let err = Config::from_toml(&text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains("zone[0].name"), "{err}");
    }
}
