//! The transfer part of a `[[zone]]`: primaries (which make it a secondary), NOTIFY
//! targets, access lists and the unicast source address.

use std::net::{IpAddr, SocketAddr};

use crate::error::Error;
use crate::transfer::acl::Prefix;

/// The DNS port, when an address is given without one.
const DNS_PORT: u16 = 53;

/// How a zone takes part in transfers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZoneTransfer {
    /// Primaries to refresh from; non-empty makes the zone a secondary.
    pub primaries: Vec<SocketAddr>,
    /// Secondaries to NOTIFY when the serial changes (RFC 1996).
    pub notify: Vec<SocketAddr>,
    /// Who may transfer the zone (AXFR/IXFR).
    pub allow_transfer: Vec<Prefix>,
    /// Who may NOTIFY us (default: the primaries).
    pub allow_notify: Vec<Prefix>,
    /// The unicast address outbound queries and transfers leave from.
    pub source: Option<IpAddr>,
    /// The TSIG key (RFC 8945) that signs everything exchanged for this zone: our requests
    /// and NOTIFYs, and the transfers and NOTIFYs we accept.
    pub key: Option<dns_tsig::Key>,
}

impl ZoneTransfer {
    /// Whether the zone is a secondary.
    pub fn is_secondary(&self) -> bool {
        !self.primaries.is_empty()
    }
}

/// The raw keys, as read from `[[zone]]`.
pub(crate) struct RawTransfer<'a> {
    pub(crate) primaries: &'a [String],
    pub(crate) notify: &'a [String],
    pub(crate) allow_transfer: &'a [String],
    pub(crate) allow_notify: &'a [String],
    pub(crate) source: Option<&'a str>,
    pub(crate) key: Option<&'a str>,
}

/// Validates the transfer keys of `zone[index]`; `default_source` is the first unicast
/// listener's address, if any.
pub(crate) fn validate(
    raw: RawTransfer<'_>,
    index: usize,
    default_source: Option<IpAddr>,
    keys: &[dns_tsig::Key],
) -> Result<ZoneTransfer, Error> {
    let key = |name: &str| format!("zone[{index}].{name}");
    let addresses = |list: &[String], name: &str| -> Result<Vec<SocketAddr>, Error> {
        list.iter()
            .map(|a| {
                parse_server(a).ok_or_else(|| {
                    Error::Config(format!("{}: {a:?} is not ADDR or ADDR:PORT", key(name)))
                })
            })
            .collect()
    };
    let prefixes = |list: &[String], name: &str| -> Result<Vec<Prefix>, Error> {
        list.iter()
            .map(|p| {
                p.parse()
                    .map_err(|e| Error::Config(format!("{}: {e}", key(name))))
            })
            .collect()
    };
    let primaries = addresses(raw.primaries, "primaries")?;
    let mut allow_notify = prefixes(raw.allow_notify, "allow-notify")?;
    if allow_notify.is_empty() {
        allow_notify = primaries.iter().map(|p| Prefix::host(p.ip())).collect();
    }
    let source =
        match raw.source {
            Some(s) => Some(s.parse().map_err(|_| {
                Error::Config(format!("{}: {s:?} is not an address", key("source")))
            })?),
            None => default_source,
        };
    let key = match raw.key {
        Some(name) => {
            let wire = dns_wire::name_from_text(name).map(|mut w| {
                dns_wire::lowercase_in_place(&mut w);
                w
            });
            let found = wire
                .ok()
                .and_then(|w| keys.iter().find(|k| k.name() == w.as_slice()));
            let found = found.cloned();
            Some(found.ok_or_else(|| {
                Error::Config(format!("{}: no [[key]] named {name:?}", key("key")))
            })?)
        }
        None => None,
    };
    Ok(ZoneTransfer {
        key,
        primaries,
        notify: addresses(raw.notify, "notify")?,
        allow_transfer: prefixes(raw.allow_transfer, "allow-transfer")?,
        allow_notify,
        source,
    })
}

/// "192.0.2.1", "192.0.2.1:5300", "2001:db8::1", "[2001:db8::1]:5300".
fn parse_server(text: &str) -> Option<SocketAddr> {
    text.parse::<SocketAddr>().ok().or_else(|| {
        text.parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, DNS_PORT))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_default_to_port_53_and_notify_acl_to_primaries() {
        let raw = RawTransfer {
            primaries: &["192.0.2.1".into(), "[2001:db8::1]:5300".into()],
            notify: &[],
            allow_transfer: &["198.51.100.0/24".into()],
            allow_notify: &[],
            source: None,
            key: None,
        };
        let t = validate(raw, 0, Some("203.0.113.7".parse().unwrap()), &[]).unwrap();
        assert_eq!(t.primaries[0], "192.0.2.1:53".parse().unwrap());
        assert_eq!(t.primaries[1].port(), 5300);
        assert!(crate::transfer::acl::allows(
            &t.allow_notify,
            "192.0.2.1".parse().unwrap()
        ));
        assert!(!crate::transfer::acl::allows(
            &t.allow_notify,
            "192.0.2.2".parse().unwrap()
        ));
        assert_eq!(t.source, Some("203.0.113.7".parse().unwrap()));
        assert!(t.is_secondary());
    }

    #[test]
    fn bad_values_name_their_key() {
        let raw = RawTransfer {
            primaries: &["nowhere".into()],
            notify: &[],
            allow_transfer: &[],
            allow_notify: &[],
            source: None,
            key: None,
        };
        let err = validate(raw, 3, None, &[]).unwrap_err().to_string();
        assert!(err.contains("zone[3].primaries"), "{err}");
        let raw = RawTransfer {
            primaries: &[],
            notify: &[],
            allow_transfer: &["1.2.3.4/40".into()],
            allow_notify: &[],
            source: None,
            key: None,
        };
        let err = validate(raw, 0, None, &[]).unwrap_err().to_string();
        assert!(err.contains("zone[0].allow-transfer"), "{err}");
        let raw = RawTransfer {
            primaries: &[],
            notify: &[],
            allow_transfer: &[],
            allow_notify: &[],
            source: None,
            key: Some("missing."),
        };
        let err = validate(raw, 1, None, &[]).unwrap_err().to_string();
        assert!(
            err.contains("zone[1].key") && err.contains("missing."),
            "{err}"
        );
    }
}

/// A `[[key]]` entry as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawKey {
    name: String,
    algorithm: String,
    /// Base64, as `tsig-keygen`/`keymgr -t` print it.
    secret: String,
}

/// Validates `key[index]`.
pub(crate) fn validate_key(raw: &RawKey, index: usize) -> Result<dns_tsig::Key, Error> {
    use base64::Engine;
    let key = |name: &str| format!("key[{index}].{name}");
    let algorithm = dns_tsig::Algorithm::from_text(&raw.algorithm).ok_or_else(|| {
        Error::Config(format!(
            "{}: {:?} is not hmac-sha256 or hmac-sha512",
            key("algorithm"),
            raw.algorithm
        ))
    })?;
    let secret = base64::engine::general_purpose::STANDARD
        .decode(raw.secret.trim())
        .map_err(|e| Error::Config(format!("{}: not base64: {e}", key("secret"))))?;
    dns_tsig::Key::new(&raw.name, algorithm, secret)
        .map_err(|e| Error::Config(format!("{}: {e}", key("name"))))
}
