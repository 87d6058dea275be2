//! One side of an L2 book as a dense ladder over a price grid (issue 18):
//! a level is an index into a vector of sizes, so setting one is a store
//! and the best level moves by a short scan, where a sorted map pays a
//! tree search and an allocation. Books whose prices sit on a decimal tick
//! grid (every exchange's) use it; [`Grid::of`] finds the grid of a tape.

/// A decimal tick grid: price = `(origin + index · tick) / scale`, with
/// `scale` = 10^d, all in integer units of 10^-d.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    scale: f64,
    tick: i64,
    origin: i64,
}

/// Most decimals a grid price may have.
const MAX_DECIMALS: i32 = 8;

/// Ticks a ladder covers: a window of 65,536 around its first level
/// (±3,277 USD at a 0.1 tick), 512 KB of sizes that stay in cache. Levels
/// beyond it (a venue's far-away orders) are kept apart in a sorted map.
pub(crate) const WINDOW: usize = 1 << 16;

impl Grid {
    /// The grid of `prices`: the fewest decimals that write every price
    /// exactly, and the greatest common step between them. None when a
    /// price needs more than 8 decimals, or is not positive and finite.
    pub fn of(prices: &[f64]) -> Option<Self> {
        let mut d = 0;
        for &p in prices {
            if !(p.is_finite() && p > 0.0) {
                return None;
            }
            while d <= MAX_DECIMALS && !exact(p, 10f64.powi(d)) {
                d += 1;
            }
            if d > MAX_DECIMALS {
                return None;
            }
        }
        let scale = 10f64.powi(d);
        let origin = prices.iter().map(|&p| (p * scale).round() as i64).min()?;
        let mut tick = 0i64;
        for &p in prices {
            tick = gcd(tick, (p * scale).round() as i64 - origin);
            if tick == 1 {
                break;
            }
        }
        Some(Self {
            scale,
            tick: tick.max(1),
            origin,
        })
    }

    /// The index of `price` on the grid (negative below the origin), if it
    /// is a grid price.
    #[inline]
    pub fn index(&self, price: f64) -> Option<i64> {
        let u = (price * self.scale).round();
        if u / self.scale != price || u.abs() >= 9.0e15 {
            return None;
        }
        let off = u as i64 - self.origin;
        (off % self.tick == 0).then_some(off / self.tick)
    }

    /// The price at `index` (the same f64 [`Grid::index`] was given).
    #[inline]
    pub fn price(&self, index: i64) -> f64 {
        (self.origin + index * self.tick) as f64 / self.scale
    }
}

/// `p` written with the decimals of `scale` reads back as `p`.
fn exact(p: f64, scale: f64) -> bool {
    let u = (p * scale).round();
    u.abs() < 9.0e15 && u / scale == p
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// One side's sizes by grid index over a fixed window, `sizes[k]` at
/// index `base + k`; the window is placed around the first level set.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ladder {
    base: i64,
    sizes: Vec<f64>,
    count: usize,
    /// Position of the best level in `sizes` (the highest for bids, the
    /// lowest for asks).
    best: Option<usize>,
    bid: bool,
}

impl Ladder {
    pub(crate) fn new(bid: bool) -> Self {
        Self {
            bid,
            ..Default::default()
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// The window's lowest and highest index (None before the first level).
    pub(crate) fn window(&self) -> Option<(i64, i64)> {
        (!self.sizes.is_empty()).then(|| (self.base, self.base + self.sizes.len() as i64 - 1))
    }

    /// Sets index `i` to `size` (0 removes it); false when `i` is outside
    /// the window (nothing changed).
    #[inline]
    pub(crate) fn set(&mut self, i: i64, size: f64) -> bool {
        if self.sizes.is_empty() {
            if size <= 0.0 {
                return false;
            }
            self.base = i - (WINDOW / 2) as i64;
            self.sizes = vec![0.0; WINDOW];
        }
        let k = i - self.base;
        if k < 0 || k as usize >= self.sizes.len() {
            return false;
        }
        let k = k as usize;
        let old = self.sizes[k];
        if size > 0.0 {
            if old == 0.0 {
                self.count += 1;
            }
            self.sizes[k] = size;
            self.best = Some(match self.best {
                Some(b) if (self.bid && b >= k) || (!self.bid && b <= k) => b,
                _ => k,
            });
        } else if old != 0.0 {
            self.sizes[k] = 0.0;
            self.count -= 1;
            if self.best == Some(k) {
                self.best = self.next_from(k);
            }
        }
        true
    }

    /// The best level after `k` was removed: the next filled one outward.
    fn next_from(&self, k: usize) -> Option<usize> {
        if self.count == 0 {
            return None;
        }
        if self.bid {
            self.sizes[..k].iter().rposition(|&q| q != 0.0)
        } else {
            self.sizes[k + 1..]
                .iter()
                .position(|&q| q != 0.0)
                .map(|j| k + 1 + j)
        }
    }

    /// Removes every level (the window stays).
    pub(crate) fn clear(&mut self) {
        self.sizes.fill(0.0);
        self.count = 0;
        self.best = None;
    }

    /// The best level as (index, size).
    #[inline]
    pub(crate) fn best(&self) -> Option<(i64, f64)> {
        self.best.map(|k| (self.base + k as i64, self.sizes[k]))
    }

    /// Levels from the best outward, as (index, size).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        let base = self.base;
        let (lo, hi) = match self.best {
            None => (0, 0),
            Some(b) if self.bid => (0, b + 1),
            Some(b) => (b, self.sizes.len()),
        };
        let slice = &self.sizes[lo..hi];
        let bid = self.bid;
        let n = slice.len();
        (0..n)
            .map(move |j| if bid { n - 1 - j } else { j })
            .filter_map(move |j| {
                let q = slice[j];
                (q != 0.0).then_some((base + (lo + j) as i64, q))
            })
            .take(self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_read_prices_back_exactly() {
        let prices = [58710.2, 61496.5, 61510.9, 61641.5, 60000.0];
        let g = Grid::of(&prices).unwrap();
        assert_eq!(g.tick, 1);
        assert_eq!(g.scale, 10.0);
        for p in prices {
            let i = g.index(p).unwrap();
            assert_eq!(g.price(i).to_bits(), p.to_bits());
        }
        // Off the grid: more decimals than the grid's.
        assert_eq!(g.index(60000.05), None);
        // Ticks of 0.5 and of 25.
        let g = Grid::of(&[100.0, 100.5, 102.0]).unwrap();
        assert_eq!((g.index(101.5), g.index(101.25)), (Some(3), None));
        let g = Grid::of(&[1000.0, 1025.0, 1100.0]).unwrap();
        assert_eq!(g.index(1050.0), Some(2));
        assert_eq!(g.price(-1), 975.0);
        assert!(Grid::of(&[1.0, f64::NAN]).is_none());
        assert!(Grid::of(&[1.0 / 3.0]).is_none());
    }

    #[test]
    fn ladders_keep_the_best_level_and_iterate_outward() {
        let mut b = Ladder::new(true);
        for (i, q) in [(10, 1.0), (12, 2.0), (5, 3.0), (1000, 4.0), (-500, 5.0)] {
            assert!(b.set(i, q));
        }
        assert_eq!(b.best(), Some((1000, 4.0)));
        b.set(1000, 0.0);
        assert_eq!(b.best(), Some((12, 2.0)));
        let levels: Vec<(i64, f64)> = b.iter().collect();
        assert_eq!(levels, [(12, 2.0), (10, 1.0), (5, 3.0), (-500, 5.0)]);
        b.set(7, 0.0);
        assert_eq!(b.count(), 4);
        // Outside the window around the first level: refused.
        assert!(!b.set(10 + WINDOW as i64, 1.0));
        assert_eq!(
            b.window(),
            Some((10 - (WINDOW / 2) as i64, 10 + (WINDOW / 2) as i64 - 1))
        );
        let mut a = Ladder::new(false);
        a.set(20, 1.0);
        a.set(15, 2.0);
        a.set(30, 3.0);
        assert_eq!(a.best(), Some((15, 2.0)));
        a.set(15, 0.0);
        assert_eq!(a.iter().collect::<Vec<_>>(), [(20, 1.0), (30, 3.0)]);
        a.clear();
        assert_eq!((a.best(), a.count(), a.iter().count()), (None, 0, 0));
    }
}
