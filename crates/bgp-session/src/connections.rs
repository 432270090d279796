//! The vocabulary of a peer's connections that the session and its collision handling
//! share: which side opened a connection, the state of a second connection while a
//! collision (RFC 4271 §6.8) is resolved, and the rule that picks the connection to keep.

use std::net::Ipv4Addr;
use std::time::Instant;

use bgp_wire::{CeaseSubcode, Notification, Open};

/// Which side opened a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Initiator {
    /// We connected to the peer.
    Local,
    /// The peer connected to us.
    Remote,
}

/// The second connection's OPEN exchange.
#[derive(Debug)]
pub(crate) struct Second {
    pub(crate) initiator: Initiator,
    pub(crate) receive: Vec<u8>,
    /// The peer's OPEN on this connection, once received (it is then in OpenConfirm).
    pub(crate) open: Option<Open>,
    /// The peer's KEEPALIVE came after its OPEN (ours waits for the outcome).
    pub(crate) peer_keepalive: bool,
    /// Closed unless the peer's OPEN arrives by then.
    pub(crate) deadline: Instant,
}

//= https://www.rfc-editor.org/rfc/rfc4271#section-6.8
//# 1) The BGP Identifier of the local system is compared to the BGP Identifier of the
//# remote system (as specified in the OPEN message).  Comparing BGP Identifiers is done by
//# converting them to host byte order and treating them as 4-octet unsigned integers.
//# 2) If the value of the local BGP Identifier is less than the remote one, the local
//# system closes the BGP connection that already exists (the one that is already in the
//# OpenConfirm state), and accepts the BGP connection initiated by the remote system.
//# 3) Otherwise, the local system closes the newly created BGP connection (the one
//# associated with the newly received OPEN message), and continues to use the existing one
//# (the one that is already in the OpenConfirm state).
/// The connection a collision keeps: the one opened by the side with the higher BGP
/// Identifier, or with equal identifiers (allowed between ASes) the higher AS number.
pub(crate) fn survivor(
    local_id: Ipv4Addr,
    local_as: u32,
    remote_id: Ipv4Addr,
    remote_as: u32,
) -> Initiator {
    //= https://www.rfc-editor.org/rfc/rfc6286#section-2.3
    //# If the BGP Identifiers of the peers involved in the connection collision are
    //# identical, then the connection initiated by the BGP speaker with the larger AS
    //# number is preserved.
    let ours = (u32::from(local_id), local_as);
    let theirs = (u32::from(remote_id), remote_as);
    if ours > theirs {
        Initiator::Local
    } else {
        Initiator::Remote
    }
}

/// Cease/Connection Collision Resolution, for the connection a collision closes.
pub(crate) fn collision_cease() -> Notification {
    Notification::cease(CeaseSubcode::ConnectionCollisionResolution, "")
}
