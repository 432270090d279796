//! DNSSEC validation, its first layer: whether a signature over an RRset was made by a
//! key, and whether a DS record designates a key. No I/O and no clock: `now` is seconds
//! since 1970 modulo 2^32, compared in RFC 1982 serial arithmetic (RFC 4034 §3.1.5).
//!
//! ```text
//!  RRSIG RDATA ──► verify::Rrsig::parse, Rrsig::check (type, algorithm, labels, signer, time)
//!  DNSKEY RDATA ──► keys::Dnskey (flags, protocol, key tag) ──► Dnskey::key (ring's form)
//!  RRset + RRSIG ──► canonical::signed_data (RFC 4034 §3.1.8.1, §6) ──► ring verifies
//!  RRset + RRSIGs + DNSKEYs ──► verify_rrset_with_keys (at most MAX_VERIFICATIONS tries)
//!  owner + DNSKEY + DS ──► keys::ds_matches (a link of a chain of trust)
//! ```
//!
//! What it owns: reading RRSIG and DNSKEY RDATA, the canonical form and order of an
//! RRset, the checks of RFC 4035 §5.3 and the public-key operations (`ring`: RSA/SHA-256,
//! RSA/SHA-512, ECDSA P-256 and P-384, Ed25519), and the bound on how many of those one
//! RRset may cost (KeyTrap, CVE-2023-50387). Every failure is a [`Bogus`] reason.
//!
//! `denial` holds the proofs that a name or type does not exist (NSEC, NSEC3 with
//! opt-out, and the closer-name proof a wildcard expansion needs), over NSEC/NSEC3 RRsets
//! whose signatures were verified here.
//!
//! What it does not: which keys to believe (the chain of trust from a trust anchor down
//! DS and DNSKEY RRsets) and the security status the cache keeps. Those come next, and call in here. The caller also keeps what the RDATA cannot
//! tell: that an RRSIG has its RRset's owner and class, and that the keys tried are the
//! DNSKEY RRset at the RRSIG's signer name.
//!
//! Modules depend downwards only: `verify` on `canonical` and `keys`, which depend on
//! nothing here.

pub mod canonical;
pub mod denial;
pub mod keys;
pub mod verify;

pub use canonical::{canonical_rdata, signed_data};
pub use denial::{DenialError, Proof};
pub use keys::{Dnskey, KeyError, PublicKey, ds_matches, key_tag};
pub use verify::{Bogus, MAX_VERIFICATIONS, Rrsig, verify_rrset, verify_rrset_with_keys};

/// Test vectors shared by the tests of the submodules: published examples (RFC 5702,
/// RFC 6605, RFC 8080 with erratum 4935), each checked with dnspython 2.9 before it was
/// written here, and one RRset signed by dnspython for what the RFCs do not show (an
/// RSA/SHA-256 key of 1024 bits, a wildcard, names in capitals, records out of order).
#[cfg(test)]
mod vectors {
    use dns_wire::name_from_text;
    use dns_wire::types::{class, rtype};

    use super::keys::algorithm;
    use crate::rrset::RrSet;

    /// An RRset, a signature over it, the key that made it, and a time within the
    /// signature's validity.
    pub(crate) struct Vector {
        pub(crate) set: RrSet,
        pub(crate) rrsig: Vec<u8>,
        pub(crate) dnskey: Vec<u8>,
        pub(crate) now: u32,
    }

    /// RRSIG fields as presentation format gives them.
    pub(crate) struct Sig {
        pub(crate) type_covered: u16,
        pub(crate) algorithm: u8,
        pub(crate) labels: u8,
        pub(crate) original_ttl: u32,
        pub(crate) expiration: u32,
        pub(crate) inception: u32,
        pub(crate) key_tag: u16,
        pub(crate) signer: &'static str,
        pub(crate) signature: &'static str,
    }

    impl Sig {
        /// RFC 8080 §6.1's RRSIG, as erratum 4935 corrected it (Labels 2, and the
        /// signature made with that).
        pub(crate) fn example() -> Self {
            Self {
                type_covered: rtype::MX,
                algorithm: algorithm::ED25519,
                labels: 2,
                original_ttl: 3600,
                expiration: 1_440_021_600,
                inception: 1_438_207_200,
                key_tag: 3613,
                signer: "example.com.",
                signature: "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3f\
                            x8A4M3e23mRZ9VrbpMngwcrqNAg==",
            }
        }

        /// The RDATA.
        pub(crate) fn rdata(&self) -> Vec<u8> {
            let mut rdata = self.type_covered.to_be_bytes().to_vec();
            rdata.extend_from_slice(&[self.algorithm, self.labels]);
            rdata.extend_from_slice(&self.original_ttl.to_be_bytes());
            rdata.extend_from_slice(&self.expiration.to_be_bytes());
            rdata.extend_from_slice(&self.inception.to_be_bytes());
            rdata.extend_from_slice(&self.key_tag.to_be_bytes());
            rdata.extend_from_slice(&name(self.signer));
            rdata.extend_from_slice(&base64(self.signature));
            rdata
        }
    }

    /// Decodes base64 (RFC 4648 §4), ignoring whitespace and padding.
    pub(crate) fn base64(text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 3 / 4);
        let mut bits: u32 = 0;
        let mut held = 0;
        for c in text.bytes() {
            let value = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' => continue,
                c if c.is_ascii_whitespace() => continue,
                c => panic!("not base64: {:?}", char::from(c)),
            };
            bits = (bits << 6) | u32::from(value);
            held += 6;
            if held >= 8 {
                held -= 8;
                out.push((bits >> held) as u8);
                bits &= (1 << held) - 1;
            }
        }
        out
    }

    /// Decodes hexadecimal, ignoring whitespace.
    pub(crate) fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_digit(16).expect("hex digit") as u8)
            .collect();
        let pairs = digits.chunks_exact(2);
        assert!(pairs.remainder().is_empty(), "odd number of hex digits");
        pairs.map(|pair| (pair[0] << 4) | pair[1]).collect()
    }

    /// A name in wire form, case kept.
    pub(crate) fn name(text: &str) -> Vec<u8> {
        name_from_text(text).unwrap()
    }

    /// DNSKEY RDATA of protocol 3.
    pub(crate) fn dnskey(flags: u16, algorithm: u8, key: &str) -> Vec<u8> {
        let mut rdata = flags.to_be_bytes().to_vec();
        rdata.extend_from_slice(&[3, algorithm]);
        rdata.extend_from_slice(&base64(key));
        rdata
    }

    /// MX RDATA.
    pub(crate) fn mx(preference: u16, exchange: &str) -> Vec<u8> {
        let mut rdata = preference.to_be_bytes().to_vec();
        rdata.extend_from_slice(&name(exchange));
        rdata
    }

    /// An RRset of class IN, the owner lowercased as `rrset::group` leaves it.
    fn set(owner: &str, rtype: u16, rdatas: Vec<Vec<u8>>) -> RrSet {
        RrSet {
            owner: name(owner).to_ascii_lowercase(),
            rtype,
            class: class::IN,
            ttl: 3600,
            rdatas,
            sigs: Vec::new(),
        }
    }

    /// RFC 8080 §6.1: Ed25519, `example.com. MX 10 mail.example.com.`.
    pub(crate) fn ed25519_example1() -> Vector {
        Vector {
            set: set("example.com.", rtype::MX, vec![mx(10, "mail.example.com.")]),
            rrsig: Sig::example().rdata(),
            dnskey: dnskey(
                257,
                algorithm::ED25519,
                "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
            ),
            now: 1_439_000_000,
        }
    }

    /// RFC 8080 §6.1, the second key (erratum 4935's signature).
    pub(crate) fn ed25519_example2() -> Vector {
        let sig = Sig {
            key_tag: 35217,
            signature: "zXQ0bkYgQTEFyfLyi9QoiY6D8ZdYo4wyUhVioYZXFdT410QPRITQSqJSnzQ\
                        oSm5poJ7gD7AQR0O7KuI5k2pcBg==",
            ..Sig::example()
        };
        Vector {
            rrsig: sig.rdata(),
            dnskey: dnskey(
                257,
                algorithm::ED25519,
                "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
            ),
            ..ed25519_example1()
        }
    }

    /// RFC 6605 §6.1: ECDSA P-256, `www.example.net. A 192.0.2.1`, times
    /// 20100909100439 and 20100812100439.
    pub(crate) fn p256() -> Vector {
        let sig = Sig {
            type_covered: rtype::A,
            algorithm: algorithm::ECDSAP256SHA256,
            labels: 3,
            original_ttl: 3600,
            expiration: 1_284_026_679,
            inception: 1_281_607_479,
            key_tag: 55648,
            signer: "example.net.",
            signature: "qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXA\
                        yGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==",
        };
        Vector {
            set: set("www.example.net.", rtype::A, vec![vec![192, 0, 2, 1]]),
            rrsig: sig.rdata(),
            dnskey: dnskey(
                257,
                algorithm::ECDSAP256SHA256,
                "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb\
                 krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
            ),
            now: 1_283_000_000,
        }
    }

    /// RFC 6605 §6.2: ECDSA P-384, `www.example.net. A 192.0.2.1`, times
    /// 20100909102025 and 20100812102025.
    pub(crate) fn p384() -> Vector {
        let sig = Sig {
            type_covered: rtype::A,
            algorithm: algorithm::ECDSAP384SHA384,
            labels: 3,
            original_ttl: 3600,
            expiration: 1_284_027_625,
            inception: 1_281_608_425,
            key_tag: 10771,
            signer: "example.net.",
            signature: "/L5hDKIvGDyI1fcARX3z65qrmPsVz73QD1Mr5CEqOiLP\
                        95hxQouuroGCeZOvzFaxsT8Glr74hbavRKayJNuydCuz\
                        WTSSPdz7wnqXL5bdcJzusdnI0RSMROxxwGipWcJm",
        };
        Vector {
            set: set("www.example.net.", rtype::A, vec![vec![192, 0, 2, 1]]),
            rrsig: sig.rdata(),
            dnskey: dnskey(
                257,
                algorithm::ECDSAP384SHA384,
                "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1\
                 w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8\
                 /uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40",
            ),
            now: 1_283_000_000,
        }
    }

    /// RFC 5702 §6.2: RSA/SHA-512 with a 1024-bit key, `www.example.net. A 192.0.2.91`,
    /// times 20300101000000 and 20000101000000.
    pub(crate) fn rsasha512() -> Vector {
        let sig = Sig {
            signature: "tsb4wnjRUDnB1BUi+t6TMTXThjVnG+eCkWqjvvjhzQL1d0YRoOe0CbxrVDYd0xDtsuJRa\
                        eUw1ep94PzEWzr0iGYgZBWm/zpq+9fOuagYJRfDqfReKBzMweOL\
                        DiNa8iP5g9vMhpuv6OPlvpXwm9Sa9ZXIbNl1MBGk0fthPgxdDLw=",
            ..rfc5702_sig()
        };
        Vector {
            set: set("www.example.net.", rtype::A, vec![vec![192, 0, 2, 91]]),
            rrsig: sig.rdata(),
            dnskey: dnskey(
                256,
                algorithm::RSASHA512,
                "AwEAAdHoNTOW+et86KuJOWRDp1pndvwb6Y83nSVXXyLA3DLroROUkN6X0O6pnWnjJQujX/AyhqFD\
                 xj13tOnD9u/1kTg7cV6rklMrZDtJCQ5PCl/D7QNPsgVsMu1J2Q8g\
                 pMpztNFLpPBz1bWXjDtaR7ZQBlZ3PFY12ZTSncorffcGmhOL",
            ),
            now: 1_700_000_000,
        }
    }

    /// RFC 5702 §6.1: RSA/SHA-256 with a 512-bit key (too short for us), same RRset.
    pub(crate) fn rsasha256_512_bit() -> Vector {
        let sig = Sig {
            algorithm: algorithm::RSASHA256,
            key_tag: 9033,
            signature: "kRCOH6u7l0QGy9qpC9l1sLncJcOKFLJ7GhiUOibu4teYp5VE9RncriShZNz85mwlMgNEa\
                        cFYK/lPtPiVYP4bwg==",
            ..rfc5702_sig()
        };
        Vector {
            rrsig: sig.rdata(),
            dnskey: dnskey(
                256,
                algorithm::RSASHA256,
                "AwEAAcFcGsaxxdgiuuGmCkVImy4h99CqT7jwY3pexPGcnUFtR2Fh36BponcwtkZ4cAgtvd4Qs8P\
                 kxUdp6p/DlUmObdk=",
            ),
            ..rsasha512()
        }
    }

    /// The RRSIG fields RFC 5702's two examples share (§6.2's algorithm and key tag).
    fn rfc5702_sig() -> Sig {
        Sig {
            type_covered: rtype::A,
            algorithm: algorithm::RSASHA512,
            labels: 3,
            original_ttl: 3600,
            expiration: 1_893_456_000,
            inception: 946_684_800,
            key_tag: 3740,
            signer: "example.net.",
            signature: "",
        }
    }

    /// Made with dnspython 2.9.2 (a fresh 1024-bit RSA/SHA-256 key, flags 257): the MX
    /// RRset `*.example.org. 300 MX 10 Mail.Example.ORG.` and `MX 5 backup.example.org.`
    /// signed with inception 1700000000 and expiration 1800000000, here as the expansion
    /// `a.b.example.org.`, its records out of order and one of them twice, in other case.
    pub(crate) fn rsasha256_wildcard() -> Vector {
        let sig = Sig {
            type_covered: rtype::MX,
            algorithm: algorithm::RSASHA256,
            labels: 2,
            original_ttl: 300,
            expiration: 1_800_000_000,
            inception: 1_700_000_000,
            key_tag: 52100,
            signer: "example.org.",
            signature: "TMg8LiD4o1pCbumK4KOBAi3NS/koW5Jl35ovpHGVDqMtbh/14S/0PEXlYU9uMsgg\
                        xjp82grLG7azMJGOxVqmKKFdI0N0oMqNv35KFSK1FUOFheKLYdSpQyyJPeY00WTM\
                        kyi75ja6k3Bj8n0XzgC1gu/4OzO8MABplkjZD/NVsFo=",
        };
        let records = vec![
            mx(10, "Mail.Example.ORG."),
            mx(5, "backup.example.org."),
            mx(10, "mail.example.org."),
        ];
        Vector {
            set: set("a.b.example.org.", rtype::MX, records),
            rrsig: sig.rdata(),
            dnskey: dnskey(
                257,
                algorithm::RSASHA256,
                "AwEAAeUVbL7BztG+2HKCFRB21gZ5PD+ux6MWHLBfL7XSLSOrhmEXUYP5C5ULuncx\
                 /xgQowjeC9JV0WXTN9aZ88WZNLsJibY4s1bUkSje/4fKcyDltjSCW6oRK3HV7v4S\
                 rXNfpnJWxDlESGlnoCDBf086zucudl438/tAC9MXZ6nvizuB",
            ),
            now: 1_750_000_000,
        }
    }
}
