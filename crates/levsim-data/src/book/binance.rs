//! Binance websocket recordings as hftbacktest stores them:
//! `<local receive time ns> <combined-stream JSON>`, with `depthUpdate`
//! diffs, `trade` and `bookTicker` messages. Times are the local receive
//! times (monotonic in the recording; exchange times of different streams
//! interleave out of order). There is no snapshot: see the module docs.

use std::path::Path;

use levsim_core::{BookMessageKind, BookSide, BookTape, TradeTape};
use serde_json::Value;

use super::bybit::levels;
use super::{check_level, check_time, parse_json, text_lines, Loaded};
use crate::DataError;

pub(crate) fn load(path: &Path) -> Result<Loaded, DataError> {
    let file = path.display().to_string();
    let mut tape = BookTape::new("");
    let mut trades = TradeTape::default();
    let mut lines = Vec::new();
    let mut prev_u: Option<u64> = None;
    let mut prev_ts = None;
    for item in text_lines(path)? {
        let (line, l) = item?;
        let (ts_txt, json) = l.split_once(' ').ok_or_else(|| DataError::Row {
            file: file.clone(),
            line,
            message: "expected `<local ns> <JSON>`".into(),
        })?;
        let ts: i64 = ts_txt.parse().map_err(|_| DataError::Field {
            file: file.clone(),
            line,
            field: "local_ts".into(),
            message: format!("cannot parse {ts_txt:?} as nanoseconds"),
        })?;
        check_time(&file, line, prev_ts, ts)?;
        prev_ts = Some(ts);
        let v: Value = parse_json(&file, line, json)?;
        let data = v.get("data").unwrap_or(&v);
        let bad = |field: &str, m: &str| DataError::Field {
            file: file.clone(),
            line,
            field: field.into(),
            message: m.into(),
        };
        match data.get("e").and_then(Value::as_str) {
            Some("depthUpdate") => {
                if tape.symbol.is_empty() {
                    tape.symbol = data
                        .get("s")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                }
                let first = data
                    .get("U")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| bad("U", "missing first update id"))?;
                let last = data
                    .get("u")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| bad("u", "missing last update id"))?;
                if let Some(p) = prev_u {
                    // Futures streams link each diff to the previous one by
                    // `pu`; spot streams by `U = previous u + 1`.
                    let linked = match data.get("pu").and_then(Value::as_u64) {
                        Some(pu) => pu == p,
                        None => first == p + 1,
                    };
                    if !linked {
                        tape.sequence_gaps += 1;
                    }
                }
                prev_u = Some(last);
                let mut lv = levels(
                    &file,
                    line,
                    data.get("b").ok_or_else(|| bad("b", "missing"))?,
                    BookSide::Bid,
                    "b",
                )?;
                lv.extend(levels(
                    &file,
                    line,
                    data.get("a").ok_or_else(|| bad("a", "missing"))?,
                    BookSide::Ask,
                    "a",
                )?);
                tape.push(ts, BookMessageKind::Delta, (first, last), lv);
                lines.push(line);
            }
            Some("trade") => {
                let num = |k: &str| -> Result<f64, DataError> {
                    data.get(k)
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| bad(k, "missing or not a number"))
                };
                let (p, q) = (num("p")?, num("q")?);
                check_level(&file, line, p, q)?;
                trades.ts.push(ts);
                trades.price.push(p);
                trades.size.push(q);
                // `m`: the buyer was the maker, so the taker sold.
                trades
                    .taker_buy
                    .push(!data.get("m").and_then(Value::as_bool).unwrap_or(false));
            }
            // bookTicker repeats the top of book the diffs already carry.
            Some("bookTicker") | None => {}
            Some(_) => {}
        }
    }
    trades.symbol = tape.symbol.clone();
    Ok(Loaded {
        tape,
        trades,
        lines,
    })
}
