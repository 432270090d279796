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
}
