//! `[server] rate-limit`, `rate-limit-slip`, `rate-limit-exempt`: UDP response rate
//! limiting, validated.

use super::listen::Listen;
use crate::error::Error;
use crate::transfer::acl::Prefix;

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

/// `server.rate-limit`, `rate-limit-slip`, `rate-limit-exempt`.
pub(crate) fn validate_rate_limit(
    rate: Option<u32>,
    slip: Option<u32>,
    exempt: Option<&[String]>,
    listen: &[Listen],
) -> Result<Option<RateLimit>, Error> {
    let Some(rate) = rate.filter(|r| *r > 0) else {
        if slip.is_some() || exempt.is_some() {
            return Err(Error::Config(
                "server.rate-limit-slip / rate-limit-exempt: set without server.rate-limit".into(),
            ));
        }
        return Ok(None);
    };
    if rate > MAX_RATE_LIMIT {
        return Err(Error::Config(format!(
            "server.rate-limit: {rate} is more than {MAX_RATE_LIMIT}"
        )));
    }
    let slip = slip.unwrap_or(1);
    if slip > 100 {
        return Err(Error::Config(format!(
            "server.rate-limit-slip: {slip} is more than 100"
        )));
    }
    let exempt = match exempt {
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, text)| {
                text.parse()
                    .map_err(|e| Error::Config(format!("server.rate-limit-exempt[{i}]: {e}")))
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
    Ok(Some(RateLimit { rate, slip, exempt }))
}
