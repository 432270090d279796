//! Text tables for operators (`anyns ctl`, `anyns fleet`): aligned columns under a
//! header, "key: value" lines, and durations written as an operator writes them.

/// Seconds as "45s", "12m30s", "5h02m", "3d4h" (negative: "-45s").
pub(crate) fn duration(seconds: f64) -> String {
    let sign = if seconds < 0.0 { "-" } else { "" };
    let s = seconds.abs().round() as u64;
    let body = match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86400, s % 86400 / 3600),
    };
    format!("{sign}{body}")
}

/// Left-aligned columns, two spaces apart, under a header.
pub(crate) fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// "key: value" lines, keys aligned.
pub(crate) fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    pairs
        .iter()
        .map(|(k, v)| format!("{:<width$} {v}\n", format!("{k}:")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_an_operator_writes_them() {
        assert_eq!(duration(4.2), "4s");
        assert_eq!(duration(3599.0), "59m59s");
        assert_eq!(duration(7260.0), "2h01m");
        assert_eq!(duration(-90.0), "-1m30s");
        assert_eq!(duration(3.0 * 86400.0 + 7200.0), "3d2h");
    }

    #[test]
    fn columns_align_under_the_header() {
        let shown = table(&["A", "LONGER"], vec![vec!["wide cell".into(), "x".into()]]);
        assert_eq!(shown, "A          LONGER\nwide cell  x\n");
    }
}
