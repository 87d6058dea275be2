//! Loading a portfolio market: every instrument's bars on one clock, its
//! funding, and each venue's rules for each instrument's symbol.

use std::path::{Path, PathBuf};

use levsim_core::{FundingSeries, Instrument, InstrumentTable, MarketTape, PortfolioTape};
use levsim_data::{apply_gap_policy, load_funding, load_tape, DataReport};
use levsim_engine::VenueProfile;

use crate::multi::MultiGbm;
use crate::portfolio::PortfolioSpec;
use crate::{Scenario, ScenarioError};

/// Wicks further than this beyond the body are listed in the data notes.
const NOTED_WICK: f64 = 0.5;

/// A portfolio scenario's market, ready to simulate.
#[derive(Debug, Clone)]
pub struct LoadedPortfolio {
    /// Every instrument's bars on one clock (path 0 of a generated market).
    pub tape: PortfolioTape,
    /// Funding per instrument (instrument order).
    pub funding: Vec<Option<FundingSeries>>,
    /// Per venue configuration, the venue's rules per instrument.
    pub rules: Vec<Vec<VenueProfile>>,
    /// The path generator of a generated market.
    pub generator: Option<PathGen>,
    /// Validation report of each instrument's file (historical).
    pub reports: Vec<DataReport>,
    /// Per instrument: the option it is (its underlying, strike, expiry,
    /// type and volatility per bar), if any.
    pub options: Vec<Option<levsim_engine::portfolio::OptionLeg>>,
    /// Generated markets with options: how each path's instruments with
    /// bars become the whole market.
    pub assembly: Option<Assembly>,
    /// The accounts of the crowd's positions file (`[population] file`),
    /// before the generated ones are drawn into it.
    pub crowd_book: Option<levsim_engine::crowd::CrowdBook>,
}

/// How a generated path of the instruments with bars becomes the market:
/// the full instrument table and which instrument each generated leg is.
#[derive(Debug, Clone)]
pub struct Assembly {
    /// Every instrument, in order.
    pub table: InstrumentTable,
    /// The instrument of each generated leg.
    pub base: Vec<usize>,
    /// Options settle in coin (priced in coin per option).
    pub coin: bool,
}

impl LoadedPortfolio {
    /// Path `seed` of the whole market (options priced on the generated
    /// underlying).
    pub fn path(&self, seed: u64) -> Option<PortfolioTape> {
        let g = self.generator.as_ref()?;
        let t = g.path(seed);
        Some(match &self.assembly {
            Some(a) => assemble(&a.table, &a.base, &self.options, &t, a.coin),
            None => t,
        })
    }
}

fn invalid(sc: &Scenario, problems: Vec<String>) -> ScenarioError {
    ScenarioError::Invalid {
        file: sc.path.clone(),
        problems,
    }
}

/// Where the paths of a generated portfolio market come from.
#[derive(Debug, Clone)]
pub enum PathGen {
    /// Correlated instruments.
    Multi(Box<MultiGbm>),
    /// One instrument's generator (a portfolio of one: a coin-margined
    /// contract on a generated market), with the scenario's shocks.
    Single(crate::generators::Generator, Vec<crate::shocks::Shock>),
    /// A block bootstrap of every instrument's history with the same time
    /// blocks (keeping their cross-correlation), and the shocks.
    Bootstrap(
        Vec<crate::bootstrap::Bootstrap>,
        levsim_core::InstrumentTable,
        Vec<(Option<usize>, crate::shocks::Shock)>,
    ),
}

impl PathGen {
    /// Path `seed` of every instrument.
    pub fn path(&self, seed: u64) -> PortfolioTape {
        match self {
            PathGen::Multi(g) => g.path(seed),
            PathGen::Single(g, shocks) => {
                let mut t = g.path(seed);
                crate::shocks::apply(shocks, &mut t, &mut None);
                PortfolioTape::single(&t)
            }
            PathGen::Bootstrap(legs, table, shocks) => {
                let idx = legs.first().map(|b| b.indices(seed)).unwrap_or_default();
                let tapes: Vec<levsim_core::MarketTape> = legs
                    .iter()
                    .enumerate()
                    .map(|(k, b)| {
                        let mut t = b.path_from(&idx);
                        crate::portfolio::shock_leg(shocks, k, &mut t, &mut None);
                        t
                    })
                    .collect();
                PortfolioTape::align(table.clone(), &tapes)
                    .map(|(t, _)| t)
                    .unwrap_or_default()
            }
        }
    }

    /// A one-line description for reports.
    pub fn label(&self) -> String {
        match self {
            PathGen::Multi(g) => g.label(),
            PathGen::Single(g, _) => g.label(),
            PathGen::Bootstrap(legs, table, _) => format!(
                "stationary block bootstrap of {} with the same time blocks ({} bars, mean block {} bars)",
                table.symbols().join(", "),
                legs.first().map_or(0, |b| b.bars.len()),
                legs.first().map_or(0.0, |b| b.mean_block)
            ),
        }
    }
}

/// What loading a portfolio market gives.
pub(crate) struct Load {
    /// The market.
    pub portfolio: LoadedPortfolio,
    /// What loading changed or found (bad prints, dropped bars).
    pub notes: Vec<String>,
    /// `(path, sha256)` of every input file.
    pub files: Vec<(String, String)>,
}

/// Loads the market of a portfolio scenario, and its crowd's positions
/// file.
pub(crate) fn load(sc: &Scenario, spec: &PortfolioSpec) -> Result<Load, ScenarioError> {
    let mut load = load_market(sc, spec)?;
    if let Some(f) = spec.crowd.as_ref().and_then(|c| c.file.as_ref()) {
        let venue_of = crate::portfolio::venue_groups(spec);
        let (book, note, sha) = positions_book(sc, f, &spec.symbols(), &venue_of)?;
        load.portfolio.crowd_book = Some(book);
        load.notes.push(note);
        load.files.push((f.display().to_string(), sha));
    }
    Ok(load)
}

/// A positions file as the accounts of a crowd of several instruments:
/// each account's cross rows one bucket (their collateral summed), each
/// isolated row its own; a row in an instrument the market lacks is named.
fn positions_book(
    sc: &Scenario,
    f: &std::path::Path,
    symbols: &[String],
    venue_of: &[usize],
) -> Result<(levsim_engine::crowd::CrowdBook, String, String), ScenarioError> {
    let path = sc.data_path(f);
    let rows = levsim_data::load_positions(&path)?;
    let sha = crate::sha256_file(&path).map_err(|source| levsim_data::DataError::Io {
        file: f.display().to_string(),
        source,
    })?;
    let mut book = levsim_engine::crowd::CrowdBook::new(symbols.len());
    // Accounts in order of first appearance.
    let mut order: Vec<&str> = Vec::new();
    let mut by: std::collections::HashMap<&str, Vec<&levsim_data::PositionRow>> =
        std::collections::HashMap::new();
    for r in &rows {
        if !symbols.contains(&r.symbol) {
            return Err(invalid(
                sc,
                vec![format!(
                    "population.file: {} line {}, field symbol: {:?} is not an instrument of the market ({})",
                    f.display(),
                    r.line,
                    r.symbol,
                    symbols.join(", ")
                )],
            ));
        }
        let e = by.entry(r.account.as_str()).or_default();
        if e.is_empty() {
            order.push(r.account.as_str());
        }
        e.push(r);
    }
    for a in &order {
        let id = book.add_account();
        let rs = &by[a];
        let leg = |r: &levsim_data::PositionRow| {
            let k = symbols.iter().position(|s| *s == r.symbol).unwrap_or(0) as u16;
            (k, f64::from(r.side) * r.size, r.entry_price)
        };
        // A cross account's rows on one venue share a wallet (their
        // collateral summed); on another venue it is another account.
        let mut venues: Vec<usize> = rs
            .iter()
            .filter(|r| r.cross)
            .map(|r| venue_of[leg(r).0 as usize])
            .collect();
        venues.sort_unstable();
        venues.dedup();
        for v in venues {
            let on = |r: &&&levsim_data::PositionRow| r.cross && venue_of[leg(r).0 as usize] == v;
            let cross: Vec<(u16, f64, f64)> = rs.iter().filter(on).map(|r| leg(r)).collect();
            let wallet: f64 = rs.iter().filter(on).map(|r| r.collateral).sum();
            book.push_bucket(id, true, wallet, &cross);
        }
        for r in rs.iter().filter(|r| !r.cross) {
            book.push_bucket(id, false, r.collateral, &[leg(r)]);
        }
    }
    book.file_accounts = book.accounts;
    let note = format!(
        "Positions {}: {} rows, {} accounts ({} cross) join the crowd.",
        f.display(),
        rows.len(),
        book.accounts,
        {
            let mut c: Vec<&str> = rows
                .iter()
                .filter(|r| r.cross)
                .map(|r| r.account.as_str())
                .collect();
            c.sort_unstable();
            c.dedup();
            c.len()
        }
    );
    Ok((book, note, sha))
}

/// Loads the market of a portfolio scenario.
fn load_market(sc: &Scenario, spec: &PortfolioSpec) -> Result<Load, ScenarioError> {
    let symbols = spec.symbols();
    let table = InstrumentTable::new(
        symbols
            .iter()
            .map(|s| Instrument::linear(s.clone()))
            .collect(),
    )
    .map_err(|e| invalid(sc, vec![format!("market.instrument: {e}")]))?;
    let rules = rules(sc, &symbols, spec)?;
    let coin = coin_settled(sc, spec, &rules)?;
    if let Some(g) = &spec.generator {
        let base_tape = g.path(crate::path_seed(sc.seed, 0));
        let n = symbols.len();
        let base: Vec<usize> = (0..n).filter(|&i| spec.options[i].is_none()).collect();
        let mut files = Vec::new();
        let options = option_legs(sc, spec, &base_tape, &base, &mut files, &mut Vec::new())?;
        let tape = assemble(&table, &base, &options, &base_tape, coin);
        let assembly = options.iter().any(Option::is_some).then(|| Assembly {
            table: table.clone(),
            base,
            coin,
        });
        return Ok(Load {
            portfolio: LoadedPortfolio {
                tape,
                funding: vec![None; n],
                rules,
                generator: Some(PathGen::Multi(Box::new(g.clone()))),
                reports: Vec::new(),
                options,
                assembly,
                crowd_book: None,
            },
            notes: Vec::new(),
            files,
        });
    }
    let mut tapes = Vec::new();
    let mut funding = Vec::new();
    let mut reports = Vec::new();
    let mut notes = Vec::new();
    let mut files = Vec::new();
    let base: Vec<usize> = (0..spec.instruments.len())
        .filter(|&i| spec.options[i].is_none())
        .collect();
    for &i in &base {
        let inst = &spec.instruments[i];
        let Some(file) = &inst.file else {
            return Err(invalid(
                sc,
                vec![format!("market.instrument[{i}].file: missing")],
            ));
        };
        let (full, report) = load_tape(&sc.data_path(file), inst.format)?;
        let mut tape = full.window(sc.start_ns, sc.end_ns);
        tape.symbol = inst.symbol.clone();
        if tape.is_empty() {
            return Err(invalid(
                sc,
                vec![format!(
                    "market.instrument[{i}].file: {} has no bars in the window ({} to {})",
                    file.display(),
                    report
                        .first_ts
                        .map(levsim_core::time::to_iso)
                        .unwrap_or_default(),
                    report
                        .last_ts
                        .map(levsim_core::time::to_iso)
                        .unwrap_or_default()
                )],
            ));
        }
        apply_gap_policy(file, &mut tape, &report, inst.on_gap)?;
        notes.extend(wicks(&mut tape, inst.max_wick, &inst.symbol));
        let mut f = match &inst.funding {
            Some(p) => Some(load_funding(&sc.data_path(p))?.window(sc.start_ns, tape.end_ns())),
            None => None,
        };
        if spec.bootstrap.is_none() {
            crate::portfolio::shock_leg(&spec.shocks, i, &mut tape, &mut f);
        }
        for p in std::iter::once(file).chain(inst.funding.iter()) {
            let sha = crate::sha256_file(&sc.data_path(p)).map_err(|source| {
                levsim_data::DataError::Io {
                    file: p.display().to_string(),
                    source,
                }
            })?;
            files.push((p.display().to_string(), sha));
        }
        tapes.push(tape);
        funding.push(f);
        reports.push(report);
    }
    let base_table = InstrumentTable::new(
        base.iter()
            .map(|&i| Instrument::linear(symbols[i].clone()))
            .collect(),
    )
    .map_err(|e| invalid(sc, vec![format!("market.instrument: {e}")]))?;
    let (tape, alignment) = PortfolioTape::align(base_table, &tapes).map_err(|(k, e)| {
        invalid(
            sc,
            vec![format!("market.instrument[{}].file: {e}", base[k])],
        )
    })?;
    for (k, d) in alignment.dropped.iter().enumerate() {
        if *d > 0 {
            notes.push(format!(
                "{}: {d} bar(s) at times another instrument has no bar were dropped (the instruments share one clock)",
                symbols[base[k]]
            ));
        }
    }
    if tape.is_empty() {
        return Err(invalid(
            sc,
            vec!["market.instrument: the instruments share no bar time in the window".into()],
        ));
    }
    if let Some(b) = &spec.bootstrap {
        // The window is the history resampled; paths start where it ends.
        let dt = tape.interval_ns.max(1);
        let steps = (b.horizon_ns / dt).max(1) as usize;
        let start_ns = tape.ts[tape.len() - 1] + dt;
        let mut legs = Vec::new();
        for (id, inst) in tape.instruments.iter() {
            let leg = tape.leg_tape(id);
            let bars = crate::bootstrap::Bootstrap::shapes(&leg).map_err(|e| {
                invalid(
                    sc,
                    vec![format!("market.instrument[{}].file: {e}", id.index())],
                )
            })?;
            legs.push(crate::bootstrap::Bootstrap {
                bars: bars.into(),
                mean_block: (b.block_ns as f64 / dt as f64).max(1.0),
                steps,
                dt_ns: dt,
                start_price: leg.close[leg.len() - 1],
                start_ns,
                source: inst.symbol.clone(),
            });
        }
        let g = PathGen::Bootstrap(legs, tape.instruments.clone(), spec.shocks.clone());
        let n = spec.instruments.len();
        return Ok(Load {
            portfolio: LoadedPortfolio {
                tape: g.path(crate::path_seed(sc.seed, 0)),
                funding: vec![None; n],
                rules,
                generator: Some(g),
                reports,
                options: vec![None; n],
                assembly: None,
                crowd_book: None,
            },
            notes,
            files,
        });
    }
    // Every instrument in its order: the ones with bars, and the options
    // priced from their underlying's.
    let options = option_legs(sc, spec, &tape, &base, &mut files, &mut notes)?;
    let full = assemble(&table, &base, &options, &tape, coin);
    let mut all_funding = vec![None; spec.instruments.len()];
    for (j, &i) in base.iter().enumerate() {
        all_funding[i] = funding[j].clone();
    }
    let (tape, funding) = (full, all_funding);
    Ok(Load {
        portfolio: LoadedPortfolio {
            tape,
            funding,
            rules,
            generator: None,
            reports,
            options,
            assembly: None,
            crowd_book: None,
        },
        notes,
        files,
    })
}

/// The option legs of a portfolio market on the clock `ts` (their
/// volatility per bar, with the volatility shocks), `None` per instrument
/// with bars of its own.
fn option_legs(
    sc: &Scenario,
    spec: &PortfolioSpec,
    tape: &PortfolioTape,
    base: &[usize],
    files: &mut Vec<(String, String)>,
    notes: &mut Vec<String>,
) -> Result<Vec<Option<levsim_engine::portfolio::OptionLeg>>, ScenarioError> {
    let ts = &tape.ts[..];
    let mut surfaces: Vec<(PathBuf, SnapshotSurface)> = Vec::new();
    let n = spec.instruments.len();
    let bars = ts.len();
    let mut options = vec![None; n];
    for (i, cfg) in spec.options.iter().enumerate() {
        let Some(o) = cfg else {
            continue;
        };
        let at = |k: &str| format!("market.instrument[{i}].{k}");
        if o.name.expiry <= ts[0] {
            return Err(invalid(
                sc,
                vec![format!(
                    "{}: {} expired at {}, before the run starts at {}",
                    at("symbol"),
                    spec.instruments[i].symbol,
                    levsim_core::time::to_iso(o.name.expiry),
                    levsim_core::time::to_iso(ts[0])
                )],
            ));
        }
        let mut iv: Vec<f64> = match &o.iv {
            crate::portfolio::IvSource::Constant(v) => vec![*v; bars],
            crate::portfolio::IvSource::Surface {
                file,
                sticky,
                level,
            } => {
                let k = match surfaces.iter().position(|(f, _)| f == file) {
                    Some(k) => k,
                    None => {
                        let snap = snapshot_surface(sc, file, ts[0], &at("surface"), files, notes)?;
                        surfaces.push((file.clone(), snap));
                        surfaces.len() - 1
                    }
                };
                let snap = &surfaces[k].1;
                let surf = &snap.surface;
                let (lo, hi) = surf.range();
                if o.name.expiry < lo || o.name.expiry > hi {
                    return Err(invalid(
                        sc,
                        vec![format!(
                            "{}: {} expires outside the expiries the surface {} fits ({} to {})",
                            at("symbol"),
                            spec.instruments[i].symbol,
                            file.display(),
                            levsim_core::time::to_iso(lo),
                            levsim_core::time::to_iso(hi)
                        )],
                    ));
                }
                let u = base.iter().position(|&b| b == o.underlying).unwrap_or(0);
                let under = tape.leg(levsim_core::InstrumentId(u as u16));
                let ratio: Vec<f64> = match level {
                    crate::portfolio::SurfaceLevel::Index(f) => {
                        let ix = levsim_data::load_vol_index(&sc.data_path(f))?;
                        record(sc, f, files)?;
                        let missing = |t: i64| {
                            invalid(
                                sc,
                                vec![format!(
                                    "{}: {} has no value known at {}",
                                    at("iv_index"),
                                    f.display(),
                                    levsim_core::time::to_iso(t)
                                )],
                            )
                        };
                        let base_level = ix.known_at(surf.t0).ok_or_else(|| missing(surf.t0))?;
                        ts.iter()
                            .map(|&t| {
                                ix.known_at(t)
                                    .map(|v| v / base_level)
                                    .ok_or_else(|| missing(t))
                            })
                            .collect::<Result<_, _>>()?
                    }
                    crate::portfolio::SurfaceLevel::Realized(h) => {
                        let bar_h = tape.interval_ns as f64 / 3_600e9;
                        levsim_options::surface::RealizedLevel {
                            seed: snap.atm_30d,
                            halflife_bars: h / bar_h,
                            bar_years: tape.interval_ns as f64 / (365.0 * 86_400e9),
                        }
                        .ratios(under.close)
                    }
                };
                (0..bars)
                    .map(|b| {
                        surf.vol(
                            o.name.strike,
                            o.name.expiry,
                            under.open[b],
                            snap.spot0,
                            ratio[b],
                            *sticky,
                        )
                        .unwrap_or(snap.atm_30d)
                    })
                    .collect()
            }
            crate::portfolio::IvSource::Index { file, scale } => {
                let ix = levsim_data::load_vol_index(&sc.data_path(file))?;
                let sha = crate::sha256_file(&sc.data_path(file)).map_err(|source| {
                    levsim_data::DataError::Io {
                        file: file.display().to_string(),
                        source,
                    }
                })?;
                if !files.iter().any(|(p, _)| *p == file.display().to_string()) {
                    files.push((file.display().to_string(), sha));
                }
                let mut out = Vec::with_capacity(bars);
                for &t in ts {
                    let Some(v) = ix.known_at(t) else {
                        return Err(invalid(
                            sc,
                            vec![format!(
                                "{}: {} has no value known at {} (it starts {})",
                                at("iv_index"),
                                file.display(),
                                levsim_core::time::to_iso(t),
                                ix.ts
                                    .first()
                                    .map(|&d| levsim_core::time::to_iso(d))
                                    .unwrap_or_default()
                            )],
                        ));
                    };
                    out.push(v / 100.0 * scale);
                }
                out
            }
        };
        // Volatility shocks on this option (named, or its underlying
        // named, or every option).
        for (target, shock) in &spec.shocks {
            if let crate::shocks::Shock::Vol {
                from,
                to,
                factor,
                points,
            } = *shock
            {
                if target.is_none_or(|k| k == i || k == o.underlying) {
                    for (v, t) in iv.iter_mut().zip(ts) {
                        if (from..to).contains(t) {
                            *v = (*v * factor + points / 100.0).max(1e-4);
                        }
                    }
                }
            }
        }
        options[i] = Some(levsim_engine::portfolio::OptionLeg {
            spec: levsim_engine::portfolio::LegOption {
                underlying: o.underlying,
                strike: o.name.strike,
                expiry: o.name.expiry,
                kind: o.name.kind,
            },
            iv,
        });
    }
    Ok(options)
}

/// Whether the market's options settle in coin: their underlying trades
/// coin-margined (inverse) under every venue configuration, so the account
/// is in coin and so are the options (Deribit's BTC options). Mixed
/// settlement across venue configurations, and what coin-settled option
/// books do not do yet, are refused by name.
fn coin_settled(
    sc: &Scenario,
    spec: &PortfolioSpec,
    rules: &[Vec<VenueProfile>],
) -> Result<bool, ScenarioError> {
    let Some(o) = spec.options.iter().flatten().next() else {
        return Ok(false);
    };
    let inverse =
        |r: &Vec<VenueProfile>| r[o.underlying].contract == levsim_core::ContractKind::Inverse;
    let coin = rules.first().is_some_and(inverse);
    if rules.iter().any(|r| inverse(r) != coin) {
        return Err(invalid(
            sc,
            vec!["venue: the options' underlying settles in coin under one venue configuration and in quote under another; compare venues of one settlement currency".into()],
        ));
    }
    if coin {
        let mut problems = Vec::new();
        for p in &sc.plan.points {
            let at = format!("policy[{}]", p.policy_index);
            if matches!(
                p.kind,
                levsim_policy::PolicyKind::GreekAware { .. }
                    | levsim_policy::PolicyKind::DeltaHedge { .. }
            ) {
                let m = format!(
                    "{at}: {} sizes quote-settled option books; this market's options settle in coin (its underlying is coin-margined)",
                    p.kind.name()
                );
                if !problems.contains(&m) {
                    problems.push(m);
                }
            }
            if p.margin_mode.unwrap_or(sc.account.margin_mode).is_joint() {
                let m = format!(
                    "{at}.margin_mode: portfolio, SPAN and Greek margin revalue quote-settled books; coin-settled options run under cross or isolated margin"
                );
                if !problems.contains(&m) {
                    problems.push(m);
                }
            }
        }
        if !problems.is_empty() {
            return Err(invalid(sc, problems));
        }
    }
    Ok(coin)
}

/// A surface fitted to a chain snapshot, with what moving it needs.
struct SnapshotSurface {
    surface: levsim_options::surface::Surface,
    /// The underlying's index price at the snapshot.
    spot0: f64,
    /// At-the-money volatility of the fitted expiry nearest 30 days (the
    /// seed of a realized level).
    atm_30d: f64,
}

/// Records a data file's SHA-256 in the manifest list once.
fn record(
    sc: &Scenario,
    file: &Path,
    files: &mut Vec<(String, String)>,
) -> Result<(), ScenarioError> {
    let name = file.display().to_string();
    if files.iter().any(|(p, _)| *p == name) {
        return Ok(());
    }
    let sha =
        crate::sha256_file(&sc.data_path(file)).map_err(|source| levsim_data::DataError::Io {
            file: name.clone(),
            source,
        })?;
    files.push((name, sha));
    Ok(())
}

/// Loads a chain and fits its surface (the snapshot is the chain's latest
/// quote time, which must not be after the run starts); the fit error
/// per expiry goes to the data notes.
fn snapshot_surface(
    sc: &Scenario,
    file: &Path,
    start: i64,
    at: &str,
    files: &mut Vec<(String, String)>,
    notes: &mut Vec<String>,
) -> Result<SnapshotSurface, ScenarioError> {
    let chain = levsim_data::load_chain(&sc.data_path(file))?;
    record(sc, file, files)?;
    let t0 = chain.rows.iter().map(|r| r.ts).max().unwrap_or(i64::MAX);
    if t0 > start {
        return Err(invalid(
            sc,
            vec![format!(
                "{at}: {} is a snapshot of {}, after the run starts at {}: its smiles were not known yet",
                file.display(),
                levsim_core::time::to_iso(t0),
                levsim_core::time::to_iso(start)
            )],
        ));
    }
    let mut groups: Vec<levsim_options::surface::ExpiryMarks> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    for r in &chain.rows {
        let k = match groups.iter().position(|g| g.0 == r.name.expiry) {
            Some(k) => k,
            None => {
                groups.push((r.name.expiry, 0.0, Vec::new()));
                counts.push(0);
                groups.len() - 1
            }
        };
        groups[k].1 += r.forward;
        counts[k] += 1;
        // The out-of-the-money side of each strike: the quoted one.
        let otm = match r.name.kind {
            levsim_options::OptionKind::Call => r.name.strike >= r.forward,
            levsim_options::OptionKind::Put => r.name.strike < r.forward,
        };
        if otm {
            groups[k].2.push((r.name.strike, r.mark_iv / 100.0));
        }
    }
    for (g, c) in groups.iter_mut().zip(&counts) {
        g.1 /= *c as f64;
    }
    let surface = levsim_options::surface::Surface::fit(t0, &groups)
        .map_err(|e| invalid(sc, vec![format!("{at}: {}: {e}", file.display())]))?;
    let spot0 = chain.rows.iter().map(|r| r.index).sum::<f64>() / chain.rows.len() as f64;
    let month = t0 + 30 * levsim_core::time::DAY_NS;
    let near = surface
        .expiries
        .iter()
        .min_by_key(|e| (e.expiry - month).abs())
        .map(|e| e.expiry)
        .unwrap_or(month);
    let atm_30d = surface.vol0(0.0, near).unwrap_or(0.8);
    let fits: Vec<String> = surface
        .expiries
        .iter()
        .map(|e| {
            format!(
                "{} RMSE {:.2} (max {:.2}) over {}",
                levsim_core::time::to_iso(e.expiry).get(..10).unwrap_or(""),
                e.fit.rmse_vol_points,
                e.fit.max_error_vol_points,
                e.fit.points
            )
        })
        .collect();
    notes.push(format!(
        "Surface {} at {}: SVI smiles fitted per expiry, error in volatility points: {}; at-the-money 30-day volatility {:.1} %.",
        file.display(),
        levsim_core::time::to_iso(t0),
        fits.join("; "),
        atm_30d * 100.0
    ));
    Ok(SnapshotSurface {
        surface,
        spot0,
        atm_30d,
    })
}

/// Every instrument in its order from the tape of the instruments with
/// bars (`base[j]` is the instrument of its leg `j`): their bars, and each
/// option's price bars from its underlying's (Black-76 at its volatility
/// per bar).
pub(crate) fn assemble(
    table: &InstrumentTable,
    base: &[usize],
    options: &[Option<levsim_engine::portfolio::OptionLeg>],
    tape: &PortfolioTape,
    coin: bool,
) -> PortfolioTape {
    if options.iter().all(Option::is_none) {
        return PortfolioTape {
            instruments: table.clone(),
            ..tape.clone()
        };
    }
    let bars = tape.len();
    let pos = |i: usize| base.iter().position(|&b| b == i).unwrap_or(0);
    let tapes: Vec<MarketTape> = (0..options.len())
        .map(|i| match &options[i] {
            None => tape.leg_tape(levsim_core::InstrumentId(pos(i) as u16)),
            Some(o) => {
                let u = tape.leg(levsim_core::InstrumentId(pos(o.spec.underlying) as u16));
                let mut t = MarketTape {
                    symbol: table
                        .get(levsim_core::InstrumentId(i as u16))
                        .symbol
                        .clone(),
                    interval_ns: tape.interval_ns,
                    ts: tape.ts.clone(),
                    open: vec![0.0; bars],
                    high: vec![0.0; bars],
                    low: vec![0.0; bars],
                    close: vec![0.0; bars],
                    volume: vec![0.0; bars],
                };
                {
                    let MarketTape {
                        open,
                        high,
                        low,
                        close,
                        ..
                    } = &mut t;
                    let bars = if coin {
                        levsim_options::tape::option_bars_in_coin
                    } else {
                        levsim_options::tape::option_bars
                    };
                    bars(
                        &tape.ts,
                        tape.interval_ns,
                        [u.open, u.high, u.low, u.close],
                        o.spec.strike,
                        o.spec.expiry,
                        o.spec.kind,
                        &o.iv,
                        [open, high, low, close],
                    );
                }
                t
            }
        })
        .collect();
    PortfolioTape::align(table.clone(), &tapes)
        .map(|(t, _)| t)
        .unwrap_or_default()
}

/// Lists wicks reaching further beyond the bar's body than `max_wick`
/// (default: 50 %, listed only); with `max_wick` set, such a wick is taken
/// as a bad print and dropped (the bar's range ends at its body).
fn wicks(tape: &mut MarketTape, max_wick: Option<f64>, symbol: &str) -> Vec<String> {
    let limit = max_wick.unwrap_or(NOTED_WICK);
    let mut notes = Vec::new();
    for i in 0..tape.len() {
        let body_hi = tape.open[i].max(tape.close[i]);
        let body_lo = tape.open[i].min(tape.close[i]);
        let (hi_cap, lo_cap) = (body_hi * (1.0 + limit), body_lo * (1.0 - limit));
        for (name, v, beyond) in [
            ("high", tape.high[i], tape.high[i] > hi_cap),
            ("low", tape.low[i], tape.low[i] < lo_cap),
        ] {
            if !beyond {
                continue;
            }
            let at = levsim_core::time::to_iso(tape.ts[i]);
            if max_wick.is_some() {
                // A print that far out is taken as bad and dropped: the
                // bar's range ends at its body.
                let body = if name == "high" { body_hi } else { body_lo };
                notes.push(format!(
                    "{symbol}: the {at} bar's {name} {v} lies more than {:.0} % beyond its body (open {}, close {}); taken as a bad print and dropped: the {name} is now {body} (max_wick)",
                    limit * 100.0,
                    tape.open[i],
                    tape.close[i]
                ));
                if name == "high" {
                    tape.high[i] = body;
                } else {
                    tape.low[i] = body;
                }
            } else {
                notes.push(format!(
                    "{symbol}: the {at} bar's {name} {v} lies more than {:.0} % beyond its body (open {}, close {}); kept: a lone print of the last price that a venue's mark would not follow can be clipped with max_wick",
                    limit * 100.0,
                    tape.open[i],
                    tape.close[i]
                ));
            }
        }
    }
    notes
}

/// Each venue configuration's rules for each instrument, and each
/// point's opening size checked against them, leg by leg.
fn rules(
    sc: &Scenario,
    symbols: &[String],
    spec: &PortfolioSpec,
) -> Result<Vec<Vec<VenueProfile>>, ScenarioError> {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for (v, cfg) in sc.venues.iter().enumerate() {
        let at = if sc.venues.len() > 1 {
            format!("venue[{v}]")
        } else {
            "venue".into()
        };
        let mut legs = Vec::new();
        for (i, sym) in symbols.iter().enumerate() {
            // An option trades under its underlying's table and fees.
            let sym = match &spec.options[i] {
                Some(o) => &symbols[o.underlying],
                None => sym,
            };
            // An instrument on a venue of its own keeps it in every
            // configuration.
            let (cfg, at) = match &spec.instruments[i].venue {
                Some(own) => (own, format!("market.instrument[{i}].venue")),
                None => (cfg, at.clone()),
            };
            match VenueProfile::resolve(cfg, sym) {
                Ok(p) => legs.push(p),
                Err(levsim_engine::EngineError::Config { path, message }) => {
                    problems.push(format!(
                        "market.instrument[{i}].symbol: {sym} under {}: {}: {message}",
                        cfg.label.clone().unwrap_or_else(|| cfg.profile.clone()),
                        path.replacen("venue", &at, 1)
                    ))
                }
                Err(e) => problems.push(format!("market.instrument[{i}].symbol: {sym}: {e}")),
            }
        }
        out.push(legs);
    }
    if !problems.is_empty() {
        return Err(invalid(sc, problems));
    }
    for p in &sc.plan.points {
        let tops_up =
            p.topup.is_some() || matches!(p.kind, levsim_policy::PolicyKind::MarginTopup { .. });
        let msg = format!(
            "policy[{}]: tops up from the reserve, but [account] reserve is {} (give it one, e.g. reserve = 10000.0)",
            p.policy_index, sc.account.reserve
        );
        if tops_up && !(sc.account.reserve > 0.0) && !problems.contains(&msg) {
            problems.push(msg);
        }
        let legs = &out[p.venue_index];
        let lev = p.kind.opening_leverage();
        let weights = crate::portfolio::resolve_weights(&p.kind, symbols);
        let gross: f64 = weights
            .as_ref()
            .map_or(1.0, |w| w.iter().map(|x| x.abs()).sum());
        for (k, venue) in legs.iter().enumerate() {
            let share = weights
                .as_ref()
                .map_or(if k == 0 { 1.0 } else { 0.0 }, |w| w[k].abs() / gross);
            if share == 0.0 {
                continue;
            }
            let notional = share * lev * sc.account.capital;
            let max = venue.max_leverage(notional);
            // Cross and portfolio margin pool the equity: a leg's initial
            // margin is its notional over its maximum leverage.
            if lev > max {
                problems.push(format!(
                    "policy[{}].leverage: {lev}x gross puts {notional:.0} in {} ({}), above its maximum of {max}x (run {})",
                    p.policy_index, symbols[k], venue.name, p.point_id
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        problems.dedup();
        Err(invalid(sc, problems))
    }
}
