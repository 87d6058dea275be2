//! `summary.json`: the scenario and every run's metrics (the key names of
//! `runs[].metrics` are a contract; more keys may be added, none renamed).

use std::path::{Path, PathBuf};

use levsim_core::time::{fmt_duration, to_iso};
use levsim_engine::RunMetrics;
use serde_json::{json, Value};

use crate::error::io;
use crate::{ReportError, ReportInput};

/// The metrics object of one run, with timestamps as ISO 8601 UTC.
pub(crate) fn metrics_json(m: &RunMetrics) -> Value {
    json!({
        "final_equity": m.final_equity,
        "return_pct": m.return_pct,
        "max_drawdown_pct": m.max_drawdown_pct,
        "liquidations": m.liquidations,
        "liquidation_tranches": m.liquidation_tranches,
        "first_liquidation_ts": m.first_liquidation_ts.map(to_iso),
        "liquidation_price": m.liquidation_price,
        "fees": m.fees,
        "funding": m.funding,
        "bad_debt": m.bad_debt,
        "bad_debt_insurance_fund": m.bad_debt_insurance_fund,
        "bad_debt_adl": m.bad_debt_adl,
        "bad_debt_socialized": m.bad_debt_socialized,
        "insurance_fund_end": m.insurance_fund_end,
        "insurance_fund_min": m.insurance_fund_min,
        "avg_leverage": m.avg_leverage,
        "time_in_market_pct": m.time_in_market_pct,
        "trading_fees": m.trading_fees,
        "liquidation_fees": m.liquidation_fees,
        "trades": m.trades,
        "refused_decisions": m.refused_decisions,
        "min_distance_to_liquidation_pct": m.min_distance_to_liquidation_pct,
        "bars": m.bars,
        "adl_closed_notional": m.adl_closed_notional,
        "adl_forfeited": m.adl_forfeited,
        "decisions_too_late": m.decisions_too_late,
        "topups": m.topups,
        "topped_up": m.topped_up,
        "reserve_end": m.reserve_end,
        "return_on_committed_pct": m.return_on_committed_pct,
        "log_growth": m.log_growth,
        "avg_exposure_per_committed": m.avg_exposure_per_committed,
        "idle_collateral_pct": m.idle_collateral_pct,
        "margin_utilization_pct": m.margin_utilization_pct,})
}

pub(crate) fn build(input: &ReportInput<'_>) -> Value {
    let sc = input.scenario;
    let mk = input.market;
    let t = &mk.tape;
    let roles = &input.sweep.representative_roles;
    let runs = run_list(input, input.sweep.kept.iter());
    let mut representative = run_list(input, input.sweep.representative.iter());
    for (v, r) in representative.iter_mut().zip(&input.sweep.representative) {
        let role: Vec<&str> = roles
            .iter()
            .filter(|(i, _)| *i == r.spec.index)
            .map(|(_, role)| *role)
            .collect();
        v["role"] = json!(role.join(", "));
        v["point_id"] = json!(r.spec.point_id);
        v["path"] = json!(r.spec.path);
    }
    build_rest(input, sc, mk, t, runs, representative)
}

/// Each run as `summary.json` lists it.
fn run_list<'a>(
    input: &ReportInput<'_>,
    runs: impl Iterator<Item = &'a levsim_scenario::RunResult>,
) -> Vec<Value> {
    let mk = input.market;
    runs.map(|r| {
        let legs = crate::legs::event_legs(r);
        let liqs: Vec<Value> = r
            .output
            .liquidations
            .iter()
            .enumerate()
            .map(|(i, e)| {
                // The event as the engine defines it, with its time in ISO 8601.
                let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
                v["ts"] = Value::String(to_iso(e.ts));
                if let Some((leg, cause)) = legs.as_ref().and_then(|l| l.get(i)) {
                    v["symbol"] = json!(leg);
                    v["caused_by"] = json!(cause);
                }
                v
            })
            .collect();
        let mut run = json!({
            "run_id": r.spec.run_id,
            "venue": mk.venues[r.spec.venue_index].name,
            "venue_label": r.spec.venue,
            "policy": r.spec.policy,
            "params": r.spec.params,
            "seed": r.spec.seed,
            "metrics": metrics_json(&r.output.metrics),
            "liquidation_events": liqs,
        });
        if let Some(i) = crate::legs::instruments_json(r) {
            run["instruments"] = i;
            run["conservation_error"] =
                json!(r.portfolio.as_ref().map_or(0.0, |p| p.conservation_error));
            run["collateral_pnl"] = json!(r.portfolio.as_ref().map_or(0.0, |p| p.collateral_pnl));
            if let Some(p) = r.portfolio.as_ref().filter(|p| p.transfers.transfers > 0) {
                run["transfers"] = json!(p.transfers);
            }
        }
        run
    })
    .collect()
}

fn build_rest(
    input: &ReportInput<'_>,
    sc: &levsim_scenario::Scenario,
    mk: &levsim_scenario::LoadedMarket,
    t: &levsim_core::MarketTape,
    runs: Vec<Value>,
    representative: Vec<Value>,
) -> Value {
    let gaps_in_window = match (t.ts.first(), t.ts.last()) {
        (Some(&a), Some(&b)) => mk.report.gaps_within(a, b).count(),
        _ => 0,
    };
    let venues: Vec<Value> = mk
        .venues
        .iter()
        .zip(&sc.venues)
        .map(|(v, cfg)| {
            json!({
                "label": cfg.label,
                "profile": v.name,
                "version": v.version,
                "as_of": v.as_of,
                "source": v.source,
                "symbol": v.symbol,
                "taker_fee": v.taker_fee,
                "liquidation_fee": v.liquidation_fee,
                "liquidation": v.liquidation,
                "funding": v.funding,
                "overrides": v.overrides,
            })
        })
        .collect();
    json!({
        "scenario": {
            "name": sc.name,
            "description": sc.description.trim(),
            "seed": sc.seed,
            "market": {
                "kind": sc.market.kind,
                "paths": sc.paths,
                "file": match &mk.generator {
                    Some(g) => format!("generated: {} ({} paths)", g.label(), sc.paths),
                    None => sc.market.file.display().to_string(),
                },
                "symbol": t.symbol,
                "start": t.ts.first().map(|&x| to_iso(x)),
                "end": t.end_ns().map(to_iso),
                "bars": t.len(),
                "interval": fmt_duration(t.interval_ns),
                "funding_file": sc.market.funding.as_ref().map(|p| p.display().to_string()),
                "funding_events": mk.funding.as_ref().map_or(0, |f| f.len()),
                "on_gap": sc.market.on_gap,
                "gaps_in_window": gaps_in_window,
                "filled_bars": mk.filled_bars,
                "data_notes": mk.notes,
                "instruments": sc.portfolio.as_ref().map(|p| &p.instruments),
                "settlement": crate::legs::settlement(input),
                "correlation": sc.market.correlation,
                "realized_correlation": crate::legs::realized_correlation(input),
            },
            "shocks": sc.shocks.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "venue": venues.first().cloned().unwrap_or(Value::Null),
            "venues": venues,
            "account": sc.account,
        },
        "runs": runs,
        "representative_runs": representative,
        "aggregates": input.sweep.aggregates,"market": crate::cascade::summary(input),
        "contagion": crate::contagion::summary(input),
    })
}

pub(crate) fn write_json(dir: &Path, summary: &Value) -> Result<PathBuf, ReportError> {
    let path = dir.join("summary.json");
    let text = serde_json::to_string_pretty(summary).unwrap_or_default();
    std::fs::write(&path, text + "\n").map_err(io(&path))?;
    Ok(path)
}

/// The scenario in plain lines (market, each venue, account), shared by
/// `summary.md` and `index.html`.
pub(crate) fn scenario_lines(summary: &Value, input: &ReportInput<'_>) -> Vec<String> {
    let m = &summary["scenario"]["market"];
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let mut out = vec![];
    if let Some(line) = crate::legs::instruments_line(input) {
        out.push(line);
    }
    out.push(format!(
        "Market: {} · {} bars of {} · {} to {} · {}",
        s(&m["symbol"]),
        m["bars"],
        s(&m["interval"]),
        s(&m["start"]),
        s(&m["end"]),
        s(&m["file"])
    ));
    if input.scenario.portfolio.is_some() {
        // The instruments line says it; the rest of this line is leg 0's.
        out.remove(1);
    }
    let venues = summary["scenario"]["venues"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for v in &venues {
        let overrides: Vec<String> = v["overrides"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        out.push(format!(
            "Venue{}: {} ({}, parameters as of {}) · taker fee {} · liquidation fee {} · liquidation {} · funding {}{}",
            if venues.len() > 1 { format!(" {}", s(&v["label"])) } else { String::new() },
            s(&v["profile"]),
            s(&v["version"]),
            s(&v["as_of"]),
            v["taker_fee"],
            v["liquidation_fee"],
            s(&v["liquidation"]["mode"]["mode"]),
            if v["funding"].as_bool() == Some(true) { "on" } else { "off" },
            if overrides.is_empty() {
                String::new()
            } else {
                format!(" · overrides: {}", overrides.join(", "))
            }
        ));
    }
    for n in m["data_notes"].as_array().into_iter().flatten() {
        out.push(format!("Data note: {}", s(n)));
    }
    if !input.scenario.shocks.is_empty() {
        let shocks: Vec<String> = input
            .scenario
            .shocks
            .iter()
            .map(ToString::to_string)
            .collect();
        out.push(format!("Shocks: {}", shocks.join("; ")));
    }
    let a = &input.scenario.account;
    let side = if input.scenario.portfolio.is_some() {
        "portfolio,".to_string()
    } else {
        a.side.to_string()
    };
    out.push(format!(
        "Account: {} {} capital, {:?} margin, re-enter after liquidation: {}",
        side,
        crate::markdown::num(a.capital, 2),
        a.margin_mode,
        a.reenter
    ));
    out
}
