//! Drift protocol-v2 liquidation arithmetic (SPEC §5.1–5.3, from
//! `math/liquidation.rs` and `controller/liquidation.rs`).

/// Base units a liquidator must take to cover a margin `shortage`:
/// `Δbase = shortage / (price·(MR − liq_fee) − price·if_fee)`; infinite when
/// the denominator is not positive.
pub fn base_to_cover(
    shortage: f64,
    price: f64,
    margin_ratio: f64,
    liquidator_fee: f64,
    if_fee: f64,
) -> f64 {
    base_to_cover_quoted(shortage, price, 1.0, margin_ratio, liquidator_fee, if_fee)
}

/// [`base_to_cover`] with the quote asset's price (`quote_price`, 1 for
/// USDC at par): `Δbase = shortage / (price·quote_price·(MR − liq_fee) −
/// price·if_fee)`, as `calculate_base_asset_amount_to_cover_margin_shortage`
/// computes it.
pub fn base_to_cover_quoted(
    shortage: f64,
    price: f64,
    quote_price: f64,
    margin_ratio: f64,
    liquidator_fee: f64,
    if_fee: f64,
) -> f64 {
    let d = price * quote_price * (margin_ratio - liquidator_fee) - price * if_fee;
    if d <= 0.0 {
        f64::INFINITY
    } else {
        shortage / d
    }
}

/// The insurance-fund fee rate of a liquidation:
/// `min(max_if_fee, 0.95·(MR − liq_fee − shortage/(|base|·price)))`, never negative.
pub fn if_fee(
    max_if_fee: f64,
    margin_ratio: f64,
    liquidator_fee: f64,
    shortage: f64,
    base: f64,
    price: f64,
) -> f64 {
    let room = 0.95 * (margin_ratio - liquidator_fee - shortage / (base.abs() * price));
    max_if_fee.min(room).max(0.0)
}

/// Liquidator fee ramp: the base fee during a grace of `grace_slots` after
/// the user was last active, then `base + slots·per_slot`, capped at `max`.
pub fn liquidation_fee(
    base: f64,
    max: f64,
    slots_since_active: u64,
    grace_slots: u64,
    per_slot: f64,
) -> f64 {
    if slots_since_active < grace_slots {
        base
    } else {
        (base + slots_since_active as f64 * per_slot).min(max)
    }
}

/// Share of the position that may be liquidated now: everything when the
/// shortage is below `small_shortage` (e.g. $50), else a ramp from
/// `initial_pct` growing by `slots/duration`, capped at 100 %.
pub fn max_liquidatable_pct(
    shortage: f64,
    small_shortage: f64,
    initial_pct: f64,
    slots: u64,
    duration: u64,
) -> f64 {
    if shortage < small_shortage {
        1.0
    } else {
        (initial_pct + slots as f64 / duration.max(1) as f64).min(1.0)
    }
}

/// Socialized loss through the funding index: both sides pay
/// `|loss| / (|base_long| + |base_short|)` per base unit.
pub fn social_loss_per_base(loss: f64, base_long: f64, base_short: f64) -> f64 {
    loss.abs() / (base_long.abs() + base_short.abs())
}

/// Spot asset weight with Drift's size discount:
/// `w = min(w0, 1.1 / (1 + imf·sqrt(size)))`.
pub fn asset_weight(w0: f64, imf: f64, size: f64) -> f64 {
    w0.min(1.1 / (1.0 + imf * size.abs().sqrt()))
}

/// Drift's liquidation state with its exit buffer: an account enters
/// liquidation when total collateral falls below the maintenance
/// requirement, and, once in, leaves only when
/// `TC + buffer·negative_collateral ≥ MR + buffer·liabilities` (SPEC §5.1).
pub fn in_liquidation(
    was_liquidating: bool,
    total_collateral: f64,
    margin_requirement: f64,
    liabilities: f64,
    negative_collateral: f64,
    buffer: f64,
) -> bool {
    if was_liquidating {
        total_collateral + buffer * negative_collateral < margin_requirement + buffer * liabilities
    } else {
        total_collateral < margin_requirement
    }
}
