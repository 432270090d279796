//! Unpredictable query IDs and case bits (RFC 5452 §9.2, §4.1, and the 0x20 scheme of
//! draft-vixie-dnsext-dns0x20): what an off-path attacker would have to guess to forge an
//! answer.
//!
//! The bits come from the operating system's random source (`getrandom(2)` through ring's
//! `SystemRandom`, which the DNSSEC layer already uses), 64 octets per system call. Should
//! that source fail, std's randomly keyed SipHash over a counter stands in (a keyed
//! pseudo-random function: outputs cannot be predicted from earlier ones without the key).

use std::hash::{BuildHasher, RandomState};

use ring::rand::{SecureRandom, SystemRandom};

/// Octets drawn from the operating system at a time.
const BUFFER: usize = 64;

/// A source of random bits for one resolution (cheap to create).
pub struct Entropy {
    system: SystemRandom,
    buffer: [u8; BUFFER],
    /// Octets of `buffer` already handed out.
    used: usize,
    fallback: RandomState,
    counter: u64,
    /// Bits drawn but not yet used.
    pool: u64,
    left: u32,
}

impl Default for Entropy {
    fn default() -> Self {
        Self::new()
    }
}

impl Entropy {
    /// A new source with fresh keys.
    pub fn new() -> Self {
        Self {
            system: SystemRandom::new(),
            buffer: [0; BUFFER],
            used: BUFFER,
            fallback: RandomState::new(),
            counter: 0,
            pool: 0,
            left: 0,
        }
    }

    /// 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        if self.used + 8 > BUFFER {
            if self.system.fill(&mut self.buffer).is_err() {
                self.counter = self.counter.wrapping_add(1);
                return self.fallback.hash_one(self.counter);
            }
            self.used = 0;
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.buffer[self.used..self.used + 8]);
        self.used += 8;
        u64::from_le_bytes(word)
    }

    /// A query ID.
    pub fn id(&mut self) -> u16 {
        self.bits(16) as u16
    }

    /// `n` (at most 32) random bits.
    pub fn bits(&mut self, n: u32) -> u32 {
        if self.left < n {
            self.pool = self.next_u64();
            self.left = 64;
        }
        let value = (self.pool & ((1u64 << n) - 1)) as u32;
        self.pool >>= n;
        self.left -= n;
        value
    }

    /// A number below `bound` (which must not be zero).
    pub fn below(&mut self, bound: u32) -> u32 {
        (self.next_u64() % u64::from(bound.max(1))) as u32
    }

    /// Writes `name` (lowercased wire form) into `out` with each letter's case chosen at
    /// random: the server echoes the question exactly, so a forged answer must guess one
    /// bit per letter too.
    pub fn randomise_case(&mut self, name: &[u8], out: &mut Vec<u8>) {
        out.clear();
        let mut at = 0;
        while at < name.len() {
            let len = usize::from(name[at]);
            out.push(name[at]);
            for &byte in name.get(at + 1..at + 1 + len).unwrap_or(&[]) {
                let flip = byte.is_ascii_lowercase() && self.bits(1) == 1;
                out.push(if flip {
                    byte.to_ascii_uppercase()
                } else {
                    byte
                });
            }
            if len == 0 {
                break;
            }
            at += 1 + len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_and_cover_the_range() {
        let mut e = Entropy::new();
        let ids: std::collections::HashSet<u16> = (0..1000).map(|_| e.id()).collect();
        assert!(ids.len() > 980, "{} distinct of 1000", ids.len());
        let high = (0..1000).filter(|_| e.id() >= 0x8000).count();
        assert!((400..600).contains(&high), "{high}");
    }

    #[test]
    fn case_is_randomised_but_the_name_is_the_same() {
        let mut e = Entropy::new();
        let name = b"\x07example\x03com\x00";
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..32 {
            e.randomise_case(name, &mut out);
            assert!(out.eq_ignore_ascii_case(name));
            assert_eq!(out.len(), name.len());
            // Length octets are never touched.
            assert_eq!((out[0], out[8]), (7, 3));
            seen.insert(out.clone());
        }
        assert!(seen.len() > 16, "{} patterns", seen.len());
    }
}
