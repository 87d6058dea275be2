//! Trade tapes: Tardis trades CSV and the Binance trades Parquet.

use std::path::Path;

use levsim_core::TradeTape;
#[cfg(feature = "parquet")]
use polars::prelude::*;

use super::check_time;
use crate::klines::{parse_f64, parse_ts};
use crate::reader::CsvRows;
use crate::DataError;

/// Loads trades: a Tardis trades CSV
/// (`exchange,symbol,timestamp(µs),local_timestamp,id,side,price,amount`,
/// `side` the taker's) or a Parquet file with `timestamp` (ms), `price`,
/// `quantity`, `buyer_maker` (Binance / Nautilus). Times must not go
/// backwards; prices > 0, sizes ≥ 0.
pub fn load_trades(path: &Path) -> Result<TradeTape, DataError> {
    if path.extension().and_then(|e| e.to_str()) == Some("parquet") {
        return load_parquet(path);
    }
    let file = path.display().to_string();
    let mut rows = CsvRows::open(path, |n| n == 8, "8 fields (Tardis trades)")?;
    let mut t = TradeTape::default();
    while let Some((line, rec)) = rows.next_row()? {
        t.symbol = rec[1].to_string();
        let ts = parse_ts(&file, line, "timestamp", &rec[2], 1_000)?;
        check_time(&file, line, t.ts.last().copied(), ts)?;
        let p = parse_f64(&file, line, "price", &rec[6])?;
        let q = parse_f64(&file, line, "amount", &rec[7])?;
        super::check_level(&file, line, p, q)?;
        let buy = match &rec[5] {
            "buy" => true,
            "sell" => false,
            other => {
                return Err(DataError::Field {
                    file,
                    line,
                    field: "side".into(),
                    message: format!("expected buy or sell, got {other:?}"),
                })
            }
        };
        t.ts.push(ts);
        t.price.push(p);
        t.size.push(q);
        t.taker_buy.push(buy);
    }
    Ok(t)
}

#[cfg(not(feature = "parquet"))]
fn load_parquet(path: &Path) -> Result<TradeTape, DataError> {
    crate::parquet::read_trades(path)
}

#[cfg(feature = "parquet")]
fn load_parquet(path: &Path) -> Result<TradeTape, DataError> {
    use crate::parquet::{column, non_null, read_frame};
    const EXPECTED: &str = "timestamp, price, quantity, buyer_maker";
    let file = path.display().to_string();
    let perr = |e: PolarsError| DataError::Parquet {
        file: file.clone(),
        message: e.to_string(),
    };
    let df = read_frame(path)?;
    // A datetime column carries its unit; a plain integer column is ms.
    let ts_scale = match df.column("timestamp").map(|c| c.dtype().clone()) {
        Ok(DataType::Datetime(TimeUnit::Nanoseconds, _)) => 1,
        Ok(DataType::Datetime(TimeUnit::Microseconds, _)) => 1_000,
        _ => 1_000_000,
    };
    let ts = column(&df, path, "timestamp", &DataType::Int64, EXPECTED)?;
    let price = column(&df, path, "price", &DataType::Float64, EXPECTED)?;
    let qty = column(&df, path, "quantity", &DataType::Float64, EXPECTED)?;
    // `buyer_maker` is a boolean, or text "true"/"false" in some exports.
    let maker = match df.column("buyer_maker").map(|c| c.dtype().clone()) {
        Ok(DataType::String) => {
            let c = column(&df, path, "buyer_maker", &DataType::String, EXPECTED)?;
            let s = c.str().map_err(perr)?;
            let mut out = Vec::with_capacity(s.len());
            for (i, v) in s.iter().enumerate() {
                out.push(match v.map(str::to_ascii_lowercase).as_deref() {
                    Some("true") | Some("1") => Some(true),
                    Some("false") | Some("0") => Some(false),
                    other => {
                        return Err(DataError::Field {
                            file: file.clone(),
                            line: i as u64 + 1,
                            field: "buyer_maker".into(),
                            message: format!("expected true or false, got {other:?}"),
                        })
                    }
                });
            }
            Column::new("buyer_maker".into(), out)
        }
        _ => column(&df, path, "buyer_maker", &DataType::Boolean, EXPECTED)?,
    };
    let ts = non_null(path, "timestamp", ts.i64().map_err(perr)?.iter())?;
    let price = non_null(path, "price", price.f64().map_err(perr)?.iter())?;
    let qty = non_null(path, "quantity", qty.f64().map_err(perr)?.iter())?;
    let maker = non_null(path, "buyer_maker", maker.bool().map_err(perr)?.iter())?;
    let mut t = TradeTape {
        symbol: crate::symbol_from_path(path).unwrap_or_default(),
        ..Default::default()
    };
    for (i, (((ts, p), q), m)) in ts.into_iter().zip(price).zip(qty).zip(maker).enumerate() {
        let row = i as u64 + 1;
        let ns = crate::klines::scale_ts(&file, row, "timestamp", ts, ts_scale)?;
        check_time(&file, row, t.ts.last().copied(), ns)?;
        super::check_level(&file, row, p, q)?;
        t.ts.push(ns);
        t.price.push(p);
        t.size.push(q);
        t.taker_buy.push(!m);
    }
    Ok(t)
}

/// OHLCV bars of `interval_ns` from trades: each bar opens at a multiple of
/// the interval; intervals without trades are left out (gaps the scenario's
/// `on_gap` handles). Volume is the traded size.
pub fn bars_from_trades(t: &TradeTape, interval_ns: i64) -> levsim_core::MarketTape {
    let mut out = levsim_core::MarketTape {
        symbol: t.symbol.clone(),
        interval_ns,
        ..Default::default()
    };
    let mut i = 0;
    while i < t.len() {
        let bar = t.ts[i].div_euclid(interval_ns) * interval_ns;
        let (o, mut h, mut l, mut c, mut v) = (t.price[i], t.price[i], t.price[i], t.price[i], 0.0);
        while i < t.len() && t.ts[i] < bar + interval_ns {
            let p = t.price[i];
            h = h.max(p);
            l = l.min(p);
            c = p;
            v += t.size[i];
            i += 1;
        }
        out.push(bar, o, h, l, c, v);
    }
    out
}
