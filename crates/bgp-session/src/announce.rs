//! What we announce to the peer: the allow-list, the routes we want announced, the routes the
//! peer has from us (Adj-RIB-Out), and the UPDATEs that move one to the other.
//!
//! UPDATEs are built only from differences, so repeating a command sends nothing
//! (RFC 4271 §9.2: an UPDATE is sent when the Adj-RIB-Out changes).

use std::collections::{BTreeMap, BTreeSet};

use bgp_wire::{
    AsPath, Community, Family, LargeCommunity, MAX_MESSAGE_LEN, Message, MpNextHop, MpReach,
    MpUnreach, Negotiated, Origin, PathAttributes, Prefix, Update,
};

use crate::config::PeerConfig;

/// LOCAL_PREF sent to internal peers (the conventional default; RFC 4271 §5.1.5 requires
/// the attribute on iBGP but leaves the value to policy).
const IBGP_LOCAL_PREF: u32 = 100;

/// How a wanted route is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Mark {
    /// With the configured attributes.
    Normal,
    /// With the GRACEFUL_SHUTDOWN community added (RFC 8326 §4).
    GracefulShutdown,
}

/// The prefix is not in the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused;

/// Wanted and advertised routes for one peer.
#[derive(Debug, Clone)]
pub(crate) struct Routes {
    allowed: BTreeSet<Prefix>,
    wanted: BTreeMap<Prefix, Mark>,
    advertised: BTreeMap<Prefix, Mark>,
    template: Template,
}

impl Routes {
    pub(crate) fn new(config: &PeerConfig) -> Self {
        Self {
            allowed: config.settings().prefixes.iter().copied().collect(),
            wanted: BTreeMap::new(),
            advertised: BTreeMap::new(),
            template: Template::new(config),
        }
    }

    /// Wants `prefix` announced with `mark`, or withdrawn for `None`.
    pub(crate) fn set(&mut self, prefix: Prefix, mark: Option<Mark>) -> Result<(), Refused> {
        if !self.allowed.contains(&prefix) {
            return Err(Refused);
        }
        match mark {
            Some(mark) => self.wanted.insert(prefix, mark),
            None => self.wanted.remove(&prefix),
        };
        Ok(())
    }

    /// The prefixes we want announced.
    pub(crate) fn wanted(&self) -> impl Iterator<Item = &Prefix> {
        self.wanted.keys()
    }

    /// Forgets what the peer has: the session went down.
    pub(crate) fn reset(&mut self) {
        self.advertised.clear();
    }

    /// UPDATEs that bring the peer from what it has to what we want, for `families`.
    pub(crate) fn changes(&mut self, families: &[Family]) -> Vec<Update> {
        let mut updates = Vec::new();
        for &family in families {
            let withdrawn: Vec<Prefix> = self
                .advertised
                .keys()
                .filter(|p| p.family() == family && !self.wanted.contains_key(p))
                .copied()
                .collect();
            self.template.withdraw(family, &withdrawn, &mut updates);
            for p in &withdrawn {
                self.advertised.remove(p);
            }
            for mark in [Mark::Normal, Mark::GracefulShutdown] {
                let changed: Vec<Prefix> = self
                    .wanted
                    .iter()
                    .filter(|(p, m)| {
                        p.family() == family && **m == mark && self.advertised.get(p) != Some(m)
                    })
                    .map(|(p, _)| *p)
                    .collect();
                self.template.announce(family, mark, &changed, &mut updates);
                for p in changed {
                    self.advertised.insert(p, mark);
                }
            }
        }
        updates
    }

    /// UPDATEs announcing everything we want in `family`, as after a ROUTE-REFRESH.
    pub(crate) fn full(&mut self, family: Family) -> Vec<Update> {
        let mut updates = Vec::new();
        for mark in [Mark::Normal, Mark::GracefulShutdown] {
            let all: Vec<Prefix> = self
                .wanted
                .iter()
                .filter(|(p, m)| p.family() == family && **m == mark)
                .map(|(p, _)| *p)
                .collect();
            self.template.announce(family, mark, &all, &mut updates);
            for p in all {
                self.advertised.insert(p, mark);
            }
        }
        updates
    }
}

/// The attributes every announcement carries, built once from the configuration.
#[derive(Debug, Clone)]
struct Template {
    as_path: AsPath,
    local_pref: Option<u32>,
    med: Option<u32>,
    communities: Vec<Community>,
    large_communities: Vec<LargeCommunity>,
    next_hop_v4: Option<std::net::Ipv4Addr>,
    next_hop_v6: Option<MpNextHop>,
}

impl Template {
    fn new(config: &PeerConfig) -> Self {
        let s = config.settings();
        //= https://www.rfc-editor.org/rfc/rfc4271#section-5.1.2
        //# When a given BGP speaker advertises the route to an internal peer, the
        //# advertising speaker SHALL NOT modify the AS_PATH attribute associated with the
        //# route.
        let as_path = if config.is_internal() {
            AsPath::default()
        } else {
            AsPath::sequence(vec![s.local_as; 1 + usize::from(s.prepend)])
        };
        let mut communities = s.communities.clone();
        if s.no_export {
            // RFC 4786 §4.1, paraphrased: a local-scope anycast node tags its routes with
            // NO_EXPORT so that they stay within the neighbouring AS.
            communities.push(Community::NO_EXPORT);
        }
        Self {
            as_path,
            local_pref: config.is_internal().then_some(IBGP_LOCAL_PREF),
            med: s.med,
            communities,
            large_communities: s.large_communities.clone(),
            next_hop_v4: s.next_hop_v4,
            next_hop_v6: s.next_hop_v6.map(|global| MpNextHop::Ipv6 {
                global,
                link_local: s.next_hop_v6_link_local,
            }),
        }
    }

    /// The attributes for announcing `family` routes with `mark`, without NLRI.
    fn attributes(&self, family: Family, mark: Mark) -> Option<PathAttributes> {
        let mut communities = self.communities.clone();
        if mark == Mark::GracefulShutdown {
            // RFC 8326 §4, paraphrased: before maintenance the paths to be drained are
            // re-announced with GRACEFUL_SHUTDOWN so receivers lower their preference.
            communities.push(Community::GRACEFUL_SHUTDOWN);
        }
        communities.sort();
        communities.dedup();
        let mut attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(self.as_path.clone()),
            med: self.med,
            local_pref: self.local_pref,
            communities,
            large_communities: self.large_communities.clone(),
            ..PathAttributes::default()
        };
        if family == Family::IPV4_UNICAST {
            attrs.next_hop = Some(self.next_hop_v4?);
        } else {
            //= https://www.rfc-editor.org/rfc/rfc4760#section-3
            //# An UPDATE message that carries the MP_REACH_NLRI MUST also carry the ORIGIN
            //# and the AS_PATH attributes
            attrs.mp_reach = Some(MpReach {
                family,
                next_hop: self.next_hop_v6?,
                nlri: Vec::new(),
            });
        }
        Some(attrs)
    }

    fn announce(&self, family: Family, mark: Mark, prefixes: &[Prefix], out: &mut Vec<Update>) {
        if prefixes.is_empty() {
            return;
        }
        // Config validation guarantees a next hop for every allowed prefix's family.
        let Some(attrs) = self.attributes(family, mark) else {
            return;
        };
        let base = Update {
            attributes: attrs,
            ..Update::default()
        };
        for chunk in chunks(prefixes, budget(&base)) {
            let mut update = base.clone();
            match &mut update.attributes.mp_reach {
                Some(reach) => reach.nlri = chunk.to_vec(),
                None => update.nlri = chunk.to_vec(),
            }
            out.push(update);
        }
    }

    fn withdraw(&self, family: Family, prefixes: &[Prefix], out: &mut Vec<Update>) {
        if prefixes.is_empty() {
            return;
        }
        let mut base = Update::default();
        if family != Family::IPV4_UNICAST {
            base.attributes.mp_unreach = Some(MpUnreach {
                family,
                withdrawn: Vec::new(),
            });
        }
        for chunk in chunks(prefixes, budget(&base)) {
            let mut update = base.clone();
            match &mut update.attributes.mp_unreach {
                Some(unreach) => unreach.withdrawn = chunk.to_vec(),
                None => update.withdrawn = chunk.to_vec(),
            }
            out.push(update);
        }
    }
}

/// Octets left for NLRI in an UPDATE built from `base`, under either AS encoding.
fn budget(base: &Update) -> usize {
    let message = Message::Update(base.clone());
    let mut longest = 0;
    for negotiated in [Negotiated::default(), Negotiated::FOUR_OCTET_AS] {
        let mut out = Vec::new();
        // The base is small by construction (config limits), so emit succeeds.
        if message.emit(&mut out, negotiated).is_ok() {
            longest = longest.max(out.len());
        }
    }
    // Extended-length attribute headers take one octet more once NLRI is added.
    MAX_MESSAGE_LEN.saturating_sub(longest + 2)
}

/// Splits `prefixes` into runs whose NLRI encodings fit `budget` octets.
fn chunks(prefixes: &[Prefix], budget: usize) -> Vec<&[Prefix]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, p) in prefixes.iter().enumerate() {
        if used + p.nlri_len() > budget && i > start {
            out.push(&prefixes[start..i]);
            start = i;
            used = 0;
        }
        used += p.nlri_len();
    }
    if start < prefixes.len() {
        out.push(&prefixes[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::config::PeerSettings;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn routes(prefixes: Vec<Prefix>) -> Routes {
        let settings = PeerSettings {
            prefixes,
            next_hop_v4: Some(Ipv4Addr::new(192, 0, 2, 1)),
            next_hop_v6: Some("2001:db8::1".parse().unwrap()),
            prepend: 2,
            ..PeerSettings::new(65001, 65000, Ipv4Addr::new(192, 0, 2, 1))
        };
        Routes::new(&PeerConfig::try_from(settings).unwrap())
    }

    const BOTH: [Family; 2] = [Family::IPV4_UNICAST, Family::IPV6_UNICAST];

    #[test]
    fn refuses_prefixes_outside_allow_list() {
        let mut r = routes(vec![p("192.0.2.0/24")]);
        assert_eq!(
            r.set(p("198.51.100.0/24"), Some(Mark::Normal)),
            Err(Refused)
        );
        assert_eq!(r.set(p("192.0.2.0/24"), Some(Mark::Normal)), Ok(()));
    }

    #[test]
    fn test_9_2_updates_only_on_change() {
        let mut r = routes(vec![p("192.0.2.0/24"), p("2001:db8:53::/48")]);
        r.set(p("192.0.2.0/24"), Some(Mark::Normal)).unwrap();
        r.set(p("2001:db8:53::/48"), Some(Mark::Normal)).unwrap();
        let updates = r.changes(&BOTH);
        assert_eq!(updates.len(), 2);
        assert_eq!(
            updates[0].attributes.as_path,
            Some(AsPath::sequence(vec![65001; 3]))
        );
        assert!(r.changes(&BOTH).is_empty());
        r.set(p("192.0.2.0/24"), Some(Mark::Normal)).unwrap();
        assert!(r.changes(&BOTH).is_empty());
        r.set(p("192.0.2.0/24"), None).unwrap();
        let updates = r.changes(&BOTH);
        assert_eq!(updates[0].withdrawn, vec![p("192.0.2.0/24")]);
    }

    #[test]
    fn test_rfc8326_graceful_shutdown_reannounces_with_community() {
        let mut r = routes(vec![p("192.0.2.0/24")]);
        r.set(p("192.0.2.0/24"), Some(Mark::Normal)).unwrap();
        r.changes(&BOTH);
        r.set(p("192.0.2.0/24"), Some(Mark::GracefulShutdown))
            .unwrap();
        let updates = r.changes(&BOTH);
        assert_eq!(updates.len(), 1);
        assert!(
            updates[0]
                .attributes
                .communities
                .contains(&Community::GRACEFUL_SHUTDOWN)
        );
    }

    #[test]
    fn families_not_negotiated_are_held_back() {
        let mut r = routes(vec![p("2001:db8:53::/48")]);
        r.set(p("2001:db8:53::/48"), Some(Mark::Normal)).unwrap();
        assert!(r.changes(&[Family::IPV4_UNICAST]).is_empty());
        assert_eq!(r.changes(&BOTH).len(), 1);
    }

    #[test]
    fn many_prefixes_split_into_messages_that_fit() {
        let prefixes: Vec<Prefix> = (0..2000u32)
            .map(|i| Prefix::new(Ipv4Addr::from((10 << 24) | (i << 8)).into(), 24).unwrap())
            .collect();
        let mut r = routes(prefixes.clone());
        for p in &prefixes {
            r.set(*p, Some(Mark::Normal)).unwrap();
        }
        let updates = r.changes(&BOTH);
        assert!(updates.len() > 1);
        let total: usize = updates.iter().map(|u| u.nlri.len()).sum();
        assert_eq!(total, 2000);
        for u in updates {
            let mut out = Vec::new();
            Message::Update(u)
                .emit(&mut out, Negotiated::default())
                .unwrap();
        }
    }
}
