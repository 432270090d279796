//! UPDATE messages (RFC 4271 §4.3), End-of-RIB markers (RFC 4724 §2), and the RFC 7606
//! checks that need the whole message.
//!
//! ```text
//!  withdrawn routes length(2) withdrawn routes(..)
//!  total path attribute length(2) path attributes(..)
//!  NLRI(..)                           -- to the end of the message
//! ```

use crate::attributes::{AS_PATH, NEXT_HOP, ORIGIN};
use crate::attributes::{MP_UNREACH_NLRI, MpUnreach, PathAttributes, emit_prefixes};
use crate::error::{AttributeError, EmitError, Error, ErrorAction};
use crate::negotiated::Negotiated;
use crate::prefix::{Family, Prefix};

/// An UPDATE message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Update {
    /// Withdrawn IPv4 unicast routes.
    pub withdrawn: Vec<Prefix>,
    /// Path attributes, including MP_REACH_NLRI and MP_UNREACH_NLRI.
    pub attributes: PathAttributes,
    /// Reachable IPv4 unicast prefixes.
    pub nlri: Vec<Prefix>,
    /// Attribute errors found by the parse that RFC 7606 handles without a session reset;
    /// always empty on UPDATEs we build, and ignored by emit.
    pub errors: Vec<AttributeError>,
}

impl Update {
    /// The End-of-RIB marker for `family`.
    //= https://www.rfc-editor.org/rfc/rfc4724#section-2
    //# An UPDATE message with no reachable Network Layer Reachability Information (NLRI)
    //# and empty withdrawn NLRI is specified as the End-of-RIB marker that can be used by a
    //# BGP speaker to indicate to its peer the completion of the initial routing update
    //# after the session is established. For the IPv4 unicast address family, the
    //# End-of-RIB marker is an UPDATE message with the minimum length [BGP-4]. For any other
    //# address family, it is an UPDATE message that contains only the MP_UNREACH_NLRI
    //# attribute [BGP-MP] with no withdrawn routes for that <AFI, SAFI>.
    pub fn end_of_rib(family: Family) -> Self {
        if family == Family::IPV4_UNICAST {
            return Self::default();
        }
        Self {
            attributes: PathAttributes {
                mp_unreach: Some(MpUnreach {
                    family,
                    withdrawn: Vec::new(),
                }),
                ..PathAttributes::default()
            },
            ..Self::default()
        }
    }

    /// The family whose End-of-RIB this UPDATE is, if it is one.
    pub fn end_of_rib_family(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() || !self.errors.is_empty() {
            return None;
        }
        let attrs = &self.attributes;
        if *attrs == PathAttributes::default() {
            return Some(Family::IPV4_UNICAST);
        }
        let only = |a: &PathAttributes| {
            PathAttributes {
                mp_unreach: a.mp_unreach.clone(),
                other: a.other.clone(),
                ..PathAttributes::default()
            } == *a
        };
        if !only(attrs) {
            return None;
        }
        match (&attrs.mp_unreach, &attrs.other[..]) {
            (Some(unreach), []) if unreach.withdrawn.is_empty() => Some(unreach.family),
            (None, [raw]) if raw.type_code == MP_UNREACH_NLRI => match raw.value[..] {
                [a, b, safi] => Some(Family {
                    afi: u16::from_be_bytes([a, b]),
                    safi,
                }),
                _ => None,
            },
            _ => None,
        }
    }

    /// The strongest RFC 7606 action the attribute errors call for, if any.
    pub fn action(&self) -> Option<ErrorAction> {
        self.errors.iter().map(|e| e.action).max()
    }

    /// Every prefix this UPDATE announces, of both families.
    pub fn announced(&self) -> impl Iterator<Item = &Prefix> {
        let mp = self.attributes.mp_reach.iter().flat_map(|r| &r.nlri);
        self.nlri.iter().chain(mp)
    }

    /// Every prefix this UPDATE withdraws, of both families.
    pub fn withdrawn_prefixes(&self) -> impl Iterator<Item = &Prefix> {
        let mp = self.attributes.mp_unreach.iter().flat_map(|u| &u.withdrawn);
        self.withdrawn.iter().chain(mp)
    }

    /// Parses the body of an UPDATE (the bytes after the header).
    pub(crate) fn parse(body: &[u8], negotiated: Negotiated) -> Result<Self, Error> {
        //= https://www.rfc-editor.org/rfc/rfc4271#section-6.3
        //# If the Withdrawn Routes Length or Total Attribute Length is too large (i.e., if
        //# Withdrawn Routes Length + Total Attribute Length + 23 exceeds the message Length),
        //# then the Error Subcode MUST be set to Malformed Attribute List.
        let malformed = Error::MalformedAttributeList;
        let [a, b, rest @ ..] = body else {
            return Err(malformed);
        };
        let withdrawn_len = usize::from(u16::from_be_bytes([*a, *b]));
        let withdrawn = rest.get(..withdrawn_len).ok_or(malformed)?;
        let [c, d, rest @ ..] = &rest[withdrawn_len..] else {
            return Err(malformed);
        };
        let attributes_len = usize::from(u16::from_be_bytes([*c, *d]));
        let attributes = rest.get(..attributes_len).ok_or(malformed)?;
        let nlri = &rest[attributes_len..];

        //= https://www.rfc-editor.org/rfc/rfc4271#section-6.3
        //# The NLRI field in the UPDATE message is checked for syntactic validity. If the
        //# field is syntactically incorrect, then the Error Subcode MUST be set to Invalid
        //# Network Field.
        let v4 = Family::IPV4_UNICAST;
        let withdrawn = Prefix::parse_nlri(withdrawn, v4, Error::InvalidNetworkField)?;
        let nlri = Prefix::parse_nlri(nlri, v4, Error::InvalidNetworkField)?;
        let mut errors = Vec::new();
        let attributes = PathAttributes::parse(attributes, negotiated, &mut errors)?;

        //= https://www.rfc-editor.org/rfc/rfc7606#section-3
        //# If any of the well-known mandatory attributes are not present in an UPDATE
        //# message, then "treat-as-withdraw" MUST be used. (Note that [RFC4760] reclassifies
        //# NEXT_HOP as what is effectively discretionary.)
        let reaches = !nlri.is_empty() || attributes.mp_reach.is_some();
        if reaches {
            let mut missing = Vec::new();
            if attributes.origin.is_none() {
                missing.push(ORIGIN);
            }
            if attributes.as_path.is_none() {
                missing.push(AS_PATH);
            }
            if !nlri.is_empty() && attributes.next_hop.is_none() {
                missing.push(NEXT_HOP);
            }
            for type_code in missing {
                if !errors.iter().any(|e| e.type_code == type_code) {
                    errors.push(AttributeError {
                        type_code,
                        error: Error::MissingWellKnownAttribute { type_code },
                        action: ErrorAction::TreatAsWithdraw,
                    });
                }
            }
        }
        Ok(Self {
            withdrawn,
            attributes,
            nlri,
            errors,
        })
    }

    /// Appends the body of this UPDATE.
    pub(crate) fn emit_body(
        &self,
        out: &mut Vec<u8>,
        negotiated: Negotiated,
    ) -> Result<(), EmitError> {
        let v4 = Family::IPV4_UNICAST;
        let start = out.len();
        out.extend_from_slice(&[0, 0]);
        emit_prefixes(out, v4, &self.withdrawn)?;
        let withdrawn_len = out.len() - start - 2;
        let attributes_start = out.len();
        out.extend_from_slice(&[0, 0]);
        self.attributes.emit(out, negotiated)?;
        let attributes_len = out.len() - attributes_start - 2;
        emit_prefixes(out, v4, &self.nlri)?;
        let too_long = EmitError::MessageTooLong {
            length: out.len() - start,
        };
        let withdrawn_len = u16::try_from(withdrawn_len).map_err(|_| too_long)?;
        let attributes_len = u16::try_from(attributes_len).map_err(|_| too_long)?;
        out[start..start + 2].copy_from_slice(&withdrawn_len.to_be_bytes());
        out[attributes_start..attributes_start + 2].copy_from_slice(&attributes_len.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::attributes::{AsPath, Community, LargeCommunity, MpNextHop, MpReach, Origin};

    const FOUR: Negotiated = Negotiated {
        four_octet_as: true,
    };

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    /// What anyns announces for one IPv4 service prefix.
    fn announce_v4() -> Update {
        Update {
            attributes: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::sequence(vec![65001, 65001])),
                next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
                med: Some(10),
                communities: vec![Community::new(65001, 53), Community::NO_EXPORT],
                large_communities: vec![LargeCommunity {
                    global_admin: 65001,
                    local_data_1: 1,
                    local_data_2: 2,
                }],
                ..PathAttributes::default()
            },
            nlri: vec![p("203.0.113.0/24")],
            ..Update::default()
        }
    }

    const ANNOUNCE_V4_BODY: &[u8] = &[
        0, 0, // no withdrawn routes
        0, 57, // attributes length
        0x40, 1, 1, 0, // ORIGIN IGP
        0x40, 2, 10, 2, 2, 0, 0, 0xfd, 0xe9, 0, 0, 0xfd, 0xe9, // AS_PATH
        0x40, 3, 4, 192, 0, 2, 1, // NEXT_HOP
        0x80, 4, 4, 0, 0, 0, 10, // MED
        0xc0, 8, 8, 0xfd, 0xe9, 0, 53, 0xff, 0xff, 0xff, 0x01, // COMMUNITIES
        0xc0, 32, 12, 0, 0, 0xfd, 0xe9, 0, 0, 0, 1, 0, 0, 0, 2, // LARGE_COMMUNITY
        24, 203, 0, 113, // NLRI
    ];

    #[test]
    fn test_4_3_announce_vector_both_ways() {
        let mut out = Vec::new();
        announce_v4().emit_body(&mut out, FOUR).unwrap();
        assert_eq!(out, ANNOUNCE_V4_BODY);
        assert_eq!(
            Update::parse(ANNOUNCE_V4_BODY, FOUR).unwrap(),
            announce_v4()
        );
    }

    #[test]
    fn test_4_3_withdraw_vector_both_ways() {
        let update = Update {
            withdrawn: vec![p("203.0.113.0/24"), p("198.51.100.0/24")],
            ..Update::default()
        };
        let bytes = [0, 8, 24, 203, 0, 113, 24, 198, 51, 100, 0, 0];
        let mut out = Vec::new();
        update.emit_body(&mut out, FOUR).unwrap();
        assert_eq!(out, bytes);
        assert_eq!(Update::parse(&bytes, FOUR).unwrap(), update);
    }

    #[test]
    fn test_rfc2545_ipv6_announce_and_withdraw() {
        let announce = Update {
            attributes: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::sequence(vec![65001])),
                mp_reach: Some(MpReach {
                    family: Family::IPV6_UNICAST,
                    next_hop: MpNextHop::Ipv6 {
                        global: "2001:db8::1".parse().unwrap(),
                        link_local: Some("fe80::1".parse().unwrap()),
                    },
                    nlri: vec![p("2001:db8:53::/48")],
                }),
                ..PathAttributes::default()
            },
            ..Update::default()
        };
        let mut out = Vec::new();
        announce.emit_body(&mut out, FOUR).unwrap();
        // MP_REACH_NLRI comes first: flags, type, length, AFI 2, SAFI 1, next hop length 32.
        assert_eq!(&out[4..10], &[0x80, 14, 44, 0, 2, 1]);
        assert_eq!(out[10], 32);
        assert_eq!(
            Ipv6Addr::from(<[u8; 16]>::try_from(&out[11..27]).unwrap()),
            "2001:db8::1".parse::<Ipv6Addr>().unwrap()
        );
        let parsed = Update::parse(&out, FOUR).unwrap();
        assert_eq!(parsed, announce);
        assert_eq!(
            parsed.announced().collect::<Vec<_>>(),
            vec![&p("2001:db8:53::/48")]
        );

        let withdraw = Update {
            attributes: PathAttributes {
                mp_unreach: Some(MpUnreach {
                    family: Family::IPV6_UNICAST,
                    withdrawn: vec![p("2001:db8:53::/48")],
                }),
                ..PathAttributes::default()
            },
            ..Update::default()
        };
        let mut out = Vec::new();
        withdraw.emit_body(&mut out, FOUR).unwrap();
        assert_eq!(
            out,
            [
                0, 0, 0, 13, 0x80, 15, 10, 0, 2, 1, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 0x53
            ]
        );
        assert_eq!(Update::parse(&out, FOUR).unwrap(), withdraw);
    }

    #[test]
    fn test_rfc4724_end_of_rib_markers() {
        for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            let eor = Update::end_of_rib(family);
            let mut out = Vec::new();
            eor.emit_body(&mut out, FOUR).unwrap();
            let parsed = Update::parse(&out, FOUR).unwrap();
            assert_eq!(parsed.end_of_rib_family(), Some(family));
        }
        assert_eq!(
            Update::parse(&[0, 0, 0, 0], FOUR)
                .unwrap()
                .end_of_rib_family(),
            Some(Family::IPV4_UNICAST)
        );
        // An unsupported family's marker is recognised from the raw attribute.
        let l2vpn = [0, 0, 0, 6, 0x80, 15, 3, 0, 25, 65];
        let parsed = Update::parse(&l2vpn, FOUR).unwrap();
        assert_eq!(
            parsed.end_of_rib_family(),
            Some(Family { afi: 25, safi: 65 })
        );
        assert_eq!(announce_v4().end_of_rib_family(), None);
    }

    #[test]
    fn test_rfc7606_3_missing_mandatory_is_treat_as_withdraw() {
        // NLRI without any attributes.
        let bytes = [0, 0, 0, 0, 24, 203, 0, 113];
        let update = Update::parse(&bytes, FOUR).unwrap();
        let missing: Vec<u8> = update.errors.iter().map(|e| e.type_code).collect();
        assert_eq!(missing, vec![ORIGIN, AS_PATH, NEXT_HOP]);
        assert_eq!(update.action(), Some(ErrorAction::TreatAsWithdraw));
    }

    #[test]
    fn test_6_3_length_errors_reset() {
        let cases: &[(&[u8], Error)] = &[
            (&[0], Error::MalformedAttributeList),
            (&[0, 5, 24, 1], Error::MalformedAttributeList),
            (&[0, 0, 0, 9, 0x40, 1, 1, 0], Error::MalformedAttributeList),
            (&[0, 2, 33, 1, 0, 0], Error::InvalidNetworkField),
            (&[0, 0, 0, 0, 24, 1, 2], Error::InvalidNetworkField),
        ];
        for (bytes, error) in cases {
            assert_eq!(Update::parse(bytes, FOUR), Err(*error), "{bytes:?}");
        }
    }

    #[test]
    fn emit_rejects_family_mismatch() {
        let update = Update {
            nlri: vec![p("2001:db8::/32")],
            ..Update::default()
        };
        assert_eq!(
            update.emit_body(&mut Vec::new(), FOUR),
            Err(EmitError::FamilyMismatch)
        );
    }
}
