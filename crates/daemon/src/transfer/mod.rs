//! Zone transfers in the daemon (issue 4): serving AXFR/IXFR on unicast listeners, NOTIFY in
//! and out, secondaries refreshing from their primaries over the unicast address, and the
//! files that make received zones survive a restart.
//!
//! ```text
//!  primary reload ─► journal (diff old→new) ─► NOTIFY secondaries (from the unicast address)
//!  NOTIFY in (UDP/TCP) ─► ACL ─► secondary task ─► Refresh FSM (dns-auth) ─► SOA query,
//!      IXFR/AXFR over TCP from the unicast address ─► snapshot written ─► swapped in ─► journal
//!  AXFR/IXFR in (TCP) ─► listener allows transfers? ACL? ─► XfrResponse messages
//! ```
//! The protocol logic (messages, transfer reading, refresh timers) is in `dns-auth` and
//! `dns-zone`; this module does the I/O and the policy.

pub(crate) mod acl;
mod catalog;
pub(crate) mod config;
pub(crate) mod lag;
mod notify;
mod secondary;
mod storage;
mod xfr_out;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use dns_zone::{Diff, Zone, decode_journal, decode_snapshot, diff, encode_journal};
use tokio::sync::mpsc;
use tracing::{info, warn};

pub(crate) use catalog::produce_catalogs;
pub(crate) use notify::{handle_notify, is_notify, send_notifies};
pub(crate) use secondary::spawn_secondaries;
pub(crate) use xfr_out::{is_transfer, serve_transfer};

use crate::config::{Config, ZoneConfig};
use config::ZoneTransfer;

/// Differences kept per zone for IXFR (older ones fall back to AXFR).
const JOURNAL_LIMIT: usize = 64;

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

/// Transfer state shared by every listener and task.
pub(crate) struct Transfers {
    /// Transfer settings per zone; catalog consumers add and remove member zones at run time.
    zones: RwLock<HashMap<Vec<u8>, ZoneTransfer>>,
    /// Shared with IXFRs being served: a new version copies the list only while one is.
    journals: Mutex<HashMap<Vec<u8>, Arc<Vec<Diff>>>>,
    /// Each secondary's NOTIFY channel; dropping a sender ends that zone's task.
    notify_senders: Mutex<HashMap<Vec<u8>, mpsc::UnboundedSender<Option<u32>>>>,
    /// The members each consumed catalog currently provides.
    catalog_members: Mutex<HashMap<Vec<u8>, Vec<Vec<u8>>>>,
    storage: Option<PathBuf>,
    /// Every configured TSIG key, for verifying what peers sign.
    keys: Vec<dns_tsig::Key>,
    /// How far each secondary zone lags its primary (read by the health probes).
    lags: Mutex<lag::Lags>,
}

/// Seconds since the epoch, for TSIG.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Why a request's signature was not accepted.
#[derive(Debug)]
pub(crate) struct Unverified {
    /// For the log.
    pub(crate) why: String,
    /// The TSIG error to answer with, when the failure is the signature itself (not the
    /// zone's policy).
    pub(crate) tsig_error: Option<dns_tsig::TsigError>,
}

/// What a request's TSIG said, under the zone's policy.
pub(crate) enum Signed {
    /// Unsigned, and the zone does not require a key.
    No,
    /// Signed with this key (the zone's, when it has one); the response is signed too.
    With(dns_tsig::ResponseSigner),
}

/// The receiving ends of each secondary's NOTIFY channel, for [`spawn_secondaries`].
pub(crate) type NotifyReceivers = Vec<(ZoneConfig, mpsc::UnboundedReceiver<Option<u32>>)>;

impl Transfers {
    /// Transfer state for `config`, with the journals found in storage.
    pub(crate) fn new(config: &Config) -> (Self, NotifyReceivers) {
        let mut notify_senders = HashMap::new();
        let mut receivers = Vec::new();
        for zone in config.zones.iter().filter(|z| z.transfer.is_secondary()) {
            let (sender, receiver) = mpsc::unbounded_channel();
            notify_senders.insert(zone.origin.clone(), sender);
            receivers.push((zone.clone(), receiver));
        }
        let mut journals = HashMap::new();
        if let Some(storage) = &config.storage {
            for zone in &config.zones {
                let path = storage::path_for(storage, &zone.origin, ".journal");
                match std::fs::read(&path) {
                    Ok(bytes) => match decode_journal(&bytes) {
                        Ok(journal) => {
                            journals.insert(zone.origin.clone(), Arc::new(journal));
                        }
                        Err(err) => warn!(file = %path.display(), "journal ignored: {err}"),
                    },
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => warn!(file = %path.display(), "journal unreadable: {err}"),
                }
            }
        }
        let zones = config
            .zones
            .iter()
            .map(|z| (z.origin.clone(), z.transfer.clone()))
            .collect();
        let transfers = Self {
            zones: RwLock::new(zones),
            journals: Mutex::new(journals),
            notify_senders: Mutex::new(notify_senders),
            catalog_members: Mutex::new(HashMap::new()),
            storage: config.storage.clone(),
            keys: config.keys.clone(),
            lags: Mutex::new(lag::Lags::default()),
        };
        (transfers, receivers)
    }

    /// Checks a request's TSIG against the keys and the policy of zone `origin`: a zone with
    /// a key accepts only requests signed with it.
    pub(crate) fn check_signature(&self, msg: &[u8], origin: &[u8]) -> Result<Signed, Unverified> {
        let verified =
            dns_tsig::verify_request(msg, &self.keys, unix_now()).map_err(|e| Unverified {
                why: e.to_string(),
                tsig_error: Some(e),
            })?;
        let zone = self.zone(origin);
        let required = zone.as_ref().and_then(|z| z.key.as_ref());
        let refused = |why: String| Unverified {
            why,
            tsig_error: None,
        };
        match (verified, required) {
            (None, None) => Ok(Signed::No),
            (None, Some(key)) => Err(refused(format!(
                "unsigned, but the zone requires key {key:?}"
            ))),
            (Some((key, _)), Some(required)) if key != required => Err(refused(format!(
                "signed with {key:?}, but the zone requires {required:?}"
            ))),
            (Some((key, mac)), _) => Ok(Signed::With(dns_tsig::ResponseSigner::new(
                key.clone(),
                mac,
            ))),
        }
    }

    /// Appends the TSIG record of an error answer to `response` (RFC 8945 §5.3.2: BADKEY
    /// and BADSIG unsigned, BADTIME signed) when the request failed for a TSIG reason.
    pub(crate) fn append_tsig_error(
        &self,
        response: &mut Vec<u8>,
        request: &[u8],
        why: &Unverified,
    ) {
        if let Some(error) = why.tsig_error {
            dns_tsig::append_error_tsig(response, request, &self.keys, error, unix_now());
        }
    }

    /// The transfer settings of the zone `origin`.
    pub(crate) fn zone(&self, origin: &[u8]) -> Option<ZoneTransfer> {
        self.zones
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(origin)
            .cloned()
    }

    /// The NOTIFY channel of secondary zone `origin`.
    pub(crate) fn notify_sender(
        &self,
        origin: &[u8],
    ) -> Option<mpsc::UnboundedSender<Option<u32>>> {
        let senders = self
            .notify_senders
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        senders.get(origin).cloned()
    }

    /// Adds a secondary zone at run time (a catalog member); returns its NOTIFY receiver,
    /// or `None` when a zone of that name is already configured.
    pub(crate) fn add_secondary(
        &self,
        origin: &[u8],
        transfer: ZoneTransfer,
    ) -> Option<mpsc::UnboundedReceiver<Option<u32>>> {
        let mut zones = self.zones.write().unwrap_or_else(|e| e.into_inner());
        if zones.contains_key(origin) {
            return None;
        }
        zones.insert(origin.to_vec(), transfer);
        let (sender, receiver) = mpsc::unbounded_channel();
        self.notify_senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(origin.to_vec(), sender);
        Some(receiver)
    }

    /// Removes a zone added at run time: its task ends, its stored files are deleted.
    pub(crate) fn remove_secondary(&self, origin: &[u8]) {
        self.zones
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(origin);
        self.notify_senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(origin);
        self.lags
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .forget(origin);
        self.journals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(origin);
        if let Some(storage) = &self.storage {
            for suffix in [".zone.snapshot", ".journal"] {
                let _ = std::fs::remove_file(storage::path_for(storage, origin, suffix));
            }
        }
    }

    /// The primary of `origin` has at least serial `known` (a NOTIFY or an SOA answer);
    /// this site serves `served`.
    pub(crate) fn learnt_serial(&self, origin: &[u8], known: u32, served: Option<u32>) {
        self.lags.lock().unwrap_or_else(|e| e.into_inner()).learnt(
            origin,
            known,
            served,
            std::time::Instant::now(),
        );
    }

    /// This site now serves serial `served` of `origin`.
    pub(crate) fn serving_serial(&self, origin: &[u8], served: u32) {
        self.lags
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .served(origin, served);
    }

    /// Whether `origin` has lagged its primary for longer than `bound`.
    pub(crate) fn is_stale(&self, origin: &[u8], bound: std::time::Duration) -> bool {
        self.lags
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_stale(origin, bound, std::time::Instant::now())
    }

    /// Every zone lagging its primary: (origin, newest known serial, for how long).
    pub(crate) fn lags(&self) -> Vec<(Vec<u8>, u32, std::time::Duration)> {
        self.lags
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .all(std::time::Instant::now())
    }

    /// The storage directory.
    pub(crate) fn storage(&self) -> Option<&std::path::Path> {
        self.storage.as_deref()
    }

    /// The journal of `origin` (a shared reference, for one IXFR).
    pub(crate) fn journal(&self, origin: &[u8]) -> Arc<Vec<Diff>> {
        let journals = self.journals.lock().unwrap_or_else(|e| e.into_inner());
        journals.get(origin).cloned().unwrap_or_default()
    }

    /// Records that `new` replaced `old`: appends their difference to the journal (bounded)
    /// and stores the journal when storage is configured.
    pub(crate) fn record_new_version(&self, old: &Zone, new: &Zone) {
        if old.serial() == new.serial() {
            return;
        }
        let Some(difference) = diff(old, new) else {
            return;
        };
        let origin = new.origin().to_vec();
        let encoded = {
            let mut journals = self.journals.lock().unwrap_or_else(|e| e.into_inner());
            let journal = Arc::make_mut(journals.entry(origin.clone()).or_default());
            // A journal that does not lead to `old` is useless for IXFR from now on.
            if journal
                .last()
                .is_some_and(|d| d.to_serial() != old.serial())
            {
                journal.clear();
            }
            journal.push(difference);
            bound_journal(journal, JOURNAL_LIMIT, new.record_count());
            self.storage.as_ref().map(|_| encode_journal(journal))
        };
        if let (Some(storage), Some(bytes)) = (&self.storage, encoded) {
            let path = storage::path_for(storage, &origin, ".journal");
            if let Err(err) = storage::write_atomically(&path, &bytes) {
                warn!(file = %path.display(), "cannot store journal: {err}");
            }
        }
        info!(zone = %dns_wire::name_to_text(&origin), from = old.serial(), to = new.serial(), "journal updated");
    }

    /// Stores the snapshot of a received zone; it must succeed before the zone is served.
    pub(crate) fn store_snapshot(&self, zone: &Zone) -> std::io::Result<()> {
        let Some(storage) = &self.storage else {
            return Err(std::io::Error::other("no storage directory configured"));
        };
        let path = storage::path_for(storage, zone.origin(), ".zone.snapshot");
        storage::write_atomically(&path, &dns_zone::encode_snapshot(zone))
    }

    /// The stored copy of a secondary zone, if any and valid.
    pub(crate) fn load_snapshot(storage: &std::path::Path, origin: &[u8]) -> Option<Zone> {
        let path = storage::path_for(storage, origin, ".zone.snapshot");
        let bytes = std::fs::read(&path).ok()?;
        match decode_snapshot(&bytes, origin) {
            Ok((zone, _)) => Some(zone),
            Err(err) => {
                warn!(file = %path.display(), "stored zone ignored: {err}");
                None
            }
        }
    }
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
