use thiserror::Error;

/// Errors of the engine: invalid configuration (named by field path) and
/// inputs the simulation cannot run on.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EngineError {
    /// A configuration value that is missing or out of range.
    #[error("{path}: {message}")]
    Config {
        /// Field path, e.g. `venue.taker_fee`.
        path: String,
        /// What is wrong, with the value.
        message: String,
    },
    /// The market has no bars to simulate.
    #[error("the market window has no bars")]
    EmptyMarket,
}

impl EngineError {
    /// A configuration error at `path`.
    pub fn config(path: &str, message: impl Into<String>) -> Self {
        EngineError::Config {
            path: path.to_string(),
            message: message.into(),
        }
    }
}
