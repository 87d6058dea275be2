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

/// The aggregates table (only when points have more than one run).
pub(crate) fn aggregate_rows(summary: &Value) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let aggs = summary["aggregates"].as_array()?;
    if !aggs.iter().any(|a| a["runs"].as_u64().unwrap_or(0) > 1) {
        return None;
    }
    let head = vec![
        "point",
        "runs",
        "P(liquidation)",
        "95 % CI",
        "return p05 %",
        "return p50 %",
        "ES 5 % (return %)",
        "max DD p50 %",
        "time to liq. p50 (h)",
    ];
    let f = |v: &Value, d: usize| v.as_f64().map_or("–".into(), |x| num(x, d));
    let rows = aggs
        .iter()
        .map(|a| {
            vec![
                a["point_id"].as_str().unwrap_or("").to_string(),
                a["runs"].to_string(),
                f(&a["p_liquidation"], 4),
                format!(
                    "{} – {}",
                    f(&a["p_liquidation_ci"][0], 4),
                    f(&a["p_liquidation_ci"][1], 4)
                ),
                f(&a["return_pct_p05"], 2),
                f(&a["return_pct_p50"], 2),
                f(&a["expected_shortfall_5pct"], 2),
                f(&a["max_drawdown_pct_p50"], 2),
                f(&a["time_to_liquidation_h_p50"], 1),
            ]
        })
        .collect();
    Some((head, rows))
}

/// The rows of the runs table: one per run, as display strings.
pub(crate) fn run_rows(input: &ReportInput<'_>) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let head = vec![
        "run",
        "final equity",
        "return %",
        "max DD %",
        "liquidations (orders)",
        "first liquidation (bar, UTC)",
        "liq. price",
        "fees",
        "funding",
        "bad debt",
        "avg lev",
        "in market %",
    ];
    // One row per run on market path 0 (all runs of a historical market).
    let rows = crate::charts::path0(input)
        .map(|r| {
            let m = &r.output.metrics;
            vec![
                r.spec.run_id.clone(),
                num(m.final_equity, 2),
                num(m.return_pct, 2),
                num(m.max_drawdown_pct, 2),
                format!("{} ({})", m.liquidations, m.liquidation_tranches),
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

/// What the policy table's capital-efficiency column means, beside it.
pub(crate) const EXPOSURE_NOTE: &str = "Exposure / committed: the position's notional per unit of committed capital (margin plus reserve), averaged over every bar of the window, counting 0 while out of the market or after a liquidation: a 2x static long liquidated half-way through shows about 1x.";

/// Notes under the runs table: what its liquidation column counts, and
/// why a run lost (nearly) everything without a liquidation.
pub(crate) fn run_notes(input: &ReportInput<'_>) -> Vec<String> {
    let mut out = vec![
        "Liquidations (orders): liquidation events, a position the venue closed until it was gone or its owner traded it, and in brackets the venue's orders (tranches) for them: under tier reduction or partial liquidation one event may take several."
            .to_string(),
    ];
    for r in crate::charts::path0(input) {
        let m = &r.output.metrics;
        if m.liquidations == 0 && m.return_pct <= -90.0 {
            out.push(format!(
                "{} lost {} % without a liquidation: its own {} trades (rebalancing to the target as the price fell sells low and realizes the loss; {} in trading fees) shrank the position before any liquidation price was reached.",
                r.spec.run_id,
                num(-m.return_pct, 2),
                m.trades,
                num(m.trading_fees, 2)
            ));
        }
    }
    out
}

/// Appends a Markdown table.
fn table(s: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(s, "| {} |", head.join(" | "));
    let _ = writeln!(s, "|{}|", vec!["---"; head.len()].join("|"));
    for r in rows {
        let _ = writeln!(s, "| {} |", r.join(" | "));
    }
}

/// What currency the report's money is in.
pub(crate) fn money_note(input: &ReportInput<'_>) -> &'static str {
    if crate::legs::settlement(input) == "coin" {
        "Money in coin: the venue settles inverse (coin-margined) contracts, so capital, equity, PnL, fees and funding are in the base coin (a position's size is the USD face of its contracts)."
    } else {
        "Money in quote currency."
    }
}

pub(crate) fn write(
    dir: &Path,
    input: &ReportInput<'_>,
    summary: &Value,
    ov: &crate::overview::Overview,
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
    let _ = writeln!(s, "\n## Summary\n");
    if let Some((first, rest)) = crate::cascade::verdict(summary)
        .as_ref()
        .and_then(|v| v.split_first())
    {
        let _ = writeln!(s, "**Cascades.** {first}\n");
        for line in rest {
            let _ = writeln!(s, "- {line}");
        }
        let _ = writeln!(s);
    }
    if let Some((first, rest)) = crate::contagion::verdict(summary)
        .as_ref()
        .and_then(|v| v.split_first())
    {
        let _ = writeln!(s, "**Contagion.** {first}\n");
        for line in rest {
            let _ = writeln!(s, "- {line}");
        }
        let _ = writeln!(s);
    }
    if let Some((first, rest)) = ov.answer.split_first() {
        let _ = writeln!(s, "**{first}**\n");
        for a in rest {
            let _ = writeln!(s, "- {a}");
        }
        let _ = writeln!(s);
    }
    table(&mut s, &ov.head, &ov.rows);
    let _ = writeln!(s, "\n{EXPOSURE_NOTE}\n");
    if let Some((head, rows)) = &ov.recommended {
        let _ = writeln!(s, "Recommended by `levsim optimize`:\n");
        table(&mut s, head, rows);
        let _ = writeln!(s);
    }
    if let Some(n) = &ov.optimize_note {
        let _ = writeln!(s, "{n}\n");
    }
    if let Some((head, rows)) = crate::cascade::rows(summary) {
        let _ = writeln!(s, "## Cascades\n");
        table(&mut s, &head, &rows);
        let _ = writeln!(s);
        if let Some((head, rows)) = crate::cascade::path_rows(summary) {
            let _ = writeln!(s, "Over every Monte Carlo path:\n");
            table(&mut s, &head, &rows);
            let _ = writeln!(s);
        }
    }
    if let Some((head, rows)) = crate::contagion::rows(summary) {
        let _ = writeln!(s, "## Contagion between assets\n");
        table(&mut s, &head, &rows);
        if let Some((head, rows)) = crate::contagion::instrument_rows(summary) {
            let _ = writeln!(s, "\nEach instrument:\n");
            table(&mut s, &head, &rows);
        }
        let _ = writeln!(s, "\n{}\n", crate::contagion::NOTE);
    }
    if let Some((head, rows)) = crate::legs::mode_rows(input) {
        let _ = writeln!(s, "## Portfolio: margin modes side by side\n");
        table(&mut s, &head, &rows);
        if let Some((head, rows)) = crate::legs::leg_rows(input) {
            let _ = writeln!(s, "\nEach leg (runs on path 0):\n");
            table(&mut s, &head, &rows);
        }
        if let Some((head, rows)) = crate::legs::correlation_rows(input) {
            let _ = writeln!(
                s,
                "\nCorrelation of the instruments' bar returns: set (the market's, or the one portfolio margin assumes) and realized on path 0:\n"
            );
            let head: Vec<&str> = head.iter().map(String::as_str).collect();
            table(&mut s, &head, &rows);
        }
        let _ = writeln!(s, "\n{}\n", crate::legs::LEGS_NOTE);
        if let Some((head, rows)) = crate::contagion::transfer_rows(input) {
            let _ = writeln!(s, "Transfers between the isolated accounts:\n");
            table(&mut s, &head, &rows);
            let _ = writeln!(s, "\n{}\n", crate::contagion::TRANSFER_NOTE);
        }
    }
    if let Some((head, rows)) = crate::models::model_rows(input) {
        let _ = writeln!(s, "## Options: margin models side by side\n");
        table(&mut s, &head, &rows);
        let _ = writeln!(s, "\n{}\n", crate::models::MODELS_NOTE);
        for (title, head, rows) in crate::models::stress_tables(input) {
            let _ = writeln!(s, "Price-volatility stress: {title}\n");
            let head: Vec<&str> = head.iter().map(String::as_str).collect();
            table(&mut s, &head, &rows);
            let _ = writeln!(s);
        }
    }
    if let Some((head, rows)) = aggregate_rows(summary) {
        let _ = writeln!(s, "## Across {} paths\n", input.scenario.paths);
        table(&mut s, &head, &rows);
        let _ = writeln!(s, "\n## Runs on path 0\n");
    }
    let (head, rows) = run_rows(input);
    table(&mut s, &head, &rows);
    let _ = writeln!(
        s,
        "\n{} A liquidation's time is the open time of the bar in which the mark reached the liquidation price.",
        money_note(input)
    );
    for n in run_notes(input) {
        let _ = writeln!(s, "\n{n}");
    }
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
