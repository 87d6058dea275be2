//! A two-state Gaussian hidden Markov model of returns (calm and
//! stressed), fitted by expectation-maximization (Baum–Welch, scaled
//! forward-backward) and run forward as a filter: the volatility forecast
//! is the regime-weighted variance over the next bars, so a run of large
//! returns shifts the weight to the stressed state before a trailing
//! average of squared returns has caught up.

// The 2 × 2 state sums index several arrays at once, as the formulas do.
#![allow(clippy::needless_range_loop)]

/// Fitted parameters: state 0 calm, state 1 stressed (the larger σ).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoStateHmm {
    /// Mean return per bar in each state.
    pub mu: [f64; 2],
    /// Standard deviation per bar in each state.
    pub sigma: [f64; 2],
    /// `p[i][j]`: probability of moving from state `i` to `j` in a bar.
    pub p: [[f64; 2]; 2],
}

fn density(x: f64, mu: f64, sigma: f64) -> f64 {
    let z = (x - mu) / sigma;
    (-0.5 * z * z).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt())
}

impl TwoStateHmm {
    /// Fits the model to `r` by EM (with the state probabilities after
    /// its last return) from a calm/stressed split of the
    /// sample's spread (at most `iters` iterations, stopping when the
    /// log-likelihood gains less than 1e-9 relative). `None` with fewer
    /// than 20 returns or none that move.
    pub fn fit(r: &[f64], iters: usize) -> Option<(Self, [f64; 2])> {
        let n = r.len();
        if n < 20 {
            return None;
        }
        let mean = r.iter().sum::<f64>() / n as f64;
        let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        if !(sd > 0.0 && sd.is_finite()) {
            return None;
        }
        let floor = sd * 1e-3;
        let mut m = TwoStateHmm {
            mu: [mean, mean],
            sigma: [0.6 * sd, 2.0 * sd],
            p: [[0.98, 0.02], [0.05, 0.95]],
        };
        let mut pi = [0.8, 0.2];
        let mut alpha = vec![[0.0; 2]; n];
        let mut beta = vec![[0.0; 2]; n];
        let mut scale = vec![0.0; n];
        let mut gamma = vec![[0.0; 2]; n];
        let mut last_ll = f64::NEG_INFINITY;
        for _ in 0..iters {
            // Forward, scaled.
            for t in 0..n {
                let mut a = [0.0; 2];
                for j in 0..2 {
                    let prior = if t == 0 {
                        pi[j]
                    } else {
                        alpha[t - 1][0] * m.p[0][j] + alpha[t - 1][1] * m.p[1][j]
                    };
                    a[j] = prior * density(r[t], m.mu[j], m.sigma[j]);
                }
                let c = (a[0] + a[1]).max(1e-300);
                scale[t] = c;
                alpha[t] = [a[0] / c, a[1] / c];
            }
            let ll: f64 = scale.iter().map(|c| c.ln()).sum();
            // Backward, with the same scales.
            beta[n - 1] = [1.0, 1.0];
            for t in (0..n - 1).rev() {
                let b0 = density(r[t + 1], m.mu[0], m.sigma[0]) * beta[t + 1][0];
                let b1 = density(r[t + 1], m.mu[1], m.sigma[1]) * beta[t + 1][1];
                for i in 0..2 {
                    beta[t][i] = (m.p[i][0] * b0 + m.p[i][1] * b1) / scale[t + 1];
                }
            }
            // Expectations.
            let mut xi = [[0.0; 2]; 2];
            for t in 0..n {
                let g = [alpha[t][0] * beta[t][0], alpha[t][1] * beta[t][1]];
                let s = (g[0] + g[1]).max(1e-300);
                gamma[t] = [g[0] / s, g[1] / s];
                if t + 1 < n {
                    let d = [
                        density(r[t + 1], m.mu[0], m.sigma[0]) * beta[t + 1][0],
                        density(r[t + 1], m.mu[1], m.sigma[1]) * beta[t + 1][1],
                    ];
                    let mut tot = 0.0;
                    let mut x = [[0.0; 2]; 2];
                    for i in 0..2 {
                        for j in 0..2 {
                            x[i][j] = alpha[t][i] * m.p[i][j] * d[j];
                            tot += x[i][j];
                        }
                    }
                    let tot = tot.max(1e-300);
                    for i in 0..2 {
                        for j in 0..2 {
                            xi[i][j] += x[i][j] / tot;
                        }
                    }
                }
            }
            // Maximization.
            pi = gamma[0];
            for i in 0..2 {
                let row = xi[i][0] + xi[i][1];
                if row > 0.0 {
                    m.p[i] = [xi[i][0] / row, xi[i][1] / row];
                }
                let w: f64 = gamma.iter().map(|g| g[i]).sum();
                if w > 1e-9 {
                    let mu = gamma.iter().zip(r).map(|(g, x)| g[i] * x).sum::<f64>() / w;
                    let var = gamma
                        .iter()
                        .zip(r)
                        .map(|(g, x)| g[i] * (x - mu).powi(2))
                        .sum::<f64>()
                        / w;
                    m.mu[i] = mu;
                    m.sigma[i] = var.sqrt().max(floor);
                }
            }
            if (ll - last_ll).abs() <= 1e-9 * ll.abs().max(1.0) {
                break;
            }
            last_ll = ll;
        }
        let mut last = alpha[n - 1];
        if m.sigma[0] > m.sigma[1] {
            m.mu.swap(0, 1);
            m.sigma.swap(0, 1);
            m.p = [[m.p[1][1], m.p[1][0]], [m.p[0][1], m.p[0][0]]];
            last.swap(0, 1);
        }
        Some((m, last))
    }

    /// One filter step: the probabilities of each state after return `x`,
    /// from those after the previous bar.
    pub fn filter(&self, prob: [f64; 2], x: f64) -> [f64; 2] {
        let mut a = [0.0; 2];
        for (j, aj) in a.iter_mut().enumerate() {
            let prior = prob[0] * self.p[0][j] + prob[1] * self.p[1][j];
            *aj = prior * density(x, self.mu[j], self.sigma[j]);
        }
        let c = a[0] + a[1];
        if c > 0.0 && c.is_finite() {
            [a[0] / c, a[1] / c]
        } else {
            // A return both states call impossible: the stressed one.
            [0.0, 1.0]
        }
    }

    /// Forecast variance per bar, averaged over the next `bars` bars from
    /// state probabilities `prob` (the mixture's variance at each).
    pub fn forecast_variance(&self, prob: [f64; 2], bars: usize) -> f64 {
        let mut q = prob;
        let mut sum = 0.0;
        for _ in 0..bars.max(1) {
            q = [
                q[0] * self.p[0][0] + q[1] * self.p[1][0],
                q[0] * self.p[0][1] + q[1] * self.p[1][1],
            ];
            let m = q[0] * self.mu[0] + q[1] * self.mu[1];
            let e2 = q[0] * (self.sigma[0].powi(2) + self.mu[0].powi(2))
                + q[1] * (self.sigma[1].powi(2) + self.mu[1].powi(2));
            sum += e2 - m * m;
        }
        sum / bars.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Distribution, StandardNormal};

    /// A path from known parameters: EM recovers both volatilities within
    /// 10 % and the persistence within 0.02, and the filter finds the
    /// stressed state on most stressed bars.
    #[test]
    fn em_recovers_a_known_two_state_model_and_the_filter_finds_its_states() {
        let truth = TwoStateHmm {
            mu: [0.0, 0.0],
            sigma: [0.005, 0.02],
            p: [[0.99, 0.01], [0.03, 0.97]],
        };
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        let (mut s, mut r, mut states) = (0usize, Vec::new(), Vec::new());
        for _ in 0..6_000 {
            let z: f64 = StandardNormal.sample(&mut rng);
            r.push(truth.mu[s] + truth.sigma[s] * z);
            states.push(s);
            if rng.random::<f64>() > truth.p[s][s] {
                s = 1 - s;
            }
        }
        let (m, _) = TwoStateHmm::fit(&r, 200).unwrap();
        for i in 0..2 {
            assert!((m.sigma[i] / truth.sigma[i] - 1.0).abs() < 0.1, "{m:?}");
            assert!((m.p[i][i] - truth.p[i][i]).abs() < 0.02, "{m:?}");
        }
        let mut prob = [0.5, 0.5];
        let mut hit = 0;
        let mut stressed = 0;
        for (x, st) in r.iter().zip(&states) {
            prob = m.filter(prob, *x);
            if *st == 1 {
                stressed += 1;
                if prob[1] > 0.5 {
                    hit += 1;
                }
            }
        }
        assert!(hit as f64 > 0.8 * stressed as f64, "{hit} of {stressed}");
        // The forecast sits between the states' variances and moves
        // toward the stationary mix over longer horizons.
        let calm = m.forecast_variance([1.0, 0.0], 1);
        let long = m.forecast_variance([1.0, 0.0], 5_000);
        assert!(calm > m.sigma[0].powi(2) && calm < long && long < m.sigma[1].powi(2));
    }

    #[test]
    fn too_little_or_flat_data_fits_nothing() {
        assert!(TwoStateHmm::fit(&[0.01; 10], 50).is_none());
        assert!(TwoStateHmm::fit(&[0.0; 100], 50).is_none());
    }
}
