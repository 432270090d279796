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
use dns_zone::{
    Diff, Zone, decode_journal, decode_snapshot, diff, encode_journal, encode_journal_segments,
};
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
    /// The serial of the snapshot this process last stored (unknown before its first).
    stored_serial: Option<u32>,
    /// How many of the journal's first differences its file holds, and nothing more (a
    /// new version's are then appended; otherwise the file is written whole).
    journal_stored: usize,
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
            stored_serial: None,
            journal_stored: 0,
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
                if let Some((journal, whole)) = read_journal(storage, &zone.origin) {
                    // A torn tail is not appended to: the next write rewrites the file.
                    entry.journal_stored = if whole { journal.len() } else { 0 };
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

    /// Records that `new` replaces `old` (a primary's reload, before `new` serves): their
    /// difference goes to the journal in memory, served to IXFR at once; the returned
    /// write stores it (the caller sends NOTIFY first: the zone file, not the journal, is
    /// a primary's copy).
    /// Nothing is recorded for a zone nobody may transfer (an empty `allow-transfer`): its
    /// journal would serve no one, and computing a difference compares every record.
    /// `difference`: the one the reload read, when it did (then nothing is compared).
    pub(crate) fn record_new_version(
        &self,
        old: &Zone,
        new: &Zone,
        difference: Option<&Diff>,
    ) -> Option<JournalWrite> {
        let transferable = self.with(new.origin(), |e| !e.transfer.allow_transfer.is_empty());
        if transferable != Some(true) {
            return None;
        }
        self.journal_differences(old, new, difference.map(std::slice::from_ref))
    }

    /// [`Self::journal_differences`] and its write at once. Returns whether `new` is now
    /// durable without a snapshot of its own: the journal on disk leads to it from the
    /// snapshot this process last stored.
    pub(crate) fn record_differences(
        &self,
        old: &Zone,
        new: &Zone,
        known: Option<&[Diff]>,
    ) -> bool {
        self.journal_differences(old, new, known)
            .is_some_and(|write| self.store_journal(write))
    }

    /// Appends the difference from `old` to `new` to the journal in memory (bounded) and
    /// returns the write that stores the journal, when storage is configured. `known`:
    /// the differences an IXFR brought, used when they lead from `old` to `new` (computing
    /// them again compares every record of both versions).
    pub(crate) fn journal_differences(
        &self,
        old: &Zone,
        new: &Zone,
        known: Option<&[Diff]>,
    ) -> Option<JournalWrite> {
        if old.serial() == new.serial() {
            return None;
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
            None => vec![diff(old, new)?],
        };
        let origin = new.origin();
        let added = differences.len();
        let write = self.with(origin, |entry| {
            let journal = Arc::make_mut(&mut entry.journal);
            // A journal that does not lead to `old` is useless for IXFR from now on.
            if journal
                .last()
                .is_some_and(|d| d.to_serial() != old.serial())
            {
                journal.clear();
                entry.journal_stored = 0;
            }
            let kept = journal.len();
            journal.extend(differences);
            let dropped = bound_journal(journal, JOURNAL_LIMIT, new.record_count());
            let from_store = entry
                .stored_serial
                .and_then(|serial| chain_from(journal, serial))
                .is_some_and(|chain| chain.last().is_some_and(|d| d.to_serial() == new.serial()));
            let storage = self.storage.as_ref()?;
            // The file holds exactly the differences before these: append them.
            let append = dropped == 0 && kept > 0 && entry.journal_stored == kept;
            let bytes = if append {
                encode_journal_segments(&journal[kept..])
            } else {
                encode_journal(journal)
            };
            Some(JournalWrite {
                path: storage::path_for(storage, origin, storage::JOURNAL),
                origin: origin.to_vec(),
                bytes,
                append,
                holds: journal.len(),
                from_store,
            })
        });
        info!(zone = %dns_wire::name_to_text(origin), from = old.serial(), to = new.serial(), differences = added, "journal updated");
        write.flatten()
    }

    /// Stores a journal write (appended to the file, or the file written whole); returns
    /// whether the new version is then durable without a snapshot of its own.
    pub(crate) fn store_journal(&self, write: JournalWrite) -> bool {
        let written = if write.append {
            storage::append_durably(&write.path, &write.bytes)
        } else {
            storage::write_atomically(&write.path, &write.bytes)
        };
        // After a failure the file's end is unknown (a torn append): written whole next.
        let holds = if written.is_ok() { write.holds } else { 0 };
        self.with(&write.origin, |e| e.journal_stored = holds);
        match written {
            Ok(()) => write.from_store,
            Err(err) => {
                warn!(file = %write.path.display(), "cannot store journal: {err}");
                false
            }
        }
    }

    /// Stores the snapshot of a received zone; it must succeed before the zone is served.
    pub(crate) fn store_snapshot(&self, zone: &Zone) -> std::io::Result<()> {
        let prepared = self.prepare_snapshot(zone.origin(), &dns_zone::encode_snapshot(zone))?;
        self.commit_snapshot(prepared, zone)
    }

    /// The slow half of [`Self::store_snapshot`] for a snapshot already encoded (written
    /// as a transfer arrived): written and synced beside its place, while the zone is
    /// built.
    pub(crate) fn prepare_snapshot(
        &self,
        origin: &[u8],
        bytes: &[u8],
    ) -> std::io::Result<storage::Prepared> {
        let Some(storage) = &self.storage else {
            return Err(std::io::Error::other("no storage directory configured"));
        };
        storage::prepare(
            &storage::path_for(storage, origin, storage::SNAPSHOT),
            bytes,
        )
    }

    /// Puts `prepared`, the snapshot of `zone`, in place.
    pub(crate) fn commit_snapshot(
        &self,
        prepared: storage::Prepared,
        zone: &Zone,
    ) -> std::io::Result<()> {
        prepared.commit()?;
        self.with(zone.origin(), |e| e.stored_serial = Some(zone.serial()));
        Ok(())
    }
}

/// A journal to store (see [`Transfers::journal_differences`] and
/// [`Transfers::store_journal`]).
#[must_use = "the journal is only in memory until stored"]
pub(crate) struct JournalWrite {
    path: PathBuf,
    origin: Vec<u8>,
    bytes: Vec<u8>,
    /// `bytes` are segments to append, not a whole file.
    append: bool,
    /// How many differences the file holds once written.
    holds: usize,
    /// The journal leads from the stored snapshot to the new version.
    from_store: bool,
}

/// The part of `journal` that leads on from `serial`: from its last difference starting
/// there, when each difference starts where the one before ends.
fn chain_from(journal: &[Diff], serial: u32) -> Option<&[Diff]> {
    let start = journal.iter().rposition(|d| d.from_serial() == serial)?;
    let chain = &journal[start..];
    chain
        .windows(2)
        .all(|w| w[0].to_serial() == w[1].from_serial())
        .then_some(chain)
}

/// The stored copy of a secondary zone brought up to date: its snapshot with the stored
/// journal's differences after it applied (a version received by IXFR is made durable by
/// the journal first; its snapshot is written after it serves).
pub(crate) fn load_stored(storage: &Path, origin: &[u8]) -> Option<Zone> {
    let zone = load_snapshot(storage, origin)?;
    let Some((journal, _)) = read_journal(storage, origin) else {
        return Some(zone);
    };
    let Some(chain) = chain_from(&journal, zone.serial()) else {
        return Some(zone);
    };
    match dns_zone::apply(&zone, chain) {
        Ok((newer, _)) => {
            info!(zone = %dns_wire::name_to_text(origin), snapshot = zone.serial(), serial = newer.serial(), "stored journal applied to the stored copy");
            Some(newer)
        }
        Err(err) => {
            warn!(zone = %dns_wire::name_to_text(origin), "stored journal does not apply to the stored copy: {err}");
            Some(zone)
        }
    }
}

/// The stored snapshot of a secondary zone, if any and valid.
fn load_snapshot(storage: &Path, origin: &[u8]) -> Option<Zone> {
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

/// The stored journal of `origin`, if any and valid, and whether the file held nothing
/// more (no torn or corrupt tail).
fn read_journal(storage: &Path, origin: &[u8]) -> Option<(Vec<Diff>, bool)> {
    let path = storage::path_for(storage, origin, storage::JOURNAL);
    match std::fs::read(&path) {
        Ok(bytes) => match decode_journal(&bytes) {
            Ok((journal, whole)) => {
                if !whole {
                    warn!(file = %path.display(), differences = journal.len(), "journal ends in a torn or corrupt segment; kept what precedes it");
                }
                Some((journal, whole))
            }
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
fn bound_journal(journal: &mut Vec<Diff>, max_diffs: usize, zone_records: usize) -> usize {
    let before = journal.len();
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
    before - journal.len()
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

    fn version(serial: u32, www: &str) -> Zone {
        let text = format!(
            "$ORIGIN example.\n@ 300 SOA ns hm {serial} 2 3 4 60\n@ NS ns\nns A 192.0.2.1\n\
             www A {www}\n"
        );
        dns_zone::load_zone_str(&text, b"\x07example\x00")
            .unwrap()
            .0
    }

    #[test]
    fn a_reload_is_journaled_only_for_a_zone_someone_may_transfer() {
        let primary = |allow: &str| {
            let config = Config::from_toml(
                &format!(
                    "[[listen]]\naddress = \"127.0.0.1:5353\"\n[[zone]]\nname = \"example.\"\n\
                     file = \"example.zone\"\n{allow}"
                ),
                Path::new("."),
            )
            .unwrap();
            Transfers::new(&config).0
        };
        let (v1, v2) = (version(1, "192.0.2.10"), version(2, "192.0.2.11"));
        let closed = primary("");
        assert!(closed.record_new_version(&v1, &v2, None).is_none());
        assert!(closed.journal(b"\x07example\x00").is_empty());
        let open = primary("allow-transfer = [\"192.0.2.0/24\"]\n");
        open.record_new_version(&v1, &v2, None);
        assert_eq!(open.journal(b"\x07example\x00").len(), 1);
    }

    fn secondary_with_storage(storage: &Path) -> Transfers {
        let config = Config::from_toml(
            &format!(
                "[server]\nstorage = \"{}\"\n[[listen]]\naddress = \"127.0.0.1:5353\"\n\
                 [[zone]]\nname = \"example.\"\nprimaries = [\"127.0.0.1:5354\"]\n",
                storage.display()
            ),
            Path::new("."),
        )
        .unwrap();
        Transfers::new(&config).0
    }

    #[test]
    fn a_journal_leading_on_from_the_stored_snapshot_makes_a_version_durable() {
        let dir = tempfile::tempdir().unwrap();
        let transfers = secondary_with_storage(dir.path());
        let (v1, v2, v3) = (
            version(1, "192.0.2.2"),
            version(2, "192.0.2.3"),
            version(3, "192.0.2.4"),
        );
        let d12 = [diff(&v1, &v2).unwrap()];
        // Without a stored snapshot this process knows of, the journal proves nothing.
        assert!(!transfers.record_differences(&v1, &v2, Some(&d12)));
        transfers.store_snapshot(&v2).unwrap();
        let d23 = [diff(&v2, &v3).unwrap()];
        assert!(transfers.record_differences(&v2, &v3, Some(&d23)));
        // A start-up now serves version 3: the snapshot (2) and the journal's 2 -> 3.
        assert_eq!(
            load_stored(dir.path(), b"\x07example\x00")
                .unwrap()
                .serial(),
            3
        );
        // With the snapshot of 3 stored, the journal no longer leads anywhere new.
        transfers.store_snapshot(&v3).unwrap();
        assert_eq!(
            load_stored(dir.path(), b"\x07example\x00")
                .unwrap()
                .serial(),
            3
        );
    }

    #[test]
    fn a_stored_journal_that_does_not_fit_leaves_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let transfers = secondary_with_storage(dir.path());
        let origin = b"\x07example\x00";
        let (v1, v2, v3) = (
            version(1, "192.0.2.2"),
            version(2, "192.0.2.3"),
            version(3, "192.0.2.4"),
        );
        transfers.store_snapshot(&v1).unwrap();
        // A journal starting elsewhere (2 -> 3) does not apply to snapshot 1.
        transfers.record_differences(&v2, &v3, Some(&[diff(&v2, &v3).unwrap()]));
        assert_eq!(load_stored(dir.path(), origin).unwrap().serial(), 1);
        // A journal that leads from 1 but removes what 1 does not have is refused whole.
        let mut wrong = diff(&v1, &v2).unwrap();
        wrong.removed = diff(&v2, &v3).unwrap().removed;
        let path = storage::path_for(dir.path(), origin, storage::JOURNAL);
        storage::write_atomically(&path, &encode_journal(&[wrong])).unwrap();
        assert_eq!(load_stored(dir.path(), origin).unwrap().serial(), 1);
        // A corrupt journal too.
        std::fs::write(&path, b"not a journal").unwrap();
        assert_eq!(load_stored(dir.path(), origin).unwrap().serial(), 1);
    }

    #[test]
    fn a_new_version_is_appended_to_the_journal_file_and_a_torn_file_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let origin = b"\x07example\x00";
        let path = storage::path_for(dir.path(), origin, storage::JOURNAL);
        // Names beside the changed one, so that the journal's bound (the zone's size)
        // keeps every difference.
        let others: String = (0..20)
            .map(|i| format!("n{i} A 198.51.100.{i}\n"))
            .collect();
        let versions: Vec<Zone> = (1..=4)
            .map(|serial| {
                let text = format!(
                    "$ORIGIN example.\n@ 300 SOA ns hm {serial} 2 3 4 60\n@ NS ns\n\
                     ns A 192.0.2.1\nwww A 192.0.2.{serial}\n{others}"
                );
                dns_zone::load_zone_str(&text, origin).unwrap().0
            })
            .collect();
        let step = |n: usize| [diff(&versions[n], &versions[n + 1]).unwrap()];
        let transfers = secondary_with_storage(dir.path());
        transfers.store_snapshot(&versions[0]).unwrap();
        assert!(transfers.record_differences(&versions[0], &versions[1], Some(&step(0))));
        let first = std::fs::read(&path).unwrap();
        let inode = || std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());
        let first_inode = inode();
        assert!(transfers.record_differences(&versions[1], &versions[2], Some(&step(1))));
        let both = std::fs::read(&path).unwrap();
        assert!(
            both.starts_with(&first),
            "the first difference's octets stay in place"
        );
        assert_eq!(
            inode(),
            first_inode,
            "appended to the same file, not replaced"
        );
        assert_eq!(both, encode_journal(&[step(0), step(1)].concat()));

        // A crash in an append leaves a torn tail: a restart keeps what precedes it and
        // writes the file whole at the next version.
        let mut torn = both;
        torn.extend_from_slice(&[0, 0, 1]);
        std::fs::write(&path, &torn).unwrap();
        let restarted = secondary_with_storage(dir.path());
        assert_eq!(restarted.journal(origin).len(), 2);
        restarted.record_differences(&versions[2], &versions[3], Some(&step(2)));
        assert_ne!(
            inode(),
            first_inode,
            "written whole (a new file renamed over)"
        );
        let whole = encode_journal(&[step(0), step(1), step(2)].concat());
        assert_eq!(std::fs::read(&path).unwrap(), whole);
    }
}
