//! Sockets for queries the resolver sends upstream: bound to the site's unicast address of
//! the target's family before anything is sent, never to an anycast or unspecified
//! address (docs/design.md principle 2: an answer sent to an anycast source can be routed
//! to another site and is lost). The one place those sockets are made; the port is the
//! kernel's random ephemeral one (RFC 5452 §9.2: source port randomisation).
//!
//! Also what every outbound exchange of the daemon shares: a TCP connection bound to a
//! source before it connects ([`connect_bound`], which transfers use with their own source
//! policy) and the message IDs of the daemon's own queries ([`next_id`]).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use crate::config::UnicastSources;

/// The source for `target`, or an error when no unicast address of its family is
/// configured (then that family is not queried at all).
pub(crate) fn source_for(sources: &UnicastSources, target: SocketAddr) -> io::Result<IpAddr> {
    sources
        .for_target(target)
        .filter(|ip| !ip.is_unspecified())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("no unicast source address for {target}"),
            )
        })
}

/// A UDP socket from the unicast source to `target`, connected: the kernel then passes
/// only datagrams from `target`, and an ICMP unreachable comes back as an error.
pub(crate) async fn udp_to(sources: &UnicastSources, target: SocketAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(SocketAddr::new(source_for(sources, target)?, 0)).await?;
    socket.connect(target).await?;
    Ok(socket)
}

/// A TCP connection from the unicast source to `target`, within `timeout`.
pub(crate) async fn tcp_to(
    sources: &UnicastSources,
    target: SocketAddr,
    timeout: Duration,
) -> io::Result<TcpStream> {
    connect_bound(source_for(sources, target)?, target, timeout)
        .await
        .map_err(|err| match err {
            ConnectError::Socket(e) | ConnectError::Bind(e) | ConnectError::Connect(e) => e,
            ConnectError::TimedOut => io::Error::new(io::ErrorKind::TimedOut, "connect timed out"),
        })
}

/// Why [`connect_bound`] failed, step by step (transfers report each differently).
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// No socket could be made.
    Socket(io::Error),
    /// The source address could not be bound.
    Bind(io::Error),
    /// No connection within the timeout.
    TimedOut,
    /// The connection was refused or failed.
    Connect(io::Error),
}

/// A TCP connection to `target` from `source` (port chosen by the kernel), within
/// `timeout`.
pub(crate) async fn connect_bound(
    source: IpAddr,
    target: SocketAddr,
    timeout: Duration,
) -> Result<TcpStream, ConnectError> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(ConnectError::Socket)?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(ConnectError::Bind)?;
    tokio::time::timeout(timeout, socket.connect(target))
        .await
        .map_err(|_| ConnectError::TimedOut)?
        .map_err(ConnectError::Connect)
}

/// Message IDs for the daemon's own queries (SOA, transfers, NOTIFY, health probes):
/// varied enough to tell stray answers apart. The resolver draws its IDs from the
/// operating system's random source instead (`dns_resolve::entropy`).
pub(crate) fn next_id() -> u16 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mixed = std::process::id().wrapping_mul(0x9e37_79b9) ^ n.wrapping_mul(0x85eb_ca6b);
    (mixed ^ (mixed >> 16)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sockets_leave_from_the_unicast_source_of_the_family_only() {
        let sources = UnicastSources {
            v4: Some("127.0.0.7".parse().unwrap()),
            v6: None,
        };
        let target: SocketAddr = "127.0.0.1:53".parse().unwrap();
        let socket = udp_to(&sources, target).await.unwrap();
        assert_eq!(socket.local_addr().unwrap().ip(), sources.v4.unwrap());
        assert_ne!(socket.local_addr().unwrap().port(), 0);
        let err = udp_to(&sources, "[::1]:53".parse().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrNotAvailable);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = tcp_to(
            &sources,
            listener.local_addr().unwrap(),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
        assert_eq!(stream.local_addr().unwrap().ip(), sources.v4.unwrap());
    }
}
