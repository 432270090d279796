//! `[[health.cloud]] probe-names`: names whose answers a DNS probe checks beside the zones'
//! SOAs, written `"NAME"` (type A) or `"NAME TYPE"` (a mnemonic or `TYPEnnn`, RFC 3597).

use dns_wire::types::rtype;

/// Types a probe may ask by mnemonic; any other by `TYPEnnn`.
const MNEMONICS: &[(&str, u16)] = &[
    ("A", rtype::A),
    ("AAAA", rtype::AAAA),
    ("NS", rtype::NS),
    ("MX", rtype::MX),
    ("TXT", rtype::TXT),
    ("SOA", rtype::SOA),
    ("CNAME", rtype::CNAME),
    ("PTR", rtype::PTR),
    ("SRV", rtype::SRV),
    ("DS", rtype::DS),
    ("DNSKEY", rtype::DNSKEY),
    ("SVCB", 64),
    ("HTTPS", 65),
    ("CAA", 257),
];

/// One probe name: the name (wire form, lower case) and the type asked, or why not.
pub(crate) fn parse(text: &str) -> Result<(Vec<u8>, u16), String> {
    let mut words = text.split_whitespace();
    let name = words.next().ok_or("an empty probe name")?;
    let qtype = match words.next() {
        None => rtype::A,
        Some(word) => qtype(word)?,
    };
    if words.next().is_some() {
        return Err(format!("{text:?}: write \"NAME\" or \"NAME TYPE\""));
    }
    let mut wire = dns_wire::name_from_text(name).map_err(|e| format!("{name:?}: {e}"))?;
    dns_wire::lowercase_in_place(&mut wire);
    Ok((wire, qtype))
}

fn qtype(word: &str) -> Result<u16, String> {
    let upper = word.to_ascii_uppercase();
    if let Some((_, value)) = MNEMONICS.iter().find(|(m, _)| *m == upper) {
        return Ok(*value);
    }
    let number = upper
        .strip_prefix("TYPE")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u16>().ok())
        .ok_or_else(|| format!("{word:?} is not a record type (A, AAAA, TXT ... or TYPEnnn)"))?;
    // Meta types and the ones only transfers use are no answer to probe.
    if number == 0 || number == rtype::OPT || (128..=255).contains(&number) {
        return Err(format!("{word:?} is not a type a probe can ask"));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_and_without_a_type() {
        assert_eq!(
            parse("WWW.Example."),
            Ok((b"\x03www\x07example\x00".to_vec(), rtype::A))
        );
        assert_eq!(
            parse("_check.example. txt"),
            Ok((b"\x06_check\x07example\x00".to_vec(), rtype::TXT))
        );
        assert_eq!(
            parse("example. TYPE65"),
            Ok((b"\x07example\x00".to_vec(), 65))
        );
        for bad in [
            "",
            "www.example. A extra",
            "www.example. BOGUS",
            "x. TYPE252",
            "x. TYPE0",
            "x. TYPE+5",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
