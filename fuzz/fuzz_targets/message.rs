//! Any bytes as a query, over UDP and TCP: `respond` must not panic, and whatever it sends
//! must be a well-formed response to the same ID.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dns_auth::fuzz::respond_to_anything(data);
});
