//! Serving AXFR and IXFR over TCP: the policy (listener, zone, allow-transfer, TSIG) is
//! decided by `dns_auth::refusal`; this streams the answer or the refusal.

use std::net::IpAddr;

use dns_auth::refusal::{ZoneStatus, check_transfer};
use dns_auth::xfr::{XfrPlan, XfrResponse, ixfr_client_serial, plan_ixfr};
use dns_auth::{AnswerConfig, Outcome, error_response_to};
use dns_wire::Query;
use dns_wire::types::rtype;
use tokio::io::AsyncWrite;
use tracing::{info, warn};

use super::state::{TransferResult, Transfers};
use crate::acl::allows;
use crate::clock::unix_now;
use crate::dns::framing;
use crate::state::ZoneStore;

/// What serving a transfer reads.
pub(crate) struct TransferSources<'a> {
    /// The zones served.
    pub(crate) zones: &'a ZoneStore,
    /// Access lists, keys and journals.
    pub(crate) transfers: &'a Transfers,
    /// For refusals' OPT.
    pub(crate) answer: &'a AnswerConfig,
}

/// Answers the transfer request `query` (the bytes `msg`) on `stream`.
/// `listener_serves_transfers` is the listener's policy.
pub(crate) async fn serve_transfer<S: AsyncWrite + Unpin>(
    stream: &mut S,
    msg: &[u8],
    query: &Query,
    peer: IpAddr,
    listener_serves_transfers: bool,
    sources: &TransferSources<'_>,
) -> std::io::Result<()> {
    let origin = query.qname.as_wire();
    let name = dns_wire::name_to_text(origin);
    let kind = if query.qtype == rtype::AXFR {
        "AXFR"
    } else {
        "IXFR"
    };
    let zones = sources.zones.snapshot();
    let status = match zones.get(origin) {
        None => ZoneStatus::Unknown,
        Some(_) if zones.is_expired(origin) => ZoneStatus::Expired,
        Some(_) => ZoneStatus::Serving,
    };
    let peer_allowed = sources
        .transfers
        .zone(origin)
        .is_some_and(|z| allows(&z.allow_transfer, peer));
    let mut signed = None;
    //= https://www.rfc-editor.org/rfc/rfc5936#section-4.2
    // docs/design.md principle 2: a transfer to the anycast address could land elsewhere.
    let decision = check_transfer(listener_serves_transfers, status, peer_allowed, || {
        signed
            .insert(sources.transfers.check_signature(msg, origin))
            .is_ok()
    });
    let mut out = Vec::with_capacity(framing::MAX_MESSAGE);
    let mut frame = Vec::with_capacity(framing::MAX_MESSAGE + 2);
    if let Err(refusal) = decision {
        match &signed {
            Some(Err(unverified)) => {
                warn!(zone = %name, %peer, kind, "transfer refused: TSIG: {}", unverified.why)
            }
            _ => warn!(zone = %name, %peer, kind, "transfer refused: {}", refusal.reason()),
        }
        if let Outcome::Answered { len, .. } = error_response_to(
            msg,
            query,
            refusal.rcode(),
            refusal.extended_error(),
            sources.answer,
            &mut out,
        ) {
            out.truncate(len);
            if let Some(Err(unverified)) = &signed {
                sources
                    .transfers
                    .append_tsig_error(&mut out, msg, unverified);
            }
            framing::write_message(stream, &out, &mut frame).await?;
        }
        sources.transfers.count(TransferResult::OutRefused);
        return Ok(());
    }
    let Some(zone) = zones.get(origin).cloned() else {
        return Ok(());
    };
    let journal;
    let plan = if query.qtype == rtype::IXFR {
        journal = sources.transfers.journal(origin);
        match ixfr_client_serial(msg, query.question_end, &query.header) {
            Some(serial) => plan_ixfr(&zone, serial, &journal),
            None => XfrPlan::Full,
        }
    } else {
        XfrPlan::Full
    };
    sources.transfers.count(match &plan {
        XfrPlan::Full => TransferResult::OutFull,
        _ => TransferResult::OutIncremental,
    });
    let plan_name = match &plan {
        XfrPlan::Full => "full",
        XfrPlan::UpToDate => "up to date",
        XfrPlan::Incremental(_) => "incremental",
    };
    let started = tokio::time::Instant::now();
    let mut response = XfrResponse::new(query.header, query.question_bytes(msg), &zone, plan);
    let mut signer = signed.and_then(Result::ok).and_then(|s| s.into_signer());
    let mut messages = 0;
    while response.next_message(&mut out) {
        if let Some(signer) = &mut signer {
            signer.sign(&mut out, unix_now());
        }
        framing::write_message(stream, &out, &mut frame).await?;
        messages += 1;
    }
    info!(
        zone = %name, %peer, kind, plan = plan_name, serial = zone.serial(), messages, tsig = signer.is_some(),
        ms = started.elapsed().as_millis() as u64, "transfer served"
    );
    Ok(())
}
