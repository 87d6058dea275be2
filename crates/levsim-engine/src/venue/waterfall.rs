//! Who pays a deficit: the insurance fund first, then auto-deleveraging of
//! profitable counterparties, then socialized loss (SPEC §10.1.7–10, F9).

use serde::Serialize;

use super::InsuranceFund;

/// How a deficit was absorbed (quote). The parts add up to the deficit.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Waterfall {
    /// Paid by the insurance fund.
    pub insurance_fund: f64,
    /// Closed against counterparties by ADL (at the bankruptcy price, so the
    /// deficit becomes their forgone profit).
    pub adl: f64,
    /// Spread over all open interest (funding-index haircut).
    pub socialized: f64,
    /// Left as bad debt of the venue (no mechanism was available).
    pub unresolved: f64,
}

/// Settles a deficit: the fund pays what it can; the rest goes to ADL up
/// to `adl_capacity` (the profit the ranked counterparties can give up)
/// when ADL is on; what is still left is socialized when that is on, else
/// stays unresolved.
pub fn settle(
    deficit: f64,
    fund: &mut InsuranceFund,
    adl: bool,
    adl_capacity: f64,
    socialize: bool,
) -> Waterfall {
    let deficit = deficit.max(0.0);
    let after_fund = fund.cover(deficit);
    let paid_fund = deficit - after_fund;
    let by_adl = if adl {
        after_fund.min(adl_capacity.max(0.0))
    } else {
        0.0
    };
    let rest = after_fund - by_adl;
    let (socialized, unresolved) = if socialize { (rest, 0.0) } else { (0.0, rest) };
    Waterfall {
        insurance_fund: paid_fund,
        adl: by_adl,
        socialized,
        unresolved,
    }
}
