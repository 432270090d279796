//! UDP serving: one blocking thread per socket, answering in a loop with reused buffers.
//!
//! Blocking threads rather than tokio tasks: a UDP query is one read, one synchronous
//! answer and one write, and the reactor's wake-ups would cost more than the answer.
//! On a wildcard address (0.0.0.0 or ::) the answer must leave from the address the query
//! came to, so those sockets read the destination with IP_PKTINFO / IPV6_RECVPKTINFO and
//! send the reply with the same control message.

use std::io::{IoSlice, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Instant;

use dns_auth::Transport;
use dns_auth::rrl::{self, RateDecision, RateLimiter};
use dns_wire::Query;
use netio::{DEFAULT_BATCH, UdpBatch};
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, sendmsg, setsockopt,
    sockopt,
};
use tracing::{debug, warn};

use super::context::DnsContext;
use super::dispatch::{Dispatched, dispatch};
use crate::clock;
use crate::state::QueryCounters;

/// Largest UDP datagram we read; a query never needs more.
const RECV_BUFFER: usize = 4096;

/// Starts a worker thread for each socket.
pub(crate) fn spawn_workers(
    sockets: Vec<UdpSocket>,
    address: SocketAddr,
    context: &Arc<DnsContext>,
) {
    for (index, socket) in sockets.into_iter().enumerate() {
        let context = context.clone();
        let wildcard = address.ip().is_unspecified();
        let spawned = std::thread::Builder::new()
            .name(format!("udp-{address}-{index}"))
            .spawn(move || {
                if wildcard {
                    serve_wildcard(&socket, address, &context);
                } else {
                    serve_bound(&socket, &context);
                }
            });
        if let Err(err) = spawned {
            warn!(%address, "cannot start UDP worker: {err}");
        }
    }
}

/// A socket bound to one address: replies leave from it by construction. Queries are read
/// and answers sent in batches (`recvmmsg`/`sendmmsg`): under load one system call moves
/// many datagrams; when idle, a batch is a single datagram and nothing waits.
fn serve_bound(socket: &UdpSocket, context: &DnsContext) {
    let mut worker = Worker::new(context);
    let mut batch = UdpBatch::new(DEFAULT_BATCH);
    loop {
        let count = match batch.recv(socket) {
            Ok(count) => count,
            Err(err) => {
                debug!("udp recvmmsg: {err}");
                continue;
            }
        };
        worker.tick();
        for slot in 0..count {
            let peer = batch.peer(slot);
            let (query, answer) = batch.query_and_answer(slot);
            if let Some(len) = worker.answer(context, query, peer, answer) {
                batch.queue_answer(slot, len);
            }
        }
        batch.send(socket);
    }
}

/// A socket bound to a wildcard address: reply from the query's destination address.
fn serve_wildcard(socket: &UdpSocket, address: SocketAddr, context: &DnsContext) {
    let fd = socket.as_raw_fd();
    let enabled = if address.is_ipv4() {
        setsockopt(socket, sockopt::Ipv4PacketInfo, &true)
    } else {
        setsockopt(socket, sockopt::Ipv6RecvPacketInfo, &true)
    };
    if let Err(err) = enabled {
        warn!(%address, "cannot enable packet info, replies may leave from another address: {err}");
        return serve_bound(socket, context);
    }
    let mut worker = Worker::new(context);
    let mut query = vec![0u8; RECV_BUFFER];
    let mut answer = Vec::with_capacity(u16::MAX as usize);
    let mut control = nix::cmsg_space!(libc::in6_pktinfo);
    loop {
        let (len, peer, destination) = {
            let mut iov = [IoSliceMut::new(&mut query)];
            let message = match recvmsg::<SockaddrStorage>(
                fd,
                &mut iov,
                Some(&mut control),
                MsgFlags::empty(),
            ) {
                Ok(message) => message,
                Err(err) => {
                    debug!("udp recvmsg: {err}");
                    continue;
                }
            };
            let mut destination = None;
            if let Ok(cmsgs) = message.cmsgs() {
                for cmsg in cmsgs {
                    match cmsg {
                        ControlMessageOwned::Ipv4PacketInfo(info) => {
                            destination = Some(Destination::V4(info))
                        }
                        ControlMessageOwned::Ipv6PacketInfo(info) => {
                            destination = Some(Destination::V6(info))
                        }
                        _ => {}
                    }
                }
            }
            let Some(peer) = message.address else {
                continue;
            };
            (message.bytes, peer, destination)
        };
        let peer_address = peer
            .as_sockaddr_in()
            .map(|a| SocketAddr::V4((*a).into()))
            .or_else(|| peer.as_sockaddr_in6().map(|a| SocketAddr::V6((*a).into())));
        worker.tick();
        let Some(len) = worker.answer(context, &query[..len], peer_address, &mut answer) else {
            continue;
        };
        let iov = [IoSlice::new(&answer[..len])];
        let result = match &destination {
            Some(Destination::V4(info)) => {
                let reply = libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: info.ipi_addr,
                    ipi_addr: info.ipi_addr,
                };
                sendmsg(
                    fd,
                    &iov,
                    &[ControlMessage::Ipv4PacketInfo(&reply)],
                    MsgFlags::empty(),
                    Some(&peer),
                )
            }
            Some(Destination::V6(info)) => {
                let reply = libc::in6_pktinfo {
                    ipi6_ifindex: 0,
                    ipi6_addr: info.ipi6_addr,
                };
                sendmsg(
                    fd,
                    &iov,
                    &[ControlMessage::Ipv6PacketInfo(&reply)],
                    MsgFlags::empty(),
                    Some(&peer),
                )
            }
            None => sendmsg(fd, &iov, &[], MsgFlags::empty(), Some(&peer)),
        };
        if let Err(err) = result {
            debug!("udp sendmsg: {err}");
        }
    }
}

enum Destination {
    V4(libc::in_pktinfo),
    V6(libc::in6_pktinfo),
}

/// What one UDP worker thread keeps: its counters, its rate limiter and the storage for
/// the query being answered.
struct Worker {
    counters: Arc<QueryCounters>,
    limiter: Option<RateLimiter>,
    query: Query,
    started: Instant,
    now_ms: u64,
}

impl Worker {
    fn new(context: &DnsContext) -> Self {
        Self {
            counters: context.counters.udp_worker(),
            limiter: context
                .rate_limit
                .as_ref()
                .map(|r| RateLimiter::new(r.rate, r.slip)),
            query: Query::empty(),
            started: clock::now(),
            now_ms: 0,
        }
    }

    /// Reads the clock (once per batch of datagrams).
    fn tick(&mut self) {
        if self.limiter.is_some() {
            self.now_ms = clock::now().duration_since(self.started).as_millis() as u64;
        }
    }

    /// Answers one message into `answer`; returns the length to send, if any.
    #[inline(always)]
    fn answer(
        &mut self,
        context: &DnsContext,
        msg: &[u8],
        peer: Option<SocketAddr>,
        answer: &mut Vec<u8>,
    ) -> Option<usize> {
        let dispatched = dispatch(
            context,
            msg,
            &mut self.query,
            peer.map(|p| p.ip()),
            Transport::Udp,
            &self.counters,
            true,
            answer,
        );
        match dispatched {
            Dispatched::Answered { len, .. } if self.limiter.is_none() => Some(len),
            Dispatched::Answered { len, rcode } => self.limit(context, peer, rcode, answer, len),
            Dispatched::Notified(len) => Some(len),
            Dispatched::Transfer | Dispatched::Nothing => None,
        }
    }

    /// Applies the rate limit to an answer of `len` octets (kept out of the common path).
    #[inline(never)]
    fn limit(
        &mut self,
        context: &DnsContext,
        peer: Option<SocketAddr>,
        rcode: u16,
        answer: &mut [u8],
        len: usize,
    ) -> Option<usize> {
        let (Some(limiter), Some(peer), Some(limit)) =
            (&mut self.limiter, peer, &context.rate_limit)
        else {
            return Some(len);
        };
        if limit.exempt.iter().any(|p| p.contains(peer.ip())) {
            return Some(len);
        }
        match limiter.decide(peer.ip(), rcode, self.now_ms) {
            RateDecision::Send => Some(len),
            RateDecision::Slip => {
                self.counters.record_limited(true);
                Some(rrl::slip(answer, len))
            }
            RateDecision::Drop => {
                self.counters.record_limited(false);
                None
            }
        }
    }
}
