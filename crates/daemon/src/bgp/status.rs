//! What one peer's session is doing, as the rest of the daemon sees it.

use bgp_session::{SessionStats, State};

/// What one peer's session is doing, published on a [`watch`] channel for metrics and the
/// control API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    /// The FSM state.
    pub state: State,
    /// Whether a TCP connection to the peer is open, including one that is being closed
    /// after a NOTIFICATION.
    pub connection_open: bool,
    /// Why the session last went down, if it ever did.
    pub last_down: Option<String>,
    /// The session's counters.
    pub stats: SessionStats,
    /// Since when the session has been Established (none while it is not).
    pub established_since: Option<std::time::Instant>,
    /// The prefixes announced to the peer (those wanted, while Established).
    pub announced: Vec<String>,
}

impl PeerStatus {
    pub(crate) fn new() -> Self {
        Self {
            state: State::Idle,
            connection_open: false,
            last_down: None,
            stats: SessionStats::default(),
            established_since: None,
            announced: Vec::new(),
        }
    }
}
