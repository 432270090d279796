//! Finding, reading and removing the TSIG record of a message (RFC 8945 §4.2: the last
//! record of the additional section).

use dns_wire::{Header, Name, read_record};

/// The TSIG record type.
pub(crate) const TSIG: u16 = 250;
/// The TSIG record's class (RFC 8945 §4.2: ANY).
pub(crate) const CLASS_ANY: u16 = 255;

/// A parsed TSIG record and where it sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsigRecord {
    /// Offset of the record in the message: the message without TSIG is `msg[..start]`.
    pub start: usize,
    /// Key name, lowercased wire form.
    pub key_name: Vec<u8>,
    /// Algorithm name, lowercased wire form.
    pub algorithm: Vec<u8>,
    /// Seconds since the epoch when signed (48 bits).
    pub time_signed: u64,
    /// Allowed clock difference in seconds.
    pub fudge: u16,
    /// The MAC.
    pub mac: Vec<u8>,
    /// The message ID when it was signed.
    pub original_id: u16,
    /// TSIG error (RFC 8945 §4.2: BADSIG 16, BADKEY 17, BADTIME 18, BADTRUNC 22).
    pub error: u16,
    /// Other data (the server's time with BADTIME).
    pub other: Vec<u8>,
}

/// A TSIG record is present but malformed, or not the last record (RFC 8945 §5.2: FORMERR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MalformedTsig;

/// The TSIG record of `msg`, if its last additional record is one.
pub fn find_tsig(msg: &[u8]) -> Result<Option<TsigRecord>, MalformedTsig> {
    let header = Header::parse(msg).ok_or(MalformedTsig)?;
    if header.arcount == 0 {
        return Ok(None);
    }
    let mut at = 12;
    for _ in 0..header.qdcount {
        at = Name::parse_compressed(msg, at)
            .map_err(|_| MalformedTsig)?
            .1
            + 4;
    }
    let records = header.ancount as usize + header.nscount as usize + header.arcount as usize;
    let mut last = None;
    let mut tsig_seen = false;
    for _ in 0..records {
        let start = at;
        let (record, next) = read_record(msg, at).map_err(|_| MalformedTsig)?;
        if tsig_seen {
            // RFC 8945 §5.2: a TSIG record that is not the last is a FORMERR.
            return Err(MalformedTsig);
        }
        if record.rtype == TSIG {
            tsig_seen = true;
            last = Some((start, record));
        }
        at = next;
    }
    let Some((start, record)) = last else {
        return Ok(None);
    };
    parse_rdata(start, record.owner, &record.rdata)
        .map(Some)
        .ok_or(MalformedTsig)
}

fn parse_rdata(start: usize, key_name: Vec<u8>, rdata: &[u8]) -> Option<TsigRecord> {
    let (algorithm, mut at) = Name::parse_uncompressed(rdata, 0).ok()?;
    let fixed = rdata.get(at..at + 10)?;
    let time_signed = u64::from_be_bytes([
        0, 0, fixed[0], fixed[1], fixed[2], fixed[3], fixed[4], fixed[5],
    ]);
    let fudge = u16::from_be_bytes([fixed[6], fixed[7]]);
    let mac_len = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
    at += 10;
    let mac = rdata.get(at..at + mac_len)?.to_vec();
    at += mac_len;
    let tail = rdata.get(at..at + 6)?;
    let original_id = u16::from_be_bytes([tail[0], tail[1]]);
    let error = u16::from_be_bytes([tail[2], tail[3]]);
    let other_len = u16::from_be_bytes([tail[4], tail[5]]) as usize;
    at += 6;
    let other = rdata.get(at..at + other_len)?.to_vec();
    if at + other_len != rdata.len() {
        return None;
    }
    Some(TsigRecord {
        start,
        key_name,
        algorithm: algorithm.as_wire().to_vec(),
        time_signed,
        fudge,
        mac,
        original_id,
        error,
        other,
    })
}

/// The message as it was before TSIG was added: without the record, ARCOUNT one less, and
/// the original ID (RFC 8945 §4.3.1).
pub(crate) fn without_tsig(msg: &[u8], tsig: &TsigRecord) -> Vec<u8> {
    let mut bare = msg[..tsig.start].to_vec();
    bare[0..2].copy_from_slice(&tsig.original_id.to_be_bytes());
    let arcount = u16::from_be_bytes([bare[10], bare[11]]).saturating_sub(1);
    bare[10..12].copy_from_slice(&arcount.to_be_bytes());
    bare
}
