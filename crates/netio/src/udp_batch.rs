//! Batched UDP receive and send (`recvmmsg(2)`/`sendmmsg(2)`): one system call moves up to
//! a batch of datagrams each way, which is where a busy DNS server spends its time (the
//! answer itself costs ~2,000 instructions; a system call costs more).
//!
//! Neither `std`, `socket2` nor `nix` offers these without allocating per call, hence the
//! `unsafe` here: the headers point into buffers this struct owns, rebuilt before each call
//! so no pointer outlives the borrow it came from.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use socket2::SockAddr;

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
    iovecs: Box<[libc::iovec]>,
    headers: Box<[libc::mmsghdr]>,
    count: usize,
}

// SAFETY of Send: the raw pointers inside `iovecs`/`headers` are scratch space, rebuilt from
// owned buffers before every system call and never dereferenced otherwise.
#[allow(unsafe_code)]
unsafe impl Send for UdpBatch {}

impl UdpBatch {
    /// Buffers for up to `batch` datagrams each way.
    pub fn new(batch: usize) -> Self {
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
        Self {
            received: vec![0u8; batch * RECV_SIZE].into_boxed_slice(),
            peers: peers.into_boxed_slice(),
            peer_lens: vec![0; batch].into_boxed_slice(),
            lens: vec![0; batch].into_boxed_slice(),
            answers: (0..batch)
                .map(|_| Vec::with_capacity(u16::MAX as usize))
                .collect(),
            outgoing: Vec::with_capacity(batch),
            iovecs: iovecs.into_boxed_slice(),
            headers: headers.into_boxed_slice(),
            count: 0,
        }
    }

    /// Blocks until at least one datagram arrives, then takes every one already queued, up
    /// to the batch size. Returns how many were received.
    pub fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        let batch = self.headers.len();
        self.outgoing.clear();
        for slot in 0..batch {
            self.iovecs[slot] = libc::iovec {
                iov_base: self.received[slot * RECV_SIZE..].as_mut_ptr().cast(),
                iov_len: RECV_SIZE,
            };
            let header = &mut self.headers[slot];
            header.msg_hdr.msg_name = (&mut self.peers[slot] as *mut libc::sockaddr_storage).cast();
            header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            header.msg_hdr.msg_iov = &mut self.iovecs[slot];
            header.msg_hdr.msg_iovlen = 1;
            header.msg_hdr.msg_control = std::ptr::null_mut();
            header.msg_hdr.msg_controllen = 0;
            header.msg_hdr.msg_flags = 0;
            header.msg_len = 0;
        }
        // SAFETY: `headers` holds `batch` initialised mmsghdr whose name and iov pointers
        // point into `peers`, `iovecs` and `received`, all owned by `self`, alive and not
        // otherwise borrowed for the duration of the call; the lengths match the buffers.
        #[allow(unsafe_code)]
        let received = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                self.headers.as_mut_ptr(),
                batch as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if received < 0 {
            self.count = 0;
            return Err(io::Error::last_os_error());
        }
        self.count = received as usize;
        for slot in 0..self.count {
            self.lens[slot] = (self.headers[slot].msg_len as usize).min(RECV_SIZE);
            self.peer_lens[slot] = self.headers[slot].msg_hdr.msg_namelen;
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
            self.iovecs[index] = libc::iovec {
                iov_base: answer.as_mut_ptr().cast(),
                iov_len: answer.len(),
            };
            let header = &mut self.headers[index];
            header.msg_hdr.msg_name = (&mut self.peers[slot] as *mut libc::sockaddr_storage).cast();
            header.msg_hdr.msg_namelen = self.peer_lens[slot];
            header.msg_hdr.msg_iov = &mut self.iovecs[index];
            header.msg_hdr.msg_iovlen = 1;
            header.msg_hdr.msg_control = std::ptr::null_mut();
            header.msg_hdr.msg_controllen = 0;
            header.msg_hdr.msg_flags = 0;
            header.msg_len = 0;
        }
        let mut sent = 0;
        while sent < total {
            // SAFETY: headers[sent..total] are initialised above and point into `peers`,
            // `iovecs` and `answers`, owned by `self` and unchanged until the call returns.
            #[allow(unsafe_code)]
            let result = unsafe {
                libc::sendmmsg(
                    socket.as_raw_fd(),
                    self.headers[sent..].as_mut_ptr(),
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
}
