//! `results.parquet` (one row per run), `legs.parquet` (one row per run
//! and instrument of a portfolio) and `timeseries.parquet`.

use std::fs::File;
use std::path::{Path, PathBuf};

use levsim_core::time::to_iso;
use polars::prelude::*;

use crate::{ReportError, ReportInput};

fn perr(path: &Path) -> impl Fn(PolarsError) -> ReportError + '_ {
    move |e| ReportError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Writes through a temporary file and a rename.
fn write_df(path: &Path, df: &mut DataFrame) -> Result<(), ReportError> {
    let tmp = path.with_extension("parquet.tmp");
    let f = File::create(&tmp).map_err(crate::error::io(&tmp))?;
    ParquetWriter::new(f).finish(df).map_err(perr(path))?;
    std::fs::rename(&tmp, path).map_err(crate::error::io(path))
}

/// `legs.parquet` of a portfolio scenario: one row per run and instrument
/// (long format, as pandas and polars read it), with `run_id`, `point_id`,
/// `path`, `symbol` and every leg metric of `runs[].instruments` under
/// the same name.
pub(crate) fn write_legs(
    dir: &Path,
    input: &ReportInput<'_>,
) -> Result<Option<PathBuf>, ReportError> {
    let path = dir.join("legs.parquet");
    let Some(mut df) = legs_frame(input).map_err(perr(&path))? else {
        return Ok(None);
    };
    write_df(&path, &mut df)?;
    Ok(Some(path))
}

/// The frame of `legs.parquet` (None without rows or for one instrument).
pub fn legs_frame(input: &ReportInput<'_>) -> PolarsResult<Option<DataFrame>> {
    let (Some(rows), Some(spec)) = (&input.sweep.rows, &input.scenario.portfolio) else {
        return Ok(None);
    };
    let symbols = spec.symbols();
    let plan = &input.scenario.plan;
    let mut run_id = Vec::new();
    let mut point_id = Vec::new();
    let mut path_col = Vec::new();
    let mut symbol = Vec::new();
    let mut legs: Vec<&levsim_engine::portfolio::LegMetrics> = Vec::new();
    for r in rows {
        let spec = plan.run(r.index).unwrap_or_else(|| plan.run_at(0, 0));
        for (k, l) in r.legs.iter().enumerate() {
            run_id.push(spec.run_id.clone());
            point_id.push(spec.point_id.to_string());
            path_col.push(spec.path as u64);
            symbol.push(symbols.get(k).cloned().unwrap_or_default());
            legs.push(l);
        }
    }
    let f = |g: &dyn Fn(&levsim_engine::portfolio::LegMetrics) -> f64| -> Vec<f64> {
        legs.iter().map(|l| g(l)).collect()
    };
    let u = |g: &dyn Fn(&levsim_engine::portfolio::LegMetrics) -> u32| -> Vec<u32> {
        legs.iter().map(|l| g(l)).collect()
    };
    let cols = vec![
        Column::new("run_id".into(), run_id),
        Column::new("point_id".into(), point_id),
        Column::new("path".into(), path_col),
        Column::new("symbol".into(), symbol),
        Column::new("liquidations".into(), u(&|l| l.liquidations)),
        Column::new("liquidations_caused".into(), u(&|l| l.liquidations_caused)),
        Column::new(
            "first_liquidation_ts".into(),
            legs.iter()
                .map(|l| l.first_liquidation_ts.map(to_iso))
                .collect::<Vec<Option<String>>>(),
        ),
        Column::new(
            "first_liquidation_ts_ns".into(),
            legs.iter()
                .map(|l| l.first_liquidation_ts)
                .collect::<Vec<Option<i64>>>(),
        ),
        Column::new("liquidated_notional".into(), f(&|l| l.liquidated_notional)),
        Column::new("pnl".into(), f(&|l| l.pnl)),
        Column::new("trading_fees".into(), f(&|l| l.trading_fees)),
        Column::new("liquidation_fees".into(), f(&|l| l.liquidation_fees)),
        Column::new("funding".into(), f(&|l| l.funding)),
        Column::new("trades".into(), u(&|l| l.trades)),
        Column::new("avg_leverage".into(), f(&|l| l.avg_leverage)),
        Column::new("avg_maintenance".into(), f(&|l| l.avg_maintenance)),
        Column::new("final_qty".into(), f(&|l| l.final_qty)),
        Column::new("final_mark".into(), f(&|l| l.final_mark)),
    ];
    DataFrame::new(legs.len(), cols).map(Some)
}

/// Columns (units in the README): `run_id`, `policy`, `params_json`, `seed`,
/// then every metric of `summary.json` under the same name, with
/// `first_liquidation_ts` as ISO text and `first_liquidation_ts_ns` as i64.
pub(crate) fn write_results(
    dir: &Path,
    input: &ReportInput<'_>,
) -> Result<Option<PathBuf>, ReportError> {
    let Some(rows) = &input.sweep.rows else {
        return Ok(None);
    };
    let path = dir.join("results.parquet");
    write_results_to(&path, &input.scenario.plan, rows)?;
    Ok(Some(path))
}

/// Writes result rows (one per run, the columns of `results.parquet`) to
/// `path`, through a temporary file and a rename; each row's run is
/// `plan.run(row.index)`.
pub fn write_results_to(
    path: &Path,
    plan: &levsim_scenario::RunPlan,
    rows: &[levsim_scenario::RunRow],
) -> Result<(), ReportError> {
    let mut df = results_frame(plan, rows).map_err(perr(path))?;
    write_df(path, &mut df)
}

/// The frame of `results.parquet`: one row per run of `rows`.
pub fn results_frame(
    plan: &levsim_scenario::RunPlan,
    rows: &[levsim_scenario::RunRow],
) -> PolarsResult<DataFrame> {
    let n = rows.len();
    let specs: Vec<levsim_scenario::RunSpec> = rows
        .iter()
        .map(|r| plan.run(r.index).unwrap_or_else(|| plan.run_at(0, 0)))
        .collect();
    let s = |f: &dyn Fn(usize) -> String| -> Vec<String> { (0..n).map(f).collect() };
    let f = |g: &dyn Fn(&levsim_engine::RunMetrics) -> f64| -> Vec<f64> {
        rows.iter().map(|r| g(&r.metrics)).collect()
    };
    let o = |g: &dyn Fn(&levsim_engine::RunMetrics) -> Option<f64>| -> Vec<Option<f64>> {
        rows.iter().map(|r| g(&r.metrics)).collect()
    };
    let cols = vec![
        Column::new("run_id".into(), s(&|i| specs[i].run_id.clone())),
        Column::new("point_id".into(), s(&|i| specs[i].point_id.to_string())),
        Column::new(
            "path".into(),
            specs.iter().map(|r| r.path as u64).collect::<Vec<u64>>(),
        ),
        Column::new("venue".into(), s(&|i| specs[i].venue.to_string())),
        Column::new("policy".into(), s(&|i| specs[i].policy.to_string())),
        Column::new(
            "params_json".into(),
            s(&|i| serde_json::to_string(&*specs[i].params).unwrap_or_default()),
        ),
        Column::new(
            "seed".into(),
            specs.iter().map(|r| r.seed).collect::<Vec<u64>>(),
        ),
        Column::new("final_equity".into(), f(&|m| m.final_equity)),
        Column::new("return_pct".into(), f(&|m| m.return_pct)),
        Column::new("max_drawdown_pct".into(), f(&|m| m.max_drawdown_pct)),
        Column::new(
            "liquidations".into(),
            rows.iter()
                .map(|r| r.metrics.liquidations)
                .collect::<Vec<u32>>(),
        ),
        Column::new(
            "liquidation_tranches".into(),
            rows.iter()
                .map(|r| r.metrics.liquidation_tranches)
                .collect::<Vec<u32>>(),
        ),
        Column::new(
            "first_liquidation_ts".into(),
            rows.iter()
                .map(|r| r.metrics.first_liquidation_ts.map(to_iso))
                .collect::<Vec<Option<String>>>(),
        ),
        Column::new(
            "first_liquidation_ts_ns".into(),
            rows.iter()
                .map(|r| r.metrics.first_liquidation_ts)
                .collect::<Vec<Option<i64>>>(),
        ),
        Column::new("liquidation_price".into(), o(&|m| m.liquidation_price)),
        Column::new("fees".into(), f(&|m| m.fees)),
        Column::new("trading_fees".into(), f(&|m| m.trading_fees)),
        Column::new("liquidation_fees".into(), f(&|m| m.liquidation_fees)),
        Column::new("funding".into(), f(&|m| m.funding)),
        Column::new("bad_debt".into(), f(&|m| m.bad_debt)),
        Column::new(
            "bad_debt_insurance_fund".into(),
            f(&|m| m.bad_debt_insurance_fund),
        ),
        Column::new("bad_debt_adl".into(), f(&|m| m.bad_debt_adl)),
        Column::new("bad_debt_socialized".into(), f(&|m| m.bad_debt_socialized)),
        Column::new("insurance_fund_end".into(), f(&|m| m.insurance_fund_end)),
        Column::new("insurance_fund_min".into(), f(&|m| m.insurance_fund_min)),
        Column::new("avg_leverage".into(), f(&|m| m.avg_leverage)),
        Column::new("time_in_market_pct".into(), f(&|m| m.time_in_market_pct)),
        Column::new(
            "trades".into(),
            rows.iter().map(|r| r.metrics.trades).collect::<Vec<u32>>(),
        ),
        Column::new(
            "refused_decisions".into(),
            rows.iter()
                .map(|r| r.metrics.refused_decisions)
                .collect::<Vec<u32>>(),
        ),
        Column::new(
            "min_distance_to_liquidation_pct".into(),
            o(&|m| m.min_distance_to_liquidation_pct),
        ),
        Column::new("adl_closed_notional".into(), f(&|m| m.adl_closed_notional)),
        Column::new("adl_forfeited".into(), f(&|m| m.adl_forfeited)),
        Column::new(
            "decisions_too_late".into(),
            rows.iter()
                .map(|r| r.metrics.decisions_too_late)
                .collect::<Vec<u32>>(),
        ),
        Column::new(
            "topups".into(),
            rows.iter().map(|r| r.metrics.topups).collect::<Vec<u32>>(),
        ),
        Column::new("topped_up".into(), f(&|m| m.topped_up)),
        Column::new("reserve_end".into(), f(&|m| m.reserve_end)),
        Column::new(
            "return_on_committed_pct".into(),
            f(&|m| m.return_on_committed_pct),
        ),
        Column::new("log_growth".into(), f(&|m| m.log_growth)),
        Column::new(
            "avg_exposure_per_committed".into(),
            f(&|m| m.avg_exposure_per_committed),
        ),
        Column::new("idle_collateral_pct".into(), f(&|m| m.idle_collateral_pct)),
        Column::new(
            "margin_utilization_pct".into(),
            f(&|m| m.margin_utilization_pct),
        ),
        Column::new(
            "bars".into(),
            rows.iter().map(|r| r.metrics.bars).collect::<Vec<u64>>(),
        ),
    ];
    DataFrame::new(n, cols)
}

/// Long format: `run_id`, `ts_ns`, `equity`, `leverage`, `liquidation_price`,
/// `mark`, `margin_ratio`, for the runs of path 0 and the representative
/// runs.
pub(crate) fn write_timeseries(
    dir: &Path,
    input: &ReportInput<'_>,
) -> Result<PathBuf, ReportError> {
    let path = dir.join("timeseries.parquet");
    let mut df = timeseries_frame(input).map_err(perr(&path))?;
    write_df(&path, &mut df)?;
    Ok(path)
}

/// The frame of `timeseries.parquet`.
pub fn timeseries_frame(input: &ReportInput<'_>) -> PolarsResult<DataFrame> {
    let mut run_id = Vec::new();
    let (mut ts, mut eq, mut lev, mut lp) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut mark, mut mr) = (Vec::new(), Vec::new());
    // Path 0's runs, then the representative runs not on path 0.
    let rep = input
        .sweep
        .representative
        .iter()
        .filter(|r| r.spec.path != 0);
    for r in input.sweep.kept.iter().chain(rep) {
        let s = &r.series;
        run_id.extend(std::iter::repeat_n(r.spec.run_id.clone(), s.ts.len()));
        ts.extend_from_slice(&s.ts);
        eq.extend_from_slice(&s.equity);
        lev.extend_from_slice(&s.leverage);
        mark.extend_from_slice(&s.mark);
        mr.extend_from_slice(&s.margin_ratio);
        lp.extend(
            s.liquidation_price
                .iter()
                .map(|v| v.is_finite().then_some(*v)),
        );
    }
    let n = ts.len();
    DataFrame::new(
        n,
        vec![
            Column::new("run_id".into(), run_id),
            Column::new("ts_ns".into(), ts),
            Column::new("equity".into(), eq),
            Column::new("leverage".into(), lev),
            Column::new("liquidation_price".into(), lp),
            Column::new("mark".into(), mark),
            Column::new("margin_ratio".into(), mr),
        ],
    )
}

/// `aggregates.parquet`: one row per parameter point (the `aggregates` of
/// `summary.json`, intervals as `_lo`/`_hi` columns, parameters as
/// `params_json`).
pub(crate) fn write_aggregates(
    dir: &Path,
    input: &ReportInput<'_>,
) -> Result<PathBuf, ReportError> {
    let path = dir.join("aggregates.parquet");
    let mut df = aggregates_frame(input).map_err(perr(&path))?;
    write_df(&path, &mut df)?;
    Ok(path)
}

/// The frame of `aggregates.parquet`.
pub fn aggregates_frame(input: &ReportInput<'_>) -> PolarsResult<DataFrame> {
    let rows: Vec<serde_json::Value> = input
        .sweep
        .aggregates
        .iter()
        .map(|a| serde_json::to_value(a).unwrap_or_default())
        .collect();
    crate::frames::json_frame(&rows, &["point_id", "venue", "policy", "params", "runs"])
}

/// `markets.parquet` (a crowd): one row per market pass (venue
/// configuration and path) with the pass's summary; None without a crowd.
pub(crate) fn write_markets(
    dir: &Path,
    input: &ReportInput<'_>,
) -> Result<Option<PathBuf>, ReportError> {
    let path = dir.join("markets.parquet");
    let Some(mut df) = markets_frame(input).map_err(perr(&path))? else {
        return Ok(None);
    };
    write_df(&path, &mut df)?;
    Ok(Some(path))
}

/// The frame of `markets.parquet`: crowd passes (one instrument) or
/// contagion passes (several), `venue_index`, `path`, then the summary.
pub fn markets_frame(input: &ReportInput<'_>) -> PolarsResult<Option<DataFrame>> {
    let row = |venue_index: usize, path: usize, metrics: serde_json::Value| {
        let mut m = serde_json::Map::new();
        m.insert("venue_index".into(), venue_index.into());
        m.insert("path".into(), path.into());
        if let serde_json::Value::Object(o) = metrics {
            m.extend(o);
        }
        serde_json::Value::Object(m)
    };
    let mut rows: Vec<serde_json::Value> = input
        .sweep
        .markets
        .iter()
        .map(|o| {
            row(
                o.venue_index,
                o.path,
                serde_json::to_value(&o.metrics).unwrap_or_default(),
            )
        })
        .collect();
    rows.extend(input.sweep.contagion.iter().map(|o| {
        row(
            o.venue_index,
            o.path,
            serde_json::to_value(&o.metrics).unwrap_or_default(),
        )
    }));
    if rows.is_empty() {
        return Ok(None);
    }
    crate::frames::json_frame(&rows, &["venue_index", "path"]).map(Some)
}
