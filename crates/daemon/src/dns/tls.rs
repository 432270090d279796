//! TLS listeners: DNS over TLS (RFC 7858) and, on unicast listeners, zone transfers over
//! TLS (RFC 9103). The handshake (rustls, bounded by the TCP idle timeout) comes first;
//! then the connection is served exactly as a plain TCP one (`tcp::serve_connection`).

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::{debug, warn};

use super::context::DnsContext;
use super::tcp::serve_connection;
use crate::resolver::Resolver;

/// The TLS server configuration a TLS listener hands new connections; SIGHUP swaps in one
/// loaded from the files again.
pub(crate) type TlsSettings = Arc<arc_swap::ArcSwap<rustls::ServerConfig>>;

/// Accepts connections on a TLS listener forever: DNS over TLS (RFC 7858), and, where
/// `transfers_allowed` (unicast listeners) and the session is TLS 1.3, zone transfers
/// over TLS (RFC 9103 §9). The same RFC 7766 rules as plain TCP: connection limit, idle
/// timeout (which also bounds the handshake), pipelined queries.
pub(crate) async fn serve_tls(
    listener: TcpListener,
    transfers_allowed: bool,
    context: Arc<DnsContext>,
    resolver: Option<Arc<Resolver>>,
    tls: TlsSettings,
) {
    let mut next_id = u64::MAX / 2;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                warn!("tls accept: {err}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        next_id += 1;
        let id = next_id;
        let Some(close) = context.connections.admit(id, context.tcp_max_connections) else {
            debug!(%peer, "tcp connection limit reached, refusing a TLS connection");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (context, resolver) = (context.clone(), resolver.clone());
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.load_full());
        tokio::spawn(async move {
            let session = async {
                let stream =
                    match tokio::time::timeout(context.tcp_idle_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(err)) => {
                            debug!(%peer, "tls handshake: {err}");
                            return Ok(());
                        }
                        Err(_) => {
                            debug!(%peer, "tls handshake timed out");
                            return Ok(());
                        }
                    };
                let tls13 =
                    stream.get_ref().1.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
                let transfers = transfers_allowed && tls13;
                serve_connection(stream, id, peer.ip(), transfers, &context, resolver).await
            };
            tokio::select! {
                result = session => {
                    if let Err(err) = result {
                        debug!(%peer, "tls: {err}");
                    }
                }
                () = close.notified() => debug!(%peer, "tls: closed to make room"),
            }
            context.connections.remove(id);
        });
    }
}
