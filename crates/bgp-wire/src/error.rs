//! Parse and emit errors.
//!
//! [`Error`] is what a received message did wrong, named after the RFC 4271 §6 error subcode
//! it earns; its one mapping to wire codes, [`Error::notification`], lives with the
//! NOTIFICATION message (`notification.rs`). [`AttributeError`] records an UPDATE attribute
//! error that RFC 7606 handles without resetting the session.

use std::fmt;

/// Something wrong with a received message; each variant names the NOTIFICATION it earns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The marker is not all ones (1/1 Connection Not Synchronized).
    ConnectionNotSynchronized,
    /// The length field is out of range for the message type (1/2 Bad Message Length).
    BadMessageLength {
        /// The length field as received.
        length: u16,
    },
    /// The type field is not a known message type (1/3 Bad Message Type).
    BadMessageType {
        /// The type field as received.
        kind: u8,
    },
    /// The OPEN's version is not 4 (2/1 Unsupported Version Number).
    UnsupportedVersionNumber {
        /// The version field as received.
        version: u8,
    },
    /// The peer's AS is not the one configured (2/2 Bad Peer AS).
    BadPeerAs,
    /// The BGP Identifier is zero or equal to ours on iBGP (2/3 Bad BGP Identifier).
    BadBgpIdentifier,
    /// An optional parameter other than capabilities (2/4 Unsupported Optional Parameter).
    UnsupportedOptionalParameter {
        /// The parameter type as received.
        kind: u8,
    },
    /// Hold time of one or two seconds (2/6 Unacceptable Hold Time).
    UnacceptableHoldTime {
        /// The hold time as received.
        hold_time: u16,
    },
    /// Optional parameters or capabilities do not fit their lengths (2/0 Unspecific).
    MalformedOpen,
    /// Lengths in the UPDATE are inconsistent (3/1 Malformed Attribute List).
    MalformedAttributeList,
    /// A well-known attribute we do not know (3/2 Unrecognized Well-known Attribute).
    UnrecognizedWellKnownAttribute {
        /// The attribute type code.
        type_code: u8,
    },
    /// A mandatory well-known attribute is absent (3/3 Missing Well-known Attribute).
    MissingWellKnownAttribute {
        /// The attribute type code.
        type_code: u8,
    },
    /// Optional/transitive bits conflict with the type (3/4 Attribute Flags Error).
    AttributeFlags {
        /// The attribute type code.
        type_code: u8,
    },
    /// The attribute has the wrong length or overruns the list (3/5 Attribute Length Error).
    AttributeLength {
        /// The attribute type code.
        type_code: u8,
    },
    /// ORIGIN is not IGP, EGP or INCOMPLETE (3/6 Invalid ORIGIN Attribute).
    InvalidOrigin,
    /// NEXT_HOP is not a usable address (3/8 Invalid NEXT_HOP Attribute).
    InvalidNextHop,
    /// A recognised optional attribute is malformed (3/9 Optional Attribute Error).
    OptionalAttribute {
        /// The attribute type code.
        type_code: u8,
    },
    /// A prefix in withdrawn routes or NLRI is malformed (3/10 Invalid Network Field).
    InvalidNetworkField,
    /// AS_PATH is malformed (3/11 Malformed AS_PATH).
    MalformedAsPath,
    /// A ROUTE-REFRESH of the wrong length (7/1 Invalid Message Length, RFC 7313 §5).
    InvalidRouteRefreshLength,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ConnectionNotSynchronized => f.write_str("marker is not all ones"),
            Self::BadMessageLength { length } => write!(f, "bad message length {length}"),
            Self::BadMessageType { kind } => write!(f, "bad message type {kind}"),
            Self::UnsupportedVersionNumber { version } => {
                write!(f, "unsupported BGP version {version}")
            }
            Self::BadPeerAs => f.write_str("peer AS is not the configured one"),
            Self::BadBgpIdentifier => f.write_str("bad BGP identifier"),
            Self::UnsupportedOptionalParameter { kind } => {
                write!(f, "unsupported optional parameter {kind}")
            }
            Self::UnacceptableHoldTime { hold_time } => {
                write!(f, "unacceptable hold time {hold_time}")
            }
            Self::MalformedOpen => f.write_str("malformed optional parameters in OPEN"),
            Self::MalformedAttributeList => f.write_str("malformed attribute list"),
            Self::UnrecognizedWellKnownAttribute { type_code } => {
                write!(f, "unrecognized well-known attribute {type_code}")
            }
            Self::MissingWellKnownAttribute { type_code } => {
                write!(f, "missing well-known attribute {type_code}")
            }
            Self::AttributeFlags { type_code } => write!(f, "bad flags on attribute {type_code}"),
            Self::AttributeLength { type_code } => {
                write!(f, "bad length of attribute {type_code}")
            }
            Self::InvalidOrigin => f.write_str("invalid ORIGIN"),
            Self::InvalidNextHop => f.write_str("invalid NEXT_HOP"),
            Self::OptionalAttribute { type_code } => {
                write!(f, "malformed optional attribute {type_code}")
            }
            Self::InvalidNetworkField => f.write_str("invalid network field"),
            Self::MalformedAsPath => f.write_str("malformed AS_PATH"),
            Self::InvalidRouteRefreshLength => f.write_str("bad ROUTE-REFRESH length"),
        }
    }
}

impl std::error::Error for Error {}

/// How RFC 7606 handles an attribute error that does not reset the session.
///
/// Ordered from weakest to strongest, so that `max` picks the action for a whole UPDATE.
//= https://www.rfc-editor.org/rfc/rfc7606#section-3
//# When multiple attribute errors exist in an UPDATE message, if the same approach (either
//# "session reset", "treat-as-withdraw", or "attribute discard") is specified for the
//# handling of these malformed attributes, then the specified approach MUST be used.
//# Otherwise, the approach with the strongest action MUST be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorAction {
    /// Drop the attribute and process the UPDATE without it (RFC 7606 §2 "attribute discard").
    AttributeDiscard,
    /// Treat every route in the UPDATE as withdrawn (RFC 7606 §2 "treat-as-withdraw").
    TreatAsWithdraw,
}

/// A path-attribute error in a received UPDATE that RFC 7606 handles without a NOTIFICATION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttributeError {
    /// The attribute's type code.
    pub type_code: u8,
    /// The error, as RFC 4271 would have reported it.
    pub error: Error,
    /// What RFC 7606 says to do about it.
    pub action: ErrorAction,
}

/// Why a message could not be emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmitError {
    /// The message would be longer than 4096 octets (RFC 4271 §4.1).
    MessageTooLong {
        /// The length it would have had.
        length: usize,
    },
    /// A prefix does not belong to the address family of the field it was put in.
    FamilyMismatch,
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MessageTooLong { length } => write!(f, "message of {length} octets too long"),
            Self::FamilyMismatch => f.write_str("prefix family does not match the field"),
        }
    }
}

impl std::error::Error for EmitError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_order_by_strength() {
        assert!(ErrorAction::TreatAsWithdraw > ErrorAction::AttributeDiscard);
    }
}
