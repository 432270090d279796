//! Connection collisions (RFC 4271 §6.8): the peer and we connected to each other at the
//! same time, so the session holds a second connection until one of the two is chosen.
//!
//! The second connection runs only the OPEN exchange: our OPEN goes out on it, the peer's
//! OPEN is checked like the first connection's, and anything else ends it. Once both
//! connections carry the peer's OPEN, the collision is resolved as the RFC says: the
//! connection opened by the side with the higher BGP Identifier is kept (equal
//! identifiers: the higher AS number, RFC 6286 §2.3), the other is closed with
//! Cease/Connection Collision Resolution. The session is not reset by a collision, and if
//! its connection fails while a second one is open it carries on over the second.
//!
//! One deviation keeps both sides agreeing: while a collision is pending, our KEEPALIVE
//! (which the RFC sends as soon as an OPEN is read) waits for the outcome, and goes out on
//! the kept connection only. Otherwise the peer could reach Established on a connection we
//! are about to close: a peer that reads our KEEPALIVE before our OPEN on its other
//! connection keeps the Established one, while we, holding both OPENs, keep the higher
//! identifier's; BIRD did exactly that in a test under load and the session went down.
//! Two shortcuts: the peer's KEEPALIVE on the second connection while ours still waits
//! for an OPEN resolves by identifier at once (the RFC lets a speaker that knows the
//! peer's identifier examine OpenSent connections), and a second connection without an
//! OPEN for [`SECOND_OPEN_WAIT`] is closed (or, holding the peer's OPEN while ours has
//! none, kept).

use std::time::Instant;

use bgp_wire::{Message, Negotiated, Notification, frame_len};

use super::{DownReason, Session, SessionEvent, State};
use crate::connections::{Initiator, Second, collision_cease, survivor};
use crate::timers::Timer;

#[cfg(test)]
mod tests;

/// How long a second connection may go without the peer's OPEN before it is given up (the
/// RFC's OpenSent hold time is four minutes; a peer that connects sends its OPEN at once,
/// and our KEEPALIVE on the other connection waits meanwhile).
pub(crate) const SECOND_OPEN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Session {
    /// Takes bytes read from the second connection (see [`SessionEvent::SecondConnection`]).
    pub fn handle_second_bytes(&mut self, now: Instant, bytes: &[u8]) {
        let Some(second) = self.second.as_mut() else {
            return;
        };
        let mut buf = std::mem::take(&mut second.receive);
        buf.extend_from_slice(bytes);
        let generation = self.generation;
        let mut offset = 0;
        while self.second.is_some() {
            match frame_len(&buf[offset..]) {
                Ok(Some(len)) => {
                    offset += len;
                    self.handle_second_frame(now, &buf[offset - len..offset]);
                }
                Ok(None) => break,
                Err(error) => {
                    self.close_second(Some(error.notification()));
                    self.release_keepalive(now);
                }
            }
        }
        if self.generation != generation {
            // The second connection became the session's: what follows its OPEN is the
            // session's to read.
            if offset < buf.len() {
                self.handle_bytes(now, &buf[offset..]);
            }
        } else if let Some(second) = self.second.as_mut() {
            buf.drain(..offset);
            second.receive = buf;
        }
    }

    /// Moves the bytes to write to the second connection into `out`; `false` if there are
    /// none.
    pub fn poll_second_transmit(&mut self, out: &mut Vec<u8>) -> bool {
        if self.second_transmit.is_empty() {
            return false;
        }
        out.append(&mut self.second_transmit);
        true
    }

    /// A connection arrived while the session's own exchanges OPENs: send our OPEN on it
    /// and keep it until the collision is resolved.
    pub(super) fn open_second(&mut self, now: Instant, initiator: Initiator) {
        self.second_transmit.clear();
        let open = self.open_message();
        self.emit_second(&Message::Open(open));
        let deadline = now + SECOND_OPEN_WAIT;
        self.timers.start(Timer::SecondHold, deadline);
        self.second = Some(Second {
            initiator,
            receive: Vec::new(),
            open: None,
            peer_keepalive: false,
            deadline,
        });
        self.events.push_back(SessionEvent::SecondConnection);
    }

    fn handle_second_frame(&mut self, now: Instant, frame: &[u8]) {
        let message = match Message::parse(frame, Negotiated::default()) {
            Ok(message) => message,
            Err(error) => {
                self.close_second(Some(error.notification()));
                self.release_keepalive(now);
                return;
            }
        };
        self.stats.messages_received += 1;
        let open_confirm = self.second.as_ref().is_some_and(|s| s.open.is_some());
        match message {
            Message::Notification(_) => {
                self.stats.notifications_received += 1;
                self.close_second(None);
                self.release_keepalive(now);
            }
            Message::Open(open) if !open_confirm => match self.check_open(&open) {
                Err(error) => {
                    self.close_second(Some(error.notification()));
                    self.release_keepalive(now);
                }
                Ok(()) => {
                    // No KEEPALIVE yet: it waits for the outcome (module docs).
                    if let Some(second) = self.second.as_mut() {
                        second.open = Some(open);
                    }
                    if self.state == State::OpenConfirm {
                        self.resolve_collision(now);
                    }
                }
            },
            // The peer confirmed our OPEN here while ours has no OPEN yet: its identifier
            // is known, so the collision is resolved now if this connection wins it.
            Message::Keepalive if open_confirm => {
                let Some(second) = self.second.as_mut() else {
                    return;
                };
                second.peer_keepalive = true;
                let initiator = second.initiator;
                let peer_id = second.open.as_ref().map(|o| o.bgp_identifier);
                let s = self.config.settings();
                let wins = peer_id.is_some_and(|id| {
                    survivor(s.router_id, s.local_as, id, s.peer_as) == initiator
                });
                if self.state == State::OpenSent && wins {
                    self.stats.collisions += 1;
                    self.take_over_second(now, Some(collision_cease()));
                }
            }
            //= https://www.rfc-editor.org/rfc/rfc6608#section-4
            //# If a BGP speaker receives an unexpected message (e.g., KEEPALIVE/UPDATE/
            //# ROUTE-REFRESH message) on a session in OpenSent state, it MUST send to the
            //# neighbor a NOTIFICATION message with the Error Code Finite State Machine
            //# Error and the Error Subcode "Receive Unexpected Message in OpenSent State".
            _ => {
                let state = if open_confirm {
                    State::OpenConfirm
                } else {
                    State::OpenSent
                };
                self.close_second(DownReason::UnexpectedMessage { state }.notification());
                self.release_keepalive(now);
            }
        }
    }

    /// Keeps one of the two connections once both carry the peer's OPEN (the session's
    /// connection in OpenConfirm, the second with its OPEN).
    pub(super) fn resolve_collision(&mut self, now: Instant) {
        let Some(second) = &self.second else {
            return;
        };
        let Some(open) = &second.open else {
            return;
        };
        let s = self.config.settings();
        // A connection whose KEEPALIVE already went out (the second came after it) may be
        // Established at the peer: it stays.
        let second_wins = self.keepalive_deferred
            && survivor(s.router_id, s.local_as, open.bgp_identifier, s.peer_as)
                == second.initiator;
        self.stats.collisions += 1;
        if second_wins {
            self.take_over_second(now, Some(collision_cease()));
        } else {
            self.close_second(Some(collision_cease()));
            self.release_keepalive(now);
        }
    }

    /// Sends the KEEPALIVE that waited for a collision's outcome, and moves to Established
    /// if the peer's came meanwhile.
    pub(super) fn release_keepalive(&mut self, now: Instant) {
        if !std::mem::take(&mut self.keepalive_deferred) || self.state != State::OpenConfirm {
            return;
        }
        self.send(now, &Message::Keepalive);
        if std::mem::take(&mut self.peer_keepalive_early) {
            self.set_state(State::Established);
            self.on_established(now);
        }
    }

    /// Closes the second connection, after `farewell` if there is one.
    pub(super) fn close_second(&mut self, farewell: Option<Notification>) {
        if self.second.take().is_none() {
            return;
        }
        self.timers.stop(Timer::SecondHold);
        if let Some(notification) = farewell {
            self.emit_second(&Message::Notification(notification));
        }
        self.events.push_back(SessionEvent::WantDisconnectSecond);
    }

    /// The driver lost the second connection.
    pub(super) fn second_closed(&mut self, now: Instant) {
        if self.second.take().is_some() {
            self.timers.stop(Timer::SecondHold);
        }
        self.second_transmit.clear();
        self.release_keepalive(now);
    }

    /// No OPEN on the second connection in time: it is given up; or, if it has the peer's
    /// OPEN while the session's connection still has none, the session moves to it.
    pub(super) fn second_hold_expired(&mut self, now: Instant) {
        let has_open = self.second.as_ref().is_some_and(|s| s.open.is_some());
        if has_open && self.state == State::OpenSent {
            self.stats.collisions += 1;
            self.take_over_second(now, DownReason::HoldTimerExpired.notification());
            return;
        }
        self.close_second(DownReason::HoldTimerExpired.notification());
        self.release_keepalive(now);
    }

    /// Moves the session onto the second connection (in OpenConfirm if the peer's OPEN
    /// on it has arrived, else OpenSent) and closes the old one after `farewell`.
    pub(super) fn take_over_second(&mut self, now: Instant, farewell: Option<Notification>) {
        let Some(second) = self.second.take() else {
            return;
        };
        self.timers.stop(Timer::SecondHold);
        // The old connection's unsent bytes are moot: its farewell goes out alone.
        self.transmit.clear();
        std::mem::swap(&mut self.transmit, &mut self.second_transmit);
        if let Some(notification) = farewell.filter(|_| self.connected) {
            self.emit_second(&Message::Notification(notification));
        }
        self.receive = second.receive;
        self.initiator = second.initiator;
        self.connected = true;
        self.generation += 1;
        self.keepalive_deferred = false;
        self.peer_keepalive_early = false;
        self.events.push_back(SessionEvent::ConnectionsSwapped {
            kept: second.initiator,
        });
        self.events.push_back(SessionEvent::WantDisconnectSecond);
        match &second.open {
            Some(open) => {
                let negotiation = self.negotiate(open);
                if negotiation.hold_time.is_zero() {
                    self.timers.stop(Timer::Hold);
                    self.timers.stop(Timer::Keepalive);
                } else {
                    self.timers.start(Timer::Hold, now + negotiation.hold_time);
                }
                self.negotiation = Some(negotiation);
                self.set_state(State::OpenConfirm);
                // The KEEPALIVE its OPEN called for, held until now.
                self.send(now, &Message::Keepalive);
                if second.peer_keepalive {
                    self.set_state(State::Established);
                    self.on_established(now);
                }
            }
            None => {
                self.negotiation = None;
                self.timers.start(Timer::Hold, second.deadline);
                self.timers.stop(Timer::Keepalive);
                self.set_state(State::OpenSent);
            }
        }
        if self.transmit.is_empty() {
            self.timers.stop(Timer::SendHold);
        } else {
            self.timers
                .start(Timer::SendHold, now + self.send_hold_time());
        }
    }

    /// Queues a message for the second connection.
    fn emit_second(&mut self, message: &Message) {
        // OPEN, KEEPALIVE and NOTIFICATION do not depend on negotiated options, and stay
        // far under 4096 octets.
        if message
            .emit(&mut self.second_transmit, Negotiated::default())
            .is_ok()
        {
            self.stats.messages_sent += 1;
            if matches!(message, Message::Notification(_)) {
                self.stats.notifications_sent += 1;
            }
        }
    }
}
