//! Loading a scenario's market: bars in the window, funding, gap handling.

use std::path::Path;

use levsim_core::{CheckedTape, FundingSeries, MarketTape};
use levsim_data::{apply_gap_policy, load_funding, load_tape, DataReport};
use levsim_engine::liquidity::LiquidityAny;
use levsim_engine::VenueProfile;
use sha2::{Digest, Sha256};

use crate::bootstrap::Bootstrap;
use crate::generators::{Generator, Model};
use crate::{FittedKind, Scenario, ScenarioError};

/// A scenario's market, ready to simulate.
#[derive(Debug, Clone)]
pub struct LoadedMarket {
    /// Bars inside the scenario window (gaps handled per `on_gap`),
    /// checked once as loaded (see [`CheckedTape`]).
    pub tape: CheckedTape,
    /// Funding events inside the window, if a funding file was given.
    pub funding: Option<FundingSeries>,
    /// Validation report of the whole bar file.
    pub report: DataReport,
    /// Flat bars inserted by `on_gap = "ffill"`.
    pub filled_bars: usize,
    /// What loading changed about the data the scenario asked for (a
    /// window cut to the data, gaps skipped or filled), for stderr and the
    /// report: nothing is trimmed or filled without a word.
    pub notes: Vec<String>,
    /// `(path, sha256)` of every input file.
    pub files: Vec<(String, String)>,
    /// The resolved venue configurations (in scenario order) for this market's symbol.
    pub venues: Vec<VenueProfile>,
    /// The liquidity model every run starts from (each run gets a fresh copy).
    pub liquidity: LiquidityAny,
    /// The path generator of a Monte Carlo market (None: historical); `tape`
    /// is then its path 0.
    pub generator: Option<Generator>,
    /// The crowd per venue configuration (empty without `[population]`):
    /// the same seed, so the configurations differ only by their rules
    /// (tiers and open-interest caps at entry).
    pub crowds: Vec<levsim_engine::crowd::Population>,
    /// The portfolio market of a scenario with `[[market.instrument]]`
    /// tables; `tape`, `funding` and `venues` above are then its first
    /// instrument's (for what reports draw of one instrument).
    pub portfolio: Option<crate::portfolio_load::LoadedPortfolio>,
}

/// Hex SHA-256 of a text (a scenario file's text identifies it).
pub fn text_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hex SHA-256 of a file's bytes.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut h)?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

impl LoadedMarket {
    /// Loads and checks the market of `sc`, and checks that every policy's
    /// opening leverage is allowed by the venue for its position size.
    pub fn load(sc: &Scenario) -> Result<Self, ScenarioError> {
        let m = &sc.market;
        if let Some(spec) = &sc.portfolio {
            let crate::portfolio_load::Load {
                portfolio: p,
                notes,
                files,
            } = crate::portfolio_load::load(sc, spec)?;
            let tape = p.tape.leg_tape(levsim_core::InstrumentId(0));
            let report = p.reports.first().cloned().unwrap_or_else(|| DataReport {
                file: "generated".into(),
                format: "gbm".into(),
                rows: tape.len(),
                first_ts: tape.ts.first().copied(),
                last_ts: tape.ts.last().copied(),
                interval_ns: tape.interval_ns,
                time_unit: "generated".into(),
                ..Default::default()
            });
            return Ok(Self {
                funding: p.funding.first().cloned().flatten(),
                tape: CheckedTape::new(tape),
                report,
                filled_bars: 0,
                notes,
                files,
                venues: p.rules.iter().map(|r| r[0].clone()).collect(),
                liquidity: sc.liquidity.build(sc)?,
                generator: None,
                crowds: Vec::new(),
                portfolio: Some(p),
            });
        }
        if let Some(generator) = sc.generator.clone() {
            // Path 0 stands for the market in reports; runs draw their own.
            let mut tape = generator.path(crate::path_seed(sc.seed, 0));
            crate::shocks::apply(&sc.shocks, &mut tape, &mut None);
            tape.symbol = m.symbol.clone().unwrap_or_else(|| "GBM".into());
            let venues = resolve_venues(sc, &tape.symbol)?;
            let report = DataReport {
                file: "generated".into(),
                format: "gbm".into(),
                rows: tape.len(),
                first_ts: tape.ts.first().copied(),
                last_ts: tape.ts.last().copied(),
                interval_ns: tape.interval_ns,
                time_unit: "generated".into(),
                ..Default::default()
            };
            let (mut notes, mut files) = (Vec::new(), Vec::new());
            let crowds = crowds(
                sc,
                &venues,
                &MarketTape::default(),
                &tape,
                &mut notes,
                &mut files,
            )?;
            let portfolio = coin_margined(sc, &tape, None, &venues, Some(&generator))?;
            return Ok(Self {
                tape: CheckedTape::new(tape),
                funding: None,
                report,
                filled_bars: 0,
                notes,
                files,
                venues,
                liquidity: sc.liquidity.build(sc)?,
                generator: Some(generator),
                crowds,
                portfolio,
            });
        }
        let (full, report) = match m.format {
            Some(levsim_data::Format::Trades) => {
                levsim_data::load_trade_bars(&sc.data_path(&m.file), sc.bar_ns)?
            }
            f => load_tape(&sc.data_path(&m.file), f)?,
        };
        let mut tape = full.window(sc.start_ns, sc.end_ns);
        if let Some(s) = &m.symbol {
            tape.symbol = s.clone();
        }
        if tape.is_empty() {
            return Err(ScenarioError::Invalid {
                file: sc.path.clone(),
                problems: vec![format!(
                    "market.start/end: the window has no bars; {} covers {} to {}",
                    m.file.display(),
                    report
                        .first_ts
                        .map(levsim_core::time::to_iso)
                        .unwrap_or_default(),
                    report
                        .last_ts
                        .map(levsim_core::time::to_iso)
                        .unwrap_or_default()
                )],
            });
        }
        let mut notes = data_notes(sc, &m.file, &report, &tape, m.on_gap);
        let filled_bars = apply_gap_policy(&m.file, &mut tape, &report, m.on_gap)?;
        let mut funding = match &m.funding {
            Some(p) => Some(load_funding(&sc.data_path(p))?.window(sc.start_ns, tape.end_ns())),
            None => None,
        };
        let generator = match &sc.fitted {
            Some(f) => {
                let g = build_fitted(sc, f, &tape)?;
                let symbol = std::mem::take(&mut tape.symbol);
                tape = g.path(crate::path_seed(sc.seed, 0));
                tape.symbol = symbol;
                funding = None;
                Some(g)
            }
            None => None,
        };
        crate::shocks::apply(&sc.shocks, &mut tape, &mut funding);
        let venues = resolve_venues(sc, &tape.symbol)?;
        // The crowd enters in the bars before the window (history).
        let history = match (&sc.fitted, sc.start_ns) {
            (None, Some(start)) => full.window(None, Some(start)),
            _ => MarketTape::default(),
        };
        let mut files = Vec::new();
        for p in std::iter::once(&m.file).chain(m.funding.iter()) {
            let sha =
                sha256_file(&sc.data_path(p)).map_err(|source| levsim_data::DataError::Io {
                    file: p.display().to_string(),
                    source,
                })?;
            files.push((p.display().to_string(), sha));
        }
        let mut crowd_notes = Vec::new();
        let crowds = crowds(sc, &venues, &history, &tape, &mut crowd_notes, &mut files)?;
        notes.append(&mut crowd_notes);
        let portfolio = coin_margined(sc, &tape, funding.as_ref(), &venues, generator.as_ref())?;
        Ok(Self {
            tape: CheckedTape::new(tape),
            funding,
            report,
            filled_bars,
            notes,
            files,
            venues,
            liquidity: sc.liquidity.build(sc)?,
            generator,
            crowds,
            portfolio,
        })
    }
}

/// A market of one coin-margined (inverse) contract runs as a portfolio
/// of one: the portfolio loop settles in coin. `None` for linear venues;
/// what that loop does not do yet is refused by name.
fn coin_margined(
    sc: &Scenario,
    tape: &MarketTape,
    funding: Option<&FundingSeries>,
    venues: &[VenueProfile],
    generator: Option<&Generator>,
) -> Result<Option<crate::LoadedPortfolio>, ScenarioError> {
    use levsim_core::ContractKind;
    let inverse: Vec<usize> = (0..venues.len())
        .filter(|&v| venues[v].contract == ContractKind::Inverse)
        .collect();
    if inverse.is_empty() {
        return Ok(None);
    }
    let mut problems = Vec::new();
    if inverse.len() < venues.len() {
        problems.push(format!(
            "venue: {} settles in coin and {} in quote; compare venues of one settlement currency in a scenario",
            venues[inverse[0]].name,
            venues[(0..venues.len()).find(|v| !inverse.contains(v)).unwrap_or(0)].name
        ));
    }
    let later = "not available for coin-margined (inverse) contracts yet";
    if matches!(sc.generator, Some(Generator::Coarse(_))) {
        problems.push(format!("market.coarse: {later}"));
    }
    if sc.population.is_some() {
        problems.push(format!("population: {later}"));
    }
    if sc.liquidity.model != crate::LiquidityKind::None {
        problems.push(format!("liquidity: {later}"));
    }
    if sc.account.latency.is_some() || sc.account.withdrawal_delay.is_some() {
        problems.push(format!("account.latency: {later}"));
    }
    for p in &sc.plan.points {
        if p.topup.is_some() || p.latency.is_some() {
            problems.push(format!(
                "policy[{}]: top-ups and latency are {later}",
                p.policy_index
            ));
        }
        if matches!(p.kind, levsim_policy::PolicyKind::MarginTopup { .. }) {
            problems.push(format!(
                "policy[{}].kind: margin_topup is {later}",
                p.policy_index
            ));
        }
    }
    if !problems.is_empty() {
        problems.dedup();
        return Err(ScenarioError::Invalid {
            file: sc.path.clone(),
            problems,
        });
    }
    let mut pt = levsim_core::PortfolioTape::single(tape);
    let v = &venues[0];
    pt.instruments = levsim_core::InstrumentTable::new(vec![levsim_core::Instrument {
        symbol: tape.symbol.clone(),
        kind: ContractKind::Inverse,
        contract_size: v.contract_size,
    }])
    .unwrap_or_default();
    Ok(Some(crate::LoadedPortfolio {
        tape: pt,
        funding: vec![funding.cloned()],
        rules: venues.iter().map(|v| vec![v.clone()]).collect(),
        generator: generator.map(|g| crate::PathGen::Single(g.clone(), sc.shocks.clone())),
        reports: Vec::new(),
        options: vec![None],
        assembly: None,
        crowd_book: None,
    }))
}

/// The crowd of `sc` under each venue configuration, entering in
/// `history` before the first bar of `tape`: the generated accounts and
/// the positions file's rows in the market's instrument.
fn crowds(
    sc: &Scenario,
    venues: &[VenueProfile],
    history: &MarketTape,
    tape: &MarketTape,
    notes: &mut Vec<String>,
    files: &mut Vec<(String, String)>,
) -> Result<Vec<levsim_engine::crowd::Population>, ScenarioError> {
    let Some(p) = &sc.population else {
        return Ok(Vec::new());
    };
    let invalid = |problems: Vec<String>| ScenarioError::Invalid {
        file: sc.path.clone(),
        problems,
    };
    let seed = crate::run_seed(sc.seed, "crowd");
    let rows = match &p.file {
        Some(f) => {
            let rows = levsim_data::load_positions(&sc.data_path(f))?;
            let sha =
                sha256_file(&sc.data_path(f)).map_err(|source| levsim_data::DataError::Io {
                    file: f.display().to_string(),
                    source,
                })?;
            files.push((f.display().to_string(), sha));
            let mine = rows.iter().filter(|r| r.symbol == tape.symbol).count();
            if mine == 0 {
                return Err(invalid(vec![format!(
                    "population.file: {} has no position in {} (the market's instrument; its rows are in {})",
                    f.display(),
                    tape.symbol,
                    {
                        let mut s: Vec<&str> = rows.iter().map(|r| r.symbol.as_str()).collect();
                        s.sort_unstable();
                        s.dedup();
                        s.join(", ")
                    }
                )]));
            }
            let accounts = {
                let mut a: Vec<&str> = rows.iter().map(|r| r.account.as_str()).collect();
                a.sort_unstable();
                a.dedup();
                a.len()
            };
            notes.push(format!(
                "Positions {}: {mine} of its {} rows ({accounts} accounts) are in {} and join the crowd{}.",
                f.display(),
                rows.len(),
                tape.symbol,
                if mine < rows.len() {
                    "; the rows in other instruments are not replayed (a crowd of one instrument)"
                } else {
                    ""
                }
            ));
            rows.into_iter()
                .filter(|r| r.symbol == tape.symbol)
                .collect()
        }
        None => Vec::new(),
    };
    venues
        .iter()
        .map(|v| {
            let mut pop = p
                .generate(seed, history, tape.ts[0], tape.open[0], v)
                .map_err(|e| invalid(vec![e.to_string()]))?;
            let first = pop.len();
            for r in &rows {
                pop.push_account(r.side, r.size, r.entry_price, r.collateral, v)
                    .map_err(|e| invalid(vec![e.to_string()]))?;
            }
            pop.book = first..pop.len();
            Ok(pop)
        })
        .collect()
}

/// Builds the bootstrap or fitted GARCH generator of `sc` from the bars of
/// its window.
fn build_fitted(
    sc: &Scenario,
    f: &crate::Fitted,
    source: &MarketTape,
) -> Result<Generator, ScenarioError> {
    let invalid = |msg: String| ScenarioError::Invalid {
        file: sc.path.clone(),
        problems: vec![msg],
    };
    let file = sc.market.file.display().to_string();
    let dt_ns = source.interval_ns.max(1);
    let steps = (f.horizon_ns / dt_ns).max(1) as usize;
    if steps > 10_000_000 {
        return Err(invalid(format!(
            "market.horizon: {steps} bars of {} is too many (at most 10,000,000)",
            levsim_core::time::fmt_duration(dt_ns)
        )));
    }
    // Paths are the future after the history: they start where the window
    // ends, at its last close unless a start price is given.
    let start_price = f.start_price.unwrap_or(source.close[source.len() - 1]);
    let start_ns = source.end_ns().unwrap_or(source.ts[0]);
    match f.kind {
        FittedKind::Bootstrap { block_ns } => {
            let bars = Bootstrap::shapes(source)
                .map_err(|e| invalid(format!("market.file: {file}: {e}")))?;
            Ok(Generator::Bootstrap(Bootstrap {
                bars: bars.into(),
                mean_block: (block_ns as f64 / dt_ns as f64).max(1.0),
                steps,
                dt_ns,
                start_price,
                start_ns,
                source: file,
            }))
        }
        FittedKind::Garch => {
            let r: Vec<f64> = source
                .close
                .iter()
                .zip(&source.open)
                .map(|(c, o)| (c / o).ln())
                .collect();
            let dt = dt_ns as f64 / (365.0 * levsim_core::time::DAY_NS as f64);
            let fit = crate::fit::fit_garch(&r, dt)
                .map_err(|e| invalid(format!("market.file: {file}: GARCH fit: {e}")))?;
            Ok(Generator::Params(crate::generators::Gbm {
                mu: fit.mu,
                sigma: fit.sigma,
                dt_ns,
                steps,
                start_price,
                start_ns,
                model: Model::Garch(fit.garch),
                monitoring: sc.market.monitoring.unwrap_or_default(),
            }))
        }
    }
}

/// Resolves every venue configuration for `symbol` and checks each run's
/// opening leverage against its venue; every problem names its field.
fn resolve_venues(sc: &Scenario, symbol: &str) -> Result<Vec<VenueProfile>, ScenarioError> {
    let mut problems = Vec::new();
    let mut venues = Vec::new();
    for (i, v) in sc.venues.iter().enumerate() {
        match VenueProfile::resolve(v, symbol) {
            Ok(p) => venues.push(p),
            Err(levsim_engine::EngineError::Config { path, message }) if sc.venues.len() > 1 => {
                problems.push(format!(
                    "{}: {message}",
                    path.replacen("venue", &format!("venue[{i}]"), 1)
                ));
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty() {
        for r in &sc.plan.points {
            let venue = &venues[r.venue_index];
            let lev = r.kind.opening_leverage();
            let notional = lev * sc.account.capital;
            let max = venue.max_leverage(notional);
            if lev > max {
                problems.push(format!(
                    "policy[{}].leverage: {lev}x is above {}'s maximum of {max}x for a {notional:.0} position (run {})",
                    r.policy_index, venue.name, r.point_id
                ));
            }
            let tops_up = r.topup.is_some()
                || matches!(r.kind, levsim_policy::PolicyKind::MarginTopup { .. });
            let msg = format!(
                "policy[{}]: tops up from the reserve, but [account] reserve is {} (give it one, e.g. reserve = 10000.0)",
                r.policy_index, sc.account.reserve
            );
            if tops_up && !(sc.account.reserve > 0.0) && !problems.contains(&msg) {
                problems.push(msg);
            }
        }
    }
    if problems.is_empty() {
        Ok(venues)
    } else {
        Err(ScenarioError::Invalid {
            file: sc.path.clone(),
            problems,
        })
    }
}

/// The notes of a historical window: where the scenario's `start`/`end`
/// lie outside the file, and what `on_gap` did to gaps inside the window.
fn data_notes(
    sc: &Scenario,
    file: &Path,
    report: &DataReport,
    tape: &MarketTape,
    on_gap: levsim_data::GapPolicy,
) -> Vec<String> {
    use levsim_core::time::{fmt_duration, to_iso};
    let mut notes = Vec::new();
    let (Some(first), Some(last)) = (tape.ts.first().copied(), tape.ts.last().copied()) else {
        return notes;
    };
    let data_end = report.last_ts.map(|t| t + report.interval_ns);
    if let (Some(end), Some(data_end)) = (sc.end_ns, data_end) {
        if end > data_end {
            notes.push(format!(
                "market.end {} is past the data: {} ends at {}, so the run ends there ({} short)",
                to_iso(end),
                file.display(),
                to_iso(data_end),
                fmt_duration(end - data_end)
            ));
        }
    }
    if let (Some(start), Some(data_start)) = (sc.start_ns, report.first_ts) {
        if start < data_start {
            notes.push(format!(
                "market.start {} is before the data: {} starts at {}, so the run starts there",
                to_iso(start),
                file.display(),
                to_iso(data_start)
            ));
        }
    }
    let inside: Vec<_> = report.gaps_within(first, last).collect();
    if let Some(g) = inside.first() {
        let missing: i64 = inside.iter().map(|g| g.missing_bars).sum();
        let what = match on_gap {
            levsim_data::GapPolicy::Skip => {
                "skipped (on_gap = \"skip\"): the run steps from the bar before each gap to the bar after it"
            }
            levsim_data::GapPolicy::Ffill => {
                "filled with flat bars at the last close (on_gap = \"ffill\")"
            }
            levsim_data::GapPolicy::Error => return notes,
        };
        notes.push(format!(
            "{} gap(s) in the window, {} missing bars ({}), {what}; first: {}",
            inside.len(),
            missing,
            fmt_duration(missing * report.interval_ns),
            g.describe(report.interval_ns)
        ));
    }
    notes
}
