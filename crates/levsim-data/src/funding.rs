//! Binance USD-M funding CSV: `calc_time,funding_interval_hours,last_funding_rate`.

use std::path::Path;

use levsim_core::time::to_iso;
use levsim_core::FundingSeries;

use crate::klines::{csv_error, parse_f64, parse_i64};
use crate::reader::open;
use crate::DataError;

const FIELDS: [&str; 3] = ["calc_time", "funding_interval_hours", "last_funding_rate"];

/// Loads a funding file strictly: times in ms, strictly increasing; rates
/// finite with |rate| < 1 (a fraction per interval).
pub fn load_funding(path: &Path) -> Result<FundingSeries, DataError> {
    load_funding_unexplained(path).map_err(|e| crate::reader::explain(path, e))
}

fn load_funding_unexplained(path: &Path) -> Result<FundingSeries, DataError> {
    crate::reader::check_text(path)?;
    let file = path.display().to_string();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(open(path)?);
    let mut out = FundingSeries::default();
    let mut record = csv::StringRecord::new();
    let mut prev_line = 0;
    let mut first = true;
    while rdr
        .read_record(&mut record)
        .map_err(|e| csv_error(&file, &e))?
    {
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record[0].trim().is_empty() {
            continue;
        }
        if first {
            first = false;
            if record.get(0).map(|s| s.trim()) == Some("calc_time") {
                continue;
            }
            if record
                .get(0)
                .is_some_and(|s| s.trim().parse::<i64>().is_err())
            {
                return Err(DataError::Format {
                    file,
                    message: format!("not a funding CSV: expected header {}", FIELDS.join(",")),
                });
            }
        }
        if record.len() != FIELDS.len() {
            return Err(DataError::Row {
                file,
                line,
                message: format!(
                    "expected {} fields ({}), found {}",
                    FIELDS.len(),
                    FIELDS.join(","),
                    record.len()
                ),
            });
        }
        let ms = parse_i64(&file, line, FIELDS[0], &record[0])?;
        if !(100_000_000_000..=9_999_999_999_999).contains(&ms) {
            return Err(DataError::Field {
                file,
                line,
                field: FIELDS[0].into(),
                message: format!("{ms} is not a Unix time in milliseconds"),
            });
        }
        let hours = parse_f64(&file, line, FIELDS[1], &record[1])?;
        if !(hours > 0.0 && hours <= 24.0) {
            return Err(DataError::Field {
                file,
                line,
                field: FIELDS[1].into(),
                message: format!("funding interval must be in (0, 24] hours, got {hours}"),
            });
        }
        let rate = parse_f64(&file, line, FIELDS[2], &record[2])?;
        if !(rate.is_finite() && rate.abs() < 1.0) {
            return Err(DataError::Field {
                file,
                line,
                field: FIELDS[2].into(),
                message: format!(
                    "funding rate must be a finite fraction with |rate| < 1, got {rate}"
                ),
            });
        }
        let ts = crate::klines::scale_ts(&file, line, FIELDS[0], ms, 1_000_000)?;
        if let Some(&last) = out.ts.last() {
            if ts <= last {
                let what = if ts == last {
                    "duplicate"
                } else {
                    "out-of-order"
                };
                return Err(DataError::Field {
                    file,
                    line,
                    field: FIELDS[0].into(),
                    message: format!(
                        "{what} funding time {} (previous row, line {prev_line}, is {})",
                        to_iso(ts),
                        to_iso(last)
                    ),
                });
            }
        }
        out.ts.push(ts);
        out.rate.push(rate);
        prev_line = line;
    }
    if out.is_empty() {
        return Err(DataError::Format {
            file,
            message: "no funding rows".into(),
        });
    }
    Ok(out)
}
