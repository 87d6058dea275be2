//! Hyperliquid liquidation rules (SPEC §3.3): backstop threshold and
//! partial liquidation with a cooldown.

use serde::{Deserialize, Serialize};

/// True when equity is below `fraction` of maintenance (Hyperliquid: 2/3):
/// the backstop (liquidator vault) takes the position and the remaining
/// margin. The docs say "below", so equality is not eligible.
pub fn backstop_eligible(equity: f64, maintenance: f64, fraction: f64) -> bool {
    equity < fraction * maintenance
}

/// Partial liquidation: positions above `above_notional` are reduced by
/// `fraction` per order; within `cooldown_ns` of a partial liquidation the
/// next order is for the whole remaining position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialLiquidation {
    /// Share of the position sent per order (Hyperliquid: 0.2).
    pub fraction: f64,
    /// Notional above which liquidations are partial (Hyperliquid: 100,000).
    pub above_notional: f64,
    /// Cooldown after a partial liquidation, in seconds (Hyperliquid: 30).
    pub cooldown_s: f64,
}

impl PartialLiquidation {
    /// Size (base units) of the next liquidation order for a position of
    /// `qty` and `notional`, given the time since the last partial
    /// liquidation (`None` if there was none).
    pub fn order_qty(&self, qty: f64, notional: f64, since_last_partial_ns: Option<i64>) -> f64 {
        let in_cooldown = since_last_partial_ns.is_some_and(|d| (d as f64) < self.cooldown_s * 1e9);
        if notional > self.above_notional && !in_cooldown {
            qty * self.fraction
        } else {
            qty
        }
    }
}
