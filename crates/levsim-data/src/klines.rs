//! Bar CSV loaders: Binance klines and the FTX / Nautilus 1m export.

use std::path::Path;

use levsim_core::time::parse_naive_utc;
use levsim_core::MarketTape;

use crate::reader::open;
use crate::report::{build_report, Anomaly, Rows};
use crate::{DataError, DataReport, Format};

/// Unit of the `open_time` column of a Binance kline file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeUnit {
    Millis,
    Micros,
}

impl TimeUnit {
    /// Classifies a raw integer timestamp by magnitude: milliseconds since
    /// 1970 have 12-13 digits for 1973..2286, microseconds 15-16.
    fn classify(v: i64) -> Option<TimeUnit> {
        match v {
            100_000_000_000..=9_999_999_999_999 => Some(TimeUnit::Millis),
            100_000_000_000_000..=9_999_999_999_999_999 => Some(TimeUnit::Micros),
            _ => None,
        }
    }

    fn to_ns_checked(self, v: i64) -> Option<i64> {
        match self {
            TimeUnit::Millis => v.checked_mul(1_000_000),
            TimeUnit::Micros => v.checked_mul(1_000),
        }
    }

    fn to_ns(self, v: i64) -> i64 {
        match self {
            TimeUnit::Millis => v * 1_000_000,
            TimeUnit::Micros => v * 1_000,
        }
    }

    fn name(self) -> &'static str {
        match self {
            TimeUnit::Millis => "ms",
            TimeUnit::Micros => "us",
        }
    }
}

const BINANCE_FIELDS: [&str; 12] = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
];
const FTX_FIELDS: [&str; 6] = ["timestamp", "open", "high", "low", "close", "volume"];

/// Loads a Binance kline or FTX bar CSV (plain or gzip) strictly: the first
/// problem in the file is returned as an error naming its line and field.
pub fn load_klines(path: &Path, format: Format) -> Result<(MarketTape, DataReport), DataError> {
    load_bars(path, format, true)
}

/// Loads bars, optionally collecting row anomalies into the report instead of
/// failing (used by `levsim data inspect`). Unparsable fields always fail.
pub(crate) fn load_bars(
    path: &Path,
    format: Format,
    strict: bool,
) -> Result<(MarketTape, DataReport), DataError> {
    let file = path.display().to_string();
    let names: &[&str] = match format {
        Format::BinanceKlines => &BINANCE_FIELDS,
        Format::Ftx => &FTX_FIELDS,
        other => {
            return Err(DataError::WrongKind {
                file,
                detected: other,
                wanted: "kline CSV bars",
            })
        }
    };
    crate::reader::check_text(path)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(open(path)?);
    let mut tape = MarketTape::default();
    let mut lines: Vec<u64> = Vec::new();
    let mut rows = RowParser {
        file: &file,
        format,
        names,
        unit: None,
        interval_hint: None,
    };
    let mut record = csv::StringRecord::new();
    let mut first = true;
    let mut unparsable: Vec<Anomaly> = Vec::new();
    loop {
        let more = rdr
            .read_record(&mut record)
            .map_err(|e| csv_error(&file, &e))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record[0].trim().is_empty() {
            continue;
        }
        if first {
            first = false;
            let head = record.get(0).unwrap_or("").trim().to_ascii_lowercase();
            if head == names[0] {
                check_header(&file, line, &record, names)?;
                continue;
            }
        }
        // A lenient read (`data inspect`) lists an unparsable row among the
        // anomalies and goes on, so that every problem is named at once.
        let parsed = rows.parse(line, &record);
        let (ts, [o, h, l, c, v]) = match parsed {
            Ok(row) => row,
            Err(DataError::Field {
                line,
                field,
                message,
                ..
            }) if !strict => {
                unparsable.push(Anomaly {
                    line,
                    field,
                    message,
                });
                continue;
            }
            Err(DataError::Row { line, message, .. }) if !strict => {
                unparsable.push(Anomaly {
                    line,
                    field: "row".into(),
                    message,
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        tape.push(ts, o, h, l, c, v);
        lines.push(line);
    }
    if tape.is_empty() {
        if let Some(a) = unparsable.into_iter().next() {
            return Err(DataError::Field {
                file,
                line: a.line,
                field: a.field,
                message: format!("{} (and no row of the file is readable)", a.message),
            });
        }
        return Err(DataError::Format {
            file,
            message: "no data rows".into(),
        });
    }
    let (unit, interval_hint) = (rows.unit, rows.interval_hint);
    let time_unit = match (format, unit) {
        (Format::BinanceKlines, Some(u)) => u.name(),
        _ => "datetime (bar close)",
    };
    let rows = Rows::of(&tape, &lines);
    let mut report = build_report(
        path,
        format.as_str(),
        time_unit,
        &rows,
        interval_hint,
        strict,
    )?;
    report.anomalies.extend(unparsable);
    report.anomalies.sort_by_key(|a| a.line);
    if format == Format::Ftx {
        // FTX stamps a bar with its close time; levsim uses bar-open time.
        let shift = report.interval_ns;
        tape.ts.iter_mut().for_each(|t| *t -= shift);
        report.first_ts = tape.ts.first().copied();
        report.last_ts = tape.ts.last().copied();
        for g in &mut report.gaps {
            g.after_ts -= shift;
            g.next_ts -= shift;
        }
    }
    tape.interval_ns = report.interval_ns;
    Ok((tape, report))
}

/// Parses the rows of one bar file: the time unit of a Binance file is the
/// first row's, and its interval hint the first plausible close time's.
struct RowParser<'a> {
    file: &'a str,
    format: Format,
    names: &'a [&'a str],
    unit: Option<TimeUnit>,
    interval_hint: Option<i64>,
}

impl RowParser<'_> {
    /// One row as (open time ns, open, high, low, close, volume).
    fn parse(
        &mut self,
        line: u64,
        record: &csv::StringRecord,
    ) -> Result<(i64, [f64; 5]), DataError> {
        let (file, names) = (self.file, self.names);
        if record.len() != names.len() {
            return Err(DataError::Row {
                file: file.into(),
                line,
                message: format!(
                    "expected {} fields ({}), found {} (truncated or malformed row?)",
                    names.len(),
                    names.join(","),
                    record.len()
                ),
            });
        }
        let num = |i: usize| parse_f64(file, line, names[i], &record[i]);
        let ts = match self.format {
            Format::BinanceKlines => {
                let ts = self.binance_time(line, record)?;
                // Columns levsim does not use are still checked: a broken
                // number there means a broken row (issue 13: `869146>89672`
                // in `taker_buy_volume` was accepted).
                for i in [7, 9, 10] {
                    num(i)?;
                }
                parse_count(file, line, names[8], &record[8])?;
                ts
            }
            _ => parse_naive_utc(&record[0]).ok_or_else(|| DataError::Field {
                file: file.into(),
                line,
                field: "timestamp".into(),
                message: format!(
                    "cannot parse {:?} as a UTC datetime `YYYY-MM-DD HH:MM:SS[.ffffff]`",
                    &record[0]
                ),
            })?,
        };
        Ok((ts, [num(1)?, num(2)?, num(3)?, num(4)?, num(5)?]))
    }

    /// A Binance row's open time in ns, in the file's one unit; notes the
    /// interval its close time gives.
    fn binance_time(&mut self, line: u64, record: &csv::StringRecord) -> Result<i64, DataError> {
        let file = self.file;
        let field = |message: String| DataError::Field {
            file: file.into(),
            line,
            field: "open_time".into(),
            message,
        };
        let raw = parse_i64(file, line, "open_time", &record[0])?;
        let this = TimeUnit::classify(raw).ok_or_else(|| {
            field(format!(
                "{raw} is neither Unix milliseconds (13 digits) nor microseconds (16 digits)"
            ))
        })?;
        match self.unit {
            None => self.unit = Some(this),
            Some(u) if u != this => {
                return Err(field(format!(
                    "{raw} is in {} but earlier rows are in {}; a file must use one unit",
                    this.name(),
                    u.name()
                )))
            }
            Some(_) => {}
        }
        let close_raw = parse_i64(file, line, "close_time", &record[6])?;
        // A hint only from a close time after the open whose span fits in
        // ns: a wild one must not overflow.
        let span = close_raw.saturating_sub(raw).saturating_add(1);
        if self.interval_hint.is_none() && span > 0 {
            self.interval_hint = this.to_ns_checked(span);
        }
        Ok(this.to_ns(raw))
    }
}

fn check_header(
    file: &str,
    line: u64,
    rec: &csv::StringRecord,
    names: &[&str],
) -> Result<(), DataError> {
    if rec.len() != names.len() {
        return Err(DataError::Row {
            file: file.into(),
            line,
            message: format!("header has {} columns, expected {}", rec.len(), names.len()),
        });
    }
    for (i, want) in names.iter().enumerate() {
        let got = rec[i].trim().to_ascii_lowercase();
        // Binance's own header files name a few columns differently.
        let ok = got == *want
            || matches!(
                (i, got.as_str()),
                (8, "trades") | (8, "number_of_trades") | (11, "ignored")
            );
        if !ok {
            return Err(DataError::Field {
                file: file.into(),
                line,
                field: want.to_string(),
                message: format!(
                    "header column {} is {:?}, expected {:?}",
                    i + 1,
                    &rec[i],
                    want
                ),
            });
        }
    }
    Ok(())
}

pub(crate) fn parse_f64(file: &str, line: u64, field: &str, s: &str) -> Result<f64, DataError> {
    let t = s.trim();
    let v: f64 = t.parse().map_err(|_| DataError::Field {
        file: file.into(),
        line,
        field: field.into(),
        message: if t.is_empty() {
            "empty value".into()
        } else {
            format!("cannot parse {t:?} as a number")
        },
    })?;
    if v.is_nan() {
        return Err(DataError::Field {
            file: file.into(),
            line,
            field: field.into(),
            message: "value is NaN".into(),
        });
    }
    Ok(v)
}

pub(crate) fn parse_i64(file: &str, line: u64, field: &str, s: &str) -> Result<i64, DataError> {
    let t = s.trim();
    t.parse().map_err(|_| DataError::Field {
        file: file.into(),
        line,
        field: field.into(),
        message: format!("cannot parse {t:?} as an integer timestamp"),
    })
}

/// A time `v` in units of `scale` ns (1,000 for µs, 1,000,000 for ms) as
/// ns, or an error naming the field when it does not fit in i64 ns (years
/// 1677 to 2262): a hostile timestamp must not overflow.
pub(crate) fn scale_ts(
    file: &str,
    line: u64,
    field: &str,
    v: i64,
    scale: i64,
) -> Result<i64, DataError> {
    v.checked_mul(scale).ok_or_else(|| DataError::Field {
        file: file.into(),
        line,
        field: field.into(),
        message: format!("{v} is out of range for a timestamp (years 1677 to 2262)"),
    })
}

/// An integer time field in units of `scale` ns, as ns ([`parse_i64`] then
/// [`scale_ts`]).
pub(crate) fn parse_ts(
    file: &str,
    line: u64,
    field: &str,
    s: &str,
    scale: i64,
) -> Result<i64, DataError> {
    scale_ts(file, line, field, parse_i64(file, line, field, s)?, scale)
}

/// A count column (`count`, the number of trades): a non-negative integer.
fn parse_count(file: &str, line: u64, field: &str, s: &str) -> Result<u64, DataError> {
    let t = s.trim();
    t.parse().map_err(|_| DataError::Field {
        file: file.into(),
        line,
        field: field.into(),
        message: format!("cannot parse {t:?} as a non-negative integer count"),
    })
}

pub(crate) fn csv_error(file: &str, e: &csv::Error) -> DataError {
    let line = e.position().map_or(0, |p| p.line());
    DataError::Row {
        file: file.into(),
        line,
        message: format!("unreadable CSV: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_classification() {
        assert_eq!(
            TimeUnit::classify(1_583_884_800_000),
            Some(TimeUnit::Millis)
        );
        assert_eq!(
            TimeUnit::classify(1_735_689_600_000_000),
            Some(TimeUnit::Micros)
        );
        assert_eq!(TimeUnit::classify(1_583_884_800), None);
        assert_eq!(
            TimeUnit::Micros.to_ns(1_735_689_600_000_000),
            1_735_689_600_000_000_000
        );
    }
}
