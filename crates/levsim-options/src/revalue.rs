//! Full revaluation of an option book over a price-volatility grid, fast:
//! the kernel portfolio margin and stress tables run at every bar. Each
//! option's Black-76 value is recomputed at every grid point (no Taylor
//! expansion); the normal distribution function is a branch-free rational
//! approximation (Abramowitz & Stegun 26.2.17, |error| < 7.5e-8) with a
//! polynomial `exp`, so the inner loop over price moves vectorizes.

use crate::OptionKind;

/// A book of European options on one underlying, as columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GridBook {
    /// Strikes, USD.
    pub strike: Vec<f64>,
    /// Signed sizes (options).
    pub size: Vec<f64>,
    /// Call or put.
    pub kind: Vec<OptionKind>,
    /// Implied volatility, annual.
    pub sigma: Vec<f64>,
    /// Expiry, years from the clock's origin.
    pub expiry: Vec<f64>,
}

/// The grid: relative price moves and volatility moves (points).
#[derive(Debug, Clone, PartialEq)]
pub struct PriceVolGrid {
    /// Relative price moves (e.g. 21 from −30 % to +30 %).
    pub moves: Vec<f64>,
    /// Volatility moves, points (e.g. 7 from −30 to +30).
    pub vol_moves: Vec<f64>,
    ln_moves: Vec<f64>,
}

impl PriceVolGrid {
    /// A grid of these moves.
    pub fn new(moves: Vec<f64>, vol_moves: Vec<f64>) -> Self {
        let ln_moves = moves.iter().map(|m| (1.0 + m).ln()).collect();
        Self {
            moves,
            vol_moves,
            ln_moves,
        }
    }

    /// Scenarios: moves × volatility moves.
    pub fn len(&self) -> usize {
        self.moves.len() * self.vol_moves.len()
    }

    /// True when the grid is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `exp(x)` for x ≤ 0 (to about 1e-13 relative), branch-free: range
/// reduction by powers of two and a degree-11 polynomial.
#[inline(always)]
fn exp_neg(x: f64) -> f64 {
    // Round to nearest by adding and subtracting 1.5·2^52 (no `round`
    // call, which baseline x86-64 lacks as an instruction); the sum's low
    // mantissa bits are then the integer itself, from which 2^n is built
    // with integer adds and shifts: all of it vectorizes.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let x = x.max(-700.0);
    let m = x * std::f64::consts::LOG2_E + MAGIC;
    let n = m - MAGIC;
    let r = x - n * std::f64::consts::LN_2;
    // Horner on the Taylor series of e^r, |r| ≤ ln2/2 (truncation below
    // 3e-11 relative, far under the distribution function's 7.5e-8).
    let mut p = 1.0 / 3_628_800.0;
    for c in [
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    p * f64::from_bits(m.to_bits().wrapping_add(1023) << 52)
}

/// Φ(x), |error| < 7.5e-8, branch-free (A&S 26.2.17).
#[inline(always)]
pub fn fast_norm_cdf(x: f64) -> f64 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.231_641_9 * a);
    let poly = t
        * (0.319_381_530
            + t * (-0.356_563_782
                + t * (1.781_477_937 + t * (-1.821_255_978 + t * 1.330_274_429))));
    let q = 0.398_942_280_401_432_7 * exp_neg(-0.5 * a * a) * poly;
    if x >= 0.0 {
        1.0 - q
    } else {
        q
    }
}

/// The tail polynomial of A&S 26.2.17 at |x|.
#[inline(always)]
fn tail_poly(a: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.231_641_9 * a);
    t * (0.319_381_530
        + t * (-0.356_563_782 + t * (1.781_477_937 + t * (-1.821_255_978 + t * 1.330_274_429))))
}

/// `(Φ(d1), Φ(d2))` of one Black-76 valuation with one `exp`: the density
/// at d2 is the density at d1 times `F/K` (`d1² − d2² = 2 ln(F/K)`).
#[inline(always)]
fn cdf_pair(d1: f64, d2: f64, f_over_k: f64) -> (f64, f64) {
    let phi1 = 0.398_942_280_401_432_7 * exp_neg(-0.5 * d1 * d1);
    let phi2 = phi1 * f_over_k;
    let q1 = phi1 * tail_poly(d1.abs());
    let q2 = phi2 * tail_poly(d2.abs());
    (
        if d1 >= 0.0 { 1.0 - q1 } else { q1 },
        if d2 >= 0.0 { 1.0 - q2 } else { q2 },
    )
}

/// The book's profit and loss in each scenario at forward `f` and time
/// `now` (years from the clock's origin), written into `pnl` (scenario
/// `j · moves + i` for volatility move `j` and price move `i`); returns the
/// worst loss (≥ 0) and its scenario. Options past expiry are skipped.
pub fn revalue(
    book: &GridBook,
    grid: &PriceVolGrid,
    f: f64,
    now: f64,
    pnl: &mut [f64],
) -> (f64, usize) {
    let nm = grid.moves.len();
    pnl.iter_mut().for_each(|x| *x = 0.0);
    // The moved forwards, once per call (at most 64 moves on the stack).
    let mut fwd_buf = [0.0f64; 64];
    let mut fwd_vec = Vec::new();
    let fwd: &mut [f64] = if nm <= 64 {
        &mut fwd_buf[..nm]
    } else {
        fwd_vec.resize(nm, 0.0);
        &mut fwd_vec
    };
    for (x, m) in fwd.iter_mut().zip(&grid.moves) {
        *x = f * (1.0 + m);
    }
    for o in 0..book.strike.len() {
        let t = book.expiry[o] - now;
        if t <= 0.0 {
            continue;
        }
        let (k, q, s0) = (book.strike[o], book.size[o], book.sigma[o]);
        let inv_k = 1.0 / k;
        let sq = t.sqrt();
        let x = (f / k).ln();
        let base = {
            let s = s0 * sq;
            let d1 = x / s + 0.5 * s;
            f * fast_norm_cdf(d1) - k * fast_norm_cdf(d1 - s)
        };
        // Puts through parity: P = C − (F − K).
        let put = book.kind[o] == OptionKind::Put;
        let base = if put { base - (f - k) } else { base };
        for (j, dv) in grid.vol_moves.iter().enumerate() {
            let s = (s0 + dv / 100.0).max(1e-4) * sq;
            let inv = 1.0 / s;
            let row = &mut pnl[j * nm..(j + 1) * nm];
            for i in 0..nm {
                let fi = fwd[i];
                let d1 = (x + grid.ln_moves[i]) * inv + 0.5 * s;
                let (n1, n2) = cdf_pair(d1, d1 - s, fi * inv_k);
                let c = fi * n1 - k * n2;
                let v = if put { c - (fi - k) } else { c };
                row[i] += q * (v - base);
            }
        }
    }
    let mut worst = (0.0f64, 0usize);
    for (s, &p) in pnl.iter().enumerate() {
        if -p > worst.0 {
            worst = (-p, s);
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_kernels_are_accurate() {
        for i in -800..=800 {
            let x = f64::from(i) / 100.0;
            let e = crate::black76::norm_cdf(x);
            assert!((fast_norm_cdf(x) - e).abs() < 8e-8, "Φ({x})");
        }
        for i in 0..=700 {
            let x = -f64::from(i) / 10.0;
            assert!((exp_neg(x) / x.exp() - 1.0).abs() < 1e-12, "exp({x})");
        }
    }

    /// The grid revaluation equals repricing each option exactly.
    #[test]
    fn the_grid_is_the_pricer_at_every_point() {
        let book = GridBook {
            strike: vec![40_000.0, 50_000.0, 60_000.0, 45_000.0],
            size: vec![-2.0, 1.0, -1.5, 3.0],
            kind: vec![
                OptionKind::Put,
                OptionKind::Call,
                OptionKind::Call,
                OptionKind::Put,
            ],
            sigma: vec![0.7, 0.6, 0.65, 0.9],
            expiry: vec![0.2, 0.5, 0.1, 1.0],
        };
        let grid = PriceVolGrid::new(
            (0..21).map(|i| -0.3 + 0.03 * f64::from(i)).collect(),
            (0..7).map(|i| -30.0 + 10.0 * f64::from(i)).collect(),
        );
        let (f, now) = (48_000.0, 0.05);
        let mut pnl = vec![0.0; grid.len()];
        let (worst, at) = revalue(&book, &grid, f, now, &mut pnl);
        let exact = |i: usize, j: usize| -> f64 {
            (0..4)
                .map(|o| {
                    let t = book.expiry[o] - now;
                    let s = (book.sigma[o] + grid.vol_moves[j] / 100.0).max(1e-4);
                    let p =
                        |ff: f64, ss: f64| crate::price(ff, book.strike[o], t, ss, book.kind[o]);
                    book.size[o] * (p(f * (1.0 + grid.moves[i]), s) - p(f, book.sigma[o]))
                })
                .sum()
        };
        for j in 0..7 {
            for i in 0..21 {
                let e = exact(i, j);
                // 7.5e-8 of Φ on each of the 4 options' notionals.
                assert!(
                    (pnl[j * 21 + i] - e).abs() < 4.0 * 3.0 * 8e-8 * 2.0 * 60_000.0,
                    "({i},{j}): {} vs {e}",
                    pnl[j * 21 + i]
                );
            }
        }
        assert!((worst + pnl[at]).abs() < 1e-9 && worst > 0.0);
    }
}
