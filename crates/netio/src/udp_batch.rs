//! Batched UDP receive and send (`recvmmsg(2)`/`sendmmsg(2)`): one system call moves up to
//! a batch of datagrams each way, which is where a busy DNS server spends its time (the
//! answer itself costs ~2,000 instructions; a system call costs more).
//!
//! On a wildcard socket ([`UdpBatch::with_packet_info`]) each datagram's destination is read
//! from its `IP_PKTINFO`/`IPV6_PKTINFO` control message and its answer sent from that
//! address, still in one system call per batch.
//!
//! Neither `std`, `socket2` nor `nix` offers these without allocating per call, hence the
//! `unsafe` here: the headers point into heap buffers this struct owns and never grows, so
//! no pointer outlives what it points to.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use socket2::SockAddr;

use crate::packet_info::{ControlBuffer, Destination};

/// Datagrams moved per system call at most.
pub const DEFAULT_BATCH: usize = 32;

/// Largest datagram received; DNS queries are far smaller (RFC 6891 allows 4096 answers).
pub const RECV_SIZE: usize = 4096;

/// Receive and send buffers for one socket's worker thread.
pub struct UdpBatch {
    /// `batch` receive buffers of [`RECV_SIZE`] octets, back to back.
    received: Box<[u8]>,
    /// Peer address and length of each received datagram.
    peers: Box<[libc::sockaddr_storage]>,
    peer_lens: Box<[libc::socklen_t]>,
    /// Length of each received datagram.
    lens: Box<[usize]>,
    /// One reusable answer buffer per slot.
    answers: Box<[Vec<u8>]>,
    /// Which slots have an answer to send, in order.
    outgoing: Vec<usize>,
    /// Receive headers and their iovecs: pointed once, at creation, into the heap buffers
    /// above (which never move or grow); only the fields the kernel writes are reset.
    recv_iovecs: Box<[libc::iovec]>,
    recv_headers: Box<[libc::mmsghdr]>,
    /// How many receive headers the kernel may have written since they were last reset.
    touched: usize,
    /// Send headers and iovecs, built for each batch of answers.
    send_iovecs: Box<[libc::iovec]>,
    send_headers: Box<[libc::mmsghdr]>,
    /// One control buffer per slot when answering from each query's destination (empty
    /// otherwise): filled by the kernel on receive, by us on send.
    controls: Box<[ControlBuffer]>,
    /// Where each received datagram was sent to (`Unknown` without packet info).
    destinations: Box<[Destination]>,
    count: usize,
}

// SAFETY of Send: the raw pointers inside the headers and iovecs point into heap buffers
// owned by this struct, which move with it, and are only handed to the kernel by `&mut self`
// methods.
#[allow(unsafe_code)]
unsafe impl Send for UdpBatch {}

impl UdpBatch {
    /// Buffers for up to `batch` datagrams each way, for a socket bound to one address
    /// (answers leave from it by construction).
    pub fn new(batch: usize) -> Self {
        Self::build(batch, false)
    }

    /// Buffers for a wildcard socket on which [`crate::enable_packet_info`] was called:
    /// each answer leaves from the address its query was sent to.
    pub fn with_packet_info(batch: usize) -> Self {
        Self::build(batch, true)
    }

    fn build(batch: usize, packet_info: bool) -> Self {
        let batch = batch.max(1);
        // SAFETY: sockaddr_storage, iovec and mmsghdr are plain C structs for which all
        // zero bytes is a valid (empty) value.
        #[allow(unsafe_code)]
        let (peers, iovecs, headers) = unsafe {
            (
                vec![zeroed::<libc::sockaddr_storage>(); batch],
                vec![zeroed::<libc::iovec>(); batch],
                vec![zeroed::<libc::mmsghdr>(); batch],
            )
        };
        let mut this = Self {
            received: vec![0u8; batch * RECV_SIZE].into_boxed_slice(),
            peers: peers.into_boxed_slice(),
            peer_lens: vec![0; batch].into_boxed_slice(),
            lens: vec![0; batch].into_boxed_slice(),
            answers: (0..batch)
                .map(|_| Vec::with_capacity(u16::MAX as usize))
                .collect(),
            outgoing: Vec::with_capacity(batch),
            recv_iovecs: iovecs.clone().into_boxed_slice(),
            recv_headers: headers.clone().into_boxed_slice(),
            touched: 0,
            send_iovecs: iovecs.into_boxed_slice(),
            send_headers: headers.into_boxed_slice(),
            controls: vec![ControlBuffer::EMPTY; if packet_info { batch } else { 0 }]
                .into_boxed_slice(),
            destinations: vec![Destination::Unknown; batch].into_boxed_slice(),
            count: 0,
        };
        for slot in 0..batch {
            this.recv_iovecs[slot] = libc::iovec {
                iov_base: this.received[slot * RECV_SIZE..].as_mut_ptr().cast(),
                iov_len: RECV_SIZE,
            };
            let header = &mut this.recv_headers[slot].msg_hdr;
            header.msg_name = (&mut this.peers[slot] as *mut libc::sockaddr_storage).cast();
            header.msg_iov = &mut this.recv_iovecs[slot];
            header.msg_iovlen = 1;
            if let Some(control) = this.controls.get_mut(slot) {
                header.msg_control = control.as_control().0;
            }
        }
        this.touched = batch;
        this
    }

    /// Blocks until at least one datagram arrives, then takes every one already queued, up
    /// to the batch size. Returns how many were received.
    pub fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        let batch = self.recv_headers.len();
        self.outgoing.clear();
        let control_len = if self.controls.is_empty() {
            0
        } else {
            size_of::<ControlBuffer>()
        };
        for header in &mut self.recv_headers[..self.touched] {
            header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            header.msg_hdr.msg_controllen = control_len;
            header.msg_hdr.msg_flags = 0;
            header.msg_len = 0;
        }
        // SAFETY: `recv_headers` holds `batch` mmsghdr whose name, iov (and control)
        // pointers were set at creation into `peers`, `recv_iovecs`, `received` (and
        // `controls`): heap buffers owned by `self` that never move or grow, not otherwise
        // borrowed for the duration of the call; the lengths, reset above for every header
        // the kernel wrote, match the buffers.
        #[allow(unsafe_code)]
        let received = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                self.recv_headers.as_mut_ptr(),
                batch as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if received < 0 {
            self.count = 0;
            self.touched = batch;
            return Err(io::Error::last_os_error());
        }
        self.count = received as usize;
        self.touched = self.count;
        for slot in 0..self.count {
            let header = &self.recv_headers[slot];
            self.lens[slot] = (header.msg_len as usize).min(RECV_SIZE);
            self.peer_lens[slot] = header.msg_hdr.msg_namelen;
            if control_len != 0 {
                self.destinations[slot] = Destination::of(&header.msg_hdr);
            }
        }
        Ok(self.count)
    }

    /// The `slot`-th datagram of the last [`Self::recv`] and the buffer for its answer.
    pub fn query_and_answer(&mut self, slot: usize) -> (&[u8], &mut Vec<u8>) {
        let start = slot * RECV_SIZE;
        (
            &self.received[start..start + self.lens[slot]],
            &mut self.answers[slot],
        )
    }

    /// The sender of the `slot`-th datagram.
    pub fn peer(&self, slot: usize) -> Option<SocketAddr> {
        let storage = self.peers[slot];
        // SAFETY: the kernel wrote a socket address of `peer_lens[slot]` octets into the
        // storage, which is large enough for any address family.
        #[allow(unsafe_code)]
        let address = unsafe { SockAddr::new(storage, self.peer_lens[slot]) };
        address.as_socket()
    }

    /// The address the `slot`-th datagram was sent to, when packet information was asked
    /// for ([`Self::with_packet_info`]) and the kernel gave it.
    pub fn destination(&self, slot: usize) -> Option<std::net::IpAddr> {
        self.destinations[slot].ip()
    }

    /// Marks the answer in slot `slot` (its first `len` octets) for [`Self::send`].
    pub fn queue_answer(&mut self, slot: usize, len: usize) {
        self.answers[slot].truncate(len);
        self.outgoing.push(slot);
    }

    /// Sends every queued answer to the peer its query came from, in as few system calls as
    /// possible. Returns how many were sent; answers the kernel refused are dropped, as a
    /// lost UDP datagram would be.
    pub fn send(&mut self, socket: &UdpSocket) -> usize {
        let total = self.outgoing.len();
        for (index, &slot) in self.outgoing.iter().enumerate() {
            let answer = &mut self.answers[slot];
            self.send_iovecs[index] = libc::iovec {
                iov_base: answer.as_mut_ptr().cast(),
                iov_len: answer.len(),
            };
            let header = &mut self.send_headers[index];
            header.msg_hdr.msg_name = (&mut self.peers[slot] as *mut libc::sockaddr_storage).cast();
            header.msg_hdr.msg_namelen = self.peer_lens[slot];
            header.msg_hdr.msg_iov = &mut self.send_iovecs[index];
            header.msg_hdr.msg_iovlen = 1;
            (header.msg_hdr.msg_control, header.msg_hdr.msg_controllen) =
                match self.controls.get_mut(slot) {
                    Some(control) => {
                        let len = self.destinations[slot].write_source(control);
                        let (pointer, _) = control.as_control();
                        if len == 0 {
                            (std::ptr::null_mut(), 0)
                        } else {
                            (pointer, len)
                        }
                    }
                    None => (std::ptr::null_mut(), 0),
                };
            header.msg_hdr.msg_flags = 0;
            header.msg_len = 0;
        }
        let mut sent = 0;
        while sent < total {
            // SAFETY: send_headers[sent..total] are initialised above and point into `peers`,
            // `send_iovecs`, `answers` and `controls` (whose first `msg_controllen` octets hold
            // one well-formed control message), owned by `self` and unchanged until the call
            // returns.
            #[allow(unsafe_code)]
            let result = unsafe {
                libc::sendmmsg(
                    socket.as_raw_fd(),
                    self.send_headers[sent..].as_mut_ptr(),
                    (total - sent) as libc::c_uint,
                    0,
                )
            };
            if result <= 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // Skip the datagram the kernel refused (e.g. an unreachable peer).
                sent += 1;
                continue;
            }
            sent += result as usize;
        }
        self.outgoing.clear();
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_a_burst_in_batches() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.connect(server.local_addr().unwrap()).unwrap();
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        for i in 0..10u8 {
            client.send(&[i; 3]).unwrap();
        }
        let mut batch = UdpBatch::new(4);
        let mut seen = 0;
        while seen < 10 {
            let count = batch.recv(&server).unwrap();
            assert!((1..=4).contains(&count));
            for slot in 0..count {
                assert_eq!(batch.peer(slot), Some(client.local_addr().unwrap()));
                let (query, answer) = batch.query_and_answer(slot);
                assert_eq!(query, &[seen as u8; 3]);
                answer.clear();
                answer.extend_from_slice(query);
                answer.push(0xff);
                let len = answer.len();
                batch.queue_answer(slot, len);
                seen += 1;
            }
            assert_eq!(batch.send(&server), count);
        }
        for i in 0..10u8 {
            let mut buf = [0u8; 8];
            let len = client.recv(&mut buf).unwrap();
            assert_eq!(&buf[..len], &[i, i, i, 0xff]);
        }
    }

    #[test]
    fn answers_from_the_address_each_query_was_sent_to() {
        let server = UdpSocket::bind("0.0.0.0:0").unwrap();
        crate::enable_packet_info(&server, false).unwrap();
        let port = server.local_addr().unwrap().port();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        // Two destinations on the same wildcard socket; the kernel's own choice of source
        // for a reply to 127.0.0.1 would be 127.0.0.1 for both.
        let targets: [SocketAddr; 2] =
            [([127, 0, 0, 2], port).into(), ([127, 0, 0, 3], port).into()];
        for target in targets {
            client.send_to(b"q", target).unwrap();
        }
        let mut batch = UdpBatch::with_packet_info(8);
        let mut seen = Vec::new();
        while seen.len() < 2 {
            let count = batch.recv(&server).unwrap();
            for slot in 0..count {
                seen.push(batch.destination(slot).unwrap());
                let (_, answer) = batch.query_and_answer(slot);
                answer.clear();
                answer.extend_from_slice(b"a");
                batch.queue_answer(slot, 1);
            }
            batch.send(&server);
        }
        assert_eq!(seen, targets.map(|t| t.ip()));
        let mut sources = Vec::new();
        for _ in targets {
            let mut buf = [0u8; 8];
            let (len, from) = client.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..len], b"a");
            sources.push(from);
        }
        sources.sort();
        assert_eq!(sources, targets);
    }

    #[test]
    fn reports_the_destination_over_ipv6() {
        let Ok(server) = UdpSocket::bind("[::]:0") else {
            return; // no IPv6 here
        };
        let Ok(client) = UdpSocket::bind("[::1]:0") else {
            return;
        };
        crate::enable_packet_info(&server, true).unwrap();
        let to: SocketAddr = (
            "::1".parse::<std::net::IpAddr>().unwrap(),
            server.local_addr().unwrap().port(),
        )
            .into();
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        client.send_to(b"q", to).unwrap();
        let mut batch = UdpBatch::with_packet_info(2);
        assert_eq!(batch.recv(&server).unwrap(), 1);
        assert_eq!(batch.destination(0), Some(to.ip()));
        let (_, answer) = batch.query_and_answer(0);
        answer.clear();
        answer.push(7);
        batch.queue_answer(0, 1);
        assert_eq!(batch.send(&server), 1);
        let mut buf = [0u8; 4];
        let (len, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..len], from), (&[7u8][..], to));
    }

    #[test]
    fn a_bound_socket_reports_no_destination() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.send_to(b"q", server.local_addr().unwrap()).unwrap();
        let mut batch = UdpBatch::new(2);
        assert_eq!(batch.recv(&server).unwrap(), 1);
        assert_eq!(batch.destination(0), None);
    }
}
