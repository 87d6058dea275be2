//! Cross margin over several positions (Binance's formula, SPEC §1.3).

use levsim_core::Side;
use serde::{Deserialize, Serialize};

/// One linear position in a cross account, marked at `mark`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CrossPosition {
    /// Direction.
    pub side: Side,
    /// Size in base units (> 0).
    pub qty: f64,
    /// Average entry price.
    pub entry: f64,
    /// Mark price.
    pub mark: f64,
}

impl CrossPosition {
    /// Unrealized PnL at mark.
    pub fn upnl(&self) -> f64 {
        self.side.sign() * self.qty * (self.mark - self.entry)
    }

    /// Notional at mark.
    pub fn notional(&self) -> f64 {
        self.qty * self.mark
    }
}

/// Account margin ratio `Σ MM / (WB + Σ UPNL)`; liquidation when ≥ 1
/// (i.e. equity ≤ maintenance). Infinite when equity ≤ 0.
pub fn margin_ratio(wallet: f64, total_upnl: f64, total_mm: f64) -> f64 {
    let equity = wallet + total_upnl;
    if equity <= 0.0 {
        f64::INFINITY
    } else {
        total_mm / equity
    }
}

/// Binance's one-way liquidation price of position 1 in a cross account:
/// `LP = (WB − TMM1 + UPNL1 + cum − side·Q·EP) / (Q·mmr − side·Q)`, where
/// `TMM1` and `UPNL1` are the maintenance and unrealized PnL of **all other**
/// positions, and `mmr`, `cum` are the bracket of position 1's notional at
/// the liquidation price (the caller iterates brackets, or uses
/// [`BracketTable`](super::BracketTable)'s `linear_liquidation_price` with
/// `wallet = WB − TMM1 + UPNL1`, which is the same formula).
#[allow(clippy::too_many_arguments)]
pub fn binance_cross_liquidation_price(
    wallet: f64,
    other_mm: f64,
    other_upnl: f64,
    cum: f64,
    side: Side,
    qty: f64,
    entry: f64,
    mmr: f64,
) -> f64 {
    let s = side.sign();
    (wallet - other_mm + other_upnl + cum - s * qty * entry) / (qty * mmr - s * qty)
}
