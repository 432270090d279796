//! Reading a response from another server (a resolver's upstream answer) and writing the
//! query that asks for it.
//!
//! [`Response::parse`] checks the whole message's structure once (header, the one
//! question, every record's framing, at most one OPT at the root) and remembers where each
//! section starts; [`Response::records`] then reads a section's records with their names
//! decompressed. The question is kept as received, in the case it came back in, so a
//! resolver can check that its randomised case (0x20) was echoed exactly.

use crate::header::{HEADER_LEN, Header};
use crate::name::Name;
use crate::query::{Edns, ParseError, parse_opt, skip_record};
use crate::record::{Record, read_record};
use crate::types::{option, rtype};
use crate::writer::{MessageWriter, Section};

/// A parsed response. Borrows the message it was parsed from.
#[derive(Clone, Debug)]
pub struct Response<'a> {
    msg: &'a [u8],
    /// The header.
    pub header: Header,
    /// The question name, lowercased.
    pub qname: Name,
    /// The question type.
    pub qtype: u16,
    /// The question class.
    pub qclass: u16,
    /// The OPT record, if any.
    pub edns: Option<Edns>,
    question_end: usize,
    /// Where the answer, authority and additional sections start, and where the message ends.
    sections: [usize; 4],
}

impl<'a> Response<'a> {
    /// Parses a response to a query with one question. Never panics, whatever the bytes.
    pub fn parse(msg: &'a [u8]) -> Result<Self, ParseError> {
        let header = Header::parse(msg).ok_or(ParseError::ShortHeader)?;
        if !header.is_response() {
            return Err(ParseError::NotResponse);
        }
        if header.qdcount != 1 {
            return Err(ParseError::QuestionCount(header.qdcount));
        }
        let (qname, at) =
            Name::parse_uncompressed(msg, HEADER_LEN).map_err(ParseError::QuestionName)?;
        let fixed = msg.get(at..at + 4).ok_or(ParseError::Truncated)?;
        let question_end = at + 4;
        let mut pos = question_end;
        let mut sections = [question_end; 4];
        for _ in 0..header.ancount {
            pos = skip_record(msg, pos)?.end;
        }
        sections[1] = pos;
        for _ in 0..header.nscount {
            pos = skip_record(msg, pos)?.end;
        }
        sections[2] = pos;
        let mut edns = None;
        for _ in 0..header.arcount {
            let record = skip_record(msg, pos)?;
            if record.rtype == rtype::OPT {
                if edns.is_some() || !record.owner_is_root {
                    return Err(ParseError::BadOpt);
                }
                edns = Some(parse_opt(msg, &record)?);
            }
            pos = record.end;
        }
        sections[3] = pos;
        if pos != msg.len() {
            return Err(ParseError::TrailingData);
        }
        Ok(Self {
            msg,
            header,
            qname,
            qtype: u16::from_be_bytes([fixed[0], fixed[1]]),
            qclass: u16::from_be_bytes([fixed[2], fixed[3]]),
            edns,
            question_end,
            sections,
        })
    }

    /// The question as received: name in the case it came back in, type, class.
    pub fn question_bytes(&self) -> &'a [u8] {
        &self.msg[HEADER_LEN..self.question_end]
    }

    /// The response code, with the OPT record's upper eight bits (RFC 6891 §6.1.3).
    pub fn rcode(&self) -> u16 {
        let low = self.header.flags & 0x000f;
        let high = self.edns.map_or(0, |e| u16::from(e.extended_rcode));
        (high << 4) | low
    }

    /// The COOKIE option's data (RFC 7873), if the response carried one.
    pub fn cookie(&self) -> Option<&'a [u8]> {
        self.edns?.cookie_in(self.msg)
    }

    /// Whether a header flag ([`Header::AA`], [`Header::TC`], ...) is set.
    pub fn flag(&self, flag: u16) -> bool {
        self.header.flags & flag != 0
    }

    /// The records of `section` (the OPT record is skipped), names decompressed.
    pub fn records(&self, section: Section) -> Records<'a> {
        let index = section as usize;
        Records {
            msg: self.msg,
            pos: self.sections[index],
            end: self.sections[index + 1],
            failed: false,
        }
    }
}

/// The records of one section of a [`Response`].
pub struct Records<'a> {
    msg: &'a [u8],
    pos: usize,
    end: usize,
    failed: bool,
}

impl Iterator for Records<'_> {
    type Item = Result<Record, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.pos < self.end && !self.failed {
            match read_record(self.msg, self.pos) {
                Ok((record, next)) => {
                    self.pos = next;
                    if record.rtype != rtype::OPT {
                        return Some(Ok(record));
                    }
                }
                Err(err) => {
                    self.failed = true;
                    return Some(Err(err));
                }
            }
        }
        None
    }
}

/// What a query asks beyond its question.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryOptions<'a> {
    /// Header flags to set (RD for a forwarded query, CD).
    pub flags: u16,
    /// EDNS: the UDP payload size we accept and the DO bit; `None` sends no OPT record.
    pub edns: Option<(u16, bool)>,
    /// A COOKIE option's data (RFC 7873: client cookie, then the server's, if known);
    /// empty: none. Only sent with EDNS.
    pub cookie: &'a [u8],
}

/// Writes a query into `out` (cleared first): header with `id` and `options.flags`, the
/// question with `qname` exactly as given (a resolver's randomised case), and an OPT record
/// when asked (with the COOKIE option when `options.cookie` is not empty). Returns its
/// length.
pub fn write_query(
    out: &mut Vec<u8>,
    id: u16,
    qname: &[u8],
    qtype: u16,
    qclass: u16,
    options: QueryOptions<'_>,
) -> usize {
    let mut question = Vec::with_capacity(qname.len() + 4);
    question.extend_from_slice(qname);
    question.extend_from_slice(&qtype.to_be_bytes());
    question.extend_from_slice(&qclass.to_be_bytes());
    let header = Header {
        id,
        flags: options.flags & !Header::QR,
        ..Header::default()
    };
    let mut writer = MessageWriter::new(out, header, Some(&question));
    if let Some((payload, dnssec_ok)) = options.edns {
        // A query of at most 255 + 4 + 12 octets always has room for an OPT with a cookie.
        let cookie = [(option::COOKIE, options.cookie)];
        let options: &[(u16, &[u8])] = if options.cookie.is_empty() {
            &[]
        } else {
            &cookie
        };
        let _ = writer.push_opt(payload, 0, dnssec_ok, options);
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{class, rcode};
    use crate::writer::RdataNames;

    /// A referral for "www.Example.com." A: NS in authority, glue in additional, OPT.
    fn referral() -> Vec<u8> {
        let mut out = Vec::new();
        let mut question = b"\x03www\x07Example\x03com\x00".to_vec();
        question.extend_from_slice(&[0, 1, 0, 1]);
        let header = Header {
            id: 7,
            flags: Header::QR,
            ..Header::default()
        };
        let mut w = MessageWriter::new(&mut out, header, Some(&question));
        w.set_section(Section::Authority);
        w.push_record(
            b"\x07example\x03com\x00",
            rtype::NS,
            class::IN,
            3600,
            b"\x02ns\x07example\x03com\x00",
            RdataNames::One,
        )
        .unwrap();
        w.set_section(Section::Additional);
        w.push_record(
            b"\x02ns\x07example\x03com\x00",
            rtype::A,
            class::IN,
            3600,
            &[192, 0, 2, 1],
            RdataNames::Opaque,
        )
        .unwrap();
        w.push_opt(1232, 1, false, &[]).unwrap();
        let len = w.finish();
        out.truncate(len);
        out
    }

    #[test]
    fn reads_every_section_and_keeps_the_question_case() {
        let msg = referral();
        let response = Response::parse(&msg).unwrap();
        assert_eq!(response.header.id, 7);
        assert_eq!(response.qname.as_wire(), b"\x03www\x07example\x03com\x00");
        assert_eq!(&response.question_bytes()[..12], b"\x03www\x07Example");
        assert_eq!((response.qtype, response.qclass), (1, 1));
        assert_eq!(response.records(Section::Answer).count(), 0);
        let ns: Vec<Record> = response
            .records(Section::Authority)
            .map(Result::unwrap)
            .collect();
        assert_eq!(ns.len(), 1);
        // The writer compressed the target against the question's "Example": names inside
        // RDATA keep whatever case the pointer leads to.
        assert!(
            ns[0]
                .rdata
                .eq_ignore_ascii_case(b"\x02ns\x07example\x03com\x00")
        );
        let glue: Vec<Record> = response
            .records(Section::Additional)
            .map(Result::unwrap)
            .collect();
        assert_eq!(glue.len(), 1, "the OPT record is not a record to read");
        assert_eq!(glue[0].rdata, [192, 0, 2, 1]);
        // Extended rcode 1 in the OPT, 0 in the header: 16 (BADVERS).
        assert_eq!(response.rcode(), rcode::BADVERS);
    }

    #[test]
    fn a_query_is_not_a_response_and_bad_framing_is_refused() {
        let mut query = Vec::new();
        let cookie = [7u8; 24];
        let options = QueryOptions {
            flags: Header::RD,
            edns: Some((1232, true)),
            cookie: &cookie,
        };
        let len = write_query(&mut query, 9, b"\x01A\x00", rtype::AAAA, class::IN, options);
        assert_eq!(len, query.len());
        let parsed = crate::Query::parse(&query).unwrap();
        assert_eq!(parsed.header.id, 9);
        assert_eq!(parsed.header.flags, Header::RD);
        assert_eq!(parsed.question_bytes(&query), b"\x01A\x00\x00\x1c\x00\x01");
        let edns = parsed.edns.unwrap();
        assert_eq!((edns.udp_payload, edns.dnssec_ok), (1232, true));
        assert_eq!(
            edns.cookie_in(&query),
            Some(&cookie[..]),
            "RFC 7873 COOKIE option"
        );
        assert_eq!(
            Response::parse(&query).unwrap_err(),
            ParseError::NotResponse
        );
        let mut msg = referral();
        msg.push(0);
        assert_eq!(Response::parse(&msg).unwrap_err(), ParseError::TrailingData);
        let msg = referral();
        assert_eq!(
            Response::parse(&msg[..msg.len() - 3]).unwrap_err(),
            ParseError::Truncated
        );
    }

    #[test]
    fn parse_and_read_never_panic_on_prefixes_and_bit_flips() {
        let full = referral();
        let read_all = |m: &[u8]| {
            if let Ok(r) = Response::parse(m) {
                for section in [Section::Answer, Section::Authority, Section::Additional] {
                    for record in r.records(section) {
                        let _ = record;
                    }
                }
                let _ = r.rcode();
            }
        };
        for len in 0..full.len() {
            read_all(&full[..len]);
        }
        for i in 0..full.len() {
            for bit in 0..8 {
                let mut m = full.clone();
                m[i] ^= 1 << bit;
                read_all(&m);
            }
        }
    }
}
