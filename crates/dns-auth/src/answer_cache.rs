//! A cache of whole UDP answers, one per UDP worker, keyed by the query's octets after its
//! ID: a query seen before is answered by copying the stored answer under the new ID,
//! without parsing the query or walking a zone or the resolver's cache.
//!
//! Sound because an authoritative answer over UDP depends only on the query's octets, the
//! zones served and the answer settings, which are fixed for the life of the process:
//! every change of the zones moves a generation number that the caller passes in, and a
//! new generation empties the cache. What else an answer can depend on the caller keeps
//! out by never storing it: the client (cookies, rate limiting, a resolver's allow-list,
//! checked before asking here), the clock (EXPIRE) and keys (TSIG). The key holds every
//! octet but the ID, so a query that differs anywhere (the case of a letter, the EDNS
//! payload size, the DO bit, an option) is another entry.
//!
//! A resolver's answer from its cache depends on the clock as well: its TTLs count down.
//! Such an answer is stored with [`Ttls::CountDown`]: the positions of its TTL fields are
//! kept, each copy has the seconds since the store taken off them, and the entry is used
//! only until a second before its smallest TTL runs out (the resolver's cache rounds what
//! is left up to the second, so a copy's TTL is never more than a second above what that
//! cache would write). Emptying the resolver's cache moves the caller's generation too.
//!
//! Fixed size, two entries per set, never grows. The hash is seeded at random per cache,
//! so a sender cannot aim queries at one set; misses are answered the normal way, so
//! filling the cache with junk only costs its owner the cache's benefit.

use crate::respond::Outcome;

/// Queries longer than this (after the ID) are not cached: real queries are far shorter.
const MAX_KEY: usize = 512;
/// Entries (query and answer) larger than this are not cached.
const MAX_ENTRY: usize = 2048;
/// A buffer's header: milliseconds at the store, milliseconds until which the entry may be
/// used (u64 each), the answer's length and the number of TTL positions (u16 each).
const HEADER: usize = 20;
/// Answers whose smallest TTL is below this are not kept as counting-down copies.
const MIN_COUNT_DOWN_TTL: u32 = 2;

/// How a stored answer's TTLs behave while it is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ttls {
    /// They stay as written (authoritative data): the entry lasts its generation.
    Fixed,
    /// They count down (a resolver's cached data): every copy is aged, and the entry ends
    /// a second before its smallest TTL would reach zero.
    CountDown,
}

/// Whole answers by query (see the module documentation).
#[derive(Debug)]
pub struct AnswerCache {
    /// Two entries per set. All zero until used: allocated zeroed, so the memory of a
    /// table entry is only taken when it is first written.
    table: Vec<Entry>,
    /// Each entry's octets: a header (see [`HEADER`]), the query's after its ID, the
    /// answer's after its ID, then the answer's TTL positions (u16 each).
    /// Entry `i` of the table owns `buffers[i - 1]` once it has one.
    buffers: Vec<Vec<u8>>,
    set_count: usize,
    seed: u64,
    /// The zones' generation the entries belong to.
    generation: u64,
    /// Entries with this stamp are valid; a new generation moves it (0: never valid).
    stamp: u32,
    /// Reused storage for the TTL positions of the answer being stored.
    positions: Vec<u16>,
}

/// One entry, packed into three words so that an all-zero table is an empty one:
/// `[stamp | key length << 32 | rcode << 48 | truncated << 62 | recent << 63, hash,
/// buffer number (1-based; 0: none yet)]`.
type Entry = [u64; 3];

const KEY_SHIFT: u32 = 32;
const RCODE_SHIFT: u32 = 48;
const TRUNCATED: u64 = 1 << 62;
const RECENT: u64 = 1 << 63;

fn stamp_of(entry: &Entry) -> u32 {
    entry[0] as u32
}

fn key_len_of(entry: &Entry) -> usize {
    (entry[0] >> KEY_SHIFT) as u16 as usize
}

impl AnswerCache {
    /// A cache of about `entries` answers (rounded up to a power of two): 24 octets an
    /// entry in a table taken as it is used, and each entry's octets when stored.
    pub fn new(entries: usize, seed: u64) -> Self {
        let set_count = entries.div_ceil(2).next_power_of_two();
        Self {
            table: vec![[0; 3]; set_count * 2],
            // Reserved whole, so it never moves; its memory is taken as entries are made.
            buffers: Vec::with_capacity(set_count * 2),
            set_count,
            seed,
            generation: 0,
            stamp: 1,
            positions: Vec::new(),
        }
    }

    /// Answers `msg` into `out` when an answer to the same octets (but the ID) is stored
    /// for `generation` and still usable at `now_ms` (milliseconds on the caller's clock,
    /// which never goes back).
    #[inline]
    pub fn answer(
        &mut self,
        generation: u64,
        now_ms: u64,
        msg: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Outcome> {
        if generation != self.generation {
            self.generation = generation;
            self.forget_all();
        }
        let key = msg.get(2..).filter(|k| k.len() <= MAX_KEY)?;
        let hash = dns_zone::hash_with_seed(self.seed, key);
        let first = (hash as usize & (self.set_count - 1)) * 2;
        let way = self.way_holding(first, hash, key)?;
        let entry = self.table[first + way];
        let bytes = &self.buffers[entry[2] as usize - 1];
        let stored_ms = u64_at(bytes, 0);
        if now_ms >= u64_at(bytes, 8) {
            // Its TTLs ran out: a miss, and the entry is free for the answer to come.
            self.table[first + way][0] &= !(RECENT | u64::from(u32::MAX));
            return None;
        }
        let answer_len = usize::from(u16_at(bytes, 16));
        let ttl_count = usize::from(u16_at(bytes, 18));
        let answer_at = HEADER + key.len();
        out.clear();
        out.extend_from_slice(&msg[..2]);
        out.extend_from_slice(&bytes[answer_at..answer_at + answer_len]);
        if ttl_count > 0 {
            let elapsed =
                u32::try_from(now_ms.saturating_sub(stored_ms) / 1000).unwrap_or(u32::MAX);
            let positions = &bytes[answer_at + answer_len..];
            for position in positions.chunks_exact(2).take(ttl_count) {
                let at = usize::from(u16::from_be_bytes([position[0], position[1]]));
                let field: &mut [u8; 4] = (&mut out[at..at + 4]).try_into().expect("4 octets");
                let ttl = u32::from_be_bytes(*field).saturating_sub(elapsed);
                *field = ttl.to_be_bytes();
            }
        }
        self.table[first + way][0] |= RECENT;
        self.table[first + 1 - way][0] &= !RECENT;
        Some(Outcome::Answered {
            len: out.len(),
            rcode: (entry[0] >> RCODE_SHIFT) as u16 & 0xfff,
            truncated: entry[0] & TRUNCATED != 0,
        })
    }

    /// Stores `answer` (with `outcome`) as the answer to `msg`, computed at `now_ms` from
    /// zones (and a resolver's cache) of `generation`, its TTLs behaving as `ttls`; nothing
    /// is stored for an older generation than the cache's, nor a counting-down answer
    /// without records or whose smallest TTL is under two seconds.
    pub fn store(
        &mut self,
        generation: u64,
        now_ms: u64,
        msg: &[u8],
        (outcome, ttls): (Outcome, Ttls),
        answer: &[u8],
    ) {
        let Outcome::Answered {
            rcode, truncated, ..
        } = outcome
        else {
            return;
        };
        let (Some(key), Some(after_id)) = (msg.get(2..), answer.get(2..)) else {
            return;
        };
        if generation != self.generation
            || key.len() > MAX_KEY
            || key.len() + after_id.len() > MAX_ENTRY
            || rcode > 0xfff
        {
            return;
        }
        let until_ms = match ttls {
            Ttls::Fixed => {
                self.positions.clear();
                u64::MAX
            }
            Ttls::CountDown => {
                let Some(smallest) = self.ttl_positions(answer) else {
                    return;
                };
                now_ms.saturating_add(u64::from(smallest - 1) * 1000)
            }
        };
        let hash = dns_zone::hash_with_seed(self.seed, key);
        let first = (hash as usize & (self.set_count - 1)) * 2;
        // The entry of the same query if there is one (never two for one query), else an
        // empty or stale one, else the one used less recently.
        let way = self
            .way_holding(first, hash, key)
            .or_else(|| (0..2).find(|&way| stamp_of(&self.table[first + way]) != self.stamp))
            .unwrap_or_else(|| usize::from(self.table[first][0] & RECENT != 0));
        let at = first + way;
        if self.table[at][2] == 0 {
            self.buffers.push(Vec::new());
            self.table[at][2] = self.buffers.len() as u64;
        }
        let bytes = &mut self.buffers[self.table[at][2] as usize - 1];
        bytes.clear();
        let size = HEADER + key.len() + after_id.len() + 2 * self.positions.len();
        if bytes.capacity() < size {
            // One allocation, with room for the next, slightly larger entry here.
            *bytes = Vec::with_capacity(size.next_multiple_of(64));
        }
        bytes.extend_from_slice(&now_ms.to_le_bytes());
        bytes.extend_from_slice(&until_ms.to_le_bytes());
        bytes.extend_from_slice(&(after_id.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&(self.positions.len() as u16).to_le_bytes());
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(after_id);
        for &position in &self.positions {
            bytes.extend_from_slice(&position.to_be_bytes());
        }
        self.table[at][0] = u64::from(self.stamp)
            | (key.len() as u64) << KEY_SHIFT
            | u64::from(rcode) << RCODE_SHIFT
            | if truncated { TRUNCATED } else { 0 }
            | RECENT;
        self.table[at][1] = hash;
        self.table[first + 1 - way][0] &= !RECENT;
    }

    /// Which of the two entries of the set starting at `first` holds a valid answer to
    /// `key` (of `hash`).
    #[inline]
    fn way_holding(&self, first: usize, hash: u64, key: &[u8]) -> Option<usize> {
        (0..2).find(|&way| {
            let entry = &self.table[first + way];
            stamp_of(entry) == self.stamp
                && entry[1] == hash
                && key_len_of(entry) == key.len()
                && self.buffers[entry[2] as usize - 1].get(HEADER..HEADER + key.len()) == Some(key)
        })
    }

    /// Fills `positions` with where the TTL fields of `answer` (the whole message) sit;
    /// returns the smallest TTL, or `None` when the answer has no record, one TTL under
    /// [`MIN_COUNT_DOWN_TTL`], or does not parse.
    fn ttl_positions(&mut self, answer: &[u8]) -> Option<u32> {
        self.positions.clear();
        let mut smallest = u32::MAX;
        let positions = &mut self.positions;
        dns_wire::for_each_ttl(answer, |at, ttl| {
            positions.push(at as u16);
            smallest = smallest.min(ttl);
        })
        .ok()?;
        (!positions.is_empty() && smallest >= MIN_COUNT_DOWN_TTL).then_some(smallest)
    }

    /// Invalidates every entry (their memory is reused by later stores).
    fn forget_all(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // After 2^32 generations: no old stamp may match again.
            for entry in &mut self.table {
                entry[0] &= !u64::from(u32::MAX);
            }
            self.stamp = 1;
        }
    }
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 octets"))
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

#[cfg(test)]
mod tests;
