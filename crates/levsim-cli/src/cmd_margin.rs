//! `levsim margin`: what a venue would do to a position or an account.

use std::path::Path;

use levsim_core::Side;
use levsim_engine::venue::calculator::{
    assess_positions, AccountInput, Assessment, Mode, PositionInput,
};
use levsim_engine::{EngineError, VenueConfig, VenueProfile};

use crate::Failure;

/// Single-position flags, as given.
pub(crate) struct MarginArgs<'a> {
    pub venue: &'a str,
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
    pub json: bool,
}

fn bad(msg: String) -> Failure {
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
        _ => path,
    }
}

pub(crate) fn margin(a: &MarginArgs<'_>) -> Result<(), Failure> {
    let symbol = a.symbol.unwrap_or("BTC");
    let venue = VenueProfile::resolve(
        &VenueConfig {
            profile: a.venue.to_string(),
            symbol: a.symbol.map(str::to_string),
            ..Default::default()
        },
        symbol,
    )
    .map_err(|e| match e {
        EngineError::Config { path, message } if path == "venue.profile" => {
            bad(format!("--venue: {message}"))
        }
        EngineError::Config { message, .. } => bad(format!("--symbol: {message}")),
        other => Failure::input(other),
    })?;
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
                    ..Default::default()
                },
                sym,
            )
            .map_err(|e| bad(format!("--account: positions[{i}].instrument: {e}")))?,
            None => venue.clone(),
        });
    }
    let refs: Vec<&VenueProfile> = tables.iter().collect();
    let result = assess_positions(&refs, &input, a.oracle).map_err(|e| match e {
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
        println!(
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
    println!(
        "venue:              {} ({}, {:?}, {:?} margin)",
        r.venue, r.symbol, r.contract, r.mode
    );
    println!("equity:             {:.6}", r.equity);
    println!("initial margin:     {:.6}", r.initial_margin);
    println!("maintenance margin: {:.6}", r.maintenance_margin);
    println!("margin ratio:       {:.6}", r.margin_ratio);
    println!("liquidatable:       {}", r.liquidatable);
    if let Some(b) = r.backstop_eligible {
        println!("backstop eligible:  {b}");
    }
    if let Some(h) = r.health_factor {
        println!("health factor:      {h:.6}");
        println!("max repay:          {}", opt(r.max_repay));
        println!("collateral seized:  {}", opt(r.collateral_seized));
    }
    for p in &r.positions {
        println!(
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
    }
}
