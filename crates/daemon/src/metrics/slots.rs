//! Who gets to talk to the metrics endpoint: at most [`MAX_CONCURRENT`] connections, and
//! when a new one arrives with every slot taken, the connection that has waited longest
//! without sending its request is closed for it. Idle connections then cannot keep the
//! scrapes out (eight idle clients used to block every scrape for the request timeout).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use tokio::sync::oneshot;

/// Connections served at once (bounded file descriptors and tasks).
pub(crate) const MAX_CONCURRENT: usize = 8;

#[derive(Default)]
struct State {
    next: u64,
    live: usize,
    /// Connections still waiting for their request, oldest first, with the sender that
    /// tells each to close.
    reading: VecDeque<(u64, oneshot::Sender<()>)>,
}

/// The slots.
#[derive(Default)]
pub(crate) struct Slots {
    state: Mutex<State>,
}

/// A connection's slot: `closed` fires when a newer connection needs it (while it still
/// has not sent its request).
pub(crate) struct Slot {
    pub(crate) id: u64,
    pub(crate) closed: oneshot::Receiver<()>,
}

impl Slots {
    /// A slot for a new connection, closing the longest-waiting idle one when all are
    /// taken; `None` when every connection is past its request (the new one is dropped).
    pub(crate) fn admit(&self) -> Option<Slot> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.live >= MAX_CONCURRENT {
            let (_, close) = state.reading.pop_front()?;
            let _ = close.send(());
        }
        let id = state.next;
        state.next += 1;
        state.live += 1;
        let (close, closed) = oneshot::channel();
        state.reading.push_back((id, close));
        Some(Slot { id, closed })
    }

    /// Connection `id` has sent its request: it is no longer the first to be closed.
    pub(crate) fn request_read(&self, id: u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.reading.retain(|(other, _)| *other != id);
    }

    /// Connection `id` ended.
    pub(crate) fn release(&self, id: u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.reading.retain(|(other, _)| *other != id);
        state.live = state.live.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_connection_closes_the_longest_idle_one() {
        let slots = Slots::default();
        let mut held: Vec<Slot> = (0..MAX_CONCURRENT)
            .map(|_| slots.admit().unwrap())
            .collect();
        // The second connection sent its request: the first one is the idle oldest.
        slots.request_read(held[1].id);
        let _new = slots.admit().expect("a slot");
        assert!(
            held[0].closed.try_recv().is_ok(),
            "the oldest idle one is closed"
        );
        assert!(held[1].closed.try_recv().is_err(), "a busy one is not");
        slots.release(held[0].id);
        // Every connection busy: a newcomer is turned away.
        for slot in &held[2..] {
            slots.request_read(slot.id);
        }
        slots.request_read(_new.id);
        assert!(slots.admit().is_none());
        slots.release(held[3].id);
        assert!(slots.admit().is_some(), "a slot freed");
    }
}
