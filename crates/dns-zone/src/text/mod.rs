//! A fast reader for zone-file text made of the record types nearly every zone is made of
//! (A, AAAA, NS, CNAME, DNAME, PTR, MX, SRV, SOA, TXT, DS, CDS, DNSKEY, CDNSKEY, RRSIG,
//! NSEC, NSEC3, NSEC3PARAM), with `$ORIGIN`, `$TTL` and `$INCLUDE`.
//!
//! Why hand-written (docs/decisions/0006): loading a signed zone spent about half its time
//! in `domain`'s general scanner, which reads symbol by symbol through a trait per record
//! type; this reader goes token by token over the bytes and decodes Base64 and the RRSIG
//! times directly. It is not a second parser with its own opinions: it takes text to the
//! same records as `domain`'s scanner (a test compares the two on every test zone and on
//! thousands of mutations of them). The RDATA of other types is handed to `domain` one entry
//! at a time. On anything else — a syntax error, a form it does not need to know — it
//! **gives up**: the caller rolls the builder back and reads the file with `domain`, whose
//! messages the operator sees; this reader reports no errors of its own.
//!
//! A lone `@` in RDATA is the origin (RFC 1035 §5.1, as BIND and Knot read it); `domain`
//! 0.12 reads it as a label `\@`, which `load` mends so both readers agree.

mod codec;
mod cursor;
mod give_up;
mod rdata;
mod sink;

use crate::domain_reader::rdata_with_domain;
use crate::pending::Source;
use cursor::{Cursor, Token};
pub(crate) use give_up::GiveUp;
pub(crate) use sink::RecordSink;

/// Types whose RDATA is character strings only (RFC 1035, RFC 4408, RFC 7553, RFC 8659):
/// a lone `@` there is text, not the origin.
const HINFO: u16 = 13;
const SPF: u16 = 99;
const URI: u16 = 256;
const CAA: u16 = 257;

/// An `$INCLUDE` the reader met: the caller reads the file (with this reader or `domain`).
pub(crate) struct Include<'a> {
    /// The path as written.
    pub(crate) path: &'a str,
    /// The origin for the included file (wire form).
    pub(crate) origin: &'a [u8],
    /// The `$TTL` in force, carried into the file as BIND and Knot do.
    pub(crate) ttl: Option<u32>,
}

/// Reads zone text into `builder` (a zone builder, or anything else that takes records).
/// `origin` is the initial origin (wire form), `ttl` the `$TTL` an including file passes
/// on, `include` reads an included file. On [`GiveUp`] the builder may hold part of the
/// file's records: roll it back.
pub(crate) fn read_zone_text<S: RecordSink>(
    builder: &mut S,
    src: &[u8],
    file: u32,
    origin: &[u8],
    ttl: Option<&str>,
    include: &mut dyn FnMut(&mut S, Include<'_>) -> Result<(), GiveUp>,
) -> Result<(), GiveUp> {
    let mut reader = Reader {
        cursor: Cursor::new(src),
        origin: origin.to_vec(),
        origin_text: dns_wire::name_to_text(origin).into_bytes(),
        dollar_ttl: ttl.map(|t| codec::ttl(t.as_bytes())).transpose()?,
        // `domain`'s scanner starts with this.
        last_ttl: 3600,
        owner: Vec::with_capacity(256),
        has_owner: false,
        rdata: Vec::with_capacity(512),
        text: Vec::new(),
    };
    while let Some(start) = reader.cursor.start_entry()? {
        if !start.indented && reader.cursor.peek_byte()? == Some(b'$') {
            reader.directive(builder, include)?;
        } else {
            reader.entry(builder, start, file)?;
        }
    }
    Ok(())
}

struct Reader<'a> {
    cursor: Cursor<'a>,
    origin: Vec<u8>,
    /// The origin in presentation form, for RDATA handed to `domain`.
    origin_text: Vec<u8>,
    dollar_ttl: Option<u32>,
    last_ttl: u32,
    /// The last owner, for entries that start with white space.
    owner: Vec<u8>,
    has_owner: bool,
    rdata: Vec<u8>,
    /// Scratch space for RDATA text handed to `domain`.
    text: Vec<u8>,
}

impl Reader<'_> {
    fn entry<S: RecordSink>(
        &mut self,
        builder: &mut S,
        start: cursor::EntryStart,
        file: u32,
    ) -> Result<(), GiveUp> {
        if !start.indented {
            let token = self.cursor.require()?;
            // `domain` takes a token starting with `@` as the origin only when it is
            // exactly `@`; leave the rest to it.
            let at_prefixed = match token {
                Token::Plain(text) | Token::Escaped(text) => {
                    text.first() == Some(&b'@') && text != b"@"
                }
                Token::Quoted(_) => false,
            };
            if at_prefixed {
                return Err(GiveUp);
            }
            self.owner.clear();
            rdata::name(token, &self.origin, &mut self.owner)?;
            self.has_owner = true;
        } else if !self.has_owner {
            return Err(GiveUp);
        }
        let (ttl, rtype) = self.ttl_class_type()?;
        self.rdata.clear();
        if rdata::handles(rtype) {
            rdata::rdata(&mut self.cursor, rtype, &self.origin, &mut self.rdata)?;
        } else {
            // Other types: this entry's RDATA text alone goes to `domain`. A lone `@` is a
            // name there too, except in the types made only of character strings.
            let mut text = std::mem::take(&mut self.text);
            text.clear();
            let at_sign = if matches!(rtype, HINFO | SPF | URI | CAA) {
                &b"@"[..]
            } else {
                &self.origin_text
            };
            self.cursor.rest_of_entry(at_sign, &mut text)?;
            let read = rdata_with_domain(&self.origin, rtype, &text, &mut self.rdata);
            self.text = text;
            read.ok_or(GiveUp)?;
            self.cursor.end_entry()?;
        }
        // RDATA is at most 65,535 octets; `domain` says so in its own words.
        if self.rdata.len() > usize::from(u16::MAX) {
            return Err(GiveUp);
        }
        let source = Source {
            file,
            line: start.line,
        };
        builder.record(&self.owner, rtype, ttl, &self.rdata, source)
    }

    /// `[<TTL>] [<class>] <type>` or `[<class>] [<TTL>] <type>`; the class must be IN
    /// (the zone's class: `domain` rejects any other).
    fn ttl_class_type(&mut self) -> Result<(u32, u16), GiveUp> {
        let mut ttl = None;
        let mut class_seen = false;
        loop {
            let token = self.cursor.plain()?;
            if token.first().is_some_and(u8::is_ascii_digit) {
                if ttl.is_some() {
                    return Err(GiveUp);
                }
                ttl = Some(codec::ttl(token)?);
            } else if token.eq_ignore_ascii_case(b"IN") {
                if class_seen {
                    return Err(GiveUp);
                }
                class_seen = true;
            } else {
                let rtype = rdata::record_type(token)?;
                let ttl = match ttl {
                    Some(ttl) => {
                        self.last_ttl = ttl;
                        ttl
                    }
                    None => self.dollar_ttl.unwrap_or(self.last_ttl),
                };
                return Ok((ttl, rtype));
            }
        }
    }

    /// `$ORIGIN`, `$TTL` and `$INCLUDE`; anything else is left to `domain`.
    fn directive<S: RecordSink>(
        &mut self,
        builder: &mut S,
        include: &mut dyn FnMut(&mut S, Include<'_>) -> Result<(), GiveUp>,
    ) -> Result<(), GiveUp> {
        let word = self.cursor.plain()?;
        if word.eq_ignore_ascii_case(b"$ORIGIN") {
            let token = self.cursor.require()?;
            if matches!(token, Token::Plain(b"@")) {
                return Err(GiveUp);
            }
            let mut origin = Vec::with_capacity(256);
            rdata::name(token, &self.origin, &mut origin)?;
            self.origin_text = dns_wire::name_to_text(&origin).into_bytes();
            self.origin = origin;
            self.cursor.end_entry()
        } else if word.eq_ignore_ascii_case(b"$TTL") {
            self.dollar_ttl = Some(codec::ttl(self.cursor.plain()?)?);
            self.cursor.end_entry()
        } else if word.eq_ignore_ascii_case(b"$INCLUDE") {
            let path = std::str::from_utf8(self.cursor.plain()?).map_err(|_| GiveUp)?;
            let mut origin = self.origin.clone();
            if let Some(token) = self.cursor.token()? {
                if matches!(token, Token::Plain(b"@")) {
                    return Err(GiveUp);
                }
                origin.clear();
                rdata::name(token, &self.origin, &mut origin)?;
            }
            self.cursor.end_entry()?;
            let ttl = self.dollar_ttl;
            include(
                builder,
                Include {
                    path,
                    origin: &origin,
                    ttl,
                },
            )
        } else {
            Err(GiveUp)
        }
    }
}

#[cfg(test)]
mod tests;
