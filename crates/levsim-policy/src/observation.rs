use levsim_core::{Side, TimestampNs};

/// What a trader can know at a decision point. Borrowed from the engine; all
/// slices end at the current time.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// Current time (ns UTC): the close of the bar just completed.
    pub ts: TimestampNs,
    /// Current mark price.
    pub mark: f64,
    /// Bar closes from the start of the run up to and including the current bar.
    pub closes: &'a [f64],
    /// Bar length in years (365-day), for annualizing estimates.
    pub bar_years: f64,
    /// Side the account trades (from the scenario's `[account] side`).
    pub side: Side,
    /// Account equity at mark (wallet + unrealized PnL), quote currency.
    pub equity: f64,
    /// Signed position size in base units (0 when flat).
    pub position_qty: f64,
    /// Average entry price of the open position (0 when flat).
    pub entry_price: f64,
    /// Effective leverage: notional at mark / equity (0 when flat).
    pub leverage: f64,
    /// Maintenance margin / equity (≥ 1 means liquidatable; 0 when flat).
    pub margin_ratio: f64,
    /// Liquidation price of the open position, if any.
    pub liquidation_price: Option<f64>,
    /// Collateral held outside the position (quote), available for top-ups.
    pub reserve: f64,
    /// Decisions made but not yet landed (decision latency, withdrawals).
    pub pending: u32,
    /// Liquidation orders (tranches) so far in this run: it grows with
    /// every order, so a policy sees each step of a partial liquidation.
    pub liquidations: u32,
}

impl Observation<'_> {
    /// True when no position is open.
    pub fn is_flat(&self) -> bool {
        self.position_qty == 0.0
    }

    /// Relative distance from mark to the liquidation price (e.g. 0.1 = 10 %).
    pub fn distance_to_liquidation(&self) -> Option<f64> {
        self.liquidation_price
            .map(|lp| (self.mark - lp).abs() / self.mark)
    }
}

/// What a policy wants. The engine validates it against the venue's rules;
/// a decision the venue refuses is recorded as a refusal, never silently
/// changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Do nothing.
    Hold,
    /// Trade to this effective leverage (notional / equity) on the account's side.
    TargetLeverage(f64),
    /// Move this much quote collateral from the reserve into the margin.
    TopUp(f64),
    /// Move this much quote collateral from the margin to the reserve.
    Withdraw(f64),
    /// Close the position.
    Close,
}
