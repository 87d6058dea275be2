//! The levsim engine: venue rules and the simulation loop.
//!
//! - [`venue`]: named venue profiles (margin brackets, fees, funding) and
//!   scenario overrides;
//! - [`simulate`]: replays a [`MarketTape`](levsim_core::MarketTape) bar by
//!   bar along an intrabar path, applies funding, checks the liquidation
//!   trigger at every path point, liquidates, and asks a
//!   [`LeveragePolicy`](levsim_policy::LeveragePolicy) for decisions;
//! - [`Observer`]: how callers record what happens (the engine writes no
//!   files).
//!
//! The engine depends on neither polars, rayon nor plotters, so it builds and
//! tests quickly. No wall clock and no randomness are used here.

mod account;
pub mod crowd;
mod error;
pub mod liquidity;
mod metrics;
mod observer;
mod path;
pub mod portfolio;
mod sim;
pub mod venue;

pub use account::{
    AccountConfig, CollateralConfig, Latency, LatencyNs, MarginMode, PortfolioMarginConfig,
    TransferRule,
};
pub use error::EngineError;
pub use metrics::RunMetrics;
pub use observer::{BarState, Observer, SeriesRecorder};
pub use path::intrabar_path;
pub use sim::{simulate, simulate_with, Market, RunOutput};
pub use venue::{VenueConfig, VenueProfile};
