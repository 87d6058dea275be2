//! Deribit's DVOL (30-day implied volatility index), daily OHLC in
//! annualised percent, as the public `get_volatility_index_data` endpoint
//! gives it (`date,symbol,open,high,low,close`; files often newest first).

use std::path::Path;

use levsim_core::TimestampNs;

use crate::reader::CsvRows;
use crate::DataError;

const DAY_NS: i64 = 86_400_000_000_000;

/// A daily volatility index series, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VolIndex {
    /// Index symbol, e.g. `BTC`.
    pub symbol: String,
    /// Day start, ns UTC.
    pub ts: Vec<TimestampNs>,
    /// Opening value, percent.
    pub open: Vec<f64>,
    /// Highest value, percent.
    pub high: Vec<f64>,
    /// Lowest value, percent.
    pub low: Vec<f64>,
    /// Closing value, percent.
    pub close: Vec<f64>,
}

impl VolIndex {
    /// The value known at `t`: the close of the last day that ended at or
    /// before `t` (no look-ahead); `None` before the first day ended.
    pub fn known_at(&self, t: TimestampNs) -> Option<f64> {
        let k = self.ts.partition_point(|&d| d + DAY_NS <= t);
        k.checked_sub(1).map(|i| self.close[i])
    }
}

/// Reads a DVOL file (plain or gzip), in either time order; every problem
/// names the file, the line and the field. The days must be distinct and
/// in one order, the values finite and > 0, with low ≤ open, close ≤ high.
pub fn load_vol_index(path: &Path) -> Result<VolIndex, DataError> {
    let file = path.display().to_string();
    let mut rows = CsvRows::open(
        path,
        |n| n == 6,
        "6 fields (date,symbol,open,high,low,close)",
    )?;
    let mut out: Vec<(TimestampNs, [f64; 4], u64)> = Vec::new();
    let mut symbol = String::new();
    while let Some((line, rec)) = rows.next_row()? {
        let field = |name: &str, message: String| DataError::Field {
            file: file.clone(),
            line,
            field: name.to_string(),
            message,
        };
        let date = rec.get(0).unwrap_or("").trim();
        let ts = levsim_core::time::parse_iso(&format!("{date}T00:00:00Z"))
            .map_err(|_| field("date", format!("{date:?} is not a YYYY-MM-DD date")))?;
        let sym = rec.get(1).unwrap_or("").trim();
        if symbol.is_empty() {
            symbol = sym.to_string();
        } else if sym != symbol {
            return Err(field(
                "symbol",
                format!("{sym:?} after {symbol:?}: one index per file"),
            ));
        }
        let mut v = [0.0; 4];
        for (j, name) in ["open", "high", "low", "close"].iter().enumerate() {
            let s = rec.get(2 + j).unwrap_or("").trim();
            v[j] = match s.parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => x,
                _ => {
                    return Err(field(
                        name,
                        format!("{s:?} is not a volatility > 0 (percent)"),
                    ))
                }
            };
        }
        let [o, h, l, c] = v;
        if !(l <= o.min(c) && h >= o.max(c)) {
            return Err(field(
                "high",
                format!("the day's range [{l}, {h}] does not hold its open {o} and close {c}"),
            ));
        }
        out.push((ts, v, line));
    }
    if out.is_empty() {
        return Err(DataError::Format {
            file,
            message: "no rows".into(),
        });
    }
    // Newest first (as published) or oldest first; one order throughout.
    let descending = out.len() > 1 && out[0].0 > out[1].0;
    if descending {
        out.reverse();
    }
    for w in out.windows(2) {
        if w[1].0 <= w[0].0 {
            return Err(DataError::Row {
                file,
                line: w[1].2,
                message: format!(
                    "day {} is out of order or repeated (the file runs {})",
                    levsim_core::time::to_iso(w[1].0),
                    if descending {
                        "newest first"
                    } else {
                        "oldest first"
                    }
                ),
            });
        }
    }
    let mut ix = VolIndex {
        symbol,
        ..Default::default()
    };
    for (ts, [o, h, l, c], _) in out {
        ix.ts.push(ts);
        ix.open.push(o);
        ix.high.push(h);
        ix.low.push(l);
        ix.close.push(c);
    }
    Ok(ix)
}
