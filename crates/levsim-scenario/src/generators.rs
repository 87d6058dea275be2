//! Path generators: price paths drawn inside the run that uses them, from a
//! seed that depends only on the scenario seed and the path index.

use levsim_core::MarketTape;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

/// Nanoseconds in a 365-day year (annualised parameters).
const YEAR_NS: f64 = 365.0 * 86_400.0 * 1e9;

/// Geometric Brownian motion: `dP/P = μ dt + σ dW` (annualised μ, σ).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Gbm {
    /// Annual drift.
    pub mu: f64,
    /// Annual volatility.
    pub sigma: f64,
    /// Step (bar) length, ns.
    pub dt_ns: i64,
    /// Number of steps.
    pub steps: usize,
    /// Starting price.
    pub start_price: f64,
    /// Time of the first bar (ns UTC).
    pub start_ns: i64,
}

impl Gbm {
    /// One path as bars. Each bar opens at the previous close; its high and
    /// low are drawn from the exact law of the extremes of the Brownian
    /// bridge (in log price) between its open and close, so a barrier check
    /// on the bar's range is a continuous-monitoring check (CLOSED_FORM F3),
    /// not the discretely monitored one of F4.
    pub fn path(&self, seed: u64) -> MarketTape {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let dt = self.dt_ns as f64 / YEAR_NS;
        let s = self.sigma * dt.sqrt();
        let drift = (self.mu - 0.5 * self.sigma * self.sigma) * dt;
        let var = self.sigma * self.sigma * dt;
        let mut tape = MarketTape {
            symbol: "GBM".into(),
            interval_ns: self.dt_ns,
            ..Default::default()
        };
        tape.ts.reserve(self.steps);
        let mut x = self.start_price.ln();
        for k in 0..self.steps {
            let z: f64 = StandardNormal.sample(&mut rng);
            let y = x + drift + s * z;
            // Max and min of a Brownian bridge from x to y over the step:
            // M = (x + y + sqrt((y − x)² − 2·var·ln U)) / 2, likewise the min.
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = 1.0 - rng.random::<f64>();
            let d2 = (y - x) * (y - x);
            let hi = 0.5 * (x + y + (d2 - 2.0 * var * u1.ln()).sqrt());
            let lo = 0.5 * (x + y - (d2 - 2.0 * var * u2.ln()).sqrt());
            tape.push(
                self.start_ns + k as i64 * self.dt_ns,
                x.exp(),
                hi.exp(),
                lo.exp(),
                y.exp(),
                0.0,
            );
            x = y;
        }
        tape
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_reproducible_and_consistent() {
        let g = Gbm {
            mu: 0.0,
            sigma: 0.8,
            dt_ns: 60_000_000_000,
            steps: 1_000,
            start_price: 100.0,
            start_ns: 0,
        };
        let a = g.path(7);
        assert_eq!(a, g.path(7));
        assert_ne!(a.close, g.path(8).close);
        for i in 0..a.len() {
            assert!(
                a.low[i] <= a.open[i].min(a.close[i]) && a.high[i] >= a.open[i].max(a.close[i])
            );
            if i > 0 {
                assert_eq!(a.open[i], a.close[i - 1]);
            }
        }
    }

    /// Log returns have the GBM mean and variance (within 4 standard errors).
    #[test]
    fn log_return_moments_match_the_parameters() {
        let g = Gbm {
            mu: 0.5,
            sigma: 0.6,
            dt_ns: 3_600_000_000_000,
            steps: 200_000,
            start_price: 100.0,
            start_ns: 0,
        };
        let t = g.path(11);
        let r: Vec<f64> = t
            .close
            .iter()
            .zip(&t.open)
            .map(|(c, o)| (c / o).ln())
            .collect();
        let n = r.len() as f64;
        let mean = r.iter().sum::<f64>() / n;
        let var = r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        let dt = 1.0 / (365.0 * 24.0);
        let (m0, v0) = ((0.5 - 0.18) * dt, 0.36 * dt);
        assert!(
            (mean - m0).abs() < 4.0 * (v0 / n).sqrt(),
            "mean {mean} vs {m0}"
        );
        assert!(
            (var / v0 - 1.0).abs() < 4.0 * (2.0 / n).sqrt(),
            "var {var} vs {v0}"
        );
    }
}
