//! Aggregates across paths: one row per parameter point (venue, policy,
//! parameters), over all its runs.

use serde::Serialize;

use levsim_engine::RunMetrics;

use crate::{RunResult, RunSpec};

/// Statistics of one parameter point across market paths. Returns and
/// drawdowns in percent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregate {
    /// Venue label / policy / parameters, without the path.
    pub point_id: String,
    /// Policy kind.
    pub policy: String,
    /// Venue label (empty when the scenario has one venue).
    pub venue: String,
    /// Policy parameters.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Number of runs (paths).
    pub runs: usize,
    /// Share of runs with at least one liquidation.
    pub p_liquidation: f64,
    /// Wilson 95 % interval of `p_liquidation`.
    pub p_liquidation_ci: [f64; 2],
    /// 5th percentile of the return.
    pub return_pct_p05: f64,
    /// Median return.
    pub return_pct_p50: f64,
    /// Median of the maximum drawdown.
    pub max_drawdown_pct_p50: f64,
    /// Mean return of the worst 5 % of runs (expected shortfall).
    pub expected_shortfall_5pct: f64,
    /// Median time to the first liquidation among liquidated runs (hours).
    pub time_to_liquidation_h_p50: Option<f64>,
    /// 99th percentile of bad debt (quote).
    pub bad_debt_var_99: f64,
    /// Median return on committed capital (capital + reserve), percent.
    pub return_on_committed_pct_p50: f64,
    /// Its distribution-free 95 % interval ([`median_ci`]).
    pub return_on_committed_pct_p50_ci: [f64; 2],
    /// 5th percentile of the return on committed capital, percent.
    pub return_on_committed_pct_p05: f64,
    /// Median annualized log growth of the committed capital.
    pub log_growth_p50: f64,
    /// Its distribution-free 95 % interval.
    pub log_growth_p50_ci: [f64; 2],
    /// Median exposure per unit of committed capital (capital efficiency).
    pub exposure_per_committed_p50: f64,
    /// Its distribution-free 95 % interval.
    pub exposure_per_committed_p50_ci: [f64; 2],
    /// Median of all fees paid (quote).
    pub fees_p50: f64,
    /// Median of the net funding received (quote; negative: paid).
    pub funding_p50: f64,
    /// Mean number of liquidations per run (re-entering accounts can be
    /// liquidated more than once).
    pub liquidations_mean: f64,
    /// Median of the mean maintenance requirement over equity while in
    /// the market, percent: the share of the equity the margin locks.
    pub margin_utilization_pct_p50: f64,
    /// Portfolio runs: account liquidations by the leg that caused them
    /// (the largest loss of the bucket), over every path.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub liquidations_caused_by: std::collections::BTreeMap<String, u64>,
}

/// Distribution-free 95 % interval of the median of sorted data: the order
/// statistics of ranks ⌊n/2 − 0.98√n⌋ and ⌈1 + n/2 + 0.98√n⌉ (1-based),
/// from the binomial(n, ½) count below the median; the whole range below
/// 6 values.
pub fn median_ci(sorted: &[f64]) -> [f64; 2] {
    let n = sorted.len();
    if n == 0 {
        return [f64::NAN, f64::NAN];
    }
    let (nf, h) = (n as f64, 0.5 * 1.959_963_984_540_054 * (n as f64).sqrt());
    let j = ((0.5 * nf - h).floor() as usize).clamp(1, n);
    let k = ((1.0 + 0.5 * nf + h).ceil() as usize).clamp(1, n);
    [sorted[j - 1], sorted[k - 1]]
}

/// Linear-interpolated quantile of sorted data (`q` in [0, 1]).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Wilson score 95 % interval for `k` successes in `n` trials.
pub fn wilson(k: usize, n: usize) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let (n, p, z) = (n as f64, k as f64 / n as f64, 1.959_963_984_540_054);
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    // Exact ends when nothing (or everything) happened.
    let lo = if k == 0 { 0.0 } else { (c - h).max(0.0) };
    let hi = if k as f64 >= n { 1.0 } else { (c + h).min(1.0) };
    [lo, hi]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// The per-run numbers an aggregate needs, for one parameter point: four
/// numbers a run, so a sweep keeps these instead of its runs.
#[derive(Debug, Clone, Default)]
pub struct PointValues {
    returns: Vec<f64>,
    drawdowns: Vec<f64>,
    bad_debt: Vec<f64>,
    /// Hours to the first liquidation, liquidated runs only.
    ttl_h: Vec<f64>,
    liquidated: usize,
    roc: Vec<f64>,
    growth: Vec<f64>,
    exposure: Vec<f64>,
    fees: Vec<f64>,
    funding: Vec<f64>,
    liquidation_count: u64,
    utilization: Vec<f64>,
    caused_by: std::collections::BTreeMap<String, u64>,
}

impl PointValues {
    /// Runs added.
    pub fn runs(&self) -> usize {
        self.returns.len()
    }

    /// Adds one run's metrics; `start_ns` is the market's start.
    pub fn add(&mut self, m: &RunMetrics, start_ns: i64) {
        self.returns.push(m.return_pct);
        self.drawdowns.push(m.max_drawdown_pct);
        self.bad_debt.push(m.bad_debt);
        self.roc.push(m.return_on_committed_pct);
        self.growth.push(m.log_growth);
        self.exposure.push(m.avg_exposure_per_committed);
        self.fees.push(m.fees);
        self.funding.push(m.funding);
        if let Some(t) = m.first_liquidation_ts {
            self.ttl_h.push((t - start_ns) as f64 / 3.6e12);
        }
        if m.liquidations > 0 {
            self.liquidated += 1;
        }
        self.liquidation_count += u64::from(m.liquidations);
        self.utilization.push(m.margin_utilization_pct);
    }

    /// Adds a portfolio run's causes of liquidation (by leg).
    pub fn add_portfolio(&mut self, p: &crate::PortfolioRun) {
        for (sym, leg) in &p.legs {
            if leg.liquidations_caused > 0 {
                *self.caused_by.entry(sym.clone()).or_default() +=
                    u64::from(leg.liquidations_caused);
            }
        }
    }

    /// The statistics of `point` (its path-0 run) over the runs added.
    pub fn finish(self, point: &RunSpec) -> Aggregate {
        let n = self.returns.len();
        let returns = sorted(self.returns);
        let dd = sorted(self.drawdowns);
        let bad = sorted(self.bad_debt);
        let ttl = sorted(self.ttl_h);
        let tail = ((n as f64 * 0.05).ceil() as usize).clamp(1, n.max(1));
        let es = returns.iter().take(tail).sum::<f64>() / tail as f64;
        let (roc, growth, exposure) =
            (sorted(self.roc), sorted(self.growth), sorted(self.exposure));
        Aggregate {
            point_id: point.point_id.to_string(),
            policy: point.policy.to_string(),
            venue: point.venue.to_string(),
            params: (*point.params).clone(),
            runs: n,
            p_liquidation: self.liquidated as f64 / n.max(1) as f64,
            p_liquidation_ci: wilson(self.liquidated, n),
            return_pct_p05: quantile(&returns, 0.05),
            return_pct_p50: quantile(&returns, 0.5),
            max_drawdown_pct_p50: quantile(&dd, 0.5),
            expected_shortfall_5pct: es,
            time_to_liquidation_h_p50: (!ttl.is_empty()).then(|| quantile(&ttl, 0.5)),
            bad_debt_var_99: quantile(&bad, 0.99),
            return_on_committed_pct_p50: quantile(&roc, 0.5),
            return_on_committed_pct_p50_ci: median_ci(&roc),
            return_on_committed_pct_p05: quantile(&roc, 0.05),
            log_growth_p50: quantile(&growth, 0.5),
            log_growth_p50_ci: median_ci(&growth),
            exposure_per_committed_p50: quantile(&exposure, 0.5),
            exposure_per_committed_p50_ci: median_ci(&exposure),
            fees_p50: quantile(&sorted(self.fees), 0.5),
            funding_p50: quantile(&sorted(self.funding), 0.5),
            liquidations_mean: self.liquidation_count as f64 / n.max(1) as f64,
            margin_utilization_pct_p50: quantile(&sorted(self.utilization), 0.5),
            liquidations_caused_by: self.caused_by,
        }
    }
}

/// Aggregates results by parameter point, in plan order of first appearance.
pub fn aggregate(results: &[RunResult], start_ns: i64) -> Vec<Aggregate> {
    let mut order: Vec<&RunResult> = Vec::new();
    let mut groups: std::collections::HashMap<&str, PointValues> = std::collections::HashMap::new();
    for r in results {
        let key: &str = &r.spec.point_id;
        let v = groups.entry(key).or_insert_with(|| {
            order.push(r);
            PointValues::default()
        });
        v.add(&r.output.metrics, start_ns);
        if let Some(p) = &r.portfolio {
            v.add_portfolio(p);
        }
    }
    order
        .into_iter()
        .map(|r| {
            let v = groups.remove(&*r.spec.point_id).unwrap_or_default();
            v.finish(&r.spec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_wilson() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.25), 2.0);
        assert_eq!(quantile(&v, 0.1), 1.4);
        // Wilson interval for 10/100 (textbook value 0.0552–0.1744).
        let [lo, hi] = wilson(10, 100);
        assert!(
            (lo - 0.0552).abs() < 5e-4 && (hi - 0.1744).abs() < 5e-4,
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 0), [0.0, 1.0]);
    }

    /// The order statistics of the median's 95 % interval: ranks 40 and 61
    /// for n = 100, 10 and 22 for n = 31, the exact binomial(n, ½) limits
    /// (P(B ≤ 39) = 0.0176 for n = 100 and P(B ≤ 9) = 0.0147 for n = 31,
    /// each the largest rank with a tail ≤ 0.025, computed independently).
    #[test]
    fn median_interval_uses_the_binomial_ranks() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(median_ci(&v), [40.0, 61.0]);
        let v: Vec<f64> = (1..=31).map(f64::from).collect();
        assert_eq!(median_ci(&v), [10.0, 22.0]);
        assert_eq!(median_ci(&[3.0, 5.0]), [3.0, 5.0]);
    }
}
