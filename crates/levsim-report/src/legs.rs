//! The portfolio part of a report: each leg's metrics, which leg sank
//! which account, and the same positions under each margin mode.

use serde_json::{json, Map, Value};

use crate::markdown::num;
use crate::ReportInput;

/// `runs[].instruments`: each leg's metrics by symbol (portfolio runs).
pub(crate) fn instruments_json(r: &levsim_scenario::RunResult) -> Option<Value> {
    let p = r.portfolio.as_ref()?;
    let mut m = Map::new();
    for (sym, leg) in &p.legs {
        let mut v = serde_json::to_value(leg).unwrap_or(Value::Null);
        v["first_liquidation_ts"] = leg
            .first_liquidation_ts
            .map_or(Value::Null, |t| json!(levsim_core::time::to_iso(t)));
        m.insert(sym.clone(), v);
    }
    Some(Value::Object(m))
}

/// The symbol of each liquidation event of a portfolio run, and of the
/// leg that caused it.
pub(crate) fn event_legs(r: &levsim_scenario::RunResult) -> Option<Vec<(String, String)>> {
    let p = r.portfolio.as_ref()?;
    let sym = |k: u16| {
        p.legs
            .get(usize::from(k))
            .map_or(String::new(), |l| l.0.clone())
    };
    Some(
        p.liquidation_legs
            .iter()
            .zip(&p.liquidation_causes)
            .map(|(&l, &c)| (sym(l), sym(c)))
            .collect(),
    )
}

/// One row per kept run and leg: what each leg did and cost.
pub(crate) fn leg_rows(input: &ReportInput<'_>) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    input.scenario.portfolio.as_ref()?;
    let head = vec![
        "run",
        "leg",
        "liquidated (orders)",
        "caused account liquidations",
        "first liquidation (UTC)",
        "liquidated notional",
        "PnL",
        "fees",
        "funding",
        "avg leverage",
        "avg maintenance locked",
    ];
    let mut rows = Vec::new();
    for r in &input.sweep.kept {
        let Some(p) = &r.portfolio else { continue };
        for (sym, l) in &p.legs {
            rows.push(vec![
                r.spec.run_id.clone(),
                sym.clone(),
                l.liquidations.to_string(),
                l.liquidations_caused.to_string(),
                l.first_liquidation_ts.map_or("–".into(), |t| {
                    levsim_core::time::to_iso(t).replace('T', " ")
                }),
                num(l.liquidated_notional, 2),
                num(l.pnl, 2),
                num(l.trading_fees + l.liquidation_fees, 2),
                num(l.funding, 2),
                num(l.avg_leverage, 2),
                num(l.avg_maintenance, 2),
            ]);
        }
    }
    Some((head, rows))
}

/// The same policy and parameters under each margin mode (points that
/// differ only by `margin_mode`), side by side.
pub(crate) fn mode_rows(input: &ReportInput<'_>) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    input.scenario.portfolio.as_ref()?;
    let plan = &input.scenario.plan;
    let account = input.scenario.account.margin_mode;
    let head = vec![
        "positions",
        "margin mode",
        "P(liquidation) [95 % CI]",
        "margin locked / equity % (median)",
        "return on committed % (median)",
        "liquidations caused by",
    ];
    let mut rows = Vec::new();
    for (i, point) in plan.points.iter().enumerate() {
        let Some(agg) = input.sweep.aggregates.get(i) else {
            continue;
        };
        let mode = point.margin_mode.unwrap_or(account);
        let mut params = (*point.params).clone();
        params.remove("margin_mode");
        let positions = format!(
            "{}{} {}",
            if point.venue.is_empty() {
                String::new()
            } else {
                format!("{} ", point.venue)
            },
            point.policy,
            params
                .iter()
                .map(|(k, v)| format!("{k}={}", param_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let caused = if agg.liquidations_caused_by.is_empty() {
            "–".to_string()
        } else {
            agg.liquidations_caused_by
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // A point the venue never let open says so (its zeros are not a
        // result).
        let refused = input
            .sweep
            .kept
            .iter()
            .find(|r| r.spec.point_id == point.point_id)
            .is_some_and(|r| {
                r.output.metrics.trades == 0 && r.output.metrics.refused_decisions > 0
            });
        rows.push(vec![
            positions,
            if refused {
                format!(
                    "{} (refused at opening: initial margin)",
                    format!("{mode:?}").to_lowercase()
                )
            } else {
                format!("{mode:?}").to_lowercase()
            },
            format!(
                "{} [{}, {}]",
                num(agg.p_liquidation, 3),
                num(agg.p_liquidation_ci[0], 3),
                num(agg.p_liquidation_ci[1], 3)
            ),
            num(agg.margin_utilization_pct_p50, 1),
            num(agg.return_on_committed_pct_p50, 2),
            caused,
        ]);
    }
    // Group each set of positions together, modes in plan order.
    let order: Vec<String> = {
        let mut seen = Vec::new();
        for r in &rows {
            if !seen.contains(&r[0]) {
                seen.push(r[0].clone());
            }
        }
        seen
    };
    rows.sort_by_key(|r| order.iter().position(|o| *o == r[0]));
    Some((head, rows))
}

/// A parameter as a reader writes it (weights as `BTCUSDT 0.5, ETHUSDT −0.5`).
fn param_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, w)| format!("{k} {}", param_value(w)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// The correlation of the instruments' log returns bar to bar on path 0
/// (the history, or the first generated path), instrument order.
pub(crate) fn realized_correlation(input: &ReportInput<'_>) -> Option<Vec<Vec<f64>>> {
    let spec = input.scenario.portfolio.as_ref()?;
    let t = &input.market.portfolio.as_ref()?.tape;
    // The instruments with bars of their own (options follow them).
    let base: Vec<usize> = (0..t.legs())
        .filter(|&k| spec.options[k].is_none())
        .collect();
    let n = base.len();
    let rets: Vec<Vec<f64>> = base
        .iter()
        .map(|&k| {
            t.leg(levsim_core::InstrumentId(k as u16))
                .close
                .windows(2)
                .map(|w| (w[1] / w[0]).ln())
                .collect()
        })
        .collect();
    let m = rets.first().map_or(0, Vec::len);
    if m < 3 {
        return None;
    }
    let mean: Vec<f64> = rets
        .iter()
        .map(|r| r.iter().sum::<f64>() / m as f64)
        .collect();
    let cov = |a: usize, b: usize| -> f64 {
        rets[a]
            .iter()
            .zip(&rets[b])
            .map(|(x, y)| (x - mean[a]) * (y - mean[b]))
            .sum::<f64>()
    };
    Some(
        (0..n)
            .map(|a| {
                (0..n)
                    .map(|b| {
                        let d = (cov(a, a) * cov(b, b)).sqrt();
                        if d > 0.0 {
                            cov(a, b) / d
                        } else {
                            f64::NAN
                        }
                    })
                    .collect()
            })
            .collect(),
    )
}

/// The correlation set (the market's, or the one portfolio margin
/// assumes) beside the one realized on path 0, as table rows.
pub(crate) fn correlation_rows(input: &ReportInput<'_>) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let spec = input.scenario.portfolio.as_ref()?;
    let realized = realized_correlation(input)?;
    let set = input.scenario.market.correlation.clone().or_else(|| {
        input
            .scenario
            .account
            .portfolio_margin
            .as_ref()?
            .correlation
            .clone()
    });
    let symbols: Vec<String> = spec
        .symbols()
        .into_iter()
        .zip(&spec.options)
        .filter(|(_, o)| o.is_none())
        .map(|(s, _)| s)
        .collect();
    let mut head = vec!["".to_string()];
    head.extend(symbols.iter().cloned());
    let rows = symbols
        .iter()
        .enumerate()
        .map(|(a, sym)| {
            let mut row = vec![sym.clone()];
            for b in 0..symbols.len() {
                let r = num(realized[a][b], 3);
                row.push(match &set {
                    Some(m) => format!("{} set · {r} realized", num(m[a][b], 2)),
                    None => format!("{r} realized"),
                });
            }
            row
        })
        .collect();
    Some((head, rows))
}

/// The instruments line of the scenario header.
pub(crate) fn instruments_line(input: &ReportInput<'_>) -> Option<String> {
    let p = input.market.portfolio.as_ref()?;
    let spec = input.scenario.portfolio.as_ref()?;
    let parts: Vec<String> = spec
        .instruments
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let venue = p.rules.first().and_then(|r| r.get(k));
            format!(
                "{} ({}{})",
                i.symbol,
                i.file
                    .as_ref()
                    .map_or("generated".into(), |f| f.display().to_string()),
                venue.map_or(String::new(), |v| format!(
                    ", max leverage {} at 10k",
                    num(v.max_leverage(10_000.0), 0)
                ))
            )
        })
        .collect();
    let gen = p
        .generator
        .as_ref()
        .map_or(String::new(), |g| format!(" · {}", g.label()));
    Some(format!(
        "Instruments: {}{gen} · {} bars on one clock",
        parts.join("; "),
        p.tape.len()
    ))
}

/// The account's settlement currency: `"coin"` when its venues settle
/// inverse (coin-margined) contracts, else `"quote"`.
pub(crate) fn settlement(input: &ReportInput<'_>) -> &'static str {
    let inverse =
        |v: &levsim_engine::VenueProfile| v.contract == levsim_core::ContractKind::Inverse;
    // A portfolio settles in coin when its legs with prices of their own
    // are coin-margined (options on them then settle in coin too).
    let portfolio_coin = input.market.portfolio.as_ref().is_some_and(|p| {
        p.rules.first().is_some_and(|r| {
            r.iter()
                .zip(&p.options)
                .any(|(v, o)| o.is_none() && inverse(v))
        })
    });
    if portfolio_coin || input.market.venues.first().is_some_and(inverse) {
        "coin"
    } else {
        "quote"
    }
}

/// A note under the tables of a portfolio report.
pub(crate) const LEGS_NOTE: &str = "A leg \"caused\" an account liquidation when it had the largest unrealized loss of its margin bucket at that moment (isolated: the leg itself; cross and portfolio: the whole account). Margin locked: the bucket's maintenance requirement (isolated and cross: each leg's under its venue's brackets; portfolio: the worst loss over the grid of joint moves) over its equity, averaged over the bars in the market. Several instruments' bars walk their intrabar paths in step (open, then each leg's low and high in its own order, then the close).";
