//! A validated `[[zone]]` entry.

use std::path::PathBuf;

use serde::Deserialize;

use super::transfer::ZoneTransfer;

/// A zone's part in catalog zones (RFC 9432).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatalogRole {
    /// A catalog we transfer from primaries; its members become secondaries here.
    Consumer,
    /// A catalog we build from our own primary zones.
    Producer,
}

/// A validated zone entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneConfig {
    /// Origin in wire form, lowercased.
    pub origin: Vec<u8>,
    /// The zone file (primaries); secondaries keep their copy in the storage directory.
    pub file: Option<PathBuf>,
    /// Primaries, NOTIFY targets, access lists, source address.
    pub transfer: ZoneTransfer,
    /// Whether this zone is a catalog (consumed or produced).
    pub catalog: Option<CatalogRole>,
    /// A load warns about RRSIGs that have expired or expire within this many seconds.
    pub signature_window: u32,
}
