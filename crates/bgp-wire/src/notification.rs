//! NOTIFICATION messages (RFC 4271 §4.5) with the shutdown communication of RFC 9003, and
//! the one place where a parse error becomes a NOTIFICATION ([`Error::notification`]).
//!
//! [`Notification`] keeps the code and subcode as received so that unknown values survive a
//! parse/emit round trip; the enums of `codes` give them names. [`Error::notification`] is
//! the only mapping from errors to wire codes in anyns; the session calls it rather than
//! choosing codes itself.

use crate::codes::{
    CeaseSubcode, ErrorCode, HeaderSubcode, OpenSubcode, RouteRefreshSubcode, UpdateSubcode,
};
use crate::error::Error;
use crate::header::HEADER_LEN;
use crate::open::BGP_VERSION;

/// Longest shutdown communication in octets.
//= https://www.rfc-editor.org/rfc/rfc9003#section-3
//# If it is known that the peer BGP speaker supports this specification, then a Shutdown
//# Communication that is not longer than 255 octets MAY be sent.
pub const SHUTDOWN_COMMUNICATION_MAX_LEN: usize = 255;

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
