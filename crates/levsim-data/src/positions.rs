//! A book of positions: one row per account and instrument, replayed as a
//! crowd. CSV (plain or gzip) with the header
//! `account,symbol,side,size,entry_price,margin_mode,collateral`, or
//! Parquet with those columns: `side` is `long` or `short`, `size` in base
//! units (> 0), `entry_price` > 0, `margin_mode` `isolated` or `cross`,
//! `collateral` in quote (> 0: the position's isolated margin, or the
//! cross account's collateral on each of its rows' instrument share).

use std::path::Path;

use crate::reader::CsvRows;
use crate::DataError;

/// The columns, in the documented order.
pub const POSITION_COLUMNS: [&str; 7] = [
    "account",
    "symbol",
    "side",
    "size",
    "entry_price",
    "margin_mode",
    "collateral",
];

/// One position of one account.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionRow {
    /// 1-based line of the file (CSV) or row (Parquet).
    pub line: u64,
    /// Account id.
    pub account: String,
    /// Instrument symbol.
    pub symbol: String,
    /// +1 long, −1 short.
    pub side: i8,
    /// Size, base units.
    pub size: f64,
    /// Entry price.
    pub entry_price: f64,
    /// `true` for cross margin.
    pub cross: bool,
    /// Collateral, quote.
    pub collateral: f64,
}

/// Reads a positions file (CSV, plain or gzip, or Parquet by its `.parquet`
/// extension); every problem names the file, the line (or row) and the
/// field. An account listed twice for one instrument is refused.
pub fn load_positions(path: &Path) -> Result<Vec<PositionRow>, DataError> {
    let file = path.display().to_string();
    let is_parquet = path.extension().and_then(|e| e.to_str()) == Some("parquet");
    let records: Vec<(u64, Vec<String>)> = if is_parquet {
        crate::parquet::read_string_columns(path, &POSITION_COLUMNS)?
            .into_iter()
            .enumerate()
            .map(|(i, r)| (i as u64 + 1, r))
            .collect()
    } else {
        let header = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(crate::reader::open(path)?)
            .headers()
            .map_err(|e| crate::klines::csv_error(&file, &e))?
            .clone();
        let cols: Vec<usize> = POSITION_COLUMNS
            .iter()
            .map(|name| {
                header
                    .iter()
                    .position(|h| h.trim() == *name)
                    .ok_or_else(|| DataError::Format {
                        file: file.clone(),
                        message: format!(
                            "no `{name}` column: a positions file has the header {}",
                            POSITION_COLUMNS.join(",")
                        ),
                    })
            })
            .collect::<Result<_, _>>()?;
        let mut rows = CsvRows::open(path, |n| n >= 7, "7 fields (a positions file)")?;
        let mut out = Vec::new();
        while let Some((line, rec)) = rows.next_row()? {
            out.push((
                line,
                cols.iter()
                    .map(|&c| rec.get(c).unwrap_or("").trim().to_string())
                    .collect(),
            ));
        }
        out
    };
    let mut out: Vec<PositionRow> = Vec::with_capacity(records.len());
    let mut seen = std::collections::HashMap::new();
    for (line, r) in records {
        let field = |name: &str, message: String| DataError::Field {
            file: file.clone(),
            line,
            field: name.to_string(),
            message,
        };
        let positive = |i: usize| -> Result<f64, DataError> {
            let s = &r[i];
            match s.parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
                Ok(x) => Err(field(
                    POSITION_COLUMNS[i],
                    format!("{x} must be a finite number > 0"),
                )),
                Err(_) => Err(field(POSITION_COLUMNS[i], format!("{s:?} is not a number"))),
            }
        };
        if r[0].is_empty() {
            return Err(field("account", "empty".into()));
        }
        if r[1].is_empty() {
            return Err(field("symbol", "empty".into()));
        }
        let side = match r[2].to_ascii_lowercase().as_str() {
            "long" => 1,
            "short" => -1,
            other => return Err(field("side", format!("{other:?}: expected long or short"))),
        };
        let cross = match r[5].to_ascii_lowercase().as_str() {
            "isolated" => false,
            "cross" => true,
            other => {
                return Err(field(
                    "margin_mode",
                    format!("{other:?}: expected isolated or cross"),
                ))
            }
        };
        let row = PositionRow {
            line,
            account: r[0].clone(),
            symbol: r[1].clone(),
            side,
            size: positive(3)?,
            entry_price: positive(4)?,
            cross,
            collateral: positive(6)?,
        };
        if let Some(first) = seen.insert((row.account.clone(), row.symbol.clone()), line) {
            return Err(DataError::Row {
                file,
                line,
                message: format!(
                    "account {} holds {} on line {first} already: one row per account and instrument",
                    row.account, row.symbol
                ),
            });
        }
        out.push(row);
    }
    if out.is_empty() {
        return Err(DataError::Format {
            file,
            message: "no positions".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        f
    }

    const HEAD: &str = "account,symbol,side,size,entry_price,margin_mode,collateral\n";

    #[test]
    fn reads_rows_and_names_each_bad_field() {
        let f = write(&format!(
            "{HEAD}a1,BTCUSDT,long,0.5,7900,isolated,400\na1,ETHUSDT,short,2,200,cross,100\n"
        ));
        let rows = load_positions(f.path()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].side, rows[1].side), (1, -1));
        assert!(rows[1].cross && !rows[0].cross);
        assert_eq!(rows[1].line, 3);
        for (bad, want) in [
            (
                "a1,BTCUSDT,up,0.5,7900,isolated,400",
                "line 2, field `side`",
            ),
            (
                "a1,BTCUSDT,long,-1,7900,isolated,400",
                "line 2, field `size`",
            ),
            (
                "a1,BTCUSDT,long,0.5,x,isolated,400",
                "line 2, field `entry_price`",
            ),
            (
                "a1,BTCUSDT,long,0.5,7900,portfolio,400",
                "line 2, field `margin_mode`",
            ),
            (
                "a1,BTCUSDT,long,0.5,7900,cross,0",
                "line 2, field `collateral`",
            ),
            (",BTCUSDT,long,0.5,7900,cross,10", "line 2, field `account`"),
        ] {
            let f = write(&format!("{HEAD}{bad}\n"));
            let e = load_positions(f.path()).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
        let f = write(&format!(
            "{HEAD}a1,BTCUSDT,long,0.5,7900,isolated,400\na1,BTCUSDT,long,1,7900,isolated,400\n"
        ));
        let e = load_positions(f.path()).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("line 2 already"), "{e}");
        let f = write("account,symbol,side,size,price,margin_mode,collateral\n");
        let e = load_positions(f.path()).unwrap_err().to_string();
        assert!(e.contains("no `entry_price` column"), "{e}");
    }
}
