//! DNS over TCP (RFC 7766): 2-octet length framing, several queries per connection
//! answered in the order received, an idle timeout, and a connection limit that closes the
//! connection idle the longest when a new one arrives at the limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dns_auth::{Outcome, Transport, respond};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::serve::Shared;

/// The open connections, for shedding the longest-idle one at the limit.
#[derive(Default)]
pub(crate) struct Connections {
    inner: Mutex<HashMap<u64, Connection>>,
}

struct Connection {
    idle_since: Option<Instant>,
    close: Arc<Notify>,
}

impl Connections {
    /// Registers a connection, first closing the longest-idle one when at `limit`. Returns
    /// `None` when at the limit with no idle connection to shed.
    fn admit(&self, id: u64, limit: usize) -> Option<Arc<Notify>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.len() >= limit {
            let oldest = inner
                .iter()
                .filter_map(|(id, c)| c.idle_since.map(|since| (since, *id)))
                .min()
                .map(|(_, id)| id);
            let victim = oldest.and_then(|id| inner.remove(&id))?;
            victim.close.notify_one();
        }
        let close = Arc::new(Notify::new());
        inner.insert(
            id,
            Connection {
                idle_since: Some(Instant::now()),
                close: close.clone(),
            },
        );
        Some(close)
    }

    fn set_idle(&self, id: u64, idle: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(connection) = inner.get_mut(&id) {
            connection.idle_since = idle.then(Instant::now);
        }
    }

    /// How many connections are open.
    pub(crate) fn count(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn remove(&self, id: u64) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}

/// Accepts connections on `listener` forever.
pub(crate) async fn serve(listener: TcpListener, transfers_allowed: bool, shared: Arc<Shared>) {
    let mut next_id = 0u64;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                warn!("tcp accept: {err}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        next_id += 1;
        let id = next_id;
        let Some(close) = shared.connections.admit(id, shared.tcp_max_connections) else {
            debug!(%peer, "tcp connection limit reached, refusing");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            tokio::select! {
                result = serve_connection(stream, id, peer.ip(), transfers_allowed, &shared) => {
                    if let Err(err) = result {
                        debug!(%peer, "tcp: {err}");
                    }
                }
                () = close.notified() => debug!(%peer, "tcp: closed to make room"),
            }
            shared.connections.remove(id);
        });
    }
}

async fn serve_connection(
    mut stream: TcpStream,
    id: u64,
    peer: std::net::IpAddr,
    transfers_allowed: bool,
    shared: &Arc<Shared>,
) -> std::io::Result<()> {
    let mut query = vec![0u8; u16::MAX as usize];
    let mut answer = Vec::with_capacity(u16::MAX as usize);
    let mut frame = Vec::with_capacity(u16::MAX as usize + 2);
    loop {
        let mut length = [0u8; 2];
        //= https://www.rfc-editor.org/rfc/rfc7766#section-6.2.3
        //# DNS servers SHOULD ... close idle connections after a timeout
        match tokio::time::timeout(shared.tcp_idle_timeout, stream.read_exact(&mut length)).await {
            Err(_) => return Ok(()),
            Ok(Err(err)) if err.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(result) => result?,
        };
        shared.connections.set_idle(id, false);
        let len = u16::from_be_bytes(length) as usize;
        tokio::time::timeout(
            shared.tcp_idle_timeout,
            stream.read_exact(&mut query[..len]),
        )
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "query not completed"))??;
        let msg = &query[..len];
        if crate::transfer::is_notify(msg) {
            if let Some(len) = crate::transfer::handle_notify(shared, msg, peer, &mut answer) {
                frame.clear();
                frame.extend_from_slice(&(len as u16).to_be_bytes());
                frame.extend_from_slice(&answer[..len]);
                stream.write_all(&frame).await?;
            }
            shared.connections.set_idle(id, true);
            continue;
        }
        if let Ok(parsed) = dns_wire::Query::parse(msg) {
            if crate::transfer::is_transfer(&parsed) {
                crate::transfer::serve_transfer(
                    &mut stream,
                    msg,
                    &parsed,
                    peer,
                    transfers_allowed,
                    shared,
                )
                .await?;
                shared.connections.set_idle(id, true);
                continue;
            }
        }
        let zones = shared.zones.load();
        let outcome = respond(
            &query[..len],
            &zones,
            &shared.answer,
            Transport::Tcp,
            &mut answer,
        );
        drop(zones);
        shared.counters.tcp().record(&outcome, false);
        match outcome {
            Outcome::Answered { len, .. } => {
                frame.clear();
                frame.extend_from_slice(&(len as u16).to_be_bytes());
                frame.extend_from_slice(&answer[..len]);
                stream.write_all(&frame).await?;
            }
            // A malformed or response message: nothing sensible to say; close (RFC 7766 §6.2.4 lets servers close).
            Outcome::Dropped => return Ok(()),
        }
        shared.connections.set_idle(id, true);
    }
}
