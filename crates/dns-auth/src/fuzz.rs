//! Fuzzing entry points (used by `fuzz/` and by the corpus replay test). Not API.

use std::sync::{Arc, OnceLock};

use dns_wire::Header;
use dns_zone::{ZoneSet, load_zone_str};

use crate::{AnswerConfig, Outcome, Transport, respond};

const FUZZ_ZONE: &str = "$ORIGIN example.\n$TTL 300\n@ SOA ns hm 1 2 3 4 60\n@ NS ns\n\
ns A 192.0.2.1\nwww A 192.0.2.2\nalias CNAME www\n*.w TXT \"x\"\nsub NS ns.sub\n\
ns.sub A 192.0.2.3\nd DNAME example.net.\nmx MX 10 www\nloop CNAME loop\n";

fn zones() -> &'static ZoneSet {
    static ZONES: OnceLock<ZoneSet> = OnceLock::new();
    ZONES.get_or_init(|| {
        let mut set = ZoneSet::new();
        // The fixed zone above is valid; a failure here is a bug in this file.
        if let Ok((zone, _)) = load_zone_str(FUZZ_ZONE, b"\x07example\x00") {
            set.insert(Arc::new(zone));
        }
        set
    })
}

/// Answers `data` as a query over UDP and over TCP and checks every response: QR set, the
/// query's ID, a length within the transport's limit, and sections that parse.
pub fn respond_to_anything(data: &[u8]) {
    let config = AnswerConfig {
        identity: Some((*b"fuzz").into()),
        ..AnswerConfig::default()
    };
    let mut out = Vec::new();
    for transport in [Transport::Udp, Transport::Tcp] {
        match respond(data, zones(), &config, transport, &mut out) {
            Outcome::Dropped => {}
            Outcome::Answered { len, .. } => {
                assert_eq!(len, out.len());
                let header = Header::parse(&out).expect("a response has a header");
                assert!(header.flags & Header::QR != 0);
                assert_eq!(Some(header.id), Header::parse(data).map(|h| h.id));
                if transport == Transport::Udp {
                    assert!(len <= 4096, "UDP answer of {len} octets");
                }
                assert!(
                    sections_parse(&out, header),
                    "malformed response to {data:02x?}"
                );
            }
        }
    }
}

/// Walks every question and record of a response.
fn sections_parse(msg: &[u8], header: Header) -> bool {
    let mut at = 12;
    for _ in 0..header.qdcount {
        let Ok((_, end)) = dns_wire::Name::parse_compressed(msg, at) else {
            return false;
        };
        at = end + 4;
    }
    let records = header.ancount as usize + header.nscount as usize + header.arcount as usize;
    for _ in 0..records {
        let Ok((_, end)) = dns_wire::Name::parse_compressed(msg, at) else {
            return false;
        };
        let Some(fixed) = msg.get(end..end + 10) else {
            return false;
        };
        at = end + 10 + u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
    }
    at == msg.len()
}
