//! Path attributes of an UPDATE (RFC 4271 §4.3, §5) and their RFC 7606 error handling.
//!
//! ```text
//!  flags(1) type(1) length(1, or 2 with the Extended Length flag) value(length)
//!  flags: 0x80 Optional, 0x40 Transitive, 0x20 Partial, 0x10 Extended Length
//! ```
//!
//! [`PathAttributes`] holds the attributes anyns reads or writes, decoded, and keeps every
//! other optional attribute as a [`RawAttribute`]. Parsing sorts each attribute error into
//! "session reset" (an [`Error`]) or one of the RFC 7606 actions (an [`AttributeError`]).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{AttributeError, EmitError, Error, ErrorAction};
use crate::negotiated::Negotiated;
use crate::open::AS_TRANS;
use crate::prefix::{Family, Prefix};

/// Type code of ORIGIN (RFC 4271 §5.1.1).
pub const ORIGIN: u8 = 1;
/// Type code of AS_PATH (RFC 4271 §5.1.2).
pub const AS_PATH: u8 = 2;
/// Type code of NEXT_HOP (RFC 4271 §5.1.3).
pub const NEXT_HOP: u8 = 3;
/// Type code of MULTI_EXIT_DISC (RFC 4271 §5.1.4).
pub const MULTI_EXIT_DISC: u8 = 4;
/// Type code of LOCAL_PREF (RFC 4271 §5.1.5).
pub const LOCAL_PREF: u8 = 5;
/// Type code of ATOMIC_AGGREGATE (RFC 4271 §5.1.6).
pub const ATOMIC_AGGREGATE: u8 = 6;
/// Type code of AGGREGATOR (RFC 4271 §5.1.7).
pub const AGGREGATOR: u8 = 7;
/// Type code of COMMUNITIES (RFC 1997).
pub const COMMUNITIES: u8 = 8;
/// Type code of MP_REACH_NLRI (RFC 4760 §3).
pub const MP_REACH_NLRI: u8 = 14;
/// Type code of MP_UNREACH_NLRI (RFC 4760 §4).
pub const MP_UNREACH_NLRI: u8 = 15;
/// Type code of AS4_PATH (RFC 6793 §3).
pub const AS4_PATH: u8 = 17;
/// Type code of LARGE_COMMUNITY (RFC 8092 §3).
pub const LARGE_COMMUNITY: u8 = 32;

const FLAG_OPTIONAL: u8 = 0x80;
const FLAG_TRANSITIVE: u8 = 0x40;
const FLAG_PARTIAL: u8 = 0x20;
const FLAG_EXTENDED: u8 = 0x10;

/// ORIGIN values (RFC 4271 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Learned by an interior protocol (0).
    Igp,
    /// Learned by EGP (1).
    Egp,
    /// Learned some other way (2).
    Incomplete,
}

/// AS_PATH segment types (RFC 4271 §4.3, RFC 5065 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsSegmentType {
    /// AS_SET (1).
    Set,
    /// AS_SEQUENCE (2).
    Sequence,
    /// AS_CONFED_SEQUENCE (3).
    ConfedSequence,
    /// AS_CONFED_SET (4).
    ConfedSet,
}

impl AsSegmentType {
    fn from_u8(value: u8) -> Option<Self> {
        match value {
            1 => Some(Self::Set),
            2 => Some(Self::Sequence),
            3 => Some(Self::ConfedSequence),
            4 => Some(Self::ConfedSet),
            _ => None,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Self::Set => 1,
            Self::Sequence => 2,
            Self::ConfedSequence => 3,
            Self::ConfedSet => 4,
        }
    }
}

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsSegment {
    /// Segment type.
    pub kind: AsSegmentType,
    /// AS numbers, always held as four octets.
    pub asns: Vec<u32>,
}

/// An AS_PATH: a list of segments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AsPath {
    /// The segments in wire order.
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE, or the empty path if `asns` is empty.
    pub fn sequence(asns: Vec<u32>) -> Self {
        if asns.is_empty() {
            return Self::default();
        }
        Self {
            segments: vec![AsSegment {
                kind: AsSegmentType::Sequence,
                asns,
            }],
        }
    }

    /// Parses with 2- or 4-octet AS numbers; `None` if malformed.
    //= https://www.rfc-editor.org/rfc/rfc7606#section-7.2
    //# An AS_PATH is considered malformed if an unrecognized segment type is encountered or
    //# if it contains a malformed segment.
    fn parse(mut bytes: &[u8], four_octet: bool) -> Option<Self> {
        let width = if four_octet { 4 } else { 2 };
        let mut segments = Vec::new();
        while let [kind, count, rest @ ..] = bytes {
            let kind = AsSegmentType::from_u8(*kind)?;
            if *count == 0 {
                return None;
            }
            let len = usize::from(*count) * width;
            let raw = rest.get(..len)?;
            let asns = if four_octet {
                raw.chunks_exact(4)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            } else {
                raw.chunks_exact(2)
                    .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
                    .collect()
            };
            segments.push(AsSegment { kind, asns });
            bytes = &rest[len..];
        }
        // An underrun: octets remain that cannot hold a segment header.
        bytes.is_empty().then_some(Self { segments })
    }

    /// Appends the encoding; in 2-octet mode ASNs above 65535 become AS_TRANS.
    fn emit(&self, out: &mut Vec<u8>, four_octet: bool) {
        for segment in &self.segments {
            // A segment holds at most 255 ASNs; longer lists are split.
            for chunk in segment.asns.chunks(255) {
                out.push(segment.kind.to_u8());
                out.push(u8::try_from(chunk.len()).unwrap_or(u8::MAX));
                for &asn in chunk {
                    if four_octet {
                        out.extend_from_slice(&asn.to_be_bytes());
                    } else {
                        let asn = u16::try_from(asn).unwrap_or(AS_TRANS);
                        out.extend_from_slice(&asn.to_be_bytes());
                    }
                }
            }
        }
    }

    fn needs_four_octets(&self) -> bool {
        self.segments
            .iter()
            .flat_map(|s| &s.asns)
            .any(|&a| a > u32::from(u16::MAX))
    }
}

/// A community (RFC 1997): two 16-bit halves, conventionally `asn:value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Community(pub u32);

impl Community {
    /// NO_EXPORT: do not advertise outside the confederation (RFC 1997).
    pub const NO_EXPORT: Self = Self(0xFFFF_FF01);
    /// NO_ADVERTISE: do not advertise to any peer (RFC 1997).
    pub const NO_ADVERTISE: Self = Self(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Self = Self(0xFFFF_FF03);
    /// GRACEFUL_SHUTDOWN, 65535:0 (RFC 8326 §5).
    pub const GRACEFUL_SHUTDOWN: Self = Self(0xFFFF_0000);

    /// The community `asn:value`.
    pub const fn new(asn: u16, value: u16) -> Self {
        Self(((asn as u32) << 16) | value as u32)
    }
}

/// A large community (RFC 8092): `global:local1:local2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LargeCommunity {
    /// Global Administrator, usually the AS.
    pub global_admin: u32,
    /// Local Data Part 1.
    pub local_data_1: u32,
    /// Local Data Part 2.
    pub local_data_2: u32,
}

/// The AGGREGATOR attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aggregator {
    /// The aggregating AS.
    pub asn: u32,
    /// The aggregating speaker's address.
    pub address: Ipv4Addr,
}

/// The next hop in MP_REACH_NLRI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MpNextHop {
    /// A 4-octet IPv4 next hop.
    Ipv4(Ipv4Addr),
    /// An IPv6 next hop: global, optionally followed by link-local (RFC 2545 §3).
    Ipv6 {
        /// Global unicast address.
        global: Ipv6Addr,
        /// Link-local address, when sender and peer share a link.
        link_local: Option<Ipv6Addr>,
    },
}

/// MP_REACH_NLRI for a supported family (RFC 4760 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpReach {
    /// Family of the NLRI.
    pub family: Family,
    /// Next hop for all the NLRI.
    pub next_hop: MpNextHop,
    /// Reachable prefixes.
    pub nlri: Vec<Prefix>,
}

/// MP_UNREACH_NLRI for a supported family (RFC 4760 §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpUnreach {
    /// Family of the withdrawn routes.
    pub family: Family,
    /// Withdrawn prefixes.
    pub withdrawn: Vec<Prefix>,
}

/// An attribute kept as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawAttribute {
    /// Optional, Transitive and Partial flags (the Extended Length bit is recomputed).
    pub flags: u8,
    /// Type code.
    pub type_code: u8,
    /// Value.
    pub value: Vec<u8>,
}

/// The path attributes of one UPDATE.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PathAttributes {
    /// ORIGIN.
    pub origin: Option<Origin>,
    /// AS_PATH, with 4-octet ASNs.
    pub as_path: Option<AsPath>,
    /// NEXT_HOP for IPv4 NLRI in the UPDATE's own NLRI field.
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF (iBGP only).
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE is present.
    pub atomic_aggregate: bool,
    /// AGGREGATOR.
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES; empty means absent.
    pub communities: Vec<Community>,
    /// MP_REACH_NLRI for IPv4/IPv6 unicast.
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI for IPv4/IPv6 unicast.
    pub mp_unreach: Option<MpUnreach>,
    /// LARGE_COMMUNITY; empty means absent.
    pub large_communities: Vec<LargeCommunity>,
    /// Every other attribute, including MP attributes of other families.
    pub other: Vec<RawAttribute>,
}

/// Expected (Optional, Transitive) flags of the attributes we decode.
fn expected_flags(type_code: u8) -> Option<(bool, bool)> {
    match type_code {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => Some((false, true)),
        MULTI_EXIT_DISC | MP_REACH_NLRI | MP_UNREACH_NLRI => Some((true, false)),
        AGGREGATOR | COMMUNITIES | LARGE_COMMUNITY => Some((true, true)),
        _ => None,
    }
}

impl PathAttributes {
    /// Parses the path attribute list of an UPDATE.
    ///
    /// Returns `Err` only for errors that RFC 7606 still handles by session reset; all
    /// others are pushed onto `errors`.
    pub(crate) fn parse(
        mut bytes: &[u8],
        negotiated: Negotiated,
        errors: &mut Vec<AttributeError>,
    ) -> Result<Self, Error> {
        let mut attrs = Self::default();
        let mut seen = [false; 256];
        while !bytes.is_empty() {
            let Split {
                flags,
                type_code,
                value,
                rest,
            } = match split_attribute(bytes) {
                Ok(split) => split,
                Err(type_code) => {
                    //= https://www.rfc-editor.org/rfc/rfc7606#section-4
                    //# In either of these cases, an error condition exists and the
                    //# "treat-as-withdraw" approach MUST be used (unless some other, more
                    //# severe error is encountered dictating a stronger approach)
                    if type_code == MP_REACH_NLRI || type_code == MP_UNREACH_NLRI {
                        return Err(Error::OptionalAttribute { type_code });
                    }
                    errors.push(AttributeError {
                        type_code,
                        error: Error::AttributeLength { type_code },
                        action: ErrorAction::TreatAsWithdraw,
                    });
                    break;
                }
            };
            bytes = rest;
            let index = usize::from(type_code);
            if seen[index] {
                //= https://www.rfc-editor.org/rfc/rfc7606#section-3
                //# If the MP_REACH_NLRI attribute or the MP_UNREACH_NLRI [RFC4760] attribute
                //# appears more than once in the UPDATE message, then a NOTIFICATION message
                //# MUST be sent with the Error Subcode "Malformed Attribute List". If any
                //# other attribute (whether recognized or unrecognized) appears more than
                //# once in an UPDATE message, then all the occurrences of the attribute other
                //# than the first one SHALL be discarded
                if type_code == MP_REACH_NLRI || type_code == MP_UNREACH_NLRI {
                    return Err(Error::MalformedAttributeList);
                }
                errors.push(AttributeError {
                    type_code,
                    error: Error::MalformedAttributeList,
                    action: ErrorAction::AttributeDiscard,
                });
                continue;
            }
            seen[index] = true;
            attrs.parse_one(flags, type_code, value, negotiated, errors)?;
        }
        Ok(attrs)
    }

    /// Decodes one attribute into `self`.
    fn parse_one(
        &mut self,
        flags: u8,
        type_code: u8,
        value: &[u8],
        negotiated: Negotiated,
        errors: &mut Vec<AttributeError>,
    ) -> Result<(), Error> {
        let mut record = |error: Error, action: ErrorAction| {
            errors.push(AttributeError {
                type_code,
                error,
                action,
            });
        };
        use ErrorAction::{AttributeDiscard, TreatAsWithdraw};
        if let Some((optional, transitive)) = expected_flags(type_code) {
            //= https://www.rfc-editor.org/rfc/rfc7606#section-3
            //# If the value of either the Optional or Transitive bits in the Attribute Flags
            //# is in conflict with their specified values, then the attribute MUST be treated
            //# as malformed and the "treat-as-withdraw" approach used
            let conflict = (flags & FLAG_OPTIONAL != 0) != optional
                || (flags & FLAG_TRANSITIVE != 0) != transitive;
            if conflict {
                record(Error::AttributeFlags { type_code }, TreatAsWithdraw);
                // The MP attributes are still decoded, so that their NLRI can be withdrawn.
                if type_code != MP_REACH_NLRI && type_code != MP_UNREACH_NLRI {
                    return Ok(());
                }
            }
        }
        let length_error = Error::AttributeLength { type_code };
        match type_code {
            //= https://www.rfc-editor.org/rfc/rfc7606#section-7.1
            //# The attribute is considered malformed if its length is not 1 or if it has an
            //# undefined value [RFC4271]. An UPDATE message with a malformed ORIGIN attribute
            //# SHALL be handled using the approach of "treat-as-withdraw".
            ORIGIN => match value {
                [0] => self.origin = Some(Origin::Igp),
                [1] => self.origin = Some(Origin::Egp),
                [2] => self.origin = Some(Origin::Incomplete),
                [_] => record(Error::InvalidOrigin, TreatAsWithdraw),
                _ => record(length_error, TreatAsWithdraw),
            },
            //= https://www.rfc-editor.org/rfc/rfc7606#section-7.2
            //# An UPDATE message with a malformed AS_PATH attribute SHALL be handled using
            //# the approach of "treat-as-withdraw".
            AS_PATH => match AsPath::parse(value, negotiated.four_octet_as) {
                Some(path) => self.as_path = Some(path),
                None => record(Error::MalformedAsPath, TreatAsWithdraw),
            },
            //= https://www.rfc-editor.org/rfc/rfc7606#section-7.3
            //# The attribute is considered malformed if its length is not 4 [RFC4271]. An
            //# UPDATE message with a malformed NEXT_HOP attribute SHALL be handled using the
            //# approach of "treat-as-withdraw".
            NEXT_HOP => match value {
                &[a, b, c, d] => {
                    let addr = Ipv4Addr::new(a, b, c, d);
                    //= https://www.rfc-editor.org/rfc/rfc4271#section-6.3
                    //# If the NEXT_HOP attribute is semantically incorrect, the error
                    //# SHOULD be logged, and the route SHOULD be ignored. In this case, a
                    //# NOTIFICATION message SHOULD NOT be sent, and the connection SHOULD
                    //# NOT be closed.
                    if addr.is_unspecified() || addr.is_multicast() || addr.is_broadcast() {
                        record(Error::InvalidNextHop, TreatAsWithdraw);
                    } else {
                        self.next_hop = Some(addr);
                    }
                }
                _ => record(length_error, TreatAsWithdraw),
            },
            //= https://www.rfc-editor.org/rfc/rfc7606#section-7.4
            //# The attribute is considered malformed if its length is not 4 [RFC4271]. An
            //# UPDATE message with a malformed MULTI_EXIT_DISC attribute SHALL be handled
            //# using the approach of "treat-as-withdraw".
            MULTI_EXIT_DISC => match value {
                &[a, b, c, d] => self.med = Some(u32::from_be_bytes([a, b, c, d])),
                _ => record(length_error, TreatAsWithdraw),
            },
            //= https://www.rfc-editor.org/rfc/rfc7606#section-7.5
            //# The error handling of [RFC4271] is revised as follows: o if the LOCAL_PREF
            //# attribute is received from an external neighbor, it SHALL be discarded using
            //# the approach of "attribute discard"; or o if received from an internal
            //# neighbor, it SHALL be considered malformed if its length is not equal to 4.
            //# If malformed, the UPDATE message SHALL be handled using the approach of
            //# "treat-as-withdraw".
            LOCAL_PREF => match value {
                &[a, b, c, d] => self.local_pref = Some(u32::from_be_bytes([a, b, c, d])),
                _ => record(length_error, TreatAsWithdraw),
            },
            //= https://www.rfc-editor.org/rfc/rfc7606#section-7.6
            //# The attribute SHALL be considered malformed if its length is not 0
            //# [RFC4271]. An UPDATE message with a malformed ATOMIC_AGGREGATE attribute
            //# SHALL be handled using the approach of "attribute discard".
            ATOMIC_AGGREGATE => match value {
                [] => self.atomic_aggregate = true,
                _ => record(length_error, AttributeDiscard),
            },
            //= https://www.rfc-editor.org/rfc/rfc7606#section-7.7
            //# The AGGREGATOR attribute SHALL be considered malformed if any of the
            //# following applies: o Its length is not 6 (when the 4-octet AS number
            //# capability is not advertised to or not received from the peer [RFC6793]).
            //# o Its length is not 8 (when the 4-octet AS number capability is both
            //# advertised to and received from the peer). An UPDATE message with a
            //# malformed AGGREGATOR attribute SHALL be handled using the approach of
            //# "attribute discard".
            AGGREGATOR => match (negotiated.four_octet_as, value) {
                (true, &[a, b, c, d, e, f, g, h]) => {
                    self.aggregator = Some(Aggregator {
                        asn: u32::from_be_bytes([a, b, c, d]),
                        address: Ipv4Addr::new(e, f, g, h),
                    });
                }
                (false, &[a, b, e, f, g, h]) => {
                    self.aggregator = Some(Aggregator {
                        asn: u32::from(u16::from_be_bytes([a, b])),
                        address: Ipv4Addr::new(e, f, g, h),
                    });
                }
                _ => record(length_error, AttributeDiscard),
            },
            //= https://www.rfc-editor.org/rfc/rfc7606#section-7.8
            //# The error handling of [RFC1997] is revised as follows: The Community attribute
            //# SHALL be considered malformed if its length is not a non-zero multiple of 4.
            //# An UPDATE message with a malformed Community attribute SHALL be handled using
            //# the approach of "treat-as-withdraw".
            COMMUNITIES if !value.is_empty() && value.len().is_multiple_of(4) => {
                self.communities = value
                    .chunks_exact(4)
                    .map(|c| Community(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                    .collect();
            }
            COMMUNITIES => record(length_error, TreatAsWithdraw),
            //= https://www.rfc-editor.org/rfc/rfc8092#section-6
            //# A BGP Large Communities attribute SHALL be considered malformed if the length
            //# of the BGP Large Communities Attribute value, expressed in octets, is not a
            //# non-zero multiple of 12.
            LARGE_COMMUNITY if !value.is_empty() && value.len().is_multiple_of(12) => {
                self.large_communities = value
                    .chunks_exact(12)
                    .map(|c| LargeCommunity {
                        global_admin: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                        local_data_1: u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
                        local_data_2: u32::from_be_bytes([c[8], c[9], c[10], c[11]]),
                    })
                    .collect();
            }
            LARGE_COMMUNITY => record(length_error, TreatAsWithdraw),
            MP_REACH_NLRI => match MpReach::parse(value)? {
                Some(reach) => self.mp_reach = Some(reach),
                None => self.keep_raw(flags, type_code, value),
            },
            MP_UNREACH_NLRI => match MpUnreach::parse(value)? {
                Some(unreach) => self.mp_unreach = Some(unreach),
                None => self.keep_raw(flags, type_code, value),
            },
            //= https://www.rfc-editor.org/rfc/rfc4271#section-6.3
            //# If any of the well-known mandatory attributes are not recognized, then the
            //# Error Subcode MUST be set to Unrecognized Well-known Attribute.
            _ if flags & FLAG_OPTIONAL == 0 => {
                return Err(Error::UnrecognizedWellKnownAttribute { type_code });
            }
            _ => self.keep_raw(flags, type_code, value),
        }
        Ok(())
    }

    fn keep_raw(&mut self, flags: u8, type_code: u8, value: &[u8]) {
        self.other.push(RawAttribute {
            flags: flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE | FLAG_PARTIAL),
            type_code,
            value: value.to_vec(),
        });
    }

    /// Appends the attribute list: MP attributes first (RFC 7606 §5.1), then by type code.
    pub(crate) fn emit(&self, out: &mut Vec<u8>, negotiated: Negotiated) -> Result<(), EmitError> {
        let mut value = Vec::new();
        const WELL_KNOWN: u8 = FLAG_TRANSITIVE;
        const OPTIONAL_TRANSITIVE: u8 = FLAG_OPTIONAL | FLAG_TRANSITIVE;
        if let Some(unreach) = &self.mp_unreach {
            unreach.emit(&mut value)?;
            put(out, FLAG_OPTIONAL, MP_UNREACH_NLRI, &mut value)?;
        }
        if let Some(reach) = &self.mp_reach {
            reach.emit(&mut value)?;
            put(out, FLAG_OPTIONAL, MP_REACH_NLRI, &mut value)?;
        }
        if let Some(origin) = self.origin {
            value.push(match origin {
                Origin::Igp => 0,
                Origin::Egp => 1,
                Origin::Incomplete => 2,
            });
            put(out, WELL_KNOWN, ORIGIN, &mut value)?;
        }
        let mut as4_path = None;
        if let Some(path) = &self.as_path {
            path.emit(&mut value, negotiated.four_octet_as);
            put(out, WELL_KNOWN, AS_PATH, &mut value)?;
            //= https://www.rfc-editor.org/rfc/rfc6793#section-4.2.2
            //# The NEW BGP speaker MUST also send the AS path information in the AS4_PATH
            //# attribute (encoded with four-octet AS numbers), except for the case where all
            //# of the AS path information is composed of mappable four-octet AS numbers only.
            if !negotiated.four_octet_as && path.needs_four_octets() {
                as4_path = Some(path);
            }
        }
        if let Some(next_hop) = self.next_hop {
            value.extend_from_slice(&next_hop.octets());
            put(out, WELL_KNOWN, NEXT_HOP, &mut value)?;
        }
        if let Some(med) = self.med {
            value.extend_from_slice(&med.to_be_bytes());
            put(out, FLAG_OPTIONAL, MULTI_EXIT_DISC, &mut value)?;
        }
        if let Some(local_pref) = self.local_pref {
            value.extend_from_slice(&local_pref.to_be_bytes());
            put(out, WELL_KNOWN, LOCAL_PREF, &mut value)?;
        }
        if self.atomic_aggregate {
            put(out, WELL_KNOWN, ATOMIC_AGGREGATE, &mut value)?;
        }
        if let Some(aggregator) = self.aggregator {
            if negotiated.four_octet_as {
                value.extend_from_slice(&aggregator.asn.to_be_bytes());
            } else {
                let asn = u16::try_from(aggregator.asn).unwrap_or(AS_TRANS);
                value.extend_from_slice(&asn.to_be_bytes());
            }
            value.extend_from_slice(&aggregator.address.octets());
            put(out, OPTIONAL_TRANSITIVE, AGGREGATOR, &mut value)?;
        }
        if !self.communities.is_empty() {
            for community in &self.communities {
                value.extend_from_slice(&community.0.to_be_bytes());
            }
            put(out, OPTIONAL_TRANSITIVE, COMMUNITIES, &mut value)?;
        }
        if let Some(path) = as4_path {
            path.emit(&mut value, true);
            put(out, OPTIONAL_TRANSITIVE, AS4_PATH, &mut value)?;
        }
        if !self.large_communities.is_empty() {
            for c in &self.large_communities {
                value.extend_from_slice(&c.global_admin.to_be_bytes());
                value.extend_from_slice(&c.local_data_1.to_be_bytes());
                value.extend_from_slice(&c.local_data_2.to_be_bytes());
            }
            put(out, OPTIONAL_TRANSITIVE, LARGE_COMMUNITY, &mut value)?;
        }
        for raw in &self.other {
            value.extend_from_slice(&raw.value);
            put(out, raw.flags & !FLAG_EXTENDED, raw.type_code, &mut value)?;
        }
        Ok(())
    }
}

/// One attribute split off the front of an attribute list.
struct Split<'a> {
    flags: u8,
    type_code: u8,
    value: &'a [u8],
    rest: &'a [u8],
}

/// Splits the first attribute off `bytes`; on overrun returns the type code (0 if even that
/// is missing).
fn split_attribute(bytes: &[u8]) -> Result<Split<'_>, u8> {
    let [flags, type_code, rest @ ..] = bytes else {
        return Err(0);
    };
    let (len, rest) = if flags & FLAG_EXTENDED != 0 {
        let [a, b, rest @ ..] = rest else {
            return Err(*type_code);
        };
        (usize::from(u16::from_be_bytes([*a, *b])), rest)
    } else {
        let [a, rest @ ..] = rest else {
            return Err(*type_code);
        };
        (usize::from(*a), rest)
    };
    let value = rest.get(..len).ok_or(*type_code)?;
    Ok(Split {
        flags: *flags,
        type_code: *type_code,
        value,
        rest: &rest[len..],
    })
}

/// Appends one attribute whose value is in `value`, and clears `value` for the next one.
fn put(out: &mut Vec<u8>, flags: u8, type_code: u8, value: &mut Vec<u8>) -> Result<(), EmitError> {
    if let Ok(len) = u8::try_from(value.len()) {
        out.extend_from_slice(&[flags, type_code, len]);
    } else {
        let len = u16::try_from(value.len()).map_err(|_| EmitError::MessageTooLong {
            length: value.len(),
        })?;
        out.extend_from_slice(&[flags | FLAG_EXTENDED, type_code]);
        out.extend_from_slice(&len.to_be_bytes());
    }
    out.append(value);
    Ok(())
}

impl MpReach {
    /// Parses an MP_REACH_NLRI value; `Ok(None)` for families this crate does not decode.
    //= https://www.rfc-editor.org/rfc/rfc7606#section-7.11
    //# If the Length of Next Hop Network Address field of the MP_REACH attribute is
    //# inconsistent with that which was expected, the attribute is considered malformed.
    //# Since the next hop precedes the NLRI field in the attribute, in this case it will not
    //# be possible to reliably locate the NLRI; thus, the "session reset" or "AFI/SAFI
    //# disable" approach MUST be used.
    fn parse(value: &[u8]) -> Result<Option<Self>, Error> {
        let error = Error::OptionalAttribute {
            type_code: MP_REACH_NLRI,
        };
        let [a, b, safi, nh_len, rest @ ..] = value else {
            return Err(error);
        };
        let family = Family {
            afi: u16::from_be_bytes([*a, *b]),
            safi: *safi,
        };
        if !family.is_supported() {
            return Ok(None);
        }
        let nh_len = usize::from(*nh_len);
        let next_hop = rest.get(..nh_len).ok_or(error)?;
        //= https://www.rfc-editor.org/rfc/rfc2545#section-3
        //# The value of the Length of Next Hop Network Address field on a MP_REACH_NLRI
        //# attribute shall be set to 16, ...
        let next_hop = match next_hop.len() {
            4 => {
                let octets: [u8; 4] = next_hop.try_into().map_err(|_| error)?;
                MpNextHop::Ipv4(Ipv4Addr::from(octets))
            }
            16 | 32 => {
                let global: [u8; 16] = next_hop
                    .get(..16)
                    .ok_or(error)?
                    .try_into()
                    .map_err(|_| error)?;
                let link_local = match next_hop.get(16..) {
                    Some(ll) if !ll.is_empty() => {
                        let ll: [u8; 16] = ll.try_into().map_err(|_| error)?;
                        Some(Ipv6Addr::from(ll))
                    }
                    _ => None,
                };
                MpNextHop::Ipv6 {
                    global: Ipv6Addr::from(global),
                    link_local,
                }
            }
            _ => return Err(error),
        };
        // One reserved octet, then the NLRI.
        let nlri = rest.get(nh_len + 1..).ok_or(error)?;
        let nlri = Prefix::parse_nlri(nlri, family, error)?;
        Ok(Some(Self {
            family,
            next_hop,
            nlri,
        }))
    }

    fn emit(&self, out: &mut Vec<u8>) -> Result<(), EmitError> {
        out.extend_from_slice(&self.family.afi.to_be_bytes());
        out.push(self.family.safi);
        match self.next_hop {
            MpNextHop::Ipv4(addr) => {
                out.push(4);
                out.extend_from_slice(&addr.octets());
            }
            MpNextHop::Ipv6 { global, link_local } => {
                out.push(if link_local.is_some() { 32 } else { 16 });
                out.extend_from_slice(&global.octets());
                if let Some(ll) = link_local {
                    out.extend_from_slice(&ll.octets());
                }
            }
        }
        out.push(0);
        emit_prefixes(out, self.family, &self.nlri)
    }
}

impl MpUnreach {
    /// Parses an MP_UNREACH_NLRI value; `Ok(None)` for families this crate does not decode.
    fn parse(value: &[u8]) -> Result<Option<Self>, Error> {
        let error = Error::OptionalAttribute {
            type_code: MP_UNREACH_NLRI,
        };
        let [a, b, safi, withdrawn @ ..] = value else {
            return Err(error);
        };
        let family = Family {
            afi: u16::from_be_bytes([*a, *b]),
            safi: *safi,
        };
        if !family.is_supported() {
            return Ok(None);
        }
        let withdrawn = Prefix::parse_nlri(withdrawn, family, error)?;
        Ok(Some(Self { family, withdrawn }))
    }

    fn emit(&self, out: &mut Vec<u8>) -> Result<(), EmitError> {
        out.extend_from_slice(&self.family.afi.to_be_bytes());
        out.push(self.family.safi);
        emit_prefixes(out, self.family, &self.withdrawn)
    }
}

/// Appends prefixes that must all belong to `family`.
pub(crate) fn emit_prefixes(
    out: &mut Vec<u8>,
    family: Family,
    prefixes: &[Prefix],
) -> Result<(), EmitError> {
    for prefix in prefixes {
        if prefix.family() != family {
            return Err(EmitError::FamilyMismatch);
        }
        prefix.emit_nlri(out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOUR: Negotiated = Negotiated {
        four_octet_as: true,
    };
    const TWO: Negotiated = Negotiated {
        four_octet_as: false,
    };

    fn parse(bytes: &[u8], n: Negotiated) -> (Result<PathAttributes, Error>, Vec<AttributeError>) {
        let mut errors = Vec::new();
        (PathAttributes::parse(bytes, n, &mut errors), errors)
    }

    #[test]
    fn test_rfc6793_as_path_two_octet_peer_gets_as4_path() {
        let attrs = PathAttributes {
            as_path: Some(AsPath::sequence(vec![4_200_000_000, 65001])),
            ..PathAttributes::default()
        };
        let mut out = Vec::new();
        attrs.emit(&mut out, TWO).unwrap();
        assert_eq!(
            out,
            [
                0x40, 2, 6, 2, 2, 0x5b, 0xa0, 0xfd, 0xe9, // AS_PATH 23456 65001
                0xc0, 17, 10, 2, 2, 0xfa, 0x56, 0xea, 0x00, 0, 0, 0xfd, 0xe9, // AS4_PATH
            ]
        );
        let (parsed, errors) = parse(&out, TWO);
        let parsed = parsed.unwrap();
        assert!(errors.is_empty());
        assert_eq!(parsed.as_path, Some(AsPath::sequence(vec![23456, 65001])));
        assert_eq!(parsed.other[0].type_code, AS4_PATH);
    }

    #[test]
    fn test_rfc7606_3_duplicate_attribute_is_discarded() {
        let bytes = [0x40, 1, 1, 0, 0x40, 1, 1, 2];
        let (parsed, errors) = parse(&bytes, FOUR);
        assert_eq!(parsed.unwrap().origin, Some(Origin::Igp));
        assert_eq!(errors[0].action, ErrorAction::AttributeDiscard);
    }

    #[test]
    fn test_rfc7606_3_duplicate_mp_reach_resets() {
        let mp = [0x80, 15, 3, 0, 2, 1];
        let bytes = [mp, mp].concat();
        assert_eq!(parse(&bytes, FOUR).0, Err(Error::MalformedAttributeList));
    }

    #[test]
    fn test_rfc7606_3_flags_conflict_is_treat_as_withdraw() {
        let bytes = [0xc0, 1, 1, 0]; // ORIGIN marked optional
        let (parsed, errors) = parse(&bytes, FOUR);
        assert_eq!(parsed.unwrap().origin, None);
        assert_eq!(errors[0].error, Error::AttributeFlags { type_code: ORIGIN });
        assert_eq!(errors[0].action, ErrorAction::TreatAsWithdraw);
    }

    #[test]
    fn test_rfc7606_7_per_attribute_actions() {
        use ErrorAction::{AttributeDiscard as D, TreatAsWithdraw as T};
        let cases: &[(&[u8], Error, ErrorAction)] = &[
            (&[0x40, 1, 1, 3], Error::InvalidOrigin, T),
            (
                &[0x40, 1, 2, 0, 0],
                Error::AttributeLength { type_code: 1 },
                T,
            ),
            (&[0x40, 2, 2, 2, 0], Error::MalformedAsPath, T),
            (&[0x40, 2, 6, 9, 1, 0, 0, 0, 1], Error::MalformedAsPath, T),
            (&[0x40, 3, 4, 0, 0, 0, 0], Error::InvalidNextHop, T),
            (
                &[0x40, 3, 3, 1, 2, 3],
                Error::AttributeLength { type_code: 3 },
                T,
            ),
            (
                &[0x80, 4, 2, 0, 0],
                Error::AttributeLength { type_code: 4 },
                T,
            ),
            (&[0x40, 6, 1, 0], Error::AttributeLength { type_code: 6 }, D),
            (
                &[0xc0, 7, 3, 0, 0, 0],
                Error::AttributeLength { type_code: 7 },
                D,
            ),
            (&[0xc0, 8, 0], Error::AttributeLength { type_code: 8 }, T),
            (
                &[0xc0, 8, 3, 1, 2, 3],
                Error::AttributeLength { type_code: 8 },
                T,
            ),
            (
                &[0xc0, 32, 4, 0, 0, 0, 1],
                Error::AttributeLength { type_code: 32 },
                T,
            ),
            // Section 4: the attribute overruns the list.
            (&[0x40, 1, 5, 0], Error::AttributeLength { type_code: 1 }, T),
            (&[0x40], Error::AttributeLength { type_code: 0 }, T),
        ];
        for (bytes, error, action) in cases {
            let (parsed, errors) = parse(bytes, FOUR);
            assert!(parsed.is_ok(), "{bytes:?}");
            assert_eq!(errors.len(), 1, "{bytes:?}");
            assert_eq!(
                (errors[0].error, errors[0].action),
                (*error, *action),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn test_rfc7606_7_11_mp_reach_bad_next_hop_resets() {
        let bytes = [0x80, 14, 8, 0, 2, 1, 3, 1, 2, 3, 0];
        assert_eq!(
            parse(&bytes, FOUR).0,
            Err(Error::OptionalAttribute { type_code: 14 })
        );
    }

    #[test]
    fn test_6_3_unrecognized_well_known_resets() {
        let bytes = [0x40, 99, 0];
        assert_eq!(
            parse(&bytes, FOUR).0,
            Err(Error::UnrecognizedWellKnownAttribute { type_code: 99 })
        );
    }

    #[test]
    fn unknown_optional_attribute_is_kept_raw() {
        let bytes = [0xe0, 99, 2, 7, 7];
        let (parsed, errors) = parse(&bytes, FOUR);
        let parsed = parsed.unwrap();
        assert!(errors.is_empty());
        assert_eq!(parsed.other[0].flags, 0xe0);
        let mut out = Vec::new();
        parsed.emit(&mut out, FOUR).unwrap();
        assert_eq!(out, bytes);
    }

    #[test]
    fn long_values_use_extended_length() {
        let attrs = PathAttributes {
            communities: (0..100).map(Community).collect(),
            ..PathAttributes::default()
        };
        let mut out = Vec::new();
        attrs.emit(&mut out, FOUR).unwrap();
        assert_eq!(&out[..4], &[0xd0, 8, 1, 144]);
        let (parsed, _) = parse(&out, FOUR);
        assert_eq!(parsed.unwrap(), attrs);
    }
}
