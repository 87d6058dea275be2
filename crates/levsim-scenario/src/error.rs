use std::path::PathBuf;

use thiserror::Error;

/// Errors of scenario loading, validation and execution.
#[derive(Debug, Error)]
pub enum ScenarioError {
    /// The scenario file cannot be read.
    #[error("{file}")]
    Io {
        /// Scenario path.
        file: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse or does not match the schema.
    #[error("{file}: {message}")]
    Parse {
        /// Scenario path.
        file: PathBuf,
        /// Field path and message.
        message: String,
    },
    /// One or more invalid values; each line names a field path.
    #[error("{file}: invalid scenario:\n  - {}", problems.join("\n  - "))]
    Invalid {
        /// Scenario path.
        file: PathBuf,
        /// `field.path: message` lines.
        problems: Vec<String>,
    },
    /// Market data could not be loaded.
    #[error(transparent)]
    Data(#[from] levsim_data::DataError),
    /// The engine refused the configuration.
    #[error(transparent)]
    Engine(#[from] levsim_engine::EngineError),
    /// The sweep was stopped (Ctrl-C from Python) before it finished.
    #[error("interrupted: the sweep was stopped before it finished")]
    Interrupted,
    /// An external policy (one written in Python) failed in a run.
    #[error("{run}: {message}")]
    Policy {
        /// The run's id.
        run: String,
        /// What the policy or its factory raised.
        message: String,
    },
}
