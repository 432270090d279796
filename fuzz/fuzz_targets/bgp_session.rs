//! The BGP session state machine fed any byte stream on an open connection (OPEN, UPDATEs
//! with any attributes, NOTIFICATIONs, garbage), interleaved with timeouts: it must not
//! panic, and whatever it sends must be well-formed BGP messages. An input that starts with
//! a zero octet also opens a second connection (a collision, RFC 4271 §6.8): the rest of
//! its chunks go to the second connection when their first octet is odd, and one that
//! starts with 0xff00 closes it.
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
    let collide = data.first() == Some(&0);
    let data = if collide {
        session.handle_command(now, Command::TcpAccepted);
        &data[1..]
    } else {
        data
    };
    let mut out = Vec::new();
    // Chunks of at most 64 octets, a second of time between them.
    for chunk in data.chunks(64) {
        if collide && chunk.starts_with(&[0xff, 0x00]) {
            session.handle_command(now, Command::SecondClosed);
        } else if collide && chunk[0] & 1 == 1 {
            session.handle_second_bytes(now, chunk);
        } else {
            session.handle_bytes(now, chunk);
        }
        now += Duration::from_secs(1);
        session.handle_timeout(now);
        while session.poll_event().is_some() {}
        for second in [false, true] {
            out.clear();
            if second {
                while session.poll_second_transmit(&mut out) {}
            } else {
                while session.poll_transmit(&mut out) {}
            }
            well_formed(&out);
        }
    }
});

/// Asserts that `out` is a sequence of whole BGP messages.
fn well_formed(out: &[u8]) {
    let mut rest = out;
    while !rest.is_empty() {
        assert!(rest.len() >= 19 && rest[..16] == [0xff; 16], "a BGP header");
        let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        assert!(
            (19..=4096).contains(&len) && len <= rest.len(),
            "a message length"
        );
        rest = &rest[len..];
    }
}
