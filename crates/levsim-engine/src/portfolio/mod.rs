//! Portfolio accounts: several instruments on one clock in one account,
//! under isolated, cross or portfolio margin.
//!
//! - [`PortfolioTape`](levsim_core::PortfolioTape) carries every leg's bars;
//!   each leg has its own venue rules (the venue's tables for its symbol)
//!   and its own funding.
//! - A [`MarginScope`] says what a margin bucket must hold: [`Isolated`]
//!   (a bucket per leg), [`Cross`] (one bucket, the sum of every leg's
//!   maintenance: Binance's cross rule) or [`Portfolio`] (one bucket, the
//!   worst loss over a [`ScenarioGrid`] of joint moves).
//! - [`simulate_portfolio`] runs a
//!   [`PortfolioPolicy`](levsim_policy::PortfolioPolicy) through the bars.
//!
//! **Joint intrabar order.** Bars do not tell in which order several
//! instruments reached their extremes. The loop uses *synchronous* points:
//! every leg walks its own path `open → L → H → C` (up bar) or
//! `open → H → L → C` (down bar), all legs taking step `j` together, with
//! prices moving linearly between points; a bucket is liquidated at the
//! first point of that joint path where its equity meets its requirement,
//! found on the segment (exact for one leg: its liquidation price).

// Legs are addressed by dense id across several parallel columns (qty,
// entry, marks, rules): an index loop says so more plainly than zips.
#![allow(clippy::needless_range_loop)]

mod book;
mod grid;
mod metrics;
pub mod models;
mod run;
mod scope;

pub use book::{Book, LegOption};
pub use grid::{symmetric_eigen, ScenarioGrid};
pub use metrics::{LegMetrics, PortfolioOutput, PortfolioSeries, TransferMetrics};
pub use run::{simulate_portfolio, OptionLeg, PortfolioMarket};
pub use scope::{Cross, Isolated, MarginScope, Portfolio, EXTENDED_MOVES};
