//! `levsim data inspect`: everything a user wants to know about a file
//! before running on it, including the problems a strict load would refuse.

use std::path::Path;

use levsim_core::time::to_iso;
use serde::Serialize;

use crate::klines::load_bars;
use crate::{detect_format, load_funding, read_parquet_tape, DataError, DataReport, Format};

/// Price range of a bar file.
#[derive(Debug, Clone, Serialize)]
pub struct PriceSummary {
    /// Lowest low and the open time of its bar (ISO 8601).
    pub min_low: f64,
    /// Time of the lowest low.
    pub min_low_at: String,
    /// Highest high.
    pub max_high: f64,
    /// Time of the highest high.
    pub max_high_at: String,
    /// First open.
    pub first_open: f64,
    /// Last close.
    pub last_close: f64,
}

/// Summary of a funding file.
#[derive(Debug, Clone, Serialize)]
pub struct FundingSummary {
    /// File path.
    pub file: String,
    /// Number of funding events.
    pub rows: usize,
    /// First funding time (ISO 8601).
    pub first: String,
    /// Last funding time (ISO 8601).
    pub last: String,
    /// Smallest rate.
    pub min_rate: f64,
    /// Largest rate.
    pub max_rate: f64,
    /// Mean rate.
    pub mean_rate: f64,
}

/// The result of inspecting a file.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inspection {
    /// A bar file.
    Bars {
        /// Symbol guessed from the file name.
        symbol: String,
        /// Validation report (gaps, anomalies).
        report: DataReport,
        /// Price range.
        prices: Option<PriceSummary>,
    },
    /// A funding file.
    Funding(FundingSummary),
}

/// Inspects a file: bar files are read leniently (row anomalies are listed,
/// not fatal; unparsable fields still fail), funding files strictly.
pub fn inspect(path: &Path, format: Option<Format>) -> Result<Inspection, DataError> {
    let format = match format {
        Some(f) => f,
        None => detect_format(path)?,
    };
    let (tape, report) = match format {
        Format::BinanceFunding => {
            let f = load_funding(path)?;
            let n = f.len();
            let sum: f64 = f.rate.iter().sum();
            return Ok(Inspection::Funding(FundingSummary {
                file: path.display().to_string(),
                rows: n,
                first: to_iso(f.ts[0]),
                last: to_iso(f.ts[n - 1]),
                min_rate: f.rate.iter().copied().fold(f64::INFINITY, f64::min),
                max_rate: f.rate.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                mean_rate: sum / n as f64,
            }));
        }
        Format::Parquet => {
            let tape = read_parquet_tape(path)?;
            let report = crate::report::validate_tape(path, &tape, false)?;
            (tape, report)
        }
        _ => load_bars(path, format, false)?,
    };
    let prices = (!tape.is_empty()).then(|| {
        let (mut lo, mut hi) = (0usize, 0usize);
        for i in 0..tape.len() {
            if tape.low[i] < tape.low[lo] {
                lo = i;
            }
            if tape.high[i] > tape.high[hi] {
                hi = i;
            }
        }
        PriceSummary {
            min_low: tape.low[lo],
            min_low_at: to_iso(tape.ts[lo]),
            max_high: tape.high[hi],
            max_high_at: to_iso(tape.ts[hi]),
            first_open: tape.open[0],
            last_close: tape.close[tape.len() - 1],
        }
    });
    Ok(Inspection::Bars {
        symbol: crate::symbol_from_path(path).unwrap_or_default(),
        report,
        prices,
    })
}
