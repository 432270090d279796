//! What the control commands act on, and the shape of their error answers: a leaf under
//! the socket (`mod.rs`) and the zone commands (`zone.rs`).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::announce::{Report, Request};
use crate::bgp::BgpHandle;
use crate::resolver::Resolver;
use crate::state::{Counters, ZoneStore};
use crate::transfer::state::Transfers;

/// Where health requests go, with where their report comes back.
pub(crate) type Requester = mpsc::UnboundedSender<(Request, oneshot::Sender<Report>)>;

/// `zone reload ZONE`: the zone to load again from its file; the answer is the serial now
/// served, or why the reload failed (the served version stays).
pub(crate) struct ReloadRequest {
    pub(crate) origin: Vec<u8>,
    pub(crate) reply: oneshot::Sender<Result<u32, String>>,
}

/// What the commands act on.
#[derive(Clone)]
pub(crate) struct Controlled {
    /// The health driver (drain, undrain, status).
    pub(crate) health: Option<Requester>,
    /// The resolver (its cache).
    pub(crate) resolver: Option<Arc<Resolver>>,
    /// The zones served.
    pub(crate) zones: Arc<ZoneStore>,
    /// Each zone's transfer settings and refresh state.
    pub(crate) transfers: Arc<Transfers>,
    /// The BGP speaker.
    pub(crate) bgp: Option<Arc<BgpHandle>>,
    /// Where `zone reload` requests go (the serving loop, which owns reloads).
    pub(crate) reload: mpsc::UnboundedSender<ReloadRequest>,
    /// Where commands are counted (for the metrics).
    pub(crate) counters: Arc<Counters>,
}

/// An error answer: `{"error": MESSAGE}`.
pub(crate) fn error_json(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}
