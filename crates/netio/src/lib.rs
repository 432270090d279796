//! Socket calls for anyns that the safe socket crates do not offer.
//!
//! This is the one crate of the workspace allowed to contain `unsafe` (every other crate forbids it):
//! each block is a single system call (`setsockopt(2)`, `recvmsg(2)`, `recvmmsg(2)`,
//! `sendmmsg(2)`) or the walk over (or writing of) its control messages, on a
//! socket the caller owns, with a
//! `// SAFETY:` comment saying why the pointer and length are valid. Everything else is a
//! safe function taking the socket by reference.
//!
//! What it offers:
//!
//! * [`set_tcp_md5`]: the RFC 2385 TCP MD5 signature key for one peer address
//!   (Linux `TCP_MD5SIG`), on a connecting socket before `connect` or on a listening socket
//!   before the peer's SYN arrives;
//! * [`set_gtsm`]: the Generalized TTL Security Mechanism (RFC 5082): send with TTL / hop
//!   limit 255 and drop segments that arrive with less than 254 (one hop), through
//!   `IP_TTL`+`IP_MINTTL` or `IPV6_UNICAST_HOPS`+`IPV6_MINHOPCOUNT`.
//!
//! * [`recv_with_ttl`] (after [`set_recv_ttl`]): one datagram with the TTL / hop limit it
//!   arrived with, for single-hop BFD's TTL 255 check (RFC 5881 §5);
//! * [`UdpBatch`]: `recvmmsg`/`sendmmsg` batching for the UDP query path, and on a
//!   wildcard socket (after [`enable_packet_info`]) answers sent from each query's
//!   destination address (`IP_PKTINFO`/`IPV6_PKTINFO` per message);
//! * [`release_free_memory`]: glibc `malloc_trim` after a zone load.
//!
//! It deliberately does **not** open sockets, bind or connect: the daemon does that with
//! `socket2` and tokio. Linux only: the options used are Linux's.

mod memory;
mod packet_info;
mod sockopt;
mod ttl;
mod udp_batch;

pub use memory::release_free_memory;
pub use packet_info::{enable_packet_info, send_from};
pub use ttl::{Received, recv_with_ttl, set_recv_ttl};
pub use udp_batch::{DEFAULT_BATCH, RECV_SIZE, UdpBatch};

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use socket2::SockAddr;

use crate::sockopt::set_option;

/// Longest TCP-MD5 key Linux takes (`TCP_MD5SIG_MAXKEYLEN`).
pub const TCP_MD5_MAX_KEY_LEN: usize = 80;

/// The TTL (IPv4) or hop limit (IPv6) GTSM sends with.
//= https://www.rfc-editor.org/rfc/rfc5082#section-3
//# The GTSM procedure is as follows: (i) Sending protocol packets with TTL 255
pub const GTSM_TTL: u8 = 255;

/// The lowest TTL GTSM accepts for a directly connected peer (255 minus one hop).
pub const GTSM_MIN_TTL: u8 = 254;

/// `struct tcp_md5sig` from `<linux/tcp.h>`, which the `libc` crate does not define.
#[repr(C)]
struct TcpMd5Sig {
    /// The peer's address (`__kernel_sockaddr_storage`, 128 octets).
    addr: libc::sockaddr_storage,
    /// `TCP_MD5SIG_FLAG_*`; zero: match the exact address, any interface.
    flags: u8,
    /// Prefix length, used only with `TCP_MD5SIG_FLAG_PREFIX`.
    prefix_len: u8,
    /// Length of `key` in use.
    key_len: u16,
    /// Interface index, used only with `TCP_MD5SIG_FLAG_IFINDEX`.
    ifindex: libc::c_int,
    /// The key.
    key: [u8; TCP_MD5_MAX_KEY_LEN],
}

/// Sets the RFC 2385 TCP MD5 signature key for segments to and from `peer` (its port is
/// ignored); an empty `key` removes it.
///
/// Call it on a socket before `connect`, or on a listening socket before the peer connects
/// (the key is then inherited by the accepted socket). The socket's family must match
/// `peer`'s. Keys longer than [`TCP_MD5_MAX_KEY_LEN`] are rejected with `InvalidInput`.
pub fn set_tcp_md5(socket: &impl AsRawFd, peer: SocketAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > TCP_MD5_MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TCP-MD5 key longer than {TCP_MD5_MAX_KEY_LEN} octets"),
        ));
    }
    let peer = SockAddr::from(peer);
    let mut sig = TcpMd5Sig {
        addr: peer.as_storage(),
        flags: 0,
        prefix_len: 0,
        // At most 80, checked above.
        key_len: u16::try_from(key.len()).unwrap_or(0),
        ifindex: 0,
        key: [0; TCP_MD5_MAX_KEY_LEN],
    };
    sig.key[..key.len()].copy_from_slice(key);
    set_option(socket, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig)
}

/// Turns on GTSM (RFC 5082) for a directly connected peer: outgoing segments carry TTL (or
/// hop limit) 255 and incoming ones with less than 254 are dropped by the kernel.
///
/// On a listening socket it applies to the connections it accepts. `ipv6` selects the
/// IPv6 options; it must match the socket's family.
pub fn set_gtsm(socket: &impl AsRawFd, ipv6: bool) -> io::Result<()> {
    let ttl = libc::c_int::from(GTSM_TTL);
    let min_ttl = libc::c_int::from(GTSM_MIN_TTL);
    if ipv6 {
        set_option(socket, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &ttl)?;
        //= https://www.rfc-editor.org/rfc/rfc5082#section-3
        //# (ii) [...] discarding protocol packets [...] whose TTL is less than 255 minus
        //# the configured number of hops
        set_option(socket, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &min_ttl)
    } else {
        set_option(socket, libc::IPPROTO_IP, libc::IP_TTL, &ttl)?;
        set_option(socket, libc::IPPROTO_IP, libc::IP_MINTTL, &min_ttl)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr, TcpListener};

    use super::*;

    #[test]
    fn md5sig_has_the_kernel_layout() {
        // 128 (sockaddr_storage) + 1 + 1 + 2 + 4 + 80.
        assert_eq!(size_of::<TcpMd5Sig>(), 216);
    }

    #[test]
    fn md5_key_is_accepted_on_a_listener_and_long_keys_are_refused() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let peer = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2), 179));
        set_tcp_md5(&listener, peer, b"secret").unwrap();
        set_tcp_md5(&listener, peer, b"").unwrap();
        let err = set_tcp_md5(&listener, peer, &[b'x'; 81]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn gtsm_sets_ttl_and_minimum() {
        let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        set_gtsm(&v4, false).unwrap();
        assert_eq!(v4.ttl().unwrap(), 255);
        if let Ok(v6) = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) {
            set_gtsm(&v6, true).unwrap();
        }
    }
}
