//! `levsim adl`: allocate a liquidated position against the opposite
//! side's ADL queue, ranked as the venue ranks it.

use std::path::Path;

use levsim_core::Side;
use levsim_engine::venue::adl::{allocate_queue, position_score, AdlCandidate, AdlRanking};
use levsim_engine::venue::MarginModel;
use levsim_engine::{VenueConfig, VenueProfile};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::Failure;

/// The command line's values.
pub(crate) struct AdlArgs<'a> {
    pub venue: &'a str,
    pub positions: &'a Path,
    pub side: &'a str,
    pub qty: f64,
    pub price: f64,
    pub mark: Option<f64>,
    pub symbol: Option<&'a str>,
    pub json: bool,
}

/// One counterparty as the positions file gives it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// Echoed back as given (a name or a number).
    account: Value,
    /// Position size on the opposite side (base units, > 0).
    qty: f64,
    score: Option<f64>,
    entry: Option<f64>,
    mark: Option<f64>,
    wallet: Option<f64>,
    leverage: Option<f64>,
    pnl_pct: Option<f64>,
    effective_leverage: Option<f64>,
}

fn bad(msg: String) -> Failure {
    Failure::input(anyhow::anyhow!(msg))
}

fn ranking_name(r: AdlRanking) -> &'static str {
    match r {
        AdlRanking::Binance => "binance",
        AdlRanking::Bitmex => "bitmex",
        AdlRanking::Bybit => "bybit",
        AdlRanking::Hyperliquid => "hyperliquid",
        AdlRanking::Unranked => "unranked",
        AdlRanking::Size => "size",
        AdlRanking::ProRata => "pro_rata",
    }
}

pub(crate) fn adl(a: &AdlArgs<'_>) -> Result<(), Failure> {
    let side = match a.side {
        "long" => Side::Long,
        "short" => Side::Short,
        other => return Err(bad(format!("--side: {other:?} is not long or short"))),
    };
    for (flag, v) in [
        ("--qty", Some(a.qty)),
        ("--price", Some(a.price)),
        ("--mark", a.mark),
    ] {
        if let Some(v) = v {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(format!("{flag}: must be > 0, got {v}")));
            }
        }
    }
    let venue = VenueProfile::resolve(
        &VenueConfig {
            profile: a.venue.to_string(),
            symbol: a.symbol.map(str::to_string),
            ..Default::default()
        },
        a.symbol.unwrap_or("BTC"),
    )
    .map_err(|e| bad(format!("--venue: {e}")))?;
    let file = a.positions.display();
    let text = std::fs::read_to_string(a.positions)
        .map_err(|e| bad(format!("--positions: {file}: {e}")))?;
    let entries: Vec<Entry> =
        serde_json::from_str(&text).map_err(|e| bad(format!("--positions: {file}: {e}")))?;
    if entries.is_empty() {
        return Err(bad(format!("--positions: {file}: the queue is empty")));
    }
    let counter = match side {
        Side::Long => Side::Short,
        Side::Short => Side::Long,
    };
    let ranking = venue.adl_ranking;
    let mut cands = Vec::with_capacity(entries.len());
    let mut scores = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let at = |k: &str| format!("--positions: {file}: [{i}].{k}");
        if !(e.qty.is_finite() && e.qty > 0.0) {
            return Err(bad(format!("{}: must be > 0, got {}", at("qty"), e.qty)));
        }
        let score = match (e.score, e.pnl_pct, e.effective_leverage, e.entry) {
            (Some(s), ..) if s.is_finite() => s,
            (Some(s), ..) => {
                return Err(bad(format!(
                    "{}: must be a finite number, got {s}",
                    at("score")
                )))
            }
            (None, Some(p), Some(l), _)
                if matches!(ranking, AdlRanking::Bitmex | AdlRanking::Bybit) =>
            {
                if !(l.is_finite() && l > 0.0 && p.is_finite()) {
                    return Err(bad(format!(
                        "{}: must be > 0 with a finite pnl_pct",
                        at("effective_leverage")
                    )));
                }
                if p > 0.0 {
                    p * l
                } else {
                    p / l
                }
            }
            (None, _, _, Some(entry)) => {
                let mark = e.mark.or(a.mark).unwrap_or(a.price);
                let wallet = match (e.wallet, e.leverage) {
                    (Some(w), _) => w,
                    (None, Some(l)) if l.is_finite() && l >= 1.0 => e.qty * entry / l,
                    (None, Some(l)) => {
                        return Err(bad(format!("{}: must be ≥ 1, got {l}", at("leverage"))))
                    }
                    (None, None) => {
                        return Err(bad(format!(
                            "{}: a computed score needs the position's wallet or leverage",
                            at("wallet")
                        )))
                    }
                };
                if !(entry.is_finite() && entry > 0.0 && mark > 0.0 && wallet.is_finite()) {
                    return Err(bad(format!(
                        "{}: entry, mark and wallet must be positive numbers",
                        at("entry")
                    )));
                }
                let maintenance = venue.margin.maintenance(e.qty * mark, e.qty);
                position_score(ranking, counter, e.qty, entry, mark, wallet, maintenance)
                    .ok_or_else(|| {
                        bad(format!(
                            "{}: {} deleverages in an unranked order; give each account's score",
                            at("score"),
                            venue.name
                        ))
                    })?
            }
            _ => {
                return Err(bad(format!(
                    "{}: give a score, or the position's entry with its wallet or leverage{}",
                    at("score"),
                    if matches!(ranking, AdlRanking::Bitmex | AdlRanking::Bybit) {
                        ", or pnl_pct and effective_leverage"
                    } else {
                        ""
                    }
                )))
            }
        };
        scores.push(score);
        cands.push(AdlCandidate {
            id: i as u64,
            size: e.qty,
            upnl: 0.0,
            wallet: 0.0,
            maintenance: 0.0,
            mark_value: 0.0,
            entry_value: 0.0,
            bankrupt_value: 0.0,
        });
    }
    // Highest score first; equal scores keep the file's order.
    let mut order: Vec<usize> = (0..cands.len()).collect();
    order.sort_by(|&x, &y| scores[y].total_cmp(&scores[x]).then(x.cmp(&y)));
    let (fills, unfilled) = allocate_queue(&cands, &order, a.qty);
    let out = json!({
        "venue": venue.name,
        "ranking": ranking_name(ranking),
        "side": a.side,
        "counterparty_side": match counter { Side::Long => "long", Side::Short => "short" },
        "qty": a.qty,
        "price": a.price,
        "queue": order.iter().map(|&i| json!({"account": entries[i].account, "qty": entries[i].qty, "score": scores[i]})).collect::<Vec<_>>(),
        "fills": fills.iter().map(|&(i, q)| json!({"account": entries[i].account, "qty": q, "price": a.price})).collect::<Vec<_>>(),
        "unfilled": unfilled,
    });
    if a.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(Failure::other)?
        );
        return Ok(());
    }
    outln!(
        "{} ADL ({} ranking): {} {} at {} against the {} queue",
        venue.name,
        ranking_name(ranking),
        a.side,
        a.qty,
        a.price,
        out["counterparty_side"].as_str().unwrap_or("")
    );
    for &(i, q) in &fills {
        let who = match &entries[i].account {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        outln!("  {who} closes {q} (score {:.6})", scores[i]);
    }
    if unfilled > 0.0 {
        outln!("  unfilled: {unfilled} (the queue is shorter than the position)");
    }
    Ok(())
}
