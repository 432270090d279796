//! What the lab writes: BIRD configs for the routers, anyns configs for the site instances
//! and the primary, the zone, and the shell scripts that address each namespace.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;

use crate::topology::{Endpoint, Scope, Serves, Topology, v4, v6};

/// What every router may pass on to another router: the documentation ranges.
const LAB_V4: &str = "[ 192.0.2.0/24+, 198.51.100.0/24+, 203.0.113.0/24+ ]";
/// The IPv6 documentation range.
const LAB_V6: &str = "[ 2001:db8::/32+ ]";

/// A router's end of each of its links: (link block, its host number, the far end).
fn router_links(t: &Topology, router: usize) -> Vec<(u8, u8, Endpoint)> {
    t.links
        .iter()
        .filter_map(|l| {
            if l.router == router {
                Some((l.block, 1, l.other))
            } else if l.other == Endpoint::Router(router) {
                Some((l.block, 2, Endpoint::Router(l.router)))
            } else {
                None
            }
        })
        .collect()
}

/// BGP protocol name in BIRD of a router-to-router session.
pub(crate) fn peer_protocol(t: &Topology, other: usize, v6: bool) -> String {
    format!("peer_{}_{}", t.routers[other].name, if v6 { 6 } else { 4 })
}

/// BGP protocol name in BIRD of a session with a site's instance.
pub(crate) fn site_protocol(t: &Topology, site: usize, cloud: usize, v6: bool) -> String {
    format!(
        "site_{}_{}_{}",
        t.sites[site].name,
        t.clouds[cloud].name,
        if v6 { 6 } else { 4 }
    )
}

/// Every BGP protocol a router runs.
pub(crate) fn bgp_protocols(t: &Topology, router: usize) -> Vec<String> {
    let mut names = Vec::new();
    for (_, _, far) in router_links(t, router) {
        match far {
            Endpoint::Router(o) => {
                names.push(peer_protocol(t, o, false));
                names.push(peer_protocol(t, o, true));
            }
            Endpoint::Site(s) => {
                for &c in &t.sites[s].clouds {
                    names.push(site_protocol(t, s, c, false));
                    if t.clouds[c].v6().is_some() {
                        names.push(site_protocol(t, s, c, true));
                    }
                }
            }
            _ => {}
        }
    }
    names
}

/// The router's BIRD 2 configuration. Every eBGP session has explicit filters: routers pass
/// on only the documentation ranges; from a site only its clouds' host routes are taken and
/// nothing is sent to it. Short error-wait and connect timers (docs/lab-notes.md) let sessions
/// come back within a second or two of a speaker restart.
/// RFC 8326 §4: a route marked GRACEFUL_SHUTDOWN (65535:0) gets the lowest LOCAL_PREF, so
/// a draining site loses its catchment before it withdraws (routers honour it on every
/// session; BIRD passes the community on to its neighbours).
const GSHUT: &str = "if (65535, 0) ~ bgp_community then bgp_local_pref = 0;";

pub(crate) fn bird_config(t: &Topology, router: usize, dir: &Path) -> String {
    let links = router_links(t, router);
    let router_id = links
        .first()
        .map_or_else(|| v4(0, 1), |&(block, host, _)| v4(block, host));
    let asn = t.routers[router].asn;
    let mut c = String::new();
    let _ = write!(
        c,
        r#"# Written by anyns-lab for router {name} (AS{asn}).
router id {router_id};
log "{log}" all;

protocol device {{ scan time 10; }}
protocol direct {{ ipv4; ipv6; interface "to-*"; }}
protocol kernel {{ ipv4 {{ import none; export where source != RTS_DEVICE; }}; }}
protocol kernel {{ ipv6 {{ import none; export where source != RTS_DEVICE; }}; }}

define LAB4 = {LAB_V4};
define LAB6 = {LAB_V6};

template bgp lab {{
    hold time 30;
    keepalive time 10;
    error wait time 1, 10;
    connect delay time 1;
    connect retry time 1;
}}
"#,
        name = t.routers[router].name,
        log = dir.join("bird.log").display(),
    );
    let bfd_sites = |s: &usize| t.sites[*s].bfd && t.sites[*s].router == router;
    if (0..t.sites.len()).any(|s| bfd_sites(&s)) {
        // Sites with BFD: a frozen process loses its routes in 300 ms, not the hold time.
        c.push_str(
            "\nprotocol bfd {\n    interface \"to-*\" {\n        min rx interval 100 ms;\n        \
             min tx interval 100 ms;\n        multiplier 3;\n    };\n}\n",
        );
    }
    for (block, host, far) in links {
        let far_host = if host == 1 { 2 } else { 1 };
        match far {
            Endpoint::Router(o) => {
                let other_as = t.routers[o].asn;
                let _ = write!(
                    c,
                    r#"
protocol bgp {p4} from lab {{
    local {l4} as {asn};
    neighbor {n4} as {other_as};
    ipv4 {{ import filter {{ if ! (net ~ LAB4) then reject; {GSHUT} accept; }}; export where net ~ LAB4; }};
}}
protocol bgp {p6} from lab {{
    local {l6} as {asn};
    neighbor {n6} as {other_as};
    ipv6 {{ import filter {{ if ! (net ~ LAB6) then reject; {GSHUT} accept; }}; export where net ~ LAB6; }};
}}
"#,
                    p4 = peer_protocol(t, o, false),
                    p6 = peer_protocol(t, o, true),
                    l4 = v4(block, host),
                    n4 = v4(block, far_host),
                    l6 = v6(block, host),
                    n6 = v6(block, far_host),
                );
            }
            Endpoint::Site(s) => {
                for &cloud in &t.sites[s].clouds {
                    for address in &t.clouds[cloud].addresses {
                        let (v6_session, local, neighbor, channel, len): (
                            bool,
                            IpAddr,
                            IpAddr,
                            _,
                            _,
                        ) = match address {
                            IpAddr::V4(_) => (
                                false,
                                v4(block, 1).into(),
                                t.instance_v4(s, cloud).into(),
                                "ipv4",
                                32,
                            ),
                            IpAddr::V6(_) => (
                                true,
                                v6(block, 1).into(),
                                t.instance_v6(s, cloud).into(),
                                "ipv6",
                                128,
                            ),
                        };
                        let _ = write!(
                            c,
                            r#"
protocol bgp {p} from lab {{
    local {local} as {asn};
    neighbor {neighbor} as {site_as};
{bfd}    {channel} {{ import filter {{ if ! (net ~ [ {address}/{len} ]) then reject; {GSHUT} accept; }}; export none; }};
}}
"#,
                            p = site_protocol(t, s, cloud, v6_session),
                            site_as = t.site_as,
                            bfd = if t.sites[s].bfd { "    bfd on;\n" } else { "" },
                        );
                    }
                }
            }
            Endpoint::Client(_) | Endpoint::Primary | Endpoint::Slow => {}
        }
    }
    c
}

/// Where a site instance gets the zone.
pub(crate) enum ZoneSource<'a> {
    /// Its own copy of the zone file.
    File(&'a str),
    /// A secondary of the primary at this address, storing received zones in `storage`.
    Primary(IpAddr, &'a Path),
    /// Zones of the DNS tree: (origin, file) each.
    Files(Vec<(String, String)>),
}

/// The anyns configuration of site `site`'s instance for `cloud`: service addresses
/// (anycast) and its own unicast addresses, the zone, and a BGP session to its router with
/// next hop self, NO_EXPORT for a local-scope site.
pub(crate) fn anyns_site_config(
    t: &Topology,
    site: usize,
    cloud: usize,
    source: &ZoneSource<'_>,
) -> String {
    let s = &t.sites[site];
    let c = &t.clouds[cloud];
    let router = &t.routers[s.router];
    let (u4, u6) = (t.instance_v4(site, cloud), t.instance_v6(site, cloud));
    let mut text = format!(
        r#"# Written by anyns-lab: site {site_name}, cloud {cloud_name}.
[server]
identity = "{site_name}"
udp-workers = 1
tcp-idle-timeout = 10
metrics = "{u4}:{metrics_port}"
"#,
        site_name = s.name,
        cloud_name = c.name,
        metrics_port = crate::metrics::METRICS_PORT,
    );
    for a in &c.addresses {
        let _ = write!(
            text,
            "\n[[listen]]\naddress = \"{}\"\nrole = \"anycast\"\n",
            std::net::SocketAddr::new(*a, 53)
        );
    }
    for a in [IpAddr::V4(u4), IpAddr::V6(u6)] {
        let _ = write!(
            text,
            "\n[[listen]]\naddress = \"{}\"\nrole = \"unicast\"\n",
            std::net::SocketAddr::new(a, 53)
        );
    }
    let prefixes: Vec<String> = c
        .addresses
        .iter()
        .map(|a| match a {
            IpAddr::V4(_) => format!("\"{a}/32\""),
            IpAddr::V6(_) => format!("\"{a}/128\""),
        })
        .collect();
    let zones = match source {
        ZoneSource::Files(files) => files
            .iter()
            .map(|(origin, file)| format!("\n[[zone]]\nname = \"{origin}\"\nfile = \"{file}\"\n"))
            .collect(),
        _ => format!(
            "\n[[zone]]\nname = \"{zone}\"\n{zone_lines}",
            zone = t.zone,
            zone_lines = match source {
                ZoneSource::File(file) => format!("file = \"{file}\"\n"),
                // Transfers and SOA queries leave from this instance's unicast address.
                ZoneSource::Primary(primary, _) =>
                    format!("primaries = [\"{primary}\"]\nsource = \"{u4}\"\n"),
                ZoneSource::Files(_) => String::new(),
            }
        ),
    };
    let _ = write!(
        text,
        r#"{zones}
[bgp]
local-as = {site_as}
router-id = "{u4}"
prefixes = [{prefixes}]
next-hop-v4 = "{u4}"
"#,
        site_as = t.site_as,
        prefixes = prefixes.join(", "),
    );
    if let ZoneSource::Primary(_, storage) = source {
        text = text.replace(
            "tcp-idle-timeout = 10\n",
            &format!(
                "tcp-idle-timeout = 10\nstorage = \"{}\"\n",
                storage.display()
            ),
        );
    }
    if c.v6().is_some() {
        let _ = writeln!(text, "next-hop-v6 = \"{u6}\"");
    }
    let _ = write!(
        text,
        r#"no-export = {no_export}
hold-time = 30
connect-retry-time = 1
idle-hold-ms = 1000

[[bgp.peer]]
address = "{r4}"
remote-as = {ras}
local-address = "{u4}"
"#,
        no_export = s.scope == Scope::Local,
        r4 = v4(s.block, 1),
        ras = router.asn,
    );
    let bfd = "bfd = true\nbfd-interval-ms = 100\nbfd-multiplier = 3\n";
    if s.bfd {
        text.push_str(bfd);
    }
    if c.v6().is_some() {
        let _ = write!(
            text,
            "\n[[bgp.peer]]\naddress = \"{}\"\nremote-as = {}\nlocal-address = \"{u6}\"\n",
            v6(s.block, 1),
            router.asn
        );
        if s.bfd {
            text.push_str(bfd);
        }
    }
    text
}

/// A resolver site's anyns: the resolver cloud's anycast addresses and the site's unicast
/// ones, every query it sends leaving from the unicast ones; the lab's root as hints and
/// its trust anchor (`root.hints`, `root.key` beside the config); the clients' links (and
/// the site itself, for its health probe) allowed; the cloud announced while a name of
/// the tree resolves past the cache.
pub(crate) fn anyns_resolver_config(
    t: &Topology,
    site: usize,
    cloud: usize,
    control_socket: &Path,
) -> String {
    let c = &t.clouds[cloud];
    // The BGP part is the authoritative site's; the zone is replaced by the resolver.
    let mut text = anyns_site_config(t, site, cloud, &ZoneSource::Files(Vec::new()));
    text = text.replace(
        "role = \"anycast\"\n",
        "role = \"anycast\"\nservice = \"resolver\"\n",
    );
    text = text.replace(
        "role = \"unicast\"\n",
        "role = \"unicast\"\nservice = \"resolver\"\n",
    );
    text = text.replace(
        "tcp-idle-timeout = 10\n",
        &format!(
            "tcp-idle-timeout = 10\ncontrol-socket = \"{}\"\n",
            control_socket.display()
        ),
    );
    let (u4, u6) = (t.instance_v4(site, cloud), t.instance_v6(site, cloud));
    let mut allow: Vec<String> = t.client_prefixes();
    allow.extend([format!("{u4}/32"), format!("{u6}/128")]);
    allow.extend(c.addresses.iter().map(|a| match a {
        IpAddr::V4(_) => format!("{a}/32"),
        IpAddr::V6(_) => format!("{a}/128"),
    }));
    allow.extend(["127.0.0.0/8".to_string(), "::1/128".to_string()]);
    let allow: Vec<String> = allow.iter().map(|p| format!("\"{p}\"")).collect();
    let probe_zone = crate::tree::tree_name(t, "plain");
    let _ = write!(
        text,
        r#"
[resolver]
source = ["{u4}", "{u6}"]
hints = "root.hints"
trust-anchor-file = "root.key"
allow-query = [{allow}]
cache-size-mb = 16
# TCP to a zone's anycast servers that breaks costs a timeout per server before its
# unicast-only server is tried.
resolution-timeout-ms = 8000

[health]
damping = {damping}

[[health.cloud]]
name = "{name}"
instances = ["{u4}:53"]
resolver-probe = "{probe_zone}"
"#,
        allow = allow.join(", "),
        damping = t.damping,
        name = c.name,
    );
    text
}

/// The tree's unicast-only name server: `far.` on its own addresses, no BGP.
pub(crate) fn anyns_slow_config(t: &Topology, name: &str) -> String {
    let Some((a4, a6)) = t.slow_addresses() else {
        return String::new();
    };
    format!(
        r#"# Written by anyns-lab: the DNS tree's unicast-only name server.
[server]
identity = "{name}"
udp-workers = 1

[[listen]]
address = "{a4}:53"
role = "unicast"

[[listen]]
address = "[{a6}]:53"
role = "unicast"

[[zone]]
name = "{far}"
file = "far.zone"
"#,
        far = crate::tree::tree_name(t, "far"),
    )
}

/// The split model (decision 0005), for a site with a separate announcer: the announcer's
/// configuration for `cloud` — the site config without the service addresses (it serves the
/// zone on its unicast addresses only, for its own serial), plus `[health]` probing each DNS
/// instance on its own loopback address (k = 1 of N) and a control socket. The DNS
/// instances' PID files are in `node_dir`.
pub(crate) fn anyns_announcer_config(
    t: &Topology,
    site: usize,
    cloud: usize,
    control_socket: &Path,
    node_dir: &Path,
) -> String {
    let c = &t.clouds[cloud];
    let mut text = anyns_site_config(t, site, cloud, &ZoneSource::File("example.zone"));
    for a in &c.addresses {
        text = text.replace(
            &format!(
                "\n[[listen]]\naddress = \"{}\"\nrole = \"anycast\"\n",
                std::net::SocketAddr::new(*a, 53)
            ),
            "",
        );
    }
    text = text.replace(
        "tcp-idle-timeout = 10\n",
        &format!(
            "tcp-idle-timeout = 10\ncontrol-socket = \"{}\"\n",
            control_socket.display()
        ),
    );
    let instances: Vec<String> = (0..t.sites[site].instances)
        .map(|i| format!("\"{}\"", t.dns_instance_address(site, cloud, i)))
        .collect();
    // The lab writes each instance's PID next to the announcer's files (run_dir/SITE/
    // anyns-CLOUD-I.pid): the announcer kills an instance that hangs.
    let pid_files: Vec<String> = (0..t.sites[site].instances)
        .map(|i| {
            format!(
                "\"{}\"",
                node_dir.join(format!("anyns-{}-{i}.pid", c.name)).display()
            )
        })
        .collect();
    let _ = write!(
        text,
        r#"
[health]
damping = {damping}

[[health.cloud]]
name = "{name}"
instances = [{instances}]
min-instances = 1
instance-pid-files = [{pid_files}]
"#,
        damping = t.damping,
        name = c.name,
        instances = instances.join(", "),
        pid_files = pid_files.join(", "),
    );
    text
}

/// The split model: DNS instance `instance` of site `site` for `cloud` — the service
/// addresses (shared with the site's other instances through SO_REUSEPORT) and its own
/// loopback address for the announcer's probes; the zone from the site's file; no BGP.
pub(crate) fn anyns_dns_instance_config(
    t: &Topology,
    site: usize,
    cloud: usize,
    instance: u32,
) -> String {
    let s = &t.sites[site];
    let c = &t.clouds[cloud];
    let mut text = format!(
        "# Written by anyns-lab: site {site_name}, cloud {cloud_name}, DNS instance {instance}.\n\
         [server]\nidentity = \"{site_name}\"\nudp-workers = 1\ntcp-idle-timeout = 10\n\
         shared-listen = true\n",
        site_name = s.name,
        cloud_name = c.name,
    );
    for a in &c.addresses {
        let _ = write!(
            text,
            "\n[[listen]]\naddress = \"{}\"\nrole = \"anycast\"\n",
            std::net::SocketAddr::new(*a, 53)
        );
    }
    let _ = write!(
        text,
        "\n[[listen]]\naddress = \"{}\"\nrole = \"unicast\"\n\n[[zone]]\nname = \"{}\"\nfile = \"example.zone\"\n",
        t.dns_instance_address(site, cloud, instance),
        t.zone
    );
    text
}

/// The primary's anyns configuration: the zone on its unicast addresses, no BGP; with
/// transfers, NOTIFY to every site instance's unicast address and AXFR/IXFR allowed from
/// the lab's link range.
pub(crate) fn anyns_primary_config(t: &Topology, block: u8, name: &str, zone_file: &str) -> String {
    let mut transfer = String::new();
    if t.transfers {
        let mut notify = Vec::new();
        for (s, site) in t.sites.iter().enumerate() {
            for &c in site
                .clouds
                .iter()
                .filter(|&&c| t.clouds[c].serves == Serves::Zone)
            {
                notify.push(format!("\"{}\"", t.instance_v4(s, c)));
            }
        }
        transfer = format!(
            "notify = [{}]\nallow-transfer = [\"192.0.2.0/24\"]\n",
            notify.join(", ")
        );
    }
    format!(
        r#"# Written by anyns-lab: the hidden primary (unicast only).
[server]
identity = "{name}"
udp-workers = 1

[[listen]]
address = "{a4}:53"
role = "unicast"

[[listen]]
address = "[{a6}]:53"
role = "unicast"

[[zone]]
name = "{zone}"
file = "{zone_file}"
{transfer}"#,
        a4 = v4(block, 2),
        a6 = v6(block, 2),
        zone = t.zone,
    )
}

/// Strings in the `big` TXT RRset: without EDNS its answer is over 512 octets (TC), with
/// EDNS it fits in 1232.
pub const BIG_TXT_STRINGS: usize = 12;

/// The zone every site and the primary serve, at `serial`, with `additions` (the DNS
/// tree's delegations, when the lab has one).
pub(crate) fn zone_text(t: &Topology, serial: u32, additions: &str) -> String {
    let mut z = format!(
        "; Written by anyns-lab.\n$ORIGIN {zone}\n$TTL 300\n@ SOA {ns} hostmaster ( {serial} 60 30 3600 60 )\n",
        zone = t.zone,
        ns = t.clouds.first().map_or("ns1", |c| c.name.as_str()),
    );
    for c in t.clouds.iter().filter(|c| c.serves == Serves::Zone) {
        let _ = writeln!(z, "@ NS {}", c.name);
    }
    // Every authoritative cloud has a name here (the tree's servers are `root.`, `leaf.`).
    for c in t.clouds.iter().filter(|c| c.serves != Serves::Resolver) {
        for a in &c.addresses {
            let rtype = if a.is_ipv4() { "A" } else { "AAAA" };
            let _ = writeln!(z, "{} {rtype} {a}", c.name);
        }
    }
    z.push_str("www A 203.0.113.80\n");
    for i in 0..BIG_TXT_STRINGS {
        let _ = writeln!(
            z,
            "big TXT \"{i:02} a record set too big for 512 octets, made to test TC and TCP\""
        );
    }
    z.push_str(additions);
    z
}

/// Commands (one `sh -ec` script) that address a namespace, bring its links up and set its
/// sysctls; `routes` is the script that runs once every link is up.
pub(crate) struct NsScripts {
    /// Addresses, links, sysctls.
    pub(crate) setup: String,
    /// Routes toward the router (non-routers only).
    pub(crate) routes: String,
}

/// The scripts for node `name` (router or host).
pub(crate) fn ns_scripts(t: &Topology, name: &str) -> NsScripts {
    let mut setup = String::from("ip link set lo up\n");
    let mut routes = String::new();
    let mut interfaces = Vec::new();
    if let Some(r) = t.routers.iter().position(|r| r.name == name) {
        for (block, host, far) in router_links(t, r) {
            let dev = format!("to-{}", t.endpoint_name(far));
            let _ = writeln!(setup, "ip addr add {}/29 dev {dev}", v4(block, host));
            let _ = writeln!(
                setup,
                "ip -6 addr add {}/64 dev {dev} nodad",
                v6(block, host)
            );
            let _ = writeln!(setup, "ip link set {dev} up");
            interfaces.push(dev);
        }
        setup.push_str("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1\n");
    } else {
        let link = t
            .links
            .iter()
            .find(|l| t.endpoint_name(l.other) == name)
            .cloned();
        if let Some(link) = link {
            let dev = format!("to-{}", t.routers[link.router].name);
            let hosts: Vec<u8> = match link.other {
                Endpoint::Site(s) => (0..t.sites[s].clouds.len() as u8).map(|k| 2 + k).collect(),
                _ => vec![2],
            };
            if let Endpoint::Site(s) = link.other {
                for &c in &t.sites[s].clouds {
                    for a in &t.clouds[c].addresses {
                        match a {
                            IpAddr::V4(_) => {
                                let _ = writeln!(setup, "ip addr add {a}/32 dev lo");
                            }
                            IpAddr::V6(_) => {
                                let _ = writeln!(setup, "ip -6 addr add {a}/128 dev lo nodad");
                            }
                        }
                    }
                }
            }
            for h in hosts {
                let _ = writeln!(setup, "ip addr add {}/29 dev {dev}", v4(link.block, h));
                let _ = writeln!(
                    setup,
                    "ip -6 addr add {}/64 dev {dev} nodad",
                    v6(link.block, h)
                );
            }
            let _ = writeln!(setup, "ip link set {dev} up");
            // Routes to the documentation ranges only: no default route out of the lab.
            for net in ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"] {
                let _ = writeln!(routes, "ip route add {net} via {}", v4(link.block, 1));
            }
            let _ = writeln!(
                routes,
                "ip -6 route add 2001:db8::/32 via {}",
                v6(link.block, 1)
            );
            interfaces.push(dev);
        }
        setup.push_str("sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0\n");
    }
    // An inherited rp_filter=1 drops asymmetric paths after a failover (docs/lab-notes.md).
    let mut rp = String::from(
        "sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.lo.rp_filter=0",
    );
    for dev in interfaces {
        let _ = write!(rp, " net.ipv4.conf.{dev}.rp_filter=0");
    }
    setup.push_str(&rp);
    setup.push('\n');
    NsScripts { setup, routes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default() -> Topology {
        Topology::from_toml(include_str!("../../../lab/default.toml")).unwrap()
    }

    #[test]
    fn bird_config_filters_every_session() {
        let t = default();
        let c = bird_config(&t, 0, Path::new("/run/lab/r1"));
        assert!(c.contains("protocol bgp peer_r2_4 from lab"), "{c}");
        assert!(c.contains("neighbor 192.0.2.2 as 64502;"), "{c}");
        assert!(c.contains("protocol bgp site_ams_ns1_6 from lab"), "{c}");
        assert!(
            c.contains("if ! (net ~ [ 2001:db8:53::1/128 ]) then reject; if (65535, 0) ~ bgp_community then bgp_local_pref = 0; accept; }; export none;"),
            "{c}"
        );
        // Every import honours GRACEFUL_SHUTDOWN (RFC 8326).
        assert_eq!(c.matches(GSHUT).count(), bgp_protocols(&t, 0).len());
        assert!(c.contains("neighbor 192.0.2.27 as 64600;"), "{c}");
        assert_eq!(
            c.matches("protocol bgp ").count(),
            bgp_protocols(&t, 0).len()
        );
    }

    #[test]
    fn local_scope_sites_announce_with_no_export() {
        let t = default();
        let fra = t.site("fra").unwrap();
        let c = anyns_site_config(&t, fra, 0, &ZoneSource::File("example.zone"));
        assert!(c.contains("no-export = true"), "{c}");
        assert!(c.contains("identity = \"fra\""), "{c}");
        let ams = anyns_site_config(
            &t,
            0,
            1,
            &ZoneSource::Primary("192.0.2.74".parse().unwrap(), Path::new("/s")),
        );
        assert!(
            ams.contains("primaries = [\"192.0.2.74\"]\nsource = \"192.0.2.27\""),
            "{ams}"
        );
        assert!(ams.contains("storage = \"/s\""), "{ams}");
        let primary = anyns_primary_config(&t, 9, "primary", "example.zone");
        assert!(
            primary.contains("notify = [\"192.0.2.26\", \"192.0.2.27\", \"192.0.2.34\""),
            "{primary}"
        );
        assert!(ams.contains("no-export = false"), "{ams}");
        assert!(
            !ams.contains("next-hop-v6"),
            "ns2 has no IPv6 address: {ams}"
        );
    }

    #[test]
    fn hosts_get_no_default_route() {
        let t = default();
        for name in t.node_names() {
            let s = ns_scripts(&t, name);
            assert!(!s.routes.contains("default") && !s.routes.contains("0.0.0.0/0"));
        }
        assert!(ns_scripts(&t, "r1").setup.contains("ip_forward=1"));
        assert!(ns_scripts(&t, "c1").setup.contains("ip_forward=0"));
    }
}
