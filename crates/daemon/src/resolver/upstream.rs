//! One exchange with an upstream server, as the resolution state machine asks for it: a
//! query over UDP (from a fresh socket on a random port) or TCP, from the unicast source.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::config::UnicastSources;
use crate::dns::framing::{read_message, write_message};
use crate::outbound::{tcp_to, udp_to};

/// Largest UDP answer read (we advertise 1232; a server may send more).
const UDP_BUFFER: usize = 4096;

/// Sends `message` to `to` and returns the first reply with the same ID. Over UDP,
/// datagrams with another ID are ignored (RFC 5452 §9.1: the real answer may still come);
/// the caller bounds the wait.
pub(super) async fn exchange(
    sources: &UnicastSources,
    to: SocketAddr,
    tcp: bool,
    message: &[u8],
    connect_timeout: Duration,
) -> io::Result<Vec<u8>> {
    if tcp {
        let mut stream = tcp_to(sources, to, connect_timeout).await?;
        let mut frame = Vec::with_capacity(message.len() + 2);
        write_message(&mut stream, message, &mut frame).await?;
        let mut reply = Vec::new();
        return match read_message(&mut stream, &mut reply).await? {
            Some(len) => {
                reply.truncate(len);
                Ok(reply)
            }
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before answering",
            )),
        };
    }
    let socket = udp_to(sources, to).await?;
    socket.send(message).await?;
    let mut buf = vec![0u8; UDP_BUFFER];
    loop {
        let len = socket.recv(&mut buf).await?;
        if len >= 2 && buf[..2] == message[..2] {
            buf.truncate(len);
            return Ok(buf);
        }
    }
}
