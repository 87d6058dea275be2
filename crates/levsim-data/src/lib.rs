//! Market-data loaders for levsim: read, validate and normalize real exchange
//! files into the plain columnar [`MarketTape`] and
//! [`FundingSeries`](levsim_core::FundingSeries) of
//! `levsim-core`.
//!
//! Supported formats ([`Format`]):
//!
//! | format | layout | time column |
//! |---|---|---|
//! | `binance-klines` | 12-column Binance kline CSV, with or without header, plain or `.gz` | `open_time`, Unix **ms** or **µs** (newer spot files); the unit is detected from the magnitude and must be the same on every row |
//! | `ftx` | `timestamp,open,high,low,close,volume` (FTX / Nautilus 1m export) | naive UTC datetime string of the bar **close**: the first row of the FTX BTC-PERP file is `2021-12-31 23:01`, one minute after the export's start, and each bar's open equals the previous close, so the loader shifts times back by one interval to bar-open time |
//! | `binance-funding` | `calc_time,funding_interval_hours,last_funding_rate` | `calc_time` in ms |
//! | `parquet` | canonical levsim Parquet: `ts_ns, open, high, low, close, volume` | `ts_ns`, i64 ns UTC bar open |
//!
//! Every loader validates as it reads. Hard errors ([`DataError`]) name the
//! file, the line and the field: unparsable or missing fields, NaN or
//! non-positive prices, duplicate or out-of-order timestamps, a timestamp unit
//! that changes within a file, `high < max(open, close)` and
//! `low > min(open, close)`. Gaps (missing bars) are not errors by themselves:
//! they are listed in the [`DataReport`], and [`apply_gap_policy`] fails,
//! skips or forward-fills them as the scenario's `on_gap` asks.
//!
//! CSV is parsed with the `csv` crate (row-exact error positions); Parquet is
//! read and written with polars.

pub mod book;
mod chain;
mod detect;
mod dvol;
mod error;
mod funding;
mod gaps;
mod inspect;
mod klines;
#[cfg(feature = "parquet")]
mod parquet;
#[cfg(not(feature = "parquet"))]
#[path = "no_parquet.rs"]
mod parquet;
mod positions;
mod reader;
mod report;

pub use chain::{load_chain, ChainRow, OptionChain};
pub use detect::{detect_format, Format};
pub use dvol::{load_vol_index, VolIndex};
pub use error::DataError;
pub use funding::load_funding;
pub use gaps::{apply_gap_policy, GapPolicy};
pub use inspect::{
    inspect, read_bars_lenient, BookSummary, FundingSummary, Inspection, PriceSummary, TradeSummary,
};
pub use klines::load_klines;
pub use parquet::{read_parquet_tape, write_parquet_tape};
pub use positions::{load_positions, PositionRow, POSITION_COLUMNS};
pub use report::{Anomaly, DataReport, Gap};

use std::path::Path;

use levsim_core::MarketTape;

/// Loads a bar file in `format` (or the detected one when `None`), returning
/// the tape and its validation report.
pub fn load_tape(
    path: &Path,
    format: Option<Format>,
) -> Result<(MarketTape, DataReport), DataError> {
    load_tape_unexplained(path, format).map_err(|e| reader::explain(path, e))
}

fn load_tape_unexplained(
    path: &Path,
    format: Option<Format>,
) -> Result<(MarketTape, DataReport), DataError> {
    let format = match format {
        Some(f) => f,
        None => detect_format(path)?,
    };
    let (mut tape, report) = match format {
        Format::BinanceKlines | Format::Ftx => load_klines(path, format)?,
        Format::Parquet => {
            let tape = read_parquet_tape(path)?;
            let report = report::validate_tape(path, &tape, true)?;
            (tape, report)
        }
        Format::BinanceFunding => {
            return Err(DataError::WrongKind {
                file: path.display().to_string(),
                detected: format,
                wanted: "price bars",
            })
        }
        Format::Trades => return load_trade_bars(path, levsim_core::time::SECOND_NS),
    };
    if tape.symbol.is_empty() {
        tape.symbol = symbol_from_path(path).unwrap_or_default();
    }
    Ok((tape, report))
}

/// Bars of `interval_ns` built from the trades of a Tardis trades CSV, a
/// trades Parquet, or a Binance websocket recording, with their report
/// (intervals without trades are gaps).
pub fn load_trade_bars(
    path: &Path,
    interval_ns: i64,
) -> Result<(MarketTape, DataReport), DataError> {
    let trades = match book::detect_book_format(path) {
        Ok(book::BookFormat::BinanceWs) => {
            book::load_book(path, Some(book::BookFormat::BinanceWs))?.1
        }
        _ => book::load_trades(path)?,
    };
    if trades.is_empty() {
        return Err(DataError::Format {
            file: path.display().to_string(),
            message: "no trades to build bars from".into(),
        });
    }
    let mut tape = book::bars_from_trades(&trades, interval_ns);
    if tape.symbol.is_empty() {
        tape.symbol = symbol_from_path(path).unwrap_or_default();
    }
    let mut report = report::validate_tape(path, &tape, true)?;
    report.format = "trades".into();
    report.time_unit = "trade time".into();
    report.interval_ns = interval_ns;
    tape.interval_ns = interval_ns;
    Ok((tape, report))
}

/// Guesses the instrument symbol from a file name such as
/// `binance_um_BTCUSDT_1m_….csv.gz` or `ftx_BTC-PERP_1m_….csv.gz`: the first
/// `_`-separated part that is all upper-case letters and digits (or dashes),
/// at least five characters long.
pub fn symbol_from_path(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    name.split(['_', '.'])
        .find(|p| {
            p.len() >= 5
                && p.chars().any(|c| c.is_ascii_uppercase())
                && p.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_from_file_names() {
        let s = |p: &str| symbol_from_path(Path::new(p));
        assert_eq!(
            s("data/binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz").as_deref(),
            Some("BTCUSDT")
        );
        assert_eq!(
            s("ftx_BTC-PERP_1m_2021-12-31_2022-02-01.csv.gz").as_deref(),
            Some("BTC-PERP")
        );
        assert_eq!(s("prices.csv"), None);
    }
}
