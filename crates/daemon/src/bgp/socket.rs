//! BGP sockets: outgoing connections from the site's unicast address and listeners for
//! passive peers, with TCP-MD5 (RFC 2385) and GTSM (RFC 5082) through `netio`.

use std::io;
use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::config::bgp::BgpPeer;

/// Pending connections the kernel holds on a BGP listener (a handful of peers).
const LISTEN_BACKLOG: i32 = 16;

/// What an outgoing connection needs, owned so the connect future is `'static`.
#[derive(Clone, Debug)]
pub(super) struct ConnectSpec {
    peer: SocketAddr,
    local: Option<IpAddr>,
    md5_password: Option<String>,
    ttl_security: bool,
}

impl ConnectSpec {
    pub(super) fn new(peer: &BgpPeer) -> Self {
        Self {
            peer: peer.address,
            local: peer.local_address,
            md5_password: peer.md5_password.clone(),
            ttl_security: peer.ttl_security,
        }
    }

    /// Connects to the peer; the options are set before the SYN goes out.
    pub(super) async fn connect(self) -> io::Result<TcpStream> {
        let socket = new_socket(self.peer)?;
        if let Some(local) = self.local {
            socket.bind(&SocketAddr::new(local, 0).into())?;
        }
        if let Some(password) = &self.md5_password {
            netio::set_tcp_md5(&socket, self.peer, password.as_bytes())?;
        }
        if self.ttl_security {
            netio::set_gtsm(&socket, self.peer.is_ipv6())?;
        }
        let socket = TcpSocket::from_std_stream(socket.into());
        let stream = socket.connect(self.peer).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// Prepares an accepted connection of `peer`.
pub(super) fn accepted(stream: &TcpStream, peer: &BgpPeer) -> io::Result<()> {
    if peer.ttl_security {
        netio::set_gtsm(stream, peer.address.is_ipv6())?;
    }
    stream.set_nodelay(true)
}

/// Opens a listener at `at` for `peers` (all passive, all expecting connections there):
/// their MD5 keys are installed on it, and GTSM when every one of them asks for it (it
/// applies to the whole listener; an accepted connection of a GTSM peer gets it anyway).
pub(super) fn listener(at: SocketAddr, peers: &[&BgpPeer]) -> io::Result<TcpListener> {
    let socket = new_socket(at)?;
    socket.set_reuse_address(true)?;
    socket.bind(&at.into())?;
    for peer in peers {
        if let Some(password) = &peer.md5_password {
            netio::set_tcp_md5(&socket, peer.address, password.as_bytes())?;
        }
    }
    if !peers.is_empty() && peers.iter().all(|p| p.ttl_security) {
        netio::set_gtsm(&socket, at.is_ipv6())?;
    }
    socket.listen(LISTEN_BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// A non-blocking TCP socket of `address`'s family (IPv6 sockets are IPv6 only).
fn new_socket(address: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}
