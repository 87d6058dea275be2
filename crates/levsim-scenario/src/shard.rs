//! Shards: a run plan split as `index % N == I`, each shard's results saved
//! on its own, and merged back into the results a single run gives.

use std::path::{Path, PathBuf};

use levsim_core::LiquidationEvent;
use levsim_engine::{RunMetrics, RunOutput, SeriesRecorder};
use serde::{Deserialize, Serialize};

use crate::{RunResult, Scenario, ScenarioError};

/// `I/N` from the command line: shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based shard index.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// Parses `"I/N"` with `0 ≤ I < N`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not I/N (e.g. 0/4)"))?;
        let (index, count): (usize, usize) = (
            i.trim()
                .parse()
                .map_err(|_| format!("{i:?} is not a shard index"))?,
            n.trim()
                .parse()
                .map_err(|_| format!("{n:?} is not a shard count"))?,
        );
        if count == 0 || index >= count {
            return Err(format!("{s:?}: need 0 ≤ I < N"));
        }
        Ok(Self { index, count })
    }

    /// Whether run `index` belongs to this shard.
    pub fn owns(&self, run_index: usize) -> bool {
        run_index % self.count == self.index
    }

    /// The file stem `shard-IIIII-of-NNNNN`.
    pub fn stem(&self) -> String {
        format!("shard-{:05}-of-{:05}", self.index, self.count)
    }
}

/// One run as a shard stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredRun {
    index: usize,
    run_id: String,
    seed: u64,
    metrics: RunMetrics,
    liquidations: Vec<LiquidationEvent>,
    ts: Vec<i64>,
    equity: Vec<f64>,
    leverage: Vec<f64>,
    /// NaN (none) is stored as null.
    liquidation_price: Vec<Option<f64>>,
    mark: Vec<f64>,
    /// Margin ratio per kept bar.
    #[serde(default)]
    margin_ratio: Vec<f64>,
    /// The crowd market pass this run carries, if any.
    #[serde(default)]
    market: Option<Box<crate::MarketOutcome>>,
}

/// A shard's file: enough to rebuild its runs' results exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ShardFile {
    scenario_file: String,
    scenario_name: String,
    plan_len: usize,
    shard: Shard,
    runs: Vec<StoredRun>,
}

/// Writes `DIR/shard-IIIII-of-NNNNN.json` through a temporary file and a
/// rename; returns its path.
pub fn write_shard(
    dir: &Path,
    shard: Shard,
    sc: &Scenario,
    results: &[RunResult],
) -> Result<PathBuf, ScenarioError> {
    if sc.portfolio.is_some() {
        return Err(ScenarioError::Invalid {
            file: sc.path.clone(),
            problems: vec![
                "--shard: shards of portfolio scenarios ([[market.instrument]]) are not available yet: run it whole".into(),
            ],
        });
    }
    let io = |source| ScenarioError::Io {
        file: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let file = ShardFile {
        scenario_file: sc.path.display().to_string(),
        scenario_name: sc.name.clone(),
        plan_len: sc.plan.len(),
        shard,
        runs: results
            .iter()
            .map(|r| StoredRun {
                index: r.spec.index,
                run_id: r.spec.run_id.clone(),
                seed: r.spec.seed,
                metrics: r.output.metrics.clone(),
                liquidations: r.output.liquidations.clone(),
                ts: r.series.ts.clone(),
                equity: r.series.equity.clone(),
                leverage: r.series.leverage.clone(),
                liquidation_price: r
                    .series
                    .liquidation_price
                    .iter()
                    .map(|v| v.is_finite().then_some(*v))
                    .collect(),
                mark: r.series.mark.clone(),
                margin_ratio: r.series.margin_ratio.clone(),
                market: r.market.clone(),
            })
            .collect(),
    };
    let path = dir.join(format!("{}.json", shard.stem()));
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string(&file).map_err(|e| ScenarioError::Invalid {
        file: path.clone(),
        problems: vec![format!("cannot serialise the shard: {e}")],
    })?;
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(path)
}

/// The scenario file a shard directory's shards were run from.
pub fn shard_scenario(dirs: &[PathBuf]) -> Result<PathBuf, ScenarioError> {
    for d in dirs {
        if let Some(f) = shard_files(d)?.first() {
            return Ok(PathBuf::from(read(f)?.scenario_file));
        }
    }
    Err(ScenarioError::Invalid {
        file: dirs.first().cloned().unwrap_or_default(),
        problems: vec!["no shard-*-of-*.json files found".into()],
    })
}

fn shard_files(dir: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
    let rd = std::fs::read_dir(dir).map_err(|source| ScenarioError::Io {
        file: dir.to_path_buf(),
        source,
    })?;
    let mut out: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("shard-") && n.ends_with(".json"))
        })
        .collect();
    out.sort();
    Ok(out)
}

fn read(path: &Path) -> Result<ShardFile, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| ScenarioError::Parse {
        file: path.to_path_buf(),
        message: format!("not a levsim shard: {e}"),
    })
}

/// Reads every shard in `dirs`, checks that they are all the shards of one
/// split of `sc`'s plan (each present once, each run once, ids and seeds as
/// the plan says), and returns the results in plan order.
pub fn merge_shards(dirs: &[PathBuf], sc: &Scenario) -> Result<Vec<RunResult>, ScenarioError> {
    let bad = |file: &Path, m: String| ScenarioError::Invalid {
        file: file.to_path_buf(),
        problems: vec![m],
    };
    let mut count = None;
    let mut seen_shards = std::collections::BTreeSet::new();
    let mut slots: Vec<Option<RunResult>> = vec![None; sc.plan.len()];
    for d in dirs {
        for f in shard_files(d)? {
            let file = read(&f)?;
            if file.plan_len != sc.plan.len() || file.scenario_name != sc.name {
                return Err(bad(
                    &f,
                    format!(
                        "belongs to another scenario or plan ({}, {} runs)",
                        file.scenario_name, file.plan_len
                    ),
                ));
            }
            match count {
                None => count = Some(file.shard.count),
                Some(c) if c != file.shard.count => {
                    return Err(bad(
                        &f,
                        format!("is one of {} shards, others are of {c}", file.shard.count),
                    ))
                }
                _ => {}
            }
            if !seen_shards.insert(file.shard.index) {
                return Err(bad(&f, format!("shard {} appears twice", file.shard.index)));
            }
            for r in file.runs {
                let spec = sc
                    .plan
                    .run(r.index)
                    .ok_or_else(|| bad(&f, format!("run index {} is outside the plan", r.index)))?;
                if spec.run_id != r.run_id || spec.seed != r.seed || !file.shard.owns(r.index) {
                    return Err(bad(
                        &f,
                        format!(
                            "run {} does not match the plan's run {}",
                            r.run_id, spec.run_id
                        ),
                    ));
                }
                let series = SeriesRecorder::from_columns(
                    r.ts,
                    r.equity,
                    r.leverage,
                    r.liquidation_price
                        .into_iter()
                        .map(|v| v.unwrap_or(f64::NAN))
                        .collect(),
                    r.mark,
                    r.margin_ratio,
                );
                slots[r.index] = Some(RunResult {
                    spec,
                    output: RunOutput {
                        metrics: r.metrics,
                        liquidations: r.liquidations,
                    },
                    series,
                    market: r.market,
                    portfolio: None,
                });
            }
        }
    }
    let count = count.ok_or_else(|| {
        bad(
            &dirs.first().cloned().unwrap_or_default(),
            "no shards found".into(),
        )
    })?;
    let missing: Vec<usize> = (0..count).filter(|i| !seen_shards.contains(i)).collect();
    if !missing.is_empty() {
        return Err(bad(
            &dirs.first().cloned().unwrap_or_default(),
            format!("missing shard(s) {missing:?} of {count}"),
        ));
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.ok_or_else(|| bad(&sc.path, format!("run {i} is in no shard"))))
        .collect()
}
