//! The zone model of anyns: what a loaded zone looks like in memory, how it is built from
//! an RFC 1035 master file, and the semantic checks a zone must pass before it serves.
//!
//! ```text
//!  zone file ──► load: text (fast reader of common types) or domain's scanner ──► records
//!  records ──► ZoneBuilder (dedupe, RRsets, empty non-terminals, checks) ──► Zone
//!  Zone ──► lookups by lowercased wire name (open-addressing table of node indices)
//! ```
//!
//! Zone files are read by our own reader of the common record types (`text`,
//! docs/decisions/0006), and, whenever it gives up, by NLnet Labs' `domain` crate
//! (docs/decisions/0001, `$INCLUDE` and every other type); everything
//! after the scan is ours, laid out for the query path: one node per owner name, RRsets with
//! their RDATA packed into one allocation, names lowercased once at load.
//!
//! Signed zones are indexed at load (`dnssec`): the RRSIGs covering each RRset, NSEC owners
//! in canonical order, NSEC3 owners in hash order; the NSEC3 chain is checked, and expiring
//! signatures are reported against a `now` the caller passes in.
//!
//! Versions: `transfer` lists a zone's records (AXFR), computes the difference of two
//! versions and applies differences; `patch` applies a difference that only changes data by
//! encoding the touched nodes again and sharing the rest with the old version; `journal`
//! is the appendable file format of differences; `difference` the type they share;
//! `reload` reads a changed zone file against the serving version into a difference and
//! patches it, when it can.
//!
//! What it does not do: answer queries (that is `dns-auth`), watch files or read the clock.
#![forbid(unsafe_code)]

mod build;
mod catalog;
mod check;
mod denial;
mod difference;
mod dnssec;
mod domain_reader;
mod error;
#[doc(hidden)]
pub mod fuzz;
mod hash;
mod journal;
mod load;
mod patch;
mod pending;
mod reload;
mod table;
mod text;
mod transfer;
mod zone;

pub use build::ZoneBuilder;
pub use catalog::{CatalogError, CatalogMember, build_catalog, catalog_members};
pub use denial::{Denial, NSEC3_HASH_LEN, NSEC3_LABEL_LEN, Nsec3Param};
pub use difference::{Diff, soa_serial};
pub use dnssec::{Nsec3Lookup, canonical_cmp};
pub use error::{Problem, Severity, ZoneError};
pub use hash::hash_with_seed;
pub use journal::{decode_journal, encode_journal, encode_journal_segments};
pub use load::{
    DEFAULT_SIGNATURE_WINDOW, load_zone_file, load_zone_file_at, load_zone_str, read_records_file,
    read_records_str,
};
pub use reload::{Reloaded, reload_zone_file_at};
pub use transfer::{
    RecordRef, SnapshotWriter, apply, decode_snapshot, diff, encode_snapshot, zone_from_records,
};
pub use zone::{Node, Rrset, Zone, ZoneSet, rdata_names_for};
