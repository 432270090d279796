//! The `[health]` section: what the file says ([`RawHealth`], serde with
//! `deny_unknown_fields`) and what the health driver runs with ([`HealthConfig`]).
//!
//! ```toml
//! [health]
//! interval-ms = 20            # probe every instance this often
//! timeout-ms = 16             # a probe's answer must come within this (< interval)
//! rise = 3                    # good probes before a check is up
//! fall = 3                    # failed probes before it is down (a closed port: at once)
//! hold-down-ms = 2000         # out at least this long after a health withdrawal
//! damping = true              # RFC 2439-style flap damping (health::Damping defaults)
//! last-site-guard = false     # keep announcing when only zone data (global) fails
//! graceful-shutdown-ms = 1000 # drain: GRACEFUL_SHUTDOWN this long before withdrawing
//! drain-on-sigterm = true     # SIGTERM drains, waits for queries to stop, then exits
//! drain-quiet-ms = 500        # ... "stopped" = no query for this long
//! drain-timeout-ms = 30000    # ... or exit anyway after this long
//! stale-after-ms = 30000      # a secondary zone lagging its primary's known serial longer is stale
//!
//! [[health.cloud]]
//! name = "ns1"
//! prefixes = ["203.0.113.53/32"]      # default: every bgp prefix (one cloud)
//! instances = ["127.0.0.1:53"]        # default: every listener (wildcard: loopback)
//! min-instances = 1                   # k of N
//! zones = ["example."]                # probed with SOA (default: every zone)
//! probe-names = ["www.example.", "_check.example. TXT"]  # also asked: AA, NOERROR, a record
//! servers = ["127.0.0.1:5353"]        # third-party servers: AA + NOERROR, all must pass
//! commands = [["/usr/local/bin/check", "arg"]]
//! command-timeout-ms = 1000
//! command-interval-ms = 1000
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bgp_session::bgp_wire::Prefix;
use health::{Damping, Policy};
use serde::Deserialize;

use super::bgp::BgpConfig;
use super::error::{ConfigError, KeyPath};
use super::listen::Listen;
use super::zone::ZoneConfig;

/// Default quiet period of a SIGTERM drain: once no query has arrived for this long after
/// the withdrawal, the routers have moved the catchment elsewhere.
pub const DEFAULT_DRAIN_QUIET: Duration = Duration::from_millis(500);

/// Default bound on a SIGTERM drain (a stream that never stops must not block a restart).
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Default bound on a secondary's lag: a zone whose served serial has been older than the
/// primary's known one (NOTIFY or SOA) for longer is stale (`Cause::ZoneStale`) and the
/// cloud withdraws (RFC 4786 §4.6, RFC 3258 §2.3). A NOTIFY'd change normally arrives in
/// milliseconds; 30 s leaves room for a large AXFR and a few retries of a failed transfer
/// (the refresh task retries within seconds) without letting a cut-off site answer with old
/// data for long — well inside the minutes a TTL-bound change may take to be seen anyway.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(30);

/// Default command-check timeout and interval: a process start per check, so once a second.
pub const DEFAULT_COMMAND_INTERVAL: Duration = Duration::from_secs(1);

/// The `[health]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawHealth {
    interval_ms: Option<u64>,
    timeout_ms: Option<u64>,
    rise: Option<u32>,
    fall: Option<u32>,
    hold_down_ms: Option<u64>,
    damping: Option<bool>,
    last_site_guard: Option<bool>,
    graceful_shutdown_ms: Option<u64>,
    drain_on_sigterm: Option<bool>,
    drain_quiet_ms: Option<u64>,
    drain_timeout_ms: Option<u64>,
    stale_after_ms: Option<u64>,
    #[serde(default)]
    cloud: Vec<RawCloud>,
}

/// One `[[health.cloud]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCloud {
    name: String,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    instances: Vec<String>,
    min_instances: Option<usize>,
    #[serde(default)]
    instance_pid_files: Vec<std::path::PathBuf>,
    zones: Option<Vec<String>>,
    #[serde(default)]
    probe_names: Vec<String>,
    #[serde(default)]
    servers: Vec<String>,
    #[serde(default)]
    commands: Vec<Vec<String>>,
    command_timeout_ms: Option<u64>,
    command_interval_ms: Option<u64>,
    /// Probe the instances as resolvers: a random name below this one, resolved past the
    /// cache (a resolver cloud).
    resolver_probe: Option<String>,
}

/// The validated `[health]` section.
#[derive(Clone, Debug)]
pub struct HealthConfig {
    /// The policy shared by the clouds (`min_instances` is set per cloud).
    pub policy: Policy,
    /// SIGTERM drains before stopping.
    pub drain_on_sigterm: bool,
    /// A SIGTERM drain ends when no query arrived for this long ...
    pub drain_quiet: Duration,
    /// ... or after this long.
    pub drain_timeout: Duration,
    /// A secondary zone lagging its primary for longer than this is stale.
    pub stale_after: Duration,
    /// The clouds.
    pub clouds: Vec<CloudConfig>,
}

/// One validated cloud.
#[derive(Clone, Debug)]
pub struct CloudConfig {
    /// Its name in logs and the control API.
    pub name: String,
    /// What it announces.
    pub prefixes: Vec<Prefix>,
    /// The DNS instances probed (k of N).
    pub instances: Vec<SocketAddr>,
    /// k.
    pub min_instances: usize,
    /// PID files of the instances, in the same order: an instance whose probes time out
    /// (hung, e.g. SIGSTOP or a deadlock) is killed with SIGKILL, so the kernel stops giving
    /// it a share of the SO_REUSEPORT traffic; its init system restarts it. Empty: never
    /// kill.
    pub instance_pid_files: Vec<std::path::PathBuf>,
    /// Zone origins (wire form) probed with SOA and checked for expiry.
    pub zones: Vec<Vec<u8>>,
    /// Names (wire form) and types the instances and servers are also asked, in turn with
    /// the zones: each answer must be authoritative NOERROR with a record of the type.
    pub probe_names: Vec<(Vec<u8>, u16)>,
    /// Third-party DNS servers at the site (site checks).
    pub servers: Vec<SocketAddr>,
    /// Command checks (program and arguments).
    pub commands: Vec<Vec<String>>,
    /// A command check fails when it runs longer than this.
    pub command_timeout: Duration,
    /// How often each command runs.
    pub command_interval: Duration,
    /// A resolver cloud: its instances are probed with a query for a random name below this
    /// one (wire form), which only real recursion can answer (NOERROR or NXDOMAIN with RA).
    pub resolver_probe: Option<Vec<u8>>,
}

/// What `[health]` is read against: the prefixes BGP announces, the listeners (probed by
/// default) and the zones (checked by default).
pub(crate) struct HealthDefaults<'a> {
    pub(crate) bgp: Option<&'a BgpConfig>,
    pub(crate) listen: &'a [Listen],
    pub(crate) zones: &'a [ZoneConfig],
    /// A supervisor's instances: probed (and killed when hung) by default.
    pub(crate) supervised: Option<&'a super::supervise::SuperviseConfig>,
}

impl TryFrom<(RawHealth, &HealthDefaults<'_>)> for HealthConfig {
    type Error = ConfigError;

    /// Errors name the key within `[health]` (`cloud[0].prefixes`). An absent section is
    /// `RawHealth::default()`: one cloud with every BGP prefix.
    fn try_from((health, defaults): (RawHealth, &HealthDefaults<'_>)) -> Result<Self, ConfigError> {
        let (bgp, listen, zones) = (defaults.bgp, defaults.listen, defaults.zones);
        let supervised = defaults.supervised;
        let err = |key: &str, what: String| ConfigError::at(key, what);
        let ms = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_millis);
        let defaults = Policy::default();
        let interval = ms(health.interval_ms, defaults.interval);
        // A default timeout follows a configured interval: 80% of it.
        let default_timeout = if health.interval_ms.is_some() {
            interval * 4 / 5
        } else {
            defaults.timeout
        };
        let timeout = ms(health.timeout_ms, default_timeout);
        if interval < Duration::from_millis(10) {
            return Err(err("interval-ms", "must be at least 10".into()));
        }
        if timeout.is_zero() || timeout >= interval {
            return Err(err(
                "timeout-ms",
                format!("must be above 0 and below interval-ms ({interval:?})"),
            ));
        }
        let rise = health.rise.unwrap_or(defaults.rise);
        let fall = health.fall.unwrap_or(defaults.fall);
        if rise == 0 || fall == 0 {
            return Err(err("rise/fall", "must be at least 1".into()));
        }
        let policy = Policy {
            interval,
            timeout,
            rise,
            fall,
            hold_down: ms(health.hold_down_ms, defaults.hold_down),
            min_instances: 1,
            damping: health.damping.unwrap_or(true).then(Damping::default),
            last_site_guard: health.last_site_guard.unwrap_or(false),
            graceful_shutdown: ms(health.graceful_shutdown_ms, defaults.graceful_shutdown),
        };
        let all_prefixes = bgp.map(|b| b.prefixes.clone()).unwrap_or_default();
        let mut raw_clouds = health.cloud;
        if raw_clouds.is_empty() {
            raw_clouds.push(RawCloud {
                name: "default".into(),
                prefixes: Vec::new(),
                instances: Vec::new(),
                min_instances: None,
                instance_pid_files: Vec::new(),
                zones: None,
                probe_names: Vec::new(),
                servers: Vec::new(),
                commands: Vec::new(),
                command_timeout_ms: None,
                command_interval_ms: None,
                resolver_probe: None,
            });
        }
        let single = raw_clouds.len() == 1;
        let mut clouds = Vec::new();
        for (i, raw) in raw_clouds.into_iter().enumerate() {
            let key = |k: &str| format!("cloud[{i}].{k}");
            let prefixes = if raw.prefixes.is_empty() && single {
                all_prefixes.clone()
            } else {
                raw.prefixes
                    .iter()
                    .map(|p| {
                        let prefix: Prefix = p
                            .parse()
                            .map_err(|_| err(&key("prefixes"), format!("{p:?} is not a prefix")))?;
                        if !all_prefixes.contains(&prefix) {
                            return Err(err(
                                &key("prefixes"),
                                format!("{p} is not in bgp.prefixes"),
                            ));
                        }
                        Ok(prefix)
                    })
                    .collect::<Result<Vec<_>, ConfigError>>()?
            };
            let instances = if let (true, Some(supervised)) = (raw.instances.is_empty(), supervised)
            {
                supervised.probe_addresses.clone()
            } else if raw.instances.is_empty() {
                // Probes are UDP queries: TLS listeners are not probed.
                listen
                    .iter()
                    .filter(|l| l.transport == super::listen::Transport::Plain)
                    .map(|l| probe_address(l.address))
                    .collect()
            } else {
                parse_addresses(&raw.instances)
                    .map_err(|e| e.within(&KeyPath::root(&key("instances"))))?
            };
            let min_instances = raw.min_instances.unwrap_or(1);
            if min_instances == 0 || min_instances > instances.len().max(1) {
                return Err(err(
                    &key("min-instances"),
                    format!("must be 1..={}", instances.len().max(1)),
                ));
            }
            if !raw.instance_pid_files.is_empty() && raw.instance_pid_files.len() != instances.len()
            {
                return Err(err(
                    &key("instance-pid-files"),
                    format!("one per instance ({} instances)", instances.len()),
                ));
            }
            let zones = match raw.zones {
                None => zones.iter().map(|z| z.origin.clone()).collect(),
                Some(names) => names
                    .iter()
                    .map(|n| {
                        let mut origin = dns_wire::name_from_text(n)
                            .map_err(|e| err(&key("zones"), format!("{n:?}: {e}")))?;
                        dns_wire::lowercase_in_place(&mut origin);
                        Ok(origin)
                    })
                    .collect::<Result<Vec<_>, ConfigError>>()?,
            };
            let mut probe_names = Vec::new();
            for (j, text) in raw.probe_names.iter().enumerate() {
                let in_key = || KeyPath::root(&key("probe-names")).index(j);
                if raw.resolver_probe.is_some() {
                    return Err(ConfigError::new(
                        in_key(),
                        "a resolver cloud is probed by resolver-probe only",
                    ));
                }
                let (name, qtype) =
                    super::probe_name::parse(text).map_err(|e| ConfigError::new(in_key(), e))?;
                let parsed = dns_wire::Name::from_wire(&name);
                if !zones
                    .iter()
                    .any(|z| parsed.as_ref().is_ok_and(|n| n.is_at_or_below(z)))
                {
                    return Err(ConfigError::new(
                        in_key(),
                        format!(
                            "{text:?} is in none of the cloud's zones: its instances would refuse it"
                        ),
                    ));
                }
                probe_names.push((name, qtype));
            }
            if raw.commands.iter().any(Vec::is_empty) {
                return Err(err(&key("commands"), "a command needs a program".into()));
            }
            let command_interval = ms(raw.command_interval_ms, DEFAULT_COMMAND_INTERVAL);
            let resolver_probe = raw
                .resolver_probe
                .as_deref()
                .map(|n| {
                    let mut name = dns_wire::name_from_text(n)
                        .map_err(|e| err(&key("resolver-probe"), format!("{n:?}: {e}")))?;
                    dns_wire::lowercase_in_place(&mut name);
                    if name.len() > 200 {
                        return Err(err(
                            &key("resolver-probe"),
                            "too long to put a label below".into(),
                        ));
                    }
                    Ok(name)
                })
                .transpose()?;
            clouds.push(CloudConfig {
                name: raw.name,
                prefixes,
                instances,
                min_instances,
                instance_pid_files: match (raw.instance_pid_files.is_empty(), supervised) {
                    (true, Some(supervised)) if raw.instances.is_empty() => supervised.pid_files(),
                    _ => raw.instance_pid_files,
                },
                zones,
                probe_names,
                servers: parse_addresses(&raw.servers)
                    .map_err(|e| e.within(&KeyPath::root(&key("servers"))))?,
                commands: raw.commands,
                command_timeout: ms(raw.command_timeout_ms, command_interval),
                command_interval,
                resolver_probe,
            });
        }
        for prefix in &all_prefixes {
            if !clouds.iter().any(|c| c.prefixes.contains(prefix)) {
                return Err(err(
                    "cloud",
                    format!("bgp prefix {prefix} is in no cloud, so it would never be announced"),
                ));
            }
        }
        Ok(Self {
            policy,
            drain_on_sigterm: health.drain_on_sigterm.unwrap_or(true),
            drain_quiet: ms(health.drain_quiet_ms, DEFAULT_DRAIN_QUIET),
            drain_timeout: ms(health.drain_timeout_ms, DEFAULT_DRAIN_TIMEOUT),
            stale_after: ms(health.stale_after_ms, DEFAULT_STALE_AFTER),
            clouds,
        })
    }
}

/// Where to probe a listener: a wildcard address is probed on loopback.
fn probe_address(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), address.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), address.port())
        }
        _ => address,
    }
}

/// A list of ADDR:PORT; errors name the entry (`[1]`).
fn parse_addresses(list: &[String]) -> Result<Vec<SocketAddr>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            a.parse().map_err(|_| {
                ConfigError::new(
                    KeyPath::default().index(i),
                    format!("{a:?} is not ADDR:PORT"),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    const BASE: &str = r#"
[[listen]]
address = "0.0.0.0:5300"

[bgp]
local-as = 65000
router-id = "198.51.100.1"
prefixes = ["203.0.113.53/32", "198.51.100.0/24"]
next-hop-v4 = "198.51.100.1"

[[bgp.peer]]
address = "198.51.100.2"
remote-as = 65001
"#;

    #[test]
    fn bgp_without_health_gets_one_default_cloud() {
        let config = Config::from_toml(BASE, Path::new(".")).unwrap();
        let health = config.health.unwrap();
        assert_eq!(health.clouds.len(), 1);
        assert_eq!(health.clouds[0].prefixes.len(), 2);
        assert_eq!(
            health.clouds[0].instances,
            vec!["127.0.0.1:5300".parse().unwrap()]
        );
        assert_eq!(health.policy, Policy::default());
    }

    #[test]
    fn clouds_must_cover_the_bgp_prefixes() {
        let text = format!(
            "{BASE}\n[health]\n[[health.cloud]]\nname = \"ns1\"\nprefixes = [\"203.0.113.53/32\"]\n"
        );
        let err = Config::from_toml(&text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains("198.51.100.0/24 is in no cloud"), "{err}");
        let text = format!(
            "{BASE}\n[health]\n[[health.cloud]]\nname = \"ns1\"\nprefixes = [\"192.0.2.0/24\"]\n"
        );
        let err = Config::from_toml(&text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains("health.cloud[0].prefixes"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (line, key) in [
            ("timeout-ms = 60", "health.timeout-ms"),
            ("interval-ms = 5", "health.interval-ms"),
            ("fall = 0", "health.rise/fall"),
            ("tiemout-ms = 5", "tiemout-ms"),
        ] {
            let text = format!("{BASE}\n[health]\n{line}\n");
            let err = Config::from_toml(&text, Path::new("."))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{line}: {err}");
        }
        let text = format!(
            "{BASE}\n[health]\n[[health.cloud]]\nname = \"a\"\ninstances = [\"127.0.0.1:53\"]\nmin-instances = 2\n"
        );
        let err = Config::from_toml(&text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains("health.cloud[0].min-instances"), "{err}");
    }

    #[test]
    fn probe_names_are_read_and_must_be_in_a_zone() {
        let cloud = |names: &str| {
            format!(
                "{BASE}\n[health]\n[[health.cloud]]\nname = \"ns1\"\n\
                 prefixes = [\"203.0.113.53/32\", \"198.51.100.0/24\"]\n\
                 zones = [\"example.\"]\nprobe-names = [{names}]\n"
            )
        };
        let config =
            Config::from_toml(&cloud("\"WWW.example.\", \"example. MX\""), Path::new(".")).unwrap();
        assert_eq!(
            config.health.unwrap().clouds[0].probe_names,
            vec![
                (
                    b"\x03www\x07example\x00".to_vec(),
                    dns_wire::types::rtype::A
                ),
                (b"\x07example\x00".to_vec(), dns_wire::types::rtype::MX),
            ]
        );
        for (names, says) in [
            ("\"www.other.\"", "in none of the cloud's zones"),
            ("\"www.example. BOGUS\"", "is not a record type"),
            ("\"notexample.\"", "in none of the cloud's zones"),
        ] {
            let err = Config::from_toml(&cloud(names), Path::new("."))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("health.cloud[0].probe-names[0]") && err.contains(says),
                "{names}: {err}"
            );
        }
    }
}
