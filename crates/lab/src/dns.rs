//! Just enough DNS for the lab's client: build a query (optionally with EDNS and an empty
//! NSID option, RFC 5001) and summarise a response (rcode, flags, counts, NSID, SOA serial).
//! Names are converted with `dns-wire`; parsing never panics on any input.

/// RR type numbers the lab asks for.
pub mod qtype {
    /// A.
    pub const A: u16 = 1;
    /// SOA.
    pub const SOA: u16 = 6;
    /// TXT.
    pub const TXT: u16 = 16;
    /// AAAA.
    pub const AAAA: u16 = 28;
    /// OPT (RFC 6891).
    pub const OPT: u16 = 41;
}

/// The EDNS option code of NSID (RFC 5001 §2.3).
const NSID: u16 = 3;
/// The UDP payload size we advertise (DNS flag day 2020).
const PAYLOAD: u16 = 1232;

/// Parses a type mnemonic the lab knows.
pub fn qtype_from_text(text: &str) -> Option<u16> {
    Some(match text.to_ascii_uppercase().as_str() {
        "A" => qtype::A,
        "SOA" => qtype::SOA,
        "TXT" => qtype::TXT,
        "AAAA" => qtype::AAAA,
        other => other.strip_prefix("TYPE")?.parse().ok()?,
    })
}

/// Builds a query for `qname`/`qtype` class IN; for a resolver (`rd`) RD and AD set, as
/// dig sends them (AD asks a validating resolver to say whether the answer is secure, RFC
/// 6840 §5.7); with `edns`, an OPT record asking for the NSID.
pub fn build_query(id: u16, qname: &[u8], qtype: u16, edns: bool, rd: bool) -> Vec<u8> {
    let mut q = Vec::with_capacity(12 + qname.len() + 4 + 15);
    q.extend_from_slice(&id.to_be_bytes());
    let ad = if rd { 0x20 } else { 0 };
    q.extend_from_slice(&[u8::from(rd), ad, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)]);
    q.extend_from_slice(qname);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    if edns {
        q.push(0);
        q.extend_from_slice(&qtype::OPT.to_be_bytes());
        q.extend_from_slice(&PAYLOAD.to_be_bytes());
        q.extend_from_slice(&[0, 0, 0, 0]);
        q.extend_from_slice(&4u16.to_be_bytes());
        q.extend_from_slice(&NSID.to_be_bytes());
        q.extend_from_slice(&0u16.to_be_bytes());
    }
    q
}

/// What the lab needs to know about a response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Message ID.
    pub id: u16,
    /// RCODE (header part).
    pub rcode: u8,
    /// Authoritative answer.
    pub aa: bool,
    /// Recursion available (a resolver's answer).
    pub ra: bool,
    /// Authenticated data (a validating resolver's secure answer).
    pub ad: bool,
    /// Truncated.
    pub tc: bool,
    /// Records in the answer section.
    pub ancount: u16,
    /// The NSID option's payload, as text.
    pub nsid: Option<String>,
    /// The serial of an SOA in the answer section.
    pub serial: Option<u32>,
    /// Message size in octets.
    pub size: usize,
}

/// Summarises a response; `None` if it is not a well-formed DNS response.
pub fn parse_response(m: &[u8]) -> Option<Summary> {
    let u16_at = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes(m.get(at..at + 2)?.try_into().ok()?))
    };
    if m.len() < 12 || m[2] & 0x80 == 0 {
        return None;
    }
    let mut s = Summary {
        id: u16_at(0)?,
        rcode: m[3] & 0x0f,
        aa: m[2] & 0x04 != 0,
        ra: m[3] & 0x80 != 0,
        ad: m[3] & 0x20 != 0,
        tc: m[2] & 0x02 != 0,
        ancount: u16_at(6)?,
        size: m.len(),
        ..Summary::default()
    };
    let (qd, an, ns, ar) = (u16_at(4)?, s.ancount, u16_at(8)?, u16_at(10)?);
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(m, at)? + 4;
    }
    for i in 0..u32::from(an) + u32::from(ns) + u32::from(ar) {
        at = skip_name(m, at)?;
        let rtype = u16_at(at)?;
        let rdlen = usize::from(u16_at(at + 8)?);
        let rdata = at + 10;
        let end = rdata + rdlen;
        if end > m.len() {
            return None;
        }
        if i < u32::from(an) && rtype == qtype::SOA {
            let serial_at = skip_name(m, skip_name(m, rdata)?)?;
            s.serial = Some(u32::from_be_bytes(
                m.get(serial_at..serial_at + 4)?.try_into().ok()?,
            ));
        }
        if rtype == qtype::OPT {
            let mut o = rdata;
            while o + 4 <= end {
                let (code, len) = (u16_at(o)?, usize::from(u16_at(o + 2)?));
                let value = m.get(o + 4..o + 4 + len)?;
                if code == NSID {
                    s.nsid = Some(String::from_utf8_lossy(value).into_owned());
                }
                o += 4 + len;
            }
        }
        at = end;
    }
    Some(s)
}

/// The offset just past the name at `at` (a compression pointer ends it).
fn skip_name(m: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *m.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l if l & 0xc0 == 0 => at += 1 + usize::from(l),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_then_a_response_with_nsid_and_serial() {
        let qname = dns_wire::name_from_text("example.").unwrap();
        let q = build_query(0x1234, &qname, qtype::SOA, true, false);
        assert_eq!(q.len(), 12 + 9 + 4 + 15);
        // A response: the query with QR/AA set, one SOA answer (compressed names), and the
        // OPT carrying NSID "ams".
        let mut r = q[..12 + 9 + 4].to_vec();
        r[2] = 0x84;
        r[7] = 1;
        r[11] = 1;
        r.extend_from_slice(&[0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 28]);
        r.extend_from_slice(&[3, b'n', b's', b'1', 0xc0, 12, 0xc0, 12]);
        r.extend_from_slice(&[
            0x78, 0xb4, 0x2b, 0x95, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
        ]);
        r.extend_from_slice(&[
            0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 7, 0, 3, 0, 3, b'a', b'm', b's',
        ]);
        let s = parse_response(&r).unwrap();
        assert_eq!(
            (s.id, s.rcode, s.aa, s.tc, s.ancount),
            (0x1234, 0, true, false, 1)
        );
        assert_eq!(s.nsid.as_deref(), Some("ams"));
        assert_eq!(s.serial, Some(0x78b4_2b95));
        // Truncated input never panics.
        for n in 0..r.len() {
            let _ = parse_response(&r[..n]);
        }
        assert!(parse_response(&q).is_none(), "a query is not a response");
    }
}
