//! The change from one version of a zone to the next, as IXFR carries it (RFC 1995): the
//! type that computing, patching, applying and journaling differences share.

use dns_wire::Record;

/// The change from one version of a zone to the next (one IXFR "difference sequence").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diff {
    /// The SOA before.
    pub old_soa: Record,
    /// The SOA after.
    pub new_soa: Record,
    /// Records removed (SOA excluded).
    pub removed: Vec<Record>,
    /// Records added (SOA excluded).
    pub added: Vec<Record>,
}

impl Diff {
    /// Serial before.
    pub fn from_serial(&self) -> u32 {
        soa_serial(&self.old_soa.rdata).unwrap_or(0)
    }

    /// Serial after.
    pub fn to_serial(&self) -> u32 {
        soa_serial(&self.new_soa.rdata).unwrap_or(0)
    }
}

/// The SOA serial in SOA RDATA.
pub fn soa_serial(rdata: &[u8]) -> Option<u32> {
    let fixed = rdata.get(rdata.len().checked_sub(20)?..)?;
    Some(u32::from_be_bytes(fixed[..4].try_into().ok()?))
}
