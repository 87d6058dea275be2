//! The scenario grid of portfolio margin: joint relative moves of every
//! instrument, along the principal directions of their correlation.

use crate::EngineError;

/// Joint relative price moves, one row per scenario (`legs` values each).
///
/// Built by [`ScenarioGrid::principal`]: for each principal direction
/// `v_j` of the correlation matrix (eigenvalue `λ_j > 0`) and each of the
/// `buckets` evenly spaced fractions `f` of `[−1, 1]` (Deribit's 9 buckets
/// of ±16 % for one instrument, SPEC §8.2), leg `k` moves by
/// `f · r_k · √λ_j · v_jk`, `r_k` its scan range. One instrument gives
/// Deribit's grid; perfectly correlated instruments move together (a long
/// and an equal short of them offset); imperfect correlation leaves a
/// spread direction whose size is `√(1 − ρ)` of the range.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioGrid {
    legs: usize,
    moves: Vec<f64>,
    /// Largest |move| per leg.
    max_moves: Vec<f64>,
    /// Requirement added per unit of gross notional (Deribit's contingency
    /// for offsetting futures, SPEC §8.2: 1 % of the underlying).
    pub floor: f64,
}

impl ScenarioGrid {
    /// The principal-direction grid (see the type's docs). `corr` is the
    /// row-major `legs × legs` correlation matrix.
    pub fn principal(
        corr: &[f64],
        scan: &[f64],
        buckets: usize,
        floor: f64,
    ) -> Result<Self, EngineError> {
        let n = scan.len();
        if corr.len() != n * n {
            return Err(EngineError::config(
                "market.correlation",
                format!("has {} entries; {n} instruments need {n}×{n}", corr.len()),
            ));
        }
        if buckets < 2 {
            return Err(EngineError::config(
                "account.portfolio_margin.buckets",
                "needs at least 2 (the ends of the range)",
            ));
        }
        for (k, r) in scan.iter().enumerate() {
            if !(*r > 0.0 && *r < 1.0) {
                return Err(EngineError::config(
                    &format!("account.portfolio_margin.scan_range[{k}]"),
                    format!("must be in (0, 1), got {r}"),
                ));
            }
        }
        if !(0.0..1.0).contains(&floor) {
            return Err(EngineError::config(
                "account.portfolio_margin.floor",
                format!("must be in [0, 1), got {floor}"),
            ));
        }
        let (vals, vecs) = symmetric_eigen(corr, n);
        let mut moves = Vec::new();
        for j in 0..n {
            if vals[j] <= 1e-12 {
                continue;
            }
            let s = vals[j].sqrt();
            for b in 0..buckets {
                let f = -1.0 + 2.0 * b as f64 / (buckets - 1) as f64;
                for k in 0..n {
                    moves.push(f * scan[k] * s * vecs[k * n + j]);
                }
            }
        }
        let max_moves = (0..n)
            .map(|k| {
                moves
                    .chunks_exact(n)
                    .map(|row| row[k].abs())
                    .fold(0.0, f64::max)
            })
            .collect();
        Ok(Self {
            legs: n,
            moves,
            max_moves,
            floor,
        })
    }

    /// Number of scenarios.
    pub fn len(&self) -> usize {
        self.moves.len() / self.legs.max(1)
    }

    /// True when the grid has no scenario.
    pub fn is_empty(&self) -> bool {
        self.moves.is_empty()
    }

    /// The largest |move| of leg `k` over the scenarios.
    pub fn max_move(&self, k: usize) -> f64 {
        self.max_moves[k]
    }

    /// The moves of scenario `s`, one per leg.
    pub fn scenario(&self, s: usize) -> &[f64] {
        &self.moves[s * self.legs..(s + 1) * self.legs]
    }

    /// The requirement of positions with signed notionals `notional`
    /// (`qty · mark` per leg): the worst loss over the scenarios (never
    /// below 0) plus the floor on the gross notional.
    pub fn requirement(&self, notional: &[f64]) -> f64 {
        let mut worst = 0.0f64;
        for row in self.moves.chunks_exact(self.legs) {
            let pnl: f64 = row.iter().zip(notional).map(|(m, x)| m * x).sum();
            worst = worst.max(-pnl);
        }
        worst + self.floor * notional.iter().map(|x| x.abs()).sum::<f64>()
    }
}

/// Eigenvalues and eigenvectors (column `j` of the row-major result) of a
/// small symmetric matrix, by cyclic Jacobi rotations.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _ in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j] * m[i * n + j])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| m[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_reconstructs_the_matrix() {
        let a = [1.0, 0.8, 0.3, 0.8, 1.0, 0.5, 0.3, 0.5, 1.0];
        let (l, v) = symmetric_eigen(&a, 3);
        for i in 0..3 {
            for j in 0..3 {
                let x: f64 = (0..3).map(|k| v[i * 3 + k] * l[k] * v[j * 3 + k]).sum();
                assert!((x - a[i * 3 + j]).abs() < 1e-12, "{i}{j}: {x}");
            }
        }
    }

    #[test]
    fn one_instrument_is_deribits_grid() {
        // SPEC §8.2: ±16 % in 9 buckets; a long of 50,000 loses 8,000.
        let g = ScenarioGrid::principal(&[1.0], &[0.16], 9, 0.0).unwrap();
        assert_eq!(g.len(), 9);
        assert!((g.scenario(0)[0].abs() - 0.16).abs() < 1e-15);
        assert!((g.scenario(2)[0].abs() - 0.08).abs() < 1e-15);
        assert!((g.requirement(&[50_000.0]) - 8_000.0).abs() < 1e-9);
        assert!((g.requirement(&[-50_000.0]) - 8_000.0).abs() < 1e-9);
    }

    #[test]
    fn hedges_offset_by_their_correlation() {
        let scan = [0.16, 0.16];
        let x = [50_000.0, -50_000.0];
        // ρ = 1: the hedge moves as one; only the floor is left.
        let g = ScenarioGrid::principal(&[1.0, 1.0, 1.0, 1.0], &scan, 9, 0.01).unwrap();
        assert!(
            (g.requirement(&x) - 1_000.0).abs() < 1e-6,
            "{}",
            g.requirement(&x)
        );
        // ρ = 0.8: the spread direction has √(1 − ρ)·r per leg.
        let g = ScenarioGrid::principal(&[1.0, 0.8, 0.8, 1.0], &scan, 9, 0.0).unwrap();
        let want = 2.0 * 50_000.0 * 0.16 * (0.2f64).sqrt() / 2f64.sqrt();
        assert!((g.requirement(&x) - want).abs() < 1e-6);
        // Two longs do not offset: √(1 + ρ) of one leg's range each.
        let same = g.requirement(&[50_000.0, 50_000.0]);
        let want = 2.0 * 50_000.0 * 0.16 * (1.8f64).sqrt() / 2f64.sqrt();
        assert!((same - want).abs() < 1e-6);
    }

    #[test]
    fn bad_grids_are_named() {
        let e = ScenarioGrid::principal(&[1.0], &[0.16, 0.1], 9, 0.0).unwrap_err();
        assert!(e.to_string().contains("market.correlation"), "{e}");
        let e = ScenarioGrid::principal(&[1.0], &[1.5], 9, 0.0).unwrap_err();
        assert!(e.to_string().contains("scan_range[0]"), "{e}");
    }
}
