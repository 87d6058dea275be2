//! Formula impact models: none, linear, square root.

use levsim_core::{Book, TimestampNs};

use super::{DecayingImpact, FillResult, LiquidityModel, FLOOR};

/// Fills at the reference price with no impact.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NoImpact;

impl LiquidityModel for NoImpact {
    fn fill(&mut self, _t: TimestampNs, mid: f64, qty: f64) -> FillResult {
        FillResult {
            filled: qty.abs(),
            unfilled: 0.0,
            vwap: mid,
            last_price: mid,
            levels: 0,
        }
    }
}

/// Linear impact: `depth` quote of liquidity per unit of relative move (an
/// order of notional `N` moves the price by `N / (depth·scale)`), filled
/// along the line (VWAP at half the move). The move stays on the mark and
/// decays with the half-life.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearImpact {
    /// Quote per unit of relative move (1.0 = 100 %).
    pub depth: f64,
    /// Liquidity scale (drain < 1).
    pub scale: f64,
    state: DecayingImpact,
}

impl LinearImpact {
    /// A linear model; an infinite `half_life_s` keeps the impact for good.
    pub fn new(depth: f64, scale: f64, half_life_s: f64) -> Self {
        Self {
            depth,
            scale,
            state: DecayingImpact::new(half_life_s),
        }
    }
}

impl LiquidityModel for LinearImpact {
    /// Sells fill down to 1 % of `mid` at most; the rest is unfilled.
    fn fill(&mut self, t: TimestampNs, mid: f64, qty: f64) -> FillResult {
        let d = self.depth * self.scale;
        let max_sell = (1.0 - FLOOR) * d / mid;
        let filled = if qty < 0.0 {
            qty.abs().min(max_sell)
        } else {
            qty
        };
        let move_rel = qty.signum() * filled * mid / d;
        self.state.add(t, move_rel);
        FillResult {
            filled,
            unfilled: qty.abs() - filled,
            vwap: mid * (1.0 + 0.5 * move_rel),
            last_price: mid * (1.0 + move_rel),
            levels: 0,
        }
    }
    fn impact(&self, t: TimestampNs) -> f64 {
        self.state.get(t)
    }
    fn reset(&mut self) {
        self.state.reset();
    }
}

/// Square-root impact: an order of `q` base units moves the price by
/// `Y·σ·sqrt(q / (V·scale))` (`σ` the daily volatility, `V` a daily volume
/// or depth scale in base units). Filling along the curve gives a VWAP at
/// two thirds of the final move. The move decays with the half-life.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SqrtImpact {
    /// `Y·σ`: the move for an order of size `V`.
    pub y_sigma: f64,
    /// Size scale `V` (base units).
    pub volume: f64,
    /// Liquidity scale (drain < 1).
    pub scale: f64,
    state: DecayingImpact,
    /// Orders at the same instant in the same direction are one metaorder
    /// (e.g. the rounds of a liquidation cascade): its impact is the square
    /// root of the cumulative size, not a sum of square roots.
    batch: (TimestampNs, f64),
}

impl SqrtImpact {
    /// A square-root model with `Y·σ` and `V` given directly.
    pub fn new(y_sigma: f64, volume: f64, scale: f64, half_life_s: f64) -> Self {
        Self {
            y_sigma,
            volume,
            scale,
            state: DecayingImpact::new(half_life_s),
            batch: (TimestampNs::MIN, 0.0),
        }
    }

    /// The relative move of an order of `q` base units.
    pub fn move_for(&self, q: f64) -> f64 {
        self.y_sigma * (q.abs() / (self.volume * self.scale)).sqrt()
    }

    /// Fits the model to a book by walking it. On each side, for orders of
    /// 1/16 … 1 of that side's depth within `band` of mid, it measures the
    /// move to the last level taken and fits `move = c·sqrt(q)` by least
    /// squares (which weights the large orders a liquidation sends); the two
    /// sides' `c` are combined geometrically. It returns a model with `V` =
    /// the geometric mean of the two sides' depths within `band` and
    /// `Y·σ = c·sqrt(V)`, and the fit's `c`. An order of `(band/c)²` then
    /// moves the price by `band`: about the book's depth at `band` when the
    /// book is square-root shaped.
    pub fn calibrate(book: &Book, band: f64, half_life_s: f64) -> Option<(Self, f64)> {
        let mid = book.mid()?;
        let (bid_depth, ask_depth) = book.depth_within(band)?;
        let fit = |levels: Vec<(f64, f64)>, depth: f64| -> Option<f64> {
            let (mut sxy, mut sxx) = (0.0, 0.0);
            for k in 1..=16 {
                let q = depth * k as f64 / 16.0;
                let mut left = q;
                let mut last = mid;
                for &(p, s) in &levels {
                    if left <= 0.0 {
                        break;
                    }
                    left -= s;
                    last = p;
                }
                let m = (last - mid).abs() / mid;
                sxy += q.sqrt() * m;
                sxx += q;
            }
            (sxx > 0.0 && sxy > 0.0).then(|| sxy / sxx)
        };
        let c_ask = fit(book.asks().collect(), ask_depth)?;
        let c_bid = fit(book.bids().collect(), bid_depth)?;
        let c = (c_ask * c_bid).sqrt();
        let v = (bid_depth * ask_depth).sqrt();
        Some((Self::new(c * v.sqrt(), v, 1.0, half_life_s), c))
    }
}

impl LiquidityModel for SqrtImpact {
    /// Sells fill down to 1 % of `mid` at most; the rest is unfilled.
    fn fill(&mut self, t: TimestampNs, mid: f64, qty: f64) -> FillResult {
        let sign = qty.signum();
        // Size already taken at this instant in this direction.
        let before = if self.batch.0 == t && self.batch.1 * sign > 0.0 {
            self.batch.1.abs()
        } else {
            0.0
        };
        let max_sell = self.volume * self.scale * ((1.0 - FLOOR) / self.y_sigma).powi(2);
        let filled = if qty < 0.0 {
            qty.abs().min((max_sell - before).max(0.0))
        } else {
            qty
        };
        let after = before + filled;
        let (a, b) = (self.move_for(before), self.move_for(after));
        // Mean of y·sqrt(Q/V) over Q in [before, after], relative to `a`.
        let avg = if after > before {
            let k = self.y_sigma / (self.volume * self.scale).sqrt();
            k * 2.0 / 3.0 * (after.powf(1.5) - before.powf(1.5)) / (after - before) - a
        } else {
            0.0
        };
        self.batch = (t, sign * after);
        let m = (b - a) * sign;
        self.state.add(t, m);
        FillResult {
            filled,
            unfilled: qty.abs() - filled,
            vwap: mid * (1.0 + sign * avg),
            last_price: mid * (1.0 + m),
            levels: 0,
        }
    }
    fn impact(&self, t: TimestampNs) -> f64 {
        self.state.get(t)
    }
    fn reset(&mut self) {
        self.state.reset();
        self.batch = (TimestampNs::MIN, 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqrt_impact_scales_with_the_square_root_of_size() {
        let m = SqrtImpact::new(0.02, 1_000.0, 1.0, 60.0);
        for q in [1.0, 10.0, 250.0, 1_000.0] {
            let r = m.move_for(4.0 * q) / m.move_for(q);
            assert!((r - 2.0).abs() < 1e-12, "{q}: {r}");
        }
        assert!((m.move_for(1_000.0) - 0.02).abs() < 1e-12);
        // Draining liquidity to a quarter doubles the move.
        let d = SqrtImpact::new(0.02, 1_000.0, 0.25, 60.0);
        assert!((d.move_for(1_000.0) - 0.04).abs() < 1e-12);
    }

    #[test]
    fn impact_decays_with_its_half_life() {
        let mut m = LinearImpact::new(1e6, 1.0, 30.0);
        m.fill(0, 100.0, -100.0); // 10,000 quote of a 1,000,000 depth: −1 %
        assert!((m.impact(0) + 0.01).abs() < 1e-12);
        assert!((m.impact(30_000_000_000) + 0.005).abs() < 1e-12);
        assert!((m.impact(60_000_000_000) + 0.0025).abs() < 1e-12);
        m.reset();
        assert_eq!(m.impact(0), 0.0);
    }
}
