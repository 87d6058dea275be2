use serde::{Deserialize, Serialize};

use crate::{Side, TimestampNs};

/// Why a trade happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillReason {
    /// Opening a position (first entry or re-entry after a liquidation).
    Open,
    /// A policy rebalance towards its target.
    Rebalance,
    /// A voluntary close by the policy.
    Close,
    /// A forced close by the venue's liquidation engine.
    Liquidation,
}

/// One executed trade of the subject account.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    /// Execution time.
    pub ts: TimestampNs,
    /// Signed quantity in base units (+ buy, − sell).
    pub qty: f64,
    /// Execution price.
    pub price: f64,
    /// Fee paid, in quote currency (trading fee or liquidation clearance fee).
    pub fee: f64,
    /// Why the trade happened.
    pub reason: FillReason,
}

/// A forced close of a position by the liquidation engine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LiquidationEvent {
    /// Time of the price point at which the trigger fired.
    pub ts: TimestampNs,
    /// Side of the liquidated position.
    pub side: Side,
    /// Size closed, in base units (positive).
    pub qty: f64,
    /// Size left open after a partial liquidation (0 after a full one).
    pub remaining_qty: f64,
    /// Liquidation price the venue rules computed for the position.
    pub liquidation_price: f64,
    /// Price at which the position was closed.
    pub fill_price: f64,
    /// Bankruptcy price (where the position's margin is exactly zero).
    pub bankruptcy_price: f64,
    /// Clearance fee paid to the insurance fund (quote).
    pub fee: f64,
    /// Loss beyond the position's margin, paid by the insurance fund (quote, ≥ 0).
    pub bad_debt: f64,
    /// Equity left to the account after the close (quote, ≥ 0).
    pub equity_after: f64,
    /// True when the price gapped through the liquidation price (between
    /// bars or at a bar's open), so the fill is at the gap price.
    pub gapped: bool,
    /// True when the venue's backstop took the position with its remaining
    /// margin (equity was below the backstop fraction of maintenance).
    pub backstop: bool,
}
