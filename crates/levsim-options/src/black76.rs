//! Black-76 on the forward with r = 0 (Deribit's convention): prices and
//! Greeks of European calls and puts.

use serde::{Deserialize, Serialize};

/// Call or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptionKind {
    /// The right to buy at the strike.
    Call,
    /// The right to sell at the strike.
    Put,
}

/// Sensitivities of one option (Deribit's units, see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Greeks {
    /// ∂price/∂F per unit of the underlying: N(d1) for a call, N(d1) − 1
    /// for a put.
    pub delta: f64,
    /// ∂²price/∂F², per USD: n(d1) / (F σ √T).
    pub gamma: f64,
    /// ∂price/∂σ per volatility point (0.01), USD: F n(d1) √T / 100.
    pub vega: f64,
    /// ∂price/∂t per day (365-day year), USD: −F n(d1) σ / (2 √T) / 365.
    pub theta: f64,
}

/// Standard normal density.
pub fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal distribution function, `erfc(−x/√2)/2` (musl's erfc
/// via the `libm` crate: accurate in both tails).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

fn d1_d2(f: f64, k: f64, t: f64, sigma: f64) -> (f64, f64) {
    let s = sigma * t.sqrt();
    let d1 = ((f / k).ln() + 0.5 * s * s) / s;
    (d1, d1 - s)
}

/// Black-76 price in USD per option of a forward `f`, strike `k`, `t`
/// years to expiry and volatility `sigma` (annual), r = 0. At or past
/// expiry (or with no volatility) the intrinsic value.
pub fn price(f: f64, k: f64, t: f64, sigma: f64, kind: OptionKind) -> f64 {
    if t <= 0.0 || sigma <= 0.0 {
        return intrinsic(f, k, kind);
    }
    let (d1, d2) = d1_d2(f, k, t, sigma);
    match kind {
        OptionKind::Call => f * norm_cdf(d1) - k * norm_cdf(d2),
        OptionKind::Put => k * norm_cdf(-d2) - f * norm_cdf(-d1),
    }
}

/// Value at expiry: `max(F − K, 0)` for a call, `max(K − F, 0)` for a put.
pub fn intrinsic(f: f64, k: f64, kind: OptionKind) -> f64 {
    match kind {
        OptionKind::Call => (f - k).max(0.0),
        OptionKind::Put => (k - f).max(0.0),
    }
}

/// The Greeks (see [`Greeks`] for units). At or past expiry: delta is the
/// payoff's slope, the others 0.
pub fn greeks(f: f64, k: f64, t: f64, sigma: f64, kind: OptionKind) -> Greeks {
    if t <= 0.0 || sigma <= 0.0 {
        let itm = match kind {
            OptionKind::Call => f > k,
            OptionKind::Put => f < k,
        };
        let delta = match (kind, itm) {
            (OptionKind::Call, true) => 1.0,
            (OptionKind::Put, true) => -1.0,
            _ => 0.0,
        };
        return Greeks {
            delta,
            gamma: 0.0,
            vega: 0.0,
            theta: 0.0,
        };
    }
    let (d1, _) = d1_d2(f, k, t, sigma);
    let sq = t.sqrt();
    let pdf = norm_pdf(d1);
    Greeks {
        delta: match kind {
            OptionKind::Call => norm_cdf(d1),
            OptionKind::Put => norm_cdf(d1) - 1.0,
        },
        gamma: pdf / (f * sigma * sq),
        vega: f * pdf * sq / 100.0,
        theta: -f * pdf * sigma / (2.0 * sq) / 365.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_normal_distribution_is_accurate_in_both_tails() {
        // Reference values (Abramowitz & Stegun table 26.1 / high-precision).
        for (x, want) in [
            (0.0, 0.5),
            (1.0, 0.841_344_746_068_542_9),
            (-1.0, 0.158_655_253_931_457_05),
            (1.96, 0.975_002_104_851_780_4),
            (-3.0, 0.001_349_898_031_630_094_6),
            (-6.0, 9.865_876_450_376_98e-10),
            (0.3, 0.617_911_422_188_952_7),
        ] {
            let got = norm_cdf(x);
            assert!(
                (got - want).abs() <= 1e-14 * want.max(1e-300) + 1e-16,
                "Φ({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn expired_options_are_worth_their_intrinsic_value() {
        assert_eq!(price(110.0, 100.0, 0.0, 0.5, OptionKind::Call), 10.0);
        assert_eq!(price(90.0, 100.0, -1.0, 0.5, OptionKind::Put), 10.0);
        assert_eq!(greeks(90.0, 100.0, 0.0, 0.5, OptionKind::Put).delta, -1.0);
    }

    proptest! {
        /// Put-call parity on the forward (r = 0): C − P = F − K.
        #[test]
        fn put_call_parity(f in 100.0f64..100_000.0, m in 0.3f64..3.0, t in 0.001f64..2.0, s in 0.05f64..3.0) {
            let k = f * m;
            let c = price(f, k, t, s, OptionKind::Call);
            let p = price(f, k, t, s, OptionKind::Put);
            prop_assert!((c - p - (f - k)).abs() <= 1e-9 * f, "{c} − {p} vs {}", f - k);
        }

        /// Every Greek is the finite difference of the pricer in its units.
        #[test]
        fn greeks_are_the_pricers_derivatives(f in 1_000.0f64..60_000.0, m in 0.6f64..1.6, t in 0.02f64..1.0, s in 0.2f64..2.0, call in any::<bool>()) {
            let kind = if call { OptionKind::Call } else { OptionKind::Put };
            let k = f * m;
            let g = greeks(f, k, t, s, kind);
            let p = |f: f64, t: f64, s: f64| price(f, k, t, s, kind);
            let h = f * 1e-4;
            let delta = (p(f + h, t, s) - p(f - h, t, s)) / (2.0 * h);
            let gamma = (p(f + h, t, s) - 2.0 * p(f, t, s) + p(f - h, t, s)) / (h * h);
            // A small step: deep out of the money at low volatility the
            // third derivative makes a 1e-4 step's error reach 1e-5.
            let vega = (p(f, t, s + 1e-5) - p(f, t, s - 1e-5)) / 2e-5 / 100.0;
            let dt = 1e-5;
            let theta = -(p(f, t + dt, s) - p(f, t - dt, s)) / (2.0 * dt) / 365.0;
            let close = |a: f64, b: f64, tol: f64| (a - b).abs() <= tol * b.abs().max(1e-3);
            prop_assert!(close(g.delta, delta, 1e-5), "delta {} vs {delta}", g.delta);
            prop_assert!(close(g.gamma, gamma, 1e-3), "gamma {} vs {gamma}", g.gamma);
            prop_assert!(close(g.vega, vega, 1e-5), "vega {} vs {vega}", g.vega);
            prop_assert!(close(g.theta, theta, 1e-4), "theta {} vs {theta}", g.theta);
        }
    }
}
