//! Catalog zones (RFC 9432): reading the member zones out of a catalog (consumer side) and
//! building a catalog of our own zones (producer side).
//!
//! ```text
//!  version.<catalog>          TXT "2"
//!  <unique>.zones.<catalog>   PTR <member zone>
//!  group.<unique>.zones.<catalog> TXT "..."     (optional property)
//! ```

use dns_wire::types::{class, rtype};

use crate::build::ZoneBuilder;
use crate::error::ZoneError;
use crate::hash::hash_bytes;
use crate::zone::Zone;

/// A member zone listed in a catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogMember {
    /// The member's unique label (the owner's first label).
    pub unique: Vec<u8>,
    /// The member zone's name, lowercased wire form.
    pub zone: Vec<u8>,
    /// The `group` property, if any.
    pub group: Option<Vec<u8>>,
}

/// Why a catalog cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogError {
    /// `version.<catalog>` TXT is missing or not "2" (RFC 9432 §4.2.1).
    UnsupportedVersion,
}

impl core::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::UnsupportedVersion => {
                f.write_str("catalog zone without version.<catalog> TXT \"2\"")
            }
        }
    }
}

impl std::error::Error for CatalogError {}

fn prefixed(label: &[u8], suffix: &[u8]) -> Vec<u8> {
    let mut name = Vec::with_capacity(1 + label.len() + suffix.len());
    name.push(label.len() as u8);
    name.extend_from_slice(label);
    name.extend_from_slice(suffix);
    name
}

/// The members of catalog `zone`. Entries that break the rules (more than one PTR, a PTR
/// elsewhere) are skipped, as RFC 9432 §4.1 asks; a member listed twice is kept once.
pub fn catalog_members(zone: &Zone) -> Result<Vec<CatalogMember>, CatalogError> {
    //= https://www.rfc-editor.org/rfc/rfc9432#section-4.2.1
    //# Catalog consumers MUST check the version ... and MUST NOT process the catalog zone
    //# if the version is not supported
    let version = zone
        .find(&prefixed(b"version", zone.origin()))
        .and_then(|node| node.rrset(rtype::TXT))
        .is_some_and(|txt| txt.count == 1 && txt.first() == b"\x012");
    if !version {
        return Err(CatalogError::UnsupportedVersion);
    }
    let zones = prefixed(b"zones", zone.origin());
    let mut members: Vec<CatalogMember> = Vec::new();
    for node in zone.nodes() {
        let Some(unique_len) = node.name.first().map(|&l| l as usize) else {
            continue;
        };
        if node.name.get(1 + unique_len..) != Some(zones.as_slice()) {
            continue;
        }
        let Some(ptr) = node.rrset(rtype::PTR) else {
            continue;
        };
        if ptr.count != 1 {
            continue;
        }
        let unique = node.name[1..1 + unique_len].to_vec();
        let mut member = ptr.first().to_vec();
        dns_wire::lowercase_in_place(&mut member);
        let group = zone
            .find(&prefixed(b"group", node.name))
            .and_then(|n| n.rrset(rtype::TXT))
            .map(|txt| txt.first().get(1..).unwrap_or_default().to_vec());
        if !members.iter().any(|m| m.zone == member) {
            members.push(CatalogMember {
                unique,
                zone: member,
                group,
            });
        }
    }
    Ok(members)
}

/// Builds catalog `origin` with `serial` listing `members` (lowercased wire names). The
/// unique label of a member is derived from its name, so it is stable across rebuilds.
pub fn build_catalog(origin: &[u8], serial: u32, members: &[Vec<u8>]) -> Result<Zone, ZoneError> {
    let mut builder = ZoneBuilder::new(origin, "<catalog>");
    //= https://www.rfc-editor.org/rfc/rfc9432#section-4.1
    //# the NS RRset ... MUST contain exactly one NS RR ... "invalid."
    let mut soa = b"\x07invalid\x00\x07invalid\x00".to_vec();
    for field in [serial, 3600, 600, 2_419_200, 3600] {
        soa.extend_from_slice(&field.to_be_bytes());
    }
    builder.add(origin, rtype::SOA, class::IN, 0, &soa);
    builder.add(origin, rtype::NS, class::IN, 0, b"\x07invalid\x00");
    builder.add(
        &prefixed(b"version", origin),
        rtype::TXT,
        class::IN,
        0,
        b"\x012",
    );
    let zones = prefixed(b"zones", origin);
    for member in members {
        let unique = format!("{:016x}", hash_bytes(member));
        builder.add(
            &prefixed(unique.as_bytes(), &zones),
            rtype::PTR,
            class::IN,
            0,
            member,
        );
    }
    builder.finish().map(|(zone, _)| zone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_zone_str;

    const CATALOG: &str = "$ORIGIN catalog.invalid.\n$TTL 0\n@ SOA invalid. invalid. 1 3600 600 2419200 3600\n\
        @ NS invalid.\nversion TXT \"2\"\nm1.zones PTR Example.COM.\ngroup.m1.zones TXT \"blue\"\n\
        m2.zones PTR example.net.\nbad.zones PTR a.example.\nbad.zones PTR b.example.\nelsewhere PTR c.example.\n";

    #[test]
    fn test_9432_members_are_read_and_broken_entries_skipped() {
        let (zone, _) = load_zone_str(CATALOG, b"\x07catalog\x07invalid\x00").unwrap();
        let members = catalog_members(&zone).unwrap();
        let names: Vec<String> = members
            .iter()
            .map(|m| dns_wire::name_to_text(&m.zone))
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.contains(&"example.com.".to_string()));
        assert!(names.contains(&"example.net.".to_string()));
        let m1 = members.iter().find(|m| m.unique == b"m1").unwrap();
        assert_eq!(m1.group.as_deref(), Some(&b"blue"[..]));
    }

    #[test]
    fn test_9432_4_2_1_unknown_version_is_refused() {
        let text = CATALOG.replace("TXT \"2\"", "TXT \"1\"");
        let (zone, _) = load_zone_str(&text, b"\x07catalog\x07invalid\x00").unwrap();
        assert_eq!(
            catalog_members(&zone),
            Err(CatalogError::UnsupportedVersion)
        );
    }

    #[test]
    fn built_catalogs_read_back() {
        let members = vec![
            b"\x07example\x03com\x00".to_vec(),
            b"\x07example\x03net\x00".to_vec(),
        ];
        let zone = build_catalog(b"\x07catalog\x07invalid\x00", 7, &members).unwrap();
        assert_eq!(zone.serial(), 7);
        let read: Vec<Vec<u8>> = catalog_members(&zone)
            .unwrap()
            .into_iter()
            .map(|m| m.zone)
            .collect();
        assert_eq!(read.len(), 2);
        assert!(members.iter().all(|m| read.contains(m)));
    }
}
