use thiserror::Error;

/// Invalid policy parameters. `field` is the parameter name as written in a
/// scenario file (e.g. `leverage`).
#[derive(Debug, Error, Clone, PartialEq)]
#[error("`{field}`: {message}")]
pub struct PolicyError {
    /// Parameter name.
    pub field: &'static str,
    /// What is wrong, with the value.
    pub message: String,
}
