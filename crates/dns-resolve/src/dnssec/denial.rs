//! Authenticated denial of existence: what the NSEC (RFC 4034 §4, RFC 4035 §5.4) and NSEC3
//! (RFC 5155 §8) records of a response prove once their signatures have verified. That a
//! name does not exist (NXDOMAIN), that it holds no RRset of a type (NODATA), and that a
//! wildcard answer came from the closest match (RFC 4035 §5.3.4, RFC 5155 §8.8).
//!
//! ```text
//!  NSEC RRsets ─► prove_nxdomain_nsec          name and wildcard at closest encloser covered
//!                 prove_nodata_nsec            matching NSEC, empty non-terminal, wildcard
//!                 prove_wildcard_answer_nsec   name covered, its closest encloser the source's
//!  NSEC3 RRsets ► prove_nxdomain_nsec3         closest encloser proof, wildcard covered
//!                 prove_nodata_nsec3           matching NSEC3, wildcard, or Opt-Out span
//!                 prove_wildcard_answer_nsec3  next closer name covered
//!                   ──► Ok(Proof::{Denied, NoDelegation, OptOut}) or Err(DenialError)
//! ```
//!
//! What it owns: reading NSEC and NSEC3 RDATA and type bitmaps, canonical order (RFC 4034
//! §6.1, `dns_zone::canonical_cmp`) and hash order, each with the wrap-around of a chain's
//! last record, the closest encloser, the rules that keep a record from speaking for what
//! its zone is not authoritative for (RFC 6840 §4.1, §4.4), and the bounds on the work one
//! response may cause: at most [`MAX_DENIAL_RECORDS`] records read, NSEC3 iterations at
//! most [`MAX_NSEC3_ITERATIONS`] (RFC 9276), each ancestor of the query name hashed at most
//! once and at most [`MAX_NSEC3_HASHES`] hashes a proof (CVE-2023-50868).
//!
//! What it does not: verify signatures. The caller passes only RRsets it verified with
//! `verify`, and as `zone` the signer's name of their RRSIGs; records whose owner is not in
//! that zone are skipped. Nor does it choose between NSEC and NSEC3, or keep the security
//! status of what it proved: [`Proof::OptOut`] and [`DenialError::TooManyIterations`] mean
//! insecure, every other error bogus, and that is the caller's to record.
//!
//! Names are compared lowercased: the query name and zone may come in any case, as may
//! NSEC next names (RFC 6840 §5.1 keeps their case in the signed data).

use std::cmp::Ordering;
use std::fmt;

use dns_wire::types::rtype::{CNAME, DNAME, DS, NS, NSEC, NSEC3, SOA};
use dns_zone::{NSEC3_HASH_LEN, NSEC3_LABEL_LEN, Nsec3Param, canonical_cmp};

use super::canonical::name_end;
use crate::names::is_at_or_below;
use crate::rrset::RrSet;

/// NSEC or NSEC3 records read per proof, counted over the RRsets of the type in the order
/// given; the rest are not looked at. An honest response carries a few (RFC 5155 §7.2:
/// three at most for an NSEC3 name error).
pub const MAX_DENIAL_RECORDS: usize = 32;

/// The most NSEC3 hash iterations a proof is computed with. RFC 9276 §3.2 lets validators
/// treat a response with more as insecure, which is what
/// [`DenialError::TooManyIterations`] asks the caller to do.
pub const MAX_NSEC3_ITERATIONS: u16 = 150;

/// NSEC3 hashes (each of up to [`MAX_NSEC3_ITERATIONS`] + 1 SHA-1 computations) one proof
/// may compute: the apex and every name below it down to a query name of 127 labels, and
/// a wildcard, for any zone but the root. The closest encloser is sought from the apex
/// down, so an honest response costs the depth of the next closer name below the apex,
/// plus one for the wildcard, whatever the query name's length.
pub const MAX_NSEC3_HASHES: usize = 128;

/// RFC 5155 §11: NSEC3 hash algorithm 1, SHA-1, the only one.
const SHA1: u8 = 1;
/// RFC 5155 §3.1.2.1: the Opt-Out flag, the only flag defined.
const OPT_OUT: u8 = 0x01;
/// RFC 4034 §4.1.2: a window block holds 1 to 32 octets of bits.
const MAX_BLOCK: usize = 32;
/// The wildcard label `*`, as it starts a wire name.
const WILDCARD: &[u8] = b"\x01*";
/// The root name.
const ROOT: &[u8] = b"\x00";

/// What a denial proof established.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// Proven: the name, or the type at the name, does not exist. For DS at a name whose
    /// record lists NS and not SOA, that is a delegation without DS: the child zone is
    /// insecure (RFC 4035 §5.2, RFC 6840 §4.4).
    Denied,
    /// DS only: there is no DS, and no delegation either (the name's record lists no NS,
    /// or the name is an empty non-terminal or matched a wildcard). It answers a DS query,
    /// but does not make a referral to the name insecure (RFC 6840 §4.4): a zone cut there
    /// is contradicted by the zone itself.
    NoDelegation,
    /// NSEC3 only: the proof rests on an Opt-Out record covering the next closer name, so
    /// an unsigned delegation may lie there. Not authenticated (RFC 5155 §9.2): the answer
    /// is insecure, and for DS the delegation is insecure (§8.6). For NODATA of another
    /// type, the name is an empty non-terminal of unsigned delegations (RFC 5155 erratum
    /// 3441).
    OptOut,
}

impl Proof {
    /// `OptOut` when the proof rests on an Opt-Out span, else `self`.
    fn through(self, opt_out: bool) -> Self {
        if opt_out { Self::OptOut } else { self }
    }
}

/// Why the records do not prove what was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenialError {
    /// No NSEC (or NSEC3) record of the zone was offered, or none usable.
    NoRecords,
    /// No record matches the query name, and no other way to a NODATA proof (empty
    /// non-terminal, wildcard, Opt-Out) was offered.
    NoMatchingRecord,
    /// The matching record lists the type queried.
    TypeExists,
    /// The matching record lists CNAME: the answer should have been the CNAME (RFC 6840
    /// §4.3).
    CnameExists,
    /// The name exists: a record matches it, or has it as an ancestor of its owner or
    /// next name (an empty non-terminal).
    NameExists,
    /// No record covers the name.
    NotCovered,
    /// No ancestor of the name is proven its closest encloser (RFC 5155 §8.3).
    NoClosestEncloser,
    /// The wildcard at the closest encloser exists, or no record covers it.
    WildcardNotDenied,
    /// A wildcard answer's source is not the wildcard at the closest encloser: a name
    /// closer to the query name exists, or the source's parent is not the encloser.
    WrongWildcard,
    /// A record at a zone cut (NS without SOA) or a DNAME used for what lies below it, or
    /// a cut's record used for other types than DS (RFC 6840 §4.1, RFC 5155 §8.3).
    AncestorDelegation,
    /// DS denied by a record listing SOA: the child zone's apex, which cannot speak for
    /// the parent's DS (RFC 4035 §5.2).
    ChildSide,
    /// The wildcard label count leaves no label of the name to expand.
    NotAnExpansion,
    /// The query name, or the wildcard an answer came from, is not in the zone.
    OutsideZone,
    /// NSEC3 iterations above [`MAX_NSEC3_ITERATIONS`]: the caller may answer insecure
    /// (RFC 9276 §3.2).
    TooManyIterations,
    /// Only NSEC3 records of hash algorithms we do not know (RFC 5155 §8.1: ignored, and
    /// a response with nothing else is bogus).
    UnknownHashAlgorithm,
    /// NSEC3 records of the zone with different algorithm, iterations or salt (RFC 5155
    /// §8.2 lets a validator call that bogus).
    MixedParameters,
    /// The proof needed more than [`MAX_NSEC3_HASHES`] hashes.
    TooManyHashes,
    /// A name, an RDATA or a type bitmap that does not parse, or an NSEC3 owner that is
    /// not a hash.
    Malformed,
}

impl DenialError {
    /// The reason in a few words, for logs and the Extended DNS Error text.
    pub fn text(self) -> &'static str {
        match self {
            Self::NoRecords => "no NSEC or NSEC3 record of the zone",
            Self::NoMatchingRecord => "no record matches the name",
            Self::TypeExists => "the type exists at the name",
            Self::CnameExists => "a CNAME exists at the name",
            Self::NameExists => "the name exists",
            Self::NotCovered => "no record covers the name",
            Self::NoClosestEncloser => "no closest encloser proof",
            Self::WildcardNotDenied => "the wildcard at the closest encloser is not denied",
            Self::WrongWildcard => "the answer's wildcard is not at the closest encloser",
            Self::AncestorDelegation => "record from above a zone cut or DNAME",
            Self::ChildSide => "DS denied by the child zone",
            Self::NotAnExpansion => "not a wildcard expansion",
            Self::OutsideZone => "name outside the zone",
            Self::TooManyIterations => "too many NSEC3 iterations",
            Self::UnknownHashAlgorithm => "unknown NSEC3 hash algorithm",
            Self::MixedParameters => "NSEC3 records with different parameters",
            Self::TooManyHashes => "too many NSEC3 hashes",
            Self::Malformed => "malformed denial record",
        }
    }

    /// Whether the failure lets the caller treat the answer as insecure rather than
    /// bogus: only [`Self::TooManyIterations`] (RFC 9276 §3.2).
    pub fn is_insecure(self) -> bool {
        matches!(self, Self::TooManyIterations)
    }
}

impl fmt::Display for DenialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl std::error::Error for DenialError {}

// ---------------------------------------------------------------------------------------
// Type bitmaps.

/// Whether a type bitmap (RFC 4034 §4.1.2, the same in NSEC3, RFC 5155 §3.2.1) lists
/// `rtype`: window blocks, each a window number (the type's high octet), a length of 1 to
/// 32, and that many octets whose first bit is the window's first type. A bitmap that is
/// not well-formed is read up to where it breaks; the proofs refuse such bitmaps first.
pub fn type_present(bitmap: &[u8], rtype: u16) -> bool {
    let [window, low] = rtype.to_be_bytes();
    let mut rest = bitmap;
    while let [block, len, tail @ ..] = rest {
        let Some((bits, after)) = tail.split_at_checked(usize::from(*len)) else {
            return false;
        };
        if *block == window {
            return bits
                .get(usize::from(low / 8))
                .is_some_and(|octet| octet & (0x80 >> (low % 8)) != 0);
        }
        rest = after;
    }
    false
}

/// Whether a type bitmap is well-formed: blocks of 1 to 32 octets that fit, in increasing
/// window order (RFC 4034 §4.1.2). Trailing zero octets, which the RFC forbids but which
/// deny nothing, are let through. An empty bitmap is well-formed (an NSEC3 record of an
/// empty non-terminal lists no type).
fn bitmap_is_valid(bitmap: &[u8]) -> bool {
    let mut rest = bitmap;
    let mut previous: Option<u8> = None;
    while !rest.is_empty() {
        let [block, len, tail @ ..] = rest else {
            return false;
        };
        let len = usize::from(*len);
        if !(1..=MAX_BLOCK).contains(&len) || previous.is_some_and(|p| *block <= p) {
            return false;
        }
        let Some((_, after)) = tail.split_at_checked(len) else {
            return false;
        };
        previous = Some(*block);
        rest = after;
    }
    true
}

// ---------------------------------------------------------------------------------------
// Names (well-formed, lowercased wire form once past `checked_name`).

/// `name` lowercased, if it is exactly one well-formed uncompressed name.
fn checked_name(name: &[u8]) -> Result<Vec<u8>, DenialError> {
    if name_end(name, 0) == Some(name.len()) {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(DenialError::Malformed)
    }
}

/// The query name and zone lowercased, the name at or below the zone.
fn query_in_zone(qname: &[u8], zone: &[u8]) -> Result<(Vec<u8>, Vec<u8>), DenialError> {
    let qname = checked_name(qname)?;
    let zone = checked_name(zone)?;
    if is_at_or_below(&qname, &zone) {
        Ok((qname, zone))
    } else {
        Err(DenialError::OutsideZone)
    }
}

/// Offsets of the labels of a well-formed name, the root's left out.
fn label_offsets(name: &[u8]) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(8);
    let mut at = 0;
    while let Some(&len) = name.get(at) {
        if len == 0 {
            break;
        }
        offsets.push(at);
        at += 1 + usize::from(len);
    }
    offsets
}

/// Labels of a well-formed name, the root not counted.
fn label_count(name: &[u8]) -> usize {
    label_offsets(name).len()
}

/// The label (without its length octet) at offset `at` of `name`.
fn label_at(name: &[u8], at: usize) -> &[u8] {
    let len = usize::from(name.get(at).copied().unwrap_or(0));
    name.get(at + 1..at + 1 + len).unwrap_or_default()
}

/// The ancestor of `name` with `labels` labels (`name` itself when it has no more).
fn ancestor(name: &[u8], labels: usize) -> &[u8] {
    let offsets = label_offsets(name);
    if labels >= offsets.len() {
        return name;
    }
    let root = name.len().saturating_sub(1);
    let start = offsets.get(offsets.len() - labels).copied().unwrap_or(root);
    name.get(start..).unwrap_or(ROOT)
}

/// How many labels, from the root, two lowercased names share: the labels of their
/// nearest common ancestor.
fn shared_labels(a: &[u8], b: &[u8]) -> usize {
    let (a_offsets, b_offsets) = (label_offsets(a), label_offsets(b));
    a_offsets
        .iter()
        .rev()
        .zip(b_offsets.iter().rev())
        .take_while(|&(&i, &j)| label_at(a, i) == label_at(b, j))
        .count()
}

/// Whether `name` lies strictly below `ancestor`.
fn is_below(name: &[u8], ancestor: &[u8]) -> bool {
    name.len() > ancestor.len() && is_at_or_below(name, ancestor)
}

/// The wildcard name at `encloser`: `*.` and the encloser.
fn wildcard_at(encloser: &[u8]) -> Vec<u8> {
    let mut wildcard = Vec::with_capacity(WILDCARD.len() + encloser.len());
    wildcard.extend_from_slice(WILDCARD);
    wildcard.extend_from_slice(encloser);
    wildcard
}

/// The records of type `rtype` in `sets` as (owner, RDATA), the first
/// [`MAX_DENIAL_RECORDS`] only.
fn records_of(sets: &[RrSet], rtype: u16) -> impl Iterator<Item = (&[u8], &[u8])> {
    sets.iter()
        .filter(move |set| set.rtype == rtype)
        .flat_map(|set| {
            set.rdatas
                .iter()
                .map(move |rdata| (set.owner.as_slice(), rdata.as_slice()))
        })
        .take(MAX_DENIAL_RECORDS)
}

/// What a record matching the query name says of `qtype` there (RFC 4035 §5.4, RFC 5155
/// §8.5 and §8.6): neither the type nor CNAME (RFC 6840 §4.3) may be listed. For DS the
/// record must come from the parent side, without SOA (but at the root, which has no
/// parent), and it proves an insecure delegation only if it lists NS; for other types a
/// record at a zone cut, NS without SOA away from the apex, speaks for nothing but DS
/// (RFC 6840 §4.1).
fn nodata_by_match(
    bitmap: &[u8],
    qtype: u16,
    qname: &[u8],
    zone: &[u8],
) -> Result<Proof, DenialError> {
    let has = |rtype| type_present(bitmap, rtype);
    if has(qtype) {
        return Err(DenialError::TypeExists);
    }
    if has(CNAME) {
        return Err(DenialError::CnameExists);
    }
    let cut = has(NS) && !has(SOA) && qname != zone;
    if qtype == DS {
        if has(SOA) && qname != ROOT {
            return Err(DenialError::ChildSide);
        }
        return Ok(if cut {
            Proof::Denied
        } else {
            Proof::NoDelegation
        });
    }
    if cut {
        return Err(DenialError::AncestorDelegation);
    }
    Ok(Proof::Denied)
}

/// What the record matching the wildcard at the closest encloser says of `qtype` (RFC 4035
/// §3.1.3.4, RFC 5155 §8.7): neither the type nor CNAME. A name that only a wildcard
/// matched is no delegation.
fn nodata_by_wildcard(bitmap: &[u8], qtype: u16) -> Result<Proof, DenialError> {
    if type_present(bitmap, qtype) {
        Err(DenialError::TypeExists)
    } else if type_present(bitmap, CNAME) {
        Err(DenialError::CnameExists)
    } else if qtype == DS {
        Ok(Proof::NoDelegation)
    } else {
        Ok(Proof::Denied)
    }
}

// ---------------------------------------------------------------------------------------
// NSEC.

/// Whether `name` lies strictly between `owner` and `next` in canonical order, all three
/// lowercased. `next` at or before `owner` marks the zone's last NSEC, whose span wraps
/// past the zone's last name round to its apex (RFC 4034 §4.1.1).
fn in_span(owner: &[u8], next: &[u8], name: &[u8]) -> bool {
    let after_owner = canonical_cmp(owner, name) == Ordering::Less;
    let before_next = canonical_cmp(name, next) == Ordering::Less;
    if canonical_cmp(owner, next) == Ordering::Less {
        after_owner && before_next
    } else {
        after_owner || before_next
    }
}

/// Whether an NSEC record of owner `owner` and Next Domain Name `next` covers `name`: the
/// name sorts strictly between the two in canonical order (RFC 4034 §6.1), ignoring case.
/// The zone's last NSEC names the apex as next, and covers every name after its owner.
/// That a name is in the record's zone is the caller's to check.
pub fn nsec_covers(owner: &[u8], next: &[u8], name: &[u8]) -> bool {
    in_span(
        &owner.to_ascii_lowercase(),
        &next.to_ascii_lowercase(),
        &name.to_ascii_lowercase(),
    )
}

/// An NSEC record of the zone: owner and next name lowercased, and its type bitmap.
struct Nsec<'a> {
    owner: Vec<u8>,
    next: Vec<u8>,
    bitmap: &'a [u8],
}

impl Nsec<'_> {
    /// Whether the bitmap lists `rtype`.
    fn has(&self, rtype: u16) -> bool {
        type_present(self.bitmap, rtype)
    }

    /// Whether the owner is a zone cut as the parent sees it: NS without SOA, not the
    /// apex (RFC 6840 §4.1's "ancestor delegation").
    fn is_cut(&self, zone: &[u8]) -> bool {
        self.has(NS) && !self.has(SOA) && self.owner != zone
    }

    /// Whether the record may deny `name`: not when the name lies below a zone cut or a
    /// DNAME at the owner (RFC 6840 §4.1).
    fn may_speak_for(&self, name: &[u8], zone: &[u8]) -> bool {
        !(is_below(name, &self.owner) && (self.has(DNAME) || self.is_cut(zone)))
    }

    /// Whether the record shows `name` to exist: its owner or next name is the name or a
    /// descendant (every ancestor in the zone of an existing name exists).
    fn shows_existence_of(&self, name: &[u8]) -> bool {
        is_at_or_below(&self.owner, name) || is_at_or_below(&self.next, name)
    }

    /// Whether the record proves that `name` does not exist: it covers the name, its next
    /// name is no descendant of it (which would make the name an empty non-terminal), and
    /// it may speak for the name.
    fn denies(&self, name: &[u8], zone: &[u8]) -> bool {
        in_span(&self.owner, &self.next, name)
            && !is_below(&self.next, name)
            && self.may_speak_for(name, zone)
    }

    /// The closest encloser of `name`, which this record denies: the longest of its
    /// ancestors shared with the owner or the next name. Both exist, and so do their
    /// ancestors; no name between them does (RFC 4592 §3.3.1).
    fn closest_encloser<'n>(&self, name: &'n [u8]) -> &'n [u8] {
        let labels = shared_labels(name, &self.owner).max(shared_labels(name, &self.next));
        ancestor(name, labels)
    }
}

/// The NSEC records of `sets` in the zone (owners at or below it; others are skipped).
/// An RDATA without a well-formed next name and bitmap, or whose next name is outside the
/// zone, makes the whole malformed.
fn nsec_records<'a>(sets: &'a [RrSet], zone: &[u8]) -> Result<Vec<Nsec<'a>>, DenialError> {
    let mut records = Vec::new();
    for (owner, rdata) in records_of(sets, NSEC) {
        let owner = checked_name(owner)?;
        if !is_at_or_below(&owner, zone) {
            continue;
        }
        let end = name_end(rdata, 0).ok_or(DenialError::Malformed)?;
        let (next, bitmap) = rdata.split_at(end);
        let next = next.to_ascii_lowercase();
        if !bitmap_is_valid(bitmap) || !is_at_or_below(&next, zone) {
            return Err(DenialError::Malformed);
        }
        records.push(Nsec {
            owner,
            next,
            bitmap,
        });
    }
    if records.is_empty() {
        Err(DenialError::NoRecords)
    } else {
        Ok(records)
    }
}

/// Proves with NSEC records that `qname` holds no RRset of type `qtype` in `zone` (RFC
/// 4035 §5.4): an NSEC matching the name whose bitmap lists neither the type nor CNAME;
/// or, when the name is an empty non-terminal (which has no NSEC, RFC 4035 §2.3), an NSEC
/// covering it whose next name lies below it; or, for a name that only a wildcard matched,
/// an NSEC covering the name and one matching the wildcard at its closest encloser without
/// the type or CNAME (RFC 4035 §3.1.3.4).
///
/// For DS see [`Proof::Denied`] and [`Proof::NoDelegation`]: the matching NSEC must not
/// list SOA, and proves an insecure delegation only if it lists NS. For other types an
/// NSEC at a zone cut proves nothing (RFC 6840 §4.1).
pub fn prove_nodata_nsec(
    nsecs: &[RrSet],
    qname: &[u8],
    qtype: u16,
    zone: &[u8],
) -> Result<Proof, DenialError> {
    let (qname, zone) = query_in_zone(qname, zone)?;
    let records = nsec_records(nsecs, &zone)?;
    let mut matched = None;
    for record in records.iter().filter(|r| r.owner == qname) {
        matched = Some(nodata_by_match(record.bitmap, qtype, &qname, &zone)?);
    }
    if let Some(proof) = matched {
        return Ok(proof);
    }
    let empty_non_terminal = records.iter().any(|r| {
        in_span(&r.owner, &r.next, &qname)
            && is_below(&r.next, &qname)
            && r.may_speak_for(&qname, &zone)
    });
    if empty_non_terminal {
        return Ok(if qtype == DS {
            Proof::NoDelegation
        } else {
            Proof::Denied
        });
    }
    let mut error = DenialError::NoMatchingRecord;
    for covering in records.iter().filter(|r| r.denies(&qname, &zone)) {
        let wildcard = wildcard_at(covering.closest_encloser(&qname));
        for record in records.iter().filter(|r| r.owner == wildcard) {
            match nodata_by_wildcard(record.bitmap, qtype) {
                Ok(proof) => return Ok(proof),
                Err(reason) => error = reason,
            }
        }
    }
    Err(error)
}

/// Proves with NSEC records that `qname` does not exist in `zone` (RFC 4035 §5.4): an
/// NSEC covering the name, none showing it to exist, and an NSEC covering the wildcard at
/// the closest encloser, which the covering NSEC's owner and next name give.
pub fn prove_nxdomain_nsec(
    nsecs: &[RrSet],
    qname: &[u8],
    zone: &[u8],
) -> Result<Proof, DenialError> {
    let (qname, zone) = query_in_zone(qname, zone)?;
    let records = nsec_records(nsecs, &zone)?;
    if records.iter().any(|r| r.shows_existence_of(&qname)) {
        return Err(DenialError::NameExists);
    }
    let mut error = DenialError::NotCovered;
    for covering in records.iter().filter(|r| r.denies(&qname, &zone)) {
        let wildcard = wildcard_at(covering.closest_encloser(&qname));
        if records.iter().any(|r| r.denies(&wildcard, &zone)) {
            return Ok(Proof::Denied);
        }
        error = DenialError::WildcardNotDenied;
    }
    Err(error)
}

/// Proves with NSEC records that a positive answer at `qname` synthesized from a wildcard
/// was the closest match (RFC 4035 §5.3.4): `wildcard_labels`, the Labels field of the
/// answer's RRSIG, gives the source `*.<the rightmost wildcard_labels labels of qname>`,
/// and an NSEC must cover `qname` with that source's parent as the closest encloser (no
/// name closer to `qname` exists).
pub fn prove_wildcard_answer_nsec(
    nsecs: &[RrSet],
    qname: &[u8],
    wildcard_labels: u8,
    zone: &[u8],
) -> Result<Proof, DenialError> {
    let (qname, zone) = query_in_zone(qname, zone)?;
    let labels = usize::from(wildcard_labels);
    check_expansion(&qname, labels, &zone)?;
    let records = nsec_records(nsecs, &zone)?;
    if records.iter().any(|r| r.shows_existence_of(&qname)) {
        return Err(DenialError::NameExists);
    }
    let mut error = DenialError::NotCovered;
    for covering in records.iter().filter(|r| r.denies(&qname, &zone)) {
        if label_count(covering.closest_encloser(&qname)) == labels {
            return Ok(Proof::Denied);
        }
        error = DenialError::WrongWildcard;
    }
    Err(error)
}

/// Checks that `qname` can be an expansion of the wildcard at its ancestor of `labels`
/// labels, that ancestor in the zone.
fn check_expansion(qname: &[u8], labels: usize, zone: &[u8]) -> Result<(), DenialError> {
    if labels >= label_count(qname) {
        Err(DenialError::NotAnExpansion)
    } else if labels < label_count(zone) {
        Err(DenialError::OutsideZone)
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// NSEC3.

/// The fields of NSEC3 RDATA (RFC 5155 §3.2), borrowed.
struct Nsec3Fields<'a> {
    algorithm: u8,
    flags: u8,
    iterations: u16,
    salt: &'a [u8],
    next: &'a [u8],
    bitmap: &'a [u8],
}

impl Nsec3Fields<'_> {
    /// The hashing parameters, if we hash with them: a known algorithm and no more than
    /// [`MAX_NSEC3_ITERATIONS`].
    fn param(&self) -> Result<Nsec3Param, DenialError> {
        if self.algorithm != SHA1 {
            return Err(DenialError::UnknownHashAlgorithm);
        }
        if self.iterations > MAX_NSEC3_ITERATIONS {
            return Err(DenialError::TooManyIterations);
        }
        Ok(Nsec3Param {
            algorithm: self.algorithm,
            iterations: self.iterations,
            salt: self.salt.into(),
        })
    }

    /// The next hashed owner, if it has a SHA-1 hash's length.
    fn next_hash(&self) -> Result<[u8; NSEC3_HASH_LEN], DenialError> {
        <[u8; NSEC3_HASH_LEN]>::try_from(self.next).map_err(|_| DenialError::Malformed)
    }
}

/// Reads NSEC3 RDATA: algorithm, flags, iterations, salt length and salt, hash length
/// (at least 1) and next hashed owner, and a well-formed type bitmap.
fn parse_nsec3(rdata: &[u8]) -> Option<Nsec3Fields<'_>> {
    let [algorithm, flags, i0, i1, salt_len, rest @ ..] = rdata else {
        return None;
    };
    let (salt, rest) = rest.split_at_checked(usize::from(*salt_len))?;
    let (&hash_len, rest) = rest.split_first()?;
    let (next, bitmap) = rest.split_at_checked(usize::from(hash_len))?;
    if next.is_empty() || !bitmap_is_valid(bitmap) {
        return None;
    }
    Some(Nsec3Fields {
        algorithm: *algorithm,
        flags: *flags,
        iterations: u16::from_be_bytes([*i0, *i1]),
        salt,
        next,
        bitmap,
    })
}

/// The value of a base32hex digit (RFC 4648 §7), either case.
fn base32hex_digit(c: u8) -> Option<u8> {
    match c.to_ascii_lowercase() {
        d @ b'0'..=b'9' => Some(d - b'0'),
        d @ b'a'..=b'v' => Some(d - b'a' + 10),
        _ => None,
    }
}

/// The SHA-1 hash an NSEC3 owner's first label spells in base32hex without padding.
/// (`dns_zone` has the encoder only, crate-private; this is its inverse.)
fn base32hex_hash(label: &[u8]) -> Option<[u8; NSEC3_HASH_LEN]> {
    if label.len() != NSEC3_LABEL_LEN {
        return None;
    }
    let mut hash = [0; NSEC3_HASH_LEN];
    for (octets, digits) in hash.chunks_exact_mut(5).zip(label.chunks_exact(8)) {
        let mut bits: u64 = 0;
        for &digit in digits {
            bits = (bits << 5) | u64::from(base32hex_digit(digit)?);
        }
        octets.copy_from_slice(&bits.to_be_bytes()[3..]);
    }
    Some(hash)
}

/// The first label of `owner` when the rest is `zone`: an NSEC3 owner's hashed label.
fn label_under<'a>(owner: &'a [u8], zone: &[u8]) -> Option<&'a [u8]> {
    let len = usize::from(*owner.first()?);
    let parent = owner.get(1 + len..)?;
    if len == 0 || !parent.eq_ignore_ascii_case(zone) {
        return None;
    }
    owner.get(1..1 + len)
}

/// The zone an NSEC3 owner is in and the hash its first label spells.
fn split_hashed_owner(owner: &[u8]) -> Result<(&[u8], [u8; NSEC3_HASH_LEN]), DenialError> {
    let len = usize::from(*owner.first().ok_or(DenialError::Malformed)?);
    let zone = owner
        .get(1 + len..)
        .filter(|zone| name_end(zone, 0) == Some(zone.len()))
        .ok_or(DenialError::Malformed)?;
    let hash = owner
        .get(1..1 + len)
        .and_then(base32hex_hash)
        .ok_or(DenialError::Malformed)?;
    Ok((zone, hash))
}

/// Whether `hash` lies strictly between an NSEC3 record's owner hash and next hashed
/// owner. The chain's last record names the first owner as next: its span wraps past the
/// greatest hash round to the smallest (RFC 5155 §1.3 "covers", §7.1).
fn hash_covers(
    owner: &[u8; NSEC3_HASH_LEN],
    next: &[u8; NSEC3_HASH_LEN],
    hash: &[u8; NSEC3_HASH_LEN],
) -> bool {
    if owner < next {
        owner < hash && hash < next
    } else {
        owner < hash || hash < next
    }
}

/// The NSEC3 hash of `name` (RFC 5155 §5) with the algorithm, iterations and salt of
/// NSEC3 (or NSEC3PARAM) RDATA `rdata`. Refuses unknown algorithms and more than
/// [`MAX_NSEC3_ITERATIONS`].
pub fn nsec3_hash(rdata: &[u8], name: &[u8]) -> Result<[u8; NSEC3_HASH_LEN], DenialError> {
    let param = parse_param(rdata)?;
    Ok(param.hash(&checked_name(name)?))
}

/// The hashing parameters of NSEC3 or NSEC3PARAM RDATA (both start alike, RFC 5155 §4.2).
fn parse_param(rdata: &[u8]) -> Result<Nsec3Param, DenialError> {
    let [algorithm, _flags, i0, i1, salt_len, rest @ ..] = rdata else {
        return Err(DenialError::Malformed);
    };
    let salt = rest
        .get(..usize::from(*salt_len))
        .ok_or(DenialError::Malformed)?;
    Nsec3Fields {
        algorithm: *algorithm,
        flags: 0,
        iterations: u16::from_be_bytes([*i0, *i1]),
        salt,
        next: &[],
        bitmap: &[],
    }
    .param()
}

/// Whether the NSEC3 record of owner `owner` and RDATA `rdata` matches `name`: the name is
/// in the record's zone (the owner without its first label) and hashes to the owner's
/// label (RFC 5155 §1.3).
pub fn nsec3_matches(owner: &[u8], rdata: &[u8], name: &[u8]) -> Result<bool, DenialError> {
    let (zone, owner_hash) = split_hashed_owner(owner)?;
    let name = checked_name(name)?;
    if !is_at_or_below(&name, zone) {
        return Ok(false);
    }
    Ok(nsec3_hash(rdata, &name)? == owner_hash)
}

/// Whether the NSEC3 record of owner `owner` and RDATA `rdata` covers `name`: the name is
/// in the record's zone and its hash lies strictly between the owner's and the next
/// hashed owner, wrapping round after the chain's last record (RFC 5155 §1.3).
pub fn nsec3_covers(owner: &[u8], rdata: &[u8], name: &[u8]) -> Result<bool, DenialError> {
    let (zone, owner_hash) = split_hashed_owner(owner)?;
    let fields = parse_nsec3(rdata).ok_or(DenialError::Malformed)?;
    let next = fields.next_hash()?;
    let name = checked_name(name)?;
    if !is_at_or_below(&name, zone) {
        return Ok(false);
    }
    let hash = fields.param()?.hash(&name);
    Ok(hash_covers(&owner_hash, &next, &hash))
}

/// An NSEC3 record of the zone: its owner's hash, next hashed owner, Opt-Out flag, and
/// type bitmap.
struct Nsec3<'a> {
    owner: [u8; NSEC3_HASH_LEN],
    next: [u8; NSEC3_HASH_LEN],
    opt_out: bool,
    bitmap: &'a [u8],
}

impl Nsec3<'_> {
    /// Whether the bitmap lists `rtype`.
    fn has(&self, rtype: u16) -> bool {
        type_present(self.bitmap, rtype)
    }
}

/// The NSEC3 records of a response that belong to the zone, and their one set of
/// parameters.
struct Chain<'a> {
    param: Nsec3Param,
    records: Vec<Nsec3<'a>>,
}

impl Chain<'_> {
    /// The first record whose owner is `hash`.
    fn matching(&self, hash: &[u8; NSEC3_HASH_LEN]) -> Option<&Nsec3<'_>> {
        self.records.iter().find(|r| r.owner == *hash)
    }

    /// A record covering `hash`: one without Opt-Out if any does, the stronger proof.
    fn covering(&self, hash: &[u8; NSEC3_HASH_LEN]) -> Option<&Nsec3<'_>> {
        self.records
            .iter()
            .filter(|r| hash_covers(&r.owner, &r.next, hash))
            .min_by_key(|r| r.opt_out)
    }
}

/// The NSEC3 records of `sets` whose owner is a label directly below `zone` (others are
/// skipped). Records with flags other than Opt-Out (RFC 5155 §8.2) or of an unknown hash
/// algorithm (§8.1) are ignored; more iterations than [`MAX_NSEC3_ITERATIONS`], records
/// with different parameters, or a record that does not parse end the proof.
fn read_chain<'a>(sets: &'a [RrSet], zone: &[u8]) -> Result<Chain<'a>, DenialError> {
    let mut param: Option<Nsec3Param> = None;
    let mut records = Vec::new();
    let mut unknown_algorithm = false;
    for (owner, rdata) in records_of(sets, NSEC3) {
        let Some(label) = label_under(owner, zone) else {
            continue;
        };
        let fields = parse_nsec3(rdata).ok_or(DenialError::Malformed)?;
        if fields.flags & !OPT_OUT != 0 {
            continue;
        }
        if fields.algorithm != SHA1 {
            unknown_algorithm = true;
            continue;
        }
        let this = fields.param()?;
        let owner = base32hex_hash(label).ok_or(DenialError::Malformed)?;
        let next = fields.next_hash()?;
        if param.as_ref().is_some_and(|known| *known != this) {
            return Err(DenialError::MixedParameters);
        }
        if param.is_none() {
            param = Some(this);
        }
        records.push(Nsec3 {
            owner,
            next,
            opt_out: fields.flags & OPT_OUT != 0,
            bitmap: fields.bitmap,
        });
    }
    match param {
        Some(param) => Ok(Chain { param, records }),
        None if unknown_algorithm => Err(DenialError::UnknownHashAlgorithm),
        None => Err(DenialError::NoRecords),
    }
}

/// The NSEC3 hashes of a query name's ancestors, each computed once, and of other names
/// (wildcards), all within [`MAX_NSEC3_HASHES`].
struct Hashes<'a> {
    param: &'a Nsec3Param,
    name: &'a [u8],
    /// Where each ancestor starts in `name`: the name itself first, the root last.
    starts: Vec<usize>,
    cache: Vec<Option<[u8; NSEC3_HASH_LEN]>>,
    spent: usize,
}

impl<'a> Hashes<'a> {
    /// Nothing hashed yet for the lowercased, well-formed `name`.
    fn new(param: &'a Nsec3Param, name: &'a [u8]) -> Self {
        let mut starts = label_offsets(name);
        starts.push(name.len().saturating_sub(1));
        let cache = vec![None; starts.len()];
        Self {
            param,
            name,
            starts,
            cache,
            spent: 0,
        }
    }

    /// The hash of the ancestor `up` labels above the name (0: the name itself).
    fn ancestor(&mut self, up: usize) -> Result<[u8; NSEC3_HASH_LEN], DenialError> {
        if let Some(Some(hash)) = self.cache.get(up) {
            return Ok(*hash);
        }
        let name = self.name;
        let start = self.starts.get(up).copied().ok_or(DenialError::Malformed)?;
        let hash = self.hash(name.get(start..).unwrap_or(ROOT))?;
        if let Some(slot) = self.cache.get_mut(up) {
            *slot = Some(hash);
        }
        Ok(hash)
    }

    /// The hash of `name` (lowercased), counted against the budget.
    fn hash(&mut self, name: &[u8]) -> Result<[u8; NSEC3_HASH_LEN], DenialError> {
        if self.spent >= MAX_NSEC3_HASHES {
            return Err(DenialError::TooManyHashes);
        }
        self.spent += 1;
        Ok(self.param.hash(name))
    }
}

/// A proven closest encloser: how many labels above the query name it is, and whether the
/// record covering the next closer name (one label below it) has Opt-Out.
struct Encloser {
    up: usize,
    opt_out: bool,
}

/// The closest encloser proof of RFC 5155 §8.3: an ancestor of the query name matched by
/// a record, whose child towards the name (the next closer name) a record covers. Sought
/// from the apex (`apex` labels above the name) down, the "equivalent algorithm" §8.3
/// allows: an existing name is never covered, so the first covered ancestor is the next
/// closer name, and its parent must be matched. Every matched ancestor must be of this
/// zone: no DNAME, NS only with SOA.
fn closest_encloser(
    chain: &Chain<'_>,
    hashes: &mut Hashes<'_>,
    apex: usize,
) -> Result<Encloser, DenialError> {
    let mut parent_matched = false;
    for up in (0..=apex).rev() {
        let hash = hashes.ancestor(up)?;
        if let Some(record) = chain.matching(&hash) {
            if up == 0 {
                return Err(DenialError::NameExists);
            }
            if record.has(DNAME) || (record.has(NS) && !record.has(SOA)) {
                return Err(DenialError::AncestorDelegation);
            }
            parent_matched = true;
            continue;
        }
        if let Some(record) = chain.covering(&hash) {
            if !parent_matched {
                return Err(DenialError::NoClosestEncloser);
            }
            return Ok(Encloser {
                up: up + 1,
                opt_out: record.opt_out,
            });
        }
        parent_matched = false;
    }
    Err(DenialError::NoClosestEncloser)
}

/// Proves with NSEC3 records that `qname` does not exist in `zone` (RFC 5155 §8.4): a
/// closest encloser proof, and a record covering the wildcard at the closest encloser.
/// [`Proof::OptOut`] when the record covering the next closer name has Opt-Out (§9.2).
pub fn prove_nxdomain_nsec3(
    nsec3s: &[RrSet],
    qname: &[u8],
    zone: &[u8],
) -> Result<Proof, DenialError> {
    let (qname, zone) = query_in_zone(qname, zone)?;
    let chain = read_chain(nsec3s, &zone)?;
    let mut hashes = Hashes::new(&chain.param, &qname);
    let labels = label_count(&qname);
    let encloser = closest_encloser(&chain, &mut hashes, labels - label_count(&zone))?;
    let wildcard = wildcard_at(ancestor(&qname, labels - encloser.up));
    let hash = hashes.hash(&wildcard)?;
    if chain.matching(&hash).is_some() || chain.covering(&hash).is_none() {
        return Err(DenialError::WildcardNotDenied);
    }
    Ok(Proof::Denied.through(encloser.opt_out))
}

/// Proves with NSEC3 records that `qname` holds no RRset of type `qtype` in `zone`: a
/// record matching the name without the type or CNAME (RFC 5155 §8.5; for DS §8.6, with
/// the rules of [`prove_nodata_nsec`]); or a closest encloser proof and a record matching
/// the wildcard at the encloser without the type or CNAME (§8.7); or a closest encloser
/// proof whose next closer name an Opt-Out record covers: [`Proof::OptOut`], for DS an
/// insecure delegation (§8.6), for other types an empty non-terminal of unsigned
/// delegations (erratum 3441).
pub fn prove_nodata_nsec3(
    nsec3s: &[RrSet],
    qname: &[u8],
    qtype: u16,
    zone: &[u8],
) -> Result<Proof, DenialError> {
    let (qname, zone) = query_in_zone(qname, zone)?;
    let chain = read_chain(nsec3s, &zone)?;
    let mut hashes = Hashes::new(&chain.param, &qname);
    let hash = hashes.ancestor(0)?;
    let mut matched = None;
    for record in chain.records.iter().filter(|r| r.owner == hash) {
        matched = Some(nodata_by_match(record.bitmap, qtype, &qname, &zone)?);
    }
    if let Some(proof) = matched {
        return Ok(proof);
    }
    let labels = label_count(&qname);
    let apex = labels - label_count(&zone);
    let encloser = match closest_encloser(&chain, &mut hashes, apex) {
        Err(DenialError::NoClosestEncloser) => return Err(DenialError::NoMatchingRecord),
        other => other?,
    };
    let wildcard = wildcard_at(ancestor(&qname, labels - encloser.up));
    let hash = hashes.hash(&wildcard)?;
    if let Some(record) = chain.matching(&hash) {
        return Ok(nodata_by_wildcard(record.bitmap, qtype)?.through(encloser.opt_out));
    }
    if encloser.opt_out {
        Ok(Proof::OptOut)
    } else {
        Err(DenialError::NoMatchingRecord)
    }
}

/// Proves with NSEC3 records that a positive answer at `qname` synthesized from a
/// wildcard was the closest match (RFC 5155 §8.8): `wildcard_labels`, the Labels field of
/// the answer's RRSIG, makes the source's parent the closest encloser, and a record must
/// cover the next closer name, the ancestor of `qname` one label longer. One hash.
/// [`Proof::OptOut`] when that record has Opt-Out (§9.2).
pub fn prove_wildcard_answer_nsec3(
    nsec3s: &[RrSet],
    qname: &[u8],
    wildcard_labels: u8,
    zone: &[u8],
) -> Result<Proof, DenialError> {
    let (qname, zone) = query_in_zone(qname, zone)?;
    let labels = usize::from(wildcard_labels);
    check_expansion(&qname, labels, &zone)?;
    let chain = read_chain(nsec3s, &zone)?;
    let mut hashes = Hashes::new(&chain.param, &qname);
    let hash = hashes.ancestor(label_count(&qname) - labels - 1)?;
    if chain.matching(&hash).is_some() {
        return Err(DenialError::WrongWildcard);
    }
    let covering = chain.covering(&hash).ok_or(DenialError::NotCovered)?;
    Ok(Proof::Denied.through(covering.opt_out))
}

#[cfg(test)]
mod tests {
    use dns_wire::types::class;
    use dns_wire::types::rtype::{A, AAAA, DNSKEY, MX, RRSIG};

    use super::super::vectors::name;
    use super::*;

    /// NSEC3PARAM (RFC 5155 §4), which dns_wire::types does not name.
    const NSEC3PARAM: u16 = 51;
    /// RFC 5155 Appendix A's salt (and iterations, 12).
    const SALT: [u8; 4] = [0xaa, 0xbb, 0xcc, 0xdd];
    const ITERATIONS: u16 = 12;

    /// A type bitmap listing `types`.
    fn bitmap(types: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for window in 0..=u8::MAX {
            let lows: Vec<u8> = types
                .iter()
                .map(|t| t.to_be_bytes())
                .filter(|[high, _]| *high == window)
                .map(|[_, low]| low)
                .collect();
            let Some(&last) = lows.iter().max() else {
                continue;
            };
            let mut block = vec![0u8; usize::from(last / 8) + 1];
            for low in lows {
                block[usize::from(low / 8)] |= 0x80 >> (low % 8);
            }
            out.push(window);
            out.push(block.len() as u8);
            out.extend(block);
        }
        out
    }

    fn set(owner: &[u8], rtype: u16, rdata: Vec<u8>) -> RrSet {
        RrSet {
            owner: owner.to_ascii_lowercase(),
            rtype,
            class: class::IN,
            ttl: 3600,
            rdatas: vec![rdata],
            sigs: Vec::new(),
        }
    }

    fn nsec(owner: &str, next: &str, types: &[u16]) -> RrSet {
        let mut rdata = name(next);
        rdata.extend(bitmap(types));
        set(&name(owner), NSEC, rdata)
    }

    /// The NSEC chain of example.: a.example., b.example., c.d.example. below the empty
    /// non-terminal d.example., the unsigned delegation sub.example., and *.w.example.
    fn nsec_zone() -> Vec<RrSet> {
        vec![
            nsec("example.", "a.example.", &[NS, SOA, RRSIG, NSEC, DNSKEY]),
            nsec("a.example.", "b.example.", &[A, RRSIG, NSEC]),
            nsec("b.example.", "c.d.example.", &[A, RRSIG, NSEC]),
            nsec("c.d.example.", "sub.example.", &[A, RRSIG, NSEC]),
            nsec("sub.example.", "*.w.example.", &[NS, RRSIG, NSEC]),
            nsec("*.w.example.", "example.", &[A, RRSIG, NSEC]),
        ]
    }

    /// The NSEC records of `nsec_zone` at `owners`.
    fn pick(owners: &[&str]) -> Vec<RrSet> {
        let zone = nsec_zone();
        owners
            .iter()
            .map(|owner| {
                zone.iter()
                    .find(|set| set.owner == name(owner))
                    .expect("an owner of the zone")
                    .clone()
            })
            .collect()
    }

    fn example() -> Vec<u8> {
        name("example.")
    }

    #[test]
    fn type_bitmap_of_rfc_4034_example() {
        // RFC 4034 §4.3: A MX RRSIG NSEC TYPE1234.
        let mut expected = vec![0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b];
        expected.extend_from_slice(&[0; 26]);
        expected.push(0x20);
        assert_eq!(bitmap(&[A, MX, RRSIG, NSEC, 1234]), expected);
        assert!(bitmap_is_valid(&expected));
        for rtype in [A, MX, RRSIG, NSEC, 1234] {
            assert!(type_present(&expected, rtype), "{rtype}");
        }
        for rtype in [NS, CNAME, AAAA, DS, NSEC3, 256, 1233, 1235, 65535] {
            assert!(!type_present(&expected, rtype), "{rtype}");
        }
        assert!(!type_present(&[], A));
    }

    #[test]
    fn malformed_bitmaps_are_refused() {
        assert!(bitmap_is_valid(&[]));
        assert!(bitmap_is_valid(&[0, 1, 0x40, 1, 1, 0x80]));
        // Empty and oversized blocks, windows out of order or repeated, truncation.
        assert!(!bitmap_is_valid(&[0, 0]));
        let mut long = vec![0, 33];
        long.extend_from_slice(&[0xff; 33]);
        assert!(!bitmap_is_valid(&long));
        assert!(!bitmap_is_valid(&[1, 1, 0x80, 0, 1, 0x40]));
        assert!(!bitmap_is_valid(&[0, 1, 0x80, 0, 1, 0x40]));
        assert!(!bitmap_is_valid(&[0, 2, 0x40]));
        assert!(!bitmap_is_valid(&[0]));
        // Read up to the break: what came before still counts.
        assert!(type_present(&[0, 1, 0x40, 1, 9], A));
        assert!(!type_present(&[0, 9, 0x40], A));
    }

    #[test]
    fn canonical_order_and_wrap_around() {
        let covers =
            |owner: &str, next: &str, n: &str| nsec_covers(&name(owner), &name(next), &name(n));
        assert!(covers("example.", "a.example.", "*.example."));
        assert!(covers("a.example.", "b.example.", "x.a.example."));
        assert!(covers("b.example.", "c.d.example.", "d.example."));
        assert!(!covers("a.example.", "b.example.", "a.example."));
        assert!(!covers("a.example.", "b.example.", "b.example."));
        assert!(!covers("a.example.", "b.example.", "x.b.example."));
        // The last NSEC wraps round to the apex.
        assert!(covers("*.w.example.", "example.", "x.w.example."));
        assert!(covers("*.w.example.", "example.", "zz.example."));
        assert!(!covers("*.w.example.", "example.", "a.example."));
        // A zone of one name: its NSEC covers every other.
        assert!(covers("example.", "example.", "a.example."));
        assert!(!covers("example.", "example.", "example."));
        // Case does not matter.
        assert!(covers("A.Example.", "B.EXAMPLE.", "aa.example."));
    }

    #[test]
    fn nodata_from_the_matching_nsec() {
        let zone = example();
        let nodata = |sets: &[RrSet], qname: &str, qtype| {
            prove_nodata_nsec(sets, &name(qname), qtype, &zone)
        };
        let sets = pick(&["a.example."]);
        assert_eq!(nodata(&sets, "a.example.", AAAA), Ok(Proof::Denied));
        assert_eq!(nodata(&sets, "A.Example.", MX), Ok(Proof::Denied));
        assert_eq!(nodata(&sets, "a.example.", A), Err(DenialError::TypeExists));
        assert_eq!(
            nodata(&sets, "b.example.", A),
            Err(DenialError::NoMatchingRecord)
        );
        // RFC 6840 §4.3: the CNAME bit counts too.
        let cname = [nsec("a.example.", "b.example.", &[CNAME, RRSIG, NSEC])];
        assert_eq!(
            nodata(&cname, "a.example.", A),
            Err(DenialError::CnameExists)
        );
        assert_eq!(
            nodata(&cname, "a.example.", CNAME),
            Err(DenialError::TypeExists)
        );
    }

    #[test]
    fn nodata_for_ds_needs_the_parent_side_of_a_delegation() {
        let zone = example();
        let nodata = |sets: &[RrSet], qname: &str, qtype| {
            prove_nodata_nsec(sets, &name(qname), qtype, &zone)
        };
        // NS without SOA: a delegation without DS, insecure.
        let sub = pick(&["sub.example."]);
        assert_eq!(nodata(&sub, "sub.example.", DS), Ok(Proof::Denied));
        // The same record cannot deny what the child zone holds (RFC 6840 §4.1).
        assert_eq!(
            nodata(&sub, "sub.example.", A),
            Err(DenialError::AncestorDelegation)
        );
        // No NS: no DS, and no delegation to make insecure.
        let a = pick(&["a.example."]);
        assert_eq!(nodata(&a, "a.example.", DS), Ok(Proof::NoDelegation));
        // The child's apex NSEC cannot deny its DS.
        let apex = pick(&["example."]);
        assert_eq!(nodata(&apex, "example.", DS), Err(DenialError::ChildSide));
        assert_eq!(nodata(&apex, "example.", A), Ok(Proof::Denied));
        // A secure delegation lists DS.
        let sec = [nsec("sec.example.", "sub.example.", &[NS, DS, RRSIG, NSEC])];
        assert_eq!(
            nodata(&sec, "sec.example.", DS),
            Err(DenialError::TypeExists)
        );
        // The root has no parent: its own NSEC answers for its DS.
        let root = [set(
            ROOT,
            NSEC,
            [name("com."), bitmap(&[NS, SOA, RRSIG, NSEC, DNSKEY])].concat(),
        )];
        assert_eq!(
            prove_nodata_nsec(&root, ROOT, DS, ROOT),
            Ok(Proof::NoDelegation)
        );
    }

    #[test]
    fn nodata_at_an_empty_non_terminal() {
        let zone = example();
        // d.example. has no NSEC; the one covering it leads to c.d.example., below it.
        let sets = pick(&["b.example."]);
        assert_eq!(
            prove_nodata_nsec(&sets, &name("d.example."), A, &zone),
            Ok(Proof::Denied)
        );
        assert_eq!(
            prove_nodata_nsec(&sets, &name("D.EXAMPLE."), DS, &zone),
            Ok(Proof::NoDelegation)
        );
        // A name that the same NSEC covers but which has nothing below it is not one.
        assert_eq!(
            prove_nodata_nsec(&sets, &name("bb.example."), A, &zone),
            Err(DenialError::NoMatchingRecord)
        );
    }

    #[test]
    fn wildcard_nodata_nsec() {
        let zone = example();
        // x.w.example. is covered by *.w.example.'s NSEC, which also matches the wildcard
        // at its closest encloser w.example.
        let sets = pick(&["*.w.example."]);
        assert_eq!(
            prove_nodata_nsec(&sets, &name("x.w.example."), AAAA, &zone),
            Ok(Proof::Denied)
        );
        assert_eq!(
            prove_nodata_nsec(&sets, &name("x.w.example."), A, &zone),
            Err(DenialError::TypeExists)
        );
        assert_eq!(
            prove_nodata_nsec(&sets, &name("x.w.example."), DS, &zone),
            Ok(Proof::NoDelegation)
        );
        // e.example. does not exist and no wildcard *.example. does: no NODATA.
        let sets = pick(&["c.d.example.", "example."]);
        assert_eq!(
            prove_nodata_nsec(&sets, &name("e.example."), A, &zone),
            Err(DenialError::NoMatchingRecord)
        );
    }

    #[test]
    fn nxdomain_needs_the_name_and_the_wildcard_covered() {
        let zone = example();
        let nxdomain = |sets: &[RrSet], qname: &str| prove_nxdomain_nsec(sets, &name(qname), &zone);
        // e.example. falls between c.d.example. and sub.example.; *.example. between the
        // apex and a.example.
        let both = pick(&["c.d.example.", "example."]);
        assert_eq!(nxdomain(&both, "e.example."), Ok(Proof::Denied));
        assert_eq!(nxdomain(&both, "E.Example."), Ok(Proof::Denied));
        let name_only = pick(&["c.d.example."]);
        assert_eq!(
            nxdomain(&name_only, "e.example."),
            Err(DenialError::WildcardNotDenied)
        );
        let wildcard_only = pick(&["example."]);
        assert_eq!(
            nxdomain(&wildcard_only, "e.example."),
            Err(DenialError::NotCovered)
        );
        // The wildcard at x.w.example.'s closest encloser exists.
        let wildcard = pick(&["*.w.example."]);
        assert_eq!(
            nxdomain(&wildcard, "x.w.example."),
            Err(DenialError::WildcardNotDenied)
        );
        // Names that exist, with data or as an empty non-terminal.
        assert_eq!(
            nxdomain(&pick(&["a.example."]), "a.example."),
            Err(DenialError::NameExists)
        );
        assert_eq!(
            nxdomain(&pick(&["b.example."]), "d.example."),
            Err(DenialError::NameExists)
        );
        assert_eq!(
            nxdomain(&both, "e.example.org."),
            Err(DenialError::OutsideZone)
        );
        // Next names in capitals compare as lowercase.
        let capitals = [
            nsec("c.d.example.", "SUB.Example.", &[A, RRSIG, NSEC]),
            nsec("example.", "A.EXAMPLE.", &[NS, SOA, RRSIG, NSEC, DNSKEY]),
        ];
        assert_eq!(nxdomain(&capitals, "e.example."), Ok(Proof::Denied));
    }

    #[test]
    fn nxdomain_closest_encloser_comes_from_owner_or_next() {
        let zone = example();
        // z.c.d.example.: the closest encloser is the owner c.d.example., and the same
        // NSEC covers *.c.d.example.
        let sets = pick(&["c.d.example."]);
        assert_eq!(
            prove_nxdomain_nsec(&sets, &name("z.c.d.example."), &zone),
            Ok(Proof::Denied)
        );
        // a.d.example.: the closest encloser is the empty non-terminal d.example., an
        // ancestor of the next name; *.d.example. is covered, *.example. would not be.
        let sets = pick(&["b.example."]);
        assert_eq!(
            prove_nxdomain_nsec(&sets, &name("a.d.example."), &zone),
            Ok(Proof::Denied)
        );
        let records = nsec_records(&sets, &zone).unwrap();
        let record = &records[0];
        assert_eq!(
            record.closest_encloser(&name("a.d.example.")),
            &name("d.example.")[..]
        );
        assert_eq!(record.closest_encloser(&name("bb.example.")), &zone[..]);
    }

    #[test]
    fn nothing_below_a_cut_or_dname_is_denied() {
        let zone = example();
        // sub.example.'s NSEC covers a.sub.example., but the parent is not authoritative
        // there.
        let sets = pick(&["sub.example.", "example."]);
        assert_eq!(
            prove_nxdomain_nsec(&sets, &name("a.sub.example."), &zone),
            Err(DenialError::NotCovered)
        );
        assert_eq!(
            prove_nodata_nsec(&sets, &name("a.sub.example."), A, &zone),
            Err(DenialError::NoMatchingRecord)
        );
        // Nor below a DNAME; at its owner the types it lacks are denied.
        let sets = [
            nsec("dn.example.", "e.example.", &[DNAME, RRSIG, NSEC]),
            nsec("example.", "a.example.", &[NS, SOA, RRSIG, NSEC, DNSKEY]),
        ];
        assert_eq!(
            prove_nxdomain_nsec(&sets, &name("x.dn.example."), &zone),
            Err(DenialError::NotCovered)
        );
        assert_eq!(
            prove_nodata_nsec(&sets, &name("dn.example."), A, &zone),
            Ok(Proof::Denied)
        );
    }

    #[test]
    fn wildcard_answer_nsec() {
        let zone = example();
        let answer = |sets: &[RrSet], qname: &str, labels| {
            prove_wildcard_answer_nsec(sets, &name(qname), labels, &zone)
        };
        let sets = pick(&["*.w.example."]);
        assert_eq!(answer(&sets, "x.w.example.", 2), Ok(Proof::Denied));
        assert_eq!(answer(&sets, "a.b.x.w.example.", 2), Ok(Proof::Denied));
        // Claimed from *.example.: but w.example. is closer.
        assert_eq!(
            answer(&sets, "x.w.example.", 1),
            Err(DenialError::WrongWildcard)
        );
        assert_eq!(
            answer(&pick(&["a.example."]), "x.w.example.", 2),
            Err(DenialError::NotCovered)
        );
        assert_eq!(
            answer(&pick(&["a.example."]), "a.example.", 1),
            Err(DenialError::NameExists)
        );
        assert_eq!(
            answer(&sets, "x.w.example.", 3),
            Err(DenialError::NotAnExpansion)
        );
        assert_eq!(
            answer(&sets, "x.w.example.", 0),
            Err(DenialError::OutsideZone)
        );
    }

    #[test]
    fn records_beyond_the_bound_are_not_read() {
        let zone = example();
        let filler = nsec("a.example.", "b.example.", &[A, RRSIG, NSEC]);
        let mut sets = vec![filler; MAX_DENIAL_RECORDS];
        sets.extend(pick(&["sub.example."]));
        let nodata = |sets: &[RrSet]| prove_nodata_nsec(sets, &name("sub.example."), DS, &zone);
        assert_eq!(nodata(&sets), Err(DenialError::NoMatchingRecord));
        sets.remove(0);
        assert_eq!(nodata(&sets), Ok(Proof::Denied));
    }

    #[test]
    fn malformed_and_foreign_nsec_records() {
        let zone = example();
        let nodata = |sets: &[RrSet]| prove_nodata_nsec(sets, &name("a.example."), AAAA, &zone);
        // A compressed next name, a broken bitmap, a next name outside the zone.
        let pointer = [set(
            &name("a.example."),
            NSEC,
            b"\x01b\xc0\x0c\x00\x01\x40".to_vec(),
        )];
        assert_eq!(nodata(&pointer), Err(DenialError::Malformed));
        let broken = [set(
            &name("a.example."),
            NSEC,
            [name("b.example."), vec![0, 0]].concat(),
        )];
        assert_eq!(nodata(&broken), Err(DenialError::Malformed));
        let outside = [nsec("a.example.", "b.example.org.", &[A])];
        assert_eq!(nodata(&outside), Err(DenialError::Malformed));
        // Another zone's NSEC is skipped, as are other types.
        let foreign = [nsec("a.example.org.", "b.example.org.", &[A])];
        assert_eq!(nodata(&foreign), Err(DenialError::NoRecords));
        let other_type = [set(&name("a.example."), A, vec![192, 0, 2, 1])];
        assert_eq!(nodata(&other_type), Err(DenialError::NoRecords));
        // The query name itself.
        let sets = pick(&["a.example."]);
        assert_eq!(
            prove_nodata_nsec(&sets, b"\x01a\x07example", A, &zone),
            Err(DenialError::Malformed)
        );
        assert_eq!(
            prove_nodata_nsec(&sets, &name("a.example.org."), A, &zone),
            Err(DenialError::OutsideZone)
        );
    }

    // -----------------------------------------------------------------------------------
    // NSEC3: a zone of the same shape, hashed with RFC 5155 Appendix A's parameters.

    /// The names of the NSEC3 test zone and their types: the apex, a.example. and
    /// b.example., the empty non-terminals d.example. and w.example., the unsigned
    /// delegation sub.example., the signed delegation sec.example., and *.w.example.
    const ZONE: &[(&str, &[u16])] = &[
        ("example.", &[NS, SOA, RRSIG, DNSKEY, NSEC3PARAM]),
        ("a.example.", &[A, RRSIG]),
        ("b.example.", &[A, RRSIG]),
        ("d.example.", &[]),
        ("c.d.example.", &[A, RRSIG]),
        ("sub.example.", &[NS]),
        ("sec.example.", &[NS, DS, RRSIG]),
        ("w.example.", &[]),
        ("*.w.example.", &[A, RRSIG]),
    ];

    fn param(iterations: u16) -> Nsec3Param {
        Nsec3Param {
            algorithm: SHA1,
            iterations,
            salt: SALT.into(),
        }
    }

    fn nsec3_rdata(flags: u8, iterations: u16, salt: &[u8], next: &[u8], types: &[u16]) -> Vec<u8> {
        let mut rdata = vec![SHA1, flags];
        rdata.extend_from_slice(&iterations.to_be_bytes());
        rdata.push(salt.len() as u8);
        rdata.extend_from_slice(salt);
        rdata.push(next.len() as u8);
        rdata.extend_from_slice(next);
        rdata.extend(bitmap(types));
        rdata
    }

    /// The NSEC3 owner of `text` in example.
    fn hashed_owner(text: &str, iterations: u16) -> Vec<u8> {
        let mut owner = vec![NSEC3_LABEL_LEN as u8];
        owner.extend_from_slice(&param(iterations).hashed_label(&name(text)));
        owner.extend(example());
        owner
    }

    /// The NSEC3 chain of `names`, in hash order, each record with `flags`.
    fn chain_of(names: &[(&str, &[u16])], flags: u8, iterations: u16) -> Vec<RrSet> {
        let mut hashed: Vec<_> = names
            .iter()
            .map(|&(text, types)| (param(iterations).hash(&name(text)), text, types))
            .collect();
        hashed.sort_unstable();
        hashed
            .iter()
            .enumerate()
            .map(|(i, &(_, text, types))| {
                let next = hashed[(i + 1) % hashed.len()].0;
                let rdata = nsec3_rdata(flags, iterations, &SALT, &next, types);
                set(&hashed_owner(text, iterations), NSEC3, rdata)
            })
            .collect()
    }

    /// The zone's chain: without Opt-Out; or with it, sub.example. then having no record.
    fn nsec3_zone(opt_out: bool) -> Vec<RrSet> {
        if opt_out {
            let names: Vec<_> = ZONE
                .iter()
                .copied()
                .filter(|(n, _)| *n != "sub.example.")
                .collect();
            chain_of(&names, OPT_OUT, ITERATIONS)
        } else {
            chain_of(ZONE, 0, ITERATIONS)
        }
    }

    /// What a server answers with: the records of `chain` that match `matching` or cover
    /// `covering`, each of which must have one.
    fn response(chain: &[RrSet], matching: &[&str], covering: &[&str]) -> Vec<RrSet> {
        let matches = |s: &RrSet, n: &str| nsec3_matches(&s.owner, &s.rdatas[0], &name(n)).unwrap();
        let covers = |s: &RrSet, n: &str| nsec3_covers(&s.owner, &s.rdatas[0], &name(n)).unwrap();
        for n in matching {
            assert!(chain.iter().any(|s| matches(s, n)), "nothing matches {n}");
        }
        for n in covering {
            assert!(chain.iter().any(|s| covers(s, n)), "nothing covers {n}");
        }
        chain
            .iter()
            .filter(|s| {
                matching.iter().any(|n| matches(s, n)) || covering.iter().any(|n| covers(s, n))
            })
            .cloned()
            .collect()
    }

    #[test]
    fn rfc_5155_appendix_a_hashes() {
        // RFC 5155 Appendix A: salt aabbccdd, 12 iterations.
        let rdata = nsec3_rdata(OPT_OUT, ITERATIONS, &SALT, &[0; NSEC3_HASH_LEN], &[]);
        for (text, hash) in [
            ("example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"),
            ("a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"),
            ("ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"),
            ("*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"),
            ("x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s"),
        ] {
            let expected = base32hex_hash(hash.as_bytes()).unwrap();
            assert_eq!(nsec3_hash(&rdata, &name(text)), Ok(expected), "{text}");
            assert_eq!(
                &param(ITERATIONS).hashed_label(&name(text)),
                hash.as_bytes()
            );
            let mut owner = vec![NSEC3_LABEL_LEN as u8];
            owner.extend_from_slice(hash.to_ascii_uppercase().as_bytes());
            owner.extend(example());
            assert_eq!(
                nsec3_matches(&owner, &rdata, &name(text)),
                Ok(true),
                "{text}"
            );
            assert_eq!(
                nsec3_matches(&owner, &rdata, &name("zz.example.")),
                Ok(false)
            );
        }
        assert_eq!(
            nsec3_hash(&rdata, &name("EXAMPLE.")),
            nsec3_hash(&rdata, &name("example."))
        );
        assert_eq!(
            nsec3_hash(&rdata[..3], &example()),
            Err(DenialError::Malformed)
        );
    }

    #[test]
    fn base32hex_and_hash_order() {
        assert_eq!(
            base32hex_hash(b"0P9MHAVEQVM6T7VBL5LOP2U3T2RP3TOM"),
            base32hex_hash(b"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom")
        );
        assert_eq!(base32hex_hash(b"0p9mhaveqvm6t7vbl5lop2u3t2rp3tow"), None);
        assert_eq!(base32hex_hash(b"0p9mhaveqvm6t7vbl5lop2u3t2rp3to"), None);
        assert_eq!(
            base32hex_hash(b"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"),
            Some([0xff; 20])
        );
        let h = |octet: u8| [octet; NSEC3_HASH_LEN];
        assert!(hash_covers(&h(1), &h(5), &h(3)));
        assert!(!hash_covers(&h(1), &h(5), &h(1)));
        assert!(!hash_covers(&h(1), &h(5), &h(5)));
        assert!(!hash_covers(&h(1), &h(5), &h(7)));
        // The last record's span wraps past the greatest hash to the smallest.
        assert!(hash_covers(&h(9), &h(1), &h(10)));
        assert!(hash_covers(&h(9), &h(1), &h(0)));
        assert!(!hash_covers(&h(9), &h(1), &h(5)));
        // A chain of one record covers every other hash.
        assert!(hash_covers(&h(4), &h(4), &h(2)));
        assert!(!hash_covers(&h(4), &h(4), &h(4)));
    }

    #[test]
    fn nxdomain_nsec3() {
        let chain = nsec3_zone(false);
        let zone = example();
        let nxdomain =
            |sets: &[RrSet], qname: &str| prove_nxdomain_nsec3(sets, &name(qname), &zone);
        let sets = response(&chain, &["example."], &["e.example.", "*.example."]);
        assert_eq!(nxdomain(&sets, "e.example."), Ok(Proof::Denied));
        assert_eq!(nxdomain(&sets, "A.B.E.example."), Ok(Proof::Denied));
        // The wildcard is not covered (e.example. and *.example. lie in different spans).
        let sets = response(&chain, &["example."], &["e.example."]);
        assert_eq!(
            nxdomain(&sets, "e.example."),
            Err(DenialError::WildcardNotDenied)
        );
        // The closest encloser is not matched.
        let sets = response(&chain, &[], &["e.example.", "*.example."]);
        assert_eq!(
            nxdomain(&sets, "e.example."),
            Err(DenialError::NoClosestEncloser)
        );
        // The wildcard exists.
        let sets = response(&chain, &["w.example.", "*.w.example."], &["x.w.example."]);
        assert_eq!(
            nxdomain(&sets, "x.w.example."),
            Err(DenialError::WildcardNotDenied)
        );
        // The name exists; the encloser is a delegation, whose children are not ours.
        let sets = response(&chain, &["a.example."], &[]);
        assert_eq!(nxdomain(&sets, "a.example."), Err(DenialError::NameExists));
        let sets = response(
            &chain,
            &["sub.example."],
            &["x.sub.example.", "*.sub.example."],
        );
        assert_eq!(
            nxdomain(&sets, "x.sub.example."),
            Err(DenialError::AncestorDelegation)
        );
        // Under Opt-Out the next closer name may be an unsigned delegation: insecure.
        let chain = nsec3_zone(true);
        let sets = response(&chain, &["example."], &["e.example.", "*.example."]);
        assert_eq!(nxdomain(&sets, "e.example."), Ok(Proof::OptOut));
    }

    #[test]
    fn nodata_nsec3() {
        let chain = nsec3_zone(false);
        let zone = example();
        let nodata = |matching: &str, qname: &str, qtype| {
            let sets = response(&chain, &[matching], &[]);
            prove_nodata_nsec3(&sets, &name(qname), qtype, &zone)
        };
        assert_eq!(nodata("a.example.", "a.example.", AAAA), Ok(Proof::Denied));
        assert_eq!(
            nodata("a.example.", "a.example.", A),
            Err(DenialError::TypeExists)
        );
        // An empty non-terminal has a record of its own, listing nothing.
        assert_eq!(nodata("d.example.", "d.example.", A), Ok(Proof::Denied));
        assert_eq!(
            nodata("d.example.", "d.example.", DS),
            Ok(Proof::NoDelegation)
        );
        // DS at the delegations, at a name that is none, at the child's apex.
        assert_eq!(
            nodata("sub.example.", "sub.example.", DS),
            Ok(Proof::Denied)
        );
        assert_eq!(
            nodata("sub.example.", "sub.example.", A),
            Err(DenialError::AncestorDelegation)
        );
        assert_eq!(
            nodata("sec.example.", "sec.example.", DS),
            Err(DenialError::TypeExists)
        );
        assert_eq!(
            nodata("a.example.", "a.example.", DS),
            Ok(Proof::NoDelegation)
        );
        assert_eq!(
            nodata("example.", "example.", DS),
            Err(DenialError::ChildSide)
        );
        // A record of another name proves nothing of this one.
        assert_eq!(
            nodata("a.example.", "b.example.", AAAA),
            Err(DenialError::NoMatchingRecord)
        );
        // CNAME (RFC 6840 §4.3).
        let cname = chain_of(
            &[("example.", &[NS, SOA]), ("a.example.", &[CNAME, RRSIG])],
            0,
            ITERATIONS,
        );
        assert_eq!(
            prove_nodata_nsec3(&cname, &name("a.example."), A, &zone),
            Err(DenialError::CnameExists)
        );
    }

    #[test]
    fn ds_nodata_under_opt_out() {
        let zone = example();
        // sub.example. has no record: the apex is its closest encloser, and the record
        // covering it has Opt-Out (RFC 5155 §8.6): an insecure delegation.
        let chain = nsec3_zone(true);
        let sets = response(&chain, &["example."], &["sub.example."]);
        assert_eq!(
            prove_nodata_nsec3(&sets, &name("sub.example."), DS, &zone),
            Ok(Proof::OptOut)
        );
        // Other types alike (erratum 3441).
        assert_eq!(
            prove_nodata_nsec3(&sets, &name("sub.example."), A, &zone),
            Ok(Proof::OptOut)
        );
        // Without Opt-Out, a covered name has no DS because it does not exist: no NODATA.
        let chain = nsec3_zone(false);
        let sets = response(&chain, &["example."], &["e.example.", "*.example."]);
        assert_eq!(
            prove_nodata_nsec3(&sets, &name("e.example."), DS, &zone),
            Err(DenialError::NoMatchingRecord)
        );
        let sets = response(&chain, &[], &["e.example."]);
        assert_eq!(
            prove_nodata_nsec3(&sets, &name("e.example."), DS, &zone),
            Err(DenialError::NoMatchingRecord)
        );
    }

    #[test]
    fn wildcard_nodata_nsec3() {
        let zone = example();
        let chain = nsec3_zone(false);
        let sets = response(&chain, &["w.example.", "*.w.example."], &["x.w.example."]);
        let nodata =
            |sets: &[RrSet], qtype| prove_nodata_nsec3(sets, &name("x.w.example."), qtype, &zone);
        assert_eq!(nodata(&sets, AAAA), Ok(Proof::Denied));
        assert_eq!(nodata(&sets, A), Err(DenialError::TypeExists));
        let sets = response(&chain, &["w.example."], &["x.w.example."]);
        assert_eq!(nodata(&sets, AAAA), Err(DenialError::NoMatchingRecord));
        let chain = nsec3_zone(true);
        let sets = response(&chain, &["w.example.", "*.w.example."], &["x.w.example."]);
        assert_eq!(nodata(&sets, AAAA), Ok(Proof::OptOut));
    }

    #[test]
    fn wildcard_answer_nsec3() {
        let zone = example();
        let chain = nsec3_zone(false);
        let answer = |sets: &[RrSet], qname: &str, labels| {
            prove_wildcard_answer_nsec3(sets, &name(qname), labels, &zone)
        };
        let sets = response(&chain, &[], &["x.w.example."]);
        assert_eq!(answer(&sets, "x.w.example.", 2), Ok(Proof::Denied));
        // Deeper names: the next closer name is still x.w.example.
        assert_eq!(answer(&sets, "a.b.x.w.example.", 2), Ok(Proof::Denied));
        // Claimed from *.example.: but w.example. exists.
        let sets = response(&chain, &["w.example."], &[]);
        assert_eq!(
            answer(&sets, "x.w.example.", 1),
            Err(DenialError::WrongWildcard)
        );
        let sets = response(&chain, &["a.example."], &[]);
        assert_eq!(
            answer(&sets, "x.w.example.", 2),
            Err(DenialError::NotCovered)
        );
        assert_eq!(
            answer(&sets, "x.w.example.", 3),
            Err(DenialError::NotAnExpansion)
        );
        assert_eq!(
            answer(&sets, "x.w.example.", 0),
            Err(DenialError::OutsideZone)
        );
        let chain = nsec3_zone(true);
        let sets = response(&chain, &[], &["x.w.example."]);
        assert_eq!(answer(&sets, "x.w.example.", 2), Ok(Proof::OptOut));
    }

    #[test]
    fn iterations_algorithms_flags_and_parameters() {
        let zone = example();
        let owner = hashed_owner("a.example.", ITERATIONS);
        let nodata = |sets: &[RrSet]| prove_nodata_nsec3(sets, &name("a.example."), AAAA, &zone);
        let with = |flags, iterations, salt: &[u8]| {
            set(
                &owner,
                NSEC3,
                nsec3_rdata(flags, iterations, salt, &[0; 20], &[A]),
            )
        };
        assert_eq!(
            nodata(&[with(0, MAX_NSEC3_ITERATIONS + 1, &SALT)]),
            Err(DenialError::TooManyIterations)
        );
        assert!(DenialError::TooManyIterations.is_insecure());
        // At the ceiling, proofs hold.
        let chain = chain_of(ZONE, 0, MAX_NSEC3_ITERATIONS);
        let sets: Vec<RrSet> = chain
            .into_iter()
            .filter(|s| s.owner == hashed_owner("a.example.", MAX_NSEC3_ITERATIONS))
            .collect();
        assert_eq!(sets.len(), 1);
        assert_eq!(nodata(&sets), Ok(Proof::Denied));
        // An unknown algorithm is ignored (RFC 5155 §8.1), so are unknown flags (§8.2).
        let mut unknown = with(0, ITERATIONS, &SALT);
        unknown.rdatas[0][0] = 2;
        assert_eq!(nodata(&[unknown]), Err(DenialError::UnknownHashAlgorithm));
        assert!(!DenialError::UnknownHashAlgorithm.is_insecure());
        assert_eq!(
            nodata(&[with(0x02, ITERATIONS, &SALT)]),
            Err(DenialError::NoRecords)
        );
        // Two sets of parameters.
        let other = set(
            &hashed_owner("b.example.", ITERATIONS),
            NSEC3,
            nsec3_rdata(0, ITERATIONS, &[1, 2], &[0; 20], &[A]),
        );
        assert_eq!(
            nodata(&[with(0, ITERATIONS, &SALT), other]),
            Err(DenialError::MixedParameters)
        );
        // Records of another zone are skipped; owners that are not hashes are not.
        let foreign = [set(
            &name("a.example.org."),
            NSEC3,
            nsec3_rdata(0, 1, &[], &[0; 20], &[A]),
        )];
        assert_eq!(nodata(&foreign), Err(DenialError::NoRecords));
        let named = [set(
            &name("a.example."),
            NSEC3,
            nsec3_rdata(0, 1, &[], &[0; 20], &[A]),
        )];
        assert_eq!(nodata(&named), Err(DenialError::Malformed));
        let short_next = [set(&owner, NSEC3, nsec3_rdata(0, 1, &[], &[0; 19], &[A]))];
        assert_eq!(nodata(&short_next), Err(DenialError::Malformed));
    }

    #[test]
    fn each_ancestor_is_hashed_once_within_the_budget() {
        let sets = response(
            &nsec3_zone(false),
            &["example."],
            &["e.example.", "*.example."],
        );
        let chain = read_chain(&sets, &example()).unwrap();
        let qname = name("a.b.e.example.");
        let mut hashes = Hashes::new(&chain.param, &qname);
        // From the apex down: example. matched, e.example. covered. The labels below the
        // next closer name are never hashed.
        let encloser = closest_encloser(&chain, &mut hashes, 3).unwrap();
        assert_eq!((encloser.up, encloser.opt_out), (3, false));
        assert_eq!(hashes.spent, 2);
        hashes.ancestor(3).unwrap();
        hashes.ancestor(2).unwrap();
        assert_eq!(hashes.spent, 2);
        let mut hashes = Hashes::new(&chain.param, &qname);
        for _ in 0..MAX_NSEC3_HASHES {
            hashes.hash(&qname).unwrap();
        }
        assert_eq!(hashes.hash(&qname), Err(DenialError::TooManyHashes));
    }

    #[test]
    fn reasons_have_texts() {
        assert_eq!(
            DenialError::NotCovered.to_string(),
            "no record covers the name"
        );
        assert_eq!(
            DenialError::TooManyIterations.to_string(),
            "too many NSEC3 iterations"
        );
    }
}
