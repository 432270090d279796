//! The destination address of a datagram received on a wildcard socket (`0.0.0.0`, `::`)
//! and the source address its reply must leave from: `IP_PKTINFO` / `IPV6_PKTINFO` control
//! messages (ip(7), ipv6(7)).
//!
//! An anycast server listening on a wildcard address must answer from the address the
//! query was sent to (the anycast one), not from whatever address the kernel's routing
//! would pick, or the client drops the answer. `std`, `socket2` and `nix` cannot attach
//! these control messages to `recvmmsg`/`sendmmsg` without allocating, hence the raw
//! `CMSG_*` walks here, each over a buffer this module owns.

use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

/// Asks the kernel to attach each datagram's destination address (`IP_PKTINFO`, or
/// `IPV6_RECVPKTINFO` when `ipv6`) so that [`crate::UdpBatch`] can answer from it. `ipv6`
/// must match the socket's family.
pub fn enable_packet_info(socket: &impl AsRawFd, ipv6: bool) -> io::Result<()> {
    let on: libc::c_int = 1;
    if ipv6 {
        crate::sockopt::set_option(socket, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, &on)
    } else {
        crate::sockopt::set_option(socket, libc::IPPROTO_IP, libc::IP_PKTINFO, &on)
    }
}

/// Sends one datagram `message` to `peer` on `socket` without blocking, from `source`
/// when given (a wildcard socket answering from the address a query was sent to, as
/// [`crate::UdpBatch`] does for a batch): for answers written later than the batch their
/// query came in, such as a resolver's. A full socket buffer fails with `WouldBlock`.
pub fn send_from(
    socket: &impl AsRawFd,
    message: &[u8],
    peer: std::net::SocketAddr,
    source: Option<IpAddr>,
) -> io::Result<usize> {
    let destination = match source {
        Some(IpAddr::V4(v4)) => Destination::V4(v4),
        Some(IpAddr::V6(v6)) => Destination::V6(v6, 0),
        None => Destination::Unknown,
    };
    let mut control = ControlBuffer::EMPTY;
    let control_len = destination.write_source(&mut control);
    let peer = socket2::SockAddr::from(peer);
    let mut iov = libc::iovec {
        iov_base: message.as_ptr().cast_mut().cast(),
        iov_len: message.len(),
    };
    // SAFETY: msghdr is a plain C struct for which all zero bytes is a valid value.
    #[allow(unsafe_code)]
    let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
    header.msg_name = peer.as_ptr().cast_mut().cast();
    header.msg_namelen = peer.len();
    header.msg_iov = &raw mut iov;
    header.msg_iovlen = 1;
    if control_len > 0 {
        header.msg_control = control.as_control().0;
        header.msg_controllen = control_len;
    }
    // SAFETY: `header` points at `peer`, `iov` (which points at `message`, only read by
    // the kernel despite the `*mut` the C type asks for) and `control` (holding one
    // well-formed control message of `control_len` octets), all alive for the call.
    #[allow(unsafe_code)]
    let sent = unsafe { libc::sendmsg(socket.as_raw_fd(), &raw const header, libc::MSG_DONTWAIT) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(sent).unwrap_or(0))
}

/// Room for one control message of either family, aligned for `cmsghdr`. 64 octets hold a
/// header (16) and an `in6_pktinfo` (20) with padding; a longer one is cut by the kernel
/// (`MSG_CTRUNC`) and then simply not found.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub(crate) struct ControlBuffer([u8; 64]);

impl ControlBuffer {
    pub(crate) const EMPTY: Self = Self([0; 64]);

    /// The buffer as `msg_control`/`msg_controllen` for one `msghdr`.
    pub(crate) fn as_control(&mut self) -> (*mut libc::c_void, usize) {
        (self.0.as_mut_ptr().cast(), self.0.len())
    }
}

/// Where one datagram was sent to, as the kernel reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Destination {
    /// No packet information (not asked for, or cut).
    Unknown,
    V4(Ipv4Addr),
    /// The address and the interface it arrived on (needed to reply from a link-local one).
    V6(Ipv6Addr, u32),
}

impl Destination {
    pub(crate) fn ip(self) -> Option<IpAddr> {
        match self {
            Self::Unknown => None,
            Self::V4(address) => Some(address.into()),
            Self::V6(address, _) => Some(address.into()),
        }
    }

    /// Reads the destination from the control messages of a message the kernel has just
    /// filled (`msg_control` pointing into a [`ControlBuffer`], `msg_controllen` set by it).
    pub(crate) fn of(header: &libc::msghdr) -> Self {
        let mut found = Self::Unknown;
        // SAFETY: the CMSG_* macros walk the control buffer the kernel just filled, bounded
        // by the `msg_controllen` it set; each header they return lies inside that buffer,
        // and its data is read unaligned as the struct its level and type say it carries
        // (the kernel writes exactly that struct for these two types).
        #[allow(unsafe_code)]
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(header);
            while !cmsg.is_null() {
                let message = &*cmsg;
                if message.cmsg_level == libc::IPPROTO_IP && message.cmsg_type == libc::IP_PKTINFO {
                    let info =
                        std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::in_pktinfo>());
                    found = Self::V4(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)));
                } else if message.cmsg_level == libc::IPPROTO_IPV6
                    && message.cmsg_type == libc::IPV6_PKTINFO
                {
                    let info =
                        std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::in6_pktinfo>());
                    found = Self::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr), info.ipi6_ifindex);
                }
                cmsg = libc::CMSG_NXTHDR(header, cmsg);
            }
        }
        found
    }

    /// Writes the control message that makes a reply leave from this address into
    /// `buffer`; returns `msg_controllen` (0: nothing to attach).
    pub(crate) fn write_source(self, buffer: &mut ControlBuffer) -> usize {
        match self {
            Self::Unknown => 0,
            Self::V4(address) => {
                let info = libc::in_pktinfo {
                    // Zero: let routing choose the interface, only the source is fixed.
                    ipi_ifindex: 0,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(address).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                write_one(buffer, libc::IPPROTO_IP, libc::IP_PKTINFO, &info)
            }
            Self::V6(address, interface) => {
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: address.octets(),
                    },
                    // A link-local source is only meaningful on the interface it came in on.
                    ipi6_ifindex: if address.is_unicast_link_local() {
                        interface
                    } else {
                        0
                    },
                };
                write_one(buffer, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &info)
            }
        }
    }
}

/// Writes one control message carrying `value` at the start of `buffer`; returns its space.
fn write_one<T: Copy>(
    buffer: &mut ControlBuffer,
    level: libc::c_int,
    kind: libc::c_int,
    value: &T,
) -> usize {
    let data_len = size_of::<T>() as libc::c_uint;
    // SAFETY: CMSG_SPACE and CMSG_LEN only compute sizes. The buffer is aligned for
    // `cmsghdr` and 64 octets long, more than CMSG_SPACE of either pktinfo struct (checked
    // by a test), so the header and the data written through CMSG_DATA lie inside it; the
    // data is written unaligned. The msghdr built here only serves to locate the first
    // header and is not kept.
    #[allow(unsafe_code)]
    unsafe {
        let space = libc::CMSG_SPACE(data_len) as usize;
        debug_assert!(space <= buffer.0.len());
        buffer.0[..space].fill(0);
        let mut header: libc::msghdr = std::mem::zeroed();
        header.msg_control = buffer.0.as_mut_ptr().cast();
        header.msg_controllen = space;
        let cmsg = libc::CMSG_FIRSTHDR(&header);
        (*cmsg).cmsg_level = level;
        (*cmsg).cmsg_type = kind;
        (*cmsg).cmsg_len = libc::CMSG_LEN(data_len) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<T>(), *value);
        space
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_from_picks_the_source_on_a_wildcard_socket() {
        let server = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let peer = client.local_addr().unwrap();
        for last in [4u8, 5] {
            let source = IpAddr::from([127, 0, 0, last]);
            assert_eq!(send_from(&server, b"late", peer, Some(source)).unwrap(), 4);
            let mut buf = [0u8; 8];
            let (len, from) = client.recv_from(&mut buf).unwrap();
            assert_eq!((&buf[..len], from), (&b"late"[..], (source, port).into()));
        }
        // Without a source the kernel chooses (loopback answers from 127.0.0.1).
        send_from(&server, b"x", peer, None).unwrap();
        let mut buf = [0u8; 8];
        let (_, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!(from.ip(), IpAddr::from([127, 0, 0, 1]));
    }

    #[test]
    fn both_control_messages_fit_the_buffer() {
        #[allow(unsafe_code)]
        // SAFETY: size computations only.
        let (v4, v6) = unsafe {
            (
                libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as libc::c_uint) as usize,
                libc::CMSG_SPACE(size_of::<libc::in6_pktinfo>() as libc::c_uint) as usize,
            )
        };
        assert!(v4 <= size_of::<ControlBuffer>());
        assert!(v6 <= size_of::<ControlBuffer>());
    }

    #[test]
    fn a_written_source_reads_back_as_the_destination() {
        for destination in [
            Destination::V4(Ipv4Addr::new(192, 0, 2, 53)),
            Destination::V6("2001:db8::53".parse().unwrap(), 0),
        ] {
            let mut buffer = ControlBuffer::EMPTY;
            let len = destination.write_source(&mut buffer);
            assert!(len > 0);
            #[allow(unsafe_code)]
            // SAFETY: msghdr is a plain C struct; all zero bytes is a valid value.
            let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
            let (control, _) = buffer.as_control();
            header.msg_control = control;
            header.msg_controllen = len;
            // A reply's pktinfo carries the source in ipi_spec_dst (v4), which a received
            // one does not: read back the v6 address, and for v4 only check the type.
            match (destination, Destination::of(&header)) {
                (Destination::V6(sent, _), Destination::V6(read, _)) => assert_eq!(sent, read),
                (Destination::V4(_), Destination::V4(_)) => {}
                other => panic!("read back {other:?}"),
            }
        }
        let mut buffer = ControlBuffer::EMPTY;
        assert_eq!(Destination::Unknown.write_source(&mut buffer), 0);
    }
}
