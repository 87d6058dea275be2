//! Margin models beyond notional brackets: BitMEX risk-limit steps, dYdX's
//! fraction of notional with open-interest-scaled initial margin, and
//! size-scaled rates (Deribit linear, Drift square root); plus the
//! volatility-scaled maintenance rate of dynamic margin.

use serde::{Deserialize, Serialize};

use super::MarginModel;
use crate::EngineError;

/// BitMEX risk limits (SPEC §2.1): for each step of `step` above
/// `base_limit` (position value), both rates rise by `base_mm`:
/// `MM% = base_mm·(1 + steps)`, `IM% = base_im + steps·base_mm`,
/// `steps = ceil((value − base_limit)/step)` for value > base_limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskLimitSteps {
    /// Base maintenance rate.
    pub base_mm: f64,
    /// Base initial rate.
    pub base_im: f64,
    /// Position value up to which the base rates apply.
    pub base_limit: f64,
    /// Size of each further step.
    pub step: f64,
}

impl RiskLimitSteps {
    /// Number of steps above the base limit for a position value.
    pub fn steps(&self, value: f64) -> f64 {
        if value > self.base_limit {
            ((value - self.base_limit) / self.step).ceil()
        } else {
            0.0
        }
    }

    /// `(maintenance rate, initial rate)` at a position value.
    pub fn rates(&self, value: f64) -> (f64, f64) {
        let k = self.steps(value);
        (self.base_mm * (1.0 + k), self.base_im + k * self.base_mm)
    }

    /// Checks the parameters; `path` names the table in errors.
    pub fn validate(&self, path: &str) -> Result<(), EngineError> {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if !(ok(self.base_mm)
            && ok(self.base_im)
            && self.base_mm < self.base_im
            && self.base_im < 1.0)
        {
            return Err(EngineError::config(path, "need 0 < base_mm < base_im < 1"));
        }
        if !(ok(self.base_limit) && ok(self.step)) {
            return Err(EngineError::config(path, "base_limit and step must be > 0"));
        }
        Ok(())
    }
}

impl MarginModel for RiskLimitSteps {
    fn maintenance(&self, notional: f64, _size: f64) -> f64 {
        notional * self.rates(notional).0
    }
    fn max_leverage(&self, notional: f64) -> f64 {
        1.0 / self.rates(notional).1
    }
}

/// dYdX v4 margin (SPEC §4.1): maintenance `|N|·imf·mf`; initial
/// `|N|·imf_eff`, where open-interest scaling raises the initial fraction
/// linearly from `imf` at `oi_lower` to 100 % at `oi_upper` of open
/// notional (disabled when `oi_upper` is 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FractionOfNotional {
    /// Base initial margin fraction.
    pub imf: f64,
    /// Maintenance fraction of the initial fraction.
    pub mf: f64,
    /// Open notional where scaling starts.
    #[serde(default)]
    pub oi_lower: f64,
    /// Open notional where the initial fraction reaches 100 % (0 = off).
    #[serde(default)]
    pub oi_upper: f64,
    /// The market's open notional the initial fraction is scaled for.
    #[serde(default)]
    pub open_notional: f64,
}

impl FractionOfNotional {
    /// Effective initial margin fraction at an open notional (`GetAdjustedInitialMarginPpm`).
    pub fn imf_effective(&self, open_notional: f64) -> f64 {
        if self.oi_upper <= 0.0 || self.oi_upper <= self.oi_lower {
            return self.imf;
        }
        let s = (open_notional - self.oi_lower) / (self.oi_upper - self.oi_lower);
        (self.imf + s.max(0.0) * (1.0 - self.imf)).min(1.0)
    }

    /// Maintenance fraction.
    pub fn mmf(&self) -> f64 {
        self.imf * self.mf
    }
}

impl MarginModel for FractionOfNotional {
    fn maintenance(&self, notional: f64, _size: f64) -> f64 {
        notional * self.mmf()
    }
    fn max_leverage(&self, _notional: f64) -> f64 {
        1.0 / self.imf_effective(self.open_notional)
    }
}

/// How a size-scaled rate grows with the position's size (base units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeScaling {
    /// `rate = base + factor·size` (Deribit standard futures margin).
    Linear,
    /// `rate = max(base, 0.8·base + factor·sqrt(size))` (Drift's size premium).
    Sqrt,
}

/// Maintenance and initial rates that grow with size (SPEC §8.2, §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeScaled {
    /// Base maintenance rate.
    pub mm: f64,
    /// Base initial rate.
    pub im: f64,
    /// Growth factor per base unit (linear) or per sqrt(base unit).
    pub factor: f64,
    /// Linear or square-root growth.
    pub scaling: SizeScaling,
}

impl SizeScaled {
    fn scaled(&self, base: f64, size: f64) -> f64 {
        match self.scaling {
            SizeScaling::Linear => base + self.factor * size,
            SizeScaling::Sqrt => base.max(0.8 * base + self.factor * size.sqrt()),
        }
    }

    /// Maintenance rate at a size.
    pub fn mm_rate(&self, size: f64) -> f64 {
        self.scaled(self.mm, size).min(1.0)
    }

    /// Initial rate at a size.
    pub fn im_rate(&self, size: f64) -> f64 {
        self.scaled(self.im, size).min(1.0)
    }
}

impl MarginModel for SizeScaled {
    fn maintenance(&self, notional: f64, size: f64) -> f64 {
        notional * self.mm_rate(size)
    }
    fn max_leverage(&self, _notional: f64) -> f64 {
        // Without the size the base rate bounds leverage from above.
        1.0 / self.im
    }
    fn max_leverage_sized(&self, _notional: f64, size: f64) -> f64 {
        1.0 / self.im_rate(size)
    }
}

/// The dynamic-margin modifier of SPEC §9 (levsim's proposal):
/// `mmr_t = clamp(mmr_base·(σ̂_t/σ_ref)^β, mmr_min, mmr_max)`, with an
/// optional anti-procyclical floor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolScaling {
    /// Reference volatility (annualised) at which the base rate applies.
    pub sigma_ref: f64,
    /// Elasticity β.
    pub beta: f64,
    /// Lowest rate.
    pub mmr_min: f64,
    /// Highest rate.
    pub mmr_max: f64,
    /// Floor (e.g. a long-lookback rate); 0 = none.
    #[serde(default)]
    pub floor: f64,
}

impl VolScaling {
    /// The scaled maintenance rate for a base rate and a volatility estimate.
    pub fn rate(&self, mmr_base: f64, sigma_hat: f64) -> f64 {
        let r = mmr_base * (sigma_hat / self.sigma_ref).powf(self.beta);
        r.clamp(self.mmr_min, self.mmr_max).max(self.floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_limit_steps_are_counted_from_the_base() {
        let x = RiskLimitSteps {
            base_mm: 0.005,
            base_im: 0.01,
            base_limit: 200.0,
            step: 150.0,
        };
        assert_eq!(x.steps(200.0), 0.0);
        assert_eq!(x.steps(200.1), 1.0);
        assert_eq!(x.steps(350.0), 1.0);
        assert_eq!(x.steps(351.0), 2.0);
        assert!(x.validate("t").is_ok());
    }

    #[test]
    fn size_scaling_grows_with_size() {
        let d = SizeScaled {
            mm: 0.01,
            im: 0.02,
            factor: 0.00005,
            scaling: SizeScaling::Linear,
        };
        assert!((d.mm_rate(100.0) - 0.015).abs() < 1e-12);
        let s = SizeScaled {
            mm: 0.05,
            im: 0.1,
            factor: 0.001,
            scaling: SizeScaling::Sqrt,
        };
        assert_eq!(s.mm_rate(1.0), 0.05);
        assert!(s.mm_rate(1e6) > 0.05);
    }

    #[test]
    fn vol_scaling_clamps() {
        let v = VolScaling {
            sigma_ref: 0.6,
            beta: 1.0,
            mmr_min: 0.004,
            mmr_max: 0.05,
            floor: 0.0,
        };
        assert!((v.rate(0.005, 1.2) - 0.01).abs() < 1e-12);
        assert_eq!(v.rate(0.005, 100.0), 0.05);
        assert_eq!(v.rate(0.005, 0.01), 0.004);
    }
}
