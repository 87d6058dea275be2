//! The subject account: configuration and isolated-margin position state.

use levsim_core::Side;
use serde::{Deserialize, Serialize};

use crate::venue::{MarginModel, VenueProfile};
use crate::EngineError;

/// Margin scope of the subject account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarginMode {
    /// The position has its own margin bucket.
    #[default]
    Isolated,
    /// The account's whole balance backs its positions. With one position
    /// and all capital committed, as here, it has the same liquidation
    /// price as isolated margin.
    Cross,
}

/// The `[account]` of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Starting capital in quote currency (all of it is the position's margin).
    pub capital: f64,
    /// Direction the account trades.
    pub side: Side,
    /// Margin scope.
    #[serde(default)]
    pub margin_mode: MarginMode,
    /// After a liquidation, reopen at the close of that bar with the equity
    /// left, as long as it is at least `min_equity`.
    #[serde(default)]
    pub reenter: bool,
    /// Equity below which the account stops re-entering (quote). Default:
    /// 1 % of `capital`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_equity: Option<f64>,
}

impl AccountConfig {
    /// Checks the values; errors name the field (`account.capital`, …).
    pub fn validate(&self) -> Result<(), EngineError> {
        if !(self.capital.is_finite() && self.capital > 0.0) {
            return Err(EngineError::config(
                "account.capital",
                format!("must be a finite amount > 0, got {}", self.capital),
            ));
        }
        if let Some(m) = self.min_equity {
            if !(m.is_finite() && m > 0.0 && m <= self.capital) {
                return Err(EngineError::config(
                    "account.min_equity",
                    format!("must be in (0, capital], got {m}"),
                ));
            }
        }
        Ok(())
    }

    /// The effective re-entry threshold.
    pub fn min_equity(&self) -> f64 {
        self.min_equity.unwrap_or(0.01 * self.capital)
    }
}

/// An isolated linear position with all of the account's cash as its margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Position {
    /// Isolated wallet balance: cash, realized PnL, fees and funding (quote).
    pub wallet: f64,
    /// Signed size in base units.
    pub qty: f64,
    /// Average entry price.
    pub entry: f64,
    /// Cached liquidation price (NaN when flat or none).
    pub liq: f64,
}

impl Position {
    pub fn new(capital: f64) -> Self {
        Self {
            wallet: capital,
            qty: 0.0,
            entry: 0.0,
            liq: f64::NAN,
        }
    }

    #[inline]
    pub fn equity(&self, price: f64) -> f64 {
        self.wallet + self.qty * (price - self.entry)
    }

    #[inline]
    pub fn is_open(&self) -> bool {
        self.qty != 0.0
    }

    /// Recomputes the cached liquidation price after any change of wallet,
    /// size or entry.
    pub fn refresh(&mut self, venue: &VenueProfile) {
        self.liq = if self.qty == 0.0 {
            f64::NAN
        } else {
            let side = if self.qty > 0.0 {
                Side::Long
            } else {
                Side::Short
            };
            venue
                .margin
                .linear_liquidation_price(side, self.qty.abs(), self.entry, self.wallet)
                .unwrap_or(f64::NAN)
        };
    }

    /// True when the mark at `price` is at or beyond the liquidation price
    /// (equity ≤ maintenance margin).
    #[inline]
    pub fn crossed(&self, price: f64) -> bool {
        (self.qty > 0.0 && price <= self.liq) || (self.qty < 0.0 && price >= self.liq)
    }

    /// Bankruptcy price: where equity is zero.
    pub fn bankruptcy_price(&self) -> f64 {
        self.entry - self.wallet / self.qty
    }

    /// Trades to `target` (signed base units) at `price`, paying `fee_rate`
    /// on the traded notional. Returns the fee paid.
    pub fn trade_to(&mut self, target: f64, price: f64, fee_rate: f64) -> f64 {
        let delta = target - self.qty;
        if delta == 0.0 {
            return 0.0;
        }
        let fee = delta.abs() * price * fee_rate;
        self.wallet -= fee;
        if self.qty == 0.0 || self.qty.signum() == delta.signum() {
            // Adding: weighted average entry.
            self.entry = (self.qty * self.entry + delta * price) / target;
        } else {
            // Reducing (and possibly flipping): realize PnL on the closed part.
            let closed = delta.abs().min(self.qty.abs());
            self.wallet += closed * self.qty.signum() * (price - self.entry);
            if delta.abs() > self.qty.abs() {
                self.entry = price;
            }
        }
        self.qty = target;
        if self.qty == 0.0 {
            self.entry = 0.0;
        }
        fee
    }

    /// The signed size that gives effective leverage `lev` on `side` after
    /// paying the taker fee on the trade itself.
    pub fn qty_for_leverage(&self, side: Side, lev: f64, price: f64, fee_rate: f64) -> f64 {
        let e = self.equity(price);
        let q = self.qty.abs()
            * if self.qty * side.sign() >= 0.0 {
                1.0
            } else {
                -1.0
            };
        // Increasing: q'·p·(1 + L·f) = L·(E + f·q·p); decreasing: with −f.
        let up = lev * (e + fee_rate * q * price) / (price * (1.0 + lev * fee_rate));
        let target = if up >= q {
            up
        } else {
            lev * (e - fee_rate * q * price) / (price * (1.0 - lev * fee_rate))
        };
        side.sign() * target.max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizing_hits_the_target_leverage_after_fees() {
        let mut p = Position::new(10_000.0);
        let f = 0.0004;
        let q = p.qty_for_leverage(Side::Long, 10.0, 100.0, f);
        p.trade_to(q, 100.0, f);
        let lev = p.qty.abs() * 100.0 / p.equity(100.0);
        assert!((lev - 10.0).abs() < 1e-9, "{lev}");
        // Price falls, leverage rises; rebalance down to 10x.
        let q = p.qty_for_leverage(Side::Long, 10.0, 95.0, f);
        p.trade_to(q, 95.0, f);
        let lev = p.qty.abs() * 95.0 / p.equity(95.0);
        assert!((lev - 10.0).abs() < 1e-9, "{lev}");
        // Short side.
        let mut s = Position::new(1_000.0);
        let q = s.qty_for_leverage(Side::Short, 3.0, 50.0, f);
        s.trade_to(q, 50.0, f);
        assert!(s.qty < 0.0);
        assert!((s.qty.abs() * 50.0 / s.equity(50.0) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn reducing_realizes_pnl_and_keeps_equity() {
        let mut p = Position::new(1_000.0);
        p.trade_to(10.0, 100.0, 0.0);
        let e_before = p.equity(110.0);
        p.trade_to(4.0, 110.0, 0.0);
        assert!((p.wallet - 1_060.0).abs() < 1e-9);
        assert_eq!(p.entry, 100.0);
        assert!((p.equity(110.0) - e_before).abs() < 1e-9);
        p.trade_to(0.0, 90.0, 0.0);
        assert!((p.wallet - 1_020.0).abs() < 1e-9);
        assert!(!p.is_open());
    }
}
