//! The checks: DNS probes over UDP (instances and third-party servers), zone freshness, and
//! command checks. Each runs as its own task and sends its results to the health driver.
//!
//! A DNS probe is an SOA query for one of the cloud's zones (round robin, one zone per
//! round), sent **twice** with different IDs on a connected UDP socket: the round passes
//! when either copy is answered correctly within the timeout, so one dropped datagram under
//! load is not a failure (two in a row, `fall` = 2, would need four drops). The answer must
//! have AA, NOERROR and, for instances, the serial loaded in this process (an older one
//! passes until it has lagged for `stale-after`: see [`InstanceLag`]). A closed port
//! comes back as ICMP port unreachable, which the connected socket reports as
//! `ConnectionRefused`: a definitive failure, detected in one round.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use dns_auth::client::{ResponseError, read_answer_count, read_soa_response, request};
use dns_wire::types::rtype;
use health::{Cause, CheckId};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval, timeout_at};

use super::instance_lag::InstanceLag;
use super::rotation::{Question, QuestionKind, Rotation};
use crate::clock::unix_now;
use crate::outbound::next_id;
use crate::state::ZoneStore;
use crate::transfer::state::Transfers;

/// One result for the driver.
#[derive(Clone, Copy, Debug)]
pub(super) struct CheckResult {
    pub(super) cloud: usize,
    pub(super) check: CheckId,
    pub(super) result: Result<(), Cause>,
    /// How long the check took (from its tick to its result).
    pub(super) latency: Duration,
}

/// Sends one result to the driver; `false` once the driver has gone (the check ends).
fn report(
    results: &mpsc::UnboundedSender<CheckResult>,
    cloud: usize,
    check: CheckId,
    result: Result<(), Cause>,
    started: Instant,
) -> bool {
    results
        .send(CheckResult {
            cloud,
            check,
            result,
            latency: started.elapsed(),
        })
        .is_ok()
}

/// What a DNS probe expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expect {
    /// AA, NOERROR and the serial loaded here (an anyns instance of this cloud); an older
    /// serial only once it has lagged for `stale-after` ([`InstanceLag`]).
    LoadedSerial,
    /// AA and NOERROR (a third-party server).
    Authoritative,
    /// Recursion: a random name below the first of `zones`, answered NOERROR or NXDOMAIN
    /// with RA (a resolver instance; only a resolution that reached the authority can).
    Recursive,
}

/// Probes `target` every `interval` until the driver goes away; an instance may lag the
/// serial loaded here for `stale_after`.
#[allow(clippy::too_many_arguments)] // two call sites; a struct would only rename these
pub(super) async fn dns_probe(
    serving_zones: Arc<ZoneStore>,
    cloud: usize,
    check: CheckId,
    target: SocketAddr,
    zones: Vec<Vec<u8>>,
    names: Vec<Question>,
    expect: Expect,
    every: Duration,
    timeout: Duration,
    stale_after: Duration,
    results: mpsc::UnboundedSender<CheckResult>,
) {
    let mut ticker = interval(every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut socket = None;
    let mut rotation = Rotation::default();
    let mut lag = InstanceLag::new(stale_after);
    loop {
        let started = ticker.tick().await;
        if socket.is_none() {
            socket = connect(target).await.ok();
        }
        let result = match &socket {
            Some(socket) if expect == Expect::Recursive => match zones.first() {
                Some(name) => probe_recursion(socket, name, timeout).await,
                None => Err(Cause::Malformed),
            },
            Some(socket) => {
                // One question per round: the zones' SOAs, skipping expired zones (the
                // freshness check has them), and the probe names.
                // A probe name in an expired zone is left out too: its SERVFAIL is the
                // zone's (global) expiry, not this instance's (local) failure.
                let serving = serving_zones.load();
                let expired: Vec<&Vec<u8>> =
                    zones.iter().filter(|z| serving.is_expired(z)).collect();
                let in_expired = |name: &[u8]| {
                    dns_wire::Name::from_wire(name)
                        .is_ok_and(|n| expired.iter().any(|z| n.is_at_or_below(z)))
                };
                let questions: Vec<Question> = zones
                    .iter()
                    .filter(|z| !expired.contains(z))
                    .map(|z| Question {
                        name: z.clone(),
                        qtype: rtype::SOA,
                        kind: QuestionKind::ZoneSerial,
                    })
                    .chain(names.iter().filter(|q| !in_expired(&q.name)).cloned())
                    .collect();
                lag.retain(|zone| questions.iter().any(|q| q.name == zone));
                let question = rotation.next(&questions);
                let serial_of_zone = question
                    .as_ref()
                    .filter(|q| q.kind == QuestionKind::ZoneSerial);
                let expected = match (serial_of_zone, expect) {
                    (Some(q), Expect::LoadedSerial) => serving.get(&q.name).map(|z| z.serial()),
                    _ => None,
                };
                drop(serving);
                let result = match &question {
                    Some(q) if q.kind == QuestionKind::Answer => {
                        probe_answer(socket, &q.name, q.qtype, timeout).await
                    }
                    _ => {
                        let zone = question.as_ref().map(|q| q.name.as_slice());
                        probe_once(socket, zone, expected, timeout).await
                    }
                };
                let result = match serial_of_zone {
                    Some(q) if expect == Expect::LoadedSerial => {
                        lag.judge(&q.name, result, started.into_std())
                    }
                    _ => result,
                };
                rotation.verdict(question.as_ref(), result)
            }
            None => Err(Cause::Io(std::io::ErrorKind::AddrNotAvailable)),
        };
        if matches!(result, Err(Cause::Io(_))) {
            socket = None;
        }
        if !report(&results, cloud, check, result, started) {
            return;
        }
    }
}

async fn connect(target: SocketAddr) -> std::io::Result<UdpSocket> {
    let local = match target.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = UdpSocket::bind(SocketAddr::new(local, 0)).await?;
    socket.connect(target).await?;
    Ok(socket)
}

fn cause_of(err: &std::io::Error) -> Cause {
    match err.kind() {
        std::io::ErrorKind::ConnectionRefused => Cause::Refused,
        kind => Cause::Io(kind),
    }
}

/// One round: two copies of the query; the first good answer passes, a bad answer fails,
/// silence until `timeout` fails. `zone = None` probes liveness only: any answer passes.
async fn probe_once(
    socket: &UdpSocket,
    zone: Option<&[u8]>,
    expected_serial: Option<u32>,
    timeout: Duration,
) -> Result<(), Cause> {
    let deadline = Instant::now() + timeout;
    let origin = zone.unwrap_or(b"\0");
    let ids = [next_id(), next_id()];
    let mut query = Vec::with_capacity(64);
    for id in ids {
        query.clear();
        request(id, origin, rtype::SOA, false, None, &mut query);
        socket.send(&query).await.map_err(|e| cause_of(&e))?;
    }
    first_good_answer(socket, &ids, deadline, |message, id| {
        if zone.is_none() {
            return Ok(());
        }
        match read_soa_response(message, id, origin) {
            Ok(serial) => match expected_serial {
                Some(expected) if expected != serial => Err(Cause::WrongSerial {
                    expected,
                    got: serial,
                }),
                _ => Ok(()),
            },
            Err(ResponseError::Rcode(rcode)) => Err(Cause::Rcode(rcode)),
            Err(ResponseError::NotAuthoritative) => Err(Cause::NotAuthoritative),
            Err(_) => Err(Cause::Malformed),
        }
    })
    .await
}

/// One round for a probe name: two copies of the query; passes on an authoritative
/// NOERROR answer with at least one record of `qtype`, or truncated (TC: the records are
/// there, too many for 512 octets).
async fn probe_answer(
    socket: &UdpSocket,
    name: &[u8],
    qtype: u16,
    timeout: Duration,
) -> Result<(), Cause> {
    let deadline = Instant::now() + timeout;
    let ids = [next_id(), next_id()];
    let mut query = Vec::with_capacity(name.len() + 16);
    for id in ids {
        query.clear();
        request(id, name, qtype, false, None, &mut query);
        socket.send(&query).await.map_err(|e| cause_of(&e))?;
    }
    first_good_answer(
        socket,
        &ids,
        deadline,
        |message, id| match read_answer_count(message, id, name, qtype) {
            Ok(0) if truncated(message) => Ok(()),
            Ok(0) => Err(Cause::NoAnswer),
            Ok(_) => Ok(()),
            Err(ResponseError::Rcode(rcode)) => Err(Cause::Rcode(rcode)),
            Err(ResponseError::NotAuthoritative) => Err(Cause::NotAuthoritative),
            Err(_) => Err(Cause::Malformed),
        },
    )
    .await
}

/// Whether an answer has TC set.
fn truncated(message: &[u8]) -> bool {
    dns_wire::Header::parse(message).is_some_and(|h| h.flags & dns_wire::Header::TC != 0)
}

/// Waits for the answers to the copies sent with `ids`: the first that `judge` finds good
/// passes; when every copy was answered badly, the last cause fails; silence until
/// `deadline` fails with a timeout. Datagrams with other IDs (late copies of earlier
/// rounds) are not ours.
async fn first_good_answer(
    socket: &UdpSocket,
    ids: &[u16],
    deadline: Instant,
    mut judge: impl FnMut(&[u8], u16) -> Result<(), Cause>,
) -> Result<(), Cause> {
    let mut buffer = [0u8; 4096];
    let mut failure = None;
    let mut answered = 0;
    loop {
        let len = match timeout_at(deadline, socket.recv(&mut buffer)).await {
            Err(_) => return Err(failure.unwrap_or(Cause::Timeout)),
            Ok(Err(err)) => return Err(cause_of(&err)),
            Ok(Ok(len)) => len,
        };
        let message = &buffer[..len];
        let Some(id) = message
            .get(..2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .filter(|id| ids.contains(id))
        else {
            continue;
        };
        answered += 1;
        match judge(message, id) {
            Ok(()) => return Ok(()),
            // A bad answer is not noise, but the other copy may still bring a good one.
            Err(cause) if answered == ids.len() => return Err(cause),
            Err(cause) => failure = Some(cause),
        }
    }
}

/// One round of a resolver probe: two queries (RD set) for fresh random names below
/// `name`, so the cache cannot answer; passes when either comes back NOERROR or NXDOMAIN
/// with RA set.
async fn probe_recursion(socket: &UdpSocket, name: &[u8], timeout: Duration) -> Result<(), Cause> {
    let deadline = Instant::now() + timeout;
    let ids = [next_id(), next_id()];
    let mut query = Vec::with_capacity(name.len() + 32);
    for id in ids {
        let label = format!("anyns-probe-{:04x}{:04x}", next_id(), id);
        let mut qname = vec![label.len() as u8];
        qname.extend_from_slice(label.as_bytes());
        qname.extend_from_slice(name);
        let options = dns_wire::QueryOptions {
            flags: dns_wire::Header::RD,
            edns: None,
            ..Default::default()
        };
        dns_wire::write_query(
            &mut query,
            id,
            &qname,
            rtype::A,
            dns_wire::types::class::IN,
            options,
        );
        socket.send(&query).await.map_err(|e| cause_of(&e))?;
    }
    first_good_answer(socket, &ids, deadline, |message, _| {
        let Ok(response) = dns_wire::Response::parse(message) else {
            return Err(Cause::Malformed);
        };
        let code = response.rcode();
        if !response.flag(dns_wire::Header::RA) {
            Err(Cause::Malformed)
        } else if code == dns_wire::types::rcode::NOERROR
            || code == dns_wire::types::rcode::NXDOMAIN
        {
            Ok(())
        } else {
            Err(Cause::Rcode(code))
        }
    })
    .await
}

/// Checks every `every` that none of `zones` has expired, that none has lagged its
/// primary's known serial for longer than `stale_after` (secondaries), and that none serves
/// RRSIGs past their expiration (a signed zone not re-signed in time, or a site that missed
/// the re-signed version).
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename these
pub(super) async fn freshness(
    serving_zones: Arc<ZoneStore>,
    transfers: Arc<Transfers>,
    cloud: usize,
    check: CheckId,
    zones: Vec<Vec<u8>>,
    every: Duration,
    stale_after: Duration,
    results: mpsc::UnboundedSender<CheckResult>,
) {
    let mut ticker = interval(every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let started = ticker.tick().await;
        let serving = serving_zones.load();
        let result = if zones
            .iter()
            .any(|z| serving.is_expired(z) || serving.get(z).is_none())
        {
            Err(Cause::ZoneExpired)
        } else if zones.iter().any(|z| transfers.is_stale(z, stale_after)) {
            Err(Cause::ZoneStale)
        } else if zones.iter().any(|z| {
            serving
                .get(z)
                .and_then(|zone| zone.signatures_expire_in(unix_now()))
                .is_some_and(|left| left < 0)
        }) {
            Err(Cause::SignaturesExpired)
        } else {
            Ok(())
        };
        drop(serving);
        if !report(&results, cloud, check, result, started) {
            return;
        }
    }
}

/// Runs `command` every `every`; it passes when it exits 0 within `timeout`.
pub(super) async fn command(
    cloud: usize,
    check: CheckId,
    command: Vec<String>,
    every: Duration,
    timeout: Duration,
    results: mpsc::UnboundedSender<CheckResult>,
) {
    let mut ticker = interval(every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let started = ticker.tick().await;
        let mut process = tokio::process::Command::new(&command[0]);
        process
            .args(&command[1..])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        let result = match process.spawn() {
            Err(err) => Err(Cause::CommandNotRun(err.kind())),
            Ok(mut child) => match tokio::time::timeout(timeout, child.wait()).await {
                Err(_) => {
                    let _ = child.kill().await;
                    Err(Cause::CommandTimeout)
                }
                Ok(Err(err)) => Err(Cause::CommandNotRun(err.kind())),
                Ok(Ok(status)) if status.success() => Ok(()),
                Ok(Ok(status)) => Err(Cause::CommandFailed(status.code())),
            },
        };
        if !report(&results, cloud, check, result, started) {
            return;
        }
    }
}
