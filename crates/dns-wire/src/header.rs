//! The 12-byte DNS message header (RFC 1035 §4.1.1).

/// Byte ranges of the header fields, as in the RFC's diagram.
mod field {
    pub(super) const FLAGS_HI: usize = 2;
    pub(super) const FLAGS_LO: usize = 3;
}

/// Length of the header.
pub(crate) const HEADER_LEN: usize = 12;

/// A copied-out DNS header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// Query identifier.
    pub id: u16,
    /// The two flag bytes as on the wire (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE).
    pub flags: u16,
    /// Question count.
    pub qdcount: u16,
    /// Answer count.
    pub ancount: u16,
    /// Authority count.
    pub nscount: u16,
    /// Additional count.
    pub arcount: u16,
}

/// Operation codes (RFC 1035, RFC 1996, RFC 2136).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    /// 0: standard query.
    Query,
    /// 4: NOTIFY (RFC 1996).
    Notify,
    /// Any other value (1 IQUERY, 2 STATUS, 5 UPDATE, ...).
    Other(u8),
}

impl Header {
    /// QR: the message is a response.
    pub const QR: u16 = 0x8000;
    /// AA: authoritative answer.
    pub const AA: u16 = 0x0400;
    /// TC: truncated.
    pub const TC: u16 = 0x0200;
    /// RD: recursion desired.
    pub const RD: u16 = 0x0100;
    /// RA: recursion available.
    pub const RA: u16 = 0x0080;
    /// AD: authentic data (RFC 4035).
    pub const AD: u16 = 0x0020;
    /// CD: checking disabled (RFC 4035).
    pub const CD: u16 = 0x0010;

    /// Reads a header from the first 12 bytes, or `None` when there are fewer.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let b = bytes.get(..HEADER_LEN)?;
        let word = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        Some(Self {
            id: word(0),
            flags: word(field::FLAGS_HI),
            qdcount: word(4),
            ancount: word(6),
            nscount: word(8),
            arcount: word(10),
        })
    }

    /// The opcode.
    pub fn opcode(&self) -> Opcode {
        match ((self.flags >> 11) & 0xf) as u8 {
            0 => Opcode::Query,
            4 => Opcode::Notify,
            other => Opcode::Other(other),
        }
    }

    /// The raw 4-bit opcode.
    pub fn opcode_bits(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }

    /// Whether the QR bit is set.
    pub fn is_response(&self) -> bool {
        self.flags & Self::QR != 0
    }

    /// Writes the header into the first 12 bytes of `out` (which must hold them).
    pub fn emit(&self, out: &mut [u8]) {
        out[0..2].copy_from_slice(&self.id.to_be_bytes());
        out[field::FLAGS_HI..=field::FLAGS_LO].copy_from_slice(&self.flags.to_be_bytes());
        out[4..6].copy_from_slice(&self.qdcount.to_be_bytes());
        out[6..8].copy_from_slice(&self.ancount.to_be_bytes());
        out[8..10].copy_from_slice(&self.nscount.to_be_bytes());
        out[10..12].copy_from_slice(&self.arcount.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_emit_round_trip() {
        let bytes = [0x12, 0x34, 0x85, 0x80, 0, 1, 0, 2, 0, 3, 0, 4];
        let h = Header::parse(&bytes).unwrap();
        assert_eq!(h.id, 0x1234);
        assert!(h.is_response());
        assert_eq!(h.opcode(), Opcode::Query);
        assert_eq!((h.qdcount, h.ancount, h.nscount, h.arcount), (1, 2, 3, 4));
        let mut out = [0u8; 12];
        h.emit(&mut out);
        assert_eq!(out, bytes);
    }

    #[test]
    fn short_header_is_none() {
        assert!(Header::parse(&[0; 11]).is_none());
    }

    #[test]
    fn opcodes() {
        let h = Header {
            flags: 4 << 11,
            ..Header::default()
        };
        assert_eq!(h.opcode(), Opcode::Notify);
        let h = Header {
            flags: 5 << 11,
            ..Header::default()
        };
        assert_eq!(h.opcode(), Opcode::Other(5));
    }
}
