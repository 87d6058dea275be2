//! Leverage policies: what a trader decides, given what it can know.
//!
//! A policy implements [`LeveragePolicy`]: the engine owns the loop and the
//! clock, hands the policy an [`Observation`] (only information available at
//! that time: no future prices) and applies the returned [`Decision`] under
//! the venue's rules. Built-ins are rows of [`PolicyKind`], a serde-tagged
//! enum that scenario files select with `kind = "…"`.
//!
//! ```
//! use levsim_policy::{Decision, LeveragePolicy, Observation};
//!
//! /// Opens at 3x and never trades again.
//! struct ThreeX;
//!
//! impl LeveragePolicy for ThreeX {
//!     fn decide(&mut self, obs: &Observation<'_>) -> Decision {
//!         if obs.is_flat() { Decision::TargetLeverage(3.0) } else { Decision::Hold }
//!     }
//! }
//! ```

mod builtin;
mod dynamic;
mod error;
pub mod estimate;
mod greek;
mod kind;
mod observation;
mod portfolio;
pub mod regime;

pub use builtin::{BuiltinPolicy, ConstantLeverage, StaticLeverage};
pub use dynamic::{
    BufferRule, DrawdownControl, Estimates, Kelly, LiquidationBuffer, MarginTopup, TopupRule,
    VolTarget, WithTopup,
};
pub use error::PolicyError;
pub use greek::{GreekAware, GreekAwareParams};
pub use kind::{BufferRuleName, ForecastName, ParamValue, PolicyKind, Weights};
pub use observation::{Decision, Observation};
pub use portfolio::{
    DeltaHedged, Forecast, OnFirstLeg, PortfolioDecision, PortfolioObservation, PortfolioPolicy,
    PortfolioTopup, Sizing, WeightsPolicy,
};

/// A leverage policy: one required method, called at every decision point.
pub trait LeveragePolicy {
    /// Decides what to do given the observation. Must not panic.
    fn decide(&mut self, obs: &Observation<'_>) -> Decision;

    /// When the engine asks for a decision (default: at every bar close).
    fn cadence(&self) -> Cadence {
        Cadence::EveryBar
    }

    /// Clears internal state before a new run (default: nothing to clear).
    fn reset(&mut self) {}
}

/// When a policy is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// At every bar close.
    EveryBar,
    /// Only while no position is open (a policy that never trades an open
    /// position, such as `static`): the engine skips building observations
    /// it would ignore.
    WhenFlat,
}

impl<P: LeveragePolicy + ?Sized> LeveragePolicy for Box<P> {
    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        (**self).decide(obs)
    }
    fn cadence(&self) -> Cadence {
        (**self).cadence()
    }
    fn reset(&mut self) {
        (**self).reset()
    }
}
