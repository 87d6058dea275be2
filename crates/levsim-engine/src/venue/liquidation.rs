//! How a venue executes a liquidation once it triggers (SPEC §10.1.5–6).

use serde::{Deserialize, Serialize};

use super::hyperliquid::PartialLiquidation;
use crate::EngineError;

/// Sizing of a liquidation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum LiquidationMode {
    /// Close the whole position (dYdX, Drift as simulated here).
    Full,
    /// Reduce the position to the cap of the next lower bracket when that
    /// leaves it above its new maintenance after the fee; otherwise close it
    /// all (Binance's smart liquidation, OKX's tier reduction; SPEC §1.5).
    /// Needs a bracket margin model; on others it is a full close.
    TierReduction,
    /// Close a fraction above a notional, with a cooldown (Hyperliquid).
    Partial {
        /// Share of the position per order.
        fraction: f64,
        /// Notional above which orders are partial.
        above_notional: f64,
        /// Seconds after a partial liquidation during which the next one is full.
        cooldown_s: f64,
    },
    /// Repay part of the debt of a collateralised loop and seize collateral
    /// with a bonus (Aave): `close_factor` of the debt, all of it when the
    /// health factor is at or below `full_below_hf`.
    CloseFactor {
        /// Share of the debt repaid per liquidation (Aave: 0.5).
        close_factor: f64,
        /// Health factor at or below which everything may be repaid (0.95).
        full_below_hf: f64,
        /// Liquidation bonus (1.05 = 5 % of the repaid value in extra collateral).
        /// The liquidation threshold is `1 − maintenance rate` of the margin model.
        bonus: f64,
    },
}

/// A venue's liquidation rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LiquidationRule {
    /// Sizing.
    pub mode: LiquidationMode,
    /// Below `backstop_fraction × maintenance` the backstop takes the whole
    /// position and keeps the remaining margin (Hyperliquid: 2/3).
    pub backstop_fraction: Option<f64>,
    /// The liquidation engine takes over the position with all remaining
    /// margin (BitMEX: the remaining maintenance margin goes to the fund).
    pub sweep_margin: bool,
    /// How a cross or portfolio account below maintenance is closed.
    pub account_order: AccountOrder,
}

/// How the venue liquidates a cross (or portfolio) margined account of
/// several legs that has fallen to its maintenance requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountOrder {
    /// Every leg is closed at once (Binance: a cross account's positions
    /// are liquidated together; SPEC §1.5).
    #[default]
    CloseAccount,
    /// Legs are closed one at a time, the largest maintenance requirement
    /// first, until the account is back above maintenance (Hyperliquid's
    /// partial liquidation of a cross account; SPEC §3.3).
    LargestMaintenanceFirst,
}

/// The `[liquidation]` table of a preset, as written.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LiquidationSpec {
    mode: ModeName,
    fraction: Option<f64>,
    above_notional: Option<f64>,
    cooldown_s: Option<f64>,
    close_factor: Option<f64>,
    full_below_hf: Option<f64>,
    bonus: Option<f64>,
    #[serde(default)]
    backstop_fraction: Option<f64>,
    #[serde(default)]
    sweep_margin: bool,
    #[serde(default)]
    account_order: AccountOrder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ModeName {
    Full,
    TierReduction,
    Partial,
    CloseFactor,
}

impl LiquidationSpec {
    /// The rule, with every parameter its mode needs; errors name the field.
    pub(crate) fn build(&self, path: &str) -> Result<LiquidationRule, EngineError> {
        let need = |v: Option<f64>, k: &str| {
            v.ok_or_else(|| {
                EngineError::config(&format!("{path}.{k}"), "is required for this mode")
            })
        };
        let mode = match self.mode {
            ModeName::Full => LiquidationMode::Full,
            ModeName::TierReduction => LiquidationMode::TierReduction,
            ModeName::Partial => LiquidationMode::Partial {
                fraction: need(self.fraction, "fraction")?,
                above_notional: need(self.above_notional, "above_notional")?,
                cooldown_s: need(self.cooldown_s, "cooldown_s")?,
            },
            ModeName::CloseFactor => LiquidationMode::CloseFactor {
                close_factor: need(self.close_factor, "close_factor")?,
                full_below_hf: need(self.full_below_hf, "full_below_hf")?,
                bonus: need(self.bonus, "bonus")?,
            },
        };
        let rule = LiquidationRule {
            mode,
            backstop_fraction: self.backstop_fraction,
            sweep_margin: self.sweep_margin,
            account_order: self.account_order,
        };
        rule.validate(path)?;
        Ok(rule)
    }
}

impl Default for LiquidationRule {
    fn default() -> Self {
        Self {
            mode: LiquidationMode::Full,
            backstop_fraction: None,
            sweep_margin: false,
            account_order: AccountOrder::CloseAccount,
        }
    }
}

impl LiquidationRule {
    /// Checks the parameters; errors name the field under `path`.
    pub fn validate(&self, path: &str) -> Result<(), EngineError> {
        let unit = |v: f64| v > 0.0 && v <= 1.0;
        match self.mode {
            LiquidationMode::Full | LiquidationMode::TierReduction => {}
            LiquidationMode::Partial {
                fraction,
                above_notional,
                cooldown_s,
            } => {
                if !unit(fraction) {
                    return Err(EngineError::config(
                        &format!("{path}.fraction"),
                        "must be in (0, 1]",
                    ));
                }
                if !(above_notional >= 0.0 && cooldown_s >= 0.0) {
                    return Err(EngineError::config(
                        path,
                        "above_notional and cooldown_s must be ≥ 0",
                    ));
                }
            }
            LiquidationMode::CloseFactor {
                close_factor,
                bonus,
                ..
            } => {
                if !unit(close_factor) {
                    return Err(EngineError::config(
                        &format!("{path}.close_factor"),
                        "must be in (0, 1]",
                    ));
                }
                if !(1.0..1.5).contains(&bonus) {
                    return Err(EngineError::config(
                        &format!("{path}.bonus"),
                        "must be in [1, 1.5)",
                    ));
                }
            }
        }
        if let Some(b) = self.backstop_fraction {
            if !unit(b) {
                return Err(EngineError::config(
                    &format!("{path}.backstop_fraction"),
                    "must be in (0, 1]",
                ));
            }
        }
        Ok(())
    }

    /// The partial-liquidation parameters, if the mode is partial.
    pub fn partial(&self) -> Option<PartialLiquidation> {
        match self.mode {
            LiquidationMode::Partial {
                fraction,
                above_notional,
                cooldown_s,
            } => Some(PartialLiquidation {
                fraction,
                above_notional,
                cooldown_s,
            }),
            _ => None,
        }
    }
}
