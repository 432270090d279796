//! DNS wire format for anyns's query path.
//!
//! This crate owns the bytes of a DNS message on the hot path: parsing an incoming query
//! ([`Query::parse`]), and writing a response with name compression and rollback
//! ([`MessageWriter`]). It is hand-written rather than taken from a DNS library because the
//! per-query path must not allocate and must cost a few thousand instructions
//! (docs/decisions/0001-dns-library.md); zone files and record types come from the `domain`
//! crate in `dns-zone`.
//!
//! What it does not do: no I/O, no clock, no zone lookups. Parsing never panics on any input;
//! writing never panics (it reports [`WriteError::NoSpace`] instead).
//!
//! ```text
//!  bytes ──► Query::parse ──► Query { id, flags, qname (as sent + lowercased), qtype, edns }
//!  Query + answer data ──► MessageWriter (header, question, RRs, compression, OPT) ──► bytes
//!  write_query ──► bytes to another server; its answer ──► Response::parse ──► records
//! ```
#![forbid(unsafe_code)]

mod header;
mod name;
mod query;
mod record;
mod response;
pub mod types;
pub mod writer;

pub use header::{Header, Opcode};
pub use name::{Name, NameError, lowercase_in_place, name_from_text, name_to_text};
pub use query::{Edns, ParseError, Query, answer_limit, framed_edns};
pub use record::{Record, RecordFields, for_each_ttl, read_record, read_record_into};
pub use response::{QueryOptions, Records, Response, write_query};
pub use writer::{
    Checkpoint, MessageWriter, Owner, RdataNames, Section, WriteError, append_opt_option,
};
