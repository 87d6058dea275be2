//! Aave v3 health factor and liquidation call (SPEC §7.1, v3.3 rules).

use serde::{Deserialize, Serialize};

/// Health factor `Σ collateral·price·LT / Σ debt·price`.
pub fn health_factor(collateral_value_lt: f64, debt_value: f64) -> f64 {
    if debt_value <= 0.0 {
        f64::INFINITY
    } else {
        collateral_value_lt / debt_value
    }
}

/// Aave parameters of one liquidation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AaveParams {
    /// Liquidation threshold of the collateral (e.g. 0.8).
    pub liquidation_threshold: f64,
    /// Liquidation bonus (e.g. 1.05).
    pub liquidation_bonus: f64,
    /// Share of the bonus taken by the protocol (e.g. 0.1).
    pub protocol_fee: f64,
    /// HF at or below which the close factor is 100 % (0.95).
    pub close_factor_hf_threshold: f64,
    /// Reserve value below which the close factor is 100 % ($2,000).
    pub min_base_max_close_factor: f64,
}

/// The result of a liquidation call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AaveLiquidation {
    /// Health factor before.
    pub health_factor: f64,
    /// Largest debt the liquidator may repay (debt units).
    pub max_repay: f64,
    /// Debt actually repaid.
    pub repaid: f64,
    /// Collateral taken from the borrower (collateral units).
    pub collateral_seized: f64,
    /// Bonus part of the seized collateral.
    pub bonus: f64,
    /// Protocol's share of the bonus.
    pub protocol_fee: f64,
    /// Collateral the liquidator receives.
    pub to_liquidator: f64,
    /// Health factor after.
    pub health_factor_after: f64,
}

/// A liquidation call on a one-collateral, one-debt position, repaying as
/// much as the close factor allows (or `repay` if smaller): close factor
/// 50 % of the debt, 100 % when HF ≤ 0.95 or either reserve is worth less
/// than the minimum; seized = repaid·P_debt/P_coll·LB, capped at the
/// collateral (then the repayment shrinks to match).
pub fn liquidation_call(
    p: &AaveParams,
    collateral: f64,
    collateral_price: f64,
    debt: f64,
    debt_price: f64,
    repay: Option<f64>,
) -> AaveLiquidation {
    let coll_value = collateral * collateral_price;
    let debt_value = debt * debt_price;
    let hf = health_factor(coll_value * p.liquidation_threshold, debt_value);
    let full = hf <= p.close_factor_hf_threshold
        || coll_value < p.min_base_max_close_factor
        || debt_value < p.min_base_max_close_factor;
    let max_repay = if hf >= 1.0 {
        0.0
    } else if full {
        debt
    } else {
        0.5 * debt
    };
    let mut repaid = repay.map_or(max_repay, |r| r.min(max_repay));
    let mut seized = repaid * debt_price / collateral_price * p.liquidation_bonus;
    if seized > collateral {
        seized = collateral;
        repaid = collateral * collateral_price / (debt_price * p.liquidation_bonus);
    }
    let bonus = seized - seized / p.liquidation_bonus;
    let fee = bonus * p.protocol_fee;
    let hf_after = health_factor(
        (collateral - seized) * collateral_price * p.liquidation_threshold,
        (debt - repaid) * debt_price,
    );
    AaveLiquidation {
        health_factor: hf,
        max_repay,
        repaid,
        collateral_seized: seized,
        bonus,
        protocol_fee: fee,
        to_liquidator: seized - fee,
        health_factor_after: hf_after,
    }
}
