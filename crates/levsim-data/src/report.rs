//! Validation of bar columns: ordering, duplicates, prices, OHLC consistency,
//! interval detection and gaps.

use std::collections::BTreeMap;
use std::path::Path;

use levsim_core::time::{fmt_duration, to_iso};
use levsim_core::{MarketTape, TimestampNs};
use serde::Serialize;

use crate::DataError;

/// A run of missing bars between two consecutive rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// Open time of the last bar before the gap (ns UTC).
    pub after_ts: TimestampNs,
    /// Open time of the first bar after the gap (ns UTC).
    pub next_ts: TimestampNs,
    /// Number of missing bars.
    pub missing_bars: i64,
    /// Line (or row) of the bar after the gap.
    pub line: u64,
}

impl Gap {
    /// Human-readable description: `33h missing (33 bars) after 2018-02-08T…`.
    pub fn describe(&self, interval_ns: i64) -> String {
        format!(
            "{} missing ({} bar{}) between {} and {} (line {})",
            fmt_duration(self.missing_bars * interval_ns),
            self.missing_bars,
            if self.missing_bars == 1 { "" } else { "s" },
            to_iso(self.after_ts),
            to_iso(self.next_ts),
            self.line
        )
    }
}

/// A row-level problem: out-of-order or duplicate time, bad price, OHLC
/// inconsistency, irregular spacing, unit change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    /// 1-based line (CSV) or row (Parquet).
    pub line: u64,
    /// Field the problem is in.
    pub field: String,
    /// What is wrong, with values.
    pub message: String,
}

/// What a loader found in a file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DataReport {
    /// File path as given.
    pub file: String,
    /// Detected or requested format.
    pub format: String,
    /// Number of data rows.
    pub rows: usize,
    /// First bar open time (ns UTC).
    pub first_ts: Option<TimestampNs>,
    /// Last bar open time (ns UTC).
    pub last_ts: Option<TimestampNs>,
    /// Detected bar interval (ns).
    pub interval_ns: i64,
    /// Unit of the source timestamps (`ms`, `us`, `datetime`, `ns`).
    pub time_unit: String,
    /// Missing bars.
    pub gaps: Vec<Gap>,
    /// Row problems (empty for a file that loaded strictly).
    pub anomalies: Vec<Anomaly>,
}

impl DataReport {
    /// Total number of missing bars over all gaps.
    pub fn missing_bars(&self) -> i64 {
        self.gaps.iter().map(|g| g.missing_bars).sum()
    }

    /// The gaps that lie between bars `first` and `last` (open times): the
    /// ones a window of the file actually crosses.
    pub fn gaps_within(&self, first: TimestampNs, last: TimestampNs) -> impl Iterator<Item = &Gap> {
        self.gaps
            .iter()
            .filter(move |g| g.after_ts >= first && g.next_ts <= last)
    }
}

/// Columns being validated, with the line each row came from.
pub(crate) struct Rows<'a> {
    pub ts: &'a [TimestampNs],
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
    pub volume: &'a [f64],
    pub lines: &'a [u64],
}

impl<'a> Rows<'a> {
    /// The columns of `tape`, with `lines[i]` the source line of row `i`.
    pub fn of(tape: &'a MarketTape, lines: &'a [u64]) -> Self {
        Rows {
            ts: &tape.ts,
            open: &tape.open,
            high: &tape.high,
            low: &tape.low,
            close: &tape.close,
            volume: &tape.volume,
            lines,
        }
    }
}

/// Checks every row and returns the anomalies (unsorted, duplicate, bad
/// prices, OHLC) in file order.
pub(crate) fn row_anomalies(r: &Rows<'_>) -> Vec<Anomaly> {
    let mut out = Vec::new();
    let mut push = |line: u64, field: &str, message: String| {
        out.push(Anomaly {
            line,
            field: field.to_string(),
            message,
        })
    };
    for i in 0..r.ts.len() {
        let line = r.lines[i];
        if !(0..=MAX_TS).contains(&r.ts[i]) {
            push(
                line,
                "time",
                format!(
                    "{} ns is outside the years 1970 to 2096 levsim simulates",
                    r.ts[i]
                ),
            );
        }
        if i > 0 {
            let (prev, cur) = (r.ts[i - 1], r.ts[i]);
            if cur == prev {
                push(
                    line,
                    "time",
                    format!(
                        "duplicate timestamp {} (same as line {})",
                        to_iso(cur),
                        r.lines[i - 1]
                    ),
                );
            } else if cur < prev {
                push(
                    line,
                    "time",
                    format!(
                        "out of order: {} comes after {} (line {}); rows must be sorted by time",
                        to_iso(cur),
                        to_iso(prev),
                        r.lines[i - 1]
                    ),
                );
            }
        }
        let px = [
            ("open", r.open[i]),
            ("high", r.high[i]),
            ("low", r.low[i]),
            ("close", r.close[i]),
        ];
        let mut prices_ok = true;
        for (name, v) in px {
            if !(v.is_finite() && v > 0.0) {
                prices_ok = false;
                push(
                    line,
                    name,
                    format!("price must be positive and finite, got {v}"),
                );
            }
        }
        let v = r.volume[i];
        if !(v.is_finite() && v >= 0.0) {
            push(
                line,
                "volume",
                format!("volume must be finite and ≥ 0, got {v}"),
            );
        }
        if prices_ok {
            let (o, h, l, c) = (r.open[i], r.high[i], r.low[i], r.close[i]);
            if h < o.max(c) {
                push(
                    line,
                    "high",
                    format!("high {h} is below max(open, close) = {}", o.max(c)),
                );
            }
            if l > o.min(c) {
                push(
                    line,
                    "low",
                    format!("low {l} is above min(open, close) = {}", o.min(c)),
                );
            }
        }
    }
    out
}

/// The latest bar time levsim accepts (2096-10-02, 4e18 ns): far enough
/// from `i64::MAX` that times plus intervals and horizons cannot overflow.
pub(crate) const MAX_TS: TimestampNs = 4_000_000_000_000_000_000;

/// The most common positive spacing of `ts` (ties: the smallest), or `None`
/// for fewer than two rows.
pub(crate) fn detect_interval(ts: &[TimestampNs]) -> Option<i64> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for w in ts.windows(2) {
        let d = w[1].saturating_sub(w[0]);
        if d > 0 {
            *counts.entry(d).or_default() += 1;
        }
    }
    let best = counts.values().copied().max()?;
    counts.into_iter().find(|&(_, c)| c == best).map(|(d, _)| d)
}

/// Gaps (spacing of more than one interval) and irregular spacing (not a
/// multiple of the interval) in sorted `ts`.
pub(crate) fn find_gaps(
    ts: &[TimestampNs],
    lines: &[u64],
    interval: i64,
) -> (Vec<Gap>, Vec<Anomaly>) {
    let mut gaps = Vec::new();
    let mut irregular = Vec::new();
    if interval <= 0 {
        return (gaps, irregular);
    }
    for i in 1..ts.len() {
        let d = ts[i].saturating_sub(ts[i - 1]);
        if d <= interval {
            if d > 0 && d < interval {
                irregular.push(Anomaly {
                    line: lines[i],
                    field: "time".into(),
                    message: format!(
                        "spacing {} is shorter than the interval {}",
                        fmt_duration(d),
                        fmt_duration(interval)
                    ),
                });
            }
            continue;
        }
        if d % interval != 0 {
            irregular.push(Anomaly {
                line: lines[i],
                field: "time".into(),
                message: format!(
                    "spacing {} is not a multiple of the interval {}",
                    fmt_duration(d),
                    fmt_duration(interval)
                ),
            });
        }
        gaps.push(Gap {
            after_ts: ts[i - 1],
            next_ts: ts[i],
            missing_bars: d / interval - 1,
            line: lines[i],
        });
    }
    (gaps, irregular)
}

/// Builds the report of already-loaded columns, failing on the first anomaly.
pub(crate) fn build_report(
    path: &Path,
    format: &str,
    time_unit: &str,
    r: &Rows<'_>,
    interval_hint: Option<i64>,
    strict: bool,
) -> Result<DataReport, DataError> {
    let mut anomalies = row_anomalies(r);
    let interval = detect_interval(r.ts).or(interval_hint).unwrap_or(0);
    let (gaps, irregular) = if anomalies.iter().any(|a| a.field == "time") {
        (Vec::new(), Vec::new())
    } else {
        find_gaps(r.ts, r.lines, interval)
    };
    anomalies.extend(irregular);
    anomalies.sort_by_key(|a| a.line);
    if strict {
        if let Some(a) = anomalies.first() {
            let more = anomalies.len() - 1;
            let suffix = if more > 0 {
                format!(" (and {more} more problem(s); `levsim data inspect` lists them all)")
            } else {
                String::new()
            };
            return Err(DataError::Field {
                file: path.display().to_string(),
                line: a.line,
                field: a.field.clone(),
                message: format!("{}{suffix}", a.message),
            });
        }
    }
    Ok(DataReport {
        file: path.display().to_string(),
        format: format.to_string(),
        rows: r.ts.len(),
        first_ts: r.ts.first().copied(),
        last_ts: r.ts.last().copied(),
        interval_ns: interval,
        time_unit: time_unit.to_string(),
        gaps,
        anomalies,
    })
}

/// Validates a tape that came from a non-CSV source (rows are numbered from
/// 1); `strict` fails on the first anomaly instead of listing them.
pub(crate) fn validate_tape(
    path: &Path,
    tape: &MarketTape,
    strict: bool,
) -> Result<DataReport, DataError> {
    let lines: Vec<u64> = (1..=tape.len() as u64).collect();
    build_report(path, "parquet", "ns", &Rows::of(tape, &lines), None, strict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_the_mode() {
        assert_eq!(detect_interval(&[0, 10, 20, 50, 60]), Some(10));
        assert_eq!(detect_interval(&[0]), None);
    }

    #[test]
    fn gaps_are_counted_in_bars() {
        let ts = [0, 10, 20, 60, 70];
        let lines = [2, 3, 4, 5, 6];
        let (gaps, irr) = find_gaps(&ts, &lines, 10);
        assert!(irr.is_empty());
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].missing_bars, 3);
        assert_eq!(gaps[0].line, 5);
        let (_, irr) = find_gaps(&[0, 10, 25], &[1, 2, 3], 10);
        assert_eq!(irr.len(), 1);
    }
}
