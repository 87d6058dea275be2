//! `levsim data inspect`: everything a user wants to know about a file
//! before running on it, including the problems a strict load would refuse.

use std::path::Path;

use levsim_core::time::to_iso;
use serde::Serialize;

use crate::book::{detect_book_format, load_book, load_trades, BookFormat};
use crate::klines::load_bars;
use crate::reader::first_line;
use crate::{detect_format, load_funding, read_parquet_tape, DataError, DataReport, Format};

fn is_trades_parquet(path: &Path) -> bool {
    read_parquet_tape(path).is_err() && load_trades(path).is_ok()
}

fn inspect_book(path: &Path, format: BookFormat) -> Result<Inspection, DataError> {
    let (tape, trades, report) = load_book(path, Some(format))?;
    let mut book = levsim_core::Book::for_tape(&tape);
    let repair = report.crossed_repairs > 0
        || tape.kind.first() != Some(&levsim_core::BookMessageKind::Snapshot);
    for i in 0..tape.len() {
        if repair {
            crate::book::apply_repairing(&mut book, &tape, i);
        } else {
            book.apply(&tape, i);
        }
    }
    let (bid_levels, ask_levels) = book.levels();
    let depth = book.depth_within(0.01);
    let (bb, ba) = (book.best_bid().map(|x| x.0), book.best_ask().map(|x| x.0));
    Ok(Inspection::Book(BookSummary {
        file: path.display().to_string(),
        format,
        symbol: tape.symbol.clone(),
        first: tape.ts.first().map(|&t| to_iso(t)),
        last: tape.ts.last().map(|&t| to_iso(t)),
        messages: report.messages,
        sequence_gaps: report.sequence_gaps,
        crossed_repairs: report.crossed_repairs,
        trades: trades.len(),
        best_bid: bb,
        best_ask: ba,
        spread: bb.zip(ba).map(|(b, a)| a - b),
        bid_levels,
        ask_levels,
        bid_depth_1pct: depth.map(|d| d.0),
        ask_depth_1pct: depth.map(|d| d.1),
    }))
}

fn inspect_trades_or_recording(path: &Path) -> Result<Inspection, DataError> {
    match detect_book_format(path) {
        Ok(f) => inspect_book(path, f),
        Err(_) => inspect_trades(path),
    }
}

fn inspect_trades(path: &Path) -> Result<Inspection, DataError> {
    let t = load_trades(path)?;
    let (mut buy, mut sell) = (0.0, 0.0);
    for (q, b) in t.size.iter().zip(&t.taker_buy) {
        if *b {
            buy += q;
        } else {
            sell += q;
        }
    }
    let lo = t.price.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = t.price.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Ok(Inspection::Trades(TradeSummary {
        file: path.display().to_string(),
        trades: t.len(),
        first: t.ts.first().map(|&x| to_iso(x)),
        last: t.ts.last().map(|&x| to_iso(x)),
        taker_buy_size: buy,
        taker_sell_size: sell,
        price_range: (!t.is_empty()).then_some((lo, hi)),
    }))
}

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

/// Summary of an order-book file: counts, and the book after its last message.
#[derive(Debug, Clone, Serialize)]
pub struct BookSummary {
    /// File path.
    pub file: String,
    /// Detected format.
    pub format: BookFormat,
    /// Instrument.
    pub symbol: String,
    /// First and last message times (ISO 8601).
    pub first: Option<String>,
    /// Last message time.
    pub last: Option<String>,
    /// Messages read.
    pub messages: usize,
    /// Breaks in the venue's update ids.
    pub sequence_gaps: usize,
    /// Stale crossed levels removed (streams without a snapshot).
    pub crossed_repairs: usize,
    /// Trades in the same file.
    pub trades: usize,
    /// Best bid after the last message.
    pub best_bid: Option<f64>,
    /// Best ask after the last message.
    pub best_ask: Option<f64>,
    /// Spread (ask − bid).
    pub spread: Option<f64>,
    /// Bid levels.
    pub bid_levels: usize,
    /// Ask levels.
    pub ask_levels: usize,
    /// Bid size (base units) within 1 % of mid.
    pub bid_depth_1pct: Option<f64>,
    /// Ask size within 1 % of mid.
    pub ask_depth_1pct: Option<f64>,
}

/// Summary of a trade file.
#[derive(Debug, Clone, Serialize)]
pub struct TradeSummary {
    /// File path.
    pub file: String,
    /// Trades.
    pub trades: usize,
    /// First trade time (ISO 8601).
    pub first: Option<String>,
    /// Last trade time.
    pub last: Option<String>,
    /// Size bought by takers.
    pub taker_buy_size: f64,
    /// Size sold by takers.
    pub taker_sell_size: f64,
    /// Lowest and highest price.
    pub price_range: Option<(f64, f64)>,
}

/// The result of inspecting a file.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inspection {
    /// An order-book file.
    Book(BookSummary),
    /// A trade file.
    Trades(TradeSummary),
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

/// Reads a bar file leniently, as [`inspect`] does: row anomalies are
/// listed in the report, not fatal (unparsable fields still fail); the
/// tape holds the rows as read, without filling gaps.
pub fn read_bars_lenient(
    path: &Path,
    format: Option<Format>,
) -> Result<(levsim_core::MarketTape, crate::DataReport), DataError> {
    let format = match format {
        Some(f) => f,
        None => detect_format(path).map_err(|e| crate::reader::explain(path, e))?,
    };
    let r = match format {
        Format::BinanceFunding => Err(DataError::WrongKind {
            file: path.display().to_string(),
            detected: format,
            wanted: "price bars",
        }),
        Format::Trades => crate::load_trade_bars(path, levsim_core::time::SECOND_NS),
        _ => bar_file_lenient(path, format),
    };
    let (mut tape, report) = r.map_err(|e| crate::reader::explain(path, e))?;
    if tape.symbol.is_empty() {
        tape.symbol = crate::symbol_from_path(path).unwrap_or_default();
    }
    Ok((tape, report))
}

/// A bar file (klines, FTX or Parquet) read leniently: row anomalies in
/// the report, not errors.
fn bar_file_lenient(
    path: &Path,
    format: Format,
) -> Result<(levsim_core::MarketTape, crate::DataReport), DataError> {
    match format {
        Format::Parquet => {
            let tape = read_parquet_tape(path)?;
            let report = crate::report::validate_tape(path, &tape, false)?;
            Ok((tape, report))
        }
        _ => load_bars(path, format, false),
    }
}

/// Inspects a file: bar files are read leniently (row anomalies are listed,
/// not fatal; unparsable fields still fail), funding files strictly.
pub fn inspect(path: &Path, format: Option<Format>) -> Result<Inspection, DataError> {
    inspect_unexplained(path, format).map_err(|e| crate::reader::explain(path, e))
}

fn inspect_unexplained(path: &Path, format: Option<Format>) -> Result<Inspection, DataError> {
    let format = match format {
        Some(f) => f,
        None => match detect_format(path) {
            Ok(Format::Parquet) if is_trades_parquet(path) => return inspect_trades(path),
            Ok(f) => f,
            Err(e) => {
                if let Ok(bf) = detect_book_format(path) {
                    return inspect_book(path, bf);
                }
                if first_line(path).is_ok_and(|l| {
                    l.starts_with("exchange,symbol,timestamp,local_timestamp,id,side")
                }) {
                    return inspect_trades(path);
                }
                return Err(e);
            }
        },
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
        Format::Trades => return inspect_trades_or_recording(path),
        _ => bar_file_lenient(path, format)?,
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
