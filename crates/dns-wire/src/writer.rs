//! Writing a response: header, echoed question, resource records with name compression
//! (RFC 1035 §4.1.4), the OPT record, and checkpoints to roll back what does not fit.
//!
//! The writer appends to a caller-owned `Vec<u8>` that is reused between queries, so a warm
//! server does not allocate. Compression keeps a small table of offsets where names start;
//! names are compared case-insensitively by walking the message itself.

use crate::header::{HEADER_LEN, Header};

/// Adds the EDNS option `code` with `data` to the OPT record that ends `msg`, a message
/// already written (its OPT last, as [`MessageWriter::push_opt`] puts it), when the result
/// fits in `limit` octets. Returns the new length; `None`, with `msg` unchanged, when the
/// message does not end with an OPT or the option would not fit (a server cookie is then
/// left out rather than the answer truncated: the client learns it from the next answer).
pub fn append_opt_option(msg: &mut Vec<u8>, code: u16, data: &[u8], limit: usize) -> Option<usize> {
    let header = Header::parse(msg)?;
    let mut at = HEADER_LEN;
    for _ in 0..header.qdcount {
        let (_, end) = crate::Name::parse_compressed(msg, at).ok()?;
        at = end + 4;
    }
    let records =
        usize::from(header.ancount) + usize::from(header.nscount) + usize::from(header.arcount);
    let mut last = None;
    for _ in 0..records {
        let record = crate::query::skip_record(msg, at).ok()?;
        last = Some((at, record.rtype, record.owner_is_root));
        at = record.end;
    }
    let (opt_at, rtype, at_root) = last?;
    if at != msg.len() || rtype != crate::types::rtype::OPT || !at_root {
        return None;
    }
    let added = 4 + data.len();
    let new_len = msg.len() + added;
    let rdlen_at = opt_at + 1 + 8;
    let rdlen = usize::from(u16::from_be_bytes([msg[rdlen_at], msg[rdlen_at + 1]])) + added;
    if new_len > limit || rdlen > u16::MAX as usize {
        return None;
    }
    msg[rdlen_at..rdlen_at + 2].copy_from_slice(&(rdlen as u16).to_be_bytes());
    msg.extend_from_slice(&code.to_be_bytes());
    msg.extend_from_slice(&(data.len() as u16).to_be_bytes());
    msg.extend_from_slice(data);
    Some(new_len)
}

/// Offsets above this cannot be the target of a compression pointer (14 bits).
const MAX_POINTER_TARGET: usize = 0x3fff;
/// How many name positions the compression table remembers; answers are small.
const COMPRESSION_SLOTS: usize = 48;

/// Which section records are being added to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Answer section.
    Answer = 0,
    /// Authority section.
    Authority = 1,
    /// Additional section.
    Additional = 2,
}

/// How the names inside a record's RDATA may be compressed. Only the types of RFC 1035
/// may be (RFC 3597 §4); the others are copied as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RdataNames {
    /// Copy the RDATA as it is.
    Opaque,
    /// One name fills the RDATA (NS, CNAME, PTR).
    One,
    /// Two names then 20 octets (SOA).
    Soa,
    /// Two octets then one name (MX).
    AfterTwoOctets,
}

/// How a record's owner is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner<'a> {
    /// A name, compressed against what is already in the message.
    Name(&'a [u8]),
    /// A pointer to a name known to be at this offset.
    At(u16),
}

/// Writing failed: the message would exceed 65535 octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// No room left in a DNS message.
    NoSpace,
}

/// A position to roll back to.
#[derive(Clone, Copy, Debug)]
pub struct Checkpoint {
    len: usize,
    counts: [u16; 3],
    names: usize,
}

/// Builds one response into a reusable buffer.
pub struct MessageWriter<'a> {
    buf: &'a mut Vec<u8>,
    header: Header,
    counts: [u16; 3],
    section: Section,
    /// Offsets where a name (or the rest of one) starts, and the uncompressed length of the
    /// name from there: only names of equal length can match, which skips most comparisons.
    names: [u16; COMPRESSION_SLOTS],
    name_lens: [u8; COMPRESSION_SLOTS],
    name_count: usize,
    /// How many of the slots may be used ([`MessageWriter::limit_compression`]).
    name_limit: usize,
    /// Where the message stood after the question (see [`Self::truncate_to_question`]).
    after_question: Checkpoint,
}

impl<'a> MessageWriter<'a> {
    /// Starts a response: clears `buf`, writes a header (counts filled in by
    /// [`Self::finish`]) and, when given, the question bytes verbatim. `question` must be a
    /// well-formed question (as checked by `Query::parse`).
    pub fn new(buf: &'a mut Vec<u8>, header: Header, question: Option<&[u8]>) -> Self {
        buf.clear();
        buf.resize(HEADER_LEN, 0);
        let mut writer = Self {
            buf,
            header: Header {
                qdcount: 0,
                ancount: 0,
                nscount: 0,
                arcount: 0,
                ..header
            },
            counts: [0; 3],
            section: Section::Answer,
            names: [0; COMPRESSION_SLOTS],
            name_lens: [0; COMPRESSION_SLOTS],
            name_count: 0,
            name_limit: COMPRESSION_SLOTS,
            after_question: Checkpoint {
                len: HEADER_LEN,
                counts: [0; 3],
                names: 0,
            },
        };
        if let Some(question) = question {
            writer.buf.extend_from_slice(question);
            writer.header.qdcount = 1;
            let qname = &question[..question.len().saturating_sub(4)];
            writer.remember_labels(HEADER_LEN, qname, qname.len());
        }
        writer.after_question = writer.checkpoint();
        writer
    }

    /// Remembers at most `slots` name positions for compression (the first ones written)
    /// instead of 48: every name written is compared with each remembered one of its
    /// length, and a zone transfer writes a million names into messages full of names of
    /// one length, where the search was nine tenths of the primary's time. The first
    /// names of a zone's message carry its origin, which is what most names share.
    pub fn limit_compression(&mut self, slots: usize) {
        self.name_limit = slots.min(COMPRESSION_SLOTS);
    }

    /// Drops every record written: the message is its header and question again (an
    /// answer that does not fit, sent with TC).
    pub fn truncate_to_question(&mut self) {
        self.rollback(self.after_question);
    }

    /// The header flags as they will be written.
    pub fn flags(&self) -> u16 {
        self.header.flags
    }

    /// Sets the header flags (QR, opcode, AA, TC, RD, RCODE ...).
    pub fn set_flags(&mut self, flags: u16) {
        self.header.flags = flags;
    }

    /// Current length of the message.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing but the header has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.len() == HEADER_LEN
    }

    /// Number of records written to `section` so far.
    pub fn count(&self, section: Section) -> u16 {
        self.counts[section as usize]
    }

    /// Directs the following records to `section`.
    pub fn set_section(&mut self, section: Section) {
        self.section = section;
    }

    /// Marks the current position.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            len: self.buf.len(),
            counts: self.counts,
            names: self.name_count,
        }
    }

    /// Drops everything written after `checkpoint`.
    pub fn rollback(&mut self, checkpoint: Checkpoint) {
        self.buf.truncate(checkpoint.len);
        self.counts = checkpoint.counts;
        self.name_count = checkpoint.names;
    }

    /// Appends a resource record. `owner` is an uncompressed wire name (any case).
    pub fn push_record(
        &mut self,
        owner: &[u8],
        rtype: u16,
        class: u16,
        ttl: u32,
        rdata: &[u8],
        names: RdataNames,
    ) -> Result<(), WriteError> {
        self.push_record_as(Owner::Name(owner), rtype, class, ttl, rdata, names)
    }

    /// Appends a resource record whose owner is already in the message at `offset` (the
    /// question name at 12, or one of its suffixes): the owner becomes a pointer without a
    /// search. The caller guarantees `offset` starts that name.
    pub fn push_record_owner_at(
        &mut self,
        offset: u16,
        rtype: u16,
        class: u16,
        ttl: u32,
        rdata: &[u8],
        names: RdataNames,
    ) -> Result<(), WriteError> {
        self.push_record_as(Owner::At(offset), rtype, class, ttl, rdata, names)
    }

    /// Appends a resource record with its owner given as a name or a known offset.
    pub fn push_record_as(
        &mut self,
        owner: Owner<'_>,
        rtype: u16,
        class: u16,
        ttl: u32,
        rdata: &[u8],
        names: RdataNames,
    ) -> Result<(), WriteError> {
        let start = self.buf.len();
        match owner {
            Owner::Name(owner) => self.push_name(owner),
            Owner::At(offset) => self.buf.extend_from_slice(&(0xc000 | offset).to_be_bytes()),
        }
        let [t0, t1] = rtype.to_be_bytes();
        let [c0, c1] = class.to_be_bytes();
        let [l0, l1, l2, l3] = ttl.to_be_bytes();
        self.buf
            .extend_from_slice(&[t0, t1, c0, c1, l0, l1, l2, l3, 0, 0]);
        let rdlen_at = self.buf.len() - 2;
        match names {
            RdataNames::Opaque => self.buf.extend_from_slice(rdata),
            RdataNames::One => self.push_name(rdata),
            RdataNames::AfterTwoOctets if rdata.len() > 2 => {
                self.buf.extend_from_slice(&rdata[..2]);
                self.push_name(&rdata[2..]);
            }
            RdataNames::Soa => {
                let mname_len = wire_name_len(rdata);
                let rname_len = wire_name_len(&rdata[mname_len..]);
                self.push_name(&rdata[..mname_len]);
                self.push_name(&rdata[mname_len..mname_len + rname_len]);
                self.buf.extend_from_slice(&rdata[mname_len + rname_len..]);
            }
            RdataNames::AfterTwoOctets => self.buf.extend_from_slice(rdata),
        }
        let rdlen = self.buf.len() - rdlen_at - 2;
        if self.buf.len() > u16::MAX as usize {
            self.buf.truncate(start);
            return Err(WriteError::NoSpace);
        }
        self.buf[rdlen_at..rdlen_at + 2].copy_from_slice(&(rdlen as u16).to_be_bytes());
        self.counts[self.section as usize] += 1;
        Ok(())
    }

    /// Appends the OPT record (RFC 6891 §6.1.2) to the additional section, with the given
    /// options as (code, data) pairs.
    pub fn push_opt(
        &mut self,
        udp_payload: u16,
        extended_rcode: u8,
        dnssec_ok: bool,
        options: &[(u16, &[u8])],
    ) -> Result<(), WriteError> {
        let start = self.buf.len();
        self.buf.push(0);
        self.buf
            .extend_from_slice(&crate::types::rtype::OPT.to_be_bytes());
        self.buf.extend_from_slice(&udp_payload.to_be_bytes());
        let ttl = ((extended_rcode as u32) << 24) | if dnssec_ok { 0x8000 } else { 0 };
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        let rdlen: usize = options.iter().map(|(_, data)| 4 + data.len()).sum();
        self.buf.extend_from_slice(&(rdlen as u16).to_be_bytes());
        for (code, data) in options {
            self.buf.extend_from_slice(&code.to_be_bytes());
            self.buf
                .extend_from_slice(&(data.len() as u16).to_be_bytes());
            self.buf.extend_from_slice(data);
        }
        if self.buf.len() > u16::MAX as usize {
            self.buf.truncate(start);
            return Err(WriteError::NoSpace);
        }
        self.counts[Section::Additional as usize] += 1;
        Ok(())
    }

    /// Writes the header with the final counts. Returns the message length.
    pub fn finish(self) -> usize {
        let header = Header {
            ancount: self.counts[0],
            nscount: self.counts[1],
            arcount: self.counts[2],
            ..self.header
        };
        header.emit(&mut self.buf[..HEADER_LEN]);
        self.buf.len()
    }

    /// Writes `name` (uncompressed wire, any case), replacing its longest suffix already in
    /// the message with a pointer, and remembers the new label positions.
    fn push_name(&mut self, name: &[u8]) {
        let mut at = 0;
        while let Some(&len) = name.get(at) {
            if len == 0 {
                break;
            }
            if let Some(target) = self.find_suffix(&name[at..]) {
                let written = self.buf.len();
                self.buf.extend_from_slice(&name[..at]);
                self.remember_labels(written, &name[..at], name.len());
                self.buf.extend_from_slice(&(0xc000 | target).to_be_bytes());
                return;
            }
            at += 1 + len as usize;
        }
        let written = self.buf.len();
        self.buf.extend_from_slice(name);
        self.remember_labels(written, name, name.len());
    }

    /// Records the offset of each non-root label of `labels`, written at `offset`, where
    /// `labels` starts a name that is `full_len` octets long uncompressed.
    fn remember_labels(&mut self, offset: usize, labels: &[u8], full_len: usize) {
        let mut at = 0;
        while let Some(&len) = labels.get(at) {
            if len == 0 || self.name_count >= self.name_limit || offset + at > MAX_POINTER_TARGET {
                return;
            }
            self.names[self.name_count] = (offset + at) as u16;
            self.name_lens[self.name_count] = (full_len - at) as u8;
            self.name_count += 1;
            at += 1 + len as usize;
        }
    }

    fn find_suffix(&self, suffix: &[u8]) -> Option<u16> {
        let len = suffix.len() as u8;
        (0..self.name_count)
            .find(|&i| {
                self.name_lens[i] == len && name_at_equals(self.buf, self.names[i] as usize, suffix)
            })
            .map(|i| self.names[i])
    }
}

/// Whether the (possibly compressed) name at `offset` in `msg` equals `name`, ignoring case.
fn name_at_equals(msg: &[u8], mut offset: usize, name: &[u8]) -> bool {
    let mut at = 0;
    // Pointers in our own output always go backwards; bound the walk anyway.
    for _ in 0..128 {
        let Some(&len) = msg.get(offset) else {
            return false;
        };
        if len & 0xc0 == 0xc0 {
            let Some(&low) = msg.get(offset + 1) else {
                return false;
            };
            offset = (((len & 0x3f) as usize) << 8) | low as usize;
            continue;
        }
        if name.get(at) != Some(&len) {
            return false;
        }
        if len == 0 {
            return true;
        }
        let end = at + 1 + len as usize;
        let (Some(ours), Some(theirs)) = (
            name.get(at + 1..end),
            msg.get(offset + 1..offset + 1 + len as usize),
        ) else {
            return false;
        };
        if !ours.eq_ignore_ascii_case(theirs) {
            return false;
        }
        at = end;
        offset += 1 + len as usize;
    }
    false
}

/// Length of the uncompressed wire name at the start of `wire` (up to its end if malformed).
fn wire_name_len(wire: &[u8]) -> usize {
    let mut at = 0;
    while let Some(&len) = wire.get(at) {
        at += 1 + len as usize;
        if len == 0 {
            return at.min(wire.len());
        }
    }
    wire.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;

    const QUESTION: &[u8] = b"\x03WWW\x07example\x00\x00\x01\x00\x01";

    #[test]
    fn owner_equal_to_qname_becomes_pointer_to_12() {
        let mut buf = Vec::new();
        let mut w = MessageWriter::new(
            &mut buf,
            Header {
                id: 7,
                ..Header::default()
            },
            Some(QUESTION),
        );
        w.push_record(
            b"\x03www\x07example\x00",
            1,
            1,
            300,
            &[192, 0, 2, 1],
            RdataNames::Opaque,
        )
        .unwrap();
        let len = w.finish();
        assert_eq!(&buf[12 + QUESTION.len()..][..2], &[0xc0, 0x0c]);
        assert_eq!(len, 12 + QUESTION.len() + 2 + 10 + 4);
        assert_eq!(&buf[6..8], &[0, 1]);
    }

    #[test]
    fn rdata_names_compress_against_earlier_suffixes() {
        let mut buf = Vec::new();
        let mut w = MessageWriter::new(&mut buf, Header::default(), Some(QUESTION));
        w.push_record(
            b"\x07example\x00",
            2,
            1,
            1,
            b"\x03ns1\x07EXAMPLE\x00",
            RdataNames::One,
        )
        .unwrap();
        w.finish();
        // owner "example." -> pointer to offset 16; rdata "ns1" + pointer to 16.
        let rr = &buf[12 + QUESTION.len()..];
        assert_eq!(&rr[..2], &[0xc0, 16]);
        assert_eq!(&rr[10..12], &[0, 6]);
        assert_eq!(&rr[12..], b"\x03ns1\xc0\x10");
        // The whole thing parses back.
        let (name, _) = Name::parse_compressed(&buf, 12 + QUESTION.len() + 12).unwrap();
        assert_eq!(name.as_wire(), b"\x03ns1\x07example\x00");
    }

    #[test]
    fn rollback_forgets_records_and_names() {
        let mut buf = Vec::new();
        let mut w = MessageWriter::new(&mut buf, Header::default(), Some(QUESTION));
        let cp = w.checkpoint();
        w.push_record(
            b"\x05other\x03net\x00",
            1,
            1,
            1,
            &[1, 2, 3, 4],
            RdataNames::Opaque,
        )
        .unwrap();
        w.rollback(cp);
        w.push_record(b"\x03net\x00", 1, 1, 1, &[1, 2, 3, 4], RdataNames::Opaque)
            .unwrap();
        assert_eq!(w.count(Section::Answer), 1);
        w.finish();
        // "net." must be written in full: the rolled-back name is gone.
        assert_eq!(&buf[12 + QUESTION.len()..][..5], b"\x03net\x00");
    }

    #[test]
    fn soa_and_mx_rdata() {
        let mut buf = Vec::new();
        let mut w = MessageWriter::new(&mut buf, Header::default(), Some(QUESTION));
        let mut soa = b"\x03ns1\x07example\x00\x04host\x07example\x00".to_vec();
        soa.extend_from_slice(&[0; 20]);
        w.set_section(Section::Authority);
        w.push_record(b"\x07example\x00", 6, 1, 1, &soa, RdataNames::Soa)
            .unwrap();
        w.push_record(
            b"\x07example\x00",
            15,
            1,
            1,
            b"\x00\x0a\x02mx\x07example\x00",
            RdataNames::AfterTwoOctets,
        )
        .unwrap();
        assert_eq!(w.count(Section::Authority), 2);
        w.push_opt(1232, 0, true, &[(3, b"site")]).unwrap();
        let len = w.finish();
        assert_eq!(&buf[8..12], &[0, 2, 0, 1]);
        assert_eq!(&buf[len - 8..], b"\x00\x03\x00\x04site");
    }

    #[test]
    fn limited_compression_remembers_only_the_first_names() {
        let mut buf = Vec::new();
        let mut w = MessageWriter::new(&mut buf, Header::default(), None);
        w.limit_compression(2);
        for owner in [
            &b"\x01a\x07example\x00"[..],
            b"\x01b\x07example\x00",
            b"\x01b\x07example\x00",
        ] {
            w.push_record(owner, 1, 1, 300, &[192, 0, 2, 1], RdataNames::Opaque)
                .unwrap();
        }
        let len = w.finish();
        let first = 12;
        // a.example. in full (11 octets), then b + a pointer to example. (remembered), then
        // b.example. again in part: its own position was not remembered (two slots taken).
        let second = first + 11 + 14;
        assert_eq!(&buf[second..second + 4], b"\x01b\xc0\x0e");
        let third = second + 4 + 14;
        assert_eq!(&buf[third..third + 4], b"\x01b\xc0\x0e");
        assert_eq!(len, third + 4 + 14);
    }

    #[test]
    fn an_option_is_added_to_the_closing_opt_within_the_limit() {
        let mut buf = Vec::new();
        let mut w = MessageWriter::new(&mut buf, Header::default(), Some(QUESTION));
        w.push_record(
            b"\x03www\x07example\x00",
            1,
            1,
            300,
            &[192, 0, 2, 1],
            RdataNames::Opaque,
        )
        .unwrap();
        w.push_opt(1232, 0, false, &[(3, b"site")]).unwrap();
        let len = w.finish();
        let cookie = [7u8; 24];
        assert_eq!(
            append_opt_option(&mut buf, 10, &cookie, len + 27),
            None,
            "over the limit"
        );
        assert_eq!(buf.len(), len, "unchanged");
        let new_len = append_opt_option(&mut buf, 10, &cookie, 512).unwrap();
        assert_eq!(new_len, len + 28);
        let query = crate::Query::parse(&{
            let mut q = buf.clone();
            q[2] &= 0x7f; // parse it as a query to read its OPT
            q
        })
        .unwrap();
        let edns = query.edns.unwrap();
        assert!(edns.nsid);
        assert_eq!(edns.cookie_in(&buf), Some(&cookie[..]));
        // A message that does not end with an OPT is left alone.
        let mut plain = Vec::new();
        let w = MessageWriter::new(&mut plain, Header::default(), Some(QUESTION));
        let plain_len = w.finish();
        assert_eq!(append_opt_option(&mut plain, 10, &cookie, 512), None);
        assert_eq!(plain.len(), plain_len);
    }
}
