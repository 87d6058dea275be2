//! Funding rate formulas (SPEC §1.8, §2.5, §3.4, §4.4).

use serde::{Deserialize, Serialize};

/// Premium index from impact prices: `[max(0, bid − index) − max(0, index − ask)] / index`.
pub fn premium_index(impact_bid: f64, impact_ask: f64, index: f64) -> f64 {
    ((impact_bid - index).max(0.0) - (index - impact_ask).max(0.0)) / index
}

/// The common 8-hour rate `F = P̄ + clamp(I − P̄, −c, +c)`.
pub fn clamped_rate(premium: f64, interest: f64, clamp: f64) -> f64 {
    premium + (interest - premium).clamp(-clamp, clamp)
}

/// A venue's funding schedule and caps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundingRule {
    /// Hours between payments (8 for Binance/BitMEX, 1 for Hyperliquid).
    pub interval_hours: f64,
    /// Interest rate per 8 hours (0.0001 = 0.01 %).
    pub interest_8h: f64,
    /// Clamp on `I − P̄` per 8 hours (0.0005 = 0.05 %).
    pub clamp_8h: f64,
    /// Cap on the absolute rate per payment interval (0 = none).
    #[serde(default)]
    pub cap_per_interval: f64,
}

impl FundingRule {
    /// The rate paid per interval for an average premium over it: the 8-hour
    /// formula scaled to the interval (`F_8h · interval/8`), then capped.
    pub fn rate(&self, premium_8h: f64) -> f64 {
        let f =
            clamped_rate(premium_8h, self.interest_8h, self.clamp_8h) * self.interval_hours / 8.0;
        if self.cap_per_interval > 0.0 {
            f.clamp(-self.cap_per_interval, self.cap_per_interval)
        } else {
            f
        }
    }
}

/// dYdX v4's cap on the 8-hour rate: `clamp_factor · (IMF − MMF)`.
pub fn dydx_max_rate_8h(clamp_factor: f64, imf: f64, mmf: f64) -> f64 {
    clamp_factor * (imf - mmf)
}
