//! Margin scopes: what a bucket of legs must hold.

use crate::venue::{MarginModel, VenueProfile};

use super::book::Book;
use super::grid::ScenarioGrid;

/// The maintenance requirement of a margin bucket. Chosen once per run,
/// so the loop is compiled for each scope.
pub trait MarginScope {
    /// True when every leg has its own bucket (isolated margin).
    fn isolated(&self) -> bool;

    /// Requirement of bucket `b` at `marks`.
    fn requirement(&self, book: &Book, rules: &[VenueProfile], b: usize, marks: &[f64]) -> f64;

    /// The initial margin of positions with these signed notionals when
    /// the scope margins them jointly (portfolio margin: its requirement
    /// for them); `None`: each leg's notional over its venue's maximum
    /// leverage, summed per bucket.
    fn joint_initial(&self, _notional: &[f64]) -> Option<f64> {
        None
    }

    /// True when the scope revalues the book over price (and volatility)
    /// scenarios in quote (portfolio, SPAN, Greek margin).
    fn revalues(&self) -> bool {
        false
    }

    /// True when a bucket's requirement is the sum of its legs'
    /// maintenance under their venues' tables (the loop then computes each
    /// leg's once per bar and adds them up).
    fn sums_leg_maintenance(&self) -> bool {
        false
    }

    /// An upper bound of bucket `b`'s requirement over a bar in which leg
    /// `k`'s |notional| stays at or below `max_notional[k]` (sizes held):
    /// a point whose equity is above it cannot be liquidated, so the loop
    /// computes the requirement only at points near it.
    fn requirement_bound(
        &self,
        book: &Book,
        rules: &[VenueProfile],
        b: usize,
        max_notional: &[f64],
    ) -> f64;
}

/// Σ maintenance of the bucket's legs at their largest notional
/// (maintenance grows with notional).
fn sum_bound(book: &Book, rules: &[VenueProfile], b: usize, max_notional: &[f64]) -> f64 {
    let mut mm = 0.0;
    for k in 0..book.legs() {
        if book.bucket[k] == b && book.qty[k] != 0.0 {
            if book.has_options && book.option[k].is_some() {
                // An option's requirement moves with its own price too:
                // no cheap bound, every point is checked.
                return f64::INFINITY;
            }
            let n = max_notional[k];
            mm += rules[k].margin.maintenance(
                n,
                if book.inverse[k] {
                    n
                } else {
                    book.qty[k].abs()
                },
            );
        }
    }
    mm
}

/// Each leg margined alone under its venue's tables (`isolated`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Isolated;

/// One bucket: equity against the sum of every leg's maintenance under its
/// own venue tables (Binance's cross margin, SPEC §1.3: `venue::cross`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Cross;

/// One bucket: equity against the worst loss over a grid of joint moves
/// (SPEC §8), so hedged legs offset. Option legs are revalued in full
/// (Black-76) at their underlying's move and each of `vol_moves`.
#[derive(Debug, Clone)]
pub struct Portfolio {
    /// The joint moves.
    pub grid: ScenarioGrid,
    /// Volatility moves (points) option legs are revalued at.
    pub vol_moves: Vec<f64>,
    /// Deribit's extended table (SPEC §8.2), when given: the fraction of
    /// the book's loss at the extended moves that counts.
    pub extended_fraction: Option<f64>,
}

/// The extended table's moves of the underlying (SPEC §8.2: far
/// out-of-the-money short options), taken with volatility up only.
pub const EXTENDED_MOVES: [f64; 8] = [-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0];

impl Portfolio {
    /// Portfolio margin over `grid`, options revalued at −10, 0 and +10
    /// volatility points (SPEC §8.3's grid).
    pub fn new(grid: ScenarioGrid) -> Self {
        Self {
            grid,
            vol_moves: vec![-10.0, 0.0, 10.0],
            extended_fraction: None,
        }
    }

    /// The same with Deribit's extended table for far out-of-the-money
    /// short options: every instrument moved together by each of
    /// `EXTENDED_MOVES` with volatility at its largest up move, and
    /// `fraction` of the worst such loss counted against the grid's worst.
    /// Deribit publishes the moves, not the fraction or the dampener it
    /// applies: the fraction is the user's, and no dampener is applied.
    pub fn with_extended(mut self, fraction: Option<f64>) -> Self {
        self.extended_fraction = fraction;
        self
    }

    /// The requirement of a book holding options: the worst over the
    /// grid's rows and the volatility moves of the linear legs' PnL plus
    /// every option revalued, plus the floor on gross notional.
    fn with_options(&self, book: &Book, marks: &[f64]) -> f64 {
        const YEAR_NS: f64 = 365.0 * 86_400e9;
        let n = book.legs();
        let mut worst = 0.0f64;
        for s in 0..self.grid.len() {
            let row = self.grid.scenario(s);
            for &dv in &self.vol_moves {
                let mut pnl = 0.0;
                for k in 0..n {
                    let q = book.qty[k];
                    if q == 0.0 {
                        continue;
                    }
                    match &book.option[k] {
                        None => pnl += book.notional(k, marks) * row[k],
                        Some(o) => {
                            let t = (o.expiry - book.now) as f64 / YEAR_NS;
                            let s0 = marks[o.underlying];
                            let s1 = s0 * (1.0 + row[o.underlying]);
                            let v = book.iv[k];
                            let p = |f: f64, sig: f64| {
                                levsim_options::price(f, o.strike, t, sig.max(1e-4), o.kind)
                            };
                            pnl += q * (p(s1, v + dv / 100.0) - p(s0, v));
                        }
                    }
                }
                worst = worst.max(-pnl);
            }
        }
        if let Some(f) = self.extended_fraction {
            let up = self.vol_moves.iter().copied().fold(0.0, f64::max);
            for &m in &EXTENDED_MOVES {
                let mut pnl = 0.0;
                for k in 0..n {
                    let q = book.qty[k];
                    if q == 0.0 {
                        continue;
                    }
                    match &book.option[k] {
                        None => pnl += book.notional(k, marks) * m,
                        Some(o) => {
                            let t = (o.expiry - book.now) as f64 / YEAR_NS;
                            let s0 = marks[o.underlying];
                            let v = book.iv[k];
                            let p = |f: f64, sig: f64| {
                                levsim_options::price(f, o.strike, t, sig.max(1e-4), o.kind)
                            };
                            pnl += q * (p(s0 * (1.0 + m), v + up / 100.0) - p(s0, v));
                        }
                    }
                }
                worst = worst.max(-f * pnl);
            }
        }
        let gross: f64 = (0..n).map(|k| book.notional(k, marks).abs()).sum();
        worst + self.grid.floor * gross
    }
}

fn sum_of_maintenance(book: &Book, rules: &[VenueProfile], b: usize, marks: &[f64]) -> f64 {
    let mut mm = 0.0;
    for k in 0..book.legs() {
        if book.bucket[k] == b {
            mm += book.leg_maintenance(rules, k, marks);
        }
    }
    mm
}

impl MarginScope for Isolated {
    fn sums_leg_maintenance(&self) -> bool {
        true
    }
    fn isolated(&self) -> bool {
        true
    }
    fn requirement(&self, book: &Book, rules: &[VenueProfile], b: usize, marks: &[f64]) -> f64 {
        book.leg_maintenance(rules, b, marks)
    }
    fn requirement_bound(&self, book: &Book, rules: &[VenueProfile], b: usize, n: &[f64]) -> f64 {
        sum_bound(book, rules, b, n)
    }
}

impl MarginScope for Cross {
    fn sums_leg_maintenance(&self) -> bool {
        true
    }
    fn isolated(&self) -> bool {
        false
    }
    fn requirement(&self, book: &Book, rules: &[VenueProfile], b: usize, marks: &[f64]) -> f64 {
        sum_of_maintenance(book, rules, b, marks)
    }
    fn requirement_bound(&self, book: &Book, rules: &[VenueProfile], b: usize, n: &[f64]) -> f64 {
        sum_bound(book, rules, b, n)
    }
}

impl MarginScope for Portfolio {
    fn isolated(&self) -> bool {
        false
    }
    fn revalues(&self) -> bool {
        true
    }
    fn requirement(&self, book: &Book, _rules: &[VenueProfile], _b: usize, marks: &[f64]) -> f64 {
        if book.has_options {
            return self.with_options(book, marks);
        }
        // Signed notionals on the stack for the usual few legs.
        let n = book.legs();
        let mut small = [0.0f64; 16];
        let mut big = Vec::new();
        let x: &mut [f64] = if n <= 16 {
            &mut small[..n]
        } else {
            big.resize(n, 0.0);
            &mut big
        };
        for k in 0..n {
            x[k] = book.notional(k, marks);
        }
        self.grid.requirement(x)
    }
    fn joint_initial(&self, notional: &[f64]) -> Option<f64> {
        Some(self.grid.requirement(notional))
    }
    fn requirement_bound(&self, book: &Book, _rules: &[VenueProfile], _b: usize, n: &[f64]) -> f64 {
        // Each leg loses at most its largest move of the grid.
        let mut r = 0.0;
        for k in 0..book.legs() {
            if book.qty[k] != 0.0 && book.option[k].is_some() {
                return f64::INFINITY;
            }
            if book.qty[k] != 0.0 {
                r += (self.grid.max_move(k) + self.grid.floor) * n[k];
            }
        }
        r
    }
}
