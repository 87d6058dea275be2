//! Parallel execution of a portfolio scenario's plan.

use levsim_core::{FundingSeries, PortfolioTape};
use levsim_engine::portfolio::{
    simulate_portfolio, Cross, Isolated, MarginScope, Portfolio, PortfolioMarket,
};
use levsim_engine::{MarginMode, RunOutput, SeriesRecorder};
use levsim_policy::PortfolioPolicy;
use rayon::prelude::*;

/// The SPAN and Greek scopes (`margin_mode = "span"`, `"greek"`).
const SPAN: levsim_engine::portfolio::models::ModelScope =
    levsim_engine::portfolio::models::ModelScope {
        model: levsim_engine::portfolio::models::Model::Span,
    };
const GREEK: levsim_engine::portfolio::models::ModelScope =
    levsim_engine::portfolio::models::ModelScope {
        model: levsim_engine::portfolio::models::Model::Greek,
    };

use crate::exec::{ContagionOutcome, PortfolioRun, Select, SERIES_POINTS};
use crate::portfolio::resolve_weights;
use crate::{path_seed, LoadedPortfolio, RunResult, Scenario, ScenarioError};
use levsim_engine::crowd::{
    contagion_pass, ContagionOptions, ContagionPass, CrowdMixConfig, VenueLinks,
};

/// The runs of `paths` (of one shard, or all) on `pool`, in plan order:
/// each generated path drawn once, every parameter point run on it.
pub(crate) fn execute_paths(
    sc: &Scenario,
    p: &LoadedPortfolio,
    select: &Select,
    pool: &rayon::ThreadPool,
    paths: std::ops::Range<usize>,
    hooks: &crate::Hooks<'_>,
) -> Result<Vec<RunResult>, ScenarioError> {
    let plan = &sc.plan;
    let symbols = p.tape.instruments.symbols();
    let stride = p.tape.len().div_ceil(SERIES_POINTS).max(1);
    let funding: Vec<Option<&FundingSeries>> = p.funding.iter().map(Option::as_ref).collect();
    let grid = sc.portfolio.as_ref().and_then(|s| s.grid.clone()).map(|g| {
        Portfolio::new(g).with_extended(
            sc.account
                .portfolio_margin
                .as_ref()
                .and_then(|c| c.extended_fraction),
        )
    });
    let owned = |point: usize, path: usize| select.owns(point * plan.paths + path);
    let crowd = sc.portfolio.as_ref().and_then(|s| s.crowd.clone());
    let venues_used: Vec<usize> = {
        let mut v: Vec<usize> = plan.points.iter().map(|p| p.venue_index).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    // `stress`: funding a contagion pass paid from the premium, per
    // instrument, replacing the file's.
    let run_one = |point: usize,
                   path: usize,
                   tape: &PortfolioTape,
                   contagion: Option<Box<ContagionOutcome>>,
                   stress: &[Option<FundingSeries>]| {
        let funding: Vec<Option<&FundingSeries>> = funding
            .iter()
            .enumerate()
            .map(|(k, f)| stress.get(k).and_then(Option::as_ref).or(*f))
            .collect();
        hooks.check()?;
        let spec = plan.run_at(point, path);
        let mut policy = match &spec.kind {
            levsim_policy::PolicyKind::Python { .. } => {
                let p = hooks
                    .external(sc, &spec)?
                    .portfolio_policy(&spec, &symbols, sc.account.side)
                    .map_err(|message| ScenarioError::Policy {
                        run: spec.run_id.clone(),
                        message,
                    })?;
                match spec.topup {
                    Some(rule) => Box::new(levsim_policy::PortfolioTopup { inner: p, rule }),
                    None => p,
                }
            }
            kind => {
                let weights = resolve_weights(kind, &symbols);
                kind.portfolio(weights.as_deref(), sc.account.side, spec.topup, &symbols)
                    .map_err(|e| ScenarioError::Invalid {
                        file: sc.path.clone(),
                        problems: vec![format!("policy[{}].{e}", spec.policy_index)],
                    })?
            }
        };
        let market = PortfolioMarket {
            tape,
            funding: &funding,
            rules: &p.rules[spec.venue_index],
            options: &p.options,
        };
        let keep = if select.records(path) { stride } else { 0 };
        // This policy's transfer delay (or none), over the account's rule.
        let account = match &spec.transfer_delay {
            None => std::borrow::Cow::Borrowed(&sc.account),
            Some(d) => {
                let mut a = sc.account.clone();
                a.transfer = match (d, a.transfer.take()) {
                    (Some(d), Some(rule)) => Some(levsim_engine::TransferRule {
                        delay: d.clone(),
                        ..rule
                    }),
                    _ => None,
                };
                std::borrow::Cow::Owned(a)
            }
        };
        let account = account.as_ref();
        let out = match spec.margin_mode.unwrap_or(sc.account.margin_mode) {
            MarginMode::Isolated => run(market, &Isolated, account, &mut policy, keep),
            MarginMode::Cross => run(market, &Cross, account, &mut policy, keep),
            MarginMode::Span => run(market, &SPAN, account, &mut policy, keep),
            MarginMode::Greek => run(market, &GREEK, account, &mut policy, keep),
            MarginMode::Portfolio => match &grid {
                Some(g) => run(market, g, account, &mut policy, keep),
                None => Err(ScenarioError::Invalid {
                    file: sc.path.clone(),
                    problems: vec!["account.margin_mode: portfolio margin without its grid".into()],
                }),
            },
        }?;
        (hooks.progress)();
        let series = match &out.series {
            Some(s) => SeriesRecorder::from_columns(
                s.ts.clone(),
                s.equity.clone(),
                s.leverage.clone(),
                vec![f64::NAN; s.ts.len()],
                s.close.first().cloned().unwrap_or_default(),
                s.margin_ratio.clone(),
            ),
            None => SeriesRecorder::disabled(),
        };
        Ok(RunResult {
            spec,
            output: RunOutput {
                metrics: out.metrics,
                liquidations: out.liquidations,
            },
            series,
            market: None,
            portfolio: Some(Box::new(PortfolioRun {
                legs: symbols.iter().cloned().zip(out.legs).collect(),
                liquidation_legs: out.liquidation_legs,
                liquidation_causes: out.liquidation_causes,
                series: out.series,
                conservation_error: out.conservation_error,
                collateral_pnl: out.collateral_pnl,
                transfers: out.transfers,
                contagion,
            })),
        })
    };
    crate::exec::by_paths(pool, paths, plan.points.len(), owned, |path| {
        let generated;
        let tape = match p.generator.is_some() && path != 0 {
            true => {
                generated = p.path(path_seed(sc.seed, path)).unwrap_or_default();
                &generated
            }
            false => &p.tape,
        };
        // With a crowd: one contagion pass per venue
        // configuration, whose marks the runs trade on; its
        // outcome rides on the configuration's first point.
        let passes: Vec<Option<ContagionPass>> = match &crowd {
            None => Vec::new(),
            Some(cfg) => venues_used
                .iter()
                .map(|&v| contagion(sc, p, cfg, v, tape).map(Some))
                .collect::<Result<_, _>>()?,
        };
        let first_of: Vec<Option<usize>> = venues_used
            .iter()
            .map(|&v| {
                (0..plan.points.len())
                    .find(|&pt| owned(pt, path) && plan.points[pt].venue_index == v)
            })
            .collect();
        (0..plan.points.len())
            .into_par_iter()
            .filter(|&pt| owned(pt, path))
            .map(|pt| {
                let v = plan.points[pt].venue_index;
                let slot = venues_used.iter().position(|&x| x == v).unwrap_or(0);
                match passes.get(slot).and_then(Option::as_ref) {
                    None => run_one(pt, path, tape, None, &[]),
                    Some(pass) => {
                        let outcome = (first_of[slot] == Some(pt)).then(|| {
                            Box::new(ContagionOutcome {
                                venue_index: v,
                                path,
                                metrics: pass.metrics.clone(),
                                instruments: pass.instruments.clone(),
                                series: (path == 0).then(|| pass.series.clone()),
                            })
                        });
                        run_one(pt, path, &pass.tape, outcome, &pass.funding)
                    }
                }
            })
            .collect()
    })
}

fn run<S: MarginScope>(
    market: PortfolioMarket<'_>,
    scope: &S,
    account: &levsim_engine::AccountConfig,
    policy: &mut Box<dyn PortfolioPolicy + Send>,
    keep: usize,
) -> Result<levsim_engine::portfolio::PortfolioOutput, ScenarioError> {
    Ok(simulate_portfolio(market, scope, account, policy, keep)?)
}

/// The crowd's contagion pass on `tape` under venue configuration `v`:
/// the crowd drawn at the path's first prices (one seed for every path),
/// each instrument's forced orders walking its own liquidity.
fn contagion(
    sc: &Scenario,
    p: &LoadedPortfolio,
    cfg: &CrowdMixConfig,
    v: usize,
    tape: &PortfolioTape,
) -> Result<ContagionPass, ScenarioError> {
    let invalid = |m: String| ScenarioError::Invalid {
        file: sc.path.clone(),
        problems: vec![m],
    };
    if !tape.all_linear() {
        return Err(invalid(
            "population: a crowd of several instruments runs linear (USDT-margined) contracts"
                .into(),
        ));
    }
    let symbols = tape.instruments.symbols();
    let n = tape.len();
    let prices: Vec<f64> = (0..tape.legs()).map(|k| tape.open[k * n]).collect();
    let rules = &p.rules[v];
    let links = venue_links(sc, rules);
    let mut book = p
        .crowd_book
        .clone()
        .unwrap_or_else(|| levsim_engine::crowd::CrowdBook::new(symbols.len()));
    cfg.generate_into(
        &mut book,
        crate::run_seed(sc.seed, "crowd"),
        &symbols,
        &prices,
        rules,
        &links.venue_of,
    )
    .map_err(|e| invalid(e.to_string()))?;
    let spec = sc.portfolio.as_ref();
    let mut liquidity = (0..tape.legs())
        .map(|k| {
            spec.and_then(|s| s.instruments.get(k))
                .and_then(|i| i.liquidity.as_ref())
                .unwrap_or(&sc.liquidity)
                .build(sc)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let funding: Vec<Option<&FundingSeries>> = p.funding.iter().map(Option::as_ref).collect();
    Ok(contagion_pass(
        tape,
        &funding,
        rules,
        &links,
        &book,
        &mut liquidity,
        &ContagionOptions {
            max_rounds: cfg.max_rounds,
            seed: crate::run_seed(sc.seed, "adl"),
            ..ContagionOptions::default()
        },
    ))
}

/// The instruments' venues (the scenario's, or each instrument's own, with
/// that venue's insurance fund), their index marks and premium funding.
fn venue_links(sc: &Scenario, rules: &[levsim_engine::VenueProfile]) -> VenueLinks {
    let Some(spec) = sc.portfolio.as_ref() else {
        return VenueLinks::single(rules.len(), rules.first().map_or(0.0, |r| r.insurance_fund));
    };
    let symbols = spec.symbols();
    let venue_of = crate::portfolio::venue_groups(spec);
    let venues = venue_of.iter().max().map_or(0, |m| m + 1);
    let funds: Vec<f64> = (0..venues)
        .map(|v| {
            venue_of
                .iter()
                .position(|&x| x == v)
                .map_or(0.0, |k| rules[k].insurance_fund)
        })
        .collect();
    let index = spec
        .instruments
        .iter()
        .map(|i| {
            i.index.as_ref().map(|w| {
                let total: f64 = w.values().sum();
                w.iter()
                    .filter_map(|(s, x)| {
                        symbols.iter().position(|y| y == s).map(|j| (j, x / total))
                    })
                    .collect()
            })
        })
        .collect();
    VenueLinks {
        venue_of,
        funds,
        index,
        premium_funding: spec
            .instruments
            .iter()
            .map(|i| i.premium_funding == Some(true))
            .collect(),
    }
}
