//! One audit finding and how findings are shown: severity, a stable code (for scripts and
//! tests), where (zone, owner/type or config key), the measured fact, why it matters and
//! what to change.

use serde::Serialize;

/// How bad a finding is; `--fail-on` picks the level that fails the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing to fix.
    Info,
    /// Works, but a failure mode is likely under anycast (fallbacks, route changes).
    Warning,
    /// Broken for some clients, or unsafe under anycast.
    Error,
}

impl Severity {
    fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Finding {
    pub(crate) severity: Severity,
    /// e.g. `size.udp-1232`, `ns.no-unicast-fallback`.
    pub(crate) code: &'static str,
    /// e.g. `example. DNSKEY +DO` or `listen[0]`.
    pub(crate) at: String,
    /// What was measured or seen, e.g. "1,514 octets".
    pub(crate) fact: String,
    /// Why it matters and what to change.
    pub(crate) advice: &'static str,
}

impl Finding {
    pub(crate) fn new(
        severity: Severity,
        code: &'static str,
        at: impl Into<String>,
        fact: impl Into<String>,
        advice: &'static str,
    ) -> Self {
        Self {
            severity,
            code,
            at: at.into(),
            fact: fact.into(),
            advice,
        }
    }
}

/// The findings as a table, worst first, then the advice once per code.
pub(crate) fn render(findings: &[Finding]) -> String {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(b.code)));
    let rows = sorted
        .iter()
        .map(|f| {
            vec![
                f.severity.name().to_string(),
                f.code.to_string(),
                f.at.clone(),
                f.fact.clone(),
            ]
        })
        .collect();
    let mut out = crate::tables::table(&["SEVERITY", "FINDING", "WHERE", "MEASURED"], rows);
    let mut codes: Vec<(&'static str, &'static str)> =
        sorted.iter().map(|f| (f.code, f.advice)).collect();
    codes.dedup();
    let mut seen = Vec::new();
    for (code, advice) in codes {
        if !seen.contains(&code) {
            seen.push(code);
            out.push_str(&format!("\n{code}: {advice}\n"));
        }
    }
    out
}

/// Groups digits by thousands: 1514 -> "1,514".
pub(crate) fn octets(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out + " octets"
}
