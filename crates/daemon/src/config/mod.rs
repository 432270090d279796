//! Configuration: the TOML file (or the `serve` flags) parsed into validated types.
//!
//! `RawConfig` mirrors the file with `deny_unknown_fields`, so a misspelt key is an error
//! that names it; `Config` holds only values that passed validation.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub mod bgp;
pub mod health;
mod listen;
mod rate_limit;
pub mod transfer;
mod zone;

pub use bgp::BgpConfig;
pub use health::{CloudConfig, HealthConfig};
pub use listen::{Listen, Role};
pub use rate_limit::RateLimit;
pub use transfer::ZoneTransfer;
pub use zone::{CatalogRole, ZoneConfig};

use bgp::RawBgp;
use health::RawHealth;
use rate_limit::validate_rate_limit;
use transfer::{RawKey, RawTransfer};

use crate::cli::ServeArgs;
use crate::error::Error;

/// The longest signature-expiry warning window: a year (RRSIG validity is rarely longer).
pub const MAX_SIGNATURE_WARNING_DAYS: u32 = 366;

/// Default TCP idle timeout: Knot's `tcp-idle-timeout` default; RFC 7766 §6.2.3 asks for
/// timeouts of "at least a few seconds".
pub const DEFAULT_TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default limit on concurrent TCP connections per server.
pub const DEFAULT_TCP_MAX_CONNECTIONS: usize = 1024;

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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawServer {
    identity: Option<String>,
    version: Option<String>,
    udp_payload: Option<u16>,
    udp_workers: Option<usize>,
    tcp_idle_timeout: Option<u64>,
    tcp_max_connections: Option<usize>,
    storage: Option<PathBuf>,
    control_socket: Option<PathBuf>,
    metrics: Option<String>,
    rate_limit: Option<u32>,
    rate_limit_slip: Option<u32>,
    rate_limit_exempt: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawListen {
    address: String,
    role: Option<Role>,
    transfers: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawZone {
    name: String,
    file: Option<PathBuf>,
    #[serde(default)]
    primaries: Vec<String>,
    #[serde(default)]
    notify: Vec<String>,
    #[serde(default)]
    allow_transfer: Vec<String>,
    #[serde(default)]
    allow_notify: Vec<String>,
    source: Option<String>,
    key: Option<String>,
    catalog: Option<CatalogRole>,
    /// Warn about RRSIGs that expire within this many days of a load (default 7).
    signature_warning_days: Option<u32>,
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
    /// Where Prometheus scrapes `GET /metrics`.
    pub metrics: Option<SocketAddr>,
    /// UDP response rate limiting, if on.
    pub rate_limit: Option<RateLimit>,
    /// Where received zones and journals are stored.
    pub storage: Option<PathBuf>,
    /// TSIG keys (`[[key]]`).
    pub keys: Vec<dns_tsig::Key>,
}

impl Config {
    /// Reads and validates a TOML file; relative zone paths are taken from its directory.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        Self::from_toml(&text, base).map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parses TOML text; relative zone paths are joined to `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Self, Error> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        Self::try_from_raw(raw, base)
    }

    /// Builds the configuration for `anyns serve`.
    pub fn from_serve_args(args: &ServeArgs) -> Result<Self, Error> {
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
                        })
                        .collect(),
                    zone: args
                        .zone
                        .iter()
                        .map(|z| {
                            let (name, file) = z.split_once('=').ok_or_else(|| {
                                Error::Config(format!("--zone {z}: expected ORIGIN=FILE"))
                            })?;
                            Ok(RawZone {
                                name: name.into(),
                                file: Some(file.into()),
                                primaries: Vec::new(),
                                notify: Vec::new(),
                                allow_transfer: Vec::new(),
                                allow_notify: Vec::new(),
                                source: None,
                                key: None,
                                catalog: None,
                                signature_warning_days: None,
                            })
                        })
                        .collect::<Result<_, Error>>()?,
                    key: Vec::new(),
                    bgp: None,
                    health: None,
                };
                Self::try_from_raw(raw, Path::new("."))?
            }
        };
        if let Some(nsid) = &args.nsid {
            config.identity = Some(validate_identity(nsid, "--nsid")?);
        }
        if let Some(payload) = args.udp_payload {
            config.udp_payload = validate_payload(payload, "--udp-payload")?;
        }
        if let Some(workers) = args.udp_workers {
            config.udp_workers = workers.max(1);
        }
        Ok(config)
    }

    fn try_from_raw(raw: RawConfig, base: &Path) -> Result<Self, Error> {
        let server = raw.server;
        let listen = raw
            .listen
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let address = l.address.parse().map_err(|_| {
                    Error::Config(format!(
                        "listen[{i}].address: {:?} is not ADDR:PORT",
                        l.address
                    ))
                })?;
                let role = l.role.unwrap_or(Role::Anycast);
                Ok(Listen {
                    address,
                    role,
                    transfers: l.transfers.unwrap_or(role == Role::Unicast),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        if listen.is_empty() {
            return Err(Error::Config(
                "no listen addresses (add [[listen]] or --listen)".into(),
            ));
        }
        let keys = raw
            .key
            .iter()
            .enumerate()
            .map(|(i, k)| transfer::validate_key(k, i))
            .collect::<Result<Vec<_>, Error>>()?;
        let mut zones = Vec::new();
        for (i, z) in raw.zone.into_iter().enumerate() {
            let mut origin = dns_wire::name_from_text(&z.name)
                .map_err(|e| Error::Config(format!("zone[{i}].name: {:?}: {e}", z.name)))?;
            dns_wire::lowercase_in_place(&mut origin);
            if zones
                .iter()
                .any(|other: &ZoneConfig| other.origin == origin)
            {
                return Err(Error::Config(format!(
                    "zone[{i}].name: {} is listed twice",
                    z.name
                )));
            }
            let raw_transfer = RawTransfer {
                primaries: &z.primaries,
                notify: &z.notify,
                allow_transfer: &z.allow_transfer,
                allow_notify: &z.allow_notify,
                source: z.source.as_deref(),
                key: z.key.as_deref(),
            };
            let default_source = listen
                .iter()
                .find(|l| l.role == Role::Unicast && !l.address.ip().is_unspecified())
                .map(|l| l.address.ip());
            let transfer = transfer::validate(raw_transfer, i, default_source, &keys)?;
            let file = z
                .file
                .map(|f| if f.is_absolute() { f } else { base.join(f) });
            match z.catalog {
                Some(CatalogRole::Consumer) if !transfer.is_secondary() => {
                    return Err(Error::Config(format!(
                        "zone[{i}].catalog: a consumed catalog needs primaries"
                    )));
                }
                Some(CatalogRole::Producer) if file.is_some() || transfer.is_secondary() => {
                    return Err(Error::Config(format!(
                        "zone[{i}].catalog: a produced catalog is built from our zones: no file or primaries"
                    )));
                }
                Some(CatalogRole::Producer) => {}
                _ if file.is_none() && !transfer.is_secondary() => {
                    return Err(Error::Config(format!(
                        "zone[{i}]: needs a file (a primary zone) or primaries (a secondary zone)"
                    )));
                }
                _ => {}
            }
            let signature_window = match z.signature_warning_days {
                None => dns_zone::DEFAULT_SIGNATURE_WINDOW,
                Some(days) if days <= MAX_SIGNATURE_WARNING_DAYS => days * 86_400,
                Some(days) => {
                    return Err(Error::Config(format!(
                        "zone[{i}].signature-warning-days: {days} is more than {MAX_SIGNATURE_WARNING_DAYS}"
                    )));
                }
            };
            zones.push(ZoneConfig {
                origin,
                file,
                transfer,
                catalog: z.catalog,
                signature_window,
            });
        }
        if server.storage.is_none() && zones.iter().any(|z| z.transfer.is_secondary()) {
            return Err(Error::Config(
                "server.storage: required with secondary zones (received zones are stored there)"
                    .into(),
            ));
        }
        let bgp = raw.bgp.map(RawBgp::validate).transpose()?;
        let health = match (raw.health, &bgp) {
            (Some(health), bgp) => Some(health.validate(bgp.as_ref(), &listen, &zones)?),
            (None, Some(bgp)) => Some(HealthConfig::default_for(bgp, &listen, &zones)?),
            (None, None) => None,
        };
        let control_socket = server
            .control_socket
            .map(|s| if s.is_absolute() { s } else { base.join(s) });
        let metrics = server
            .metrics
            .as_deref()
            .map(|text| validate_metrics(text, &listen))
            .transpose()?;
        let rate_limit = validate_rate_limit(
            server.rate_limit,
            server.rate_limit_slip,
            server.rate_limit_exempt.as_deref(),
            &listen,
        )?;
        Ok(Self {
            identity: server
                .identity
                .map(|i| validate_identity(&i, "server.identity"))
                .transpose()?,
            version: server.version,
            udp_payload: server
                .udp_payload
                .map(|p| validate_payload(p, "server.udp-payload"))
                .transpose()?
                .unwrap_or(dns_auth::DEFAULT_UDP_PAYLOAD),
            udp_workers: server.udp_workers.unwrap_or_else(default_workers).max(1),
            tcp_idle_timeout: server
                .tcp_idle_timeout
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_TCP_IDLE_TIMEOUT),
            tcp_max_connections: server
                .tcp_max_connections
                .unwrap_or(DEFAULT_TCP_MAX_CONNECTIONS)
                .max(1),
            listen,
            zones,
            bgp,
            health,
            control_socket,
            metrics,
            rate_limit,
            storage: server
                .storage
                .map(|s| if s.is_absolute() { s } else { base.join(s) }),
            keys,
        })
    }
}

/// `server.metrics`: ADDR:PORT, not on an anycast address (a scrape there could reach any
/// site, docs/design.md principle 2).
fn validate_metrics(text: &str, listen: &[Listen]) -> Result<SocketAddr, Error> {
    let address: SocketAddr = text
        .parse()
        .map_err(|_| Error::Config(format!("server.metrics: {text:?} is not ADDR:PORT")))?;
    if address.ip().is_unspecified() {
        return Err(Error::Config(format!(
            "server.metrics: {} listens on every address, the anycast ones too; name one",
            address.ip()
        )));
    }
    if listen
        .iter()
        .any(|l| l.role == Role::Anycast && l.address.ip() == address.ip())
    {
        return Err(Error::Config(format!(
            "server.metrics: {} is an anycast address; use the unicast address or loopback",
            address.ip()
        )));
    }
    Ok(address)
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn validate_identity(identity: &str, key: &str) -> Result<String, Error> {
    if identity.is_empty() || identity.len() > 255 {
        return Err(Error::Config(format!("{key}: must be 1 to 255 octets")));
    }
    Ok(identity.to_string())
}

/// RFC 6891 §6.2.5: below 512 is not meaningful; above 4096 invites fragmentation.
fn validate_payload(payload: u16, key: &str) -> Result<u16, Error> {
    if !(512..=4096).contains(&payload) {
        return Err(Error::Config(format!(
            "{key}: {payload} is outside 512..=4096"
        )));
    }
    Ok(payload)
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
            ("rate-limit-slip = 2", "rate-limit-slip"),
            ("rate-limit = 2000000", "server.rate-limit"),
            ("rate-limit = 5\nrate-limit-slip = 101", "rate-limit-slip"),
            (
                "rate-limit = 5\nrate-limit-exempt = [\"nope\"]",
                "rate-limit-exempt[0]",
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
