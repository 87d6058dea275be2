use thiserror::Error;

use crate::Format;

/// Errors of the data layer. Every variant names the file; row-level
/// variants name the 1-based line number and the field.
#[derive(Debug, Error)]
pub enum DataError {
    /// The file cannot be opened or read.
    #[error("{file}: {source}")]
    Io {
        /// File path.
        file: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A field that is missing, unparsable or out of range.
    #[error("{file}: line {line}, field `{field}`: {message}")]
    Field {
        /// File path.
        file: String,
        /// 1-based line number in the (decompressed) file.
        line: u64,
        /// Column name.
        field: String,
        /// What is wrong, with the offending value.
        message: String,
    },
    /// A row-level problem that is not about one field (e.g. wrong column count).
    #[error("{file}: line {line}: {message}")]
    Row {
        /// File path.
        file: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The format cannot be detected or the file does not match it.
    #[error("{file}: {message}")]
    Format {
        /// File path.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A file of the wrong kind (e.g. funding where bars are expected).
    #[error("{file}: detected format `{detected}`, but {wanted} are needed here")]
    WrongKind {
        /// File path.
        file: String,
        /// Format found.
        detected: Format,
        /// What the caller needs.
        wanted: &'static str,
    },
    /// Gaps found while the scenario says `on_gap = "error"`.
    #[error("{file}: {count} gap(s) in the bars, first: {first}; set `on_gap = \"skip\"` or `\"ffill\"` in [market] to run anyway")]
    Gaps {
        /// File path.
        file: String,
        /// Number of gaps.
        count: usize,
        /// Description of the first gap.
        first: String,
    },
    /// Parquet read or write failure.
    #[error("{file}: parquet: {message}")]
    Parquet {
        /// File path.
        file: String,
        /// Underlying message.
        message: String,
    },
}
