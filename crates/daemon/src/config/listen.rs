//! `[[listen]]`: a listener and its role (docs/design.md principle 2: everything stateful
//! uses the unicast address).

use std::net::SocketAddr;

use serde::Deserialize;

use super::error::ConfigError;

/// What a listener's address is for (docs/design.md principle 2: everything stateful uses the unicast one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The shared service address announced by every site of a cloud.
    Anycast,
    /// The site's own address: transfers, NOTIFY, management.
    Unicast,
}

/// Which service answers on a listener.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Answers from the zones served here (the default).
    #[default]
    Authoritative,
    /// Resolves recursively (`[resolver]`); queries for zones served here are answered
    /// from them.
    Resolver,
}

/// How a listener carries DNS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum Transport {
    /// UDP and TCP on the same port (the default).
    #[default]
    #[serde(rename = "udp+tcp")]
    Plain,
    /// TLS over TCP only (DNS over TLS, RFC 7858; on a unicast listener also zone
    /// transfers over TLS, RFC 9103); needs `[tls]`.
    #[serde(rename = "tls")]
    Tls,
}

/// One `[[listen]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawListen {
    pub(crate) address: String,
    pub(crate) role: Option<Role>,
    pub(crate) transfers: Option<bool>,
    pub(crate) service: Option<Service>,
    #[serde(default)]
    pub(crate) transport: Transport,
}

/// A validated listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    /// Address and port.
    pub address: SocketAddr,
    /// What the address is for.
    pub role: Role,
    /// Whether AXFR/IXFR are served here (default: on unicast listeners only, docs/design.md
    /// principle 2: a TCP transfer to an anycast address can land at another site; never
    /// on a resolver listener).
    pub transfers: bool,
    /// What answers here.
    pub service: Service,
    /// UDP and TCP, or TLS.
    pub transport: Transport,
}

impl TryFrom<RawListen> for Listen {
    type Error = ConfigError;

    fn try_from(raw: RawListen) -> Result<Self, ConfigError> {
        let address: SocketAddr = raw.address.parse().map_err(|_| {
            ConfigError::at("address", format!("{:?} is not ADDR:PORT", raw.address)).hint(
                "write an IP address and a port, e.g. \"192.0.2.53:53\" or \"[2001:db8::53]:53\"",
            )
        })?;
        if address.port() == 0 {
            // Port 0 would bind a random port nobody can be told of.
            return Err(ConfigError::at("address", format!("{address}: port 0"))
                .hint("DNS listens on port 53"));
        }
        let role = raw.role.unwrap_or(Role::Anycast);
        let service = raw.service.unwrap_or_default();
        if raw.transport == Transport::Tls && role == Role::Anycast && raw.transfers == Some(true) {
            return Err(ConfigError::at(
                "transfers",
                "zone transfers over TLS on an anycast listener: a TLS session to an anycast \
                 address can land at another site mid-transfer",
            )
            .hint("serve XoT on a unicast listener (role = \"unicast\", transport = \"tls\")"));
        }
        Ok(Self {
            address,
            role,
            transfers: raw
                .transfers
                .unwrap_or(role == Role::Unicast && service == Service::Authoritative),
            service,
            transport: raw.transport,
        })
    }
}
