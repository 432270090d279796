//! The task that drives one peer's [`Session`]: the loop of the `bgp-session` crate docs,
//! step by step. Wait for the first input (a command, bytes, a connect outcome, an accepted
//! connection, the session's deadline), hand it to the session, act on its events in
//! order, then move out the bytes the connection can take.

use std::future::{Future, pending};
use std::io;
use std::pin::Pin;
use std::time::Duration;

use bgp_session::bgp_wire::{CeaseSubcode, ErrorCode, Notification};
use bgp_session::{Command, DownReason, PeerConfig, Session, SessionEvent, State};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::socket::{self, ConnectSpec};
use super::status::PeerStatus;
use crate::clock::now;
use crate::config::bgp::BgpPeer;

/// How long the bytes before a close (ending with the NOTIFICATION) may take to be written.
const DISCONNECT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a closed connection is drained after our FIN, waiting for the peer's: closing
/// with unread data would make the kernel send a reset and drop the NOTIFICATION.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Read buffer size: a few BGP messages of 4096 octets.
const READ_BUFFER: usize = 16 * 1024;

/// An outgoing connection attempt in progress.
type Connecting = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>;

/// What woke the driver.
enum Wake {
    Command(Option<Command>),
    Readable(io::Result<()>),
    Writable(io::Result<()>),
    SecondReadable(io::Result<()>),
    SecondWritable(io::Result<()>),
    Connected(io::Result<TcpStream>),
    Accepted(Option<TcpStream>),
    ClosingReadable,
    ClosingExpired,
    Timeout,
}

/// One peer's task state.
pub(super) struct Driver {
    peer: BgpPeer,
    session: Session,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Connections the listener accepted from this peer (passive peers, and active ones
    /// with `listen-port`).
    accepted: Option<mpsc::Receiver<TcpStream>>,
    status: watch::Sender<PeerStatus>,
    /// The session's connection.
    conn: Option<TcpStream>,
    /// Bytes taken from the session and not yet written to `conn`.
    pending: Vec<u8>,
    /// The session's second connection while a collision is resolved (RFC 4271 §6.8).
    second: Option<TcpStream>,
    /// Bytes taken from the session and not yet written to `second`.
    second_pending: Vec<u8>,
    /// A connection just reported to a session that already has one, until its events
    /// say whether it is kept as the second.
    offered: Option<TcpStream>,
    connecting: Option<Connecting>,
    /// A connection we closed, drained until the peer closes too or the deadline passes.
    closing: Option<(TcpStream, Instant)>,
    last_down: Option<String>,
}

impl Driver {
    pub(super) fn new(
        peer: BgpPeer,
        commands: mpsc::UnboundedReceiver<Command>,
        accepted: Option<mpsc::Receiver<TcpStream>>,
        status: watch::Sender<PeerStatus>,
    ) -> Self {
        let config: PeerConfig = peer.session.clone();
        Self {
            session: Session::new(config, now()),
            peer,
            commands,
            accepted,
            status,
            conn: None,
            pending: Vec::new(),
            second: None,
            second_pending: Vec::new(),
            offered: None,
            connecting: None,
            closing: None,
            last_down: None,
        }
    }

    /// Runs until every [`super::BgpHandle`] is dropped.
    pub(super) async fn run(mut self) {
        let mut buf = vec![0; READ_BUFFER];
        self.session.handle_command(now(), Command::Start);
        self.after_input("start".into()).await;
        loop {
            let cause = match self.wait().await {
                Wake::Command(None) => return,
                Wake::Command(Some(command)) => {
                    let cause = match &command {
                        Command::Stop { message } => format!("stop ({message})"),
                        other => format!("{other:?}"),
                    };
                    self.session.handle_command(now(), command);
                    cause
                }
                Wake::Readable(ready) => self.read(ready, &mut buf),
                Wake::Writable(ready) => self.write(ready),
                Wake::SecondReadable(ready) => self.read_second(ready, &mut buf),
                Wake::SecondWritable(ready) => match ready.and_then(|()| self.flush_second()) {
                    Ok(()) => "written".into(),
                    Err(err) => self.lost_second(format!("write: {err}")),
                },
                Wake::Connected(Ok(stream)) => {
                    self.connecting = None;
                    self.connected(stream, Command::TcpConnected);
                    "outgoing connection established".into()
                }
                Wake::Connected(Err(err)) => {
                    self.connecting = None;
                    self.session.handle_command(now(), Command::TcpFailed);
                    format!("connect: {err}")
                }
                Wake::Accepted(None) => {
                    self.accepted = None;
                    "listener ended".into()
                }
                Wake::Accepted(Some(stream)) => {
                    if let Err(err) = socket::accepted(&stream, &self.peer) {
                        warn!(peer = %self.peer.address, "bgp accepted connection: {err}");
                    }
                    // An outgoing attempt in progress is kept: if it completes, it is the
                    // second connection of a collision.
                    self.connected(stream, Command::TcpAccepted);
                    "incoming connection accepted".into()
                }
                Wake::ClosingReadable => {
                    self.drain_closing(&mut buf);
                    self.publish();
                    continue;
                }
                Wake::ClosingExpired => {
                    self.closing = None;
                    self.publish();
                    continue;
                }
                Wake::Timeout => {
                    self.session.handle_timeout(now());
                    "timer".into()
                }
            };
            self.after_input(cause).await;
        }
    }

    /// Waits for the first input.
    async fn wait(&mut self) -> Wake {
        let deadline = self.session.poll_timeout().map(Instant::from_std);
        let want_write = !self.pending.is_empty();
        let want_second_write = !self.second_pending.is_empty();
        let closing_deadline = self.closing.as_ref().map(|(_, d)| *d);
        tokio::select! {
            command = self.commands.recv() => Wake::Command(command),
            ready = ready(self.conn.as_ref(), tokio::io::Interest::READABLE) => Wake::Readable(ready),
            ready = ready(self.conn.as_ref(), tokio::io::Interest::WRITABLE), if want_write => {
                Wake::Writable(ready)
            }
            ready = ready(self.second.as_ref(), tokio::io::Interest::READABLE) => {
                Wake::SecondReadable(ready)
            }
            ready = ready(self.second.as_ref(), tokio::io::Interest::WRITABLE),
                if want_second_write => Wake::SecondWritable(ready),
            result = until_some(&mut self.connecting) => Wake::Connected(result),
            stream = recv_accepted(&mut self.accepted) => Wake::Accepted(stream),
            _ = ready(self.closing.as_ref().map(|(s, _)| s), tokio::io::Interest::READABLE) => {
                Wake::ClosingReadable
            }
            () = sleep_until(closing_deadline) => Wake::ClosingExpired,
            () = sleep_until(deadline) => Wake::Timeout,
        }
    }

    /// Reads what the connection has into the session.
    fn read(&mut self, ready: io::Result<()>, buf: &mut [u8]) -> String {
        let Some(conn) = &self.conn else {
            return "read without connection".into();
        };
        let result = ready.and_then(|()| conn.try_read(buf));
        match result {
            Ok(0) => self.lost("peer closed the connection".into()),
            Ok(n) => {
                self.session.handle_bytes(now(), &buf[..n]);
                "message received".into()
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => "spurious wake-up".into(),
            Err(err) => self.lost(format!("read: {err}")),
        }
    }

    /// Writes pending bytes after the connection became writable.
    fn write(&mut self, ready: io::Result<()>) -> String {
        match ready.and_then(|()| self.flush()) {
            Ok(()) => "written".into(),
            Err(err) => self.lost(format!("write: {err}")),
        }
    }

    /// The connection failed or the peer closed it: tell the session (Event 18).
    fn lost(&mut self, cause: String) -> String {
        self.conn = None;
        self.pending.clear();
        self.session.handle_command(now(), Command::TcpClosed);
        cause
    }

    /// Reads what the second connection has into the session.
    fn read_second(&mut self, ready: io::Result<()>, buf: &mut [u8]) -> String {
        let Some(second) = &self.second else {
            return "read without connection".into();
        };
        match ready.and_then(|()| second.try_read(buf)) {
            Ok(0) => self.lost_second("peer closed the second connection".into()),
            Ok(n) => {
                self.session.handle_second_bytes(now(), &buf[..n]);
                "message received on the second connection".into()
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => "spurious wake-up".into(),
            Err(err) => self.lost_second(format!("read: {err}")),
        }
    }

    fn lost_second(&mut self, cause: String) -> String {
        self.second = None;
        self.second_pending.clear();
        self.session.handle_command(now(), Command::SecondClosed);
        cause
    }

    /// Reports a new connection (`TcpConnected` for ours, `TcpAccepted` for the peer's).
    /// While the session waits for one it is the session's; otherwise the session keeps it
    /// as the second connection of a collision or refuses it, which the events handled
    /// next say.
    fn connected(&mut self, stream: TcpStream, command: Command) {
        let waiting = matches!(self.session.state(), State::Connect | State::Active);
        if waiting && self.conn.is_none() {
            self.conn = Some(stream);
            self.pending.clear();
        } else {
            self.offered = Some(stream);
        }
        self.session.handle_command(now(), command);
    }

    /// Steps 3 and 4 of the driver loop: act on the events, then write what can be
    /// written, then publish the status.
    async fn after_input(&mut self, mut cause: String) {
        loop {
            let events: Vec<SessionEvent> =
                std::iter::from_fn(|| self.session.poll_event()).collect();
            // A state change caused by a session going down is explained by its reason.
            let cause_of_events = events
                .iter()
                .find_map(|e| match e {
                    SessionEvent::Down { reason } => Some(describe(reason)),
                    _ => None,
                })
                .unwrap_or(cause);
            for event in events {
                self.handle_event(event, &cause_of_events).await;
            }
            // A connection neither kept nor refused is closed (the session always says).
            self.offered = None;
            if let Err(err) = self.flush_second() {
                cause = self.lost_second(format!("write: {err}"));
                continue;
            }
            match self.flush() {
                Ok(()) => break,
                // A failed write loses the connection; the session reacts with new events.
                Err(err) => cause = self.lost(format!("write: {err}")),
            }
        }
        self.publish();
    }

    async fn handle_event(&mut self, event: SessionEvent, cause: &str) {
        let peer = self.peer.address;
        match event {
            SessionEvent::StateChanged { from, to } => {
                info!(%peer, %from, %to, cause, "bgp state changed");
            }
            SessionEvent::WantConnect => {
                let spec = ConnectSpec::new(&self.peer);
                self.connecting = Some(Box::pin(spec.connect()));
            }
            SessionEvent::WantDisconnect => {
                self.connecting = None;
                if let Some(conn) = self.conn.take() {
                    self.disconnect(conn).await;
                }
            }
            SessionEvent::ConnectionRefused => {
                debug!(%peer, state = %self.session.state(), "bgp connection refused");
                self.offered = None;
            }
            SessionEvent::SecondConnection => {
                info!(%peer, "bgp connection collision: both sides connected, resolving by BGP Identifier");
                self.second = self.offered.take();
                self.second_pending.clear();
            }
            SessionEvent::ConnectionsSwapped { kept } => {
                info!(%peer, ?kept, "bgp connection collision: the session moves to the other connection");
                std::mem::swap(&mut self.conn, &mut self.second);
                std::mem::swap(&mut self.pending, &mut self.second_pending);
            }
            SessionEvent::WantDisconnectSecond => {
                if let Some(second) = self.second.take() {
                    let mut bytes = std::mem::take(&mut self.second_pending);
                    self.session.poll_second_transmit(&mut bytes);
                    tokio::spawn(close_after(second, bytes));
                }
                self.second_pending.clear();
            }
            SessionEvent::Established {
                hold_time,
                families,
                peer_id,
            } => {
                let families: Vec<String> = families.iter().map(ToString::to_string).collect();
                info!(%peer, %peer_id, hold_time = hold_time.as_secs(), families = ?families,
                    "bgp session established");
            }
            SessionEvent::Down { reason } => {
                let why = describe(&reason);
                match reason {
                    DownReason::Stopped { .. } => info!(%peer, reason = %why, "bgp session down"),
                    _ => warn!(%peer, reason = %why, "bgp session down"),
                }
                self.last_down = Some(why);
            }
            SessionEvent::AnnounceRefused(prefix) => {
                warn!(%peer, %prefix, "bgp: prefix not in bgp.prefixes, not announced");
            }
            SessionEvent::UpdateError(error) => {
                warn!(%peer, ?error, "bgp: received UPDATE with an attribute error (RFC 7606)");
            }
            other => debug!(%peer, ?other, "bgp event"),
        }
    }

    /// Writes what the session still holds (ending with its NOTIFICATION), then closes our
    /// side and keeps draining the connection until the peer closes too.
    async fn disconnect(&mut self, mut conn: TcpStream) {
        let mut bytes = std::mem::take(&mut self.pending);
        self.session.poll_transmit(&mut bytes);
        let written = tokio::time::timeout(DISCONNECT_WRITE_TIMEOUT, async {
            conn.write_all(&bytes).await?;
            conn.shutdown().await
        })
        .await;
        match written {
            Ok(Ok(())) => self.closing = Some((conn, Instant::now() + CLOSE_LINGER)),
            Ok(Err(err)) => debug!(peer = %self.peer.address, "bgp close: {err}"),
            Err(_) => debug!(peer = %self.peer.address, "bgp close: write timed out"),
        }
    }

    /// Moves the second connection's bytes out of the session and writes them.
    fn flush_second(&mut self) -> io::Result<()> {
        let session = &mut self.session;
        write_out(self.second.as_ref(), &mut self.second_pending, |out| {
            session.poll_second_transmit(out)
        })
    }

    /// Reads and discards from the closing connection; drops it at end of stream.
    fn drain_closing(&mut self, buf: &mut [u8]) {
        if let Some((conn, _)) = &self.closing {
            match conn.try_read(buf) {
                Ok(n) if n > 0 => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                _ => self.closing = None,
            }
        }
    }

    /// Step 4: while the connection takes bytes, move them from the session and write
    /// them. Bytes are taken from the session only once the previous ones are written.
    fn flush(&mut self) -> io::Result<()> {
        let session = &mut self.session;
        write_out(self.conn.as_ref(), &mut self.pending, |out| {
            session.poll_transmit(out)
        })
    }

    fn publish(&self) {
        let state = self.session.state();
        let established = state == State::Established;
        let since = self.status.borrow().established_since;
        self.status.send_replace(PeerStatus {
            state,
            connection_open: self.conn.is_some() || self.closing.is_some(),
            last_down: self.last_down.clone(),
            stats: *self.session.stats(),
            established_since: established.then(|| since.unwrap_or_else(now)),
            announced: if established {
                self.session.wanted().map(ToString::to_string).collect()
            } else {
                Vec::new()
            },
        });
    }
}

/// While `conn` takes bytes, moves them from the session (`take`) into `pending` and writes
/// them; bytes are taken only once the previous ones are written.
fn write_out(
    conn: Option<&TcpStream>,
    pending: &mut Vec<u8>,
    mut take: impl FnMut(&mut Vec<u8>) -> bool,
) -> io::Result<()> {
    let Some(conn) = conn else {
        return Ok(());
    };
    loop {
        if pending.is_empty() && !take(pending) {
            return Ok(());
        }
        match conn.try_write(pending) {
            Ok(n) => {
                pending.drain(..n);
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(err) => return Err(err),
        }
    }
}

/// Writes `bytes` (ending with a NOTIFICATION) to a connection the session gave up, closes
/// our side and drains it until the peer closes too, so the NOTIFICATION is not lost to a
/// reset; bounded by the same timeouts as the session's own connection.
async fn close_after(mut conn: TcpStream, bytes: Vec<u8>) {
    let written = tokio::time::timeout(DISCONNECT_WRITE_TIMEOUT, async {
        conn.write_all(&bytes).await?;
        conn.shutdown().await
    })
    .await;
    if matches!(written, Ok(Ok(()))) {
        let mut buf = [0u8; 4096];
        let _ = tokio::time::timeout(CLOSE_LINGER, async {
            loop {
                match tokio::io::AsyncReadExt::read(&mut conn, &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
}

/// Readiness of an optional connection; never ready without one.
async fn ready(conn: Option<&TcpStream>, interest: tokio::io::Interest) -> io::Result<()> {
    match conn {
        Some(conn) => conn.ready(interest).await.map(drop),
        None => pending().await,
    }
}

/// The outcome of the connection attempt, if one is in progress.
async fn until_some(connecting: &mut Option<Connecting>) -> io::Result<TcpStream> {
    match connecting {
        Some(future) => future.await,
        None => pending().await,
    }
}

/// The next accepted connection, for a passive peer.
async fn recv_accepted(accepted: &mut Option<mpsc::Receiver<TcpStream>>) -> Option<TcpStream> {
    match accepted {
        Some(rx) => rx.recv().await,
        None => pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => pending().await,
    }
}

/// A log line's worth of why a session went down.
fn describe(reason: &DownReason) -> String {
    match reason {
        DownReason::Stopped { message } => format!("stopped: {message:?}"),
        DownReason::HoldTimerExpired => "hold timer expired".into(),
        DownReason::SendHoldTimerExpired => "send hold timer expired (RFC 9687)".into(),
        DownReason::ProtocolError(error) => format!("protocol error: {error}"),
        DownReason::UnexpectedMessage { state } => format!("unexpected message in {state}"),
        DownReason::NotificationReceived(notification) => describe_notification(notification),
        DownReason::ConnectionClosed => "connection closed".into(),
        DownReason::BfdDown => "BFD session down (sent Cease/BFD Down)".into(),
        other => format!("{other:?}"),
    }
}

fn describe_notification(notification: &Notification) -> String {
    let code = notification
        .error_code()
        .map_or_else(|| notification.code.to_string(), |c| format!("{c:?}"));
    let mut text = format!(
        "NOTIFICATION received: {code}, subcode {}",
        notification.subcode
    );
    if notification.error_code() == Some(ErrorCode::Cease) {
        if let Some(subcode) = CeaseSubcode::from_u8(notification.subcode) {
            text = format!("NOTIFICATION received: Cease, {subcode:?}");
        }
    }
    if let Some(message) = notification.shutdown_communication() {
        text.push_str(&format!(": {message:?}"));
    }
    text
}
