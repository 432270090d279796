//! The BGP speaker: one tokio task per peer drives a sans-IO [`bgp_session::Session`], and
//! a [`BgpHandle`] lets the rest of the daemon announce, withdraw and stop.
//!
//! ```text
//!   serve / health ──► BgpHandle ──Command──► peer task ──► Session (bgp-session)
//!                          ▲                    │  ▲  TCP (socket2 + netio: MD5, GTSM)
//!                          └── watch<PeerStatus>┘  └─ listener task (passive peers)
//! ```
//!
//! The speaker lives in the DNS process on purpose (fate sharing, see
//! `docs/decisions/0003-bgp-in-process.md`): if the process dies, its TCP sessions die
//! with it and the peers withdraw the service prefix at once.
//!
//! Connections: an active peer is connected to from `local-address` (the site's unicast
//! address). A passive peer is accepted on a listener at `local-address`:`port`, and an
//! active peer with `listen-port` is also accepted at `local-address`:`listen-port`: both
//! sides may then connect at once, and the session resolves the collision by BGP Identifier
//! (RFC 4271 §6.8, in `bgp-session`). Peers accepted at the same address share its
//! listener, which hands each connection to the task of the peer it comes from (others
//! are closed).
//!
//! Peers with `bfd = true` also get a single-hop BFD session (module `bfd`), so routers
//! that support it detect a frozen process within the BFD Detection Time.

mod bfd_driver;
mod driver;
mod socket;
mod status;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bgp_session::bgp_wire::Prefix;
use bgp_session::{Command, State};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::error::Error;

pub use status::PeerStatus;

use crate::config::bgp::{BgpConfig, BgpPeer};

/// One running peer.
struct PeerHandle {
    address: SocketAddr,
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<PeerStatus>,
}

/// The running speaker; dropping it ends the peer tasks (their connections close).
pub struct BgpHandle {
    peers: Vec<PeerHandle>,
    /// The BFD sessions' command channels.
    bfd: Vec<mpsc::UnboundedSender<bfd::Command>>,
}

impl BgpHandle {
    /// Opens the listeners (passive peers, and active ones with `listen-port`) and starts one task per peer. Must be called
    /// inside the tokio runtime.
    pub fn start(config: &BgpConfig) -> Result<Self, Error> {
        // Peers whose connections are accepted at the same address share a listener.
        let mut listeners: BTreeMap<SocketAddr, Vec<&BgpPeer>> = BTreeMap::new();
        for peer in &config.peers {
            if let Some(at) = peer.listen_at {
                listeners.entry(at).or_default().push(peer);
            }
        }
        let mut receivers = BTreeMap::new();
        for (at, peers) in &listeners {
            let listener = socket::listener(*at, peers)
                .map_err(|e| Error::io(format!("bgp listener {at}"), e))?;
            let mut routes = BTreeMap::new();
            for peer in peers {
                let (tx, rx) = mpsc::channel(4);
                routes.insert(peer.address.ip(), tx);
                receivers.insert(peer.address.ip(), rx);
            }
            info!(address = %at, peers = peers.len(), "bgp listening");
            tokio::spawn(accept_loop(listener, routes));
        }
        let mut peers = Vec::new();
        let mut bfd_peers = Vec::new();
        for peer in &config.peers {
            let (commands, command_rx) = mpsc::unbounded_channel();
            bfd_peers.extend(bfd_driver::BfdPeer::new(peer, commands.clone()));
            let (status_tx, status) = watch::channel(PeerStatus::new());
            let accepted = receivers.remove(&peer.address.ip());
            tokio::spawn(driver::Driver::new(peer.clone(), command_rx, accepted, status_tx).run());
            peers.push(PeerHandle {
                address: peer.address,
                commands,
                status,
            });
        }
        let bfd = bfd_driver::start(bfd_peers).map_err(|e| Error::io("bfd", e))?;
        Ok(Self { peers, bfd })
    }

    /// Announces a configured prefix to every peer (refused, and logged, if it is not in
    /// `bgp.prefixes`).
    pub fn announce(&self, prefix: Prefix) {
        self.send(&Command::Announce(prefix));
    }

    /// Withdraws a prefix from every peer.
    pub fn withdraw(&self, prefix: Prefix) {
        self.send(&Command::Withdraw(prefix));
    }

    /// Keeps announcing a prefix with the GRACEFUL_SHUTDOWN community (RFC 8326), so peers
    /// move traffic away before a withdraw.
    pub fn graceful_shutdown(&self, prefix: Prefix) {
        self.send(&Command::GracefulShutdown(prefix));
    }

    /// Stops every session with Cease/Administrative Shutdown carrying `message` as the
    /// RFC 9003 shutdown communication; they are not restarted.
    pub fn stop(&self, message: &str) {
        self.send(&Command::Stop {
            message: message.to_string(),
        });
        // RFC 5880 §6.8.16: tell the BFD peers this is administrative, not a failure.
        for session in &self.bfd {
            let _ = session.send(bfd::Command::AdminDown);
        }
    }

    /// Each peer's address and status channel.
    pub fn status(&self) -> Vec<(SocketAddr, watch::Receiver<PeerStatus>)> {
        self.peers
            .iter()
            .map(|p| (p.address, p.status.clone()))
            .collect()
    }

    /// Waits until every session is Idle with its connection closed (after [`Self::stop`]:
    /// the NOTIFICATION went out and the peer closed), or until `timeout` passes. Returns
    /// whether all did.
    pub async fn wait_closed(&self, timeout: Duration) -> bool {
        let all = async {
            for peer in &self.peers {
                let mut status = peer.status.clone();
                // An error means the task ended, which closed its connection.
                let _ = status
                    .wait_for(|s| s.state == State::Idle && !s.connection_open)
                    .await;
            }
        };
        tokio::time::timeout(timeout, all).await.is_ok()
    }

    fn send(&self, command: &Command) {
        for peer in &self.peers {
            if peer.commands.send(command.clone()).is_err() {
                warn!(peer = %peer.address, ?command, "bgp peer task has ended");
            }
        }
    }
}

/// Accepts connections for the passive peers of one listener and hands each to its peer's
/// task; connections from other addresses are closed at once.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    routes: BTreeMap<IpAddr, mpsc::Sender<tokio::net::TcpStream>>,
) {
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                warn!("bgp accept: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match routes.get(&from.ip()) {
            Some(route) => {
                if route.try_send(stream).is_err() {
                    debug!(%from, "bgp peer task busy, connection closed");
                }
            }
            None => debug!(%from, "bgp connection from an unconfigured address closed"),
        }
    }
}
