//! The legs of a portfolio account as plain arrays, and its margin buckets.

use crate::venue::{MarginModel, VenueProfile};

use super::scope::MarginScope;

/// Legs (indexed by instrument id) and margin buckets of one account.
///
/// A bucket is what a liquidation acts on: its wallet backs its legs.
/// Isolated margin has one bucket per leg; cross and portfolio margin one
/// bucket holding every leg.
#[derive(Debug, Clone)]
pub struct Book {
    /// Signed size per leg: base units (linear) or the USD face of the
    /// contracts (inverse: contracts × contract size).
    pub qty: Vec<f64>,
    /// Whether each leg settles inverse (coin-margined): PnL
    /// `q·(1/entry − 1/p)` and notional `|q|/p`, in coin.
    pub inverse: Vec<bool>,
    /// Average entry per leg (0 when flat).
    pub entry: Vec<f64>,
    /// Bucket of each leg.
    pub bucket: Vec<usize>,
    /// Wallet per bucket: cash, realized PnL, fees and funding (quote).
    pub wallet: Vec<f64>,
    /// True when bucket `k` is leg `k` (isolated margin).
    pub isolated: bool,
    /// Collateral in other assets, in bucket 0: (leg whose mark values
    /// it, units × (1 − haircut)).
    pub collateral: Vec<(usize, f64)>,
    /// The European option each leg is, if any (settled in quote; its
    /// mark is its own price column, its notional the underlying's).
    pub option: Vec<Option<LegOption>>,
    /// Each option leg's volatility at the current bar (annual).
    pub iv: Vec<f64>,
    /// Whether any leg is an option (the common case skips the lookups).
    pub has_options: bool,
    /// Options settle in coin (a coin-margined account): their prices are
    /// in coin per option and their notional is their size in coin.
    pub coin_options: bool,
    /// The current time (for options' time to expiry).
    pub now: levsim_core::TimestampNs,
}

/// A leg that is a European option on another leg of the book.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LegOption {
    /// Leg of the underlying.
    pub underlying: usize,
    /// Strike (quote).
    pub strike: f64,
    /// Expiry, ns UTC.
    pub expiry: levsim_core::TimestampNs,
    /// Call or put.
    pub kind: levsim_options::OptionKind,
}

impl Book {
    /// A flat book with `capital` split over the buckets in proportion to
    /// `split` (one share per bucket).
    pub(crate) fn new(inverse: Vec<bool>, isolated: bool, capital: f64) -> Self {
        let legs = inverse.len();
        let buckets = if isolated { legs } else { 1 };
        let mut wallet = vec![0.0; buckets];
        wallet[0] = capital;
        Self {
            qty: vec![0.0; legs],
            inverse,
            entry: vec![0.0; legs],
            bucket: (0..legs).map(|k| if isolated { k } else { 0 }).collect(),
            wallet,
            isolated,
            collateral: Vec::new(),
            option: vec![None; legs],
            iv: vec![0.0; legs],
            has_options: false,
            coin_options: false,
            now: 0,
        }
    }

    /// Number of margin buckets.
    pub fn buckets(&self) -> usize {
        self.wallet.len()
    }

    /// Number of legs.
    pub fn legs(&self) -> usize {
        self.qty.len()
    }

    /// True when no leg is open.
    #[inline]
    pub fn is_flat(&self) -> bool {
        self.qty.iter().all(|&q| q == 0.0)
    }

    /// True when bucket `b` has an open leg.
    #[inline]
    pub fn bucket_open(&self, b: usize) -> bool {
        if self.isolated {
            return self.qty[b] != 0.0;
        }
        self.qty
            .iter()
            .zip(&self.bucket)
            .any(|(&q, &c)| c == b && q != 0.0)
    }

    /// Unrealized PnL of leg `k` at `mark` (settlement currency).
    #[inline]
    pub fn upnl(&self, k: usize, mark: f64) -> f64 {
        let q = self.qty[k];
        if q == 0.0 {
            0.0
        } else if self.inverse[k] {
            q * (1.0 / self.entry[k] - 1.0 / mark)
        } else {
            q * (mark - self.entry[k])
        }
    }

    /// Signed notional of leg `k` at `marks` (settlement currency: quote
    /// for linear, coin for inverse; an option's is its underlying's,
    /// size × underlying price).
    #[inline(always)]
    pub fn notional(&self, k: usize, marks: &[f64]) -> f64 {
        if self.has_options {
            if let Some(o) = &self.option[k] {
                // One option is on one coin of its underlying.
                return if self.coin_options {
                    self.qty[k]
                } else {
                    self.qty[k] * marks[o.underlying]
                };
            }
        }
        if self.inverse[k] {
            self.qty[k] / marks[k]
        } else {
            self.qty[k] * marks[k]
        }
    }

    /// The signed size of leg `k` whose notional at `marks` is `notional`.
    #[inline]
    pub fn size_for(&self, k: usize, notional: f64, marks: &[f64]) -> f64 {
        if self.has_options {
            if let Some(o) = &self.option[k] {
                return if self.coin_options {
                    notional
                } else {
                    notional / marks[o.underlying]
                };
            }
        }
        if self.inverse[k] {
            notional * marks[k]
        } else {
            notional / marks[k]
        }
    }

    /// True when leg `k` is an option past its expiry.
    pub fn expired(&self, k: usize) -> bool {
        self.has_options && self.option[k].is_some_and(|o| o.expiry <= self.now)
    }

    /// Price of leg `k` at which its bucket's equity, `equity` at `mark`,
    /// would reach zero with the other legs held (the bankruptcy price).
    pub fn zero_equity_price(&self, k: usize, mark: f64, equity: f64) -> f64 {
        let q = self.qty[k];
        if self.inverse[k] {
            1.0 / (1.0 / mark + equity / q)
        } else {
            mark - equity / q
        }
    }

    /// Equity of bucket `b` at `marks`.
    #[inline]
    pub fn bucket_equity(&self, b: usize, marks: &[f64]) -> f64 {
        if self.isolated {
            return self.wallet[b] + self.upnl(b, marks[b]);
        }
        if self.wallet.len() == 1 {
            return self.equity(marks);
        }
        // (Collateral backs only single-bucket accounts.)
        let mut e = self.wallet[b];
        for k in 0..self.legs() {
            if self.bucket[k] == b {
                e += self.upnl(k, marks[k]);
            }
        }
        e
    }

    /// Value of the collateral in other assets at `marks` (after haircuts).
    #[inline]
    pub fn collateral_value(&self, marks: &[f64]) -> f64 {
        self.collateral.iter().map(|&(k, w)| w * marks[k]).sum()
    }

    /// Equity of the whole account at `marks`.
    #[inline]
    pub fn equity(&self, marks: &[f64]) -> f64 {
        let mut e: f64 = self.wallet.iter().sum::<f64>();
        if !self.collateral.is_empty() {
            e += self.collateral_value(marks);
        }
        for (k, &m) in marks.iter().enumerate() {
            e += self.upnl(k, m);
        }
        e
    }

    /// Equity minus requirement of bucket `b` at `marks` (≤ 0: liquidatable).
    #[inline]
    pub fn slack<S: MarginScope>(
        &self,
        scope: &S,
        rules: &[VenueProfile],
        b: usize,
        marks: &[f64],
    ) -> f64 {
        self.bucket_equity(b, marks) - scope.requirement(self, rules, b, marks)
    }

    /// Maintenance margin of leg `k` alone at `mark` under its venue's tables.
    #[inline]
    pub fn leg_maintenance(&self, rules: &[VenueProfile], k: usize, marks: &[f64]) -> f64 {
        let q = self.qty[k].abs();
        let mark = marks[k];
        if q == 0.0 {
            0.0
        } else if let Some(o) = self.option[k].as_ref().filter(|_| self.has_options) {
            // Deribit's standard rates (SPEC §8.2) in quote: a short call
            // 0.075·S + mark, a short put max(0.075·S, 0.075·mark) + mark
            // per option; a long option none beyond its premium.
            if self.qty[k] > 0.0 {
                0.0
            } else {
                // In coin per option for coin-settled options (SPEC §8.2 as
                // published: 0.075 + mark), in quote otherwise (× S).
                let s = if self.coin_options {
                    1.0
                } else {
                    marks[o.underlying]
                };
                q * match o.kind {
                    levsim_options::OptionKind::Call => 0.075 * s + mark,
                    levsim_options::OptionKind::Put => (0.075 * s).max(0.075 * mark) + mark,
                }
            }
        } else if self.inverse[k] {
            // Brackets on coin notional, as the calculator has them.
            rules[k].margin.maintenance(q / mark, q / mark)
        } else {
            rules[k].margin.maintenance(q * mark, q)
        }
    }

    /// Trades leg `k` to `target` at `price`, paying `fee_rate` on the
    /// traded notional from its bucket; returns (fee, realized PnL).
    pub(crate) fn trade_to(
        &mut self,
        k: usize,
        target: f64,
        price: f64,
        fee_rate: f64,
    ) -> (f64, f64) {
        let q = self.qty[k];
        let delta = target - q;
        if delta == 0.0 {
            return (0.0, 0.0);
        }
        let b = self.bucket[k];
        let inverse = self.inverse[k];
        let fee = if inverse {
            delta.abs() / price * fee_rate
        } else {
            delta.abs() * price * fee_rate
        };
        self.wallet[b] -= fee;
        let mut realized = 0.0;
        if q == 0.0 || q.signum() == delta.signum() {
            self.entry[k] = if inverse {
                // The average entry of an inverse position is harmonic.
                target / (if q == 0.0 { 0.0 } else { q / self.entry[k] } + delta / price)
            } else {
                (q * self.entry[k] + delta * price) / target
            };
        } else {
            let closed = delta.abs().min(q.abs());
            realized = if inverse {
                closed * q.signum() * (1.0 / self.entry[k] - 1.0 / price)
            } else {
                closed * q.signum() * (price - self.entry[k])
            };
            self.wallet[b] += realized;
            if delta.abs() > q.abs() {
                self.entry[k] = price;
            }
        }
        self.qty[k] = target;
        if target == 0.0 {
            self.entry[k] = 0.0;
        }
        (fee, realized)
    }
}
