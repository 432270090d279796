//! DNS cookies, the client's side (RFC 7873 §5.1, §5.3): every query to a server carries
//! our client cookie for that server, and its server cookie once we have one; an answer
//! whose COOKIE option does not echo our client cookie is not believed (an off-path forger
//! cannot see the cookie, so it must guess 64 more bits than the ID and port).
//!
//! The client cookie is a keyed hash of the server's address under a key drawn at start
//! (RFC 7873 §4.1 asks for a pseudorandom function of client address, server address and a
//! secret; our source address per family is fixed, so the server's address suffices). The
//! server cookies learnt are kept per server address, bounded like the RTT table.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Octets of a client cookie.
pub const CLIENT_COOKIE_LEN: usize = 8;
/// The shortest and longest server cookies (RFC 7873 §4.2).
const SERVER_COOKIE_LEN: std::ops::RangeInclusive<usize> = 8..=32;
/// Servers whose cookies are remembered at most.
const MAX_SERVERS: usize = 50_000;

/// A server cookie as learnt: its octets and length.
#[derive(Clone, Copy)]
struct ServerCookie {
    bytes: [u8; 32],
    len: u8,
}

/// What a response's COOKIE option says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieCheck {
    /// No option: a server without cookie support (the answer is believed as any other).
    Absent,
    /// Our client cookie came back (with a server cookie, now remembered).
    Echoed,
    /// Another client cookie, or a malformed option: not an answer to our query.
    Wrong,
}

/// How many answers came back with each [`CookieCheck`] (for the metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CookieCounts {
    /// Answers without a COOKIE option.
    pub absent: u64,
    /// Answers echoing our client cookie.
    pub echoed: u64,
    /// Answers with another client cookie: not believed.
    pub wrong: u64,
}

/// The client cookies' key and the server cookies learnt.
pub struct CookieJar {
    key: RandomState,
    servers: Mutex<HashMap<IpAddr, ServerCookie>>,
    counts: [AtomicU64; 3],
}

impl Default for CookieJar {
    fn default() -> Self {
        Self {
            key: RandomState::new(),
            servers: Mutex::new(HashMap::new()),
            counts: Default::default(),
        }
    }
}

impl CookieJar {
    /// A jar with a fresh key.
    pub fn new() -> Self {
        Self::default()
    }

    /// Our client cookie for `server`.
    pub fn client_cookie(&self, server: IpAddr) -> [u8; CLIENT_COOKIE_LEN] {
        self.key.hash_one(server).to_be_bytes()
    }

    /// The COOKIE option to send to `server` into `out` (cleared first): the client cookie,
    /// then the server cookie learnt from it, if any.
    pub fn option_for(&self, server: IpAddr, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.client_cookie(server));
        let servers = self
            .servers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(cookie) = servers.get(&server) {
            out.extend_from_slice(&cookie.bytes[..usize::from(cookie.len)]);
        }
    }

    /// What the answers checked so far said.
    pub fn counts(&self) -> CookieCounts {
        let [absent, echoed, wrong] = &self.counts;
        CookieCounts {
            absent: absent.load(Ordering::Relaxed),
            echoed: echoed.load(Ordering::Relaxed),
            wrong: wrong.load(Ordering::Relaxed),
        }
    }

    /// Checks a response's COOKIE option (`None`: it had none) from `server`, and keeps
    /// the server cookie it carries when our client cookie came back.
    pub fn check(&self, server: IpAddr, option: Option<&[u8]>) -> CookieCheck {
        let checked = self.check_option(server, option);
        let slot = match checked {
            CookieCheck::Absent => 0,
            CookieCheck::Echoed => 1,
            CookieCheck::Wrong => 2,
        };
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        checked
    }

    fn check_option(&self, server: IpAddr, option: Option<&[u8]>) -> CookieCheck {
        let Some(option) = option else {
            return CookieCheck::Absent;
        };
        let (client, server_cookie) = option.split_at(option.len().min(CLIENT_COOKIE_LEN));
        if client != self.client_cookie(server) {
            return CookieCheck::Wrong;
        }
        if !server_cookie.is_empty() {
            if !SERVER_COOKIE_LEN.contains(&server_cookie.len()) {
                return CookieCheck::Wrong;
            }
            let mut cookie = ServerCookie {
                bytes: [0; 32],
                len: server_cookie.len() as u8,
            };
            cookie.bytes[..server_cookie.len()].copy_from_slice(server_cookie);
            let mut servers = self
                .servers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if servers.len() >= MAX_SERVERS && !servers.contains_key(&server) {
                servers.clear();
            }
            servers.insert(server, cookie);
        }
        CookieCheck::Echoed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_7873_5_3_the_client_cookie_must_come_back_and_the_server_cookie_is_kept() {
        let jar = CookieJar::new();
        let server: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_ne!(jar.client_cookie(server), jar.client_cookie(other));
        assert_ne!(
            jar.client_cookie(server),
            CookieJar::new().client_cookie(server),
            "a key of its own"
        );
        let mut option = Vec::new();
        jar.option_for(server, &mut option);
        assert_eq!(option.len(), CLIENT_COOKIE_LEN);
        assert_eq!(jar.check(server, None), CookieCheck::Absent);
        let mut reply = jar.client_cookie(server).to_vec();
        reply.extend_from_slice(&[0xab; 16]);
        assert_eq!(jar.check(other, Some(&reply)), CookieCheck::Wrong);
        assert_eq!(jar.check(server, Some(&reply[..12])), CookieCheck::Wrong);
        assert_eq!(jar.check(server, Some(&reply[..4])), CookieCheck::Wrong);
        assert_eq!(jar.check(server, Some(&reply)), CookieCheck::Echoed);
        jar.option_for(server, &mut option);
        assert_eq!(option, reply, "the server cookie goes back to its server");
        jar.option_for(other, &mut option);
        assert_eq!(option.len(), CLIENT_COOKIE_LEN, "and to no other");
        let counts = jar.counts();
        assert_eq!((counts.absent, counts.echoed, counts.wrong), (1, 1, 3));
    }
}
