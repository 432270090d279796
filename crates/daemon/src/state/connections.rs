//! The open DNS-over-TCP connections, for the connection limit (RFC 7766 §6.2.2): at the
//! limit, the connection idle the longest is closed to admit the new one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio::time::Instant;

/// The open connections.
#[derive(Default)]
pub(crate) struct Connections {
    inner: Mutex<HashMap<u64, Connection>>,
}

struct Connection {
    idle_since: Option<Instant>,
    close: Arc<Notify>,
}

impl Connections {
    /// Registers connection `id`, first closing the longest-idle one when at `limit`.
    /// Returns what tells the connection to close, or `None` when at the limit with no
    /// idle connection to shed.
    pub(crate) fn admit(&self, id: u64, limit: usize) -> Option<Arc<Notify>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.len() >= limit {
            let oldest = inner
                .iter()
                .filter_map(|(id, c)| c.idle_since.map(|since| (since, *id)))
                .min()
                .map(|(_, id)| id);
            let victim = oldest.and_then(|id| inner.remove(&id))?;
            victim.close.notify_one();
        }
        let close = Arc::new(Notify::new());
        inner.insert(
            id,
            Connection {
                idle_since: Some(Instant::now()),
                close: close.clone(),
            },
        );
        Some(close)
    }

    /// Marks connection `id` idle (waiting for a query) or busy.
    pub(crate) fn set_idle(&self, id: u64, idle: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(connection) = inner.get_mut(&id) {
            connection.idle_since = idle.then(Instant::now);
        }
    }

    /// How many connections are open.
    pub(crate) fn count(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Forgets connection `id` (closed).
    pub(crate) fn remove(&self, id: u64) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}
