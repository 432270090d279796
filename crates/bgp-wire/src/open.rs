//! OPEN messages (RFC 4271 §4.2) and the capabilities they carry (RFC 5492).
//!
//! ```text
//!  version(1) my AS(2) hold time(2) BGP identifier(4) opt params len(1) opt params(..)
//!  opt param: type(1) len(1) value      capability: code(1) len(1) value
//! ```
//!
//! The RFC 9072 extended form (length octet 255, type octet 255, then 2-octet lengths) is
//! parsed, and emitted only when the capabilities exceed 255 octets.

use std::net::Ipv4Addr;

use crate::error::{EmitError, Error};
use crate::header::HEADER_LEN;
use crate::prefix::Family;

/// The BGP version this crate speaks.
pub const BGP_VERSION: u8 = 4;

/// The AS number put in the 2-octet My AS field when ours does not fit.
// RFC 6793 §9, paraphrased: IANA reserves the 2-octet AS number 23456 as AS_TRANS.
pub const AS_TRANS: u16 = 23456;

/// Optional parameter type for capabilities (RFC 5492 §4).
const PARAM_CAPABILITIES: u8 = 2;
/// Non-Ext OP Type marking the RFC 9072 extended optional parameters.
const PARAM_EXTENDED: u8 = 255;

const CAP_MULTIPROTOCOL: u8 = 1;
const CAP_ROUTE_REFRESH: u8 = 2;
const CAP_GRACEFUL_RESTART: u8 = 64;
const CAP_FOUR_OCTET_AS: u8 = 65;

/// An OPEN message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Open {
    /// Protocol version; always 4 after a successful parse.
    pub version: u8,
    /// The sender's AS, or [`AS_TRANS`] if it does not fit two octets.
    pub my_as: u16,
    /// Proposed hold time in seconds: zero or at least three.
    pub hold_time: u16,
    /// The sender's BGP Identifier (router ID).
    pub bgp_identifier: Ipv4Addr,
    /// Capabilities, in the order received.
    pub capabilities: Vec<Capability>,
}

/// A capability advertised in an OPEN (RFC 5492).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Multiprotocol extensions for one family (RFC 4760 §8).
    Multiprotocol(Family),
    /// Route refresh (RFC 2918 §2).
    RouteRefresh,
    /// Graceful restart (RFC 4724 §3); parsed, never acted on.
    GracefulRestart(GracefulRestart),
    /// Support for 4-octet AS numbers, carrying the sender's AS (RFC 6793 §3).
    FourOctetAs(u32),
    /// Any other capability, kept raw.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value.
        value: Vec<u8>,
    },
}

/// The value of the graceful restart capability (RFC 4724 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GracefulRestart {
    /// The four Restart Flags bits.
    pub restart_flags: u8,
    /// Restart Time in seconds (12 bits).
    pub restart_time: u16,
    /// Families with their forwarding-state flags.
    pub families: Vec<GracefulRestartFamily>,
}

/// One family of the graceful restart capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GracefulRestartFamily {
    /// The family.
    pub family: Family,
    /// Flags for Address Family (bit 0x80: forwarding state preserved).
    pub flags: u8,
}

impl Open {
    /// The 4-octet AS from the capability, if the sender advertised one.
    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::FourOctetAs(asn) => Some(*asn),
            _ => None,
        })
    }

    /// The sender's AS: from the 4-octet capability if present, else the My AS field.
    //= https://www.rfc-editor.org/rfc/rfc6793#section-4.1
    //# When a NEW BGP speaker processes an OPEN message from another NEW BGP speaker, it
    //# MUST use the AS number encoded in the Capability Value field of the "support for
    //# four-octet AS number capability" in lieu of the "My Autonomous System" field of the
    //# OPEN message.
    pub fn asn(&self) -> u32 {
        self.four_octet_as()
            .unwrap_or_else(|| u32::from(self.my_as))
    }

    /// Families advertised with the multiprotocol capability (empty if none were).
    pub fn families(&self) -> Vec<Family> {
        self.capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Multiprotocol(f) => Some(*f),
                _ => None,
            })
            .collect()
    }

    /// Whether the sender advertised route refresh.
    pub fn route_refresh(&self) -> bool {
        self.capabilities.contains(&Capability::RouteRefresh)
    }

    /// Parses the body of an OPEN (the bytes after the header).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, Error> {
        let too_short = Error::BadMessageLength {
            length: u16::try_from(body.len() + HEADER_LEN).unwrap_or(u16::MAX),
        };
        let version = *body.first().ok_or(too_short)?;
        //= https://www.rfc-editor.org/rfc/rfc4271#section-6.2
        //# If the version number in the Version field of the received OPEN message is not
        //# supported, then the Error Subcode MUST be set to Unsupported Version Number.
        if version != BGP_VERSION {
            return Err(Error::UnsupportedVersionNumber { version });
        }
        let fixed = body.get(..10).ok_or(too_short)?;
        let my_as = u16::from_be_bytes([fixed[1], fixed[2]]);
        let hold_time = u16::from_be_bytes([fixed[3], fixed[4]]);
        let bgp_identifier = Ipv4Addr::new(fixed[5], fixed[6], fixed[7], fixed[8]);
        let opt_len = fixed[9];
        //= https://www.rfc-editor.org/rfc/rfc4271#section-6.2
        //# An implementation MUST reject Hold Time values of one or two seconds.
        if hold_time == 1 || hold_time == 2 {
            return Err(Error::UnacceptableHoldTime { hold_time });
        }
        //= https://www.rfc-editor.org/rfc/rfc6286#section-2.2
        //# If the BGP Identifier field of the OPEN message is zero, or if it is the same as
        //# the BGP Identifier of the local BGP speaker and the message is from an internal
        //# peer, then the Error Subcode is set to "Bad BGP Identifier".
        if bgp_identifier.is_unspecified() {
            return Err(Error::BadBgpIdentifier);
        }
        let rest = &body[10..];
        let capabilities = if opt_len == 255 && rest.first() == Some(&PARAM_EXTENDED) {
            //= https://www.rfc-editor.org/rfc/rfc9072#section-2
            //# If the value of the "Non-Ext OP Type" field is 255, then the encoding
            //# described above is used for the Optional Parameters length.
            let len = rest.get(1..3).ok_or(Error::MalformedOpen)?;
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            let params = exact(&rest[3..], len)?;
            parse_params(params, true)?
        } else {
            parse_params(exact(rest, usize::from(opt_len))?, false)?
        };
        Ok(Self {
            version,
            my_as,
            hold_time,
            bgp_identifier,
            capabilities,
        })
    }

    /// Appends the body of this OPEN.
    pub(crate) fn emit_body(&self, out: &mut Vec<u8>) -> Result<(), EmitError> {
        let mut caps = Vec::new();
        for capability in &self.capabilities {
            capability.emit(&mut caps)?;
        }
        out.push(self.version);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_identifier.octets());
        if caps.is_empty() {
            out.push(0);
        } else if let Ok(len) = u8::try_from(caps.len() + 2) {
            out.extend_from_slice(&[len, PARAM_CAPABILITIES, len - 2]);
            out.extend_from_slice(&caps);
        } else {
            let too_long = EmitError::MessageTooLong {
                length: caps.len() + 35,
            };
            let total = u16::try_from(caps.len() + 3).map_err(|_| too_long)?;
            out.extend_from_slice(&[255, PARAM_EXTENDED]);
            out.extend_from_slice(&total.to_be_bytes());
            out.push(PARAM_CAPABILITIES);
            out.extend_from_slice(&(total - 3).to_be_bytes());
            out.extend_from_slice(&caps);
        }
        Ok(())
    }
}

/// `bytes[..len]`, which must be all of `bytes`.
fn exact(bytes: &[u8], len: usize) -> Result<&[u8], Error> {
    if bytes.len() == len {
        Ok(bytes)
    } else {
        Err(Error::MalformedOpen)
    }
}

/// Parses optional parameters, collecting the capabilities of every capabilities parameter.
fn parse_params(mut params: &[u8], extended: bool) -> Result<Vec<Capability>, Error> {
    let mut capabilities = Vec::new();
    while let Some((&kind, rest)) = params.split_first() {
        let (len, rest) = if extended {
            let len = rest.get(..2).ok_or(Error::MalformedOpen)?;
            (
                usize::from(u16::from_be_bytes([len[0], len[1]])),
                &rest[2..],
            )
        } else {
            let (&len, rest) = rest.split_first().ok_or(Error::MalformedOpen)?;
            (usize::from(len), rest)
        };
        let value = rest.get(..len).ok_or(Error::MalformedOpen)?;
        params = &rest[len..];
        //= https://www.rfc-editor.org/rfc/rfc4271#section-6.2
        //# If one of the Optional Parameters in the OPEN message is not recognized, then the
        //# Error Subcode MUST be set to Unsupported Optional Parameters.
        if kind != PARAM_CAPABILITIES {
            return Err(Error::UnsupportedOptionalParameter { kind });
        }
        parse_capabilities(value, &mut capabilities)?;
    }
    Ok(capabilities)
}

/// Parses the capability TLVs of one capabilities parameter.
fn parse_capabilities(mut bytes: &[u8], into: &mut Vec<Capability>) -> Result<(), Error> {
    while let Some((&code, rest)) = bytes.split_first() {
        let (&len, rest) = rest.split_first().ok_or(Error::MalformedOpen)?;
        let value = rest.get(..usize::from(len)).ok_or(Error::MalformedOpen)?;
        bytes = &rest[usize::from(len)..];
        into.push(Capability::parse(code, value)?);
    }
    Ok(())
}

impl Capability {
    /// Parses one capability value; malformed known capabilities are 2/0 errors.
    fn parse(code: u8, value: &[u8]) -> Result<Self, Error> {
        let capability = match (code, value) {
            //= https://www.rfc-editor.org/rfc/rfc4760#section-8
            //# AFI - Address Family Identifier (16 bit), encoded the same way as in the
            //# Multiprotocol Extensions ... Res. - Reserved (8 bit) field. SHOULD be set to
            //# 0 by the sender and ignored by the receiver. ... SAFI - Subsequent Address
            //# Family Identifier (8 bit), ...
            (CAP_MULTIPROTOCOL, &[a, b, _, safi]) => Self::Multiprotocol(Family {
                afi: u16::from_be_bytes([a, b]),
                safi,
            }),
            (CAP_ROUTE_REFRESH, []) => Self::RouteRefresh,
            (CAP_FOUR_OCTET_AS, &[a, b, c, d]) => {
                Self::FourOctetAs(u32::from_be_bytes([a, b, c, d]))
            }
            (CAP_GRACEFUL_RESTART, [a, b, tuples @ ..]) if tuples.len() % 4 == 0 => {
                Self::GracefulRestart(GracefulRestart {
                    restart_flags: a >> 4,
                    restart_time: u16::from_be_bytes([a & 0x0f, *b]),
                    families: tuples
                        .chunks_exact(4)
                        .map(|t| GracefulRestartFamily {
                            family: Family {
                                afi: u16::from_be_bytes([t[0], t[1]]),
                                safi: t[2],
                            },
                            flags: t[3],
                        })
                        .collect(),
                })
            }
            (
                CAP_MULTIPROTOCOL | CAP_ROUTE_REFRESH | CAP_FOUR_OCTET_AS | CAP_GRACEFUL_RESTART,
                _,
            ) => {
                return Err(Error::MalformedOpen);
            }
            _ => Self::Unknown {
                code,
                value: value.to_vec(),
            },
        };
        Ok(capability)
    }

    /// Appends the TLV of this capability.
    fn emit(&self, out: &mut Vec<u8>) -> Result<(), EmitError> {
        let start = out.len();
        out.extend_from_slice(&[0, 0]);
        let code = match self {
            Self::Multiprotocol(family) => {
                out.extend_from_slice(&family.afi.to_be_bytes());
                out.extend_from_slice(&[0, family.safi]);
                CAP_MULTIPROTOCOL
            }
            Self::RouteRefresh => CAP_ROUTE_REFRESH,
            Self::FourOctetAs(asn) => {
                out.extend_from_slice(&asn.to_be_bytes());
                CAP_FOUR_OCTET_AS
            }
            Self::GracefulRestart(gr) => {
                let head = (u16::from(gr.restart_flags & 0x0f) << 12) | (gr.restart_time & 0x0fff);
                out.extend_from_slice(&head.to_be_bytes());
                for f in &gr.families {
                    out.extend_from_slice(&f.family.afi.to_be_bytes());
                    out.extend_from_slice(&[f.family.safi, f.flags]);
                }
                CAP_GRACEFUL_RESTART
            }
            Self::Unknown { code, value } => {
                out.extend_from_slice(value);
                *code
            }
        };
        let len = out.len() - start - 2;
        let Ok(len) = u8::try_from(len) else {
            out.truncate(start);
            return Err(EmitError::MessageTooLong { length: len });
        };
        out[start] = code;
        out[start + 1] = len;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OPEN body from AS 65001, hold 90, id 192.0.2.1, with MP v4, MP v6, route refresh
    /// and 4-octet AS 65001, all in one capabilities parameter.
    const OPEN_BODY: &[u8] = &[
        4, 0xfd, 0xe9, 0, 90, 192, 0, 2, 1, // version .. identifier
        22, 2, 20, // opt params len, capabilities param, its length
        1, 4, 0, 1, 0, 1, // MP IPv4 unicast
        1, 4, 0, 2, 0, 1, // MP IPv6 unicast
        2, 0, // route refresh
        65, 4, 0, 0, 0xfd, 0xe9, // 4-octet AS 65001
    ];

    fn template() -> Open {
        Open {
            version: 4,
            my_as: 65001,
            hold_time: 90,
            bgp_identifier: Ipv4Addr::new(192, 0, 2, 1),
            capabilities: vec![
                Capability::Multiprotocol(Family::IPV4_UNICAST),
                Capability::Multiprotocol(Family::IPV6_UNICAST),
                Capability::RouteRefresh,
                Capability::FourOctetAs(65001),
            ],
        }
    }

    #[test]
    fn test_4_2_open_vector_both_ways() {
        let open = Open::parse(OPEN_BODY).unwrap();
        assert_eq!(open, template());
        let mut out = Vec::new();
        open.emit_body(&mut out).unwrap();
        assert_eq!(out, OPEN_BODY);
        assert_eq!(open.asn(), 65001);
        assert_eq!(
            open.families(),
            vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
        );
        assert!(open.route_refresh());
    }

    #[test]
    fn test_rfc6793_as_trans() {
        let open = Open {
            my_as: AS_TRANS,
            capabilities: vec![Capability::FourOctetAs(4_200_000_000)],
            ..template()
        };
        let mut out = Vec::new();
        open.emit_body(&mut out).unwrap();
        let parsed = Open::parse(&out).unwrap();
        assert_eq!(parsed.asn(), 4_200_000_000);
        assert_eq!(parsed.my_as, 23456);
    }

    #[test]
    fn test_rfc4724_graceful_restart_parsed() {
        let body = [
            4, 0, 1, 0, 0, 1, 1, 1, 1, // version .. identifier
            10, 2, 8, 64, 6, 0x80, 120, 0, 1, 1, 0x80,
        ];
        let open = Open::parse(&body).unwrap();
        let Capability::GracefulRestart(gr) = &open.capabilities[0] else {
            panic!("not GR: {open:?}");
        };
        assert_eq!((gr.restart_flags, gr.restart_time), (8, 120));
        assert_eq!(gr.families[0].family, Family::IPV4_UNICAST);
        let mut out = Vec::new();
        open.emit_body(&mut out).unwrap();
        assert_eq!(out, body);
    }

    #[test]
    fn test_rfc9072_extended_parameters() {
        let unknown = Capability::Unknown {
            code: 200,
            value: vec![7; 200],
        };
        let open = Open {
            capabilities: vec![unknown.clone(), unknown],
            ..template()
        };
        let mut out = Vec::new();
        open.emit_body(&mut out).unwrap();
        assert_eq!(&out[9..11], &[255, 255]);
        assert_eq!(Open::parse(&out).unwrap(), open);
    }

    #[test]
    fn test_6_2_open_errors() {
        let mut body = OPEN_BODY.to_vec();
        body[0] = 3;
        assert_eq!(
            Open::parse(&body),
            Err(Error::UnsupportedVersionNumber { version: 3 })
        );
        let mut body = OPEN_BODY.to_vec();
        body[4] = 2;
        assert_eq!(
            Open::parse(&body),
            Err(Error::UnacceptableHoldTime { hold_time: 2 })
        );
        let mut body = OPEN_BODY.to_vec();
        body[5..9].copy_from_slice(&[0, 0, 0, 0]);
        assert_eq!(Open::parse(&body), Err(Error::BadBgpIdentifier));
        let mut body = OPEN_BODY.to_vec();
        body[10] = 1; // authentication parameter, long deprecated
        assert_eq!(
            Open::parse(&body),
            Err(Error::UnsupportedOptionalParameter { kind: 1 })
        );
        let mut body = OPEN_BODY.to_vec();
        body[9] = 30; // opt params longer than the message
        assert_eq!(Open::parse(&body), Err(Error::MalformedOpen));
        let mut body = OPEN_BODY.to_vec();
        body[13] = 3; // MP capability with length 3
        assert_eq!(Open::parse(&body), Err(Error::MalformedOpen));
        assert!(Open::parse(&OPEN_BODY[..5]).is_err());
    }
}
