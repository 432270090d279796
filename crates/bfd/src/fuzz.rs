//! Fuzz bodies, kept in the crate so that they build with it; not part of the API.

use std::time::{Duration, Instant};

use crate::packet::ControlPacket;
use crate::session::{Config, Session, Settings};

/// Parses `bytes` as a Control packet, re-emits what parsed and checks that it parses to
/// the same packet; then feeds `bytes`, in 24-octet pieces, to a session whose peer
/// discriminator is taken from the input, with time advancing between pieces.
///
/// `now` is any instant, the origin of the session's virtual time.
///
/// Panics only when the crate breaks its contract: a parse or a session call that panics,
/// or a round trip that changes the packet.
pub fn fuzz_parse(now: Instant, bytes: &[u8]) {
    if let Ok(packet) = ControlPacket::parse(bytes) {
        let mut out = Vec::new();
        packet.emit(&mut out);
        assert_eq!(out.len(), packet.buffer_len());
        assert_eq!(
            ControlPacket::parse(&out),
            Ok(packet),
            "round trip changed it"
        );
    }
    let settings = Settings {
        local_discriminator: 1,
        desired_min_tx: Duration::from_millis(100),
        required_min_rx: Duration::from_millis(100),
        detect_mult: 3,
        jitter_seed: 1,
    };
    let Ok(config) = Config::try_from(settings) else {
        unreachable!("the settings above are valid");
    };
    let mut now = now;
    let mut session = Session::new(config, now);
    let mut out = Vec::new();
    for piece in bytes.chunks(24) {
        let _ = session.handle_packet(now, piece);
        while session.poll_transmit(&mut out) {
            assert!(ControlPacket::parse(&out).is_ok(), "we sent a bad packet");
        }
        now += Duration::from_millis(u64::from(piece[0]));
        session.handle_timeout(now);
        while session.poll_event().is_some() {}
    }
}
