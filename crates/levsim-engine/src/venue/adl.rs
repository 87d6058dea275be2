//! Auto-deleveraging: ranking functions of the venues and queue allocation
//! (SPEC §1.7, §2.4, §3.3, §4.3, §10.1.9).

use serde::{Deserialize, Serialize};

/// A candidate for deleveraging (an account on the profitable side).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdlCandidate {
    /// Account id (for stable tie-breaks and reporting).
    pub id: u64,
    /// Position size that can be closed (base units, > 0).
    pub size: f64,
    /// Unrealized PnL (quote).
    pub upnl: f64,
    /// Wallet balance (quote).
    pub wallet: f64,
    /// Maintenance margin (quote).
    pub maintenance: f64,
    /// Position value at mark (quote, > 0).
    pub mark_value: f64,
    /// Position value at average entry (quote, > 0).
    pub entry_value: f64,
    /// Position value at the bankruptcy price (quote).
    pub bankrupt_value: f64,
}

/// How a venue ranks ADL candidates (higher ranks are closed first), or
/// dYdX's unranked order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdlRanking {
    /// Binance: `PnL% × MarginRatio`, `PnL% = max(0, UPNL)/max(1, WB)`.
    Binance,
    /// BitMEX: `PnL% × EffLev` when in profit, `PnL% / EffLev` otherwise.
    Bitmex,
    /// Hyperliquid: `(mark/entry) × (notional/account value)`.
    Hyperliquid,
    /// dYdX v4: no ranking; candidates in a pseudo-random rotation from a
    /// seeded start.
    Unranked,
    /// Bybit: "derived in order of highest profit and effective leverage
    /// use" (Bybit help centre, "What is Auto-Deleveraging (ADL)"): the
    /// quantities of BitMEX's score, `PnL% × EffLev` in profit and
    /// `PnL% / EffLev` at a loss, which levsim uses for it.
    Bybit,
    /// Largest position (value at mark) first: a research ranking that
    /// ignores profit and leverage.
    Size,
    /// No queue: every profitable counterparty gives up the same share of
    /// its profit (the crowd pass allocates it pro rata; a queue of these
    /// runs in id order).
    ProRata,
}

/// Largest position first.
pub fn size_score(c: &AdlCandidate) -> f64 {
    c.mark_value.abs()
}

/// Binance's LeveragePnL score.
pub fn binance_score(c: &AdlCandidate) -> f64 {
    let pnl_pct = c.upnl.max(0.0) / c.wallet.max(1.0);
    let equity = c.wallet + c.upnl;
    let margin_ratio = if equity > 0.0 {
        c.maintenance / equity
    } else {
        0.0
    };
    pnl_pct * margin_ratio
}

/// BitMEX's ranking score.
pub fn bitmex_score(c: &AdlCandidate) -> f64 {
    let pnl_pct = (c.mark_value - c.entry_value) / c.entry_value.abs();
    let eff_lev = c.mark_value.abs() / (c.mark_value - c.bankrupt_value);
    if pnl_pct > 0.0 {
        pnl_pct * eff_lev
    } else {
        pnl_pct / eff_lev
    }
}

/// Hyperliquid's ranking score: `(mark/entry) × (notional/account value)`.
pub fn hyperliquid_score(c: &AdlCandidate) -> f64 {
    let account_value = c.wallet + c.upnl;
    (c.mark_value / c.entry_value) * (c.mark_value / account_value)
}

impl AdlRanking {
    /// The order in which candidates are deleveraged (indices into `cands`):
    /// highest score first, ties by id; `Unranked` rotates from `seed`.
    pub fn order(self, cands: &[AdlCandidate], seed: u64) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..cands.len()).collect();
        let score: fn(&AdlCandidate) -> f64 = match self {
            AdlRanking::Binance => binance_score,
            AdlRanking::Bitmex | AdlRanking::Bybit => bitmex_score,
            AdlRanking::Hyperliquid => hyperliquid_score,
            AdlRanking::Size => size_score,
            AdlRanking::ProRata => {
                idx.sort_by_key(|&i| cands[i].id);
                return idx;
            }
            AdlRanking::Unranked => {
                idx.sort_by_key(|&i| cands[i].id);
                if !idx.is_empty() {
                    let k = (seed % idx.len() as u64) as usize;
                    idx.rotate_left(k);
                }
                return idx;
            }
        };
        idx.sort_by(|&a, &b| {
            score(&cands[b])
                .total_cmp(&score(&cands[a]))
                .then(cands[a].id.cmp(&cands[b].id))
        });
        idx
    }
}

/// Allocates `volume` (base units) over candidates in `order`, closing each
/// fully before the next (the industry's greedy queue). Returns
/// `(candidate index, size closed)` and the volume left unallocated.
pub fn allocate_queue(
    cands: &[AdlCandidate],
    order: &[usize],
    volume: f64,
) -> (Vec<(usize, f64)>, f64) {
    let mut left = volume;
    let mut out = Vec::new();
    for &i in order {
        if left <= 0.0 {
            break;
        }
        let take = cands[i].size.min(left);
        if take > 0.0 {
            out.push((i, take));
            left -= take;
        }
    }
    (out, left.max(0.0))
}

/// The price at which ADL closes counterparties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdlPrice {
    /// The bankruptcy price of the liquidated order (Binance, BitMEX, dYdX).
    Bankruptcy,
    /// The previous mark price (Hyperliquid).
    PreviousMark,
    /// The oracle price (dYdX final settlement).
    Oracle,
}

impl AdlPrice {
    /// Picks the price under this rule.
    pub fn price(self, bankruptcy: f64, previous_mark: f64, oracle: f64) -> f64 {
        match self {
            AdlPrice::Bankruptcy => bankruptcy,
            AdlPrice::PreviousMark => previous_mark,
            AdlPrice::Oracle => oracle,
        }
    }
}

/// A counterparty's ADL score from its position, under `ranking`, as the
/// `levsim adl` calculator computes it when a score is not given: a
/// position of `qty` base units on `side`, entered at `entry`, marked at
/// `mark`, with isolated `wallet` and `maintenance` margin (quote).
/// BitMEX's values are signed by side (a short's values are negative), so
/// that its PnL % and effective leverage read the same for both sides.
/// `None` for the unranked order (dYdX) and pro-rata allocation.
pub fn position_score(
    ranking: AdlRanking,
    side: levsim_core::Side,
    qty: f64,
    entry: f64,
    mark: f64,
    wallet: f64,
    maintenance: f64,
) -> Option<f64> {
    let s = side.sign();
    let upnl = s * qty * (mark - entry);
    // The price at which the wallet is exhausted.
    let bankrupt = entry - s * wallet / qty;
    let c = AdlCandidate {
        id: 0,
        size: qty,
        upnl,
        wallet,
        maintenance,
        mark_value: qty * mark,
        entry_value: qty * entry,
        bankrupt_value: qty * bankrupt,
    };
    match ranking {
        AdlRanking::Binance => Some(binance_score(&c)),
        AdlRanking::Hyperliquid => Some(hyperliquid_score(&c)),
        AdlRanking::Bitmex | AdlRanking::Bybit => Some(bitmex_score(&AdlCandidate {
            mark_value: s * c.mark_value,
            entry_value: s * c.entry_value,
            bankrupt_value: s * c.bankrupt_value,
            ..c
        })),
        AdlRanking::Size => Some(size_score(&c)),
        AdlRanking::Unranked | AdlRanking::ProRata => None,
    }
}

#[cfg(test)]
mod position_score_tests {
    use super::*;
    use levsim_core::Side;

    /// SPEC BMX-ADL-2 (linear: mark value 1,100, entry 1,000, bankrupt
    /// 910: PnL % 0.10, effective leverage 5.7895, ranking 0.57895), for a
    /// long and for the mirrored short.
    #[test]
    fn bitmex_ranking_of_a_long_and_a_short() {
        // 10 units entered at 100, marked at 110, wallet 90 (bankrupt at 91).
        let long = position_score(
            AdlRanking::Bitmex,
            Side::Long,
            10.0,
            100.0,
            110.0,
            90.0,
            0.0,
        )
        .unwrap();
        assert!((long - 0.578_947_368).abs() < 1e-8, "{long}");
        // The short: entered at 100, marked at 90 (+10 %), wallet 90
        // (bankrupt at 109): PnL 0.10, leverage 900/190.
        let short = position_score(
            AdlRanking::Bitmex,
            Side::Short,
            10.0,
            100.0,
            90.0,
            90.0,
            0.0,
        )
        .unwrap();
        assert!((short - 0.1 * 900.0 / 190.0).abs() < 1e-12, "{short}");
        assert!(
            position_score(AdlRanking::Unranked, Side::Long, 1.0, 1.0, 1.0, 1.0, 0.0).is_none()
        );
    }
}
