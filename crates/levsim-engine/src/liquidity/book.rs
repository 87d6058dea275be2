//! Fills against a replayed order book with consumed liquidity that refills.

use std::collections::BTreeMap;
use std::sync::Arc;

use levsim_core::{Book, BookSide, BookTape, TimestampNs};

use super::{decay, DecayingImpact, FillResult, LiquidityModel};

/// Walks a book replayed from a [`BookTape`] up to the order's time. Size the
/// simulation takes at a price stays taken (later replayed updates are
/// reduced by it) and refills exponentially with `resilience_s` as its
/// half-life. The impact on the mark is the move from the pre-trade mid to
/// the last price taken, decaying with the same half-life.
#[derive(Debug, Clone)]
pub struct BookLiquidity {
    tape: Arc<BookTape>,
    cursor: usize,
    book: Book,
    /// The empty book a reset starts from (on the tape's price grid).
    empty: Book,
    /// Size taken per (side, price bits) and when.
    consumed: BTreeMap<(bool, u64), (f64, TimestampNs)>,
    /// Liquidity scale (drain < 1).
    pub scale: f64,
    /// Half-life of the refill and of the impact, seconds.
    pub resilience_s: f64,
    impact: DecayingImpact,
}

impl BookLiquidity {
    /// A model over `tape` (shared: runs clone the model, not the tape).
    pub fn new(tape: Arc<BookTape>, scale: f64, resilience_s: f64) -> Self {
        let empty = Book::for_tape(&tape);
        Self {
            book: empty.clone(),
            empty,
            tape,
            cursor: 0,
            consumed: BTreeMap::new(),
            scale,
            resilience_s,
            impact: DecayingImpact::new(resilience_s),
        }
    }

    /// Replays messages up to time `t`.
    fn advance(&mut self, t: TimestampNs) {
        while self.cursor < self.tape.len() && self.tape.ts[self.cursor] <= t {
            crate::liquidity::book::apply(&mut self.book, &self.tape, self.cursor);
            self.cursor += 1;
        }
    }

    /// Size still taken at a level at `t`.
    fn taken(&self, bid: bool, price: f64, t: TimestampNs) -> f64 {
        self.consumed
            .get(&(bid, price.to_bits()))
            .map_or(0.0, |&(q, at)| q * decay(t - at, self.resilience_s))
    }

    /// The book the simulation sees at `t`: replayed, scaled, less what it took.
    pub fn effective_levels(&mut self, t: TimestampNs, side: BookSide) -> Vec<(f64, f64)> {
        self.advance(t);
        let bid = side == BookSide::Bid;
        let raw: Vec<(f64, f64)> = match side {
            BookSide::Bid => self.book.bids().collect(),
            BookSide::Ask => self.book.asks().collect(),
        };
        raw.into_iter()
            .map(|(p, q)| (p, (q * self.scale - self.taken(bid, p, t)).max(0.0)))
            .filter(|&(_, q)| q > 0.0)
            .collect()
    }

    /// The replayed book's mid at `t` (before the simulation's own impact).
    pub fn mid(&mut self, t: TimestampNs) -> Option<f64> {
        self.advance(t);
        self.book.mid()
    }
}

/// Applying a message (snapshots replace the book).
fn apply(book: &mut Book, tape: &BookTape, i: usize) {
    book.apply(tape, i);
}

impl LiquidityModel for BookLiquidity {
    /// Buys walk the asks, sells the bids, from the best price outward. The
    /// book's own prices are used; `mid` is only the fallback price when the
    /// book has no levels on that side (everything is then unfilled).
    fn fill(&mut self, t: TimestampNs, mid: f64, qty: f64) -> FillResult {
        let side = if qty > 0.0 {
            BookSide::Ask
        } else {
            BookSide::Bid
        };
        let levels = self.effective_levels(t, side);
        let start_mid = self.book.mid().unwrap_or(mid);
        let (mut left, mut cost, mut last, mut used) = (qty.abs(), 0.0, start_mid, 0);
        for (p, avail) in levels {
            if left <= 0.0 {
                break;
            }
            let take = avail.min(left);
            cost += take * p;
            left -= take;
            last = p;
            used += 1;
            let key = (side == BookSide::Bid, p.to_bits());
            let now = self.taken(key.0, p, t);
            self.consumed.insert(key, (now + take, t));
        }
        let filled = qty.abs() - left;
        if filled > 0.0 {
            self.impact.add(t, (last - start_mid) / start_mid);
        }
        FillResult {
            filled,
            unfilled: left,
            vwap: if filled > 0.0 { cost / filled } else { mid },
            last_price: last,
            levels: used,
        }
    }

    fn impact(&self, t: TimestampNs) -> f64 {
        self.impact.get(t)
    }

    fn reset(&mut self) {
        self.cursor = 0;
        self.book = self.empty.clone();
        self.consumed.clear();
        self.impact.reset();
    }
}

#[cfg(test)]
mod tests {
    use levsim_core::BookMessageKind;

    use super::*;

    /// Asks 100.5 × 1, 101 × 2, 102 × 3; bids 99.5 × 1, 99 × 2, 98 × 3.
    fn tape() -> BookTape {
        let mut t = BookTape::new("X");
        t.push(
            0,
            BookMessageKind::Snapshot,
            (1, 1),
            [
                (BookSide::Ask, 100.5, 1.0),
                (BookSide::Ask, 101.0, 2.0),
                (BookSide::Ask, 102.0, 3.0),
                (BookSide::Bid, 99.5, 1.0),
                (BookSide::Bid, 99.0, 2.0),
                (BookSide::Bid, 98.0, 3.0),
            ],
        );
        // A later update resets the 99 bid to 2 again.
        t.push(
            50_000_000_000,
            BookMessageKind::Delta,
            (2, 2),
            [(BookSide::Bid, 99.0, 2.0)],
        );
        t
    }

    #[test]
    fn walking_a_known_book() {
        // (size, vwap, levels, unfilled), by hand.
        let cases = [
            (0.5, 100.5, 1, 0.0),
            (1.0, 100.5, 1, 0.0),
            (2.0, (100.5 + 101.0) / 2.0, 2, 0.0),
            (4.0, (100.5 + 2.0 * 101.0 + 102.0) / 4.0, 3, 0.0),
            (8.0, (100.5 + 2.0 * 101.0 + 3.0 * 102.0) / 6.0, 3, 2.0),
        ];
        for (q, vwap, levels, unfilled) in cases {
            let mut m = BookLiquidity::new(Arc::new(tape()), 1.0, 60.0);
            let f = m.fill(1, 100.0, q);
            assert!((f.vwap - vwap).abs() < 1e-12, "{q}: {}", f.vwap);
            assert_eq!(f.levels, levels, "{q}");
            assert!((f.unfilled - unfilled).abs() < 1e-12, "{q}");
        }
        // A sell of 2.5 takes 99.5 × 1 and 99 × 1.5.
        let mut m = BookLiquidity::new(Arc::new(tape()), 1.0, 60.0);
        let f = m.fill(1, 100.0, -2.5);
        assert!((f.vwap - (99.5 + 1.5 * 99.0) / 2.5).abs() < 1e-12);
        assert_eq!(f.last_price, 99.0);
        assert!((m.impact(1) - (99.0 - 100.0) / 100.0).abs() < 1e-12);
    }

    #[test]
    fn consumed_liquidity_stays_consumed_then_refills_at_the_half_life() {
        let mut m = BookLiquidity::new(Arc::new(tape()), 1.0, 60.0);
        m.fill(0, 100.0, -3.0); // takes 99.5 × 1 and 99 × 2
                                // Right after: both levels are gone.
        let lv = m.effective_levels(0, BookSide::Bid);
        assert_eq!(lv[0], (98.0, 3.0));
        // The replayed update at 50 s resets 99 to 2, but what was taken
        // stays taken: 2 − 2·2^(−50/60).
        let t = 50_000_000_000;
        let lv = m.effective_levels(t, BookSide::Bid);
        let want = 2.0 - 2.0 * 0.5f64.powf(50.0 / 60.0);
        let at99 = lv.iter().find(|l| l.0 == 99.0).unwrap().1;
        assert!((at99 - want).abs() < 1e-12, "{at99} vs {want}");
        // One half-life after the trade, half of the 99.5 level is back.
        let lv = m.effective_levels(60_000_000_000, BookSide::Bid);
        assert!((lv[0].1 - 0.5).abs() < 1e-12 && lv[0].0 == 99.5, "{lv:?}");
        // A drained book (scale 0.5) fills less at each level.
        let mut d = BookLiquidity::new(Arc::new(tape()), 0.5, 60.0);
        let f = d.fill(0, 100.0, 1.0);
        assert_eq!(f.levels, 2);
    }
}
