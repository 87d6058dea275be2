//! Scenario-based (portfolio) margin: SPAN-style risk arrays and the
//! Greek-based scenario grid of SPEC §8.3.

/// Scanning risk: the largest weighted loss over scenarios, where each
/// scenario is `(pnl, weight)` (gains positive). Zero when nothing loses.
pub fn scanning_risk(scenarios: &[(f64, f64)]) -> f64 {
    scenarios
        .iter()
        .map(|&(pnl, w)| -pnl * w)
        .fold(0.0, f64::max)
}

/// The 16 CME SPAN scenarios for a position whose PnL at a relative price
/// move of `k·PSR` and a volatility move is given by `pnl(price_move, vol_move)`:
/// moves 0, ±1/3, ±2/3, ±1 of the price scan range with the volatility up and
/// down (weight 1), and the two extreme moves ±`extreme` (weight `extreme_weight`).
pub fn span_scenarios(
    pnl: impl Fn(f64, f64) -> f64,
    extreme: f64,
    extreme_weight: f64,
) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(16);
    for k in [0.0, 1.0 / 3.0, -1.0 / 3.0, 2.0 / 3.0, -2.0 / 3.0, 1.0, -1.0] {
        for v in [1.0, -1.0] {
            out.push((pnl(k, v), 1.0));
        }
    }
    out.push((pnl(extreme, 0.0), extreme_weight));
    out.push((pnl(-extreme, 0.0), extreme_weight));
    out
}

/// Net Greeks of a portfolio for Taylor revaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Greeks {
    /// Δ (per unit of underlying).
    pub delta: f64,
    /// Γ (per unit², i.e. per $ of move squared).
    pub gamma: f64,
    /// Vega per volatility point.
    pub vega: f64,
}

/// Maintenance margin of a Greek portfolio over a grid of relative price
/// moves `moves` (e.g. ±16 % in 9 buckets) and volatility moves in points:
/// the worst Taylor PnL `Δ·ΔS + ½Γ·ΔS² + vega·Δσ`, as a positive number.
pub fn greek_scenario_margin(g: Greeks, spot: f64, moves: &[f64], vol_moves: &[f64]) -> f64 {
    let mut worst = 0.0_f64;
    for &m in moves {
        let ds = spot * m;
        for &dv in vol_moves {
            let pnl = g.delta * ds + 0.5 * g.gamma * ds * ds + g.vega * dv;
            worst = worst.min(pnl);
        }
    }
    -worst
}

/// A position given by its SPAN risk array (the `--account` file of
/// `levsim margin --venue span`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanPosition {
    /// Contract name (informational).
    #[serde(default)]
    pub instrument: Option<String>,
    /// Signed number of contracts the array is for one of (default 1;
    /// negative: short).
    #[serde(default = "one")]
    pub size: f64,
    /// The 16 scenario values of one long contract in SPEC §8.1's order,
    /// gains positive; scenarios 15 and 16 as published, already scaled by
    /// their cover fraction (35 % of the extreme move).
    pub risk_array: Vec<f64>,
}

fn one() -> f64 {
    1.0
}

/// An account of risk-array positions.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanAccount {
    /// Positions of one combined commodity.
    pub positions: Vec<SpanPosition>,
}

/// SPAN's scanning risk of an account.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SpanResult {
    /// The largest loss over the 16 scenarios (0 when none loses).
    pub scanning_risk: f64,
    /// The scanning risk is the maintenance requirement here (no spread
    /// charges or credits, no short-option minimum).
    pub maintenance_margin: f64,
    /// 1-based number of the scenario that binds (0: none loses).
    pub worst_scenario: usize,
    /// The account's value change in each scenario (gains positive).
    pub scenarios: Vec<f64>,
}

impl SpanAccount {
    /// Checks the arrays (16 finite values each) and sizes; errors name
    /// `positions[i].field`.
    pub fn scan(&self) -> Result<SpanResult, crate::EngineError> {
        if self.positions.is_empty() {
            return Err(crate::EngineError::config(
                "positions",
                "at least one position is needed",
            ));
        }
        let mut total = vec![0.0; 16];
        for (i, p) in self.positions.iter().enumerate() {
            if p.risk_array.len() != 16 {
                return Err(crate::EngineError::config(
                    &format!("positions[{i}].risk_array"),
                    format!("needs 16 scenario values, got {}", p.risk_array.len()),
                ));
            }
            if let Some(j) = p.risk_array.iter().position(|v| !v.is_finite()) {
                return Err(crate::EngineError::config(
                    &format!("positions[{i}].risk_array[{j}]"),
                    "must be a finite number",
                ));
            }
            if !p.size.is_finite() {
                return Err(crate::EngineError::config(
                    &format!("positions[{i}].size"),
                    "must be a finite number",
                ));
            }
            for (t, v) in total.iter_mut().zip(&p.risk_array) {
                *t += p.size * v;
            }
        }
        // Weights 1: the published extremes already carry their 35 %.
        let weighted: Vec<(f64, f64)> = total.iter().map(|&v| (v, 1.0)).collect();
        let risk = scanning_risk(&weighted);
        let worst = if risk > 0.0 {
            total
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i + 1)
        } else {
            0
        };
        Ok(SpanResult {
            scanning_risk: risk,
            maintenance_margin: risk,
            worst_scenario: worst,
            scenarios: total,
        })
    }
}

/// A position given by its Greeks (the `--account` file of `levsim margin
/// --venue greek-pm`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GreekPosition {
    /// Instrument name (informational).
    #[serde(default)]
    pub instrument: Option<String>,
    /// Signed size (negative: short), default 1.
    #[serde(default = "one")]
    pub size: f64,
    /// Δ per unit.
    pub delta: f64,
    /// Γ per unit per $ of move squared.
    #[serde(default)]
    pub gamma: f64,
    /// Vega per unit per volatility point ($).
    #[serde(default)]
    pub vega: f64,
}

/// An account of Greek positions on one underlying, with its scenario grid.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GreekAccount {
    /// Underlying price.
    pub spot: f64,
    /// Relative price moves (default: ±16 % in 9 buckets, SPEC §8.2/§8.3).
    #[serde(default = "default_moves")]
    pub moves: Vec<f64>,
    /// Volatility moves in points (default −10, 0, +10).
    #[serde(default = "default_vol_moves")]
    pub vol_moves: Vec<f64>,
    /// Positions.
    pub positions: Vec<GreekPosition>,
}

fn default_moves() -> Vec<f64> {
    (0..9).map(|i| -0.16 + 0.04 * f64::from(i)).collect()
}

fn default_vol_moves() -> Vec<f64> {
    vec![-10.0, 0.0, 10.0]
}

/// The Greek (Taylor) margin of SPEC §8.3.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GreekResult {
    /// The worst scenario loss (0 when none loses).
    pub scanning_risk: f64,
    /// Maintenance margin: the scanning risk.
    pub maintenance_margin: f64,
    /// Net Δ.
    pub delta: f64,
    /// Net Γ.
    pub gamma: f64,
    /// Net vega.
    pub vega: f64,
    /// The binding scenario: relative price move.
    pub worst_price_move: f64,
    /// The binding scenario: volatility move (points).
    pub worst_vol_move: f64,
}

impl GreekAccount {
    /// Nets the Greeks and scans the grid; errors name their field.
    pub fn scan(&self) -> Result<GreekResult, crate::EngineError> {
        if !(self.spot.is_finite() && self.spot > 0.0) {
            return Err(crate::EngineError::config("spot", "must be > 0"));
        }
        if self.positions.is_empty() {
            return Err(crate::EngineError::config(
                "positions",
                "at least one position is needed",
            ));
        }
        let mut g = Greeks {
            delta: 0.0,
            gamma: 0.0,
            vega: 0.0,
        };
        for (i, p) in self.positions.iter().enumerate() {
            for (k, v) in [
                ("size", p.size),
                ("delta", p.delta),
                ("gamma", p.gamma),
                ("vega", p.vega),
            ] {
                if !v.is_finite() {
                    return Err(crate::EngineError::config(
                        &format!("positions[{i}].{k}"),
                        "must be a finite number",
                    ));
                }
            }
            g.delta += p.size * p.delta;
            g.gamma += p.size * p.gamma;
            g.vega += p.size * p.vega;
        }
        let mut worst = (0.0_f64, 0.0, 0.0);
        for &m in &self.moves {
            let ds = self.spot * m;
            for &dv in &self.vol_moves {
                let pnl = g.delta * ds + 0.5 * g.gamma * ds * ds + g.vega * dv;
                if pnl < worst.0 {
                    worst = (pnl, m, dv);
                }
            }
        }
        let risk = greek_scenario_margin(g, self.spot, &self.moves, &self.vol_moves);
        Ok(GreekResult {
            scanning_risk: risk,
            maintenance_margin: risk,
            delta: g.delta,
            gamma: g.gamma,
            vega: g.vega,
            worst_price_move: worst.1,
            worst_vol_move: worst.2,
        })
    }
}
