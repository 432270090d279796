//! Domain names in uncompressed wire form (RFC 1035 §3.1): parsing from a message with
//! compression pointers, lowercasing, and text conversion for logs and configuration.
//!
//! [`Name`] is a fixed-size buffer so that parsing a query does not allocate. Zones store
//! names as plain lowercased wire bytes (`Box<[u8]>`); the helpers here work on `&[u8]`.

use core::fmt;

/// RFC 1035 §2.3.4: names are at most 255 octets in wire form.
pub(crate) const MAX_NAME_LEN: usize = 255;
/// RFC 1035 §2.3.4: labels are at most 63 octets.
pub(crate) const MAX_LABEL_LEN: usize = 63;
/// A 255-octet name has at most 128 labels (127 one-octet labels and the root).
const MAX_LABELS: usize = 128;

/// Why a name could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The message ended inside the name.
    Truncated,
    /// A label over 63 octets (or a reserved label type 0x40/0x80).
    BadLabel,
    /// The name is longer than 255 octets.
    TooLong,
    /// A compression pointer that does not point strictly backwards (loops included).
    BadPointer,
    /// A compression pointer where none is allowed.
    Compressed,
    /// Text form that is not a valid name.
    BadText,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Truncated => "name runs past the end of the message",
            Self::BadLabel => "label longer than 63 octets or of a reserved type",
            Self::TooLong => "name longer than 255 octets",
            Self::BadPointer => "compression pointer that does not point backwards",
            Self::Compressed => "compression pointer where none is allowed",
            Self::BadText => "not a valid domain name",
        })
    }
}

impl std::error::Error for NameError {}

/// A name in lowercased uncompressed wire form, held in a fixed buffer, with the offset of
/// each label so that suffixes (ancestors) are slices.
#[derive(Clone)]
pub struct Name {
    bytes: [u8; MAX_NAME_LEN],
    len: u8,
    label_starts: [u8; MAX_LABELS],
    /// Number of labels including the root label.
    label_count: u8,
}

impl Default for Name {
    fn default() -> Self {
        Self::root()
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({})", name_to_text(self.as_wire()))
    }
}

impl Name {
    /// The root name.
    pub fn root() -> Self {
        let mut name = Self {
            bytes: [0; MAX_NAME_LEN],
            len: 1,
            label_starts: [0; MAX_LABELS],
            label_count: 1,
        };
        name.bytes[0] = 0;
        name
    }

    /// Reads an uncompressed name at `pos` of `msg`, lowercasing it. Returns the name and
    /// the position after it. Compression pointers are refused with [`NameError::Compressed`].
    pub fn parse_uncompressed(msg: &[u8], pos: usize) -> Result<(Self, usize), NameError> {
        let mut name = Self::root();
        let end = name.parse_uncompressed_into(msg, pos)?;
        Ok((name, end))
    }

    /// Like [`Self::parse_uncompressed`], but fills `self` (no copy of the 400-octet name on
    /// the query path). Returns the position after the name; on error `self` holds garbage.
    pub fn parse_uncompressed_into(&mut self, msg: &[u8], pos: usize) -> Result<usize, NameError> {
        // First walk the length octets only, then copy and lowercase the whole name at once:
        // length octets are below 64, so lowercasing never changes them.
        let mut out = 0usize;
        let mut labels = 0usize;
        loop {
            let len = *msg.get(pos + out).ok_or(NameError::Truncated)? as usize;
            if len & 0xc0 == 0xc0 {
                return Err(NameError::Compressed);
            }
            if len > MAX_LABEL_LEN {
                return Err(NameError::BadLabel);
            }
            if out + 1 + len > MAX_NAME_LEN {
                return Err(NameError::TooLong);
            }
            self.label_starts[labels] = out as u8;
            labels += 1;
            out += 1 + len;
            if len == 0 {
                break;
            }
        }
        let wire = msg.get(pos..pos + out).ok_or(NameError::Truncated)?;
        let dst = &mut self.bytes[..out];
        dst.copy_from_slice(wire);
        dst.make_ascii_lowercase();
        self.len = out as u8;
        self.label_count = labels as u8;
        Ok(pos + out)
    }

    /// Reads a possibly compressed name at `pos` of `msg` (RFC 1035 §4.1.4), lowercasing it.
    /// Pointers must point strictly backwards, which rules out loops. Returns the name and
    /// the position after the name's first occurrence (after the first pointer, if any).
    pub fn parse_compressed(msg: &[u8], pos: usize) -> Result<(Self, usize), NameError> {
        let mut name = Self::root();
        let mut out = 0usize;
        let mut labels = 0usize;
        let end = walk_compressed(msg, pos, |label| {
            name.label_starts[labels] = out as u8;
            labels += 1;
            name.bytes[out] = label.len() as u8;
            let dst = &mut name.bytes[out + 1..out + 1 + label.len()];
            dst.copy_from_slice(label);
            dst.make_ascii_lowercase();
            out += 1 + label.len();
        })?;
        name.len = out as u8;
        name.label_count = labels as u8;
        Ok((name, end))
    }

    /// Builds a name from lowercased or mixed-case uncompressed wire bytes.
    pub fn from_wire(wire: &[u8]) -> Result<Self, NameError> {
        let (name, end) = Self::parse_uncompressed(wire, 0)?;
        if end != wire.len() {
            return Err(NameError::BadLabel);
        }
        Ok(name)
    }

    /// The lowercased wire bytes.
    pub fn as_wire(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Number of labels, counting the root label (so the root has 1).
    pub fn label_count(&self) -> usize {
        self.label_count as usize
    }

    /// The suffix of this name with `labels` labels (counting root); `labels` must be
    /// between 1 and [`Self::label_count`].
    pub fn suffix(&self, labels: usize) -> &[u8] {
        let skip = self.label_count() - labels;
        &self.as_wire()[self.label_starts[skip] as usize..]
    }

    /// Whether this name equals `other` or lies below it (both lowercased wire).
    pub fn is_at_or_below(&self, other: &[u8]) -> bool {
        self.as_wire().ends_with(other) && {
            let cut = self.as_wire().len() - other.len();
            cut == 0 || self.label_starts[..self.label_count()].contains(&(cut as u8))
        }
    }

    /// Replaces the suffix `old_suffix` (which this name must be at or below, with
    /// `old_suffix_labels` labels) with `new_suffix` (RFC 6672 DNAME substitution).
    pub fn replace_suffix(&self, old_suffix: &[u8], new_suffix: &[u8]) -> Result<Self, NameError> {
        let keep = self.as_wire().len() - old_suffix.len();
        if keep + new_suffix.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong);
        }
        let mut wire = [0u8; MAX_NAME_LEN];
        wire[..keep].copy_from_slice(&self.as_wire()[..keep]);
        wire[keep..keep + new_suffix.len()].copy_from_slice(new_suffix);
        Self::from_wire(&wire[..keep + new_suffix.len()])
    }
}

/// Follows a possibly compressed name at `pos` of `msg`, calling `on_label` with each label
/// (the root label last, empty), after checking the name's total length stays within 255.
/// Pointers must point strictly backwards (no loops). Returns the position after the
/// name's first occurrence.
pub(crate) fn walk_compressed(
    msg: &[u8],
    pos: usize,
    mut on_label: impl FnMut(&[u8]),
) -> Result<usize, NameError> {
    let mut total = 0usize;
    let mut at = pos;
    let mut end = None;
    //= https://www.rfc-editor.org/rfc/rfc1035#section-4.1.4
    //# the pointer ... specifies an offset from the start of the message
    let mut lowest = pos;
    loop {
        let len = *msg.get(at).ok_or(NameError::Truncated)? as usize;
        match len & 0xc0 {
            0xc0 => {
                let low = *msg.get(at + 1).ok_or(NameError::Truncated)? as usize;
                let target = ((len & 0x3f) << 8) | low;
                if target >= lowest {
                    return Err(NameError::BadPointer);
                }
                end.get_or_insert(at + 2);
                lowest = target;
                at = target;
                continue;
            }
            0x00 => {}
            _ => return Err(NameError::BadLabel),
        }
        if total + 1 + len > MAX_NAME_LEN {
            return Err(NameError::TooLong);
        }
        on_label(msg.get(at + 1..at + 1 + len).ok_or(NameError::Truncated)?);
        total += 1 + len;
        at += 1 + len;
        if len == 0 {
            return Ok(end.unwrap_or(at));
        }
    }
}

/// Lowercases the ASCII letters of a wire-form name in place (labels' length octets are
/// never letters, so a plain byte-wise pass is correct).
pub fn lowercase_in_place(wire: &mut [u8]) {
    wire.make_ascii_lowercase();
}

/// Parses a presentation-form name ("www.example.", "\\046", "\\.") into wire form, keeping
/// case. A name without a trailing dot is taken as absolute.
pub fn name_from_text(text: &str) -> Result<Vec<u8>, NameError> {
    let mut wire = Vec::with_capacity(text.len() + 2);
    if text == "." || text.is_empty() {
        wire.push(0);
        return Ok(wire);
    }
    let bytes = text.as_bytes();
    let mut label = Vec::with_capacity(MAX_LABEL_LEN);
    let mut i = 0;
    let push_label = |label: &mut Vec<u8>, wire: &mut Vec<u8>| -> Result<(), NameError> {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(NameError::BadText);
        }
        wire.push(label.len() as u8);
        wire.extend_from_slice(label);
        label.clear();
        Ok(())
    };
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                push_label(&mut label, &mut wire)?;
                i += 1;
            }
            b'\\' => {
                let next = *bytes.get(i + 1).ok_or(NameError::BadText)?;
                if next.is_ascii_digit() {
                    let digits = bytes.get(i + 1..i + 4).ok_or(NameError::BadText)?;
                    let text = core::str::from_utf8(digits).map_err(|_| NameError::BadText)?;
                    let value: u16 = text.parse().map_err(|_| NameError::BadText)?;
                    label.push(u8::try_from(value).map_err(|_| NameError::BadText)?);
                    i += 4;
                } else {
                    label.push(next);
                    i += 2;
                }
            }
            other => {
                label.push(other);
                i += 1;
            }
        }
    }
    if !label.is_empty() {
        push_label(&mut label, &mut wire)?;
    }
    wire.push(0);
    if wire.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong);
    }
    Ok(wire)
}

/// Renders a wire-form name as text for logs and tests ("www.example.").
pub fn name_to_text(wire: &[u8]) -> String {
    let mut text = String::new();
    let mut at = 0;
    while let Some(&len) = wire.get(at) {
        if len == 0 || len & 0xc0 != 0 {
            break;
        }
        let Some(label) = wire.get(at + 1..at + 1 + len as usize) else {
            break;
        };
        for &b in label {
            match b {
                b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                    text.push('\\');
                    text.push(b as char);
                }
                0x21..=0x7e => text.push(b as char),
                _ => text.push_str(&format!("\\{b:03}")),
            }
        }
        text.push('.');
        at += 1 + len as usize;
    }
    if text.is_empty() {
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_with_escapes() {
        let wire = name_from_text("a\\.b.Ex\\032ample.").unwrap();
        assert_eq!(wire, b"\x03a.b\x08Ex ample\x00");
        assert_eq!(name_to_text(&wire), "a\\.b.Ex\\032ample.");
        assert_eq!(name_from_text(".").unwrap(), b"\x00");
        assert_eq!(name_from_text("example").unwrap(), b"\x07example\x00");
        assert!(name_from_text("a..b").is_err());
        assert!(name_from_text(&"a".repeat(64)).is_err());
    }

    #[test]
    fn parse_uncompressed_lowercases_and_counts_labels() {
        let msg = b"\x03WwW\x07Example\x00rest";
        let (name, end) = Name::parse_uncompressed(msg, 0).unwrap();
        assert_eq!(name.as_wire(), b"\x03www\x07example\x00");
        assert_eq!(end, 13);
        assert_eq!(name.label_count(), 3);
        assert_eq!(name.suffix(2), b"\x07example\x00");
        assert_eq!(name.suffix(1), b"\x00");
        assert!(name.is_at_or_below(b"\x07example\x00"));
        assert!(!name.is_at_or_below(b"\x06xample\x00"));
    }

    #[test]
    fn compression_pointers_must_go_backwards() {
        // "example." at 0, then "www" + pointer to 0.
        let msg = b"\x07example\x00\x03www\xc0\x00";
        let (name, end) = Name::parse_compressed(msg, 9).unwrap();
        assert_eq!(name.as_wire(), b"\x03www\x07example\x00");
        assert_eq!(end, msg.len());
        // A pointer to itself is a loop.
        let msg = b"\xc0\x00";
        assert_eq!(
            Name::parse_compressed(msg, 0).unwrap_err(),
            NameError::BadPointer
        );
        // Forward pointer.
        let msg = b"\xc0\x02\x00";
        assert_eq!(
            Name::parse_compressed(msg, 0).unwrap_err(),
            NameError::BadPointer
        );
    }

    #[test]
    fn overlong_names_and_labels_are_refused() {
        let mut msg = Vec::new();
        for _ in 0..5 {
            msg.push(63);
            msg.extend_from_slice(&[b'a'; 63]);
        }
        msg.push(0);
        assert_eq!(
            Name::parse_uncompressed(&msg, 0).unwrap_err(),
            NameError::TooLong
        );
        let msg = b"\x40aaaa";
        assert!(Name::parse_uncompressed(msg, 0).is_err());
        assert_eq!(
            Name::parse_uncompressed(b"\x03ab", 0).unwrap_err(),
            NameError::Truncated
        );
    }

    #[test]
    fn dname_substitution() {
        let (name, _) = Name::parse_uncompressed(b"\x01a\x03old\x00", 0).unwrap();
        let new = name
            .replace_suffix(b"\x03old\x00", b"\x03new\x03net\x00")
            .unwrap();
        assert_eq!(new.as_wire(), b"\x01a\x03new\x03net\x00");
    }
}
