//! Problems found while loading or checking a zone, each with its file and line.

use core::fmt;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The zone still loads; the operator should look.
    Warning,
    /// The zone is refused.
    Error,
}

/// One problem, located in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// How bad it is.
    pub severity: Severity,
    /// The zone file (or included file) it was found in.
    pub file: String,
    /// The 1-based line, or 0 when the problem is the whole zone's.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        if self.line == 0 {
            write!(f, "{}: {kind}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {kind}: {}", self.file, self.line, self.message)
        }
    }
}

/// A zone that could not be loaded: every problem found (errors and warnings).
#[derive(Clone, Debug)]
pub struct ZoneError {
    /// The problems, errors first.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error);
        for (i, problem) in errors.enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ZoneError {}
