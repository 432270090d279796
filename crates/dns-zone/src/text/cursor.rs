//! Splitting zone-file text into entries and tokens the way RFC 1035 §5.1 (and `domain`'s
//! scanner) does: parentheses join lines, `;` starts a comment, quotes make one token.
//! Anything unusual (a quote glued to a token, bytes outside printable ASCII, a newline in
//! quotes, unbalanced parentheses) gives up.

use super::give_up::GiveUp;

/// What a byte does inside an unquoted token.
const PLAIN: u8 = 0;
/// Ends a token: white space, newline, `;`, `(`, `)`.
const END: u8 = 1;
/// A backslash: the next byte is escaped.
const ESCAPE: u8 = 2;
/// Anything this reader does not take: quotes glued to tokens, control bytes, non-ASCII.
const ODD: u8 = 3;

const CLASS: [u8; 256] = {
    let mut table = [ODD; 256];
    let mut b = 0x21;
    while b < 0x7f {
        table[b] = PLAIN;
        b += 1;
    }
    table[b' ' as usize] = END;
    table[b'\t' as usize] = END;
    table[b'\r' as usize] = END;
    table[b'\n' as usize] = END;
    table[b';' as usize] = END;
    table[b'(' as usize] = END;
    table[b')' as usize] = END;
    table[b'"' as usize] = ODD;
    table[b'\\' as usize] = ESCAPE;
    table
};

/// One token of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// An unquoted token without escapes.
    Plain(&'a [u8]),
    /// An unquoted token with `\X` or `\DDD` escapes, as written.
    Escaped(&'a [u8]),
    /// The text between double quotes, escapes as written.
    Quoted(&'a [u8]),
}

/// How an entry starts.
#[derive(Clone, Copy, Debug)]
pub(super) struct EntryStart {
    /// The line of its first token.
    pub(super) line: u32,
    /// Whether white space comes first (the entry keeps the previous owner).
    pub(super) indented: bool,
}

/// A position in zone-file text.
pub(super) struct Cursor<'a> {
    src: &'a [u8],
    at: usize,
    line: u32,
    depth: u32,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(src: &'a [u8]) -> Self {
        Self {
            src,
            at: 0,
            line: 1,
            depth: 0,
        }
    }

    /// Skips blank lines and comments to the next entry; `None` at the end of the text.
    pub(super) fn start_entry(&mut self) -> Result<Option<EntryStart>, GiveUp> {
        let mut indented = false;
        while let Some(&byte) = self.src.get(self.at) {
            match byte {
                b' ' | b'\t' | b'\r' => {
                    indented = true;
                    self.at += 1;
                }
                b'\n' => {
                    indented = false;
                    self.line += 1;
                    self.at += 1;
                }
                b';' => self.skip_comment(),
                // An entry opening with a parenthesis is rare and its indentation subtle.
                b'(' | b')' => return Err(GiveUp),
                _ => {
                    return Ok(Some(EntryStart {
                        line: self.line,
                        indented,
                    }));
                }
            }
        }
        Ok(None)
    }

    /// The first byte of the next token, if the entry has one (does not consume it).
    pub(super) fn peek_byte(&mut self) -> Result<Option<u8>, GiveUp> {
        self.skip_space()?;
        Ok(match self.src.get(self.at) {
            None | Some(b'\n') => None,
            Some(&byte) => Some(byte),
        })
    }

    /// The next token of the current entry; `None` at its end.
    pub(super) fn token(&mut self) -> Result<Option<Token<'a>>, GiveUp> {
        self.skip_space()?;
        let Some(&first) = self.src.get(self.at) else {
            return Ok(None);
        };
        match first {
            b'\n' => Ok(None),
            b'"' => self.quoted().map(Some),
            _ => self.unquoted().map(Some),
        }
    }

    /// The next token, which must be there.
    pub(super) fn require(&mut self) -> Result<Token<'a>, GiveUp> {
        self.token()?.ok_or(GiveUp)
    }

    /// The next token, which must be there, unquoted and without escapes.
    pub(super) fn plain(&mut self) -> Result<&'a [u8], GiveUp> {
        match self.require()? {
            Token::Plain(bytes) => Ok(bytes),
            _ => Err(GiveUp),
        }
    }

    /// Appends the rest of the entry's tokens to `out` as text for another reader, one
    /// space between them, a lone `@` written as `origin` (RFC 1035 §5.1). Gives up inside
    /// parentheses opened earlier in the entry.
    pub(super) fn rest_of_entry(&mut self, origin: &[u8], out: &mut Vec<u8>) -> Result<(), GiveUp> {
        if self.depth > 0 {
            return Err(GiveUp);
        }
        while let Some(token) = self.token()? {
            match token {
                Token::Plain(b"@") => out.extend_from_slice(origin),
                Token::Plain(text) | Token::Escaped(text) => out.extend_from_slice(text),
                Token::Quoted(text) => {
                    out.push(b'"');
                    out.extend_from_slice(text);
                    out.push(b'"');
                }
            }
            out.push(b' ');
        }
        Ok(())
    }

    /// Ends the entry: no token may follow on its logical line.
    pub(super) fn end_entry(&mut self) -> Result<(), GiveUp> {
        if self.token()?.is_some() {
            return Err(GiveUp);
        }
        if self.src.get(self.at) == Some(&b'\n') {
            self.at += 1;
            self.line += 1;
        }
        Ok(())
    }

    /// Skips white space, comments, parentheses and (inside parentheses) newlines. Stops
    /// at a token, at a newline that ends the entry, or at the end of the text.
    fn skip_space(&mut self) -> Result<(), GiveUp> {
        while let Some(&byte) = self.src.get(self.at) {
            match byte {
                b' ' | b'\t' | b'\r' => self.at += 1,
                b'(' => {
                    self.depth += 1;
                    self.at += 1;
                }
                b')' => {
                    self.depth = self.depth.checked_sub(1).ok_or(GiveUp)?;
                    self.at += 1;
                }
                b';' => self.skip_comment(),
                b'\n' if self.depth > 0 => {
                    self.line += 1;
                    self.at += 1;
                }
                _ => return Ok(()),
            }
        }
        // The text ends inside parentheses.
        if self.depth > 0 {
            return Err(GiveUp);
        }
        Ok(())
    }

    fn skip_comment(&mut self) {
        self.at += self.src[self.at..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(self.src.len() - self.at);
    }

    fn unquoted(&mut self) -> Result<Token<'a>, GiveUp> {
        let start = self.at;
        let mut escaped = false;
        while let Some(&byte) = self.src.get(self.at) {
            match CLASS[byte as usize] {
                PLAIN => self.at += 1,
                END => break,
                ESCAPE => {
                    escaped = true;
                    match self.src.get(self.at + 1) {
                        Some(&next) if (0x20..0x7f).contains(&next) => self.at += 2,
                        _ => return Err(GiveUp),
                    }
                }
                _ => return Err(GiveUp),
            }
        }
        let bytes = &self.src[start..self.at];
        Ok(if escaped {
            Token::Escaped(bytes)
        } else {
            Token::Plain(bytes)
        })
    }

    fn quoted(&mut self) -> Result<Token<'a>, GiveUp> {
        self.at += 1;
        let start = self.at;
        loop {
            let Some(&byte) = self.src.get(self.at) else {
                return Err(GiveUp);
            };
            match byte {
                b'"' => break,
                b'\\' => match self.src.get(self.at + 1) {
                    Some(&next) if (0x20..0x7f).contains(&next) => self.at += 2,
                    _ => return Err(GiveUp),
                },
                0x20..=0x7e => self.at += 1,
                _ => return Err(GiveUp),
            }
        }
        let bytes = &self.src[start..self.at];
        self.at += 1;
        // A token glued to the closing quote is left to the general scanner.
        match self.src.get(self.at) {
            None => {}
            Some(&next) if CLASS[next as usize] == END => {}
            Some(_) => return Err(GiveUp),
        }
        Ok(Token::Quoted(bytes))
    }
}

/// Decodes the escapes of a token (`\X` is X, `\DDD` a byte in decimal), calling `out` per
/// byte. A `\DDD` over 255 or with fewer than three digits gives up.
pub(super) fn unescape(bytes: &[u8], mut out: impl FnMut(u8)) -> Result<(), GiveUp> {
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte != b'\\' {
            out(byte);
            at += 1;
            continue;
        }
        let next = *bytes.get(at + 1).ok_or(GiveUp)?;
        if next.is_ascii_digit() {
            let digits = bytes.get(at + 1..at + 4).ok_or(GiveUp)?;
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(GiveUp);
            }
            let value = digits
                .iter()
                .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
            out(u8::try_from(value).map_err(|_| GiveUp)?);
            at += 4;
        } else {
            out(next);
            at += 2;
        }
    }
    Ok(())
}
