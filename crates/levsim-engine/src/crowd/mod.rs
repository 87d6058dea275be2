//! Liquidation cascades: a crowd of leveraged accounts, its liquidation
//! prices in sorted indexes, and the market pass that feeds forced orders
//! back into the mark (DESIGN §4.1, §4.5).
//!
//! - [`PopulationConfig`] → [`Population`]: N accounts from a seed (open
//!   interest, long share, leverage distribution, entry window, sizes),
//!   those already liquidated before the start dropped;
//! - [`market_pass`]: the exogenous path and the crowd through the venue's
//!   rules ([`CrowdRules`]: full or partial liquidation, static or
//!   volatility-scaled maintenance, open-interest-scaled initial margin),
//!   with cascade rounds, insurance fund, ADL and socialized loss; returns
//!   the simulated mark as bars, per-bar series and [`MarketMetrics`];
//! - [`CrowdMixConfig`] → [`CrowdBook`] → [`contagion_pass`]: accounts
//!   holding several instruments (cross or isolated) on one clock, where a
//!   crash in one asset liquidates legs in another.

mod book;
mod contagion;
mod index;
mod pass;
mod population;
mod rules;

pub use book::{CrowdBook, CrowdMixConfig, HoldingMix};
pub use contagion::{
    contagion_pass, least_notional_to_cover, ContagionMetrics, ContagionOptions, ContagionPass,
    ContagionSeries, InstrumentCascade, VenueLinks,
};
pub use index::SideIndex;
pub use pass::{
    market_pass, market_pass_with, AdlEvent, Crossing, MarketMetrics, MarketPass, MarketSeries,
    PassOptions,
};
pub use population::{
    LeverageDist, MarginGroup, Population, PopulationConfig, RenewRule, TopUpRule,
};
pub use rules::{CrowdLiquidation, CrowdRules, DynamicMargin, OiInitialMargin};
