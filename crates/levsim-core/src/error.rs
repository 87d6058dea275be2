use thiserror::Error;

/// Errors raised when core domain values are constructed from bad input.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoreError {
    /// A columnar tape whose columns do not have the same length.
    #[error("tape columns have different lengths: {0}")]
    RaggedColumns(String),
    /// A timestamp string that is not ISO 8601 / RFC 3339.
    #[error("cannot parse time {value:?}: {reason}")]
    BadTime {
        /// The text that failed to parse.
        value: String,
        /// Why it failed.
        reason: String,
    },
    /// A duration string such as `"1h"` that cannot be parsed.
    #[error(
        "cannot parse duration {0:?}: expected a number followed by s, m, h or d (e.g. \"8h\")"
    )]
    BadDuration(String),
}
