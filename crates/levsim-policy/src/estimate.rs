//! Estimators a policy runs on the closes it has seen, and the closed forms
//! its sizing rules use (CLOSED_FORM F3, F7).

/// Exponentially weighted estimates of the drift and variance of log
/// returns, updated one close at a time (so a policy never looks ahead).
#[derive(Debug, Clone, PartialEq)]
pub struct Ewma {
    /// Weight of the newest return, `1 − 2^(−1/halflife_bars)`.
    alpha: f64,
    mean: f64,
    var: f64,
    /// Returns seen.
    pub count: usize,
    /// Closes consumed from the observation's history.
    seen: usize,
}

impl Ewma {
    /// An estimator with a half-life of `halflife_bars` returns.
    pub fn new(halflife_bars: f64) -> Self {
        Self {
            alpha: 1.0 - 0.5f64.powf(1.0 / halflife_bars.max(1e-9)),
            mean: 0.0,
            var: 0.0,
            count: 0,
            seen: 0,
        }
    }

    /// Consumes the closes not yet seen (`closes` is the whole history up
    /// to now, as the observation gives it).
    pub fn update(&mut self, closes: &[f64]) {
        if closes.len() < self.seen {
            // A new run: start over.
            *self = Self {
                alpha: self.alpha,
                ..Self::new(1.0)
            };
        }
        let start = self.seen.max(1);
        for w in closes.get(start - 1..).unwrap_or(&[]).windows(2) {
            let r = (w[1] / w[0]).ln();
            if !r.is_finite() {
                continue;
            }
            if self.count == 0 {
                self.mean = r;
                self.var = r * r;
            } else {
                self.mean += self.alpha * (r - self.mean);
                self.var += self.alpha * (r * r - self.var);
            }
            self.count += 1;
        }
        self.seen = closes.len();
    }

    /// Annualized volatility (root mean square log return / √dt); `prior`
    /// until `min_returns` returns have been seen.
    pub fn sigma(&self, bar_years: f64, prior: f64, min_returns: usize) -> f64 {
        if self.count < min_returns {
            prior
        } else {
            (self.var / bar_years).sqrt()
        }
    }

    /// Annualized drift of the price, `E[r]/dt + σ²/2`; `prior` until
    /// `min_returns` returns have been seen.
    pub fn mu(&self, bar_years: f64, prior: f64, min_returns: usize) -> f64 {
        if self.count < min_returns {
            prior
        } else {
            let v = (self.var - self.mean * self.mean).max(0.0);
            self.mean / bar_years + 0.5 * v / bar_years
        }
    }
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26; |error| < 1.5e-7).
pub fn norm_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// F3: the probability that a driftless GBM (μ = 0, so log drift −σ²/2)
/// touches a barrier `a` log units against the position within `h` years,
/// for a long (barrier below) or a short (barrier above).
pub fn first_passage(a: f64, sigma: f64, h: f64, long: bool) -> f64 {
    if a <= 0.0 {
        return 1.0;
    }
    let s = sigma * h.sqrt();
    if s <= 0.0 {
        return 0.0;
    }
    // Log price X = ν t + σ W; a long is hit when X ≤ −a, a short when X ≥ a
    // (the mirror image with drift −ν).
    let nu = if long {
        -0.5 * sigma * sigma
    } else {
        0.5 * sigma * sigma
    };
    norm_cdf((-a - nu * h) / s)
        + (-2.0 * nu * a / (sigma * sigma)).exp() * norm_cdf((-a + nu * h) / s)
}

/// The log distance from the entry to the liquidation price of an isolated
/// position at leverage `lev` with maintenance rate `m` (no fees): a long is
/// liquidated at `(1 − 1/L)/(1 − m)` of the entry, a short at
/// `(1 + 1/L)/(1 + m)`.
pub fn liquidation_distance(lev: f64, m: f64, long: bool) -> f64 {
    if long {
        let r = (1.0 - 1.0 / lev) / (1.0 - m);
        if r <= 0.0 {
            f64::INFINITY
        } else {
            -r.ln()
        }
    } else {
        ((1.0 + 1.0 / lev) / (1.0 + m)).ln()
    }
}

/// F7: the leverage whose log distance to liquidation is `k·σ·√h`,
/// `1/L = 1 − (1 − m)·e^{−kσ√h}` (long); for a short
/// `1/L = (1 + m)·e^{kσ√h} − 1`.
pub fn distance_leverage(k: f64, sigma: f64, h: f64, m: f64, long: bool) -> f64 {
    let d = k * sigma * h.sqrt();
    let inv = if long {
        1.0 - (1.0 - m) * (-d).exp()
    } else {
        (1.0 + m) * d.exp() - 1.0
    };
    if inv <= 0.0 {
        f64::INFINITY
    } else {
        1.0 / inv
    }
}

/// The largest leverage in `[lo, hi]` whose F3 probability of touching its
/// liquidation price within `h` years is at most `eps` (bisection: the
/// probability rises with leverage); `lo` if even that is too risky.
pub fn buffer_leverage(eps: f64, sigma: f64, h: f64, m: f64, long: bool, lo: f64, hi: f64) -> f64 {
    let p = |l: f64| first_passage(liquidation_distance(l, m, long), sigma, h, long);
    if p(hi) <= eps {
        return hi;
    }
    if p(lo) > eps {
        return lo;
    }
    let (mut a, mut b) = (lo, hi);
    for _ in 0..100 {
        let mid = 0.5 * (a + b);
        if p(mid) <= eps {
            a = mid;
        } else {
            b = mid;
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CLOSED_FORM Table B: μ = 0, m = 0.5 %, continuous monitoring.
    #[test]
    fn first_passage_matches_table_b() {
        for (lev, days, want) in [
            (10.0, 7.0, 0.2387),
            (20.0, 1.0, 0.1439),
            (50.0, 1.0, 0.6334),
            (5.0, 30.0, 0.2279),
        ] {
            let a = liquidation_distance(lev, 0.005, true);
            let p = first_passage(a, 0.6, days / 365.0, true);
            assert!((p - want).abs() < 5e-4, "{lev}x {days}d: {p} vs {want}");
        }
    }

    #[test]
    fn buffer_and_distance_leverages_hit_their_targets() {
        let (sigma, h, m) = (0.8, 1.0 / 365.0, 0.005);
        let l = buffer_leverage(0.01, sigma, h, m, true, 1.0, 125.0);
        let p = first_passage(liquidation_distance(l, m, true), sigma, h, true);
        assert!((p - 0.01).abs() < 1e-9, "{l}: {p}");
        // F7's leverage puts the liquidation price exactly k·σ·√h away.
        let l7 = distance_leverage(3.0, sigma, h, m, true);
        let d = liquidation_distance(l7, m, true);
        assert!((d - 3.0 * sigma * h.sqrt()).abs() < 1e-12);
        // Shorts mirror longs.
        let ls = distance_leverage(3.0, sigma, h, m, false);
        assert!((liquidation_distance(ls, m, false) - 3.0 * sigma * h.sqrt()).abs() < 1e-12);
    }

    /// The EWMA volatility of a long GBM sample is its σ (within 3 %).
    #[test]
    fn ewma_recovers_a_constant_volatility() {
        // Deterministic ±σ√dt returns: variance exactly σ²dt.
        let dt = 1.0 / 8760.0;
        let s = 0.7 * f64::sqrt(dt);
        let mut closes = vec![100.0];
        for k in 0..5_000 {
            let r = if k % 2 == 0 { s } else { -s };
            closes.push(closes[k] * f64::exp(r));
        }
        let mut e = Ewma::new(200.0);
        e.update(&closes[..2_500]);
        e.update(&closes);
        assert!(
            (e.sigma(dt, 0.0, 10) / 0.7 - 1.0).abs() < 0.03,
            "{}",
            e.sigma(dt, 0.0, 10)
        );
        assert_eq!(e.count, 5_000);
    }
}
