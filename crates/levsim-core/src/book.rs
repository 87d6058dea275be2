//! Order-book data: a columnar tape of L2 messages (CSR-style), a trade
//! tape, and the book state they rebuild.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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

/// An L2 book: size per price level on each side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Book {
    bids: BTreeMap<u64, f64>,
    asks: BTreeMap<u64, f64>,
}

impl Book {
    /// Sets a level (size 0 removes it).
    pub fn set(&mut self, side: BookSide, price: f64, size: f64) {
        let m = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        if size > 0.0 {
            m.insert(key(price), size);
        } else {
            m.remove(&key(price));
        }
    }

    /// Applies message `i` of `tape`.
    pub fn apply(&mut self, tape: &BookTape, i: usize) {
        if tape.kind[i] == BookMessageKind::Snapshot {
            self.bids.clear();
            self.asks.clear();
        }
        for (s, p, q) in tape.levels(i) {
            self.set(s, p, q);
        }
    }

    /// Best bid `(price, size)`.
    pub fn best_bid(&self) -> Option<(f64, f64)> {
        self.bids
            .iter()
            .next_back()
            .map(|(k, &q)| (f64::from_bits(*k), q))
    }

    /// Best ask `(price, size)`.
    pub fn best_ask(&self) -> Option<(f64, f64)> {
        self.asks
            .iter()
            .next()
            .map(|(k, &q)| (f64::from_bits(*k), q))
    }

    /// Mid price.
    pub fn mid(&self) -> Option<f64> {
        Some(0.5 * (self.best_bid()?.0 + self.best_ask()?.0))
    }

    /// Number of levels `(bids, asks)`.
    pub fn levels(&self) -> (usize, usize) {
        (self.bids.len(), self.asks.len())
    }

    /// Bids from the best down, as `(price, size)`.
    pub fn bids(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.bids
            .iter()
            .rev()
            .map(|(k, &q)| (f64::from_bits(*k), q))
    }

    /// Asks from the best up, as `(price, size)`.
    pub fn asks(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.asks.iter().map(|(k, &q)| (f64::from_bits(*k), q))
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
}
