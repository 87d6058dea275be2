//! Portfolio scenarios: `[[market.instrument]]` tables, the market's
//! `correlation`, and the checks that name every problem by its field
//! (`market.instrument[1].file`, `policy[0].weights.SOLUSDT`).

use std::path::PathBuf;

use levsim_data::{Format, GapPolicy};
use levsim_engine::portfolio::ScenarioGrid;
use levsim_engine::{AccountConfig, MarginMode};
use serde::{Deserialize, Serialize};

use crate::correlation::Correlation;
use crate::file::{MarketConfig, MarketKind, Resolver};
use crate::generators::{Jumps, Monitoring};
use crate::multi::{LegGbm, MultiGbm};
use crate::RunPlan;

/// One `[[market.instrument]]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentConfig {
    /// Venue symbol (the venue's tables for it margin this leg).
    pub symbol: String,
    /// Bar file (historical markets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// File format; detected when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// Funding CSV of this instrument; none when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<PathBuf>,
    /// What to do with gaps in this instrument's bars.
    #[serde(default)]
    pub on_gap: GapPolicy,
    /// Generated: starting price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_price: Option<f64>,
    /// Generated: annual volatility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
    /// Generated: annual drift (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mu: Option<f64>,
    /// Merton: this instrument's own jumps per year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump_rate: Option<f64>,
    /// Merton: mean of its log jump.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump_mean: Option<f64>,
    /// Merton: standard deviation of its log jump.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump_sigma: Option<f64>,
    /// Regime: this instrument's annual volatility in the stressed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stress_sigma: Option<f64>,
    /// Regime: its annual drift in the stressed state (default `mu`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stress_mu: Option<f64>,
    /// Historical: a wick reaching further than this fraction beyond the
    /// bar's body (0.2: a high above 1.2 × max(open, close), a low below
    /// 0.8 × min(open, close)) is taken as a bad print and dropped (the
    /// bar's range ends at its body). Venues liquidate on a mark built
    /// from several spot prices, which a lone bad print of the last price
    /// does not move; without it such wicks are kept, and those beyond
    /// 50 % are listed in the data notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wick: Option<f64>,
    /// This instrument trades on a venue of its own (a `[venue]` table:
    /// preset or profile file, overrides), the same under every venue
    /// configuration, with its own insurance fund: e.g. the same bars as
    /// another instrument's, on a second venue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<levsim_engine::VenueConfig>,
    /// Crowd markets: this instrument is marked at an index of the
    /// instruments' traded prices, weights by symbol (normalized); list the
    /// same weights on two venues' instruments for a shared index, so
    /// forced selling on one moves the other's mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<std::collections::BTreeMap<String, f64>>,
    /// Crowd markets: funding from the premium of this instrument's traded
    /// price over its (index) mark, by its venue's funding rule over each
    /// interval, instead of a funding file; the subject accounts pay it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub premium_funding: Option<bool>,
    /// Crowd markets: the liquidity this instrument's forced orders walk
    /// (the `[liquidity]` table's keys), replacing `[liquidity]` for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidity: Option<crate::LiquidityConfig>,
    /// Options: the instrument (by symbol) this one is a European option
    /// on; `symbol` is then a Deribit-style name (`BTC-25SEP20-12000-C`)
    /// giving strike, expiry (08:00 UTC) and type. Settled in quote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub underlying: Option<String>,
    /// Options: a constant implied volatility (annual, 0.8 = 80 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iv: Option<f64>,
    /// Options: a volatility index file (Deribit DVOL, percent) whose value
    /// known at each bar (the last daily close) is the option's volatility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iv_index: Option<PathBuf>,
    /// Options: the index times this (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iv_scale: Option<f64>,
    /// Options: a chain snapshot (Deribit's columns, as `levsim margin
    /// --chain`) whose smiles, fitted per expiry, give the option's
    /// volatility, moved through time by `iv_index` (its ratio to its value
    /// at the snapshot) or else by the underlying's realized volatility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface: Option<PathBuf>,
    /// Options with a `surface`: `"moneyness"` (default: the smile moves
    /// with the underlying) or `"strike"` (each strike keeps its
    /// volatility).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<levsim_options::surface::Sticky>,
    /// Options with a `surface` and no `iv_index`: half-life of the EWMA of
    /// realized volatility that moves the surface's level, hours (default
    /// 168).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_halflife_h: Option<f64>,
    /// Portfolio margin: this instrument's price scan range (replaces
    /// `[account.portfolio_margin] scan_range`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_range: Option<f64>,
}

/// A validated portfolio market.
#[derive(Debug, Clone)]
pub struct PortfolioSpec {
    /// The instruments, in order, with their paths resolved.
    pub instruments: Vec<InstrumentConfig>,
    /// The market's correlation (`[market] correlation`), if given.
    pub correlation: Option<Correlation>,
    /// The generator of a generated market.
    pub generator: Option<MultiGbm>,
    /// The portfolio-margin grid (`margin_mode = "portfolio"`).
    pub grid: Option<ScenarioGrid>,
    /// Shocks with the instrument each hits (`None`: every instrument).
    pub shocks: Vec<(Option<usize>, crate::shocks::Shock)>,
    /// A block bootstrap of the instruments' history (`kind = "bootstrap"`).
    pub bootstrap: Option<BootstrapSpec>,
    /// Per instrument: the option it is, if any.
    pub options: Vec<Option<OptionCfg>>,
    /// The crowd holding the instruments (`[population]` with `mix`).
    pub crowd: Option<levsim_engine::crowd::CrowdMixConfig>,
}

/// An option instrument of a portfolio market.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionCfg {
    /// Index of its underlying instrument.
    pub underlying: usize,
    /// Strike, expiry and type, from its name.
    pub name: levsim_options::OptionName,
    /// Where its volatility comes from.
    pub iv: IvSource,
}

/// An option's implied volatility.
#[derive(Debug, Clone, PartialEq)]
pub enum IvSource {
    /// Constant (annual).
    Constant(f64),
    /// A daily index file (percent) times a scale.
    Index {
        /// The file, resolved.
        file: PathBuf,
        /// Multiplier.
        scale: f64,
    },
    /// A surface fitted to a chain snapshot, moved through time.
    Surface {
        /// The chain file, resolved.
        file: PathBuf,
        /// How the smile moves with the underlying.
        sticky: levsim_options::surface::Sticky,
        /// The level: an index file (its ratio to the value at the
        /// snapshot), else realized volatility with this EWMA half-life
        /// (hours).
        level: SurfaceLevel,
    },
}

/// What moves a surface's level through time.
#[derive(Debug, Clone, PartialEq)]
pub enum SurfaceLevel {
    /// A volatility index file (its ratio to its value at the snapshot).
    Index(PathBuf),
    /// The underlying's realized volatility (EWMA half-life, hours).
    Realized(f64),
}

/// `kind = "bootstrap"` over several instruments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapSpec {
    /// Mean block length, ns.
    pub block_ns: i64,
    /// Path length, ns.
    pub horizon_ns: i64,
}

/// Per instrument, its venue as a dense id in order of first appearance:
/// the scenario's (`[venue]`) for instruments without a `venue` table of
/// their own, one per distinct such table.
pub fn venue_groups(spec: &PortfolioSpec) -> Vec<usize> {
    let mut seen: Vec<Option<&levsim_engine::VenueConfig>> = Vec::new();
    spec.instruments
        .iter()
        .map(|i| {
            let key = i.venue.as_ref();
            seen.iter().position(|s| *s == key).unwrap_or_else(|| {
                seen.push(key);
                seen.len() - 1
            })
        })
        .collect()
}

impl PortfolioSpec {
    /// The symbols, in instrument order.
    pub fn symbols(&self) -> Vec<String> {
        self.instruments.iter().map(|i| i.symbol.clone()).collect()
    }
}

/// What a portfolio market does not combine with yet, by key.
fn unsupported(market: &MarketConfig, problems: &mut Vec<String>) {
    let single = [
        ("file", !market.file.as_os_str().is_empty()),
        ("symbol", market.symbol.is_some()),
        ("funding", market.funding.is_some()),
        ("format", market.format.is_some()),
        ("start_price", market.start_price.is_some()),
        ("sigma", market.sigma.is_some()),
        ("mu", market.mu.is_some()),
        ("stress_sigma", market.stress_sigma.is_some()),
        ("stress_mu", market.stress_mu.is_some()),
    ];
    for (k, set) in single {
        if set {
            problems.push(format!(
                "market.{k}: with [[market.instrument]] tables each instrument gives its own `{k}`"
            ));
        }
    }
    let regime = market.kind == MarketKind::Regime;
    for (k, set) in [
        ("to_stressed", market.to_stressed.is_some() && !regime),
        ("to_calm", market.to_calm.is_some() && !regime),
        (
            "stress_correlation",
            market.stress_correlation.is_some() && !regime,
        ),
        ("garch_alpha", market.garch_alpha.is_some()),
        ("garch_beta", market.garch_beta.is_some()),
        ("garch_nu", market.garch_nu.is_some()),
        (
            "block",
            market.block.is_some() && market.kind != MarketKind::Bootstrap,
        ),
        ("bar", market.bar.is_some()),
    ] {
        if set {
            problems.push(format!(
                "market.{k}: not available for portfolio markets yet (historical, gbm and merton markets of several instruments are)"
            ));
        }
    }
}

/// Validates `[[market.instrument]]` and builds the portfolio market;
/// problems are pushed with their field paths.
pub(crate) fn parse(
    market: &mut MarketConfig,
    res: &Resolver<'_>,
    problems: &mut Vec<String>,
) -> Option<PortfolioSpec> {
    let before = problems.len();
    unsupported(market, problems);
    let n = market.instrument.len();
    let kind = market.kind;
    let generated = matches!(
        kind,
        MarketKind::Gbm | MarketKind::Merton | MarketKind::Regime
    );
    let resampled = kind == MarketKind::Bootstrap;
    if !generated && !resampled && kind != MarketKind::Historical {
        problems.push(format!(
            "market.kind: {kind:?} markets of several instruments are not available yet; use \"historical\", \"bootstrap\", \"gbm\", \"merton\" or \"regime\"",
        ));
    }
    for (k, set) in [
        ("dt", market.dt.is_some()),
        ("horizon", market.horizon.is_some()),
        ("paths", market.paths.is_some()),
    ] {
        let allowed = generated || (resampled && k != "dt");
        if set && !allowed {
            problems.push(format!(
                "market.{k}: only for generated markets{}",
                if resampled {
                    " (a bootstrap keeps its bars' own interval)"
                } else {
                    " and bootstraps (kind = \"bootstrap\", \"gbm\", \"merton\" or \"regime\")"
                }
            ));
        }
    }
    // Options first: their underlying must be a listed, non-option
    // instrument; they have no bars of their own.
    let symbols: Vec<String> = market.instrument.iter().map(|i| i.symbol.clone()).collect();
    let is_option: Vec<bool> = market
        .instrument
        .iter()
        .map(|i| i.underlying.is_some())
        .collect();
    let mut options: Vec<Option<OptionCfg>> = vec![None; n];
    let market_start = market.start.clone();
    for (i, inst) in market.instrument.iter_mut().enumerate() {
        let at = |k: &str| format!("market.instrument[{i}].{k}");
        let Some(u) = inst.underlying.clone() else {
            for (k, set) in [
                ("iv", inst.iv.is_some()),
                ("iv_index", inst.iv_index.is_some()),
                ("iv_scale", inst.iv_scale.is_some()),
                ("surface", inst.surface.is_some()),
                ("sticky", inst.sticky.is_some()),
                ("level_halflife_h", inst.level_halflife_h.is_some()),
            ] {
                if set {
                    problems.push(format!("{}: only for options (with `underlying`)", at(k)));
                }
            }
            continue;
        };
        if resampled {
            problems.push(format!(
                "{}: options run on historical and generated markets (kind = \"historical\", \"gbm\", \"merton\" or \"regime\"), not on bootstraps yet",
                at("underlying")
            ));
        }
        if generated && market_start.is_none() {
            problems.push(format!(
                "{}: an option on a generated market needs the market's start (market.start = \"2021-05-01T00:00:00Z\"): its expiry is a date",
                at("underlying")
            ));
        }
        let under = match symbols.iter().position(|s| *s == u) {
            Some(k) if !is_option[k] => k,
            Some(_) => {
                problems.push(format!(
                    "{}: {u} is an option; an option's underlying is a perpetual",
                    at("underlying")
                ));
                continue;
            }
            None => {
                problems.push(format!(
                    "{}: no instrument {u} in this market (its instruments: {})",
                    at("underlying"),
                    symbols.join(", ")
                ));
                continue;
            }
        };
        let name = match levsim_options::OptionName::parse(&inst.symbol) {
            Ok(nm) => nm,
            Err(e) => {
                problems.push(format!("{}: {e}", at("symbol")));
                continue;
            }
        };
        for (k, set) in [
            ("file", inst.file.is_some()),
            ("funding", inst.funding.is_some()),
            ("format", inst.format.is_some()),
            ("max_wick", inst.max_wick.is_some()),
            ("start_price", inst.start_price.is_some()),
            ("sigma", inst.sigma.is_some()),
        ] {
            if set {
                problems.push(format!(
                    "{}: an option is priced from its underlying (no `{k}`)",
                    at(k)
                ));
            }
        }
        let iv = if let Some(chain) = &inst.surface {
            for (k, set) in [
                ("iv", inst.iv.is_some()),
                ("iv_scale", inst.iv_scale.is_some()),
            ] {
                if set {
                    problems.push(format!(
                        "{}: not with `surface` (the surface gives the volatility; `iv_index` moves its level)",
                        at(k)
                    ));
                }
            }
            if generated {
                problems.push(format!(
                    "{}: a surface moves with the path (sticky moneyness, realized level): options on generated markets take `iv` or `iv_index`",
                    at("surface")
                ));
            }
            let level = match &inst.iv_index {
                Some(f) => match res.resolve(f) {
                    Ok(p) => Some(SurfaceLevel::Index(p)),
                    Err(e) => {
                        problems.push(format!("{}: {e}", at("iv_index")));
                        None
                    }
                },
                None => {
                    let h = inst.level_halflife_h.unwrap_or(168.0);
                    if !(h.is_finite() && h > 0.0) {
                        problems.push(format!(
                            "{}: must be > 0 hours, got {h}",
                            at("level_halflife_h")
                        ));
                    }
                    Some(SurfaceLevel::Realized(h))
                }
            };
            if inst.iv_index.is_some() && inst.level_halflife_h.is_some() {
                problems.push(format!(
                    "{}: only when the realized volatility moves the level (no `iv_index`)",
                    at("level_halflife_h")
                ));
            }
            match (res.resolve(chain), level) {
                (Ok(file), Some(level)) => Some(IvSource::Surface {
                    file,
                    sticky: inst
                        .sticky
                        .unwrap_or(levsim_options::surface::Sticky::Moneyness),
                    level,
                }),
                (Err(e), _) => {
                    problems.push(format!("{}: {e}", at("surface")));
                    None
                }
                _ => None,
            }
        } else {
            for (k, set) in [
                ("sticky", inst.sticky.is_some()),
                ("level_halflife_h", inst.level_halflife_h.is_some()),
            ] {
                if set {
                    problems.push(format!("{}: only with a `surface`", at(k)));
                }
            }
            match (inst.iv, &inst.iv_index) {
                (Some(v), None) if v.is_finite() && v > 0.0 && v < 20.0 => {
                    Some(IvSource::Constant(v))
                }
                (Some(v), None) => {
                    problems.push(format!(
                        "{}: must be a volatility in (0, 20) (annual), got {v}",
                        at("iv")
                    ));
                    None
                }
                (None, Some(f)) => match res.resolve(f) {
                    Ok(file) => {
                        let scale = inst.iv_scale.unwrap_or(1.0);
                        if !(scale.is_finite() && scale > 0.0) {
                            problems.push(format!("{}: must be > 0, got {scale}", at("iv_scale")));
                        }
                        Some(IvSource::Index { file, scale })
                    }
                    Err(e) => {
                        problems.push(format!("{}: {e}", at("iv_index")));
                        None
                    }
                },
                (Some(_), Some(_)) => {
                    problems.push(format!(
                        "{}: give either `iv` or `iv_index`, not both",
                        at("iv")
                    ));
                    None
                }
                (None, None) => {
                    problems.push(format!("{}: missing: an option needs its volatility (`iv = 0.8`, or `iv_index = \"data/deribit_dvol_….csv.gz\"`)", at("iv")));
                    None
                }
            }
        };
        if let Some(iv) = iv {
            options[i] = Some(OptionCfg {
                underlying: under,
                name,
                iv,
            });
        }
        // Checked as an option; the rest of the loop is for bars.
        inst.file = None;
    }
    for (i, inst) in market.instrument.iter_mut().enumerate() {
        if is_option[i] {
            continue;
        }
        let at = |k: &str| format!("market.instrument[{i}].{k}");
        if !crate::file::is_plain_name(&inst.symbol) {
            problems.push(format!(
                "{}: {:?} must be a plain symbol (letters, digits, '-', '_', '.')",
                at("symbol"),
                inst.symbol
            ));
        }
        if generated {
            for (k, set) in [
                ("file", inst.file.is_some()),
                ("funding", inst.funding.is_some()),
                ("format", inst.format.is_some()),
            ] {
                if set {
                    problems.push(format!("{}: only for historical markets", at(k)));
                }
            }
            match inst.start_price {
                Some(p) if p.is_finite() && p > 0.0 => {}
                Some(p) => problems.push(format!("{}: must be > 0, got {p}", at("start_price"))),
                None => problems.push(format!(
                    "{}: required for a generated market",
                    at("start_price")
                )),
            }
            match inst.sigma {
                Some(s) if s.is_finite() && s > 0.0 && s < 20.0 => {}
                Some(s) => problems.push(format!(
                    "{}: must be in (0, 20) (annual), got {s}",
                    at("sigma")
                )),
                None => problems.push(format!("{}: required for a generated market", at("sigma"))),
            }
            if inst.mu.is_some_and(|m| !m.is_finite()) {
                problems.push(format!("{}: must be finite", at("mu")));
            }
            if kind == MarketKind::Regime {
                match inst.stress_sigma {
                    Some(s) if s.is_finite() && s > 0.0 && s < 20.0 => {}
                    Some(s) => problems.push(format!(
                        "{}: must be in (0, 20) (annual), got {s}",
                        at("stress_sigma")
                    )),
                    None => problems.push(format!(
                        "{}: required for kind = \"regime\" (the instrument's stressed volatility)",
                        at("stress_sigma")
                    )),
                }
            }
        } else {
            for (k, set) in [
                ("start_price", inst.start_price.is_some()),
                ("sigma", inst.sigma.is_some()),
                ("mu", inst.mu.is_some()),
                ("jump_rate", inst.jump_rate.is_some()),
                ("jump_mean", inst.jump_mean.is_some()),
                ("jump_sigma", inst.jump_sigma.is_some()),
            ] {
                if set {
                    problems.push(format!(
                        "{}: only for generated markets (kind = \"gbm\" or \"merton\")",
                        at(k)
                    ));
                }
            }
            match &inst.file {
                Some(f) => match res.resolve(f) {
                    Ok(p) => inst.file = Some(p),
                    Err(e) => problems.push(format!("{}: {e}", at("file"))),
                },
                None => problems.push(format!(
                    "{}: missing; a historical instrument replays a bar file",
                    at("file")
                )),
            }
            if let Some(f) = &inst.funding {
                if resampled {
                    problems.push(format!(
                        "{}: only for kind = \"historical\" (resampled paths have no funding)",
                        at("funding")
                    ));
                }
                match res.resolve(f) {
                    Ok(p) => inst.funding = Some(p),
                    Err(e) => problems.push(format!("{}: {e}", at("funding"))),
                }
            }
        }
        if kind != MarketKind::Merton
            && (inst.jump_rate.is_some() || inst.jump_mean.is_some() || inst.jump_sigma.is_some())
        {
            problems.push(format!("{}: only for kind = \"merton\"", at("jump_rate")));
        }
        if kind != MarketKind::Regime && (inst.stress_sigma.is_some() || inst.stress_mu.is_some()) {
            problems.push(format!(
                "{}: only for kind = \"regime\"",
                at("stress_sigma")
            ));
        }
        if let Some(w) = inst.max_wick {
            if generated {
                problems.push(format!("{}: only for historical markets", at("max_wick")));
            } else if !(w > 0.0 && w < 1.0) {
                problems.push(format!("{}: must be in (0, 1), got {w}", at("max_wick")));
            }
        }
        if let Some(r) = inst.scan_range {
            if !(r > 0.0 && r < 1.0) {
                problems.push(format!("{}: must be in (0, 1), got {r}", at("scan_range")));
            }
        }
    }
    // Repeated symbols (checked over the whole list).
    for i in 0..n {
        if let Some(j) =
            (0..i).find(|&j| market.instrument[j].symbol == market.instrument[i].symbol)
        {
            problems.push(format!(
                "market.instrument[{i}].symbol: {:?} is instrument {j}'s too; give each instrument its own symbol",
                market.instrument[i].symbol
            ));
        }
    }
    // Correlation is of the instruments with bars (options follow their
    // underlying).
    let n_base = is_option.iter().filter(|o| !**o).count();
    let correlation = match &market.correlation {
        Some(rows) => match Correlation::new(rows, n_base, "market.correlation") {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(e);
                None
            }
        },
        None if generated && n_base > 1 => {
            problems.push(format!(
                "market.correlation: required for a generated market of {n_base} instruments with prices of their own (an {n_base} × {n_base} matrix in instrument order, options left out; the identity for independent instruments)"
            ));
            None
        }
        None => None,
    };
    let generator = if generated {
        multi_gbm(market, correlation.clone(), problems)
    } else {
        None
    };
    let bootstrap = if resampled {
        let dur =
            |v: &Option<String>, k: &str, default: Option<i64>, problems: &mut Vec<String>| match v
                .as_deref()
                .map(levsim_core::time::parse_duration)
            {
                Some(Ok(ns)) if ns > 0 => ns,
                Some(Ok(_)) => {
                    problems.push(format!("market.{k}: must be longer than zero"));
                    1
                }
                Some(Err(e)) => {
                    problems.push(format!("market.{k}: {e}"));
                    1
                }
                None => default.unwrap_or_else(|| {
                    problems.push(format!("market.{k}: required for kind = \"bootstrap\""));
                    1
                }),
            };
        Some(BootstrapSpec {
            block_ns: dur(
                &market.block,
                "block",
                Some(levsim_core::time::DAY_NS),
                problems,
            ),
            horizon_ns: dur(&market.horizon, "horizon", None, problems),
        })
    } else {
        None
    };
    (problems.len() == before).then(|| PortfolioSpec {
        instruments: market.instrument.clone(),
        correlation,
        generator,
        grid: None,
        shocks: Vec::new(),
        bootstrap,
        options,
        crowd: None,
    })
}

fn multi_gbm(
    market: &MarketConfig,
    correlation: Option<Correlation>,
    problems: &mut Vec<String>,
) -> Option<MultiGbm> {
    let dur = |v: &Option<String>, k: &str, problems: &mut Vec<String>| -> Option<i64> {
        match v.as_deref().map(levsim_core::time::parse_duration) {
            Some(Ok(ns)) if ns > 0 => Some(ns),
            Some(Ok(_)) => {
                problems.push(format!("market.{k}: must be longer than zero"));
                None
            }
            Some(Err(e)) => {
                problems.push(format!("market.{k}: {e}"));
                None
            }
            None => {
                problems.push(format!("market.{k}: required for a generated market"));
                None
            }
        }
    };
    let dt = dur(&market.dt, "dt", problems);
    let horizon = dur(&market.horizon, "horizon", problems);
    let jumps = |rate: Option<f64>,
                 mean: Option<f64>,
                 sigma: Option<f64>,
                 at: &str,
                 problems: &mut Vec<String>| {
        match (rate, mean, sigma) {
            (None, None, None) => None,
            (Some(rate), Some(mean), Some(sigma))
                if rate >= 0.0
                    && rate.is_finite()
                    && mean.is_finite()
                    && sigma >= 0.0
                    && sigma.is_finite() =>
            {
                Some(Jumps { rate, mean, sigma })
            }
            _ => {
                problems.push(format!(
                    "{at}jump_rate: jumps need jump_rate ≥ 0, jump_mean and jump_sigma ≥ 0 together"
                ));
                None
            }
        }
    };
    let common = jumps(
        market.jump_rate,
        market.jump_mean,
        market.jump_sigma,
        "market.",
        problems,
    );
    // Options follow their underlying: only instruments with bars are
    // generated.
    let legs: Vec<LegGbm> = market
        .instrument
        .iter()
        .enumerate()
        .filter(|(_, inst)| inst.underlying.is_none())
        .map(|(i, inst)| LegGbm {
            symbol: inst.symbol.clone(),
            mu: inst.mu.unwrap_or(0.0),
            sigma: inst.sigma.unwrap_or(0.0),
            start_price: inst.start_price.unwrap_or(0.0),
            jumps: jumps(
                inst.jump_rate,
                inst.jump_mean,
                inst.jump_sigma,
                &format!("market.instrument[{i}]."),
                problems,
            ),
        })
        .collect();
    if market.kind == MarketKind::Merton
        && common.is_none()
        && legs.iter().all(|l| l.jumps.is_none())
    {
        problems.push(
            "market.jump_rate: a merton market needs jumps: common ones ([market] jump_rate, jump_mean, jump_sigma) or an instrument's own".into(),
        );
    }
    if market.kind == MarketKind::Gbm && common.is_some() {
        problems.push("market.jump_rate: only for kind = \"merton\"".into());
    }
    let regime = if market.kind == MarketKind::Regime {
        let rate = |v: Option<f64>, k: &str, problems: &mut Vec<String>| match v {
            Some(x) if x.is_finite() && x >= 0.0 => x,
            Some(x) => {
                problems.push(format!("market.{k}: must be ≥ 0 (per year), got {x}"));
                0.0
            }
            None => {
                problems.push(format!("market.{k}: required for kind = \"regime\""));
                0.0
            }
        };
        let to_stressed = rate(market.to_stressed, "to_stressed", problems);
        let to_calm = rate(market.to_calm, "to_calm", problems);
        let stress_correlation = match &market.stress_correlation {
            Some(rows) => match Correlation::new(rows, legs.len(), "market.stress_correlation") {
                Ok(c) => Some(c),
                Err(e) => {
                    problems.push(e);
                    None
                }
            },
            None => None,
        };
        Some(crate::multi::MultiRegime {
            to_stressed,
            to_calm,
            mu: market
                .instrument
                .iter()
                .filter(|i| i.underlying.is_none())
                .map(|i| i.stress_mu.or(i.mu).unwrap_or(0.0))
                .collect(),
            sigma: market
                .instrument
                .iter()
                .filter(|i| i.underlying.is_none())
                .map(|i| i.stress_sigma.unwrap_or(0.0))
                .collect(),
            correlation: stress_correlation,
        })
    } else {
        None
    };
    let correlation =
        correlation.or_else(|| (legs.len() == 1).then(|| Correlation::identity(1)))?;
    let (dt, horizon) = (dt?, horizon?);
    let steps = (horizon / dt).max(1) as usize;
    let start_ns = match market.start.as_deref().map(levsim_core::time::parse_iso) {
        Some(Ok(t)) => t,
        _ => 0,
    };
    Some(
        MultiGbm {
            legs,
            correlation,
            common_jumps: common,
            dt_ns: dt,
            steps,
            start_ns,
            monitoring: market.monitoring.unwrap_or(Monitoring::Continuous),
            table: Default::default(),
            shocks: Vec::new(),
            regime,
        }
        .with_table(),
    )
}

/// The portfolio-margin grid, when the account or a policy point holds
/// its positions under portfolio margin.
pub(crate) fn attach_grid(
    spec: &mut PortfolioSpec,
    market: &MarketConfig,
    account: &AccountConfig,
    plan: &RunPlan,
    problems: &mut Vec<String>,
) {
    let used = account.margin_mode == MarginMode::Portfolio
        || plan
            .points
            .iter()
            .any(|p| p.margin_mode == Some(MarginMode::Portfolio));
    if used {
        spec.grid = pm_grid(market, account, spec.correlation.as_ref(), problems);
    } else if account.portfolio_margin.is_some() {
        problems.push(
            "account.portfolio_margin: only with margin_mode = \"portfolio\" (in [account] or a policy)".into(),
        );
    }
}

fn pm_grid(
    market: &MarketConfig,
    account: &AccountConfig,
    correlation: Option<&Correlation>,
    problems: &mut Vec<String>,
) -> Option<ScenarioGrid> {
    // The grid moves the instruments with bars; an option moves with its
    // underlying (a copy of its row and column: perfectly correlated).
    let symbols: Vec<&str> = market
        .instrument
        .iter()
        .map(|i| i.symbol.as_str())
        .collect();
    let base: Vec<usize> = (0..symbols.len())
        .filter(|&i| market.instrument[i].underlying.is_none())
        .collect();
    let base_of: Vec<usize> = market
        .instrument
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            let own = inst
                .underlying
                .as_deref()
                .and_then(|u| symbols.iter().position(|s| *s == u))
                .unwrap_or(i);
            base.iter().position(|&b| b == own).unwrap_or(0)
        })
        .collect();
    let nb = base.len();
    let cfg = account.portfolio_margin.clone().unwrap_or_default();
    if let Some(f) = cfg.extended_fraction {
        if !(f > 0.0 && f <= 1.0) {
            problems.push(format!(
                "account.portfolio_margin.extended_fraction: must be in (0, 1], got {f}"
            ));
        }
        if market.instrument.iter().all(|i| i.underlying.is_none()) {
            problems.push(
                "account.portfolio_margin.extended_fraction: the extended table is for option books; this market has no option".into(),
            );
        }
    }
    let corr = match (&cfg.correlation, correlation) {
        (Some(rows), _) => {
            match Correlation::new(rows, nb, "account.portfolio_margin.correlation") {
                Ok(c) => c,
                Err(e) => {
                    problems.push(e);
                    return None;
                }
            }
        }
        (None, Some(c)) => c.clone(),
        (None, None) if nb == 1 => Correlation::identity(1),
        (None, None) => {
            problems.push(format!(
                "account.margin_mode: portfolio margin needs the correlation its grid of joint moves assumes: set [account.portfolio_margin] correlation (or [market] correlation), an {nb} × {nb} matrix in instrument order (options follow their underlying)"
            ));
            return None;
        }
    };
    let m = corr.matrix();
    let n = symbols.len();
    let flat: Vec<f64> = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| m[[base_of[i], base_of[j]]])
        .collect();
    let scan: Vec<f64> = (0..n)
        .map(|i| {
            let b = base[base_of[i]];
            market.instrument[b].scan_range.unwrap_or(cfg.scan_range)
        })
        .collect();
    match ScenarioGrid::principal(&flat, &scan, cfg.buckets, cfg.floor) {
        Ok(g) => Some(g),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    }
}

/// Resolves each shock's `instrument` to its index; a shock without one
/// hits every instrument. A funding spike needs the funding of what it
/// hits; a liquidity drain needs a liquidity model (none for portfolios
/// yet).
pub(crate) fn target_shocks(
    configs: &[crate::shocks::ShockConfig],
    built: &[(usize, crate::shocks::Shock)],
    spec: &PortfolioSpec,
    problems: &mut Vec<String>,
) -> Vec<(Option<usize>, crate::shocks::Shock)> {
    let symbols = spec.symbols();
    let mut out = Vec::new();
    for &(i, shock) in built {
        let c = &configs[i];
        let target = match &c.instrument {
            None => None,
            Some(x) => match symbols.iter().position(|s| s == x) {
                Some(k) => Some(k),
                None => {
                    problems.push(format!(
                        "shock[{i}].instrument: no instrument {x} in this market (its instruments: {})",
                        symbols.join(", ")
                    ));
                    continue;
                }
            },
        };
        let is_option = |k: usize| spec.options.get(k).is_some_and(Option::is_some);
        match c.kind {
            crate::shocks::ShockKind::Vol if spec.options.iter().all(Option::is_none) => {
                problems.push(format!(
                    "shock[{i}].kind: vol shocks options' implied volatility; this market has no option"
                ));
            }
            crate::shocks::ShockKind::Vol => {}
            _ if target.is_some_and(is_option) => problems.push(format!(
                "shock[{i}].instrument: {} is an option, priced from its underlying: shock the underlying",
                c.instrument.as_deref().unwrap_or("")
            )),
            crate::shocks::ShockKind::LiquidityDrain => problems.push(format!(
                "shock[{i}].kind: liquidity_drain needs a liquidity model, not available for portfolio markets yet"
            )),
            crate::shocks::ShockKind::FundingSpike => {
                let hit: Vec<usize> = target.map_or(
                    (0..symbols.len()).filter(|&k| !is_option(k)).collect(),
                    |k| vec![k],
                );
                for k in hit {
                    if spec.instruments[k].funding.is_none() {
                        problems.push(format!(
                            "shock[{i}].kind: funding_spike needs funding payments (market.instrument[{k}].funding)"
                        ));
                    }
                }
            }
            _ => {}
        }
        out.push((target, shock));
    }
    out
}

/// Applies the shocks that hit leg `k` to its tape and funding.
pub(crate) fn shock_leg(
    shocks: &[(Option<usize>, crate::shocks::Shock)],
    k: usize,
    tape: &mut levsim_core::MarketTape,
    funding: &mut Option<levsim_core::FundingSeries>,
) {
    let mine: Vec<crate::shocks::Shock> = shocks
        .iter()
        .filter(|(t, _)| t.is_none_or(|x| x == k))
        .map(|(_, s)| *s)
        .collect();
    if !mine.is_empty() {
        crate::shocks::apply(&mine, tape, funding);
    }
}

/// Checks every parameter point's weights against the instruments:
/// `policy[i].weights.SYM` for a symbol the market does not have, and the
/// whole table for weights with no size. A weights table in a market of
/// one instrument given by `[market] file` is refused too.
pub(crate) fn check_weights(
    plan: &RunPlan,
    symbols: Option<&[String]>,
    problems: &mut Vec<String>,
) {
    let mut seen = std::collections::BTreeSet::new();
    for p in &plan.points {
        let Some(w) = p.kind.weights() else {
            continue;
        };
        // One message per policy table, not per venue or grid point.
        if !seen.insert((p.policy_index, format!("{w:?}"))) {
            continue;
        }
        let at = format!("policy[{}].weights", p.policy_index);
        let Some(symbols) = symbols else {
            problems.push(format!(
                "{at}: weights apply to markets of several instruments ([[market.instrument]] tables)"
            ));
            continue;
        };
        for (sym, x) in w {
            if !symbols.contains(sym) {
                problems.push(format!(
                    "{at}.{sym}: no instrument {sym} in this market (its instruments: {})",
                    symbols.join(", ")
                ));
            } else if !x.is_finite() {
                problems.push(format!("{at}.{sym}: must be finite, got {x}"));
            }
        }
        if let levsim_policy::PolicyKind::DeltaHedge { hedge, .. } = &p.kind {
            if !symbols.contains(hedge) {
                problems.push(format!(
                    "policy[{}].hedge: no instrument {hedge} in this market (its instruments: {})",
                    p.policy_index,
                    symbols.join(", ")
                ));
            }
        }
        if w.values().map(|x| x.abs()).sum::<f64>() == 0.0 {
            problems.push(format!(
                "{at}: the weights are all zero; give at least one instrument a weight (negative: short)"
            ));
        }
    }
}

/// Checks `vol_forecast`'s `iv_from`: an option instrument of the market
/// (its implied volatility is what the policy reads).
pub(crate) fn check_iv_from(plan: &RunPlan, spec: &PortfolioSpec, problems: &mut Vec<String>) {
    let symbols = spec.symbols();
    let mut seen = std::collections::BTreeSet::new();
    for p in &plan.points {
        let levsim_policy::PolicyKind::VolForecast {
            iv_from: Some(name),
            ..
        } = &p.kind
        else {
            continue;
        };
        if !seen.insert((p.policy_index, name.clone())) {
            continue;
        }
        let at = format!("policy[{}].iv_from", p.policy_index);
        match symbols.iter().position(|s| s == name) {
            None => problems.push(format!(
                "{at}: no instrument {name} in this market (its instruments: {})",
                symbols.join(", ")
            )),
            Some(k) if spec.options[k].is_none() => problems.push(format!(
                "{at}: {name} is not an option; the implied forecast reads an option instrument's volatility (one with `underlying` and `iv` or `iv_index`)"
            )),
            Some(_) => {}
        }
    }
}

/// Checks `[[account.collateral]]`: each priced by an instrument of the
/// market, and only for cross or portfolio margin (the account's and every
/// policy's `margin_mode`).
pub(crate) fn check_collateral(
    account: &AccountConfig,
    plan: &RunPlan,
    symbols: Option<&[String]>,
    problems: &mut Vec<String>,
) {
    if account.collateral.is_empty() {
        return;
    }
    let Some(symbols) = symbols else {
        problems.push(
            "account.collateral: collateral in other assets backs an account of a market of instruments ([[market.instrument]] tables), whose marks value it".into(),
        );
        return;
    };
    for (i, c) in account.collateral.iter().enumerate() {
        if !symbols.contains(&c.price) {
            problems.push(format!(
                "account.collateral[{i}].price: no instrument {} in this market (its instruments: {})",
                c.price,
                symbols.join(", ")
            ));
        }
    }
    if account.margin_mode == MarginMode::Isolated
        && plan.points.iter().any(|p| p.margin_mode.is_none())
    {
        problems.push(
            "account.collateral: backs cross or portfolio margin (margin_mode = \"cross\" or \"portfolio\"), not isolated positions".into(),
        );
    }
    for p in &plan.points {
        if p.margin_mode == Some(MarginMode::Isolated) {
            problems.push(format!(
                "policy[{}].margin_mode: \"isolated\" positions do not use the account's collateral in other assets; hold them cross or portfolio",
                p.policy_index
            ));
        }
    }
    problems.dedup();
}

/// A point's weights in instrument order (0 for a symbol not named).
pub fn resolve_weights(kind: &levsim_policy::PolicyKind, symbols: &[String]) -> Option<Vec<f64>> {
    kind.weights().map(|w| {
        symbols
            .iter()
            .map(|s| w.get(s).copied().unwrap_or(0.0))
            .collect()
    })
}
