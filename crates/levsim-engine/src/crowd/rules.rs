//! The venue rules a crowd market pass applies: how crowd accounts are
//! liquidated (full or in partial tranches) and the dynamic-margin variants
//! compared against static margin (volatility-scaled maintenance rate,
//! open-interest-scaled initial margin).

use serde::{Deserialize, Serialize};

use crate::venue::LiquidationMode;
use crate::EngineError;

/// Maintenance rate scaled with realized volatility (SPEC §9):
/// `mmr_t = clamp(mmr·(σ̂_t/σ_ref)^β, mmr_min, mmr_max)`, σ̂ the annualised
/// realized volatility of the exogenous price over `window`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamicMargin {
    /// Volatility at which the static rate applies (annual, e.g. 0.6).
    pub sigma_ref: f64,
    /// Elasticity β (1 = proportional).
    #[serde(default = "one")]
    pub beta: f64,
    /// Lowest rate.
    pub mmr_min: f64,
    /// Highest rate.
    pub mmr_max: f64,
    /// Window of the realized-volatility estimate, e.g. "1h".
    pub window: String,
}

fn one() -> f64 {
    1.0
}

/// Initial margin scaled with open interest (dYdX v4 style): the initial
/// margin fraction rises linearly from the venue's `1 / max_leverage` at
/// `oi_lower` to `imf_upper` at `oi_upper` (quote) and stays there; the crowd
/// cannot open above `1 / imf` leverage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OiInitialMargin {
    /// Open interest below which the base fraction applies.
    pub oi_lower: f64,
    /// Open interest at and above which `imf_upper` applies.
    pub oi_upper: f64,
    /// Initial margin fraction at `oi_upper` (e.g. 0.2 = at most 5x).
    pub imf_upper: f64,
}

impl OiInitialMargin {
    /// The initial margin fraction at open interest `oi` with base `imf0`.
    pub fn imf(&self, imf0: f64, oi: f64) -> f64 {
        let x = ((oi - self.oi_lower) / (self.oi_upper - self.oi_lower)).clamp(0.0, 1.0);
        imf0 + x * (self.imf_upper - imf0).max(0.0)
    }
}

/// How the market pass liquidates a crowd account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrowdLiquidation {
    /// Close the whole position at once.
    Full,
    /// Close a fraction per cascade round (`partial_fraction`).
    Partial,
}

/// Resolved crowd rules of a venue configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrowdRules {
    /// Share of the position closed per liquidation (1 = full).
    pub fraction: f64,
    /// Volatility-scaled maintenance rate, if any.
    pub dynamic_margin: Option<(DynamicMargin, i64)>,
    /// Open-interest-scaled initial margin, if any.
    pub oi_initial_margin: Option<OiInitialMargin>,
}

impl CrowdRules {
    /// Validates the crowd settings of a venue configuration; `mode` is the
    /// preset's liquidation mode (its partial fraction is the default).
    pub fn resolve(
        liquidation: Option<CrowdLiquidation>,
        partial_fraction: Option<f64>,
        dynamic: Option<&DynamicMargin>,
        oi: Option<OiInitialMargin>,
        mode: LiquidationMode,
    ) -> Result<Self, EngineError> {
        let preset_fraction = match mode {
            LiquidationMode::Partial { fraction, .. } => Some(fraction),
            _ => None,
        };
        let fraction = match liquidation {
            Some(CrowdLiquidation::Full) => 1.0,
            Some(CrowdLiquidation::Partial) => partial_fraction.or(preset_fraction).unwrap_or(0.2),
            None => partial_fraction.or(preset_fraction).unwrap_or(1.0),
        };
        if !(fraction > 0.0 && fraction <= 1.0) {
            return Err(EngineError::config(
                "venue.partial_fraction",
                format!("must be in (0, 1], got {fraction}"),
            ));
        }
        let dynamic_margin = match dynamic {
            None => None,
            Some(d) => {
                let bad = |f: &str, m: String| {
                    Err(EngineError::config(&format!("venue.dynamic_margin.{f}"), m))
                };
                if !(d.sigma_ref > 0.0 && d.sigma_ref.is_finite()) {
                    return bad("sigma_ref", format!("must be > 0, got {}", d.sigma_ref));
                }
                if !(d.beta >= 0.0 && d.beta.is_finite()) {
                    return bad("beta", format!("must be ≥ 0, got {}", d.beta));
                }
                if !(d.mmr_min > 0.0 && d.mmr_min <= d.mmr_max && d.mmr_max < 1.0) {
                    return bad(
                        "mmr_max",
                        format!(
                            "need 0 < mmr_min ≤ mmr_max < 1, got {} and {}",
                            d.mmr_min, d.mmr_max
                        ),
                    );
                }
                let w = match levsim_core::time::parse_duration(&d.window) {
                    Ok(ns) if ns > 0 => ns,
                    Ok(_) => return bad("window", "must be longer than zero".into()),
                    Err(e) => return bad("window", e.to_string()),
                };
                Some((d.clone(), w))
            }
        };
        if let Some(o) = oi {
            if !(o.oi_lower >= 0.0 && o.oi_upper > o.oi_lower && o.oi_upper.is_finite()) {
                return Err(EngineError::config(
                    "venue.oi_initial_margin.oi_upper",
                    format!(
                        "need 0 ≤ oi_lower < oi_upper, got {} and {}",
                        o.oi_lower, o.oi_upper
                    ),
                ));
            }
            if !(o.imf_upper > 0.0 && o.imf_upper <= 1.0) {
                return Err(EngineError::config(
                    "venue.oi_initial_margin.imf_upper",
                    format!("must be in (0, 1], got {}", o.imf_upper),
                ));
            }
        }
        Ok(Self {
            fraction,
            dynamic_margin,
            oi_initial_margin: oi,
        })
    }
}
