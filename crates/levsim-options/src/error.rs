use thiserror::Error;

/// Bad option input, naming what is wrong.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum OptionError {
    /// An instrument name that is not Deribit's `UNDERLYING-DDMMMYY-STRIKE-C|P`.
    #[error("option name {name:?}: {reason} (expected e.g. BTC-26JUN20-10000-C)")]
    BadName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}
