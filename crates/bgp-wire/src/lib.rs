//! BGP-4 message codec (RFC 4271) for anyns: bytes in, typed messages out, and back.
//!
//! This crate owns the wire format of the five BGP message types and nothing else: it has no
//! I/O, no clock, no session state and no dependencies beyond `std`. The state machine that
//! decides *when* to send what lives in `bgp-session`.
//!
//! ```text
//!  TCP stream ──► frame_len() ──► Message::parse(frame, Negotiated) ──► Message
//!                                         │ Err(Error) ──► Error::notification() ──► NOTIFICATION
//!  Message ──► Message::emit(&mut Vec<u8>, Negotiated) ──► bytes for the TCP stream
//! ```
//!
//! What it covers:
//!
//! * the header and stream framing ([`frame_len`], [`Header`]);
//! * OPEN with capabilities (RFC 5492): multiprotocol (RFC 4760), route refresh (RFC 2918),
//!   4-octet AS numbers (RFC 6793), graceful restart (RFC 4724, parsed only) and the extended
//!   optional-parameters length (RFC 9072);
//! * UPDATE with ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR,
//!   COMMUNITIES (RFC 1997), LARGE_COMMUNITY (RFC 8092), MP_REACH_NLRI and MP_UNREACH_NLRI for
//!   IPv4/IPv6 unicast with the RFC 2545 IPv6 next hop; other attributes are kept raw;
//!   End-of-RIB markers (RFC 4724 §2);
//! * NOTIFICATION with code and subcode enums and the shutdown communication (RFC 9003);
//! * KEEPALIVE and ROUTE-REFRESH (RFC 2918, subtypes of RFC 7313).
//!
//! # No-panic contract
//!
//! Parsing takes untrusted bytes and never panics; every failure is an [`Error`] that maps to
//! its RFC 4271 §6 NOTIFICATION code and subcode in exactly one place,
//! [`Error::notification`]. Errors in received UPDATE path attributes that RFC 7606 allows to
//! survive are not errors of the parse: they are recorded on the [`Update`] as
//! [`AttributeError`]s with the RFC 7606 action ("treat-as-withdraw" or "attribute discard").
//! Emitting never panics; it fails only when the message would exceed 4096 octets or mixes
//! address families, and then leaves the output vector as it was.
//!
//! # What it does not do
//!
//! Extended messages (RFC 8654), ADD-PATH (RFC 7911), extended communities, ORF entries in
//! ROUTE-REFRESH (RFC 5291) and address families other than IPv4/IPv6 unicast are not decoded
//! (their attributes are kept as raw bytes). The data field of UPDATE error NOTIFICATIONs is
//! left empty rather than echoing the offending attribute, to keep [`Error`] `Copy`.

#![forbid(unsafe_code)]

mod attributes;
mod codes;
mod error;
mod header;
mod message;
mod negotiated;
mod notification;
mod open;
mod prefix;
mod update;

#[doc(hidden)]
pub mod fuzz;

pub use attributes::{
    AGGREGATOR, AS_PATH, AS4_PATH, ATOMIC_AGGREGATE, Aggregator, AsPath, AsSegment, AsSegmentType,
    COMMUNITIES, Community, LARGE_COMMUNITY, LOCAL_PREF, LargeCommunity, MP_REACH_NLRI,
    MP_UNREACH_NLRI, MULTI_EXIT_DISC, MpNextHop, MpReach, MpUnreach, NEXT_HOP, ORIGIN, Origin,
    PathAttributes, RawAttribute,
};
pub use codes::{
    CeaseSubcode, ErrorCode, FsmSubcode, HeaderSubcode, OpenSubcode, RouteRefreshSubcode,
    UpdateSubcode,
};
pub use error::{AttributeError, EmitError, Error, ErrorAction};
pub use header::{HEADER_LEN, Header, MARKER, MAX_MESSAGE_LEN, MessageType, frame_len};
pub use message::{Message, RouteRefresh};
pub use negotiated::Negotiated;
pub use notification::{Notification, SHUTDOWN_COMMUNICATION_MAX_LEN};
pub use open::{AS_TRANS, BGP_VERSION, Capability, GracefulRestart, GracefulRestartFamily, Open};
pub use prefix::{Family, Prefix, PrefixError};
pub use update::Update;
