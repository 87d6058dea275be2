//! dYdX v4 liquidation arithmetic (SPEC §4.2, from `liquidations.go`).

/// Subaccount totals used by the liquidation formulas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DydxAccount {
    /// Total net collateral (USDC balance + Σ position value at oracle).
    pub tnc: f64,
    /// Total maintenance margin requirement.
    pub tmmr: f64,
}

/// Liquidation parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DydxLiquidationConfig {
    /// Bankruptcy adjustment (1.0 = 1,000,000 ppm).
    pub bankruptcy_adjustment: f64,
    /// Spread to maintenance margin ratio (0.1 = 100,000 ppm).
    pub spread_to_mmr: f64,
    /// Maximum liquidation fee as a fraction of the quote received.
    pub max_liquidation_fee: f64,
}

/// The fillable (limit) price of a liquidation order for a position of
/// signed size `size` at `oracle` with maintenance `pmmr`:
/// `ABR = clamp(BA·(1 − TNC/TMMR), 0, 1)`, `FP = (PNNV − ABR·SMMR·PMMR)/PS`.
pub fn fillable_price(
    acct: DydxAccount,
    cfg: &DydxLiquidationConfig,
    size: f64,
    oracle: f64,
    pmmr: f64,
) -> f64 {
    let abr = (cfg.bankruptcy_adjustment * (1.0 - acct.tnc / acct.tmmr)).clamp(0.0, 1.0);
    (size * oracle - abr * cfg.spread_to_mmr * pmmr) / size
}

/// Bankruptcy quote of closing `delta` of a position (signed, opposite to
/// the position) whose value changes by `delta_nnv` and maintenance by
/// `delta_mmr`: `BPquote = −ΔNNV − TNC·|ΔMMR|/TMMR`, the quote at which the
/// close leaves the account's collateral ratio unchanged at bankruptcy.
pub fn bankruptcy_quote(acct: DydxAccount, delta_nnv: f64, delta_mmr: f64) -> f64 {
    -delta_nnv - acct.tnc * delta_mmr.abs() / acct.tmmr
}

/// Insurance-fund delta of a liquidation fill (positive: the user pays the
/// fund). `δ = quote_received − bankruptcy_quote`; a negative δ is paid by
/// the fund in full; a positive one is capped at
/// `|quote_received|·max_liquidation_fee`.
pub fn insurance_fund_delta(quote_received: f64, bankruptcy_quote: f64, max_fee: f64) -> f64 {
    let d = quote_received - bankruptcy_quote;
    if d <= 0.0 {
        d
    } else {
        d.min(quote_received.abs() * max_fee)
    }
}
