//! Whole messages: dispatch on the header type, and ROUTE-REFRESH.

use crate::error::{EmitError, Error};
use crate::header::{HEADER_LEN, Header, MAX_MESSAGE_LEN, MessageType};
use crate::negotiated::Negotiated;
use crate::notification::Notification;
use crate::open::Open;
use crate::prefix::Family;
use crate::update::Update;

/// A ROUTE-REFRESH message (RFC 2918 §3, subtypes from RFC 7313 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteRefresh {
    /// The family to re-advertise.
    pub family: Family,
    /// 0 for a plain refresh request, 1 BoRR, 2 EoRR (RFC 7313).
    pub subtype: u8,
}

impl RouteRefresh {
    /// A plain refresh request for `family`.
    pub fn new(family: Family) -> Self {
        Self { family, subtype: 0 }
    }

    fn parse(body: &[u8]) -> Result<Self, Error> {
        let [a, b, subtype, safi, rest @ ..] = body else {
            return Err(Error::InvalidRouteRefreshLength);
        };
        //= https://www.rfc-editor.org/rfc/rfc7313#section-5
        //# If the length, excluding the fixed-size message header, of the received
        //# ROUTE-REFRESH message with Message Subtype 1 and 2 is not 4, then the BGP speaker
        //# MUST send a NOTIFICATION message
        if !rest.is_empty() && (*subtype == 1 || *subtype == 2) {
            return Err(Error::InvalidRouteRefreshLength);
        }
        // Subtype 0 may carry ORF entries (RFC 5291); they are not supported and ignored.
        Ok(Self {
            family: Family {
                afi: u16::from_be_bytes([*a, *b]),
                safi: *safi,
            },
            subtype: *subtype,
        })
    }

    fn emit_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.family.afi.to_be_bytes());
        out.extend_from_slice(&[self.subtype, self.family.safi]);
    }
}

/// One BGP message.
// UPDATE is much larger than KEEPALIVE; messages are short-lived values on the stack, and
// boxing would add an allocation per UPDATE for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE: the header alone.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

impl Message {
    /// The type of this message.
    pub fn kind(&self) -> MessageType {
        match self {
            Self::Open(_) => MessageType::Open,
            Self::Update(_) => MessageType::Update,
            Self::Notification(_) => MessageType::Notification,
            Self::Keepalive => MessageType::Keepalive,
            Self::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// Parses exactly one message, header included, as split off by [`crate::frame_len`].
    ///
    /// Never panics; a `frame` whose length differs from its header's length field is a
    /// Bad Message Length error.
    pub fn parse(frame: &[u8], negotiated: Negotiated) -> Result<Self, Error> {
        let frame_length = u16::try_from(frame.len()).unwrap_or(u16::MAX);
        let header = Header::parse(frame)?.ok_or(Error::BadMessageLength {
            length: frame_length,
        })?;
        if usize::from(header.length) != frame.len() {
            return Err(Error::BadMessageLength {
                length: header.length,
            });
        }
        let body = &frame[HEADER_LEN..];
        Ok(match header.kind {
            MessageType::Open => Self::Open(Open::parse(body)?),
            MessageType::Update => Self::Update(Update::parse(body, negotiated)?),
            MessageType::Notification => Self::Notification(Notification::parse(body)?),
            MessageType::Keepalive => Self::Keepalive,
            MessageType::RouteRefresh => Self::RouteRefresh(RouteRefresh::parse(body)?),
        })
    }

    /// Appends this message, header included, to `out`.
    ///
    /// On error `out` is left as it was.
    pub fn emit(&self, out: &mut Vec<u8>, negotiated: Negotiated) -> Result<(), EmitError> {
        let start = out.len();
        Header::emit_placeholder(self.kind(), out);
        let result = match self {
            Self::Open(open) => open.emit_body(out),
            Self::Update(update) => update.emit_body(out, negotiated),
            Self::Notification(notification) => {
                notification.emit_body(out);
                Ok(())
            }
            Self::Keepalive => Ok(()),
            Self::RouteRefresh(refresh) => {
                refresh.emit_body(out);
                Ok(())
            }
        };
        let length = out.len() - start;
        let result = result.and_then(|()| {
            if length > MAX_MESSAGE_LEN {
                return Err(EmitError::MessageTooLong { length });
            }
            Ok(())
        });
        match (result, u16::try_from(length)) {
            (Ok(()), Ok(length)) => {
                Header::patch_length(out, start, length);
                Ok(())
            }
            (Err(e), _) => {
                out.truncate(start);
                Err(e)
            }
            (Ok(()), Err(_)) => {
                out.truncate(start);
                Err(EmitError::MessageTooLong { length })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{CeaseSubcode, ErrorCode};
    use crate::prefix::Prefix;

    const FOUR: Negotiated = Negotiated::FOUR_OCTET_AS;

    fn with_header(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![0xff; 16];
        v.extend_from_slice(&u16::try_from(body.len() + 19).unwrap().to_be_bytes());
        v.push(kind);
        v.extend_from_slice(body);
        v
    }

    fn round_trip(message: &Message, bytes: &[u8]) {
        let mut out = Vec::new();
        message.emit(&mut out, FOUR).unwrap();
        assert_eq!(out, bytes, "{message:?}");
        assert_eq!(&Message::parse(bytes, FOUR).unwrap(), message);
    }

    #[test]
    fn test_4_4_keepalive_vector() {
        round_trip(&Message::Keepalive, &with_header(4, &[]));
    }

    #[test]
    fn test_4_5_notification_vector() {
        let n = Notification::new(ErrorCode::HoldTimerExpired, 0, Vec::new());
        round_trip(&Message::Notification(n), &with_header(3, &[4, 0]));
        let n = Notification::cease(CeaseSubcode::AdministrativeShutdown, "bye");
        round_trip(
            &Message::Notification(n),
            &with_header(3, &[6, 2, 3, b'b', b'y', b'e']),
        );
    }

    #[test]
    fn test_rfc2918_route_refresh_vector() {
        let rr = RouteRefresh::new(Family::IPV6_UNICAST);
        round_trip(&Message::RouteRefresh(rr), &with_header(5, &[0, 2, 0, 1]));
        let borr_too_long = with_header(5, &[0, 2, 1, 1, 0]);
        assert_eq!(
            Message::parse(&borr_too_long, FOUR),
            Err(Error::InvalidRouteRefreshLength)
        );
    }

    #[test]
    fn test_4_3_update_vector() {
        let update = Update {
            withdrawn: vec!["192.0.2.0/24".parse::<Prefix>().unwrap()],
            ..Update::default()
        };
        round_trip(
            &Message::Update(update),
            &with_header(2, &[0, 4, 24, 192, 0, 2, 0, 0]),
        );
    }

    #[test]
    fn frame_must_match_length_field() {
        let mut bytes = with_header(4, &[]);
        bytes.push(0);
        assert_eq!(
            Message::parse(&bytes, FOUR),
            Err(Error::BadMessageLength { length: 19 })
        );
        assert_eq!(
            Message::parse(&bytes[..10], FOUR),
            Err(Error::BadMessageLength { length: 10 })
        );
    }

    #[test]
    fn emit_refuses_oversized_and_leaves_output() {
        let prefixes = (0..1200u32)
            .map(|i| Prefix::new(std::net::Ipv4Addr::from(i << 8).into(), 24).unwrap())
            .collect();
        let update = Update {
            nlri: prefixes,
            ..Update::default()
        };
        let mut out = vec![1, 2, 3];
        let err = Message::Update(update).emit(&mut out, FOUR).unwrap_err();
        assert!(matches!(err, EmitError::MessageTooLong { .. }));
        assert_eq!(out, [1, 2, 3]);
    }

    /// Truncated and garbage messages of every type fail with the right NOTIFICATION code.
    #[test]
    fn test_6_truncated_and_garbage_messages() {
        let open = [
            4, 0xfd, 0xe9, 0, 90, 192, 0, 2, 1, 8, 2, 6, 65, 4, 0, 0, 0xfd, 0xe9,
        ];
        let cases: &[(Vec<u8>, (u8, u8))] = &[
            (vec![0; 19], (1, 1)),
            (with_header(4, &[0]), (1, 2)),
            (with_header(3, &[]), (1, 2)),
            (with_header(1, &open[..9]), (1, 2)),
            (with_header(2, &[0, 0]), (1, 2)),
            (with_header(9, &[]), (1, 3)),
            (with_header(1, &open[..open.len() - 1]), (2, 0)),
            (with_header(2, &[0, 0, 0, 9, 0x40, 1, 1, 0]), (3, 1)),
            (with_header(2, &[0, 0, 0, 0, 40, 1, 2, 3, 4, 5]), (3, 10)),
            (with_header(2, &[0, 0, 0, 3, 0x40, 77, 0]), (3, 2)),
            (with_header(5, &[0, 1]), (1, 2)),
        ];
        for (bytes, (code, subcode)) in cases {
            let error = Message::parse(bytes, FOUR).unwrap_err();
            let n = error.notification();
            assert_eq!((n.code, n.subcode), (*code, *subcode), "{bytes:?}: {error}");
        }
    }
}
