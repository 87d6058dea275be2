//! The crowd market passes in the report: `summary.json`'s `market` array,
//! the side-by-side table of venue configurations and the verdict line.

use serde_json::{json, Value};

use crate::markdown::num;
use crate::ReportInput;

fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    levsim_scenario::quantile(&v, q)
}

/// One entry per venue configuration: the path-0 market pass and, for Monte
/// Carlo markets, its distribution over paths. Empty without a crowd.
pub(crate) fn summary(input: &ReportInput<'_>) -> Value {
    let mut out = Vec::new();
    for v in 0..input.market.venues.len() {
        let passes: Vec<&levsim_scenario::MarketOutcome> = input
            .sweep
            .markets
            .iter()
            .filter(|m| m.venue_index == v)
            .collect();
        let Some(first) = passes.iter().find(|m| m.path == 0).or(passes.first()) else {
            continue;
        };
        let mut entry = pass_entry(
            input,
            v,
            first.path,
            &first.metrics,
            passes.iter().map(|p| p.metrics.conservation_error),
        );
        if passes.len() > 1 {
            let col = |f: &dyn Fn(&levsim_engine::crowd::MarketMetrics) -> f64| -> Vec<f64> {
                passes.iter().map(|p| f(&p.metrics)).collect()
            };
            let liq = col(&|m| m.liquidated_notional);
            let bad = col(&|m| m.bad_debt);
            let rounds = col(&|m| f64::from(m.cascade_rounds_max));
            let dev = col(&|m| m.max_mark_deviation_pct);
            let n = passes.len() as f64;
            entry["over_paths"] = json!({
                "paths": passes.len(),
                "liquidated_notional_mean": liq.iter().sum::<f64>() / n,
                "liquidated_notional_p50": quantile(liq.clone(), 0.5),
                "liquidated_notional_p95": quantile(liq, 0.95),
                "bad_debt_p95": quantile(bad.clone(), 0.95),
                "p_bad_debt": bad.iter().filter(|b| **b > 0.0).count() as f64 / n,
                "cascade_rounds_max_p95": quantile(rounds, 0.95),
                "max_mark_deviation_pct_p95": quantile(dev, 0.95),
            });
        }
        out.push(entry);
    }
    Value::Array(out)
}

/// A crowd pass as `summary.json` lists it: venue configuration `v`'s
/// label and profile, the pass's path, its `metrics` flattened in, and the
/// worst money-ledger imbalance over every path the crowd ran (`errors`):
/// conservation is checked on every path, not only the one shown.
pub(crate) fn pass_entry(
    input: &ReportInput<'_>,
    v: usize,
    path: usize,
    metrics: &impl serde::Serialize,
    errors: impl Iterator<Item = f64>,
) -> Value {
    let profile = input.market.venues.get(v).map_or("", |x| x.name.as_str());
    let label = input.scenario.venues[v]
        .label
        .clone()
        .unwrap_or_else(|| profile.to_string());
    let mut entry = json!({
        "venue": label,
        "profile": profile,
        "path": path,
    });
    if let (Value::Object(e), Value::Object(m)) = (
        &mut entry,
        serde_json::to_value(metrics).unwrap_or(Value::Null),
    ) {
        e.extend(m);
    }
    let (mut worst, mut n) = (0.0f64, 0usize);
    for e in errors {
        worst = worst.max(e.abs());
        n += 1;
    }
    entry["conservation_error_worst"] = json!(worst);
    entry["conservation_paths"] = json!(n);
    entry
}

/// A table cell: the worst conservation error of an entry and its paths.
pub(crate) fn conservation_cell(m: &Value) -> String {
    format!(
        "{:.1e} (of {})",
        m["conservation_error_worst"].as_f64().unwrap_or(f64::NAN),
        m["conservation_paths"]
    )
}

/// A number cell with `d` decimals, "–" when missing.
pub(crate) fn cell(v: &Value, d: usize) -> String {
    v.as_f64().map_or("–".into(), |x| num(x, d))
}

/// The side-by-side table of `summary["market"]`.
pub(crate) fn rows(summary: &Value) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let ms = summary["market"].as_array().filter(|a| !a.is_empty())?;
    let head = vec![
        "venue",
        "liquidated notional",
        "liquidations (long/short)",
        "max rounds",
        "max mark dev. %",
        "R",
        "fund min",
        "bad debt",
        "ADL notional",
        "socialized",
        "margin / exposure %",
        "top-ups (too late)",
        "conservation error (worst path)",
    ];
    let f = cell;
    let rows = ms
        .iter()
        .map(|m| {
            vec![
                m["venue"].as_str().unwrap_or("").to_string(),
                f(&m["liquidated_notional"], 0),
                format!("{} / {}", m["liquidations_long"], m["liquidations_short"]),
                m["cascade_rounds_max"].to_string(),
                f(&m["max_mark_deviation_pct"], 2),
                f(&m["cascade_ratio"], 3),
                f(&m["insurance_fund_min"], 0),
                f(&m["bad_debt"], 0),
                f(&m["adl_notional"], 0),
                f(&m["socialized_loss"], 0),
                m["margin_per_exposure"]
                    .as_f64()
                    .map_or("–".into(), |x| num(x * 100.0, 2)),
                format!("{} ({})", m["topups"], m["topups_too_late"]),
                conservation_cell(m),
            ]
        })
        .collect();
    Some((head, rows))
}

/// The answer in one paragraph: which configuration had the smallest
/// cascade, who paid, and its capital-efficiency cost against the first.
/// The cascade verdict: a headline, then who paid under each configuration.
pub(crate) fn verdict(summary: &Value) -> Option<Vec<String>> {
    let ms = summary["market"].as_array().filter(|a| !a.is_empty())?;
    let g = |m: &Value, k: &str| m[k].as_f64().unwrap_or(f64::NAN);
    let name = |m: &Value| m["venue"].as_str().unwrap_or("").to_string();
    let min = ms
        .iter()
        .min_by(|a, b| g(a, "liquidated_notional").total_cmp(&g(b, "liquidated_notional")))?;
    let max = ms
        .iter()
        .max_by(|a, b| g(a, "liquidated_notional").total_cmp(&g(b, "liquidated_notional")))?;
    let base = &ms[0];
    let mut s = format!(
        "Crowd of {} accounts, open interest {}. ",
        num(g(base, "accounts"), 0),
        num(g(base, "open_interest"), 0)
    );
    if g(base, "book_accounts") > 0.0 {
        let each: Vec<String> = ms
            .iter()
            .map(|m| {
                format!(
                    "{} of them liquidated ({} notional){}",
                    num(g(m, "book_accounts_liquidated"), 0),
                    num(g(m, "book_liquidated_notional"), 0),
                    if ms.len() > 1 {
                        format!(" under {}", name(m))
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        let _ = std::fmt::Write::write_fmt(
            &mut s,
            format_args!(
                "{} accounts come from the book of positions: {}. ",
                num(g(base, "book_accounts"), 0),
                each.join("; ")
            ),
        );
    }
    if ms.len() > 1 {
        let _ = std::fmt::Write::write_fmt(
            &mut s,
            format_args!(
                "Smallest cascade: {} ({} liquidated, {} rounds at most, mark at most {} % off the price); largest: {} ({} liquidated). ",
                name(min),
                num(g(min, "liquidated_notional"), 0),
                min["cascade_rounds_max"],
                num(g(min, "max_mark_deviation_pct"), 2),
                name(max),
                num(g(max, "liquidated_notional"), 0),
            ),
        );
        let (mb, mm) = (
            g(base, "margin_per_exposure"),
            g(min, "margin_per_exposure"),
        );
        if name(min) != name(base) {
            let _ = std::fmt::Write::write_fmt(
                &mut s,
                format_args!(
                    "Its crowd locked {} % of its exposure as margin, against {} % under {} ({}). ",
                    num(mm * 100.0, 2),
                    num(mb * 100.0, 2),
                    name(base),
                    if mm > mb * 1.0005 {
                        format!("{}x the capital per unit of exposure", num(mm / mb, 2))
                    } else {
                        "no more capital per unit of exposure".to_string()
                    }
                ),
            );
        }
    } else {
        let _ = std::fmt::Write::write_fmt(
            &mut s,
            format_args!(
                "Liquidated {} in {} liquidations, up to {} cascade rounds, mark up to {} % off the price. ",
                num(g(min, "liquidated_notional"), 0),
                min["liquidations"],
                min["cascade_rounds_max"],
                num(g(min, "max_mark_deviation_pct"), 2)
            ),
        );
    }
    let mut out = vec![s.trim_end().to_string()];
    for m in ms {
        let mut s = String::new();
        let bad = g(m, "bad_debt");
        if bad > 0.0 {
            let fund = g(m, "insurance_fund_start") + g(m, "insurance_fund_income")
                - g(m, "insurance_fund_end");
            let _ = std::fmt::Write::write_fmt(
                &mut s,
                format_args!(
                    "{}: bad debt {} paid by the insurance fund {}, ADL {}, socialized {}{}. ",
                    name(m),
                    num(bad, 0),
                    num(fund.max(0.0), 0),
                    num(g(m, "adl_covered"), 0),
                    num(g(m, "socialized_loss"), 0),
                    if g(m, "uncovered_deficit") > 0.0 {
                        format!(", uncovered {}", num(g(m, "uncovered_deficit"), 0))
                    } else {
                        String::new()
                    }
                ),
            );
        } else {
            let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{}: no bad debt. ", name(m)));
        }
        out.push(s.trim_end().to_string());
    }
    Some(out)
}

/// For Monte Carlo markets: each venue configuration's cascades over paths.
pub(crate) fn path_rows(summary: &Value) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let ms = summary["market"].as_array()?;
    if !ms.iter().any(|m| m["over_paths"].is_object()) {
        return None;
    }
    let head = vec![
        "venue",
        "paths",
        "liquidated p50",
        "liquidated p95",
        "P(bad debt)",
        "bad debt p95",
        "max rounds p95",
        "max mark dev. % p95",
    ];
    let f = cell;
    let rows = ms
        .iter()
        .map(|m| {
            let o = &m["over_paths"];
            vec![
                m["venue"].as_str().unwrap_or("").to_string(),
                o["paths"].to_string(),
                f(&o["liquidated_notional_p50"], 0),
                f(&o["liquidated_notional_p95"], 0),
                f(&o["p_bad_debt"], 3),
                f(&o["bad_debt_p95"], 0),
                f(&o["cascade_rounds_max_p95"], 1),
                f(&o["max_mark_deviation_pct_p95"], 2),
            ]
        })
        .collect();
    Some((head, rows))
}
