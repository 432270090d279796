//! The BGP session state machine fed any byte stream on an open connection (OPEN, UPDATEs
//! with any attributes, NOTIFICATIONs, garbage), interleaved with timeouts: it must not
//! panic, and whatever it sends must be well-formed BGP messages.
#![no_main]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bgp_session::{Command, PeerConfig, PeerSettings, Session};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let settings = PeerSettings::new(65000, 65001, Ipv4Addr::new(192, 0, 2, 1));
    let Ok(config) = PeerConfig::try_from(settings) else {
        return;
    };
    let mut now = Instant::now();
    let mut session = Session::new(config, now);
    session.handle_command(now, Command::Start);
    session.handle_command(now, Command::TcpConnected);
    let mut out = Vec::new();
    // Chunks of at most 64 octets, a second of time between them.
    for chunk in data.chunks(64) {
        session.handle_bytes(now, chunk);
        now += Duration::from_secs(1);
        session.handle_timeout(now);
        while session.poll_event().is_some() {}
        out.clear();
        while session.poll_transmit(&mut out) {}
        let mut rest = out.as_slice();
        while !rest.is_empty() {
            assert!(rest.len() >= 19 && rest[..16] == [0xff; 16], "a BGP header");
            let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            assert!((19..=4096).contains(&len) && len <= rest.len(), "a message length");
            rest = &rest[len..];
        }
    }
});
