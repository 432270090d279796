//! Any bytes as BFD Control packets: parsing never panics, what parses round-trips, and a
//! session fed the bytes never panics nor sends a malformed packet.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    bfd::fuzz::fuzz_parse(std::time::Instant::now(), data);
});
