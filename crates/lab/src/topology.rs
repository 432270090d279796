//! The lab's topology: what the TOML file says (`RawTopology`, serde with
//! `deny_unknown_fields`) and the validated [`Topology`] with every address assigned.
//!
//! Address plan (documentation ranges only): every link is a /29 of 192.0.2.0/24 and a /64
//! of 2001:db8:0::/48, numbered in file order: router links, then sites, clients and the
//! primary. On a link the router holds `.1`/`::1`; the other end holds `.2`/`::2`, and a
//! site's instance for its k-th cloud holds `.(2+k)`/`::(2+k)` (its unicast address).
//! Service addresses live on the sites' `lo` and are announced as /32 and /128 routes.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use serde::Deserialize;

use crate::Error;

/// How many /29 blocks 192.0.2.0/24 holds: the most links a lab can have.
const MAX_LINKS: usize = 32;
/// Longest node name: interface names are `to-NAME` and must fit in 15 octets.
const MAX_NAME_LEN: usize = 10;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawTopology {
    site_as: u32,
    #[serde(default = "default_zone")]
    zone: String,
    #[serde(default = "yes")]
    transfers: bool,
    #[serde(default = "yes")]
    damping: bool,
    cloud: Vec<RawCloud>,
    router: Vec<RawRouter>,
    #[serde(default)]
    link: Vec<RawLink>,
    site: Vec<RawSite>,
    client: Vec<RawClient>,
    primary: Option<RawClient>,
    /// A unicast-only name server of the lab's DNS tree (no anycast, no BGP).
    slow: Option<RawClient>,
}

fn default_zone() -> String {
    "example.".into()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCloud {
    name: String,
    addresses: Vec<IpAddr>,
    #[serde(default)]
    serves: Serves,
}

/// What a cloud's instances answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Serves {
    /// The lab's zone (`example.`), from the primary: the authoritative clouds of old.
    #[default]
    Zone,
    /// The lab's root zone and the leaf zones of its DNS tree (signed at `up`).
    Root,
    /// The leaf zones of the lab's DNS tree.
    Leaves,
    /// Recursion: a resolver cloud, iterating from the lab's root.
    Resolver,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouter {
    name: String,
    #[serde(rename = "as")]
    asn: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLink {
    routers: [String; 2],
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSite {
    name: String,
    router: String,
    clouds: Vec<String>,
    #[serde(default)]
    scope: Scope,
    #[serde(default = "one")]
    instances: u32,
    #[serde(default)]
    separate_announcer: bool,
    /// BFD between the site's instances and its router (100 ms x 3).
    #[serde(default)]
    bfd: bool,
}

/// Most DNS instances per (site, cloud): each gets its own loopback probe address.
pub const MAX_INSTANCES: u32 = 8;

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    name: String,
    router: String,
}

/// Who may reach a site (RFC 4786 §4.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Announced to the whole lab.
    #[default]
    Global,
    /// Announced with NO_EXPORT: only the upstream router's own customers reach it.
    Local,
}

/// One anycast system: its service addresses.
#[derive(Clone, Debug)]
pub struct Cloud {
    /// Its name (`ns1`).
    pub name: String,
    /// Service addresses, announced as host routes.
    pub addresses: Vec<IpAddr>,
    /// What its instances answer.
    pub serves: Serves,
}

impl Cloud {
    /// The IPv4 service address, if any.
    pub fn v4(&self) -> Option<IpAddr> {
        self.addresses.iter().copied().find(IpAddr::is_ipv4)
    }

    /// The IPv6 service address, if any.
    pub fn v6(&self) -> Option<IpAddr> {
        self.addresses.iter().copied().find(IpAddr::is_ipv6)
    }
}

/// A BIRD router.
#[derive(Clone, Debug)]
pub struct Router {
    /// Its name, also its namespace suffix.
    pub name: String,
    /// Its AS.
    pub asn: u32,
}

/// One veth: `router`'s end holds `.1`/`::1`.
#[derive(Clone, Debug)]
pub struct Link {
    /// Block number in the address plan.
    pub block: u8,
    /// The router end.
    pub router: usize,
    /// The other end.
    pub other: Endpoint,
}

/// What sits at the far end of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// Another router (eBGP).
    Router(usize),
    /// A site.
    Site(usize),
    /// A client.
    Client(usize),
    /// The hidden primary.
    Primary,
    /// The unicast-only name server of the DNS tree.
    Slow,
}

/// An anycast site: one anyns instance per cloud, each with its own unicast address and
/// BGP session, so that one cloud can fail without the other.
#[derive(Clone, Debug)]
pub struct Site {
    /// Its name: namespace suffix and NSID.
    pub name: String,
    /// The router it hangs off.
    pub router: usize,
    /// Indices into [`Topology::clouds`].
    pub clouds: Vec<usize>,
    /// Global or local (NO_EXPORT).
    pub scope: Scope,
    /// Block of its link.
    pub block: u8,
    /// DNS instances (processes) per cloud, sharing the service addresses (SO_REUSEPORT).
    pub instances: u32,
    /// Whether BGP and health run in their own process (the announcer) that probes the
    /// DNS-only instances (decision 0005); always so with more than one instance.
    pub separate_announcer: bool,
    /// BFD with its router.
    pub bfd: bool,
}

impl Site {
    /// Whether this site runs the split model: an announcer plus DNS-only instances.
    pub fn is_split(&self) -> bool {
        self.separate_announcer || self.instances > 1
    }
}

/// A client or the primary: one host behind a router.
#[derive(Clone, Debug)]
pub struct Host {
    /// Its name.
    pub name: String,
    /// The router it hangs off.
    pub router: usize,
    /// Block of its link.
    pub block: u8,
}

/// The validated topology with its address plan.
#[derive(Clone, Debug)]
pub struct Topology {
    /// The origin AS of every site.
    pub site_as: u32,
    /// The zone every site serves (`example.`).
    pub zone: String,
    /// Sites are secondaries of the primary (NOTIFY, IXFR over unicast); otherwise every
    /// site loads its own copy of the zone file.
    pub transfers: bool,
    /// Flap damping at the split-model announcers (`[health] damping`); the failover report
    /// turns it off to fail the same site many times in a row.
    pub damping: bool,
    /// Clouds.
    pub clouds: Vec<Cloud>,
    /// Routers.
    pub routers: Vec<Router>,
    /// Every link, router links first.
    pub links: Vec<Link>,
    /// Sites.
    pub sites: Vec<Site>,
    /// Clients.
    pub clients: Vec<Host>,
    /// The hidden primary.
    pub primary: Option<Host>,
    /// The unicast-only name server of the DNS tree.
    pub slow: Option<Host>,
}

/// The IPv4 address `host` in link block `block`.
pub fn v4(block: u8, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, block * 8 + host)
}

/// The IPv6 address `host` in link block `block`.
pub fn v6(block: u8, host: u8) -> Ipv6Addr {
    Ipv6Addr::new(
        0x2001,
        0xdb8,
        0,
        u16::from(block) + 1,
        0,
        0,
        0,
        u16::from(host),
    )
}

impl Topology {
    /// Reads and validates a topology file.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
        Self::from_toml(&text).map_err(|e| match e {
            Error::Topology(m) => Error::Topology(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parses and validates topology text.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let raw: RawTopology = toml::from_str(text).map_err(|e| Error::Topology(e.to_string()))?;
        Self::try_from_raw(raw)
    }

    fn try_from_raw(raw: RawTopology) -> Result<Self, Error> {
        let bad = |m: String| Err(Error::Topology(m));
        let mut names: Vec<&str> = Vec::new();
        let all_names = raw
            .router
            .iter()
            .map(|r| ("router", &r.name))
            .chain(raw.site.iter().map(|s| ("site", &s.name)))
            .chain(raw.client.iter().map(|c| ("client", &c.name)))
            .chain(raw.primary.iter().map(|p| ("primary", &p.name)))
            .chain(raw.slow.iter().map(|p| ("slow", &p.name)));
        for (kind, name) in all_names {
            let valid = name.len() <= MAX_NAME_LEN
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            if !valid {
                return bad(format!(
                    "{kind}.name: {name:?} must be 1 to {MAX_NAME_LEN} of [a-z0-9], starting with a letter"
                ));
            }
            if names.contains(&name.as_str()) {
                return bad(format!("{kind}.name: {name:?} is used twice"));
            }
            names.push(name);
        }
        if raw.router.is_empty() || raw.site.is_empty() || raw.client.is_empty() {
            return bad("needs at least one router, site and client".into());
        }
        let router_index = |key: &str, name: &str| {
            raw.router
                .iter()
                .position(|r| r.name == name)
                .ok_or_else(|| Error::Topology(format!("{key}: no router {name:?}")))
        };
        let mut clouds = Vec::new();
        for (i, c) in raw.cloud.iter().enumerate() {
            let v4 = c.addresses.iter().filter(|a| a.is_ipv4()).count();
            let v6 = c.addresses.len() - v4;
            if c.addresses.is_empty() || v4 > 1 || v6 > 1 {
                return bad(format!(
                    "cloud[{i}].addresses: one IPv4 and/or one IPv6 address"
                ));
            }
            if let Some(a) = c.addresses.iter().find(|a| !is_documentation(a)) {
                return bad(format!(
                    "cloud[{i}].addresses: {a} is outside the documentation ranges"
                ));
            }
            if c.addresses
                .iter()
                .any(|a| matches!(a, IpAddr::V4(v) if v.octets()[..3] == [192, 0, 2]))
            {
                return bad(format!(
                    "cloud[{i}].addresses: 192.0.2.0/24 is the lab's link range"
                ));
            }
            clouds.push(Cloud {
                name: c.name.clone(),
                addresses: c.addresses.clone(),
                serves: c.serves,
            });
        }
        let routers: Vec<Router> = raw
            .router
            .iter()
            .map(|r| Router {
                name: r.name.clone(),
                asn: r.asn,
            })
            .collect();
        if routers.iter().any(|r| r.asn == raw.site_as) {
            return bad("site-as: must differ from every router's AS".into());
        }
        let mut links = Vec::new();
        let mut next_block = 0u8;
        let mut block = || {
            let b = next_block;
            next_block += 1;
            b
        };
        for (i, l) in raw.link.iter().enumerate() {
            let a = router_index(&format!("link[{i}].routers"), &l.routers[0])?;
            let b = router_index(&format!("link[{i}].routers"), &l.routers[1])?;
            if a == b {
                return bad(format!("link[{i}]: a router cannot link to itself"));
            }
            links.push(Link {
                block: block(),
                router: a,
                other: Endpoint::Router(b),
            });
        }
        let mut sites = Vec::new();
        for (i, s) in raw.site.iter().enumerate() {
            let router = router_index(&format!("site[{i}].router"), &s.router)?;
            let mut site_clouds = Vec::new();
            for name in &s.clouds {
                let c = clouds.iter().position(|c| &c.name == name).ok_or_else(|| {
                    Error::Topology(format!("site[{i}].clouds: no cloud {name:?}"))
                })?;
                site_clouds.push(c);
            }
            if site_clouds.is_empty() || site_clouds.len() > 5 {
                return bad(format!("site[{i}].clouds: 1 to 5 clouds"));
            }
            if !(1..=MAX_INSTANCES).contains(&s.instances) {
                return bad(format!(
                    "site[{i}].instances: 1 to {MAX_INSTANCES} DNS instances per cloud"
                ));
            }
            let b = block();
            links.push(Link {
                block: b,
                router,
                other: Endpoint::Site(i),
            });
            let resolvers = site_clouds
                .iter()
                .filter(|&&c| clouds[c].serves == Serves::Resolver)
                .count();
            if resolvers != 0 && resolvers != site_clouds.len() {
                return bad(format!(
                    "site[{i}].clouds: a site is a resolver site or an authoritative one"
                ));
            }
            let split = s.separate_announcer || s.instances > 1;
            if split
                && site_clouds
                    .iter()
                    .any(|&c| clouds[c].serves != Serves::Zone)
            {
                return bad(format!(
                    "site[{i}].instances: several instances only for clouds serving the zone"
                ));
            }
            sites.push(Site {
                name: s.name.clone(),
                router,
                clouds: site_clouds,
                scope: s.scope,
                block: b,
                instances: s.instances,
                separate_announcer: s.separate_announcer,
                bfd: s.bfd,
            });
        }
        let mut clients = Vec::new();
        for (i, c) in raw.client.iter().enumerate() {
            let router = router_index(&format!("client[{i}].router"), &c.router)?;
            let b = block();
            links.push(Link {
                block: b,
                router,
                other: Endpoint::Client(i),
            });
            clients.push(Host {
                name: c.name.clone(),
                router,
                block: b,
            });
        }
        let primary = match &raw.primary {
            Some(p) => {
                let router = router_index("primary.router", &p.router)?;
                let b = block();
                links.push(Link {
                    block: b,
                    router,
                    other: Endpoint::Primary,
                });
                Some(Host {
                    name: p.name.clone(),
                    router,
                    block: b,
                })
            }
            None => None,
        };
        let slow = match &raw.slow {
            Some(p) => {
                let router = router_index("slow.router", &p.router)?;
                let b = block();
                links.push(Link {
                    block: b,
                    router,
                    other: Endpoint::Slow,
                });
                Some(Host {
                    name: p.name.clone(),
                    router,
                    block: b,
                })
            }
            None => None,
        };
        let roots = clouds.iter().filter(|c| c.serves == Serves::Root).count();
        let tree = clouds.iter().any(|c| c.serves != Serves::Zone);
        if roots > 1 || (tree && roots == 0) {
            return bad("cloud.serves: a lab with a DNS tree has one \"root\" cloud".into());
        }
        if slow.is_some() && roots == 0 {
            return bad("slow: needs a DNS tree (a cloud with serves = \"root\")".into());
        }
        if links.len() > MAX_LINKS {
            return bad(format!(
                "{} links; 192.0.2.0/24 holds {MAX_LINKS}",
                links.len()
            ));
        }
        let mut zone_wire = dns_wire::name_from_text(&raw.zone)
            .map_err(|e| Error::Topology(format!("zone: {:?}: {e}", raw.zone)))?;
        // Canonical form (lowercase, trailing dot): as anyns names the zone in its metrics.
        dns_wire::lowercase_in_place(&mut zone_wire);
        let zone = dns_wire::name_to_text(&zone_wire);
        if raw.transfers && primary.is_none() {
            return bad("transfers: needs a [primary]".into());
        }
        Ok(Self {
            site_as: raw.site_as,
            zone,
            transfers: raw.transfers,
            damping: raw.damping,
            clouds,
            routers,
            links,
            sites,
            clients,
            primary,
            slow,
        })
    }

    /// Whether the lab has its own DNS tree (a root cloud).
    pub fn has_tree(&self) -> bool {
        self.clouds.iter().any(|c| c.serves == Serves::Root)
    }

    /// The clouds serving `serves`, in order.
    pub fn clouds_serving(&self, serves: Serves) -> Vec<usize> {
        (0..self.clouds.len())
            .filter(|&c| self.clouds[c].serves == serves)
            .collect()
    }

    /// Whether site `site` is a resolver site.
    pub fn is_resolver_site(&self, site: usize) -> bool {
        self.sites[site]
            .clouds
            .iter()
            .all(|&c| self.clouds[c].serves == Serves::Resolver)
    }

    /// The slow server's addresses (v4, v6).
    pub fn slow_addresses(&self) -> Option<(Ipv4Addr, Ipv6Addr)> {
        self.slow.as_ref().map(|h| (v4(h.block, 2), v6(h.block, 2)))
    }

    /// Every client's link prefixes (a /29 and a /64): who may use the resolvers.
    pub fn client_prefixes(&self) -> Vec<String> {
        self.clients
            .iter()
            .flat_map(|c| {
                [
                    format!("{}/29", v4(c.block, 0)),
                    format!("{}/64", v6(c.block, 0)),
                ]
            })
            .collect()
    }

    /// The site's unicast address (IPv4) for its instance of cloud `cloud`.
    pub fn instance_v4(&self, site: usize, cloud: usize) -> Ipv4Addr {
        let s = &self.sites[site];
        let k = s.clouds.iter().position(|&c| c == cloud).unwrap_or(0) as u8;
        v4(s.block, 2 + k)
    }

    /// The site's unicast address (IPv6) for its instance of cloud `cloud`.
    pub fn instance_v6(&self, site: usize, cloud: usize) -> Ipv6Addr {
        let s = &self.sites[site];
        let k = s.clouds.iter().position(|&c| c == cloud).unwrap_or(0) as u8;
        v6(s.block, 2 + k)
    }

    /// In the split model, DNS instance `instance` of site `site` for `cloud` listens on
    /// this loopback address (inside the site's namespace), where the announcer probes it.
    pub fn dns_instance_address(
        &self,
        site: usize,
        cloud: usize,
        instance: u32,
    ) -> std::net::SocketAddr {
        let s = &self.sites[site];
        let k = s.clouds.iter().position(|&c| c == cloud).unwrap_or(0) as u8;
        std::net::SocketAddr::from(([127, 0, 1 + k, 1 + instance as u8], 53))
    }

    /// Router indices linked to router `r`.
    fn neighbours(&self, r: usize) -> Vec<usize> {
        self.links
            .iter()
            .filter_map(|l| match l.other {
                Endpoint::Router(o) if l.router == r => Some(o),
                Endpoint::Router(o) if o == r => Some(l.router),
                _ => None,
            })
            .collect()
    }

    /// Which sites each router's best routes to `cloud` lead to, with the `down` instances
    /// (site, cloud) not announcing: a small path-vector model of what BIRD will choose.
    /// Shortest AS path wins; ties keep every tied site (the routers break them). A site's
    /// route counts as one hop; each router-to-router eBGP hop adds one. A router exports
    /// only its best route, and not at all when that route carries NO_EXPORT (a
    /// local-scope site attached to it): its neighbours then learn nothing from it.
    pub fn best_sites(&self, cloud: usize, down: &[(usize, usize)]) -> Vec<Vec<usize>> {
        // Per router: (path length, sites, exportable).
        let local: Vec<Option<(usize, Vec<usize>, bool)>> = (0..self.routers.len())
            .map(|r| {
                let sites: Vec<usize> = (0..self.sites.len())
                    .filter(|&s| self.sites[s].router == r && self.sites[s].clouds.contains(&cloud))
                    .filter(|&s| !down.contains(&(s, cloud)))
                    .collect();
                let exportable = sites.iter().all(|&s| self.sites[s].scope == Scope::Global);
                (!sites.is_empty()).then_some((1, sites, exportable))
            })
            .collect();
        let mut best = local.clone();
        for _ in 0..self.routers.len() {
            let mut next = local.clone();
            for (r, slot) in next.iter_mut().enumerate() {
                for n in self.neighbours(r) {
                    let Some((d, sites, true)) = &best[n] else {
                        continue;
                    };
                    let offer = (d + 1, sites.clone(), true);
                    *slot = match slot.take() {
                        None => Some(offer),
                        Some(current) if offer.0 < current.0 => Some(offer),
                        Some(mut current) if offer.0 == current.0 => {
                            for s in offer.1 {
                                if !current.1.contains(&s) {
                                    current.1.push(s);
                                }
                            }
                            Some(current)
                        }
                        Some(current) => Some(current),
                    };
                }
            }
            best = next;
        }
        best.into_iter()
            .map(|b| {
                let mut sites = b.map(|(_, s, _)| s).unwrap_or_default();
                sites.sort_unstable();
                sites
            })
            .collect()
    }

    /// The sites client `client` should reach for `cloud` (see [`Self::best_sites`]); empty
    /// when its router has no route.
    pub fn expected_catchment(
        &self,
        client: usize,
        cloud: usize,
        down: &[(usize, usize)],
    ) -> Vec<usize> {
        self.best_sites(cloud, down)
            .swap_remove(self.clients[client].router)
    }

    /// Every namespace suffix: routers, sites, clients, primary.
    pub fn node_names(&self) -> Vec<&str> {
        self.routers
            .iter()
            .map(|r| r.name.as_str())
            .chain(self.sites.iter().map(|s| s.name.as_str()))
            .chain(self.clients.iter().map(|c| c.name.as_str()))
            .chain(self.primary.iter().map(|p| p.name.as_str()))
            .chain(self.slow.iter().map(|p| p.name.as_str()))
            .collect()
    }

    /// The name of the far end of a link.
    pub fn endpoint_name(&self, e: Endpoint) -> &str {
        match e {
            Endpoint::Router(i) => &self.routers[i].name,
            Endpoint::Site(i) => &self.sites[i].name,
            Endpoint::Client(i) => &self.clients[i].name,
            Endpoint::Primary => self.primary.as_ref().map_or("primary", |p| &p.name),
            Endpoint::Slow => self.slow.as_ref().map_or("slow", |p| &p.name),
        }
    }

    /// Index of a site by name.
    pub fn site(&self, name: &str) -> Option<usize> {
        self.sites.iter().position(|s| s.name == name)
    }

    /// Index of a cloud by name.
    pub fn cloud(&self, name: &str) -> Option<usize> {
        self.clouds.iter().position(|c| c.name == name)
    }

    /// Index of a client by name.
    pub fn client(&self, name: &str) -> Option<usize> {
        self.clients.iter().position(|c| c.name == name)
    }

    /// Every service address mapped to its cloud.
    pub fn service_addresses(&self) -> HashMap<IpAddr, usize> {
        self.clouds
            .iter()
            .enumerate()
            .flat_map(|(i, c)| c.addresses.iter().map(move |&a| (a, i)))
            .collect()
    }
}

/// Whether `address` is in 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 or 2001:db8::/32.
pub fn is_documentation(address: &IpAddr) -> bool {
    match address {
        IpAddr::V4(a) => matches!(
            a.octets(),
            [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _]
        ),
        IpAddr::V6(a) => a.segments()[..2] == [0x2001, 0xdb8],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = include_str!("../../../lab/default.toml");

    #[test]
    fn default_topology_parses_with_its_address_plan() {
        let t = Topology::from_toml(DEFAULT).unwrap();
        assert_eq!(t.routers.len(), 3);
        assert_eq!(t.sites.len(), 3);
        assert_eq!(t.links.len(), 3 + 3 + 3 + 1);
        // ams is the first site: block 3 (after three router links), ns2 its second cloud.
        assert_eq!(t.instance_v4(0, 1), Ipv4Addr::new(192, 0, 2, 27));
        assert_eq!(t.instance_v6(0, 0).to_string(), "2001:db8:0:4::2");
    }

    #[test]
    fn catchment_is_the_nearest_visible_site() {
        let t = Topology::from_toml(DEFAULT).unwrap();
        let (ns1, ns2) = (t.cloud("ns1").unwrap(), t.cloud("ns2").unwrap());
        let [ams, fra, nyc] = ["ams", "fra", "nyc"].map(|s| t.site(s).unwrap());
        assert_eq!(t.expected_catchment(0, ns1, &[]), vec![ams]);
        assert_eq!(t.expected_catchment(1, ns1, &[]), vec![fra]);
        assert_eq!(t.expected_catchment(2, ns1, &[]), vec![nyc]);
        assert_eq!(t.expected_catchment(1, ns2, &[]), vec![ams, nyc]);
        // ams's ns1 down: c1 goes to nyc over the r1-r3 link, never to fra (NO_EXPORT).
        assert_eq!(t.expected_catchment(0, ns1, &[(ams, ns1)]), vec![nyc]);
        assert_eq!(t.expected_catchment(0, ns2, &[(ams, ns1)]), vec![ams]);
    }

    #[test]
    fn a_local_site_hides_the_global_routes_behind_its_router() {
        // A line r1 - r2 - r3 with the local site at r2: r2's best ns1 route is fra's
        // (NO_EXPORT), so r1 learns no ns1 route from r2 and has none once ams is down.
        let line = DEFAULT.replace("[[link]]\nrouters = [\"r1\", \"r3\"]\n", "");
        let t = Topology::from_toml(&line).unwrap();
        assert_eq!(t.links.len(), 2 + 3 + 3 + 1);
        let (ams, ns1) = (t.site("ams").unwrap(), t.cloud("ns1").unwrap());
        assert_eq!(
            t.expected_catchment(0, ns1, &[(ams, ns1)]),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn errors_name_their_key() {
        let err = Topology::from_toml(&DEFAULT.replace("site-as", "site-asn")).unwrap_err();
        assert!(err.to_string().contains("site-asn"), "{err}");
        let err =
            Topology::from_toml(&DEFAULT.replace("\"203.0.113.53\"", "\"8.8.8.8\"")).unwrap_err();
        assert!(err.to_string().contains("documentation"), "{err}");
        let err = Topology::from_toml(&DEFAULT.replace("router = \"r3\"", "router = \"r9\""))
            .unwrap_err();
        assert!(err.to_string().contains("no router \"r9\""), "{err}");
        let err = Topology::from_toml(
            &DEFAULT.replace("scope = \"local\"", "scope = \"local\"\ninstances = 9"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("instances"), "{err}");
        let two = Topology::from_toml(
            &DEFAULT.replace("scope = \"local\"", "scope = \"local\"\ninstances = 2"),
        )
        .expect("two instances");
        assert!(two.sites.iter().any(|s| s.instances == 2 && s.is_split()));
    }
}
