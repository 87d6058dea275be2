//! Mango v4 token liquidation to LiquidationEnd health (SPEC §6.1–6.2).

/// Health of token balances: positive balances count at asset weight ×
/// price, negative ones at liability weight × price.
pub fn health(balances: &[(f64, f64, f64, f64)]) -> f64 {
    // (amount, price, asset_weight, liab_weight)
    balances
        .iter()
        .map(|&(amt, price, aw, lw)| {
            if amt >= 0.0 {
                amt * price * aw
            } else {
                amt * price * lw
            }
        })
        .sum()
}

/// Liability a liquidator must take over to bring LiquidationEnd health
/// `h_le` (< 0) back to zero: `x = −H_le / (ilw·P_liab − iaw·P_liab·fee_total)`
/// (asset price cancels when the asset is valued at oracle).
pub fn liab_needed(
    h_le: f64,
    init_liab_weight: f64,
    init_asset_weight: f64,
    liab_price: f64,
    fee_total: f64,
) -> f64 {
    -h_le / (init_liab_weight * liab_price - init_asset_weight * liab_price * fee_total)
}
