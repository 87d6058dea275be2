//! The scenario file schema and its validation.

use std::path::{Path, PathBuf};

use levsim_core::time::parse_iso;
use levsim_core::TimestampNs;
use levsim_data::{Format, GapPolicy};
use levsim_engine::{AccountConfig, VenueConfig};
use serde::{Deserialize, Serialize};

use crate::generators::{Coarse, Garch, Gbm, Generator, Jumps, Model, Monitoring, Regime};
use crate::grid::{expand, RunPlan};
use crate::LiquidityConfig;
use crate::ScenarioError;

/// Where prices come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarketKind {
    /// Replay a historical bar file.
    Historical,
    /// Geometric Brownian motion paths (Monte Carlo).
    Gbm,
    /// Merton jump-diffusion paths: GBM plus log-normal jumps.
    Merton,
    /// Two-state Markov switching of drift and volatility.
    Regime,
    /// GARCH(1,1) volatility with Student-t innovations (given, or fitted
    /// to `file`).
    Garch,
    /// Stationary block bootstrap of `file`'s bars.
    Bootstrap,
}

impl MarketKind {
    fn name(self) -> &'static str {
        match self {
            MarketKind::Historical => "historical",
            MarketKind::Gbm => "gbm",
            MarketKind::Merton => "merton",
            MarketKind::Regime => "regime",
            MarketKind::Garch => "garch",
            MarketKind::Bootstrap => "bootstrap",
        }
    }
}

/// The `[market]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    /// Market kind (`"historical"` or `"gbm"`).
    pub kind: MarketKind,
    /// Bar file of a historical market (relative paths: to the working
    /// directory, else to the scenario file's directory).
    #[serde(default)]
    pub file: PathBuf,
    /// GBM: annual drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mu: Option<f64>,
    /// GBM: annual volatility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
    /// GBM: step (bar) length, e.g. "1m", "1h".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dt: Option<String>,
    /// Plain GBM: draw the path in bars of this length (a multiple of
    /// `dt`, e.g. "1h"), each with its exact extremes, and each static
    /// run's liquidation time to the `dt` step from its exact law
    /// ([`crate::generators::Coarse`]); averages over bar closes and the
    /// drawdown are then taken at these bars' points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coarse: Option<String>,
    /// GBM: path length, e.g. "7d".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon: Option<String>,
    /// GBM: number of paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<usize>,
    /// GBM: starting price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_price: Option<f64>,
    /// Merton: expected jumps per year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump_rate: Option<f64>,
    /// Merton: mean of the log jump (−0.1 ≈ a 10 % drop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump_mean: Option<f64>,
    /// Merton: standard deviation of the log jump.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump_sigma: Option<f64>,
    /// Regime: annual drift when stressed (default `mu`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stress_mu: Option<f64>,
    /// Regime: annual volatility when stressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stress_sigma: Option<f64>,
    /// Regime: entries into the stressed state per calm year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_stressed: Option<f64>,
    /// Regime: exits from the stressed state per stressed year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_calm: Option<f64>,
    /// GARCH: reaction to the last shock (α).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garch_alpha: Option<f64>,
    /// GARCH: persistence of the last variance (β).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garch_beta: Option<f64>,
    /// GARCH: Student-t degrees of freedom (> 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garch_nu: Option<f64>,
    /// Bootstrap: mean block length, e.g. "1d" (default: one day of bars).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
    /// File format; detected when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// Instrument symbol; taken from the file name when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Window start (RFC 3339, inclusive, bar open time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Window end (RFC 3339, exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Binance funding CSV; no funding when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<PathBuf>,
    /// What to do with gaps in the bars.
    #[serde(default)]
    pub on_gap: GapPolicy,
    /// Bar length when `format = "trades"` builds bars from trades (default "1s").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bar: Option<String>,
    /// Generated markets: `"continuous"` (default; bars carry the path's
    /// exact extremes) or `"close"` (liquidations checked at bar closes
    /// only, to measure what such checks miss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<crate::generators::Monitoring>,
    /// The instruments of a portfolio market (`[[market.instrument]]`),
    /// in order; empty for a market of one given by `file` or generator
    /// parameters above.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instrument: Vec<crate::portfolio::InstrumentConfig>,
    /// Correlation of the instruments' returns, in instrument order
    /// (generated markets draw with it; portfolio margin assumes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<Vec<Vec<f64>>>,
    /// Regime markets of several instruments: the correlation in the
    /// stressed state (default: `correlation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stress_correlation: Option<Vec<Vec<f64>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    seed: u64,
    market: MarketConfig,
    /// One `[venue]` table, or several `[[venue]]` tables to compare.
    venue: toml::Value,
    /// Read as a table first: a portfolio's account may leave `side` out.
    account: toml::Table,
    #[serde(default)]
    liquidity: LiquidityConfig,
    #[serde(default)]
    shock: Vec<crate::shocks::ShockConfig>,
    /// A crowd of one instrument, or (portfolio markets) one holding mixes
    /// of the instruments: read by the market's kind.
    #[serde(default)]
    population: Option<toml::Value>,
    policy: Vec<toml::Table>,
}

/// Each instrument's own venue (its profile file resolved), index and
/// premium funding, checked; every problem names its key.
fn instrument_venues(
    spec: &mut crate::portfolio::PortfolioSpec,
    crowd: bool,
    res: &Resolver<'_>,
    problems: &mut Vec<String>,
) {
    let symbols = spec.symbols();
    for (i, inst) in spec.instruments.iter_mut().enumerate() {
        let at = |k: &str| format!("market.instrument[{i}].{k}");
        if let Some(v) = inst.venue.as_mut() {
            if v.profile.ends_with(".toml") {
                match res.resolve(Path::new(&v.profile)) {
                    Ok(p) => {
                        let stem = p
                            .file_stem()
                            .map(|s| s.to_string_lossy().to_string())
                            .unwrap_or_default();
                        v.label.get_or_insert(stem);
                        v.profile = res.workdir.join(&p).display().to_string();
                    }
                    Err(e) => problems.push(format!("{}: {e}", at("venue.profile"))),
                }
            }
            v.label.get_or_insert_with(|| v.profile.clone());
        }
        if let Some(w) = &inst.index {
            if !crowd {
                problems.push(format!(
                    "{}: an index moves marks only under a crowd's forced orders; add a [population]",
                    at("index")
                ));
            }
            if w.is_empty() {
                problems.push(format!("{}: give at least one weight", at("index")));
            }
            for (sym, x) in w {
                if !symbols.contains(sym) {
                    problems.push(format!(
                        "{}: not an instrument of the market ({})",
                        at(&format!("index.{sym}")),
                        symbols.join(", ")
                    ));
                }
                if !(x.is_finite() && *x > 0.0) {
                    problems.push(format!(
                        "{}: must be > 0, got {x}",
                        at(&format!("index.{sym}"))
                    ));
                }
            }
        }
        if inst.premium_funding == Some(true) {
            if inst.index.is_none() {
                problems.push(format!(
                    "{}: the premium is the traded price over an index mark; give this instrument an `index`",
                    at("premium_funding")
                ));
            }
            if inst.funding.is_some() {
                problems.push(format!(
                    "{}: funding comes from the premium or from the file `funding`, not both",
                    at("premium_funding")
                ));
            }
        }
    }
}

/// Deserializes a table, naming the failing field by its path.
fn typed<T: serde::de::DeserializeOwned>(
    v: toml::Value,
    at: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(c) => Some(c),
        Err(e) => {
            let field = e.path().to_string();
            let field = if field == "." {
                String::new()
            } else {
                format!(".{field}")
            };
            problems.push(format!("{at}{field}: {}", e.inner()));
            None
        }
    }
}

/// Parses `[venue]` (one configuration) or `[[venue]]` (several, compared
/// side by side), naming every error by its path (`venue[1].taker_fee`).
fn parse_venues(
    v: toml::Value,
    res: &Resolver<'_>,
    problems: &mut Vec<String>,
) -> Vec<VenueConfig> {
    let one = |v: toml::Value, at: String, problems: &mut Vec<String>| {
        typed::<VenueConfig>(v, &at, problems)
    };
    let mut out: Vec<VenueConfig> = match v {
        toml::Value::Array(items) => items
            .into_iter()
            .enumerate()
            .filter_map(|(i, x)| one(x, format!("venue[{i}]"), problems))
            .collect(),
        other => one(other, "venue".into(), problems).into_iter().collect(),
    };
    if out.is_empty() && problems.is_empty() {
        problems.push("venue: at least one venue configuration is needed".into());
    }
    // A profile of one's own: a TOML file with the presets' schema, found
    // as data files are (relative to the working directory or the
    // scenario); named in reports by its file stem.
    let many = out.len() > 1;
    for (i, c) in out.iter_mut().enumerate() {
        if !c.profile.ends_with(".toml") {
            continue;
        }
        let at = if many {
            format!("venue[{i}].profile")
        } else {
            "venue.profile".to_string()
        };
        match res.resolve(Path::new(&c.profile)) {
            Ok(p) => {
                let stem = p
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default();
                c.label.get_or_insert(stem);
                c.profile = res.workdir.join(&p).display().to_string();
            }
            Err(e) => problems.push(format!("{at}: {e}")),
        }
    }
    // Labels name the configurations in run ids and reports; they must differ.
    let mut seen = std::collections::BTreeSet::new();
    for (i, c) in out.iter_mut().enumerate() {
        let label = c.label.clone().unwrap_or_else(|| c.profile.clone());
        if !seen.insert(label.clone()) {
            problems.push(format!(
                "venue[{i}].label: {label:?} names two venue configurations; give each a distinct `label`"
            ));
        }
        c.label = Some(label);
    }
    out
}

/// A parsed and validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Scenario name (also the default report directory name).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Scenario seed.
    pub seed: u64,
    /// Market section, with paths resolved.
    pub market: MarketConfig,
    /// Venue configurations (one, or several compared side by side), each
    /// with its label set.
    pub venues: Vec<VenueConfig>,
    /// Subject account.
    pub account: AccountConfig,
    /// Liquidity model, with its file paths resolved.
    pub liquidity: LiquidityConfig,
    /// Bar length for bars built from trades (ns).
    pub bar_ns: i64,
    /// The generator of a `gbm`, `merton`, `regime` or `garch` market
    /// given by its parameters: [`Generator::Params`], or
    /// [`Generator::Coarse`] with `market.coarse`.
    pub generator: Option<Generator>,
    /// A generator built from the market file when it is loaded (`bootstrap`,
    /// or `garch` with a `file`).
    pub fitted: Option<Fitted>,
    /// Number of market paths (1 for a historical market).
    pub paths: usize,
    /// Shock overlays, in file order.
    pub shocks: Vec<crate::shocks::Shock>,
    /// The crowd of other leveraged traders (`[population]`): with it, each
    /// path and venue configuration gets a market pass with cascades, and
    /// the policies trade against its simulated mark.
    pub population: Option<levsim_engine::crowd::PopulationConfig>,
    /// The portfolio market of `[[market.instrument]]` tables (None: a
    /// market of one instrument, given by `[market]` itself).
    pub portfolio: Option<crate::portfolio::PortfolioSpec>,
    /// Expanded runs.
    pub plan: RunPlan,
    /// Window start, parsed.
    pub start_ns: Option<TimestampNs>,
    /// Window end, parsed.
    pub end_ns: Option<TimestampNs>,
    /// Path of the scenario file.
    pub path: PathBuf,
    /// The file's text, verbatim (for manifests).
    pub text: String,
    /// The directory the scenario's paths (its own and its data files')
    /// are relative to: empty for the working directory; the run's when
    /// `levsim report` rebuilds from elsewhere. Files open at
    /// [`Scenario::data_path`].
    pub workdir: PathBuf,
}

impl Scenario {
    /// Where a path the scenario names (a data file) is opened.
    pub fn data_path(&self, p: &Path) -> PathBuf {
        self.workdir.join(p)
    }

    /// Reads, parses and validates a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates scenario text; `path` is used for messages and
    /// for resolving relative data paths.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ScenarioError> {
        Self::parse_in(text, path, Path::new(""))
    }

    /// As [`Scenario::parse`], with `path` and the data paths relative to
    /// `workdir` rather than the working directory: how `levsim report`
    /// reads a run's inputs from wherever it is started. The paths kept in
    /// the scenario are the ones the run named (for pages and manifests);
    /// files open at [`Scenario::data_path`].
    pub fn parse_in(text: &str, path: &Path, workdir: &Path) -> Result<Self, ScenarioError> {
        if text.trim().is_empty() {
            return Err(ScenarioError::Invalid {
                file: path.to_path_buf(),
                problems: vec![
                    "the scenario file is empty; see scenarios/ for examples and the README for the format"
                        .into(),
                ],
            });
        }
        let de = toml::Deserializer::new(text);
        let file: ScenarioFile = serde_path_to_error::deserialize(de).map_err(|e| {
            let at = e.path().to_string();
            let inner = e.inner().message().to_string();
            let loc = e
                .inner()
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            ScenarioError::Parse {
                file: path.to_path_buf(),
                message: if at == "." || at.is_empty() {
                    format!("{inner}{loc}")
                } else {
                    format!("{at}: {inner}{loc}")
                },
            }
        })?;
        let mut problems = Vec::new();
        let mut account_table = file.account;
        if !file.market.instrument.is_empty() && !account_table.contains_key("side") {
            // Weights carry a portfolio's sides; a single-instrument policy
            // run on the first instrument goes long.
            account_table.insert("side".into(), toml::Value::String("long".into()));
        }
        let account: AccountConfig =
            match serde_path_to_error::deserialize(toml::Value::Table(account_table)) {
                Ok(a) => a,
                Err(e) => {
                    let at = e.path().to_string();
                    let field = if at == "." {
                        String::new()
                    } else {
                        format!(".{at}")
                    };
                    return Err(ScenarioError::Parse {
                        file: path.to_path_buf(),
                        message: format!("account{field}: {}", e.inner()),
                    });
                }
            };
        if !is_plain_name(&file.name) {
            problems.push(format!(
                "name: {:?} must start with a letter or digit and use only letters, digits, '-', '_' and '.' (it names the report directory)",
                file.name
            ));
        }
        let mut market = file.market;
        let res = Resolver {
            workdir,
            base: path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        };
        let portfolio = if market.instrument.is_empty() {
            for (k, set) in [
                ("correlation", market.correlation.is_some()),
                ("stress_correlation", market.stress_correlation.is_some()),
            ] {
                if set {
                    problems.push(format!(
                        "market.{k}: for markets of several instruments ([[market.instrument]] tables)"
                    ));
                }
            }
            if account.margin_mode.is_joint() {
                problems.push(format!(
                    "account.margin_mode: \"{}\" margins markets of several instruments ([[market.instrument]] tables)",
                    format!("{:?}", account.margin_mode).to_lowercase()
                ));
            }
            None
        } else {
            crate::portfolio::parse(&mut market, &res, &mut problems)
        };
        let gbm = match market.kind {
            _ if !market.instrument.is_empty() => None,
            MarketKind::Historical => {
                match res.resolve(&market.file) {
                    Ok(p) => market.file = p,
                    Err(e) => problems.push(format!("market.file: {e}")),
                }
                for (k, set) in [
                    ("mu", market.mu.is_some()),
                    ("sigma", market.sigma.is_some()),
                    ("dt", market.dt.is_some()),
                    ("horizon", market.horizon.is_some()),
                    ("coarse", market.coarse.is_some()),
                    ("paths", market.paths.is_some()),
                    ("start_price", market.start_price.is_some()),
                    ("jump_rate", market.jump_rate.is_some()),
                    ("jump_mean", market.jump_mean.is_some()),
                    ("jump_sigma", market.jump_sigma.is_some()),
                    ("stress_mu", market.stress_mu.is_some()),
                    ("stress_sigma", market.stress_sigma.is_some()),
                    ("to_stressed", market.to_stressed.is_some()),
                    ("to_calm", market.to_calm.is_some()),
                    ("garch_alpha", market.garch_alpha.is_some()),
                    ("garch_beta", market.garch_beta.is_some()),
                    ("garch_nu", market.garch_nu.is_some()),
                ] {
                    if set {
                        problems.push(format!(
                            "market.{k}: only for generated markets (kind = \"gbm\", \"merton\", \"regime\" or \"garch\")"
                        ));
                    }
                }
                None
            }
            MarketKind::Bootstrap => None,
            MarketKind::Garch if !market.file.as_os_str().is_empty() => None,
            MarketKind::Gbm | MarketKind::Merton | MarketKind::Regime | MarketKind::Garch => {
                gbm_from(&market, &mut problems)
            }
        };
        let fitted = if market.instrument.is_empty() {
            fitted_from(&mut market, &res, &mut problems)
        } else {
            None
        };
        let generator = generator_from(&market, gbm, &mut problems);
        if market.monitoring.is_some()
            && matches!(market.kind, MarketKind::Historical | MarketKind::Bootstrap)
        {
            problems.push(
                "market.monitoring: only for generated markets (kind = \"gbm\", \"merton\", \"regime\" or \"garch\"); recorded bars are checked against their own highs and lows"
                    .into(),
            );
        }
        if market.block.is_some() && market.kind != MarketKind::Bootstrap {
            problems.push("market.block: only for kind = \"bootstrap\"".into());
        }
        if market.kind != MarketKind::Historical && market.funding.is_some() {
            problems.push("market.funding: only for kind = \"historical\" (generated paths have no funding; use a funding_spike shock on a historical market)".into());
        }
        let generated_portfolio = portfolio
            .as_ref()
            .is_some_and(|p| p.generator.is_some() || p.bootstrap.is_some());
        let paths = if gbm.is_some() || fitted.is_some() || generated_portfolio {
            market.paths.unwrap_or(1)
        } else {
            1
        };
        if let Some(f) = &market.funding {
            match res.resolve(f) {
                Ok(p) => market.funding = Some(p),
                Err(e) => problems.push(format!("market.funding: {e}")),
            }
        }
        let mut time = |field: &str, v: &Option<String>| -> Option<TimestampNs> {
            let s = v.as_ref()?;
            match parse_iso(s) {
                Ok(t) => Some(t),
                Err(e) => {
                    problems.push(format!("market.{field}: {e}"));
                    None
                }
            }
        };
        let start_ns = time("start", &market.start);
        let end_ns = time("end", &market.end);
        if let (Some(s), Some(e)) = (start_ns, end_ns) {
            if e <= s {
                problems.push("market.end: must be after market.start".into());
            }
        }
        let built: Vec<(usize, crate::shocks::Shock)> = file
            .shock
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.build(i, &mut problems).map(|s| (i, s)))
            .collect();
        let shocks: Vec<crate::shocks::Shock> = built.iter().map(|(_, s)| *s).collect();
        if market.instrument.is_empty() {
            for (i, c) in file.shock.iter().enumerate() {
                if c.kind == crate::shocks::ShockKind::Vol {
                    problems.push(format!(
                        "shock[{i}].kind: vol shocks options' implied volatility; this market has none (options are instruments of a portfolio market)"
                    ));
                }
                if c.kind == crate::shocks::ShockKind::FundingSpike && market.funding.is_none() {
                    problems.push(format!(
                        "shock[{i}].kind: funding_spike needs funding payments (market.funding)"
                    ));
                }
                if let Some(x) = &c.instrument {
                    if market.symbol.as_deref() != Some(x.as_str()) {
                        problems.push(format!(
                            "shock[{i}].instrument: {x:?} names an instrument of a market of several ([[market.instrument]]); this market has one{}",
                            market
                                .symbol
                                .as_ref()
                                .map_or(String::new(), |s| format!(" ({s})"))
                        ));
                    }
                }
            }
        }
        let mut liquidity = file.liquidity;
        liquidity.validate(&mut problems);
        for (field, p) in [
            ("calibrate_from", &mut liquidity.calibrate_from),
            ("file", &mut liquidity.file),
        ] {
            if let Some(path) = p.as_ref() {
                match res.resolve(path) {
                    Ok(r) => *p = Some(r),
                    Err(e) => problems.push(format!("liquidity.{field}: {e}")),
                }
            }
        }
        let bar_ns = match market.bar.as_deref().map(levsim_core::time::parse_duration) {
            None => levsim_core::time::SECOND_NS,
            Some(Ok(ns)) if ns > 0 => ns,
            Some(Ok(_)) => {
                problems.push("market.bar: must be longer than zero".into());
                levsim_core::time::SECOND_NS
            }
            Some(Err(e)) => {
                problems.push(format!("market.bar: {e}"));
                levsim_core::time::SECOND_NS
            }
        };
        if let Err(e) = account.validate() {
            problems.push(e.to_string());
        }
        let (mut population, mut crowd) = match file.population {
            None => (None, None),
            Some(v) if market.instrument.is_empty() => (
                typed::<levsim_engine::crowd::PopulationConfig>(v, "population", &mut problems),
                None,
            ),
            Some(v) => (
                None,
                typed::<levsim_engine::crowd::CrowdMixConfig>(v, "population", &mut problems),
            ),
        };
        if let Some(p) = population.as_mut() {
            if let Some(f) = p.file.clone() {
                match res.resolve(&f) {
                    Ok(r) => p.file = Some(r),
                    Err(e) => problems.push(format!("population.file: {e}")),
                }
            }
            if let Err(e) = p.validate() {
                problems.push(e.to_string());
            }
        }
        if file.policy.is_empty() {
            problems.push("policy: at least one [[policy]] is needed".into());
        }
        let venues = parse_venues(file.venue, &res, &mut problems);
        let labels: Vec<String> = if venues.len() > 1 {
            venues
                .iter()
                .map(|v| v.label.clone().unwrap_or_default())
                .collect()
        } else {
            vec![String::new()]
        };
        let plan = match expand(&file.policy, &labels, paths, file.seed) {
            Ok(plan) => plan,
            Err(mut errs) => {
                problems.append(&mut errs);
                RunPlan::default()
            }
        };
        if plan
            .points
            .iter()
            .any(|p| matches!(p.transfer_delay, Some(Some(_))))
            && account.transfer.is_none()
        {
            problems.push("policy.transfer_delay: a delay for the account's transfers; give [account] transfer = { trigger, share, delay }".into());
        }
        if account.transfer.is_some() {
            if market.instrument.is_empty() {
                problems.push("account.transfer: moves collateral between the isolated accounts of a market of several instruments ([[market.instrument]] tables)".into());
            } else if plan.points.iter().any(|p| {
                p.margin_mode.unwrap_or(account.margin_mode) != levsim_engine::MarginMode::Isolated
            }) {
                problems.push("account.transfer: needs margin_mode = \"isolated\" (an account per leg, e.g. one per venue)".into());
            }
        }
        let mut portfolio = portfolio;
        if let Some(spec) = portfolio.as_mut() {
            instrument_venues(spec, crowd.is_some(), &res, &mut problems);
            if let Some(c) = crowd.as_mut() {
                if let Some(f) = c.file.clone() {
                    match res.resolve(&f) {
                        Ok(r) => c.file = Some(r),
                        Err(e) => problems.push(format!("population.file: {e}")),
                    }
                }
                if let Err(e) = c.validate(&spec.symbols()) {
                    problems.push(e.to_string());
                }
                if spec.options.iter().any(Option::is_some) {
                    problems.push(
                        "population: a crowd holds perpetuals; this market has options".into(),
                    );
                }
                for (i, inst) in spec.instruments.iter_mut().enumerate() {
                    if let Some(l) = inst.liquidity.as_mut() {
                        let mut ps = Vec::new();
                        l.validate(&mut ps);
                        for (field, path) in [
                            ("calibrate_from", &mut l.calibrate_from),
                            ("file", &mut l.file),
                        ] {
                            if let Some(p) = path.as_ref() {
                                match res.resolve(p) {
                                    Ok(r) => *path = Some(r),
                                    Err(e) => ps.push(format!("liquidity.{field}: {e}")),
                                }
                            }
                        }
                        problems.extend(
                            ps.into_iter()
                                .map(|m| format!("market.instrument[{i}].{m}")),
                        );
                    }
                }
            }
            spec.crowd = crowd;
            crate::portfolio::attach_grid(spec, &market, &account, &plan, &mut problems);
            spec.shocks = crate::portfolio::target_shocks(&file.shock, &built, spec, &mut problems);
            if let Some(g) = spec.generator.as_mut() {
                // The generator sees the instruments with bars only: its
                // shocks name them by their place among those (volatility
                // shocks act on the options, not on the generated paths).
                let base: Vec<usize> = (0..spec.options.len())
                    .filter(|&i| spec.options[i].is_none())
                    .collect();
                g.shocks = spec
                    .shocks
                    .iter()
                    .filter(|(_, s)| !matches!(s, crate::shocks::Shock::Vol { .. }))
                    .filter_map(|&(t, s)| match t {
                        None => Some((None, s)),
                        Some(k) => base.iter().position(|&b| b == k).map(|j| (Some(j), s)),
                    })
                    .collect();
            }
        } else if plan.points.iter().any(|p| {
            p.margin_mode
                .is_some_and(levsim_engine::MarginMode::is_joint)
        }) {
            problems.push(
                "policy.margin_mode: \"portfolio\", \"span\" and \"greek\" margin markets of several instruments ([[market.instrument]] tables)".into(),
            );
        }
        let symbols = portfolio.as_ref().map(|p| p.symbols());
        crate::portfolio::check_weights(&plan, symbols.as_deref(), &mut problems);
        if let Some(spec) = portfolio.as_ref() {
            crate::portfolio::check_iv_from(&plan, spec, &mut problems);
        }
        crate::portfolio::check_collateral(&account, &plan, symbols.as_deref(), &mut problems);
        if !market.instrument.is_empty() {
            let crowd = portfolio.as_ref().is_some_and(|p| p.crowd.is_some());
            portfolio_limits(
                &account,
                &population,
                crowd,
                &liquidity,
                &plan,
                &mut problems,
            );
        }
        if matches!(generator, Some(Generator::Coarse(_))) {
            coarse_limits(
                &account,
                &population,
                &liquidity,
                &shocks,
                &plan,
                &mut problems,
            );
        }
        if !problems.is_empty() {
            return Err(ScenarioError::Invalid {
                file: path.to_path_buf(),
                problems,
            });
        }
        Ok(Scenario {
            name: file.name,
            description: file.description,
            seed: file.seed,
            market,
            venues,
            account,
            liquidity,
            bar_ns,
            generator,
            fitted,
            paths,
            shocks,
            population,
            portfolio,
            plan,
            start_ns,
            end_ns,
            path: path.to_path_buf(),
            text: text.to_string(),
            workdir: workdir.to_path_buf(),
        })
    }
}

/// What portfolio runs do not combine with yet, by key (each a named
/// problem rather than a silently ignored setting).
fn portfolio_limits(
    account: &AccountConfig,
    population: &Option<levsim_engine::crowd::PopulationConfig>,
    crowd: bool,
    liquidity: &LiquidityConfig,
    plan: &RunPlan,
    problems: &mut Vec<String>,
) {
    let later = "not available for portfolio markets yet";
    if population.is_some() {
        problems.push(format!("population: {later}"));
    }
    if liquidity.model != crate::LiquidityKind::None && !crowd {
        problems.push(
            "liquidity: for a portfolio market's crowd ([population] with mix); the account's own orders fill at the mark".into(),
        );
    }
    if account.latency.is_some() {
        problems.push(format!("account.latency: {later}"));
    }
    if account.withdrawal_delay.is_some() {
        problems.push(format!("account.withdrawal_delay: {later}"));
    }
    for p in &plan.points {
        if p.latency.is_some() {
            problems.push(format!("policy[{}].latency: {later}", p.policy_index));
        }
    }
    problems.dedup();
}

/// The generator of a market given by its parameters: `gbm` as it is, or
/// drawn in coarse bars with `market.coarse` (plain GBM, continuously
/// monitored, bars a multiple of `dt` that divides the horizon).
fn generator_from(
    m: &MarketConfig,
    gbm: Option<Gbm>,
    problems: &mut Vec<String>,
) -> Option<Generator> {
    let Some(text) = m.coarse.as_deref() else {
        return gbm.map(Generator::Params);
    };
    let ns = match levsim_core::time::parse_duration(text) {
        Ok(ns) if ns > 0 => ns,
        Ok(_) => {
            problems.push("market.coarse: must be longer than zero".into());
            return gbm.map(Generator::Params);
        }
        Err(e) => {
            problems.push(format!("market.coarse: {e}"));
            return gbm.map(Generator::Params);
        }
    };
    let why = "coarse bars carry the exact extremes of a Brownian bridge and the liquidation time inside them is drawn from its law";
    let Some(g) = gbm else {
        // (A historical market's own check names it already.)
        if m.kind != MarketKind::Historical {
            problems.push(format!(
                "market.coarse: only for a market of one instrument of kind = \"gbm\" given by its parameters ({why})"
            ));
        }
        return None;
    };
    let problem = if g.model != Model::Gbm {
        Some(format!(
            "market.coarse: only for kind = \"gbm\" ({why}; jumps, regimes and GARCH variances change inside a bar)"
        ))
    } else if g.monitoring != Monitoring::Continuous {
        Some(format!(
            "market.coarse: needs monitoring = \"continuous\" ({why})"
        ))
    } else if ns % g.dt_ns != 0 || ns / g.dt_ns < 2 {
        Some(format!(
            "market.coarse: {text} must be a multiple of dt ({}) and at least twice it",
            levsim_core::time::fmt_duration(g.dt_ns)
        ))
    } else if g.steps % (ns / g.dt_ns) as usize != 0 || (ns / g.dt_ns) as usize >= g.steps {
        Some(format!(
            "market.coarse: {text} must divide the horizon ({}) and be shorter",
            levsim_core::time::fmt_duration(g.steps as i64 * g.dt_ns)
        ))
    } else {
        None
    };
    match problem {
        Some(p) => {
            problems.push(p);
            Some(Generator::Params(g))
        }
        None => Some(Generator::Coarse(Coarse {
            gbm: g,
            bar_steps: (ns / g.dt_ns) as usize,
        })),
    }
}

/// What coarse bars (`market.coarse`) do not combine with, by key: their
/// liquidation times are exact for a position opened at the first bar's
/// close and held, its trigger seen on the generated price itself.
fn coarse_limits(
    account: &AccountConfig,
    population: &Option<levsim_engine::crowd::PopulationConfig>,
    liquidity: &LiquidityConfig,
    shocks: &[crate::shocks::Shock],
    plan: &RunPlan,
    problems: &mut Vec<String>,
) {
    let hold = "market.coarse (coarse bars time static positions held until liquidated or the end)";
    let mut no = |key: &str, set: bool| {
        if set {
            problems.push(format!("{key}: not with {hold}"));
        }
    };
    no("account.reenter", account.reenter);
    no("account.min_equity", account.min_equity.is_some());
    no("account.reserve", account.reserve != 0.0);
    no("account.latency", account.latency.is_some());
    no(
        "account.withdrawal_delay",
        account.withdrawal_delay.is_some(),
    );
    no("population", population.is_some());
    no("liquidity", liquidity.model != crate::LiquidityKind::None);
    no("shock", !shocks.is_empty());
    for p in &plan.points {
        let i = p.policy_index;
        no(
            &format!("policy[{i}].kind"),
            !matches!(
                p.kind,
                levsim_policy::PolicyKind::Static { weights: None, .. }
            ),
        );
        no(&format!("policy[{i}].topup"), p.topup.is_some());
        no(&format!("policy[{i}].latency"), p.latency.is_some());
    }
    problems.dedup();
}

/// What a file-based generator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FittedKind {
    /// Stationary block bootstrap with this mean block length (ns).
    Bootstrap {
        /// Mean block length, ns.
        block_ns: i64,
    },
    /// Student-t GARCH(1,1) fitted by maximum likelihood ([`crate::fit`]).
    Garch,
}

/// A generator built from the market file at load time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fitted {
    /// Bootstrap or GARCH fit.
    pub kind: FittedKind,
    /// Path length, ns.
    pub horizon_ns: i64,
    /// First price of every path (default: the window's last close; paths
    /// start where the window ends).
    pub start_price: Option<f64>,
}

/// The file-based generator of a `bootstrap` market or of a `garch` market
/// with a `file`; resolves the file. Every problem names its field.
fn fitted_from(
    m: &mut MarketConfig,
    res: &Resolver<'_>,
    problems: &mut Vec<String>,
) -> Option<Fitted> {
    let kind = match m.kind {
        MarketKind::Bootstrap => "bootstrap",
        MarketKind::Garch if !m.file.as_os_str().is_empty() => "garch",
        _ => return None,
    };
    let before = problems.len();
    if m.file.as_os_str().is_empty() {
        problems.push(format!(
            "market.file: required for kind = \"{kind}\" (the history it resamples)"
        ));
    } else {
        match res.resolve(&m.file) {
            Ok(p) => m.file = p,
            Err(e) => problems.push(format!("market.file: {e}")),
        }
    }
    let from_file = if kind == "garch" {
        "fitted to the file"
    } else {
        "the file's"
    };
    for (k, set) in [
        ("mu", m.mu.is_some()),
        ("sigma", m.sigma.is_some()),
        ("dt", m.dt.is_some()),
        ("jump_rate", m.jump_rate.is_some()),
        ("jump_mean", m.jump_mean.is_some()),
        ("jump_sigma", m.jump_sigma.is_some()),
        ("stress_mu", m.stress_mu.is_some()),
        ("stress_sigma", m.stress_sigma.is_some()),
        ("to_stressed", m.to_stressed.is_some()),
        ("to_calm", m.to_calm.is_some()),
        ("garch_alpha", m.garch_alpha.is_some()),
        ("garch_beta", m.garch_beta.is_some()),
        ("garch_nu", m.garch_nu.is_some()),
    ] {
        if set {
            problems.push(format!(
                "market.{k}: not used with a file for kind = \"{kind}\" (the paths use {from_file} bars and parameters)"
            ));
        }
    }
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
            None => None,
        }
    };
    let horizon_ns = dur(&m.horizon, "horizon", problems);
    if m.horizon.is_none() {
        problems.push(format!("market.horizon: required for kind = \"{kind}\""));
    }
    if m.paths.unwrap_or(0) == 0 {
        problems.push("market.paths: required, at least 1".into());
    }
    if let Some(p) = m.start_price {
        if !(p > 0.0 && p.is_finite()) {
            problems.push(format!("market.start_price: must be > 0, got {p}"));
        }
    }
    let fk = if kind == "bootstrap" {
        let block_ns = match &m.block {
            Some(_) => dur(&m.block, "block", problems),
            None => Some(levsim_core::time::DAY_NS),
        };
        FittedKind::Bootstrap {
            block_ns: block_ns.unwrap_or(0),
        }
    } else {
        FittedKind::Garch
    };
    if problems.len() > before {
        return None;
    }
    Some(Fitted {
        kind: fk,
        horizon_ns: horizon_ns.unwrap_or(0),
        start_price: m.start_price,
    })
}

/// The GBM of a `kind = "gbm"` market; every problem names its field.
fn gbm_from(m: &MarketConfig, problems: &mut Vec<String>) -> Option<Gbm> {
    let before = problems.len();
    let kind = m.kind.name();
    if !m.file.as_os_str().is_empty() {
        problems.push(format!("market.file: not used by kind = \"{kind}\""));
    }
    let need = |v: Option<f64>, k: &str, problems: &mut Vec<String>| -> f64 {
        match v {
            Some(x) if x.is_finite() => x,
            Some(x) => {
                problems.push(format!("market.{k}: must be finite, got {x}"));
                0.0
            }
            None => {
                problems.push(format!("market.{k}: required for kind = \"{kind}\""));
                0.0
            }
        }
    };
    let mu = m.mu.unwrap_or(0.0);
    let sigma = need(m.sigma, "sigma", problems);
    if m.sigma.is_some_and(f64::is_finite) && !(sigma > 0.0 && sigma < 20.0) {
        problems.push(format!(
            "market.sigma: must be in (0, 20) (annual), got {sigma}"
        ));
    }
    let start_price = need(m.start_price, "start_price", problems);
    if m.start_price.is_some_and(f64::is_finite) && !(start_price > 0.0) {
        problems.push(format!(
            "market.start_price: must be > 0, got {start_price}"
        ));
    }
    let dur = |v: &Option<String>, k: &str, problems: &mut Vec<String>| -> i64 {
        match v.as_deref().map(levsim_core::time::parse_duration) {
            Some(Ok(ns)) if ns > 0 => ns,
            Some(Ok(_)) => {
                problems.push(format!("market.{k}: must be longer than zero"));
                0
            }
            Some(Err(e)) => {
                problems.push(format!("market.{k}: {e}"));
                0
            }
            None => {
                problems.push(format!("market.{k}: required for kind = \"{kind}\""));
                0
            }
        }
    };
    let jumps = if m.kind == MarketKind::Merton {
        let rate = need(m.jump_rate, "jump_rate", problems);
        if m.jump_rate.is_some_and(f64::is_finite) && !(rate >= 0.0) {
            problems.push(format!(
                "market.jump_rate: must be ≥ 0 (per year), got {rate}"
            ));
        }
        let mean = need(m.jump_mean, "jump_mean", problems);
        let sigma = need(m.jump_sigma, "jump_sigma", problems);
        if m.jump_sigma.is_some_and(f64::is_finite) && !(sigma >= 0.0) {
            problems.push(format!("market.jump_sigma: must be ≥ 0, got {sigma}"));
        }
        Some(Jumps { rate, mean, sigma })
    } else {
        for (k, set) in [
            ("jump_rate", m.jump_rate.is_some()),
            ("jump_mean", m.jump_mean.is_some()),
            ("jump_sigma", m.jump_sigma.is_some()),
        ] {
            if set {
                problems.push(format!("market.{k}: only for kind = \"merton\""));
            }
        }
        None
    };
    let regime = if m.kind == MarketKind::Regime {
        let stress_sigma = need(m.stress_sigma, "stress_sigma", problems);
        if m.stress_sigma.is_some_and(f64::is_finite)
            && !(stress_sigma > 0.0 && stress_sigma < 20.0)
        {
            problems.push(format!(
                "market.stress_sigma: must be in (0, 20) (annual), got {stress_sigma}"
            ));
        }
        let mut rate = |v: Option<f64>, k: &str| {
            let r = need(v, k, problems);
            if v.is_some_and(f64::is_finite) && !(r >= 0.0) {
                problems.push(format!("market.{k}: must be ≥ 0 (per year), got {r}"));
            }
            r
        };
        let to_stressed = rate(m.to_stressed, "to_stressed");
        let to_calm = rate(m.to_calm, "to_calm");
        Some(Regime {
            mu: m.stress_mu.unwrap_or(mu),
            sigma: stress_sigma,
            to_stressed,
            to_calm,
        })
    } else {
        for (k, set) in [
            ("stress_mu", m.stress_mu.is_some()),
            ("stress_sigma", m.stress_sigma.is_some()),
            ("to_stressed", m.to_stressed.is_some()),
            ("to_calm", m.to_calm.is_some()),
        ] {
            if set {
                problems.push(format!("market.{k}: only for kind = \"regime\""));
            }
        }
        None
    };
    let garch = if m.kind == MarketKind::Garch {
        let alpha = need(m.garch_alpha, "garch_alpha", problems);
        let beta = need(m.garch_beta, "garch_beta", problems);
        let nu = need(m.garch_nu, "garch_nu", problems);
        if m.garch_alpha.is_some_and(f64::is_finite)
            && m.garch_beta.is_some_and(f64::is_finite)
            && !(alpha >= 0.0 && beta >= 0.0 && alpha + beta < 1.0)
        {
            problems.push(format!(
                "market.garch_beta: need α ≥ 0, β ≥ 0 and α + β < 1 (a finite long-run variance), got α {alpha} β {beta}"
            ));
        }
        if m.garch_nu.is_some_and(f64::is_finite) && !(nu > 2.0) {
            problems.push(format!(
                "market.garch_nu: must be > 2 (a finite variance), got {nu}"
            ));
        }
        Some(Garch { alpha, beta, nu })
    } else {
        for (k, set) in [
            ("garch_alpha", m.garch_alpha.is_some()),
            ("garch_beta", m.garch_beta.is_some()),
            ("garch_nu", m.garch_nu.is_some()),
        ] {
            if set {
                problems.push(format!("market.{k}: only for kind = \"garch\""));
            }
        }
        None
    };
    let dt_ns = dur(&m.dt, "dt", problems);
    let horizon = dur(&m.horizon, "horizon", problems);
    let paths = m.paths.unwrap_or(0);
    if paths == 0 {
        problems.push("market.paths: required, at least 1".into());
    }
    let start_ns = m
        .start
        .as_deref()
        .and_then(|s| parse_iso(s).ok())
        .unwrap_or(0);
    if problems.len() > before {
        return None;
    }
    let steps = (horizon / dt_ns).max(1) as usize;
    if steps > 10_000_000 {
        problems.push(format!(
            "market.horizon: {steps} steps of dt is too many (at most 10,000,000)"
        ));
        return None;
    }
    Some(Gbm {
        mu,
        sigma,
        dt_ns,
        steps,
        start_price,
        start_ns,
        model: jumps
            .map(Model::Merton)
            .or(regime.map(Model::Regime))
            .or(garch.map(Model::Garch))
            .unwrap_or(Model::Gbm),
        monitoring: m.monitoring.unwrap_or_default(),
    })
}

/// Where relative data paths are looked up.
pub(crate) struct Resolver<'a> {
    /// The working directory the paths are relative to ("" for the
    /// process's own).
    workdir: &'a Path,
    /// The scenario file's directory.
    base: &'a Path,
}

impl Resolver<'_> {
    /// Resolves a data path: as given (relative to the working directory)
    /// if it exists, else relative to the scenario's directory, else
    /// relative to that directory's parent (so `scenarios/x.toml` may say
    /// `data/…`). The result is relative to the working directory, as the
    /// scenario names things; existence is checked under `workdir`.
    pub(crate) fn resolve(&self, p: &Path) -> Result<PathBuf, String> {
        let exists = |c: &Path| self.workdir.join(c).exists();
        if p.is_absolute() || exists(p) {
            return if exists(p) {
                Ok(p.to_path_buf())
            } else {
                Err(format!("{} does not exist", p.display()))
            };
        }
        let candidates = [self.base.join(p), self.base.join("..").join(p)];
        for c in &candidates {
            if exists(c) {
                return Ok(c.clone());
            }
        }
        Err(format!(
            "{} not found (looked in the working directory, {} and {})",
            p.display(),
            self.base.display(),
            self.base.join("..").display()
        ))
    }
}

/// A scenario name that is one plain path component: it starts with an ASCII
/// letter or digit (so never `.`, `..` or a hidden name) and uses only
/// letters, digits, `-`, `_` and `.`. The default report directory is
/// `reports/NAME`; any other name could point it elsewhere.
pub fn is_plain_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

#[cfg(test)]
mod name_tests {
    use super::is_plain_name;

    /// Regression (issue 13, data loss): `name = ".."` made the default
    /// report directory `reports/..`, the working directory.
    #[test]
    fn an_empty_scenario_is_said_to_be_empty() {
        let e = super::Scenario::parse(" \n", std::path::Path::new("e.toml")).unwrap_err();
        assert!(e.to_string().contains("the scenario file is empty"), "{e}");
    }

    #[test]
    fn dot_dot_name_is_refused() {
        for bad in ["..", ".", "", ".hidden", "../x", "a/b", " x", "-x"] {
            assert!(!is_plain_name(bad), "{bad:?} accepted");
        }
        for good in ["black-thursday-2020", "a.b_c-1", "7d"] {
            assert!(is_plain_name(good), "{good:?} refused");
        }
    }
}
