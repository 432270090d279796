//! A catalog zone (RFC 9432) as a consumer reads it: any zone text under catalog.invalid.,
//! loaded, then its members read; neither may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((zone, _)) = dns_zone::load_zone_str(text, b"\x07catalog\x07invalid\x00") {
        let _ = dns_zone::catalog_members(&zone);
    }
});
