//! Reading resource records out of a received message (zone transfers, SOA answers):
//! the owner and the names inside RDATA are decompressed, so the record can be stored.
//!
//! RFC 3597 §4: receivers decompress the names of the RFC 1035 types and of the later types
//! that were compressed in the wild (RP, AFSDB, RT, PX, SRV, NAPTR, DNAME, MINFO); all
//! other RDATA is copied as it is.

use crate::name::walk_compressed;
use crate::query::ParseError;

/// One record read from a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner, lowercased uncompressed wire form.
    pub owner: Vec<u8>,
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// TTL.
    pub ttl: u32,
    /// RDATA with names decompressed (case kept).
    pub rdata: Vec<u8>,
}

/// Where the names sit in a type's RDATA: (fixed octets before, names). What follows the
/// names must be exactly [`fixed_after`] octets.
fn name_layout(rtype: u16) -> Option<(usize, usize)> {
    Some(match rtype {
        // NS MD MF CNAME MB MG MR PTR DNAME
        2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 | 39 => (0, 1),
        // SOA: two names then 20 octets; MINFO and RP: two names.
        6 | 14 | 17 => (0, 2),
        // MX AFSDB RT KX: a 16-bit field then a name.
        15 | 18 | 21 | 36 => (2, 1),
        // PX: preference then two names.
        26 => (2, 2),
        // SRV: priority, weight, port, target.
        33 => (6, 1),
        _ => return None,
    })
}

/// Reads the record at `pos`; returns it and the position after it.
pub fn read_record(msg: &[u8], pos: usize) -> Result<(Record, usize), ParseError> {
    let mut owner = Vec::new();
    let mut rdata = Vec::new();
    let (fields, end) = read_record_into(msg, pos, &mut owner, &mut rdata)?;
    let record = Record {
        owner,
        rtype: fields.rtype,
        class: fields.class,
        ttl: fields.ttl,
        rdata,
    };
    Ok((record, end))
}

/// A record's fixed fields, as [`read_record_into`] returns them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordFields {
    /// Type.
    pub rtype: u16,
    /// Class.
    pub class: u16,
    /// TTL.
    pub ttl: u32,
}

/// [`read_record`] into buffers the caller reuses (a zone transfer reads a million records:
/// two allocations each would be a fifth of its time): `owner` and `rdata` are replaced by
/// the record's owner (lowercased) and RDATA (names decompressed); returns the fixed fields
/// and the position after the record.
pub fn read_record_into(
    msg: &[u8],
    pos: usize,
    owner: &mut Vec<u8>,
    rdata: &mut Vec<u8>,
) -> Result<(RecordFields, usize), ParseError> {
    // Straight into `owner`, lowercased: a `Name` would be built and moved per record.
    owner.clear();
    let at = walk_compressed(msg, pos, |label| {
        owner.push(label.len() as u8);
        let start = owner.len();
        owner.extend_from_slice(label);
        owner[start..].make_ascii_lowercase();
    })
    .map_err(ParseError::RecordName)?;
    let fixed = msg.get(at..at + 10).ok_or(ParseError::Truncated)?;
    let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let class = u16::from_be_bytes([fixed[2], fixed[3]]);
    let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let rdlen = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
    let start = at + 10;
    let end = start + rdlen;
    let raw = msg.get(start..end).ok_or(ParseError::Truncated)?;
    rdata.clear();
    match name_layout(rtype) {
        None => rdata.extend_from_slice(raw),
        Some((before, names)) => {
            decompress_rdata(msg, start, end, before, names, fixed_after(rtype), rdata)?;
        }
    }
    Ok((RecordFields { rtype, class, ttl }, end))
}

/// Octets after the names of a type's RDATA: SOA's five 32-bit fields, nothing for the
/// others (bytes hidden after a name would make what is checked differ from what is used).
fn fixed_after(rtype: u16) -> usize {
    if rtype == 6 { 20 } else { 0 }
}

/// Calls `each(offset, ttl)` with the position and value of every record's TTL field in
/// `msg`, all sections, in order (the OPT record is skipped: its "TTL" holds EDNS flags).
/// An answer kept whole is aged by rewriting these fields. Errors when the message does
/// not parse to its last record; bytes after it are allowed.
pub fn for_each_ttl(msg: &[u8], mut each: impl FnMut(usize, u32)) -> Result<(), ParseError> {
    let count = |at: usize| {
        msg.get(at..at + 2)
            .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])))
            .ok_or(ParseError::ShortHeader)
    };
    let questions = count(4)?;
    let records = count(6)? + count(8)? + count(10)?;
    let mut at = 12;
    for _ in 0..questions {
        at = walk_compressed(msg, at, |_| {}).map_err(ParseError::QuestionName)? + 4;
    }
    for _ in 0..records {
        at = walk_compressed(msg, at, |_| {}).map_err(ParseError::RecordName)?;
        let fixed = msg.get(at..at + 10).ok_or(ParseError::Truncated)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        if rtype != crate::types::rtype::OPT {
            each(at + 4, ttl);
        }
        at += 10 + rdlen;
    }
    if at > msg.len() {
        return Err(ParseError::Truncated);
    }
    Ok(())
}

/// Copies RDATA at `start..end`, expanding `names` compressed names after `before` octets.
fn decompress_rdata(
    msg: &[u8],
    start: usize,
    end: usize,
    before: usize,
    names: usize,
    after: usize,
    rdata: &mut Vec<u8>,
) -> Result<(), ParseError> {
    rdata.extend_from_slice(
        msg.get(start..start + before)
            .ok_or(ParseError::Truncated)?,
    );
    let mut at = start + before;
    for _ in 0..names {
        if at >= end {
            return Err(ParseError::Truncated);
        }
        let next = walk_compressed(msg, at, |label| {
            rdata.push(label.len() as u8);
            rdata.extend_from_slice(label);
        })
        .map_err(ParseError::RecordName)?;
        if next > end {
            return Err(ParseError::Truncated);
        }
        at = next;
    }
    match (end - at).cmp(&after) {
        std::cmp::Ordering::Less => return Err(ParseError::Truncated),
        std::cmp::Ordering::Greater => return Err(ParseError::TrailingData),
        std::cmp::Ordering::Equal => {}
    }
    rdata.extend_from_slice(msg.get(at..end).ok_or(ParseError::Truncated)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::Header;
    use crate::writer::{MessageWriter, RdataNames};

    #[test]
    fn records_written_compressed_read_back_whole() {
        let mut buf = Vec::new();
        let question = b"\x07Example\x00\x00\x06\x00\x01";
        let mut w = MessageWriter::new(&mut buf, Header::default(), Some(question));
        let mut soa = b"\x03ns1\x07example\x00\x04Host\x07example\x00".to_vec();
        soa.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]);
        w.push_record(b"\x07example\x00", 6, 1, 300, &soa, RdataNames::Soa)
            .unwrap();
        w.push_record(
            b"\x07example\x00",
            15,
            1,
            300,
            b"\x00\x0a\x02mx\x07example\x00",
            RdataNames::AfterTwoOctets,
        )
        .unwrap();
        w.push_record(
            b"\x03www\x07example\x00",
            1,
            1,
            60,
            &[192, 0, 2, 1],
            RdataNames::Opaque,
        )
        .unwrap();
        w.finish();
        let mut at = 12 + question.len();
        let (first, next) = read_record(&buf, at).unwrap();
        assert_eq!(first.owner, b"\x07example\x00");
        // Compressed suffixes take the case of what they point to (here the question's).
        assert!(first.rdata.eq_ignore_ascii_case(&soa));
        at = next;
        let (mx, next) = read_record(&buf, at).unwrap();
        assert!(
            mx.rdata
                .eq_ignore_ascii_case(b"\x00\x0a\x02mx\x07example\x00")
        );
        let (a, end) = read_record(&buf, next).unwrap();
        assert_eq!(
            (a.rtype, a.ttl, a.rdata.as_slice()),
            (1, 60, &[192, 0, 2, 1][..])
        );
        assert_eq!(end, buf.len());
        assert!(read_record(&buf[..buf.len() - 1], next).is_err());
    }

    #[test]
    fn every_ttl_but_the_opt_records_is_found() {
        let mut buf = Vec::new();
        let question = b"\x03www\x07example\x00\x00\x01\x00\x01";
        let mut w = MessageWriter::new(&mut buf, Header::default(), Some(question));
        let www = b"\x03www\x07example\x00";
        w.push_record(www, 5, 1, 300, b"\x01a\x07example\x00", RdataNames::One)
            .unwrap();
        w.push_record(
            b"\x01a\x07example\x00",
            1,
            1,
            60,
            &[192, 0, 2, 1],
            RdataNames::Opaque,
        )
        .unwrap();
        w.set_section(crate::writer::Section::Additional);
        w.push_opt(1232, 0, true, &[]).unwrap();
        w.finish();
        let mut found = Vec::new();
        for_each_ttl(&buf, |at, ttl| found.push((at, ttl))).unwrap();
        assert_eq!(found.iter().map(|f| f.1).collect::<Vec<_>>(), [300, 60]);
        for (at, ttl) in found {
            assert_eq!(buf[at..at + 4], ttl.to_be_bytes());
        }
        // The OPT record's flags (DO) are not a TTL, and a cut message is an error.
        for cut in [buf.len() - 1, buf.len() - 12, 20] {
            assert!(for_each_ttl(&buf[..cut], |_, _| {}).is_err(), "{cut}");
        }
    }

    #[test]
    fn bytes_after_a_name_in_rdata_are_refused() {
        let record = |rtype: u16, rdata: &[u8]| {
            let mut msg = vec![0u8; 12];
            msg.extend_from_slice(b"\x01a\x00");
            msg.extend_from_slice(&rtype.to_be_bytes());
            msg.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            msg.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            msg.extend_from_slice(rdata);
            read_record(&msg, 12).map(|(r, _)| r)
        };
        assert!(record(5, b"\x01b\x00").is_ok());
        // A CNAME whose name ends early, the rest of the RDATA another name.
        assert_eq!(
            record(5, b"\x01b\x00\x08attacker\x00"),
            Err(ParseError::TrailingData)
        );
        // An SOA without its 20 octets of counters.
        assert_eq!(
            record(6, b"\x01m\x00\x01r\x00\x00\x00\x00\x01"),
            Err(ParseError::Truncated)
        );
    }
}
