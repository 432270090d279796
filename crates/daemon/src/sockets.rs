//! Opening listening sockets: several UDP sockets per address with SO_REUSEPORT (the
//! kernel spreads queries over them, one per worker thread), one TCP listener per address.

use std::net::{SocketAddr, TcpListener, UdpSocket};

use socket2::{Domain, Protocol, Socket, Type};

use crate::error::Error;

/// Kernel receive buffer per UDP socket: room for bursts while a worker is busy.
const UDP_RECV_BUFFER: usize = 4 << 20;
/// Pending connections the kernel holds for us.
const TCP_BACKLOG: i32 = 1024;

fn io_error(address: SocketAddr, what: &str, err: std::io::Error) -> Error {
    Error::io(format!("{what} {address}"), err)
}

/// Whether another process already listens on `address` (UDP or TCP): a bind without
/// SO_REUSEPORT fails then. Our own sockets all set SO_REUSEPORT (several workers, and
/// several instances of a site, share an address), so without this check a second
/// daemon started by mistake would silently take a share of the queries.
pub(crate) fn in_use_by_another(address: SocketAddr) -> bool {
    let taken = |kind: Type, protocol: Protocol| -> bool {
        let Ok(socket) = Socket::new(Domain::for_address(address), kind, Some(protocol)) else {
            return false;
        };
        if address.is_ipv6() {
            let _ = socket.set_only_v6(true);
        }
        // A TCP port kept in TIME_WAIT by our own earlier run is not "in use".
        let _ = socket.set_reuse_address(kind == Type::STREAM);
        matches!(
            socket.bind(&address.into()),
            Err(err) if err.kind() == std::io::ErrorKind::AddrInUse
        )
    };
    taken(Type::DGRAM, Protocol::UDP) || taken(Type::STREAM, Protocol::TCP)
}

/// Opens `count` UDP sockets bound to `address` with SO_REUSEPORT.
pub(crate) fn udp_sockets(address: SocketAddr, count: usize) -> Result<Vec<UdpSocket>, Error> {
    (0..count)
        .map(|_| {
            let socket = Socket::new(
                Domain::for_address(address),
                Type::DGRAM,
                Some(Protocol::UDP),
            )
            .map_err(|e| io_error(address, "udp socket", e))?;
            if address.is_ipv6() {
                socket
                    .set_only_v6(true)
                    .map_err(|e| io_error(address, "IPV6_V6ONLY", e))?;
            }
            socket
                .set_reuse_port(true)
                .map_err(|e| io_error(address, "SO_REUSEPORT", e))?;
            // Best effort: the kernel caps it at net.core.rmem_max.
            let _ = socket.set_recv_buffer_size(UDP_RECV_BUFFER);
            socket
                .bind(&address.into())
                .map_err(|e| io_error(address, "bind udp", e))?;
            Ok(socket.into())
        })
        .collect()
}

/// Opens a TCP listener on `address` (non-blocking, for tokio).
pub(crate) fn tcp_listener(address: SocketAddr) -> Result<TcpListener, Error> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .map_err(|e| io_error(address, "tcp socket", e))?;
    if address.is_ipv6() {
        socket
            .set_only_v6(true)
            .map_err(|e| io_error(address, "IPV6_V6ONLY", e))?;
    }
    socket
        .set_reuse_address(true)
        .map_err(|e| io_error(address, "SO_REUSEADDR", e))?;
    // Several instances (processes) of a site share the service address (decision 0005):
    // the kernel spreads new connections over their listeners, as it does datagrams.
    socket
        .set_reuse_port(true)
        .map_err(|e| io_error(address, "SO_REUSEPORT", e))?;
    socket
        .set_nodelay(true)
        .map_err(|e| io_error(address, "TCP_NODELAY", e))?;
    socket
        .bind(&address.into())
        .map_err(|e| io_error(address, "bind tcp", e))?;
    socket
        .listen(TCP_BACKLOG)
        .map_err(|e| io_error(address, "listen", e))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| io_error(address, "nonblocking", e))?;
    Ok(socket.into())
}
