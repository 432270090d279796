//! Parse and emit errors, and the one place where a parse error becomes a NOTIFICATION.
//!
//! [`Error`] is what a received message did wrong, named after the RFC 4271 §6 error subcode
//! it earns. [`Error::notification`] is the only mapping from errors to wire codes in anyns;
//! the session calls it rather than choosing codes itself. [`AttributeError`] records an
//! UPDATE attribute error that RFC 7606 handles without resetting the session.

use std::fmt;

use crate::notification::RouteRefreshSubcode;
use crate::notification::{ErrorCode, HeaderSubcode, Notification, OpenSubcode, UpdateSubcode};
use crate::open::BGP_VERSION;

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

impl Error {
    /// The NOTIFICATION to send for this error: the one mapping from errors to wire codes.
    pub fn notification(&self) -> Notification {
        use ErrorCode::{MessageHeader, Open, RouteRefresh, Update};
        let (code, subcode, data): (ErrorCode, u8, Vec<u8>) = match *self {
            //= https://www.rfc-editor.org/rfc/rfc4271#section-6.1
            //# If the Marker field of the message header is not as expected, then a
            //# synchronization error has occurred and the Error Subcode MUST be set to
            //# Connection Not Synchronized.
            Self::ConnectionNotSynchronized => (
                MessageHeader,
                HeaderSubcode::ConnectionNotSynchronized.into(),
                Vec::new(),
            ),
            //= https://www.rfc-editor.org/rfc/rfc4271#section-6.1
            //# the Error Subcode MUST be set to Bad Message Length. The Data field MUST
            //# contain the erroneous Length field.
            Self::BadMessageLength { length } => (
                MessageHeader,
                HeaderSubcode::BadMessageLength.into(),
                length.to_be_bytes().to_vec(),
            ),
            //= https://www.rfc-editor.org/rfc/rfc4271#section-6.1
            //# If the Type field of the message header is not recognized, then the Error
            //# Subcode MUST be set to Bad Message Type. The Data field MUST contain the
            //# erroneous Type field.
            Self::BadMessageType { kind } => (
                MessageHeader,
                HeaderSubcode::BadMessageType.into(),
                vec![kind],
            ),
            //= https://www.rfc-editor.org/rfc/rfc4271#section-6.2
            //# The Data field is a 2-octet unsigned integer, which indicates the largest,
            //# locally-supported version number less than the version the remote BGP peer
            //# bid
            Self::UnsupportedVersionNumber { .. } => (
                Open,
                OpenSubcode::UnsupportedVersionNumber.into(),
                u16::from(BGP_VERSION).to_be_bytes().to_vec(),
            ),
            Self::BadPeerAs => (Open, OpenSubcode::BadPeerAs.into(), Vec::new()),
            Self::BadBgpIdentifier => (Open, OpenSubcode::BadBgpIdentifier.into(), Vec::new()),
            Self::UnsupportedOptionalParameter { .. } => (
                Open,
                OpenSubcode::UnsupportedOptionalParameter.into(),
                Vec::new(),
            ),
            Self::UnacceptableHoldTime { .. } => {
                (Open, OpenSubcode::UnacceptableHoldTime.into(), Vec::new())
            }
            //= https://www.rfc-editor.org/rfc/rfc4271#section-4.5
            //# If no appropriate Error Subcode is defined, then a zero (Unspecific) value is
            //# used for the Error Subcode field.
            Self::MalformedOpen => (Open, 0, Vec::new()),
            Self::MalformedAttributeList => (
                Update,
                UpdateSubcode::MalformedAttributeList.into(),
                Vec::new(),
            ),
            Self::UnrecognizedWellKnownAttribute { .. } => (
                Update,
                UpdateSubcode::UnrecognizedWellKnownAttribute.into(),
                Vec::new(),
            ),
            //= https://www.rfc-editor.org/rfc/rfc4271#section-6.3
            //# The Data field MUST contain the Attribute Type Code of the missing,
            //# well-known attribute.
            Self::MissingWellKnownAttribute { type_code } => (
                Update,
                UpdateSubcode::MissingWellKnownAttribute.into(),
                vec![type_code],
            ),
            Self::AttributeFlags { .. } => (
                Update,
                UpdateSubcode::AttributeFlagsError.into(),
                Vec::new(),
            ),
            Self::AttributeLength { .. } => (
                Update,
                UpdateSubcode::AttributeLengthError.into(),
                Vec::new(),
            ),
            Self::InvalidOrigin => (Update, UpdateSubcode::InvalidOrigin.into(), Vec::new()),
            Self::InvalidNextHop => (Update, UpdateSubcode::InvalidNextHop.into(), Vec::new()),
            Self::OptionalAttribute { .. } => (
                Update,
                UpdateSubcode::OptionalAttributeError.into(),
                Vec::new(),
            ),
            Self::InvalidNetworkField => (
                Update,
                UpdateSubcode::InvalidNetworkField.into(),
                Vec::new(),
            ),
            Self::MalformedAsPath => (Update, UpdateSubcode::MalformedAsPath.into(), Vec::new()),
            //= https://www.rfc-editor.org/rfc/rfc7313#section-5
            //# the BGP speaker MUST send a NOTIFICATION message with the Error Code of
            //# "ROUTE-REFRESH Message Error" and the subcode of "Invalid Message Length".
            Self::InvalidRouteRefreshLength => (
                RouteRefresh,
                RouteRefreshSubcode::InvalidMessageLength.into(),
                Vec::new(),
            ),
        };
        Notification::new(code, subcode, data)
    }
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
    fn test_6_1_header_errors_map_to_code_1() {
        let n = Error::BadMessageLength { length: 18 }.notification();
        assert_eq!((n.code, n.subcode, &n.data[..]), (1, 2, &[0, 18][..]));
        let n = Error::BadMessageType { kind: 9 }.notification();
        assert_eq!((n.code, n.subcode, &n.data[..]), (1, 3, &[9][..]));
        let n = Error::ConnectionNotSynchronized.notification();
        assert_eq!((n.code, n.subcode), (1, 1));
    }

    #[test]
    fn test_6_2_open_errors_map_to_code_2() {
        let n = Error::UnsupportedVersionNumber { version: 3 }.notification();
        assert_eq!((n.code, n.subcode, &n.data[..]), (2, 1, &[0, 4][..]));
        assert_eq!(Error::BadPeerAs.notification().subcode, 2);
        assert_eq!(
            Error::UnacceptableHoldTime { hold_time: 1 }
                .notification()
                .subcode,
            6
        );
        assert_eq!(Error::MalformedOpen.notification().subcode, 0);
    }

    #[test]
    fn test_6_3_update_errors_map_to_code_3() {
        let n = Error::MissingWellKnownAttribute { type_code: 1 }.notification();
        assert_eq!((n.code, n.subcode, &n.data[..]), (3, 3, &[1][..]));
        assert_eq!(Error::MalformedAsPath.notification().subcode, 11);
        assert_eq!(Error::InvalidNetworkField.notification().subcode, 10);
    }

    #[test]
    fn actions_order_by_strength() {
        assert!(ErrorAction::TreatAsWithdraw > ErrorAction::AttributeDiscard);
    }
}
