//! `levsim report DIR`: a report rebuilt from what a run left in its
//! directory, without simulating again: the scenario text and input hashes
//! from `manifest.json`, every run's metrics from `results.parquet`, the
//! path-0 series from `timeseries.parquet`, their liquidations from
//! `summary.json`, and the crowd market passes from `markets.json`. The
//! market data are read again (charts draw prices) and must still have the
//! hashes the manifest recorded.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use levsim_core::{time::parse_iso, LiquidationEvent};
use levsim_engine::{RunMetrics, RunOutput, SeriesRecorder};
use levsim_scenario::{sha256_file, LoadedMarket, MarketOutcome, RunResult, Scenario, Sweep};
use polars::prelude::*;
use serde_json::Value;

use crate::{write_report, ReportError, ReportFiles, ReportInput, Timings};

fn bad(dir: &Path, message: impl Into<String>) -> ReportError {
    ReportError::Rebuild {
        dir: dir.to_path_buf(),
        message: message.into(),
    }
}

fn read_json(path: &Path) -> Result<Value, ReportError> {
    let text = std::fs::read_to_string(path).map_err(crate::error::io(path))?;
    serde_json::from_str(&text).map_err(|e| ReportError::Rebuild {
        dir: path.to_path_buf(),
        message: format!("not valid JSON: {e}"),
    })
}

fn read_parquet(path: &Path) -> Result<DataFrame, ReportError> {
    let f = File::open(path).map_err(crate::error::io(path))?;
    ParquetReader::new(f)
        .finish()
        .map_err(|e| ReportError::Parquet {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// Typed column access naming the file and column in errors.
struct Cols<'a> {
    df: &'a DataFrame,
    path: &'a Path,
}

impl Cols<'_> {
    fn err(&self, col: &str, e: impl std::fmt::Display) -> ReportError {
        ReportError::Parquet {
            path: self.path.to_path_buf(),
            message: format!("column {col}: {e}"),
        }
    }
    fn f64(&self, col: &str) -> Result<Vec<Option<f64>>, ReportError> {
        let c = self.df.column(col).map_err(|e| self.err(col, e))?;
        Ok(c.f64().map_err(|e| self.err(col, e))?.iter().collect())
    }
    fn f64_req(&self, col: &str) -> Result<Vec<f64>, ReportError> {
        self.f64(col)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.ok_or_else(|| self.err(col, format!("row {i} is null"))))
            .collect()
    }
    fn u32(&self, col: &str) -> Result<Vec<u32>, ReportError> {
        let c = self.df.column(col).map_err(|e| self.err(col, e))?;
        Ok(c.u32()
            .map_err(|e| self.err(col, e))?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    }
    fn u64(&self, col: &str) -> Result<Vec<u64>, ReportError> {
        let c = self.df.column(col).map_err(|e| self.err(col, e))?;
        Ok(c.u64()
            .map_err(|e| self.err(col, e))?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    }
    fn i64(&self, col: &str) -> Result<Vec<Option<i64>>, ReportError> {
        let c = self.df.column(col).map_err(|e| self.err(col, e))?;
        Ok(c.i64().map_err(|e| self.err(col, e))?.iter().collect())
    }
    fn str(&self, col: &str) -> Result<Vec<String>, ReportError> {
        let c = self.df.column(col).map_err(|e| self.err(col, e))?;
        Ok(c.str()
            .map_err(|e| self.err(col, e))?
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect())
    }
}

/// Every run's metrics from `results.parquet`, keyed by (point_id, path).
fn read_rows(path: &Path) -> Result<HashMap<(String, usize), RunMetrics>, ReportError> {
    let df = read_parquet(path)?;
    let c = Cols { df: &df, path };
    let (point, paths) = (c.str("point_id")?, c.u64("path")?);
    let f = |k: &str| c.f64_req(k);
    let (final_equity, return_pct, max_dd) =
        (f("final_equity")?, f("return_pct")?, f("max_drawdown_pct")?);
    let liqs = c.u32("liquidations")?;
    // Reports of an older levsim counted orders only.
    let tranches = if c.df.column("liquidation_tranches").is_ok() {
        c.u32("liquidation_tranches")?
    } else {
        liqs.clone()
    };
    let (first_ts, liq_price) = (
        c.i64("first_liquidation_ts_ns")?,
        c.f64("liquidation_price")?,
    );
    let (fees, trading_fees, liquidation_fees, funding) = (
        f("fees")?,
        f("trading_fees")?,
        f("liquidation_fees")?,
        f("funding")?,
    );
    let (bad_debt, bd_fund, bd_adl, bd_soc) = (
        f("bad_debt")?,
        f("bad_debt_insurance_fund")?,
        f("bad_debt_adl")?,
        f("bad_debt_socialized")?,
    );
    let (fund_end, fund_min, avg_lev, tim) = (
        f("insurance_fund_end")?,
        f("insurance_fund_min")?,
        f("avg_leverage")?,
        f("time_in_market_pct")?,
    );
    let (trades, refused, min_dist, bars) = (
        c.u32("trades")?,
        c.u32("refused_decisions")?,
        c.f64("min_distance_to_liquidation_pct")?,
        c.u64("bars")?,
    );
    let (adl_closed, adl_forfeited, too_late, topups) = (
        f("adl_closed_notional")?,
        f("adl_forfeited")?,
        c.u32("decisions_too_late")?,
        c.u32("topups")?,
    );
    let (topped_up, reserve_end, roc, growth) = (
        f("topped_up")?,
        f("reserve_end")?,
        f("return_on_committed_pct")?,
        f("log_growth")?,
    );
    let (exposure, idle, util) = (
        f("avg_exposure_per_committed")?,
        f("idle_collateral_pct")?,
        f("margin_utilization_pct")?,
    );
    let mut out = HashMap::with_capacity(point.len());
    for i in 0..point.len() {
        let m = RunMetrics {
            final_equity: final_equity[i],
            return_pct: return_pct[i],
            max_drawdown_pct: max_dd[i],
            liquidations: liqs[i],
            liquidation_tranches: tranches[i],
            first_liquidation_ts: first_ts[i],
            liquidation_price: liq_price[i],
            fees: fees[i],
            trading_fees: trading_fees[i],
            liquidation_fees: liquidation_fees[i],
            funding: funding[i],
            bad_debt: bad_debt[i],
            bad_debt_insurance_fund: bd_fund[i],
            bad_debt_adl: bd_adl[i],
            bad_debt_socialized: bd_soc[i],
            insurance_fund_end: fund_end[i],
            insurance_fund_min: fund_min[i],
            avg_leverage: avg_lev[i],
            time_in_market_pct: tim[i],
            trades: trades[i],
            refused_decisions: refused[i],
            min_distance_to_liquidation_pct: min_dist[i],
            bars: bars[i],
            adl_closed_notional: adl_closed[i],
            adl_forfeited: adl_forfeited[i],
            decisions_too_late: too_late[i],
            topups: topups[i],
            topped_up: topped_up[i],
            reserve_end: reserve_end[i],
            return_on_committed_pct: roc[i],
            log_growth: growth[i],
            avg_exposure_per_committed: exposure[i],
            idle_collateral_pct: idle[i],
            margin_utilization_pct: util[i],
        };
        out.insert((point[i].clone(), paths[i] as usize), m);
    }
    Ok(out)
}

/// The path-0 series from `timeseries.parquet`, by run id.
fn read_series(path: &Path) -> Result<HashMap<String, SeriesRecorder>, ReportError> {
    let df = read_parquet(path)?;
    let c = Cols { df: &df, path };
    let (ids, ts) = (c.str("run_id")?, c.i64("ts_ns")?);
    let (eq, lev, lp, mark, mr) = (
        c.f64_req("equity")?,
        c.f64_req("leverage")?,
        c.f64("liquidation_price")?,
        c.f64_req("mark")?,
        c.f64_req("margin_ratio")?,
    );
    type Cols5 = (Vec<i64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);
    let mut by: HashMap<String, Cols5> = HashMap::new();
    for i in 0..ids.len() {
        let e = by.entry(ids[i].clone()).or_default();
        e.0.push(ts[i].unwrap_or(0));
        e.1.push(eq[i]);
        e.2.push(lev[i]);
        e.3.push(lp[i].unwrap_or(f64::NAN));
        e.4.push(mark[i]);
        e.5.push(mr[i]);
    }
    Ok(by
        .into_iter()
        .map(|(k, (ts, eq, lev, lp, mark, mr))| {
            (k, SeriesRecorder::from_columns(ts, eq, lev, lp, mark, mr))
        })
        .collect())
}

/// Liquidations from `summary.json` (`runs` or `representative_runs`), by
/// run id.
fn read_events(
    dir: &Path,
    summary: &Value,
    list: &str,
) -> Result<HashMap<String, Vec<LiquidationEvent>>, ReportError> {
    let mut out = HashMap::new();
    for r in summary[list].as_array().into_iter().flatten() {
        let id = r["run_id"].as_str().unwrap_or("").to_string();
        let mut evs = Vec::new();
        for e in r["liquidation_events"].as_array().into_iter().flatten() {
            let mut e = e.clone();
            let ts = e["ts"]
                .as_str()
                .ok_or_else(|| bad(dir, format!("summary.json: run {id}: an event has no ts")))
                .and_then(|s| {
                    parse_iso(s).map_err(|x| bad(dir, format!("summary.json: run {id}: {x}")))
                })?;
            e["ts"] = Value::from(ts);
            evs.push(
                serde_json::from_value(e)
                    .map_err(|x| bad(dir, format!("summary.json: run {id}: {x}")))?,
            );
        }
        out.insert(id, evs);
    }
    Ok(out)
}

/// Rebuilds the report in `dir` from its own files.
pub fn rebuild_report(dir: &Path) -> Result<ReportFiles, ReportError> {
    if !dir.join(crate::MARKER_FILE).exists() {
        return Err(bad(dir, "not a levsim report directory (no marker file)"));
    }
    // A marked directory without the run's files (an interrupted run, or
    // only `levsim optimize`'s files) is bad input, said as such.
    let missing: Vec<&str> = ["manifest.json", "summary.json"]
        .into_iter()
        .filter(|f| !dir.join(f).exists())
        .collect();
    if !missing.is_empty() {
        return Err(bad(
            dir,
            format!(
                "an incomplete levsim report: no {}; `levsim run SCENARIO --out {}` writes a whole one",
                missing.join(", "),
                dir.display()
            ),
        ));
    }
    let manifest = read_json(&dir.join("manifest.json"))?;
    let summary = read_json(&dir.join("summary.json"))?;
    let text = manifest["scenario_text"]
        .as_str()
        .ok_or_else(|| bad(dir, "manifest.json has no scenario_text"))?;
    // The run's working directory, as seen from `dir` (older reports do not
    // say: then the current one); relative paths are the run's.
    let root = manifest["run_root"]
        .as_str()
        .map(|r| dir.join(r))
        .unwrap_or_default();
    let file = PathBuf::from(
        manifest["scenario_file"]
            .as_str()
            .unwrap_or("scenario.toml"),
    );
    // Paths stay as the run named them; files open under `root`.
    let sc = Scenario::parse_in(text, &file, &root).map_err(|e| bad(dir, e.to_string()))?;
    if sc.portfolio.is_some() {
        return Err(bad(
            dir,
            format!(
                "a portfolio report is not rebuilt from its files yet (its legs are not in results.parquet): run `levsim run {}` again",
                file.display()
            ),
        ));
    }
    // The inputs must be the ones the run read (checked before reading them).
    for f in manifest["data_files"].as_array().into_iter().flatten() {
        let (p, want) = (
            sc.data_path(Path::new(f["path"].as_str().unwrap_or(""))),
            f["sha256"].as_str().unwrap_or(""),
        );
        let got = sha256_file(&p).map_err(crate::error::io(&p))?;
        if got != want {
            return Err(bad(
                dir,
                format!(
                    "{} changed since the report was made (sha256 {got}, manifest {want}); rerun `levsim run`",
                    p.display()
                ),
            ));
        }
    }
    let market = LoadedMarket::load(&sc).map_err(|e| bad(dir, e.to_string()))?;
    let results = dir.join("results.parquet");
    if !results.exists() {
        return Err(bad(
            dir,
            "no results.parquet (the run used --no-results); rerun `levsim run` without it",
        ));
    }
    let mut rows = read_rows(&results)?;
    let series = read_series(&dir.join("timeseries.parquet"))?;
    let mut events = read_events(dir, &summary, "runs")?;
    let rep_events = read_events(dir, &summary, "representative_runs")?;
    let markets: Vec<MarketOutcome> = if dir.join("markets.json").exists() {
        serde_json::from_value(read_json(&dir.join("markets.json"))?)
            .map_err(|e| bad(dir, format!("markets.json: {e}")))?
    } else {
        Vec::new()
    };
    let plan = &sc.plan;
    // Which run carried each market pass: the venue's first point, per path.
    let first_point: Vec<Option<usize>> = (0..market.venues.len())
        .map(|v| plan.points.iter().position(|p| p.venue_index == v))
        .collect();
    let mut carried: HashMap<(usize, usize), MarketOutcome> = HashMap::new();
    for m in markets {
        if let Some(Some(p)) = first_point.get(m.venue_index) {
            carried.insert((*p, m.path), m);
        }
    }
    let mut results_v = Vec::with_capacity(plan.len());
    for spec in plan.runs() {
        let point = spec.index / plan.paths;
        let metrics = rows
            .remove(&(spec.point_id.to_string(), spec.path))
            .ok_or_else(|| {
                bad(
                    dir,
                    format!(
                        "results.parquet has no row for {} on path {} (made from another scenario?)",
                        spec.point_id, spec.path
                    ),
                )
            })?;
        let (liquidations, rec) = if spec.path == 0 {
            (
                events.remove(&spec.run_id).unwrap_or_default(),
                series
                    .get(&spec.run_id)
                    .cloned()
                    .unwrap_or_else(SeriesRecorder::disabled),
            )
        } else {
            (Vec::new(), SeriesRecorder::disabled())
        };
        let market = carried.remove(&(point, spec.path)).map(Box::new);
        results_v.push(RunResult {
            spec,
            output: RunOutput {
                metrics,
                liquidations,
            },
            series: rec,
            market,
            portfolio: None,
        });
    }
    if !rows.is_empty() {
        return Err(bad(
            dir,
            format!(
                "results.parquet has {} rows the scenario does not plan (made from another scenario?)",
                rows.len()
            ),
        ));
    }
    let start = market.tape.ts.first().copied().unwrap_or(0);
    // The representative runs: the same choice from the same rows, their
    // series and liquidations as the run stored them.
    let sweep = Sweep::from_results(&sc, results_v, start, true).with_representatives_from(
        plan,
        |picks, rows| {
            let mut reps = Vec::new();
            for &i in picks {
                let (Some(spec), Some(row)) = (plan.run(i), rows.get(i).filter(|r| r.index == i))
                else {
                    continue;
                };
                let rec = series.get(&spec.run_id).cloned().ok_or_else(|| {
                    bad(
                        dir,
                        format!("timeseries.parquet has no series for {}", spec.run_id),
                    )
                })?;
                let liquidations = rep_events.get(&spec.run_id).cloned().unwrap_or_default();
                reps.push(RunResult {
                    output: RunOutput {
                        metrics: row.metrics.clone(),
                        liquidations,
                    },
                    spec,
                    series: rec,
                    market: None,
                    portfolio: None,
                });
            }
            Ok(reps)
        },
    )?;
    let timings: Timings = serde_json::from_value(manifest["timings"].clone()).unwrap_or_default();
    let command = manifest["command"].as_str().unwrap_or("").to_string();
    write_report(
        dir,
        &ReportInput {
            scenario: &sc,
            market: &market,
            sweep: &sweep,
            timings: &timings,
            command: &command,
            origin: Some(&manifest),
        },
    )
}
