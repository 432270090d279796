//! TSIG (RFC 8945): signing and verifying DNS messages with a shared secret, for zone
//! transfers and NOTIFY between a primary and its secondaries.
//!
//! ```text
//!  request:   MAC = HMAC(key, message-without-TSIG ‖ TSIG variables)
//!  response:  MAC = HMAC(key, request MAC ‖ message-without-TSIG ‖ TSIG variables)
//!  next msgs: MAC = HMAC(key, previous MAC ‖ message-without-TSIG ‖ timers)   (TCP, §5.3.1)
//! ```
//! HMAC-SHA256 and HMAC-SHA512 (RustCrypto's `hmac` and `sha2`; MACs are compared in
//! constant time by `hmac`). Time comes in as seconds since the epoch; nothing here reads
//! the clock or does I/O.
#![forbid(unsafe_code)]

mod message;
mod sign;

pub use message::{MalformedTsig, TsigRecord, find_tsig};
pub use sign::{
    Algorithm, Key, KeyError, ResponseSigner, ResponseVerifier, TsigError, append_error_tsig,
    sign_request, verify_request,
};
