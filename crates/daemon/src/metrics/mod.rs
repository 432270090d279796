//! Metrics for Prometheus: `GET /metrics` on `[server] metrics` (an address the operator
//! chooses, unicast or loopback, never the anycast service address), and `GET /status`,
//! the site's state as one JSON object for `anyns fleet` (identity, clouds, zones with
//! their serials, BGP peers, queries answered).
//!
//! ```text
//!   UDP workers ──► own QueryCounters ─┐
//!   TCP tasks ────► shared block ──────┼──► scrape: sum + zones + BGP peers + health ──► text
//! ```
//! The endpoint is a few lines of HTTP/1.1 over tokio (docs/decisions/0007: one GET does
//! not need an HTTP stack); a scrape asks the health driver for its report like `anyns
//! status` does and reads the BGP sessions' status watches.

mod exposition;
mod slots;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::announce::{Report, Request};
use crate::bgp::BgpHandle;
use crate::clock::unix_now;
use crate::error::Error;
use crate::resolver::Resolver;
use crate::state::{Connections, Counters, ZoneStore};
use crate::transfer::state::Transfers;

/// Longest request head read.
const MAX_REQUEST: usize = 8192;
/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole exchange may take (a client that does not read its answer is cut).
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(15);

type Requester = mpsc::UnboundedSender<(Request, oneshot::Sender<Report>)>;

/// What a scrape reads.
#[derive(Clone)]
pub(crate) struct Sources {
    pub(crate) zones: Arc<ZoneStore>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) connections: Arc<Connections>,
    pub(crate) transfers: Arc<Transfers>,
    pub(crate) bgp: Option<Arc<BgpHandle>>,
    pub(crate) health: Option<Requester>,
    pub(crate) resolver: Option<Arc<Resolver>>,
    /// The site's identity (NSID), shown by `GET /status`.
    pub(crate) identity: Option<String>,
    /// When the process started serving.
    pub(crate) started: std::time::Instant,
}

/// Binds `address` and serves scrapes until the runtime ends.
pub(crate) fn start(address: SocketAddr, sources: Sources) -> Result<(), Error> {
    let bind = |e: std::io::Error| Error::io(format!("metrics listener {address}"), e);
    let listener = std::net::TcpListener::bind(address).map_err(bind)?;
    listener.set_nonblocking(true).map_err(bind)?;
    let listener = TcpListener::from_std(listener).map_err(bind)?;
    info!(%address, "metrics listening (GET /metrics)");
    let slots = Arc::new(slots::Slots::default());
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let Some(slot) = slots.admit() else {
                        debug!("metrics connection: every slot busy, dropped");
                        continue;
                    };
                    let (sources, slots) = (sources.clone(), slots.clone());
                    tokio::spawn(async move {
                        let id = slot.id;
                        let exchange = serve_one(stream, &sources, slot, &slots);
                        match tokio::time::timeout(EXCHANGE_TIMEOUT, exchange).await {
                            Ok(Err(err)) => debug!("metrics connection: {err}"),
                            Err(_) => debug!("metrics connection: timed out"),
                            Ok(Ok(())) => {}
                        }
                        slots.release(id);
                    });
                }
                Err(err) => {
                    warn!("metrics accept: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(())
}

/// Reads one request head, answers it, closes; gives up the wait for the request when a
/// newer connection needs the slot.
async fn serve_one(
    mut stream: TcpStream,
    sources: &Sources,
    slot: slots::Slot,
    slots: &slots::Slots,
) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let reading = tokio::time::timeout(REQUEST_TIMEOUT, async {
        let mut chunk = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&chunk[..n]);
        }
        Ok::<_, std::io::Error>(())
    });
    let read = tokio::select! {
        read = reading => read,
        _ = slot.closed => {
            debug!("metrics connection: idle, closed for a newer one");
            return Ok(());
        }
    };
    if !matches!(read, Ok(Ok(()))) {
        return Ok(());
    }
    slots.request_read(slot.id);
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
    let (status, content_type, body) = match (words.next(), words.next()) {
        (Some("GET"), Some("/metrics")) => ("200 OK", TEXT, scrape(sources).await),
        (Some("GET"), Some("/status")) => ("200 OK", "application/json", status(sources).await),
        (Some("GET"), Some(_)) => (
            "404 Not Found",
            TEXT,
            "not found: try /metrics or /status\n".to_string(),
        ),
        _ => (
            "405 Method Not Allowed",
            TEXT,
            "GET /metrics or /status only\n".to_string(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// The health driver's report, if there are health checks (and the driver runs).
async fn health_report(sources: &Sources) -> Option<Report> {
    let requests = sources.health.as_ref()?;
    let (reply, report) = oneshot::channel();
    requests.send((Request::Status, reply)).ok()?;
    report.await.ok()
}

/// `GET /status`: the site's state for the fleet view.
async fn status(sources: &Sources) -> String {
    let clouds = health_report(sources).await.map(|report| report.clouds);
    let sources = sources.clone();
    // Off the runtime's one worker thread, like a scrape (a catalog may be long).
    let rendered = tokio::task::spawn_blocking(move || {
        serde_json::json!({
            "identity": sources.identity,
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_seconds": sources.started.elapsed().as_secs_f64(),
            "queries_total": sources.counters.queries(),
            "clouds": clouds,
            "zones": crate::views::zone_list(&sources.zones, &sources.transfers),
            "peers": sources.bgp.as_deref().map(crate::views::bgp_peers),
        })
        .to_string()
    })
    .await;
    rendered.unwrap_or_else(|err| serde_json::json!({ "error": err.to_string() }).to_string())
}

/// One scrape's text.
async fn scrape(sources: &Sources) -> String {
    let health = health_report(sources).await;
    let peers = sources
        .bgp
        .as_ref()
        .map(|bgp| {
            bgp.status()
                .into_iter()
                .map(|(peer, status)| (peer, status.borrow().clone()))
                .collect()
        })
        .unwrap_or_default();
    let sources = sources.clone();
    // Rendering is linear in the zones but may be long for a large catalog: off the
    // runtime's one worker thread, which also drives BGP, BFD and TCP.
    let rendered = tokio::task::spawn_blocking(move || {
        let zones = sources.zones.snapshot();
        exposition::render(&exposition::Snapshot {
            udp: sources.counters.udp_totals(),
            tcp: sources.counters.tcp_totals(),
            tcp_connections: sources.connections.count(),
            zones: &zones,
            now: unix_now(),
            lags: sources.transfers.lags(),
            peers,
            health,
            resolver: sources.resolver.as_deref().map(resolver_totals),
            transfers: sources.transfers.results(),
            control: sources.counters.control_counts(),
        })
    })
    .await;
    rendered.unwrap_or_else(|err| format!("# rendering failed: {err}\n"))
}

/// The resolver's counters and cache size now.
fn resolver_totals(resolver: &Resolver) -> exposition::ResolverTotals {
    use std::sync::atomic::Ordering::Relaxed;
    let cache = resolver.cache();
    let (cache_entries, cache_bytes) = cache.size();
    let cache_stats = cache.stats();
    let stats = &resolver.stats;
    exposition::ResolverTotals {
        cache_hits: cache_stats.hits,
        cache_misses: cache_stats.misses,
        cache_evictions: cache_stats.evictions,
        cache_entries,
        cache_bytes,
        upstream_udp: stats.upstream_udp.load(Relaxed),
        upstream_tcp: stats.upstream_tcp.load(Relaxed),
        upstream_failures: stats.upstream_failures.load(Relaxed),
        resolutions: stats.resolutions.load(Relaxed),
        failures: std::array::from_fn(|i| stats.failures[i].load(Relaxed)),
        rtt: resolver.rtt_histogram(),
        overflows: stats.overflows.load(Relaxed),
        client_limited: stats.client_limited.load(Relaxed),
        stale: stats.stale.load(Relaxed),
        joined: stats.joined.load(Relaxed),
        secure: stats.secure.load(Relaxed),
        insecure: stats.insecure.load(Relaxed),
        bogus: stats.bogus.load(Relaxed),
        cookies: resolver.cookie_counts(),
        pending: resolver.pending(),
    }
}
