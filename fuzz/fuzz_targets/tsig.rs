//! TSIG verification of any message (RFC 8945): a request against the configured keys, and
//! a response against a request's MAC; neither may panic, and only a message signed with
//! the key can pass.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(key) = dns_tsig::Key::new("xfr-key.", dns_tsig::Algorithm::HmacSha256, vec![7; 32])
    else {
        return;
    };
    let now = 1_765_000_000;
    let _ = dns_tsig::verify_request(data, std::slice::from_ref(&key), now);
    let mut verifier = dns_tsig::ResponseVerifier::new(key, vec![1; 32]);
    let _ = verifier.verify(data, now);
});
