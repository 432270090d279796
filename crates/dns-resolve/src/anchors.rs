//! Trust anchors: the DS or DNSKEY records a validator starts its chains of trust from
//! (RFC 4035 §4.4), read from zone-file text as Unbound's `trust-anchor-file` reads them,
//! and IANA's root anchors built in.

use dns_wire::Record;
use dns_wire::types::rtype;

use crate::names::is_at_or_below;

/// The root zone's key-signing keys as IANA publishes them (root-anchors.xml): KSK-2017
/// (key tag 20326) and KSK-2024 (key tag 38696), RSA/SHA-256, SHA-256 digests.
pub const BUILT_IN_ROOT_ANCHORS: &str = "\
. 172800 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. 172800 IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
";

/// The anchors of one zone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Anchor {
    /// The zone, lowercased wire form.
    pub zone: Vec<u8>,
    /// DS RDATA: a key of the zone whose digest is one of these is trusted.
    pub ds: Vec<Vec<u8>>,
    /// DNSKEY RDATA: these keys are trusted as they are.
    pub dnskeys: Vec<Vec<u8>>,
}

/// Every anchor configured; empty means validation is off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustAnchors {
    anchors: Vec<Anchor>,
}

/// Why anchors were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnchorError {
    /// A record that is neither DS nor DNSKEY.
    NotAnAnchor(u16),
    /// No DS or DNSKEY record at all.
    Empty,
}

impl std::fmt::Display for AnchorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAnAnchor(t) => write!(f, "a record of type {t}: only DS and DNSKEY anchor"),
            Self::Empty => f.write_str("no DS or DNSKEY record"),
        }
    }
}

impl std::error::Error for AnchorError {}

impl TrustAnchors {
    /// Anchors from DS and DNSKEY records (any other type is refused).
    pub fn from_records(records: Vec<Record>) -> Result<Self, AnchorError> {
        let mut anchors: Vec<Anchor> = Vec::new();
        for record in records {
            let zone = record.owner.to_ascii_lowercase();
            let at = match anchors.iter().position(|a| a.zone == zone) {
                Some(at) => at,
                None => {
                    anchors.push(Anchor {
                        zone,
                        ..Anchor::default()
                    });
                    anchors.len() - 1
                }
            };
            match record.rtype {
                rtype::DS => anchors[at].ds.push(record.rdata),
                rtype::DNSKEY => anchors[at].dnskeys.push(record.rdata),
                other => return Err(AnchorError::NotAnAnchor(other)),
            }
        }
        if anchors.is_empty() {
            return Err(AnchorError::Empty);
        }
        Ok(Self { anchors })
    }

    /// IANA's root anchors.
    pub fn built_in() -> Self {
        let records = dns_zone::read_records_str(BUILT_IN_ROOT_ANCHORS, b"\0")
            .expect("the built-in anchors parse");
        Self::from_records(records).expect("the built-in anchors are DS records")
    }

    /// No anchor: validation off.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether any anchor is configured (validation is on).
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The anchor of `zone` itself.
    pub fn at(&self, zone: &[u8]) -> Option<&Anchor> {
        self.anchors.iter().find(|a| a.zone == zone)
    }

    /// The deepest anchor at or above `name`: `None` when no anchor covers it (data there
    /// cannot be validated: insecure).
    pub fn covering(&self, name: &[u8]) -> Option<&Anchor> {
        self.anchors
            .iter()
            .filter(|a| is_at_or_below(name, &a.zone))
            .max_by_key(|a| a.zone.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_root_anchors_are_two_ds_records() {
        let anchors = TrustAnchors::built_in();
        let root = anchors.at(b"\0").unwrap();
        assert_eq!(root.ds.len(), 2);
        assert_eq!(
            &root.ds[0][..4],
            &[0x4f, 0x66, 8, 2],
            "key tag 20326, RSASHA256, SHA-256"
        );
        assert_eq!(
            anchors.covering(b"\x03www\x07example\0").unwrap().zone,
            b"\0"
        );
    }

    #[test]
    fn the_deepest_anchor_covers_a_name_and_other_types_are_refused() {
        let text = ". 3600 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n\
                    example. 3600 IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n";
        let records = dns_zone::read_records_str(text, b"\0").unwrap();
        let anchors = TrustAnchors::from_records(records).unwrap();
        assert_eq!(
            anchors
                .covering(b"\x01a\x07EXAMPLE\0".to_ascii_lowercase().as_slice())
                .unwrap()
                .zone,
            b"\x07example\0"
        );
        assert_eq!(anchors.covering(b"\x03org\0").unwrap().zone, b"\0");
        let records = dns_zone::read_records_str(". 3600 IN A 192.0.2.1\n", b"\0").unwrap();
        assert_eq!(
            TrustAnchors::from_records(records),
            Err(AnchorError::NotAnAnchor(1))
        );
        assert_eq!(
            TrustAnchors::from_records(Vec::new()),
            Err(AnchorError::Empty)
        );
    }
}
