//! An implied-volatility surface fitted to a chain snapshot and moved
//! through time.
//!
//! At the snapshot (time `t0`) each expiry's smile is a raw SVI curve in
//! log moneyness `k = ln(K / F_T)` against that expiry's forward `F_T`
//! ([`crate::svi`]); between fitted expiries total variance is
//! interpolated linearly in time to expiry at the same `k` (flat-forward
//! in variance); outside them there is no surface.
//!
//! Through time the smile keeps its shape and moves in two ways:
//! - **level**: every volatility is multiplied by `level(t) / level(t0)`,
//!   a volatility index (Deribit DVOL) or the underlying's realized
//!   volatility (see [`RealizedLevel`]);
//! - **anchor** ([`Sticky`]): *sticky strike* keeps each strike's
//!   volatility where it was (`k` fixed at the snapshot); *sticky
//!   moneyness* (the sticky-delta rule with delta read as moneyness) moves
//!   the smile with the underlying: `k_t = ln(K / F_T) + ln(S_0 / S_t)`.

use crate::svi::SviFit;

/// How the smile moves with the underlying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sticky {
    /// Each strike keeps its volatility.
    Strike,
    /// Each moneyness keeps its volatility (the smile moves with spot).
    Moneyness,
}

/// One fitted expiry of the snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfaceExpiry {
    /// Expiry, ns UTC.
    pub expiry: i64,
    /// Years from the snapshot to expiry.
    pub tau: f64,
    /// The expiry's forward at the snapshot.
    pub forward: f64,
    /// Its smile and the fit's error.
    pub fit: SviFit,
}

/// One expiry's marks at the snapshot: expiry (ns UTC), forward, and
/// `(strike, implied vol)` pairs.
pub type ExpiryMarks = (i64, f64, Vec<(f64, f64)>);

/// The surface at its snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Surface {
    /// Snapshot time, ns UTC.
    pub t0: i64,
    /// Fitted expiries, nearest first.
    pub expiries: Vec<SurfaceExpiry>,
}

const YEAR_NS: f64 = 365.0 * 86_400e9;

impl Surface {
    /// Fits each expiry's smile: `groups` holds per expiry its forward and
    /// `(strike, implied vol)` marks. Expiries with fewer than five marks
    /// (after the capped wings are left out) or already expired are
    /// skipped; `Err` when none is left.
    pub fn fit(t0: i64, groups: &[ExpiryMarks]) -> Result<Self, String> {
        let mut expiries = Vec::new();
        for (expiry, forward, marks) in groups {
            let tau = (*expiry - t0) as f64 / YEAR_NS;
            if tau <= 0.0 || !(*forward > 0.0) {
                continue;
            }
            let pts: Vec<(f64, f64)> = marks
                .iter()
                .filter(|(k, v)| *k > 0.0 && *v > 0.0)
                .map(|(k, v)| ((k / forward).ln(), *v))
                .collect();
            let pts = crate::svi::drop_capped_wings(&pts);
            if let Some(fit) = crate::svi::fit(&pts, tau) {
                expiries.push(SurfaceExpiry {
                    expiry: *expiry,
                    tau,
                    forward: *forward,
                    fit,
                });
            }
        }
        expiries.sort_by_key(|e| e.expiry);
        if expiries.is_empty() {
            return Err("no expiry has five or more marks to fit a smile to".into());
        }
        Ok(Self { t0, expiries })
    }

    /// The fitted expiries' range, ns UTC.
    pub fn range(&self) -> (i64, i64) {
        (
            self.expiries[0].expiry,
            self.expiries[self.expiries.len() - 1].expiry,
        )
    }

    /// The bracketing expiries of `expiry` and the weight of the later one
    /// (`None` outside the fitted range).
    fn bracket(&self, expiry: i64) -> Option<(usize, usize, f64)> {
        let (lo, hi) = self.range();
        if expiry < lo || expiry > hi {
            return None;
        }
        let j = self.expiries.iter().position(|e| e.expiry >= expiry)?;
        if self.expiries[j].expiry == expiry || j == 0 {
            return Some((j, j, 0.0));
        }
        let (a, b) = (&self.expiries[j - 1], &self.expiries[j]);
        let w = (expiry - a.expiry) as f64 / (b.expiry - a.expiry) as f64;
        Some((j - 1, j, w))
    }

    /// The forward of `expiry` at the snapshot (linear between fitted
    /// expiries).
    pub fn forward(&self, expiry: i64) -> Option<f64> {
        let (i, j, w) = self.bracket(expiry)?;
        Some((1.0 - w) * self.expiries[i].forward + w * self.expiries[j].forward)
    }

    /// Implied volatility at the snapshot of log moneyness `k` (against
    /// the expiry's forward) for `expiry`: total variance linear in time
    /// between the bracketing fits.
    pub fn vol0(&self, k: f64, expiry: i64) -> Option<f64> {
        let (i, j, _) = self.bracket(expiry)?;
        let tau = (expiry - self.t0) as f64 / YEAR_NS;
        let (a, b) = (&self.expiries[i], &self.expiries[j]);
        let wa = a.fit.svi.total_variance(k).max(0.0);
        let wb = b.fit.svi.total_variance(k).max(0.0);
        let total = if i == j {
            wa
        } else {
            // Linear in tau between the two fits' total variances.
            wa + (wb - wa) * (tau - a.tau) / (b.tau - a.tau)
        };
        Some((total / tau).sqrt())
    }

    /// Implied volatility of strike `strike` expiring at `expiry` when the
    /// underlying is at `spot` (it was `spot0` at the snapshot) and the
    /// level has moved by `level_ratio`.
    pub fn vol(
        &self,
        strike: f64,
        expiry: i64,
        spot: f64,
        spot0: f64,
        level_ratio: f64,
        sticky: Sticky,
    ) -> Option<f64> {
        let f = self.forward(expiry)?;
        let k0 = (strike / f).ln();
        let k = match sticky {
            Sticky::Strike => k0,
            Sticky::Moneyness => k0 + (spot0 / spot).ln(),
        };
        Some((self.vol0(k, expiry)? * level_ratio).clamp(0.01, 5.0))
    }
}

/// The surface's level tied to realized volatility: an EWMA of the
/// underlying's squared log returns (half-life `halflife_bars`), seeded
/// with the surface's at-the-money volatility; the level ratio at a bar is
/// the EWMA volatility over the seed, from returns before that bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RealizedLevel {
    /// Seed (annual volatility at the snapshot).
    pub seed: f64,
    /// EWMA half-life, bars.
    pub halflife_bars: f64,
    /// Bar length, years.
    pub bar_years: f64,
}

impl RealizedLevel {
    /// The level ratio at each bar of `closes` (bar `i` sees closes
    /// before it).
    pub fn ratios(&self, closes: &[f64]) -> Vec<f64> {
        let lambda = 0.5f64.powf(1.0 / self.halflife_bars.max(1e-9));
        let mut var = self.seed * self.seed * self.bar_years;
        let mut out = Vec::with_capacity(closes.len());
        for i in 0..closes.len() {
            out.push((var / self.bar_years).sqrt() / self.seed);
            if i > 0 && closes[i - 1] > 0.0 && closes[i] > 0.0 {
                let r = (closes[i] / closes[i - 1]).ln();
                var = lambda * var + (1.0 - lambda) * r * r;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000_000;

    /// Two expiries with known smiles (marks from SVI curves): the fit
    /// recovers them, total variance interpolates linearly in time at
    /// each moneyness, and nothing is quoted outside the range.
    fn surface() -> Surface {
        let near = crate::svi::Svi {
            a: 0.02,
            b: 0.1,
            rho: -0.4,
            m: 0.0,
            sigma: 0.1,
            t: 30.0 / 365.0,
        };
        let far = crate::svi::Svi {
            a: 0.08,
            b: 0.2,
            rho: -0.3,
            m: 0.0,
            sigma: 0.2,
            t: 90.0 / 365.0,
        };
        let marks = |s: &crate::svi::Svi, f: f64| -> Vec<(f64, f64)> {
            (-8..=8)
                .map(|i| {
                    let k = i as f64 * 0.05;
                    (f * k.exp(), s.vol(k))
                })
                .collect()
        };
        Surface::fit(
            0,
            &[
                (90 * DAY, 10_200.0, marks(&far, 10_200.0)),
                (30 * DAY, 10_050.0, marks(&near, 10_050.0)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn it_interpolates_total_variance_in_time_and_stops_at_its_range() {
        let s = surface();
        assert_eq!(s.range(), (30 * DAY, 90 * DAY));
        for k in [-0.3, 0.0, 0.2] {
            let w = |e: i64| s.vol0(k, e).unwrap().powi(2) * (e as f64 / (365.0 * DAY as f64));
            let (a, b, mid) = (w(30 * DAY), w(90 * DAY), w(60 * DAY));
            assert!((mid - 0.5 * (a + b)).abs() < 1e-12, "{k}: {mid} vs {a} {b}");
        }
        assert!(s.vol0(0.0, 29 * DAY).is_none() && s.vol0(0.0, 91 * DAY).is_none());
        assert!((s.forward(60 * DAY).unwrap() - 10_125.0).abs() < 1e-9);
    }

    #[test]
    fn sticky_strike_keeps_the_strike_and_sticky_moneyness_moves_with_spot() {
        let s = surface();
        let (k, e) = (9_000.0, 30 * DAY);
        let at0 = s
            .vol(k, e, 10_000.0, 10_000.0, 1.0, Sticky::Strike)
            .unwrap();
        // Spot down 10 %: the strike's volatility is unchanged under sticky
        // strike; under sticky moneyness it is that of strike 9,000 / 0.9.
        let st = s.vol(k, e, 9_000.0, 10_000.0, 1.0, Sticky::Strike).unwrap();
        let mo = s
            .vol(k, e, 9_000.0, 10_000.0, 1.0, Sticky::Moneyness)
            .unwrap();
        let want = s
            .vol(10_000.0, e, 10_000.0, 10_000.0, 1.0, Sticky::Strike)
            .unwrap();
        assert_eq!(st, at0);
        assert!((mo - want).abs() < 1e-12, "{mo} vs {want}");
        // The level scales every volatility.
        let up = s
            .vol(k, e, 10_000.0, 10_000.0, 1.5, Sticky::Strike)
            .unwrap();
        assert!((up - 1.5 * at0).abs() < 1e-12);
    }

    #[test]
    fn the_realized_level_starts_at_one_and_follows_realized_volatility() {
        let lvl = RealizedLevel {
            seed: 0.5,
            halflife_bars: 24.0,
            bar_years: 1.0 / 8760.0,
        };
        // Returns of ±2 % a bar: about 187 % a year.
        let closes: Vec<f64> = (0..2_000)
            .map(|i| if i % 2 == 0 { 100.0 } else { 102.0 })
            .collect();
        let r = lvl.ratios(&closes);
        assert_eq!(r[0], 1.0);
        assert_eq!(r[1], 1.0);
        let realized = (1.02f64).ln() / (1.0f64 / 8760.0).sqrt();
        assert!((r[1_999] - realized / 0.5).abs() < 1e-6, "{}", r[1_999]);
    }
}
