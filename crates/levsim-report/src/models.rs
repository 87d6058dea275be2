//! Option books: the margin each model asks of the same book over time
//! (standard, Greek, full revaluation, SPAN), and the price-volatility
//! stress table at the bar where full revaluation asked most.

use levsim_engine::portfolio::PortfolioSeries;

use crate::charts::path0;
use crate::markdown::num;
use crate::ReportInput;

/// What the models section says about how the numbers are made.
pub(crate) const MODELS_NOTE: &str = "Diagnostics of each run's book as it stands at every kept bar (the run itself is margined by its margin mode): standard = the venue's maintenance leg by leg (Deribit's rates for short options); Greek = the worst Taylor loss (delta, gamma, vega) over Deribit's grid of ±16 % in 9 buckets × −10/0/+10 volatility points; full revaluation = the worst loss repricing every option over the same grid; SPAN = CME's 16 scenarios (price scan range 16 %, volatility scan range 10 points, extreme moves of 48 % covered at 35 %). Each underlying is scanned with its own legs and the worst losses summed.";

/// Runs on path 0 whose series carry the models.
fn with_models<'a>(
    input: &'a ReportInput<'_>,
) -> impl Iterator<Item = (&'a levsim_scenario::RunResult, &'a PortfolioSeries)> + 'a {
    path0(input).filter_map(|r| {
        let s = r.portfolio.as_ref()?.series.as_ref()?;
        (!s.margin_full.is_empty()).then_some((r, s))
    })
}

/// The standard requirement at each kept bar: Σ leg maintenance.
pub(crate) fn standard(s: &PortfolioSeries) -> Vec<f64> {
    (0..s.ts.len())
        .map(|i| s.maintenance.iter().map(|m| m[i]).sum())
        .collect()
}

fn peak_mean(xs: &[f64]) -> (f64, f64) {
    let peak = xs.iter().copied().fold(0.0, f64::max);
    let mean = if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    };
    (peak, mean)
}

/// One row per run: peak and mean requirement under each model, the
/// Greek margin's error against full revaluation where that peaks, and
/// the scenario that binds there.
pub(crate) fn model_rows(input: &ReportInput<'_>) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let head = vec![
        "run",
        "standard peak / mean",
        "Greek peak / mean",
        "full revaluation peak / mean",
        "SPAN peak / mean",
        "Greek vs full at full's peak %",
        "binding scenario at full's peak",
    ];
    let mut rows = Vec::new();
    for (r, s) in with_models(input) {
        let std = standard(s);
        let cell = |xs: &[f64]| {
            let (p, m) = peak_mean(xs);
            format!("{} / {}", num(p, 0), num(m, 0))
        };
        let k = s
            .margin_full
            .iter()
            .enumerate()
            .fold(0, |b, (i, &v)| if v > s.margin_full[b] { i } else { b });
        let full = s.margin_full[k];
        let err = if full > 0.0 {
            let x = (s.margin_greek[k] / full - 1.0) * 100.0;
            format!("{}{}", if x > 0.0 { "+" } else { "" }, num(x, 1))
        } else {
            "–".into()
        };
        let sign = |x: f64| if x > 0.0 { "+" } else { "" };
        let binding = if full > 0.0 {
            format!(
                "{}{} % price, {}{} vol points ({})",
                sign(s.binding_move[k]),
                num(s.binding_move[k] * 100.0, 0),
                sign(s.binding_vol[k]),
                num(s.binding_vol[k], 0),
                levsim_core::time::to_iso(s.ts[k])
            )
        } else {
            "–".into()
        };
        rows.push(vec![
            r.spec.run_id.clone(),
            cell(&std),
            cell(&s.margin_greek),
            cell(&s.margin_full),
            cell(&s.margin_span),
            err,
            binding,
        ]);
    }
    (!rows.is_empty()).then_some((head, rows))
}

/// Per policy, its run whose book asked most under full revaluation.
pub(crate) fn worst_per_policy<'a>(
    input: &'a ReportInput<'_>,
) -> Vec<(&'a levsim_scenario::RunResult, &'a PortfolioSeries)> {
    let mut out: Vec<(&levsim_scenario::RunResult, &PortfolioSeries)> = Vec::new();
    for (r, s) in with_models(input) {
        let Some(t) = &s.stress else { continue };
        match out.iter_mut().find(|(o, _)| o.spec.policy == r.spec.policy) {
            Some(slot) => {
                if slot.1.stress.as_ref().is_some_and(|o| t.full > o.full) {
                    *slot = (r, s);
                }
            }
            None => out.push((r, s)),
        }
    }
    out
}

/// The stress tables: per policy, the worst scenarios of its most loaded
/// run's book (at the bar where full revaluation asked most), with each
/// leg's part of the loss.
pub(crate) fn stress_tables(
    input: &ReportInput<'_>,
) -> Vec<(String, Vec<String>, Vec<Vec<String>>)> {
    let symbols = input
        .scenario
        .portfolio
        .as_ref()
        .map(|p| p.symbols())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (r, s) in worst_per_policy(input) {
        let Some(t) = &s.stress else { continue };
        let legs: Vec<usize> = (0..symbols.len())
            .filter(|&k| {
                t.rows
                    .iter()
                    .any(|row| row.leg_loss.get(k).is_some_and(|x| *x != 0.0))
            })
            .collect();
        let mut head = vec![
            "price move".to_string(),
            "volatility move".to_string(),
            "book loss".to_string(),
        ];
        head.extend(legs.iter().map(|&k| format!("{} loss", symbols[k])));
        let sign = |x: f64| if x > 0.0 { "+" } else { "" };
        let rows: Vec<Vec<String>> = t
            .rows
            .iter()
            .take(6)
            .map(|row| {
                let mut v = vec![
                    format!(
                        "{}{} %",
                        sign(row.price_move),
                        num(row.price_move * 100.0, 0)
                    ),
                    format!("{}{} points", sign(row.vol_move), num(row.vol_move, 0)),
                    num(row.loss, 0),
                ];
                v.extend(legs.iter().map(|&k| num(row.leg_loss[k], 0)));
                v
            })
            .collect();
        let title = format!(
            "{} at {} (full revaluation {}, the worst six of 27 scenarios; a negative loss is a gain)",
            r.spec.run_id,
            levsim_core::time::to_iso(t.ts),
            num(t.full, 0)
        );
        out.push((title, head, rows));
    }
    out
}
