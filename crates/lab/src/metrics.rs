//! Reading a site instance's Prometheus metrics (`[server] metrics`, on its unicast address)
//! from inside the site's namespace: `anyns-lab scrape ADDR` does one bounded `GET /metrics`
//! and prints the body; the controlling side parses the samples.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::Error;

/// The port every lab instance serves its metrics on (its unicast address).
pub const METRICS_PORT: u16 = 9153;

/// How long a scrape may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(3);

/// Largest body read.
const MAX_BODY: u64 = 1 << 20;

/// One `GET /metrics` to `address`; returns the body of a 200 answer.
pub fn scrape_text(address: SocketAddr) -> Result<String, Error> {
    let fail = |e: std::io::Error| Error::NoLab(format!("metrics at {address}: {e}"));
    let mut stream = TcpStream::connect_timeout(&address, SCRAPE_TIMEOUT).map_err(fail)?;
    stream
        .set_read_timeout(Some(SCRAPE_TIMEOUT))
        .map_err(fail)?;
    stream
        .set_write_timeout(Some(SCRAPE_TIMEOUT))
        .map_err(fail)?;
    stream
        .write_all(format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes())
        .map_err(fail)?;
    let mut response = String::new();
    stream
        .take(MAX_BODY)
        .read_to_string(&mut response)
        .map_err(fail)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| Error::NoLab(format!("metrics at {address}: no HTTP head")))?;
    if !head.starts_with("HTTP/1.1 200") {
        let status = head.lines().next().unwrap_or_default();
        return Err(Error::NoLab(format!("metrics at {address}: {status}")));
    }
    Ok(body.to_string())
}

/// The samples of an exposition: `name{labels}` -> value (comments skipped).
pub fn parse_samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_read_by_series() {
        let samples = parse_samples(
            "# HELP x y\n# TYPE x counter\nanyns_queries_total{transport=\"udp\"} 12\nbad\n",
        );
        assert_eq!(samples.len(), 1);
        assert_eq!(samples["anyns_queries_total{transport=\"udp\"}"], 12.0);
    }
}
