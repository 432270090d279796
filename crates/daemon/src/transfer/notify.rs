//! NOTIFY (RFC 1996): received from a primary, it wakes the zone's secondary task; sent to
//! our secondaries, from the zone's unicast source address, when a primary zone changes.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use dns_auth::client::{notify_response, read_notify, read_notify_response, request};
use dns_auth::refusal::{Refusal, check_notify};
use dns_wire::Record;
use dns_wire::types::{rcode, rtype};
use tracing::{debug, info, warn};

use super::outbound::udp_socket;
use super::state::{Poke, Transfers};
use super::tsig::Signed;
use crate::acl::allows;
use crate::clock::unix_now;
use crate::config::ZoneTransfer;
use crate::outbound::next_id;

/// RFC 1996 §3.6: retransmit until answered, a few times.
const NOTIFY_ATTEMPTS: u32 = 5;
/// Wait for each attempt's response.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(2);

/// Handles a NOTIFY from `peer`; writes the response into `out` and returns its length.
pub(crate) fn handle_notify(
    transfers: &Transfers,
    msg: &[u8],
    peer: IpAddr,
    out: &mut Vec<u8>,
) -> Option<usize> {
    let Some(notify) = read_notify(msg) else {
        return notify_response(msg, rcode::FORMERR, out);
    };
    let name = dns_wire::name_to_text(&notify.zone);
    let signed = transfers.check_signature(msg, &notify.zone);
    let zone = transfers.zone(&notify.zone);
    let sender = transfers.notify_sender(&notify.zone);
    let decision = check_notify(
        zone.is_some() && sender.is_some(),
        signed.is_ok(),
        zone.as_ref().is_some_and(|z| allows(&z.allow_notify, peer)),
    );
    let code = match decision {
        Ok(()) => {
            info!(zone = %name, %peer, serial = ?notify.serial, "NOTIFY received");
            if let Some(sender) = sender {
                let _ = sender.send(Poke::Notify(notify.serial));
            }
            rcode::NOERROR
        }
        Err(Refusal::NotifyForUnknownZone) => {
            debug!(zone = %name, %peer, "NOTIFY for a zone we are not a secondary of");
            Refusal::NotifyForUnknownZone.rcode()
        }
        Err(refusal) => {
            match &signed {
                Err(unverified) if refusal == Refusal::Tsig => {
                    warn!(zone = %name, %peer, "NOTIFY refused: TSIG: {}", unverified.why)
                }
                _ => warn!(zone = %name, %peer, "NOTIFY refused: {}", refusal.reason()),
            }
            refusal.rcode()
        }
    };
    let len = notify_response(msg, code, out)?;
    match signed {
        Ok(Signed::With(mut signer)) => {
            out.truncate(len);
            signer.sign(out, unix_now());
            Some(out.len())
        }
        Err(unverified) if code == rcode::NOTAUTH => {
            out.truncate(len);
            transfers.append_tsig_error(out, msg, &unverified);
            Some(out.len())
        }
        _ => Some(len),
    }
}

/// Sends NOTIFY for `origin` (now at `soa`) to every configured secondary, each in its own
/// task with retries.
pub(crate) fn send_notifies(transfers: &Transfers, origin: &[u8], soa: Option<Record>) {
    let Some(zone) = transfers.zone(origin) else {
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
    let socket = udp_socket(zone.source, target).await?;
    let id = next_id();
    let mut msg = Vec::new();
    request(id, origin, rtype::SOA, true, soa, &mut msg);
    let mut verifier = zone.key.as_ref().map(|key| {
        let mac = dns_tsig::sign_request(&mut msg, key, unix_now());
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
                    .verify(&buf[..len], unix_now())
                    .map_err(|e| std::io::Error::other(format!("response TSIG: {e}")))?;
            }
            return Ok(());
        }
    }
}
