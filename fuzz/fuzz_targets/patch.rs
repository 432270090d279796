//! A difference read from any bytes, applied to a fixed zone by patch and by build: what
//! the patch accepts, the build must accept too, with the same zone as the result.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dns_zone::fuzz::patch_anything(data);
});
