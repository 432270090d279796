//! `[server]`: identity, payload size, workers, TCP limits, storage, the control socket,
//! metrics and the rate limit.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::error::{ConfigError, KeyPath};
use super::listen::{Listen, Role};
use super::rate_limit::{RateLimit, RawRateLimit};

/// Default TCP idle timeout: Knot's `tcp-idle-timeout` default; RFC 7766 §6.2.3 asks for
/// timeouts of "at least a few seconds".
pub const DEFAULT_TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default limit on concurrent TCP connections per server.
pub const DEFAULT_TCP_MAX_CONNECTIONS: usize = 1024;

/// The `[server]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawServer {
    identity: Option<String>,
    version: Option<String>,
    udp_payload: Option<u16>,
    udp_workers: Option<usize>,
    udp_batch_window_us: Option<usize>,
    answer_cache: Option<usize>,
    tcp_idle_timeout: Option<u64>,
    tcp_max_connections: Option<usize>,
    pub(crate) storage: Option<PathBuf>,
    control_socket: Option<PathBuf>,
    shared_listen: Option<bool>,
    cookies: Option<bool>,
    cookie_secret: Option<String>,
    cookie_secret_previous: Option<String>,
    cookie_secret_file: Option<PathBuf>,
    metrics: Option<String>,
    rate_limit: Option<u32>,
    rate_limit_slip: Option<u32>,
    rate_limit_exempt: Option<Vec<String>>,
}

/// The validated `[server]` section.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) identity: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) udp_payload: u16,
    pub(crate) udp_workers: usize,
    pub(crate) udp_batch_window: Duration,
    pub(crate) answer_cache: usize,
    pub(crate) tcp_idle_timeout: Duration,
    pub(crate) tcp_max_connections: usize,
    pub(crate) storage: Option<PathBuf>,
    pub(crate) control_socket: Option<PathBuf>,
    pub(crate) shared_listen: bool,
    pub(crate) cookies: Option<dns_auth::cookies::CookieSecrets>,
    pub(crate) metrics: Option<SocketAddr>,
    pub(crate) rate_limit: Option<RateLimit>,
}

/// What `[server]` is read against: the directory relative paths start from, and the
/// listeners (the metrics address must not be an anycast one; our own addresses are exempt
/// from the rate limit).
pub(crate) struct ServerDefaults<'a> {
    pub(crate) base: &'a Path,
    pub(crate) listen: &'a [Listen],
}

impl TryFrom<(RawServer, &ServerDefaults<'_>)> for Server {
    type Error = ConfigError;

    /// Errors name the key within `[server]` (`udp-payload`).
    fn try_from((raw, defaults): (RawServer, &ServerDefaults<'_>)) -> Result<Self, ConfigError> {
        let relative = |path: PathBuf| {
            if path.is_absolute() {
                path
            } else {
                defaults.base.join(path)
            }
        };
        Ok(Self {
            identity: raw
                .identity
                .map(|i| identity(&i, KeyPath::root("identity")))
                .transpose()?,
            version: raw.version,
            udp_payload: raw
                .udp_payload
                .map(|p| udp_payload(p, KeyPath::root("udp-payload")))
                .transpose()?
                .unwrap_or(dns_auth::DEFAULT_UDP_PAYLOAD),
            udp_workers: match raw.udp_workers {
                None => default_workers(),
                Some(n) => in_range("udp-workers", n, 1..=MAX_UDP_WORKERS)?,
            },
            udp_batch_window: Duration::from_micros(in_range(
                "udp-batch-window-us",
                raw.udp_batch_window_us.unwrap_or(0),
                0..=MAX_UDP_BATCH_WINDOW_US,
            )? as u64),
            answer_cache: in_range(
                "answer-cache",
                raw.answer_cache.unwrap_or(DEFAULT_ANSWER_CACHE),
                0..=MAX_ANSWER_CACHE,
            )?,
            tcp_idle_timeout: raw
                .tcp_idle_timeout
                .map_or(DEFAULT_TCP_IDLE_TIMEOUT, Duration::from_secs),
            tcp_max_connections: match raw.tcp_max_connections {
                None => DEFAULT_TCP_MAX_CONNECTIONS,
                Some(n) => in_range("tcp-max-connections", n, 1..=MAX_TCP_CONNECTIONS)?,
            },
            storage: raw.storage.map(relative).map(storage).transpose()?,
            control_socket: raw
                .control_socket
                .map(relative)
                .map(control_socket)
                .transpose()?,
            shared_listen: raw.shared_listen.unwrap_or(false),
            cookies: {
                let from_file = raw
                    .cookie_secret_file
                    .map(relative)
                    .map(|path| secrets_file(&path, raw.cookie_secret.is_some()))
                    .transpose()?;
                let (secret, previous) = match &from_file {
                    Some((current, previous)) => (Some(current.as_str()), previous.as_deref()),
                    None => (
                        raw.cookie_secret.as_deref(),
                        raw.cookie_secret_previous.as_deref(),
                    ),
                };
                cookies(raw.cookies.unwrap_or(true), secret, previous)?
            },
            metrics: raw
                .metrics
                .as_deref()
                .map(|text| metrics(text, defaults.listen))
                .transpose()?,
            rate_limit: RateLimit::from_keys(
                RawRateLimit {
                    rate: raw.rate_limit,
                    slip: raw.rate_limit_slip,
                    exempt: raw.rate_limit_exempt.as_deref(),
                },
                defaults.listen,
            )?,
        })
    }
}

/// `metrics`: ADDR:PORT, not on an anycast address (a scrape there could reach any site,
/// docs/design.md principle 2).
fn metrics(text: &str, listen: &[Listen]) -> Result<SocketAddr, ConfigError> {
    let err = |problem: String| {
        ConfigError::at("metrics", problem)
            .hint("use the site's unicast address or loopback, e.g. \"127.0.0.1:9153\"")
    };
    let address: SocketAddr = text
        .parse()
        .map_err(|_| err(format!("{text:?} is not ADDR:PORT")))?;
    if address.ip().is_unspecified() {
        return Err(err(format!(
            "{} listens on every address, the anycast ones too; name one",
            address.ip()
        )));
    }
    if listen
        .iter()
        .any(|l| l.role == Role::Anycast && l.address.ip() == address.ip())
    {
        return Err(err(format!("{} is an anycast address", address.ip())));
    }
    Ok(address)
}

/// The most UDP worker threads: far beyond any machine's cores, a typo's guard.
const MAX_UDP_WORKERS: usize = 1024;
/// The longest batching window: a query may wait this long for the next read.
pub(crate) const MAX_UDP_BATCH_WINDOW_US: usize = 10_000;
/// Default answers kept per UDP worker (`answer-cache`): up to about 14 MiB per worker
/// when full of typical answers (about 200 octets per entry with its query).
pub(crate) const DEFAULT_ANSWER_CACHE: usize = 65_536;
/// Largest `answer-cache`.
pub(crate) const MAX_ANSWER_CACHE: usize = 1 << 24;
/// The most concurrent TCP connections (each holds a task and buffers).
const MAX_TCP_CONNECTIONS: usize = 1 << 20;

/// `value` of `key` if within `range`, else an error naming both (a value out of range is
/// never clamped silently: the operator meant something else).
fn in_range(
    key: &str,
    value: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, ConfigError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::at(
            key,
            format!("{value} is not {} to {}", range.start(), range.end()),
        ))
    }
}

/// `cookies`, `cookie-secret`, `cookie-secret-previous`: the server cookie secrets, each
/// 32 hex digits; without a secret, one drawn at start (then a client's cookie is only
/// recognised by this process: give every site of a cloud the same secret).
fn cookies(
    on: bool,
    secret: Option<&str>,
    previous: Option<&str>,
) -> Result<Option<dns_auth::cookies::CookieSecrets>, ConfigError> {
    let parse = |key: &str, text: &str| -> Result<[u8; 16], ConfigError> {
        let bytes: Option<Vec<u8>> = (text.len() == 32)
            .then(|| {
                (0..32)
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
                    .collect()
            })
            .flatten();
        bytes.and_then(|b| b.try_into().ok()).ok_or_else(|| {
            ConfigError::at(key, "not 32 hexadecimal digits (a 128-bit secret)")
                .hint("e.g. the output of: head -c16 /dev/urandom | xxd -p")
        })
    };
    if !on {
        if secret.is_some() || previous.is_some() {
            return Err(ConfigError::at("cookie-secret", "set with cookies = false"));
        }
        return Ok(None);
    }
    let current = match secret {
        Some(text) => parse("cookie-secret", text)?,
        None => {
            if previous.is_some() {
                return Err(ConfigError::at(
                    "cookie-secret-previous",
                    "set without cookie-secret",
                ));
            }
            random_secret()
        }
    };
    let previous = previous
        .map(|text| parse("cookie-secret-previous", text))
        .transpose()?;
    Ok(Some(dns_auth::cookies::CookieSecrets { current, previous }))
}

/// `cookie-secret-file`: the current secret on its first line, the previous one (while
/// rotating) on the second, as 32 hex digits each; a file keeps the secret out of the
/// configuration (it can be readable by the daemon alone).
fn secrets_file(path: &Path, also_inline: bool) -> Result<(String, Option<String>), ConfigError> {
    let key = "cookie-secret-file";
    if also_inline {
        return Err(ConfigError::at(
            key,
            "set together with cookie-secret: keep one",
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::at(key, format!("{}: {e}", path.display())))?;
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let current = lines
        .next()
        .ok_or_else(|| ConfigError::at(key, format!("{}: no secret in it", path.display())))?;
    Ok((current.to_string(), lines.next().map(str::to_string)))
}

/// 128 random bits (std's randomly keyed SipHash over two counters: the keys come from the
/// operating system's random source).
fn random_secret() -> [u8; 16] {
    use std::hash::{BuildHasher, RandomState};
    let state = RandomState::new();
    let mut secret = [0u8; 16];
    secret[..8].copy_from_slice(&state.hash_one(1u8).to_le_bytes());
    secret[8..].copy_from_slice(&state.hash_one(2u8).to_le_bytes());
    secret
}

/// `storage`: a directory (made at start if missing), not a file.
fn storage(path: PathBuf) -> Result<PathBuf, ConfigError> {
    if path.exists() && !path.is_dir() {
        return Err(ConfigError::at(
            "storage",
            format!("{} exists and is not a directory", path.display()),
        )
        .hint("name a directory: received zones and journals are kept in it"));
    }
    Ok(path)
}

/// The longest path a Unix socket can be bound to on Linux (`sun_path` is 108 octets,
/// one of them the terminating NUL).
const MAX_SOCKET_PATH: usize = 107;

/// A control socket path the kernel can bind: a longer one would only fail at start-up,
/// after the config was accepted.
fn control_socket(path: PathBuf) -> Result<PathBuf, ConfigError> {
    let length = path.as_os_str().len();
    if length > MAX_SOCKET_PATH {
        return Err(ConfigError::at(
            "control-socket",
            format!(
                "{} is {length} octets long; a Unix socket path holds at most {MAX_SOCKET_PATH}",
                path.display()
            ),
        )
        .hint("use a shorter path, e.g. \"/run/anyns/control.sock\""));
    }
    Ok(path)
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The NSID / id.server identity given at `key` (at most 255 octets, as id.server's TXT
/// string can carry).
pub(crate) fn identity(identity: &str, key: KeyPath) -> Result<String, ConfigError> {
    if identity.is_empty() || identity.len() > 255 {
        return Err(ConfigError::new(key, "must be 1 to 255 octets"));
    }
    Ok(identity.to_string())
}

/// The largest UDP answer given at `key`. RFC 6891 §6.2.5: below 512 is not meaningful;
/// above 4096 invites fragmentation.
pub(crate) fn udp_payload(payload: u16, key: KeyPath) -> Result<u16, ConfigError> {
    if !(512..=4096).contains(&payload) {
        return Err(
            ConfigError::new(key, format!("{payload} is outside 512..=4096")).hint(
                "1232 avoids fragmentation on every common path (the DNS Flag Day 2020 value)",
            ),
        );
    }
    Ok(payload)
}
