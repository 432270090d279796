//! The octets an RRSIG signs (RFC 4034 §3.1.8.1): its own RDATA without the signature,
//! then the RRset in canonical form (§6.2: owner and RDATA names lowercased, as amended by
//! RFC 6840 §5.1) and canonical order (§6.3), each record once; and the name arithmetic
//! the checks need: label counts (§3.1.3), ancestry, and the wildcard an expanded owner
//! came from (RFC 4035 §5.3.2).
//!
//! Works on wire bytes as `dns_wire::read_record` leaves them: names uncompressed, case
//! as the server sent it.

use dns_wire::types::rtype::{CNAME, DNAME, MX, NS, PTR, RRSIG, SOA, SRV};

use crate::rrset::RrSet;

/// RFC 1035 §2.3.4: names are at most 255 octets.
const MAX_NAME: usize = 255;
/// RFC 1035 §2.3.4: labels are at most 63 octets (larger length octets are pointers or
/// reserved, neither allowed in these names).
const MAX_LABEL: usize = 63;
/// Octets of RRSIG RDATA before the signer's name (RFC 4034 §3.1).
pub(crate) const RRSIG_FIXED: usize = 18;

// Types with names in their RDATA that dns_wire::types does not name.
const MD: u16 = 3;
const MF: u16 = 4;
const MB: u16 = 7;
const MG: u16 = 8;
const MR: u16 = 9;
const MINFO: u16 = 14;
const RP: u16 = 17;
const AFSDB: u16 = 18;
const RT: u16 = 21;
const SIG: u16 = 24;
const PX: u16 = 26;
const NXT: u16 = 30;
const NAPTR: u16 = 35;
const KX: u16 = 36;
const A6: u16 = 38;

/// Where the uncompressed name starting at `at` in `data` ends; `None` when it runs past
/// the end, holds a pointer or reserved label type, or is longer than 255 octets.
pub(crate) fn name_end(data: &[u8], at: usize) -> Option<usize> {
    let mut end = at;
    loop {
        let len = usize::from(*data.get(end)?);
        if len > MAX_LABEL {
            return None;
        }
        end += 1 + len;
        if end - at > MAX_NAME {
            return None;
        }
        if len == 0 {
            return Some(end);
        }
    }
}

/// Lowercases the name at `at` (length octets are below 64, so never letters); returns
/// where it ends.
fn lowercase_name(rdata: &mut [u8], at: usize) -> Option<usize> {
    let end = name_end(rdata, at)?;
    rdata[at..end].make_ascii_lowercase();
    Some(end)
}

/// Where the character-string (RFC 1035 §3.3) at `at` ends.
fn string_end(rdata: &[u8], at: usize) -> Option<usize> {
    let end = at + 1 + usize::from(*rdata.get(at)?);
    (end <= rdata.len()).then_some(end)
}

/// Lowercases the names of `rdata` for the types RFC 4034 §6.2 lists, less NSEC (RFC 6840
/// §5.1: its next name keeps its case) and HINFO (which holds no name). Stops at the
/// first name that does not parse: what follows is left as it is.
fn lowercase_names(rtype: u16, rdata: &mut [u8]) -> Option<()> {
    match rtype {
        // One name first (NXT's type bitmap follows it).
        NS | MD | MF | CNAME | MB | MG | MR | PTR | DNAME | NXT => {
            lowercase_name(rdata, 0)?;
        }
        // Two names (SOA's counters follow them).
        SOA | MINFO | RP => {
            let next = lowercase_name(rdata, 0)?;
            lowercase_name(rdata, next)?;
        }
        // A 16-bit preference, then a name.
        MX | AFSDB | RT | KX => {
            lowercase_name(rdata, 2)?;
        }
        // A preference, then two names (RFC 2163).
        PX => {
            let next = lowercase_name(rdata, 2)?;
            lowercase_name(rdata, next)?;
        }
        // Priority, weight, port, target.
        SRV => {
            lowercase_name(rdata, 6)?;
        }
        // The signer's name after the fixed fields; the signature is not a name.
        SIG | RRSIG => {
            lowercase_name(rdata, RRSIG_FIXED)?;
        }
        // Order, preference, flags, services, regexp, then the replacement (RFC 3403).
        NAPTR => {
            let mut at = 4;
            for _ in 0..3 {
                at = string_end(rdata, at)?;
            }
            lowercase_name(rdata, at)?;
        }
        // A prefix length, the address suffix, then a prefix name if the length is not 0
        // (RFC 2874 §3.1.1).
        A6 => {
            let prefix = *rdata.first()?;
            let suffix = usize::from(128u8.checked_sub(prefix)?).div_ceil(8);
            if prefix > 0 {
                lowercase_name(rdata, 1 + suffix)?;
            }
        }
        _ => {}
    }
    Some(())
}

/// `rdata` of type `rtype` in canonical form (RFC 4034 §6.2 item 3): the names it holds
/// lowercased, everything else as it is. Names are already uncompressed.
pub fn canonical_rdata(rtype: u16, rdata: &[u8]) -> Vec<u8> {
    let mut canonical = rdata.to_vec();
    // RDATA that does not parse as its type stays as sent from there on: a signature over
    // it verifies only if the signer signed exactly those octets.
    let _ = lowercase_names(rtype, &mut canonical);
    canonical
}

/// Offsets of the labels of a wire name, the root's last; `None` when it is not exactly
/// one well-formed uncompressed name.
fn label_offsets(name: &[u8]) -> Option<Vec<usize>> {
    let end = name_end(name, 0)?;
    if end != name.len() {
        return None;
    }
    let mut offsets = Vec::with_capacity(8);
    let mut at = 0;
    while at < end {
        offsets.push(at);
        at += 1 + usize::from(name[at]);
    }
    Some(offsets)
}

/// Whether the name starts with the wildcard label `*`.
fn is_wildcard(name: &[u8]) -> bool {
    name.starts_with(b"\x01*")
}

/// The labels of `name` as an RRSIG's Labels field counts them (RFC 4034 §3.1.3): neither
/// the root nor a leading `*`. `None` when it is not a well-formed name.
pub fn rrsig_labels(name: &[u8]) -> Option<usize> {
    let offsets = label_offsets(name)?;
    let labels = offsets.len() - 1;
    Some(if is_wildcard(name) {
        labels - 1
    } else {
        labels
    })
}

/// The owner, lowercased, that a signature with `labels` labels was computed over (RFC
/// 4035 §5.3.2): `owner` itself, or when `labels` is fewer than its own, the wildcard it
/// was expanded from, `*.` and `owner`'s rightmost `labels` labels. `None` when `labels`
/// is more than `owner` has, or `owner` is not a well-formed name.
pub fn signed_owner(owner: &[u8], labels: u8) -> Option<Vec<u8>> {
    let offsets = label_offsets(owner)?;
    let own = rrsig_labels(owner)?;
    let labels = usize::from(labels);
    if labels > own {
        return None;
    }
    if labels == own {
        return Some(owner.to_ascii_lowercase());
    }
    // `offsets` ends with the root's offset: the suffix of `labels` labels starts
    // `labels + 1` entries from its end.
    let start = offsets[offsets.len() - 1 - labels];
    let mut wildcard = Vec::with_capacity(2 + owner.len() - start);
    wildcard.extend_from_slice(b"\x01*");
    wildcard.extend(owner[start..].iter().map(u8::to_ascii_lowercase));
    Some(wildcard)
}

/// What the RRSIG of RDATA `rrsig_rdata` signs over `set` (RFC 4034 §3.1.8.1): the RRSIG
/// RDATA before the signature, the signer's name lowercased; then, for each distinct
/// record in canonical order (§6.3: by canonical RDATA as octet strings), the owner (the
/// wildcard for an expanded owner, see [`signed_owner`]), type, class, the RRSIG's
/// original TTL, RDATA length and canonical RDATA (see [`canonical_rdata`]).
///
/// `None` when the RRSIG RDATA ends before its signer's name does, its Labels field
/// exceeds the owner's labels, or the owner is not a well-formed name. The RRSIG's other
/// fields are not checked here.
pub fn signed_data(set: &RrSet, rrsig_rdata: &[u8]) -> Option<Vec<u8>> {
    let fields = rrsig_rdata.get(..RRSIG_FIXED)?;
    let signer_end = name_end(rrsig_rdata, RRSIG_FIXED)?;
    let owner = signed_owner(&set.owner, fields[3])?;
    let original_ttl = &fields[4..8];
    let mut records: Vec<Vec<u8>> = set
        .rdatas
        .iter()
        .map(|rdata| canonical_rdata(set.rtype, rdata))
        .collect();
    records.sort_unstable();
    records.dedup();
    let fixed = owner.len() + 10;
    let size = signer_end + records.iter().map(|r| fixed + r.len()).sum::<usize>();
    let mut data = Vec::with_capacity(size);
    data.extend_from_slice(fields);
    data.extend(
        rrsig_rdata[RRSIG_FIXED..signer_end]
            .iter()
            .map(u8::to_ascii_lowercase),
    );
    for rdata in &records {
        let rdlength = u16::try_from(rdata.len()).ok()?;
        data.extend_from_slice(&owner);
        data.extend_from_slice(&set.rtype.to_be_bytes());
        data.extend_from_slice(&set.class.to_be_bytes());
        data.extend_from_slice(original_ttl);
        data.extend_from_slice(&rdlength.to_be_bytes());
        data.extend_from_slice(rdata);
    }
    Some(data)
}

#[cfg(test)]
mod tests {
    use dns_wire::types::rtype::{A, NSEC, TXT};

    use super::super::vectors::{self, hex, name};
    use super::*;
    use crate::names::is_at_or_below;

    #[test]
    fn signed_data_of_rfc_8080_example() {
        // RFC 8080 §6.1 (as corrected by erratum 4935), the octets its Ed25519 signature
        // covers; the same in PowerDNS's test suite and from dnspython.
        let vector = vectors::ed25519_example1();
        let expected = hex(
            "000f 0f 02 00000e10 55d4fc60 55b94ce0 0e1d 076578616d706c6503636f6d00
             076578616d706c6503636f6d00 000f 0001 00000e10 0014
             000a 046d61696c076578616d706c6503636f6d00",
        );
        assert_eq!(signed_data(&vector.set, &vector.rrsig), Some(expected));
    }

    #[test]
    fn signed_data_of_wildcard_expansion_in_canonical_order_without_duplicates() {
        // The MX RRset of *.example.org signed by dnspython, answered for a.b.example.org:
        // records out of order, one in capitals, one twice (differing in case only).
        let vector = vectors::rsasha256_wildcard();
        assert_eq!(vector.set.owner, name("a.b.example.org."));
        assert_eq!(vector.set.rdatas.len(), 3);
        let expected = hex(
            "000f 08 02 0000012c 6b49d200 6553f100 cb84 076578616d706c65036f726700
             012a076578616d706c65036f726700 000f 0001 0000012c 0016
             0005 066261636b7570076578616d706c65036f726700
             012a076578616d706c65036f726700 000f 0001 0000012c 0014
             000a 046d61696c076578616d706c65036f726700",
        );
        assert_eq!(signed_data(&vector.set, &vector.rrsig), Some(expected));
    }

    #[test]
    fn signed_data_needs_a_whole_rrsig_and_labels_the_owner_has() {
        let vector = vectors::ed25519_example1();
        assert_eq!(
            signed_data(&vector.set, &vector.rrsig[..RRSIG_FIXED + 3]),
            None
        );
        let mut too_many = vector.rrsig;
        too_many[3] = 3;
        assert_eq!(signed_data(&vector.set, &too_many), None);
    }

    #[test]
    fn names_in_rdata_are_lowercased_and_nothing_else() {
        // MX: a preference of "AB" stays, the exchange is lowercased.
        assert_eq!(
            canonical_rdata(MX, b"AB\x04Mail\x07Example\x00"),
            b"AB\x04mail\x07example\x00"
        );
        // SOA: both names; counters that look like letters stay.
        let mut soa = b"\x02NS\x01X\x00\x05Admin\x01X\x00".to_vec();
        soa.extend_from_slice(b"ABCDEFGHIJKLMNOPQRST");
        let mut expected = b"\x02ns\x01x\x00\x05admin\x01x\x00".to_vec();
        expected.extend_from_slice(b"ABCDEFGHIJKLMNOPQRST");
        assert_eq!(canonical_rdata(SOA, &soa), expected);
        // SRV: the target only.
        assert_eq!(
            canonical_rdata(SRV, b"\x00A\x00B\x00C\x03WWW\x00"),
            b"\x00A\x00B\x00C\x03www\x00"
        );
        // RRSIG: the signer, not the signature.
        let mut rrsig = vec![0x41; RRSIG_FIXED];
        rrsig.extend_from_slice(b"\x07EXAMPLE\x00SIGNATURE");
        let mut expected = vec![0x41; RRSIG_FIXED];
        expected.extend_from_slice(b"\x07example\x00SIGNATURE");
        assert_eq!(canonical_rdata(RRSIG, &rrsig), expected);
        // NAPTR: the strings keep their case, the replacement does not.
        let naptr = b"\x00\x01\x00\x02\x01U\x07E2U+sip\x00\x04_SIP\x04_UDP\x00";
        assert_eq!(
            canonical_rdata(NAPTR, naptr),
            b"\x00\x01\x00\x02\x01U\x07E2U+sip\x00\x04_sip\x04_udp\x00"
        );
        // A6: the prefix name after a 64-bit suffix; none after a whole address.
        let mut a6 = vec![64];
        a6.extend_from_slice(b"ABCDEFGH\x03NET\x00");
        assert_eq!(canonical_rdata(A6, &a6), b"\x40ABCDEFGH\x03net\x00");
        let whole = b"\x00ABCDEFGHIJKLMNOP";
        assert_eq!(canonical_rdata(A6, whole), whole);
        // RFC 6840 §5.1: NSEC's next name keeps its case; types without names stay.
        let nsec = b"\x04Next\x07Example\x00\x00\x01\x40";
        assert_eq!(canonical_rdata(NSEC, nsec), nsec);
        assert_eq!(canonical_rdata(TXT, b"\x02AB"), b"\x02AB");
        assert_eq!(canonical_rdata(A, b"ABCD"), b"ABCD");
        // A name running past the RDATA: left alone from there.
        assert_eq!(
            canonical_rdata(MX, b"\x00\x01\x09Mail"),
            b"\x00\x01\x09Mail"
        );
        assert_eq!(canonical_rdata(CNAME, b"\xc0\x0c"), b"\xc0\x0c");
    }

    #[test]
    fn label_counts_ancestry_and_wildcard_owners() {
        assert_eq!(rrsig_labels(&name("www.example.com.")), Some(3));
        assert_eq!(rrsig_labels(&name("*.example.com.")), Some(2));
        assert_eq!(rrsig_labels(b"\x00"), Some(0));
        assert_eq!(rrsig_labels(b"\x03www"), None);
        assert_eq!(rrsig_labels(b"\x00\x00"), None);

        let www = name("www.Example.com.");
        assert!(is_at_or_below(&www, &name("example.com.")));
        assert!(is_at_or_below(&www, &name("WWW.example.COM.")));
        assert!(is_at_or_below(&www, b"\x00"));
        assert!(!is_at_or_below(&www, &name("ample.com.")));
        assert!(!is_at_or_below(&name("example.com."), &www));
        // A suffix that matches inside a label is not an ancestor.
        assert!(!is_at_or_below(b"\x03b\x01a\x00", b"\x01a\x00"));

        let owner = name("A.b.Example.org.");
        assert_eq!(signed_owner(&owner, 4), Some(name("a.b.example.org.")));
        assert_eq!(signed_owner(&owner, 2), Some(name("*.example.org.")));
        assert_eq!(signed_owner(&owner, 0), Some(name("*.")));
        assert_eq!(signed_owner(&owner, 5), None);
        let wildcard = name("*.example.org.");
        assert_eq!(signed_owner(&wildcard, 2), Some(wildcard.clone()));
        assert_eq!(signed_owner(&wildcard, 3), None);
    }
}
