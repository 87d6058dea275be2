//! Path generators: price paths drawn inside the run that uses them, from a
//! seed that depends only on the scenario seed and the path index.

use levsim_core::MarketTape;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Exp1, Poisson, StandardNormal, StudentT};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

/// Nanoseconds in a 365-day year (annualised parameters).
const YEAR_NS: f64 = 365.0 * 86_400.0 * 1e9;

/// Merton jumps: a Poisson number of jumps per year, each multiplying the
/// price by `exp(J)` with `J ~ N(mean, sigma²)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Jumps {
    /// Expected jumps per year.
    pub rate: f64,
    /// Mean of the log jump.
    pub mean: f64,
    /// Standard deviation of the log jump.
    pub sigma: f64,
}

impl Jumps {
    /// `κ = E[e^J] − 1`, the mean relative jump.
    pub fn kappa(&self) -> f64 {
        (self.mean + 0.5 * self.sigma * self.sigma).exp() - 1.0
    }
}

/// Two-state Markov switching: the path starts calm (the generator's own μ,
/// σ) and switches to a stressed state with its own μ, σ and back, at the
/// given rates per year (switches happen at bar boundaries).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Regime {
    /// Annual drift in the stressed state.
    pub mu: f64,
    /// Annual volatility in the stressed state.
    pub sigma: f64,
    /// Entries into the stressed state per year spent calm.
    pub to_stressed: f64,
    /// Exits from the stressed state per year spent stressed.
    pub to_calm: f64,
}

/// GARCH(1,1) bar variances around the generator's long-run σ:
/// `h' = ω + α·h·ε² + β·h` with `ω = σ²·dt·(1 − α − β)`, and `ε` Student-t
/// with `nu` degrees of freedom scaled to unit variance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Garch {
    /// Reaction to the last shock.
    pub alpha: f64,
    /// Persistence of the last variance.
    pub beta: f64,
    /// Degrees of freedom of the innovations (> 2).
    pub nu: f64,
}

/// Geometric Brownian motion, `dP/P = μ dt + σ dW` (annualised μ, σ), or one
/// of its extensions ([`Model`]): Merton's jump diffusion
/// `dP/P = (μ − λκ) dt + σ dW + (e^J − 1) dN`, whose expected growth is still
/// `μ`; two-state regime switching; or GARCH(1,1) bar variances.
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
    /// What GBM is extended with, if anything.
    pub model: Model,
    /// Whether a bar's high and low are the path's extremes (continuous
    /// monitoring) or only its open and close (close-only checks).
    #[serde(default)]
    pub monitoring: Monitoring,
}

/// How a generated market's bars let a liquidation be seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitoring {
    /// High and low are the exact extremes of the path inside the bar (the
    /// Brownian bridge between open and close, and any jumps): a barrier is
    /// checked continuously (CLOSED_FORM F3).
    #[default]
    Continuous,
    /// High and low are the bar's open and close: a barrier is checked at
    /// the step boundaries only, as a simulator that looks at closes does
    /// (CLOSED_FORM F4: it understates the risk). The same random draws as
    /// `Continuous`, so the two differ only by what is monitored.
    Close,
}

/// The extension of GBM a generator uses (one at a time).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Plain GBM.
    Gbm,
    /// Merton jumps.
    Merton(Jumps),
    /// Two-state regime switching.
    Regime(Regime),
    /// GARCH(1,1) variances.
    Garch(Garch),
}

/// A path generator of a Monte Carlo market: parametric (GBM and its
/// extensions) or resampled from history.
#[derive(Debug, Clone, PartialEq)]
pub enum Generator {
    /// GBM, Merton, regime switching or GARCH (given or fitted).
    Params(Gbm),
    /// Plain GBM drawn in bars of several of its steps (`market.coarse`).
    Coarse(Coarse),
    /// Stationary block bootstrap of a file's bars.
    Bootstrap(crate::bootstrap::Bootstrap),
}

impl Generator {
    /// One path, from its seed.
    pub fn path(&self, seed: u64) -> MarketTape {
        match self {
            Generator::Params(g) => g.path(seed),
            Generator::Coarse(c) => c.path(seed),
            Generator::Bootstrap(b) => b.path(seed),
        }
    }

    /// A one-line description for reports.
    pub fn label(&self) -> String {
        match self {
            Generator::Params(g) => g.label(),
            Generator::Coarse(c) => c.label(),
            Generator::Bootstrap(b) => b.label(),
        }
    }

    /// Bars per path.
    pub fn steps(&self) -> usize {
        match self {
            Generator::Params(g) => g.steps,
            Generator::Coarse(c) => c.bars(),
            Generator::Bootstrap(b) => b.steps,
        }
    }
}

impl Model {
    fn jumps(self) -> Option<Jumps> {
        match self {
            Model::Merton(j) => Some(j),
            _ => None,
        }
    }
}

impl Gbm {
    /// A one-line description for reports.
    pub fn label(&self) -> String {
        let base = self.model_label();
        match self.monitoring {
            Monitoring::Continuous => base,
            Monitoring::Close => format!("{base}, monitored at bar closes only"),
        }
    }

    fn model_label(&self) -> String {
        let (mu, sigma) = (self.mu, self.sigma);
        match self.model {
            Model::Gbm => format!("GBM μ {mu} σ {sigma}"),
            Model::Merton(j) => format!(
                "Merton μ {mu} σ {sigma}, {} jumps/yr of N({}, {}²) in log price",
                j.rate, j.mean, j.sigma
            ),
            Model::Regime(r) => format!(
                "regime switching: calm μ {mu} σ {sigma}, stressed μ {} σ {}, entered {}/yr, left {}/yr",
                r.mu, r.sigma, r.to_stressed, r.to_calm
            ),
            Model::Garch(g) => {
                let r = |x: f64| (x * 1e4).round() / 1e4;
                format!(
                    "GARCH(1,1) μ {} long-run σ {}, α {} β {}, Student-t ν {}",
                    r(mu),
                    r(sigma),
                    r(g.alpha),
                    r(g.beta),
                    r(g.nu)
                )
            }
        }
    }

    /// One path as bars. Each bar opens at the previous close; its high and
    /// low are drawn from the exact law of the extremes of the Brownian
    /// bridge (in log price) between its open and close, so a barrier check
    /// on the bar's range is a continuous-monitoring check (CLOSED_FORM F3),
    /// not the discretely monitored one of F4.
    ///
    /// With jumps, a bar's jumps fall at uniform times inside it; the bridge
    /// extremes are drawn for each diffusion piece between them, so a jump
    /// through a barrier and a touch between jumps are both seen.
    pub fn path(&self, seed: u64) -> MarketTape {
        if self.model == Model::Gbm {
            return self.gbm_path(seed);
        }
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let dt = self.dt_ns as f64 / YEAR_NS;
        let jumps = self.model.jumps();
        let compensator = jumps.map_or(0.0, |j| j.rate * j.kappa());
        // (σ, drift per bar) of the calm and the stressed state.
        let state = |mu: f64, sigma: f64| (sigma, (mu - 0.5 * sigma * sigma - compensator) * dt);
        let calm = state(self.mu, self.sigma);
        let stressed = match self.model {
            Model::Regime(r) => Some((
                state(r.mu, r.sigma),
                1.0 - (-r.to_stressed * dt).exp(),
                1.0 - (-r.to_calm * dt).exp(),
            )),
            _ => None,
        };
        let mut in_stress = false;
        // GARCH: the bar variance h (starting at its long-run level) and the
        // unit-variance Student-t innovation.
        let long_run = self.sigma * self.sigma * dt;
        let mut h = long_run;
        let garch = match self.model {
            Model::Garch(g) => StudentT::new(g.nu)
                .ok()
                .map(|t| (g, t, ((g.nu - 2.0) / g.nu).sqrt())),
            _ => None,
        };
        let poisson = jumps.and_then(|j| Poisson::new(j.rate * dt).ok().map(|p| (j, p)));
        let mut tape = MarketTape {
            symbol: "GBM".into(),
            interval_ns: self.dt_ns,
            ..Default::default()
        };
        for col in [
            &mut tape.open,
            &mut tape.high,
            &mut tape.low,
            &mut tape.close,
            &mut tape.volume,
        ] {
            col.reserve(self.steps);
        }
        tape.ts.reserve(self.steps);
        let mut x = self.start_price.ln();
        let mut open_price = self.start_price;
        let sqrt_dt = dt.sqrt();
        let mut times: Vec<f64> = Vec::new();
        for k in 0..self.steps {
            if let Some((_, p_in, p_out)) = stressed {
                let u: f64 = rng.random();
                in_stress = if in_stress { u >= p_out } else { u < p_in };
            }
            let (sigma, drift) = match (stressed, garch) {
                (Some((st, ..)), _) if in_stress => st,
                (_, Some(_)) => ((h / dt).sqrt(), self.mu * dt - 0.5 * h),
                _ => calm,
            };
            // Jump times as fractions of the bar, in order (none for GBM).
            times.clear();
            if let Some((_, p)) = &poisson {
                let n = p.sample(&mut rng) as usize;
                times.extend((0..n).map(|_| rng.random::<f64>()));
                times.sort_by(f64::total_cmp);
            }
            let (mut hi, mut lo) = (f64::NEG_INFINITY, f64::INFINITY);
            if times.is_empty() && garch.is_none() {
                // The common case, one diffusion piece: the same draws as
                // the general loop below, without its bookkeeping.
                let z: f64 = StandardNormal.sample(&mut rng);
                let y = x + drift + sigma * sqrt_dt * z;
                (hi, lo) = bridge_extremes(&mut rng, x, y, sigma * sigma * dt);
                x = y;
            }
            let pieces = if times.is_empty() && garch.is_none() {
                &[][..]
            } else {
                &[1.0][..]
            };
            let mut t0 = 0.0;
            for (i, &t1) in times.iter().chain(pieces).enumerate() {
                let z: f64 = match &garch {
                    Some((_, t, scale)) => t.sample(&mut rng) * scale,
                    None => StandardNormal.sample(&mut rng),
                };
                let tau = (t1 - t0) * dt;
                let y = x + drift * (t1 - t0) + sigma * tau.sqrt() * z;
                let (h_max, l_min) = bridge_extremes(&mut rng, x, y, sigma * sigma * tau);
                hi = hi.max(h_max);
                lo = lo.min(l_min);
                x = y;
                if let Some((g, ..)) = &garch {
                    h = long_run * (1.0 - g.alpha - g.beta) + g.alpha * h * z * z + g.beta * h;
                }
                if i < times.len() {
                    let (j, _) = poisson.as_ref().expect("jump times only with jumps");
                    let z: f64 = StandardNormal.sample(&mut rng);
                    x += j.mean + j.sigma * z;
                    hi = hi.max(x);
                    lo = lo.min(x);
                }
                t0 = t1;
            }
            let close = x.exp();
            let (high, low) = match self.monitoring {
                Monitoring::Continuous => (hi.exp(), lo.exp()),
                Monitoring::Close => (open_price.max(close), open_price.min(close)),
            };
            tape.push(
                self.start_ns + k as i64 * self.dt_ns,
                open_price,
                high,
                low,
                close,
                0.0,
            );
            open_price = close;
        }
        tape
    }

    /// A step's length in years (annualised parameters).
    pub fn step_years(&self) -> f64 {
        self.dt_ns as f64 / YEAR_NS
    }

    /// [`Gbm::path`] of plain GBM: the same draws in the same order and
    /// the same arithmetic (so the same bits), without the extensions'
    /// per-bar bookkeeping.
    fn gbm_path(&self, seed: u64) -> MarketTape {
        let dt_ns = self.dt_ns;
        self.plain_bars(seed, self.steps, dt_ns, |k| (k as i64 * dt_ns, 1.0))
    }

    /// `n` bars of plain GBM, bar `k` opening `bar(k).0` ns after the start
    /// and lasting `bar(k).1` steps: its close one normal draw of that
    /// many steps' variance, its extremes the bridge's over all of them
    /// (exact whatever the bar's length). With bars of one step the
    /// factors are 1 and the arithmetic is [`Gbm::path`]'s.
    #[inline(always)]
    fn plain_bars(
        &self,
        seed: u64,
        n: usize,
        interval_ns: i64,
        bar: impl Fn(usize) -> (i64, f64),
    ) -> MarketTape {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let dt = self.step_years();
        let (sigma, drift) = (self.sigma, (self.mu - 0.5 * self.sigma * self.sigma) * dt);
        let (step_sd, var) = (sigma * dt.sqrt(), sigma * sigma * dt);
        let mut tape = MarketTape {
            symbol: "GBM".into(),
            interval_ns,
            ts: (0..n).map(|k| self.start_ns + bar(k).0).collect(),
            open: Vec::with_capacity(n),
            high: Vec::with_capacity(n),
            low: Vec::with_capacity(n),
            close: Vec::with_capacity(n),
            volume: vec![0.0; n],
        };
        let mut x = self.start_price.ln();
        let mut open = self.start_price;
        for k in 0..n {
            let steps = bar(k).1;
            let z: f64 = StandardNormal.sample(&mut rng);
            let y = x + drift * steps + step_sd * steps.sqrt() * z;
            let (hi, lo) = bridge_extremes(&mut rng, x, y, var * steps);
            x = y;
            let close = x.exp();
            let (high, low) = match self.monitoring {
                Monitoring::Continuous => (hi.exp(), lo.exp()),
                Monitoring::Close => (open.max(close), open.min(close)),
            };
            tape.open.push(open);
            tape.high.push(high);
            tape.low.push(low);
            tape.close.push(close);
            open = close;
        }
        tape
    }
}

/// Plain GBM, continuously monitored, drawn in bars of `bar_steps` of its
/// steps (`[market] coarse`): bar 0 is one step (a run opens at its
/// close, as on bars of one step), bar 1 the rest of the first
/// `bar_steps`, then bars of `bar_steps` (the horizon is a multiple of
/// them, so bars open on their multiples and the last ends at the
/// horizon). Each bar is exact — its close a draw of its whole length,
/// its high and low the exact extremes of the Brownian bridge across it —
/// so whether a static position's liquidation price is reached, and its
/// final equity, have the law they have on bars of one step;
/// [`crate::first_passage`] then draws the step inside the bar at which
/// the price got there from its exact law.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coarse {
    /// The model: plain GBM with continuous monitoring; `dt_ns` and
    /// `steps` (a multiple of `bar_steps`) are its steps.
    pub gbm: Gbm,
    /// Steps per bar after the first two (at least 2).
    pub bar_steps: usize,
}

impl Coarse {
    /// Bars per path.
    pub fn bars(&self) -> usize {
        1 + self.gbm.steps.div_ceil(self.bar_steps)
    }

    /// First step and number of steps of bar `k`.
    pub fn bar(&self, k: usize) -> (usize, usize) {
        let first = match k {
            0 => 0,
            1 => 1,
            _ => (k - 1) * self.bar_steps,
        };
        let end = (k * self.bar_steps).max(1).min(self.gbm.steps);
        (first, end - first)
    }

    /// The time its bars cover (they differ in length).
    pub fn span_ns(&self) -> i64 {
        self.gbm.steps as i64 * self.gbm.dt_ns
    }

    /// One path: [`Coarse::bars`] bars, each exact for its length.
    pub fn path(&self, seed: u64) -> MarketTape {
        let dt_ns = self.gbm.dt_ns;
        self.gbm
            .plain_bars(seed, self.bars(), dt_ns * self.bar_steps as i64, |k| {
                let (first, len) = self.bar(k);
                (first as i64 * dt_ns, len as f64)
            })
    }

    /// A one-line description for reports.
    pub fn label(&self) -> String {
        let fmt = levsim_core::time::fmt_duration;
        format!(
            "{}, drawn in bars of {} (exact extremes; liquidation times drawn to the {} step)",
            self.gbm.label(),
            fmt(self.gbm.dt_ns * self.bar_steps as i64),
            fmt(self.gbm.dt_ns)
        )
    }
}

/// Log-price extremes of a Brownian bridge from `x` to `y` with variance
/// `var` over the piece, drawn from their exact law:
/// `M = (x + y + sqrt((y − x)² − 2·var·ln U)) / 2`, likewise the min, with
/// `−ln U` drawn directly as a standard exponential (ziggurat, no log).
fn bridge_extremes(rng: &mut Pcg64Mcg, x: f64, y: f64, var: f64) -> (f64, f64) {
    let e1: f64 = Exp1.sample(rng);
    let e2: f64 = Exp1.sample(rng);
    let d2 = (y - x) * (y - x);
    let hi = 0.5 * (x + y + (d2 + 2.0 * var * e1).sqrt());
    let lo = 0.5 * (x + y - (d2 + 2.0 * var * e2).sqrt());
    (hi, lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mean of `x` and its batch-means standard error (batches of `len`).
    fn batch_mean(x: &[f64], len: usize) -> (f64, f64) {
        let batches: Vec<f64> = x
            .chunks(len)
            .map(|c| c.iter().sum::<f64>() / c.len() as f64)
            .collect();
        let k = batches.len() as f64;
        let mean = batches.iter().sum::<f64>() / k;
        let sd = (batches.iter().map(|b| (b - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt();
        (mean, sd / k.sqrt())
    }

    /// Sample autocorrelation of `x` at `lag`.
    fn autocorrelation(x: &[f64], lag: usize) -> f64 {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
        x.windows(lag + 1)
            .map(|w| (w[0] - m) * (w[lag] - m))
            .sum::<f64>()
            / n
            / var
    }

    /// The plain-GBM loop is the general loop to the bit: Merton at rate 0
    /// takes the general loop with the same draws.
    #[test]
    fn plain_gbm_path_is_the_general_loop() {
        for monitoring in [Monitoring::Continuous, Monitoring::Close] {
            let g = Gbm {
                mu: 0.3,
                sigma: 0.9,
                dt_ns: 60_000_000_000,
                steps: 500,
                start_price: 60_000.0,
                start_ns: 7,
                model: Model::Gbm,
                monitoring,
            };
            let general = Gbm {
                model: Model::Merton(Jumps {
                    rate: 0.0,
                    mean: 0.0,
                    sigma: 0.0,
                }),
                ..g
            };
            let (a, b) = (g.path(3), general.path(3));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(a.ts, b.ts);
            assert_eq!(bits(&a.open), bits(&b.open));
            assert_eq!(bits(&a.high), bits(&b.high));
            assert_eq!(bits(&a.low), bits(&b.low));
            assert_eq!(bits(&a.close), bits(&b.close));
            assert_eq!(a, b);
        }
    }

    /// Coarse bars: one step, the rest of the first hour, then hours; they
    /// open on the hours, end at the horizon, chain open to close, and
    /// their log returns have the variance of their length.
    #[test]
    fn coarse_bars_cover_the_horizon_in_exact_pieces() {
        let minute = 60_000_000_000_i64;
        let c = Coarse {
            gbm: Gbm {
                mu: 0.0,
                sigma: 0.8,
                dt_ns: minute,
                steps: 1_440,
                start_price: 100.0,
                start_ns: 0,
                model: Model::Gbm,
                monitoring: Monitoring::Continuous,
            },
            bar_steps: 60,
        };
        assert_eq!(c.bars(), 25);
        let a = c.path(3);
        assert_eq!(a.len(), 25);
        assert_eq!(a.interval_ns, 60 * minute);
        assert_eq!(&a.ts[..3], &[0, minute, 60 * minute]);
        assert_eq!(a.end_ns(), Some(1_440 * minute));
        let total: usize = (0..c.bars()).map(|k| c.bar(k).1).sum();
        assert_eq!(total, 1_440);
        for i in 1..a.len() {
            assert_eq!(a.open[i], a.close[i - 1]);
            assert_eq!(a.ts[i], c.bar(i).0 as i64 * minute);
            assert!(
                a.low[i] <= a.open[i].min(a.close[i]) && a.high[i] >= a.open[i].max(a.close[i])
            );
        }
        // Hourly log returns (bars 2..) over many paths: variance σ²·1h.
        let r: Vec<f64> = (0..4_000)
            .flat_map(|s| {
                let p = c.path(s);
                (2..p.len())
                    .map(move |i| (p.close[i] / p.open[i]).ln())
                    .collect::<Vec<_>>()
            })
            .collect();
        let n = r.len() as f64;
        let var = r.iter().map(|x| x * x).sum::<f64>() / n;
        let want = 0.64 / (365.0 * 24.0);
        // The variance of a squared normal is 2σ⁴.
        assert!(
            (var - want).abs() < 4.0 * want * (2.0 / n).sqrt(),
            "{var} vs {want}"
        );
    }

    #[test]
    fn paths_are_reproducible_and_consistent() {
        let g = Gbm {
            mu: 0.0,
            sigma: 0.8,
            dt_ns: 60_000_000_000,
            steps: 1_000,
            start_price: 100.0,
            start_ns: 0,
            model: Model::Gbm,
            monitoring: Default::default(),
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
            model: Model::Gbm,
            monitoring: Default::default(),
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

    #[test]
    fn merton_jumps_have_their_frequency_and_moments() {
        let j = Jumps {
            rate: 40.0,
            mean: -0.15,
            sigma: 0.02,
        };
        let g = Gbm {
            mu: 0.1,
            sigma: 0.2,
            dt_ns: 86_400_000_000_000,
            steps: 100_000,
            start_price: 100.0,
            start_ns: 0,
            model: Model::Merton(j),
            monitoring: Default::default(),
        };
        let t = g.path(3);
        let dt = 1.0 / 365.0;
        let r: Vec<f64> = t
            .close
            .iter()
            .zip(&t.open)
            .map(|(c, o)| (c / o).ln())
            .collect();
        for i in 0..t.len() {
            assert!(
                t.low[i] <= t.open[i].min(t.close[i]) && t.high[i] >= t.open[i].max(t.close[i])
            );
        }
        let n = r.len() as f64;
        // Bars with a jump: a move of 0.08 is 7.6 diffusion standard
        // deviations, and a jump is 0.15 ± 0.02, so the count is the number
        // of bars with at least one jump, 1 − e^{−λ dt} of them.
        let jumped = r.iter().filter(|x| x.abs() > 0.08).count() as f64 / n;
        let p = 1.0 - (-j.rate * dt).exp();
        assert!(
            (jumped - p).abs() < 4.0 * (p * (1.0 - p) / n).sqrt(),
            "jump bars {jumped} vs {p}"
        );
        // Log-return moments of the compensated jump diffusion.
        let lam = j.rate * dt;
        let m0 = (g.mu - 0.5 * g.sigma * g.sigma - j.rate * j.kappa()) * dt + lam * j.mean;
        let v0 = g.sigma * g.sigma * dt + lam * (j.mean * j.mean + j.sigma * j.sigma);
        let mean = r.iter().sum::<f64>() / n;
        let var = r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        assert!(
            (mean - m0).abs() < 4.0 * (v0 / n).sqrt(),
            "mean {mean} vs {m0}"
        );
        // The variance of a squared jump-mixture return has a fat tail: its
        // standard error is sqrt((μ4 − v²)/n), μ4 ≈ λ dt·m⁴ for these jumps.
        let m4 = lam * j.mean.powi(4) + 3.0 * v0 * v0;
        assert!(
            (var - v0).abs() < 4.0 * ((m4 - v0 * v0) / n).sqrt(),
            "var {var} vs {v0}"
        );
    }

    #[test]
    fn regimes_mix_their_variances_and_cluster_volatility() {
        let r = Regime {
            mu: 0.0,
            sigma: 1.5,
            to_stressed: 12.0,
            to_calm: 52.0,
        };
        let g = Gbm {
            mu: 0.0,
            sigma: 0.3,
            dt_ns: 3_600_000_000_000,
            steps: 2_000_000,
            start_price: 100.0,
            start_ns: 0,
            model: Model::Regime(r),
            monitoring: Default::default(),
        };
        let t = g.path(5);
        let dt = 1.0 / (365.0 * 24.0);
        let sq: Vec<f64> = t
            .close
            .iter()
            .zip(&t.open)
            .map(|(c, o)| (c / o).ln().powi(2) / dt)
            .collect();
        // Stationary share of time stressed: to_stressed / (to_stressed + to_calm)
        // (the per-bar switching probabilities give the same ratio to O(dt)).
        let pi_s = r.to_stressed / (r.to_stressed + r.to_calm);
        let want = (1.0 - pi_s) * g.sigma.powi(2) + pi_s * r.sigma.powi(2);
        // Batch means: 40 batches of 50,000 bars (about 5.7 years, some 60
        // stress spells each) give an honest standard error.
        let (mean, se) = batch_mean(&sq, 50_000);
        assert!(
            (mean - want).abs() < 4.0 * se,
            "E[r²]/dt {mean} vs {want} (se {se})"
        );
        // Volatility clusters: squared returns are correlated at lag 1, where
        // iid returns (one state) give 0 ± 1/sqrt(n).
        let n = sq.len() as f64;
        let rho = autocorrelation(&sq, 1);
        assert!(rho > 10.0 / n.sqrt(), "lag-1 autocorrelation {rho}");
    }

    #[test]
    fn garch_has_its_long_run_variance_and_persistence() {
        let gp = Garch {
            alpha: 0.1,
            beta: 0.8,
            nu: 10.0,
        };
        let g = Gbm {
            mu: 0.0,
            sigma: 0.6,
            dt_ns: 3_600_000_000_000,
            steps: 2_000_000,
            start_price: 100.0,
            start_ns: 0,
            model: Model::Garch(gp),
            monitoring: Default::default(),
        };
        let dt = 1.0 / (365.0 * 24.0);
        let t = g.path(1);
        let sq: Vec<f64> = t
            .close
            .iter()
            .zip(&t.open)
            .map(|(c, o)| (c / o).ln().powi(2) / dt)
            .collect();
        // Long-run variance σ², with a batch-means standard error (40
        // batches of 50,000 bars, far longer than the 1/(1 − α − β) = 10-bar
        // memory).
        let (mean, se) = batch_mean(&sq, 50_000);
        let want = g.sigma * g.sigma;
        assert!(
            (mean - want).abs() < 4.0 * se,
            "E[r²]/dt {mean} vs {want} (se {se})"
        );
        // Persistence: squared returns of a GARCH(1,1) have autocorrelations
        // ρ_k = ρ_1·(α + β)^(k − 1), so (ρ_5/ρ_1)^(1/4) = α + β. Over five
        // seeds the estimate stayed within 0.01 of it; the tolerance is 0.03.
        let n = sq.len() as f64;
        let acf = |lag: usize| autocorrelation(&sq, lag);
        let persistence = (acf(5) / acf(1)).powf(0.25);
        assert!(
            (persistence - (gp.alpha + gp.beta)).abs() < 0.03,
            "persistence {persistence}"
        );
        assert!(acf(1) > 10.0 / n.sqrt(), "no volatility clustering");
    }
}
