//! Numeric constants for DNS record types, classes, response codes and EDNS options.
//!
//! Plain `u16`/`u8` constants rather than enums: the query path compares and copies them,
//! and unknown values (RFC 3597) must pass through untouched.

/// Resource record types (IANA "Resource Record (RR) TYPEs").
pub mod rtype {
    /// RFC 1035 host address.
    pub const A: u16 = 1;
    /// RFC 1035 authoritative name server.
    pub const NS: u16 = 2;
    /// RFC 1035 canonical name.
    pub const CNAME: u16 = 5;
    /// RFC 1035 start of authority.
    pub const SOA: u16 = 6;
    /// RFC 1035 domain name pointer.
    pub const PTR: u16 = 12;
    /// RFC 1035 mail exchange.
    pub const MX: u16 = 15;
    /// RFC 1035 text strings.
    pub const TXT: u16 = 16;
    /// RFC 3596 IPv6 address.
    pub const AAAA: u16 = 28;
    /// RFC 2782 service location.
    pub const SRV: u16 = 33;
    /// RFC 6672 delegation name.
    pub const DNAME: u16 = 39;
    /// RFC 6891 EDNS0 pseudo-record.
    pub const OPT: u16 = 41;
    /// RFC 4034 delegation signer.
    pub const DS: u16 = 43;
    /// RFC 4034 signature.
    pub const RRSIG: u16 = 46;
    /// RFC 4034 next secure.
    pub const NSEC: u16 = 47;
    /// RFC 4034 DNS key.
    pub const DNSKEY: u16 = 48;
    /// RFC 5155 hashed next secure.
    pub const NSEC3: u16 = 50;
    /// RFC 8945 transaction signature.
    pub const TSIG: u16 = 250;
    /// RFC 1995 incremental transfer.
    pub const IXFR: u16 = 251;
    /// RFC 5936 full transfer.
    pub const AXFR: u16 = 252;
    /// RFC 1035 mailbox-related records (obsolete meta type).
    pub const MAILB: u16 = 253;
    /// RFC 1035 mail agent records (obsolete meta type).
    pub const MAILA: u16 = 254;
    /// RFC 1035 / RFC 8482 any type.
    pub const ANY: u16 = 255;
    /// RFC 1035 host information (the RFC 8482 synthesized answer uses it).
    pub const HINFO: u16 = 13;
}

/// Classes.
pub mod class {
    /// Internet.
    pub const IN: u16 = 1;
    /// Chaos (RFC 4892 server identity).
    pub const CH: u16 = 3;
    /// Any class.
    pub const ANY: u16 = 255;
}

/// Response codes (RFC 1035 §4.1.1, RFC 6891 §9 for the extended ones).
pub mod rcode {
    /// No error.
    pub const NOERROR: u16 = 0;
    /// Format error.
    pub const FORMERR: u16 = 1;
    /// Server failure.
    pub const SERVFAIL: u16 = 2;
    /// Name does not exist.
    pub const NXDOMAIN: u16 = 3;
    /// Not implemented.
    pub const NOTIMP: u16 = 4;
    /// Refused.
    pub const REFUSED: u16 = 5;
    /// RFC 6672: a DNAME substitution produced a name that is too long.
    pub const YXDOMAIN: u16 = 6;
    /// RFC 2136: not authoritative (used for NOTIFY to a non-secondary zone).
    pub const NOTAUTH: u16 = 9;
    /// RFC 6891: bad EDNS version (extended rcode 16).
    pub const BADVERS: u16 = 16;
    /// 23: BADCOOKIE (RFC 7873 §8): a valid client cookie with a server cookie the server
    /// no longer accepts; the client retries with the new one it sent.
    pub const BADCOOKIE: u16 = 23;
}

/// EDNS option codes.
pub mod option {
    /// RFC 5001 name server identifier.
    pub const NSID: u16 = 3;
    /// RFC 7873 cookie.
    pub const COOKIE: u16 = 10;
    /// EDNS EXPIRE (RFC 7314): a zone's remaining time until expiry.
    pub const EXPIRE: u16 = 9;
    /// RFC 7828 TCP keepalive.
    pub const TCP_KEEPALIVE: u16 = 11;
    /// RFC 7830 padding.
    pub const PADDING: u16 = 12;
    /// RFC 8914 extended DNS error.
    pub const EDE: u16 = 15;
}

/// RFC 8914 extended DNS error info codes used by anyns.
pub mod ede {
    /// 0: Other (with text: a resolver's work limit was hit).
    pub const OTHER: u16 = 0;
    /// 3: Stale Answer (served from expired cache data, RFC 8767).
    pub const STALE_ANSWER: u16 = 3;
    /// 6: DNSSEC Bogus (validation failed).
    pub const DNSSEC_BOGUS: u16 = 6;
    /// 7: Signature Expired.
    pub const SIGNATURE_EXPIRED: u16 = 7;
    /// 8: Signature Not Yet Valid.
    pub const SIGNATURE_NOT_YET_VALID: u16 = 8;
    /// 9: DNSKEY Missing (no key of the zone matches its DS).
    pub const DNSKEY_MISSING: u16 = 9;
    /// 10: RRSIGs Missing.
    pub const RRSIGS_MISSING: u16 = 10;
    /// 12: NSEC Missing (no proof of a denial in a signed zone).
    pub const NSEC_MISSING: u16 = 12;
    /// 22: No Reachable Authority (no name server of the zone answered).
    pub const NO_REACHABLE_AUTHORITY: u16 = 22;
    /// 23: Network Error (the answer could not be fetched in time).
    pub const NETWORK_ERROR: u16 = 23;
    /// 18: Prohibited (e.g. AXFR on an anycast listener).
    pub const PROHIBITED: u16 = 18;
    /// 20: Not Authoritative.
    pub const NOT_AUTHORITATIVE: u16 = 20;
    /// 21: Not Supported.
    pub const NOT_SUPPORTED: u16 = 21;
}
