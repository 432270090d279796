//! Where to ask: a zone cut and its name servers, from root hints, from the cache, from a
//! referral, or from the configuration (forward and stub zones).

use std::net::{IpAddr, SocketAddr};

use dns_wire::Record;
use dns_wire::types::rtype;

use crate::names::is_at_or_below;

/// One name server of a zone and the addresses known for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NsServer {
    /// Its name, lowercased wire form (empty for a configured address).
    pub name: Vec<u8>,
    /// Its addresses and ports.
    pub addresses: Vec<SocketAddr>,
    /// Its addresses were looked up (or it cannot be: no more lookups for it).
    pub looked_up: bool,
}

impl NsServer {
    /// The servers an NS RRset names, none looked up yet.
    pub fn named_by(ns: &crate::rrset::RrSet) -> Vec<Self> {
        ns.rdatas
            .iter()
            .map(|r| Self {
                name: r.to_ascii_lowercase(),
                addresses: Vec::new(),
                looked_up: false,
            })
            .collect()
    }
}

/// How the servers of a cut are asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutKind {
    /// Authoritative servers: iterate (RD clear).
    Iterate,
    /// A resolver we forward to: RD set, its answer taken as final.
    Forward,
}

/// A zone cut and its servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegation {
    /// The zone, lowercased wire form.
    pub zone: Vec<u8>,
    /// Its name servers.
    pub servers: Vec<NsServer>,
    /// How they are asked.
    pub kind: CutKind,
}

impl Delegation {
    /// Every address known for the cut.
    pub fn addresses(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.servers
            .iter()
            .flat_map(|s| s.addresses.iter().copied())
    }
}

/// Why root hints were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HintsError {
    /// No NS record at the root.
    NoRootNs,
    /// No address for any root name server.
    NoAddresses,
}

impl std::fmt::Display for HintsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoRootNs => f.write_str("no NS record for the root (\".\")"),
            Self::NoAddresses => f.write_str("no A or AAAA record for any root name server"),
        }
    }
}

impl std::error::Error for HintsError {}

/// Root hints: the root's name servers and their addresses, where iteration starts when
/// the cache knows nothing closer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hints {
    root: Delegation,
}

/// IANA's root hints (<https://www.internic.net/domain/named.root>), used when the
/// configuration names no file.
pub const BUILT_IN_ROOT_HINTS: &str = include_str!("root.hints");

impl Hints {
    /// Hints from the records of a hints file (NS at the root, A/AAAA for the servers);
    /// servers are asked on `port`.
    pub fn from_records(records: &[Record], port: u16) -> Result<Self, HintsError> {
        let mut servers: Vec<NsServer> = records
            .iter()
            .filter(|r| r.rtype == rtype::NS && r.owner == b"\0")
            .map(|r| NsServer {
                name: r.rdata.to_ascii_lowercase(),
                addresses: Vec::new(),
                looked_up: true,
            })
            .collect();
        if servers.is_empty() {
            return Err(HintsError::NoRootNs);
        }
        for record in records {
            let Some(ip) = address_of(record) else {
                continue;
            };
            if let Some(server) = servers.iter_mut().find(|s| s.name == record.owner) {
                server.addresses.push(SocketAddr::new(ip, port));
            }
        }
        if servers.iter().all(|s| s.addresses.is_empty()) {
            return Err(HintsError::NoAddresses);
        }
        Ok(Self {
            root: Delegation {
                zone: b"\0".to_vec(),
                servers,
                kind: CutKind::Iterate,
            },
        })
    }

    /// The root's delegation.
    pub fn root(&self) -> &Delegation {
        &self.root
    }
}

/// The address in an A or AAAA record.
pub fn address_of(record: &Record) -> Option<IpAddr> {
    address_in(record.rtype, &record.rdata)
}

/// The address in the RDATA of an A or AAAA record of type `rtype`.
pub fn address_in(rtype: u16, rdata: &[u8]) -> Option<IpAddr> {
    match (rtype, rdata.len()) {
        (rtype::A, 4) => Some(IpAddr::from(<[u8; 4]>::try_from(rdata).ok()?)),
        (rtype::AAAA, 16) => Some(IpAddr::from(<[u8; 16]>::try_from(rdata).ok()?)),
        _ => None,
    }
}

/// A zone the configuration sends elsewhere: forwarded to resolvers, or a stub zone whose
/// authoritative servers are given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredZone {
    /// The zone, lowercased wire form.
    pub zone: Vec<u8>,
    /// Where to send its queries.
    pub servers: Vec<SocketAddr>,
    /// Forward (RD set, answers final) rather than stub (iterate from these servers).
    pub forward: bool,
}

impl ConfiguredZone {
    /// The zone as a delegation.
    pub fn delegation(&self) -> Delegation {
        Delegation {
            zone: self.zone.clone(),
            servers: vec![NsServer {
                name: Vec::new(),
                addresses: self.servers.clone(),
                looked_up: true,
            }],
            kind: if self.forward {
                CutKind::Forward
            } else {
                CutKind::Iterate
            },
        }
    }
}

/// The deepest configured zone holding `name`.
pub fn configured_for<'a>(zones: &'a [ConfiguredZone], name: &[u8]) -> Option<&'a ConfiguredZone> {
    zones
        .iter()
        .filter(|z| is_at_or_below(name, &z.zone))
        .max_by_key(|z| z.zone.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_hints_name_thirteen_servers_with_both_families() {
        let records = dns_zone::read_records_str(BUILT_IN_ROOT_HINTS, b"\0").unwrap();
        let hints = Hints::from_records(&records, 53).unwrap();
        let root = hints.root();
        assert_eq!(root.servers.len(), 13);
        assert!(root.servers.iter().all(|s| s.addresses.len() == 2));
        assert!(root.addresses().all(|a| a.port() == 53));
    }

    #[test]
    fn hints_without_ns_or_addresses_are_refused() {
        let records = dns_zone::read_records_str("x.root. 3600 IN A 192.0.2.1\n", b"\0").unwrap();
        assert_eq!(Hints::from_records(&records, 53), Err(HintsError::NoRootNs));
        let records = dns_zone::read_records_str(". 3600 IN NS x.root.\n", b"\0").unwrap();
        assert_eq!(
            Hints::from_records(&records, 53),
            Err(HintsError::NoAddresses)
        );
    }

    #[test]
    fn the_deepest_configured_zone_wins() {
        let zone = |name: &[u8], forward| ConfiguredZone {
            zone: name.to_vec(),
            servers: vec!["192.0.2.53:53".parse().unwrap()],
            forward,
        };
        let zones = [zone(b"\x04test\0", true), zone(b"\x01a\x04test\0", false)];
        let found = configured_for(&zones, b"\x01x\x01a\x04test\0").unwrap();
        assert!(!found.forward);
        assert!(configured_for(&zones, b"\x01b\x04test\0").unwrap().forward);
        assert!(configured_for(&zones, b"\x04best\0").is_none());
    }
}
