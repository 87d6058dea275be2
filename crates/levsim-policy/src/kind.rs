use serde::{Deserialize, Serialize};

use crate::{BuiltinPolicy, ConstantLeverage, PolicyError, StaticLeverage};

/// A built-in policy with scalar parameters, as written in a scenario's
/// `[[policy]]` table once its parameter grid is expanded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicyKind {
    /// Open at `leverage` and hold.
    Static {
        /// Opening leverage, > 0.
        leverage: f64,
    },
    /// Rebalance to `leverage` whenever it drifts more than `band` (relative).
    ConstantLeverage {
        /// Target leverage, > 0.
        leverage: f64,
        /// Relative tolerance in (0, 1); default 0.1.
        #[serde(default = "default_band")]
        band: f64,
    },
}

fn default_band() -> f64 {
    0.1
}

impl PolicyKind {
    /// The `kind` name as written in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            PolicyKind::Static { .. } => "static",
            PolicyKind::ConstantLeverage { .. } => "constant_leverage",
        }
    }

    /// The leverage the policy opens at (used to check the venue's maximum
    /// before a run starts).
    pub fn opening_leverage(&self) -> f64 {
        match self {
            PolicyKind::Static { leverage } | PolicyKind::ConstantLeverage { leverage, .. } => {
                *leverage
            }
        }
    }

    /// Checks the parameters; every problem names its field.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let lev_ok = |l: f64| {
            if l.is_finite() && l > 0.0 {
                Ok(())
            } else {
                Err(PolicyError {
                    field: "leverage",
                    message: format!("must be a finite number > 0, got {l}"),
                })
            }
        };
        match *self {
            PolicyKind::Static { leverage } => lev_ok(leverage),
            PolicyKind::ConstantLeverage { leverage, band } => {
                lev_ok(leverage)?;
                if !(band > 0.0 && band < 1.0) {
                    return Err(PolicyError {
                        field: "band",
                        message: format!("must be in (0, 1), got {band}"),
                    });
                }
                Ok(())
            }
        }
    }

    /// Builds the policy after validating it.
    pub fn build(&self) -> Result<BuiltinPolicy, PolicyError> {
        self.validate()?;
        Ok(match *self {
            PolicyKind::Static { leverage } => BuiltinPolicy::Static(StaticLeverage { leverage }),
            PolicyKind::ConstantLeverage { leverage, band } => {
                BuiltinPolicy::ConstantLeverage(ConstantLeverage { leverage, band })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_from_toml_with_defaults() {
        let k: PolicyKind = toml::from_str("kind = \"constant_leverage\"\nleverage = 3.0").unwrap();
        assert_eq!(
            k,
            PolicyKind::ConstantLeverage {
                leverage: 3.0,
                band: 0.1
            }
        );
        assert_eq!(k.name(), "constant_leverage");
    }

    #[test]
    fn rejects_unknown_fields_and_kinds() {
        let e = toml::from_str::<PolicyKind>("kind = \"static\"\nleverage = 3.0\nlevrage = 2.0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("levrage"), "{e}");
        let e = toml::from_str::<PolicyKind>("kind = \"yolo\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("yolo"), "{e}");
    }

    #[test]
    fn validation_names_the_field() {
        let e = PolicyKind::Static { leverage: -1.0 }
            .validate()
            .unwrap_err();
        assert_eq!(e.field, "leverage");
        let e = PolicyKind::ConstantLeverage {
            leverage: 2.0,
            band: 1.5,
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "band");
    }
}
