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
    /// Without a chain: the valuation time (RFC 3339).
    #[serde(default)]
    timestamp: Option<String>,
    /// Without a chain: the underlying's price (USD), used as every
    /// expiry's forward and as the index.
    #[serde(default)]
    underlying_price: Option<f64>,
    /// Without a chain: implied volatility per expiry in percent, keyed by
    /// Deribit's expiry code (`{"26JUN20": 80.0}`).
    #[serde(default)]
    ivs: std::collections::BTreeMap<String, f64>,
}

/// What prices one option: the forward, the index, the volatility and the
/// valuation time.
struct Quote {
    forward: f64,
    index: f64,
    iv_pct: f64,
    ts: levsim_core::TimestampNs,
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
    let chain = match a.chain {
        Some(c) => Some(levsim_data::load_chain(c).map_err(Failure::input)?),
        None => None,
    };
    let file = format!("--account {}", path.display());
    let at = |i: usize, field: &str| format!("{file}: positions[{i}].{field}");
    // Without a chain, the account gives the market: time, price, IVs.
    let manual = match &chain {
        Some(_) => None,
        None => {
            let ts = match acct.timestamp.as_deref().map(levsim_core::time::parse_iso) {
                Some(Ok(t)) => t,
                Some(Err(e)) => return Err(bad(format!("{file}: timestamp: {e}"))),
                None => {
                    return Err(bad(format!(
                        "{file}: timestamp: missing; without --chain the account gives the valuation time, underlying_price and ivs per expiry (or pass --chain CHAIN.csv)"
                    )))
                }
            };
            let s = match acct.underlying_price {
                Some(x) if x.is_finite() && x > 0.0 => x,
                Some(x) => {
                    return Err(bad(format!(
                        "{file}: underlying_price: must be > 0, got {x}"
                    )))
                }
                None => {
                    return Err(bad(format!(
                        "{file}: underlying_price: missing (needed without --chain)"
                    )))
                }
            };
            Some((ts, s))
        }
    };
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
        let q = match (&chain, manual) {
            (Some(chain), _) => {
                let Some(row) = chain.get(&p.instrument) else {
                    return Err(bad(format!(
                        "{}: {} is not in the chain {} (unlisted, or expired before it)",
                        at(i, "instrument"),
                        p.instrument,
                        chain.file
                    )));
                };
                Quote {
                    forward: row.forward,
                    index: row.index,
                    iv_pct: row.mark_iv,
                    ts: row.ts,
                }
            }
            (None, Some((ts, s))) => {
                let code = p.instrument.split('-').nth(1).unwrap_or("");
                let iv = match acct.ivs.get(code) {
                    Some(v) if v.is_finite() && *v > 0.0 => *v,
                    Some(v) => {
                        return Err(bad(format!(
                            "{file}: ivs.{code}: must be a volatility > 0 in percent, got {v}"
                        )))
                    }
                    None => {
                        return Err(bad(format!(
                            "{file}: ivs.{code}: missing: {} needs the implied volatility of its expiry",
                            p.instrument
                        )))
                    }
                };
                Quote {
                    forward: s,
                    index: s,
                    iv_pct: iv,
                    ts,
                }
            }
            (None, None) => unreachable!("manual is set without a chain"),
        };
        if name.expiry <= q.ts {
            return Err(bad(format!(
                "{}: {} expired at {}, before the valuation time {}",
                at(i, "instrument"),
                p.instrument,
                levsim_core::time::to_iso(name.expiry),
                levsim_core::time::to_iso(q.ts)
            )));
        }
        let o = PricedOption {
            size: p.size,
            strike: name.strike,
            kind: name.kind,
            forward: q.forward,
            index: q.index,
            sigma: q.iv_pct / 100.0,
            t: (name.expiry - q.ts) as f64 / (365.0 * 86_400e9),
        };
        let g = o.greeks();
        rows.push(json!({
            "instrument": p.instrument,
            "size": p.size,
            "mark": o.mark(),
            "mark_iv": q.iv_pct,
            "underlying_price": q.forward,
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
    let source = chain.as_ref().map_or_else(
        || format!("{} (ivs per expiry)", path.display()),
        |c| c.file.clone(),
    );
    let value = json!({
        "venue": "deribit",
        "chain": chain.as_ref().map(|c| c.file.clone()),
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
        outln!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(Failure::other)?
        );
        return Ok(());
    }
    outln!("venue: deribit (options priced from {source})");
    outln!(
        "{:<24} {:>8} {:>12} {:>9} {:>11} {:>9} {:>10}",
        "instrument",
        "size",
        "mark (coin)",
        "delta",
        "gamma",
        "vega",
        "theta"
    );
    for r in &rows {
        outln!(
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
    outln!("margin (coin)        initial   maintenance");
    for (label, r) in [
        ("standard", st),
        ("greek", gr.requirement),
        ("portfolio", pm.requirement),
    ] {
        outln!("  {label:<16} {:>10.6} {:>12.6}", r.initial, r.maintenance);
    }
    outln!(
        "greek margin binds at price {:+.0} %, volatility {:+} points; portfolio margin at {:+.0} %, {:+} points",
        gr.worst_price_move * 100.0,
        gr.worst_vol_move,
        pm.worst_price_move * 100.0,
        pm.worst_vol_move
    );
    Ok(())
}
