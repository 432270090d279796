//! The fleet inventory: a TOML file naming every site, where each of its anyns processes
//! publishes `GET /status` (its `[server] metrics` address, unicast), and the anycast
//! addresses of each cloud, asked from this vantage point which site answers them.
//!
//! ```toml
//! timeout-ms = 1000                # per site and per anycast address
//!
//! [[site]]
//! name = "ams"
//! status = ["198.51.100.2:9153"]   # one per anyns process of the site
//!
//! [[cloud]]
//! name = "ns1"
//! addresses = ["203.0.113.53", "2001:db8:53::1"]  # port 53, or ADDR:PORT / [V6]:PORT
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{ConfigError, KeyPath};
use crate::error::Error;

/// The default bound on each poll and each anycast query.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1000);

/// A whole inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Inventory {
    pub(crate) sites: Vec<Site>,
    pub(crate) clouds: Vec<Cloud>,
    /// The bound on each network operation.
    pub(crate) timeout: Duration,
}

/// One site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Site {
    pub(crate) name: String,
    /// Each anyns process's status endpoint.
    pub(crate) status: Vec<SocketAddr>,
}

/// One anycast cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cloud {
    pub(crate) name: String,
    pub(crate) addresses: Vec<SocketAddr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawInventory {
    timeout_ms: Option<u64>,
    #[serde(default)]
    site: Vec<RawSite>,
    #[serde(default)]
    cloud: Vec<RawCloud>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    name: String,
    status: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCloud {
    name: String,
    addresses: Vec<String>,
}

/// `ADDR:PORT`, `[V6]:PORT`, or a bare address with `default_port`.
fn address(text: &str, default_port: Option<u16>) -> Option<SocketAddr> {
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Some(address);
    }
    let ip: IpAddr = text.parse().ok()?;
    Some(SocketAddr::new(ip, default_port?))
}

impl Inventory {
    /// Reads and checks the inventory file at `path`.
    pub(crate) fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("inventory {}", path.display()), e))?;
        Self::from_toml(&text).map_err(|e| Error::Config(e.in_file(path)))
    }

    /// Reads an inventory's text.
    pub(crate) fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw: RawInventory = toml::from_str(text)
            .map_err(|e| ConfigError::new(KeyPath::root("inventory"), e.message().to_string()))?;
        let timeout = match raw.timeout_ms {
            None => DEFAULT_TIMEOUT,
            Some(ms @ 10..=60_000) => Duration::from_millis(ms),
            Some(ms) => {
                return Err(ConfigError::new(
                    KeyPath::root("timeout-ms"),
                    format!("{ms} is out of range (10..=60000)"),
                ));
            }
        };
        if raw.site.is_empty() {
            return Err(ConfigError::new(KeyPath::root("site"), "no site listed")
                .hint("add [[site]] name = \"...\" status = [\"ADDR:PORT\"]"));
        }
        let mut sites = Vec::new();
        for (i, site) in raw.site.into_iter().enumerate() {
            let key = KeyPath::root("site").index(i);
            if sites.iter().any(|s: &Site| s.name == site.name) {
                return Err(ConfigError::new(
                    key.key("name"),
                    format!("{:?} is listed twice", site.name),
                ));
            }
            if site.status.is_empty() {
                return Err(ConfigError::new(key.key("status"), "is empty")
                    .hint("each anyns process's [server] metrics address"));
            }
            let status = site
                .status
                .iter()
                .enumerate()
                .map(|(j, text)| {
                    address(text, None).ok_or_else(|| {
                        ConfigError::new(
                            key.key("status").index(j),
                            format!("{text:?} is not ADDR:PORT"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            sites.push(Site {
                name: site.name,
                status,
            });
        }
        let mut clouds = Vec::new();
        for (i, cloud) in raw.cloud.into_iter().enumerate() {
            let key = KeyPath::root("cloud").index(i);
            let addresses = cloud
                .addresses
                .iter()
                .enumerate()
                .map(|(j, text)| {
                    address(text, Some(53)).ok_or_else(|| {
                        ConfigError::new(
                            key.key("addresses").index(j),
                            format!("{text:?} is not an address, ADDR:PORT or [V6]:PORT"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            clouds.push(Cloud {
                name: cloud.name,
                addresses,
            });
        }
        Ok(Self {
            sites,
            clouds,
            timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inventory_reads_with_defaults_and_bad_keys_are_named() {
        let inventory = Inventory::from_toml(
            r#"
[[site]]
name = "ams"
status = ["198.51.100.2:9153", "[2001:db8::2]:9153"]
[[cloud]]
name = "ns1"
addresses = ["203.0.113.53", "[2001:db8:53::1]:5353"]
"#,
        )
        .unwrap();
        assert_eq!(inventory.timeout, DEFAULT_TIMEOUT);
        assert_eq!(inventory.sites[0].status.len(), 2);
        assert_eq!(
            inventory.clouds[0].addresses,
            vec![
                "203.0.113.53:53".parse().unwrap(),
                "[2001:db8:53::1]:5353".parse().unwrap()
            ]
        );
        for (text, key) in [
            (
                "[[site]]\nname = \"a\"\nstatus = [\"nowhere\"]\n",
                "site[0].status[0]",
            ),
            ("[[site]]\nname = \"a\"\nstatus = []\n", "site[0].status"),
            (
                "timeout-ms = 0\n[[site]]\nname = \"a\"\nstatus = [\"192.0.2.1:1\"]\n",
                "timeout-ms",
            ),
            ("", "site"),
            (
                "[[site]]\nname = \"a\"\nstatus = [\"192.0.2.1:1\"]\n[[cloud]]\nname = \"c\"\naddresses = [\"x\"]\n",
                "cloud[0].addresses[0]",
            ),
        ] {
            let err = Inventory::from_toml(text).unwrap_err().to_string();
            assert!(err.starts_with(&format!("{key}:")), "{text:?}: {err}");
        }
    }
}
