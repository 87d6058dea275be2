//! A sweep whose results stream: each run, as it finishes, is reduced to
//! the few numbers its aggregate needs (and to a compact row when
//! `results.parquet` is asked for); only the runs on market path 0 are kept
//! whole (time series, liquidation lists) for the report's tables and
//! charts. Paths are run in chunks, so memory holds one chunk of full
//! results at a time.

use levsim_engine::RunMetrics;

use crate::aggregate::PointValues;
use crate::exec::{execute_paths, with_pool, Select};
use crate::{Aggregate, Hooks, LoadedMarket, MarketOutcome, RunResult, Scenario, ScenarioError};

/// One run as `results.parquet` stores it: its plan index (the spec is
/// `plan.run(index)`) and its metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Position in the plan.
    pub index: usize,
    /// The run's metrics.
    pub metrics: RunMetrics,
    /// Each leg's metrics of a portfolio run, in instrument order (empty
    /// for a market of one instrument).
    pub legs: Vec<levsim_engine::portfolio::LegMetrics>,
}

/// The outcome of a sweep.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The runs on market path 0 (every run of a historical market), whole,
    /// in plan order.
    pub kept: Vec<RunResult>,
    /// One row per run in plan order, when asked for.
    pub rows: Option<Vec<RunRow>>,
    /// Per parameter point, over all its paths.
    pub aggregates: Vec<Aggregate>,
    /// Every crowd market pass, by (path, venue); series on path 0 only.
    pub markets: Vec<MarketOutcome>,
    /// Every contagion pass (a crowd of several instruments), by (path,
    /// venue); series on path 0 only.
    pub contagion: Vec<crate::ContagionOutcome>,
    /// Number of runs.
    pub runs: usize,
    /// The representative runs of a Monte Carlo sweep (see
    /// [`representative_runs`]), whole, in plan order; empty for one path
    /// or without rows.
    pub representative: Vec<RunResult>,
    /// Their roles, (run index, `"median"` or `"worst 5 %"`), in plan order
    /// of points (a run may have both).
    pub representative_roles: Vec<(usize, &'static str)>,
}

/// Which runs represent each parameter point of a Monte Carlo sweep: the
/// run at the median and the one at the 5th percentile of the return on
/// committed capital (order statistics ⌊(n−1)/2⌋ and ⌊0.05·(n−1)⌋, ties by
/// path), as (run index, role) with role `"median"` or `"worst 5 %"`, in
/// plan order of points. Empty for a single path.
pub fn representative_runs(plan: &crate::RunPlan, rows: &[RunRow]) -> Vec<(usize, &'static str)> {
    if plan.paths < 2 {
        return Vec::new();
    }
    let mut by_point: Vec<Vec<(f64, usize)>> = vec![Vec::new(); plan.points.len()];
    for r in rows {
        if let Some(v) = by_point.get_mut(r.index / plan.paths) {
            v.push((r.metrics.return_on_committed_pct, r.index));
        }
    }
    let mut out = Vec::new();
    for mut v in by_point {
        if v.is_empty() {
            continue;
        }
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let n = v.len();
        out.push((v[(n - 1) / 2].1, "median"));
        out.push((v[(0.05 * (n - 1) as f64).floor() as usize].1, "worst 5 %"));
    }
    out
}

/// Folds results, in any order, into a sweep.
struct Folder {
    kept: Vec<RunResult>,
    rows: Option<Vec<RunRow>>,
    values: Vec<PointValues>,
    markets: Vec<MarketOutcome>,
    contagion: Vec<crate::ContagionOutcome>,
    runs: usize,
    paths: usize,
    start_ns: i64,
}

impl Folder {
    fn new(sc: &Scenario, start_ns: i64, keep_rows: bool) -> Self {
        Self {
            kept: Vec::new(),
            rows: keep_rows.then(Vec::new),
            values: vec![PointValues::default(); sc.plan.points.len()],
            markets: Vec::new(),
            contagion: Vec::new(),
            runs: 0,
            paths: sc.plan.paths.max(1),
            start_ns,
        }
    }

    fn add(&mut self, mut r: RunResult) {
        self.runs += 1;
        let v = &mut self.values[r.spec.index / self.paths];
        v.add(&r.output.metrics, self.start_ns);
        if let Some(p) = &r.portfolio {
            v.add_portfolio(p);
        }
        if let Some(rows) = &mut self.rows {
            rows.push(RunRow {
                index: r.spec.index,
                metrics: r.output.metrics.clone(),
                legs: r
                    .portfolio
                    .as_ref()
                    .map(|p| p.legs.iter().map(|(_, l)| l.clone()).collect())
                    .unwrap_or_default(),
            });
        }
        if let Some(m) = r.market.take() {
            self.markets.push(*m);
        }
        if let Some(c) = r.portfolio.as_mut().and_then(|p| p.contagion.take()) {
            self.contagion.push(*c);
        }
        if r.spec.path == 0 {
            self.kept.push(r);
        }
    }

    fn finish(mut self, sc: &Scenario) -> Sweep {
        // Plan order, whatever order the chunks finished in.
        self.kept.sort_by_key(|r| r.spec.index);
        if let Some(rows) = &mut self.rows {
            rows.sort_by_key(|r| r.index);
        }
        self.markets.sort_by_key(|m| (m.path, m.venue_index));
        self.contagion.sort_by_key(|m| (m.path, m.venue_index));
        let aggregates = self
            .values
            .into_iter()
            .zip(&sc.plan.points)
            .filter(|(v, _)| v.runs() > 0)
            .map(|(v, p)| v.finish(p))
            .collect();
        Sweep {
            kept: self.kept,
            rows: self.rows,
            aggregates,
            markets: self.markets,
            contagion: self.contagion,
            runs: self.runs,
            representative: Vec::new(),
            representative_roles: Vec::new(),
        }
    }
}

impl Sweep {
    /// A sweep from results already in memory (e.g. merged shards).
    pub fn from_results(
        sc: &Scenario,
        results: Vec<RunResult>,
        start_ns: i64,
        keep_rows: bool,
    ) -> Self {
        let mut f = Folder::new(sc, start_ns, keep_rows);
        for r in results {
            f.add(r);
        }
        f.finish(sc)
    }

    /// Runs the representative runs again with their series kept (they are
    /// deterministic: the same path and seed give the same run) and stores
    /// them in [`Sweep::representative`]; nothing without rows or with one
    /// path.
    pub fn with_representatives(
        self,
        sc: &Scenario,
        market: &LoadedMarket,
        threads: usize,
    ) -> Result<Self, ScenarioError> {
        self.with_representatives_hooked(sc, market, threads, &Hooks::progress(&|| {}))
    }

    /// [`Sweep::with_representatives`] with the sweep's [`Hooks`] (its
    /// external policies run the representatives again).
    pub fn with_representatives_hooked(
        self,
        sc: &Scenario,
        market: &LoadedMarket,
        threads: usize,
        hooks: &Hooks<'_>,
    ) -> Result<Self, ScenarioError> {
        let hooks = Hooks {
            progress: &|| {},
            ..*hooks
        };
        let hooks = &hooks;
        self.with_representatives_from(&sc.plan, |picks, _| {
            let paths = picks.iter().map(|i| i % sc.plan.paths);
            let lo = paths.clone().min().unwrap_or(0);
            let hi = paths.max().unwrap_or(0) + 1;
            let mut runs = with_pool(sc, threads, hooks, |pool| {
                execute_paths(
                    sc,
                    market,
                    &Select::Runs(picks.clone()),
                    pool,
                    lo..hi,
                    hooks,
                )
            })?;
            for r in &mut runs {
                r.market = None;
                if let Some(p) = r.portfolio.as_mut() {
                    p.contagion = None;
                }
            }
            Ok(runs)
        })
    }

    /// Chooses the representative runs ([`representative_runs`]) once and
    /// stores them with their roles, the runs themselves from `load` (given
    /// their indices and the rows; it simulates them, or reads them back
    /// from a report). Nothing without rows or with one path.
    pub fn with_representatives_from<E>(
        mut self,
        plan: &crate::RunPlan,
        load: impl FnOnce(&std::collections::BTreeSet<usize>, &[RunRow]) -> Result<Vec<RunResult>, E>,
    ) -> Result<Self, E> {
        let Some(rows) = &self.rows else {
            return Ok(self);
        };
        let roles = representative_runs(plan, rows);
        let picks: std::collections::BTreeSet<usize> = roles.iter().map(|(i, _)| *i).collect();
        if picks.is_empty() {
            return Ok(self);
        }
        self.representative = load(&picks, rows)?;
        self.representative_roles = roles;
        Ok(self)
    }

    /// The path-0 market pass of venue configuration `venue_index`.
    pub fn market_on_path0(&self, venue_index: usize) -> Option<&MarketOutcome> {
        self.markets
            .iter()
            .find(|m| m.path == 0 && m.venue_index == venue_index)
    }
}

/// Paths per chunk: enough to keep every thread busy, few enough that a
/// chunk's full results stay small.
const CHUNK_PATHS: usize = 256;

/// Runs the whole plan on `threads` threads, streaming results into a
/// [`Sweep`]; `keep_rows` keeps one compact row per run for
/// `results.parquet`. Identical for any thread count.
pub fn execute_sweep(
    sc: &Scenario,
    market: &LoadedMarket,
    threads: usize,
    progress: &(dyn Fn() + Sync),
    keep_rows: bool,
) -> Result<Sweep, ScenarioError> {
    execute_sweep_with(sc, market, threads, keep_rows, &Hooks::progress(progress))
}

/// [`execute_sweep`] with [`Hooks`]: a cancel flag and external (Python)
/// policies besides progress.
pub fn execute_sweep_with(
    sc: &Scenario,
    market: &LoadedMarket,
    threads: usize,
    keep_rows: bool,
    hooks: &Hooks<'_>,
) -> Result<Sweep, ScenarioError> {
    let start_ns = market.tape.ts.first().copied().unwrap_or(0);
    let mut f = Folder::new(sc, start_ns, keep_rows);
    let paths = sc.plan.paths;
    with_pool(sc, threads, hooks, |pool| {
        let mut from = 0;
        while from < paths {
            let to = (from + CHUNK_PATHS).min(paths);
            for r in execute_paths(sc, market, &Select::All, pool, from..to, hooks)? {
                f.add(r);
            }
            from = to;
        }
        Ok(())
    })?;
    f.finish(sc)
        .with_representatives_hooked(sc, market, threads, hooks)
}
