//! Any bytes as a new version of a fixed zone's file, read against it as a reload reads
//! it: what the reload patches, a build of the same text must serve too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dns_zone::fuzz::reload_anything(data);
});
