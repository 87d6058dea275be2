//! `levsim margin --venue deribit --account FILE --chain CHAIN.csv`: a book
//! of Deribit options priced from a chain snapshot, with its Greeks and
//! its margin under standard, Greek and portfolio rules.

use levsim_options::margin::{greek, portfolio, standard, Grid, PricedOption};
use levsim_options::OptionName;
use serde::Deserialize;
use serde_json::json;

use crate::cmd_margin::{bad, MarginArgs};
use crate::Failure;

/// The account file of an options book.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsAccount {
    /// The options held.
    positions: Vec<OptionPosition>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionPosition {
    /// Deribit's name, e.g. `BTC-26JUN20-10000-C`.
    instrument: String,
    /// Signed size in options (negative: short).
    size: f64,
}

pub(crate) fn margin(a: &MarginArgs<'_>) -> Result<(), Failure> {
    let Some(path) = a.account else {
        return Err(bad(
            "--venue deribit needs --account FILE ({\"positions\": [{\"instrument\": \"BTC-26JUN20-10000-C\", \"size\": -2}]})".into(),
        ));
    };
    let Some(chain_path) = a.chain else {
        return Err(bad(
            "--venue deribit needs --chain CHAIN.csv: the option chain that prices the account's options (its mark_iv and underlying_price)".into(),
        ));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad(format!("--account: {}: {e}", path.display())))?;
    let acct: OptionsAccount = serde_json::from_str(&text)
        .map_err(|e| bad(format!("--account: {}: {e}", path.display())))?;
    if acct.positions.is_empty() {
        return Err(bad(format!(
            "--account: {}: positions: at least one option is needed",
            path.display()
        )));
    }
    let chain = levsim_data::load_chain(chain_path).map_err(Failure::input)?;
    let at =
        |i: usize, field: &str| format!("--account {}: positions[{i}].{field}", path.display());
    let mut book = Vec::new();
    let mut rows = Vec::new();
    for (i, p) in acct.positions.iter().enumerate() {
        let name = OptionName::parse(&p.instrument)
            .map_err(|e| bad(format!("{}: {e}", at(i, "instrument"))))?;
        if !(p.size.is_finite() && p.size != 0.0) {
            return Err(bad(format!(
                "{}: must be a non-zero number of options",
                at(i, "size")
            )));
        }
        let Some(row) = chain.get(&p.instrument) else {
            return Err(bad(format!(
                "{}: {} is not in the chain {} (unlisted, or expired before it)",
                at(i, "instrument"),
                p.instrument,
                chain.file
            )));
        };
        if name.expiry <= row.ts {
            return Err(bad(format!(
                "{}: {} expired at {}, before the chain's quote at {}",
                at(i, "instrument"),
                p.instrument,
                levsim_core::time::to_iso(name.expiry),
                levsim_core::time::to_iso(row.ts)
            )));
        }
        let o = PricedOption {
            size: p.size,
            strike: name.strike,
            kind: name.kind,
            forward: row.forward,
            index: row.index,
            sigma: row.mark_iv / 100.0,
            t: (name.expiry - row.ts) as f64 / (365.0 * 86_400e9),
        };
        let g = o.greeks();
        rows.push(json!({
            "instrument": p.instrument,
            "size": p.size,
            "mark": o.mark(),
            "mark_iv": row.mark_iv,
            "underlying_price": row.forward,
            "delta": g.delta,
            "gamma": g.gamma,
            "vega": g.vega,
            "theta": g.theta,
        }));
        book.push(o);
    }
    let grid = Grid::default();
    let (st, gr, pm) = (
        standard(&book),
        greek(&book, &grid),
        portfolio(&book, &grid),
    );
    let value = json!({
        "venue": "deribit",
        "chain": chain.file,
        "currency": "coin",
        "positions": rows,
        "margin": {
            "standard": st,
            "greek": gr,
            "portfolio": pm,
        },
        "grid": grid,
    });
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(Failure::other)?
        );
        return Ok(());
    }
    println!("venue: deribit (options priced from {})", chain.file);
    println!(
        "{:<24} {:>8} {:>12} {:>9} {:>11} {:>9} {:>10}",
        "instrument", "size", "mark (coin)", "delta", "gamma", "vega", "theta"
    );
    for r in &rows {
        println!(
            "{:<24} {:>8} {:>12.6} {:>9.5} {:>11.3e} {:>9.4} {:>10.4}",
            r["instrument"].as_str().unwrap_or(""),
            r["size"],
            r["mark"].as_f64().unwrap_or(f64::NAN),
            r["delta"].as_f64().unwrap_or(f64::NAN),
            r["gamma"].as_f64().unwrap_or(f64::NAN),
            r["vega"].as_f64().unwrap_or(f64::NAN),
            r["theta"].as_f64().unwrap_or(f64::NAN),
        );
    }
    println!("margin (coin)        initial   maintenance");
    for (label, r) in [
        ("standard", st),
        ("greek", gr.requirement),
        ("portfolio", pm.requirement),
    ] {
        println!("  {label:<16} {:>10.6} {:>12.6}", r.initial, r.maintenance);
    }
    println!(
        "greek margin binds at price {:+.0} %, volatility {:+} points; portfolio margin at {:+.0} %, {:+} points",
        gr.worst_price_move * 100.0,
        gr.worst_vol_move,
        pm.worst_price_move * 100.0,
        pm.worst_vol_move
    );
    Ok(())
}
