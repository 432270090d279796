//! The 19-octet message header (RFC 4271 §4.1) and framing of the TCP byte stream.
//!
//! ```text
//!  0                   1                   2                   3
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                          Marker (16)                          |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |          Length               |      Type     |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::error::Error;

/// The marker: sixteen octets of ones.
//= https://www.rfc-editor.org/rfc/rfc4271#section-4.1
//# This 16-octet field is included for compatibility; it MUST be set to all ones.
pub const MARKER: [u8; 16] = [0xff; 16];

/// Length of the header in octets.
pub const HEADER_LEN: usize = 19;

/// Longest message in octets (RFC 4271 §4.1; RFC 8654 extended messages are not supported).
pub const MAX_MESSAGE_LEN: usize = 4096;

/// Byte ranges of the header fields.
mod field {
    use std::ops::Range;

    pub(super) const MARKER: Range<usize> = 0..16;
    pub(super) const LENGTH: Range<usize> = 16..18;
    pub(super) const TYPE: usize = 18;
}

/// The message types this crate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// OPEN (RFC 4271 §4.2).
    Open,
    /// UPDATE (RFC 4271 §4.3).
    Update,
    /// NOTIFICATION (RFC 4271 §4.5).
    Notification,
    /// KEEPALIVE (RFC 4271 §4.4).
    Keepalive,
    /// ROUTE-REFRESH (RFC 2918 §3).
    RouteRefresh,
}

impl MessageType {
    /// The type for a wire value.
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            1 => Some(Self::Open),
            2 => Some(Self::Update),
            3 => Some(Self::Notification),
            4 => Some(Self::Keepalive),
            5 => Some(Self::RouteRefresh),
            _ => None,
        }
    }

    /// The wire value of this type.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Open => 1,
            Self::Update => 2,
            Self::Notification => 3,
            Self::Keepalive => 4,
            Self::RouteRefresh => 5,
        }
    }

    /// The smallest and largest valid total length of a message of this type.
    fn length_bounds(self) -> (usize, usize) {
        //= https://www.rfc-editor.org/rfc/rfc4271#section-6.1
        //# if the Length field of an OPEN message is less than the minimum length of the
        //# OPEN message, or if the Length field of an UPDATE message is less than the
        //# minimum length of the UPDATE message, or if the Length field of a KEEPALIVE
        //# message is not equal to 19, or if the Length field of a NOTIFICATION message is
        //# less than the minimum length of the NOTIFICATION message, then the Error Subcode
        //# MUST be set to Bad Message Length.
        match self {
            Self::Open => (29, MAX_MESSAGE_LEN),
            Self::Update => (23, MAX_MESSAGE_LEN),
            Self::Notification => (21, MAX_MESSAGE_LEN),
            Self::Keepalive => (HEADER_LEN, HEADER_LEN),
            // Longer ROUTE-REFRESH messages are judged by subtype (RFC 7313 §5).
            Self::RouteRefresh => (23, MAX_MESSAGE_LEN),
        }
    }
}

/// A validated message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Total length of the message including the header.
    pub length: u16,
    /// Message type.
    pub kind: MessageType,
}

impl Header {
    /// Parses and checks the header at the start of `bytes`; `Ok(None)` if fewer than 19
    /// octets are available.
    ///
    /// The checks run in the order of RFC 4271 §6.1: marker, length, type, length for type.
    pub fn parse(bytes: &[u8]) -> Result<Option<Self>, Error> {
        let Some(length) = frame_length_field(bytes)? else {
            return Ok(None);
        };
        let kind_byte = bytes[field::TYPE];
        let kind =
            MessageType::from_u8(kind_byte).ok_or(Error::BadMessageType { kind: kind_byte })?;
        let (min, max) = kind.length_bounds();
        if !(min..=max).contains(&usize::from(length)) {
            return Err(Error::BadMessageLength { length });
        }
        Ok(Some(Self { length, kind }))
    }

    /// Appends a header with a zero length, to be fixed by [`Self::patch_length`].
    pub(crate) fn emit_placeholder(kind: MessageType, out: &mut Vec<u8>) {
        out.extend_from_slice(&MARKER);
        out.extend_from_slice(&[0, 0, kind.to_u8()]);
    }

    /// Writes the length of the message that starts at `start` into its header.
    pub(crate) fn patch_length(out: &mut [u8], start: usize, length: u16) {
        if let Some(field) = out.get_mut(start + field::LENGTH.start..start + field::LENGTH.end) {
            field.copy_from_slice(&length.to_be_bytes());
        }
    }
}

/// The length of the first complete message in `buf`, or `Ok(None)` if more bytes are needed.
///
/// Checks only what framing needs (marker and the 19..=4096 range of the length), so that a
/// stream reader can split messages before parsing them with
/// [`Message::parse`](crate::Message::parse).
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, Error> {
    match frame_length_field(buf)? {
        Some(length) if buf.len() >= usize::from(length) => Ok(Some(usize::from(length))),
        _ => Ok(None),
    }
}

/// The checked length field of the header at the start of `bytes`.
fn frame_length_field(bytes: &[u8]) -> Result<Option<u16>, Error> {
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Ok(None);
    };
    if header[field::MARKER] != MARKER {
        return Err(Error::ConnectionNotSynchronized);
    }
    let length = u16::from_be_bytes([header[field::LENGTH.start], header[field::LENGTH.start + 1]]);
    //= https://www.rfc-editor.org/rfc/rfc4271#section-4.1
    //# The value of the Length field MUST always be at least 19 and no greater than 4096
    if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&usize::from(length)) {
        return Err(Error::BadMessageLength { length });
    }
    Ok(Some(length))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEPALIVE: [u8; 19] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x00, 0x13, 0x04,
    ];

    #[test]
    fn test_4_1_keepalive_header() {
        let header = Header::parse(&KEEPALIVE).unwrap().unwrap();
        assert_eq!(header.length, 19);
        assert_eq!(header.kind, MessageType::Keepalive);
        assert_eq!(frame_len(&KEEPALIVE), Ok(Some(19)));
        assert_eq!(frame_len(&KEEPALIVE[..18]), Ok(None));
    }

    #[test]
    fn test_6_1_bad_marker() {
        let mut bytes = KEEPALIVE;
        bytes[3] = 0;
        assert_eq!(frame_len(&bytes), Err(Error::ConnectionNotSynchronized));
    }

    #[test]
    fn test_6_1_bad_lengths() {
        let mut bytes = KEEPALIVE;
        bytes[17] = 18;
        assert_eq!(
            frame_len(&bytes),
            Err(Error::BadMessageLength { length: 18 })
        );
        bytes[16] = 0x10;
        bytes[17] = 0x01;
        assert_eq!(
            frame_len(&bytes),
            Err(Error::BadMessageLength { length: 4097 })
        );
        // A KEEPALIVE of 20 octets frames, but fails the per-type check.
        let mut long = KEEPALIVE.to_vec();
        long[17] = 20;
        long.push(0);
        assert_eq!(frame_len(&long), Ok(Some(20)));
        assert_eq!(
            Header::parse(&long),
            Err(Error::BadMessageLength { length: 20 })
        );
    }

    #[test]
    fn test_6_1_bad_type() {
        let mut bytes = KEEPALIVE;
        bytes[18] = 9;
        assert_eq!(
            Header::parse(&bytes),
            Err(Error::BadMessageType { kind: 9 })
        );
    }
}
