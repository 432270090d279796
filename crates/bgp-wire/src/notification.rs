//! NOTIFICATION messages (RFC 4271 §4.5): error codes, subcodes and the shutdown
//! communication of RFC 9003.
//!
//! [`Notification`] keeps the code and subcode as received so that unknown values survive a
//! parse/emit round trip; the enums give them names.

use crate::error::Error;
use crate::header::HEADER_LEN;

/// Longest shutdown communication in octets.
//= https://www.rfc-editor.org/rfc/rfc9003#section-3
//# If it is known that the peer BGP speaker supports this specification, then a Shutdown
//# Communication that is not longer than 255 octets MAY be sent.
pub const SHUTDOWN_COMMUNICATION_MAX_LEN: usize = 255;

/// Defines a `u8`-valued enum with conversions both ways.
macro_rules! wire_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:expr,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// The enum value for a wire value, if it is one we name.
            pub fn from_u8(value: u8) -> Option<Self> {
                match value {
                    $($value => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => $value,)*
                }
            }
        }
    };
}

wire_enum! {
    /// NOTIFICATION error codes (RFC 4271 §4.5 and the IANA registry).
    pub enum ErrorCode {
        /// Message Header Error.
        MessageHeader = 1,
        /// OPEN Message Error.
        Open = 2,
        /// UPDATE Message Error.
        Update = 3,
        /// Hold Timer Expired.
        HoldTimerExpired = 4,
        /// Finite State Machine Error (subcodes in RFC 6608).
        Fsm = 5,
        /// Cease (subcodes in RFC 4486).
        Cease = 6,
        /// ROUTE-REFRESH Message Error (RFC 7313).
        RouteRefresh = 7,
        /// Send Hold Timer Expired (RFC 9687).
        SendHoldTimerExpired = 8,
    }
}

wire_enum! {
    /// Message Header Error subcodes (RFC 4271 §6.1).
    pub enum HeaderSubcode {
        /// The marker is not all ones.
        ConnectionNotSynchronized = 1,
        /// The length is out of range.
        BadMessageLength = 2,
        /// The type is unknown.
        BadMessageType = 3,
    }
}

wire_enum! {
    /// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492).
    pub enum OpenSubcode {
        /// The version is not 4.
        UnsupportedVersionNumber = 1,
        /// The AS is not the expected one.
        BadPeerAs = 2,
        /// The BGP Identifier is not acceptable.
        BadBgpIdentifier = 3,
        /// An optional parameter is unknown.
        UnsupportedOptionalParameter = 4,
        /// The hold time is one or two seconds.
        UnacceptableHoldTime = 6,
        /// A required capability is missing (RFC 5492 §5).
        UnsupportedCapability = 7,
    }
}

wire_enum! {
    /// UPDATE Message Error subcodes (RFC 4271 §6.3).
    pub enum UpdateSubcode {
        /// Lengths are inconsistent.
        MalformedAttributeList = 1,
        /// A well-known attribute is not recognised.
        UnrecognizedWellKnownAttribute = 2,
        /// A mandatory attribute is missing.
        MissingWellKnownAttribute = 3,
        /// Attribute flags conflict with the type.
        AttributeFlagsError = 4,
        /// Attribute length is wrong.
        AttributeLengthError = 5,
        /// ORIGIN value is undefined.
        InvalidOrigin = 6,
        /// NEXT_HOP is not usable.
        InvalidNextHop = 8,
        /// A recognised optional attribute is malformed.
        OptionalAttributeError = 9,
        /// A prefix is malformed.
        InvalidNetworkField = 10,
        /// AS_PATH is malformed.
        MalformedAsPath = 11,
    }
}

wire_enum! {
    /// Finite State Machine Error subcodes (RFC 6608 §3).
    pub enum FsmSubcode {
        /// No subcode.
        Unspecified = 0,
        /// A message other than OPEN or NOTIFICATION arrived in OpenSent.
        UnexpectedMessageInOpenSent = 1,
        /// A message other than KEEPALIVE or NOTIFICATION arrived in OpenConfirm.
        UnexpectedMessageInOpenConfirm = 2,
        /// An OPEN arrived in Established.
        UnexpectedMessageInEstablished = 3,
    }
}

wire_enum! {
    /// Cease subcodes (RFC 4486 §4, RFC 9384).
    pub enum CeaseSubcode {
        /// Maximum number of prefixes reached.
        MaximumPrefixes = 1,
        /// Administrative shutdown; may carry a shutdown communication (RFC 9003).
        AdministrativeShutdown = 2,
        /// The peer was removed from the configuration.
        PeerDeconfigured = 3,
        /// Administrative reset; may carry a shutdown communication (RFC 9003).
        AdministrativeReset = 4,
        /// The connection was rejected.
        ConnectionRejected = 5,
        /// Another configuration change.
        OtherConfigurationChange = 6,
        /// Connection collision resolution (RFC 4271 §6.8).
        ConnectionCollisionResolution = 7,
        /// Out of resources.
        OutOfResources = 8,
        /// Hard reset (RFC 8538).
        HardReset = 9,
        /// BFD down (RFC 9384).
        BfdDown = 10,
    }
}

wire_enum! {
    /// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
    pub enum RouteRefreshSubcode {
        /// The ROUTE-REFRESH has the wrong length.
        InvalidMessageLength = 1,
    }
}

/// A NOTIFICATION message: code, subcode and data as on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    /// Error code; see [`ErrorCode`].
    pub code: u8,
    /// Error subcode, whose meaning depends on the code.
    pub subcode: u8,
    /// Diagnostic data.
    pub data: Vec<u8>,
}

impl Notification {
    /// A NOTIFICATION with the given code, subcode and data.
    pub fn new(code: ErrorCode, subcode: u8, data: Vec<u8>) -> Self {
        Self {
            code: code.into(),
            subcode,
            data,
        }
    }

    /// A Cease NOTIFICATION; for the administrative subcodes a non-empty `message` becomes
    /// the shutdown communication, cut at a character boundary to 255 octets.
    pub fn cease(subcode: CeaseSubcode, message: &str) -> Self {
        let mut data = Vec::new();
        // RFC 9003 §2, paraphrased: the communication is at most 255 octets of UTF-8;
        // longer text is cut, here at a character boundary.
        let administrative = matches!(
            subcode,
            CeaseSubcode::AdministrativeShutdown | CeaseSubcode::AdministrativeReset
        );
        if administrative && !message.is_empty() {
            let mut end = message.len().min(SHUTDOWN_COMMUNICATION_MAX_LEN);
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            // `end` is at most 255, so it fits the length octet.
            data.push(u8::try_from(end).unwrap_or(u8::MAX));
            data.extend_from_slice(&message.as_bytes()[..end]);
        }
        Self::new(ErrorCode::Cease, subcode.into(), data)
    }

    /// The error code, if it is one we name.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_u8(self.code)
    }

    /// The shutdown communication of an Administrative Shutdown or Reset, if present and
    /// valid UTF-8 that fits the data; `None` otherwise.
    pub fn shutdown_communication(&self) -> Option<&str> {
        if self.error_code() != Some(ErrorCode::Cease) {
            return None;
        }
        match CeaseSubcode::from_u8(self.subcode) {
            Some(CeaseSubcode::AdministrativeShutdown | CeaseSubcode::AdministrativeReset) => {}
            _ => return None,
        }
        //= https://www.rfc-editor.org/rfc/rfc9003#section-4
        //# If a Shutdown Communication with an invalid UTF-8 sequence is received, a message
        //# indicating this event SHOULD be logged for the attention of the operator.
        let (&len, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(len))?;
        std::str::from_utf8(text).ok()
    }

    /// Parses the body of a NOTIFICATION (the bytes after the header).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, Error> {
        match body {
            [code, subcode, data @ ..] => Ok(Self {
                code: *code,
                subcode: *subcode,
                data: data.to_vec(),
            }),
            // The header check guarantees two octets; this keeps the parse total anyway.
            _ => Err(Error::BadMessageLength {
                length: u16::try_from(body.len() + HEADER_LEN).unwrap_or(u16::MAX),
            }),
        }
    }

    /// Appends the body of this NOTIFICATION.
    pub(crate) fn emit_body(&self, out: &mut Vec<u8>) {
        out.push(self.code);
        out.push(self.subcode);
        out.extend_from_slice(&self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_rfc9003_shutdown_communication_round_trip() {
        let n = Notification::cease(CeaseSubcode::AdministrativeShutdown, "maintenance");
        assert_eq!(n.code, 6);
        assert_eq!(n.subcode, 2);
        assert_eq!(n.data[0], 11);
        assert_eq!(n.shutdown_communication(), Some("maintenance"));
    }

    #[test]
    fn test_rfc9003_truncates_at_char_boundary() {
        let long = "é".repeat(200); // 400 octets
        let n = Notification::cease(CeaseSubcode::AdministrativeReset, &long);
        assert_eq!(n.data[0], 254);
        assert_eq!(n.shutdown_communication().unwrap().len(), 254);
    }

    #[test]
    fn test_rfc9003_invalid_length_is_ignored() {
        let n = Notification {
            code: 6,
            subcode: 2,
            data: vec![10, b'a'],
        };
        assert_eq!(n.shutdown_communication(), None);
        let other = Notification::cease(CeaseSubcode::PeerDeconfigured, "ignored");
        assert!(other.data.is_empty());
    }

    #[test]
    fn subcode_enums_round_trip() {
        for v in 0..=255u8 {
            if let Some(c) = ErrorCode::from_u8(v) {
                assert_eq!(u8::from(c), v);
            }
            if let Some(c) = CeaseSubcode::from_u8(v) {
                assert_eq!(u8::from(c), v);
            }
        }
    }
}
