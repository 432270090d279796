//! Response rate limiting for UDP (RRL, as Knot's and NSD's): a source network gets at most
//! `rate` answers per second of each kind; over it, an answer is *slipped* (sent truncated,
//! so a real resolver retries over TCP, which a spoofed source cannot) or dropped. This
//! blunts reflection attacks that use an authoritative server to flood a spoofed victim.
//!
//! Sans-IO: the caller passes the time in milliseconds. One limiter per UDP worker thread:
//! SO_REUSEPORT hashes a client's flow to one socket, so each worker sees a client's whole
//! traffic on its own and no state is shared between threads.
//!
//! Buckets: IPv4 /24 and IPv6 /56 networks (as Knot and BIND), times the kind of answer
//! (NOERROR, NXDOMAIN, others), in a fixed table: a key that meets another's slot takes it
//! over with a full bucket, so memory is bounded and a flood of sources cannot grow it.

use std::net::IpAddr;

use dns_wire::types::rcode;

/// Slots per limiter (a power of two).
const SLOTS: usize = 1 << 16;

/// What to do with an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateDecision {
    /// Send it.
    Send,
    /// Send it truncated (TC, question only).
    Slip,
    /// Do not send anything.
    Drop,
}

#[derive(Clone, Copy, Default)]
struct Bucket {
    key: u64,
    /// Tokens in thousandths of an answer.
    milli_tokens: u64,
    /// When the bucket was last refilled, in ms.
    at_ms: u64,
}

/// A per-thread response rate limiter.
pub struct RateLimiter {
    /// Answers per second per network and kind.
    rate: u32,
    /// Every `slip`-th limited answer is slipped, the others dropped (0: drop all).
    slip: u32,
    limited: u32,
    buckets: Box<[Bucket]>,
}

impl RateLimiter {
    /// A limiter allowing `rate` answers per second (at least 1) per network and kind,
    /// slipping every `slip`-th limited answer.
    pub fn new(rate: u32, slip: u32) -> Self {
        Self {
            rate: rate.max(1),
            slip,
            limited: 0,
            buckets: vec![Bucket::default(); SLOTS].into_boxed_slice(),
        }
    }

    /// Decides about an answer with response code `code` to `client` at `now_ms`.
    pub fn decide(&mut self, client: IpAddr, code: u16, now_ms: u64) -> RateDecision {
        let kind = match code {
            rcode::NOERROR => 1,
            rcode::NXDOMAIN => 2,
            _ => 3,
        };
        let key = key_of(client, kind);
        let capacity = u64::from(self.rate) * 1000;
        let slot = &mut self.buckets[(key as usize) & (SLOTS - 1)];
        if slot.key != key {
            *slot = Bucket {
                key,
                milli_tokens: capacity,
                at_ms: now_ms,
            };
        }
        // Refill: `rate` answers per second, at most one second's worth.
        let elapsed = now_ms.saturating_sub(slot.at_ms);
        slot.milli_tokens = (slot.milli_tokens + elapsed * u64::from(self.rate)).min(capacity);
        slot.at_ms = now_ms;
        if slot.milli_tokens >= 1000 {
            slot.milli_tokens -= 1000;
            return RateDecision::Send;
        }
        self.limited = self.limited.wrapping_add(1);
        if self.slip > 0 && self.limited.is_multiple_of(self.slip) {
            RateDecision::Slip
        } else {
            RateDecision::Drop
        }
    }
}

/// Turns an answer of `len` octets in `answer` into its slipped form in place: header and
/// question, TC set, nothing else (the resolver retries over TCP). Returns the new length.
pub fn slip(answer: &mut [u8], len: usize) -> usize {
    let Some(header) = answer.get_mut(..12) else {
        return len;
    };
    header[2] |= 0x02;
    header[6..12].fill(0);
    let questions = u16::from_be_bytes([answer[4], answer[5]]);
    let mut at = 12;
    if questions > 0 {
        // Our own answer: the question's name is uncompressed.
        while let Some(&label) = answer[..len].get(at) {
            at += 1 + label as usize;
            if label == 0 {
                break;
            }
        }
        at += 4;
    }
    if questions != 1 || at > len {
        answer[4..6].fill(0);
        return 12;
    }
    at
}

/// A hash of the client's network and the answer's kind (FNV-1a over the prefix octets;
/// never 0, the empty slot's key).
fn key_of(client: IpAddr, kind: u8) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |byte: u8| {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    };
    match client {
        IpAddr::V4(v4) => {
            eat(4);
            v4.octets()[..3].iter().for_each(|&b| eat(b));
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => {
                eat(4);
                v4.octets()[..3].iter().for_each(|&b| eat(b));
            }
            None => {
                eat(6);
                v6.octets()[..7].iter().for_each(|&b| eat(b));
            }
        },
    }
    eat(kind);
    hash | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_network_gets_its_rate_then_slips_and_drops() {
        let mut rrl = RateLimiter::new(10, 2);
        let client = v4("192.0.2.7");
        let decisions: Vec<RateDecision> = (0..30).map(|_| rrl.decide(client, 0, 1_000)).collect();
        assert!(decisions[..10].iter().all(|d| *d == RateDecision::Send));
        let slipped = decisions[10..]
            .iter()
            .filter(|d| **d == RateDecision::Slip)
            .count();
        let dropped = decisions[10..]
            .iter()
            .filter(|d| **d == RateDecision::Drop)
            .count();
        assert_eq!((slipped, dropped), (10, 10));
        // The same /24 shares the bucket; another kind of answer has its own.
        assert_ne!(rrl.decide(v4("192.0.2.200"), 0, 1_000), RateDecision::Send);
        assert_eq!(rrl.decide(client, 3, 1_000), RateDecision::Send);
        // Another network is not affected.
        assert_eq!(rrl.decide(v4("198.51.100.1"), 0, 1_000), RateDecision::Send);
        // A tenth of a second later, one more answer (10 per second).
        assert_eq!(rrl.decide(client, 0, 1_100), RateDecision::Send);
        assert_ne!(rrl.decide(client, 0, 1_100), RateDecision::Send);
        // After a second the bucket is full again, but no fuller.
        let sent = (0..30)
            .filter(|_| rrl.decide(client, 0, 60_000) == RateDecision::Send)
            .count();
        assert_eq!(sent, 10);
    }

    #[test]
    fn slipping_keeps_header_and_question_with_tc() {
        // ID 0x1234, QR AA, 1 question, 1 answer, 0, 1 additional; example. A; then junk.
        let mut answer = vec![0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 1];
        answer.extend_from_slice(b"\x07example\x00\x00\x01\x00\x01");
        answer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        let len = answer.len();
        let slipped = slip(&mut answer, len);
        assert_eq!(slipped, 12 + 13);
        assert_eq!(&answer[..4], &[0x12, 0x34, 0x86, 0x00]);
        assert_eq!(&answer[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn slip_zero_drops_every_limited_answer_and_ipv6_uses_56_bits() {
        let mut rrl = RateLimiter::new(1, 0);
        let a: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let same_56: IpAddr = "2001:db8:0:1f::2".parse().unwrap();
        let other_56: IpAddr = "2001:db8:0:100::1".parse().unwrap();
        assert_eq!(rrl.decide(a, 0, 0), RateDecision::Send);
        assert_eq!(rrl.decide(same_56, 0, 0), RateDecision::Drop);
        assert_eq!(rrl.decide(other_56, 0, 0), RateDecision::Send);
    }
}
