//! Parsing an incoming query: header, the single question, and the OPT record (RFC 6891).
//!
//! The question's bytes are kept as a range of the input so that the answer echoes them
//! verbatim (the client's 0x20 case is preserved for free); the name is also kept lowercased
//! for lookups.

use core::fmt;

use crate::header::{HEADER_LEN, Header};
use crate::name::{Name, NameError};
use crate::types::{option, rtype};

/// Why a query could not be parsed. [`ParseError::rcode`] maps each to the wire in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer than 12 bytes: not even a header to answer.
    ShortHeader,
    /// QR set: a response sent to us (answering could loop between servers).
    IsResponse,
    /// QR clear where a response was expected.
    NotResponse,
    /// QDCOUNT other than 1.
    QuestionCount(u16),
    /// The question name is malformed.
    QuestionName(NameError),
    /// The message ends inside the question or a record.
    Truncated,
    /// A malformed name in a record.
    RecordName(NameError),
    /// More than one OPT record, or an OPT whose owner is not the root (RFC 6891 §6.1.1).
    BadOpt,
    /// An EDNS option whose length runs past the OPT record.
    BadOption,
    /// Bytes after the last record.
    TrailingData,
}

impl ParseError {
    /// The response code to answer with, or `None` when the message must be dropped.
    pub fn rcode(&self) -> Option<u16> {
        match self {
            Self::ShortHeader | Self::IsResponse | Self::NotResponse => None,
            _ => Some(crate::types::rcode::FORMERR),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ShortHeader => f.write_str("message shorter than a header"),
            Self::IsResponse => f.write_str("QR set in a query"),
            Self::NotResponse => f.write_str("QR clear in a response"),
            Self::QuestionCount(n) => write!(f, "QDCOUNT {n}, expected 1"),
            Self::QuestionName(e) => write!(f, "question name: {e}"),
            Self::Truncated => f.write_str("message truncated"),
            Self::RecordName(e) => write!(f, "record name: {e}"),
            Self::BadOpt => f.write_str(
                "more than one OPT record, or one not at the root or not in the additional section",
            ),
            Self::BadOption => f.write_str("malformed EDNS option"),
            Self::TrailingData => f.write_str("bytes after the last record"),
        }
    }
}

impl std::error::Error for ParseError {}

/// What the client's OPT record said (RFC 6891 §6.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Edns {
    /// Requestor's UDP payload size.
    pub udp_payload: u16,
    /// EDNS version.
    pub version: u8,
    /// The upper eight bits of the response code (RFC 6891 §6.1.3; zero in queries).
    pub extended_rcode: u8,
    /// The DO bit (RFC 3225).
    pub dnssec_ok: bool,
    /// An NSID option was present (RFC 5001).
    pub nsid: bool,
    /// An edns-tcp-keepalive option was present (RFC 7828).
    pub tcp_keepalive: bool,
    /// An EXPIRE option was present (RFC 7314).
    pub expire: bool,
    /// A COOKIE option (RFC 7873): where its data starts in the message and its length
    /// (longer than 255 recorded as 255: anything over 40 is malformed, RFC 7873 §5.2.2,
    /// and must be seen as such, not as no cookie). Read it with [`Edns::cookie_in`].
    pub cookie: Option<(u16, u8)>,
}

impl Edns {
    /// The COOKIE option's data in `msg` (the message this was parsed from).
    pub fn cookie_in<'m>(&self, msg: &'m [u8]) -> Option<&'m [u8]> {
        let (at, len) = self.cookie?;
        msg.get(usize::from(at)..usize::from(at) + usize::from(len))
    }
}

/// A parsed query.
#[derive(Clone, Debug)]
pub struct Query {
    /// The header as received.
    pub header: Header,
    /// The question name, lowercased.
    pub qname: Name,
    /// The question type.
    pub qtype: u16,
    /// The question class.
    pub qclass: u16,
    /// End of the question in the input; `input[12..question_end]` is echoed verbatim.
    pub question_end: usize,
    /// The OPT record, if any.
    pub edns: Option<Edns>,
    /// A TSIG record was present (RFC 8945), as the last additional record.
    pub has_tsig: bool,
}

impl Query {
    /// Parses a query. Never panics, whatever the bytes.
    pub fn parse(msg: &[u8]) -> Result<Self, ParseError> {
        let mut query = Self::empty();
        query.parse_into(msg)?;
        Ok(query)
    }

    /// A query for the root, to be filled by [`Self::parse_into`].
    pub fn empty() -> Self {
        Self {
            header: Header::default(),
            qname: Name::root(),
            qtype: 0,
            qclass: 0,
            question_end: HEADER_LEN,
            edns: None,
            has_tsig: false,
        }
    }

    /// Parses `msg` into `self`, reusing its storage (the query path keeps one `Query` per
    /// call on the stack and never moves it). Never panics, whatever the bytes.
    pub fn parse_into(&mut self, msg: &[u8]) -> Result<(), ParseError> {
        let header = Header::parse(msg).ok_or(ParseError::ShortHeader)?;
        if header.is_response() {
            return Err(ParseError::IsResponse);
        }
        if header.qdcount != 1 {
            return Err(ParseError::QuestionCount(header.qdcount));
        }
        let at = self
            .qname
            .parse_uncompressed_into(msg, HEADER_LEN)
            .map_err(ParseError::QuestionName)?;
        let fixed = msg.get(at..at + 4).ok_or(ParseError::Truncated)?;
        let question_end = at + 4;
        self.header = header;
        self.qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        self.qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
        self.question_end = question_end;
        self.edns = None;
        self.has_tsig = false;
        let query = self;
        if header.ancount == 0 && header.nscount == 0 && header.arcount == 0 {
            if question_end != msg.len() {
                return Err(ParseError::TrailingData);
            }
            return Ok(());
        }
        let mut pos = question_end;
        for _ in 0..(header.ancount as u32 + header.nscount as u32) {
            let record = skip_record(msg, pos)?;
            //= https://www.rfc-editor.org/rfc/rfc6891#section-6.1.1
            //# OPT RRs MUST NOT ... appear in any section other than the additional
            if record.rtype == rtype::OPT {
                return Err(ParseError::BadOpt);
            }
            pos = record.end;
        }
        for _ in 0..header.arcount {
            let record = skip_record(msg, pos)?;
            match record.rtype {
                rtype::OPT => {
                    if query.edns.is_some() || !record.owner_is_root {
                        return Err(ParseError::BadOpt);
                    }
                    query.edns = Some(parse_opt(msg, &record)?);
                }
                rtype::TSIG => query.has_tsig = true,
                _ => {}
            }
            pos = record.end;
        }
        if pos != msg.len() {
            return Err(ParseError::TrailingData);
        }
        Ok(())
    }

    /// The question as received (name in the client's case, type, class).
    pub fn question_bytes<'a>(&self, msg: &'a [u8]) -> &'a [u8] {
        &msg[HEADER_LEN..self.question_end]
    }
}

/// The fixed fields of a record that was skipped over.
pub(crate) struct SkippedRecord {
    pub(crate) owner_is_root: bool,
    pub(crate) rtype: u16,
    class: u16,
    ttl: u32,
    rdata_start: usize,
    pub(crate) end: usize,
}

/// Checks the framing of the record at `pos` (owner, fixed fields, RDATA length).
pub(crate) fn skip_record(msg: &[u8], pos: usize) -> Result<SkippedRecord, ParseError> {
    let owner_is_root = msg.get(pos) == Some(&0);
    let (_, at) = Name::parse_compressed(msg, pos).map_err(ParseError::RecordName)?;
    let fixed = msg.get(at..at + 10).ok_or(ParseError::Truncated)?;
    let rdlen = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
    let rdata_start = at + 10;
    let end = rdata_start + rdlen;
    if end > msg.len() {
        return Err(ParseError::Truncated);
    }
    Ok(SkippedRecord {
        owner_is_root,
        rtype: u16::from_be_bytes([fixed[0], fixed[1]]),
        class: u16::from_be_bytes([fixed[2], fixed[3]]),
        ttl: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
        rdata_start,
        end,
    })
}

/// The largest answer a client takes: over TCP a whole message; over UDP 512 octets without
/// EDNS (RFC 1035 §4.2.1), else the smaller of its payload size and `ours`, never below 512
/// (RFC 6891 §6.2.5).
pub fn answer_limit(edns: Option<Edns>, udp: bool, ours: u16) -> usize {
    match (udp, edns) {
        (false, _) => usize::from(u16::MAX),
        (true, None) => 512,
        (true, Some(edns)) => usize::from(edns.udp_payload.min(ours)).max(512),
    }
}

/// The OPT record of a message that could not be parsed as a query (two questions, bytes
/// after the last record, an unknown opcode ...) but whose records are all framed soundly:
/// what a FORMERR or NOTIMP answer echoes (RFC 6891 §7). `None` when the framing breaks,
/// or when there is no OPT, more than one, or one that is not at the root, not in the
/// additional section, or with a malformed option (RFC 6891 §6.1.1: then no OPT is
/// trusted).
pub fn framed_edns(msg: &[u8]) -> Option<Edns> {
    let header = Header::parse(msg)?;
    let mut at = HEADER_LEN;
    for _ in 0..header.qdcount {
        let (_, end) = Name::parse_compressed(msg, at).ok()?;
        at = Some(end + 4).filter(|&e| e <= msg.len())?;
    }
    let before_additional = usize::from(header.ancount) + usize::from(header.nscount);
    let records = before_additional + usize::from(header.arcount);
    let mut found = None;
    for index in 0..records {
        let record = skip_record(msg, at).ok()?;
        if record.rtype == rtype::OPT {
            if index < before_additional || !record.owner_is_root || found.is_some() {
                return None;
            }
            found = Some(parse_opt(msg, &record).ok()?);
        }
        at = record.end;
    }
    found
}

//= https://www.rfc-editor.org/rfc/rfc6891#section-6.1.2
//# CLASS: requestor's UDP payload size; TTL: extended RCODE and flags
pub(crate) fn parse_opt(msg: &[u8], record: &SkippedRecord) -> Result<Edns, ParseError> {
    let mut edns = Edns {
        udp_payload: record.class,
        extended_rcode: (record.ttl >> 24) as u8,
        version: (record.ttl >> 16) as u8,
        dnssec_ok: record.ttl & 0x8000 != 0,
        ..Edns::default()
    };
    let mut at = record.rdata_start;
    while at < record.end {
        let head = msg.get(at..at + 4).filter(|_| at + 4 <= record.end);
        let head = head.ok_or(ParseError::BadOption)?;
        let code = u16::from_be_bytes([head[0], head[1]]);
        let len = u16::from_be_bytes([head[2], head[3]]) as usize;
        if at + 4 + len > record.end {
            return Err(ParseError::BadOption);
        }
        match code {
            option::NSID => edns.nsid = true,
            option::TCP_KEEPALIVE => edns.tcp_keepalive = true,
            option::EXPIRE => edns.expire = true,
            option::COOKIE => {
                let recorded = len.min(usize::from(u8::MAX)) as u8;
                edns.cookie = u16::try_from(at + 4).ok().map(|start| (start, recorded));
            }
            _ => {}
        }
        at += 4 + len;
    }
    Ok(edns)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "www.Example." A IN, id 0x1234, RD.
    const QUERY: &[u8] = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\
        \x03www\x07Example\x00\x00\x01\x00\x01";

    fn with_opt(opt_rdata: &[u8], flags_ttl: u32) -> Vec<u8> {
        let mut msg = QUERY.to_vec();
        msg[11] = 1;
        msg.push(0);
        msg.extend_from_slice(&rtype::OPT.to_be_bytes());
        msg.extend_from_slice(&1232u16.to_be_bytes());
        msg.extend_from_slice(&flags_ttl.to_be_bytes());
        msg.extend_from_slice(&(opt_rdata.len() as u16).to_be_bytes());
        msg.extend_from_slice(opt_rdata);
        msg
    }

    #[test]
    fn plain_query() {
        let q = Query::parse(QUERY).unwrap();
        assert_eq!(q.header.id, 0x1234);
        assert_eq!(q.qname.as_wire(), b"\x03www\x07example\x00");
        assert_eq!((q.qtype, q.qclass), (1, 1));
        assert_eq!(q.question_bytes(QUERY), &QUERY[12..]);
        assert!(q.edns.is_none());
    }

    #[test]
    fn edns_with_nsid_and_do() {
        let msg = with_opt(b"\x00\x03\x00\x00", 0x0000_8000);
        let q = Query::parse(&msg).unwrap();
        let edns = q.edns.unwrap();
        assert_eq!(edns.udp_payload, 1232);
        assert!(edns.dnssec_ok && edns.nsid && !edns.tcp_keepalive);
        assert_eq!(edns.version, 0);
    }

    #[test]
    fn an_overlong_cookie_is_recorded_so_it_can_be_refused() {
        for (len, recorded) in [(8usize, 8u8), (40, 40), (41, 41), (300, 255)] {
            let mut rdata = vec![0, 10];
            rdata.extend_from_slice(&(len as u16).to_be_bytes());
            rdata.resize(4 + len, 7);
            let msg = with_opt(&rdata, 0);
            let edns = Query::parse(&msg).unwrap().edns.unwrap();
            assert_eq!(edns.cookie.map(|c| c.1), Some(recorded), "{len}");
            assert_eq!(
                edns.cookie_in(&msg).map(<[u8]>::len),
                Some(usize::from(recorded))
            );
        }
    }

    #[test]
    fn test_6_1_1_two_opt_records_are_formerr() {
        let mut msg = with_opt(b"", 0);
        let opt = msg[QUERY.len()..].to_vec();
        msg.extend_from_slice(&opt);
        msg[11] = 2;
        assert_eq!(Query::parse(&msg).unwrap_err(), ParseError::BadOpt);
    }

    #[test]
    fn malformed_inputs() {
        assert_eq!(
            Query::parse(&QUERY[..5]).unwrap_err(),
            ParseError::ShortHeader
        );
        assert_eq!(Query::parse(&QUERY[..20]).unwrap_err().rcode(), Some(1));
        let mut trailing = QUERY.to_vec();
        trailing.push(0);
        assert_eq!(
            Query::parse(&trailing).unwrap_err(),
            ParseError::TrailingData
        );
        let mut response = QUERY.to_vec();
        response[2] |= 0x80;
        assert_eq!(Query::parse(&response).unwrap_err().rcode(), None);
        let mut two = QUERY.to_vec();
        two[5] = 2;
        assert_eq!(
            Query::parse(&two).unwrap_err(),
            ParseError::QuestionCount(2)
        );
        let bad_option = with_opt(b"\x00\x03\x00\x09", 0);
        assert_eq!(
            Query::parse(&bad_option).unwrap_err(),
            ParseError::BadOption
        );
    }

    #[test]
    fn parse_never_panics_on_prefixes_and_bit_flips() {
        let full = with_opt(b"\x00\x03\x00\x00\x00\x0b\x00\x00", 0);
        for len in 0..full.len() {
            let _ = Query::parse(&full[..len]);
        }
        for i in 0..full.len() {
            for bit in 0..8 {
                let mut m = full.clone();
                m[i] ^= 1 << bit;
                let _ = Query::parse(&m);
            }
        }
    }

    #[test]
    fn test_6891_6_1_1_an_opt_outside_the_additional_section_is_a_format_error() {
        let mut msg = with_opt(&[], 0);
        // The same OPT, counted in the answer section instead.
        msg[7] = 1;
        msg[11] = 0;
        assert_eq!(Query::parse(&msg).unwrap_err(), ParseError::BadOpt);
        assert_eq!(
            ParseError::BadOpt.rcode(),
            Some(crate::types::rcode::FORMERR)
        );
        msg[7] = 0;
        msg[9] = 1;
        assert_eq!(
            Query::parse(&msg).unwrap_err(),
            ParseError::BadOpt,
            "authority"
        );
    }
}
