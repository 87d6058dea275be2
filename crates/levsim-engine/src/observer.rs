//! Observers: the engine reports what happens; callers decide what to keep.

use levsim_core::{Fill, LiquidationEvent, TimestampNs};

/// The account's state at a bar close.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarState {
    /// Bar open time (ns UTC).
    pub ts: TimestampNs,
    /// Bar close of the exogenous (historical or generated) price.
    pub close: f64,
    /// Simulated mark at the close: the close moved by the impact of the
    /// account's own orders (equal to `close` without a liquidity model).
    pub mark: f64,
    /// Equity at the close (quote).
    pub equity: f64,
    /// Effective leverage (notional / equity), 0 when flat.
    pub leverage: f64,
    /// Liquidation price, NaN when flat or none.
    pub liquidation_price: f64,
    /// Signed position size (base units).
    pub position_qty: f64,
    /// Margin ratio: maintenance margin over equity (the position's
    /// maintenance rate at entry × effective leverage), 0 when flat; the
    /// venue liquidates at 1.
    pub margin_ratio: f64,
}

/// Receives events from the simulation loop. Every method has a no-op
/// default, so an observer implements only what it needs; `()` observes
/// nothing and costs nothing.
pub trait Observer {
    /// Called at every bar close, before the policy decides.
    fn on_bar(&mut self, _state: &BarState) {}
    /// Called for every trade of the account, liquidations included.
    fn on_fill(&mut self, _fill: &Fill) {}
    /// Called for every liquidation.
    fn on_liquidation(&mut self, _event: &LiquidationEvent) {}
    /// Whether bar states are kept (the engine skips filling in what only
    /// a recorder needs when not, and on quiet stretches of an open
    /// position, or once the account is flat for good, it may not call
    /// [`Observer::on_bar`] at all); default true.
    fn records_bars(&self) -> bool {
        true
    }
}

impl Observer for () {
    fn records_bars(&self) -> bool {
        false
    }
}

/// Records the bar states as columns, keeping every `stride`-th bar (and
/// always the bars where a liquidation happened), for charts and time-series
/// output.
#[derive(Debug, Clone, Default)]
pub struct SeriesRecorder {
    stride: usize,
    seen: usize,
    force_next: bool,
    /// Bar open times.
    pub ts: Vec<TimestampNs>,
    /// Equity at close.
    pub equity: Vec<f64>,
    /// Effective leverage at close.
    pub leverage: Vec<f64>,
    /// Simulated mark at close.
    pub mark: Vec<f64>,
    /// Liquidation price at close (NaN when none).
    pub liquidation_price: Vec<f64>,
    /// Margin ratio at close (maintenance / equity).
    pub margin_ratio: Vec<f64>,
}

impl SeriesRecorder {
    /// Keeps every `stride`-th bar (`stride` ≥ 1).
    pub fn new(stride: usize) -> Self {
        Self {
            stride: stride.max(1),
            ..Default::default()
        }
    }

    /// A recorder holding columns read back from storage (nothing more is
    /// recorded into it).
    pub fn from_columns(
        ts: Vec<TimestampNs>,
        equity: Vec<f64>,
        leverage: Vec<f64>,
        liquidation_price: Vec<f64>,
        mark: Vec<f64>,
        margin_ratio: Vec<f64>,
    ) -> Self {
        Self {
            stride: 0,
            ts,
            equity,
            leverage,
            liquidation_price,
            mark,
            margin_ratio,
            ..Default::default()
        }
    }

    /// Keeps nothing (runs whose series nobody will look at).
    pub fn disabled() -> Self {
        Self {
            stride: 0,
            ..Default::default()
        }
    }
}

impl Observer for SeriesRecorder {
    fn records_bars(&self) -> bool {
        self.stride != 0
    }
    // Inlined so that a disabled recorder (every Monte Carlo run but path
    // 0's) costs one compare per bar, not a call.
    #[inline]
    fn on_bar(&mut self, s: &BarState) {
        if self.stride != 0 {
            self.record(s);
        }
    }

    fn on_liquidation(&mut self, _e: &LiquidationEvent) {
        self.force_next = true;
    }
}

impl SeriesRecorder {
    /// Keeps every `stride`-th bar, and the bar after a liquidation.
    #[inline(never)]
    fn record(&mut self, s: &BarState) {
        if self.seen % self.stride == 0 || self.force_next {
            self.ts.push(s.ts);
            self.equity.push(s.equity);
            self.leverage.push(s.leverage);
            self.mark.push(s.mark);
            self.liquidation_price.push(s.liquidation_price);
            self.margin_ratio.push(s.margin_ratio);
            self.force_next = false;
        }
        self.seen += 1;
    }
}
