//! A validated listener and its role (docs/design.md principle 2: everything stateful
//! uses the unicast address).

use std::net::SocketAddr;

use serde::Deserialize;

/// What a listener's address is for (docs/design.md principle 2: everything stateful uses the unicast one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The shared service address announced by every site of a cloud.
    Anycast,
    /// The site's own address: transfers, NOTIFY, management.
    Unicast,
}

/// A validated listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    /// Address and port.
    pub address: SocketAddr,
    /// What the address is for.
    pub role: Role,
    /// Whether AXFR/IXFR are served here (default: on unicast listeners only, docs/design.md
    /// principle 2: a TCP transfer to an anycast address can land at another site).
    pub transfers: bool,
}
