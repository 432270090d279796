//! The zones being served: one lock-free snapshot that queries load, replaced whole by the
//! few writers (reload, transfers, catalogs, expiry) through the methods here, so a query
//! never sees half a change and no writer hand-writes a read-copy-update.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::{ArcSwap, Guard};
use dns_zone::{Zone, ZoneSet};

/// Owner of the serving [`ZoneSet`].
pub(crate) struct ZoneStore {
    set: ArcSwap<ZoneSet>,
    /// Moves after every swap: what the answer caches were filled from is then stale.
    generation: AtomicU64,
}

impl ZoneStore {
    /// Serves `set`.
    pub(crate) fn new(set: ZoneSet) -> Self {
        Self {
            set: ArcSwap::from_pointee(set),
            generation: AtomicU64::new(0),
        }
    }

    /// The current set, for one query (lock-free; do not hold it across an await).
    #[inline]
    pub(crate) fn load(&self) -> Guard<Arc<ZoneSet>> {
        self.set.load()
    }

    /// The generation of the zones: read before answering from them, it is older than or
    /// equal to that of the set answered from (it moves after each swap), so an answer
    /// stored under it is never newer than it claims.
    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current set, to keep.
    pub(crate) fn snapshot(&self) -> Arc<ZoneSet> {
        self.set.load_full()
    }

    /// The zone `origin`, if served.
    pub(crate) fn get(&self, origin: &[u8]) -> Option<Arc<Zone>> {
        self.set.load().get(origin).cloned()
    }

    /// The serial served for `origin`, if any.
    pub(crate) fn serial(&self, origin: &[u8]) -> Option<u32> {
        self.set.load().get(origin).map(|z| z.serial())
    }

    /// Serves `zones`, each replacing the zone of its origin, in one swap.
    pub(crate) fn insert_all(&self, zones: &[Arc<Zone>]) {
        self.update(|set| {
            for zone in zones {
                set.insert(zone.clone());
            }
        });
    }

    /// Serves `zone`, replacing the zone of its origin.
    pub(crate) fn insert(&self, zone: Arc<Zone>) {
        self.insert_all(std::slice::from_ref(&zone));
    }

    /// Stops serving `origin`.
    pub(crate) fn remove(&self, origin: &[u8]) {
        self.update(|set| {
            set.remove(origin);
        });
    }

    /// Marks `origin` expired (answered SERVFAIL) or not.
    pub(crate) fn set_expired(&self, origin: &[u8], expired: bool) {
        self.update(|set| {
            set.set_expired(origin, expired);
        });
    }

    /// Applies `change` to a copy of the latest set and swaps it in; retried if another
    /// writer swapped in between, so no writer's change is lost.
    fn update(&self, change: impl Fn(&mut ZoneSet)) {
        self.set.rcu(|latest| {
            let mut set: ZoneSet = (**latest).clone();
            change(&mut set);
            set
        });
        self.generation.fetch_add(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use dns_zone::load_zone_str;

    use super::*;

    fn zone(origin: &str, serial: u32) -> Arc<Zone> {
        let text = format!("$ORIGIN {origin}\n@ 300 SOA ns hm {serial} 2 3 4 60\n@ 300 NS ns\n");
        let wire = dns_wire::name_from_text(origin).unwrap();
        Arc::new(load_zone_str(&text, &wire).unwrap().0)
    }

    #[test]
    fn inserts_replace_and_removals_stop_serving() {
        let store = ZoneStore::new(ZoneSet::new());
        store.insert(zone("example.", 1));
        store.insert_all(&[zone("example.", 2), zone("example.net.", 7)]);
        assert_eq!(store.serial(b"\x07example\x00"), Some(2));
        assert_eq!(store.serial(b"\x07example\x03net\x00"), Some(7));
        let before = store.snapshot();
        store.remove(b"\x07example\x00");
        assert_eq!(store.serial(b"\x07example\x00"), None);
        // A snapshot taken before keeps what it saw.
        assert_eq!(before.get(b"\x07example\x00").map(|z| z.serial()), Some(2));
    }

    #[test]
    fn expiry_is_a_flag_on_the_served_zone() {
        let store = ZoneStore::new(ZoneSet::new());
        store.insert(zone("example.", 1));
        store.set_expired(b"\x07example\x00", true);
        assert!(store.load().is_expired(b"\x07example\x00"));
        store.set_expired(b"\x07example\x00", false);
        assert!(!store.load().is_expired(b"\x07example\x00"));
    }
}
