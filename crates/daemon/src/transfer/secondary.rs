//! One task per secondary zone: drives `dns_auth::secondary::Refresh` and performs what it
//! asks — SOA queries over UDP and IXFR/AXFR over TCP, always from the zone's unicast source
//! address — then stores the received zone before serving it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use dns_auth::client::{Transferred, XfrReader, read_soa_response, request};
use dns_auth::secondary::{Refresh, RefreshAction, SoaTimers};
use dns_wire::types::rtype;
use dns_zone::{Zone, apply, zone_from_records};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until, timeout};
use tracing::{error, info, warn};

use super::NotifyReceivers;
use super::config::ZoneTransfer;
use crate::config::ZoneConfig;
use crate::serve::Shared;

/// Timers used until the first SOA is known: RFC 1912 §2.2-like values, but a short RETRY
/// so a secondary that starts before its primary gets the zone within seconds.
const DEFAULT_TIMERS: SoaTimers = SoaTimers {
    refresh: Duration::from_secs(3600),
    retry: Duration::from_secs(5),
    expire: Duration::from_secs(7 * 24 * 3600),
};
/// Each SOA query waits this long per primary.
const SOA_TIMEOUT: Duration = Duration::from_secs(2);
/// Connecting for a transfer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Silence allowed between two messages of a transfer.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Message IDs for our queries: unpredictable enough to reject stray answers.
pub(super) fn next_id() -> u16 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let seed = std::process::id().wrapping_mul(0x9e37_79b9) ^ n.wrapping_mul(0x85eb_ca6b);
    (seed ^ (seed >> 16)) as u16
}

/// A UDP socket bound to `source` (port chosen by the kernel) for talking to `target`.
pub(super) async fn udp_socket(
    source: Option<IpAddr>,
    target: SocketAddr,
) -> std::io::Result<UdpSocket> {
    UdpSocket::bind(SocketAddr::new(source_for(source, target), 0)).await
}

fn source_for(source: Option<IpAddr>, target: SocketAddr) -> IpAddr {
    match source {
        Some(ip) if ip.is_ipv4() == target.is_ipv4() => ip,
        _ if target.is_ipv4() => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        _ => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// Starts the refresh task of every secondary zone.
pub(crate) fn spawn_secondaries(shared: &Arc<Shared>, receivers: NotifyReceivers) {
    for (zone, notifications) in receivers {
        // A consumed catalog served from storage brings its members back at once.
        if zone.catalog == Some(crate::config::CatalogRole::Consumer) {
            if let Some(catalog) = shared.zones.load().get(&zone.origin).cloned() {
                super::catalog::reconcile(shared, &zone, &catalog);
            }
        }
        spawn_one(shared, zone, notifications);
    }
}

/// Starts the refresh task of one secondary zone.
pub(super) fn spawn_one(
    shared: &Arc<Shared>,
    zone: ZoneConfig,
    notifications: mpsc::UnboundedReceiver<Option<u32>>,
) {
    let shared = shared.clone();
    tokio::spawn(async move { run(shared, zone, notifications).await });
}

async fn run(
    shared: Arc<Shared>,
    zone: ZoneConfig,
    mut notifications: mpsc::UnboundedReceiver<Option<u32>>,
) {
    let origin = zone.origin.clone();
    let name = dns_wire::name_to_text(&origin);
    let serving = shared
        .zones
        .load()
        .get(&origin)
        .cloned()
        .map(|z| (z.serial(), timers_of(&z)));
    let mut refresh = Refresh::new(Instant::now().into_std(), serving, DEFAULT_TIMERS);
    loop {
        refresh.handle_timeout(Instant::now().into_std());
        while let Some(action) = refresh.poll_action() {
            match action {
                RefreshAction::QuerySoa => match query_soa(&zone.transfer, &origin).await {
                    Ok(serial) => {
                        let served = shared.zones.load().get(&origin).map(|z| z.serial());
                        shared.transfers.learnt_serial(&origin, serial, served);
                        refresh.handle_soa(Instant::now().into_std(), serial);
                    }
                    Err(err) => {
                        warn!(zone = %name, "SOA query failed: {err}");
                        refresh.handle_failure(Instant::now().into_std());
                    }
                },
                RefreshAction::Transfer { incremental } => {
                    match transfer(&shared, &zone, incremental).await {
                        Ok(new) => {
                            shared.transfers.serving_serial(&origin, new.serial());
                            let now = Instant::now().into_std();
                            refresh.handle_transferred(now, new.serial(), timers_of(&new));
                        }
                        Err(err) => {
                            warn!(zone = %name, "transfer failed: {err}; the current version keeps serving");
                            refresh.handle_failure(Instant::now().into_std());
                        }
                    }
                }
                RefreshAction::Expired => {
                    error!(zone = %name, "zone expired: no successful refresh within EXPIRE; answering SERVFAIL");
                    set_expired(&shared, &origin, true);
                }
            }
        }
        let wake = refresh.poll_timeout().map(Instant::from_std);
        tokio::select! {
            notified = notifications.recv() => match notified {
                Some(serial) => {
                    if let Some(serial) = serial {
                        let served = shared.zones.load().get(&origin).map(|z| z.serial());
                        shared.transfers.learnt_serial(&origin, serial, served);
                    }
                    refresh.handle_notify(Instant::now().into_std(), serial);
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

fn set_expired(shared: &Shared, origin: &[u8], expired: bool) {
    shared.zones.rcu(|set| {
        let mut set = (**set).clone();
        set.set_expired(origin, expired);
        set
    });
}

/// Asks each primary in turn for its SOA serial: over UDP, then, when that brings no
/// usable answer (no answer, TC, a firewall that passes only TCP), over TCP.
async fn query_soa(zone: &ZoneTransfer, origin: &[u8]) -> Result<u32, String> {
    let mut last_error = String::from("no primaries");
    for &primary in &zone.primaries {
        let key = zone.key.as_ref();
        let udp_error = match query_soa_at(zone.source, key, origin, primary).await {
            Ok(serial) => return Ok(serial),
            Err(err) => err,
        };
        match query_soa_tcp(zone.source, key, origin, primary).await {
            Ok(serial) => {
                info!(zone = %dns_wire::name_to_text(origin), %primary, %udp_error, "SOA answered over TCP");
                return Ok(serial);
            }
            Err(tcp_error) => {
                last_error = format!("{primary}: {udp_error}; over TCP: {tcp_error}");
            }
        }
    }
    Err(last_error)
}

/// A TCP connection to `primary` from the zone's source address.
async fn connect_from(
    source: Option<IpAddr>,
    primary: SocketAddr,
) -> Result<tokio::net::TcpStream, String> {
    let socket = if primary.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::new(source_for(source, primary), 0))
        .map_err(|e| format!("bind source: {e}"))?;
    timeout(CONNECT_TIMEOUT, socket.connect(primary))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))
}

/// The SOA query over TCP (RFC 7766: any query may use TCP).
async fn query_soa_tcp(
    source: Option<IpAddr>,
    key: Option<&dns_tsig::Key>,
    origin: &[u8],
    primary: SocketAddr,
) -> Result<u32, String> {
    let mut stream = connect_from(source, primary).await?;
    let id = next_id();
    let mut msg = Vec::new();
    request(id, origin, rtype::SOA, false, None, &mut msg);
    let mut verifier = key.map(|key| {
        let mac = dns_tsig::sign_request(&mut msg, key, super::unix_now());
        dns_tsig::ResponseVerifier::new(key.clone(), mac)
    });
    let mut frame = (msg.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(&msg);
    stream.write_all(&frame).await.map_err(|e| e.to_string())?;
    let mut len = [0u8; 2];
    timeout(SOA_TIMEOUT, stream.read_exact(&mut len))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
    timeout(SOA_TIMEOUT, stream.read_exact(&mut answer))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
    if let Some(verifier) = &mut verifier {
        verifier
            .verify(&answer, super::unix_now())
            .map_err(|e| format!("TSIG: {e}"))?;
    }
    read_soa_response(&answer, id, origin).map_err(|e| e.to_string())
}

async fn query_soa_at(
    source: Option<IpAddr>,
    key: Option<&dns_tsig::Key>,
    origin: &[u8],
    primary: SocketAddr,
) -> Result<u32, String> {
    let socket = udp_socket(source, primary)
        .await
        .map_err(|e| e.to_string())?;
    let id = next_id();
    let mut msg = Vec::new();
    request(id, origin, rtype::SOA, false, None, &mut msg);
    let mut verifier = key.map(|key| {
        let mac = dns_tsig::sign_request(&mut msg, key, super::unix_now());
        dns_tsig::ResponseVerifier::new(key.clone(), mac)
    });
    socket
        .send_to(&msg, primary)
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    let deadline = Instant::now() + SOA_TIMEOUT;
    loop {
        let (len, from) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf))
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(|e| e.to_string())?;
        if from != primary {
            continue;
        }
        match read_soa_response(&buf[..len], id, origin) {
            Err(dns_auth::client::ResponseError::Mismatch) => continue,
            other => {
                if let Some(verifier) = &mut verifier {
                    verifier
                        .verify(&buf[..len], super::unix_now())
                        .map_err(|e| format!("TSIG: {e}"))?;
                }
                return other.map_err(|e| e.to_string());
            }
        }
    }
}

/// Transfers the zone from the first primary that serves it, stores it, swaps it in.
async fn transfer(
    shared: &Arc<Shared>,
    zone: &ZoneConfig,
    incremental: bool,
) -> Result<Arc<Zone>, String> {
    let origin = &zone.origin;
    let name = dns_wire::name_to_text(origin);
    let current = shared.zones.load().get(origin).cloned();
    let mut last_error = String::from("no primaries");
    for &primary in &zone.transfer.primaries {
        let started = std::time::Instant::now();
        let ask_ixfr = incremental && current.is_some();
        let fetched = fetch(
            zone.transfer.source,
            zone.transfer.key.as_ref(),
            origin,
            primary,
            current.as_deref().filter(|_| ask_ixfr),
        )
        .await;
        let transferred = match fetched {
            Ok(t) => t,
            Err(err) => {
                last_error = format!("{primary}: {err}");
                continue;
            }
        };
        let kind = match &transferred {
            Transferred::UpToDate => "up to date",
            Transferred::Full(_) => "AXFR",
            Transferred::Incremental(_) => "IXFR",
        };
        let built = match transferred {
            Transferred::UpToDate => match &current {
                Some(zone) => return Ok(zone.clone()),
                None => Err("primary says up to date but we have no copy".to_string()),
            },
            Transferred::Full(records) => zone_from_records(origin, &records)
                .map(|(z, _)| z)
                .map_err(|e| e.to_string()),
            Transferred::Incremental(diffs) => match &current {
                Some(zone) => apply(zone, &diffs)
                    .map(|(z, _)| z)
                    .map_err(|e| e.to_string()),
                None => Err("IXFR without a current copy".to_string()),
            },
        };
        let new = match built {
            Ok(new) => Arc::new(new),
            Err(err) => {
                last_error = format!("{primary}: received zone rejected: {err}");
                continue;
            }
        };
        // Nothing lost: the zone is on disk before it is served (DESIGN.md principle 6).
        let stored = {
            let shared = shared.clone();
            let new = new.clone();
            tokio::task::spawn_blocking(move || shared.transfers.store_snapshot(&new)).await
        };
        match stored {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                return Err(format!(
                    "cannot store the received zone, not serving it: {err}"
                ));
            }
            Err(err) => return Err(format!("store task failed: {err}")),
        }
        if shared.transfers.zone(origin).is_none() {
            return Err("zone removed from its catalog during the transfer".into());
        }
        if let Some(old) = &current {
            shared.transfers.record_new_version(old, &new);
        }
        shared.zones.rcu(|set| {
            let mut set = (**set).clone();
            set.insert(new.clone());
            set
        });
        info!(
            zone = %name, %primary, kind, serial = new.serial(), records = new.record_count(),
            ms = started.elapsed().as_millis() as u64, "zone transferred and serving"
        );
        super::send_notifies(shared, origin, new.soa_record());
        if zone.catalog == Some(crate::config::CatalogRole::Consumer) {
            super::catalog::reconcile(shared, zone, &new);
        }
        return Ok(new);
    }
    Err(last_error)
}

/// Runs one AXFR (or IXFR from `current`) exchange with `primary` over TCP.
async fn fetch(
    source: Option<IpAddr>,
    key: Option<&dns_tsig::Key>,
    origin: &[u8],
    primary: SocketAddr,
    current: Option<&Zone>,
) -> Result<Transferred, String> {
    let mut stream = connect_from(source, primary).await?;
    let id = next_id();
    let mut msg = Vec::new();
    let soa = current.and_then(Zone::soa_record);
    let qtype = if soa.is_some() {
        rtype::IXFR
    } else {
        rtype::AXFR
    };
    request(id, origin, qtype, false, soa.as_ref(), &mut msg);
    let mut verifier = key.map(|key| {
        let mac = dns_tsig::sign_request(&mut msg, key, super::unix_now());
        dns_tsig::ResponseVerifier::new(key.clone(), mac)
    });
    let mut frame = (msg.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(&msg);
    stream.write_all(&frame).await.map_err(|e| e.to_string())?;
    let mut reader = XfrReader::new(id, origin);
    let mut buf = vec![0u8; u16::MAX as usize];
    while !reader.is_done() {
        let mut len = [0u8; 2];
        timeout(MESSAGE_TIMEOUT, stream.read_exact(&mut len))
            .await
            .map_err(|_| "transfer stalled".to_string())?
            .map_err(|e| format!("transfer cut: {e}"))?;
        let len = u16::from_be_bytes(len) as usize;
        timeout(MESSAGE_TIMEOUT, stream.read_exact(&mut buf[..len]))
            .await
            .map_err(|_| "transfer stalled".to_string())?
            .map_err(|e| format!("transfer cut: {e}"))?;
        if let Some(verifier) = &mut verifier {
            verifier
                .verify(&buf[..len], super::unix_now())
                .map_err(|e| format!("TSIG: {e}"))?;
        }
        reader
            .handle_message(&buf[..len])
            .map_err(|e| e.to_string())?;
    }
    if let Some(verifier) = &verifier {
        verifier
            .finish()
            .map_err(|e| format!("TSIG: the last message is not signed ({e})"))?;
    }
    reader.finish().map_err(|e| e.to_string())
}
