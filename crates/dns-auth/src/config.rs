//! What a server says about itself and how large its answers may be.

/// RFC 6891 §6.2.5 and the DNS Flag Day 2020 recommendation: 1232 octets avoids IP
/// fragmentation on practically every path (1280-octet IPv6 minimum MTU minus headers).
pub const DEFAULT_UDP_PAYLOAD: u16 = 1232;

/// RFC 6891 §6.2.5: values below 512 are treated as 512.
pub(crate) const MIN_UDP_PAYLOAD: u16 = 512;

/// Answer settings shared by all listeners of a server.
#[derive(Clone, Debug)]
pub struct AnswerConfig {
    /// Largest UDP response we send and advertise in OPT.
    pub udp_payload: u16,
    /// The identity sent in NSID (RFC 5001) and CHAOS id.server/hostname.bind (RFC 4892);
    /// `None` hides it.
    pub identity: Option<Box<[u8]>>,
    /// The CHAOS version.bind/version.server answer; `None` refuses those queries.
    pub version: Option<Box<[u8]>>,
    /// RFC 7828 keepalive timeout advertised on TCP, in units of 100 ms.
    pub tcp_keepalive: u16,
}

impl Default for AnswerConfig {
    fn default() -> Self {
        Self {
            udp_payload: DEFAULT_UDP_PAYLOAD,
            identity: None,
            version: None,
            tcp_keepalive: 100,
        }
    }
}

/// How the query arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP: answers are limited by the payload sizes and truncated with TC.
    Udp,
    /// TCP: answers up to 65535 octets (RFC 7766).
    Tcp,
}

/// Options an answer carries beyond what its query and [`AnswerConfig`] decide, given by
/// the caller that knows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnswerExtras<'a> {
    /// The COOKIE option of the answer (`crate::cookies::answer_cookie`), when the query
    /// carried one and the server answers cookies.
    pub cookie: Option<&'a [u8]>,
    /// For a secondary zone, the seconds left until it expires, sent in an EXPIRE option
    /// (RFC 7314) when an SOA query asks; `None`: the zone's own SOA EXPIRE (a primary).
    pub expire: Option<u32>,
}
