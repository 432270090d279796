//! The control socket: a Unix stream socket (`[server] control-socket`), one command per
//! line, one JSON object per answer line.
//!
//! ```text
//!   drain         → GRACEFUL_SHUTDOWN, then withdraw every cloud; stay out → the status
//!   undrain       → announce again once the checks pass                     → the status
//!   status        → {"clouds":[{"name":..,"state":..,"checks":[..],..}]}
//!   flush NAME    → forget NAME in the resolver's cache (every type)       → {"flushed":N}
//!   flush-tree NAME → NAME and everything below it ("." empties the cache) → {"flushed":N}
//!   cache         → {"entries":..,"bytes":..,"hits":..,"misses":..,"evictions":..,"pending":..}
//!   other         → {"error":"unknown command ..."}
//! ```
//! Health commands need `[bgp]` or `[health]`, cache commands `[resolver]`. Access is the
//! socket file's: it is created with mode 0600 (root's, in practice).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use std::sync::Arc;

use crate::announce::{Report, Request};
use crate::config::{ConfigError, KeyPath};
use crate::error::Error;
use crate::resolver::Resolver;

/// Longest command line accepted.
const MAX_LINE: usize = 256;

type Requester = mpsc::UnboundedSender<(Request, oneshot::Sender<Report>)>;

/// What the commands act on.
#[derive(Clone)]
pub(crate) struct Controlled {
    /// The health driver (drain, undrain, status).
    pub(crate) health: Option<Requester>,
    /// The resolver (its cache).
    pub(crate) resolver: Option<Arc<Resolver>>,
}

/// The control socket this process opened; at exit it is removed only if it is still
/// this process's (another daemon may have replaced it meanwhile).
pub(crate) struct ControlSocket {
    path: PathBuf,
    inode: u64,
}

impl ControlSocket {
    /// Removes the socket file if it is the one this process bound.
    pub(crate) fn remove(&self) {
        let ours = std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.ino() == self.inode);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Opens the socket at `path` (replacing a stale one) and serves it until the runtime ends.
/// A socket another running daemon answers on is an error: taking it over would leave
/// that daemon without its control (no drain), and its exit would delete ours.
pub(crate) fn start(path: &Path, controlled: Controlled) -> Result<ControlSocket, Error> {
    if UnixStream::connect(path).is_ok() {
        return Err(Error::Config(
            ConfigError::new(
                KeyPath::root("server").key("control-socket"),
                format!(
                    "{} is the control socket of another running anyns",
                    path.display()
                ),
            )
            .hint("give each daemon its own control-socket (or stop the other one)"),
        ));
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)
        .map_err(|e| Error::io(format!("control socket {}", path.display()), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(format!("control socket {}", path.display()), e))?;
    let inode = std::fs::symlink_metadata(path)
        .map_err(|e| Error::io(format!("control socket {}", path.display()), e))?
        .ino();
    info!(path = %path.display(), "control socket listening");
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, controlled.clone()));
                }
                Err(err) => {
                    warn!("control socket accept: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(ControlSocket {
        path: path.to_path_buf(),
        inode,
    })
}

/// How long a control client may stay silent before its connection is closed (a client
/// that connects and sends nothing must not hold a task and a descriptor forever).
const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn serve_connection(stream: tokio::net::UnixStream, controlled: Controlled) {
    let (read, mut write) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(read).lines();
    while let Ok(Ok(Some(line))) = tokio::time::timeout(IDLE_TIMEOUT, lines.next_line()).await {
        let command = line.trim();
        let mut words = command.split_whitespace();
        let answer = match (words.next(), words.next(), words.next()) {
            (Some(word @ ("drain" | "undrain" | "status")), None, _) => {
                info!(command, "control command");
                let request = match word {
                    "drain" => Request::Drain,
                    "undrain" => Request::Undrain,
                    _ => Request::Status,
                };
                health(&controlled, request).await
            }
            (Some(word @ ("flush" | "flush-tree")), Some(name), None) => {
                info!(command, "control command");
                flush(&controlled, name, word == "flush-tree")
            }
            (Some("cache"), None, _) => cache_stats(&controlled),
            _ => {
                let shown: String = command.chars().take(MAX_LINE).collect();
                error_json(&format!(
                    "unknown command {shown:?} (drain, undrain, status, flush NAME, flush-tree NAME, cache)"
                ))
            }
        };
        if write
            .write_all(format!("{answer}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// A request to the health driver, answered with its report.
async fn health(controlled: &Controlled, request: Request) -> String {
    let Some(requests) = &controlled.health else {
        return error_json("no health checks here (configure [bgp] or [health])");
    };
    let (reply, report) = oneshot::channel();
    let report = match requests.send((request, reply)) {
        Ok(()) => report.await.ok(),
        Err(_) => None,
    };
    match report.map(|r| serde_json::to_string(&r)) {
        Some(Ok(json)) => json,
        _ => error_json("health driver has stopped"),
    }
}

/// `flush NAME` / `flush-tree NAME`.
fn flush(controlled: &Controlled, name: &str, subtree: bool) -> String {
    let Some(resolver) = &controlled.resolver else {
        return error_json("no resolver here (configure [resolver])");
    };
    match dns_wire::name_from_text(name) {
        Ok(mut wire) => {
            dns_wire::lowercase_in_place(&mut wire);
            let flushed = resolver.cache().flush(&wire, subtree);
            serde_json::json!({ "flushed": flushed }).to_string()
        }
        Err(err) => error_json(&format!("{name:?}: {err}")),
    }
}

/// `cache`: the resolver cache's size and counters.
fn cache_stats(controlled: &Controlled) -> String {
    let Some(resolver) = &controlled.resolver else {
        return error_json("no resolver here (configure [resolver])");
    };
    let cache = resolver.cache();
    let (entries, bytes) = cache.size();
    let stats = cache.stats();
    serde_json::json!({
        "entries": entries,
        "bytes": bytes,
        "max_bytes": cache.policy().max_bytes,
        "hits": stats.hits,
        "misses": stats.misses,
        "evictions": stats.evictions,
        "pending": resolver.pending(),
    })
    .to_string()
}

fn error_json(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

/// `anyns drain|undrain|status|flush|cache`: sends `command` to the socket and prints the
/// answer.
/// Returns an error if the daemon cannot be reached or answers with an error.
pub fn client(socket: &Path, command: &str) -> Result<String, Error> {
    let fail = |e: std::io::Error| Error::io(format!("control socket {}", socket.display()), e);
    let mut stream = UnixStream::connect(socket).map_err(fail)?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .map_err(fail)?;
    stream
        .write_all(format!("{command}\n").as_bytes())
        .map_err(fail)?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(fail)?;
    let answer = answer.trim_end().to_string();
    if answer.starts_with("{\"error\"") {
        return Err(Error::Control(answer));
    }
    Ok(answer)
}

/// The socket path of `anyns drain`: `--socket`, else the config's `server.control-socket`.
pub fn socket_path(socket: Option<PathBuf>, config: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(socket) = socket {
        return Ok(socket);
    }
    let Some(config) = config else {
        return Err(Error::Config(
            ConfigError::new(KeyPath::root("--socket"), "not given")
                .hint("give --socket PATH or --config FILE (with server.control-socket)"),
        ));
    };
    crate::config::Config::from_file(config)?
        .control_socket
        .ok_or_else(|| {
            Error::Config(
                ConfigError::new(KeyPath::root("server").key("control-socket"), "is not set")
                    .in_file(config)
                    .hint("set it in [server] or give --socket PATH"),
            )
        })
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_closed_and_a_talking_one_is_answered() {
        let none = || Controlled {
            health: None,
            resolver: None,
        };
        let (mut silent, server) = tokio::net::UnixStream::pair().unwrap();
        let task = tokio::spawn(serve_connection(server, none()));
        tokio::time::sleep(IDLE_TIMEOUT + std::time::Duration::from_secs(1)).await;
        let mut buf = Vec::new();
        assert_eq!(silent.read_to_end(&mut buf).await.unwrap(), 0, "closed");
        task.await.unwrap();

        let (mut client, server) = tokio::net::UnixStream::pair().unwrap();
        tokio::spawn(serve_connection(server, none()));
        client.write_all(b"bogus\n").await.unwrap();
        let mut line = [0u8; 64];
        let n = client.read(&mut line).await.unwrap();
        assert!(String::from_utf8_lossy(&line[..n]).contains("unknown command"));
    }
}
