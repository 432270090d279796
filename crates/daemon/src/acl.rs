//! Access lists: address prefixes ("192.0.2.0/24", "2001:db8::/32", or a bare address
//! meaning just that host) for who may transfer a zone, send NOTIFY, or go unlimited by
//! the rate limit. A leaf: the config sections and the services read it.

use std::net::IpAddr;
use std::str::FromStr;

/// An address prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    address: IpAddr,
    len: u8,
}

/// Why a text is not a [`Prefix`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    NotAnAddress(String),
    /// The part after `/` is not a number up to 32 (IPv4) or 128 (IPv6).
    BadLength(String),
}

impl std::fmt::Display for PrefixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAnAddress(text) => write!(f, "{text:?} is not an address or prefix"),
            Self::BadLength(text) => write!(f, "{text:?}: bad prefix length"),
        }
    }
}

impl std::error::Error for PrefixError {}

impl FromStr for Prefix {
    type Err = PrefixError;

    fn from_str(text: &str) -> Result<Self, PrefixError> {
        let (address, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let address: IpAddr = address
            .parse()
            .map_err(|_| PrefixError::NotAnAddress(text.into()))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| PrefixError::BadLength(text.into()))?,
            None => max,
        };
        Ok(Self { address, len })
    }
}

impl Prefix {
    /// The prefix holding exactly `address`.
    pub fn host(address: IpAddr) -> Self {
        Self {
            address,
            len: if address.is_ipv4() { 32 } else { 128 },
        }
    }

    /// Whether `address` is inside the prefix (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        match (self.address, address) {
            (IpAddr::V4(net), IpAddr::V4(host)) => {
                masked(u32::from(net).into(), 32, self.len)
                    == masked(u32::from(host).into(), 32, self.len)
            }
            (IpAddr::V6(net), IpAddr::V6(host)) => {
                masked(u128::from(net), 128, self.len) == masked(u128::from(host), 128, self.len)
            }
            _ => false,
        }
    }
}

fn masked(bits: u128, width: u8, len: u8) -> u128 {
    if len == 0 {
        return 0;
    }
    let shift = u32::from(width - len);
    (bits >> shift) << shift
}

/// Whether any prefix of `list` contains `address`.
pub(crate) fn allows(list: &[Prefix], address: IpAddr) -> bool {
    list.iter().any(|p| p.contains(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_by_length() {
        let p: Prefix = "192.0.2.0/24".parse().unwrap();
        assert!(p.contains("192.0.2.77".parse().unwrap()));
        assert!(!p.contains("192.0.3.1".parse().unwrap()));
        assert!(p.contains("::ffff:192.0.2.1".parse().unwrap()));
        let host: Prefix = "2001:db8::1".parse().unwrap();
        assert!(host.contains("2001:db8::1".parse().unwrap()));
        assert!(!host.contains("2001:db8::2".parse().unwrap()));
        let all: Prefix = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        assert_eq!(
            "192.0.2.0/33".parse::<Prefix>(),
            Err(PrefixError::BadLength("192.0.2.0/33".into()))
        );
        assert!(matches!(
            "example".parse::<Prefix>(),
            Err(PrefixError::NotAnAddress(_))
        ));
    }
}
