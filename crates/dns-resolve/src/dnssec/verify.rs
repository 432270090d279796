//! Whether an RRset's signature was made by a key (RFC 4035 §5.3): reading RRSIG RDATA
//! (RFC 4034 §3.1), the checks that need no cryptography (type covered, algorithm,
//! labels, signer, validity period in RFC 1982 serial arithmetic, key tag, key flags),
//! then the signature over the canonical data with `ring`.
//!
//! Several signatures against several keys ([`verify_rrset_with_keys`]) cost at most a
//! bounded number of verifications: key tags collide at will, and a zone built with many
//! colliding keys and many signatures would otherwise make us try every pair (KeyTrap,
//! CVE-2023-50387).

use std::borrow::Cow;
use std::fmt;

use dns_wire::types::rtype;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ED25519,
    RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY, RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
    RsaParameters, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm,
};

use super::canonical::{RRSIG_FIXED, name_end, rrsig_labels, signed_data};
use super::keys::{Dnskey, KeyError, PROTOCOL, PublicKey, is_supported_algorithm, key_tag};
use crate::names::is_at_or_below;
use crate::rrset::RrSet;

/// Signature verifications [`verify_rrset_with_keys`] is told to allow per RRset, summed
/// over its RRSIGs and the keys each names. An honest zone needs one, or two while a key
/// is being replaced; an RRset that still fails after eight is bogus, whatever other
/// pairs it offers.
pub const MAX_VERIFICATIONS: usize = 8;

/// Why a signature does not make an RRset secure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bogus {
    /// No RRSIG was offered for the RRset.
    NoSignatures,
    /// RRSIG RDATA that is not RFC 4034 §3.1's, or a signature of the wrong length for
    /// its algorithm.
    MalformedSignature,
    /// DNSKEY RDATA that is not RFC 4034 §2.1's, or a key not in its algorithm's format.
    MalformedKey,
    /// The RRset's owner is not a well-formed name, or a record is too long.
    MalformedRecord,
    /// The algorithm is not one we verify (RFC 4035 §5.2 lets the chain of trust treat
    /// a zone signed only with such algorithms as insecure).
    UnsupportedAlgorithm,
    /// An RSA key whose modulus is outside 1024 to 4096 bits.
    UnsupportedKeySize,
    /// The RRSIG covers another type than the RRset's.
    TypeMismatch,
    /// The RRSIG's Labels field exceeds the owner's labels (RFC 4035 §5.3.1).
    LabelsTooMany,
    /// The signer's name is not the owner nor one of its ancestors (RFC 4035 §5.3.1).
    WrongSigner,
    /// The current time is past the signature's expiration (RFC 4034 §3.1.5).
    SignatureExpired,
    /// The current time is before the signature's inception (RFC 4034 §3.1.5).
    SignatureNotYetValid,
    /// The key's algorithm is not the signature's.
    AlgorithmMismatch,
    /// The key's tag is not the one the signature names.
    KeyTagMismatch,
    /// The key's Protocol field is not 3 (RFC 4034 §2.1.2).
    BadProtocol,
    /// The key's Zone Key flag is clear (RFC 4034 §2.1.1).
    NotAZoneKey,
    /// The key is revoked (RFC 5011 §2.1): it may only sign its own DNSKEY RRset.
    RevokedKey,
    /// No key matches a signature's key tag and algorithm.
    NoMatchingKey,
    /// The signature does not verify with the key.
    BadSignature,
    /// The verifications allowed for the RRset were spent before one succeeded.
    TooManyVerifications,
}

impl Bogus {
    /// The reason in a few words, for logs and the Extended DNS Error text.
    pub fn text(self) -> &'static str {
        match self {
            Self::NoSignatures => "no RRSIG covers the RRset",
            Self::MalformedSignature => "malformed RRSIG",
            Self::MalformedKey => "malformed DNSKEY",
            Self::MalformedRecord => "malformed record in the RRset",
            Self::UnsupportedAlgorithm => "unsupported DNSSEC algorithm",
            Self::UnsupportedKeySize => "unsupported RSA key size",
            Self::TypeMismatch => "RRSIG covers another type",
            Self::LabelsTooMany => "RRSIG labels exceed the owner's",
            Self::WrongSigner => "signer is not an ancestor of the owner",
            Self::SignatureExpired => "signature expired",
            Self::SignatureNotYetValid => "signature not yet valid",
            Self::AlgorithmMismatch => "key algorithm differs from the signature's",
            Self::KeyTagMismatch => "key tag differs from the signature's",
            Self::BadProtocol => "DNSKEY protocol is not 3",
            Self::NotAZoneKey => "DNSKEY is not a zone key",
            Self::RevokedKey => "DNSKEY is revoked",
            Self::NoMatchingKey => "no DNSKEY matches the signature",
            Self::BadSignature => "signature does not verify",
            Self::TooManyVerifications => "too many signature verifications",
        }
    }
}

impl fmt::Display for Bogus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl std::error::Error for Bogus {}

impl From<KeyError> for Bogus {
    fn from(error: KeyError) -> Self {
        match error {
            KeyError::UnsupportedAlgorithm => Self::UnsupportedAlgorithm,
            KeyError::UnsupportedSize => Self::UnsupportedKeySize,
            KeyError::Malformed => Self::MalformedKey,
        }
    }
}

/// The fields of RRSIG RDATA (RFC 4034 §3.1), the signature borrowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rrsig<'a> {
    /// The type of the RRset signed.
    pub type_covered: u16,
    /// The algorithm (see `keys::algorithm`).
    pub algorithm: u8,
    /// Labels of the owner signed, neither root nor a leading `*` counted (§3.1.3).
    pub labels: u8,
    /// The TTL the RRset had in the zone; what the signature covers (§3.1.4).
    pub original_ttl: u32,
    /// Not valid after this time: seconds since 1970 modulo 2^32 (§3.1.5).
    pub expiration: u32,
    /// Not valid before this time: seconds since 1970 modulo 2^32 (§3.1.5).
    pub inception: u32,
    /// The key tag of the key that signed (§3.1.6).
    pub key_tag: u16,
    /// The signer's name, the zone's, lowercased wire form (§3.1.7).
    pub signer: Vec<u8>,
    /// The signature (§3.1.8).
    pub signature: &'a [u8],
}

/// Whether `a` is before `b` in RFC 1982 serial number arithmetic: `b - a` modulo 2^32 is
/// between 1 and 2^31 - 1. Times 2^31 apart are unordered (§3.2), neither before the
/// other.
fn serial_lt(a: u32, b: u32) -> bool {
    let ahead = b.wrapping_sub(a);
    ahead != 0 && ahead < 0x8000_0000
}

/// Keeps the first reason a verification failed.
fn note(first: &mut Option<Bogus>, error: Bogus) {
    if first.is_none() {
        *first = Some(error);
    }
}

/// The big-endian `u32` at `at` of `bytes` (which must hold it).
fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

impl<'a> Rrsig<'a> {
    /// Reads RRSIG RDATA: the fixed fields, an uncompressed signer's name, a signature of
    /// at least one octet.
    pub fn parse(rdata: &'a [u8]) -> Result<Self, Bogus> {
        let fixed = rdata.get(..RRSIG_FIXED).ok_or(Bogus::MalformedSignature)?;
        let signer_end = name_end(rdata, RRSIG_FIXED).ok_or(Bogus::MalformedSignature)?;
        let signature = &rdata[signer_end..];
        if signature.is_empty() {
            return Err(Bogus::MalformedSignature);
        }
        Ok(Self {
            type_covered: u16::from_be_bytes([fixed[0], fixed[1]]),
            algorithm: fixed[2],
            labels: fixed[3],
            original_ttl: be_u32(fixed, 4),
            expiration: be_u32(fixed, 8),
            inception: be_u32(fixed, 12),
            key_tag: u16::from_be_bytes([fixed[16], fixed[17]]),
            signer: rdata[RRSIG_FIXED..signer_end].to_ascii_lowercase(),
            signature,
        })
    }

    /// The checks of RFC 4035 §5.3.1 that concern the signature and `set` alone: it
    /// covers the set's type, with an algorithm we verify, its Labels field is at most the
    /// owner's, its signer is the owner or an ancestor, and `now` (seconds since 1970
    /// modulo 2^32) is within its validity period.
    ///
    /// Not checked, because the RDATA does not hold them: that the RRSIG record has the
    /// set's owner and class, and that the keys tried are the signer's (the caller passes
    /// the DNSKEY RRset found at [`Self::signer`]).
    pub fn check(&self, set: &RrSet, now: u32) -> Result<(), Bogus> {
        if self.type_covered != set.rtype {
            return Err(Bogus::TypeMismatch);
        }
        if !is_supported_algorithm(self.algorithm) {
            return Err(Bogus::UnsupportedAlgorithm);
        }
        let owner_labels = rrsig_labels(&set.owner).ok_or(Bogus::MalformedRecord)?;
        if usize::from(self.labels) > owner_labels {
            return Err(Bogus::LabelsTooMany);
        }
        if !is_at_or_below(&set.owner, &self.signer) {
            return Err(Bogus::WrongSigner);
        }
        self.check_validity(now)
    }

    /// Whether `now` lies within inception and expiration, both included, compared in RFC
    /// 1982 serial arithmetic (RFC 4034 §3.1.5) so that the 2106 wrap goes unnoticed.
    pub fn check_validity(&self, now: u32) -> Result<(), Bogus> {
        if serial_lt(self.expiration, now) {
            Err(Bogus::SignatureExpired)
        } else if serial_lt(now, self.inception) {
            Err(Bogus::SignatureNotYetValid)
        } else {
            Ok(())
        }
    }

    /// Whether the signature covers `owner` as an expansion of a wildcard (RFC 4035
    /// §5.3.4): the validator must then prove that no closer name exists.
    pub fn is_wildcard_expansion(&self, owner: &[u8]) -> bool {
        rrsig_labels(owner).is_some_and(|labels| usize::from(self.labels) < labels)
    }

    /// The longest an RRset this signature verified may be kept (RFC 4035 §5.3.3): its
    /// original TTL, and no longer than the signature stays valid after `now`.
    pub fn max_ttl(&self, now: u32) -> u32 {
        let remaining = if serial_lt(self.expiration, now) {
            0
        } else {
            self.expiration.wrapping_sub(now)
        };
        self.original_ttl.min(remaining)
    }
}

/// The checks of RFC 4035 §5.3.1 between a signature and a key: same algorithm, the tag
/// the signature names (`tag`, the key's), protocol 3, a zone key, not revoked unless it
/// signs its own DNSKEY RRset (RFC 5011 §2.1).
fn check_key(set: &RrSet, rrsig: &Rrsig<'_>, key: &Dnskey<'_>, tag: u16) -> Result<(), Bogus> {
    if key.algorithm != rrsig.algorithm {
        return Err(Bogus::AlgorithmMismatch);
    }
    if tag != rrsig.key_tag {
        return Err(Bogus::KeyTagMismatch);
    }
    if key.protocol != PROTOCOL {
        return Err(Bogus::BadProtocol);
    }
    if !key.is_zone_key() {
        return Err(Bogus::NotAZoneKey);
    }
    if key.is_revoked() && set.rtype != rtype::DNSKEY {
        return Err(Bogus::RevokedKey);
    }
    Ok(())
}

/// Verifies `signature` over `message` with `key`: one public-key operation, the only
/// costly step of validation.
fn verify_signature(key: &Dnskey<'_>, message: &[u8], signature: &[u8]) -> Result<(), Bogus> {
    match key.key()? {
        PublicKey::RsaSha256 { n, e } => verify_rsa(
            &RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            n,
            e,
            message,
            signature,
        ),
        PublicKey::RsaSha512 { n, e } => verify_rsa(
            &RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
            n,
            e,
            message,
            signature,
        ),
        // RFC 6605 §4: r || s, each the size of a coordinate.
        PublicKey::EcdsaP256(point) => {
            verify_fixed(&ECDSA_P256_SHA256_FIXED, &point, 64, message, signature)
        }
        PublicKey::EcdsaP384(point) => {
            verify_fixed(&ECDSA_P384_SHA384_FIXED, &point, 96, message, signature)
        }
        // RFC 8080 §4: R || S.
        PublicKey::Ed25519(raw) => verify_fixed(&ED25519, raw, 64, message, signature),
    }
}

/// RSASSA-PKCS1-v1_5 (RFC 3110 §3, RFC 5702 §3). A signature shorter than the modulus
/// (leading zero octets left out by its signer) is the same number: it is padded back.
fn verify_rsa(
    params: &RsaParameters,
    n: &[u8],
    e: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Bogus> {
    if signature.len() > n.len() {
        return Err(Bogus::MalformedSignature);
    }
    let signature: Cow<'_, [u8]> = if signature.len() == n.len() {
        Cow::Borrowed(signature)
    } else {
        let mut padded = vec![0; n.len() - signature.len()];
        padded.extend_from_slice(signature);
        Cow::Owned(padded)
    };
    RsaPublicKeyComponents { n, e }
        .verify(params, message, &signature)
        .map_err(|_| Bogus::BadSignature)
}

/// A signature of a fixed length `len` with `algorithm`.
fn verify_fixed(
    algorithm: &'static dyn VerificationAlgorithm,
    public_key: &[u8],
    len: usize,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Bogus> {
    if signature.len() != len {
        return Err(Bogus::MalformedSignature);
    }
    UnparsedPublicKey::new(algorithm, public_key)
        .verify(message, signature)
        .map_err(|_| Bogus::BadSignature)
}

/// Verifies that RRSIG RDATA `rrsig_rdata` is a valid signature of `set` by the key of
/// DNSKEY RDATA `dnskey_rdata`, at `now` (seconds since 1970 modulo 2^32): every check of
/// RFC 4035 §5.3 that the RDATA allows (see [`Rrsig::check`] for those left to the
/// caller), then the signature over the data of RFC 4034 §3.1.8.1.
pub fn verify_rrset(
    set: &RrSet,
    rrsig_rdata: &[u8],
    dnskey_rdata: &[u8],
    now: u32,
) -> Result<(), Bogus> {
    let rrsig = Rrsig::parse(rrsig_rdata)?;
    rrsig.check(set, now)?;
    let key = Dnskey::parse(dnskey_rdata).ok_or(Bogus::MalformedKey)?;
    check_key(set, &rrsig, &key, key_tag(dnskey_rdata))?;
    let data = signed_data(set, rrsig_rdata).ok_or(Bogus::MalformedRecord)?;
    verify_signature(&key, &data, rrsig.signature)
}

/// Verifies `set` with any of its RRSIGs (`rrsigs`, RDATA) made by any of `dnskeys`
/// (RDATA of the DNSKEY RRset at the signer's name), at `now`; returns the index in
/// `dnskeys` of the first key that verified a signature.
///
/// Each RRSIG is tried with the keys of its key tag and algorithm, in order. At most
/// `max_attempts` signatures are verified in all (the KeyTrap defence: pass
/// [`MAX_VERIFICATIONS`]); a key that fails a check without cryptography (flags,
/// protocol) costs none. The cheap work is bounded too: each key's tag is computed once,
/// and the canonical data only for an RRSIG about to be verified.
///
/// On failure, the first reason met ([`Bogus::NoMatchingKey`] when no key matched any
/// RRSIG, [`Bogus::NoSignatures`] when there was none), or
/// [`Bogus::TooManyVerifications`] when the budget ran out first.
pub fn verify_rrset_with_keys(
    set: &RrSet,
    rrsigs: &[Vec<u8>],
    dnskeys: &[Vec<u8>],
    now: u32,
    max_attempts: usize,
) -> Result<usize, Bogus> {
    if rrsigs.is_empty() {
        return Err(Bogus::NoSignatures);
    }
    let keys: Vec<Option<(Dnskey<'_>, u16)>> = dnskeys
        .iter()
        .map(|rdata| Dnskey::parse(rdata).map(|key| (key, key_tag(rdata))))
        .collect();
    let mut attempts = 0;
    let mut first_error = None;
    for rrsig_rdata in rrsigs {
        let checked =
            Rrsig::parse(rrsig_rdata).and_then(|rrsig| rrsig.check(set, now).map(|()| rrsig));
        let rrsig = match checked {
            Ok(rrsig) => rrsig,
            Err(error) => {
                note(&mut first_error, error);
                continue;
            }
        };
        let mut candidates = Vec::new();
        for (index, entry) in keys.iter().enumerate() {
            let Some((key, tag)) = entry else {
                continue;
            };
            if key.algorithm != rrsig.algorithm || *tag != rrsig.key_tag {
                continue;
            }
            match check_key(set, &rrsig, key, *tag) {
                Ok(()) => candidates.push((index, key)),
                Err(error) => {
                    note(&mut first_error, error);
                }
            }
        }
        if candidates.is_empty() {
            continue;
        }
        let data = signed_data(set, rrsig_rdata).ok_or(Bogus::MalformedRecord)?;
        for (index, key) in candidates {
            if attempts == max_attempts {
                return Err(Bogus::TooManyVerifications);
            }
            attempts += 1;
            match verify_signature(key, &data, rrsig.signature) {
                Ok(()) => return Ok(index),
                Err(error) => {
                    note(&mut first_error, error);
                }
            }
        }
    }
    Err(first_error.unwrap_or(Bogus::NoMatchingKey))
}

#[cfg(test)]
mod tests {
    use dns_wire::types::rtype::{A, MX};

    use super::super::keys::algorithm;
    use super::super::vectors::{self, Sig, Vector};
    use super::*;

    /// Every published vector, by name.
    fn published() -> Vec<(&'static str, Vector)> {
        vec![
            ("RFC 8080 6.1", vectors::ed25519_example1()),
            ("RFC 8080 6.2", vectors::ed25519_example2()),
            ("RFC 6605 6.1", vectors::p256()),
            ("RFC 6605 6.2", vectors::p384()),
            ("RFC 5702 6.2", vectors::rsasha512()),
            ("dnspython RSASHA256", vectors::rsasha256_wildcard()),
        ]
    }

    fn verify(vector: &Vector) -> Result<(), Bogus> {
        verify_rrset(&vector.set, &vector.rrsig, &vector.dnskey, vector.now)
    }

    /// The Ed25519 key of RFC 8080 §6.1 with its first four octets replaced, and an RRSIG
    /// of that example that names its tag (its signature no longer verifies).
    fn changed_key(flags: u16, protocol: u8) -> (Vec<u8>, Vec<u8>) {
        let vector = vectors::ed25519_example1();
        let mut key = vector.dnskey;
        let [high, low] = flags.to_be_bytes();
        key[..3].copy_from_slice(&[high, low, protocol]);
        let mut rrsig = vector.rrsig;
        rrsig[16..18].copy_from_slice(&key_tag(&key).to_be_bytes());
        (key, rrsig)
    }

    #[test]
    fn published_vectors_verify() {
        for (name, vector) in published() {
            assert_eq!(verify(&vector), Ok(()), "{name}");
        }
    }

    #[test]
    fn changed_data_or_signature_does_not_verify() {
        for (name, vector) in published() {
            let mut changed = vector.set.clone();
            changed.rdatas[0][1] ^= 1;
            let result = verify_rrset(&changed, &vector.rrsig, &vector.dnskey, vector.now);
            assert_eq!(result, Err(Bogus::BadSignature), "{name}: RDATA");
            let mut rrsig = vector.rrsig.clone();
            *rrsig.last_mut().unwrap() ^= 0x10;
            let result = verify_rrset(&vector.set, &rrsig, &vector.dnskey, vector.now);
            assert_eq!(result, Err(Bogus::BadSignature), "{name}: signature");
            // The original TTL is signed.
            let mut rrsig = vector.rrsig.clone();
            rrsig[7] ^= 1;
            let result = verify_rrset(&vector.set, &rrsig, &vector.dnskey, vector.now);
            assert_eq!(result, Err(Bogus::BadSignature), "{name}: TTL");
            // Another record in the set.
            let mut bigger = vector.set;
            let mut extra = bigger.rdatas[0].clone();
            extra[0] ^= 0x40;
            bigger.rdatas.push(extra);
            let result = verify_rrset(&bigger, &vector.rrsig, &vector.dnskey, vector.now);
            assert_eq!(result, Err(Bogus::BadSignature), "{name}: extra record");
        }
    }

    #[test]
    fn case_of_owner_and_rdata_names_does_not_matter() {
        let mut vector = vectors::ed25519_example1();
        vector.set.rdatas = vec![vectors::mx(10, "MAIL.Example.Com.")];
        vector.set.owner = vectors::name("Example.COM.");
        assert_eq!(verify(&vector), Ok(()));
        // The signer's name too (RFC 6840 §5.1).
        let mut rrsig = vector.rrsig;
        rrsig[RRSIG_FIXED + 1] = b'E';
        assert_eq!(
            verify_rrset(&vector.set, &rrsig, &vector.dnskey, vector.now),
            Ok(())
        );
    }

    #[test]
    fn validity_period_is_inclusive_and_enforced() {
        let vector = vectors::ed25519_example1();
        let at = |now| verify_rrset(&vector.set, &vector.rrsig, &vector.dnskey, now);
        assert_eq!(at(1_440_021_600), Ok(()));
        assert_eq!(at(1_440_021_601), Err(Bogus::SignatureExpired));
        assert_eq!(at(1_438_207_200), Ok(()));
        assert_eq!(at(1_438_207_199), Err(Bogus::SignatureNotYetValid));
        // Far in the past or future, as serial arithmetic sees it.
        assert_eq!(
            at(1_440_021_600 + 0x7fff_0000),
            Err(Bogus::SignatureExpired)
        );
        assert_eq!(at(0), Err(Bogus::SignatureNotYetValid));
    }

    #[test]
    fn validity_period_across_the_wrap_of_32_bit_time() {
        let rdata = Sig {
            inception: 0xffff_0000,
            expiration: 0x0001_0000,
            ..Sig::example()
        }
        .rdata();
        let rrsig = Rrsig::parse(&rdata).unwrap();
        assert_eq!(rrsig.check_validity(0xffff_8000), Ok(()));
        assert_eq!(rrsig.check_validity(0x0000_1000), Ok(()));
        assert_eq!(
            rrsig.check_validity(0x0002_0000),
            Err(Bogus::SignatureExpired)
        );
        assert_eq!(
            rrsig.check_validity(0xfffe_0000),
            Err(Bogus::SignatureNotYetValid)
        );
        assert_eq!(rrsig.max_ttl(0x0000_ff00), 0x100);
        assert_eq!(rrsig.max_ttl(0xffff_0000), 3600);
        assert_eq!(rrsig.max_ttl(0x0002_0000), 0);
        assert!(serial_lt(0xffff_fff0, 0x10));
        assert!(!serial_lt(0x10, 0xffff_fff0));
        assert!(!serial_lt(5, 5));
        // 2^31 apart: undefined (RFC 1982 §3.2), so neither is before the other.
        assert!(!serial_lt(0, 0x8000_0000));
        assert!(!serial_lt(0x8000_0000, 0));
    }

    #[test]
    fn rrsig_fields_are_read() {
        let vector = vectors::ed25519_example1();
        let rrsig = Rrsig::parse(&vector.rrsig).unwrap();
        assert_eq!(
            (
                rrsig.type_covered,
                rrsig.algorithm,
                rrsig.labels,
                rrsig.original_ttl
            ),
            (MX, algorithm::ED25519, 2, 3600)
        );
        assert_eq!(
            (rrsig.expiration, rrsig.inception, rrsig.key_tag),
            (1_440_021_600, 1_438_207_200, 3613)
        );
        assert_eq!(rrsig.signer, vectors::name("example.com."));
        assert_eq!(rrsig.signature.len(), 64);
        assert!(!rrsig.is_wildcard_expansion(&vector.set.owner));
        let wildcard = vectors::rsasha256_wildcard();
        let rrsig = Rrsig::parse(&wildcard.rrsig).unwrap();
        assert!(rrsig.is_wildcard_expansion(&wildcard.set.owner));
        assert!(!rrsig.is_wildcard_expansion(&vectors::name("*.example.org.")));
        assert_eq!(rrsig.max_ttl(wildcard.now), 300);
    }

    #[test]
    fn malformed_rrsigs_are_refused() {
        let vector = vectors::ed25519_example1();
        let refused = |rrsig: &[u8]| verify_rrset(&vector.set, rrsig, &vector.dnskey, vector.now);
        assert_eq!(refused(&vector.rrsig[..10]), Err(Bogus::MalformedSignature));
        // Signer's name but no signature.
        let unsigned = &vector.rrsig[..RRSIG_FIXED + 13];
        assert_eq!(refused(unsigned), Err(Bogus::MalformedSignature));
        // A compressed signer's name.
        let mut compressed = vector.rrsig[..RRSIG_FIXED].to_vec();
        compressed.extend_from_slice(&[0xc0, 0x0c]);
        compressed.extend_from_slice(&[0; 64]);
        assert_eq!(refused(&compressed), Err(Bogus::MalformedSignature));
        // An Ed25519 signature one octet short.
        let short = &vector.rrsig[..vector.rrsig.len() - 1];
        assert_eq!(refused(short), Err(Bogus::MalformedSignature));
    }

    #[test]
    fn signatures_that_cannot_cover_the_set() {
        let vector = vectors::ed25519_example1();
        let mut a = vector.set.clone();
        a.rtype = A;
        let check = |set: &RrSet| verify_rrset(set, &vector.rrsig, &vector.dnskey, vector.now);
        assert_eq!(check(&a), Err(Bogus::TypeMismatch));
        let mut elsewhere = vector.set.clone();
        elsewhere.owner = vectors::name("example.net.");
        assert_eq!(check(&elsewhere), Err(Bogus::WrongSigner));
        let mut above = vector.set.clone();
        above.owner = vectors::name("com.");
        assert_eq!(check(&above), Err(Bogus::LabelsTooMany));
        let mut broken = vector.set.clone();
        broken.owner = b"\x07example".to_vec();
        assert_eq!(check(&broken), Err(Bogus::MalformedRecord));
        for algorithm in [algorithm::RSASHA1, algorithm::ED448, 253] {
            let rdata = Sig {
                algorithm,
                ..Sig::example()
            }
            .rdata();
            let result = verify_rrset(&vector.set, &rdata, &vector.dnskey, vector.now);
            assert_eq!(result, Err(Bogus::UnsupportedAlgorithm), "{algorithm}");
        }
    }

    #[test]
    fn wildcard_expansions_verify_as_the_wildcard() {
        let vector = vectors::rsasha256_wildcard();
        let check = |owner: &str| {
            let mut set = vector.set.clone();
            set.owner = vectors::name(owner);
            verify_rrset(&set, &vector.rrsig, &vector.dnskey, vector.now)
        };
        assert_eq!(check("a.b.example.org."), Ok(()));
        assert_eq!(check("x.example.org."), Ok(()));
        assert_eq!(check("*.example.org."), Ok(()));
        // Labels 2 and an owner of 2 labels: the owner itself was signed, and was not.
        assert_eq!(check("example.org."), Err(Bogus::BadSignature));
        assert_eq!(check("org."), Err(Bogus::LabelsTooMany));
    }

    #[test]
    fn keys_that_do_not_fit_the_signature() {
        let ex1 = vectors::ed25519_example1();
        let ex2 = vectors::ed25519_example2();
        let with_key = |key: &[u8], rrsig: &[u8]| verify_rrset(&ex1.set, rrsig, key, ex1.now);
        assert_eq!(
            with_key(&ex2.dnskey, &ex1.rrsig),
            Err(Bogus::KeyTagMismatch)
        );
        assert_eq!(
            with_key(&vectors::p256().dnskey, &ex1.rrsig),
            Err(Bogus::AlgorithmMismatch)
        );
        assert_eq!(with_key(&[1, 1, 3], &ex1.rrsig), Err(Bogus::MalformedKey));
        let (key, rrsig) = changed_key(0x0001, 3);
        assert_eq!(with_key(&key, &rrsig), Err(Bogus::NotAZoneKey));
        let (key, rrsig) = changed_key(0x0101, 2);
        assert_eq!(with_key(&key, &rrsig), Err(Bogus::BadProtocol));
        let (key, rrsig) = changed_key(0x0181, 3);
        assert_eq!(with_key(&key, &rrsig), Err(Bogus::RevokedKey));
        // A revoked key may sign its own DNSKEY RRset: checked, then (here) not verified.
        let mut dnskeys = vectors::ed25519_example1().set;
        dnskeys.rtype = rtype::DNSKEY;
        dnskeys.rdatas = vec![key.clone()];
        let mut rrsig = rrsig;
        rrsig[..2].copy_from_slice(&rtype::DNSKEY.to_be_bytes());
        let result = verify_rrset(&dnskeys, &rrsig, &key, ex1.now);
        assert_eq!(result, Err(Bogus::BadSignature));
        // A key of the right tag and algorithm but the wrong length.
        let mut short = ex1.dnskey;
        short.pop();
        let mut rrsig = ex1.rrsig;
        rrsig[16..18].copy_from_slice(&key_tag(&short).to_be_bytes());
        assert_eq!(with_key(&short, &rrsig), Err(Bogus::MalformedKey));
    }

    #[test]
    fn rsa_keys_below_1024_bits_are_not_used() {
        // RFC 5702 §6.1's example is a 512-bit key.
        let vector = vectors::rsasha256_512_bit();
        assert_eq!(verify(&vector), Err(Bogus::UnsupportedKeySize));
    }

    #[test]
    fn the_key_that_verifies_is_found() {
        let ex1 = vectors::ed25519_example1();
        let ex2 = vectors::ed25519_example2();
        let keys = [ex2.dnskey, vectors::p256().dnskey, ex1.dnskey];
        let found = |rrsigs: &[Vec<u8>], keys: &[Vec<u8>], now| {
            verify_rrset_with_keys(&ex1.set, rrsigs, keys, now, MAX_VERIFICATIONS)
        };
        assert_eq!(
            found(std::slice::from_ref(&ex1.rrsig), &keys, ex1.now),
            Ok(2)
        );
        assert_eq!(
            found(std::slice::from_ref(&ex2.rrsig), &keys, ex1.now),
            Ok(0)
        );
        // A signature by a key that is not there, then one by a key that is.
        let both = [ex1.rrsig.clone(), ex2.rrsig];
        assert_eq!(found(&both, &keys[..1], ex1.now), Ok(0));
        assert_eq!(
            found(&both, &keys[1..2], ex1.now),
            Err(Bogus::NoMatchingKey)
        );
        assert_eq!(found(&[], &keys, ex1.now), Err(Bogus::NoSignatures));
        assert_eq!(
            found(&both, &keys, 1_440_021_601),
            Err(Bogus::SignatureExpired)
        );
        // An unusable signature first does not hide a good one after it.
        let both = [ex1.rrsig[..10].to_vec(), ex1.rrsig.clone()];
        assert_eq!(found(&both, &keys, ex1.now), Ok(2));
        // A failure is reported as the first reason met.
        let mut bad = ex1.rrsig;
        *bad.last_mut().unwrap() ^= 0x10;
        assert_eq!(found(&[bad], &keys, ex1.now), Err(Bogus::BadSignature));
    }

    /// Twenty keys with the key tag and algorithm of RFC 8080 §6.1's: its own last, and
    /// before it nineteen made by swapping two octets of its public key two apart (which
    /// leaves the tag's sum as it is).
    fn colliding_keys() -> Vec<Vec<u8>> {
        let real = vectors::ed25519_example1().dnskey;
        let mut keys: Vec<Vec<u8>> = (4..real.len() - 2)
            .filter(|&at| real[at] != real[at + 2])
            .map(|at| {
                let mut key = real.clone();
                key.swap(at, at + 2);
                key
            })
            .take(19)
            .collect();
        keys.push(real);
        keys
    }

    #[test]
    fn colliding_key_tags_cost_at_most_the_budget() {
        let vector = vectors::ed25519_example1();
        let keys = colliding_keys();
        assert_eq!(keys.len(), 20);
        for key in &keys {
            assert_eq!(key_tag(key), 3613);
        }
        let rrsigs = [vector.rrsig];
        let with = |keys: &[Vec<u8>], max| {
            verify_rrset_with_keys(&vector.set, &rrsigs, keys, vector.now, max)
        };
        // Nineteen wrong keys before the right one: twenty verifications are needed.
        assert_eq!(
            with(&keys, MAX_VERIFICATIONS),
            Err(Bogus::TooManyVerifications)
        );
        assert_eq!(with(&keys, 19), Err(Bogus::TooManyVerifications));
        assert_eq!(with(&keys, 20), Ok(19));
        assert_eq!(with(&keys, 0), Err(Bogus::TooManyVerifications));
        // Without the right one: the budget, or after every key the signature's failure.
        assert_eq!(
            with(&keys[..19], MAX_VERIFICATIONS),
            Err(Bogus::TooManyVerifications)
        );
        assert_eq!(with(&keys[..19], 19), Err(Bogus::BadSignature));
        // The right one first: one verification is enough.
        let mut first = keys;
        first.rotate_right(1);
        assert_eq!(with(&first, 1), Ok(0));
    }

    #[test]
    fn many_signatures_share_one_budget() {
        let vector = vectors::ed25519_example1();
        let mut bad = vector.rrsig.clone();
        *bad.last_mut().unwrap() ^= 0x10;
        let mut rrsigs = vec![bad; 10];
        rrsigs.push(vector.rrsig);
        let keys = [vector.dnskey];
        let with = |max| verify_rrset_with_keys(&vector.set, &rrsigs, &keys, vector.now, max);
        assert_eq!(with(MAX_VERIFICATIONS), Err(Bogus::TooManyVerifications));
        assert_eq!(with(10), Err(Bogus::TooManyVerifications));
        assert_eq!(with(11), Ok(0));
    }

    #[test]
    fn reasons_have_texts() {
        assert_eq!(Bogus::SignatureExpired.to_string(), "signature expired");
        assert_eq!(Bogus::from(KeyError::Malformed), Bogus::MalformedKey);
    }
}
