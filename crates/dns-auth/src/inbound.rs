//! What an inbound message asks for, decided once from its header and question, so that
//! the daemon routes it (answer, NOTIFY, zone transfer) without decoding it again.
//!
//! ```text
//!  bytes ─► header: QR clear, opcode NOTIFY? ─► Notify   (client::read_notify reads it)
//!        └► Query::parse_into ─┬─ error ─────────────► Malformed (respond_to_malformed)
//!                              ├─ QUERY for AXFR/IXFR ─► Transfer (xfr, TCP only)
//!                              └─ anything else ─────► Query (respond_to_query)
//! ```

use dns_wire::types::rtype;
use dns_wire::{Header, Opcode, ParseError, Query};

/// The kind of an inbound message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A query (any opcode but NOTIFY, any type but AXFR/IXFR): answer it with
    /// [`crate::respond_to_query`]. Unknown opcodes are answered there (NOTIMP).
    Query,
    /// A zone transfer request (opcode QUERY, QTYPE AXFR or IXFR).
    Transfer,
    /// A NOTIFY request (RFC 1996), read by [`crate::client::read_notify`].
    Notify,
    /// Not a query we can read: answered by [`crate::respond_to_malformed`] (FORMERR or
    /// nothing).
    Malformed(ParseError),
}

/// Classifies `msg`, parsing its question into `query` (reused storage: the query path
/// keeps one `Query` per worker and never moves it). `query` is filled for `Query` and
/// `Transfer`.
#[inline]
pub fn classify(msg: &[u8], query: &mut Query) -> Inbound {
    if let Some(header) = Header::parse(msg) {
        //= https://www.rfc-editor.org/rfc/rfc1996#section-3.7
        //# A NOTIFY request has QR=0, AA is set, and Opcode=NOTIFY
        if !header.is_response() && header.opcode() == Opcode::Notify {
            return Inbound::Notify;
        }
    }
    match query.parse_into(msg) {
        Err(err) => Inbound::Malformed(err),
        Ok(())
            if query.header.opcode() == Opcode::Query
                && matches!(query.qtype, rtype::AXFR | rtype::IXFR) =>
        {
            Inbound::Transfer
        }
        Ok(()) => Inbound::Query,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for `example.` of type `qtype` with opcode `opcode` and QR `response`.
    fn message(opcode: u8, response: bool, qtype: u16) -> Vec<u8> {
        let flags = (u16::from(opcode) << 11) | if response { Header::QR } else { 0 };
        let mut msg = vec![0x12, 0x34];
        msg.extend_from_slice(&flags.to_be_bytes());
        msg.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        msg.extend_from_slice(b"\x07example\x00");
        msg.extend_from_slice(&qtype.to_be_bytes());
        msg.extend_from_slice(&1u16.to_be_bytes());
        msg
    }

    fn kind(msg: &[u8]) -> Inbound {
        classify(msg, &mut Query::empty())
    }

    #[test]
    fn queries_transfers_and_notifies_are_told_apart() {
        assert_eq!(kind(&message(0, false, rtype::A)), Inbound::Query);
        assert_eq!(kind(&message(0, false, rtype::SOA)), Inbound::Query);
        assert_eq!(kind(&message(0, false, rtype::AXFR)), Inbound::Transfer);
        assert_eq!(kind(&message(0, false, rtype::IXFR)), Inbound::Transfer);
        assert_eq!(kind(&message(4, false, rtype::SOA)), Inbound::Notify);
    }

    #[test]
    fn fills_the_query_it_parses() {
        let mut query = Query::empty();
        assert_eq!(
            classify(&message(0, false, rtype::AXFR), &mut query),
            Inbound::Transfer
        );
        assert_eq!(query.qtype, rtype::AXFR);
        assert_eq!(query.qname.as_wire(), b"\x07example\x00");
    }

    #[test]
    fn other_opcodes_are_queries_for_the_answer_path_to_refuse() {
        // UPDATE (5) asking for AXFR is not a transfer: respond answers NOTIMP.
        assert_eq!(kind(&message(5, false, rtype::AXFR)), Inbound::Query);
        assert_eq!(kind(&message(2, false, rtype::A)), Inbound::Query);
    }

    #[test]
    fn responses_and_runts_are_malformed() {
        // A NOTIFY response is not a NOTIFY request.
        assert_eq!(
            kind(&message(4, true, rtype::SOA)),
            Inbound::Malformed(ParseError::IsResponse)
        );
        assert_eq!(
            kind(&[0, 1, 2]),
            Inbound::Malformed(ParseError::ShortHeader)
        );
    }
}
