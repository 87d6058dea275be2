//! Order-book data: a columnar tape of L2 messages (CSR-style), a trade
//! tape, and the book state they rebuild.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ladder::{Grid, Ladder};
use crate::TimestampNs;

/// What an L2 message does to the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookMessageKind {
    /// Replace the whole book with the message's levels.
    Snapshot,
    /// Set each listed level to its size (size 0 removes it).
    Delta,
}

/// Side of a book level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BookSide {
    /// Buy orders.
    Bid,
    /// Sell orders.
    Ask,
}

/// L2 messages as flat columns: message `i` has time `ts[i]`, kind
/// `kind[i]`, and its levels at `offsets[i]..offsets[i + 1]` of the level
/// columns. Sequence ids, when the source has them, let gaps be detected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BookTape {
    /// Instrument symbol.
    pub symbol: String,
    /// Message times (ns UTC, exchange time where the source has it).
    pub ts: Vec<TimestampNs>,
    /// Message kinds.
    pub kind: Vec<BookMessageKind>,
    /// First sequence id of each message (0 when unknown).
    pub first_seq: Vec<u64>,
    /// Last sequence id of each message (0 when unknown).
    pub last_seq: Vec<u64>,
    /// CSR offsets into the level columns (`len() + 1` entries).
    pub offsets: Vec<usize>,
    /// Level sides.
    pub side: Vec<BookSide>,
    /// Level prices.
    pub price: Vec<f64>,
    /// Level sizes (base units, or contracts where the venue quotes them).
    pub size: Vec<f64>,
    /// Number of sequence gaps found while loading.
    pub sequence_gaps: usize,
}

impl BookTape {
    /// An empty tape for `symbol`.
    pub fn new(symbol: impl Into<String>) -> Self {
        Self {
            symbol: symbol.into(),
            offsets: vec![0],
            ..Default::default()
        }
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when there are no messages.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Appends a message with its levels.
    pub fn push(
        &mut self,
        ts: TimestampNs,
        kind: BookMessageKind,
        seq: (u64, u64),
        levels: impl IntoIterator<Item = (BookSide, f64, f64)>,
    ) {
        self.ts.push(ts);
        self.kind.push(kind);
        self.first_seq.push(seq.0);
        self.last_seq.push(seq.1);
        for (s, p, q) in levels {
            self.side.push(s);
            self.price.push(p);
            self.size.push(q);
        }
        self.offsets.push(self.side.len());
    }

    /// The levels of message `i`.
    pub fn levels(&self, i: usize) -> impl Iterator<Item = (BookSide, f64, f64)> + '_ {
        (self.offsets[i]..self.offsets[i + 1])
            .map(move |j| (self.side[j], self.price[j], self.size[j]))
    }
}

/// Price key that orders positive prices correctly (IEEE bits of a
/// positive f64 sort like the values).
fn key(price: f64) -> u64 {
    price.to_bits()
}

/// An L2 book: size per price level on each side. On a tick grid
/// ([`Book::on_grid`], [`Book::for_tape`]) each side is a dense ladder
/// over a window of ticks around its first level (setting a level is a
/// store) with the levels beyond the window in a sorted map; otherwise, or
/// once a price falls off the grid, a sorted map. Both give the same
/// levels, best prices and iteration order.
#[derive(Debug, Clone, Default)]
pub struct Book {
    bids: Levels,
    asks: Levels,
}

/// One side of a [`Book`]: a ladder on its grid and the levels beyond its
/// window, or a map of every level.
#[derive(Debug, Clone)]
enum Levels {
    Ladder(Grid, Ladder, BTreeMap<u64, f64>),
    Map(BTreeMap<u64, f64>),
}

impl Default for Levels {
    fn default() -> Self {
        Levels::Map(BTreeMap::new())
    }
}

impl PartialEq for Book {
    /// The same levels on each side (however they are stored).
    fn eq(&self, other: &Self) -> bool {
        self.bids().eq(other.bids()) && self.asks().eq(other.asks())
    }
}

impl Book {
    /// An empty book whose levels sit on `grid` (dense ladders).
    pub fn on_grid(grid: Grid) -> Self {
        Self {
            bids: Levels::Ladder(grid, Ladder::new(true), BTreeMap::new()),
            asks: Levels::Ladder(grid, Ladder::new(false), BTreeMap::new()),
        }
    }

    /// An empty book for replaying `tape`: on the grid of its first 4,096
    /// level prices when they have one (see [`Grid::of`]), else a sorted
    /// map. A later price off that grid turns its side into a map, so the
    /// book is right whatever the rest of the tape holds.
    pub fn for_tape(tape: &BookTape) -> Self {
        let sample = &tape.price[..tape.price.len().min(4096)];
        Grid::of(sample).map_or_else(Self::default, Self::on_grid)
    }

    /// Sets a level (size 0 removes it).
    #[inline]
    pub fn set(&mut self, side: BookSide, price: f64, size: f64) {
        let levels = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        if let Levels::Ladder(g, l, far) = &mut *levels {
            let g = *g;
            match g.index(price) {
                Some(i) if l.set(i, size) => return,
                Some(_) => {
                    // Beyond the window.
                    if size > 0.0 {
                        far.insert(key(price), size);
                    } else {
                        far.remove(&key(price));
                    }
                    return;
                }
                None => {
                    // Off the grid: this side becomes a map.
                    let mut map = std::mem::take(far);
                    map.extend(l.iter().map(|(i, q)| (key(g.price(i)), q)));
                    *levels = Levels::Map(map);
                }
            }
        }
        if let Levels::Map(m) = levels {
            if size > 0.0 {
                m.insert(key(price), size);
            } else {
                m.remove(&key(price));
            }
        }
    }

    /// Applies message `i` of `tape`.
    pub fn apply(&mut self, tape: &BookTape, i: usize) {
        if tape.kind[i] == BookMessageKind::Snapshot {
            for side in [&mut self.bids, &mut self.asks] {
                match side {
                    Levels::Ladder(_, l, far) => {
                        l.clear();
                        far.clear();
                    }
                    Levels::Map(m) => m.clear(),
                }
            }
        }
        for j in tape.offsets[i]..tape.offsets[i + 1] {
            self.set(tape.side[j], tape.price[j], tape.size[j]);
        }
    }

    fn best(&self, side: BookSide) -> Option<(f64, f64)> {
        let levels = match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        };
        let map_best = |m: &BTreeMap<u64, f64>| {
            match side {
                BookSide::Bid => m.iter().next_back(),
                BookSide::Ask => m.iter().next(),
            }
            .map(|(k, &q)| (f64::from_bits(*k), q))
        };
        match levels {
            Levels::Ladder(g, l, far) => {
                let near = l.best().map(|(i, q)| (g.price(i), q));
                match (near, map_best(far)) {
                    (Some(n), Some(f)) => Some(match side {
                        BookSide::Bid if f.0 > n.0 => f,
                        BookSide::Ask if f.0 < n.0 => f,
                        _ => n,
                    }),
                    (n, f) => n.or(f),
                }
            }
            Levels::Map(m) => map_best(m),
        }
    }

    /// Best bid `(price, size)`.
    pub fn best_bid(&self) -> Option<(f64, f64)> {
        self.best(BookSide::Bid)
    }

    /// Best ask `(price, size)`.
    pub fn best_ask(&self) -> Option<(f64, f64)> {
        self.best(BookSide::Ask)
    }

    /// Mid price.
    pub fn mid(&self) -> Option<f64> {
        Some(0.5 * (self.best_bid()?.0 + self.best_ask()?.0))
    }

    /// Number of levels `(bids, asks)`.
    pub fn levels(&self) -> (usize, usize) {
        let n = |l: &Levels| match l {
            Levels::Ladder(_, l, far) => l.count() + far.len(),
            Levels::Map(m) => m.len(),
        };
        (n(&self.bids), n(&self.asks))
    }

    fn side_iter(&self, side: BookSide) -> Box<dyn Iterator<Item = (f64, f64)> + '_> {
        let levels = match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        };
        let from_map = |(k, &q): (&u64, &f64)| (f64::from_bits(*k), q);
        match levels {
            Levels::Ladder(g, l, far) => {
                let g = *g;
                let near = l.iter().map(move |(i, q)| (g.price(i), q));
                let Some((lo, hi)) = l.window() else {
                    // Nothing in the ladder yet: every level is far.
                    return match side {
                        BookSide::Bid => Box::new(far.iter().rev().map(from_map)),
                        BookSide::Ask => Box::new(far.iter().map(from_map)),
                    };
                };
                // Far levels lie wholly above or below the window.
                // (A window reaching below zero has nothing below it.)
                let (lo, hi) = (key(g.price(lo).max(0.0)), key(g.price(hi)));
                let below = far.range(..lo);
                let above = far.range(hi..);
                match side {
                    BookSide::Bid => Box::new(
                        above
                            .rev()
                            .map(from_map)
                            .chain(near)
                            .chain(below.rev().map(from_map)),
                    ),
                    BookSide::Ask => {
                        Box::new(below.map(from_map).chain(near).chain(above.map(from_map)))
                    }
                }
            }
            Levels::Map(m) => {
                let it = m.iter().map(|(k, &q)| (f64::from_bits(*k), q));
                match side {
                    BookSide::Bid => Box::new(it.rev()),
                    BookSide::Ask => Box::new(it),
                }
            }
        }
    }

    /// Bids from the best down, as `(price, size)`.
    pub fn bids(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.side_iter(BookSide::Bid)
    }

    /// Asks from the best up, as `(price, size)`.
    pub fn asks(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.side_iter(BookSide::Ask)
    }

    /// Size (base units) within `pct` (0.01 = 1 %) of mid on each side:
    /// `(bid depth, ask depth)`.
    pub fn depth_within(&self, pct: f64) -> Option<(f64, f64)> {
        let mid = self.mid()?;
        let bid = self
            .bids()
            .take_while(|&(p, _)| p >= mid * (1.0 - pct))
            .map(|(_, q)| q)
            .sum();
        let ask = self
            .asks()
            .take_while(|&(p, _)| p <= mid * (1.0 + pct))
            .map(|(_, q)| q)
            .sum();
        Some((bid, ask))
    }

    /// True when the best bid is at or above the best ask.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.0 >= a.0)
    }
}

/// Trades as columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TradeTape {
    /// Instrument symbol.
    pub symbol: String,
    /// Trade times (ns UTC).
    pub ts: Vec<TimestampNs>,
    /// Prices.
    pub price: Vec<f64>,
    /// Sizes (base units, or contracts/USD where the venue quotes them).
    pub size: Vec<f64>,
    /// True when the taker bought.
    pub taker_buy: Vec<bool>,
}

impl TradeTape {
    /// Number of trades.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_applies_snapshots_and_deltas() {
        let mut t = BookTape::new("X");
        t.push(
            1,
            BookMessageKind::Snapshot,
            (1, 1),
            [
                (BookSide::Bid, 99.0, 2.0),
                (BookSide::Bid, 98.0, 1.0),
                (BookSide::Ask, 101.0, 3.0),
            ],
        );
        t.push(
            2,
            BookMessageKind::Delta,
            (2, 2),
            [(BookSide::Bid, 99.0, 0.0), (BookSide::Ask, 100.5, 1.0)],
        );
        let mut b = Book::default();
        b.apply(&t, 0);
        assert_eq!(b.best_bid(), Some((99.0, 2.0)));
        assert_eq!(b.mid(), Some(100.0));
        b.apply(&t, 1);
        assert_eq!(b.best_bid(), Some((98.0, 1.0)));
        assert_eq!(b.best_ask(), Some((100.5, 1.0)));
        assert_eq!(b.levels(), (1, 2));
        let (bd, ad) = b.depth_within(0.02).unwrap();
        assert_eq!((bd, ad), (1.0, 4.0));
        assert!(!b.is_crossed());
    }

    /// A ladder book and a map book given the same random messages hold the
    /// same levels, best prices and depth at every step; a price off the
    /// grid turns the ladder's side into a map without losing a level.
    #[test]
    fn ladder_and_map_books_agree() {
        let mut t = BookTape::new("X");
        let mut x: u64 = 7;
        let mut rand = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for m in 0..400 {
            let levels: Vec<(BookSide, f64, f64)> = (0..20)
                .map(|_| {
                    let r = rand();
                    let bid = r % 2 == 0;
                    // Around 100.0 on a 0.1 grid, bids below, asks above.
                    let ticks = (r >> 8) % 300;
                    let price = if bid {
                        (1000 - ticks as i64) as f64 / 10.0
                    } else {
                        (1001 + ticks as i64) as f64 / 10.0
                    };
                    let size = if (r >> 20) % 3 == 0 {
                        0.0
                    } else {
                        ((r >> 24) % 50) as f64 / 10.0
                    };
                    (if bid { BookSide::Bid } else { BookSide::Ask }, price, size)
                })
                .collect();
            let kind = if m % 97 == 0 {
                BookMessageKind::Snapshot
            } else {
                BookMessageKind::Delta
            };
            t.push(m, kind, (0, 0), levels);
        }
        let mut ladder = Book::for_tape(&t);
        assert!(matches!(ladder.bids, Levels::Ladder(..)));
        let mut map = Book::default();
        for i in 0..t.len() {
            ladder.apply(&t, i);
            map.apply(&t, i);
            assert_eq!(ladder.best_bid(), map.best_bid());
            assert_eq!(ladder.best_ask(), map.best_ask());
            assert_eq!(ladder.levels(), map.levels());
            assert_eq!(ladder.depth_within(0.01), map.depth_within(0.01));
        }
        assert!(ladder.bids().eq(map.bids()) && ladder.asks().eq(map.asks()));
        assert!(ladder == map && ladder.levels().0 > 50);
        // Far beyond the window (a bid at a tenth of the price, an ask at
        // ten times it, and one above the window's best): kept apart, in
        // order.
        for (side, p) in [
            (BookSide::Bid, 10.0),
            (BookSide::Ask, 1_000_000.0),
            (BookSide::Bid, 50_000.0),
            (BookSide::Ask, 0.5),
        ] {
            ladder.set(side, p, 1.5);
            map.set(side, p, 1.5);
            assert!(ladder == map);
            assert_eq!(ladder.best_bid(), map.best_bid());
            assert_eq!(ladder.best_ask(), map.best_ask());
            assert_eq!(ladder.levels(), map.levels());
        }
        assert_eq!(ladder.best_bid(), Some((50_000.0, 1.5)));
        ladder.set(BookSide::Bid, 50_000.0, 0.0);
        map.set(BookSide::Bid, 50_000.0, 0.0);
        assert!(ladder == map && ladder.best_bid() == map.best_bid());
        // Off the grid: the side becomes a map with every level kept.
        ladder.set(BookSide::Bid, 99.95, 1.0);
        map.set(BookSide::Bid, 99.95, 1.0);
        assert!(matches!(ladder.bids, Levels::Map(_)));
        assert!(ladder == map);
        assert_eq!(ladder.best_ask(), map.best_ask());
    }
}
