//! Correlated multi-asset paths: GBM and Merton jump diffusion for several
//! instruments on one clock.

use levsim_core::{Instrument, InstrumentTable, PortfolioTape};
use rand::SeedableRng;
use rand_distr::{Distribution, Exp1, Poisson, StandardNormal};
use rand_pcg::Pcg64Mcg;

use crate::correlation::Correlation;
use crate::generators::{Jumps, Monitoring};

const YEAR_NS: f64 = 365.0 * 86_400e9;

/// One instrument of a [`MultiGbm`].
#[derive(Debug, Clone, PartialEq)]
pub struct LegGbm {
    /// Symbol.
    pub symbol: String,
    /// Annual drift.
    pub mu: f64,
    /// Annual volatility.
    pub sigma: f64,
    /// Starting price.
    pub start_price: f64,
    /// Its own (idiosyncratic) jumps, if any.
    pub jumps: Option<Jumps>,
}

/// Two-state regime switching of every instrument together: in the
/// stressed state each leg has its own stressed drift and volatility, and
/// the diffusions their stressed correlation (correlations rise in a
/// crash).
#[derive(Debug, Clone, PartialEq)]
pub struct MultiRegime {
    /// Entries into the stressed state per year spent calm.
    pub to_stressed: f64,
    /// Exits per year spent stressed.
    pub to_calm: f64,
    /// Stressed annual drift per leg.
    pub mu: Vec<f64>,
    /// Stressed annual volatility per leg.
    pub sigma: Vec<f64>,
    /// Stressed correlation (default: the calm one).
    pub correlation: Option<Correlation>,
}

/// Correlated GBM (Merton with jumps) for several instruments:
/// `d ln P_k = (μ_k − σ_k²/2 − λκ) dt + σ_k dW_k + J`, with
/// `corr(dW_i, dW_j) = ρ_ij` (the Cholesky factor of the correlation
/// matrix applied to independent normals), idiosyncratic jumps per leg and
/// common jumps that hit every leg at once with the same log size. The
/// drift compensates both jump kinds, so each leg's expected growth is `μ`.
///
/// Each leg draws its independent normals and its own jumps from its own
/// stream (seeded from the path seed and the leg index), and the bars'
/// extremes and the common jumps from a shared stream: a leg's path does
/// not depend on how many legs follow it, and two legs with correlation 1
/// and equal parameters are the same path, extremes included. High and
/// low are drawn per leg from the exact law of its Brownian bridge between
/// open and close (continuous monitoring, as the one-asset generator), the
/// shared draws making the extremes of co-moving legs co-move.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiGbm {
    /// The instruments.
    pub legs: Vec<LegGbm>,
    /// Correlation of the diffusions.
    pub correlation: Correlation,
    /// Jumps that hit every leg together.
    pub common_jumps: Option<Jumps>,
    /// Step (bar) length, ns.
    pub dt_ns: i64,
    /// Steps per path.
    pub steps: usize,
    /// Time of the first bar.
    pub start_ns: i64,
    /// What the bars' highs and lows show.
    pub monitoring: Monitoring,
    /// The instruments (from `legs`' symbols), built once.
    pub table: InstrumentTable,
    /// Shock overlays with the instrument each hits (`None`: all), applied
    /// to every path.
    pub shocks: Vec<(Option<usize>, crate::shocks::Shock)>,
    /// Regime switching of every leg together (the state is drawn from the
    /// shared stream at each bar boundary; every path starts calm).
    pub regime: Option<MultiRegime>,
}

impl MultiGbm {
    /// The instrument table of these legs (linear perpetuals).
    pub fn table_of(legs: &[LegGbm]) -> InstrumentTable {
        InstrumentTable::new(
            legs.iter()
                .map(|l| Instrument::linear(l.symbol.clone()))
                .collect(),
        )
        .unwrap_or_default()
    }

    /// A one-line description for reports.
    pub fn label(&self) -> String {
        let regime = self.regime.as_ref().map_or(String::new(), |r| {
            format!(
                "; regime switching: stressed σ {:?}, entered {}/yr, left {}/yr",
                r.sigma, r.to_stressed, r.to_calm
            )
        });
        let legs: Vec<String> = self
            .legs
            .iter()
            .map(|l| {
                let j = l.jumps.map_or(String::new(), |j| {
                    format!(", {} jumps/yr N({}, {}²)", j.rate, j.mean, j.sigma)
                });
                format!("{} μ {} σ {}{j}", l.symbol, l.mu, l.sigma)
            })
            .collect();
        let common = self.common_jumps.map_or(String::new(), |j| {
            format!("; common jumps {}/yr N({}, {}²)", j.rate, j.mean, j.sigma)
        });
        let kind = if self.common_jumps.is_some() || self.legs.iter().any(|l| l.jumps.is_some()) {
            "correlated Merton"
        } else {
            "correlated GBM"
        };
        format!("{kind}: {}{common}{regime}", legs.join("; "))
    }

    /// The generator with its instrument table built from `legs`.
    pub fn with_table(mut self) -> Self {
        self.table = Self::table_of(&self.legs);
        self
    }

    /// One path of every leg, from its seed.
    pub fn path(&self, seed: u64) -> PortfolioTape {
        let n = self.legs.len();
        let dt = self.dt_ns as f64 / YEAR_NS;
        let sqrt_dt = dt.sqrt();
        let common_kappa = self.common_jumps.map_or(0.0, |j| j.rate * j.kappa());
        let mut shared = Pcg64Mcg::seed_from_u64(crate::run_seed(seed, "shared"));
        let mut own: Vec<Pcg64Mcg> = (0..n)
            .map(|k| Pcg64Mcg::seed_from_u64(crate::run_seed(seed, &format!("leg{k}"))))
            .collect();
        let own_poisson: Vec<Option<(Jumps, Poisson<f64>)>> = self
            .legs
            .iter()
            .map(|l| {
                l.jumps
                    .and_then(|j| Poisson::new(j.rate * dt).ok().map(|p| (j, p)))
            })
            .collect();
        let common = self
            .common_jumps
            .and_then(|j| Poisson::new(j.rate * dt).ok().map(|p| (j, p)));
        let drift_of = |mu: f64, sigma: f64, l: &LegGbm| {
            let kappa = l.jumps.map_or(0.0, |j| j.rate * j.kappa());
            (mu - 0.5 * sigma * sigma - kappa - common_kappa) * dt
        };
        let drift: Vec<f64> = self
            .legs
            .iter()
            .map(|l| drift_of(l.mu, l.sigma, l))
            .collect();
        let sigma: Vec<f64> = self.legs.iter().map(|l| l.sigma).collect();
        // The stressed state: (drift, σ) per leg and the switching
        // probabilities per bar.
        let stressed = self.regime.as_ref().map(|r| {
            let d: Vec<f64> = self
                .legs
                .iter()
                .enumerate()
                .map(|(k, l)| drift_of(r.mu[k], r.sigma[k], l))
                .collect();
            (
                d,
                r.sigma.clone(),
                1.0 - (-r.to_stressed * dt).exp(),
                1.0 - (-r.to_calm * dt).exp(),
                r.correlation.as_ref().unwrap_or(&self.correlation),
            )
        });
        let mut in_stress = false;
        // Columns laid out instrument by instrument, written in place.
        let steps = self.steps;
        let mut out = PortfolioTape {
            instruments: self.table.clone(),
            interval_ns: self.dt_ns,
            ts: (0..steps)
                .map(|i| self.start_ns + i as i64 * self.dt_ns)
                .collect(),
            open: vec![0.0; n * steps],
            high: vec![0.0; n * steps],
            low: vec![0.0; n * steps],
            close: vec![0.0; n * steps],
            volume: vec![0.0; n * steps],
        };
        let mut x: Vec<f64> = self.legs.iter().map(|l| l.start_price.ln()).collect();
        let mut open_price: Vec<f64> = self.legs.iter().map(|l| l.start_price).collect();
        let mut z = vec![0.0; n];
        let mut zc = vec![0.0; n];
        for step in 0..self.steps {
            if let Some((_, _, p_in, p_out, _)) = &stressed {
                let u: f64 = rand::RngExt::random(&mut shared);
                in_stress = if in_stress { u >= *p_out } else { u < *p_in };
            }
            let (drift, sigma, corr) = match &stressed {
                Some((d, s, _, _, c)) if in_stress => (d, s, *c),
                _ => (&drift, &sigma, &self.correlation),
            };
            for (k, r) in own.iter_mut().enumerate() {
                z[k] = StandardNormal.sample(r);
            }
            corr.correlate(&z, &mut zc);
            // Shared draws of this step: the bridge's two exponentials and
            // the common jumps.
            let e1: f64 = Exp1.sample(&mut shared);
            let e2: f64 = Exp1.sample(&mut shared);
            let common_jump: f64 = match &common {
                Some((j, p)) => {
                    let count = p.sample(&mut shared) as usize;
                    (0..count)
                        .map(|_| {
                            let u: f64 = StandardNormal.sample(&mut shared);
                            j.mean + j.sigma * u
                        })
                        .sum()
                }
                None => 0.0,
            };
            for k in 0..n {
                let open = x[k];
                let y = open + drift[k] + sigma[k] * sqrt_dt * zc[k];
                let var = sigma[k] * sigma[k] * dt;
                let d2 = (y - open) * (y - open);
                let mut hi = 0.5 * (open + y + (d2 + 2.0 * var * e1).sqrt());
                let mut lo = 0.5 * (open + y - (d2 + 2.0 * var * e2).sqrt());
                let mut close = y;
                // Jumps land at the end of the step: the bar reaches both
                // the diffusion's extremes and the jumped close.
                let mut jump = common_jump;
                if let Some((j, p)) = &own_poisson[k] {
                    let count = p.sample(&mut own[k]) as usize;
                    for _ in 0..count {
                        let u: f64 = StandardNormal.sample(&mut own[k]);
                        jump += j.mean + j.sigma * u;
                    }
                }
                if jump != 0.0 {
                    close += jump;
                    hi = hi.max(close);
                    lo = lo.min(close);
                }
                let (o, c) = (open_price[k], close.exp());
                let (h, l) = match self.monitoring {
                    Monitoring::Continuous => (hi.exp(), lo.exp()),
                    Monitoring::Close => (o.max(c), o.min(c)),
                };
                let j = k * steps + step;
                out.open[j] = o;
                out.high[j] = h;
                out.low[j] = l;
                out.close[j] = c;
                x[k] = close;
                open_price[k] = c;
            }
        }
        if !self.shocks.is_empty() {
            for k in 0..n {
                let id = levsim_core::InstrumentId(k as u16);
                let mut leg = out.leg_tape(id);
                crate::portfolio::shock_leg(&self.shocks, k, &mut leg, &mut None);
                let r = k * steps..(k + 1) * steps;
                out.open[r.clone()].copy_from_slice(&leg.open);
                out.high[r.clone()].copy_from_slice(&leg.high);
                out.low[r.clone()].copy_from_slice(&leg.low);
                out.close[r].copy_from_slice(&leg.close);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use levsim_core::InstrumentId;

    fn gen(rho: f64, sigma: [f64; 2], steps: usize) -> MultiGbm {
        MultiGbm {
            legs: (0..2)
                .map(|k| LegGbm {
                    symbol: format!("S{k}"),
                    mu: 0.0,
                    sigma: sigma[k],
                    start_price: 100.0,
                    jumps: None,
                })
                .collect(),
            correlation: Correlation::new(&[vec![1.0, rho], vec![rho, 1.0]], 2, "c").unwrap(),
            common_jumps: None,
            dt_ns: 3_600_000_000_000,
            steps,
            start_ns: 0,
            monitoring: Monitoring::Continuous,
            table: InstrumentTable::default(),
            shocks: Vec::new(),
            regime: None,
        }
        .with_table()
    }

    fn log_returns(c: &[f64]) -> Vec<f64> {
        c.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
    }

    fn corr(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }

    /// The realized correlation of the legs' returns is the matrix's,
    /// within 4 standard errors ((1 − ρ²)/√n for normal returns).
    #[test]
    fn realized_correlation_is_the_matrix() {
        for rho in [-0.6, 0.0, 0.5, 0.9] {
            let n = 20_000;
            let t = gen(rho, [0.8, 0.5], n + 1).path(7);
            let a = log_returns(t.leg(InstrumentId(0)).close);
            let b = log_returns(t.leg(InstrumentId(1)).close);
            let r = corr(&a, &b);
            let se = (1.0 - rho * rho) / (n as f64).sqrt();
            assert!(
                (r - rho).abs() < 4.0 * se + 1e-12,
                "ρ {rho}: realized {r}, se {se}"
            );
        }
    }

    /// Correlation 1 and equal parameters: the legs are one path, extremes
    /// included; and leg 0 does not depend on the legs after it.
    #[test]
    fn perfectly_correlated_legs_are_one_path() {
        let t = gen(1.0, [0.7, 0.7], 500).path(3);
        let (a, b) = (t.leg(InstrumentId(0)), t.leg(InstrumentId(1)));
        assert_eq!(a.close, b.close);
        assert_eq!(a.low, b.low);
        assert_eq!(a.high, b.high);
        let mut one = gen(1.0, [0.7, 0.7], 500);
        one.legs.truncate(1);
        one.correlation = Correlation::identity(1);
        let one = one.with_table();
        let s = one.path(3);
        assert_eq!(s.leg(InstrumentId(0)).close, a.close);
        assert_eq!(s.leg(InstrumentId(0)).low, a.low);
    }

    /// Regime switching moves every leg's volatility together: with a
    /// stressed state 3x as volatile entered and left often, the two legs'
    /// squared returns are correlated (they are not without it).
    #[test]
    fn regimes_move_every_volatility_together() {
        let mut g = gen(0.0, [0.5, 0.5], 20_000);
        let base = g.path(5);
        g.regime = Some(MultiRegime {
            to_stressed: 200.0,
            to_calm: 200.0,
            mu: vec![0.0, 0.0],
            sigma: vec![1.5, 1.5],
            correlation: None,
        });
        let t = g.path(5);
        let sq = |t: &PortfolioTape, k: u16| -> Vec<f64> {
            log_returns(t.leg(InstrumentId(k)).close)
                .iter()
                .map(|r| r * r)
                .collect()
        };
        let with = corr(&sq(&t, 0), &sq(&t, 1));
        let without = corr(&sq(&base, 0), &sq(&base, 1));
        let se = 1.0 / (20_000f64).sqrt();
        assert!(without.abs() < 4.0 * se, "{without}");
        assert!(with > 10.0 * se, "{with}");
    }

    #[test]
    fn bars_contain_their_open_and_close() {
        let mut g = gen(0.3, [1.5, 0.4], 2_000);
        g.common_jumps = Some(Jumps {
            rate: 50.0,
            mean: -0.1,
            sigma: 0.05,
        });
        let t = g.path(11);
        for k in 0..2 {
            let l = t.leg(InstrumentId(k));
            for i in 0..l.close.len() {
                assert!(l.low[i] <= l.open[i].min(l.close[i]) * (1.0 + 1e-12));
                assert!(l.high[i] >= l.open[i].max(l.close[i]) * (1.0 - 1e-12));
                if i > 0 {
                    assert_eq!(l.open[i], l.close[i - 1]);
                }
            }
        }
    }
}
