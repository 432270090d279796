//! How a signed zone proves nonexistence: the [`Denial`] a zone carries (none, NSEC, or
//! NSEC3 with its [`Nsec3Param`]) and the NSEC3 owner hash (RFC 5155 §5). `zone` stores it,
//! `dnssec` builds and searches it.

use sha1::{Digest, Sha1};

/// Octets of a SHA-1 hash, the only NSEC3 hash algorithm (RFC 5155 §11).
pub const NSEC3_HASH_LEN: usize = 20;
/// Characters of a SHA-1 hash in base32hex (RFC 4648 §7): the first label of an NSEC3 owner.
pub const NSEC3_LABEL_LEN: usize = 32;

/// The NSEC3 parameters of a zone, from its NSEC3PARAM record (RFC 5155 §4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nsec3Param {
    /// Hash algorithm (1: SHA-1).
    pub algorithm: u8,
    /// Additional hash iterations.
    pub iterations: u16,
    /// Salt appended before each hash.
    pub salt: Box<[u8]>,
}

impl Nsec3Param {
    /// Reads the parameters from NSEC3PARAM or NSEC3 RDATA (both start with algorithm,
    /// flags, iterations, salt length and salt).
    pub fn from_rdata(rdata: &[u8]) -> Option<Self> {
        let &[algorithm, _flags, i0, i1, salt_len, ..] = rdata else {
            return None;
        };
        let salt = rdata.get(5..5 + salt_len as usize)?;
        Some(Self {
            algorithm,
            iterations: u16::from_be_bytes([i0, i1]),
            salt: salt.into(),
        })
    }

    /// Whether NSEC3 RDATA carries these parameters.
    pub(crate) fn matches(&self, nsec3: &[u8]) -> bool {
        Self::from_rdata(nsec3).is_some_and(|p| p == *self)
    }

    //= https://www.rfc-editor.org/rfc/rfc5155#section-5
    //# IH(salt, x, 0) = H(x || salt), and
    //# IH(salt, x, k) = H(IH(salt, x, k-1) || salt), if k > 0
    /// The hash of `name` (lowercased wire form), without allocating.
    pub fn hash(&self, name: &[u8]) -> [u8; NSEC3_HASH_LEN] {
        let mut hasher = Sha1::new();
        hasher.update(name);
        hasher.update(&self.salt);
        let mut digest: [u8; NSEC3_HASH_LEN] = hasher.finalize().into();
        for _ in 0..self.iterations {
            let mut hasher = Sha1::new();
            hasher.update(digest);
            hasher.update(&self.salt);
            digest = hasher.finalize().into();
        }
        digest
    }

    /// The first label of the NSEC3 owner for `name`: its hash in lowercase base32hex.
    pub fn hashed_label(&self, name: &[u8]) -> [u8; NSEC3_LABEL_LEN] {
        base32hex(&self.hash(name))
    }
}

/// How a zone proves that names and types do not exist.
#[derive(Debug)]
#[non_exhaustive]
pub enum Denial {
    /// Not signed, or no chain: negative answers carry only the SOA.
    None,
    /// NSEC (RFC 4034 §4): node indices of NSEC owners in canonical order.
    Nsec {
        /// Node indices, canonical order of their names.
        order: Box<[u32]>,
    },
    /// NSEC3 (RFC 5155): the parameters and the NSEC3 owners in hash order.
    Nsec3 {
        /// The zone's parameters.
        param: Nsec3Param,
        /// Node indices of NSEC3 owners, in order of their hashed labels.
        order: Box<[u32]>,
    },
}

impl Denial {
    /// Heap bytes held.
    pub(crate) fn heap_size(&self) -> usize {
        match self {
            Self::None => 0,
            Self::Nsec { order } => order.len() * 4,
            Self::Nsec3 { param, order } => param.salt.len() + order.len() * 4,
        }
    }
}

const BASE32HEX: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// Lowercase base32hex without padding (RFC 4648 §7) of a SHA-1 hash.
pub(crate) fn base32hex(hash: &[u8; NSEC3_HASH_LEN]) -> [u8; NSEC3_LABEL_LEN] {
    let mut out = [0u8; NSEC3_LABEL_LEN];
    for (group, chunk) in hash.chunks_exact(5).enumerate() {
        let bits = chunk
            .iter()
            .fold(0u64, |acc, &octet| (acc << 8) | octet as u64);
        for k in 0..8 {
            out[group * 8 + k] = BASE32HEX[((bits >> (35 - 5 * k)) & 31) as usize];
        }
    }
    out
}
