//! Reading RFC 1035 master files: each file goes to the fast reader (`crate::text`) first
//! and, when it gives up, to the `domain` crate's scanner: $ORIGIN, $TTL, $INCLUDE
//! (relative to the including file, as Knot does), line numbers for every record.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use domain::base::name::ToName;
use domain::base::rdata::ComposeRecordData;
use domain::zonefile::inplace::Entry;

use crate::build::ZoneBuilder;
use crate::domain_reader::{domain_scanner, next_entry};
use crate::error::{Problem, Severity, ZoneError};
use crate::pending::Source;
use crate::zone::Zone;

/// How deep $INCLUDE may nest (guards against a file including itself).
const MAX_INCLUDE_DEPTH: usize = 8;

/// Loads and checks the zone `origin` (wire form) from `path`. Returns the zone and its
/// warnings, or every problem found.
pub fn load_zone_file(path: &Path, origin: &[u8]) -> Result<(Zone, Vec<Problem>), ZoneError> {
    let mut builder = ZoneBuilder::new(origin, &path.display().to_string());
    scan_file(&mut builder, path, origin, None, 0);
    builder.finish()
}

/// How long before a signature expires [`load_zone_file_at`] warns about it by default: a
/// week, time enough for an operator to re-sign (Knot's and BIND's refresh margins are of
/// that order).
pub const DEFAULT_SIGNATURE_WINDOW: u32 = 7 * 86_400;

/// [`load_zone_file`], also warning about RRSIGs that have expired or expire within
/// `signature_window` seconds of `now` (seconds since 1970, read by the caller).
pub fn load_zone_file_at(
    path: &Path,
    origin: &[u8],
    now: u64,
    signature_window: u32,
) -> Result<(Zone, Vec<Problem>), ZoneError> {
    let mut builder = ZoneBuilder::new(origin, &path.display().to_string());
    builder.check_signatures_at(now, signature_window);
    scan_file(&mut builder, path, origin, None, 0);
    builder.finish()
}

/// [`load_zone_file_at`] for a file already read: `src` is the text of `path`.
pub(crate) fn load_zone_bytes_at(
    src: &[u8],
    path: &Path,
    origin: &[u8],
    now: u64,
    signature_window: u32,
) -> Result<(Zone, Vec<Problem>), ZoneError> {
    let mut builder = ZoneBuilder::new(origin, &path.display().to_string());
    builder.check_signatures_at(now, signature_window);
    scan_bytes(&mut builder, src, path, origin, None, 0);
    builder.finish()
}

/// Loads and checks a zone from text (tests, and zones received in memory). $INCLUDE paths
/// are taken relative to the current directory.
pub fn load_zone_str(text: &str, origin: &[u8]) -> Result<(Zone, Vec<Problem>), ZoneError> {
    builder_from_text(text, origin).finish()
}

/// Reads the records of a master file below `origin` (wire form) without checking them as
/// a zone: root hints and trust anchors (DS or DNSKEY records), as Unbound's `root-hints`
/// and `trust-anchor-file` read them. Syntax errors and records outside `origin` are errors.
pub fn read_records_file(path: &Path, origin: &[u8]) -> Result<Vec<dns_wire::Record>, ZoneError> {
    let mut builder = ZoneBuilder::new(origin, &path.display().to_string());
    scan_file(&mut builder, path, origin, None, 0);
    builder.into_records()
}

/// [`read_records_file`] from text.
pub fn read_records_str(text: &str, origin: &[u8]) -> Result<Vec<dns_wire::Record>, ZoneError> {
    builder_from_text(text, origin).into_records()
}

/// A builder holding what `text` says below `origin` ($INCLUDE relative to the current
/// directory).
fn builder_from_text(text: &str, origin: &[u8]) -> ZoneBuilder {
    let mut builder = ZoneBuilder::new(origin, "<text>");
    scan_bytes(
        &mut builder,
        text.as_bytes(),
        Path::new("<text>"),
        origin,
        None,
        0,
    );
    builder
}

/// Scans zone text into `builder` (tests).
#[cfg(test)]
pub(crate) fn scan_text_into(builder: &mut ZoneBuilder, text: &str) {
    let origin = builder.origin().to_vec();
    scan_bytes(
        builder,
        text.as_bytes(),
        Path::new("<text>"),
        &origin,
        None,
        0,
    );
}

fn scan_file(
    builder: &mut ZoneBuilder,
    path: &Path,
    origin: &[u8],
    ttl: Option<&str>,
    depth: usize,
) {
    match std::fs::read(path) {
        Ok(bytes) => scan_bytes(builder, &bytes, path, origin, ttl, depth),
        Err(err) => builder.report(Problem {
            severity: Severity::Error,
            file: path.display().to_string(),
            line: 0,
            message: format!("cannot read: {err}"),
        }),
    }
}

/// Scans one file. `ttl` is the `$TTL` in force where an including file included this one
/// (BIND and Knot carry it into the included file).
fn scan_bytes(
    builder: &mut ZoneBuilder,
    src: &[u8],
    path: &Path,
    origin: &[u8],
    ttl: Option<&str>,
    depth: usize,
) {
    let file_index = builder.file_index(&path.display().to_string());
    // The fast reader first; anything it does not take goes to `domain` from the start.
    let checkpoint = builder.checkpoint();
    let mut include = |builder: &mut ZoneBuilder, include: crate::text::Include<'_>| {
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(crate::text::GiveUp);
        }
        let ttl = include.ttl.map(|t| t.to_string());
        let included = resolve_include(path, include.path);
        scan_file(
            builder,
            &included,
            include.origin,
            ttl.as_deref(),
            depth + 1,
        );
        Ok(())
    };
    if crate::text::read_zone_text(builder, src, file_index, origin, ttl, &mut include).is_ok() {
        return;
    }
    builder.rollback(checkpoint);
    if let Some((line, message)) = unbalanced_parenthesis(src)
        .or_else(|| directive_without_space(src))
        .or_else(|| include_name_glued(src))
    {
        // `domain`'s scanner panics on some of these (caught, but with nothing useful to
        // say): the fault is named here instead.
        builder.report(Problem {
            severity: Severity::Error,
            file: path.display().to_string(),
            line,
            message: message.into(),
        });
        return;
    }
    scan_with_domain(builder, src, path, origin, ttl, depth);
}

/// The line and nature of a parenthesis that is never closed (or closes nothing), outside
/// quoted strings and comments (RFC 1035 §5.1).
fn unbalanced_parenthesis(src: &[u8]) -> Option<(usize, &'static str)> {
    let (mut line, mut opened_at) = (1, 0);
    let (mut depth, mut quoted, mut comment, mut escaped) = (0u32, false, false, false);
    for &byte in src {
        if byte == b'\n' {
            line += 1;
            comment = false;
        }
        if comment {
            continue;
        }
        if escaped {
            escaped = false;
            continue;
        }
        match byte {
            b'\\' => escaped = true,
            b'"' => quoted = !quoted,
            b';' if !quoted => comment = true,
            b'(' if !quoted => {
                if depth == 0 {
                    opened_at = line;
                }
                depth += 1;
            }
            b')' if !quoted => {
                if depth == 0 {
                    return Some((line, "syntax error: ')' closes no parenthesis"));
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    (depth > 0).then_some((
        opened_at,
        "syntax error: a parenthesis opened here is never closed",
    ))
}

/// The line of a directive (`$ORIGIN`, `$INCLUDE`, `$TTL` ...) whose word is followed by
/// something other than a blank, a comment or the end of the line (`$INCLUDE"file"`):
/// `domain`'s scanner asserts the space is there (a panic, caught, with nothing useful
/// to say).
fn directive_without_space(src: &[u8]) -> Option<(usize, &'static str)> {
    src.split(|&b| b == b'\n')
        .enumerate()
        .find_map(|(i, line)| {
            let word = line.strip_prefix(b"$")?;
            let after = word.iter().position(|b| !b.is_ascii_alphanumeric())?;
            (!matches!(word[after], b' ' | b'\t' | b'\r' | b';')).then_some((
                i + 1,
                "syntax error: a directive's name must be followed by a space",
            ))
        })
}

/// The line of an `$INCLUDE` whose quoted file name is glued to what follows it
/// (`$INCLUDE "a"b`, the quote possibly spanning lines): `domain`'s scanner asserts a
/// space after it (a panic, caught, with nothing useful to say).
fn include_name_glued(src: &[u8]) -> Option<(usize, &'static str)> {
    let mut line = 1;
    let mut at = 0;
    while at < src.len() {
        let rest = &src[at..];
        let is_include = rest.len() > 8
            && rest[..8].eq_ignore_ascii_case(b"$INCLUDE")
            && matches!(rest[8], b' ' | b'\t');
        if is_include {
            let start = line;
            let mut i = 8;
            while i < rest.len() && matches!(rest[i], b' ' | b'\t') {
                i += 1;
            }
            if rest.get(i) == Some(&b'"') {
                i += 1;
                while i < rest.len() && rest[i] != b'"' {
                    if rest[i] == b'\n' {
                        line += 1;
                    }
                    i += if rest[i] == b'\\' { 2 } else { 1 };
                }
                let after = rest.get(i + 1).copied();
                if i < rest.len()
                    && !matches!(after, None | Some(b' ' | b'\t' | b'\r' | b'\n' | b';'))
                {
                    return Some((
                        start,
                        "syntax error: $INCLUDE's quoted file name must be followed by a space",
                    ));
                }
            }
            at += i.min(rest.len());
            continue;
        }
        // On to the next line.
        match rest.iter().position(|&b| b == b'\n') {
            Some(end) => {
                line += 1;
                at += end + 1;
            }
            None => break,
        }
    }
    None
}

/// Scans one file with `domain`'s scanner: every record type, `$INCLUDE`, and the error
/// messages. The scanner stops at its first error, so after one the rest of the file is
/// scanned again from the next entry (with the origin, default TTL and owner in effect
/// there), and every error is reported as `named-checkzone` and NSD do, up to
/// [`MAX_ERRORS_PER_FILE`].
pub(crate) fn scan_with_domain(
    builder: &mut ZoneBuilder,
    src: &[u8],
    path: &Path,
    origin: &[u8],
    ttl: Option<&str>,
    depth: usize,
) {
    let mut segment = Segment {
        offset: 0,
        first_line: 1,
        origin: origin.to_vec(),
        ttl: ttl.map(str::to_owned),
        owner: None,
    };
    for _ in 0..MAX_ERRORS_PER_FILE {
        match scan_segment(builder, src, path, &segment, depth) {
            Some(next) => segment = next,
            None => return,
        }
    }
    builder.report(Problem {
        severity: Severity::Error,
        file: path.display().to_string(),
        line: 0,
        message: format!("stopped after {MAX_ERRORS_PER_FILE} errors in this file"),
    });
}

/// Errors reported per file before its scan stops.
const MAX_ERRORS_PER_FILE: usize = 100;

/// Where a scan of a file starts: the whole file, or the entry after an error.
struct Segment {
    /// Byte offset in the file.
    offset: usize,
    /// The file's line number at `offset`.
    first_line: usize,
    /// The origin in effect (wire format).
    origin: Vec<u8>,
    /// The default TTL in effect (`$TTL`'s text).
    ttl: Option<String>,
    /// The owner a first entry without one inherits (text).
    owner: Option<String>,
}

/// Scans one segment; after an error, returns where the scan resumes (`None` at the end).
fn scan_segment(
    builder: &mut ZoneBuilder,
    src: &[u8],
    path: &Path,
    segment: &Segment,
    depth: usize,
) -> Option<Segment> {
    let rest = &src[segment.offset..];
    let file: Arc<str> = path.display().to_string().into();
    let file_index = builder.file_index(&file);
    let fail = |builder: &mut ZoneBuilder, line: usize, message: String| {
        builder.report(Problem {
            severity: Severity::Error,
            file: file.to_string(),
            line,
            message,
        })
    };
    // The scanner has no setter for the default TTL, so an inherited one is given as a
    // `$TTL` line in front of the file; entry lines come from `rest` itself, unaffected.
    // It also fails on some entries that end the text without a newline, so one is added.
    let mut text = Vec::with_capacity(rest.len() + 1);
    if let Some(ttl) = &segment.ttl {
        text.extend_from_slice(format!("$TTL {ttl}\n").as_bytes());
    }
    // A resumed entry that inherits its owner is given the owner it had.
    match &segment.owner {
        Some(owner) if rest.first().is_some_and(|b| matches!(b, b' ' | b'\t')) => {
            text.extend_from_slice(owner.as_bytes());
        }
        _ => {}
    }
    text.extend_from_slice(rest);
    if !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    let Some(mut zonefile) = domain_scanner(&text, &segment.origin) else {
        fail(builder, 0, "the zone's origin is not a valid name".into());
        return None;
    };
    let scan = entry_lines(rest);
    let line_of = |index: usize| {
        scan.lines
            .get(index)
            .map(|&l| l as usize + segment.first_line - 1)
    };
    // Reused for every record: no allocation per record here.
    let mut owner = Vec::with_capacity(255);
    let mut rdata = Vec::with_capacity(512);
    let mut entry_index = 0;
    loop {
        let Some(next) = next_entry(&mut zonefile) else {
            fail(
                builder,
                line_of(entry_index).unwrap_or(0),
                "syntax error: the zone-file scanner failed on this entry".into(),
            );
            return None;
        };
        let entry = match next {
            Ok(Some(entry)) => entry,
            Ok(None) => return None,
            Err(err) => {
                // The scanner's own line may be past the entry; prefer where the entry began.
                let (scanner_line, message) = split_scanner_error(&err.to_string());
                fail(
                    builder,
                    line_of(entry_index).unwrap_or(scanner_line),
                    message,
                );
                let origin = zonefile
                    .origin()
                    .map(|n| wire_name(&n))
                    .unwrap_or_else(|_| segment.origin.clone());
                return resume_after(rest, segment, &scan, entry_index, origin, &owner);
            }
        };
        let line = line_of(entry_index).unwrap_or(0);
        entry_index += 1;
        match entry {
            Entry::Record(record) => {
                owner.clear();
                write_wire_name(record.owner(), &mut owner);
                rdata.clear();
                if record.data().compose_rdata(&mut rdata).is_err() {
                    fail(builder, line, "record data too long".into());
                    continue;
                }
                mend_at_names(record.rtype().to_int(), &mut rdata);
                let source = Source {
                    file: file_index,
                    line: line as u32,
                };
                builder.add_from(
                    &owner,
                    record.rtype().to_int(),
                    record.class().to_int(),
                    record.ttl().as_secs(),
                    &rdata,
                    source,
                );
            }
            Entry::Include {
                path: include,
                origin: include_origin,
            } => {
                if depth >= MAX_INCLUDE_DEPTH {
                    fail(builder, line, "$INCLUDE nested too deep".into());
                    continue;
                }
                let include_path = resolve_include(path, include.as_ref());
                let include_origin = match include_origin {
                    Some(name) => wire_name(&name),
                    None => zonefile
                        .origin()
                        .map(|n| wire_name(&n))
                        .unwrap_or_else(|_| segment.origin.clone()),
                };
                let ttl_here = scan.ttl_at(entry_index - 1).or(segment.ttl.as_deref());
                scan_file(builder, &include_path, &include_origin, ttl_here, depth + 1);
            }
        }
    }
}

/// Where the scan resumes after an error in entry `failed` of `rest`: at the next entry,
/// with the origin the scanner had (`origin`), the default TTL there, and the owner that
/// entry inherits if it has none (the failed entry's, or `last_owner`'s, the last record
/// read).
fn resume_after(
    rest: &[u8],
    segment: &Segment,
    scan: &EntryScan,
    failed: usize,
    origin: Vec<u8>,
    last_owner: &[u8],
) -> Option<Segment> {
    let next_line = *scan.lines.get(failed + 1)? as usize;
    let offset = line_offset(rest, next_line)?;
    let failed_start = line_offset(rest, *scan.lines.get(failed)? as usize)?;
    let token_end = rest[failed_start..]
        .iter()
        .position(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'('))
        .map_or(rest.len(), |end| failed_start + end);
    let token = &rest[failed_start..token_end];
    let owner = if !token.is_empty() && token[0] != b'$' {
        Some(String::from_utf8_lossy(token).into_owned())
    } else if !last_owner.is_empty() {
        Some(wire_to_text(last_owner))
    } else {
        segment.owner.clone()
    };
    Some(Segment {
        offset: segment.offset + offset,
        first_line: segment.first_line + next_line - 1,
        origin,
        ttl: scan
            .ttl_at(failed + 1)
            .map(str::to_owned)
            .or_else(|| segment.ttl.clone()),
        owner,
    })
}

/// The byte offset at which line `line` (1-based) of `text` starts.
fn line_offset(text: &[u8], line: usize) -> Option<usize> {
    if line <= 1 {
        return Some(0);
    }
    text.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(line - 2)
        .map(|(at, _)| at + 1)
}

/// A wire-format name as absolute presentation text (RFC 1035 §5.1 escapes).
fn wire_to_text(wire: &[u8]) -> String {
    let mut text = String::new();
    let mut at = 0;
    while let Some(&len) = wire.get(at) {
        if len == 0 {
            break;
        }
        let label = wire.get(at + 1..at + 1 + len as usize).unwrap_or(&[]);
        for &b in label {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*' {
                text.push(char::from(b));
            } else {
                text.push_str(&format!("\\{b:03}"));
            }
        }
        text.push('.');
        at += 1 + len as usize;
    }
    if text.is_empty() {
        text.push('.');
    }
    text
}
/// `domain` 0.12 reads a lone `@` in RDATA as a label `\@` in front of the origin; RFC
/// 1035 §5.1 (BIND, Knot, and the fast reader) make it the origin. In the names of the RDATA
/// of the types below, a first label `\@` is dropped here, so that a file reads the same
/// whichever reader took it. (A label `\@` written on purpose would be dropped too: no name
/// anyone uses.)
fn mend_at_names(rtype: u16, rdata: &mut Vec<u8>) {
    use dns_wire::types::rtype;
    // (offset of the first name, number of consecutive names)
    let (mut at, count) = match rtype {
        rtype::NS | rtype::CNAME | rtype::PTR | rtype::DNAME | rtype::NSEC => (0, 1),
        // MD, MF (obsolete), MB, MG, MR (RFC 1035)
        3 | 4 | 7..=9 => (0, 1),
        // MINFO (RFC 1035), RP (RFC 1183)
        14 | 17 => (0, 2),
        rtype::SOA => (0, 2),
        // MX; AFSDB, RT (RFC 1183); KX (RFC 2230); SVCB, HTTPS (RFC 9460)
        rtype::MX | 18 | 21 | 36 | 64 | 65 => (2, 1),
        // PX (RFC 2163)
        26 => (2, 2),
        rtype::SRV => (6, 1),
        rtype::RRSIG => (18, 1),
        // IPSECKEY (RFC 4025): precedence, gateway type, algorithm, gateway (a name when
        // the type is 3).
        45 if rdata.get(1) == Some(&3) => (3, 1),
        // NAPTR (RFC 3403): order, preference, three character strings, replacement.
        35 => {
            let mut at = 4;
            for _ in 0..3 {
                at += 1 + *rdata.get(at).unwrap_or(&0) as usize;
            }
            (at, 1)
        }
        _ => return,
    };
    for _ in 0..count {
        if rdata.get(at..at + 2) == Some(b"\x01@") {
            rdata.drain(at..at + 2);
        }
        // Past this name to the next one.
        match dns_wire::Name::parse_uncompressed(rdata, at) {
            Ok((_, end)) => at = end,
            Err(_) => return,
        }
    }
}

/// An included path, relative to the directory of the including file.
fn resolve_include(including: &Path, include: &str) -> PathBuf {
    let include = Path::new(include);
    if include.is_absolute() {
        return include.to_path_buf();
    }
    match including.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(include),
        _ => include.to_path_buf(),
    }
}

/// The scanner's errors read "LINE:COL: message".
fn split_scanner_error(text: &str) -> (usize, String) {
    let mut parts = text.splitn(3, ':');
    let line = parts.next().and_then(|l| l.trim().parse().ok());
    let _col = parts.next();
    match (line, parts.next()) {
        (Some(line), Some(message)) => (line, format!("syntax error: {}", message.trim())),
        _ => (0, format!("syntax error: {text}")),
    }
}

fn wire_name(name: &impl ToName) -> Vec<u8> {
    let mut wire = Vec::with_capacity(name.compose_len() as usize);
    write_wire_name(name, &mut wire);
    wire
}

fn write_wire_name(name: &impl ToName, wire: &mut Vec<u8>) {
    for label in name.iter_labels() {
        wire.push(label.len() as u8);
        wire.extend_from_slice(label.as_slice());
    }
}

/// The line on which each entry the scanner returns begins.
///
/// The scanner reports lines only in its errors, so this pass finds entries the way RFC 1035
/// §5.1 defines them: a logical line (parentheses join physical lines) with at least one
/// token; quotes, escapes and comments are honoured. `$ORIGIN` and `$TTL` are consumed by the
/// scanner and are left out; `$INCLUDE` is returned to us and is kept.
fn entry_lines(src: &[u8]) -> EntryScan {
    let mut lines = Vec::new();
    let mut ttls = Vec::new();
    let mut line = 1u32;
    let mut depth = 0usize;
    let mut entry: Option<(u32, usize)> = None;
    let mut at = 0;
    let push = |entry: &mut Option<(u32, usize)>,
                lines: &mut Vec<u32>,
                ttls: &mut Vec<(usize, String)>| {
        if let Some((line, first)) = entry.take() {
            let word = &src[first..src.len().min(first + 8)];
            // A directive's word ends where any token ends: `$TTL(300)` is `$TTL` too.
            let is = |directive: &[u8]| {
                word.len() > directive.len()
                    && word[..directive.len()].eq_ignore_ascii_case(directive)
                    && matches!(
                        word[directive.len()],
                        b' ' | b'\t' | b'\r' | b'\n' | b'(' | b')' | b';' | b'"'
                    )
            };
            if is(b"$TTL") {
                let rest = &src[first + 4..];
                let end = rest
                    .iter()
                    .position(|&b| b == b'\n' || b == b';')
                    .unwrap_or(rest.len());
                let value = String::from_utf8_lossy(&rest[..end]);
                let value = value.trim().trim_matches(['(', ')']).trim().to_string();
                ttls.push((lines.len(), value));
            } else if !is(b"$ORIGIN") {
                lines.push(line);
            }
        }
    };
    while at < src.len() {
        let byte = src[at];
        match byte {
            b'\n' => {
                line += 1;
                if depth == 0 {
                    push(&mut entry, &mut lines, &mut ttls);
                }
                at += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                at += 1;
                continue;
            }
            b';' => {
                while at < src.len() && src[at] != b'\n' {
                    at += 1;
                }
                continue;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                at += 1;
                continue;
            }
            _ => {}
        }
        entry.get_or_insert((line, at));
        match byte {
            b'(' => {
                depth += 1;
                at += 1;
            }
            b'"' => {
                at += 1;
                while at < src.len() && src[at] != b'"' {
                    if src[at] == b'\\' {
                        at += 1;
                    }
                    if src.get(at) == Some(&b'\n') {
                        line += 1;
                    }
                    at += 1;
                }
                at += 1;
            }
            b'\\' => at += 2,
            _ => {
                // Inside an entry only the special bytes matter: skip to the next one in a
                // tight loop (a signed zone's base64 makes this most of the file).
                at += 1;
                at += src[at..]
                    .iter()
                    .position(|&b| SPECIAL[b as usize])
                    .unwrap_or(src.len() - at);
            }
        }
    }
    push(&mut entry, &mut lines, &mut ttls);
    EntryScan { lines, ttls }
}

/// Bytes that change [`entry_lines`]'s state once an entry has started.
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b'\n' as usize] = true;
    table[b';' as usize] = true;
    table[b'(' as usize] = true;
    table[b')' as usize] = true;
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// What [`entry_lines`] found.
struct EntryScan {
    /// The line of each entry the scanner returns.
    lines: Vec<u32>,
    /// Each `$TTL` value, with the number of entries before it.
    ttls: Vec<(usize, String)>,
}

impl EntryScan {
    /// The `$TTL` in force at entry `index` (for an `$INCLUDE` there).
    fn ttl_at(&self, index: usize) -> Option<&str> {
        self.ttls
            .iter()
            .rev()
            .find(|(before, _)| *before <= index)
            .map(|(_, ttl)| ttl.as_str())
    }
}

#[cfg(test)]
mod tests;
