//! One task per secondary zone: drives `dns_auth::secondary::Refresh` and performs what it
//! asks — SOA queries over UDP and IXFR/AXFR over TCP, always from the zone's unicast source
//! address — then stores the received zone before serving it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use dns_auth::client::{ResponseError, Transferred, XfrReader, read_soa_response, request};
use dns_auth::secondary::{Refresh, RefreshAction, SoaTimers};
use dns_wire::types::rtype;
use dns_zone::{Zone, apply, zone_from_records};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, sleep_until, timeout};
use tracing::{error, info, warn};

use super::catalog::{self, MemberChange};
use super::error::TransferError;
use super::notify;
use super::outbound::{connect_from, udp_socket};
use super::state::{NotifyReceiver, NotifyReceivers, Poke, TransferResult, Transfers};
use super::storage;
use crate::clock::{self, unix_now};
use crate::config::{CatalogRole, ZoneConfig, ZoneTransfer};
use crate::dns::framing;
use crate::outbound::next_id;
use crate::state::ZoneStore;

/// Timers used until the first SOA is known: RFC 1912 §2.2-like values, but a short RETRY
/// so a secondary that starts before its primary gets the zone within seconds.
const DEFAULT_TIMERS: SoaTimers = SoaTimers {
    refresh: Duration::from_secs(3600),
    retry: Duration::from_secs(5),
    expire: Duration::from_secs(7 * 24 * 3600),
};
/// Each SOA query waits this long per primary.
const SOA_TIMEOUT: Duration = Duration::from_secs(2);
/// Silence allowed between two messages of a transfer.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the refresh tasks share: the serving zones and the transfer state.
#[derive(Clone)]
pub(crate) struct Secondaries {
    pub(crate) zones: Arc<ZoneStore>,
    pub(crate) transfers: Arc<Transfers>,
}

/// Starts the refresh task of every secondary zone.
pub(crate) fn spawn_secondaries(secondaries: &Secondaries, receivers: NotifyReceivers) {
    for (zone, notifications) in receivers {
        // A consumed catalog served from storage brings its members back at once.
        if zone.catalog == Some(CatalogRole::Consumer) {
            if let Some(catalog) = secondaries.zones.get(&zone.origin) {
                apply_catalog(secondaries, &zone, &catalog);
            }
        }
        spawn_one(secondaries, zone, notifications);
    }
}

/// Starts the refresh task of one secondary zone.
fn spawn_one(secondaries: &Secondaries, zone: ZoneConfig, notifications: NotifyReceiver) {
    let secondaries = secondaries.clone();
    tokio::spawn(async move { run(secondaries, zone, notifications).await });
}

/// Makes the member zones of `catalog` (consumed as `config`) match its current content:
/// the catalog module decides the change, this starts and stops the members' tasks.
fn apply_catalog(secondaries: &Secondaries, config: &ZoneConfig, catalog: &Zone) {
    let Secondaries { zones, transfers } = secondaries;
    for change in catalog::reconcile(transfers, config, catalog) {
        match change {
            MemberChange::Added {
                member,
                notifications,
            } => {
                if let Some(stored) = transfers
                    .storage()
                    .and_then(|s| super::state::load_stored(s, &member.origin))
                {
                    zones.insert(Arc::new(stored));
                }
                spawn_one(secondaries, *member, notifications);
            }
            MemberChange::Removed { origin } => {
                transfers.remove_secondary(&origin);
                zones.remove(&origin);
            }
        }
    }
}

async fn run(secondaries: Secondaries, zone: ZoneConfig, mut notifications: NotifyReceiver) {
    let Secondaries { zones, transfers } = &secondaries;
    let origin = zone.origin.clone();
    let name = dns_wire::name_to_text(&origin);
    let serving = zones.get(&origin).map(|z| (z.serial(), timers_of(&z)));
    let mut refresh = Refresh::new(clock::now(), serving, DEFAULT_TIMERS);
    loop {
        refresh.handle_timeout(clock::now());
        while let Some(action) = refresh.poll_action() {
            let outcome = match action {
                RefreshAction::QuerySoa => match query_soa(&zone.transfer, &origin).await {
                    Ok(serial) => {
                        transfers.learnt_serial(&origin, serial, zones.serial(&origin));
                        refresh.handle_soa(clock::now(), serial);
                        Ok(format!("primary has serial {serial}"))
                    }
                    Err(err) => {
                        warn!(zone = %name, "SOA query failed: {err}");
                        refresh.handle_failure(clock::now());
                        Err(format!("SOA query failed: {err}"))
                    }
                },
                RefreshAction::Transfer { incremental } => {
                    match transfer(&secondaries, &zone, incremental).await {
                        Ok(new) => {
                            transfers.serving_serial(&origin, new.serial());
                            refresh.handle_transferred(clock::now(), new.serial(), timers_of(&new));
                            Ok(format!("serving serial {}", new.serial()))
                        }
                        Err(err) => {
                            transfers.count(TransferResult::InFailed);
                            warn!(zone = %name, "transfer failed: {err}; the current version keeps serving");
                            refresh.handle_failure(clock::now());
                            Err(format!("transfer failed: {err}"))
                        }
                    }
                }
                RefreshAction::Expired => {
                    error!(zone = %name, "zone expired: no successful refresh within EXPIRE; answering SERVFAIL");
                    zones.set_expired(&origin, true);
                    Err("expired: no successful refresh within EXPIRE".to_string())
                }
            };
            transfers.update_refresh(&origin, |view| {
                let now = unix_now();
                view.last_attempt = Some(now);
                if outcome.is_ok() {
                    view.last_success = Some(now);
                }
                view.last_result = Some(outcome.unwrap_or_else(|e| e));
            });
        }
        transfers.update_refresh(&origin, |view| {
            view.next_check = refresh.next_check();
            view.expire_at = refresh.expire_at();
        });
        let wake = refresh.poll_timeout().map(Instant::from_std);
        tokio::select! {
            poked = notifications.recv() => match poked {
                Some(Poke::Notify(serial)) => {
                    if let Some(serial) = serial {
                        transfers.learnt_serial(&origin, serial, zones.serial(&origin));
                    }
                    refresh.handle_notify(clock::now(), serial);
                }
                Some(Poke::Retransfer) => {
                    if refresh.force_transfer() {
                        info!(zone = %name, "operator: full transfer");
                    } else {
                        info!(zone = %name, "operator: full transfer asked while a refresh runs; it goes on");
                    }
                }
                None => return,
            },
            () = async { match wake { Some(at) => sleep_until(at).await, None => std::future::pending().await } } => {}
        }
    }
}

fn timers_of(zone: &Zone) -> SoaTimers {
    zone.soa()
        .and_then(|soa| SoaTimers::from_soa(soa.first()))
        .unwrap_or(DEFAULT_TIMERS)
}

/// Asks each primary in turn for its SOA serial: over UDP, then, when that brings no
/// usable answer (no answer, TC, a firewall that passes only TCP), over TCP.
async fn query_soa(zone: &ZoneTransfer, origin: &[u8]) -> Result<u32, TransferError> {
    let mut last_error = TransferError::NoPrimaries;
    for &primary in &zone.primaries {
        let key = zone.key.as_ref();
        let udp_error = match query_soa_udp(zone.source, key, origin, primary).await {
            Ok(serial) => return Ok(serial),
            Err(err) => err,
        };
        match query_soa_tcp(zone.source, key, origin, primary).await {
            Ok(serial) => {
                info!(zone = %dns_wire::name_to_text(origin), %primary, %udp_error, "SOA answered over TCP");
                return Ok(serial);
            }
            Err(tcp_error) => {
                last_error = TransferError::OverBothTransports {
                    udp: Box::new(udp_error),
                    tcp: Box::new(tcp_error),
                }
                .at(primary);
            }
        }
    }
    Err(last_error)
}

/// A request for `origin`, TSIG-signed with `key` if any; returns the verifier of the
/// response.
fn signed_request(
    id: u16,
    origin: &[u8],
    qtype: u16,
    soa: Option<&dns_wire::Record>,
    key: Option<&dns_tsig::Key>,
    msg: &mut Vec<u8>,
) -> Option<dns_tsig::ResponseVerifier> {
    request(id, origin, qtype, false, soa, msg);
    key.map(|key| {
        let mac = dns_tsig::sign_request(msg, key, unix_now());
        dns_tsig::ResponseVerifier::new(key.clone(), mac)
    })
}

/// Verifies a response's TSIG when the request was signed.
fn verify(
    verifier: &mut Option<dns_tsig::ResponseVerifier>,
    msg: &[u8],
) -> Result<(), TransferError> {
    match verifier {
        Some(verifier) => verifier
            .verify(msg, unix_now())
            .map_err(TransferError::Tsig),
        None => Ok(()),
    }
}

/// The peer closed the connection before the message `what` waited for.
fn closed(what: &'static str) -> TransferError {
    TransferError::Io(what, std::io::ErrorKind::UnexpectedEof.into())
}

/// The SOA query over TCP (RFC 7766: any query may use TCP).
async fn query_soa_tcp(
    source: Option<IpAddr>,
    key: Option<&dns_tsig::Key>,
    origin: &[u8],
    primary: SocketAddr,
) -> Result<u32, TransferError> {
    let mut stream = connect_from(source, primary).await?;
    let id = next_id();
    let mut msg = Vec::new();
    let mut verifier = signed_request(id, origin, rtype::SOA, None, key, &mut msg);
    framing::write_message(&mut stream, &msg, &mut Vec::new())
        .await
        .map_err(|e| TransferError::Io("send", e))?;
    let mut answer = Vec::new();
    let len = timeout(SOA_TIMEOUT, framing::read_message(&mut stream, &mut answer))
        .await
        .map_err(|_| TransferError::TimedOut("SOA query"))?
        .map_err(|e| TransferError::Io("receive", e))?
        .ok_or_else(|| closed("receive"))?;
    verify(&mut verifier, &answer[..len])?;
    Ok(read_soa_response(&answer[..len], id, origin)?)
}

async fn query_soa_udp(
    source: Option<IpAddr>,
    key: Option<&dns_tsig::Key>,
    origin: &[u8],
    primary: SocketAddr,
) -> Result<u32, TransferError> {
    let socket = udp_socket(source, primary)
        .await
        .map_err(TransferError::BindSource)?;
    let id = next_id();
    let mut msg = Vec::new();
    let mut verifier = signed_request(id, origin, rtype::SOA, None, key, &mut msg);
    socket
        .send_to(&msg, primary)
        .await
        .map_err(|e| TransferError::Io("send", e))?;
    let mut buf = vec![0u8; 4096];
    let deadline = Instant::now() + SOA_TIMEOUT;
    loop {
        let (len, from) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf))
            .await
            .map_err(|_| TransferError::TimedOut("SOA query"))?
            .map_err(|e| TransferError::Io("receive", e))?;
        if from != primary {
            continue;
        }
        match read_soa_response(&buf[..len], id, origin) {
            Err(ResponseError::Mismatch) => continue,
            other => {
                verify(&mut verifier, &buf[..len])?;
                return Ok(other?);
            }
        }
    }
}

/// Transfers the zone from the first primary that serves it, stores it, swaps it in.
async fn transfer(
    secondaries: &Secondaries,
    zone: &ZoneConfig,
    incremental: bool,
) -> Result<Arc<Zone>, TransferError> {
    let Secondaries { zones, transfers } = secondaries;
    let origin = &zone.origin;
    let name = dns_wire::name_to_text(origin);
    let current = zones.get(origin);
    let mut last_error = TransferError::NoPrimaries;
    for &primary in &zone.transfer.primaries {
        let started = Instant::now();
        let ask_ixfr = incremental && current.is_some();
        // A whole zone's snapshot is written as it arrives, to be stored while it builds.
        let snapshot_size = transfers
            .storage()
            .map(|_| current.as_ref().map_or(0, |z| z.heap_size()));
        let fetched = fetch(
            &zone.transfer,
            origin,
            primary,
            current.as_deref().filter(|_| ask_ixfr),
            snapshot_size,
        )
        .await;
        let fetched_at = Instant::now();
        let transferred = match fetched {
            Ok(t) => t,
            Err(err) => {
                last_error = err.at(primary);
                continue;
            }
        };
        let (kind, result) = match &transferred {
            Transferred::UpToDate => ("up to date", TransferResult::InUpToDate),
            Transferred::Full(_) | Transferred::Streamed(..) => ("AXFR", TransferResult::InFull),
            Transferred::Incremental(_) => ("IXFR", TransferResult::InIncremental),
        };
        let mut received = None;
        let mut prepared = None;
        let built = match transferred {
            Transferred::UpToDate => match &current {
                Some(zone) => {
                    transfers.count(result);
                    return Ok(zone.clone());
                }
                None => Err(TransferError::UpToDateWithoutCopy),
            },
            Transferred::Full(records) => zone_from_records(origin, &records)
                .map(|(z, _)| z)
                .map_err(TransferError::Rejected),
            Transferred::Streamed(builder, snapshot) => {
                // The snapshot goes to disk on another thread while the zone is built (the
                // slowest two steps of a cold start, side by side); it is put in place only
                // if the zone builds.
                prepared = snapshot.map(|bytes| {
                    let (transfers, origin) = (transfers.clone(), origin.clone());
                    tokio::task::spawn_blocking(move || transfers.prepare_snapshot(&origin, &bytes))
                });
                builder
                    .finish()
                    .map(|(z, _)| z)
                    .map_err(TransferError::Rejected)
            }
            Transferred::Incremental(diffs) => match &current {
                Some(zone) => {
                    let applied = apply(zone, &diffs)
                        .map(|(z, _)| z)
                        .map_err(TransferError::Rejected);
                    received = Some(diffs);
                    applied
                }
                None => Err(TransferError::IncrementalWithoutCopy),
            },
        };
        let new = match built {
            Ok(new) => Arc::new(new),
            Err(err) => {
                last_error = err.at(primary);
                continue;
            }
        };
        let built_at = Instant::now();
        // Nothing lost: the zone is on disk before it is served (docs/design.md principle
        // 6). Differences received by IXFR go to the journal first: when it leads to the
        // new version from the stored snapshot, that is enough (a start-up applies it), and
        // the snapshot follows after serving; otherwise the snapshot is stored first.
        let (journaled, recorded) = match (&current, &received) {
            (Some(old), Some(_)) => (
                transfers.record_differences(old, &new, received.as_deref()),
                true,
            ),
            _ => (false, false),
        };
        if !journaled {
            match prepared.take() {
                Some(writing) => commit_snapshot(transfers, writing, &new).await?,
                None => store_snapshot(transfers, &new).await?,
            }
        }
        if transfers.zone(origin).is_none() {
            return Err(TransferError::RemovedFromCatalog);
        }
        zones.insert(new.clone());
        let served_at = Instant::now();
        // Logged as soon as the version is served (what follows only shortens later
        // transfers or start-ups), so the log never lags what the listeners answer.
        let ms = |from: Instant, to: Instant| to.duration_since(from).as_millis() as u64;
        info!(
            zone = %name, %primary, kind, tls = zone.transfer.tls.is_some(), serial = new.serial(),
            records = new.record_count(), ms = started.elapsed().as_millis() as u64,
            fetch_ms = ms(started, fetched_at), build_ms = ms(fetched_at, built_at),
            store_ms = ms(built_at, served_at), journaled,
            "zone transferred and serving"
        );
        if journaled {
            if let Err(err) = store_snapshot(transfers, &new).await {
                warn!(zone = %name, "snapshot not stored (the journal holds this version): {err}");
            }
        } else if let Some(old) = current.as_ref().filter(|_| !recorded) {
            // For IXFR to our own secondaries (after serving: the snapshot above made the
            // version durable; the journal only shortens their transfers).
            transfers.record_differences(old, &new, received.as_deref());
        }
        notify::send_notifies(transfers, origin, new.soa_record());
        if zone.catalog == Some(CatalogRole::Consumer) {
            apply_catalog(secondaries, zone, &new);
        }
        transfers.count(result);
        return Ok(new);
    }
    Err(last_error)
}

/// Puts the snapshot written while `zone` was built in place (off the async threads); if
/// writing it failed, stores the snapshot of `zone` the usual way.
async fn commit_snapshot(
    transfers: &Arc<Transfers>,
    writing: tokio::task::JoinHandle<std::io::Result<storage::Prepared>>,
    zone: &Arc<Zone>,
) -> Result<(), TransferError> {
    let prepared = match writing.await {
        Ok(Ok(prepared)) => prepared,
        Ok(Err(err)) => {
            warn!(zone = %dns_wire::name_to_text(zone.origin()), "snapshot written during the transfer failed, writing it again: {err}");
            return store_snapshot(transfers, zone).await;
        }
        Err(err) => return Err(TransferError::Store(std::io::Error::other(err))),
    };
    let (transfers, zone) = (transfers.clone(), zone.clone());
    match tokio::task::spawn_blocking(move || transfers.commit_snapshot(prepared, &zone)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(TransferError::Store(err)),
        Err(err) => Err(TransferError::Store(std::io::Error::other(err))),
    }
}

/// Stores the snapshot of a received zone, off the async threads.
async fn store_snapshot(transfers: &Arc<Transfers>, zone: &Arc<Zone>) -> Result<(), TransferError> {
    let (transfers, zone) = (transfers.clone(), zone.clone());
    match tokio::task::spawn_blocking(move || transfers.store_snapshot(&zone)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(TransferError::Store(err)),
        Err(err) => Err(TransferError::Store(std::io::Error::other(err))),
    }
}

/// Runs one AXFR (or IXFR from `current`) exchange with `primary` over TCP, or over TLS
/// to its TLS port when the zone has `transfer-tls` (XoT).
async fn fetch(
    transfer: &ZoneTransfer,
    origin: &[u8],
    primary: SocketAddr,
    current: Option<&Zone>,
    snapshot_size: Option<usize>,
) -> Result<Transferred, TransferError> {
    let key = transfer.key.as_ref();
    match &transfer.tls {
        Some(tls) => {
            let address = SocketAddr::new(primary.ip(), tls.port);
            let stream = connect_from(transfer.source, address).await?;
            let stream = super::xot::connect(stream, address, tls).await?;
            fetch_over(stream, key, origin, current, snapshot_size).await
        }
        None => {
            let stream = connect_from(transfer.source, primary).await?;
            fetch_over(stream, key, origin, current, snapshot_size).await
        }
    }
}

/// The transfer exchange over an open connection.
async fn fetch_over<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    key: Option<&dns_tsig::Key>,
    origin: &[u8],
    current: Option<&Zone>,
    snapshot_size: Option<usize>,
) -> Result<Transferred, TransferError> {
    let id = next_id();
    let mut msg = Vec::new();
    let soa = current.and_then(Zone::soa_record);
    let qtype = if soa.is_some() {
        rtype::IXFR
    } else {
        rtype::AXFR
    };
    let mut verifier = signed_request(id, origin, qtype, soa.as_ref(), key, &mut msg);
    framing::write_message(&mut stream, &msg, &mut Vec::new())
        .await
        .map_err(|e| TransferError::Io("send", e))?;
    // A whole zone goes into the zone builder as it arrives (no record kept twice), and
    // into its snapshot when `snapshot_size` is given.
    let mut reader = XfrReader::streaming(id, origin);
    if let Some(size) = snapshot_size {
        reader = reader.keeping_snapshot(size);
    }
    let mut buf = vec![0u8; framing::MAX_MESSAGE];
    while !reader.is_done() {
        let len = timeout(
            MESSAGE_TIMEOUT,
            framing::read_message(&mut stream, &mut buf),
        )
        .await
        .map_err(|_| TransferError::TimedOut("transfer"))?
        .map_err(|e| TransferError::Io("transfer cut", e))?
        .ok_or_else(|| closed("transfer cut"))?;
        verify(&mut verifier, &buf[..len])?;
        reader.handle_message(&buf[..len])?;
    }
    if let Some(verifier) = &verifier {
        verifier.finish().map_err(TransferError::UnsignedEnd)?;
    }
    Ok(reader.finish()?)
}
