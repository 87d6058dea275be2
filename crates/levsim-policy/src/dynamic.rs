//! Dynamic leverage policies (DESIGN §4.6): each sizes its position from
//! estimates on the closes seen so far and trades back to its target when
//! the effective leverage drifts more than `band` (relative) from it.

use levsim_core::Side;

use crate::estimate::{buffer_leverage, distance_leverage, Ewma};
use crate::{Decision, LeveragePolicy, Observation};

/// Estimates shared by the dynamic policies: an EWMA of log returns with a
/// half-life in hours, and the prior σ used until `warmup` returns are in.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimates {
    /// The estimator.
    pub ewma: Ewma,
    /// Half-life, hours.
    pub halflife_h: f64,
    /// Volatility assumed before warm-up (annual).
    pub sigma_prior: f64,
    /// Returns needed before the estimate is used.
    pub warmup: usize,
}

impl Estimates {
    /// Estimates with a half-life of `halflife_h` hours.
    pub fn new(halflife_h: f64, sigma_prior: f64) -> Self {
        Self {
            ewma: Ewma::new(1.0),
            halflife_h,
            sigma_prior,
            warmup: 0,
        }
    }

    /// Updates on the observation's closes and returns the annual σ̂.
    fn sigma(&mut self, obs: &Observation<'_>) -> f64 {
        if self.ewma.count == 0 && self.warmup == 0 {
            // The half-life in bars is known once the bar length is.
            let bars = (self.halflife_h / (obs.bar_years * 8760.0)).max(1.0);
            self.ewma = Ewma::new(bars);
            self.warmup = (bars.ceil() as usize).clamp(2, 1_000);
        }
        self.ewma.update(obs.closes);
        self.ewma
            .sigma(obs.bar_years, self.sigma_prior, self.warmup)
    }

    fn reset(&mut self) {
        *self = Self::new(self.halflife_h, self.sigma_prior);
    }
}

/// Trades to `target` if flat or if the leverage is off by more than `band`;
/// closes when the target is (near) zero. Every rebalancing policy decides
/// through it.
pub(crate) fn rebalance(obs: &Observation<'_>, target: f64, band: f64) -> Decision {
    if !(target.is_finite()) || target < 1e-6 {
        return if obs.is_flat() {
            Decision::Hold
        } else {
            Decision::Close
        };
    }
    if obs.is_flat() || (obs.leverage / target - 1.0).abs() > band {
        Decision::TargetLeverage(target)
    } else {
        Decision::Hold
    }
}

/// `vol_target`: leverage = `target_vol / σ̂`, σ̂ the EWMA realized
/// volatility (annual), capped at `max_leverage`, rebalanced in `band`.
#[derive(Debug, Clone, PartialEq)]
pub struct VolTarget {
    /// Target annual volatility of the position's returns (e.g. 0.5).
    pub target_vol: f64,
    /// Leverage cap.
    pub max_leverage: f64,
    /// Relative rebalancing band.
    pub band: f64,
    /// Volatility estimates.
    pub est: Estimates,
}

impl LeveragePolicy for VolTarget {
    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        let sigma = self.est.sigma(obs);
        let target = (self.target_vol / sigma).min(self.max_leverage);
        rebalance(obs, target, self.band)
    }
    fn reset(&mut self) {
        self.est.reset();
    }
}

/// How `liquidation_buffer` sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferRule {
    /// The largest leverage whose GBM probability of touching the
    /// liquidation price within the horizon is at most ε (F3).
    FirstPassage,
    /// The leverage whose liquidation price is `k·σ̂·√h` away in log terms (F7).
    Distance,
}

/// `liquidation_buffer`: size so the liquidation price is out of reach
/// within `horizon_h` hours, at the current volatility estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct LiquidationBuffer {
    /// Sizing rule.
    pub rule: BufferRule,
    /// F3: tolerated probability of touching within the horizon.
    pub epsilon: f64,
    /// F7: distance in standard deviations.
    pub k: f64,
    /// Horizon, hours.
    pub horizon_h: f64,
    /// Maintenance rate the rule assumes.
    pub mmr: f64,
    /// Leverage cap.
    pub max_leverage: f64,
    /// Relative rebalancing band.
    pub band: f64,
    /// Volatility estimates.
    pub est: Estimates,
}

impl LiquidationBuffer {
    /// The leverage the rule gives for volatility `sigma` (annual).
    pub fn leverage_for(&self, sigma: f64, side: Side) -> f64 {
        let h = self.horizon_h / 8760.0;
        let long = side == Side::Long;
        let l = match self.rule {
            BufferRule::FirstPassage => buffer_leverage(
                self.epsilon,
                sigma,
                h,
                self.mmr,
                long,
                1.0,
                self.max_leverage,
            ),
            BufferRule::Distance => distance_leverage(self.k, sigma, h, self.mmr, long),
        };
        l.min(self.max_leverage)
    }
}

impl LeveragePolicy for LiquidationBuffer {
    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        let sigma = self.est.sigma(obs);
        rebalance(obs, self.leverage_for(sigma, obs.side), self.band)
    }
    fn reset(&mut self) {
        self.est.reset();
    }
}

/// `kelly`: fractional Kelly, `L = fraction·(μ̂ − r)/σ̂²` with EWMA drift
/// and volatility (for a short, `(r − μ̂)/σ̂²`), capped by the F7 buffer
/// leverage at `k` σ over `horizon_h` and by `max_leverage`; flat when the
/// edge is not positive.
#[derive(Debug, Clone, PartialEq)]
pub struct Kelly {
    /// Share of full Kelly (0.5 = half Kelly).
    pub fraction: f64,
    /// Risk-free rate (annual).
    pub rate: f64,
    /// Drift assumed before warm-up (annual).
    pub mu_prior: f64,
    /// A drift view replacing the estimate (annual), if any.
    pub mu_view: Option<f64>,
    /// Cap: F7 distance in σ.
    pub k: f64,
    /// Cap horizon, hours.
    pub horizon_h: f64,
    /// Maintenance rate for the cap.
    pub mmr: f64,
    /// Leverage cap.
    pub max_leverage: f64,
    /// Relative rebalancing band.
    pub band: f64,
    /// Estimates.
    pub est: Estimates,
}

impl LeveragePolicy for Kelly {
    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        let sigma = self.est.sigma(obs);
        let mu = self.mu_view.unwrap_or_else(|| {
            self.est
                .ewma
                .mu(obs.bar_years, self.mu_prior, self.est.warmup)
        });
        let long = obs.side == Side::Long;
        let edge = if long { mu - self.rate } else { self.rate - mu };
        let full = edge / (sigma * sigma);
        let cap = distance_leverage(self.k, sigma, self.horizon_h / 8760.0, self.mmr, long);
        let target = (self.fraction * full).min(cap).min(self.max_leverage);
        rebalance(obs, target.max(0.0), self.band)
    }
    fn reset(&mut self) {
        self.est.reset();
    }
}

/// `drawdown_control`: `L = leverage · max(0, 1 − dd / max_drawdown)`, dd
/// the fall of equity from its running peak (as a fraction); flat at
/// `max_drawdown`, back in as the drawdown recovers.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawdownControl {
    /// Leverage at no drawdown.
    pub leverage: f64,
    /// Drawdown at which the position is closed (e.g. 0.3).
    pub max_drawdown: f64,
    /// Relative rebalancing band.
    pub band: f64,
    /// Highest equity seen.
    pub peak: f64,
}

impl LeveragePolicy for DrawdownControl {
    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        self.peak = self.peak.max(obs.equity);
        let dd = if self.peak > 0.0 {
            1.0 - obs.equity / self.peak
        } else {
            1.0
        };
        let target = self.leverage * (1.0 - dd / self.max_drawdown).max(0.0);
        rebalance(obs, target, self.band)
    }
    fn reset(&mut self) {
        self.peak = 0.0;
    }
}

/// `margin_topup`: open at `leverage` and keep the margin ratio
/// (maintenance / equity) at or under `threshold` by moving collateral from
/// the reserve, enough to bring it to `target`; one request in flight at a
/// time (requests land after the decision latency and withdrawal delay).
#[derive(Debug, Clone, PartialEq)]
pub struct MarginTopup {
    /// Opening leverage.
    pub leverage: f64,
    /// Margin ratio that triggers a top-up (e.g. 0.25).
    pub threshold: f64,
    /// Margin ratio a top-up restores (e.g. 0.05).
    pub target: f64,
}

impl LeveragePolicy for MarginTopup {
    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        if obs.pending > 0 {
            return Decision::Hold;
        }
        if obs.is_flat() {
            return Decision::TargetLeverage(self.leverage);
        }
        TopupRule {
            threshold: self.threshold,
            target: self.target,
        }
        .decide(obs)
        .unwrap_or(Decision::Hold)
    }
}

/// The top-up rule of `margin_topup`, which any other policy can carry too
/// (`topup_threshold` and `topup_target` in its `[[policy]]` table): when
/// the margin ratio (maintenance / equity) passes `threshold` and nothing
/// is in flight, move enough of the reserve to bring it to `target`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopupRule {
    /// Margin ratio that triggers a top-up.
    pub threshold: f64,
    /// Margin ratio a top-up restores.
    pub target: f64,
}

impl TopupRule {
    /// Checks `0 < target < threshold < 1`; problems name the
    /// `topup_threshold` / `topup_target` keys.
    pub fn validate(&self) -> Result<(), crate::PolicyError> {
        if !(self.threshold.is_finite() && self.threshold > 0.0 && self.threshold < 1.0) {
            return Err(crate::PolicyError {
                field: "topup_threshold",
                message: format!("must be in (0, 1), got {}", self.threshold),
            });
        }
        if !(self.target.is_finite() && self.target > 0.0 && self.target < self.threshold) {
            return Err(crate::PolicyError {
                field: "topup_target",
                message: format!(
                    "must be in (0, topup_threshold = {}), got {}",
                    self.threshold, self.target
                ),
            });
        }
        Ok(())
    }

    /// The top-up this observation calls for, if any.
    pub fn decide(&self, obs: &Observation<'_>) -> Option<Decision> {
        if obs.pending > 0
            || obs.is_flat()
            || obs.reserve <= 0.0
            || obs.margin_ratio <= self.threshold
        {
            return None;
        }
        let mm = obs.margin_ratio * obs.equity;
        Some(Decision::TopUp((mm / self.target - obs.equity).max(0.0)))
    }
}

/// A policy with the [`TopupRule`] on top: the inner policy decides at
/// every bar (so its estimates stay current); a due top-up takes the bar's
/// place of its decision.
#[derive(Debug, Clone, PartialEq)]
pub struct WithTopup<P> {
    /// The sizing policy.
    pub inner: P,
    /// The top-up rule.
    pub rule: TopupRule,
}

impl<P: LeveragePolicy> LeveragePolicy for WithTopup<P> {
    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        let d = self.inner.decide(obs);
        self.rule.decide(obs).unwrap_or(d)
    }
    fn reset(&mut self) {
        self.inner.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs<'a>(closes: &'a [f64], qty: f64, lev: f64, equity: f64) -> Observation<'a> {
        Observation {
            ts: 0,
            mark: *closes.last().unwrap_or(&100.0),
            closes,
            bar_years: 1.0 / 8760.0,
            side: Side::Long,
            equity,
            position_qty: qty,
            entry_price: 100.0,
            leverage: lev,
            margin_ratio: 0.0,
            liquidation_price: None,
            reserve: 0.0,
            pending: 0,
            liquidations: 0,
        }
    }

    /// Hourly closes alternating ±σ√dt: realized volatility exactly σ.
    fn closes(sigma: f64, n: usize) -> Vec<f64> {
        let s = sigma * (1.0f64 / 8760.0).sqrt();
        let mut c = vec![100.0];
        for k in 0..n {
            let r = if k % 2 == 0 { s } else { -s };
            c.push(c[k] * r.exp());
        }
        c
    }

    #[test]
    fn vol_target_sizes_by_the_estimated_volatility() {
        let mut p = VolTarget {
            target_vol: 0.4,
            max_leverage: 20.0,
            band: 0.1,
            est: Estimates::new(24.0, 0.8),
        };
        // Before warm-up: the prior, 0.4 / 0.8 = 0.5x.
        assert_eq!(
            p.decide(&obs(&[100.0], 0.0, 0.0, 1.0)),
            Decision::TargetLeverage(0.5)
        );
        p.reset();
        let c = closes(0.2, 2_000);
        match p.decide(&obs(&c, 0.0, 0.0, 1.0)) {
            Decision::TargetLeverage(l) => assert!((l - 2.0).abs() < 0.02, "{l}"),
            d => panic!("{d:?}"),
        }
        // Within the band it holds.
        assert_eq!(p.decide(&obs(&c, 1.0, 2.1, 1.0)), Decision::Hold);
    }

    #[test]
    fn drawdown_control_scales_down_and_closes() {
        let mut p = DrawdownControl {
            leverage: 10.0,
            max_drawdown: 0.4,
            band: 0.05,
            peak: 0.0,
        };
        let c = [100.0];
        assert_eq!(
            p.decide(&obs(&c, 0.0, 0.0, 1000.0)),
            Decision::TargetLeverage(10.0)
        );
        // 20 % below the peak: half the leverage.
        match p.decide(&obs(&c, 1.0, 10.0, 800.0)) {
            Decision::TargetLeverage(l) => assert!((l - 5.0).abs() < 1e-12, "{l}"),
            d => panic!("{d:?}"),
        }
        // 40 % below: out.
        assert_eq!(p.decide(&obs(&c, 1.0, 5.0, 600.0)), Decision::Close);
        assert_eq!(p.decide(&obs(&c, 0.0, 0.0, 600.0)), Decision::Hold);
    }

    #[test]
    fn a_topup_rule_overrides_the_inner_decision_only_when_due() {
        let rule = TopupRule {
            threshold: 0.25,
            target: 0.05,
        };
        assert!(rule.validate().is_ok());
        assert_eq!(
            TopupRule {
                threshold: 0.2,
                target: 0.3
            }
            .validate()
            .unwrap_err()
            .field,
            "topup_target"
        );
        let mut p = WithTopup {
            inner: crate::StaticLeverage { leverage: 5.0 },
            rule,
        };
        let c = [100.0];
        // Flat: the inner policy opens.
        assert_eq!(
            p.decide(&obs(&c, 0.0, 0.0, 1000.0)),
            Decision::TargetLeverage(5.0)
        );
        let mut o = obs(&c, 1.0, 5.0, 1000.0);
        o.reserve = 5000.0;
        o.margin_ratio = 0.2;
        assert_eq!(p.decide(&o), Decision::Hold);
        // Margin ratio 0.5 of equity 1000 (maintenance 500): to 0.05 needs
        // equity 10,000, a top-up of 9,000.
        o.margin_ratio = 0.5;
        assert_eq!(p.decide(&o), Decision::TopUp(9000.0));
        // One request in flight at a time; nothing without a reserve.
        o.pending = 1;
        assert_eq!(p.decide(&o), Decision::Hold);
        o.pending = 0;
        o.reserve = 0.0;
        assert_eq!(p.decide(&o), Decision::Hold);
    }

    #[test]
    fn kelly_is_flat_without_an_edge_and_capped_by_the_buffer() {
        let base = Kelly {
            fraction: 0.5,
            rate: 0.0,
            mu_prior: 0.0,
            mu_view: None,
            k: 3.0,
            horizon_h: 24.0,
            mmr: 0.005,
            max_leverage: 50.0,
            band: 0.1,
            est: Estimates::new(24.0, 0.6),
        };
        // No edge before warm-up (μ prior 0): stays flat.
        let mut p = base.clone();
        assert_eq!(p.decide(&obs(&[100.0], 0.0, 0.0, 1.0)), Decision::Hold);
        // μ 40 %, σ 60 %: half Kelly = 0.5 · 0.4 / 0.36 = 0.556x.
        let mut p = Kelly {
            mu_prior: 0.4,
            ..base.clone()
        };
        match p.decide(&obs(&[100.0], 0.0, 0.0, 1.0)) {
            Decision::TargetLeverage(l) => assert!((l - 0.5 * 0.4 / 0.36).abs() < 1e-12, "{l}"),
            d => panic!("{d:?}"),
        }
        // A huge edge is capped by F7 at 3σ over a day.
        let mut p = Kelly {
            mu_prior: 100.0,
            ..base
        };
        let cap = distance_leverage(3.0, 0.6, 1.0 / 365.0, 0.005, true);
        assert_eq!(
            p.decide(&obs(&[100.0], 0.0, 0.0, 1.0)),
            Decision::TargetLeverage(cap)
        );
        // A drift view replaces the estimate: a falling path does not move it.
        let mut p = Kelly {
            mu_view: Some(0.4),
            ..p
        };
        p.reset();
        let falling: Vec<f64> = (0..500)
            .map(|i| 100.0 * (-0.001 * i as f64).exp())
            .collect();
        match p.decide(&obs(&falling, 0.0, 0.0, 1.0)) {
            Decision::TargetLeverage(l) => assert!(l > 0.0, "{l}"),
            d => panic!("{d:?}"),
        }
    }

    /// The buffer leverage at σ̂ is the one F3 / F7 give for that σ.
    #[test]
    fn liquidation_buffer_uses_the_closed_forms() {
        let mut p = LiquidationBuffer {
            rule: BufferRule::FirstPassage,
            epsilon: 0.01,
            k: 3.0,
            horizon_h: 24.0,
            mmr: 0.005,
            max_leverage: 125.0,
            band: 0.1,
            est: Estimates::new(24.0, 0.8),
        };
        let want = buffer_leverage(0.01, 0.8, 1.0 / 365.0, 0.005, true, 1.0, 125.0);
        assert_eq!(
            p.decide(&obs(&[100.0], 0.0, 0.0, 1.0)),
            Decision::TargetLeverage(want)
        );
        p.rule = BufferRule::Distance;
        let want = distance_leverage(3.0, 0.8, 1.0 / 365.0, 0.005, true);
        assert_eq!(
            p.decide(&obs(&[100.0], 0.0, 0.0, 1.0)),
            Decision::TargetLeverage(want)
        );
    }
}
