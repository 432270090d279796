//! The transfer part of a `[[zone]]`: primaries (which make it a secondary), NOTIFY
//! targets, access lists and the unicast source address.

use std::net::{IpAddr, SocketAddr};

use super::error::{ConfigError, KeyPath};
use crate::acl::Prefix;

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
    /// AXFR/IXFR requested over TLS (XoT, RFC 9103), the primary authenticated by its key.
    pub tls: Option<TransferTls>,
}

/// How a secondary requests its transfers over TLS: on this port of each primary, TLS 1.3,
/// accepting only a server key whose SPKI hash is pinned (RFC 9103 §9.3, RFC 7858 §4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferTls {
    /// The port of the primaries' TLS listeners (853 by default).
    pub port: u16,
    /// SHA-256 digests of the accepted SubjectPublicKeyInfo.
    pub spki_sha256: Vec<[u8; 32]>,
}

/// `transfer-tls = { spki = ["BASE64"], port = 853 }` as written.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTransferTls {
    spki: Vec<String>,
    port: Option<u16>,
}

impl TryFrom<&RawTransferTls> for TransferTls {
    type Error = ConfigError;

    fn try_from(raw: &RawTransferTls) -> Result<Self, ConfigError> {
        use base64::Engine as _;
        if raw.spki.is_empty() {
            return Err(ConfigError::new(KeyPath::root("transfer-tls").key("spki"), "is empty")
                .hint("pin the primary's key: openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64"));
        }
        let spki_sha256 = raw
            .spki
            .iter()
            .enumerate()
            .map(|(i, text)| {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or_else(|| {
                        ConfigError::new(
                            KeyPath::root("transfer-tls").key("spki").index(i),
                            format!("{text:?} is not the base64 of a SHA-256 digest"),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            port: raw.port.unwrap_or(853),
            spki_sha256,
        })
    }
}

impl ZoneTransfer {
    /// Whether the zone is a secondary.
    pub fn is_secondary(&self) -> bool {
        !self.primaries.is_empty()
    }
}

/// The transfer keys of one `[[zone]]`, as written.
pub(crate) struct RawTransfer<'a> {
    pub(crate) primaries: &'a [String],
    pub(crate) notify: &'a [String],
    pub(crate) allow_transfer: &'a [String],
    pub(crate) allow_notify: &'a [String],
    pub(crate) source: Option<&'a str>,
    pub(crate) key: Option<&'a str>,
    pub(crate) tls: Option<&'a RawTransferTls>,
}

/// What a zone's transfer keys are read against: the source address used when none is
/// named (the first unicast listener's) and the `[[key]]`s.
pub(crate) struct TransferDefaults<'a> {
    pub(crate) source: Option<IpAddr>,
    pub(crate) keys: &'a [dns_tsig::Key],
    /// The anycast listeners' addresses: never a source (an answer to one can be routed
    /// to another site).
    pub(crate) anycast: &'a [IpAddr],
}

impl TryFrom<(RawTransfer<'_>, &TransferDefaults<'_>)> for ZoneTransfer {
    type Error = ConfigError;

    /// Errors name the key within the zone (`primaries[0]`).
    fn try_from(
        (raw, defaults): (RawTransfer<'_>, &TransferDefaults<'_>),
    ) -> Result<Self, ConfigError> {
        let primaries = addresses(raw.primaries, "primaries")?;
        let mut allow_notify = prefixes(raw.allow_notify, "allow-notify")?;
        if allow_notify.is_empty() {
            allow_notify = primaries.iter().map(|p| Prefix::host(p.ip())).collect();
        }
        let source = match raw.source {
            Some(s) => {
                let ip: IpAddr = s.parse().map_err(|_| {
                    ConfigError::at("source", format!("{s:?} is not an address"))
                        .hint("the site's unicast address, which transfers and NOTIFY leave from")
                })?;
                if defaults.anycast.contains(&ip) {
                    return Err(ConfigError::at(
                        "source",
                        format!("{ip} is an anycast address: a transfer or NOTIFY answer to it can land at another site"),
                    )
                    .hint("name the site's unicast address"));
                }
                Some(ip)
            }
            None => defaults.source,
        };
        let key = match raw.key {
            Some(name) => {
                let wire = dns_wire::name_from_text(name).map(|mut w| {
                    dns_wire::lowercase_in_place(&mut w);
                    w
                });
                let found = wire
                    .ok()
                    .and_then(|w| defaults.keys.iter().find(|k| k.name() == w.as_slice()));
                Some(found.cloned().ok_or_else(|| {
                    ConfigError::at("key", format!("no [[key]] named {name:?}"))
                        .hint("define the key in a [[key]] section with name, algorithm and secret")
                })?)
            }
            None => None,
        };
        let tls = raw.tls.map(TransferTls::try_from).transpose()?;
        if tls.is_some() && primaries.is_empty() {
            return Err(ConfigError::at(
                "transfer-tls",
                "set on a zone without primaries (it is how a secondary requests transfers)",
            ));
        }
        Ok(Self {
            key,
            tls,
            primaries,
            notify: addresses(raw.notify, "notify")?,
            allow_transfer: prefixes(raw.allow_transfer, "allow-transfer")?,
            allow_notify,
            source,
        })
    }
}

/// A list of servers; errors name the entry (`primaries[1]`).
fn addresses(list: &[String], name: &str) -> Result<Vec<SocketAddr>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            parse_server(a).ok_or_else(|| {
                ConfigError::new(
                    KeyPath::root(name).index(i),
                    format!("{a:?} is not ADDR or ADDR:PORT"),
                )
            })
        })
        .collect()
}

/// An access list; errors name the entry (`allow-transfer[0]`).
fn prefixes(list: &[String], name: &str) -> Result<Vec<Prefix>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            p.parse()
                .map_err(|e| ConfigError::new(KeyPath::root(name).index(i), format!("{e}")))
        })
        .collect()
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
            tls: None,
        };
        let defaults = TransferDefaults {
            source: Some("203.0.113.7".parse().unwrap()),
            keys: &[],
            anycast: &[],
        };
        let t = ZoneTransfer::try_from((raw, &defaults)).unwrap();
        assert_eq!(t.primaries[0], "192.0.2.1:53".parse().unwrap());
        assert_eq!(t.primaries[1].port(), 5300);
        assert!(crate::acl::allows(
            &t.allow_notify,
            "192.0.2.1".parse().unwrap()
        ));
        assert!(!crate::acl::allows(
            &t.allow_notify,
            "192.0.2.2".parse().unwrap()
        ));
        assert_eq!(t.source, Some("203.0.113.7".parse().unwrap()));
        assert!(t.is_secondary());
    }

    #[test]
    fn bad_values_name_their_key() {
        let none = TransferDefaults {
            source: None,
            keys: &[],
            anycast: &["192.0.2.53".parse().unwrap()],
        };
        let raw = RawTransfer {
            primaries: &["nowhere".into()],
            notify: &[],
            allow_transfer: &[],
            allow_notify: &[],
            source: None,
            key: None,
            tls: None,
        };
        let err = ZoneTransfer::try_from((raw, &none)).unwrap_err();
        assert_eq!(err.key.as_str(), "primaries[0]");
        let raw = RawTransfer {
            primaries: &[],
            notify: &[],
            allow_transfer: &["1.2.3.4/40".into()],
            allow_notify: &[],
            source: None,
            key: None,
            tls: None,
        };
        let err = ZoneTransfer::try_from((raw, &none)).unwrap_err();
        assert_eq!(err.key.as_str(), "allow-transfer[0]");
        let raw = RawTransfer {
            primaries: &[],
            notify: &[],
            allow_transfer: &[],
            allow_notify: &[],
            source: None,
            key: Some("missing."),
            tls: None,
        };
        let err = ZoneTransfer::try_from((raw, &none)).unwrap_err();
        assert_eq!(err.key.as_str(), "key");
        assert!(
            err.problem.contains("missing.") && err.hint.is_some(),
            "{err}"
        );
        let raw = RawTransfer {
            primaries: &[],
            notify: &[],
            allow_transfer: &[],
            allow_notify: &[],
            source: Some("192.0.2.53"),
            key: None,
            tls: None,
        };
        let err = ZoneTransfer::try_from((raw, &none)).unwrap_err();
        assert!(
            err.key.as_str() == "source" && err.problem.contains("anycast"),
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

impl TryFrom<&RawKey> for dns_tsig::Key {
    type Error = ConfigError;

    /// Errors name the key within the `[[key]]` entry (`secret`).
    fn try_from(raw: &RawKey) -> Result<Self, ConfigError> {
        use base64::Engine;
        let algorithm = dns_tsig::Algorithm::from_text(&raw.algorithm).ok_or_else(|| {
            ConfigError::at(
                "algorithm",
                format!("{:?} is not hmac-sha256 or hmac-sha512", raw.algorithm),
            )
        })?;
        let secret = base64::engine::general_purpose::STANDARD
            .decode(raw.secret.trim())
            .map_err(|e| {
                ConfigError::at("secret", format!("not base64: {e}"))
                    .hint("paste the secret as `tsig-keygen` or `keymgr -t` print it")
            })?;
        Self::new(&raw.name, algorithm, secret).map_err(|e| ConfigError::at("name", e.to_string()))
    }
}
