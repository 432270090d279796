//! Keys, MAC computation, and the request/response signing and verification rules of
//! RFC 8945 §4–5.

use core::fmt;

use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};

use crate::message::{CLASS_ANY, TSIG, TsigRecord, find_tsig, without_tsig};

/// RFC 8945 §10: a fudge of 300 seconds is recommended.
const FUDGE: u16 = 300;

/// TSIG error codes (RFC 8945 §4.2 and the extended RCODE space).
mod code {
    pub(super) const BADSIG: u16 = 16;
    pub(super) const BADKEY: u16 = 17;
    pub(super) const BADTIME: u16 = 18;
}

/// Supported MAC algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// hmac-sha256.
    HmacSha256,
    /// hmac-sha512.
    HmacSha512,
}

impl Algorithm {
    /// The algorithm's name in wire form.
    pub fn wire_name(self) -> &'static [u8] {
        match self {
            Self::HmacSha256 => b"\x0bhmac-sha256\x00",
            Self::HmacSha512 => b"\x0bhmac-sha512\x00",
        }
    }

    /// The algorithm named `text` ("hmac-sha256", "hmac-sha512").
    pub fn from_text(text: &str) -> Option<Self> {
        match text.trim_end_matches('.').to_ascii_lowercase().as_str() {
            "hmac-sha256" => Some(Self::HmacSha256),
            "hmac-sha512" => Some(Self::HmacSha512),
            _ => None,
        }
    }

    fn mac(self, secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Self::HmacSha256 => {
                let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
                    .expect("HMAC takes any key length");
                parts.iter().for_each(|p| mac.update(p));
                mac.finalize().into_bytes().to_vec()
            }
            Self::HmacSha512 => {
                let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(secret)
                    .expect("HMAC takes any key length");
                parts.iter().for_each(|p| mac.update(p));
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn verify(self, secret: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
        match self {
            Self::HmacSha256 => {
                let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
                    return false;
                };
                parts.iter().for_each(|p| mac.update(p));
                mac.verify_slice(expected).is_ok()
            }
            Self::HmacSha512 => {
                let Ok(mut mac) = <Hmac<Sha512> as Mac>::new_from_slice(secret) else {
                    return false;
                };
                parts.iter().for_each(|p| mac.update(p));
                mac.verify_slice(expected).is_ok()
            }
        }
    }
}

/// A shared secret with its name.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    name: Vec<u8>,
    algorithm: Algorithm,
    secret: Vec<u8>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        write!(
            f,
            "Key({}, {:?})",
            dns_wire::name_to_text(&self.name),
            self.algorithm
        )
    }
}

/// Why a key could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// The name is not a valid domain name.
    BadName,
    /// The secret is empty.
    EmptySecret,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadName => "key name is not a domain name",
            Self::EmptySecret => "key secret is empty",
        })
    }
}

impl std::error::Error for KeyError {}

impl Key {
    /// A key named `name` (text, e.g. "xfr-key.") with a decoded secret.
    pub fn new(name: &str, algorithm: Algorithm, secret: Vec<u8>) -> Result<Self, KeyError> {
        let mut wire = dns_wire::name_from_text(name).map_err(|_| KeyError::BadName)?;
        dns_wire::lowercase_in_place(&mut wire);
        if secret.is_empty() {
            return Err(KeyError::EmptySecret);
        }
        Ok(Self {
            name: wire,
            algorithm,
            secret,
        })
    }

    /// The key's name, lowercased wire form.
    pub fn name(&self) -> &[u8] {
        &self.name
    }
}

/// Why a signed message was not accepted (maps to the TSIG error of RFC 8945 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsigError {
    /// A TSIG record is malformed or not last: FORMERR.
    Malformed,
    /// No TSIG record where one is required.
    Unsigned,
    /// Unknown key or algorithm: BADKEY.
    BadKey,
    /// The MAC does not verify: BADSIG.
    BadSig,
    /// Signed outside the fudge window: BADTIME.
    BadTime,
    /// The peer reported this TSIG error.
    PeerError(u16),
}

impl TsigError {
    /// The TSIG error code to answer with, when there is one.
    pub fn code(self) -> Option<u16> {
        match self {
            Self::BadKey => Some(code::BADKEY),
            Self::BadSig => Some(code::BADSIG),
            Self::BadTime => Some(code::BADTIME),
            _ => None,
        }
    }
}

impl fmt::Display for TsigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("malformed TSIG record"),
            Self::Unsigned => f.write_str("message not signed"),
            Self::BadKey => f.write_str("unknown TSIG key (BADKEY)"),
            Self::BadSig => f.write_str("TSIG signature does not verify (BADSIG)"),
            Self::BadTime => f.write_str("TSIG time outside the fudge window (BADTIME)"),
            Self::PeerError(code) => write!(f, "peer reported TSIG error {code}"),
        }
    }
}

impl std::error::Error for TsigError {}

/// The TSIG variables of RFC 8945 §4.3.3 (all of them, or only the timers).
fn variables(
    key: &Key,
    time_signed: u64,
    fudge: u16,
    error: u16,
    other: &[u8],
    timers_only: bool,
) -> Vec<u8> {
    let mut v = Vec::with_capacity(key.name.len() + 32);
    if !timers_only {
        v.extend_from_slice(&key.name);
        v.extend_from_slice(&CLASS_ANY.to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes());
        v.extend_from_slice(key.algorithm.wire_name());
    }
    v.extend_from_slice(&time_signed.to_be_bytes()[2..]);
    v.extend_from_slice(&fudge.to_be_bytes());
    if !timers_only {
        v.extend_from_slice(&error.to_be_bytes());
        v.extend_from_slice(&(other.len() as u16).to_be_bytes());
        v.extend_from_slice(other);
    }
    v
}

/// Appends a TSIG record with `mac` to `msg` and increments ARCOUNT.
fn append_tsig(
    msg: &mut Vec<u8>,
    key: &Key,
    time_signed: u64,
    mac: &[u8],
    error: u16,
    other: &[u8],
) {
    let algorithm = key.algorithm.wire_name();
    append_tsig_named(msg, &key.name, algorithm, time_signed, mac, error, other);
}

/// [`append_tsig`] with the key and algorithm given by name (an unknown key's error).
fn append_tsig_named(
    msg: &mut Vec<u8>,
    key_name: &[u8],
    algorithm: &[u8],
    time_signed: u64,
    mac: &[u8],
    error: u16,
    other: &[u8],
) {
    let original_id = [msg[0], msg[1]];
    msg.extend_from_slice(key_name);
    msg.extend_from_slice(&TSIG.to_be_bytes());
    msg.extend_from_slice(&CLASS_ANY.to_be_bytes());
    msg.extend_from_slice(&0u32.to_be_bytes());
    let rdlen = algorithm.len() + 10 + mac.len() + 6 + other.len();
    msg.extend_from_slice(&(rdlen as u16).to_be_bytes());
    msg.extend_from_slice(algorithm);
    msg.extend_from_slice(&time_signed.to_be_bytes()[2..]);
    msg.extend_from_slice(&FUDGE.to_be_bytes());
    msg.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    msg.extend_from_slice(mac);
    msg.extend_from_slice(&original_id);
    msg.extend_from_slice(&error.to_be_bytes());
    msg.extend_from_slice(&(other.len() as u16).to_be_bytes());
    msg.extend_from_slice(other);
    let arcount = u16::from_be_bytes([msg[10], msg[11]]) + 1;
    msg[10..12].copy_from_slice(&arcount.to_be_bytes());
}

//= https://www.rfc-editor.org/rfc/rfc8945#section-5.3.2
//# ... MUST NOT send back a signed error message.
//= https://www.rfc-editor.org/rfc/rfc8945#section-5.2.3
//# A response indicating a BADTIME error MUST be signed by the same key as the request.
/// Appends the TSIG record of an error response (RCODE NOTAUTH, set by the caller) to
/// `response`, for a `request` that failed [`verify_request`] with `error`: BADKEY and
/// BADSIG unsigned, with the request's key and algorithm names; BADTIME signed with the
/// request's key, the request's Time Signed and our time in Other Data (RFC 8945 §5.2.3),
/// so that the client can verify it and see the clock difference. Other errors (malformed,
/// unsigned) get no TSIG record.
pub fn append_error_tsig(
    response: &mut Vec<u8>,
    request: &[u8],
    keys: &[Key],
    error: TsigError,
    now: u64,
) {
    let Some(code) = error.code() else { return };
    let Ok(Some(tsig)) = find_tsig(request) else {
        return;
    };
    if error != TsigError::BadTime {
        append_tsig_named(
            response,
            &tsig.key_name,
            &tsig.algorithm,
            now,
            &[],
            code,
            &[],
        );
        return;
    }
    let Some(key) = key_of(keys, &tsig) else {
        return;
    };
    let other = now.to_be_bytes()[2..].to_vec();
    let prior_len = (tsig.mac.len() as u16).to_be_bytes();
    let vars = variables(key, tsig.time_signed, FUDGE, code, &other, false);
    let mac = key
        .algorithm
        .mac(&key.secret, &[&prior_len, &tsig.mac, response, &vars]);
    append_tsig(response, key, tsig.time_signed, &mac, code, &other);
}

/// Signs a request in place; returns its MAC (needed to verify the response).
pub fn sign_request(msg: &mut Vec<u8>, key: &Key, now: u64) -> Vec<u8> {
    let vars = variables(key, now, FUDGE, 0, &[], false);
    let mac = key.algorithm.mac(&key.secret, &[msg, &vars]);
    append_tsig(msg, key, now, &mac, 0, &[]);
    mac
}

/// The key a TSIG record names (key name and algorithm), if we have it.
fn key_of<'k>(keys: &'k [Key], tsig: &TsigRecord) -> Option<&'k Key> {
    keys.iter()
        .find(|k| k.name == tsig.key_name && k.algorithm.wire_name() == tsig.algorithm.as_slice())
}

fn check_time(tsig: &TsigRecord, now: u64) -> Result<(), TsigError> {
    if now.abs_diff(tsig.time_signed) > u64::from(tsig.fudge) {
        return Err(TsigError::BadTime);
    }
    Ok(())
}

/// Verifies a signed request against `keys`. Returns the key used and the request's MAC
/// (the response is signed with both), or `Ok(None)` when the request is unsigned.
pub fn verify_request<'k>(
    msg: &[u8],
    keys: &'k [Key],
    now: u64,
) -> Result<Option<(&'k Key, Vec<u8>)>, TsigError> {
    let tsig = find_tsig(msg).map_err(|_| TsigError::Malformed)?;
    let Some(tsig) = tsig else { return Ok(None) };
    let key = key_of(keys, &tsig).ok_or(TsigError::BadKey)?;
    let bare = without_tsig(msg, &tsig);
    let vars = variables(
        key,
        tsig.time_signed,
        tsig.fudge,
        tsig.error,
        &tsig.other,
        false,
    );
    if !key
        .algorithm
        .verify(&key.secret, &[&bare, &vars], &tsig.mac)
    {
        return Err(TsigError::BadSig);
    }
    check_time(&tsig, now)?;
    Ok(Some((key, tsig.mac)))
}

/// Signs the messages of one response, in order (every message is signed, §5.3.1).
#[derive(Debug)]
pub struct ResponseSigner {
    key: Key,
    prior_mac: Vec<u8>,
    first: bool,
}

impl ResponseSigner {
    /// A signer for the response to a request that carried `request_mac`.
    pub fn new(key: Key, request_mac: Vec<u8>) -> Self {
        Self {
            key,
            prior_mac: request_mac,
            first: true,
        }
    }

    /// Signs the next message of the response in place.
    pub fn sign(&mut self, msg: &mut Vec<u8>, now: u64) {
        let prior_len = (self.prior_mac.len() as u16).to_be_bytes();
        let vars = variables(&self.key, now, FUDGE, 0, &[], !self.first);
        let mac = self
            .key
            .algorithm
            .mac(&self.key.secret, &[&prior_len, &self.prior_mac, msg, &vars]);
        append_tsig(msg, &self.key, now, &mac, 0, &[]);
        self.prior_mac = mac;
        self.first = false;
    }
}

/// Verifies the messages of one response to our signed request, in order.
#[derive(Debug)]
pub struct ResponseVerifier {
    key: Key,
    prior_mac: Vec<u8>,
    first: bool,
    unsigned: Vec<u8>,
    unsigned_count: usize,
}

/// RFC 8945 §5.3.1: a client must accept up to 99 unsigned messages between signed ones.
const MAX_UNSIGNED: usize = 99;

impl ResponseVerifier {
    /// A verifier for the response to a request we signed with `key`, whose MAC was
    /// `request_mac`.
    pub fn new(key: Key, request_mac: Vec<u8>) -> Self {
        Self {
            key,
            prior_mac: request_mac,
            first: true,
            unsigned: Vec::new(),
            unsigned_count: 0,
        }
    }

    /// Checks the next message of the response.
    pub fn verify(&mut self, msg: &[u8], now: u64) -> Result<(), TsigError> {
        let tsig = find_tsig(msg).map_err(|_| TsigError::Malformed)?;
        let Some(tsig) = tsig else {
            if self.first || self.unsigned_count >= MAX_UNSIGNED {
                return Err(TsigError::Unsigned);
            }
            self.unsigned.extend_from_slice(msg);
            self.unsigned_count += 1;
            return Ok(());
        };
        if tsig.key_name != self.key.name || tsig.algorithm != self.key.algorithm.wire_name() {
            return Err(TsigError::BadKey);
        }
        // An unsigned error (BADKEY, BADSIG) cannot be checked; a signed one (BADTIME) is,
        // and is then reported as the peer's error.
        if tsig.error != 0 && tsig.mac.is_empty() {
            return Err(TsigError::PeerError(tsig.error));
        }
        let bare = without_tsig(msg, &tsig);
        let prior_len = (self.prior_mac.len() as u16).to_be_bytes();
        let vars = variables(
            &self.key,
            tsig.time_signed,
            tsig.fudge,
            tsig.error,
            &tsig.other,
            !self.first,
        );
        let parts: [&[u8]; 5] = [&prior_len, &self.prior_mac, &self.unsigned, &bare, &vars];
        if !self
            .key
            .algorithm
            .verify(&self.key.secret, &parts, &tsig.mac)
        {
            return Err(TsigError::BadSig);
        }
        if tsig.error != 0 {
            return Err(TsigError::PeerError(tsig.error));
        }
        check_time(&tsig, now)?;
        self.prior_mac = tsig.mac;
        self.unsigned.clear();
        self.unsigned_count = 0;
        self.first = false;
        Ok(())
    }
}

impl ResponseVerifier {
    /// Ends a response: its last message must have been signed (RFC 8945 §5.3.1: the
    /// first and the last message carry a TSIG; a forger could otherwise append unsigned
    /// messages after the last signed one).
    pub fn finish(&self) -> Result<(), TsigError> {
        if self.first || self.unsigned_count > 0 {
            return Err(TsigError::Unsigned);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &[u8]) -> Key {
        Key::new("xfr-key.", Algorithm::HmacSha256, secret.to_vec()).unwrap()
    }

    fn message(id: u16) -> Vec<u8> {
        let mut msg = vec![(id >> 8) as u8, id as u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        msg.extend_from_slice(b"\x07example\x00\x00\xfc\x00\x01");
        msg
    }

    #[test]
    fn a_response_must_end_signed() {
        let k = key(b"0123456789abcdef");
        let mut request = message(12);
        let request_mac = sign_request(&mut request, &k, 1_000_000);
        let mut signer = ResponseSigner::new(k.clone(), request_mac.clone());
        let mut first = message(12);
        signer.sign(&mut first, 1_000_000);
        let mut verifier = ResponseVerifier::new(k, request_mac);
        assert_eq!(
            verifier.finish(),
            Err(TsigError::Unsigned),
            "nothing verified yet"
        );
        verifier.verify(&first, 1_000_000).unwrap();
        verifier.finish().unwrap();
        // An unsigned message after the last signed one: not a complete response.
        verifier.verify(&message(12), 1_000_000).unwrap();
        assert_eq!(verifier.finish(), Err(TsigError::Unsigned));
    }

    #[test]
    fn error_responses_carry_the_tsig_error() {
        let k = key(b"0123456789abcdef");
        let now = 1_000_000;
        // BADTIME: signed, our time in Other Data, and the client can verify it.
        let mut request = message(9);
        let request_mac = sign_request(&mut request, &k, now - 3600);
        let err = verify_request(&request, std::slice::from_ref(&k), now).unwrap_err();
        assert_eq!(err, TsigError::BadTime);
        let mut response = message(9);
        response[2] |= 0x80;
        append_error_tsig(&mut response, &request, std::slice::from_ref(&k), err, now);
        let tsig = find_tsig(&response).unwrap().unwrap();
        assert_eq!((tsig.error, tsig.time_signed), (18, now - 3600));
        assert_eq!(tsig.other, now.to_be_bytes()[2..]);
        let mut verifier = ResponseVerifier::new(k.clone(), request_mac.clone());
        assert_eq!(
            verifier.verify(&response, now),
            Err(TsigError::PeerError(18))
        );
        let mut tampered = response.clone();
        tampered[3] ^= 1;
        let mut verifier = ResponseVerifier::new(k.clone(), request_mac);
        assert_eq!(verifier.verify(&tampered, now), Err(TsigError::BadSig));
        // BADSIG: unsigned, the request's key and algorithm names.
        let wrong = key(b"fedcba9876543210");
        let mut request = message(10);
        sign_request(&mut request, &wrong, now);
        let err = verify_request(&request, std::slice::from_ref(&k), now).unwrap_err();
        let mut response = message(10);
        append_error_tsig(&mut response, &request, std::slice::from_ref(&k), err, now);
        let tsig = find_tsig(&response).unwrap().unwrap();
        assert_eq!((tsig.error, tsig.mac.len()), (16, 0));
        assert_eq!(tsig.key_name, k.name);
        // Malformed or unsigned requests get no TSIG record.
        let mut response = message(11);
        append_error_tsig(&mut response, &message(11), &[k], TsigError::Unsigned, now);
        assert_eq!(find_tsig(&response).unwrap(), None);
    }

    #[test]
    fn request_and_multi_message_response_verify() {
        let k = key(b"0123456789abcdef");
        let mut request = message(7);
        let request_mac = sign_request(&mut request, &k, 1_000_000);
        let (used, mac) = verify_request(&request, std::slice::from_ref(&k), 1_000_010)
            .unwrap()
            .unwrap();
        assert_eq!(used, &k);
        assert_eq!(mac, request_mac);
        let mut signer = ResponseSigner::new(k.clone(), mac);
        let mut verifier = ResponseVerifier::new(k, request_mac);
        for i in 0..3u16 {
            let mut response = message(7);
            response[2] = 0x84;
            response.push(i as u8); // distinct bodies (not valid DNS, but MACs don't care)
            response.pop();
            signer.sign(&mut response, 1_000_020);
            verifier.verify(&response, 1_000_020).unwrap();
        }
    }

    #[test]
    fn test_8945_5_2_bad_key_bad_sig_bad_time() {
        let k = key(b"0123456789abcdef");
        let other = Key::new("other.", Algorithm::HmacSha256, b"x".to_vec()).unwrap();
        let mut request = message(1);
        sign_request(&mut request, &k, 500);
        assert_eq!(
            verify_request(&request, std::slice::from_ref(&other), 500),
            Err(TsigError::BadKey)
        );
        let wrong = key(b"fedcba9876543210");
        assert_eq!(
            verify_request(&request, std::slice::from_ref(&wrong), 500),
            Err(TsigError::BadSig)
        );
        assert_eq!(
            verify_request(&request, std::slice::from_ref(&k), 500 + 301),
            Err(TsigError::BadTime)
        );
        let mut tampered = request.clone();
        tampered[13] ^= 0x20;
        assert_eq!(
            verify_request(&tampered, std::slice::from_ref(&k), 500),
            Err(TsigError::BadSig)
        );
        assert_eq!(
            verify_request(&message(1), std::slice::from_ref(&k), 500),
            Ok(None)
        );
    }

    #[test]
    fn responses_must_be_signed_and_chained() {
        let k = key(b"secret-secret");
        let mut request = message(3);
        let request_mac = sign_request(&mut request, &k, 10);
        let mut verifier = ResponseVerifier::new(k.clone(), request_mac.clone());
        assert_eq!(verifier.verify(&message(3), 10), Err(TsigError::Unsigned));
        // A response signed over the wrong request MAC fails.
        let mut signer = ResponseSigner::new(k.clone(), vec![0; 32]);
        let mut response = message(3);
        signer.sign(&mut response, 10);
        let mut verifier = ResponseVerifier::new(k, request_mac);
        assert_eq!(verifier.verify(&response, 10), Err(TsigError::BadSig));
    }
}
