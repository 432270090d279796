//! Transfer state, one entry per zone: its transfer settings, its IXFR journal, its
//! secondary task's NOTIFY channel, the members it provides (a consumed catalog) and its
//! lag behind the primary. Listeners, secondary tasks, the health checks and the metrics
//! read and write it through [`Transfers`]; the files it keeps are written through
//! `storage`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dns_auth::lag::LagTracker;
use dns_zone::{Diff, Zone, decode_journal, decode_snapshot, diff, encode_journal};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::storage;
use super::tsig::{self, Signed, Unverified};
use crate::clock;
use crate::config::{Config, ZoneConfig, ZoneTransfer};

/// Differences kept per zone for IXFR (older ones fall back to AXFR).
const JOURNAL_LIMIT: usize = 64;

/// What wakes a secondary zone's refresh task besides its timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Poke {
    /// A NOTIFY (with its serial when it carried one), or an operator's refresh: check the
    /// primary's SOA now.
    Notify(Option<u32>),
    /// An operator's retransfer: a full transfer now, whatever the serials say.
    Retransfer,
}

/// A secondary task's wake-up channel.
pub(crate) type NotifySender = mpsc::UnboundedSender<Poke>;
/// The receiving end, held by the zone's refresh task.
pub(crate) type NotifyReceiver = mpsc::UnboundedReceiver<Poke>;

/// What a secondary zone's refresh task last did and will do next, for the operator.
#[derive(Clone, Debug, Default)]
pub(crate) struct RefreshView {
    /// When the primary was last asked (SOA query or transfer), as Unix seconds.
    pub(crate) last_attempt: Option<u64>,
    /// When an attempt last succeeded, as Unix seconds.
    pub(crate) last_success: Option<u64>,
    /// The last attempt's outcome: "up to date", "transferred serial N", or the error.
    pub(crate) last_result: Option<String>,
    /// The serial the primary last showed (SOA answer or NOTIFY).
    pub(crate) primary_serial: Option<u32>,
    /// When the next SOA check is due (none while one runs).
    pub(crate) next_check: Option<std::time::Instant>,
    /// When the zone expires without a successful refresh.
    pub(crate) expire_at: Option<std::time::Instant>,
}
/// The receiving ends of each configured secondary's NOTIFY channel.
pub(crate) type NotifyReceivers = Vec<(ZoneConfig, NotifyReceiver)>;

/// What is known of one zone.
struct Entry {
    transfer: ZoneTransfer,
    /// Shared with IXFRs being served: a new version copies the list only while one is.
    journal: Arc<Vec<Diff>>,
    /// A secondary's NOTIFY channel; dropping it ends the zone's task.
    notify: Option<NotifySender>,
    /// The members a consumed catalog currently provides.
    members: Vec<Vec<u8>>,
    lag: LagTracker,
    refresh: RefreshView,
}

impl Entry {
    fn new(transfer: ZoneTransfer, notify: Option<NotifySender>) -> Self {
        Self {
            transfer,
            journal: Arc::default(),
            notify,
            members: Vec::new(),
            lag: LagTracker::default(),
            refresh: RefreshView::default(),
        }
    }
}

/// What a transfer ended with, for the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransferResult {
    /// Received: a whole zone.
    InFull,
    /// Received: differences.
    InIncremental,
    /// Received: the primary had nothing newer.
    InUpToDate,
    /// Receiving failed (the served version stays).
    InFailed,
    /// Served: a whole zone.
    OutFull,
    /// Served: differences (or "up to date").
    OutIncremental,
    /// Refused to a peer.
    OutRefused,
}

impl TransferResult {
    /// Every result, with its metric labels (direction, result).
    pub(crate) const ALL: [(Self, &'static str, &'static str); 7] = [
        (Self::InFull, "in", "axfr"),
        (Self::InIncremental, "in", "ixfr"),
        (Self::InUpToDate, "in", "up-to-date"),
        (Self::InFailed, "in", "failed"),
        (Self::OutFull, "out", "axfr"),
        (Self::OutIncremental, "out", "ixfr"),
        (Self::OutRefused, "out", "refused"),
    ];
}

/// Transfer state shared by every listener and task.
pub(crate) struct Transfers {
    /// Transfers by result, indexed like [`TransferResult::ALL`].
    results: [std::sync::atomic::AtomicU64; 7],
    /// One entry per zone; catalog consumers add and remove member zones at run time.
    zones: Mutex<HashMap<Vec<u8>, Entry>>,
    storage: Option<PathBuf>,
    /// Every configured TSIG key, for verifying what peers sign.
    keys: Vec<dns_tsig::Key>,
}

impl Transfers {
    /// Transfer state for `config`, with the journals found in storage.
    pub(crate) fn new(config: &Config) -> (Self, NotifyReceivers) {
        let mut zones = HashMap::new();
        let mut receivers = Vec::new();
        for zone in &config.zones {
            let notify = zone.transfer.is_secondary().then(|| {
                let (sender, receiver) = mpsc::unbounded_channel();
                receivers.push((zone.clone(), receiver));
                sender
            });
            let mut entry = Entry::new(zone.transfer.clone(), notify);
            if let Some(storage) = &config.storage {
                if let Some(journal) = read_journal(storage, &zone.origin) {
                    entry.journal = Arc::new(journal);
                }
            }
            zones.insert(zone.origin.clone(), entry);
        }
        let transfers = Self {
            results: Default::default(),
            zones: Mutex::new(zones),
            storage: config.storage.clone(),
            keys: config.keys.clone(),
        };
        (transfers, receivers)
    }

    /// Counts a transfer's end.
    pub(crate) fn count(&self, result: TransferResult) {
        let index = TransferResult::ALL
            .iter()
            .position(|(r, ..)| *r == result)
            .unwrap_or(0);
        self.results[index].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Transfers by result: (direction, result, count).
    pub(crate) fn results(&self) -> Vec<(&'static str, &'static str, u64)> {
        TransferResult::ALL
            .iter()
            .zip(&self.results)
            .map(|((_, direction, result), n)| {
                (
                    *direction,
                    *result,
                    n.load(std::sync::atomic::Ordering::Relaxed),
                )
            })
            .collect()
    }

    /// Runs `f` on the entry of `origin`, if any.
    fn with<T>(&self, origin: &[u8], f: impl FnOnce(&mut Entry) -> T) -> Option<T> {
        let mut zones = self.zones.lock().unwrap_or_else(|e| e.into_inner());
        zones.get_mut(origin).map(f)
    }

    /// Checks a request's TSIG against the keys and the policy of zone `origin`: a zone with
    /// a key accepts only requests signed with it.
    pub(crate) fn check_signature(&self, msg: &[u8], origin: &[u8]) -> Result<Signed, Unverified> {
        let required = self.with(origin, |e| e.transfer.key.clone()).flatten();
        tsig::check_signature(msg, &self.keys, required.as_ref())
    }

    /// Checks an ordinary query's TSIG against the configured keys (no zone requires one
    /// for queries): RFC 8945 §5.2 asks a server to verify every signed request.
    pub(crate) fn check_query_signature(&self, msg: &[u8]) -> Result<Signed, Unverified> {
        tsig::check_signature(msg, &self.keys, None)
    }

    /// Appends the TSIG record of an error answer (RFC 8945 §5.3.2) when the request
    /// failed for a TSIG reason.
    pub(crate) fn append_tsig_error(
        &self,
        response: &mut Vec<u8>,
        request: &[u8],
        why: &Unverified,
    ) {
        tsig::append_error(response, request, &self.keys, why);
    }

    /// The transfer settings of the zone `origin`.
    pub(crate) fn zone(&self, origin: &[u8]) -> Option<ZoneTransfer> {
        self.with(origin, |e| e.transfer.clone())
    }

    /// Every zone configured here, catalog members included.
    pub(crate) fn origins(&self) -> Vec<Vec<u8>> {
        let zones = self.zones.lock().unwrap_or_else(|e| e.into_inner());
        zones.keys().cloned().collect()
    }

    /// The NOTIFY channel of secondary zone `origin`.
    pub(crate) fn notify_sender(&self, origin: &[u8]) -> Option<NotifySender> {
        self.with(origin, |e| e.notify.clone()).flatten()
    }

    /// Adds a secondary zone at run time (a catalog member); returns its NOTIFY receiver,
    /// or `None` when a zone of that name is already configured.
    pub(crate) fn add_secondary(
        &self,
        origin: &[u8],
        transfer: ZoneTransfer,
    ) -> Option<NotifyReceiver> {
        let mut zones = self.zones.lock().unwrap_or_else(|e| e.into_inner());
        if zones.contains_key(origin) {
            return None;
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        zones.insert(origin.to_vec(), Entry::new(transfer, Some(sender)));
        Some(receiver)
    }

    /// Removes a zone added at run time: its task ends (its NOTIFY channel closes), its
    /// stored files are deleted.
    pub(crate) fn remove_secondary(&self, origin: &[u8]) {
        self.zones
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(origin);
        if let Some(storage) = &self.storage {
            for suffix in [storage::SNAPSHOT, storage::JOURNAL] {
                let _ = std::fs::remove_file(storage::path_for(storage, origin, suffix));
            }
        }
    }

    /// Records the members catalog `origin` now provides; returns those it provided before.
    pub(crate) fn replace_members(&self, origin: &[u8], members: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        self.with(origin, |e| std::mem::replace(&mut e.members, members))
            .unwrap_or_default()
    }

    /// The primary of `origin` has at least serial `known` (a NOTIFY or an SOA answer);
    /// this site serves `served`.
    pub(crate) fn learnt_serial(&self, origin: &[u8], known: u32, served: Option<u32>) {
        self.with(origin, |e| {
            e.lag.handle_known_serial(known, served, clock::now());
            e.refresh.primary_serial = Some(known);
        });
    }

    /// Updates what the refresh task of `origin` shows the operator.
    pub(crate) fn update_refresh(&self, origin: &[u8], update: impl FnOnce(&mut RefreshView)) {
        self.with(origin, |e| update(&mut e.refresh));
    }

    /// What the refresh task of `origin` last did, with the zone's lag (newest known serial
    /// and for how long), if `origin` is a zone here.
    pub(crate) fn refresh_view(&self, origin: &[u8]) -> Option<(RefreshView, Option<Duration>)> {
        self.with(origin, |e| {
            (e.refresh.clone(), e.lag.lagged_for(clock::now()))
        })
    }

    /// Wakes the refresh task of secondary zone `origin`; `false` when it has none.
    pub(crate) fn poke(&self, origin: &[u8], poke: Poke) -> bool {
        self.notify_sender(origin)
            .is_some_and(|sender| sender.send(poke).is_ok())
    }

    /// This site now serves serial `served` of `origin`.
    pub(crate) fn serving_serial(&self, origin: &[u8], served: u32) {
        self.with(origin, |e| e.lag.handle_served(served));
    }

    /// Whether `origin` has lagged its primary for longer than `bound`.
    pub(crate) fn is_stale(&self, origin: &[u8], bound: Duration) -> bool {
        self.with(origin, |e| e.lag.is_stale(bound, clock::now()))
            .unwrap_or(false)
    }

    /// Every zone lagging its primary: (origin, newest known serial, for how long).
    pub(crate) fn lags(&self) -> Vec<(Vec<u8>, u32, Duration)> {
        let now = clock::now();
        let zones = self.zones.lock().unwrap_or_else(|e| e.into_inner());
        zones
            .iter()
            .filter_map(|(origin, e)| {
                let lag = e.lag.lag()?;
                Some((origin.clone(), lag.known_serial, e.lag.lagged_for(now)?))
            })
            .collect()
    }

    /// The storage directory.
    pub(crate) fn storage(&self) -> Option<&Path> {
        self.storage.as_deref()
    }

    /// The journal of `origin` (a shared reference, for one IXFR).
    pub(crate) fn journal(&self, origin: &[u8]) -> Arc<Vec<Diff>> {
        self.with(origin, |e| e.journal.clone()).unwrap_or_default()
    }

    /// Records that `new` replaced `old`: appends their difference to the journal (bounded)
    /// and stores the journal when storage is configured.
    pub(crate) fn record_new_version(&self, old: &Zone, new: &Zone) {
        self.record_differences(old, new, None);
    }

    /// [`Self::record_new_version`] with the differences already known (an IXFR brought
    /// them), when they lead from `old` to `new`: computing them again compares every
    /// record of both versions (half a second for a million records).
    pub(crate) fn record_differences(&self, old: &Zone, new: &Zone, known: Option<&[Diff]>) {
        if old.serial() == new.serial() {
            return;
        }
        let chained = known.filter(|diffs| {
            diffs
                .first()
                .is_some_and(|d| d.from_serial() == old.serial())
                && diffs.last().is_some_and(|d| d.to_serial() == new.serial())
                && diffs
                    .windows(2)
                    .all(|w| w[0].to_serial() == w[1].from_serial())
        });
        let differences = match chained {
            Some(diffs) => diffs.to_vec(),
            None => match diff(old, new) {
                Some(difference) => vec![difference],
                None => return,
            },
        };
        let origin = new.origin();
        let encoded = self.with(origin, |entry| {
            let journal = Arc::make_mut(&mut entry.journal);
            // A journal that does not lead to `old` is useless for IXFR from now on.
            if journal
                .last()
                .is_some_and(|d| d.to_serial() != old.serial())
            {
                journal.clear();
            }
            journal.extend(differences);
            bound_journal(journal, JOURNAL_LIMIT, new.record_count());
            self.storage.as_ref().map(|_| encode_journal(journal))
        });
        if let (Some(storage), Some(Some(bytes))) = (&self.storage, encoded) {
            let path = storage::path_for(storage, origin, storage::JOURNAL);
            if let Err(err) = storage::write_atomically(&path, &bytes) {
                warn!(file = %path.display(), "cannot store journal: {err}");
            }
        }
        info!(zone = %dns_wire::name_to_text(origin), from = old.serial(), to = new.serial(), "journal updated");
    }

    /// Stores the snapshot of a received zone; it must succeed before the zone is served.
    pub(crate) fn store_snapshot(&self, zone: &Zone) -> std::io::Result<()> {
        let Some(storage) = &self.storage else {
            return Err(std::io::Error::other("no storage directory configured"));
        };
        let path = storage::path_for(storage, zone.origin(), storage::SNAPSHOT);
        storage::write_atomically(&path, &dns_zone::encode_snapshot(zone))
    }
}

/// The stored copy of a secondary zone, if any and valid.
pub(crate) fn load_snapshot(storage: &Path, origin: &[u8]) -> Option<Zone> {
    let path = storage::path_for(storage, origin, storage::SNAPSHOT);
    let bytes = std::fs::read(&path).ok()?;
    match decode_snapshot(&bytes, origin) {
        Ok((zone, _)) => Some(zone),
        Err(err) => {
            warn!(file = %path.display(), "stored zone ignored: {err}");
            None
        }
    }
}

/// The stored journal of `origin`, if any and valid.
fn read_journal(storage: &Path, origin: &[u8]) -> Option<Vec<Diff>> {
    let path = storage::path_for(storage, origin, storage::JOURNAL);
    match std::fs::read(&path) {
        Ok(bytes) => match decode_journal(&bytes) {
            Ok(journal) => Some(journal),
            Err(err) => {
                warn!(file = %path.display(), "journal ignored: {err}");
                None
            }
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => {
            warn!(file = %path.display(), "journal unreadable: {err}");
            None
        }
    }
}

/// Keeps at most `max_diffs` differences and, oldest first, drops those that make the
/// journal hold more records than the zone itself (`zone_records`): an IXFR that large is
/// no cheaper than an AXFR (RFC 1995 §2 lets a server answer with AXFR), and a re-signed
/// zone's difference (every RRSIG out and in) would otherwise keep twice the zone in memory
/// and on disk per version. A client behind the journal gets an AXFR.
fn bound_journal(journal: &mut Vec<Diff>, max_diffs: usize, zone_records: usize) {
    if journal.len() > max_diffs {
        journal.drain(..journal.len() - max_diffs);
    }
    let size = |d: &Diff| d.removed.len() + d.added.len() + 2;
    let mut total: usize = journal.iter().map(size).sum();
    let mut drop = 0;
    while total > zone_records && drop < journal.len() {
        total -= size(&journal[drop]);
        drop += 1;
    }
    journal.drain(..drop);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u8) -> dns_wire::Record {
        dns_wire::Record {
            owner: vec![1, n, 0],
            rtype: 1,
            class: 1,
            ttl: 60,
            rdata: vec![192, 0, 2, n],
        }
    }

    fn diff_of(records: usize) -> Diff {
        Diff {
            old_soa: record(0),
            new_soa: record(0),
            removed: (0..records / 2).map(|i| record(i as u8)).collect(),
            added: (0..records - records / 2)
                .map(|i| record(i as u8))
                .collect(),
        }
    }

    #[test]
    fn journals_are_bounded_by_count_and_by_the_zone_size() {
        // Count: the oldest go first.
        let mut journal: Vec<Diff> = (0..70).map(|_| diff_of(2)).collect();
        bound_journal(&mut journal, 64, 1_000_000);
        assert_eq!(journal.len(), 64);
        // Size: small differences stay while they add up to less than the zone.
        let mut journal = vec![diff_of(10), diff_of(10), diff_of(10)];
        bound_journal(&mut journal, 64, 40);
        assert_eq!(journal.len(), 3, "36 records in a 40-record zone");
        // A re-signed zone (every record out and in) pushes everything out, itself too.
        journal.push(diff_of(80));
        bound_journal(&mut journal, 64, 40);
        assert!(journal.is_empty(), "{} left", journal.len());
    }
}
