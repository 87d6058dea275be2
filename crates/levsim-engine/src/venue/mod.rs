//! Venue rules: named, versioned profiles (margin model, fees, liquidation,
//! funding), overridable from a scenario, and the rule pieces of SPEC §10 as
//! small, separately tested functions and types.

pub mod aave;
pub mod adl;
mod brackets;
pub mod calculator;
pub mod cross;
pub mod drift;
pub mod dydx;
pub mod funding;
pub mod hyperliquid;
mod insurance;
mod liquidation;
pub mod mango;
mod margin;
mod models;
pub mod params;
pub mod portfolio;
mod profile;
pub mod waterfall;

pub use brackets::{Bracket, BracketSpec, BracketTable};
pub use insurance::InsuranceFund;
pub use liquidation::{AccountOrder, LiquidationMode, LiquidationRule};
pub use margin::{MarginModel, MarginModelAny};
pub use models::{FractionOfNotional, RiskLimitSteps, SizeScaled, SizeScaling, VolScaling};
pub use profile::{
    preset_meta, preset_names, preset_text, profile_text, AaveExtras, CollateralParams,
    DriftExtras, PresetMeta, VenueConfig, VenueProfile,
};
