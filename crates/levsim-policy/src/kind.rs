use serde::{Deserialize, Serialize};

use crate::dynamic::{
    BufferRule, DrawdownControl, Estimates, Kelly, LiquidationBuffer, MarginTopup, VolTarget,
};
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
        /// Portfolio weights by symbol (negative: short), any scale:
        /// `leverage` is then the gross leverage (Σ |notional| / capital).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weights: Option<Weights>,
    },
    /// Rebalance to `leverage` whenever it drifts more than `band` (relative).
    ConstantLeverage {
        /// Target leverage, > 0.
        leverage: f64,
        /// Relative tolerance in (0, 1); default 0.1.
        #[serde(default = "default_band")]
        band: f64,
        /// Portfolio weights by symbol (negative: short), any scale:
        /// `leverage` is then the gross leverage (Σ |notional| / capital).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weights: Option<Weights>,
    },
    /// `target_vol / σ̂` (EWMA realized volatility), capped.
    VolTarget {
        /// Target annual volatility of the position.
        target_vol: f64,
        /// Leverage cap (default 20).
        #[serde(default = "default_cap")]
        max_leverage: f64,
        /// Rebalancing band (default 0.1).
        #[serde(default = "default_band")]
        band: f64,
        /// EWMA half-life, hours (default 72).
        #[serde(default = "default_halflife")]
        halflife_h: f64,
        /// σ before warm-up (default 0.8).
        #[serde(default = "default_sigma")]
        sigma_prior: f64,
        /// Portfolio weights by symbol (negative: short), any scale:
        /// the target volatility is the portfolio's, under an EWMA
        /// covariance of the legs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weights: Option<Weights>,
    },
    /// The largest leverage whose liquidation price stays out of reach
    /// within the horizon: F3 probability ≤ `epsilon`, or F7 `k`·σ̂·√h away.
    LiquidationBuffer {
        /// `first_passage` (F3, default) or `distance` (F7).
        #[serde(default)]
        rule: BufferRuleName,
        /// F3: tolerated probability of touching (default 0.01).
        #[serde(default = "default_epsilon")]
        epsilon: f64,
        /// F7: distance in σ (default 3).
        #[serde(default = "default_k")]
        k: f64,
        /// Horizon, hours (default 24).
        #[serde(default = "default_horizon")]
        horizon_h: f64,
        /// Maintenance rate the rule assumes (default 0.005).
        #[serde(default = "default_mmr")]
        mmr: f64,
        /// Leverage cap (default 20).
        #[serde(default = "default_cap")]
        max_leverage: f64,
        /// Rebalancing band (default 0.1).
        #[serde(default = "default_band")]
        band: f64,
        /// EWMA half-life, hours (default 72).
        #[serde(default = "default_halflife")]
        halflife_h: f64,
        /// σ before warm-up (default 0.8).
        #[serde(default = "default_sigma")]
        sigma_prior: f64,
        /// Portfolio weights by symbol (negative: short): the buffer on
        /// the portfolio's value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weights: Option<Weights>,
    },
    /// Fractional Kelly `fraction·(μ̂ − r)/σ̂²`, capped by the F7 buffer.
    Kelly {
        /// Share of full Kelly (default 0.5).
        #[serde(default = "default_fraction")]
        fraction: f64,
        /// Risk-free rate, annual (default 0).
        #[serde(default)]
        rate: f64,
        /// μ before warm-up (default 0: flat until the estimate says so).
        #[serde(default)]
        mu_prior: f64,
        /// A drift view (annual): when given, used instead of the EWMA
        /// drift estimate, which is too noisy to size on over short
        /// half-lives; σ is still estimated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mu: Option<f64>,
        /// Cap: F7 distance in σ (default 3).
        #[serde(default = "default_k")]
        k: f64,
        /// Cap horizon, hours (default 24).
        #[serde(default = "default_horizon")]
        horizon_h: f64,
        /// Maintenance rate for the cap (default 0.005).
        #[serde(default = "default_mmr")]
        mmr: f64,
        /// Leverage cap (default 20).
        #[serde(default = "default_cap")]
        max_leverage: f64,
        /// Rebalancing band (default 0.1).
        #[serde(default = "default_band")]
        band: f64,
        /// EWMA half-life, hours (default 72).
        #[serde(default = "default_halflife")]
        halflife_h: f64,
        /// σ before warm-up (default 0.8).
        #[serde(default = "default_sigma")]
        sigma_prior: f64,
    },
    /// Open at `leverage`; top up from the reserve when maintenance / equity
    /// passes `threshold`, back to `target`.
    MarginTopup {
        /// Opening leverage.
        leverage: f64,
        /// Margin ratio that triggers a top-up (default 0.25).
        #[serde(default = "default_threshold")]
        threshold: f64,
        /// Margin ratio a top-up restores (default 0.05).
        #[serde(default = "default_target")]
        target: f64,
        /// Portfolio weights by symbol (negative: short), opened at
        /// `leverage` gross; top-ups go to the account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weights: Option<Weights>,
    },
    /// A book of options held at `leverage` (gross, by their underlying's
    /// notional) in proportion to `weights`, its delta hedged in `hedge`
    /// whenever the net delta notional passes `band` × equity.
    DeltaHedge {
        /// Gross leverage of the options.
        leverage: f64,
        /// The options by symbol (negative: short).
        weights: Weights,
        /// The perpetual the delta is hedged in.
        hedge: String,
        /// Net delta notional tolerated, as a share of equity (default 0.05).
        #[serde(default = "default_hedge_band")]
        band: f64,
        /// Hours between hedge checks (default 0: every bar close).
        #[serde(default)]
        every_h: f64,
        /// Hours from a hedge decision to its order (default 0), which then
        /// trades at the price of that later bar on the delta it saw.
        #[serde(default)]
        latency_h: f64,
    },
    /// Greek-aware sizing of an option book (see [`crate::GreekAware`]):
    /// the largest gross leverage whose margin, compressed by the loss the
    /// Greeks predict under a `k`-sigma joint price and implied-volatility
    /// move over `horizon_h`, stays above maintenance; re-sized past `band`.
    GreekAware {
        /// The book by symbol (negative: short), by underlying notional.
        weights: Weights,
        /// Size of the joint move in standard deviations (default 3).
        #[serde(default = "default_k")]
        k: f64,
        /// Horizon of the move, hours (default 24).
        #[serde(default = "default_horizon")]
        horizon_h: f64,
        /// Volatility of implied volatility, annual, relative (default 1).
        #[serde(default = "default_vol_of_vol")]
        vol_of_vol: f64,
        /// Requirement per unit of gross notional before the first fill
        /// (default 0.2; then the venue's own maintenance).
        #[serde(default = "default_greek_mmr")]
        mmr: f64,
        /// Gross leverage cap (default 10).
        #[serde(default = "default_greek_cap")]
        max_leverage: f64,
        /// Relative tolerance before re-sizing (default 0.25).
        #[serde(default = "default_greek_band")]
        band: f64,
    },
    /// Volatility targeting on a forecast rather than the realized past
    /// (see [`crate::Forecast`]): `forecast = "implied"` reads the implied
    /// volatility of the option instrument `iv_from` (e.g. one priced at
    /// DVOL), `forecast = "regime"` fits a two-state regime filter to the
    /// book's returns.
    VolForecast {
        /// The book by symbol (negative: short).
        weights: Weights,
        /// `implied` or `regime`.
        forecast: ForecastName,
        /// For `implied`: the option instrument whose volatility is read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        iv_from: Option<String>,
        /// Target annual volatility, > 0.
        target_vol: f64,
        /// Leverage cap (default 20).
        #[serde(default = "default_cap")]
        max_leverage: f64,
        /// Rebalancing band (default 0.1).
        #[serde(default = "default_band")]
        band: f64,
        /// For `regime`: fit window, hours (default 720).
        #[serde(default = "default_window_h")]
        window_h: f64,
        /// For `regime`: hours between fits (default 24).
        #[serde(default = "default_refit_h")]
        refit_h: f64,
        /// EWMA half-life of the realized covariance, hours (default 72).
        #[serde(default = "default_halflife")]
        halflife_h: f64,
        /// σ before warm-up (default 0.8).
        #[serde(default = "default_sigma")]
        sigma_prior: f64,
    },
    /// `leverage·max(0, 1 − drawdown/max_drawdown)`.
    DrawdownControl {
        /// Leverage at no drawdown.
        leverage: f64,
        /// Drawdown (fraction) at which it is flat.
        max_drawdown: f64,
        /// Rebalancing band (default 0.1).
        #[serde(default = "default_band")]
        band: f64,
    },
    /// A policy written outside levsim (`kind = "python"`, `name = "…"`):
    /// the program that runs the scenario (levsim's Python package) makes
    /// one per run from `name` and the remaining parameters. Built by the
    /// scenario's grid expansion, not by serde (its parameters are free).
    #[serde(skip)]
    Python {
        /// The name the scenario gives it (`policies={"NAME": factory}`).
        name: String,
        /// Every other key of the table at this grid point, in file order.
        params: Vec<(String, ParamValue)>,
    },
}

/// A parameter of an external policy, as written in the scenario.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A number (integers are read as real numbers, as for built-ins).
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A string.
    Text(String),
    /// A table of numbers (such as `weights`).
    Table(Weights),
}

impl BufferRuleName {
    /// The rule it names.
    pub fn rule(self) -> BufferRule {
        match self {
            BufferRuleName::FirstPassage => BufferRule::FirstPassage,
            BufferRuleName::Distance => BufferRule::Distance,
        }
    }
}

/// Portfolio weights by symbol, as written (`{ BTCUSDT = 0.5, ETHUSDT = -0.5 }`).
pub type Weights = std::collections::BTreeMap<String, f64>;

/// `liquidation_buffer`'s rule, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BufferRuleName {
    /// F3 first-passage probability.
    #[default]
    FirstPassage,
    /// F7 distance in σ.
    Distance,
}

fn default_cap() -> f64 {
    20.0
}
fn default_halflife() -> f64 {
    72.0
}
fn default_sigma() -> f64 {
    0.8
}
fn default_epsilon() -> f64 {
    0.01
}
fn default_k() -> f64 {
    3.0
}
fn default_horizon() -> f64 {
    24.0
}
fn default_mmr() -> f64 {
    0.005
}
fn default_fraction() -> f64 {
    0.5
}
fn default_threshold() -> f64 {
    0.25
}
fn default_target() -> f64 {
    0.05
}

fn default_band() -> f64 {
    0.1
}

fn default_hedge_band() -> f64 {
    0.05
}

/// Where `vol_forecast` reads its volatility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForecastName {
    /// An option instrument's implied volatility.
    Implied,
    /// A two-state regime filter fitted to the book's returns.
    Regime,
}

fn default_window_h() -> f64 {
    720.0
}

fn default_refit_h() -> f64 {
    24.0
}

fn default_vol_of_vol() -> f64 {
    1.0
}

fn default_greek_mmr() -> f64 {
    0.2
}

fn default_greek_cap() -> f64 {
    10.0
}

fn default_greek_band() -> f64 {
    0.25
}

impl PolicyKind {
    /// The `kind` name as written in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            PolicyKind::Static { .. } => "static",
            PolicyKind::ConstantLeverage { .. } => "constant_leverage",
            PolicyKind::VolTarget { .. } => "vol_target",
            PolicyKind::LiquidationBuffer { .. } => "liquidation_buffer",
            PolicyKind::Kelly { .. } => "kelly",
            PolicyKind::DrawdownControl { .. } => "drawdown_control",
            PolicyKind::DeltaHedge { .. } => "delta_hedge",
            PolicyKind::GreekAware { .. } => "greek_aware",
            PolicyKind::VolForecast { .. } => "vol_forecast",
            PolicyKind::MarginTopup { .. } => "margin_topup",
            PolicyKind::Python { .. } => "python",
        }
    }

    /// The leverage the policy opens at, or the most it may (its cap), for
    /// checking the venue's maximum before a run starts.
    pub fn opening_leverage(&self) -> f64 {
        match self {
            PolicyKind::Static { leverage, .. }
            | PolicyKind::ConstantLeverage { leverage, .. }
            | PolicyKind::DrawdownControl { leverage, .. }
            | PolicyKind::DeltaHedge { leverage, .. }
            | PolicyKind::MarginTopup { leverage, .. } => *leverage,
            PolicyKind::VolTarget { max_leverage, .. }
            | PolicyKind::GreekAware { max_leverage, .. }
            | PolicyKind::VolForecast { max_leverage, .. }
            | PolicyKind::LiquidationBuffer { max_leverage, .. }
            | PolicyKind::Kelly { max_leverage, .. } => *max_leverage,
            // Its `leverage` or `max_leverage` parameter when it has one
            // (what the venue's maximum is checked against), else 1.
            PolicyKind::Python { params, .. } => ["leverage", "max_leverage"]
                .iter()
                .find_map(|k| match params.iter().find(|(n, _)| n == k) {
                    Some((_, ParamValue::Number(x))) => Some(*x),
                    _ => None,
                })
                .unwrap_or(1.0),
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
        let range = |field: &'static str, v: f64, lo: f64, hi: f64| {
            if v.is_finite() && v > lo && v < hi {
                Ok(())
            } else {
                Err(PolicyError {
                    field,
                    message: format!("must be in ({lo}, {hi}), got {v}"),
                })
            }
        };
        let cap_ok = |l: f64| {
            if l.is_finite() && l >= 1.0 {
                Ok(())
            } else {
                Err(PolicyError {
                    field: "max_leverage",
                    message: format!("must be ≥ 1, got {l}"),
                })
            }
        };
        match *self {
            PolicyKind::Python { ref name, .. } => {
                if name.is_empty() || name.chars().any(char::is_whitespace) {
                    Err(PolicyError {
                        field: "name",
                        message: format!(
                            "a python policy needs a `name` without spaces (the key of \
                             levsim.run(..., policies={{\"NAME\": factory}})), got {name:?}"
                        ),
                    })
                } else {
                    Ok(())
                }
            }
            PolicyKind::DeltaHedge {
                leverage,
                band,
                every_h,
                latency_h,
                ..
            } => {
                lev_ok(leverage)?;
                range("band", band, 0.0, 10.0)?;
                range("every_h", every_h, -1e-12, 1e5)?;
                range("latency_h", latency_h, -1e-12, 1e5)
            }
            PolicyKind::Static { leverage, .. } => lev_ok(leverage),
            PolicyKind::VolForecast {
                forecast,
                ref iv_from,
                target_vol,
                max_leverage,
                band,
                window_h,
                refit_h,
                halflife_h,
                sigma_prior,
                ..
            } => {
                match (forecast, iv_from) {
                    (ForecastName::Implied, None) => {
                        return Err(PolicyError {
                            field: "iv_from",
                            message: "forecast = \"implied\" reads an option instrument's implied volatility: name it (iv_from = \"BTC-31DEC21-60000-C\")".into(),
                        })
                    }
                    (ForecastName::Regime, Some(_)) => {
                        return Err(PolicyError {
                            field: "iv_from",
                            message: "only for forecast = \"implied\"".into(),
                        })
                    }
                    _ => {}
                }
                range("target_vol", target_vol, 0.0, 20.0)?;
                cap_ok(max_leverage)?;
                range("band", band, 0.0, 1.0)?;
                range("window_h", window_h, 0.0, 1e6)?;
                range("refit_h", refit_h, 0.0, 1e6)?;
                range("halflife_h", halflife_h, 0.0, 1e6)?;
                range("sigma_prior", sigma_prior, 0.0, 20.0)
            }
            PolicyKind::GreekAware {
                k,
                horizon_h,
                vol_of_vol,
                mmr,
                max_leverage,
                band,
                ..
            } => {
                range("k", k, 0.0, 100.0)?;
                range("horizon_h", horizon_h, 0.0, 1e6)?;
                range("vol_of_vol", vol_of_vol, 0.0, 100.0)?;
                range("mmr", mmr, 0.0, 1.0)?;
                cap_ok(max_leverage)?;
                range("band", band, 0.0, 10.0)
            }
            PolicyKind::ConstantLeverage { leverage, band, .. } => {
                lev_ok(leverage)?;
                range("band", band, 0.0, 1.0)
            }
            PolicyKind::VolTarget {
                target_vol,
                max_leverage,
                band,
                halflife_h,
                sigma_prior,
                ..
            } => {
                range("target_vol", target_vol, 0.0, 20.0)?;
                cap_ok(max_leverage)?;
                range("band", band, 0.0, 1.0)?;
                range("halflife_h", halflife_h, 0.0, 1e6)?;
                range("sigma_prior", sigma_prior, 0.0, 20.0)
            }
            PolicyKind::LiquidationBuffer {
                epsilon,
                k,
                horizon_h,
                mmr,
                max_leverage,
                band,
                halflife_h,
                sigma_prior,
                ..
            } => {
                range("epsilon", epsilon, 0.0, 1.0)?;
                range("k", k, 0.0, 100.0)?;
                range("horizon_h", horizon_h, 0.0, 1e6)?;
                range("mmr", mmr, 0.0, 0.5)?;
                cap_ok(max_leverage)?;
                range("band", band, 0.0, 1.0)?;
                range("halflife_h", halflife_h, 0.0, 1e6)?;
                range("sigma_prior", sigma_prior, 0.0, 20.0)
            }
            PolicyKind::Kelly {
                fraction,
                rate,
                mu_prior,
                mu,
                k,
                horizon_h,
                mmr,
                max_leverage,
                band,
                halflife_h,
                sigma_prior,
            } => {
                range("fraction", fraction, 0.0, 10.0)?;
                range("rate", rate, -1.0, 1.0)?;
                range("mu_prior", mu_prior, -100.0, 100.0)?;
                if let Some(m) = mu {
                    range("mu", m, -100.0, 100.0)?;
                }
                range("k", k, 0.0, 100.0)?;
                range("horizon_h", horizon_h, 0.0, 1e6)?;
                range("mmr", mmr, 0.0, 0.5)?;
                cap_ok(max_leverage)?;
                range("band", band, 0.0, 1.0)?;
                range("halflife_h", halflife_h, 0.0, 1e6)?;
                range("sigma_prior", sigma_prior, 0.0, 20.0)
            }
            PolicyKind::MarginTopup {
                leverage,
                threshold,
                target,
                ..
            } => {
                lev_ok(leverage)?;
                range("threshold", threshold, 0.0, 1.0)?;
                range("target", target, 0.0, threshold)
            }
            PolicyKind::DrawdownControl {
                leverage,
                max_drawdown,
                band,
            } => {
                lev_ok(leverage)?;
                range("max_drawdown", max_drawdown, 0.0, 1.0 + 1e-12)?;
                range("band", band, 0.0, 1.0)
            }
        }
    }

    /// The portfolio weights, for the kinds that take them.
    pub fn weights(&self) -> Option<&Weights> {
        match self {
            PolicyKind::Static { weights, .. }
            | PolicyKind::ConstantLeverage { weights, .. }
            | PolicyKind::VolTarget { weights, .. }
            | PolicyKind::LiquidationBuffer { weights, .. }
            | PolicyKind::MarginTopup { weights, .. } => weights.as_ref(),
            PolicyKind::DeltaHedge { weights, .. }
            | PolicyKind::GreekAware { weights, .. }
            | PolicyKind::VolForecast { weights, .. } => Some(weights),
            _ => None,
        }
    }

    /// The policy for a portfolio account. `weights` are this policy's
    /// weights resolved to instrument order (the caller names a symbol
    /// that is not in the market); a kind without weights runs unchanged
    /// on the first instrument, on `side`.
    pub fn portfolio(
        &self,
        weights: Option<&[f64]>,
        side: levsim_core::Side,
        topup: Option<crate::TopupRule>,
        symbols: &[String],
    ) -> Result<Box<dyn crate::PortfolioPolicy + Send>, PolicyError> {
        self.validate()?;
        if let (
            PolicyKind::DeltaHedge {
                leverage,
                hedge,
                band,
                every_h,
                latency_h,
                ..
            },
            Some(w),
        ) = (self, weights)
        {
            let k = symbols
                .iter()
                .position(|s| s == hedge)
                .ok_or_else(|| PolicyError {
                    field: "hedge",
                    message: format!("no instrument {hedge} in this market"),
                })?;
            return crate::DeltaHedged::new(w, *leverage, k, *band)
                .map(|p| {
                    Box::new(p.with_timing(*every_h, *latency_h))
                        as Box<dyn crate::PortfolioPolicy + Send>
                })
                .map_err(|message| PolicyError {
                    field: "weights",
                    message,
                });
        }
        if let (
            PolicyKind::GreekAware {
                k,
                horizon_h,
                vol_of_vol,
                mmr,
                max_leverage,
                band,
                ..
            },
            Some(w),
        ) = (self, weights)
        {
            let params = crate::GreekAwareParams {
                k: *k,
                horizon_h: *horizon_h,
                vol_of_vol: *vol_of_vol,
                mmr: *mmr,
                max_leverage: *max_leverage,
                band: *band,
            };
            return crate::GreekAware::new(w, params)
                .map(|p| Box::new(p) as Box<dyn crate::PortfolioPolicy + Send>)
                .map_err(|message| PolicyError {
                    field: "weights",
                    message,
                });
        }
        if let (
            PolicyKind::VolForecast {
                forecast,
                iv_from,
                target_vol,
                max_leverage,
                band,
                window_h,
                refit_h,
                halflife_h,
                sigma_prior,
                ..
            },
            Some(w),
        ) = (self, weights)
        {
            let source = match (forecast, iv_from) {
                (ForecastName::Implied, Some(name)) => crate::Forecast::Implied {
                    leg: symbols
                        .iter()
                        .position(|s| s == name)
                        .ok_or_else(|| PolicyError {
                            field: "iv_from",
                            message: format!("no instrument {name} in this market"),
                        })?,
                },
                _ => crate::Forecast::Regime {
                    window_h: *window_h,
                    refit_h: *refit_h,
                },
            };
            let sizing = crate::Sizing::Forecast {
                source,
                target_vol: *target_vol,
                max_leverage: *max_leverage,
                band: *band,
                halflife_h: *halflife_h,
                sigma_prior: *sigma_prior,
            };
            return crate::WeightsPolicy::new(w, sizing)
                .map(|p| Box::new(p.with_topup(topup)) as Box<dyn crate::PortfolioPolicy + Send>)
                .map_err(|message| PolicyError {
                    field: "weights",
                    message,
                });
        }
        // margin_topup's own rule, or the one riding on the policy.
        let topup = match self {
            PolicyKind::MarginTopup {
                threshold, target, ..
            } => Some(crate::TopupRule {
                threshold: *threshold,
                target: *target,
            }),
            _ => topup,
        };
        let sizing = match (self, weights) {
            (PolicyKind::MarginTopup { leverage, .. }, Some(_)) => {
                Some(crate::Sizing::Static(*leverage))
            }
            (
                PolicyKind::LiquidationBuffer {
                    rule,
                    epsilon,
                    k,
                    horizon_h,
                    mmr,
                    max_leverage,
                    band,
                    halflife_h,
                    sigma_prior,
                    ..
                },
                Some(_),
            ) => Some(crate::Sizing::Buffer {
                rule: rule.rule(),
                epsilon: *epsilon,
                k: *k,
                horizon_h: *horizon_h,
                mmr: *mmr,
                max_leverage: *max_leverage,
                band: *band,
                halflife_h: *halflife_h,
                sigma_prior: *sigma_prior,
            }),
            (PolicyKind::Static { leverage, .. }, Some(_)) => {
                Some(crate::Sizing::Static(*leverage))
            }
            (PolicyKind::ConstantLeverage { leverage, band, .. }, Some(_)) => {
                Some(crate::Sizing::Rebalanced {
                    leverage: *leverage,
                    band: *band,
                })
            }
            (
                PolicyKind::VolTarget {
                    target_vol,
                    max_leverage,
                    band,
                    halflife_h,
                    sigma_prior,
                    ..
                },
                Some(_),
            ) => Some(crate::Sizing::VolTarget {
                target_vol: *target_vol,
                max_leverage: *max_leverage,
                band: *band,
                halflife_h: *halflife_h,
                sigma_prior: *sigma_prior,
            }),
            _ => None,
        };
        match (sizing, weights) {
            (Some(sizing), Some(w)) => crate::WeightsPolicy::new(w, sizing)
                .map(|p| Box::new(p.with_topup(topup)) as Box<dyn crate::PortfolioPolicy + Send>)
                .map_err(|message| PolicyError {
                    field: "weights",
                    message,
                }),
            _ => {
                let mut bare = self.clone();
                bare.clear_weights();
                let policy = match bare {
                    // Its own rule is in the policy already.
                    PolicyKind::MarginTopup { .. } => bare.build()?,
                    _ => bare.build()?.with_topup(topup),
                };
                Ok(Box::new(crate::OnFirstLeg { policy, side }))
            }
        }
    }

    fn clear_weights(&mut self) {
        match self {
            PolicyKind::Static { weights, .. }
            | PolicyKind::ConstantLeverage { weights, .. }
            | PolicyKind::VolTarget { weights, .. }
            | PolicyKind::LiquidationBuffer { weights, .. }
            | PolicyKind::MarginTopup { weights, .. } => *weights = None,
            _ => {}
        }
    }

    /// Builds the policy after validating it.
    pub fn build(&self) -> Result<BuiltinPolicy, PolicyError> {
        self.validate()?;
        if let PolicyKind::Python { name, .. } = self {
            return Err(PolicyError {
                field: "kind",
                message: format!(
                    "\"python\" policies run from Python: \
                     levsim.run(scenario, policies={{\"{name}\": factory}}) (pip install ./python)"
                ),
            });
        }
        if let PolicyKind::DeltaHedge { .. }
        | PolicyKind::GreekAware { .. }
        | PolicyKind::VolForecast { .. } = self
        {
            return Err(PolicyError {
                field: "kind",
                message: format!("{} sizes a book of weights, instruments of a portfolio market ([[market.instrument]])", self.name()),
            });
        }
        if self.weights().is_some() {
            return Err(PolicyError {
                field: "weights",
                message: "weights apply to markets of several instruments ([[market.instrument]])"
                    .into(),
            });
        }
        Ok(match *self {
            PolicyKind::Static { leverage, .. } => {
                BuiltinPolicy::Static(StaticLeverage { leverage })
            }
            PolicyKind::DeltaHedge { .. }
            | PolicyKind::GreekAware { .. }
            | PolicyKind::VolForecast { .. }
            | PolicyKind::Python { .. } => {
                return Err(PolicyError {
                    field: "kind",
                    message: format!("{} needs a portfolio market", self.name()),
                })
            }
            PolicyKind::ConstantLeverage { leverage, band, .. } => {
                BuiltinPolicy::ConstantLeverage(ConstantLeverage { leverage, band })
            }
            PolicyKind::VolTarget {
                target_vol,
                max_leverage,
                band,
                halflife_h,
                sigma_prior,
                ..
            } => BuiltinPolicy::VolTarget(VolTarget {
                target_vol,
                max_leverage,
                band,
                est: Estimates::new(halflife_h, sigma_prior),
            }),
            PolicyKind::LiquidationBuffer {
                rule,
                epsilon,
                k,
                horizon_h,
                mmr,
                max_leverage,
                band,
                halflife_h,
                sigma_prior,
                ..
            } => BuiltinPolicy::LiquidationBuffer(LiquidationBuffer {
                rule: rule.rule(),
                epsilon,
                k,
                horizon_h,
                mmr,
                max_leverage,
                band,
                est: Estimates::new(halflife_h, sigma_prior),
            }),
            PolicyKind::Kelly {
                fraction,
                rate,
                mu_prior,
                mu,
                k,
                horizon_h,
                mmr,
                max_leverage,
                band,
                halflife_h,
                sigma_prior,
            } => BuiltinPolicy::Kelly(Kelly {
                fraction,
                rate,
                mu_prior,
                mu_view: mu,
                k,
                horizon_h,
                mmr,
                max_leverage,
                band,
                est: Estimates::new(halflife_h, sigma_prior),
            }),
            PolicyKind::MarginTopup {
                leverage,
                threshold,
                target,
                ..
            } => BuiltinPolicy::MarginTopup(MarginTopup {
                leverage,
                threshold,
                target,
            }),
            PolicyKind::DrawdownControl {
                leverage,
                max_drawdown,
                band,
            } => BuiltinPolicy::DrawdownControl(DrawdownControl {
                leverage,
                max_drawdown,
                band,
                peak: 0.0,
            }),
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
                band: 0.1,
                weights: None
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
    fn weights_parse_and_route_to_portfolio_policies() {
        let k: PolicyKind =
            toml::from_str("kind = \"static\"\nleverage = 4\nweights = { A = 3, B = -1 }").unwrap();
        assert_eq!(k.weights().map(|w| w["B"]), Some(-1.0));
        // A weights policy is not a single-instrument one.
        assert_eq!(k.build().unwrap_err().field, "weights");
        let obs = |closes: &'static [f64]| crate::PortfolioObservation {
            ts: 0,
            seen: 1,
            bar_years: 1e-4,
            marks: &[100.0, 50.0],
            qty: &[0.0, 0.0],
            notional: &[0.0, 0.0],
            entry: &[0.0, 0.0],
            delta: &[1.0, 1.0],
            gamma: &[0.0, 0.0],
            vega: &[0.0, 0.0],
            iv: &[0.0, 0.0],
            delta_leg: &[0, 1],
            liquidation_distance: &[f64::NAN, f64::NAN],
            equity: 1_000.0,
            requirement: 0.0,
            margin_ratio: 0.0,
            reserve: 0.0,
            liquidations: 0,
            close_columns: closes,
            bars: 1,
        };
        let mut t = [0.0; 2];
        let mut p = k
            .portfolio(Some(&[3.0, -1.0]), levsim_core::Side::Long, None, &[])
            .unwrap();
        assert_eq!(p.cadence(), crate::Cadence::WhenFlat);
        assert_eq!(
            p.decide(&obs(&[100.0, 50.0]), &mut t),
            crate::PortfolioDecision::Target
        );
        // Normalized to Σ |w| = 1, times the gross leverage 4.
        assert_eq!(t, [3.0, -1.0]);
        // Without weights, the single-instrument policy on the first leg,
        // on the account's side.
        let k: PolicyKind = toml::from_str("kind = \"static\"\nleverage = 4").unwrap();
        let mut p = k
            .portfolio(None, levsim_core::Side::Short, None, &[])
            .unwrap();
        let mut t = [0.0; 2];
        assert_eq!(
            p.decide(&obs(&[100.0, 50.0]), &mut t),
            crate::PortfolioDecision::Target
        );
        assert_eq!(t, [-4.0, 0.0]);
    }

    #[test]
    fn validation_names_the_field() {
        let e = PolicyKind::Static {
            leverage: -1.0,
            weights: None,
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "leverage");
        let e = PolicyKind::ConstantLeverage {
            leverage: 2.0,
            band: 1.5,
            weights: None,
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "band");
    }
}
