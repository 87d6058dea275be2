//! Domain types of levsim, shared by every other crate.
//!
//! This crate owns the vocabulary of the simulator and nothing else: time
//! ([`TimestampNs`], always `i64` nanoseconds UTC), [`Side`], [`Instrument`],
//! the columnar market data the engine consumes ([`MarketTape`],
//! [`FundingSeries`]) and the events a run emits ([`Fill`],
//! [`LiquidationEvent`]). It has no I/O and no heavy dependencies, so the
//! engine and the policies build and test in seconds.

mod book;
mod error;
mod event;
mod instrument;
mod ladder;
mod portfolio;
mod side;
mod tape;
pub mod time;

pub use book::{Book, BookMessageKind, BookSide, BookTape, TradeTape};
pub use error::CoreError;
pub use event::{Fill, FillReason, LiquidationEvent};
pub use instrument::{ContractKind, Instrument};
pub use ladder::Grid;
pub use portfolio::{
    Alignment, InstrumentId, InstrumentTable, LegBars, PortfolioTape, MAX_INSTRUMENTS,
};
pub use side::Side;
pub use tape::{CheckedTape, FundingSeries, MarketTape};
pub use time::TimestampNs;
