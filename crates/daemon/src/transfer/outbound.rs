//! Sockets for what the site sends itself (SOA queries, transfers, NOTIFY): every one is
//! bound to the zone's unicast source address, never to an anycast one (docs/design.md
//! principle 2: an answer to an anycast source could be routed to another site).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpStream, UdpSocket};

use super::error::TransferError;
use crate::outbound::{ConnectError, connect_bound};

/// Connecting for a transfer or an SOA query over TCP.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The address to bind for talking to `target`: the configured source when it is of the
/// target's family, else the unspecified address of that family (the kernel picks).
pub(crate) fn source_for(source: Option<IpAddr>, target: SocketAddr) -> IpAddr {
    match source {
        Some(ip) if ip.is_ipv4() == target.is_ipv4() => ip,
        _ if target.is_ipv4() => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        _ => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// A UDP socket bound to `source` (port chosen by the kernel) for talking to `target`.
pub(crate) async fn udp_socket(
    source: Option<IpAddr>,
    target: SocketAddr,
) -> std::io::Result<UdpSocket> {
    UdpSocket::bind(SocketAddr::new(source_for(source, target), 0)).await
}

/// A TCP connection to `target` from `source`.
pub(crate) async fn connect_from(
    source: Option<IpAddr>,
    target: SocketAddr,
) -> Result<TcpStream, TransferError> {
    connect_bound(source_for(source, target), target, CONNECT_TIMEOUT)
        .await
        .map_err(|err| match err {
            ConnectError::Socket(e) => TransferError::Io("socket", e),
            ConnectError::Bind(e) => TransferError::BindSource(e),
            ConnectError::TimedOut => TransferError::TimedOut("connect"),
            ConnectError::Connect(e) => TransferError::Io("connect", e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_used_only_for_its_own_family() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let to_v4: SocketAddr = "198.51.100.1:53".parse().unwrap();
        let to_v6: SocketAddr = "[2001:db8::1]:53".parse().unwrap();
        assert_eq!(source_for(Some(v4), to_v4), v4);
        assert_eq!(
            source_for(Some(v4), to_v6),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        );
        assert_eq!(source_for(None, to_v4), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }

    #[tokio::test]
    async fn sockets_leave_from_the_source_address() {
        let target: SocketAddr = "127.0.0.1:53".parse().unwrap();
        let source: IpAddr = "127.0.0.2".parse().unwrap();
        let socket = udp_socket(Some(source), target).await.unwrap();
        assert_eq!(socket.local_addr().unwrap().ip(), source);
    }
}
