//! The journal's file format: differences, oldest first, each in its own checked segment,
//! so a new version's differences are appended (and synced) without writing the older ones
//! again. A crash during an append leaves a torn last segment, which reading drops: the
//! version it led to was never served (the journal is stored before a received version
//! serves).
//!
//! ```text
//!  "ANYNSJ2\n"  then per difference: length (u32) | difference | check (u64 of it)
//!  difference = old SOA | count (u32) | removed records | new SOA | count | added records
//! ```

use crate::difference::Diff;
use crate::error::ZoneError;
use crate::hash::hash_bytes;
use crate::transfer::{Cursor, put_record};

const JOURNAL_MAGIC: &[u8; 8] = b"ANYNSJ2\n";

/// A whole journal file: the header and a segment per difference.
pub fn encode_journal(diffs: &[Diff]) -> Vec<u8> {
    let mut out = JOURNAL_MAGIC.to_vec();
    out.extend_from_slice(&encode_journal_segments(diffs));
    out
}

/// The segments of `diffs`, to append to a journal file that ends where they start.
pub fn encode_journal_segments(diffs: &[Diff]) -> Vec<u8> {
    let mut out = Vec::new();
    for diff in diffs {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        put_record(&mut out, &diff.old_soa);
        out.extend_from_slice(&(diff.removed.len() as u32).to_be_bytes());
        diff.removed.iter().for_each(|r| put_record(&mut out, r));
        put_record(&mut out, &diff.new_soa);
        out.extend_from_slice(&(diff.added.len() as u32).to_be_bytes());
        diff.added.iter().for_each(|r| put_record(&mut out, r));
        let len = out.len() - start - 4;
        out[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
        let check = hash_bytes(&out[start + 4..]);
        out.extend_from_slice(&check.to_be_bytes());
    }
    out
}

/// The differences of a journal file, up to its first segment that is torn or does not
/// match its check (what a crash during an append leaves), and whether they were the whole
/// file (nothing torn or corrupt after them: a new segment may be appended). A file that
/// is not a journal is an error.
pub fn decode_journal(bytes: &[u8]) -> Result<(Vec<Diff>, bool), ZoneError> {
    let mut rest = bytes
        .strip_prefix(JOURNAL_MAGIC)
        .ok_or_else(|| crate::transfer::error("journal: bad magic".into()))?;
    let mut diffs = Vec::new();
    while let Some((len, after)) = rest.split_first_chunk::<4>() {
        let len = u32::from_be_bytes(*len) as usize;
        let Some((payload, after)) = after.split_at_checked(len) else {
            break;
        };
        let Some((check, after)) = after.split_first_chunk::<8>() else {
            break;
        };
        if hash_bytes(payload).to_be_bytes() != *check {
            break;
        }
        let mut cursor = Cursor::over(payload, "journal");
        let old_soa = cursor.record()?;
        let removed = (0..cursor.u32()?)
            .map(|_| cursor.record())
            .collect::<Result<_, _>>()?;
        let new_soa = cursor.record()?;
        let added = (0..cursor.u32()?)
            .map(|_| cursor.record())
            .collect::<Result<_, _>>()?;
        diffs.push(Diff {
            old_soa,
            new_soa,
            removed,
            added,
        });
        rest = after;
    }
    Ok((diffs, rest.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_zone_str;
    use crate::transfer::diff;

    fn versions() -> Vec<Diff> {
        let zone = |serial: u32, www: &str| {
            let text = format!(
                "$ORIGIN example.\n$TTL 300\n@ SOA ns hm {serial} 2 3 4 60\n@ NS ns\n\
                 ns A 192.0.2.1\nwww A {www}\n"
            );
            load_zone_str(&text, b"\x07example\x00").unwrap().0
        };
        let (v1, v2, v3) = (
            zone(1, "192.0.2.2"),
            zone(2, "192.0.2.3"),
            zone(3, "192.0.2.4"),
        );
        vec![diff(&v1, &v2).unwrap(), diff(&v2, &v3).unwrap()]
    }

    #[test]
    fn a_journal_reads_back_whole_or_appended() {
        let diffs = versions();
        assert_eq!(
            decode_journal(&encode_journal(&diffs)).unwrap(),
            (diffs.clone(), true)
        );
        assert_eq!(
            decode_journal(&encode_journal(&[])).unwrap(),
            (vec![], true)
        );
        let mut appended = encode_journal(&diffs[..1]);
        appended.extend_from_slice(&encode_journal_segments(&diffs[1..]));
        assert_eq!(
            appended,
            encode_journal(&diffs),
            "appending writes what a rewrite would"
        );
    }

    #[test]
    fn a_torn_or_corrupt_segment_ends_the_journal() {
        let diffs = versions();
        let whole = encode_journal(&diffs);
        let first = encode_journal(&diffs[..1]).len();
        for cut in [first + 1, first + 4, whole.len() - 1] {
            assert_eq!(
                decode_journal(&whole[..cut]).unwrap(),
                (diffs[..1].to_vec(), false),
                "cut at {cut}"
            );
        }
        let mut corrupt = whole.clone();
        corrupt[first + 20] ^= 1;
        assert_eq!(
            decode_journal(&corrupt).unwrap(),
            (diffs[..1].to_vec(), false)
        );
        let mut corrupt_first = whole;
        corrupt_first[20] ^= 1;
        assert_eq!(decode_journal(&corrupt_first).unwrap(), (vec![], false));
        assert!(decode_journal(b"ANYNSJ1\n").is_err(), "another format");
        assert!(decode_journal(b"").is_err());
    }
}
