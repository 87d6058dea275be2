//! Correlation matrices of several instruments: validated once (square,
//! symmetric, unit diagonal, entries in [−1, 1], positive semi-definite)
//! and factored, so that correlated normal draws are `L·z` for independent
//! `z`. The factor is a Cholesky decomposition that accepts zero pivots:
//! a semi-definite matrix (instruments with correlation 1) is a valid
//! market, whose factor has zero columns.

use ndarray::{Array2, ArrayView2};

/// Pivots within this of zero are taken as zero (semi-definite).
const PIVOT_TOLERANCE: f64 = 1e-10;

/// A validated correlation matrix and its lower-triangular factor.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    matrix: Array2<f64>,
    factor: Array2<f64>,
}

impl Correlation {
    /// The identity: independent instruments.
    pub fn identity(n: usize) -> Self {
        Self {
            matrix: Array2::eye(n),
            factor: Array2::eye(n),
        }
    }

    /// Checks `rows` as the correlation of `n` instruments and factors it.
    /// Every problem names `field[i][j]` (e.g. `market.correlation[0][1]`).
    pub fn new(rows: &[Vec<f64>], n: usize, field: &str) -> Result<Self, String> {
        if rows.len() != n {
            return Err(format!(
                "{field}: {} rows for {n} instruments; give an {n} × {n} matrix in instrument order",
                rows.len()
            ));
        }
        let mut m = Array2::zeros((n, n));
        for (i, r) in rows.iter().enumerate() {
            if r.len() != n {
                return Err(format!(
                    "{field}[{i}]: {} entries for {n} instruments",
                    r.len()
                ));
            }
            for (j, &v) in r.iter().enumerate() {
                if !(v.is_finite() && (-1.0..=1.0).contains(&v)) {
                    return Err(format!("{field}[{i}][{j}]: must be in [−1, 1], got {v}"));
                }
                m[[i, j]] = v;
            }
        }
        for i in 0..n {
            if m[[i, i]] != 1.0 {
                return Err(format!(
                    "{field}[{i}][{i}]: the diagonal must be 1, got {}",
                    m[[i, i]]
                ));
            }
            for j in 0..i {
                if (m[[i, j]] - m[[j, i]]).abs() > 1e-12 {
                    return Err(format!(
                        "{field}[{i}][{j}]: {} differs from {field}[{j}][{i}] = {}; the matrix must be symmetric",
                        m[[i, j]],
                        m[[j, i]]
                    ));
                }
            }
        }
        let factor = cholesky_psd(m.view()).map_err(|k| {
            format!(
                "{field}: not positive semi-definite (no joint distribution has these correlations; the first {} instruments already contradict each other)",
                k + 1
            )
        })?;
        Ok(Self { matrix: m, factor })
    }

    /// Number of instruments.
    pub fn len(&self) -> usize {
        self.matrix.nrows()
    }

    /// True for no instruments.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The matrix.
    pub fn matrix(&self) -> ArrayView2<'_, f64> {
        self.matrix.view()
    }

    /// The lower-triangular factor `L` with `L·Lᵀ` = the matrix.
    pub fn factor(&self) -> ArrayView2<'_, f64> {
        self.factor.view()
    }

    /// Writes `L·z` into `out`: correlated standard normals from
    /// independent ones (`z.len() == out.len() == self.len()`).
    pub fn correlate(&self, z: &[f64], out: &mut [f64]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = (0..=i).map(|k| self.factor[[i, k]] * z[k]).sum();
        }
    }
}

/// The Cholesky factor of a symmetric positive semi-definite matrix,
/// allowing zero pivots; `Err(k)` when the leading `k + 1` block is not
/// positive semi-definite.
fn cholesky_psd(a: ArrayView2<'_, f64>) -> Result<Array2<f64>, usize> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for j in 0..n {
        let d = a[[j, j]] - (0..j).map(|k| l[[j, k]] * l[[j, k]]).sum::<f64>();
        if d < -PIVOT_TOLERANCE {
            return Err(j);
        }
        if d <= PIVOT_TOLERANCE {
            // A zero pivot: the column below must vanish too.
            for i in (j + 1)..n {
                let r = a[[i, j]] - (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum::<f64>();
                if r.abs() > 1e-8 {
                    return Err(i.max(j));
                }
            }
            continue;
        }
        let ljj = d.sqrt();
        l[[j, j]] = ljj;
        for i in (j + 1)..n {
            let r = a[[i, j]] - (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum::<f64>();
            l[[i, j]] = r / ljj;
        }
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    use super::*;

    fn rows(m: &[&[f64]]) -> Vec<Vec<f64>> {
        m.iter().map(|r| r.to_vec()).collect()
    }

    #[test]
    fn the_factor_reproduces_the_matrix() {
        let c = Correlation::new(
            &rows(&[&[1.0, 0.8, 0.3], &[0.8, 1.0, 0.5], &[0.3, 0.5, 1.0]]),
            3,
            "c",
        )
        .unwrap();
        let l = c.factor();
        let back = l.dot(&l.t());
        for ((i, j), v) in back.indexed_iter() {
            assert!((v - c.matrix()[[i, j]]).abs() < 1e-12, "{i},{j}: {v}");
        }
    }

    /// Realized correlations of correlated draws are within 4 standard
    /// errors ((1 − ρ²)/√n) of the matrix.
    #[test]
    fn draws_have_the_asked_correlation() {
        let m = rows(&[&[1.0, 0.8, -0.4], &[0.8, 1.0, -0.1], &[-0.4, -0.1, 1.0]]);
        let c = Correlation::new(&m, 3, "c").unwrap();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        let n = 40_000;
        let mut xs = vec![[0.0; 3]; n];
        for x in &mut xs {
            let z: Vec<f64> = (0..3).map(|_| StandardNormal.sample(&mut rng)).collect();
            c.correlate(&z, x);
        }
        for i in 0..3 {
            for j in 0..i {
                let mean = |k: usize| xs.iter().map(|x| x[k]).sum::<f64>() / n as f64;
                let (mi, mj) = (mean(i), mean(j));
                let cov = xs.iter().map(|x| (x[i] - mi) * (x[j] - mj)).sum::<f64>();
                let vi = xs.iter().map(|x| (x[i] - mi).powi(2)).sum::<f64>();
                let vj = xs.iter().map(|x| (x[j] - mj).powi(2)).sum::<f64>();
                let r = cov / (vi * vj).sqrt();
                let rho = m[i][j];
                let se = (1.0 - rho * rho) / (n as f64).sqrt();
                assert!(
                    (r - rho).abs() < 4.0 * se,
                    "{i},{j}: {r} vs {rho} (se {se})"
                );
            }
        }
    }

    /// Correlation 1 is semi-definite: a valid market whose two instruments
    /// move as one.
    #[test]
    fn perfectly_correlated_instruments_draw_the_same_normal() {
        let c = Correlation::new(&rows(&[&[1.0, 1.0], &[1.0, 1.0]]), 2, "c").unwrap();
        let mut out = [0.0; 2];
        c.correlate(&[0.7, -2.0], &mut out);
        assert_eq!(out, [0.7, 0.7]);
    }

    #[test]
    fn bad_matrices_are_refused_by_field() {
        let e = |m: Vec<Vec<f64>>, n| Correlation::new(&m, n, "market.correlation").unwrap_err();
        // Not PSD: A and B move together, B and C together, A and C apart.
        let msg = e(
            rows(&[&[1.0, 0.9, 0.9], &[0.9, 1.0, -0.9], &[0.9, -0.9, 1.0]]),
            3,
        );
        assert!(msg.contains("not positive semi-definite"), "{msg}");
        let msg = e(rows(&[&[1.0, 0.5]]), 2);
        assert!(msg.contains("1 rows for 2 instruments"), "{msg}");
        let msg = e(rows(&[&[1.0, 0.5], &[0.4, 1.0]]), 2);
        assert!(
            msg.contains("market.correlation[1][0]") && msg.contains("symmetric"),
            "{msg}"
        );
        let msg = e(rows(&[&[1.0, 1.5], &[1.5, 1.0]]), 2);
        assert!(
            msg.contains("market.correlation[0][1]: must be in [−1, 1]"),
            "{msg}"
        );
        let msg = e(rows(&[&[0.9, 0.0], &[0.0, 1.0]]), 2);
        assert!(
            msg.contains("market.correlation[0][0]: the diagonal must be 1"),
            "{msg}"
        );
        assert_eq!(
            Correlation::identity(3).factor(),
            Array2::<f64>::eye(3).view()
        );
    }
}
