//! What is wrong with a configuration, and where: a [`ConfigError`] names the key it is
//! about as a path into the file (`zone[2].primaries[0]`), says what is wrong with the value
//! and, where the fix is not obvious, how to fix it.
//!
//! Each section converts itself and reports keys relative to itself (`primaries[0]`); the
//! caller that knows where the section sits puts it [`ConfigError::within`] its path
//! (`zone[2]`), so no converter needs to know where it was called from.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a value is in the file: keys joined by `.`, list positions as `[i]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(String);

impl KeyPath {
    /// A top-level key (`server`, `zone`).
    pub fn root(key: &str) -> Self {
        Self(key.to_string())
    }

    /// The key `key` inside this one.
    pub fn key(&self, key: &str) -> Self {
        if self.0.is_empty() {
            Self::root(key)
        } else {
            Self(format!("{}.{key}", self.0))
        }
    }

    /// The `index`-th entry of this list.
    pub fn index(&self, index: usize) -> Self {
        Self(format!("{}[{index}]", self.0))
    }

    /// This path under `outer` (`primaries[0]` within `zone[2]`: `zone[2].primaries[0]`).
    fn within(&self, outer: &Self) -> Self {
        match (outer.0.is_empty(), self.0.is_empty()) {
            (true, _) => self.clone(),
            (false, true) => outer.clone(),
            (false, false) if self.0.starts_with('[') => Self(format!("{}{}", outer.0, self.0)),
            (false, false) => Self(format!("{}.{}", outer.0, self.0)),
        }
    }

    /// The path as written in the file.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An invalid configuration: the key, the problem and, where useful, a hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, once known (a section's converter does not know it).
    pub file: Option<PathBuf>,
    /// The key the problem is about; empty for a file that is not TOML at all.
    pub key: KeyPath,
    /// What is wrong with its value.
    pub problem: String,
    /// How to fix it, when that is not plain from the problem.
    pub hint: Option<String>,
}

impl ConfigError {
    /// `key`'s value is wrong: `problem`.
    pub fn new(key: KeyPath, problem: impl Into<String>) -> Self {
        Self {
            file: None,
            key,
            problem: problem.into(),
            hint: None,
        }
    }

    /// A problem with the key `key` of the section being converted (a relative path).
    pub(crate) fn at(key: &str, problem: impl Into<String>) -> Self {
        Self::new(KeyPath::root(key), problem)
    }

    /// Adds how to fix it.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The same error, its key taken as relative to `outer`.
    #[must_use]
    pub fn within(mut self, outer: &KeyPath) -> Self {
        self.key = self.key.within(outer);
        self
    }

    /// The same error, found in `file`.
    #[must_use]
    pub fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_path_buf());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        if !self.key.0.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.problem)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_compose_from_the_inside_out() {
        let inner = ConfigError::at("primaries", "bad").within(&KeyPath::root("zone").index(2));
        assert_eq!(inner.key.as_str(), "zone[2].primaries");
        let listed = ConfigError::new(KeyPath::default().index(0), "bad")
            .within(&KeyPath::root("zone").index(1).key("notify"));
        assert_eq!(listed.key.as_str(), "zone[1].notify[0]");
        let whole = ConfigError::new(KeyPath::default(), "bad").within(&KeyPath::root("bgp"));
        assert_eq!(whole.key.as_str(), "bgp");
    }

    #[test]
    fn the_message_names_file_key_problem_and_hint() {
        let err = ConfigError::at("source", "192.0.2.53 is an anycast address")
            .hint("name the site's unicast address")
            .within(&KeyPath::root("zone").index(0))
            .in_file(Path::new("/etc/anyns.toml"));
        assert_eq!(
            err.to_string(),
            "/etc/anyns.toml: zone[0].source: 192.0.2.53 is an anycast address \
             (hint: name the site's unicast address)"
        );
        assert_eq!(
            ConfigError::new(KeyPath::default(), "not TOML").to_string(),
            "not TOML"
        );
    }
}
