//! A loopback port-forward from the host into one lab namespace: connections accepted on
//! the host's `127.0.0.1:PORT` are relayed to `127.0.0.1:PORT` inside the namespace (the
//! fleet dashboard the lab keeps up there). Both ends are loopback, so no traffic leaves
//! the machine and no lab namespace gains a route to the host: each relay thread enters
//! the namespace (`setns`, which changes only the calling thread) before it connects.

use std::fs::File;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use nix::sched::{CloneFlags, setns};

use crate::error::Error;

/// A running forward; it stops with the process.
pub struct Forward {
    /// Where the host connects.
    pub local: SocketAddr,
}

impl Forward {
    /// Listens on `local` (a loopback address of the host) and relays every connection to
    /// `target` (a loopback address) inside namespace `ns`.
    pub fn start(local: SocketAddr, ns: &str, target: SocketAddr) -> Result<Self, Error> {
        if !local.ip().is_loopback() || !target.ip().is_loopback() {
            return Err(Error::NoLab(format!(
                "a forward joins loopback to loopback only ({local} -> {target})"
            )));
        }
        let path = format!("/run/netns/{ns}");
        File::open(&path).map_err(|e| Error::io(&path, e))?;
        let listener = TcpListener::bind(local).map_err(|e| Error::io(local, e))?;
        let local = listener.local_addr().map_err(|e| Error::io(local, e))?;
        thread::Builder::new()
            .name("forward".into())
            .spawn(move || {
                for client in listener.incoming().flatten() {
                    let path = path.clone();
                    thread::spawn(move || {
                        if let Err(err) = relay(client, &path, target) {
                            eprintln!("forward to {target} in {path}: {err}");
                        }
                    });
                }
            })
            .map_err(|e| Error::io("forward thread", e))?;
        Ok(Self { local })
    }
}

/// Enters the namespace, connects, and copies both ways until either side closes.
fn relay(client: TcpStream, netns: &str, target: SocketAddr) -> io::Result<()> {
    setns(File::open(netns)?, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    let upstream = TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
    let (mut from_client, mut to_upstream) = (client.try_clone()?, upstream.try_clone()?);
    let uplink = thread::spawn(move || {
        let _ = io::copy(&mut from_client, &mut to_upstream);
        let _ = to_upstream.shutdown(Shutdown::Write);
    });
    let (mut from_upstream, mut to_client) = (upstream, client);
    let _ = io::copy(&mut from_upstream, &mut to_client);
    let _ = to_client.shutdown(Shutdown::Write);
    let _ = uplink.join();
    Ok(())
}
