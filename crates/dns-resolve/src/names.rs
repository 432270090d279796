//! Wire-format name relations the resolver's modules share (a leaf: it imports nothing of
//! the crate).

/// The longest label (RFC 1035 §2.3.4).
const MAX_LABEL: usize = 63;

/// Whether wire name `name` is `ancestor` or lies below it, label by label and ignoring
/// ASCII case (a label that merely ends in `ancestor`'s octets does not count).
pub(crate) fn is_at_or_below(name: &[u8], ancestor: &[u8]) -> bool {
    let mut at = 0;
    loop {
        if name
            .get(at..)
            .is_some_and(|suffix| suffix.eq_ignore_ascii_case(ancestor))
        {
            return true;
        }
        match name.get(at) {
            Some(&len) if len != 0 && usize::from(len) <= MAX_LABEL => at += 1 + usize::from(len),
            _ => return false,
        }
    }
}

/// The length of the uncompressed wire name at the start of `bytes`, root label included;
/// `None` when it does not end inside them or a label is too long.
pub(crate) fn wire_len(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let len = usize::from(*bytes.get(at)?);
        if len == 0 {
            return (at < 255).then_some(at + 1);
        }
        if len > MAX_LABEL {
            return None;
        }
        at += 1 + len;
    }
}

/// The name one label up; `None` for the root (or a malformed name).
pub(crate) fn parent(name: &[u8]) -> Option<&[u8]> {
    match name.first() {
        Some(&len) if len != 0 => name.get(1 + usize::from(len)..),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_means_label_by_label() {
        assert!(is_at_or_below(b"\x01a\x07example\0", b"\x07example\0"));
        assert!(is_at_or_below(b"\x01a\x07EXAMPLE\0", b"\x07example\0"));
        assert!(is_at_or_below(b"\x07example\0", b"\x07example\0"));
        assert!(is_at_or_below(b"\x07example\0", b"\0"));
        assert!(!is_at_or_below(b"\x0aab\x07example\0", b"\x07example\0"));
        assert!(!is_at_or_below(b"\x07example\0", b"\x01a\x07example\0"));
    }

    #[test]
    fn lengths_and_parents() {
        assert_eq!(wire_len(b"\x01a\x07example\0rest"), Some(11));
        assert_eq!(wire_len(b"\x01a\x07exam"), None);
        assert_eq!(parent(b"\x01a\x07example\0"), Some(&b"\x07example\0"[..]));
        assert_eq!(parent(b"\0"), None);
    }
}
