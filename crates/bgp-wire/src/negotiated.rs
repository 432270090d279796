//! The session parameters fixed by the OPEN exchange that change how UPDATEs are encoded;
//! passed to parse and emit by the session, read by UPDATE and its path attributes.

/// Session parameters, fixed by the OPEN exchange, that change the encoding of UPDATEs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Negotiated {
    /// Both speakers sent the 4-octet AS capability, so AS_PATH and AGGREGATOR carry
    /// 4-octet AS numbers (RFC 6793 §4.1).
    pub four_octet_as: bool,
}

impl Negotiated {
    /// Both sides support 4-octet AS numbers.
    pub const FOUR_OCTET_AS: Self = Self {
        four_octet_as: true,
    };
}
