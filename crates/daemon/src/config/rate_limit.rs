//! `[server] rate-limit`, `rate-limit-slip`, `rate-limit-exempt`: UDP response rate
//! limiting, validated.

use super::error::{ConfigError, KeyPath};
use super::listen::Listen;
use crate::acl::Prefix;

/// The highest `rate-limit` accepted (answers per second per network and kind).
const MAX_RATE_LIMIT: u32 = 1_000_000;

/// UDP response rate limiting (`[server] rate-limit`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Answers per second per source network (IPv4 /24, IPv6 /56) and kind of answer.
    pub rate: u32,
    /// Every `slip`-th limited answer goes out truncated, the others are dropped (0: drop
    /// all; 1, the default as in Knot: truncate all).
    pub slip: u32,
    /// Sources never limited (default: loopback and this server's own addresses, where the
    /// health probes come from).
    pub exempt: Vec<Prefix>,
}

/// `rate-limit`, `rate-limit-slip` and `rate-limit-exempt` of `[server]`, as written.
pub(crate) struct RawRateLimit<'a> {
    pub(crate) rate: Option<u32>,
    pub(crate) slip: Option<u32>,
    pub(crate) exempt: Option<&'a [String]>,
}

impl RateLimit {
    /// The limit the keys ask for (`None`: off); errors name the key within `[server]`.
    pub(crate) fn from_keys(
        raw: RawRateLimit<'_>,
        listen: &[Listen],
    ) -> Result<Option<Self>, ConfigError> {
        let Some(rate) = raw.rate.filter(|r| *r > 0) else {
            if raw.slip.is_some() || raw.exempt.is_some() {
                let key = if raw.slip.is_some() {
                    "rate-limit-slip"
                } else {
                    "rate-limit-exempt"
                };
                return Err(ConfigError::at(key, "set without rate-limit")
                    .hint("set rate-limit (answers per second per network) to turn limiting on"));
            }
            return Ok(None);
        };
        if rate > MAX_RATE_LIMIT {
            return Err(ConfigError::at(
                "rate-limit",
                format!("{rate} is more than {MAX_RATE_LIMIT}"),
            ));
        }
        let slip = raw.slip.unwrap_or(1);
        if slip > 100 {
            return Err(ConfigError::at(
                "rate-limit-slip",
                format!("{slip} is more than 100"),
            ));
        }
        let exempt = match raw.exempt {
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    text.parse().map_err(|e| {
                        ConfigError::new(
                            KeyPath::root("rate-limit-exempt").index(i),
                            format!("{e}"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => {
                let mut exempt: Vec<Prefix> = vec![
                    "127.0.0.0/8".parse().expect("a prefix"),
                    "::1".parse().expect("a prefix"),
                ];
                exempt.extend(
                    listen
                        .iter()
                        .filter(|l| !l.address.ip().is_unspecified())
                        .map(|l| Prefix::host(l.address.ip())),
                );
                exempt
            }
        };
        Ok(Some(Self { rate, slip, exempt }))
    }
}
