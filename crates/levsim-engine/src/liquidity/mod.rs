//! Liquidity and market impact: how a market order of size `q` fills and
//! how far it moves the mark (DESIGN §4.4).
//!
//! - [`NoImpact`]: fills at the reference price, no impact (the behaviour of
//!   a run without a liquidity model, for comparisons);
//! - [`LinearImpact`]: constant depth per unit of relative move (the
//!   closed-form cascade checks of CLOSED_FORM F8);
//! - [`SqrtImpact`]: square-root impact `Y·σ·sqrt(q/V)`, with
//!   [`SqrtImpact::calibrate`] fitting it to a replayed book;
//! - [`BookLiquidity`]: walks a replayed L2 book; what the simulation takes
//!   stays taken against later replayed updates and refills with a
//!   resilience half-life.
//!
//! Every model takes a `scale` (liquidity drain: 0.5 halves the depth) and
//! a `half_life_s` with which the impact it left on the mark decays.

mod book;
mod models;

pub use book::BookLiquidity;
pub use models::{LinearImpact, NoImpact, SqrtImpact};

use levsim_core::TimestampNs;
use serde::Serialize;

/// The result of a market order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FillResult {
    /// Size filled (base units, positive).
    pub filled: f64,
    /// Size that found no liquidity.
    pub unfilled: f64,
    /// Volume-weighted price of the filled part (the reference price when
    /// nothing filled).
    pub vwap: f64,
    /// Price of the last unit filled.
    pub last_price: f64,
    /// Book levels consumed (book model; 0 for formula models).
    pub levels: usize,
}

/// A liquidity model: one required method, `fill`; impact bookkeeping has a
/// default for models without memory.
///
/// ```
/// use levsim_engine::liquidity::{LiquidityModel, LinearImpact};
/// // 1,000,000 quote of depth per 1 % move, no decay.
/// let mut m = LinearImpact::new(100_000_000.0, 1.0, f64::INFINITY);
/// let f = m.fill(0, 100.0, -10_000.0); // sell 10,000 units = 1,000,000 quote
/// assert!((f.last_price - 99.0).abs() < 1e-9);
/// assert!((f.vwap - 99.5).abs() < 1e-9);
/// ```
pub trait LiquidityModel {
    /// Fills a market order of signed size `qty` (base units, + buy, − sell)
    /// at time `t` against reference price `mid`, and records its impact.
    fn fill(&mut self, t: TimestampNs, mid: f64, qty: f64) -> FillResult;

    /// The relative impact the model's past fills leave on the mark at `t`
    /// (e.g. −0.01: the mark is 1 % below the exogenous price).
    fn impact(&self, _t: TimestampNs) -> f64 {
        0.0
    }

    /// Clears state before a new run.
    fn reset(&mut self) {}
}

/// The lowest a formula model lets a sell push the price, as a share of the
/// reference: the book thins out there and the rest of the order is unfilled.
pub(crate) const FLOOR: f64 = 0.01;

/// Exponential decay factor over `dt` ns for a half-life in seconds.
pub(crate) fn decay(dt: TimestampNs, half_life_s: f64) -> f64 {
    if !half_life_s.is_finite() {
        return 1.0;
    }
    if half_life_s <= 0.0 {
        return 0.0;
    }
    (-(dt.max(0) as f64 / 1e9) * std::f64::consts::LN_2 / half_life_s).exp()
}

/// Impact that decays with a half-life, shared by the formula models.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct DecayingImpact {
    value: f64,
    at: TimestampNs,
    half_life_s: f64,
}

impl DecayingImpact {
    pub(crate) fn new(half_life_s: f64) -> Self {
        Self {
            value: 0.0,
            at: 0,
            half_life_s,
        }
    }

    pub(crate) fn get(&self, t: TimestampNs) -> f64 {
        self.value * decay(t - self.at, self.half_life_s)
    }

    pub(crate) fn reset(&mut self) {
        self.value = 0.0;
        self.at = 0;
    }

    /// Adds a move; the mark never falls below [`FLOOR`] of the exogenous price.
    pub(crate) fn add(&mut self, t: TimestampNs, delta: f64) {
        self.value = (self.get(t) + delta).max(FLOOR - 1.0);
        self.at = t;
    }
}

/// The built-in models, for static dispatch from configuration.
#[derive(Debug, Clone)]
pub enum LiquidityAny {
    /// See [`NoImpact`].
    None(NoImpact),
    /// See [`LinearImpact`].
    Linear(LinearImpact),
    /// See [`SqrtImpact`].
    Sqrt(SqrtImpact),
    /// See [`BookLiquidity`].
    Book(Box<BookLiquidity>),
}

impl LiquidityModel for LiquidityAny {
    fn fill(&mut self, t: TimestampNs, mid: f64, qty: f64) -> FillResult {
        match self {
            LiquidityAny::None(m) => m.fill(t, mid, qty),
            LiquidityAny::Linear(m) => m.fill(t, mid, qty),
            LiquidityAny::Sqrt(m) => m.fill(t, mid, qty),
            LiquidityAny::Book(m) => m.fill(t, mid, qty),
        }
    }
    fn impact(&self, t: TimestampNs) -> f64 {
        match self {
            LiquidityAny::None(m) => m.impact(t),
            LiquidityAny::Linear(m) => m.impact(t),
            LiquidityAny::Sqrt(m) => m.impact(t),
            LiquidityAny::Book(m) => m.impact(t),
        }
    }
    fn reset(&mut self) {
        match self {
            LiquidityAny::None(m) => m.reset(),
            LiquidityAny::Linear(m) => m.reset(),
            LiquidityAny::Sqrt(m) => m.reset(),
            LiquidityAny::Book(m) => m.reset(),
        }
    }
}

impl Default for LiquidityAny {
    fn default() -> Self {
        LiquidityAny::None(NoImpact)
    }
}
