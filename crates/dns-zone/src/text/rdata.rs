//! Names, record types and the RDATA of the record types this reader handles, from text to
//! wire form (RFC 1035 §3.3, RFC 3596, RFC 2782, RFC 4034, RFC 5155, RFC 7344).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use dns_wire::types::rtype;

use super::codec::{Base16, Base64, base32hex, decimal, signature_time, ttl};
use super::cursor::{Cursor, Token, unescape};
use super::give_up::GiveUp;

/// Longest name this reader writes; longer ones (up to 255) are left to the general
/// scanner, whose limits then apply.
const MAX_NAME: usize = 250;

/// CDS (RFC 7344).
const CDS: u16 = 59;
/// CDNSKEY (RFC 7344).
const CDNSKEY: u16 = 60;
/// NSEC3PARAM (RFC 5155).
const NSEC3PARAM: u16 = 51;

/// Appends the wire form of the name `token` to `out`: relative names end in `origin`,
/// a lone `@` is the origin (RFC 1035 §5.1).
pub(super) fn name(token: Token<'_>, origin: &[u8], out: &mut Vec<u8>) -> Result<(), GiveUp> {
    let start = out.len();
    let text = match token {
        Token::Plain(b"@") => {
            out.extend_from_slice(origin);
            return Ok(());
        }
        Token::Plain(b".") => {
            out.push(0);
            return Ok(());
        }
        Token::Plain(text) | Token::Escaped(text) => text,
        Token::Quoted(_) => return Err(GiveUp),
    };
    let mut label_start = out.len();
    out.push(0);
    let mut absolute = false;
    let mut at = 0;
    while at < text.len() {
        let byte = text[at];
        if byte == b'.' {
            let len = out.len() - label_start - 1;
            if len == 0 {
                return Err(GiveUp);
            }
            out[label_start] = len as u8;
            if at + 1 == text.len() {
                absolute = true;
                break;
            }
            label_start = out.len();
            out.push(0);
            at += 1;
            continue;
        }
        if byte == b'\\' {
            // One escape: `\X` or `\DDD`.
            let end = if text.get(at + 1).is_some_and(u8::is_ascii_digit) {
                at + 4
            } else {
                at + 2
            };
            unescape(text.get(at..end).ok_or(GiveUp)?, |b| out.push(b))?;
            at = end;
        } else {
            out.push(byte);
            at += 1;
        }
        if out.len() - label_start - 1 > 63 {
            return Err(GiveUp);
        }
    }
    if absolute {
        out.push(0);
    } else {
        let len = out.len() - label_start - 1;
        if len == 0 {
            return Err(GiveUp);
        }
        out[label_start] = len as u8;
        out.extend_from_slice(origin);
    }
    if out.len() - start > MAX_NAME {
        return Err(GiveUp);
    }
    // A first label `\@` written out: `domain`'s reading, mended in `load`, decides.
    if out.get(start..start + 2) == Some(b"\x01@") {
        return Err(GiveUp);
    }
    Ok(())
}

/// A record type's mnemonic (any case) or `TYPEnnn` (RFC 3597).
pub(super) fn record_type(token: &[u8]) -> Result<u16, GiveUp> {
    let mut upper = [0u8; 12];
    let upper = upper.get_mut(..token.len()).ok_or(GiveUp)?;
    upper.copy_from_slice(token);
    upper.make_ascii_uppercase();
    Ok(match &*upper {
        b"A" => rtype::A,
        b"NS" => rtype::NS,
        b"CNAME" => rtype::CNAME,
        b"SOA" => rtype::SOA,
        b"PTR" => rtype::PTR,
        b"MX" => rtype::MX,
        b"TXT" => rtype::TXT,
        b"AAAA" => rtype::AAAA,
        b"SRV" => rtype::SRV,
        b"DNAME" => rtype::DNAME,
        b"DS" => rtype::DS,
        b"RRSIG" => rtype::RRSIG,
        b"NSEC" => rtype::NSEC,
        b"DNSKEY" => rtype::DNSKEY,
        b"NSEC3" => rtype::NSEC3,
        b"NSEC3PARAM" => NSEC3PARAM,
        b"CDS" => CDS,
        b"CDNSKEY" => CDNSKEY,
        // Everything else as the general scanner names it.
        _ => {
            let text = std::str::from_utf8(upper).map_err(|_| GiveUp)?;
            domain::base::iana::Rtype::from_str(text)
                .map_err(|_| GiveUp)?
                .to_int()
        }
    })
}

/// Whether this reader parses the RDATA of `rtype`.
pub(super) fn handles(rtype: u16) -> bool {
    matches!(
        rtype,
        rtype::A
            | rtype::NS
            | rtype::CNAME
            | rtype::SOA
            | rtype::PTR
            | rtype::MX
            | rtype::TXT
            | rtype::AAAA
            | rtype::SRV
            | rtype::DNAME
            | rtype::DS
            | rtype::RRSIG
            | rtype::NSEC
            | rtype::DNSKEY
            | rtype::NSEC3
            | NSEC3PARAM
            | CDS
            | CDNSKEY
    )
}

fn number(cursor: &mut Cursor<'_>, max: u32) -> Result<u32, GiveUp> {
    decimal(cursor.plain()?, max)
}

fn push_u16(cursor: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), GiveUp> {
    out.extend_from_slice(&(number(cursor, u16::MAX.into())? as u16).to_be_bytes());
    Ok(())
}

fn push_u8(cursor: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), GiveUp> {
    out.push(number(cursor, u8::MAX.into())? as u8);
    Ok(())
}

fn push_u32(cursor: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), GiveUp> {
    out.extend_from_slice(&number(cursor, u32::MAX)?.to_be_bytes());
    Ok(())
}

fn push_name(cursor: &mut Cursor<'_>, origin: &[u8], out: &mut Vec<u8>) -> Result<(), GiveUp> {
    name(cursor.require()?, origin, out)
}

fn text_of(token: &[u8]) -> Result<&str, GiveUp> {
    std::str::from_utf8(token).map_err(|_| GiveUp)
}

/// Reads the RDATA of a record of `rtype` (one [`handles`]) up to the end of the entry.
pub(super) fn rdata(
    cursor: &mut Cursor<'_>,
    rtype: u16,
    origin: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), GiveUp> {
    match rtype {
        rtype::A => {
            let addr = Ipv4Addr::from_str(text_of(cursor.plain()?)?).map_err(|_| GiveUp)?;
            out.extend_from_slice(&addr.octets());
        }
        rtype::AAAA => {
            let addr = Ipv6Addr::from_str(text_of(cursor.plain()?)?).map_err(|_| GiveUp)?;
            out.extend_from_slice(&addr.octets());
        }
        rtype::NS | rtype::CNAME | rtype::PTR | rtype::DNAME => push_name(cursor, origin, out)?,
        rtype::MX => {
            push_u16(cursor, out)?;
            push_name(cursor, origin, out)?;
        }
        rtype::SRV => {
            for _ in 0..3 {
                push_u16(cursor, out)?;
            }
            push_name(cursor, origin, out)?;
        }
        rtype::SOA => {
            push_name(cursor, origin, out)?;
            push_name(cursor, origin, out)?;
            push_u32(cursor, out)?;
            // Refresh, retry, expire, minimum: timers, in BIND's units too.
            for _ in 0..4 {
                out.extend_from_slice(&ttl(cursor.plain()?)?.to_be_bytes());
            }
        }
        rtype::TXT => {
            while let Some(token) = cursor.token()? {
                character_string(token, out)?;
            }
            if out.is_empty() {
                return Err(GiveUp);
            }
        }
        rtype::DS | CDS => {
            push_u16(cursor, out)?;
            push_u8(cursor, out)?;
            push_u8(cursor, out)?;
            rest_base16(cursor, out)?;
        }
        rtype::DNSKEY | CDNSKEY => {
            push_u16(cursor, out)?;
            push_u8(cursor, out)?;
            push_u8(cursor, out)?;
            rest_base64(cursor, out)?;
        }
        rtype::RRSIG => {
            out.extend_from_slice(&record_type(cursor.plain()?)?.to_be_bytes());
            push_u8(cursor, out)?;
            push_u8(cursor, out)?;
            push_u32(cursor, out)?;
            for _ in 0..2 {
                out.extend_from_slice(&signature_time(cursor.plain()?)?.to_be_bytes());
            }
            push_u16(cursor, out)?;
            push_name(cursor, origin, out)?;
            rest_base64(cursor, out)?;
        }
        rtype::NSEC => {
            push_name(cursor, origin, out)?;
            type_bitmap(cursor, out)?;
        }
        rtype::NSEC3 | NSEC3PARAM => {
            push_u8(cursor, out)?;
            push_u8(cursor, out)?;
            push_u16(cursor, out)?;
            salt(cursor.plain()?, out)?;
            if rtype == rtype::NSEC3 {
                let at = out.len();
                out.push(0);
                base32hex(cursor.plain()?, out)?;
                out[at] = u8::try_from(out.len() - at - 1).map_err(|_| GiveUp)?;
                type_bitmap(cursor, out)?;
            }
        }
        _ => return Err(GiveUp),
    }
    cursor.end_entry()
}

/// One `<character-string>` (RFC 1035 §3.3): at most 255 bytes, quoted or not.
fn character_string(token: Token<'_>, out: &mut Vec<u8>) -> Result<(), GiveUp> {
    let at = out.len();
    out.push(0);
    match token {
        Token::Plain(text) => out.extend_from_slice(text),
        Token::Escaped(text) | Token::Quoted(text) => unescape(text, |b| out.push(b))?,
    }
    out[at] = u8::try_from(out.len() - at - 1).map_err(|_| GiveUp)?;
    Ok(())
}

/// An NSEC3 salt: `-` for none, else Base16 (length-prefixed).
fn salt(token: &[u8], out: &mut Vec<u8>) -> Result<(), GiveUp> {
    let at = out.len();
    out.push(0);
    if token != b"-" {
        let mut hex = Base16::default();
        hex.push(token, out)?;
        hex.finish(out.len() - at - 1)?;
    }
    out[at] = u8::try_from(out.len() - at - 1).map_err(|_| GiveUp)?;
    Ok(())
}

fn rest_base64(cursor: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), GiveUp> {
    let start = out.len();
    let mut b64 = Base64::default();
    while let Some(token) = cursor.token()? {
        let Token::Plain(text) = token else {
            return Err(GiveUp);
        };
        b64.push(text, out)?;
    }
    b64.finish(out.len() - start)
}

fn rest_base16(cursor: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), GiveUp> {
    let start = out.len();
    let mut hex = Base16::default();
    while let Some(token) = cursor.token()? {
        let Token::Plain(text) = token else {
            return Err(GiveUp);
        };
        hex.push(text, out)?;
    }
    hex.finish(out.len() - start)
}

/// The type bitmap of NSEC and NSEC3 (RFC 4034 §4.1.2): the rest of the entry, in
/// windows of 256 types, each as short as its highest type needs.
fn type_bitmap(cursor: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), GiveUp> {
    let mut types: Vec<u16> = Vec::new();
    while let Some(token) = cursor.token()? {
        let Token::Plain(text) = token else {
            return Err(GiveUp);
        };
        types.push(record_type(text)?);
    }
    types.sort_unstable();
    types.dedup();
    let mut at = 0;
    while at < types.len() {
        let window = types[at] >> 8;
        let end = types[at..]
            .iter()
            .position(|t| t >> 8 != window)
            .map_or(types.len(), |n| at + n);
        let mut bits = [0u8; 32];
        for &t in &types[at..end] {
            let low = (t & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
        }
        let len = (types[end - 1] & 0xff) as usize / 8 + 1;
        out.push(window as u8);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
        at = end;
    }
    Ok(())
}
