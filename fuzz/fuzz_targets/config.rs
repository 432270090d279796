//! The TOML configuration loader: any text, loaded against a directory that does not exist
//! (so a named file is a read error, never a read of this machine's files). It returns a
//! configuration or an error whose message names something; it never panics.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(err) = anyns::config::Config::from_toml(text, Path::new("/nonexistent/anyns-fuzz")) {
        assert!(!err.to_string().is_empty());
    }
});
