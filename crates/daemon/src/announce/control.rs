//! The control socket: a Unix stream socket (`[server] control-socket`), one command per
//! line, one JSON object per answer line.
//!
//! ```text
//!   drain    → GRACEFUL_SHUTDOWN, then withdraw every cloud; stay out   → the status
//!   undrain  → announce again once the checks pass                       → the status
//!   status   → {"clouds":[{"name":..,"state":..,"checks":[..],..}]}
//!   other    → {"error":"unknown command \"...\" (drain, undrain, status)"}
//! ```
//! Access is the socket file's: it is created with mode 0600 (root's, in practice).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::{Report, Request};
use crate::config::{ConfigError, KeyPath};
use crate::error::Error;

/// Longest command line accepted.
const MAX_LINE: usize = 256;

type Requester = mpsc::UnboundedSender<(Request, oneshot::Sender<Report>)>;

/// Opens the socket at `path` (replacing a stale one) and serves it until the runtime ends.
pub(crate) fn start(path: &Path, requests: Requester) -> Result<(), Error> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)
        .map_err(|e| Error::io(format!("control socket {}", path.display()), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(format!("control socket {}", path.display()), e))?;
    info!(path = %path.display(), "control socket listening");
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, requests.clone()));
                }
                Err(err) => {
                    warn!("control socket accept: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(())
}

async fn serve_connection(stream: tokio::net::UnixStream, requests: Requester) {
    let (read, mut write) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let command = line.trim();
        let request = match command {
            "drain" => Some(Request::Drain),
            "undrain" => Some(Request::Undrain),
            "status" => Some(Request::Status),
            _ => None,
        };
        let answer = match request {
            Some(request) => {
                info!(command, "control command");
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
            None => {
                let shown: String = command.chars().take(MAX_LINE).collect();
                error_json(&format!(
                    "unknown command {shown:?} (drain, undrain, status)"
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

fn error_json(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

/// `anyns drain|undrain|status`: sends `command` to the socket and prints the answer.
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
