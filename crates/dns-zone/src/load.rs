//! Reading RFC 1035 master files with the `domain` crate's scanner: $ORIGIN, $TTL,
//! $INCLUDE (relative to the including file, as Knot does), line numbers for every record.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use domain::base::iana::Class;
use domain::base::name::{Name as DomainName, ToName};
use domain::base::rdata::ComposeRecordData;
use domain::zonefile::inplace::{Entry, Zonefile};

use crate::build::{Source, ZoneBuilder};
use crate::error::{Problem, Severity, ZoneError};
use crate::zone::Zone;

/// How deep $INCLUDE may nest (guards against a file including itself).
const MAX_INCLUDE_DEPTH: usize = 8;

/// Loads and checks the zone `origin` (wire form) from `path`. Returns the zone and its
/// warnings, or every problem found.
pub fn load_zone_file(path: &Path, origin: &[u8]) -> Result<(Zone, Vec<Problem>), ZoneError> {
    let mut builder = ZoneBuilder::new(origin, &path.display().to_string());
    scan_file(&mut builder, path, origin, 0);
    builder.finish()
}

/// Loads and checks a zone from text (tests, and zones received in memory). $INCLUDE paths
/// are taken relative to the current directory.
pub fn load_zone_str(text: &str, origin: &[u8]) -> Result<(Zone, Vec<Problem>), ZoneError> {
    let mut builder = ZoneBuilder::new(origin, "<text>");
    scan_bytes(
        &mut builder,
        text.as_bytes(),
        Path::new("<text>"),
        origin,
        0,
    );
    builder.finish()
}

fn scan_file(builder: &mut ZoneBuilder, path: &Path, origin: &[u8], depth: usize) {
    match std::fs::read(path) {
        Ok(bytes) => scan_bytes(builder, &bytes, path, origin, depth),
        Err(err) => builder.report(Problem {
            severity: Severity::Error,
            file: path.display().to_string(),
            line: 0,
            message: format!("cannot read: {err}"),
        }),
    }
}

fn scan_bytes(builder: &mut ZoneBuilder, src: &[u8], path: &Path, origin: &[u8], depth: usize) {
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
    let Ok(origin_name) = DomainName::from_octets(Bytes::copy_from_slice(origin)) else {
        fail(builder, 0, "the zone's origin is not a valid name".into());
        return;
    };
    let mut zonefile = Zonefile::from(src);
    zonefile.set_origin(origin_name);
    zonefile.set_default_class(Class::IN);
    let lines = entry_lines(src);
    let mut entry_index = 0;
    loop {
        let entry = match zonefile.next_entry() {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(err) => {
                // The scanner's own line may be past the entry; prefer where the entry began.
                let (scanner_line, message) = split_scanner_error(&err.to_string());
                let line = lines.get(entry_index).map_or(scanner_line, |&l| l as usize);
                fail(builder, line, message);
                break;
            }
        };
        let line = lines.get(entry_index).copied().unwrap_or(0) as usize;
        entry_index += 1;
        match entry {
            Entry::Record(record) => {
                let owner = wire_name(record.owner());
                let mut rdata = Vec::new();
                if record.data().compose_rdata(&mut rdata).is_err() {
                    fail(builder, line, "record data too long".into());
                    continue;
                }
                let source = Source {
                    file: file_index,
                    line: line as u32,
                };
                builder.add_from(
                    &owner,
                    record.rtype().to_int(),
                    record.class().to_int(),
                    record.ttl().as_secs(),
                    rdata,
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
                        .unwrap_or_else(|_| origin.to_vec()),
                };
                scan_file(builder, &include_path, &include_origin, depth + 1);
            }
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
    for label in name.iter_labels() {
        wire.push(label.len() as u8);
        wire.extend_from_slice(label.as_slice());
    }
    wire
}

/// The line on which each entry the scanner returns begins.
///
/// The scanner reports lines only in its errors, so this pass finds entries the way RFC 1035
/// §5.1 defines them: a logical line (parentheses join physical lines) with at least one
/// token; quotes, escapes and comments are honoured. `$ORIGIN` and `$TTL` are consumed by the
/// scanner and are left out; `$INCLUDE` is returned to us and is kept.
fn entry_lines(src: &[u8]) -> Vec<u32> {
    let mut lines = Vec::new();
    let mut line = 1u32;
    let mut depth = 0usize;
    let mut entry: Option<(u32, usize)> = None;
    let mut at = 0;
    let push = |entry: &mut Option<(u32, usize)>, lines: &mut Vec<u32>| {
        if let Some((line, first)) = entry.take() {
            let word = &src[first..src.len().min(first + 8)];
            let directive = word.first() == Some(&b'$');
            let consumed = directive
                && (word.len() >= 4 && word[..4].eq_ignore_ascii_case(b"$TTL")
                    || word.len() >= 7 && word[..7].eq_ignore_ascii_case(b"$ORIGIN"));
            if !consumed {
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
                    push(&mut entry, &mut lines);
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
            _ => at += 1,
        }
    }
    push(&mut entry, &mut lines);
    lines
}

#[cfg(test)]
mod tests;
