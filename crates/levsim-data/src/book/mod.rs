//! Order-book and trade loaders into [`BookTape`] and [`TradeTape`].
//!
//! | format | source | snapshot | sequence check |
//! |---|---|---|---|
//! | `bybit-jsonl` | Bybit public `orderbook.N` dump: a `snapshot` then `delta` lines | yes | `u` must grow by 1 |
//! | `binance-ws` | hftbacktest recordings: `<local ns> <combined-stream JSON>` with `depthUpdate`, `trade`, `bookTicker` | **no** | `pu` = previous `u` |
//! | `nautilus-depth` | Binance depth snapshot / update CSV (`update_type` snap/set) | snap rows | `pu` = previous `last_update_id` |
//! | `tardis-l2` | Tardis `incremental_book_L2` CSV (`is_snapshot`) | yes | none in the format |
//! | `tardis-snapshot` | Tardis `book_snapshot_25` CSV (each row a full top-25 book) | every row | none |
//! | `binance-book-depth` | Binance `bookDepth` bands (`timestamp,percentage,depth,notional`): one level per band at its average price | every sample | none |
//!
//! **Streams without a snapshot** (`binance-ws`): a level is known only once
//! an update touches it; levels never touched are absent (the replayed book
//! is a lower bound of the true depth near the touch). A level set on one
//! side removes any stale level of the other side that it crosses (the
//! newer touch wins), and the report counts those repairs. Streams with
//! snapshots must never cross: a crossed book there is an error naming the
//! line.

mod binance;
mod bybit;
mod csv_books;
mod depth_bands;
mod trades;

use std::path::Path;

use levsim_core::{Book, BookTape, TradeTape};
use serde::Serialize;

pub use trades::{bars_from_trades, load_trades};

use crate::reader::first_line;
use crate::DataError;

/// A book file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BookFormat {
    /// Bybit JSONL dump.
    BybitJsonl,
    /// Binance websocket recording (hftbacktest).
    BinanceWs,
    /// Binance depth snapshot/update CSV (Nautilus).
    NautilusDepth,
    /// Tardis incremental_book_L2 CSV.
    TardisL2,
    /// Tardis book_snapshot_25 CSV.
    TardisSnapshot,
    /// Binance bookDepth percentage bands.
    BinanceBookDepth,
}

impl BookFormat {
    /// The format's name, as `--json` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            BookFormat::BybitJsonl => "bybit-jsonl",
            BookFormat::BinanceWs => "binance-ws",
            BookFormat::NautilusDepth => "nautilus-depth",
            BookFormat::TardisL2 => "tardis-l2",
            BookFormat::TardisSnapshot => "tardis-snapshot",
            BookFormat::BinanceBookDepth => "binance-book-depth",
        }
    }

    /// What the format is, for people.
    pub fn describe(self) -> &'static str {
        match self {
            BookFormat::BybitJsonl => "Bybit order-book JSONL",
            BookFormat::BinanceWs => "Binance websocket recording (hftbacktest)",
            BookFormat::NautilusDepth => "Binance depth snapshot/update CSV (Nautilus)",
            BookFormat::TardisL2 => "Tardis incremental_book_L2 CSV",
            BookFormat::TardisSnapshot => "Tardis book_snapshot_25 CSV",
            BookFormat::BinanceBookDepth => "Binance bookDepth percentage bands",
        }
    }
}

impl std::fmt::Display for BookFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What loading a book file found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BookReport {
    /// File path.
    pub file: String,
    /// Messages (snapshots + deltas) read.
    pub messages: usize,
    /// Breaks in the venue's update ids.
    pub sequence_gaps: usize,
    /// Stale levels removed because a newer level crossed them (streams
    /// without snapshots only).
    pub crossed_repairs: usize,
    /// Trades found in the same file (Binance websocket recordings).
    pub trades: usize,
}

/// Detects a book format from the file's first line.
pub fn detect_book_format(path: &Path) -> Result<BookFormat, DataError> {
    let line = first_line(path)?;
    let f = if line.starts_with('{') && line.contains("\"orderbook.") {
        Some(BookFormat::BybitJsonl)
    } else if line
        .split_once(' ')
        .is_some_and(|(a, b)| a.bytes().all(|c| c.is_ascii_digit()) && b.starts_with('{'))
    {
        Some(BookFormat::BinanceWs)
    } else if line.starts_with("symbol,timestamp,first_update_id") {
        Some(BookFormat::NautilusDepth)
    } else if line.starts_with("exchange,symbol,timestamp,local_timestamp,is_snapshot") {
        Some(BookFormat::TardisL2)
    } else if line.starts_with("exchange,symbol,timestamp,local_timestamp,asks[0].price") {
        Some(BookFormat::TardisSnapshot)
    } else if line.starts_with("timestamp,percentage,depth,notional") {
        Some(BookFormat::BinanceBookDepth)
    } else {
        None
    };
    f.ok_or_else(|| DataError::Format {
        file: path.display().to_string(),
        message: "not a recognised order-book file (Bybit JSONL, Binance websocket recording, \
                  Binance depth CSV, Tardis incremental_book_L2 or book_snapshot_25)"
            .into(),
    })
}

/// Loads a book file (format detected when `None`), validating as it reads:
/// times must not go backwards, sizes must be finite and ≥ 0, prices > 0,
/// and books with snapshots must never cross. Binance recordings also yield
/// their trades.
pub fn load_book(
    path: &Path,
    format: Option<BookFormat>,
) -> Result<(BookTape, TradeTape, BookReport), DataError> {
    let format = match format {
        Some(f) => f,
        None => detect_book_format(path)?,
    };
    let Loaded {
        tape,
        trades,
        lines,
    } = match format {
        BookFormat::BybitJsonl => bybit::load(path)?,
        BookFormat::BinanceWs => binance::load(path)?,
        BookFormat::NautilusDepth => csv_books::load_nautilus(path)?,
        BookFormat::TardisL2 => csv_books::load_tardis_l2(path)?,
        BookFormat::TardisSnapshot => csv_books::load_tardis_snapshot(path)?,
        BookFormat::BinanceBookDepth => depth_bands::load(path)?,
    };
    // A book rebuilt from a snapshot and contiguous updates must never
    // cross; one without a snapshot, or with a gap after it, is repaired.
    let has_snapshot = tape.kind.first() == Some(&levsim_core::BookMessageKind::Snapshot);
    let strict = has_snapshot && tape.sequence_gaps == 0;
    let (_, crossed_repairs) = replay(path, &tape, &lines, !strict)?;
    let report = BookReport {
        file: path.display().to_string(),
        messages: tape.len(),
        sequence_gaps: tape.sequence_gaps,
        crossed_repairs,
        trades: trades.len(),
    };
    Ok((tape, trades, report))
}

/// What a format loader returns: the tape, trades found alongside, and the
/// source line of every message (for error messages).
pub(crate) struct Loaded {
    pub tape: BookTape,
    pub trades: TradeTape,
    pub lines: Vec<u64>,
}

/// Replays a whole tape and returns the final book; `repair_crossed`
/// removes stale crossed levels (streams without snapshots), otherwise a
/// crossed book is an error naming the message (`lines[i]`).
pub fn replay(
    path: &Path,
    tape: &BookTape,
    lines: &[u64],
    repair_crossed: bool,
) -> Result<(Book, usize), DataError> {
    let mut book = Book::for_tape(tape);
    let mut repairs = 0;
    for i in 0..tape.len() {
        if repair_crossed {
            repairs += apply_repairing(&mut book, tape, i);
        } else {
            book.apply(tape, i);
            if book.is_crossed() {
                let (b, a) = (book.best_bid().map(|x| x.0), book.best_ask().map(|x| x.0));
                return Err(DataError::Row {
                    file: path.display().to_string(),
                    line: lines.get(i).copied().unwrap_or(i as u64 + 1),
                    message: format!(
                        "crossed book after this message: best bid {b:?} ≥ best ask {a:?}"
                    ),
                });
            }
        }
    }
    Ok((book, repairs))
}

/// Applies message `i`, removing levels of the other side that a newly
/// set level crosses; returns how many were removed.
pub fn apply_repairing(book: &mut Book, tape: &BookTape, i: usize) -> usize {
    use levsim_core::BookSide;
    book.apply(tape, i);
    let mut removed = 0;
    for (side, price, size) in tape.levels(i) {
        if size <= 0.0 {
            continue;
        }
        match side {
            BookSide::Bid => {
                while let Some((a, _)) = book.best_ask() {
                    if a > price {
                        break;
                    }
                    book.set(BookSide::Ask, a, 0.0);
                    removed += 1;
                }
            }
            BookSide::Ask => {
                while let Some((b, _)) = book.best_bid() {
                    if b < price {
                        break;
                    }
                    book.set(BookSide::Bid, b, 0.0);
                    removed += 1;
                }
            }
        }
    }
    removed
}

/// Checks one level as read: positive finite price, finite non-negative size.
pub(crate) fn check_level(file: &str, line: u64, price: f64, size: f64) -> Result<(), DataError> {
    if !(price.is_finite() && price > 0.0) {
        return Err(DataError::Field {
            file: file.into(),
            line,
            field: "price".into(),
            message: format!("price must be positive and finite, got {price}"),
        });
    }
    if !(size.is_finite() && size >= 0.0) {
        return Err(DataError::Field {
            file: file.into(),
            line,
            field: "size".into(),
            message: format!("size must be finite and ≥ 0, got {size}"),
        });
    }
    Ok(())
}

/// Checks that time does not go backwards.
pub(crate) fn check_time(
    file: &str,
    line: u64,
    prev: Option<i64>,
    ts: i64,
) -> Result<(), DataError> {
    if let Some(p) = prev {
        if ts < p {
            return Err(DataError::Field {
                file: file.into(),
                line,
                field: "timestamp".into(),
                message: format!(
                    "out of order: {} comes after {}",
                    levsim_core::time::to_iso(ts),
                    levsim_core::time::to_iso(p)
                ),
            });
        }
    }
    Ok(())
}

/// The non-empty lines of a (possibly gzip) text file with their 1-based
/// line numbers; read errors name the file.
pub(crate) fn text_lines(
    path: &Path,
) -> Result<impl Iterator<Item = Result<(u64, String), DataError>>, DataError> {
    use std::io::BufRead;
    let file = path.display().to_string();
    let reader = std::io::BufReader::new(crate::reader::open(path)?);
    Ok(reader
        .lines()
        .enumerate()
        .map(move |(i, l)| {
            l.map(|l| (i as u64 + 1, l))
                .map_err(|source| DataError::Io {
                    file: file.clone(),
                    source,
                })
        })
        .filter(|r| !matches!(r, Ok((_, l)) if l.trim().is_empty())))
}

/// Parses one JSON line, naming the file and line when it is not JSON.
pub(crate) fn parse_json(
    file: &str,
    line: u64,
    text: &str,
) -> Result<serde_json::Value, DataError> {
    serde_json::from_str(text).map_err(|e| DataError::Row {
        file: file.into(),
        line,
        message: format!("not JSON: {e}"),
    })
}
