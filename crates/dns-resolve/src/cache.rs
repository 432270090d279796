//! The resolver's cache: RRsets and negative answers (RFC 2308) by owner and type, shared
//! by every thread, bounded in memory and by TTL.
//!
//! Sharded so that threads answering from it rarely wait for each other: each shard is a
//! `Mutex` around a `HashMap` keyed by the lowercased owner followed by the type. Maps use
//! std's SipHash with a random key per map, and the shard is chosen by another random
//! key, because the names come from anyone who can send a query (a fixed hash would let
//! them pile names into one bucket). Each shard holds an equal part of the byte budget;
//! over it, entries are evicted in insertion order with a second chance for those read
//! since they were last passed (CLOCK), expired ones first as they are met.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::names::is_at_or_below;
use crate::rrset::RrSet;
use crate::security::{Security, ZoneStatus};

/// The TTL of an answer served stale (RFC 8767 §4: 30 seconds).
pub const STALE_ANSWER_TTL: u32 = 30;

/// The longest a bogus answer is kept (Unbound's `val-bogus-ttl`): long enough to spare
/// the authorities a query per client, short enough that a fixed zone is believed soon.
pub const BOGUS_TTL: u32 = 60;

/// Shards of the cache: enough that two UDP workers seldom meet on one lock.
const SHARDS: usize = 64;

/// What a key holds: data of one type (or its absence, NODATA), or the name's
/// non-existence (RFC 2308 §5: NXDOMAIN covers every type of the name). A key space of its
/// own, so that no type a client can ask for ever reads or writes an NXDOMAIN entry.
#[derive(Clone, Copy)]
enum KeyKind {
    Type(u16),
    NxDomain,
    /// A zone's place in the chain of trust (the validator's; never a client's answer).
    Zone,
}

/// How far a piece of data can be believed (RFC 2181 §5.4.1), lowest first: data of a
/// lower rank never replaces unexpired data of a higher one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trust {
    /// Addresses from the additional section of a referral.
    Glue,
    /// NS records of a referral (the parent's copy of the delegation).
    Referral,
    /// The answer section of a response without AA (a forwarder's).
    Answer,
    /// The answer or authority section of an authoritative response.
    Authoritative,
}

/// TTL and memory bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachePolicy {
    /// Memory the entries may take, roughly (see [`RrSet::weight`]).
    pub max_bytes: usize,
    /// TTLs below are raised to this (0: kept as they are).
    pub min_ttl: u32,
    /// TTLs above are cut to this.
    pub max_ttl: u32,
    /// Negative answers are kept at most this long (RFC 2308 §5 suggests 1 to 3 hours).
    pub max_negative_ttl: u32,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            max_bytes: 256 << 20,
            min_ttl: 0,
            max_ttl: 86_400,
            max_negative_ttl: 3_600,
        }
    }
}

/// What the cache knows about a name and type, TTLs counted down to `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cached {
    /// The RRset, with the seconds it has left.
    Set(Arc<RrSet>, u32),
    /// The name does not exist; the zone's SOA and proofs for the authority section.
    NxDomain(Arc<Denial>, u32),
    /// The name exists but has no data of the type.
    NoData(Arc<Denial>, u32),
}

/// The authority section of a negative answer: the zone's SOA, and the NSEC or NSEC3
/// RRsets (their signatures attached) that prove the denial in a signed zone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Denial {
    /// The SOA, when the answer carried one.
    pub soa: Option<RrSet>,
    /// NSEC and NSEC3 RRsets.
    pub proof: Vec<RrSet>,
}

impl Denial {
    /// The SOA and the proofs, in the order an authority section lists them.
    pub fn sets(&self) -> impl Iterator<Item = &RrSet> {
        self.soa.iter().chain(&self.proof)
    }

    fn weight(&self) -> usize {
        self.sets().map(RrSet::weight).sum()
    }
}

/// A negative answer to keep (RFC 2308).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negative {
    /// The name asked.
    pub name: Vec<u8>,
    /// The type asked (ignored for NXDOMAIN, which covers every type).
    pub rtype: u16,
    /// NXDOMAIN rather than NODATA.
    pub nxdomain: bool,
    /// The SOA from the authority section: its TTL and MINIMUM bound the time kept.
    pub soa: Option<RrSet>,
    /// The NSEC and NSEC3 RRsets of the authority section.
    pub proof: Vec<RrSet>,
}

/// Counters read by the metrics (summed over the shards, each counted under its lock: no
/// shared atomic on the lookup path).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups that found something.
    pub hits: u64,
    /// Lookups that found nothing (or only expired data).
    pub misses: u64,
    /// Entries evicted to stay within the byte budget.
    pub evictions: u64,
}

/// What the cache knows, borrowed for the time of a [`Cache::visit`], TTL counted down.
#[derive(Clone, Copy, Debug)]
pub enum CachedRef<'a> {
    /// The RRset, with the seconds it has left.
    Set(&'a RrSet, u32),
    /// The name does not exist; the zone's SOA and proofs.
    NxDomain(&'a Denial, u32),
    /// The name has no data of the type.
    NoData(&'a Denial, u32),
}

/// The cache.
pub struct Cache {
    shards: Box<[Mutex<Shard>]>,
    /// The random seed of the shard choice.
    seed: u64,
    policy: CachePolicy,
    /// Moved by every flush (see [`Cache::generation`]).
    flushes: AtomicU64,
}

#[derive(Default)]
struct Shard {
    entries: HashMap<Box<[u8]>, Entry>,
    /// Keys in insertion order, for eviction.
    order: VecDeque<Box<[u8]>>,
    bytes: usize,
    stats: CacheStats,
}

struct Entry {
    value: Value,
    expires: Instant,
    trust: Trust,
    security: Security,
    weight: usize,
    /// Read since eviction last passed it: it gets a second chance. A `Cell` so that a
    /// read needs one shared lookup (the shard's lock is held).
    referenced: Cell<bool>,
}

#[derive(Clone)]
enum Value {
    Set(Arc<RrSet>),
    NxDomain(Arc<Denial>),
    NoData(Arc<Denial>),
    Zone(ZoneStatus),
}

/// Octets a key adds to the name: the type and the kind.
const KEY_SUFFIX: usize = 3;

/// The key of `name` and `kind`: the name's wire form, the type, then 0 for a type's
/// entry or 1 for NXDOMAIN. Built on the stack.
fn key_into(buf: &mut [u8; 255 + KEY_SUFFIX], name: &[u8], kind: KeyKind) -> usize {
    let len = name.len().min(255);
    buf[..len].copy_from_slice(&name[..len]);
    let (rtype, marker) = match kind {
        KeyKind::Type(rtype) => (rtype, 0),
        KeyKind::NxDomain => (0, 1),
        KeyKind::Zone => (0, 2),
    };
    buf[len..len + 2].copy_from_slice(&rtype.to_be_bytes());
    buf[len + 2] = marker;
    len + KEY_SUFFIX
}

impl Cache {
    /// An empty cache.
    pub fn new(policy: CachePolicy) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            seed: RandomState::new().hash_one(0x0061_6e79_6e73_u64) | 1,
            policy,
            flushes: AtomicU64::new(0),
        }
    }

    /// A number that moves whenever data is forgotten before its time (a flush): copies
    /// of answers made from the cache (a UDP worker's answer cache) are good while it
    /// stays, up to their own TTLs.
    pub fn generation(&self) -> u64 {
        self.flushes.load(Ordering::Acquire)
    }

    /// The bounds it keeps to.
    pub fn policy(&self) -> &CachePolicy {
        &self.policy
    }

    /// Its counters.
    pub fn stats(&self) -> CacheStats {
        self.shards
            .iter()
            .fold(CacheStats::default(), |sum, shard| {
                let stats = shard
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .stats;
                CacheStats {
                    hits: sum.hits + stats.hits,
                    misses: sum.misses + stats.misses,
                    evictions: sum.evictions + stats.evictions,
                }
            })
    }

    /// The shard holding every key of `name` (chosen by the name alone, so a lookup that
    /// falls back from a type to the name's NXDOMAIN takes one lock). A cheap multiplicative
    /// hash under a random seed: crafted names could only crowd one shard's lock, never a
    /// map (each shard's map keeps std's SipHash).
    fn shard(&self, name: &[u8]) -> MutexGuard<'_, Shard> {
        let mut hash = self.seed;
        for chunk in name.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            hash = (hash ^ u64::from_le_bytes(word))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(29);
        }
        let index = (hash >> 32) as usize % SHARDS;
        // A thread that panicked while holding a shard left it consistent (no invariant
        // spans two statements that can panic); keep serving from it.
        self.shards[index]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What is known of `name` (lowercased wire form) and `rtype` at `now`: the RRset, a
    /// NODATA for the type, or an NXDOMAIN for the name.
    pub fn get(&self, now: Instant, name: &[u8], rtype: u16) -> Option<Cached> {
        self.get_trusted(now, name, rtype, Trust::Glue)
    }

    /// [`Self::get`], counting only data of at least `trust`: what answers a client must
    /// have come from an answer (RFC 2181 §5.4.1: glue and the parent's NS records are
    /// for finding servers, not for answering).
    pub fn get_trusted(
        &self,
        now: Instant,
        name: &[u8],
        rtype: u16,
        trust: Trust,
    ) -> Option<Cached> {
        self.get_checked(now, name, rtype, trust)
            .map(|(cached, _)| cached)
    }

    /// [`Self::get_trusted`] with the data's security status.
    pub fn get_checked(
        &self,
        now: Instant,
        name: &[u8],
        rtype: u16,
        trust: Trust,
    ) -> Option<(Cached, Security)> {
        self.visit(now, name, rtype, trust, |found, security| {
            let cached = match found {
                CachedRef::Set(set, ttl) => Cached::Set(Arc::new(set.clone()), ttl),
                CachedRef::NxDomain(denial, ttl) => Cached::NxDomain(Arc::new(denial.clone()), ttl),
                CachedRef::NoData(denial, ttl) => Cached::NoData(Arc::new(denial.clone()), ttl),
            };
            (cached, security)
        })
    }

    /// What validation found out about `zone`'s place in the chain of trust, if known
    /// and unexpired.
    pub fn zone_status(&self, now: Instant, zone: &[u8]) -> Option<ZoneStatus> {
        let mut buf = [0u8; 255 + KEY_SUFFIX];
        let len = key_into(&mut buf, zone, KeyKind::Zone);
        let shard = self.shard(zone);
        let entry = shard.entries.get(&buf[..len])?;
        match entry.value {
            Value::Zone(status) if entry.expires > now => Some(status),
            _ => None,
        }
    }

    /// Keeps `zone`'s place in the chain of trust for `ttl` seconds (bogus ones at most
    /// [`BOGUS_TTL`]).
    pub fn set_zone_status(&self, now: Instant, zone: &[u8], status: ZoneStatus, ttl: u32) {
        let ttl = if status == ZoneStatus::Bogus {
            ttl.min(BOGUS_TTL)
        } else {
            ttl
        };
        let Some(ttl) = self.clamp(ttl, self.policy.max_ttl) else {
            return;
        };
        let weight = zone.len();
        let value = Value::Zone(status);
        self.store(
            now,
            zone,
            KeyKind::Zone,
            value,
            ttl,
            Trust::Authoritative,
            weight,
        );
    }

    /// Records what validation concluded about the entry of `name` and `rtype` (`None`:
    /// the name's NXDOMAIN). Bogus data is kept at most [`BOGUS_TTL`] more seconds.
    pub fn set_security(&self, now: Instant, name: &[u8], rtype: Option<u16>, security: Security) {
        let mut buf = [0u8; 255 + KEY_SUFFIX];
        let kind = rtype.map_or(KeyKind::NxDomain, KeyKind::Type);
        let len = key_into(&mut buf, name, kind);
        let mut shard = self.shard(name);
        if let Some(entry) = shard.entries.get_mut(&buf[..len]) {
            entry.security = security;
            if security == Security::Bogus {
                let limit = now + Duration::from_secs(u64::from(BOGUS_TTL));
                entry.expires = entry.expires.min(limit);
            }
        }
    }

    /// Calls `f` with what is known of `name` and `rtype` (data of at least `trust`),
    /// under the shard's lock and without copying it: the answer path writes it straight
    /// into the response. `None` when nothing is known.
    pub fn visit<R>(
        &self,
        now: Instant,
        name: &[u8],
        rtype: u16,
        trust: Trust,
        f: impl FnOnce(CachedRef<'_>, Security) -> R,
    ) -> Option<R> {
        self.visit_aged(now, name, rtype, trust, None, f)
    }

    /// [`Self::visit`], also taking data expired less than `stale` ago (serve-stale,
    /// RFC 8767), which comes with [`STALE_ANSWER_TTL`].
    pub fn visit_aged<R>(
        &self,
        now: Instant,
        name: &[u8],
        rtype: u16,
        trust: Trust,
        stale: Option<Duration>,
        f: impl FnOnce(CachedRef<'_>, Security) -> R,
    ) -> Option<R> {
        let mut buf = [0u8; 255 + KEY_SUFFIX];
        let mut shard = self.shard(name);
        let Shard { entries, stats, .. } = &mut *shard;
        for kind in [KeyKind::Type(rtype), KeyKind::NxDomain] {
            let len = key_into(&mut buf, name, kind);
            let Some(entry) = entries.get(&buf[..len]) else {
                continue;
            };
            // An expired entry stays until eviction passes it or new data replaces it:
            // removing it here would queue its key twice once re-inserted.
            if entry.trust < trust {
                continue;
            }
            let ttl = match entry.expires.checked_duration_since(now) {
                // Round up: a set with 0.4 s left is still valid, and a TTL of 0 would not
                // be cached by the receiver.
                Some(left) => u32::try_from(left.as_millis().div_ceil(1000)).unwrap_or(u32::MAX),
                None if stale.is_some_and(|window| {
                    now.saturating_duration_since(entry.expires) <= window
                }) =>
                {
                    STALE_ANSWER_TTL
                }
                None => continue,
            };
            entry.referenced.set(true);
            stats.hits += 1;
            let found = match &entry.value {
                Value::Set(set) => CachedRef::Set(set, ttl),
                Value::NxDomain(denial) => CachedRef::NxDomain(denial, ttl),
                Value::NoData(denial) => CachedRef::NoData(denial, ttl),
                Value::Zone(_) => continue,
            };
            return Some(f(found, entry.security));
        }
        stats.misses += 1;
        None
    }

    /// Keeps `set` for its TTL (bounded by the policy) unless data of a higher [`Trust`]
    /// is already kept. Returns whether it was stored. A TTL of 0 is not kept (RFC 1035
    /// §3.2.1: use it only for the transaction in progress).
    pub fn insert(&self, now: Instant, set: RrSet, trust: Trust) -> bool {
        let Some(ttl) = self.clamp(crate::rrset::sane_ttl(set.ttl), self.policy.max_ttl) else {
            return false;
        };
        let (name, rtype, weight) = (set.owner.clone(), set.rtype, set.weight());
        self.store(
            now,
            &name,
            KeyKind::Type(rtype),
            Value::Set(Arc::new(set)),
            ttl,
            trust,
            weight,
        )
    }

    /// Keeps a negative answer (RFC 2308 §5): for the SOA's TTL or its MINIMUM, whichever
    /// is lower, bounded by the policy; without an SOA it is not kept (§5: "negative
    /// responses without SOA records SHOULD NOT be cached").
    pub fn insert_negative(&self, now: Instant, negative: Negative, trust: Trust) -> bool {
        let Some(soa) = &negative.soa else {
            return false;
        };
        let minimum = soa
            .rdatas
            .first()
            .and_then(|r| r.get(r.len().checked_sub(4)?..))
            .map_or(0, |m| u32::from_be_bytes([m[0], m[1], m[2], m[3]]));
        let Some(ttl) = self.clamp(soa.ttl.min(minimum), self.policy.max_negative_ttl) else {
            return false;
        };
        let denial = Denial {
            soa: negative.soa,
            proof: negative.proof,
        };
        let weight = denial.weight() + negative.name.len();
        let denial = Arc::new(denial);
        let (kind, value) = if negative.nxdomain {
            (KeyKind::NxDomain, Value::NxDomain(denial))
        } else {
            (KeyKind::Type(negative.rtype), Value::NoData(denial))
        };
        self.store(now, &negative.name, kind, value, ttl, trust, weight)
    }

    fn clamp(&self, ttl: u32, max: u32) -> Option<u32> {
        let ttl = ttl.max(self.policy.min_ttl).min(max);
        (ttl > 0).then_some(ttl)
    }

    #[allow(clippy::too_many_arguments)]
    fn store(
        &self,
        now: Instant,
        name: &[u8],
        kind: KeyKind,
        value: Value,
        ttl: u32,
        trust: Trust,
        weight: usize,
    ) -> bool {
        if name.len() > 255 {
            return false;
        }
        let mut buf = [0u8; 255 + KEY_SUFFIX];
        let len = key_into(&mut buf, name, kind);
        let key = &buf[..len];
        let budget = self.policy.max_bytes / SHARDS;
        let weight = weight + 2 * len;
        let mut shard = self.shard(name);
        if let Some(old) = shard.entries.get(key) {
            if old.trust > trust && old.expires > now {
                return false;
            }
        }
        let entry = Entry {
            value,
            expires: now + Duration::from_secs(u64::from(ttl)),
            trust,
            security: Security::Unchecked,
            weight,
            referenced: Cell::new(false),
        };
        match shard.entries.insert(key.into(), entry) {
            Some(old) => shard.bytes -= old.weight,
            None => shard.order.push_back(key.into()),
        }
        if shard.order.len() > 2 * shard.entries.len() + 64 {
            // Keys of entries flushed or evicted elsewhere: drop them from the queue.
            let Shard { entries, order, .. } = &mut *shard;
            order.retain(|key| entries.contains_key(key));
        }
        shard.bytes += weight;
        let evicted = shard.evict_to(budget, now);
        shard.stats.evictions += evicted;
        true
    }

    /// Entries and bytes held now.
    pub fn size(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(entries, bytes), shard| {
            let shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (entries + shard.entries.len(), bytes + shard.bytes)
        })
    }

    /// Forgets `name` (every type), or everything at and below it when `subtree`; the root
    /// with `subtree` empties the cache. Returns how many entries went.
    pub fn flush(&self, name: &[u8], subtree: bool) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let before = shard.entries.len();
            let mut freed = 0;
            shard.entries.retain(|key, entry| {
                let owner = &key[..key.len() - KEY_SUFFIX];
                let hit = if subtree {
                    is_at_or_below(owner, name)
                } else {
                    owner == name
                };
                if hit {
                    freed += entry.weight;
                }
                !hit
            });
            shard.bytes -= freed;
            removed += before - shard.entries.len();
            let Shard { entries, order, .. } = &mut *shard;
            order.retain(|key| entries.contains_key(key));
        }
        // Moved after the data went: a copy stored under the old number is dropped when
        // its owner next reads this; one made under the new number cannot hold it.
        self.flushes.fetch_add(1, Ordering::AcqRel);
        removed
    }
}

impl Shard {
    /// Evicts until the shard holds at most `budget` octets; returns how many went for
    /// space (expired entries met on the way are dropped too and not counted).
    fn evict_to(&mut self, budget: usize, now: Instant) -> u64 {
        let mut evicted = 0;
        // Every entry is passed at most twice (once to clear its mark).
        let mut steps = 2 * self.order.len();
        while self.bytes > budget && steps > 0 {
            steps -= 1;
            let Some(key) = self.order.pop_front() else {
                break;
            };
            let Some(entry) = self.entries.get_mut(&key) else {
                continue;
            };
            if entry.referenced.get() && entry.expires > now {
                entry.referenced.set(false);
                self.order.push_back(key);
                continue;
            }
            if entry.expires > now {
                evicted += 1;
            }
            let weight = entry.weight;
            self.entries.remove(&key);
            self.bytes -= weight;
        }
        evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)]
    fn start() -> Instant {
        Instant::now()
    }

    fn a(owner: &[u8], ttl: u32, last: u8) -> RrSet {
        RrSet {
            owner: owner.to_vec(),
            rtype: 1,
            class: 1,
            ttl,
            rdatas: vec![vec![192, 0, 2, last]],
            sigs: Vec::new(),
        }
    }

    fn soa(ttl: u32, minimum: u32) -> RrSet {
        let mut rdata = b"\x02ns\x00\x04host\x00".to_vec();
        rdata.extend_from_slice(&[0; 16]);
        rdata.extend_from_slice(&minimum.to_be_bytes());
        RrSet {
            owner: b"\x07example\x00".to_vec(),
            rtype: 6,
            class: 1,
            ttl,
            rdatas: vec![rdata],
            sigs: Vec::new(),
        }
    }

    #[test]
    fn ttls_count_down_and_expire() {
        let cache = Cache::new(CachePolicy::default());
        let now = start();
        assert!(cache.insert(now, a(b"\x01a\x00", 300, 1), Trust::Authoritative));
        let later = now + Duration::from_secs(100);
        match cache.get(later, b"\x01a\x00", 1) {
            Some(Cached::Set(set, ttl)) => {
                assert_eq!(set.rdatas[0], [192, 0, 2, 1]);
                assert_eq!(ttl, 200);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            cache.get(now + Duration::from_secs(301), b"\x01a\x00", 1),
            None
        );
        assert!(!cache.insert(now, a(b"\x01z\x00", 0, 1), Trust::Authoritative));
        // Re-fetched data replaces the expired entry without queueing its key twice.
        let later = now + Duration::from_secs(400);
        for round in 0..100 {
            let at = later + Duration::from_secs(400 * round);
            assert_eq!(cache.get(at, b"\x01a\x00", 1), None);
            assert!(cache.insert(at, a(b"\x01a\x00", 300, 1), Trust::Authoritative));
        }
        assert_eq!(cache.size().0, 1);
        let queued: usize = cache
            .shards
            .iter()
            .map(|s| s.lock().unwrap().order.len())
            .sum();
        assert_eq!(queued, 1);
    }

    #[test]
    fn ttl_bounds_apply() {
        let policy = CachePolicy {
            min_ttl: 60,
            max_ttl: 3600,
            ..CachePolicy::default()
        };
        let cache = Cache::new(policy);
        let now = start();
        cache.insert(now, a(b"\x01a\x00", 5, 1), Trust::Authoritative);
        cache.insert(now, a(b"\x01b\x00", 999_999, 1), Trust::Authoritative);
        assert!(matches!(
            cache.get(now, b"\x01a\x00", 1),
            Some(Cached::Set(_, 60))
        ));
        assert!(matches!(
            cache.get(now, b"\x01b\x00", 1),
            Some(Cached::Set(_, 3600))
        ));
    }

    #[test]
    fn lower_trust_does_not_replace_higher() {
        let cache = Cache::new(CachePolicy::default());
        let now = start();
        cache.insert(now, a(b"\x02ns\x00", 300, 1), Trust::Authoritative);
        assert!(!cache.insert(now, a(b"\x02ns\x00", 300, 66), Trust::Glue));
        assert!(
            matches!(cache.get(now, b"\x02ns\x00", 1), Some(Cached::Set(s, _)) if s.rdatas[0][3] == 1)
        );
        assert!(cache.insert(now, a(b"\x02ns\x00", 300, 2), Trust::Authoritative));
    }

    #[test]
    fn test_2308_5_negative_ttl_is_the_lower_of_soa_ttl_and_minimum() {
        let cache = Cache::new(CachePolicy::default());
        let now = start();
        let nx = Negative {
            name: b"\x04gone\x07example\x00".to_vec(),
            rtype: 1,
            nxdomain: true,
            soa: Some(soa(3600, 60)),
            proof: Vec::new(),
        };
        assert!(cache.insert_negative(now, nx, Trust::Authoritative));
        // NXDOMAIN covers every type of the name.
        match cache.get(now, b"\x04gone\x07example\x00", 16) {
            Some(Cached::NxDomain(denial, 60)) => assert_eq!(denial.soa.as_ref().unwrap().rtype, 6),
            other => panic!("{other:?}"),
        }
        let nodata = Negative {
            name: b"\x07example\x00".to_vec(),
            rtype: 28,
            nxdomain: false,
            soa: Some(soa(30, 600)),
            proof: Vec::new(),
        };
        cache.insert_negative(now, nodata, Trust::Authoritative);
        assert!(matches!(
            cache.get(now, b"\x07example\x00", 28),
            Some(Cached::NoData(_, 30))
        ));
        assert_eq!(cache.get(now, b"\x07example\x00", 1), None);
        // A NODATA for type 0 (a client can ask for it) is not an NXDOMAIN for the name.
        let type0 = Negative {
            name: b"\x03www\x07example\x00".to_vec(),
            rtype: 0,
            nxdomain: false,
            soa: Some(soa(300, 300)),
            proof: Vec::new(),
        };
        cache.insert_negative(now, type0, Trust::Authoritative);
        assert_eq!(cache.get(now, b"\x03www\x07example\x00", 1), None);
        let without_soa = Negative {
            name: b"\x01x\x00".to_vec(),
            rtype: 1,
            nxdomain: true,
            soa: None,
            proof: Vec::new(),
        };
        assert!(!cache.insert_negative(now, without_soa, Trust::Authoritative));
    }

    #[test]
    fn the_byte_budget_holds_and_read_entries_stay_longer() {
        let policy = CachePolicy {
            max_bytes: 64 * 4096,
            ..CachePolicy::default()
        };
        let cache = Cache::new(policy);
        let now = start();
        let keep = b"\x04keep\x00";
        cache.insert(now, a(keep, 3600, 1), Trust::Authoritative);
        for i in 0..50_000u32 {
            let mut name = vec![8];
            name.extend_from_slice(format!("{i:08}").as_bytes());
            name.push(0);
            cache.insert(now, a(&name, 3600, 1), Trust::Authoritative);
            if i % 8 == 0 {
                // Read often: its second chance keeps it.
                assert!(cache.get(now, keep, 1).is_some(), "evicted at {i}");
            }
        }
        let (entries, bytes) = cache.size();
        assert!(bytes <= policy.max_bytes, "{bytes}");
        assert!(entries > 500 && entries < 50_000, "{entries}");
        assert!(cache.stats().evictions > 40_000);
    }

    #[test]
    fn flush_one_name_or_a_subtree() {
        let cache = Cache::new(CachePolicy::default());
        let now = start();
        cache.insert(
            now,
            a(b"\x01a\x07example\x00", 300, 1),
            Trust::Authoritative,
        );
        cache.insert(
            now,
            a(b"\x01b\x07example\x00", 300, 1),
            Trust::Authoritative,
        );
        cache.insert(now, a(b"\x07example\x00", 300, 1), Trust::Authoritative);
        cache.insert(
            now,
            a(b"\x0aab\x07example\x00", 300, 1),
            Trust::Authoritative,
        );
        assert_eq!(cache.generation(), 0, "inserts keep copies good");
        assert_eq!(cache.flush(b"\x01a\x07example\x00", false), 1);
        assert_eq!(cache.generation(), 1, "a flush ends them");
        assert_eq!(cache.flush(b"\x07example\x00", true), 2);
        assert_eq!(
            cache.size().0,
            1,
            "a label that merely ends in the bytes of the name stays"
        );
        assert_eq!(cache.flush(b"\x00", true), 1);
    }
}
