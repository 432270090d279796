//! Deployment findings over one site configuration or an inventory of them: transfers or
//! NOTIFY on an anycast address, a site without an identity or sharing one, a cloud that
//! fewer than two sites announce, every site behind one upstream AS.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;

use super::finding::{Finding, Severity};
use crate::config::{Config, Role};

/// Every anycast address of the inventory: the anycast listeners' and the BGP prefixes'.
pub(crate) fn anycast_prefixes(configs: &[(PathBuf, Config)]) -> Vec<crate::acl::Prefix> {
    let mut prefixes = Vec::new();
    for (_, config) in configs {
        for listen in config.listen.iter().filter(|l| l.role == Role::Anycast) {
            prefixes.push(crate::acl::Prefix::host(listen.address.ip()));
        }
        for prefix in config.bgp.iter().flat_map(|b| &b.prefixes) {
            if let Ok(p) = format!("{}/{}", prefix.addr(), prefix.prefix_len()).parse() {
                prefixes.push(p);
            }
        }
    }
    prefixes
}

/// The deployment findings of `configs` (one per site).
pub(crate) fn findings(configs: &[(PathBuf, Config)]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let anycast = anycast_prefixes(configs);
    let is_anycast = |a: IpAddr| anycast.iter().any(|p| p.contains(a));
    let mut identities: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, config) in configs {
        let file = path.display().to_string();
        for (i, listen) in config.listen.iter().enumerate() {
            if listen.role == Role::Anycast && listen.transfers {
                findings.push(Finding::new(
                    Severity::Error,
                    "deploy.transfers-on-anycast",
                    format!("{file}: listen[{i}]"),
                    format!("{} serves AXFR/IXFR", listen.address),
                    "a transfer's TCP session to an anycast address can land at another site \
                     mid-way: serve transfers on the unicast listeners only",
                ));
            }
        }
        for (i, zone) in config.zones.iter().enumerate() {
            let peers = zone.transfer.primaries.iter().map(|a| ("primaries", a));
            let notify = zone.transfer.notify.iter().map(|a| ("notify", a));
            for (key, address) in peers.chain(notify) {
                if is_anycast(address.ip()) {
                    findings.push(Finding::new(
                        Severity::Error,
                        "deploy.transfer-peer-anycast",
                        format!("{file}: zone[{i}].{key}"),
                        format!("{address} is an anycast address of the fleet"),
                        "transfers and NOTIFY go to unicast addresses: an anycast one reaches \
                         whichever site is nearest, and its answers may come from another",
                    ));
                }
            }
        }
        match &config.identity {
            Some(identity) => identities.entry(identity.clone()).or_default().push(file),
            None => findings.push(Finding::new(
                Severity::Warning,
                "deploy.no-identity",
                format!("{file}: server.identity"),
                "not set",
                "without an identity, NSID and id.server cannot tell which site answered: \
                 set a unique one per site and instance",
            )),
        }
    }
    for (identity, files) in &identities {
        if files.len() > 1 {
            findings.push(Finding::new(
                Severity::Error,
                "deploy.identity-not-unique",
                files.join(", "),
                format!("identity {identity:?} {} times", files.len()),
                "NSID is how operators and the fleet view tell sites apart: give each its own",
            ));
        }
    }
    if configs.len() > 1 {
        let mut announcers: BTreeMap<String, usize> = BTreeMap::new();
        let mut upstreams: BTreeSet<u32> = BTreeSet::new();
        for (_, config) in configs {
            if let Some(bgp) = &config.bgp {
                for prefix in &bgp.prefixes {
                    *announcers.entry(prefix.to_string()).or_default() += 1;
                }
                upstreams.extend(bgp.peers.iter().map(|p| p.session.settings().peer_as));
            }
        }
        for (prefix, count) in &announcers {
            if *count < 2 {
                findings.push(Finding::new(
                    Severity::Warning,
                    "deploy.single-site-cloud",
                    prefix.clone(),
                    format!("announced by {count} site of {}", configs.len()),
                    "a cloud one site announces is not anycast: its outage is the cloud's",
                ));
            }
        }
        if upstreams.len() == 1 {
            findings.push(Finding::new(
                Severity::Warning,
                "deploy.one-upstream-as",
                "every [[bgp.peer]]",
                format!(
                    "all sites peer with AS{}",
                    upstreams.iter().next().unwrap_or(&0)
                ),
                "one upstream network's problem reaches every site: peer with more than one",
            ));
        }
    }
    findings
}
