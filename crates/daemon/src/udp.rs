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

use dns_auth::{Outcome, Transport, respond};
use netio::{DEFAULT_BATCH, UdpBatch};
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, sendmsg, setsockopt,
    sockopt,
};
use tracing::{debug, warn};

use crate::metrics::QueryCounters;
use crate::serve::Shared;

/// Largest UDP datagram we read; a query never needs more.
const RECV_BUFFER: usize = 4096;

/// Starts a worker thread for each socket.
pub(crate) fn spawn_workers(sockets: Vec<UdpSocket>, address: SocketAddr, shared: &Arc<Shared>) {
    for (index, socket) in sockets.into_iter().enumerate() {
        let shared = shared.clone();
        let wildcard = address.ip().is_unspecified();
        let spawned = std::thread::Builder::new()
            .name(format!("udp-{address}-{index}"))
            .spawn(move || {
                if wildcard {
                    serve_wildcard(&socket, address, &shared);
                } else {
                    serve_bound(&socket, &shared);
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
fn serve_bound(socket: &UdpSocket, shared: &Shared) {
    let counters = shared.counters.udp_worker();
    let mut batch = UdpBatch::new(DEFAULT_BATCH);
    loop {
        let count = match batch.recv(socket) {
            Ok(count) => count,
            Err(err) => {
                debug!("udp recvmmsg: {err}");
                continue;
            }
        };
        for slot in 0..count {
            let peer = batch.peer(slot);
            let (query, answer) = batch.query_and_answer(slot);
            if let Some(len) = answer_one(shared, &counters, query, peer, answer) {
                batch.queue_answer(slot, len);
            }
        }
        batch.send(socket);
    }
}

/// A socket bound to a wildcard address: reply from the query's destination address.
fn serve_wildcard(socket: &UdpSocket, address: SocketAddr, shared: &Shared) {
    let fd = socket.as_raw_fd();
    let enabled = if address.is_ipv4() {
        setsockopt(socket, sockopt::Ipv4PacketInfo, &true)
    } else {
        setsockopt(socket, sockopt::Ipv6RecvPacketInfo, &true)
    };
    if let Err(err) = enabled {
        warn!(%address, "cannot enable packet info, replies may leave from another address: {err}");
        return serve_bound(socket, shared);
    }
    let counters = shared.counters.udp_worker();
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
        let Some(len) = answer_one(shared, &counters, &query[..len], peer_address, &mut answer)
        else {
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

/// Answers one query into `answer`; returns the length to send, if any. `counters` is the
/// calling thread's own block.
#[inline]
fn answer_one(
    shared: &Shared,
    counters: &QueryCounters,
    query: &[u8],
    peer: Option<SocketAddr>,
    answer: &mut Vec<u8>,
) -> Option<usize> {
    if crate::transfer::is_notify(query) {
        return crate::transfer::handle_notify(shared, query, peer?.ip(), answer);
    }
    let zones = shared.zones.load();
    let outcome = respond(query, &zones, &shared.answer, Transport::Udp, answer);
    counters.record(&outcome, true);
    match outcome {
        Outcome::Answered { len, .. } => Some(len),
        Outcome::Dropped => None,
    }
}
