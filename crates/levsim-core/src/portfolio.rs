//! Several instruments on one bar clock: dense instrument ids, the table
//! that resolves symbols to them once, and the portfolio tape whose columns
//! are laid out instrument by instrument, so that one leg is a set of plain
//! slices exactly like a one-symbol [`MarketTape`].

use serde::{Deserialize, Serialize};

use crate::{ContractKind, Instrument, MarketTape, TimestampNs};

/// Dense index of an instrument in its [`InstrumentTable`] (resolved once
/// when a market loads; the hot loop indexes arrays with it, never a map).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstrumentId(pub u16);

impl InstrumentId {
    /// The id as an array index.
    #[inline]
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// The instruments of a portfolio, in the scenario's order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstrumentTable {
    items: Vec<Instrument>,
}

/// Most instruments one table holds (ids are `u16`).
pub const MAX_INSTRUMENTS: usize = u16::MAX as usize;

impl InstrumentTable {
    /// A table of these instruments; `Err` names a repeated symbol or a
    /// table too large for `u16` ids.
    pub fn new(items: Vec<Instrument>) -> Result<Self, String> {
        if items.len() > MAX_INSTRUMENTS {
            return Err(format!(
                "{} instruments: at most {MAX_INSTRUMENTS} in one portfolio",
                items.len()
            ));
        }
        for (i, a) in items.iter().enumerate() {
            if let Some(j) = items[..i].iter().position(|b| b.symbol == a.symbol) {
                return Err(format!(
                    "instrument {i} repeats the symbol {:?} of instrument {j}; give each instrument its own symbol",
                    a.symbol
                ));
            }
        }
        Ok(Self { items })
    }

    /// Number of instruments.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The id of `symbol`, if listed.
    pub fn id(&self, symbol: &str) -> Option<InstrumentId> {
        self.items
            .iter()
            .position(|i| i.symbol == symbol)
            .map(|k| InstrumentId(k as u16))
    }

    /// The instrument with this id.
    pub fn get(&self, id: InstrumentId) -> &Instrument {
        &self.items[id.index()]
    }

    /// Every instrument, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (InstrumentId, &Instrument)> {
        self.items
            .iter()
            .enumerate()
            .map(|(k, i)| (InstrumentId(k as u16), i))
    }

    /// The symbols, in id order.
    pub fn symbols(&self) -> Vec<String> {
        self.items.iter().map(|i| i.symbol.clone()).collect()
    }
}

/// One leg's bars: plain slices over the portfolio's clock.
#[derive(Debug, Clone, Copy)]
pub struct LegBars<'a> {
    /// Bar open times (shared by every leg).
    pub ts: &'a [TimestampNs],
    /// Open prices.
    pub open: &'a [f64],
    /// High prices.
    pub high: &'a [f64],
    /// Low prices.
    pub low: &'a [f64],
    /// Close prices.
    pub close: &'a [f64],
    /// Volumes.
    pub volume: &'a [f64],
}

/// Bars of several instruments on one clock. Each price column is one
/// buffer of `legs × len` values laid out instrument by instrument: leg `k`
/// occupies `[k·len, (k+1)·len)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PortfolioTape {
    /// The instruments, in leg order.
    pub instruments: InstrumentTable,
    /// Bar length, ns.
    pub interval_ns: i64,
    /// Bar open times, shared by every leg.
    pub ts: Vec<TimestampNs>,
    /// Opens, instrument-major.
    pub open: Vec<f64>,
    /// Highs, instrument-major.
    pub high: Vec<f64>,
    /// Lows, instrument-major.
    pub low: Vec<f64>,
    /// Closes, instrument-major.
    pub close: Vec<f64>,
    /// Volumes, instrument-major.
    pub volume: Vec<f64>,
}

/// What aligning several tapes on one clock dropped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alignment {
    /// Per input tape: bars whose time another tape lacks (dropped).
    pub dropped: Vec<usize>,
}

impl PortfolioTape {
    /// Number of bars (on the shared clock).
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when there are no bars.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Number of legs (instruments).
    pub fn legs(&self) -> usize {
        self.instruments.len()
    }

    /// The bars of one leg as plain slices.
    #[inline]
    pub fn leg(&self, id: InstrumentId) -> LegBars<'_> {
        let n = self.ts.len();
        let r = id.index() * n..(id.index() + 1) * n;
        LegBars {
            ts: &self.ts,
            open: &self.open[r.clone()],
            high: &self.high[r.clone()],
            low: &self.low[r.clone()],
            close: &self.close[r.clone()],
            volume: &self.volume[r],
        }
    }

    /// One leg as a one-symbol tape (a copy).
    pub fn leg_tape(&self, id: InstrumentId) -> MarketTape {
        let l = self.leg(id);
        MarketTape {
            symbol: self.instruments.get(id).symbol.clone(),
            interval_ns: self.interval_ns,
            ts: l.ts.to_vec(),
            open: l.open.to_vec(),
            high: l.high.to_vec(),
            low: l.low.to_vec(),
            close: l.close.to_vec(),
            volume: l.volume.to_vec(),
        }
    }

    /// A portfolio of one: the tape itself, as a linear perpetual.
    pub fn single(tape: &MarketTape) -> Self {
        let inst = Instrument::linear(tape.symbol.clone());
        Self::from_aligned(vec![inst], tape.interval_ns, tape.ts.clone(), &[tape])
    }

    fn from_aligned(
        items: Vec<Instrument>,
        interval_ns: i64,
        ts: Vec<TimestampNs>,
        tapes: &[&MarketTape],
    ) -> Self {
        let cap = ts.len() * tapes.len();
        let mut out = PortfolioTape {
            instruments: InstrumentTable { items },
            interval_ns,
            ts,
            open: Vec::with_capacity(cap),
            high: Vec::with_capacity(cap),
            low: Vec::with_capacity(cap),
            close: Vec::with_capacity(cap),
            volume: Vec::with_capacity(cap),
        };
        for t in tapes {
            out.open.extend_from_slice(&t.open);
            out.high.extend_from_slice(&t.high);
            out.low.extend_from_slice(&t.low);
            out.close.extend_from_slice(&t.close);
            out.volume.extend_from_slice(&t.volume);
        }
        out
    }

    /// Aligns one tape per instrument on one clock: the bars whose open
    /// time every tape has (the others are dropped and counted). All tapes
    /// must share one bar interval; `Err` names the first that does not,
    /// by its position.
    pub fn align(
        instruments: InstrumentTable,
        tapes: &[MarketTape],
    ) -> Result<(Self, Alignment), (usize, String)> {
        if tapes.len() != instruments.len() {
            return Err((
                0,
                format!(
                    "{} tapes for {} instruments",
                    tapes.len(),
                    instruments.len()
                ),
            ));
        }
        let Some(first) = tapes.first() else {
            return Ok((Self::default(), Alignment::default()));
        };
        for (k, t) in tapes.iter().enumerate().skip(1) {
            if t.interval_ns != first.interval_ns {
                return Err((
                    k,
                    format!(
                        "its bars are {} apart but {}'s are {}: instruments must share one bar interval",
                        crate::time::fmt_duration(t.interval_ns),
                        first.symbol,
                        crate::time::fmt_duration(first.interval_ns)
                    ),
                ));
            }
        }
        // The common clock: times present in every tape (merge walk).
        let mut ts: Vec<TimestampNs> = first.ts.clone();
        for t in &tapes[1..] {
            let mut keep = Vec::with_capacity(ts.len().min(t.ts.len()));
            let (mut a, mut b) = (0, 0);
            while a < ts.len() && b < t.ts.len() {
                match ts[a].cmp(&t.ts[b]) {
                    std::cmp::Ordering::Less => a += 1,
                    std::cmp::Ordering::Greater => b += 1,
                    std::cmp::Ordering::Equal => {
                        keep.push(ts[a]);
                        a += 1;
                        b += 1;
                    }
                }
            }
            ts = keep;
        }
        let mut dropped = Vec::with_capacity(tapes.len());
        let picked: Vec<MarketTape> = tapes
            .iter()
            .map(|t| {
                let mut out = MarketTape {
                    symbol: t.symbol.clone(),
                    interval_ns: t.interval_ns,
                    ..Default::default()
                };
                let mut j = 0;
                for &x in &ts {
                    while t.ts[j] < x {
                        j += 1;
                    }
                    out.push(x, t.open[j], t.high[j], t.low[j], t.close[j], t.volume[j]);
                }
                dropped.push(t.len() - out.len());
                out
            })
            .collect();
        let refs: Vec<&MarketTape> = picked.iter().collect();
        let tape = Self::from_aligned(instruments.items, first.interval_ns, ts, &refs);
        Ok((tape, Alignment { dropped }))
    }

    /// The bars whose open time lies in `[start, end)` (`None`: unbounded).
    pub fn window(&self, start: Option<TimestampNs>, end: Option<TimestampNs>) -> Self {
        let lo = start.map_or(0, |s| self.ts.partition_point(|&t| t < s));
        let hi = end.map_or(self.ts.len(), |e| self.ts.partition_point(|&t| t < e));
        let hi = hi.max(lo);
        let tapes: Vec<MarketTape> = (0..self.legs())
            .map(|k| self.leg_tape(InstrumentId(k as u16)).window(start, end))
            .collect();
        let refs: Vec<&MarketTape> = tapes.iter().collect();
        Self::from_aligned(
            self.instruments.items.clone(),
            self.interval_ns,
            self.ts[lo..hi].to_vec(),
            &refs,
        )
    }

    /// True when every instrument settles linearly (quote-margined).
    pub fn all_linear(&self) -> bool {
        self.instruments
            .iter()
            .all(|(_, i)| i.kind == ContractKind::Linear)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tape(sym: &str, times: &[i64], base: f64) -> MarketTape {
        let mut t = MarketTape {
            symbol: sym.into(),
            interval_ns: 10,
            ..Default::default()
        };
        for &x in times {
            let p = base + x as f64;
            t.push(x, p, p + 1.0, p - 1.0, p, 1.0);
        }
        t
    }

    fn table(syms: &[&str]) -> InstrumentTable {
        InstrumentTable::new(syms.iter().map(|s| Instrument::linear(*s)).collect()).unwrap()
    }

    #[test]
    fn legs_are_plain_slices_on_the_common_clock() {
        let a = tape("A", &[0, 10, 20, 30], 100.0);
        let b = tape("B", &[10, 20, 30, 40], 200.0);
        let (p, al) = PortfolioTape::align(table(&["A", "B"]), &[a, b]).unwrap();
        assert_eq!(p.ts, vec![10, 20, 30]);
        assert_eq!(al.dropped, vec![1, 1]);
        let b = p.leg(InstrumentId(1));
        assert_eq!(b.close, &[210.0, 220.0, 230.0]);
        assert_eq!(p.leg(InstrumentId(0)).open, &[110.0, 120.0, 130.0]);
        assert_eq!(p.leg_tape(InstrumentId(1)).symbol, "B");
        let w = p.window(Some(20), None);
        assert_eq!(w.leg(InstrumentId(1)).close, &[220.0, 230.0]);
    }

    #[test]
    fn a_portfolio_of_one_is_the_tape() {
        let a = tape("A", &[0, 10, 20], 100.0);
        let p = PortfolioTape::single(&a);
        assert_eq!(p.leg_tape(InstrumentId(0)), a);
        assert_eq!(p.instruments.id("A"), Some(InstrumentId(0)));
        assert_eq!(p.instruments.id("B"), None);
    }

    #[test]
    fn different_intervals_and_repeated_symbols_are_refused() {
        let a = tape("A", &[0, 10], 100.0);
        let mut b = tape("B", &[0, 10], 100.0);
        b.interval_ns = 20;
        let (k, e) = PortfolioTape::align(table(&["A", "B"]), &[a, b]).unwrap_err();
        assert_eq!(k, 1);
        assert!(e.contains("share one bar interval"), "{e}");
        let e = InstrumentTable::new(vec![Instrument::linear("A"), Instrument::linear("A")])
            .unwrap_err();
        assert!(e.contains("repeats the symbol"), "{e}");
    }
}
