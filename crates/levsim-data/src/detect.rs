use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::reader::first_line;
use crate::DataError;

/// A supported input file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Binance 12-column kline CSV (with or without header).
    BinanceKlines,
    /// FTX / Nautilus `timestamp,open,high,low,close,volume` CSV.
    Ftx,
    /// Binance USD-M funding CSV.
    BinanceFunding,
    /// Canonical levsim Parquet.
    Parquet,
    /// Bars built from trades: a Tardis trades CSV, a trades Parquet, or a
    /// Binance websocket recording (its `trade` messages).
    Trades,
}

impl Format {
    /// Every format, in the order messages list them.
    pub const ALL: [Format; 5] = [
        Format::BinanceKlines,
        Format::Ftx,
        Format::BinanceFunding,
        Format::Parquet,
        Format::Trades,
    ];

    /// The format a name (as [`Format::as_str`] writes it) names; the
    /// error lists the names.
    pub fn from_name(name: &str) -> Result<Format, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| {
                format!(
                    "unknown format {name:?}; one of: {}",
                    Self::ALL.map(|f| f.as_str()).join(", ")
                )
            })
    }

    /// The name used in scenario files (`format = "binance-klines"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::BinanceKlines => "binance-klines",
            Format::Ftx => "ftx",
            Format::BinanceFunding => "binance-funding",
            Format::Parquet => "parquet",
            Format::Trades => "trades",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Detects the format of a file from its extension (Parquet) or its first
/// line (CSV header, or a header-less Binance kline row of 12 numbers).
pub fn detect_format(path: &Path) -> Result<Format, DataError> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".parquet") {
        return Ok(Format::Parquet);
    }
    crate::reader::check_text(path)?;
    let line = first_line(path)?;
    let lower = line.to_ascii_lowercase();
    let fields: Vec<&str> = lower.split(',').map(str::trim).collect();
    let format = match fields.first().copied() {
        Some("open_time") => Some(Format::BinanceKlines),
        Some("timestamp") if fields.len() == 6 && fields[1] == "open" => Some(Format::Ftx),
        Some("calc_time") => Some(Format::BinanceFunding),
        Some(first)
            if fields.len() == 12
                && !first.is_empty()
                && first.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(Format::BinanceKlines)
        }
        _ => None,
    };
    format.ok_or_else(|| DataError::Format {
        file: path.display().to_string(),
        message: format!(
            "cannot detect the format from the first line {:?}; expected a Binance kline CSV \
             (open_time,open,…), an FTX CSV (timestamp,open,high,low,close,volume), a Binance \
             funding CSV (calc_time,…) or a .parquet file; set `format` explicitly",
            truncate(&line, 80)
        ),
    })
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
