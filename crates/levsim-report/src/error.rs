use std::path::PathBuf;

use thiserror::Error;

/// Errors while writing a report.
#[derive(Debug, Error)]
pub enum ReportError {
    /// A file could not be written.
    #[error("{path}: {error}")]
    Io {
        /// File or directory.
        path: PathBuf,
        /// Underlying error (in the message, not repeated as a cause).
        error: std::io::Error,
    },
    /// The output directory holds files levsim did not write.
    #[error("{0} exists and was not created by levsim (no {marker} inside); choose another --out or remove it yourself", marker = crate::MARKER_FILE)]
    ForeignDirectory(PathBuf),
    /// A levsim report directory holds a file of a name levsim writes that
    /// levsim did not write (its marker does not list it).
    #[error("{0} was not written by levsim and would be overwritten; choose another --out or move the file")]
    ForeignFile(PathBuf),
    /// Parquet writing failed.
    #[error("{path}: parquet: {message}")]
    Parquet {
        /// File.
        path: PathBuf,
        /// Message.
        message: String,
    },
    /// A report directory could not be rebuilt (`levsim report`).
    #[error("{dir}: {message}")]
    Rebuild {
        /// The report directory (or file).
        dir: PathBuf,
        /// What is wrong.
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
    move |error| ReportError::Io {
        path: path.to_path_buf(),
        error,
    }
}
