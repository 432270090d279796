//! NOTIFY (RFC 1996): received from a primary, it wakes the zone's secondary task; sent to
//! our secondaries, from the zone's unicast source address, when a primary zone changes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use dns_auth::client::{notify_response, read_notify, read_notify_response, request};
use dns_wire::Record;
use dns_wire::types::{rcode, rtype};
use tracing::{debug, info, warn};

use super::acl::allows;
use super::config::ZoneTransfer;
use crate::serve::Shared;

/// RFC 1996 §3.6: retransmit until answered, a few times.
const NOTIFY_ATTEMPTS: u32 = 5;
/// Wait for each attempt's response.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether `msg` carries opcode NOTIFY.
pub(crate) fn is_notify(msg: &[u8]) -> bool {
    msg.len() > 2 && (msg[2] >> 3) & 0xf == 4 && msg[2] & 0x80 == 0
}

/// Handles a NOTIFY from `peer`; writes the response into `out` and returns its length.
pub(crate) fn handle_notify(
    shared: &Shared,
    msg: &[u8],
    peer: IpAddr,
    out: &mut Vec<u8>,
) -> Option<usize> {
    let Some(notify) = read_notify(msg) else {
        return notify_response(msg, rcode::FORMERR, out);
    };
    let name = dns_wire::name_to_text(&notify.zone);
    let signed = shared.transfers.check_signature(msg, &notify.zone);
    let code = match (
        shared.transfers.zone(&notify.zone),
        shared.transfers.notify_sender(&notify.zone),
    ) {
        (Some(_), Some(_)) if signed.is_err() => {
            let why = signed
                .as_ref()
                .err()
                .map(|u| u.why.as_str())
                .unwrap_or_default();
            warn!(zone = %name, %peer, "NOTIFY refused: TSIG: {why}");
            rcode::NOTAUTH
        }
        (Some(zone), Some(sender)) if allows(&zone.allow_notify, peer) => {
            info!(zone = %name, %peer, serial = ?notify.serial, "NOTIFY received");
            let _ = sender.send(notify.serial);
            rcode::NOERROR
        }
        (Some(_), Some(_)) => {
            warn!(zone = %name, %peer, "NOTIFY refused: sender not in allow-notify");
            rcode::REFUSED
        }
        //= https://www.rfc-editor.org/rfc/rfc1996#section-3.10
        //# If a slave receives a NOTIFY request from a host that is not a known master for
        //# the zone containing the QNAME, it should ignore the request
        // (answered NOTAUTH so the sender stops retrying, as Knot does)
        _ => {
            debug!(zone = %name, %peer, "NOTIFY for a zone we are not a secondary of");
            rcode::NOTAUTH
        }
    };
    let len = notify_response(msg, code, out)?;
    match signed {
        Ok(super::Signed::With(mut signer)) => {
            out.truncate(len);
            signer.sign(out, super::unix_now());
            Some(out.len())
        }
        Err(unverified) if code == rcode::NOTAUTH => {
            out.truncate(len);
            shared.transfers.append_tsig_error(out, msg, &unverified);
            Some(out.len())
        }
        _ => Some(len),
    }
}

/// Sends NOTIFY for `origin` (now at `soa`) to every configured secondary, each in its own
/// task with retries.
pub(crate) fn send_notifies(shared: &Arc<Shared>, origin: &[u8], soa: Option<Record>) {
    let Some(zone) = shared.transfers.zone(origin) else {
        return;
    };
    for &target in &zone.notify {
        let zone = zone.clone();
        let origin = origin.to_vec();
        let soa = soa.clone();
        tokio::spawn(async move { notify_one(&zone, &origin, soa.as_ref(), target).await });
    }
}

async fn notify_one(zone: &ZoneTransfer, origin: &[u8], soa: Option<&Record>, target: SocketAddr) {
    let name = dns_wire::name_to_text(origin);
    for attempt in 1..=NOTIFY_ATTEMPTS {
        match notify_attempt(zone, origin, soa, target).await {
            Ok(()) => {
                info!(zone = %name, %target, attempt, "NOTIFY acknowledged");
                return;
            }
            Err(err) => debug!(zone = %name, %target, attempt, "NOTIFY: {err}"),
        }
    }
    warn!(zone = %name, %target, "NOTIFY not acknowledged after {NOTIFY_ATTEMPTS} attempts");
}

async fn notify_attempt(
    zone: &ZoneTransfer,
    origin: &[u8],
    soa: Option<&Record>,
    target: SocketAddr,
) -> std::io::Result<()> {
    let socket = super::secondary::udp_socket(zone.source, target).await?;
    let id = super::secondary::next_id();
    let mut msg = Vec::new();
    request(id, origin, rtype::SOA, true, soa, &mut msg);
    let mut verifier = zone.key.as_ref().map(|key| {
        let mac = dns_tsig::sign_request(&mut msg, key, super::unix_now());
        dns_tsig::ResponseVerifier::new(key.clone(), mac)
    });
    socket.send_to(&msg, target).await?;
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + NOTIFY_TIMEOUT;
    loop {
        let (len, from) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no response"))??;
        if from == target && read_notify_response(&buf[..len], id, origin).is_ok() {
            if let Some(verifier) = &mut verifier {
                verifier
                    .verify(&buf[..len], super::unix_now())
                    .map_err(|e| std::io::Error::other(format!("response TSIG: {e}")))?;
            }
            return Ok(());
        }
    }
}
