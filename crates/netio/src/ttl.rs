//! Receiving a datagram together with the TTL (IPv4) or hop limit (IPv6) it arrived with,
//! for protocols that check it themselves: single-hop BFD accepts only 255 (RFC 5881 §5),
//! and `IP_MINTTL` does not apply to UDP sockets.
//!
//! `std`, `socket2` and `nix` 0.29 cannot read the `IP_TTL`/`IPV6_HOPLIMIT` control
//! messages, hence one `recvmsg(2)` here.

use std::io;
use std::mem::{size_of, size_of_val, zeroed};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use socket2::SockAddr;

/// Asks the kernel to attach the received TTL (`IP_RECVTTL`) or hop limit
/// (`IPV6_RECVHOPLIMIT`) to each datagram, for [`recv_with_ttl`]. `ipv6` must match the
/// socket's family.
pub fn set_recv_ttl(socket: &impl AsRawFd, ipv6: bool) -> io::Result<()> {
    let on: libc::c_int = 1;
    if ipv6 {
        crate::sockopt::set_option(socket, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, &on)
    } else {
        crate::sockopt::set_option(socket, libc::IPPROTO_IP, libc::IP_RECVTTL, &on)
    }
}

/// One received datagram: what [`recv_with_ttl`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Octets written to the buffer (a longer datagram is cut to the buffer).
    pub len: usize,
    /// The sender.
    pub source: SocketAddr,
    /// The TTL or hop limit it arrived with; `None` if [`set_recv_ttl`] was not called.
    pub ttl: Option<u8>,
}

/// Receives one datagram into `buf` with its sender and received TTL / hop limit. On a
/// non-blocking socket with nothing queued it fails with `WouldBlock`, so it fits tokio's
/// `UdpSocket::async_io`.
pub fn recv_with_ttl(socket: &impl AsRawFd, buf: &mut [u8]) -> io::Result<Received> {
    // Room for two int-sized control messages, aligned for cmsghdr.
    let mut control = [0u64; 8];
    // SAFETY: sockaddr_storage and msghdr are plain C structs for which all zero bytes is
    // a valid (empty) value.
    #[allow(unsafe_code)]
    let (mut storage, mut msg) =
        unsafe { (zeroed::<libc::sockaddr_storage>(), zeroed::<libc::msghdr>()) };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    msg.msg_name = (&raw mut storage).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of_val(&control);
    // SAFETY: `msg` points at `storage`, `iov` (which points at `buf`) and `control`, all
    // alive and exclusively borrowed for the call, with their true lengths; the kernel
    // writes at most those lengths.
    #[allow(unsafe_code)]
    let received = unsafe { libc::recvmsg(socket.as_raw_fd(), &raw mut msg, 0) };
    if received < 0 {
        return Err(io::Error::last_os_error());
    }
    let len = usize::try_from(received).unwrap_or(0).min(buf.len());
    let mut ttl = None;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel just filled, bounded by
    // the `msg_controllen` it set; each header they return lies inside `control`, and its
    // data is read unaligned as the int both options carry.
    #[allow(unsafe_code)]
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        while !cmsg.is_null() {
            let header = &*cmsg;
            let is_ttl = (header.cmsg_level == libc::IPPROTO_IP
                && header.cmsg_type == libc::IP_TTL)
                || (header.cmsg_level == libc::IPPROTO_IPV6
                    && header.cmsg_type == libc::IPV6_HOPLIMIT);
            if is_ttl {
                let value = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
                ttl = u8::try_from(value).ok();
            }
            cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
        }
    }
    // SAFETY: the kernel wrote a socket address of `msg_namelen` octets into `storage`,
    // which is large enough for any family.
    #[allow(unsafe_code)]
    let source = unsafe { SockAddr::new(storage, msg.msg_namelen) };
    let source = source
        .as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP sender"))?;
    Ok(Received { len, source, ttl })
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv6Addr, UdpSocket};

    use super::*;

    #[test]
    fn reports_the_ttl_each_datagram_arrived_with() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        set_recv_ttl(&receiver, false).unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = receiver.local_addr().unwrap();
        sender.set_ttl(255).unwrap();
        sender.send_to(b"bfd", to).unwrap();
        sender.set_ttl(17).unwrap();
        sender.send_to(b"low", to).unwrap();
        let mut buf = [0u8; 64];
        let first = recv_with_ttl(&receiver, &mut buf).unwrap();
        assert_eq!(&buf[..first.len], b"bfd");
        assert_eq!(first.source, sender.local_addr().unwrap());
        assert_eq!(first.ttl, Some(255));
        assert_eq!(recv_with_ttl(&receiver, &mut buf).unwrap().ttl, Some(17));
    }

    #[test]
    fn reports_the_hop_limit_over_ipv6_and_nothing_without_the_option() {
        let Ok(receiver) = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)) else {
            return; // no IPv6 loopback here
        };
        set_recv_ttl(&receiver, true).unwrap();
        let sender = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
        let socket = socket2::SockRef::from(&sender);
        socket.set_unicast_hops_v6(255).unwrap();
        sender
            .send_to(b"x", receiver.local_addr().unwrap())
            .unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(recv_with_ttl(&receiver, &mut buf).unwrap().ttl, Some(255));

        let plain = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"y", plain.local_addr().unwrap()).unwrap();
        assert_eq!(recv_with_ttl(&plain, &mut buf).unwrap().ttl, None);
    }
}
