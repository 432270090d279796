//! `anyns serve`: load zones, open sockets, start UDP threads and the TCP runtime, start
//! the BGP speaker and the health checks (which announce each cloud once it is healthy),
//! then wait for signals: SIGHUP reloads; SIGTERM drains (GRACEFUL_SHUTDOWN, withdraw, wait
//! until queries stop arriving) and then stops the BGP sessions with a shutdown
//! communication; SIGINT stops at once.
//!
//! This is the only place that builds the shared state (`state`, `transfer::state`) and
//! hands each task the pieces it uses; no module imports this one.

use std::sync::Arc;
use std::time::Duration;

use dns_auth::AnswerConfig;
use dns_zone::{Zone, ZoneSet};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

use crate::announce::Health;
use crate::bgp::BgpHandle;
use crate::clock;
use crate::config::HealthConfig;
use crate::config::{Config, ConfigError, KeyPath, Listen, Service, Transport};
use crate::control::{self, Controlled, ReloadRequest};
use crate::dns::context::DnsContext;
use crate::dns::{tcp, tls, udp};
use crate::error::Error;
use crate::metrics;
use crate::resolver::Resolver;
use crate::sockets;
use crate::state::{Connections, Counters, ZoneStore};
use crate::supervise::Supervisor;
use crate::transfer::notify::send_notifies;
use crate::transfer::secondary::{Secondaries, spawn_secondaries};
use crate::transfer::state::{JournalWrite, Transfers};
use crate::zones::{self, NewVersion};

/// The RFC 9003 shutdown communication sent to BGP peers when the process stops.
const SHUTDOWN_MESSAGE: &str = "anyns shutting down";

/// How long the Cease NOTIFICATIONs may take to go out (and the peers to close) before the
/// process exits anyway; peers see the TCP session drop then, which withdraws as well.
const BGP_STOP_TIMEOUT: Duration = Duration::from_secs(1);

/// A reload's new versions whose serial changed, each with the write that stores its
/// journal.
type NewVersions = Vec<(Arc<Zone>, Option<JournalWrite>)>;

/// Before a reload's new versions serve: the difference of each whose serial changed goes
/// to the journal in memory, so that an IXFR asking for a new serial is answered
/// incrementally from the moment the serial is served (a primary serving a version it
/// cannot yet give as a difference would send the whole zone).
fn journal_new_versions(transfers: &Transfers, old: &ZoneSet, new: &[NewVersion]) -> NewVersions {
    new.iter()
        .filter_map(|(zone, difference)| {
            let previous = old.get(zone.origin())?;
            (previous.serial() != zone.serial()).then(|| {
                let write = transfers.record_new_version(previous, zone, difference.as_ref());
                (zone.clone(), write)
            })
        })
        .collect()
}

/// After the new versions serve: NOTIFY their secondaries, then store the journals (the
/// journal in memory answers IXFR at once; a primary's copy is its zone file).
fn announce_new_versions(transfers: &Transfers, changed: NewVersions) {
    for (zone, write) in changed {
        send_notifies(transfers, zone.origin(), zone.soa_record());
        if let Some(write) = write {
            transfers.store_journal(write);
        }
    }
}

/// Runs the server until SIGTERM or SIGINT; a supervisor's instances are stopped after the
/// drain (they serve while the routes move away) and before the BGP sessions close.
pub(crate) fn serve(config: Config, supervisor: Option<Supervisor>) -> Result<(), Error> {
    let zones = Arc::new(ZoneStore::new(zones::load_all(
        &config.zones,
        config.storage.as_deref(),
    )?));
    let (transfers, secondaries) = Transfers::new(&config);
    let transfers = Arc::new(transfers);
    netio::release_free_memory();
    let keepalive_units = (config.tcp_idle_timeout.as_millis() / 100).min(u16::MAX as u128) as u16;
    let counters = Arc::new(Counters::default());
    let connections = Arc::new(Connections::default());
    let context = Arc::new(DnsContext {
        zones: zones.clone(),
        answer: AnswerConfig {
            udp_payload: config.udp_payload,
            identity: config.identity.as_ref().map(|i| i.as_bytes().into()),
            version: config.version.as_ref().map(|v| v.as_bytes().into()),
            tcp_keepalive: keepalive_units,
        },
        counters: counters.clone(),
        connections: connections.clone(),
        tcp_idle_timeout: config.tcp_idle_timeout,
        tcp_max_connections: config.tcp_max_connections,
        udp_batch_window: config.udp_batch_window,
        answer_cache: config.answer_cache,
        rate_limit: config.rate_limit.clone(),
        transfers: transfers.clone(),
        cookies: config.cookies.clone(),
    });
    let mut tcp_listeners = Vec::new();
    // Every socket is bound before any worker answers: once one address answers, all do
    // (and a bind failure stops start-up before anything was served).
    let mut udp_listeners = Vec::new();
    if !config.shared_listen {
        for (i, listen) in config.listen.iter().enumerate() {
            if sockets::in_use_by_another(listen.address) {
                return Err(Error::Config(
                    ConfigError::new(
                        KeyPath::root("listen").index(i).key("address"),
                        format!(
                            "{} is in use by another process: a second anyns there would take a \
                             share of its queries (SO_REUSEPORT)",
                            listen.address
                        ),
                    )
                    .hint("stop the other server, or set [server] shared-listen = true on every instance of one site"),
                ));
            }
        }
    }
    for listen in config
        .listen
        .iter()
        .filter(|l| l.transport == Transport::Plain)
    {
        udp_listeners.push((
            sockets::udp_sockets(listen.address, config.udp_workers)?,
            listen,
        ));
        tcp_listeners.push((sockets::tcp_listener(listen.address)?, listen));
    }
    let mut tls_listeners = Vec::new();
    for listen in config
        .listen
        .iter()
        .filter(|l| l.transport == Transport::Tls)
    {
        tls_listeners.push((sockets::tcp_listener(listen.address)?, listen));
    }
    let tls_settings: Option<tls::TlsSettings> = config
        .tls
        .as_ref()
        .map(|t| Arc::new(arc_swap::ArcSwap::new(t.server.clone())));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Error::io("tokio runtime", e))?;
    // The resolver's own runtime: parsing upstream answers must not delay the BGP and BFD
    // timers of the main one.
    let resolver_runtime = match &config.resolver {
        Some(_) => Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("resolver")
                .enable_all()
                .build()
                .map_err(|e| Error::io("resolver runtime", e))?,
        ),
        None => None,
    };
    let resolver = match (&config.resolver, &resolver_runtime) {
        (Some(resolver_config), Some(resolver_runtime)) => Some(Arc::new(Resolver::new(
            resolver_config,
            config.identity.as_ref().map(|i| i.as_bytes().to_vec()),
            counters.udp_worker(),
            resolver_runtime.handle().clone(),
        ))),
        _ => None,
    };
    let service_of = |listen: &Listen| match listen.service {
        Service::Resolver => resolver.clone(),
        Service::Authoritative => None,
    };
    for (sockets, listen) in udp_listeners {
        udp::spawn_workers(
            sockets,
            listen.address,
            &context,
            service_of(listen).as_ref(),
        );
        info!(address = %listen.address, role = ?listen.role, service = ?listen.service, udp_workers = config.udp_workers, "listening");
    }
    let tcp_listeners: Vec<_> = tcp_listeners
        .into_iter()
        .map(|(listener, listen)| (listener, listen.transfers, service_of(listen)))
        .collect();
    let tls_listeners: Vec<_> = tls_listeners
        .into_iter()
        .map(|(listener, listen)| {
            info!(address = %listen.address, role = ?listen.role, transfers = listen.transfers, "listening (TLS)");
            (listener, listen.transfers, service_of(listen))
        })
        .collect();
    runtime.block_on(async move {
        for (listener, transfers_allowed, resolver) in tcp_listeners {
            let listener = tokio::net::TcpListener::from_std(listener)
                .map_err(|e| Error::io("tcp listener", e))?;
            tokio::spawn(tcp::serve(
                listener,
                transfers_allowed,
                context.clone(),
                resolver,
            ));
        }
        for (listener, transfers_allowed, resolver) in tls_listeners {
            let listener = tokio::net::TcpListener::from_std(listener)
                .map_err(|e| Error::io("tls listener", e))?;
            if let Some(settings) = &tls_settings {
                tokio::spawn(tls::serve_tls(
                    listener,
                    transfers_allowed,
                    context.clone(),
                    resolver,
                    settings.clone(),
                ));
            }
        }
        spawn_secondaries(
            &Secondaries {
                zones: zones.clone(),
                transfers: transfers.clone(),
            },
            secondaries,
        );
        // Zones are loaded and every listener is up: start the speaker with nothing
        // announced; the health driver announces each cloud once its checks pass
        // (docs/design.md principle 3) and withdraws it when they fail.
        let bgp = match &config.bgp {
            Some(bgp_config) => {
                let bgp = Arc::new(BgpHandle::start(bgp_config)?);
                info!(
                    peers = bgp_config.peers.len(),
                    prefixes = bgp_config.prefixes.len(),
                    "bgp speaker started"
                );
                Some(bgp)
            }
            None => None,
        };
        let health = config
            .health
            .as_ref()
            .map(|h| Health::start(h, &zones, &transfers, bgp.clone()));
        if let Some(address) = config.metrics {
            metrics::start(
                address,
                metrics::Sources {
                    zones: zones.clone(),
                    counters: counters.clone(),
                    connections: connections.clone(),
                    transfers: transfers.clone(),
                    bgp: bgp.clone(),
                    health: health.as_ref().map(Health::requester),
                    resolver: resolver.clone(),
                    identity: config.identity.clone(),
                    started: clock::now(),
                },
            )?;
        }
        let (reload_requests, mut reloads) = tokio::sync::mpsc::unbounded_channel();
        let control_socket = match &config.control_socket {
            Some(path) => Some(control::start(
                path,
                Controlled {
                    health: health.as_ref().map(Health::requester),
                    resolver: resolver.clone(),
                    zones: zones.clone(),
                    transfers: transfers.clone(),
                    bgp: bgp.clone(),
                    reload: reload_requests,
                    counters: counters.clone(),
                },
            )?),
            None => None,
        };
        let mut hangup = signal(SignalKind::hangup()).map_err(|e| Error::io("SIGHUP", e))?;
        let mut terminate = signal(SignalKind::terminate()).map_err(|e| Error::io("SIGTERM", e))?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| Error::io("SIGINT", e))?;
        // Log rotators send SIGUSR1 (and some tools SIGUSR2): their default action would
        // kill the daemon without a word. anyns logs to stderr and keeps no file to reopen.
        let mut user1 =
            signal(SignalKind::user_defined1()).map_err(|e| Error::io("SIGUSR1", e))?;
        let mut user2 =
            signal(SignalKind::user_defined2()).map_err(|e| Error::io("SIGUSR2", e))?;
        info!("serving");
        let notifier = crate::systemd::Notifier::from_env().map(Arc::new);
        if let Some(notifier) = &notifier {
            notifier.ready(&format!(
                "serving {} zones on {} listeners",
                zones.snapshot().len(),
                config.listen.len()
            ));
            if let Some(first) = config.listen.iter().find(|l| l.transport == Transport::Plain) {
                let probe = crate::systemd::probe_address(first.address);
                tokio::spawn(notifier.clone().watchdog(probe));
            }
        }
        loop {
            tokio::select! {
                _ = hangup.recv() => {
                    if let (Some(tls), Some(settings)) = (&config.tls, &tls_settings) {
                        match tls.reload() {
                            Ok(server) => {
                                settings.store(server);
                                info!(certificate = %tls.certificate.display(), "SIGHUP: TLS certificate and key reloaded");
                            }
                            Err(err) => warn!("SIGHUP: TLS files not reloaded, the loaded ones stay: {err}"),
                        }
                    }
                    if let Some(file) = &config.source {
                        match Config::from_file(file) {
                            Ok(new) => {
                                let changed = config.changes_needing_restart(&new);
                                if changed.is_empty() {
                                    info!(file = %file.display(), "SIGHUP: configuration unchanged");
                                } else {
                                    warn!(
                                        file = %file.display(), changed = %changed.join(", "),
                                        "SIGHUP: configuration sections changed that need a restart to apply; zone files are reloaded, everything else runs as before"
                                    );
                                }
                            }
                            Err(err) => warn!("SIGHUP: the configuration file is not valid now, the running configuration stays: {err}"),
                        }
                    }
                    info!("SIGHUP: reloading zones");
                    let zone_configs = config.zones.clone();
                    let store = zones.clone();
                    let journals = transfers.clone();
                    let reloaded = tokio::task::spawn_blocking(move || {
                        let before = store.snapshot();
                        let fresh = zones::reload_primaries(&zone_configs, &before);
                        let changed = journal_new_versions(&journals, &before, &fresh);
                        // Into the latest set: a transfer may have swapped a secondary in
                        // meanwhile, and that must not be lost.
                        let fresh: Vec<Arc<Zone>> = fresh.into_iter().map(|(zone, _)| zone).collect();
                        store.insert_all(&fresh);
                        netio::release_free_memory();
                        changed
                    }).await;
                    match reloaded {
                        Ok(changed) => announce_new_versions(&transfers, changed),
                        Err(err) => warn!("reload task failed: {err}"),
                    }
                }
                Some(request) = reloads.recv() => {
                    reload_one(&config, &zones, &transfers, request).await;
                }
                _ = terminate.recv() => {
                    if let Some(notifier) = &notifier {
                        notifier.stopping();
                    }
                    if let (Some(health), Some(health_config)) = (&health, &config.health) {
                        if health_config.drain_on_sigterm {
                            drain(health, health_config, &counters).await;
                        }
                    }
                    if let Some(resolver) = &resolver {
                        finish_resolutions(resolver).await;
                    }
                    break;
                }
                _ = interrupt.recv() => {
                    if let Some(notifier) = &notifier {
                        notifier.stopping();
                    }
                    break;
                }
                _ = user1.recv() => info!("SIGUSR1: ignored (logs go to stderr; no file to reopen)"),
                _ = user2.recv() => info!("SIGUSR2: ignored"),
            }
        }
        if let Some(socket) = &control_socket {
            socket.remove();
        }
        if let Some(supervisor) = &supervisor {
            supervisor.stop();
        }
        if let Some(bgp) = &bgp {
            bgp.stop(SHUTDOWN_MESSAGE);
            if !bgp.wait_closed(BGP_STOP_TIMEOUT).await {
                warn!("bgp: not every session closed within {BGP_STOP_TIMEOUT:?}; exiting anyway");
            }
        }
        let (udp, tcp) = (counters.udp_totals(), counters.tcp_totals());
        info!(
            udp_queries = udp.queries,
            udp_truncated = udp.truncated,
            tcp_queries = tcp.queries,
            dropped = udp.dropped + tcp.dropped,
            "stopping"
        );
        Ok(())
    })
}

/// `zone reload ZONE` from the control socket: that zone's file loaded again; on success it
/// is served, journaled and announced (NOTIFY) like after SIGHUP; on failure the served
/// version stays and the operator gets the error.
async fn reload_one(
    config: &Config,
    zones: &Arc<ZoneStore>,
    transfers: &Arc<Transfers>,
    request: ReloadRequest,
) {
    let Some(zone_config) = config
        .zones
        .iter()
        .find(|z| z.origin == request.origin)
        .cloned()
    else {
        let _ = request.reply.send(Err(
            "not a zone of the configuration (a catalog member?)".into()
        ));
        return;
    };
    info!(zone = %dns_wire::name_to_text(&request.origin), "control: reloading zone");
    let serving = zones.snapshot().get(&request.origin).cloned();
    let loaded = tokio::task::spawn_blocking(move || {
        zones::load_or_reload(&zone_config, serving.as_deref())
    })
    .await;
    let answer = match loaded {
        Ok(Ok((zone, difference))) => {
            let before = zones.snapshot();
            let zone = Arc::new(zone);
            let new = [(zone.clone(), difference)];
            let changed = journal_new_versions(transfers, &before, &new);
            zones.insert(zone.clone());
            netio::release_free_memory();
            announce_new_versions(transfers, changed);
            Ok(zone.serial())
        }
        Ok(Err(err)) => Err(err.to_string()),
        Err(err) => Err(format!("reload task failed: {err}")),
    };
    let _ = request.reply.send(answer);
}

/// Every this often a drain samples the query counters.
const DRAIN_SAMPLE: Duration = Duration::from_millis(50);

/// Leaves politely (docs/design.md principle 4): GRACEFUL_SHUTDOWN, withdraw, then keep
/// serving until no query has arrived for the quiet period (the routers have moved the
/// catchment), or until the drain timeout.
/// Waits (at most a resolution's timeout) until the resolutions in progress have sent
/// their answers: a query that arrived before the drain ended is answered, not dropped.
async fn finish_resolutions(resolver: &Resolver) {
    let deadline = clock::now() + resolver.resolution_timeout() + Duration::from_secs(1);
    while resolver.pending() > 0 && clock::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if resolver.pending() > 0 {
        warn!(
            pending = resolver.pending(),
            "stopping with resolutions unanswered"
        );
    }
}

async fn drain(health: &Health, config: &HealthConfig, counters: &Counters) {
    let started = clock::now();
    info!("SIGTERM: draining");
    let withdraw_bound = config.policy.graceful_shutdown + Duration::from_secs(2);
    if !health.drain(withdraw_bound.min(config.drain_timeout)).await {
        warn!("drain: not every cloud withdrawn in time; continuing");
    }
    // Our own probes would look like traffic.
    health.stop_checks();
    let queries = || counters.queries();
    let mut last = queries();
    let mut last_change = clock::now();
    let mut second = (clock::now(), last);
    loop {
        tokio::time::sleep(DRAIN_SAMPLE).await;
        let now = clock::now();
        let count = queries();
        if count != last {
            last = count;
            last_change = now;
        }
        if now.duration_since(second.0) >= Duration::from_secs(1) {
            info!(
                queries_per_second = count - second.1,
                "drain: queries still arriving"
            );
            second = (now, count);
        }
        if now.duration_since(last_change) >= config.drain_quiet {
            info!(elapsed = ?now.duration_since(started), quiet = ?config.drain_quiet, "drain: queries have stopped");
            return;
        }
        if now.duration_since(started) >= config.drain_timeout {
            warn!(timeout = ?config.drain_timeout, "drain: timeout with queries still arriving");
            return;
        }
    }
}
