//! Files a secondary keeps: the last good copy of each zone (a snapshot) and each zone's
//! journal of differences, written atomically (temporary file, fsync, rename, fsync of the
//! directory) so a crash leaves either the old file or the new one, never half of one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The file suffix of a zone's last good copy.
pub(crate) const SNAPSHOT: &str = ".zone.snapshot";
/// The file suffix of a zone's journal of differences.
pub(crate) const JOURNAL: &str = ".journal";

/// The file name for `origin` with `suffix`: the zone's name in text, with every character
/// other than letters, digits, '-', '_' and '.' written as %XX.
pub(crate) fn path_for(storage: &Path, origin: &[u8], suffix: &str) -> PathBuf {
    let text = dns_wire::name_to_text(origin);
    let mut name = String::with_capacity(text.len() + suffix.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => name.push(byte as char),
            other => name.push_str(&format!("%{other:02X}")),
        }
    }
    name.push_str(suffix);
    storage.join(name)
}

/// Replaces `path` with `bytes` atomically and durably.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{file_name}.tmp.{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_writes_replace_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), b"\x04a/b*\x07example\x00", ".zone");
        assert!(
            path.ends_with("a%2Fb%2A.example..zone"),
            "{}",
            path.display()
        );
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files left behind");
    }
}
