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

    /// How much the requirement falls per unit of adverse relative move of
    /// one leg, per unit of that leg's notional (its maintenance rate for a
    /// sum of maintenances, 0 for a grid held fixed): used for the
    /// observed distance to liquidation.
    fn rate_drift(&self, book: &Book, rules: &[VenueProfile], k: usize, mark: f64) -> f64;

    /// The initial margin of positions with these signed notionals when
    /// the scope margins them jointly (portfolio margin: its requirement
    /// for them); `None`: each leg's notional over its venue's maximum
    /// leverage, summed per bucket.
    fn joint_initial(&self, _notional: &[f64]) -> Option<f64> {
        None
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
/// (SPEC §8), so hedged legs offset.
#[derive(Debug, Clone)]
pub struct Portfolio {
    /// The joint moves.
    pub grid: ScenarioGrid,
}

fn sum_of_maintenance(book: &Book, rules: &[VenueProfile], b: usize, marks: &[f64]) -> f64 {
    let mut mm = 0.0;
    for k in 0..book.legs() {
        if book.bucket[k] == b {
            mm += book.leg_maintenance(rules, k, marks[k]);
        }
    }
    mm
}

fn maintenance_rate(book: &Book, rules: &[VenueProfile], k: usize, mark: f64) -> f64 {
    let n = book.notional(k, mark).abs();
    if n > 0.0 {
        book.leg_maintenance(rules, k, mark) / n
    } else {
        0.0
    }
}

impl MarginScope for Isolated {
    fn sums_leg_maintenance(&self) -> bool {
        true
    }
    fn isolated(&self) -> bool {
        true
    }
    fn requirement(&self, book: &Book, rules: &[VenueProfile], b: usize, marks: &[f64]) -> f64 {
        book.leg_maintenance(rules, b, marks[b])
    }
    fn rate_drift(&self, book: &Book, rules: &[VenueProfile], k: usize, mark: f64) -> f64 {
        maintenance_rate(book, rules, k, mark)
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
    fn rate_drift(&self, book: &Book, rules: &[VenueProfile], k: usize, mark: f64) -> f64 {
        maintenance_rate(book, rules, k, mark)
    }
    fn requirement_bound(&self, book: &Book, rules: &[VenueProfile], b: usize, n: &[f64]) -> f64 {
        sum_bound(book, rules, b, n)
    }
}

impl MarginScope for Portfolio {
    fn isolated(&self) -> bool {
        false
    }
    fn requirement(&self, book: &Book, _rules: &[VenueProfile], _b: usize, marks: &[f64]) -> f64 {
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
            x[k] = book.notional(k, marks[k]);
        }
        self.grid.requirement(x)
    }
    fn rate_drift(&self, _book: &Book, _rules: &[VenueProfile], _k: usize, _mark: f64) -> f64 {
        0.0
    }
    fn joint_initial(&self, notional: &[f64]) -> Option<f64> {
        Some(self.grid.requirement(notional))
    }
    fn requirement_bound(&self, book: &Book, _rules: &[VenueProfile], _b: usize, n: &[f64]) -> f64 {
        // Each leg loses at most its largest move of the grid.
        let mut r = 0.0;
        for k in 0..book.legs() {
            if book.qty[k] != 0.0 {
                r += (self.grid.max_move(k) + self.grid.floor) * n[k];
            }
        }
        r
    }
}
