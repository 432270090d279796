//! DNS cookies, the server's side (RFC 7873 §5.2), with the interoperable server cookie
//! of RFC 9018: version 1, three reserved octets, a 32-bit timestamp, and SipHash-2-4 over
//! the client cookie, those fields and the client's address, keyed by a secret every site
//! of a cloud shares. A client whose query lands at another site after a route change is
//! still recognised there; sites rotate secrets in any order (the previous one is still
//! accepted).
//!
//! ```text
//!  COOKIE option ─► check: absent | malformed (FORMERR) | client only | valid | invalid
//!               └─► answer_cookie: client cookie + a fresh server cookie (kept as long as
//!                   it is younger than half an hour)
//! ```
//!
//! No clock and no I/O: `now` is seconds since 1970 (modulo 2^32, compared in serial
//! arithmetic as RFC 9018 §4.3 asks).

use std::net::IpAddr;

use siphasher::sip::SipHasher24;

/// Octets of the client cookie (RFC 7873 §4).
pub const CLIENT_COOKIE_LEN: usize = 8;
/// Octets of an RFC 9018 server cookie: version, reserved, timestamp, hash.
pub const SERVER_COOKIE_LEN: usize = 16;
/// RFC 9018 §4.2: version 1.
const VERSION: u8 = 1;
/// RFC 9018 §4.3: a cookie from more than an hour ago, or more than five minutes ahead,
/// is invalid; one older than half an hour is replaced in the answer.
const MAX_AGE: u32 = 3600;
const MAX_AHEAD: u32 = 300;
const RENEW_AFTER: u32 = 1800;

/// The secrets server cookies are made and checked with: the current one, and the one
/// before it during a rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieSecrets {
    /// New cookies are made with it.
    pub current: [u8; 16],
    /// Still accepted (a fleet rotates site by site).
    pub previous: Option<[u8; 16]>,
}

/// What a query's COOKIE option is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieCheck {
    /// No COOKIE option.
    Absent,
    /// A length RFC 7873 §5.2.2 forbids (not 8, nor 16 to 40): FORMERR.
    Malformed,
    /// A client cookie alone (a first contact).
    ClientOnly,
    /// A server cookie this fleet made, recent enough: the client is who it says it is
    /// (exempt from rate limiting).
    Valid,
    /// A server cookie we cannot vouch for (another secret, too old, tampered): answered
    /// normally with a fresh one (RFC 7873 §5.2.3), not trusted.
    Invalid,
}

/// The server cookie for `client_cookie` from `client` whose first eight octets
/// (version, reserved, timestamp) are `head`, made with `secret`: the hash covers the
/// reserved octets as they are (RFC 9018 Appendix A.3), zero in the cookies we make.
fn server_cookie(
    client_cookie: &[u8],
    client: IpAddr,
    head: [u8; 8],
    secret: &[u8; 16],
) -> [u8; SERVER_COOKIE_LEN] {
    let mut input = [0u8; CLIENT_COOKIE_LEN + 8 + 16];
    input[..CLIENT_COOKIE_LEN].copy_from_slice(client_cookie);
    input[8..16].copy_from_slice(&head);
    let len = match client {
        IpAddr::V4(v4) => {
            input[16..20].copy_from_slice(&v4.octets());
            20
        }
        IpAddr::V6(v6) => {
            input[16..32].copy_from_slice(&v6.octets());
            32
        }
    };
    let hash = SipHasher24::new_with_key(secret).hash(&input[..len]);
    let mut cookie = [0u8; SERVER_COOKIE_LEN];
    cookie[..8].copy_from_slice(&head);
    cookie[8..].copy_from_slice(&hash.to_le_bytes());
    cookie
}

/// The head of a cookie we make at `timestamp`: version 1, reserved zero.
fn fresh_head(timestamp: u32) -> [u8; 8] {
    let mut head = [VERSION, 0, 0, 0, 0, 0, 0, 0];
    head[4..].copy_from_slice(&timestamp.to_be_bytes());
    head
}

/// The head of a received server cookie.
fn head_of(server: &[u8]) -> [u8; 8] {
    let mut head = [0u8; 8];
    head.copy_from_slice(&server[..8]);
    head
}

/// `now - then` in RFC 1982 serial arithmetic: negative when `then` is ahead.
fn age(now: u32, then: u32) -> i64 {
    i64::from(now.wrapping_sub(then) as i32)
}

/// Checks the COOKIE option `option` (`None`: absent) of a query from `client` at `now`.
pub fn check(
    option: Option<&[u8]>,
    client: IpAddr,
    now: u32,
    secrets: &CookieSecrets,
) -> CookieCheck {
    let Some(option) = option else {
        return CookieCheck::Absent;
    };
    match option.len() {
        CLIENT_COOKIE_LEN => return CookieCheck::ClientOnly,
        16..=40 => {}
        _ => return CookieCheck::Malformed,
    }
    let (client_cookie, server) = option.split_at(CLIENT_COOKIE_LEN);
    if server.len() != SERVER_COOKIE_LEN || server[0] != VERSION {
        return CookieCheck::Invalid;
    }
    let timestamp = u32::from_be_bytes([server[4], server[5], server[6], server[7]]);
    let age = age(now, timestamp);
    if age > i64::from(MAX_AGE) || age < -i64::from(MAX_AHEAD) {
        return CookieCheck::Invalid;
    }
    let made_by = |secret: &[u8; 16]| {
        server_cookie(client_cookie, client, head_of(server), secret)[..] == *server
    };
    if made_by(&secrets.current) || secrets.previous.as_ref().is_some_and(made_by) {
        CookieCheck::Valid
    } else {
        CookieCheck::Invalid
    }
}

/// An answer's COOKIE option: the client cookie, then our server cookie.
pub type AnswerCookie = [u8; CLIENT_COOKIE_LEN + SERVER_COOKIE_LEN];

/// The COOKIE option of the answer into `out`: the client cookie, then the server cookie
/// it sent when still young enough, else a fresh one made with the current secret.
pub fn answer_cookie(
    option: &[u8],
    checked: CookieCheck,
    client: IpAddr,
    now: u32,
    secrets: &CookieSecrets,
    out: &mut AnswerCookie,
) {
    let client_cookie = &option[..CLIENT_COOKIE_LEN];
    out[..CLIENT_COOKIE_LEN].copy_from_slice(client_cookie);
    if checked == CookieCheck::Valid {
        let server = &option[CLIENT_COOKIE_LEN..];
        let timestamp = u32::from_be_bytes([server[4], server[5], server[6], server[7]]);
        let made_with_current =
            server_cookie(client_cookie, client, head_of(server), &secrets.current)[..] == *server;
        let fresh_form = server[1..4] == [0, 0, 0];
        if made_with_current && fresh_form && age(now, timestamp) < i64::from(RENEW_AFTER) {
            out[CLIENT_COOKIE_LEN..].copy_from_slice(server);
            return;
        }
    }
    out[CLIENT_COOKIE_LEN..].copy_from_slice(&server_cookie(
        client_cookie,
        client,
        fresh_head(now),
        &secrets.current,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn key(text: &str) -> [u8; 16] {
        hex(text).try_into().unwrap()
    }

    /// One exchange of RFC 9018 Appendix A: the query's COOKIE option, the client, the
    /// secrets, the time, the verdict, and the answer's COOKIE option.
    fn exchange(
        query: &str,
        client: &str,
        secrets: &CookieSecrets,
        now: u32,
        verdict: CookieCheck,
        answer: &str,
    ) {
        let client: IpAddr = client.parse().unwrap();
        let option = hex(query);
        let checked = check(Some(&option), client, now, secrets);
        assert_eq!(checked, verdict, "{query}");
        let mut out = [0u8; 24];
        answer_cookie(&option, checked, client, now, secrets, &mut out);
        assert_eq!(out.to_vec(), hex(answer), "{query}");
    }

    #[test]
    fn test_9018_appendix_a_vectors() {
        let a = CookieSecrets {
            current: key("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            previous: None,
        };
        // A.1: learning a new server cookie.
        exchange(
            "2464c4abcf10c957",
            "198.51.100.100",
            &a,
            1_559_731_985,
            CookieCheck::ClientOnly,
            "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
        );
        // A.2: 40 minutes later, the same client gets a renewed one.
        exchange(
            "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
            "198.51.100.100",
            &a,
            1_559_734_385,
            CookieCheck::Valid,
            "2464c4abcf10c957010000005cf7a871d4a564a1442aca77",
        );
        // A.3: reserved octets set, hashed as they are: the cookie verifies within its
        // hour; at 1559734700 (1 h 52 min later) it is too old (RFC 9018 §4.3), and the
        // answer is the fresh cookie of the RFC, reserved octets zero.
        let client: IpAddr = "203.0.113.203".parse().unwrap();
        let option = hex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");
        assert_eq!(
            check(Some(&option), client, 1_559_727_985 + 60, &a),
            CookieCheck::Valid
        );
        exchange(
            "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5",
            "203.0.113.203",
            &a,
            1_559_734_700,
            CookieCheck::Invalid,
            "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e",
        );
        // A.4: IPv6, the secret rolled over: the previous one still validates, and the
        // answer is made with the new one.
        let rolled = CookieSecrets {
            current: key("445536bcd2513298075a5d379663c962"),
            previous: Some(key("dd3bdf9344b678b185a6f5cb60fca715")),
        };
        exchange(
            "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
            "2001:db8:220:1:59de:d0f4:8769:82b8",
            &rolled,
            1_559_741_961,
            CookieCheck::Valid,
            "22681ab97d52c298010000005cf7c609a6bb79d16625507a",
        );
    }

    #[test]
    fn lengths_times_secrets_and_addresses_decide() {
        let old = [7u8; 16];
        let secrets = CookieSecrets {
            current: [9u8; 16],
            previous: Some(old),
        };
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let now = 1_800_000_000;
        assert_eq!(check(None, client, now, &secrets), CookieCheck::Absent);
        assert_eq!(
            check(Some(&[1; 8]), client, now, &secrets),
            CookieCheck::ClientOnly
        );
        for len in [0, 7, 9, 15, 41] {
            assert_eq!(
                check(Some(&vec![1; len]), client, now, &secrets),
                CookieCheck::Malformed,
                "{len}"
            );
        }
        let with = |secret: &[u8; 16], at: u32| {
            let mut option = vec![1u8; 8];
            option.extend_from_slice(&server_cookie(&[1; 8], client, fresh_head(at), secret));
            option
        };
        assert_eq!(
            check(Some(&with(&secrets.current, now)), client, now, &secrets),
            CookieCheck::Valid
        );
        assert_eq!(
            check(Some(&with(&old, now)), client, now, &secrets),
            CookieCheck::Valid,
            "previous secret"
        );
        assert_eq!(
            check(Some(&with(&[3; 16], now)), client, now, &secrets),
            CookieCheck::Invalid
        );
        assert_eq!(
            check(
                Some(&with(&secrets.current, now - 3_601)),
                client,
                now,
                &secrets
            ),
            CookieCheck::Invalid
        );
        assert_eq!(
            check(
                Some(&with(&secrets.current, now + 301)),
                client,
                now,
                &secrets
            ),
            CookieCheck::Invalid
        );
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(
            check(Some(&with(&secrets.current, now)), other, now, &secrets),
            CookieCheck::Invalid
        );
        // A cookie made with the previous secret is replaced with one of the current.
        let mut out = [0u8; 24];
        answer_cookie(
            &with(&old, now),
            CookieCheck::Valid,
            client,
            now,
            &secrets,
            &mut out,
        );
        assert_eq!(check(Some(&out), client, now, &secrets), CookieCheck::Valid);
        assert_ne!(out[8..].to_vec(), with(&old, now)[8..].to_vec());
    }
}
