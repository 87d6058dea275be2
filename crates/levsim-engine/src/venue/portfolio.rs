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
