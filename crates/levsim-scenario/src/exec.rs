//! Parallel execution of a run plan.

use levsim_core::{CheckedTape, MarketTape};
use levsim_engine::crowd::{market_pass_with, Crossing, MarketMetrics, MarketSeries, PassOptions};
use levsim_engine::{simulate_with, Market, RunOutput, SeriesRecorder};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{path_seed, Hooks, LoadedMarket, RunSpec, Scenario, ScenarioError};

/// A run's policy: built in (an enum, dispatched statically in the loop)
/// or made by the embedding program.
enum AnyPolicy {
    Builtin(levsim_policy::BuiltinPolicy),
    External(Box<dyn levsim_policy::LeveragePolicy + Send>),
}

/// Points kept per time series for charts (every k-th bar).
pub(crate) const SERIES_POINTS: usize = 4_000;

/// One finished run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// What was run.
    pub spec: RunSpec,
    /// Metrics and liquidations.
    pub output: RunOutput,
    /// Equity, leverage and liquidation price per kept bar.
    pub series: SeriesRecorder,
    /// The market pass of this run's path and venue configuration, carried
    /// by the venue's first parameter point on each path (so shards store
    /// each pass once); None for other runs and without a crowd.
    pub market: Option<Box<MarketOutcome>>,
    /// The legs of a portfolio run (None for a market of one instrument).
    pub portfolio: Option<Box<PortfolioRun>>,
}

/// What a portfolio run adds to its account-level output.
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioRun {
    /// Symbol and metrics of every leg, in instrument order.
    pub legs: Vec<(String, levsim_engine::portfolio::LegMetrics)>,
    /// Leg of each liquidation event in `output.liquidations`.
    pub liquidation_legs: Vec<u16>,
    /// Leg that caused each of them (the largest loss of its bucket).
    pub liquidation_causes: Vec<u16>,
    /// Account and leg series (kept runs).
    pub series: Option<levsim_engine::portfolio::PortfolioSeries>,
    /// The run's money ledger imbalance (quote).
    pub conservation_error: f64,
    /// Change in value of the collateral in other assets (after haircuts).
    pub collateral_pnl: f64,
    /// Collateral moved between the isolated accounts (`account.transfer`).
    pub transfers: levsim_engine::portfolio::TransferMetrics,
    /// The crowd's contagion pass on this run's path and venue, carried by
    /// the venue's first parameter point on each path; None otherwise.
    pub contagion: Option<Box<ContagionOutcome>>,
}

/// A contagion pass (a crowd holding several instruments) as results keep
/// it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContagionOutcome {
    /// Venue configuration index.
    pub venue_index: usize,
    /// Market path.
    pub path: usize,
    /// Venue-wide summary.
    pub metrics: levsim_engine::crowd::ContagionMetrics,
    /// Per instrument.
    pub instruments: Vec<levsim_engine::crowd::InstrumentCascade>,
    /// Per-bar series (path 0 only).
    pub series: Option<levsim_engine::crowd::ContagionSeries>,
}

/// A market pass as the runs of its path use it.
struct Pass {
    /// The simulated mark, checked once for the runs on it.
    tape: CheckedTape,
    /// What the results keep.
    outcome: MarketOutcome,
    /// The crowd's ADL events.
    adl: Vec<levsim_engine::crowd::AdlEvent>,
}

/// A crowd market pass as results keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketOutcome {
    /// Venue configuration index.
    pub venue_index: usize,
    /// Market path.
    pub path: usize,
    /// Summary.
    pub metrics: MarketMetrics,
    /// Per-bar series (path 0 only).
    pub series: Option<MarketSeries>,
}

/// Runs every run of the scenario's plan on `threads` worker threads (0 =
/// all cores), calling `progress` after each run. Results are in plan order
/// and identical for any thread count.
pub fn execute(
    sc: &Scenario,
    market: &LoadedMarket,
    threads: usize,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<RunResult>, ScenarioError> {
    execute_shard(sc, market, None, threads, progress)
}

/// [`execute`] for the runs of one shard (`None`: all runs).
pub fn execute_shard(
    sc: &Scenario,
    market: &LoadedMarket,
    shard: Option<crate::Shard>,
    threads: usize,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<RunResult>, ScenarioError> {
    execute_shard_with(sc, market, shard, threads, &Hooks::progress(progress))
}

/// [`execute_shard`] with [`Hooks`]: a cancel flag and external (Python)
/// policies besides progress.
pub fn execute_shard_with(
    sc: &Scenario,
    market: &LoadedMarket,
    shard: Option<crate::Shard>,
    threads: usize,
    hooks: &Hooks<'_>,
) -> Result<Vec<RunResult>, ScenarioError> {
    let select = shard.map_or(Select::All, Select::Shard);
    with_pool(sc, threads, hooks, |pool| {
        execute_paths(sc, market, &select, pool, 0..sc.plan.paths, hooks)
    })
}

/// Which runs [`execute_paths`] runs.
pub(crate) enum Select {
    /// Every run; series kept on path 0.
    All,
    /// The runs of one shard; series kept on path 0.
    Shard(crate::Shard),
    /// These run indices, each with its series kept.
    Runs(std::collections::BTreeSet<usize>),
}

impl Select {
    pub(crate) fn owns(&self, run: usize) -> bool {
        match self {
            Self::All => true,
            Self::Shard(s) => s.owns(run),
            Self::Runs(r) => r.contains(&run),
        }
    }
    pub(crate) fn records(&self, path: usize) -> bool {
        path == 0 || matches!(self, Self::Runs(_))
    }
}

/// The most worker threads a run may ask for. Results do not depend on the
/// count; far more threads than cores only costs (issue 13: `--threads
/// 10000` ran for minutes on a 9-run scenario).
pub const MAX_THREADS: usize = 256;

/// The worker threads a `--threads` value asks for: 0 is all cores.
pub fn threads_asked(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
}

/// Checks a `--threads` value (0 = all cores): at most [`MAX_THREADS`].
pub fn check_threads(threads: usize) -> Result<(), String> {
    if threads > MAX_THREADS {
        let cores = threads_asked(0);
        return Err(format!(
            "--threads {threads}: at most {MAX_THREADS} worker threads (this machine has {cores} cores; 0 = all cores)"
        ));
    }
    Ok(())
}

/// Runs `f` with a worker pool of `threads` threads (0 = all cores, never
/// more than the scenario has runs); with [`Hooks::worker`], each worker
/// thread runs inside it (a scoped pool, ended when `f` returns).
pub(crate) fn with_pool<R>(
    sc: &Scenario,
    threads: usize,
    hooks: &Hooks<'_>,
    f: impl FnOnce(&rayon::ThreadPool) -> Result<R, ScenarioError>,
) -> Result<R, ScenarioError> {
    let Some(worker) = hooks.worker else {
        let pool = thread_pool(sc, threads)?;
        return f(&pool);
    };
    let n = pool_size(sc, threads)?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_scoped(
            |thread| {
                let mut thread = Some(thread);
                worker(&mut || {
                    if let Some(t) = thread.take() {
                        t.run();
                    }
                });
            },
            f,
        )
        .map_err(|e| ScenarioError::Invalid {
            file: sc.path.clone(),
            problems: vec![format!("--threads: cannot start {n} threads: {e}")],
        })?
}

/// Worker threads for `threads` (0 = all cores): never more than the
/// scenario has runs.
fn pool_size(sc: &Scenario, threads: usize) -> Result<usize, ScenarioError> {
    check_threads(threads).map_err(|m| ScenarioError::Invalid {
        file: sc.path.clone(),
        problems: vec![m],
    })?;
    Ok(threads_asked(threads).min(sc.plan.len().max(1)))
}

/// A worker pool of `threads` threads (0 = all cores), never more than the
/// scenario has runs.
pub(crate) fn thread_pool(
    sc: &Scenario,
    threads: usize,
) -> Result<rayon::ThreadPool, ScenarioError> {
    let threads = pool_size(sc, threads)?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| ScenarioError::Invalid {
            file: sc.path.clone(),
            problems: vec![format!("--threads: cannot start {threads} threads: {e}")],
        })
}

/// The runs of `paths` (of one shard, or all) on `pool`, in plan order.
pub(crate) fn execute_paths(
    sc: &Scenario,
    market: &LoadedMarket,
    select: &Select,
    pool: &rayon::ThreadPool,
    paths: std::ops::Range<usize>,
    hooks: &Hooks<'_>,
) -> Result<Vec<RunResult>, ScenarioError> {
    if let Some(p) = &market.portfolio {
        return crate::portfolio_exec::execute_paths(sc, p, select, pool, paths, hooks);
    }
    let stride = market.tape.len().div_ceil(SERIES_POINTS).max(1);
    // Coarse bars differ in length: the run is told the time they cover.
    let span = match &market.generator {
        Some(crate::generators::Generator::Coarse(c)) => Some(c.span_ns()),
        _ => None,
    };
    let view = Market::of_checked(&market.tape)
        .with_funding(market.funding.as_ref())
        .spanning(span);
    let drains = crate::shocks::drain_windows(&sc.shocks);
    let plan = &sc.plan;
    let owned = |point: usize, path: usize| select.owns(point * plan.paths + path);
    // Path-major: each market path is drawn once (never stored beyond its
    // runs) and every parameter point runs on it (common random numbers);
    // the points of a path run in parallel too, so a historical sweep (one
    // path, many points) uses every thread.
    // The first parameter point of each venue carries its market passes.
    let first_point: Vec<Option<usize>> = (0..market.venues.len())
        .map(|v| plan.points.iter().position(|p| p.venue_index == v))
        .collect();
    let coupled = sc.population.as_ref().is_some_and(|p| p.couple_subject);
    let run_one = |point: usize, path: usize, view: Market<'_>, outcome: Option<&MarketOutcome>| {
        hooks.check()?;
        let spec = plan.run_at(point, path);
        // A built-in policy, or one the embedding program makes (Python).
        let mut policy = match &spec.kind {
            levsim_policy::PolicyKind::Python { .. } => {
                let p = hooks
                    .external(sc, &spec)?
                    .leverage_policy(&spec)
                    .map_err(|message| ScenarioError::Policy {
                        run: spec.run_id.clone(),
                        message,
                    })?;
                AnyPolicy::External(match spec.topup {
                    Some(rule) => Box::new(levsim_policy::WithTopup { inner: p, rule }),
                    None => p,
                })
            }
            kind => AnyPolicy::Builtin(
                kind.build()
                    .map_err(|e| ScenarioError::Invalid {
                        file: sc.path.clone(),
                        problems: vec![format!("policy[{}].{e}", spec.policy_index)],
                    })?
                    .with_topup(spec.topup),
            ),
        };
        // Path 0 is the market already loaded, and the only one whose time
        // series are kept (besides runs selected for their series).
        let mut series = if select.records(path) {
            SeriesRecorder::new(stride)
        } else {
            SeriesRecorder::disabled()
        };
        // A coupled subject's orders already moved the market pass's mark.
        let inner = if coupled {
            levsim_engine::liquidity::LiquidityAny::None(levsim_engine::liquidity::NoImpact)
        } else {
            market.liquidity.clone()
        };
        let mut liquidity = crate::shocks::Drained {
            inner,
            windows: drains.clone(),
        };
        // Latency draws come from the path's seed: every policy point on a
        // path sees the same sequence of delays (common random numbers), so
        // policies differ by what they decide, not by their luck.
        let account = levsim_engine::AccountConfig {
            seed: crate::run_seed(path_seed(sc.seed, path), "latency"),
            latency: spec.latency.clone().or_else(|| sc.account.latency.clone()),
            ..sc.account.clone()
        };
        let venue = &market.venues[spec.venue_index];
        let mut output = match &mut policy {
            AnyPolicy::Builtin(p) => {
                simulate_with(view, venue, &account, p, &mut liquidity, &mut series)
            }
            AnyPolicy::External(p) => {
                simulate_with(view, venue, &account, p, &mut liquidity, &mut series)
            }
        }?;
        if let Some(crate::generators::Generator::Coarse(c)) = &market.generator {
            // Liquidation times to the step, drawn from their law in the bar.
            let tranches = output.metrics.liquidation_tranches;
            if tranches > 1 {
                return Err(ScenarioError::Invalid {
                    file: sc.path.clone(),
                    problems: vec![format!(
                        "market.coarse: run {} was liquidated in {tranches} orders ({}'s rules close in parts); coarse bars time one full liquidation per run: give the venue a flat maintenance_rate or draw bars of one step",
                        spec.run_id, venue.name
                    )],
                });
            }
            crate::first_passage::refine(
                &mut output,
                view.tape(),
                c,
                sc.account.side,
                path_seed(sc.seed, path),
            );
        }
        (hooks.progress)();
        let market = outcome
            .filter(|_| coupled || first_point[spec.venue_index] == Some(point))
            .map(|o| Box::new(o.clone()));
        Ok(RunResult {
            spec,
            output,
            series,
            market,
            portfolio: None,
        })
    };
    // One crowd market pass on `tape` under venue configuration `v`: the
    // simulated mark the runs trade on, the outcome kept, and the crowd's
    // ADL events (which reach the subject too).
    let renew = sc
        .population
        .as_ref()
        .and_then(|p| p.renew_rule(crate::run_seed(sc.seed, "renew")));
    let pass_opts = PassOptions {
        max_rounds: sc.population.as_ref().map_or(50, |p| p.max_rounds),
        topup: sc.population.as_ref().and_then(|p| p.topup_rule()),
        crossing: Crossing::Index,
        renew: renew.as_ref(),
    };
    let run_pass = |v: usize,
                    crowd: &levsim_engine::crowd::Population,
                    path: usize,
                    tape: &MarketTape,
                    funding: Option<&levsim_core::FundingSeries>|
     -> Pass {
        let mut liquidity = crate::shocks::Drained {
            inner: market.liquidity.clone(),
            windows: drains.clone(),
        };
        let pass = market_pass_with(
            tape,
            funding,
            &market.venues[v],
            crowd,
            &mut liquidity,
            &pass_opts,
        );
        Pass {
            tape: CheckedTape::new(pass.tape),
            outcome: MarketOutcome {
                venue_index: v,
                path,
                metrics: pass.metrics,
                series: (path == 0).then_some(pass.series),
            },
            adl: pass.adl_events,
        }
    };
    // couple_subject: the pass of one point, with the subject's opening
    // position in the crowd.
    let coupled_pass = |pt: usize,
                        path: usize,
                        tape: &MarketTape,
                        funding: Option<&levsim_core::FundingSeries>|
     -> Result<Pass, ScenarioError> {
        let spec = &plan.points[pt];
        let v = spec.venue_index;
        let entry = tape.open[0];
        let side = match sc.account.side {
            levsim_core::Side::Long => 1,
            levsim_core::Side::Short => -1,
        };
        let crowd = market.crowds[v].with_account(
            side,
            sc.account.capital * spec.kind.opening_leverage() / entry,
            entry,
            sc.account.capital,
            &market.venues[v],
        )?;
        Ok(run_pass(v, &crowd, path, tape, funding))
    };
    by_paths(pool, paths, plan.points.len(), owned, |path| {
        let generated;
        // The path's market, checked once for all its runs.
        let path_view = match &market.generator {
            Some(g) if path != 0 => {
                let mut t = g.path(path_seed(sc.seed, path));
                crate::shocks::apply(&sc.shocks, &mut t, &mut None);
                generated = CheckedTape::new(t);
                Market::of_checked(&generated).spanning(span)
            }
            _ => view,
        };
        let (tape, funding) = (path_view.tape(), path_view.funding());
        // With a crowd: one market pass per venue configuration
        // on this path; the policies trade against its mark.
        let passes: Vec<Pass> = if coupled {
            Vec::new()
        } else {
            market
                .crowds
                .par_iter()
                .enumerate()
                .map(|(v, crowd)| run_pass(v, crowd, path, tape, funding))
                .collect()
        };
        let pass_views: Vec<Market<'_>> = passes
            .iter()
            .map(|p| {
                Market::of_checked(&p.tape)
                    .with_funding(funding)
                    .with_adl(&p.adl)
            })
            .collect();
        (0..plan.points.len())
            .into_par_iter()
            .filter(|&pt| owned(pt, path))
            .map(|pt| {
                if coupled {
                    // This point's own pass: the crowd plus the subject.
                    let p = coupled_pass(pt, path, tape, funding)?;
                    let v = Market::of_checked(&p.tape)
                        .with_funding(funding)
                        .with_adl(&p.adl);
                    return run_one(pt, path, v, Some(&p.outcome));
                }
                let v = plan.points[pt].venue_index;
                match (passes.get(v), pass_views.get(v)) {
                    (Some(p), Some(&pv)) => run_one(pt, path, pv, Some(&p.outcome)),
                    _ => run_one(pt, path, path_view, None),
                }
            })
            .collect()
    })
}

/// `run_path` on every path of `paths` with a run of the selection
/// (`owned(point, path)`), in parallel on `pool`; each path's results in
/// point order. Returns them all in plan order ([`in_plan_order`]).
pub(crate) fn by_paths(
    pool: &rayon::ThreadPool,
    paths: std::ops::Range<usize>,
    points: usize,
    owned: impl Fn(usize, usize) -> bool + Sync,
    run_path: impl Fn(usize) -> Result<Vec<RunResult>, ScenarioError> + Sync + Send,
) -> Result<Vec<RunResult>, ScenarioError> {
    let by_path = pool.install(|| {
        paths
            .clone()
            .into_par_iter()
            .filter(|&path| (0..points).any(|pt| owned(pt, path)))
            .map(run_path)
            .collect::<Result<Vec<Vec<RunResult>>, ScenarioError>>()
    })?;
    Ok(in_plan_order(by_path, paths, points, owned))
}

/// The results of the selected paths (each path's in point order) in plan
/// order (point-major), whatever the execution order: taking the next
/// result of every path in turn for each point moves each result once (a
/// result is too large to move more often than that, as flattening and
/// sorting would).
fn in_plan_order(
    by_path: Vec<Vec<RunResult>>,
    paths: std::ops::Range<usize>,
    points: usize,
    owned: impl Fn(usize, usize) -> bool,
) -> Vec<RunResult> {
    let mut by_path: Vec<_> = paths
        .filter(|&path| (0..points).any(|pt| owned(pt, path)))
        .zip(by_path)
        .map(|(path, runs)| (path, runs.into_iter()))
        .collect();
    let mut results = Vec::with_capacity(by_path.iter().map(|(_, r)| r.len()).sum());
    for pt in 0..points {
        for (path, runs) in by_path.iter_mut() {
            if owned(pt, *path) {
                results.extend(runs.next());
            }
        }
    }
    debug_assert!(results
        .windows(2)
        .all(|w| w[0].spec.index < w[1].spec.index));
    results
}
