//! The implied-volatility smile of one expiry as a raw SVI curve (Gatheral):
//! total variance `w(k) = a + b(ρ(k − m) + √((k − m)² + σ²))` in log
//! moneyness `k = ln(K/F)`, fitted to a chain's mark IVs by least squares
//! (Nelder–Mead on the parameters, kept in the region where the curve is a
//! valid variance: `b ≥ 0`, `|ρ| < 1`, `σ > 0`, `a + bσ√(1 − ρ²) ≥ 0`).

use serde::Serialize;

/// Raw SVI parameters of one expiry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Svi {
    /// Level.
    pub a: f64,
    /// Wing slope.
    pub b: f64,
    /// Skew, in (−1, 1).
    pub rho: f64,
    /// Horizontal shift.
    pub m: f64,
    /// Curvature at the money, > 0.
    pub sigma: f64,
    /// Years to expiry the fit is for.
    pub t: f64,
}

/// A fit and how far it is from the points it was fitted to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SviFit {
    /// The curve.
    pub svi: Svi,
    /// Root mean square error in implied volatility points.
    pub rmse_vol_points: f64,
    /// Largest error in volatility points.
    pub max_error_vol_points: f64,
    /// Points fitted.
    pub points: usize,
}

impl Svi {
    /// Total variance at log moneyness `k`.
    pub fn total_variance(&self, k: f64) -> f64 {
        let d = k - self.m;
        self.a + self.b * (self.rho * d + (d * d + self.sigma * self.sigma).sqrt())
    }

    /// Implied volatility (annual, 0.8 = 80 %) at log moneyness `k`.
    pub fn vol(&self, k: f64) -> f64 {
        (self.total_variance(k).max(0.0) / self.t).sqrt()
    }

    /// Implied volatility of strike `k_abs` with forward `f`.
    pub fn vol_at(&self, f: f64, strike: f64) -> f64 {
        self.vol((strike / f).ln())
    }

    fn valid(&self) -> bool {
        self.b >= 0.0
            && self.rho.abs() < 1.0
            && self.sigma > 0.0
            && self.a + self.b * self.sigma * (1.0 - self.rho * self.rho).sqrt() >= 0.0
    }
}

/// Fits a raw SVI curve to `(log moneyness, implied vol)` points of one
/// expiry `t` years away. `None` with fewer than 5 points.
pub fn fit(points: &[(f64, f64)], t: f64) -> Option<SviFit> {
    if points.len() < 5 || !(t > 0.0) {
        return None;
    }
    // Fitted in variance (σ_iv², i.e. total variance / t), so that the
    // parameters are of order one whatever the expiry; a and b scale back.
    let var: Vec<(f64, f64)> = points.iter().map(|&(k, v)| (k, v * v)).collect();
    let loss = |p: &[f64; 5]| -> f64 {
        let s = Svi {
            a: p[0],
            b: p[1],
            rho: p[2],
            m: p[3],
            sigma: p[4],
            t: 1.0,
        };
        if !s.valid() {
            return f64::INFINITY;
        }
        var.iter()
            .map(|&(k, v)| {
                let e = s.total_variance(k) - v;
                e * e
            })
            .sum()
    };
    let vmin = var.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let (kmin, kmax) = var
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    let span = (kmax - kmin).max(1e-3);
    // Starts across the smile: the vertex at the lowest point or at the
    // money, sharp or round, skewed either way, steep or flat wings; the
    // best fit wins.
    let k_low = var
        .iter()
        .fold(
            (0.0, f64::INFINITY),
            |b, p| if p.1 < b.1 { (p.0, p.1) } else { b },
        )
        .0;
    let mut best = ([0.0; 5], f64::INFINITY);
    for m0 in [k_low, 0.0] {
        for s0 in [0.02, 0.1, 0.4] {
            for rho0 in [-0.5, 0.0, 0.5] {
                for b0 in [1.0, 5.0] {
                    let sig = s0 * span;
                    let b = b0 * vmin / span;
                    let start = [(vmin - b * sig).max(0.0), b, rho0, m0, sig];
                    let x = nelder_mead(&loss, start, 2_000);
                    let l = loss(&x);
                    if l < best.1 {
                        best = (x, l);
                    }
                }
            }
        }
    }
    let p = best.0;
    let svi = Svi {
        a: p[0] * t,
        b: p[1] * t,
        rho: p[2],
        m: p[3],
        sigma: p[4],
        t,
    };
    let errs: Vec<f64> = points
        .iter()
        .map(|&(k, v)| (svi.vol(k) - v).abs() * 100.0)
        .collect();
    let rmse = (errs.iter().map(|e| e * e).sum::<f64>() / errs.len() as f64).sqrt();
    Some(SviFit {
        svi,
        rmse_vol_points: rmse,
        max_error_vol_points: errs.iter().copied().fold(0.0, f64::max),
        points: points.len(),
    })
}

/// The points of a chain's smile without its capped wings: venues cap the
/// mark IV of far strikes, which shows as a plateau of equal IVs (within
/// one volatility point) at either end of the strikes; three or more at
/// an end are not market information about the smile and are left out.
pub fn drop_capped_wings(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut p = points.to_vec();
    p.sort_by(|a, b| a.0.total_cmp(&b.0));
    let plateau = |xs: &[(f64, f64)]| -> usize {
        let Some(&(_, v0)) = xs.first() else {
            return 0;
        };
        let n = xs.iter().take_while(|x| (x.1 - v0).abs() < 0.01).count();
        if n >= 3 {
            n
        } else {
            0
        }
    };
    let lo = plateau(&p);
    let mut rev = p.clone();
    rev.reverse();
    let hi = plateau(&rev);
    if lo + hi >= p.len() {
        return p;
    }
    p[lo..p.len() - hi].to_vec()
}

/// Nelder–Mead minimization of `f` from `x0` (restarted once from the
/// best point, which un-sticks a collapsed simplex).
fn nelder_mead(f: &dyn Fn(&[f64; 5]) -> f64, x0: [f64; 5], iters: usize) -> [f64; 5] {
    let mut best = x0;
    for round in 0..3 {
        let scale = if round == 0 { 0.1 } else { 0.02 };
        let mut simplex: Vec<([f64; 5], f64)> = (0..6)
            .map(|i| {
                let mut x = best;
                if i > 0 {
                    let d = x[i - 1].abs().max(0.05) * scale * 4.0;
                    x[i - 1] += d;
                }
                (x, f(&x))
            })
            .collect();
        for _ in 0..iters {
            simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
            let centroid: [f64; 5] =
                std::array::from_fn(|j| simplex[..5].iter().map(|(x, _)| x[j]).sum::<f64>() / 5.0);
            let worst = simplex[5];
            let point = |t: f64| -> [f64; 5] {
                std::array::from_fn(|j| centroid[j] + t * (worst.0[j] - centroid[j]))
            };
            let r = point(-1.0);
            let fr = f(&r);
            if fr < simplex[0].1 {
                let e = point(-2.0);
                let fe = f(&e);
                simplex[5] = if fe < fr { (e, fe) } else { (r, fr) };
            } else if fr < simplex[4].1 {
                simplex[5] = (r, fr);
            } else {
                let c = point(0.5);
                let fc = f(&c);
                if fc < worst.1 {
                    simplex[5] = (c, fc);
                } else {
                    let b = simplex[0].0;
                    for s in simplex.iter_mut().skip(1) {
                        s.0 = std::array::from_fn(|j| b[j] + 0.5 * (s.0[j] - b[j]));
                        s.1 = f(&s.0);
                    }
                }
            }
            let spread = simplex[5].1 - simplex[0].1;
            if spread.abs() < 1e-20 {
                break;
            }
        }
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        best = simplex[0].0;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_wings_are_left_out() {
        let mut pts = vec![(-0.3, 1.71), (-0.25, 1.712), (-0.2, 1.709)];
        pts.extend((0..5).map(|i| (-0.1 + 0.05 * f64::from(i), 0.8 + 0.1 * f64::from(i))));
        pts.extend([(0.2, 1.75), (0.25, 1.752)]);
        let kept = drop_capped_wings(&pts);
        // The left plateau of three goes; two equal points on the right stay.
        assert_eq!(kept.len(), pts.len() - 3);
        assert_eq!(kept[0], (-0.1, 0.8));
    }

    /// A curve fitted to points drawn from an SVI curve gives it back.
    #[test]
    fn an_svi_smile_is_recovered() {
        let truth = Svi {
            a: 0.02,
            b: 0.15,
            rho: -0.3,
            m: 0.05,
            sigma: 0.2,
            t: 0.25,
        };
        let pts: Vec<(f64, f64)> = (-10..=10)
            .map(|i| {
                let k = 0.06 * f64::from(i);
                (k, truth.vol(k))
            })
            .collect();
        let fit = fit(&pts, 0.25).unwrap();
        assert!(fit.rmse_vol_points < 0.05, "{fit:?}");
        for &(k, v) in &pts {
            assert!((fit.svi.vol(k) - v).abs() < 1e-3, "{k}");
        }
    }
}
