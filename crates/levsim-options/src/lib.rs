//! European options for levsim: Black-76 prices and Greeks on the forward
//! ([`black76`]) and Deribit's instrument names ([`OptionName`]).
//!
//! Units follow Deribit's ticker, so that a chain's own numbers are the
//! test oracle: prices in USD per option from the pricer, or in coin per
//! 1-coin option for an inverse (coin-settled) option (`usd / F`); `delta`
//! per unit of the underlying (N(d1), undiscounted: r = 0, as Deribit);
//! `gamma` per USD of the underlying; `vega` in USD per volatility point;
//! `theta` in USD per day (365-day year).

pub mod black76;
mod error;
pub mod margin;
mod name;
pub mod revalue;
pub mod surface;
pub mod svi;
pub mod tape;

pub use black76::{greeks, price, Greeks, OptionKind};
pub use error::OptionError;
pub use name::OptionName;
pub use svi::{Svi, SviFit};
