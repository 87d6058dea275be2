//! The `[liquidity]` table: which liquidity model fills the runs' orders.

use std::path::PathBuf;
use std::sync::Arc;

use levsim_core::Book;
use levsim_data::book::{apply_repairing, load_book};
use levsim_engine::liquidity::{BookLiquidity, LinearImpact, LiquidityAny, NoImpact, SqrtImpact};
use serde::{Deserialize, Serialize};

use crate::ScenarioError;

/// Which model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiquidityKind {
    /// Fill at the price, no impact (the default).
    #[default]
    None,
    /// Linear: `depth` quote per 100 % move.
    Linear,
    /// Square root: `y_sigma`, `volume`, or calibrated from a book file.
    Sqrt,
    /// Walk a replayed book file.
    Book,
}

/// The `[liquidity]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiquidityConfig {
    /// Model.
    #[serde(default)]
    pub model: LiquidityKind,
    /// Linear: quote of depth per unit (100 %) of relative move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<f64>,
    /// Sqrt: the move of an order of `volume` base units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_sigma: Option<f64>,
    /// Sqrt: the size scale (base units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<f64>,
    /// Sqrt: fit `y_sigma` and `volume` to the book after the last message
    /// of this book file (see `SqrtImpact::calibrate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrate_from: Option<PathBuf>,
    /// Sqrt calibration band around mid (default 0.01 = 1 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<f64>,
    /// Book: the book file to replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Half-life (seconds) of the impact on the mark, and of the book's refill.
    #[serde(default = "default_half_life")]
    pub half_life_s: f64,
    /// Liquidity scale: 0.5 halves every depth (a liquidity drain).
    #[serde(default = "one")]
    pub scale: f64,
}

impl Default for LiquidityConfig {
    fn default() -> Self {
        Self {
            model: LiquidityKind::None,
            depth: None,
            y_sigma: None,
            volume: None,
            calibrate_from: None,
            band: None,
            file: None,
            half_life_s: default_half_life(),
            scale: one(),
        }
    }
}

fn default_half_life() -> f64 {
    60.0
}

fn one() -> f64 {
    1.0
}

impl LiquidityConfig {
    /// Checks the table; every problem names its field.
    pub(crate) fn validate(&self, problems: &mut Vec<String>) {
        if !(self.scale.is_finite() && self.scale > 0.0) {
            problems.push(format!("liquidity.scale: must be > 0, got {}", self.scale));
        }
        if !(self.half_life_s > 0.0) {
            problems.push(format!(
                "liquidity.half_life_s: must be > 0, got {}",
                self.half_life_s
            ));
        }
        let positive = |v: Option<f64>, k: &str, problems: &mut Vec<String>| match v {
            Some(x) if x.is_finite() && x > 0.0 => {}
            Some(x) => problems.push(format!("liquidity.{k}: must be > 0, got {x}")),
            None => problems.push(format!(
                "liquidity.{k}: required for model = {:?}",
                self.model
            )),
        };
        match self.model {
            LiquidityKind::None => {}
            LiquidityKind::Linear => positive(self.depth, "depth", problems),
            LiquidityKind::Sqrt => {
                if self.calibrate_from.is_none() {
                    positive(self.y_sigma, "y_sigma", problems);
                    positive(self.volume, "volume", problems);
                }
            }
            LiquidityKind::Book => {
                if self.file.is_none() {
                    problems.push("liquidity.file: required for model = \"book\"".into());
                }
            }
        }
    }

    /// Builds the model of scenario `sc` (loading and replaying book files).
    pub(crate) fn build(&self, sc: &crate::Scenario) -> Result<LiquidityAny, ScenarioError> {
        let bad = |m: String| ScenarioError::Invalid {
            file: sc.path.clone(),
            problems: vec![m],
        };
        Ok(match self.model {
            LiquidityKind::None => LiquidityAny::None(NoImpact),
            LiquidityKind::Linear => LiquidityAny::Linear(LinearImpact::new(
                self.depth.unwrap_or(1.0),
                self.scale,
                self.half_life_s,
            )),
            LiquidityKind::Sqrt => match &self.calibrate_from {
                None => LiquidityAny::Sqrt(SqrtImpact::new(
                    self.y_sigma.unwrap_or(0.0),
                    self.volume.unwrap_or(1.0),
                    self.scale,
                    self.half_life_s,
                )),
                Some(path) => {
                    let (tape, _, _) = load_book(&sc.data_path(path), None)?;
                    let mut book = Book::for_tape(&tape);
                    for i in 0..tape.len() {
                        apply_repairing(&mut book, &tape, i);
                    }
                    let band = self.band.unwrap_or(0.01);
                    let (mut m, _) = SqrtImpact::calibrate(&book, band, self.half_life_s)
                        .ok_or_else(|| {
                            bad(format!(
                                "liquidity.calibrate_from: {} has no two-sided book to fit",
                                path.display()
                            ))
                        })?;
                    m.scale = self.scale;
                    LiquidityAny::Sqrt(m)
                }
            },
            LiquidityKind::Book => {
                let path = self
                    .file
                    .as_ref()
                    .ok_or_else(|| bad("liquidity.file: required".into()))?;
                let (tape, _, _) = load_book(&sc.data_path(path), None)?;
                LiquidityAny::Book(Box::new(BookLiquidity::new(
                    Arc::new(tape),
                    self.scale,
                    self.half_life_s,
                )))
            }
        })
    }
}
