//! DNS over TCP (RFC 7766): several queries per connection answered in the order
//! received, an idle timeout, and a connection limit that closes the connection idle the
//! longest when a new one arrives at the limit (`state::Connections`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use dns_auth::{Outcome, Transport};
use dns_wire::Query;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpListener;
use tracing::{debug, warn};

use super::context::DnsContext;
use super::dispatch::{Dispatched, dispatch};
use super::framing;
use crate::resolver::Resolver;
use crate::transfer::xfr_out::{TransferSources, serve_transfer};

/// Accepts connections on `listener` forever. `transfers_allowed`: the listener serves
/// AXFR/IXFR (unicast listeners, by default); `resolver`: it is a resolver listener.
pub(crate) async fn serve(
    listener: TcpListener,
    transfers_allowed: bool,
    context: Arc<DnsContext>,
    resolver: Option<Arc<Resolver>>,
) {
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
        let Some(close) = context.connections.admit(id, context.tcp_max_connections) else {
            debug!(%peer, "tcp connection limit reached, refusing");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let context = context.clone();
        let resolver = resolver.clone();
        tokio::spawn(async move {
            tokio::select! {
                result = serve_connection(stream, id, peer.ip(), transfers_allowed, &context, resolver) => {
                    if let Err(err) = result {
                        debug!(%peer, "tcp: {err}");
                    }
                }
                () = close.notified() => debug!(%peer, "tcp: closed to make room"),
            }
            context.connections.remove(id);
        });
    }
}

/// One connection's queries, in order, until it closes or idles out (RFC 7766).
pub(super) async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    id: u64,
    peer: IpAddr,
    transfers_allowed: bool,
    context: &DnsContext,
    resolver: Option<Arc<Resolver>>,
) -> std::io::Result<()> {
    let mut msg = vec![0u8; framing::MAX_MESSAGE];
    let mut answer = Vec::with_capacity(framing::MAX_MESSAGE);
    let mut frame = Vec::with_capacity(framing::MAX_MESSAGE + 2);
    let mut query = Query::empty();
    loop {
        //= https://www.rfc-editor.org/rfc/rfc7766#section-6.2.3
        //# DNS servers SHOULD ... close idle connections after a timeout
        let len =
            match tokio::time::timeout(context.tcp_idle_timeout, framing::read_length(&mut stream))
                .await
            {
                Err(_) | Ok(Ok(None)) => return Ok(()),
                Ok(result) => result?.unwrap_or_default(),
            };
        context.connections.set_idle(id, false);
        tokio::time::timeout(context.tcp_idle_timeout, stream.read_exact(&mut msg[..len]))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "query not completed")
            })??;
        let msg = &msg[..len];
        let counters = context.counters.tcp();
        let arrived = crate::clock::now();
        let answered = |counters: &crate::state::QueryCounters| {
            let nanos = crate::clock::now().duration_since(arrived).as_nanos() as u64;
            counters.record_latency(nanos, 1, false);
        };
        match dispatch(
            context,
            resolver.as_deref(),
            msg,
            &mut query,
            Some(peer),
            Transport::Tcp,
            counters,
            false,
            &mut answer,
        ) {
            Dispatched::Answered { len, .. } | Dispatched::Notified(len) => {
                framing::write_message(&mut stream, &answer[..len], &mut frame).await?;
                answered(counters);
            }
            Dispatched::Resolve { cookie } => {
                let Some(resolver) = &resolver else {
                    return Ok(());
                };
                let outcome = resolver
                    .answer_over_tcp(msg, &query, cookie, &mut answer)
                    .await;
                counters.record(&outcome, false);
                if let Outcome::Answered { len, .. } = outcome {
                    framing::write_message(&mut stream, &answer[..len], &mut frame).await?;
                    answered(counters);
                }
            }
            Dispatched::Transfer => {
                let sources = TransferSources {
                    zones: &context.zones,
                    transfers: &context.transfers,
                    answer: &context.answer,
                };
                serve_transfer(&mut stream, msg, &query, peer, transfers_allowed, &sources).await?;
            }
            // A malformed or response message: nothing sensible to say; close (RFC 7766
            // §6.2.4 lets servers close).
            Dispatched::Nothing => return Ok(()),
        }
        context.connections.set_idle(id, true);
    }
}
