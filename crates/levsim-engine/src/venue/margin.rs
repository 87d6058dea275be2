//! Margin models: how much maintenance margin a position needs, and where
//! that puts its liquidation price (linear and inverse contracts).
//!
//! Units: `notional` is the position's value at mark in the settlement
//! currency (quote for linear, coin for inverse); `size` is its size in
//! base units (coins), which size-scaled models use.

use levsim_core::Side;
use serde::Serialize;

use super::{BracketTable, FractionOfNotional, RiskLimitSteps, SizeScaled};

/// A margin model: one required method (maintenance margin); leverage
/// limits and liquidation prices have defaults that hold for any model whose
/// maintenance grows with the position at less than 100 % of its value, and
/// exact overrides where a closed form exists.
///
/// ```
/// use levsim_engine::venue::MarginModel;
/// struct Flat(f64);
/// impl MarginModel for Flat {
///     fn maintenance(&self, notional: f64, _size: f64) -> f64 { notional * self.0 }
/// }
/// let lp = Flat(0.005).linear_liquidation_price(levsim_core::Side::Long, 10.0, 100.0, 100.0);
/// assert!((lp.unwrap() - 90.0 / 0.995).abs() < 1e-6);
/// ```
pub trait MarginModel {
    /// Maintenance margin of a position with this notional and size.
    fn maintenance(&self, notional: f64, size: f64) -> f64;

    /// Highest leverage the venue accepts at this notional.
    fn max_leverage(&self, _notional: f64) -> f64 {
        f64::INFINITY
    }

    /// Initial margin rate at this notional (default `1 / max_leverage`).
    fn initial_rate(&self, notional: f64) -> f64 {
        1.0 / self.max_leverage(notional)
    }

    /// Highest leverage the venue accepts for a position of this notional
    /// and size (base units). Models whose rates grow with size (Deribit's
    /// standard futures margin, Drift's size premium) override it; the
    /// default is [`MarginModel::max_leverage`], which is then only the
    /// bound at the base rate.
    fn max_leverage_sized(&self, notional: f64, _size: f64) -> f64 {
        self.max_leverage(notional)
    }

    /// Initial margin rate for a position of this notional and size.
    fn initial_rate_sized(&self, notional: f64, size: f64) -> f64 {
        1.0 / self.max_leverage_sized(notional, size)
    }

    /// Liquidation price of an isolated linear position of `qty` base units:
    /// the mark at which `wallet + side·qty·(p − entry) = MM(qty·p)`; `None`
    /// when there is none (e.g. a fully collateralised long). The default
    /// bisects on the equity surplus, which is monotone in the price.
    fn linear_liquidation_price(
        &self,
        side: Side,
        qty: f64,
        entry: f64,
        wallet: f64,
    ) -> Option<f64> {
        let surplus =
            |p: f64| wallet + side.sign() * qty * (p - entry) - self.maintenance(qty * p, qty);
        bisect_liquidation(side, entry, surplus, true)
    }

    /// Liquidation price of an isolated inverse position of `contracts_usd`
    /// (contracts × contract size in USD) with `wallet` in coin:
    /// `wallet + side·Q·(1/entry − 1/p) = MM(Q/p)`. The default bisects.
    fn inverse_liquidation_price(
        &self,
        side: Side,
        contracts_usd: f64,
        entry: f64,
        wallet: f64,
    ) -> Option<f64> {
        let q = contracts_usd;
        let surplus = |p: f64| {
            wallet + side.sign() * q * (1.0 / entry - 1.0 / p) - self.maintenance(q / p, q / p)
        };
        bisect_liquidation(side, entry, surplus, false)
    }
}

/// Bisection for the price at which `surplus` (equity − maintenance) turns
/// non-positive: below entry for longs, above for shorts. `linear` tells
/// whether a long can have no liquidation price (its surplus stays positive
/// down to zero); inverse longs always can be liquidated.
fn bisect_liquidation(
    side: Side,
    entry: f64,
    surplus: impl Fn(f64) -> f64,
    linear: bool,
) -> Option<f64> {
    let e = entry.max(1e-12);
    let (mut lo, mut hi) = match side {
        Side::Long => (e * 1e-9, e * 4.0),
        Side::Short => (e * 0.25, e * 1e6),
    };
    let bad = |p: f64| match side {
        Side::Long => surplus(p) <= 0.0,
        Side::Short => surplus(p) > 0.0,
    };
    match side {
        Side::Long if !bad(lo) => return if linear { None } else { Some(lo) },
        Side::Short if bad(hi) => return None,
        _ => {}
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if bad(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

impl MarginModel for BracketTable {
    #[inline]
    fn maintenance(&self, notional: f64, _size: f64) -> f64 {
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
            if !lp.is_finite() {
                continue;
            }
            let n = qty * lp;
            if n > b.floor && n <= b.cap {
                return Some(lp);
            }
            if lp <= 0.0 && b.floor == 0.0 && side == Side::Long {
                return None;
            }
        }
        // Rounding at a bracket edge can leave no bracket consistent; the
        // surplus is still continuous and monotone, so bisect it.
        let surplus =
            |p: f64| wallet + s * qty * (p - entry) - BracketTable::maintenance(self, qty * p);
        bisect_liquidation(side, entry, surplus, true)
    }

    /// The inverse analogue (brackets on coin notional `Q/p`): long
    /// `p = Q·(1 + mmr)/(W + cum + Q/EP)`, short `p = Q·(1 − mmr)/(Q/EP − W − cum)`,
    /// tried bracket by bracket.
    fn inverse_liquidation_price(
        &self,
        side: Side,
        contracts_usd: f64,
        entry: f64,
        wallet: f64,
    ) -> Option<f64> {
        let q = contracts_usd;
        if !(q > 0.0) {
            return None;
        }
        for b in self.brackets() {
            let p = match side {
                Side::Long => q * (1.0 + b.mmr) / (wallet + b.cum + q / entry),
                Side::Short => q * (1.0 - b.mmr) / (q / entry - wallet - b.cum),
            };
            if !(p.is_finite() && p > 0.0) {
                continue;
            }
            let n = q / p;
            if n > b.floor && n <= b.cap {
                return Some(p);
            }
        }
        let surplus = |p: f64| {
            wallet + side.sign() * q * (1.0 / entry - 1.0 / p)
                - BracketTable::maintenance(self, q / p)
        };
        bisect_liquidation(side, entry, surplus, false)
    }
}

/// The built-in margin models, for static dispatch from configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum MarginModelAny {
    /// Tiered notional brackets with maintenance amounts (Binance,
    /// Hyperliquid); a flat rate is the one-bracket case.
    Tiered(BracketTable),
    /// BitMEX risk-limit steps.
    RiskLimit(RiskLimitSteps),
    /// A fraction of notional with open-interest-scaled initial margin (dYdX v4).
    Fraction(FractionOfNotional),
    /// Rates that grow with size, linearly or with its square root (Deribit, Drift).
    SizeScaled(SizeScaled),
}

macro_rules! each_model {
    ($self:ident, $m:ident => $e:expr) => {
        match $self {
            MarginModelAny::Tiered($m) => $e,
            MarginModelAny::RiskLimit($m) => $e,
            MarginModelAny::Fraction($m) => $e,
            MarginModelAny::SizeScaled($m) => $e,
        }
    };
}

impl MarginModelAny {
    /// A bound on how fast maintenance grows with a linear position's
    /// notional (the largest marginal rate), where the model is continuous:
    /// the highest bracket rate, the fraction of notional, 1 for size-scaled
    /// rates (capped at 100 %). `None` for BitMEX's risk-limit steps, whose
    /// maintenance jumps at each step.
    pub fn maintenance_slope_bound(&self) -> Option<f64> {
        match self {
            MarginModelAny::Tiered(t) => {
                Some(t.brackets().iter().map(|b| b.mmr).fold(0.0, f64::max))
            }
            MarginModelAny::Fraction(f) => Some(f.mmf()),
            MarginModelAny::SizeScaled(_) => Some(1.0),
            MarginModelAny::RiskLimit(_) => None,
        }
    }
}

impl MarginModel for MarginModelAny {
    #[inline]
    fn maintenance(&self, notional: f64, size: f64) -> f64 {
        each_model!(self, m => MarginModel::maintenance(m, notional, size))
    }
    fn max_leverage(&self, notional: f64) -> f64 {
        each_model!(self, m => MarginModel::max_leverage(m, notional))
    }
    fn initial_rate(&self, notional: f64) -> f64 {
        each_model!(self, m => MarginModel::initial_rate(m, notional))
    }
    fn max_leverage_sized(&self, notional: f64, size: f64) -> f64 {
        each_model!(self, m => MarginModel::max_leverage_sized(m, notional, size))
    }
    fn linear_liquidation_price(
        &self,
        side: Side,
        qty: f64,
        entry: f64,
        wallet: f64,
    ) -> Option<f64> {
        each_model!(self, m => m.linear_liquidation_price(side, qty, entry, wallet))
    }
    fn inverse_liquidation_price(
        &self,
        side: Side,
        q: f64,
        entry: f64,
        wallet: f64,
    ) -> Option<f64> {
        each_model!(self, m => m.inverse_liquidation_price(side, q, entry, wallet))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model that only has the required method, to test the defaults.
    struct Flat(f64);
    impl MarginModel for Flat {
        fn maintenance(&self, n: f64, _size: f64) -> f64 {
            n * self.0
        }
    }

    #[test]
    fn default_bisection_agrees_with_the_bracket_formulas() {
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
            // Inverse: Q USD at leverage lev has wallet Q/(entry·lev) coin.
            let q = 10_000.0;
            let w = q / (entry * lev);
            let exact = t.inverse_liquidation_price(side, q, entry, w).unwrap();
            let bis = Flat(0.005)
                .inverse_liquidation_price(side, q, entry, w)
                .unwrap();
            assert!(
                (exact - bis).abs() < 1e-6 * entry,
                "inverse {side} {lev}: {exact} vs {bis}"
            );
        }
    }

    #[test]
    fn a_liquidation_price_at_a_bracket_edge_is_found() {
        // Positions whose liquidation notional is exactly a bracket cap: the
        // formula's notional may round to either side of the edge, and the
        // answer must still be the edge price (here found by construction).
        let t = BracketTable::from_leverage_tiers(&[(0.0, 50.0), (1e5, 20.0), (1e6, 10.0)], "t")
            .unwrap();
        let b = t.brackets()[0];
        for i in 0..500 {
            let qty = 3.0 + i as f64 * 0.731;
            let lp = b.cap / qty;
            for side in [Side::Long, Side::Short] {
                let s = side.sign();
                let entry = lp * (1.0 + s * 0.05);
                let wallet = lp * (qty * b.mmr - s * qty) - b.cum + s * qty * entry;
                let got = t
                    .linear_liquidation_price(side, qty, entry, wallet)
                    .unwrap_or_else(|| panic!("{side} qty {qty}: none"));
                assert!(
                    (got - lp).abs() < 1e-9 * lp,
                    "{side} qty {qty}: {got} vs {lp}"
                );
            }
        }
    }

    #[test]
    fn fully_collateralised_linear_long_has_no_liquidation_price() {
        let t = BracketTable::flat(0.005, 200.0);
        assert_eq!(
            t.linear_liquidation_price(Side::Long, 10.0, 100.0, 1000.0),
            None
        );
        assert_eq!(
            Flat(0.005).linear_liquidation_price(Side::Long, 10.0, 100.0, 1000.0),
            None
        );
        // A 1x inverse long is still liquidatable, near P0·(1 + m)/2 (F2).
        let p = t
            .inverse_liquidation_price(Side::Long, 100.0, 100.0, 1.0)
            .unwrap();
        assert!((p - 100.0 * 1.005 / 2.0).abs() < 1e-9, "{p}");
    }
}
