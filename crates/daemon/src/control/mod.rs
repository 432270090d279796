//! The control socket: a Unix stream socket (`[server] control-socket`), one command per
//! line, one JSON object per answer line. `anyns ctl` (the `ctl` module) is its client.
//!
//! ```text
//!   drain         → GRACEFUL_SHUTDOWN, then withdraw every cloud; stay out → the status
//!   undrain       → announce again once the checks pass                     → the status
//!   status        → {"clouds":[{"name":..,"state":..,"checks":[..],..}]}
//!   zone list     → {"zones":[{"name":..,"kind":..,"serial":..,"lag_seconds":..},..]}
//!   zone status Z → serial served and the primary's, last refresh and its result,
//!                   next refresh, expiry, lag, signature expiry
//!   zone reload|refresh|retransfer|notify Z → {"zone":..,"action":..,"result":..}
//!   bgp peers     → {"peers":[{"address":..,"state":..,"uptime_seconds":..,..}]}
//!   flush NAME    → forget NAME in the resolver's cache (every type)       → {"flushed":N}
//!   flush-tree NAME → NAME and everything below it ("." empties the cache) → {"flushed":N}
//!   cache         → {"entries":..,"bytes":..,"hits":..,"misses":..,"evictions":..,"pending":..}
//!   other         → {"error":"unknown command ..."}
//! ```
//! Health commands need `[bgp]` or `[health]`, cache commands `[resolver]`. Access is the
//! socket file's: it is created with mode 0600 (root's, in practice).

mod client;
mod controlled;
mod zone;

pub use client::{client, socket_path};
use controlled::error_json;
pub(crate) use controlled::{Controlled, ReloadRequest};

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::sync::oneshot;
use tracing::{info, warn};

use crate::announce::Request;
use crate::config::{ConfigError, KeyPath};
use crate::error::Error;

/// Longest command line accepted.
const MAX_LINE: usize = 256;

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
        let answer = answer(&controlled, command).await;
        if write
            .write_all(format!("{answer}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The answer line to one command line.
async fn answer(controlled: &Controlled, command: &str) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    let acts = !matches!(
        words.as_slice(),
        ["status"] | ["cache"] | ["zone", "list"] | ["zone", "status", _] | ["bgp", "peers"]
    );
    if acts {
        info!(command, "control command");
    }
    controlled.counters.count_control(match words.as_slice() {
        ["drain"] => "drain",
        ["undrain"] => "undrain",
        ["status"] => "status",
        ["cache"] => "cache",
        ["flush", _] => "flush",
        ["flush-tree", _] => "flush-tree",
        ["zone", "list"] => "zone list",
        ["zone", "status", _] => "zone status",
        ["zone", "reload", _] => "zone reload",
        ["zone", "refresh", _] => "zone refresh",
        ["zone", "retransfer", _] => "zone retransfer",
        ["zone", "notify", _] => "zone notify",
        ["bgp", "peers"] => "bgp peers",
        _ => "unknown",
    });
    match words.as_slice() {
        [word @ ("drain" | "undrain" | "status")] => {
            let request = match *word {
                "drain" => Request::Drain,
                "undrain" => Request::Undrain,
                _ => Request::Status,
            };
            health(controlled, request).await
        }
        ["zone", "list"] => zone::list(controlled),
        ["zone", "status", name] => zone::status(controlled, name),
        [
            "zone",
            action @ ("reload" | "refresh" | "retransfer" | "notify"),
            name,
        ] => zone::act(controlled, action, name).await,
        ["bgp", "peers"] => match &controlled.bgp {
            Some(bgp) => serde_json::json!({ "peers": crate::views::bgp_peers(bgp) }).to_string(),
            None => error_json("no BGP speaker here (configure [bgp])"),
        },
        [word @ ("flush" | "flush-tree"), name] => flush(controlled, name, *word == "flush-tree"),
        ["cache"] => cache_stats(controlled),
        _ => {
            let shown: String = command.chars().take(MAX_LINE).collect();
            error_json(&format!(
                "unknown command {shown:?} (status, drain, undrain, zone list, zone status ZONE, \
                 zone reload|refresh|retransfer|notify ZONE, bgp peers, flush NAME, \
                 flush-tree NAME, cache)"
            ))
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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use std::sync::Arc;

    use tokio::sync::mpsc;

    use super::*;
    use crate::state::ZoneStore;
    use crate::transfer::state::Transfers;

    /// A primary zone (not loaded: nothing is served) and a secondary one, no health
    /// checks, no BGP, no resolver.
    fn controlled() -> (Controlled, mpsc::UnboundedReceiver<ReloadRequest>) {
        let config = crate::config::Config::from_toml(
            r#"
[server]
storage = "/nonexistent-anyns-storage"
[[listen]]
address = "127.0.0.1:5353"
[[zone]]
name = "example.com."
file = "example.zone"
[[zone]]
name = "Sec.Example."
primaries = ["127.0.0.1:5354"]
"#,
            Path::new("/nonexistent"),
        )
        .unwrap();
        let (transfers, _receivers) = Transfers::new(&config);
        let (reload, requests) = mpsc::unbounded_channel();
        let controlled = Controlled {
            health: None,
            resolver: None,
            zones: Arc::new(ZoneStore::new(dns_zone::ZoneSet::new())),
            transfers: Arc::new(transfers),
            bgp: None,
            reload,
            counters: Arc::default(),
        };
        (controlled, requests)
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_closed_and_a_talking_one_is_answered() {
        let (mut silent, server) = tokio::net::UnixStream::pair().unwrap();
        let task = tokio::spawn(serve_connection(server, controlled().0));
        tokio::time::sleep(IDLE_TIMEOUT + std::time::Duration::from_secs(1)).await;
        let mut buf = Vec::new();
        assert_eq!(silent.read_to_end(&mut buf).await.unwrap(), 0, "closed");
        task.await.unwrap();

        let (mut client, server) = tokio::net::UnixStream::pair().unwrap();
        tokio::spawn(serve_connection(server, controlled().0));
        client.write_all(b"bogus\n").await.unwrap();
        let mut line = [0u8; 64];
        let n = client.read(&mut line).await.unwrap();
        assert!(String::from_utf8_lossy(&line[..n]).contains("unknown command"));
    }

    #[tokio::test]
    async fn zone_commands_name_the_zone_and_refuse_what_does_not_apply() {
        let (controlled, mut reloads) = controlled();
        let list: serde_json::Value =
            serde_json::from_str(&answer(&controlled, "zone list").await).unwrap();
        let zones = list["zones"].as_array().unwrap();
        assert_eq!(zones.len(), 2, "{list}");
        assert_eq!(zones[0]["name"], "example.com.");
        assert_eq!(zones[0]["kind"], "primary");
        assert_eq!(zones[1]["name"], "sec.example.");
        assert_eq!(zones[1]["kind"], "secondary");
        assert!(zones[1]["serial"].is_null(), "nothing transferred: {list}");

        let status = answer(&controlled, "zone status SEC.example").await;
        assert!(status.contains(r#""kind":"secondary""#), "{status}");
        let unknown = answer(&controlled, "zone status nowhere.example.").await;
        assert!(
            unknown.contains("no zone nowhere.example. here"),
            "{unknown}"
        );
        let wrong = answer(&controlled, "zone reload sec.example.").await;
        assert!(wrong.contains("is a secondary zone"), "{wrong}");
        let wrong = answer(&controlled, "zone retransfer example.com.").await;
        assert!(wrong.contains("is a primary zone here"), "{wrong}");
        let no_bgp = answer(&controlled, "bgp peers").await;
        assert!(no_bgp.contains("no BGP speaker here"), "{no_bgp}");

        // A reload goes to the serving loop, and its answer comes back.
        let pending = tokio::spawn({
            let controlled = controlled.clone();
            async move { answer(&controlled, "zone reload example.com").await }
        });
        let request = reloads.recv().await.unwrap();
        assert_eq!(request.origin, b"\x07example\x03com\x00");
        request.reply.send(Ok(42)).unwrap();
        let reloaded = pending.await.unwrap();
        assert!(reloaded.contains("serving serial 42"), "{reloaded}");
    }
}
