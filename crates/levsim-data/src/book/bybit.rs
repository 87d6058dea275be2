//! Bybit order-book JSONL: `{topic, type: snapshot|delta, ts (ms), data: {s, b, a, u, seq}}`.

use std::path::Path;

use levsim_core::{BookMessageKind, BookSide, BookTape, TradeTape};
use serde_json::Value;

use super::{check_level, check_time, parse_json, text_lines, Loaded};
use crate::DataError;

fn field<'a>(file: &str, line: u64, v: &'a Value, path: &[&str]) -> Result<&'a Value, DataError> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k).ok_or_else(|| DataError::Field {
            file: file.into(),
            line,
            field: path.join("."),
            message: "missing".into(),
        })?;
    }
    Ok(cur)
}

/// Parses `[["price", "size"], …]` into levels of `side`.
pub(crate) fn levels(
    file: &str,
    line: u64,
    v: &Value,
    side: BookSide,
    name: &str,
) -> Result<Vec<(BookSide, f64, f64)>, DataError> {
    let bad = |m: String| DataError::Field {
        file: file.into(),
        line,
        field: name.into(),
        message: m,
    };
    let arr = v
        .as_array()
        .ok_or_else(|| bad("expected an array of [price, size]".into()))?;
    let mut out = Vec::with_capacity(arr.len());
    for lv in arr {
        let pair = lv
            .as_array()
            .filter(|a| a.len() >= 2)
            .ok_or_else(|| bad(format!("bad level {lv}")))?;
        let num = |x: &Value| -> Result<f64, DataError> {
            x.as_str()
                .map(str::parse::<f64>)
                .or_else(|| x.as_f64().map(Ok))
                .and_then(Result::ok)
                .ok_or_else(|| bad(format!("cannot parse {x} as a number")))
        };
        let (p, q) = (num(&pair[0])?, num(&pair[1])?);
        check_level(file, line, p, q)?;
        out.push((side, p, q));
    }
    Ok(out)
}

pub(crate) fn load(path: &Path) -> Result<Loaded, DataError> {
    let file = path.display().to_string();
    let mut tape = BookTape::new("");
    let mut lines = Vec::new();
    let mut prev_u: Option<u64> = None;
    let mut prev_ts = None;
    for item in text_lines(path)? {
        let (line, l) = item?;
        let v: Value = parse_json(&file, line, &l)?;
        let kind = match field(&file, line, &v, &["type"])?.as_str() {
            Some("snapshot") => BookMessageKind::Snapshot,
            Some("delta") => BookMessageKind::Delta,
            other => {
                return Err(DataError::Field {
                    file,
                    line,
                    field: "type".into(),
                    message: format!("expected snapshot or delta, got {other:?}"),
                })
            }
        };
        let ts_ms = field(&file, line, &v, &["ts"])?
            .as_i64()
            .ok_or_else(|| DataError::Field {
                file: file.clone(),
                line,
                field: "ts".into(),
                message: "not an integer (ms)".into(),
            })?;
        let ts = crate::klines::scale_ts(&file, line, "ts", ts_ms, 1_000_000)?;
        check_time(&file, line, prev_ts, ts)?;
        prev_ts = Some(ts);
        let data = field(&file, line, &v, &["data"])?;
        if tape.symbol.is_empty() {
            tape.symbol = data
                .get("s")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
        }
        let u = field(&file, line, data, &["u"])?.as_u64().unwrap_or(0);
        if kind == BookMessageKind::Delta {
            match prev_u {
                None => {
                    return Err(DataError::Row {
                        file,
                        line,
                        message: "a delta before any snapshot".into(),
                    })
                }
                Some(p) if u != p + 1 => tape.sequence_gaps += 1,
                _ => {}
            }
        }
        prev_u = Some(u);
        let mut lv = levels(
            &file,
            line,
            field(&file, line, data, &["b"])?,
            BookSide::Bid,
            "data.b",
        )?;
        lv.extend(levels(
            &file,
            line,
            field(&file, line, data, &["a"])?,
            BookSide::Ask,
            "data.a",
        )?);
        tape.push(ts, kind, (u, u), lv);
        lines.push(line);
    }
    Ok(Loaded {
        tape,
        trades: TradeTape::default(),
        lines,
    })
}
