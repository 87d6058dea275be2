//! Stationary block bootstrap (Politis & Romano, 1994) of a historical
//! file's bars: new paths made of blocks of real bars, with block lengths
//! geometric with a given mean, so the paths keep the history's return
//! distribution, its fat tails and (within a block) its volatility
//! clustering, without the period structure of fixed blocks.

use std::sync::Arc;

use levsim_core::MarketTape;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// One historical bar as log moves: the gap from the previous close to the
/// open, and the high, low and close relative to the open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarShape {
    /// `ln(open / previous close)` (0 for the first bar).
    pub gap: f64,
    /// `ln(high / open)`.
    pub up: f64,
    /// `ln(low / open)`.
    pub down: f64,
    /// `ln(close / open)`.
    pub ret: f64,
}

/// A stationary block bootstrap of a tape's bars.
#[derive(Debug, Clone, PartialEq)]
pub struct Bootstrap {
    /// The source bars (shared by every path).
    pub bars: Arc<[BarShape]>,
    /// Mean block length in bars (≥ 1; 1 = independent bars).
    pub mean_block: f64,
    /// Bars per path.
    pub steps: usize,
    /// Bar length, ns (the source's).
    pub dt_ns: i64,
    /// First price of every path.
    pub start_price: f64,
    /// Time of the first bar (ns UTC).
    pub start_ns: i64,
    /// Where the bars came from, for reports.
    pub source: String,
}

impl Bootstrap {
    /// The bars of `tape` (at least two, all prices positive and finite).
    pub fn shapes(tape: &MarketTape) -> Result<Vec<BarShape>, String> {
        if tape.len() < 2 {
            return Err(format!(
                "needs at least 2 bars to resample, the window has {}",
                tape.len()
            ));
        }
        let mut out = Vec::with_capacity(tape.len());
        for i in 0..tape.len() {
            let (o, h, l, c) = (tape.open[i], tape.high[i], tape.low[i], tape.close[i]);
            if !(o > 0.0 && h > 0.0 && l > 0.0 && c > 0.0 && h.is_finite()) {
                return Err(format!("bar {i} has a non-positive or non-finite price"));
            }
            let gap = if i == 0 {
                0.0
            } else {
                (o / tape.close[i - 1]).ln()
            };
            out.push(BarShape {
                gap,
                up: (h / o).ln().max(0.0),
                down: (l / o).ln().min(0.0),
                ret: (c / o).ln(),
            });
        }
        Ok(out)
    }

    /// A one-line description for reports.
    pub fn label(&self) -> String {
        format!(
            "stationary block bootstrap of {} ({} bars, mean block {} bars)",
            self.source,
            self.bars.len(),
            self.mean_block
        )
    }

    /// The source bar indices of one path: a uniform start, then with
    /// probability `1 / mean_block` a new uniform start, else the next bar
    /// (wrapping around, so every source bar is equally likely at every step).
    pub fn indices(&self, seed: u64) -> Vec<usize> {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let n = self.bars.len();
        let p_new = 1.0 / self.mean_block.max(1.0);
        let mut out = Vec::with_capacity(self.steps);
        let mut j = rng.random_range(0..n);
        for k in 0..self.steps {
            if k > 0 {
                j = if rng.random::<f64>() < p_new {
                    rng.random_range(0..n)
                } else {
                    (j + 1) % n
                };
            }
            out.push(j);
        }
        out
    }

    /// One path. The first bar's gap is dropped (the path opens at
    /// `start_price`); a bar that starts a new block keeps its own gap.
    pub fn path(&self, seed: u64) -> MarketTape {
        self.path_from(&self.indices(seed))
    }

    /// The path made of these source bars (indices from [`Bootstrap::indices`]:
    /// several instruments' bootstraps with the same indices sample the same
    /// time blocks, keeping their cross-correlation).
    pub fn path_from(&self, indices: &[usize]) -> MarketTape {
        let mut tape = MarketTape {
            symbol: "BOOTSTRAP".into(),
            interval_ns: self.dt_ns,
            ..Default::default()
        };
        let mut x = self.start_price.ln();
        for (k, &j) in indices.iter().enumerate() {
            let b = self.bars[j];
            if k > 0 {
                x += b.gap;
            }
            tape.push(
                self.start_ns + k as i64 * self.dt_ns,
                x.exp(),
                (x + b.up).exp(),
                (x + b.down).exp(),
                (x + b.ret).exp(),
                0.0,
            );
            x += b.ret;
        }
        tape
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantile;

    fn source(n: usize) -> MarketTape {
        // A skewed, fat-tailed return series (deterministic): mostly small
        // moves with occasional large drops.
        let mut t = MarketTape::default();
        let mut p = 100.0;
        for i in 0..n {
            let u = ((i * 7919) % 1000) as f64 / 1000.0;
            let r = if u < 0.02 {
                -0.05 - 0.1 * u
            } else {
                0.004 * (u - 0.5)
            };
            let c = p * f64::exp(r);
            t.push(
                i as i64 * 60_000_000_000,
                p,
                p.max(c) * 1.001,
                p.min(c) * 0.999,
                c,
                0.0,
            );
            p = c;
        }
        t.interval_ns = 60_000_000_000;
        t
    }

    fn boot(src: &MarketTape, mean_block: f64, steps: usize) -> Bootstrap {
        Bootstrap {
            bars: Bootstrap::shapes(src).unwrap().into(),
            mean_block,
            steps,
            dt_ns: src.interval_ns,
            start_price: 50.0,
            start_ns: 0,
            source: "test".into(),
        }
    }

    /// Pooled over paths, resampled returns have the history's quantiles:
    /// each q-quantile lies between the history's (q − 0.01)- and
    /// (q + 0.01)-quantiles, including the 1 % tail of crash bars.
    #[test]
    fn bootstrap_preserves_the_return_quantiles() {
        let src = source(5_000);
        let b = boot(&src, 20.0, 500);
        let mut hist: Vec<f64> = src
            .close
            .iter()
            .zip(&src.open)
            .map(|(c, o)| (c / o).ln())
            .collect();
        hist.sort_by(f64::total_cmp);
        let mut sim: Vec<f64> = Vec::new();
        for seed in 0..400 {
            let t = b.path(seed);
            sim.extend(t.close.iter().zip(&t.open).map(|(c, o)| (c / o).ln()));
        }
        sim.sort_by(f64::total_cmp);
        for q in [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] {
            let s = quantile(&sim, q);
            let (lo, hi) = (quantile(&hist, q - 0.01), quantile(&hist, q + 0.01));
            assert!(lo <= s && s <= hi, "q{q}: {s} not in [{lo}, {hi}]");
        }
    }

    /// Blocks have the requested mean length: a bar continues its block
    /// with probability 1 − 1/L.
    #[test]
    fn blocks_have_their_mean_length() {
        let src = source(100_000);
        let b = boot(&src, 8.0, 200_000);
        let idx = b.indices(3);
        let n = idx.len() - 1;
        let continued = idx
            .windows(2)
            .filter(|w| w[1] == (w[0] + 1) % 100_000)
            .count();
        // A new start equal to the next bar (1 in 100,000) is negligible.
        let p = continued as f64 / n as f64;
        let want = 1.0 - 1.0 / 8.0;
        let se = (want * (1.0 - want) / n as f64).sqrt();
        assert!((p - want).abs() < 4.0 * se, "continue share {p} vs {want}");
        // Paths are reproducible and bars keep their shape.
        let t = b.path(3);
        assert_eq!(t, b.path(3));
        for i in 0..t.len() {
            assert!(t.low[i] <= t.open[i].min(t.close[i]));
            assert!(t.high[i] >= t.open[i].max(t.close[i]));
        }
        assert!((t.open[0] - 50.0).abs() < 1e-9);
    }

    #[test]
    fn bad_sources_are_refused() {
        let mut t = source(10);
        t.low[4] = 0.0;
        assert!(Bootstrap::shapes(&t).unwrap_err().contains("bar 4"));
        assert!(Bootstrap::shapes(&source(1)).is_err());
    }
}
