//! Single-hop BFD (RFC 5880, RFC 5881) for the BGP peers with `bfd = true`: one tokio task
//! per peer drives a sans-IO [`bfd::Session`], and one receive task per local address
//! hands it the peer's packets.
//!
//! ```text
//!   peer:any ──UDP──► local:3784 ── receive task (TTL 255 check, demultiplex) ──► peer task
//!   peer task ── Session ── UDP from local:49152-65535, TTL 255 ──► peer:3784
//!       └── Up → Down: Command::BfdDown to the peer's BGP session
//! ```
//!
//! The tasks run on the runtime that serves DNS and BGP, so a frozen or stopped process
//! stops sending BFD at once and the router's BFD session goes down within its Detection
//! Time, taking the BGP routes with it; the BGP hold timer would take 90 s.
//!
//! RFC 5881 §5 wants received packets to carry TTL (hop limit) 255: the receive socket
//! asks for `IP_RECVTTL`/`IPV6_RECVHOPLIMIT` and the receive task drops anything else
//! (`IP_MINTTL` filters TCP only). Sent packets carry 255 through `IP_TTL`/
//! `IPV6_UNICAST_HOPS`.
//!
//! Demultiplexing (RFC 5880 §6.3): a packet whose Your Discriminator is nonzero goes to
//! the session with that discriminator, if it came from that session's peer; one with
//! zero goes to the session of its source address. The interface is not checked: the
//! peer's address is on a directly connected subnet and the TTL check keeps off-link
//! senders out.

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bfd::{BfdEvent, Config, ControlPacket, Session, Settings, State};
use bgp_session::Command as BgpCommand;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::clock::now;
use crate::config::bgp::{BgpPeer, PeerBfd};

/// Packets queued for one session; BFD sends a handful a second, so a full queue means
/// the task is stuck and dropping is right.
const QUEUE: usize = 16;

/// Receive buffer: a Control packet is 24 octets (more with authentication).
const RECV_BUFFER: usize = 128;

/// One peer's BFD, as [`start`] needs it.
pub(super) struct BfdPeer {
    /// The peer's address.
    pub(super) address: IpAddr,
    /// Our address toward it.
    pub(super) local: IpAddr,
    /// Intervals and multiplier.
    pub(super) settings: PeerBfd,
    /// Its BGP session, told when BFD goes down.
    pub(super) bgp: mpsc::UnboundedSender<BgpCommand>,
}

impl BfdPeer {
    /// The BFD part of `peer`, if it has BFD on and a local address.
    pub(super) fn new(peer: &BgpPeer, bgp: mpsc::UnboundedSender<BgpCommand>) -> Option<Self> {
        Some(Self {
            address: peer.address.ip(),
            local: peer.local_address?,
            settings: peer.bfd?,
            bgp,
        })
    }
}

/// A random 64-bit value from the standard library's per-process hash keys.
fn random() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(u64::from(std::process::id()));
    hasher.finish()
}

/// Opens the sockets and starts the tasks; returns a command channel per session (for
/// AdminDown at shutdown). Must be called inside the tokio runtime.
pub(super) fn start(peers: Vec<BfdPeer>) -> io::Result<Vec<mpsc::UnboundedSender<bfd::Command>>> {
    let mut by_local: BTreeMap<IpAddr, Routes> = BTreeMap::new();
    let mut commands = Vec::new();
    // Discriminators: distinct, nonzero and hard to guess (RFC 5880 §6.3).
    let base = random();
    for (index, peer) in peers.into_iter().enumerate() {
        let offset = u32::try_from(index).unwrap_or(u32::MAX);
        let discriminator = match (base as u32).wrapping_add(offset) {
            0 => u32::MAX - offset,
            d => d,
        };
        let socket = sender(peer.local, peer.address, discriminator)
            .map_err(|e| io::Error::new(e.kind(), format!("bfd to {}: {e}", peer.address)))?;
        let settings = Settings {
            local_discriminator: discriminator,
            desired_min_tx: peer.settings.interval,
            required_min_rx: peer.settings.interval,
            detect_mult: peer.settings.multiplier,
            jitter_seed: base ^ u64::from(discriminator),
        };
        let config = Config::try_from(settings)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let (packet_tx, packet_rx) = mpsc::channel(QUEUE);
        let (command_tx, command_rx) = mpsc::unbounded_channel();
        let routes = by_local.entry(peer.local).or_default();
        routes
            .by_discriminator
            .insert(discriminator, (peer.address, packet_tx.clone()));
        routes.by_address.insert(peer.address, packet_tx);
        info!(peer = %peer.address, local = %socket.local_addr()?, discriminator,
            interval_ms = peer.settings.interval.as_millis() as u64,
            multiplier = peer.settings.multiplier, "bfd session starting");
        let task = PeerTask {
            peer: peer.address,
            session: Session::new(config, now()),
            socket,
            packets: packet_rx,
            commands: command_rx,
            bgp: peer.bgp,
        };
        tokio::spawn(task.run());
        commands.push(command_tx);
    }
    for (local, routes) in by_local {
        let socket = receiver(local)
            .map_err(|e| io::Error::new(e.kind(), format!("bfd listen {local}: {e}")))?;
        tokio::spawn(receive_loop(socket, routes));
    }
    Ok(commands)
}

/// Where the receive task sends each packet.
#[derive(Default)]
struct Routes {
    by_discriminator: BTreeMap<u32, (IpAddr, mpsc::Sender<Vec<u8>>)>,
    by_address: BTreeMap<IpAddr, mpsc::Sender<Vec<u8>>>,
}

impl Routes {
    fn route(&self, source: IpAddr, bytes: &[u8]) -> Option<&mpsc::Sender<Vec<u8>>> {
        // Malformed packets go to the session anyway (it counts and logs the discard),
        // routed by address.
        let your = ControlPacket::parse(bytes).map_or(0, |p| p.your_discriminator);
        if your != 0 {
            let (address, route) = self.by_discriminator.get(&your)?;
            return (*address == source).then_some(route);
        }
        self.by_address.get(&source)
    }
}

/// The socket peers send to: `local`:3784, reporting each packet's TTL.
fn receiver(local: IpAddr) -> io::Result<UdpSocket> {
    let at = SocketAddr::new(local, bfd::CONTROL_PORT);
    let socket = udp_socket(at)?;
    socket.set_reuse_address(true)?;
    netio::set_recv_ttl(&socket, at.is_ipv6())?;
    socket.bind(&at.into())?;
    UdpSocket::from_std(socket.into())
}

/// The socket one session sends from: `local`, a source port in 49152-65535 that stays
/// the same for the session (RFC 5881 §4), TTL 255, connected to `peer`:3784.
fn sender(local: IpAddr, peer: IpAddr, seed: u32) -> io::Result<UdpSocket> {
    let ports = u32::from(bfd::SOURCE_PORTS.end() - bfd::SOURCE_PORTS.start()) + 1;
    let mut last = io::Error::from(io::ErrorKind::AddrInUse);
    for attempt in 0..64u32 {
        let offset = seed.wrapping_add(attempt.wrapping_mul(7919)) % ports;
        // `offset` < 16384, so the port fits.
        let port = bfd::SOURCE_PORTS.start() + u16::try_from(offset).unwrap_or(0);
        let at = SocketAddr::new(local, port);
        let socket = udp_socket(at)?;
        if let Err(e) = socket.bind(&at.into()) {
            last = e;
            continue;
        }
        //= https://www.rfc-editor.org/rfc/rfc5881#section-5
        //# If BFD authentication is not in use on a session, all BFD Control packets for
        //# the session MUST be sent with a Time to Live (TTL) or Hop Limit value of 255.
        if at.is_ipv6() {
            socket.set_unicast_hops_v6(u32::from(bfd::TTL))?;
        } else {
            socket.set_ttl(u32::from(bfd::TTL))?;
        }
        socket.connect(&SocketAddr::new(peer, bfd::CONTROL_PORT).into())?;
        return UdpSocket::from_std(socket.into());
    }
    Err(last)
}

/// A non-blocking UDP socket of `address`'s family (IPv6 sockets are IPv6 only).
fn udp_socket(address: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// Reads packets sent to one local address and hands each to its session.
async fn receive_loop(socket: UdpSocket, routes: Routes) {
    let mut buf = [0u8; RECV_BUFFER];
    loop {
        let received = socket
            .async_io(Interest::READABLE, || {
                netio::recv_with_ttl(&socket, &mut buf)
            })
            .await;
        let received = match received {
            Ok(received) => received,
            Err(err) => {
                warn!("bfd receive: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let source = received.source.ip();
        //= https://www.rfc-editor.org/rfc/rfc5881#section-5
        //# If BFD authentication is not in use on a session, all BFD Control packets for
        //# the session MUST be sent with a Time to Live (TTL) or Hop Limit value of 255.
        //# All received BFD Control packets that are demultiplexed to the session MUST be
        //# discarded if the received TTL or Hop Limit is not equal to 255.
        if received.ttl != Some(bfd::TTL) {
            debug!(%source, ttl = ?received.ttl, "bfd packet dropped: TTL is not 255");
            continue;
        }
        let bytes = &buf[..received.len];
        match routes.route(source, bytes) {
            Some(route) => {
                if route.try_send(bytes.to_vec()).is_err() {
                    debug!(%source, "bfd session queue full, packet dropped");
                }
            }
            None => debug!(%source, "bfd packet for no session dropped"),
        }
    }
}

/// One peer's BFD task.
struct PeerTask {
    peer: IpAddr,
    session: Session,
    socket: UdpSocket,
    packets: mpsc::Receiver<Vec<u8>>,
    commands: mpsc::UnboundedReceiver<bfd::Command>,
    bgp: mpsc::UnboundedSender<BgpCommand>,
}

impl PeerTask {
    /// Runs until the speaker is dropped.
    async fn run(mut self) {
        let mut out = Vec::with_capacity(bfd::PACKET_LEN);
        loop {
            while self.session.poll_transmit(&mut out) {
                // A lost packet is what BFD is built to tolerate; an ICMP error from a
                // peer not yet listening comes back here as ECONNREFUSED.
                if let Err(err) = self.socket.send(&out).await {
                    debug!(peer = %self.peer, "bfd send: {err}");
                }
            }
            while let Some(event) = self.session.poll_event() {
                self.handle_event(event);
            }
            let deadline = self.session.poll_timeout().map(Instant::from_std);
            tokio::select! {
                packet = self.packets.recv() => match packet {
                    Some(bytes) => {
                        if let Err(discard) = self.session.handle_packet(now(), &bytes) {
                            debug!(peer = %self.peer, %discard, "bfd packet discarded");
                        }
                    }
                    None => return,
                },
                command = self.commands.recv() => match command {
                    Some(command) => self.session.handle_command(now(), command),
                    None => return,
                },
                () = sleep_until(deadline) => self.session.handle_timeout(now()),
            }
        }
    }

    fn handle_event(&self, event: BfdEvent) {
        let peer = self.peer;
        match event {
            BfdEvent::StateChanged {
                from: State::Up,
                to,
                diag,
            } => {
                warn!(%peer, from = %State::Up, %to, ?diag, "bfd session down");
                // RFC 5882 §4.3: a BFD failure takes the client session down with it.
                if to == State::Down && self.bgp.send(BgpCommand::BfdDown).is_err() {
                    debug!(%peer, "bgp peer task has ended");
                }
            }
            BfdEvent::StateChanged { from, to, diag } => {
                info!(%peer, %from, %to, ?diag, "bfd state changed");
            }
            other => debug!(%peer, ?other, "bfd event"),
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
