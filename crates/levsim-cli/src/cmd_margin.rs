//! `levsim margin`: what a venue would do to a position or an account.

use std::path::Path;

use levsim_core::Side;
use levsim_engine::venue::calculator::{
    assess_with, AccountInput, Assessment, CalcOptions, Mode, PositionInput,
};
use levsim_engine::{EngineError, VenueConfig, VenueProfile};

use crate::Failure;

/// Single-position flags, as given.
pub(crate) struct MarginArgs<'a> {
    pub venue: &'a str,
    /// The flag the venue came from (`--venue` or `--profile`), for errors.
    pub venue_flag: &'static str,
    pub symbol: Option<&'a str>,
    pub side: Option<&'a str>,
    pub qty: Option<f64>,
    pub entry: Option<f64>,
    pub mark: Option<f64>,
    pub wallet: Option<f64>,
    pub leverage: Option<f64>,
    pub mode: &'a str,
    pub account: Option<&'a Path>,
    pub oracle: Option<f64>,
    pub set: &'a [String],
    pub fill_price: Option<f64>,
    pub quote_price: f64,
    pub chain: Option<&'a Path>,
    pub json: bool,
}

/// The venue of `--venue NAME` or `--profile FILE`, and which flag gave
/// it: a profile file must be a `.toml` file that exists.
pub(crate) fn venue_or_profile(
    venue: Option<String>,
    profile: Option<&Path>,
) -> Result<(String, &'static str), Failure> {
    match (venue, profile) {
        (Some(v), None) => Ok((v, "--venue")),
        (None, Some(p)) => {
            if p.extension().and_then(|e| e.to_str()) != Some("toml") {
                return Err(bad(format!(
                    "--profile {}: a venue profile file is TOML (`levsim venues export binance-usdm > my-venue.toml`)",
                    p.display()
                )));
            }
            if !p.exists() {
                return Err(bad(format!("--profile {}: no such file", p.display())));
            }
            Ok((p.display().to_string(), "--profile"))
        }
        _ => Err(bad("give --venue NAME or --profile FILE".to_string())),
    }
}

/// `--set KEY=VALUE` flags as the profile's parameter overrides.
pub(crate) fn parse_set(
    set: &[String],
) -> Result<std::collections::BTreeMap<String, toml::Value>, Failure> {
    let mut out = std::collections::BTreeMap::new();
    for s in set {
        let Some((k, v)) = s.split_once('=') else {
            return Err(bad(format!("--set {s:?}: expected KEY=VALUE")));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(bad(format!("--set {s:?}: the key is empty")));
        }
        out.insert(
            k.to_string(),
            levsim_engine::venue::params::parse_value(v.trim()),
        );
    }
    Ok(out)
}

/// A profile error from `--set` named as the flag that caused it.
fn profile_error(e: EngineError, flag: &str) -> Failure {
    match e {
        EngineError::Config { path, message } if path.starts_with("venue.set.") => bad(format!(
            "--set {}: {message}",
            path.trim_start_matches("venue.set.")
        )),
        EngineError::Config { path, message } if path == "venue.set" => {
            bad(format!("--set: {message}"))
        }
        EngineError::Config { path, message } if path == "venue.profile" => {
            bad(format!("{flag}: {message}"))
        }
        EngineError::Config { path, message } if path == "venue.symbol" || path == "market" => {
            bad(format!("--symbol: {message}"))
        }
        EngineError::Config { path, message } => bad(format!("{path}: {message}")),
        other => Failure::input(other),
    }
}

/// `--venue span` and `--venue greek-pm`: portfolio margin of an account
/// file of risk arrays or Greeks.
fn portfolio(a: &MarginArgs<'_>) -> Result<(), Failure> {
    let Some(path) = a.account else {
        return Err(bad(format!(
            "--venue {} needs --account FILE (positions with {})",
            a.venue,
            if a.venue == "span" {
                "risk_array"
            } else {
                "delta, gamma, vega"
            }
        )));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad(format!("--account: {}: {e}", path.display())))?;
    let named = |e: EngineError| match e {
        EngineError::Config {
            path: field,
            message,
        } => bad(format!("--account {}: {field}: {message}", path.display())),
        other => Failure::input(other),
    };
    let parse_err = |e: serde_json::Error| bad(format!("--account: {}: {e}", path.display()));
    let value = if a.venue == "span" {
        let acct: levsim_engine::venue::portfolio::SpanAccount =
            serde_json::from_str(&text).map_err(parse_err)?;
        let r = acct.scan().map_err(named)?;
        if !a.json {
            outln!("venue:              span (CME SPAN scanning risk, 16 scenarios)");
            outln!("scanning risk:      {:.6}", r.scanning_risk);
            outln!("worst scenario:     {}", r.worst_scenario);
        }
        serde_json::json!({"venue": "span", "scanning_risk": r.scanning_risk, "maintenance_margin": r.maintenance_margin, "worst_scenario": r.worst_scenario, "scenarios": r.scenarios})
    } else {
        let acct: levsim_engine::venue::portfolio::GreekAccount =
            serde_json::from_str(&text).map_err(parse_err)?;
        let r = acct.scan().map_err(named)?;
        if !a.json {
            outln!("venue:              greek-pm (SPEC §8.3 Taylor scenario margin)");
            outln!(
                "net delta {:.6}, gamma {:.6e}, vega {:.6}",
                r.delta,
                r.gamma,
                r.vega
            );
            outln!("maintenance margin: {:.6}", r.maintenance_margin);
            outln!(
                "worst scenario:     price {:+.2} %, volatility {:+} points",
                r.worst_price_move * 100.0,
                r.worst_vol_move
            );
        }
        serde_json::to_value(&r).map_err(Failure::other)?
    };
    if a.json {
        let mut v = value;
        v["venue"] = serde_json::json!(a.venue);
        outln!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(Failure::other)?
        );
    }
    Ok(())
}

pub(crate) fn bad(msg: String) -> Failure {
    Failure::input(anyhow::anyhow!(msg))
}

/// Field paths of the calculator mapped back to the flags that set them.
fn flag_of(path: &str) -> &str {
    match path.rsplit('.').next().unwrap_or(path) {
        "size" => "--qty",
        "entry" => "--entry",
        "mark" => "--mark",
        "leverage" => "--leverage",
        "margin" => "--wallet (or --leverage)",
        "collateral" => "--wallet",
        "fill_price" => "--fill-price",
        "quote_price" => "--quote-price",
        _ => path,
    }
}

pub(crate) fn margin(a: &MarginArgs<'_>) -> Result<(), Failure> {
    if matches!(a.venue, "span" | "greek-pm" | "greek_pm") {
        return portfolio(a);
    }
    // Deribit with an account of options (or a chain): the options
    // calculator; with a single position's flags: the perpetual under the
    // `deribit` profile.
    if a.venue == "deribit" && (a.account.is_some() || a.chain.is_some()) {
        return crate::cmd_options::margin(a);
    }
    if a.chain.is_some() {
        return Err(bad(format!(
            "--chain: prices options, for --venue deribit (not {})",
            a.venue
        )));
    }
    let symbol = a.symbol.unwrap_or("BTC");
    let set = parse_set(a.set)?;
    let venue = VenueProfile::resolve(
        &VenueConfig {
            profile: a.venue.to_string(),
            symbol: a.symbol.map(str::to_string),
            set: set.clone(),
            ..Default::default()
        },
        symbol,
    )
    .map_err(|e| profile_error(e, a.venue_flag))?;
    let (input, from_file) = match a.account {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| bad(format!("--account: {}: {e}", path.display())))?;
            let acct: AccountInput = serde_json::from_str(&text)
                .map_err(|e| bad(format!("--account: {}: {e}", path.display())))?;
            (acct, true)
        }
        None => (single(a)?, false),
    };
    // Each position under its own instrument's table when it names one.
    let mut tables = Vec::with_capacity(input.positions.len());
    for (i, p) in input.positions.iter().enumerate() {
        tables.push(match &p.instrument {
            Some(sym) => VenueProfile::resolve(
                &VenueConfig {
                    profile: a.venue.to_string(),
                    symbol: Some(sym.clone()),
                    set: set.clone(),
                    ..Default::default()
                },
                sym,
            )
            .map_err(|e| bad(format!("--account: positions[{i}].instrument: {e}")))?,
            None => venue.clone(),
        });
    }
    let refs: Vec<&VenueProfile> = tables.iter().collect();
    let opts = CalcOptions {
        oracle: a.oracle,
        fill_price: a.fill_price,
        quote_price: a.quote_price,
    };
    if a.fill_price.is_some() && venue.dydx.is_none() {
        return Err(bad(format!(
            "--fill-price: {} has no insurance-fund delta per fill (dYdX profiles do)",
            venue.name
        )));
    }
    let result = assess_with(&refs, &input, &opts).map_err(|e| match e {
        EngineError::Config { path, message } if from_file => bad(format!(
            "--account {}: {path}: {message}",
            a.account
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )),
        EngineError::Config { path, message } => bad(format!("{}: {message}", flag_of(&path))),
        other => Failure::input(other),
    })?;
    if a.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&result).map_err(Failure::other)?
        );
    } else {
        print_text(&result);
    }
    Ok(())
}

fn single(a: &MarginArgs<'_>) -> Result<AccountInput, Failure> {
    let side = match a.side {
        Some("long") => Side::Long,
        Some("short") => Side::Short,
        Some(other) => return Err(bad(format!("--side: {other:?} is not long or short"))),
        None => return Err(bad("--side is required (or give --account FILE)".into())),
    };
    let qty = a
        .qty
        .ok_or_else(|| bad("--qty is required (or give --account FILE)".into()))?;
    let entry = a
        .entry
        .ok_or_else(|| bad("--entry is required (or give --account FILE)".into()))?;
    let mode = match a.mode {
        "isolated" => Mode::Isolated,
        "cross" => Mode::Cross,
        other => return Err(bad(format!("--mode: {other:?} is not isolated or cross"))),
    };
    if mode == Mode::Cross && a.wallet.is_none() {
        return Err(bad(
            "--wallet is required in cross mode (the account's collateral)".into(),
        ));
    }
    Ok(AccountInput {
        collateral: if mode == Mode::Cross {
            a.wallet.unwrap_or(0.0)
        } else {
            0.0
        },
        mode,
        positions: vec![PositionInput {
            instrument: None,
            side,
            size: qty,
            entry,
            mark: a.mark,
            margin: if mode == Mode::Isolated {
                a.wallet
            } else {
                None
            },
            leverage: a.leverage,
        }],
    })
}

fn opt(v: Option<f64>) -> String {
    v.map_or("none".into(), |x| format!("{x:.6}"))
}

fn print_text(r: &Assessment) {
    outln!(
        "venue:              {} ({}, {:?}, {:?} margin)",
        r.venue,
        r.symbol,
        r.contract,
        r.mode
    );
    outln!("equity:             {:.6}", r.equity);
    outln!("initial margin:     {:.6}", r.initial_margin);
    outln!("maintenance margin: {:.6}", r.maintenance_margin);
    outln!("margin ratio:       {:.6}", r.margin_ratio);
    outln!("liquidatable:       {}", r.liquidatable);
    if let Some(b) = r.backstop_eligible {
        outln!("backstop eligible:  {b}");
    }
    if let Some(h) = r.health_factor {
        outln!("health factor:      {h:.6}");
        outln!("max repay:          {}", opt(r.max_repay));
        outln!("collateral seized:  {}", opt(r.collateral_seized));
        outln!("protocol fee:       {}", opt(r.protocol_fee));
        outln!("to the liquidator:  {}", opt(r.to_liquidator));
        outln!("health after:       {}", opt(r.health_factor_after));
    }
    if let Some(s) = r.margin_shortage {
        outln!("margin shortage:    {s:.6} (maintenance + buffer − collateral)");
    }
    if let Some(d) = r.insurance_fund_delta {
        outln!("insurance fund:     {d:+.6} (+: the user pays the fund)");
    }
    if !r.overrides.is_empty() {
        outln!("overrides:          {}", r.overrides.join("; "));
    }
    for p in &r.positions {
        outln!(
            "position {} {} {} @ {} (mark {}): liquidation price {}, bankruptcy price {}{}",
            p.instrument,
            p.side,
            p.size,
            p.entry,
            p.mark,
            opt(p.liquidation_price),
            opt(p.bankruptcy_price),
            p.fillable_price
                .map(|f| format!(", fillable price {f:.6}"))
                .unwrap_or_default()
        );
        if let (Some(b), Some(f)) = (p.base_to_cover, p.if_fee) {
            outln!("  base to cover {b:.9}, insurance-fund fee {f:.6}");
        }
    }
}
