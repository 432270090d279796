//! Fuzz bodies, kept in the crate so that they build with it; not part of the API.
//!
//! A `cargo fuzz` target only needs to call [`fuzz_parse`] with its input.

use crate::header::frame_len;
use crate::message::Message;
use crate::negotiated::Negotiated;

/// Splits `bytes` into messages, parses each both with and without 4-octet AS numbers,
/// re-emits whatever parsed, and checks that the re-emitted bytes parse to the same message.
///
/// Panics only when the codec breaks its contract: a parse that panics, an emit that fails
/// on a parsed message, or a round trip that changes the message.
pub fn fuzz_parse(bytes: &[u8]) {
    for negotiated in [Negotiated::default(), Negotiated::FOUR_OCTET_AS] {
        let mut rest = bytes;
        while let Ok(Some(len)) = frame_len(rest) {
            let (frame, tail) = rest.split_at(len);
            rest = tail;
            let Ok(message) = Message::parse(frame, negotiated) else {
                continue;
            };
            if let Message::Update(update) = &message {
                // Exercise the accessors; their results are not checked.
                let _ = update.end_of_rib_family();
                let _ = update.announced().count() + update.withdrawn_prefixes().count();
            }
            let mut out = Vec::new();
            if let Err(e) = message.emit(&mut out, negotiated) {
                panic!("emit failed on a parsed message: {e}: {message:?}");
            }
            let reparsed = Message::parse(&out, negotiated);
            // Attributes dropped by RFC 7606 handling change the message; compare only
            // messages that parsed cleanly.
            let clean = !matches!(&message, Message::Update(u) if !u.errors.is_empty());
            if clean {
                assert_eq!(
                    reparsed.as_ref(),
                    Ok(&message),
                    "round trip changed the message"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small xorshift generator, so the test is deterministic without dependencies.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn seeds() -> Vec<Vec<u8>> {
        let mut update_header = vec![0xff; 16];
        update_header.extend_from_slice(&[0, 0, 2]);
        let update_body: &[u8] = &[
            0, 0, 0, 57, 0x40, 1, 1, 0, 0x40, 2, 10, 2, 2, 0, 0, 0xfd, 0xe9, 0, 0, 0xfd, 0xe9,
            0x40, 3, 4, 192, 0, 2, 1, 0x80, 4, 4, 0, 0, 0, 10, 0xc0, 8, 8, 0xfd, 0xe9, 0, 53, 0xff,
            0xff, 0xff, 0x01, 0xc0, 32, 12, 0, 0, 0xfd, 0xe9, 0, 0, 0, 1, 0, 0, 0, 2, 24, 203, 0,
            113,
        ];
        let mp_body: &[u8] = &[
            0, 0, 0, 38, 0x80, 14, 28, 0, 2, 1, 16, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 1, 0, 48, 0x20, 1, 0x0d, 0xb8, 0, 0x53, 0x40, 1, 1, 0, 0x40, 2, 0,
        ];
        let open_body: &[u8] = &[
            4, 0xfd, 0xe9, 0, 90, 192, 0, 2, 1, 22, 2, 20, 1, 4, 0, 1, 0, 1, 1, 4, 0, 2, 0, 1, 2,
            0, 65, 4, 0, 0, 0xfd, 0xe9,
        ];
        let mut out = Vec::new();
        for (kind, body) in [
            (2u8, update_body),
            (2, mp_body),
            (1, open_body),
            (3, &[6, 2, 1, b'x']),
        ] {
            let mut m = vec![0xff; 16];
            m.extend_from_slice(&u16::try_from(body.len() + 19).unwrap().to_be_bytes());
            m.push(kind);
            m.extend_from_slice(body);
            out.push(m);
        }
        out
    }

    #[test]
    fn seeds_round_trip() {
        for seed in seeds() {
            assert!(
                Message::parse(&seed, Negotiated::FOUR_OCTET_AS).is_ok(),
                "{seed:?}"
            );
            fuzz_parse(&seed);
        }
    }

    /// Mutated seeds and random bytes never panic the parser or break the round trip.
    #[test]
    fn mutations_never_panic() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let seeds = seeds();
        for i in 0..20_000 {
            let mut input = seeds[i % seeds.len()].clone();
            let flips = 1 + rng.next() % 4;
            for _ in 0..flips {
                let at = usize::try_from(rng.next() % input.len() as u64).unwrap();
                // Leave the marker alone most of the time so mutations reach the body.
                if at >= 16 || rng.next().is_multiple_of(8) {
                    input[at] = u8::try_from(rng.next() & 0xff).unwrap();
                }
            }
            if rng.next().is_multiple_of(4) {
                let cut = usize::try_from(rng.next() % input.len() as u64).unwrap();
                input.truncate(cut);
            }
            fuzz_parse(&input);
        }
        for _ in 0..2_000 {
            let len = usize::try_from(rng.next() % 64).unwrap();
            let mut input: Vec<u8> = vec![0xff; 16];
            input.extend((0..len).map(|_| u8::try_from(rng.next() & 0xff).unwrap()));
            fuzz_parse(&input);
        }
    }
}
