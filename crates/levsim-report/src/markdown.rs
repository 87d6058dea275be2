//! `summary.md`: the runs table for terminals and pull requests.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use levsim_core::time::to_iso;
use serde_json::Value;

use crate::error::io;
use crate::{ReportError, ReportInput};

/// A number with thousands separators and `d` decimals.
pub(crate) fn num(v: f64, d: usize) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let s = format!("{:.*}", d, v.abs());
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(a, b)| (a, Some(b)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    if v < 0.0 && s.chars().any(|c| c != '0' && c != '.') {
        out.insert(0, '−');
    }
    out
}

/// The rows of the runs table: one per run, as display strings.
pub(crate) fn run_rows(input: &ReportInput<'_>) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let head = vec![
        "run",
        "final equity",
        "return %",
        "max DD %",
        "liqs",
        "first liquidation (bar, UTC)",
        "liq. price",
        "fees",
        "funding",
        "bad debt",
        "avg lev",
        "in market %",
    ];
    let rows = input
        .results
        .iter()
        .map(|r| {
            let m = &r.output.metrics;
            vec![
                r.spec.run_id.clone(),
                num(m.final_equity, 2),
                num(m.return_pct, 2),
                num(m.max_drawdown_pct, 2),
                m.liquidations.to_string(),
                m.first_liquidation_ts
                    .map_or("–".into(), |t| to_iso(t).replace('T', " ")),
                m.liquidation_price.map_or("–".into(), |p| num(p, 2)),
                num(m.fees, 2),
                num(m.funding, 2),
                num(m.bad_debt, 2),
                num(m.avg_leverage, 2),
                num(m.time_in_market_pct, 1),
            ]
        })
        .collect();
    (head, rows)
}

pub(crate) fn write(
    dir: &Path,
    input: &ReportInput<'_>,
    summary: &Value,
) -> Result<PathBuf, ReportError> {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", input.scenario.name);
    if !input.scenario.description.trim().is_empty() {
        let _ = writeln!(
            s,
            "{}\n",
            input.scenario.description.trim().replace('\n', " ")
        );
    }
    for line in crate::summary::scenario_lines(summary, input) {
        let _ = writeln!(s, "- {line}");
    }
    let _ = writeln!(s);
    let (head, rows) = run_rows(input);
    let _ = writeln!(s, "| {} |", head.join(" | "));
    let _ = writeln!(
        s,
        "|{}|",
        head.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for r in rows {
        let _ = writeln!(s, "| {} |", r.join(" | "));
    }
    let _ = writeln!(
        s,
        "\nMoney in quote currency. A liquidation's time is the open time of the bar in which the mark reached the liquidation price."
    );
    let path = dir.join("summary.md");
    std::fs::write(&path, s).map_err(io(&path))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::num;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(num(1234567.891, 2), "1,234,567.89");
        assert_eq!(num(-12.5, 1), "−12.5");
        assert_eq!(num(0.0, 2), "0.00");
        assert_eq!(num(999.0, 0), "999");
        assert_eq!(num(f64::NAN, 2), "–");
    }
}
