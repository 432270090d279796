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

use std::hash::BuildHasher;
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
    seed: std::collections::hash_map::RandomState,
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
            seed: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Decides about an answer with response code `code` to `client` at `now_ms`.
    pub fn decide(&mut self, client: IpAddr, code: u16, now_ms: u64) -> RateDecision {
        let kind = match code {
            rcode::NOERROR => 1,
            rcode::NXDOMAIN => 2,
            _ => 3,
        };
        let key = self.key_of(client, kind);
        let capacity = u64::from(self.rate) * 1000;
        let slot = &mut self.buckets[(key >> 32) as usize & (SLOTS - 1)];
        if slot.key != key {
            // Another network's slot: taken over with a full bucket only once that one has
            // been idle a second (its bucket is full then anyway); before, the two share
            // it, which errs towards limiting (alternating two colliding sources must not
            // reset the bucket each time).
            if now_ms.saturating_sub(slot.at_ms) >= 1000 || slot.key == 0 {
                *slot = Bucket {
                    key,
                    milli_tokens: capacity,
                    at_ms: now_ms,
                };
            }
            slot.key = key;
        }
        // Refill: `rate` answers per second, at most one second's worth.
        let elapsed = now_ms.saturating_sub(slot.at_ms).min(1000);
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

/// Turns an answer of `len` octets in `answer` into its slipped form in place: header,
/// question and the OPT record (RFC 6891 §7: a query with OPT gets one back; it also carries
/// an extended rcode), TC set, nothing else (the resolver retries over TCP). Returns the new
/// length, never more than `len`.
pub fn slip(answer: &mut [u8], len: usize) -> usize {
    let len = len.min(answer.len());
    if len < 12 {
        return len;
    }
    let questions = u16::from_be_bytes([answer[4], answer[5]]);
    let records: usize = [6, 8, 10]
        .iter()
        .map(|&at| usize::from(u16::from_be_bytes([answer[at], answer[at + 1]])))
        .sum();
    let msg = &answer[..len];
    let mut at = 12;
    if questions == 1 {
        at = match skip_name(msg, at) {
            Some(end) if end + 4 <= len => end + 4,
            _ => 12,
        };
    }
    let question_end = at;
    // Our own answer: find its OPT record (the last of the additional section).
    let mut opt = None;
    let mut cursor = question_end;
    for _ in 0..records {
        let Some(name_end) = skip_name(msg, cursor) else {
            break;
        };
        let Some(fixed) = msg.get(name_end..name_end + 10) else {
            break;
        };
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let end = name_end + 10 + usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        if end > len {
            break;
        }
        if rtype == OPT {
            opt = Some(cursor..end);
        }
        cursor = end;
    }
    answer[2] |= 0x02;
    answer[6..12].fill(0);
    if question_end == 12 {
        answer[4..6].fill(0);
    }
    match opt {
        Some(range) => {
            let opt_len = range.len();
            answer.copy_within(range, question_end);
            answer[10..12].copy_from_slice(&1u16.to_be_bytes());
            question_end + opt_len
        }
        None => question_end,
    }
}

/// The OPT pseudo-record type (RFC 6891).
const OPT: u16 = 41;

/// Where the (possibly compressed) name at `at` ends.
fn skip_name(msg: &[u8], at: usize) -> Option<usize> {
    dns_wire::Name::parse_compressed(msg, at)
        .ok()
        .map(|(_, end)| end)
}

impl RateLimiter {
    /// A hash of the client's network and the answer's kind, keyed with this limiter's
    /// random seed (so that colliding networks cannot be worked out offline); never 0, the
    /// empty slot's key.
    fn key_of(&self, client: IpAddr, kind: u8) -> u64 {
        let mut network = [0u8; 9];
        match client {
            IpAddr::V4(v4) => {
                network[0] = 4;
                network[1..4].copy_from_slice(&v4.octets()[..3]);
            }
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => {
                    network[0] = 4;
                    network[1..4].copy_from_slice(&v4.octets()[..3]);
                }
                None => {
                    network[0] = 6;
                    network[1..8].copy_from_slice(&v6.octets()[..7]);
                }
            },
        }
        network[8] = kind;
        self.seed.hash_one(network) | 1
    }
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
        // With an OPT record (extended rcode BADVERS in its TTL): kept, after the question.
        let mut answer = vec![0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 1];
        answer.extend_from_slice(b"\x07example\x00\x00\x01\x00\x01");
        answer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        let opt = [0, 0, 41, 4, 0xd0, 1, 0, 0, 0, 0, 0];
        answer.extend_from_slice(&opt);
        let len = answer.len();
        let slipped = slip(&mut answer, len);
        assert_eq!(slipped, 12 + 13 + opt.len());
        assert_eq!(&answer[4..12], &[0, 1, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&answer[25..slipped], &opt);
        // Short or question-less answers: the header alone, never longer than given.
        let mut formerr = vec![0x12, 0x34, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(slip(&mut formerr, 12), 12);
        let mut runt = vec![0u8; 5];
        assert_eq!(slip(&mut runt, 5), 5);
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
