use serde::{Deserialize, Serialize};

use crate::{CoreError, TimestampNs};

/// OHLCV bars as plain columns (struct of arrays), sorted by time, no duplicates.
///
/// `ts[i]` is the **open** time of bar `i` in nanoseconds UTC; the bar covers
/// `[ts[i], ts[i] + interval_ns)`. Loaders convert every source to this
/// convention (FTX's close-stamped bars are shifted back by one interval).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MarketTape {
    /// Instrument symbol, e.g. `BTCUSDT` (informational).
    pub symbol: String,
    /// Bar length in nanoseconds (the most common spacing of `ts`).
    pub interval_ns: i64,
    /// Bar open times, ns UTC, strictly increasing.
    pub ts: Vec<TimestampNs>,
    /// Open prices.
    pub open: Vec<f64>,
    /// High prices.
    pub high: Vec<f64>,
    /// Low prices.
    pub low: Vec<f64>,
    /// Close prices.
    pub close: Vec<f64>,
    /// Volume in the source's unit (base units for Binance, USD for FTX).
    pub volume: Vec<f64>,
}

impl MarketTape {
    /// Number of bars.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when the tape has no bars.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Checks that every column has the length of `ts`.
    pub fn check_columns(&self) -> Result<(), CoreError> {
        let n = self.ts.len();
        let lens = [
            ("open", self.open.len()),
            ("high", self.high.len()),
            ("low", self.low.len()),
            ("close", self.close.len()),
            ("volume", self.volume.len()),
        ];
        for (name, len) in lens {
            if len != n {
                return Err(CoreError::RaggedColumns(format!(
                    "ts has {n} rows but {name} has {len}"
                )));
            }
        }
        Ok(())
    }

    /// The bars whose open time lies in `[start, end)`; `None` means unbounded.
    pub fn window(&self, start: Option<TimestampNs>, end: Option<TimestampNs>) -> MarketTape {
        let lo = start.map_or(0, |s| self.ts.partition_point(|&t| t < s));
        let hi = end.map_or(self.ts.len(), |e| self.ts.partition_point(|&t| t < e));
        let hi = hi.max(lo);
        MarketTape {
            symbol: self.symbol.clone(),
            interval_ns: self.interval_ns,
            ts: self.ts[lo..hi].to_vec(),
            open: self.open[lo..hi].to_vec(),
            high: self.high[lo..hi].to_vec(),
            low: self.low[lo..hi].to_vec(),
            close: self.close[lo..hi].to_vec(),
            volume: self.volume[lo..hi].to_vec(),
        }
    }

    /// Appends one bar (used by loaders and by tests that script a path).
    pub fn push(&mut self, ts: TimestampNs, o: f64, h: f64, l: f64, c: f64, v: f64) {
        self.ts.push(ts);
        self.open.push(o);
        self.high.push(h);
        self.low.push(l);
        self.close.push(c);
        self.volume.push(v);
    }

    /// Whether every bar's open and close lie inside its [low, high]
    /// (false on a NaN). One vectorizable pass over the four columns.
    pub fn ranges_hold_open_and_close(&self) -> bool {
        let n = self.len();
        if [&self.open, &self.high, &self.low, &self.close]
            .iter()
            .any(|c| c.len() != n)
        {
            return false;
        }
        let (o, h, l, c) = (
            &self.open[..n],
            &self.high[..n],
            &self.low[..n],
            &self.close[..n],
        );
        let mut ok = true;
        for i in 0..n {
            ok &= (l[i] <= o[i]) & (l[i] <= c[i]) & (o[i] <= h[i]) & (c[i] <= h[i]);
        }
        ok
    }

    /// End of the last bar (`ts[last] + interval_ns`), or `None` when empty.
    pub fn end_ns(&self) -> Option<TimestampNs> {
        self.ts.last().map(|t| t + self.interval_ns)
    }
}

/// Bars checked once, when loaded or drawn: whether every bar's open and
/// close lie inside its [low, high]. It owns its tape and lends it out
/// read-only (`Deref`), so what the check found holds for as long as it
/// lives; the simulation loop then tests a quiet stretch's range on its
/// lows and highs alone, reading three price columns instead of four.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckedTape {
    tape: MarketTape,
    ordered: bool,
}

impl CheckedTape {
    /// Checks `tape` (one pass over its bars).
    pub fn new(tape: MarketTape) -> Self {
        let ordered = tape.ranges_hold_open_and_close();
        CheckedTape { tape, ordered }
    }

    /// Whether every bar's open and close lie inside its [low, high].
    pub fn ordered(&self) -> bool {
        self.ordered
    }

    /// The tape, to change it (then check it again).
    pub fn into_inner(self) -> MarketTape {
        self.tape
    }
}

impl From<MarketTape> for CheckedTape {
    fn from(tape: MarketTape) -> Self {
        CheckedTape::new(tape)
    }
}

impl std::ops::Deref for CheckedTape {
    type Target = MarketTape;

    fn deref(&self) -> &MarketTape {
        &self.tape
    }
}

/// Funding rate events: at `ts[i]` a position pays `rate[i]` × its notional
/// at mark (longs pay when the rate is positive, shorts receive).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FundingSeries {
    /// Funding times, ns UTC, strictly increasing.
    pub ts: Vec<TimestampNs>,
    /// Rate per funding interval as a fraction (0.0001 = 0.01 %).
    pub rate: Vec<f64>,
}

impl FundingSeries {
    /// Number of funding events.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when there are no funding events.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// The events in `[start, end)`; `None` means unbounded.
    pub fn window(&self, start: Option<TimestampNs>, end: Option<TimestampNs>) -> FundingSeries {
        let lo = start.map_or(0, |s| self.ts.partition_point(|&t| t < s));
        let hi = end.map_or(self.ts.len(), |e| self.ts.partition_point(|&t| t < e));
        let hi = hi.max(lo);
        FundingSeries {
            ts: self.ts[lo..hi].to_vec(),
            rate: self.rate[lo..hi].to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tape() -> MarketTape {
        let mut t = MarketTape {
            symbol: "X".into(),
            interval_ns: 10,
            ..Default::default()
        };
        for i in 0..5 {
            let p = 100.0 + i as f64;
            t.push(i * 10, p, p + 1.0, p - 1.0, p, 1.0);
        }
        t
    }

    #[test]
    fn ranges_hold_open_and_close_only_when_every_bar_does() {
        let mut t = tape();
        assert!(t.ranges_hold_open_and_close());
        let lo = t.low[1];
        t.open[1] = lo * 0.99;
        assert!(!t.ranges_hold_open_and_close(), "an open below the low");
        t.open[1] = lo;
        assert!(t.ranges_hold_open_and_close(), "an open at the low");
        t.close[2] = t.high[2] * 1.01;
        assert!(!t.ranges_hold_open_and_close(), "a close above the high");
        t.close[2] = f64::NAN;
        assert!(!t.ranges_hold_open_and_close(), "a NaN");
        let mut r = tape();
        r.open.pop();
        assert!(!r.ranges_hold_open_and_close(), "ragged columns");
    }

    #[test]
    fn window_is_half_open() {
        let t = tape();
        let w = t.window(Some(10), Some(30));
        assert_eq!(w.ts, vec![10, 20]);
        assert_eq!(w.close, vec![101.0, 102.0]);
        assert_eq!(t.window(None, None).len(), 5);
        assert_eq!(t.window(Some(100), None).len(), 0);
        assert_eq!(t.window(Some(30), Some(10)).len(), 0);
        assert_eq!(t.end_ns(), Some(50));
    }

    #[test]
    fn ragged_columns_are_reported() {
        let mut t = tape();
        t.close.pop();
        let e = t.check_columns().unwrap_err();
        assert!(e.to_string().contains("close has 4"), "{e}");
    }
}
