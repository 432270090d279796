//! DNSKEY records as the validator uses them (RFC 4034 §2): their fields, their key tag
//! (Appendix B), whether a DS record designates one (§5), and the public key in the form
//! `ring` verifies with, for the algorithms we validate.
//!
//! Parsing only: no signature is checked here (that is `verify`), so that this module
//! depends on nothing else of the validator.

use ring::digest;

/// DNSSEC algorithm numbers (IANA "DNS Security Algorithm Numbers") this module knows.
pub mod algorithm {
    /// RSA/MD5 (RFC 4034 Appendix B.1): only for its key tag, never validated.
    pub const RSAMD5: u8 = 1;
    /// RSA/SHA-1 (RFC 3110): not validated (RFC 8624 §3.1).
    pub const RSASHA1: u8 = 5;
    /// RSA/SHA-256 (RFC 5702).
    pub const RSASHA256: u8 = 8;
    /// RSA/SHA-512 (RFC 5702).
    pub const RSASHA512: u8 = 10;
    /// ECDSA P-256 with SHA-256 (RFC 6605).
    pub const ECDSAP256SHA256: u8 = 13;
    /// ECDSA P-384 with SHA-384 (RFC 6605).
    pub const ECDSAP384SHA384: u8 = 14;
    /// Ed25519 (RFC 8080).
    pub const ED25519: u8 = 15;
    /// Ed448 (RFC 8080): not validated (`ring` has no Ed448).
    pub const ED448: u8 = 16;
}

/// DS digest types (IANA "Delegation Signer (DS) Resource Record Digest Algorithms").
pub mod digest_type {
    /// SHA-1 (RFC 4034 §5.1.3).
    pub const SHA1: u8 = 1;
    /// SHA-256 (RFC 4509).
    pub const SHA256: u8 = 2;
    /// SHA-384 (RFC 6605).
    pub const SHA384: u8 = 4;
}

/// DNSKEY flag: the key is a zone key (bit 7, RFC 4034 §2.1.1); only zone keys verify
/// RRsets.
pub const ZONE_KEY: u16 = 0x0100;
/// DNSKEY flag: REVOKE (bit 8, RFC 5011 §2.1).
pub const REVOKE: u16 = 0x0080;
/// DNSKEY flag: Secure Entry Point (bit 15, RFC 4034 §2.1.1), a hint for key roles only.
pub const SECURE_ENTRY_POINT: u16 = 0x0001;
/// The one value of the DNSKEY Protocol field (RFC 4034 §2.1.2).
pub const PROTOCOL: u8 = 3;

/// RSA moduli shorter than this (in octets, leading zeros removed) are not used: 1024
/// bits, the shortest `ring` verifies.
const RSA_MIN_MODULUS: usize = 1024 / 8;
/// RSA moduli longer than this are not used: 4096 bits, RFC 3110 §2's ceiling, which
/// also bounds what one verification costs.
const RSA_MAX_MODULUS: usize = 4096 / 8;
/// Octets of one coordinate of a P-256 point.
const P256_COORDINATE: usize = 32;
/// Octets of one coordinate of a P-384 point.
const P384_COORDINATE: usize = 48;
/// Octets of an Ed25519 public key (RFC 8080 §3).
const ED25519_KEY: usize = 32;
/// The prefix of an uncompressed elliptic-curve point (SEC 1 §2.3.3), which `ring` wants
/// and DNSSEC leaves out (RFC 6605 §4).
const UNCOMPRESSED_POINT: u8 = 0x04;

/// Whether signatures of algorithm `code` are verified here.
pub fn is_supported_algorithm(code: u8) -> bool {
    matches!(
        code,
        algorithm::RSASHA256
            | algorithm::RSASHA512
            | algorithm::ECDSAP256SHA256
            | algorithm::ECDSAP384SHA384
            | algorithm::ED25519
    )
}

/// Whether DS records of digest type `code` can be matched by [`ds_matches`].
pub fn is_supported_digest(code: u8) -> bool {
    digest_for(code).is_some()
}

/// The DNSKEY fields (RFC 4034 §2.1), borrowed from the RDATA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dnskey<'a> {
    /// Flags: [`ZONE_KEY`], [`REVOKE`], [`SECURE_ENTRY_POINT`].
    pub flags: u16,
    /// Protocol: [`PROTOCOL`] in any usable key.
    pub protocol: u8,
    /// Algorithm (see [`algorithm`]).
    pub algorithm: u8,
    /// The public key, in the algorithm's format.
    pub public_key: &'a [u8],
}

/// Why a DNSKEY's public key cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// Its algorithm is not one we verify.
    UnsupportedAlgorithm,
    /// An RSA key whose modulus is outside 1024 to 4096 bits.
    UnsupportedSize,
    /// The key is not in its algorithm's format.
    Malformed,
}

/// A public key in the form `ring` takes, one variant per verification algorithm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey<'a> {
    /// RSA/SHA-256: modulus and exponent, big-endian without leading zeros.
    RsaSha256 {
        /// The modulus.
        n: &'a [u8],
        /// The public exponent.
        e: &'a [u8],
    },
    /// RSA/SHA-512: modulus and exponent, big-endian without leading zeros.
    RsaSha512 {
        /// The modulus.
        n: &'a [u8],
        /// The public exponent.
        e: &'a [u8],
    },
    /// ECDSA P-256: the uncompressed point, 0x04 || x || y.
    EcdsaP256(Vec<u8>),
    /// ECDSA P-384: the uncompressed point, 0x04 || x || y.
    EcdsaP384(Vec<u8>),
    /// Ed25519: the 32 octets of the key.
    Ed25519(&'a [u8]),
}

impl<'a> Dnskey<'a> {
    /// Reads DNSKEY RDATA; `None` when it is shorter than its four fixed octets.
    pub fn parse(rdata: &'a [u8]) -> Option<Self> {
        let [f0, f1, protocol, algorithm, public_key @ ..] = rdata else {
            return None;
        };
        Some(Self {
            flags: u16::from_be_bytes([*f0, *f1]),
            protocol: *protocol,
            algorithm: *algorithm,
            public_key,
        })
    }

    /// Whether the Zone Key flag is set (RFC 4034 §2.1.1).
    pub fn is_zone_key(&self) -> bool {
        self.flags & ZONE_KEY != 0
    }

    /// Whether the REVOKE flag is set (RFC 5011 §2.1).
    pub fn is_revoked(&self) -> bool {
        self.flags & REVOKE != 0
    }

    /// Whether the Secure Entry Point flag is set (RFC 4034 §2.1.1).
    pub fn is_secure_entry_point(&self) -> bool {
        self.flags & SECURE_ENTRY_POINT != 0
    }

    /// The public key converted for `ring`, checked against its algorithm's sizes: RSA
    /// keys as RFC 3110 §2 lays them out (a one-octet exponent length, or a zero then a
    /// two-octet one), ECDSA keys as x || y (RFC 6605 §4), Ed25519 keys as 32 octets
    /// (RFC 8080 §3).
    pub fn key(&self) -> Result<PublicKey<'a>, KeyError> {
        let key = self.public_key;
        match self.algorithm {
            algorithm::RSASHA256 => rsa_components(key).map(|(e, n)| PublicKey::RsaSha256 { n, e }),
            algorithm::RSASHA512 => rsa_components(key).map(|(e, n)| PublicKey::RsaSha512 { n, e }),
            algorithm::ECDSAP256SHA256 => ec_point(key, P256_COORDINATE).map(PublicKey::EcdsaP256),
            algorithm::ECDSAP384SHA384 => ec_point(key, P384_COORDINATE).map(PublicKey::EcdsaP384),
            algorithm::ED25519 if key.len() == ED25519_KEY => Ok(PublicKey::Ed25519(key)),
            algorithm::ED25519 => Err(KeyError::Malformed),
            _ => Err(KeyError::UnsupportedAlgorithm),
        }
    }
}

/// The exponent and modulus of an RFC 3110 §2 key, without leading zeros (as `ring` wants
/// them), the modulus within the sizes we use.
fn rsa_components(key: &[u8]) -> Result<(&[u8], &[u8]), KeyError> {
    let (&first, rest) = key.split_first().ok_or(KeyError::Malformed)?;
    let (exponent_len, rest) = if first == 0 {
        let [high, low, rest @ ..] = rest else {
            return Err(KeyError::Malformed);
        };
        (usize::from(u16::from_be_bytes([*high, *low])), rest)
    } else {
        (usize::from(first), rest)
    };
    if exponent_len == 0 || exponent_len >= rest.len() {
        return Err(KeyError::Malformed);
    }
    let (e, n) = rest.split_at(exponent_len);
    let (e, n) = (without_leading_zeros(e), without_leading_zeros(n));
    if e.is_empty() || n.is_empty() {
        return Err(KeyError::Malformed);
    }
    if !(RSA_MIN_MODULUS..=RSA_MAX_MODULUS).contains(&n.len()) {
        return Err(KeyError::UnsupportedSize);
    }
    Ok((e, n))
}

/// `bytes` from its first non-zero octet on.
fn without_leading_zeros(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    &bytes[zeros..]
}

/// The uncompressed point of a DNSSEC ECDSA key (x || y, each `coordinate` octets).
fn ec_point(key: &[u8], coordinate: usize) -> Result<Vec<u8>, KeyError> {
    if key.len() != 2 * coordinate {
        return Err(KeyError::Malformed);
    }
    let mut point = Vec::with_capacity(1 + key.len());
    point.push(UNCOMPRESSED_POINT);
    point.extend_from_slice(key);
    Ok(point)
}

/// The key tag of DNSKEY RDATA (RFC 4034 Appendix B): a checksum that RRSIG and DS
/// records name the key by. Not unique: several keys may share one (and an attacker can
/// make as many as he likes share one, which `verify` bounds).
pub fn key_tag(rdata: &[u8]) -> u16 {
    if rdata.get(3) == Some(&algorithm::RSAMD5) {
        // Appendix B.1: the most significant 16 of the least significant 24 bits of the
        // modulus, which ends the RDATA.
        let len = rdata.len();
        return if len > 4 {
            u16::from_be_bytes([rdata[len - 3], rdata[len - 2]])
        } else {
            0
        };
    }
    let mut sum: u64 = 0;
    for (i, &octet) in rdata.iter().enumerate() {
        sum += if i & 1 == 0 {
            u64::from(octet) << 8
        } else {
            u64::from(octet)
        };
    }
    sum += (sum >> 16) & 0xffff;
    (sum & 0xffff) as u16
}

/// The `ring` digest of a DS digest type we match.
fn digest_for(code: u8) -> Option<&'static digest::Algorithm> {
    match code {
        digest_type::SHA1 => Some(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        digest_type::SHA256 => Some(&digest::SHA256),
        digest_type::SHA384 => Some(&digest::SHA384),
        _ => None,
    }
}

/// Whether DS RDATA `ds_rdata`, found at `owner` in the parent zone, designates the key of
/// DNSKEY RDATA `dnskey_rdata` at the same owner (RFC 4034 §5.1.4, RFC 4035 §5.2): key
/// tag and algorithm agree, the key is a zone key of protocol 3, and the digest over the
/// owner's canonical (lowercased) wire form followed by the DNSKEY RDATA is the DS's.
/// False for digest types we do not compute (see [`is_supported_digest`]).
pub fn ds_matches(owner: &[u8], dnskey_rdata: &[u8], ds_rdata: &[u8]) -> bool {
    let [tag0, tag1, ds_algorithm, kind, expected @ ..] = ds_rdata else {
        return false;
    };
    let Some(key) = Dnskey::parse(dnskey_rdata) else {
        return false;
    };
    if u16::from_be_bytes([*tag0, *tag1]) != key_tag(dnskey_rdata)
        || *ds_algorithm != key.algorithm
        || key.protocol != PROTOCOL
        || !key.is_zone_key()
    {
        return false;
    }
    let Some(hash) = digest_for(*kind) else {
        return false;
    };
    let mut context = digest::Context::new(hash);
    context.update(&owner.to_ascii_lowercase());
    context.update(dnskey_rdata);
    context.finish().as_ref() == expected
}

#[cfg(test)]
mod tests {
    use super::super::vectors::{self, hex, name};
    use super::*;

    /// RFC 4034 §5.4: the DS example (SHA-1) and its key, tag 60485.
    fn rfc4034_key() -> Vec<u8> {
        vectors::dnskey(
            256,
            algorithm::RSASHA1,
            "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZ\
             DRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9Xzc\
             nOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
        )
    }

    #[test]
    fn key_tags_of_published_keys() {
        assert_eq!(key_tag(&rfc4034_key()), 60485);
        assert_eq!(key_tag(&vectors::ed25519_example1().dnskey), 3613);
        assert_eq!(key_tag(&vectors::ed25519_example2().dnskey), 35217);
        assert_eq!(key_tag(&vectors::p256().dnskey), 55648);
        assert_eq!(key_tag(&vectors::p384().dnskey), 10771);
        assert_eq!(key_tag(&vectors::rsasha512().dnskey), 3740);
        assert_eq!(key_tag(&vectors::rsasha256_512_bit().dnskey), 9033);
        assert_eq!(key_tag(&vectors::rsasha256_wildcard().dnskey), 52100);
    }

    #[test]
    fn key_tag_of_rsamd5_is_taken_from_the_modulus() {
        let mut rdata = vec![1, 0, 3, algorithm::RSAMD5];
        rdata.extend_from_slice(&[1, 3, 0xaa, 0xbb, 0xcd, 0xef, 0x12]);
        assert_eq!(key_tag(&rdata), 0xcdef);
        assert_eq!(key_tag(&[1, 0, 3, algorithm::RSAMD5]), 0);
    }

    #[test]
    fn ds_records_match_their_keys() {
        let cases = [
            (
                "dskey.example.com.",
                rfc4034_key(),
                "ec45 05 01 2bb183af5f22588179a53b0a98631fad1a292118",
            ),
            (
                "example.com.",
                vectors::ed25519_example1().dnskey,
                "0e1d 0f 02 3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b",
            ),
            (
                "example.com.",
                vectors::ed25519_example2().dnskey,
                "8991 0f 02 401781b934e392de492ec77ae2e15d70f6575a1c0bc59c5275c04ebe80c6614c",
            ),
            (
                "example.net.",
                vectors::p256().dnskey,
                "d960 0d 02 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17",
            ),
            (
                "example.net.",
                vectors::p384().dnskey,
                "2a13 0e 04 72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9495f27e305c6a9b0\
                 563a9b5f4d288405c3008a946df983d6",
            ),
        ];
        for (owner, key, ds) in cases {
            let ds = hex(ds);
            assert!(ds_matches(&name(owner), &key, &ds), "{owner} {ds:02x?}");
            // The owner is compared in canonical form: case does not matter, the name does.
            let upper = name(owner).to_ascii_uppercase();
            assert!(ds_matches(&upper, &key, &ds), "{owner} in capitals");
            assert!(!ds_matches(&name("other.example."), &key, &ds), "{owner}");
            let mut wrong_digest = ds.clone();
            *wrong_digest.last_mut().unwrap() ^= 1;
            assert!(!ds_matches(&name(owner), &key, &wrong_digest), "{owner}");
            let mut wrong_tag = ds.clone();
            wrong_tag[1] ^= 1;
            assert!(!ds_matches(&name(owner), &key, &wrong_tag), "{owner}");
            let mut wrong_algorithm = ds;
            wrong_algorithm[2] ^= 1;
            assert!(!ds_matches(&name(owner), &key, &wrong_algorithm), "{owner}");
        }
    }

    #[test]
    fn ds_of_unknown_digest_type_or_of_a_non_zone_key_matches_nothing() {
        let key = vectors::ed25519_example1().dnskey;
        let mut ds =
            hex("0e1d 0f 02 3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b");
        assert!(ds_matches(&name("example.com."), &key, &ds));
        ds[3] = 3; // GOST R 34.11-94
        assert!(!ds_matches(&name("example.com."), &key, &ds));
        assert!(!is_supported_digest(3));
        assert!(is_supported_digest(digest_type::SHA1));
        // Flags 1 (SEP without Zone Key): whatever the digest, not a key a DS can point at.
        let mut not_zone = key;
        not_zone[0] = 0;
        let mut context = digest::Context::new(&digest::SHA256);
        context.update(&name("example.com."));
        context.update(&not_zone);
        let mut ds = key_tag(&not_zone).to_be_bytes().to_vec();
        ds.extend_from_slice(&[algorithm::ED25519, digest_type::SHA256]);
        ds.extend_from_slice(context.finish().as_ref());
        assert!(!ds_matches(&name("example.com."), &not_zone, &ds));
    }

    #[test]
    fn dnskey_fields_and_flags() {
        let rdata = vectors::ed25519_example1().dnskey;
        let key = Dnskey::parse(&rdata).unwrap();
        assert_eq!((key.flags, key.protocol, key.algorithm), (257, 3, 15));
        assert_eq!(key.public_key.len(), 32);
        assert!(key.is_zone_key() && key.is_secure_entry_point() && !key.is_revoked());
        assert_eq!(key.key(), Ok(PublicKey::Ed25519(&rdata[4..])));
        assert_eq!(Dnskey::parse(&[1, 0, 3]), None);
        let zsk = Dnskey::parse(&[1, 0x80, 3, 15]).unwrap();
        assert!(zsk.is_zone_key() && zsk.is_revoked() && !zsk.is_secure_entry_point());
    }

    #[test]
    fn rsa_keys_in_both_exponent_length_forms() {
        let rdata = vectors::rsasha512().dnskey;
        let key = Dnskey::parse(&rdata).unwrap();
        let Ok(PublicKey::RsaSha512 { n, e }) = key.key() else {
            panic!("{:?}", key.key());
        };
        assert_eq!(e, [1, 0, 1]);
        assert_eq!(n.len(), 128);
        assert_eq!(n, &rdata[8..]);
        // The same key with the exponent length in three octets (RFC 3110 §2), and with
        // leading zeros on both numbers: the same components.
        let mut long_form = vec![0, 0, 4, 0, 1, 0, 1, 0];
        long_form.extend_from_slice(n);
        let long = Dnskey {
            public_key: &long_form,
            ..key
        };
        assert_eq!(long.key(), Ok(PublicKey::RsaSha512 { n, e }));
        let sha256 = Dnskey {
            algorithm: algorithm::RSASHA256,
            ..key
        };
        assert_eq!(sha256.key(), Ok(PublicKey::RsaSha256 { n, e }));
    }

    #[test]
    fn unusable_keys_are_told_apart() {
        let short = vectors::rsasha256_512_bit().dnskey;
        assert_eq!(
            Dnskey::parse(&short).unwrap().key(),
            Err(KeyError::UnsupportedSize)
        );
        let rsa = |public_key: &'static [u8]| Dnskey {
            flags: 256,
            protocol: 3,
            algorithm: algorithm::RSASHA256,
            public_key,
        };
        // An exponent length running past the key, a zero exponent length, no modulus.
        assert_eq!(rsa(&[200, 1, 0, 1]).key(), Err(KeyError::Malformed));
        assert_eq!(rsa(&[0, 0, 0, 1, 1]).key(), Err(KeyError::Malformed));
        assert_eq!(rsa(&[3, 1, 0, 1]).key(), Err(KeyError::Malformed));
        assert_eq!(rsa(&[]).key(), Err(KeyError::Malformed));
        let p256 = vectors::p256().dnskey;
        let Ok(PublicKey::EcdsaP256(point)) = Dnskey::parse(&p256).unwrap().key() else {
            panic!("not a P-256 key");
        };
        assert_eq!((point.len(), point[0]), (65, 4));
        assert_eq!(&point[1..], &p256[4..]);
        let truncated = Dnskey::parse(&p256[..p256.len() - 1]).unwrap();
        assert_eq!(truncated.key(), Err(KeyError::Malformed));
        let ed = vectors::ed25519_example1().dnskey;
        let truncated = Dnskey::parse(&ed[..ed.len() - 1]).unwrap();
        assert_eq!(truncated.key(), Err(KeyError::Malformed));
        let ed448 = vectors::dnskey(
            257,
            algorithm::ED448,
            "3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA",
        );
        assert_eq!(
            Dnskey::parse(&ed448).unwrap().key(),
            Err(KeyError::UnsupportedAlgorithm)
        );
        assert!(!is_supported_algorithm(algorithm::ED448));
        assert!(!is_supported_algorithm(algorithm::RSASHA1));
        assert!(is_supported_algorithm(algorithm::ED25519));
    }
}
