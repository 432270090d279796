//! Any bytes as a BGP stream: every framed message parses without panicking, and what
//! parses re-emits and re-parses to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    bgp_wire::fuzz::fuzz_parse(data);
});
