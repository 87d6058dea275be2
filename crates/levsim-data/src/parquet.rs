//! Canonical levsim Parquet for bars: `ts_ns` (i64, bar open, ns UTC),
//! `open`, `high`, `low`, `close`, `volume` (f64).

use std::fs::File;
use std::path::Path;

use levsim_core::MarketTape;
use polars::prelude::*;

use crate::DataError;

fn perr(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Parquet {
        file: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Writes a tape as canonical Parquet (through a temporary file and a rename,
/// so a failed write never leaves a half-written file under the final name).
pub fn write_parquet_tape(path: &Path, tape: &MarketTape) -> Result<(), DataError> {
    let mut df = DataFrame::new(
        tape.len(),
        vec![
            Column::new("ts_ns".into(), &tape.ts),
            Column::new("open".into(), &tape.open),
            Column::new("high".into(), &tape.high),
            Column::new("low".into(), &tape.low),
            Column::new("close".into(), &tape.close),
            Column::new("volume".into(), &tape.volume),
        ],
    )
    .map_err(|e| perr(path, e))?;
    let tmp = path.with_extension("parquet.tmp");
    let file = File::create(&tmp).map_err(|source| DataError::Io {
        file: tmp.display().to_string(),
        source,
    })?;
    ParquetWriter::new(file)
        .finish(&mut df)
        .map_err(|e| perr(path, e))?;
    std::fs::rename(&tmp, path).map_err(|source| DataError::Io {
        file: path.display().to_string(),
        source,
    })
}

/// Reads a Parquet file into a frame; errors name the file.
pub(crate) fn read_frame(path: &Path) -> Result<DataFrame, DataError> {
    let file = File::open(path).map_err(|source| DataError::Io {
        file: path.display().to_string(),
        source,
    })?;
    // The Parquet decoder unwraps on some damaged metadata (found by the
    // fuzzer: polars-parquet 0.55 `column_chunk_metadata.rs`); a damaged
    // file is bad input, never a crash.
    match quiet_catch(|| ParquetReader::new(file).finish()) {
        Ok(r) => r.map_err(|e| perr(path, e)),
        Err(_) => Err(perr(
            path,
            "the file is damaged (the Parquet decoder could not read its metadata)",
        )),
    }
}

thread_local! {
    /// Set while [`quiet_catch`] runs on this thread.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err` without printing it: the panic hook
/// (installed once, around whatever hook was there) stays silent on this
/// thread while `f` runs, and prints as before everywhere else.
fn quiet_catch<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    r
}

/// Column `name` of `df` cast to `dt`; a missing column is an error that
/// lists the `expected` columns.
pub(crate) fn column(
    df: &DataFrame,
    path: &Path,
    name: &str,
    dt: &DataType,
    expected: &str,
) -> Result<Column, DataError> {
    df.column(name)
        .map_err(|_| DataError::Format {
            file: path.display().to_string(),
            message: format!("missing column `{name}` ({expected})"),
        })?
        .cast(dt)
        .map_err(|e| perr(path, format!("column `{name}`: {e}")))
}

/// The values of column `name`; the first null is an error naming its row.
pub(crate) fn non_null<T>(
    path: &Path,
    name: &str,
    values: impl IntoIterator<Item = Option<T>>,
) -> Result<Vec<T>, DataError> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            v.ok_or_else(|| DataError::Field {
                file: path.display().to_string(),
                line: i as u64 + 1,
                field: name.into(),
                message: "null value".into(),
            })
        })
        .collect()
}

const CANONICAL: &str = "canonical columns: ts_ns, open, high, low, close, volume";

/// Reads a canonical Parquet tape. Missing columns or wrong types are errors
/// naming the column.
pub fn read_parquet_tape(path: &Path) -> Result<MarketTape, DataError> {
    let df = read_frame(path)?;
    let col_f64 = |name: &str| -> Result<Vec<f64>, DataError> {
        let c = column(&df, path, name, &DataType::Float64, CANONICAL)?;
        non_null(path, name, c.f64().map_err(|e| perr(path, e))?.iter())
    };
    let ts_col = df.column("ts_ns").map_err(|_| DataError::Format {
        file: path.display().to_string(),
        message: "missing column `ts_ns` (i64 nanoseconds UTC)".into(),
    })?;
    let ts_ca = ts_col.i64().map_err(|_| DataError::Format {
        file: path.display().to_string(),
        message: format!("column `ts_ns` must be Int64, found {}", ts_col.dtype()),
    })?;
    let ts = non_null(path, "ts_ns", ts_ca.iter())?;
    let mut tape = MarketTape {
        symbol: String::new(),
        interval_ns: crate::report::detect_interval(&ts).unwrap_or(0),
        ts,
        open: col_f64("open")?,
        high: col_f64("high")?,
        low: col_f64("low")?,
        close: col_f64("close")?,
        volume: col_f64("volume")?,
    };
    tape.check_columns().map_err(|e| perr(path, e))?;
    if tape.symbol.is_empty() {
        tape.symbol = crate::symbol_from_path(path).unwrap_or_default();
    }
    Ok(tape)
}

/// The columns `names` of a Parquet file as text, row by row (numbers
/// printed as they are stored); a missing column or a null names its row.
pub(crate) fn read_string_columns(
    path: &Path,
    names: &[&str],
) -> Result<Vec<Vec<String>>, DataError> {
    let df = read_frame(path)?;
    let mut cols = Vec::with_capacity(names.len());
    for name in names {
        let c = df.column(name).map_err(|_| DataError::Format {
            file: path.display().to_string(),
            message: format!("missing column `{name}`"),
        })?;
        let s = c.cast(&DataType::String).map_err(|e| perr(path, e))?;
        let ca = s.str().map_err(|e| perr(path, e))?;
        let mut out = Vec::with_capacity(ca.len());
        for (i, v) in ca.iter().enumerate() {
            match v {
                Some(v) => out.push(v.trim().to_string()),
                None => {
                    return Err(DataError::Field {
                        file: path.display().to_string(),
                        line: i as u64 + 1,
                        field: (*name).to_string(),
                        message: "null".into(),
                    })
                }
            }
        }
        cols.push(out);
    }
    let rows = df.height();
    Ok((0..rows)
        .map(|i| cols.iter().map(|c| c[i].clone()).collect())
        .collect())
}
