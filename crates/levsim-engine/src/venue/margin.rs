//! Margin models: how much maintenance margin a position needs, and where
//! that puts its liquidation price.

use levsim_core::Side;
use serde::Serialize;

use super::BracketTable;

/// A margin model: one required method (maintenance margin of a notional);
/// leverage limits and the liquidation price have defaults that any
/// monotone model satisfies, and exact overrides where a closed form exists.
pub trait MarginModel {
    /// Maintenance margin (quote) of a position of this notional at mark.
    fn maintenance(&self, notional: f64) -> f64;

    /// Highest leverage the venue accepts at this notional.
    fn max_leverage(&self, _notional: f64) -> f64 {
        f64::INFINITY
    }

    /// Liquidation price of an isolated linear position: the mark at which
    /// `wallet + side·qty·(p − entry) = maintenance(qty·p)`. `None` when
    /// there is none (the position cannot be liquidated, e.g. a fully
    /// collateralised long whose liquidation price would be ≤ 0).
    ///
    /// The default bisects on the equity surplus, which is monotone in the
    /// price for any model whose maintenance rate is below 100 %.
    fn linear_liquidation_price(
        &self,
        side: Side,
        qty: f64,
        entry: f64,
        wallet: f64,
    ) -> Option<f64> {
        let surplus = |p: f64| wallet + side.sign() * qty * (p - entry) - self.maintenance(qty * p);
        let (mut lo, mut hi) = match side {
            Side::Long => (0.0, entry.max(1e-12) * 4.0),
            Side::Short => (entry.max(1e-12) * 0.25, entry.max(1e-12) * 1e6),
        };
        // Long: surplus rises with p; short: falls with p.
        let below = |p: f64| match side {
            Side::Long => surplus(p) <= 0.0,
            Side::Short => surplus(p) > 0.0,
        };
        if side == Side::Long && !below(1e-12) {
            return None;
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if below(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(0.5 * (lo + hi))
    }
}

impl MarginModel for BracketTable {
    #[inline]
    fn maintenance(&self, notional: f64) -> f64 {
        BracketTable::maintenance(self, notional)
    }

    fn max_leverage(&self, notional: f64) -> f64 {
        BracketTable::max_leverage(self, notional)
    }

    /// Binance's formula (SPEC §1.3) for one isolated position,
    /// `LP = (WB + cum_k − side·Q·EP) / (Q·mmr_k − side·Q)`, tried bracket by
    /// bracket until the notional at `LP` falls inside the bracket used.
    fn linear_liquidation_price(
        &self,
        side: Side,
        qty: f64,
        entry: f64,
        wallet: f64,
    ) -> Option<f64> {
        if !(qty > 0.0) {
            return None;
        }
        let s = side.sign();
        for b in self.brackets() {
            let lp = (wallet + b.cum - s * qty * entry) / (qty * b.mmr - s * qty);
            if !(lp.is_finite()) {
                continue;
            }
            let n = qty * lp;
            if n > b.floor && n <= b.cap {
                return Some(lp);
            }
            if lp <= 0.0 && b.floor == 0.0 && side == Side::Long {
                // Even the lowest bracket puts the price at or below zero.
                return None;
            }
        }
        None
    }
}

/// The built-in margin models, for static dispatch from configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum MarginModelAny {
    /// Tiered notional brackets with maintenance amounts (Binance); a flat
    /// rate is the one-bracket case.
    Tiered(BracketTable),
}

impl MarginModel for MarginModelAny {
    #[inline]
    fn maintenance(&self, notional: f64) -> f64 {
        match self {
            MarginModelAny::Tiered(t) => t.maintenance(notional),
        }
    }
    fn max_leverage(&self, notional: f64) -> f64 {
        match self {
            MarginModelAny::Tiered(t) => MarginModel::max_leverage(t, notional),
        }
    }
    fn linear_liquidation_price(
        &self,
        side: Side,
        qty: f64,
        entry: f64,
        wallet: f64,
    ) -> Option<f64> {
        match self {
            MarginModelAny::Tiered(t) => t.linear_liquidation_price(side, qty, entry, wallet),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model that only has the required method, to test the defaults.
    struct Flat(f64);
    impl MarginModel for Flat {
        fn maintenance(&self, n: f64) -> f64 {
            n * self.0
        }
    }

    #[test]
    fn default_bisection_agrees_with_the_bracket_formula() {
        let t = BracketTable::flat(0.005, 200.0);
        for &(side, lev) in &[
            (Side::Long, 10.0),
            (Side::Short, 10.0),
            (Side::Long, 2.0),
            (Side::Short, 50.0),
        ] {
            let (entry, wallet) = (100.0, 1000.0);
            let qty = lev * wallet / entry;
            let exact = t
                .linear_liquidation_price(side, qty, entry, wallet)
                .unwrap();
            let bis = Flat(0.005)
                .linear_liquidation_price(side, qty, entry, wallet)
                .unwrap();
            assert!(
                (exact - bis).abs() < 1e-6 * entry,
                "{side} {lev}: {exact} vs {bis}"
            );
        }
    }

    #[test]
    fn fully_collateralised_long_has_no_liquidation_price() {
        let t = BracketTable::flat(0.005, 200.0);
        // 1x long: wallet = notional; LP = EP·(1 − 1)/(1 − m) = 0.
        assert_eq!(
            t.linear_liquidation_price(Side::Long, 10.0, 100.0, 1000.0),
            None
        );
        assert_eq!(
            Flat(0.005).linear_liquidation_price(Side::Long, 10.0, 100.0, 1000.0),
            None
        );
    }
}
