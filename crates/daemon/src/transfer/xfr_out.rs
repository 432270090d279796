//! Serving AXFR and IXFR over TCP — only where the listener allows transfers (unicast by
//! default) and to hosts in the zone's allow-transfer list.

use std::net::IpAddr;
use std::sync::Arc;

use dns_auth::error_response;
use dns_auth::xfr::{XfrPlan, XfrResponse, ixfr_client_serial, plan_ixfr};
use dns_wire::Query;
use dns_wire::types::{ede, rcode, rtype};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::{info, warn};

use super::acl::allows;
use crate::serve::Shared;

/// Whether a parsed query asks for a transfer.
pub(crate) fn is_transfer(query: &Query) -> bool {
    query.qtype == rtype::AXFR || query.qtype == rtype::IXFR
}

/// Answers a transfer request on `stream`. `listener_allows` is the listener's policy.
pub(crate) async fn serve_transfer(
    stream: &mut TcpStream,
    msg: &[u8],
    query: &Query,
    peer: IpAddr,
    listener_allows: bool,
    shared: &Arc<Shared>,
) -> std::io::Result<()> {
    let origin = query.qname.as_wire().to_vec();
    let name = dns_wire::name_to_text(&origin);
    let kind = if query.qtype == rtype::AXFR {
        "AXFR"
    } else {
        "IXFR"
    };
    let zones = shared.zones.load_full();
    let refusal = if !listener_allows {
        //= https://www.rfc-editor.org/rfc/rfc5936#section-4.2
        // DESIGN.md principle 2: a transfer to the anycast address could land elsewhere.
        Some((
            rcode::REFUSED,
            ede::PROHIBITED,
            "transfers are served on unicast addresses only",
        ))
    } else if zones.get(&origin).is_none() {
        Some((
            rcode::REFUSED,
            ede::NOT_AUTHORITATIVE,
            "not a zone of this server",
        ))
    } else if zones.is_expired(&origin) {
        Some((rcode::SERVFAIL, ede::NOT_AUTHORITATIVE, "zone expired"))
    } else if !shared
        .transfers
        .zone(&origin)
        .is_some_and(|z| allows(&z.allow_transfer, peer))
    {
        Some((rcode::REFUSED, ede::PROHIBITED, "not in allow-transfer"))
    } else {
        None
    };
    let signed = if refusal.is_none() {
        Some(shared.transfers.check_signature(msg, &origin))
    } else {
        None
    };
    let refusal = match &signed {
        Some(Err(unverified)) => {
            let why = &unverified.why;
            warn!(zone = %name, %peer, kind, "transfer refused: TSIG: {why}");
            Some((rcode::NOTAUTH, ede::PROHIBITED, "TSIG"))
        }
        _ => refusal,
    };
    let mut out = Vec::with_capacity(u16::MAX as usize);
    if let Some((code, info, why)) = refusal {
        warn!(zone = %name, %peer, kind, "transfer refused: {why}");
        if let dns_auth::Outcome::Answered { len, .. } =
            error_response(msg, code, Some(info), &shared.answer, &mut out)
        {
            out.truncate(len);
            if let Some(Err(unverified)) = &signed {
                shared
                    .transfers
                    .append_tsig_error(&mut out, msg, unverified);
            }
            write_frame(stream, &out).await?;
        }
        return Ok(());
    }
    let Some(zone) = zones.get(&origin).cloned() else {
        return Ok(());
    };
    let journal;
    let plan = if query.qtype == rtype::IXFR {
        journal = shared.transfers.journal(&origin);
        match ixfr_client_serial(msg, query.question_end, &query.header) {
            Some(serial) => plan_ixfr(&zone, serial, &journal),
            None => XfrPlan::Full,
        }
    } else {
        XfrPlan::Full
    };
    let plan_name = match &plan {
        XfrPlan::Full => "full",
        XfrPlan::UpToDate => "up to date",
        XfrPlan::Incremental(_) => "incremental",
    };
    let started = std::time::Instant::now();
    let mut response = XfrResponse::new(query.header, query.question_bytes(msg), &zone, plan);
    let mut signer = match signed {
        Some(Ok(super::Signed::With(signer))) => Some(signer),
        _ => None,
    };
    let mut messages = 0;
    while response.next_message(&mut out) {
        if let Some(signer) = &mut signer {
            signer.sign(&mut out, super::unix_now());
        }
        write_frame(stream, &out).await?;
        messages += 1;
    }
    info!(
        zone = %name, %peer, kind, plan = plan_name, serial = zone.serial(), messages, tsig = signer.is_some(),
        ms = started.elapsed().as_millis() as u64, "transfer served"
    );
    Ok(())
}

async fn write_frame(stream: &mut TcpStream, msg: &[u8]) -> std::io::Result<()> {
    let mut frame = Vec::with_capacity(msg.len() + 2);
    frame.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    frame.extend_from_slice(msg);
    stream.write_all(&frame).await
}
