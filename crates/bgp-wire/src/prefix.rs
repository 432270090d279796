//! IP prefixes, address families, and their NLRI encoding (RFC 4271 §4.3, RFC 4760 §5).
//!
//! A [`Prefix`] always has its host bits cleared, so two prefixes that route the same
//! addresses compare equal.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::Error;

/// An address family and subsequent address family (RFC 4760 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Family {
    /// Address Family Identifier (IANA: 1 IPv4, 2 IPv6).
    pub afi: u16,
    /// Subsequent Address Family Identifier (1 unicast).
    pub safi: u8,
}

impl Family {
    /// IPv4 unicast.
    pub const IPV4_UNICAST: Self = Self { afi: 1, safi: 1 };
    /// IPv6 unicast.
    pub const IPV6_UNICAST: Self = Self { afi: 2, safi: 1 };

    /// Whether this crate decodes prefixes of this family.
    pub fn is_supported(self) -> bool {
        self == Self::IPV4_UNICAST || self == Self::IPV6_UNICAST
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::IPV4_UNICAST => f.write_str("ipv4-unicast"),
            Self::IPV6_UNICAST => f.write_str("ipv6-unicast"),
            Self { afi, safi } => write!(f, "afi {afi} safi {safi}"),
        }
    }
}

/// An IPv4 or IPv6 prefix with host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

/// Why a prefix could not be built or parsed from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrefixError {
    /// The length exceeds the address size.
    LengthTooLong,
    /// The text is not `address/length`.
    Syntax,
}

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthTooLong => f.write_str("prefix length exceeds the address size"),
            Self::Syntax => f.write_str("expected address/length"),
        }
    }
}

impl std::error::Error for PrefixError {}

impl Prefix {
    /// A prefix of `len` bits of `addr`; host bits are cleared.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, PrefixError> {
        let addr = match addr {
            IpAddr::V4(a) => {
                if len > 32 {
                    return Err(PrefixError::LengthTooLong);
                }
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                if len > 128 {
                    return Err(PrefixError::LengthTooLong);
                }
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        };
        Ok(Self { addr, len })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// The unicast family of this prefix.
    pub fn family(&self) -> Family {
        match self.addr {
            IpAddr::V4(_) => Family::IPV4_UNICAST,
            IpAddr::V6(_) => Family::IPV6_UNICAST,
        }
    }

    /// Octets the NLRI encoding of this prefix takes.
    pub fn nlri_len(&self) -> usize {
        1 + usize::from(self.len).div_ceil(8)
    }

    /// Appends the NLRI encoding: length in bits, then the significant octets.
    //= https://www.rfc-editor.org/rfc/rfc4271#section-4.3
    //# The Prefix field contains an IP address prefix, followed by the minimum number of
    //# trailing bits needed to make the end of the field fall on an octet boundary.
    pub(crate) fn emit_nlri(&self, out: &mut Vec<u8>) {
        out.push(self.len);
        let significant = usize::from(self.len).div_ceil(8);
        match self.addr {
            IpAddr::V4(a) => out.extend_from_slice(&a.octets()[..significant]),
            IpAddr::V6(a) => out.extend_from_slice(&a.octets()[..significant]),
        }
    }

    /// Parses a sequence of NLRI-encoded prefixes of `family`, which must be supported.
    pub(crate) fn parse_nlri(
        mut bytes: &[u8],
        family: Family,
        error: Error,
    ) -> Result<Vec<Self>, Error> {
        let mut prefixes = Vec::new();
        while let Some((&len, rest)) = bytes.split_first() {
            let significant = usize::from(len).div_ceil(8);
            let octets = rest.get(..significant).ok_or(error)?;
            let prefix = match family {
                Family::IPV4_UNICAST => {
                    let mut buf = [0u8; 4];
                    buf.get_mut(..significant)
                        .ok_or(error)?
                        .copy_from_slice(octets);
                    Self::new(IpAddr::V4(Ipv4Addr::from(buf)), len)
                }
                _ => {
                    let mut buf = [0u8; 16];
                    buf.get_mut(..significant)
                        .ok_or(error)?
                        .copy_from_slice(octets);
                    Self::new(IpAddr::V6(Ipv6Addr::from(buf)), len)
                }
            };
            prefixes.push(prefix.map_err(|_| error)?);
            bytes = &rest[significant..];
        }
        Ok(prefixes)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, len) = s.split_once('/').ok_or(PrefixError::Syntax)?;
        let addr: IpAddr = addr.parse().map_err(|_| PrefixError::Syntax)?;
        let len: u8 = len.parse().map_err(|_| PrefixError::Syntax)?;
        Self::new(addr, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn host_bits_are_cleared() {
        assert_eq!(p("192.0.2.77/24"), p("192.0.2.0/24"));
        assert_eq!(p("2001:db8::1/32").to_string(), "2001:db8::/32");
        assert_eq!(p("10.1.2.3/0").to_string(), "0.0.0.0/0");
        assert_eq!(
            "1.2.3.4/33".parse::<Prefix>(),
            Err(PrefixError::LengthTooLong)
        );
        assert_eq!("1.2.3.4".parse::<Prefix>(), Err(PrefixError::Syntax));
    }

    #[test]
    fn test_4_3_nlri_vectors() {
        let cases: &[(&str, &[u8])] = &[
            ("192.0.2.0/24", &[24, 192, 0, 2]),
            ("0.0.0.0/0", &[0]),
            ("203.0.113.53/32", &[32, 203, 0, 113, 53]),
            ("10.128.0.0/9", &[9, 10, 128]),
            ("2001:db8::/48", &[48, 0x20, 0x01, 0x0d, 0xb8, 0, 0]),
        ];
        for (text, bytes) in cases {
            let prefix = p(text);
            let mut out = Vec::new();
            prefix.emit_nlri(&mut out);
            assert_eq!(&out[..], *bytes, "{text}");
            assert_eq!(prefix.nlri_len(), bytes.len());
            let parsed =
                Prefix::parse_nlri(bytes, prefix.family(), Error::InvalidNetworkField).unwrap();
            assert_eq!(parsed, vec![prefix]);
        }
    }

    #[test]
    fn test_6_3_bad_nlri_is_invalid_network_field() {
        let e = Error::InvalidNetworkField;
        let v4 = Family::IPV4_UNICAST;
        assert_eq!(Prefix::parse_nlri(&[33, 1, 2, 3, 4, 5], v4, e), Err(e));
        assert_eq!(Prefix::parse_nlri(&[24, 1, 2], v4, e), Err(e));
        assert_eq!(Prefix::parse_nlri(&[129], Family::IPV6_UNICAST, e), Err(e));
    }
}
