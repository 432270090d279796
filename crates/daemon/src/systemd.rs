//! The systemd notification protocol (sd_notify(3)), for a `Type=notify` unit: READY=1
//! once every listener is bound and the zones are loaded, STOPPING=1 when a shutdown
//! starts, and WATCHDOG=1 pings while the daemon still answers its own queries (a daemon
//! whose serving path is wedged stops pinging, and systemd restarts it).
//!
//! Hand-written (a datagram to `$NOTIFY_SOCKET`, path or abstract name) rather than a
//! crate: the protocol is one `sendto`, and it must not pull libsystemd in.

use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use tracing::{debug, warn};

/// Where systemd listens, and how often it wants a ping.
pub(crate) struct Notifier {
    socket: UnixDatagram,
    target: std::os::unix::net::SocketAddr,
    /// Half of `$WATCHDOG_USEC`, when the unit has a watchdog for this process.
    pub(crate) watchdog_every: Option<Duration>,
}

impl Notifier {
    /// The notifier `$NOTIFY_SOCKET` names, if any (not run by systemd: `None`).
    pub(crate) fn from_env() -> Option<Self> {
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        let bytes = path.as_encoded_bytes();
        let target = match bytes.strip_prefix(b"@") {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(name).ok()?
            }
            None => std::os::unix::net::SocketAddr::from_pathname(&path).ok()?,
        };
        let socket = UnixDatagram::unbound().ok()?;
        let for_us = std::env::var("WATCHDOG_PID")
            .ok()
            .and_then(|p| p.parse::<u32>().ok())
            .is_none_or(|pid| pid == std::process::id());
        let watchdog_every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.parse::<u64>().ok())
            .filter(|&usec| usec > 0 && for_us)
            .map(|usec| Duration::from_micros(usec / 2));
        Some(Self {
            socket,
            target,
            watchdog_every,
        })
    }

    fn send(&self, state: &str) {
        if let Err(err) = self.socket.send_to_addr(state.as_bytes(), &self.target) {
            warn!("systemd notify {state:?}: {err}");
        }
    }

    /// READY=1 with a status line.
    pub(crate) fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}\n"));
    }

    /// STOPPING=1.
    pub(crate) fn stopping(&self) {
        self.send("STOPPING=1\n");
    }

    /// Pings the watchdog every `watchdog_every` while `probe` (a query to one of our
    /// own listeners) is answered; runs until the runtime ends.
    pub(crate) async fn watchdog(self: std::sync::Arc<Self>, probe: SocketAddr) {
        let Some(every) = self.watchdog_every else {
            return;
        };
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            let answered = tokio::task::spawn_blocking(move || answers(probe))
                .await
                .unwrap_or(false);
            if answered {
                self.send("WATCHDOG=1\n");
            } else {
                debug!(%probe, "watchdog: no answer from our own listener; not pinging");
            }
        }
    }
}

/// Whether `address` answers a CHAOS `id.server` query within a second.
fn answers(address: SocketAddr) -> bool {
    let bind: SocketAddr = if address.is_ipv4() {
        ([127, 0, 0, 1], 0).into()
    } else {
        (std::net::Ipv6Addr::LOCALHOST, 0).into()
    };
    let Ok(socket) = UdpSocket::bind(bind) else {
        return false;
    };
    let _ = socket.set_read_timeout(Some(Duration::from_secs(1)));
    // ID 0x5d57, no flags, one question: id.server. CH TXT.
    let query =
        b"\x5d\x57\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x02id\x06server\x00\x00\x10\x00\x03";
    if socket.send_to(query, address).is_err() {
        return false;
    }
    let mut buf = [0u8; 512];
    matches!(socket.recv_from(&mut buf), Ok((n, _)) if n >= 12 && buf[..2] == query[..2])
}

/// The address the watchdog probes: the first listener, as reachable from this host (a
/// wildcard listener through loopback).
pub(crate) fn probe_address(listen: SocketAddr) -> SocketAddr {
    match listen {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => ([127, 0, 0, 1], v4.port()).into(),
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => {
            (std::net::Ipv6Addr::LOCALHOST, v6.port()).into()
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listeners_are_probed_through_loopback() {
        let any: SocketAddr = "0.0.0.0:53".parse().unwrap();
        assert_eq!(probe_address(any), "127.0.0.1:53".parse().unwrap());
        let one: SocketAddr = "192.0.2.1:53".parse().unwrap();
        assert_eq!(probe_address(one), one);
    }
}
