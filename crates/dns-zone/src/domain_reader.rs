//! NLnet Labs' `domain` scanner (docs/decisions/0001) as both readers use it: set up for a
//! zone's origin, with its panics caught, and reading one entry's RDATA on its own (for the
//! types the fast reader in `text` leaves to it). `load` drives whole files through it.

use bytes::Bytes;
use domain::base::iana::Class;
use domain::base::name::Name as DomainName;
use domain::base::rdata::ComposeRecordData;
use domain::zonefile::inplace::{Entry, Zonefile};

/// The RDATA of one entry of a type the fast reader leaves to `domain`: `text` is the
/// entry's RDATA as written, read with `origin` as the origin. `None` when `domain` does not
/// take it (the caller then reads the whole file with `domain`, for its error message).
pub(crate) fn rdata_with_domain(
    origin: &[u8],
    rtype: u16,
    text: &[u8],
    out: &mut Vec<u8>,
) -> Option<()> {
    let mut entry = format!("@ 0 IN TYPE{rtype} ").into_bytes();
    entry.extend_from_slice(text);
    entry.push(b'\n');
    let mut zonefile = domain_scanner(&entry, origin)?;
    let Some(Ok(Some(Entry::Record(record)))) = next_entry(&mut zonefile) else {
        return None;
    };
    if !matches!(next_entry(&mut zonefile), Some(Ok(None))) {
        return None;
    }
    record.data().compose_rdata(out).ok()
}

/// `domain`'s scanner over `text` with `origin` (wire form) and class IN; `None` when the
/// origin is not a valid name.
pub(crate) fn domain_scanner(text: &[u8], origin: &[u8]) -> Option<Zonefile> {
    let origin = DomainName::from_octets(Bytes::copy_from_slice(origin)).ok()?;
    let mut zonefile = Zonefile::from(text);
    zonefile.set_origin(origin);
    zonefile.set_default_class(Class::IN);
    Some(zonefile)
}

/// The scanner's next entry; `None` when it panicked. `domain` 0.12 panics on some
/// malformed text (a quoted string at the very end of a file ending in a CR): a bad zone
/// file is an error, never a crash.
pub(crate) fn next_entry(
    zonefile: &mut Zonefile,
) -> Option<Result<Option<Entry>, domain::zonefile::inplace::Error>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| zonefile.next_entry())).ok()
}
