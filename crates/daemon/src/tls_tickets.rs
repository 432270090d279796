//! TLS session tickets under a key every site of a cloud shares: a client that resumes its
//! session after its route moved lands on a site that can open the ticket (the same idea as
//! the shared DNS-cookie secret). Tickets are sealed with ChaCha20-Poly1305 (ring) under
//! the first key of `[tls] ticket-key-file` and opened with it or with the second (the
//! previous key, while a rotation goes site by site); a ticket sealed by another key fails
//! to open and the client makes a full handshake.

use std::path::Path;

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::config::ConfigError;

/// How long a ticket is offered for, seconds (RFC 8446 §4.6.1 caps it at a week; a day
/// bounds what one stolen key can resume).
const LIFETIME: u32 = 24 * 3600;

/// Seals and opens tickets with the shared key.
pub(crate) struct SharedTicketer {
    key: LessSafeKey,
    /// The previous key: tickets it sealed still open.
    previous: Option<LessSafeKey>,
    random: SystemRandom,
}

impl std::fmt::Debug for SharedTicketer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedTicketer")
    }
}

impl SharedTicketer {
    /// The keys from `file`: the current one on the first line, the previous one (while
    /// rotating) on the second, 64 hex digits (32 octets) each; blank lines and `#`
    /// comments aside.
    pub(crate) fn from_file(file: &Path) -> Result<Self, ConfigError> {
        let key = "ticket-key-file";
        let text = std::fs::read_to_string(file)
            .map_err(|e| ConfigError::at(key, format!("{}: {e}", file.display())))?;
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let parse = |hex: &str| -> Result<LessSafeKey, ConfigError> {
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| {
                    hex.get(i..i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                })
                .collect::<Option<Vec<u8>>>()
                .filter(|b| b.len() == 32)
                .ok_or_else(|| {
                    ConfigError::at(
                        key,
                        format!("{}: not 64 hex digits (a 256-bit key)", file.display()),
                    )
                    .hint("e.g. `openssl rand -hex 32 > ticket.key`, the same file at every site")
                })?;
            let unbound = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
                .map_err(|_| ConfigError::at(key, "unusable key"))?;
            Ok(LessSafeKey::new(unbound))
        };
        let current = parse(lines.next().unwrap_or_default())?;
        let previous = lines.next().map(parse).transpose()?;
        if lines.next().is_some() {
            return Err(ConfigError::at(
                key,
                format!("{}: more than two keys (current, previous)", file.display()),
            ));
        }
        Ok(Self {
            key: current,
            previous,
            random: SystemRandom::new(),
        })
    }
}

impl rustls::server::ProducesTickets for SharedTicketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        LIFETIME
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).ok()?;
        let mut sealed = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut sealed,
            )
            .ok()?;
        let mut ticket = nonce.to_vec();
        ticket.extend_from_slice(&sealed);
        Some(ticket)
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let (nonce, sealed) = cipher.split_at_checked(NONCE_LEN)?;
        let open = |key: &LessSafeKey| {
            let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
            let mut opened = sealed.to_vec();
            let plain = key.open_in_place(nonce, Aad::empty(), &mut opened).ok()?;
            Some(plain.to_vec())
        };
        open(&self.key).or_else(|| self.previous.as_ref().and_then(open))
    }
}

#[cfg(test)]
mod tests {
    use rustls::server::ProducesTickets;

    use super::*;

    fn ticketer(hex: &str) -> SharedTicketer {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ticket.key");
        std::fs::write(&file, hex).unwrap();
        SharedTicketer::from_file(&file).unwrap()
    }

    #[test]
    fn a_ticket_opens_under_the_same_key_only() {
        let key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let (a, b) = (ticketer(key), ticketer(key));
        let other = ticketer(&key.replace("00", "01"));
        let ticket = a.encrypt(b"session state").unwrap();
        assert_eq!(
            b.decrypt(&ticket).as_deref(),
            Some(&b"session state"[..]),
            "another site"
        );
        assert_eq!(other.decrypt(&ticket), None, "another key");
        let mut forged = ticket.clone();
        *forged.last_mut().unwrap() ^= 1;
        assert_eq!(a.decrypt(&forged), None, "tampered");
        assert_eq!(a.decrypt(&ticket[..5]), None, "short");
        assert_ne!(a.encrypt(b"x"), a.encrypt(b"x"), "fresh nonces");
    }

    #[test]
    fn a_rotation_keeps_the_previous_key_s_tickets_open() {
        let old = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let new = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
        let before = ticketer(old);
        let rotating = ticketer(&format!("{new}\n{old}\n"));
        let after = ticketer(new);
        let old_ticket = before.encrypt(b"state").unwrap();
        assert_eq!(
            rotating.decrypt(&old_ticket).as_deref(),
            Some(&b"state"[..])
        );
        let new_ticket = rotating.encrypt(b"state").unwrap();
        assert_eq!(
            after.decrypt(&new_ticket).as_deref(),
            Some(&b"state"[..]),
            "sealed with the new key"
        );
        assert_eq!(before.decrypt(&new_ticket), None);
        assert_eq!(after.decrypt(&old_ticket), None, "the old key dropped");
    }

    #[test]
    fn a_key_of_the_wrong_length_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ticket.key");
        std::fs::write(&file, "abcd").unwrap();
        let err = SharedTicketer::from_file(&file).unwrap_err().to_string();
        assert!(
            err.starts_with("ticket-key-file:") && err.contains("64 hex digits"),
            "{err}"
        );
    }
}
