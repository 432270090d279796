//! The text encodings inside RDATA: decimal numbers, Base64 (RFC 4648 §4), Base16,
//! Base32 with the extended hex alphabet (RFC 4648 §7, NSEC3 owner hashes) and RRSIG times
//! (RFC 4034 §3.2). Strict: whatever is not canonical gives up, for the general scanner to
//! judge.

use super::give_up::GiveUp;

/// A decimal number of at most `max`, digits only.
pub(super) fn decimal(token: &[u8], max: u32) -> Result<u32, GiveUp> {
    if token.is_empty() || token.len() > 10 {
        return Err(GiveUp);
    }
    let mut value = 0u64;
    for &byte in token {
        if !byte.is_ascii_digit() {
            return Err(GiveUp);
        }
        value = value * 10 + u64::from(byte - b'0');
    }
    if value > u64::from(max) {
        return Err(GiveUp);
    }
    Ok(value as u32)
}

/// A TTL or SOA timer: seconds as digits, or BIND's units as Knot and NSD read them
/// (`1h`, `2w`, `1w2d3h4m5s`, case-insensitive; a last number without a unit is seconds).
/// At most 2^32 - 1 seconds in all.
pub(super) fn ttl(token: &[u8]) -> Result<u32, GiveUp> {
    if token.iter().all(u8::is_ascii_digit) {
        return decimal(token, u32::MAX);
    }
    let mut total = 0u64;
    let mut number: Option<u64> = None;
    for &byte in token {
        if byte.is_ascii_digit() {
            let value = number.unwrap_or(0) * 10 + u64::from(byte - b'0');
            if value > u64::from(u32::MAX) {
                return Err(GiveUp);
            }
            number = Some(value);
            continue;
        }
        let unit = match byte.to_ascii_lowercase() {
            b'w' => 604_800,
            b'd' => 86_400,
            b'h' => 3_600,
            b'm' => 60,
            b's' => 1,
            _ => return Err(GiveUp),
        };
        total += number.take().ok_or(GiveUp)? * unit;
        if total > u64::from(u32::MAX) {
            return Err(GiveUp);
        }
    }
    total += number.unwrap_or(0);
    u32::try_from(total).map_err(|_| GiveUp)
}

const INVALID: u8 = 0xff;

const BASE64: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Decodes Base64 spread over tokens (white space between them is not part of the data).
/// `=` padding only at the very end, unused bits zero.
#[derive(Default)]
pub(super) struct Base64 {
    quantum: [u8; 4],
    filled: usize,
    padding: usize,
}

impl Base64 {
    pub(super) fn push(&mut self, token: &[u8], out: &mut Vec<u8>) -> Result<(), GiveUp> {
        let token = if self.filled == 0 && self.padding == 0 {
            let done = Self::whole_quanta(token, out);
            &token[done..]
        } else {
            token
        };
        for &byte in token {
            if self.padding > 0 && byte != b'=' {
                return Err(GiveUp);
            }
            if byte == b'=' {
                // At most two, and only in the last two places of a quantum.
                if self.filled < 2 || self.padding >= 2 {
                    return Err(GiveUp);
                }
                self.padding += 1;
                self.quantum[self.filled] = 0;
            } else {
                let value = BASE64[byte as usize];
                if value == INVALID {
                    return Err(GiveUp);
                }
                self.quantum[self.filled] = value;
            }
            self.filled += 1;
            if self.filled == 4 {
                self.flush(out)?;
            }
        }
        Ok(())
    }

    /// Decodes the quanta at the start of `token` that hold four alphabet characters (no
    /// padding) in one pass; returns how many characters it took. The rest, and anything
    /// odd, goes through [`push`](Self::push)'s checks one character at a time.
    fn whole_quanta(token: &[u8], out: &mut Vec<u8>) -> usize {
        let quanta = token.len() / 4;
        let start = out.len();
        out.resize(start + quanta * 3, 0);
        let mut done = 0;
        for (chunk, slot) in token.chunks_exact(4).zip(out[start..].chunks_exact_mut(3)) {
            let [a, b, c, d] = [chunk[0], chunk[1], chunk[2], chunk[3]].map(|x| BASE64[x as usize]);
            // INVALID has its high bits set; alphabet values are below 64.
            if (a | b | c | d) & 0xc0 != 0 {
                break;
            }
            let bits =
                (u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(c) << 6) | u32::from(d);
            slot.copy_from_slice(&bits.to_be_bytes()[1..]);
            done += 1;
        }
        out.truncate(start + done * 3);
        done * 4
    }

    fn flush(&mut self, out: &mut Vec<u8>) -> Result<(), GiveUp> {
        let [a, b, c, d] = self.quantum;
        let bits = (u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(c) << 6) | u32::from(d);
        let bytes = [(bits >> 16) as u8, (bits >> 8) as u8, bits as u8];
        let keep = 3 - self.padding;
        // Bits under the padding must be zero (RFC 4648 §3.5 canonical form).
        if bytes[keep..].iter().any(|&b| b != 0) {
            return Err(GiveUp);
        }
        out.extend_from_slice(&bytes[..keep]);
        self.filled = 0;
        Ok(())
    }

    /// Ends the data: it must fill whole quanta and not be empty.
    pub(super) fn finish(&self, decoded: usize) -> Result<(), GiveUp> {
        if self.filled != 0 || decoded == 0 {
            return Err(GiveUp);
        }
        Ok(())
    }
}

fn hex_value(byte: u8) -> Result<u8, GiveUp> {
    match byte {
        b'0'..=b'9' => Ok(byte - b'0'),
        b'a'..=b'f' => Ok(byte - b'a' + 10),
        b'A'..=b'F' => Ok(byte - b'A' + 10),
        _ => Err(GiveUp),
    }
}

/// Decodes Base16 spread over tokens; `half` carries a digit across token boundaries.
#[derive(Default)]
pub(super) struct Base16 {
    half: Option<u8>,
}

impl Base16 {
    pub(super) fn push(&mut self, token: &[u8], out: &mut Vec<u8>) -> Result<(), GiveUp> {
        for &byte in token {
            let value = hex_value(byte)?;
            match self.half.take() {
                None => self.half = Some(value),
                Some(high) => out.push(high << 4 | value),
            }
        }
        Ok(())
    }

    /// Ends the data: an even number of digits, not empty.
    pub(super) fn finish(&self, decoded: usize) -> Result<(), GiveUp> {
        if self.half.is_some() || decoded == 0 {
            return Err(GiveUp);
        }
        Ok(())
    }
}

/// Decodes one token of Base32hex (either case, no padding) whose length is a multiple of
/// eight characters (an NSEC3 SHA-1 hash is 32).
pub(super) fn base32hex(token: &[u8], out: &mut Vec<u8>) -> Result<(), GiveUp> {
    if token.is_empty() || !token.len().is_multiple_of(8) {
        return Err(GiveUp);
    }
    for chunk in token.chunks_exact(8) {
        let mut bits = 0u64;
        for &byte in chunk {
            let value = match byte {
                b'0'..=b'9' => byte - b'0',
                b'a'..=b'v' => byte - b'a' + 10,
                b'A'..=b'V' => byte - b'A' + 10,
                _ => return Err(GiveUp),
            };
            bits = bits << 5 | u64::from(value);
        }
        out.extend_from_slice(&bits.to_be_bytes()[3..]);
    }
    Ok(())
}

/// An RRSIG time: a number of seconds of at most ten digits, or `YYYYMMDDHHmmSS` in UTC
/// (RFC 4034 §3.2). Dates before 1970 or after 2105 give up.
pub(super) fn signature_time(token: &[u8]) -> Result<u32, GiveUp> {
    if token.len() <= 10 {
        return decimal(token, u32::MAX);
    }
    if token.len() != 14 || !token.iter().all(u8::is_ascii_digit) {
        return Err(GiveUp);
    }
    let field = |range: std::ops::Range<usize>| {
        token[range]
            .iter()
            .fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (field(0..4), field(4..6), field(6..8));
    let (hour, minute, second) = (field(8..10), field(10..12), field(12..14));
    if !(1970..=2105).contains(&year)
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(GiveUp);
    }
    let seconds =
        days_since_epoch(year, month, day) * 86_400 + u64::from(hour * 3600 + minute * 60 + second);
    u32::try_from(seconds).map_err(|_| GiveUp)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (year >= 1970), by
/// counting in 400-year eras from March 1st (H. Hinnant's `days_from_civil`).
fn days_since_epoch(year: u32, month: u32, day: u32) -> u64 {
    let year = u64::from(if month <= 2 { year - 1 } else { year });
    let (month, day) = (u64::from(month), u64::from(day));
    let era = year / 400;
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_times_are_utc_seconds() {
        assert_eq!(signature_time(b"19700101000000"), Ok(0));
        assert_eq!(signature_time(b"20261223104059"), Ok(1_798_022_459));
        assert_eq!(signature_time(b"20000229120000"), Ok(951_825_600));
        assert_eq!(signature_time(b"21060207062815"), Err(GiveUp));
        assert_eq!(signature_time(b"20230229000000"), Err(GiveUp));
        assert_eq!(signature_time(b"1798022459"), Ok(1_798_022_459));
        assert_eq!(signature_time(b"123456789012"), Err(GiveUp));
    }

    #[test]
    fn base64_is_canonical() {
        let decode = |parts: &[&[u8]]| {
            let mut out = Vec::new();
            let mut b64 = Base64::default();
            for part in parts {
                b64.push(part, &mut out)?;
            }
            b64.finish(out.len()).map(|()| out)
        };
        assert_eq!(decode(&[b"aGVs", b"bG8="]), Ok(b"hello".to_vec()));
        assert_eq!(decode(&[b"aGVsbA=="]), Ok(b"hell".to_vec()));
        assert_eq!(decode(&[b"aGVsbB=="]), Err(GiveUp));
        assert_eq!(decode(&[b"aGV"]), Err(GiveUp));
        assert_eq!(decode(&[b"aG=s"]), Err(GiveUp));
        assert_eq!(decode(&[b"a==="]), Err(GiveUp));
    }

    #[test]
    fn base32hex_and_base16() {
        let mut out = Vec::new();
        base32hex(b"00000000", &mut out).unwrap();
        assert_eq!(out, [0; 5]);
        out.clear();
        base32hex(b"VVVVVVVV", &mut out).unwrap();
        assert_eq!(out, [0xff; 5]);
        assert_eq!(base32hex(b"W0000000", &mut out), Err(GiveUp));
        let mut out = Vec::new();
        let mut hex = Base16::default();
        hex.push(b"aB", &mut out).unwrap();
        hex.push(b"c", &mut out).unwrap();
        assert_eq!(hex.finish(out.len()), Err(GiveUp));
        hex.push(b"D", &mut out).unwrap();
        hex.finish(out.len()).unwrap();
        assert_eq!(out, [0xab, 0xcd]);
    }
}
