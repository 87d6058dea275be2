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
        "first_liquidation_ts": m.first_liquidation_ts.map(to_iso),
        "liquidation_price": m.liquidation_price,
        "fees": m.fees,
        "funding": m.funding,
        "bad_debt": m.bad_debt,
        "avg_leverage": m.avg_leverage,
        "time_in_market_pct": m.time_in_market_pct,
        "trading_fees": m.trading_fees,
        "liquidation_fees": m.liquidation_fees,
        "trades": m.trades,
        "refused_decisions": m.refused_decisions,
        "min_distance_to_liquidation_pct": m.min_distance_to_liquidation_pct,
        "bars": m.bars,
    })
}

pub(crate) fn build(input: &ReportInput<'_>) -> Value {
    let sc = input.scenario;
    let mk = input.market;
    let t = &mk.tape;
    let runs: Vec<Value> = input
        .results
        .iter()
        .map(|r| {
            let liqs: Vec<Value> = r
                .output
                .liquidations
                .iter()
                .map(|e| {
                    // The event as the engine defines it, with its time in ISO 8601.
                    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
                    v["ts"] = Value::String(to_iso(e.ts));
                    v
                })
                .collect();
            json!({
                "run_id": r.spec.run_id,
                "policy": r.spec.policy,
                "params": r.spec.params,
                "seed": r.spec.seed,
                "metrics": metrics_json(&r.output.metrics),
                "liquidation_events": liqs,
            })
        })
        .collect();
    let gaps_in_window = match (t.ts.first(), t.ts.last()) {
        (Some(&a), Some(&b)) => mk.report.gaps_within(a, b).count(),
        _ => 0,
    };
    json!({
        "scenario": {
            "name": sc.name,
            "description": sc.description.trim(),
            "seed": sc.seed,
            "market": {
                "kind": sc.market.kind,
                "file": sc.market.file.display().to_string(),
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
            },
            "venue": {
                "profile": mk.venue.name,
                "version": mk.venue.version,
                "as_of": mk.venue.as_of,
                "source": mk.venue.source,
                "symbol": mk.venue.symbol,
                "taker_fee": mk.venue.taker_fee,
                "liquidation_fee": mk.venue.liquidation_fee,
                "funding": mk.venue.funding,
                "overrides": mk.venue.overrides,
            },
            "account": sc.account,
        },
        "runs": runs,
    })
}

pub(crate) fn write_json(dir: &Path, summary: &Value) -> Result<PathBuf, ReportError> {
    let path = dir.join("summary.json");
    let text = serde_json::to_string_pretty(summary).unwrap_or_default();
    std::fs::write(&path, text + "\n").map_err(io(&path))?;
    Ok(path)
}
