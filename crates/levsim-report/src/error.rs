use std::path::PathBuf;

use thiserror::Error;

/// Errors while writing a report.
#[derive(Debug, Error)]
pub enum ReportError {
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// File or directory.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The output directory holds files levsim did not write.
    #[error("{0} exists and was not created by levsim (no {marker} inside); choose another --out or remove it yourself", marker = crate::MARKER_FILE)]
    ForeignDirectory(PathBuf),
    /// Parquet writing failed.
    #[error("{path}: parquet: {message}")]
    Parquet {
        /// File.
        path: PathBuf,
        /// Message.
        message: String,
    },
    /// Chart rendering failed.
    #[error("chart {name}: {message}")]
    Chart {
        /// Chart name.
        name: String,
        /// Message.
        message: String,
    },
}

pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}
