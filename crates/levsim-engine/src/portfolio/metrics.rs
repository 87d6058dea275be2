//! What a portfolio run returns: the account's metrics (the keys of a
//! single-instrument run) and each leg's.

use levsim_core::{LiquidationEvent, TimestampNs};
use serde::{Deserialize, Serialize};

use crate::RunMetrics;

/// One leg's share of a portfolio run. Money in quote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LegMetrics {
    /// Times the leg was closed (wholly or partly) by a liquidation.
    pub liquidations: u32,
    /// Account liquidations this leg caused: at the liquidation it had the
    /// largest unrealized loss of its bucket.
    pub liquidations_caused: u32,
    /// Open time of the bar of the leg's first liquidation.
    pub first_liquidation_ts: Option<TimestampNs>,
    /// Notional closed by liquidations (at the fill).
    pub liquidated_notional: f64,
    /// Profit and loss of the leg: realized on every close plus the open
    /// remainder at the final mark (before fees and funding).
    pub pnl: f64,
    /// Taker fees on the leg's trades.
    pub trading_fees: f64,
    /// Liquidation fees charged on the leg's liquidated notional.
    pub liquidation_fees: f64,
    /// Net funding on the leg (negative when paid).
    pub funding: f64,
    /// Trades of the leg (excluding liquidations).
    pub trades: u32,
    /// Option legs: positions settled at expiry.
    #[serde(default)]
    pub expired: u32,
    /// Mean signed leverage of the leg (notional / account equity) over
    /// bars with the leg open.
    pub avg_leverage: f64,
    /// Mean maintenance margin of the leg alone (its venue's tables), over
    /// all bars: the margin it locks on its own.
    pub avg_maintenance: f64,
    /// Signed size at the end.
    pub final_qty: f64,
    /// Mark at the end.
    pub final_mark: f64,
}

/// Account series at the kept bar closes (every `stride`-th bar, and every
/// bar with a liquidation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PortfolioSeries {
    /// Bar open times.
    pub ts: Vec<TimestampNs>,
    /// Account equity.
    pub equity: Vec<f64>,
    /// Gross leverage (Σ |notional| / equity).
    pub leverage: Vec<f64>,
    /// Requirement / equity of the most loaded bucket.
    pub margin_ratio: Vec<f64>,
    /// Per leg (outer: leg), the close.
    pub close: Vec<Vec<f64>>,
    /// Per leg, the signed notional at the close.
    pub notional: Vec<Vec<f64>>,
    /// Per leg, the maintenance it locks on its own.
    pub maintenance: Vec<Vec<f64>>,
    /// The book's delta as notional (quote): Σ size × delta × underlying.
    pub delta_notional: Vec<f64>,
    /// The book's gamma as the change of its delta notional for a 1 %
    /// move of the underlying (quote): Σ size × gamma × S² / 100.
    pub gamma_1pct: Vec<f64>,
    /// The book's vega (quote per volatility point): Σ size × vega.
    pub vega: Vec<f64>,
    /// Books with options: the requirement under the Greek (Taylor)
    /// margin at each kept bar (quote; see [`super::models`]).
    #[serde(default)]
    pub margin_greek: Vec<f64>,
    /// Books with options: portfolio margin by full revaluation.
    #[serde(default)]
    pub margin_full: Vec<f64>,
    /// Books with options: SPAN's scanning risk.
    #[serde(default)]
    pub margin_span: Vec<f64>,
    /// Books with options: the price move of the scenario that binds full
    /// revaluation.
    #[serde(default)]
    pub binding_move: Vec<f64>,
    /// Books with options: its volatility move, points.
    #[serde(default)]
    pub binding_vol: Vec<f64>,
    /// Books with options: the price-volatility stress table at the kept
    /// bar where full revaluation asked most.
    #[serde(default)]
    pub stress: Option<super::models::StressTable>,
}

/// The output of a portfolio run.
#[derive(Debug, Clone, PartialEq)]
pub struct PortfolioOutput {
    /// Account metrics, with the keys of a single-instrument run.
    pub metrics: RunMetrics,
    /// Per leg, in instrument order.
    pub legs: Vec<LegMetrics>,
    /// Every liquidation order, in time order (one per leg closed).
    pub liquidations: Vec<LiquidationEvent>,
    /// Leg of each liquidation order.
    pub liquidation_legs: Vec<u16>,
    /// Leg that caused each liquidation order's account event.
    pub liquidation_causes: Vec<u16>,
    /// Series, when asked for (stride > 0).
    pub series: Option<PortfolioSeries>,
    /// Money in minus money out and held (should be 0 up to rounding):
    /// `capital + collateral + reserve + Σ pnl + collateral PnL + funding
    /// − fees + bad debt + reserve yield − final equity − reserve at the
    /// end`.
    pub conservation_error: f64,
    /// Change in value of the collateral in other assets (after
    /// haircuts), sold at a liquidation or held to the end.
    pub collateral_pnl: f64,
    /// Collateral moved between the isolated accounts (`account.transfer`).
    pub transfers: TransferMetrics,
}

/// Collateral moved between a portfolio's isolated accounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TransferMetrics {
    /// Transfers started.
    pub transfers: u64,
    /// Collateral sent (quote).
    pub transferred: f64,
    /// Transfers that landed after their account was liquidated.
    pub landed_too_late: u64,
    /// Collateral still on its way at the end (quote).
    pub in_transit_end: f64,
}
