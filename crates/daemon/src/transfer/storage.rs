//! Files a secondary keeps: the last good copy of each zone (a snapshot) and each zone's
//! journal of differences, written atomically (temporary file, fsync, rename, fsync of the
//! directory) so a crash leaves either the old file or the new one, never half of one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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
    prepare(path, bytes)?.commit()
}

/// `bytes` written and synced beside `path` under a temporary name: the slow half of
/// [`write_atomically`], which may run while the caller decides whether to keep it.
/// [`Prepared::commit`] puts the file in place; dropped uncommitted, it is removed.
pub(crate) fn prepare(path: &Path, bytes: &[u8]) -> io::Result<Prepared> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per write: two writes of one file may overlap (a snapshot prepared while its
    // zone is built, then another transfer's).
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let write = WRITES.fetch_add(1, Ordering::Relaxed);
    let temporary = dir.join(format!(".{file_name}.tmp.{}.{write}", std::process::id()));
    let mut file = File::create(&temporary)?;
    // From here on the temporary file is removed unless committed.
    let prepared = Prepared {
        temporary: Some(temporary),
        path: path.to_path_buf(),
    };
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(prepared)
}

/// A file written by [`prepare`], not yet in place.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// `None` once committed.
    temporary: Option<PathBuf>,
    path: PathBuf,
}

impl Prepared {
    /// Puts the file in place of `path` (rename, then fsync of the directory).
    pub(crate) fn commit(mut self) -> io::Result<()> {
        let Some(temporary) = self.temporary.take() else {
            return Ok(());
        };
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        let result = fs::rename(&temporary, &self.path).and_then(|()| File::open(dir)?.sync_all());
        if result.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        result
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(temporary) = self.temporary.take() {
            let _ = fs::remove_file(temporary);
        }
    }
}

/// Appends `bytes` to the existing file `path` and syncs it (a crash may leave part of
/// them: the reader of the file must tell).
pub(crate) fn append_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = fs::OpenOptions::new().append(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_data()
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
        // Prepared and dropped: the old file stays, nothing else is left.
        drop(prepare(&path, b"third").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let prepared = prepare(&path, b"fourth").unwrap();
        assert_eq!(
            fs::read(&path).unwrap(),
            b"second",
            "not in place before commit"
        );
        prepared.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"fourth");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
