//! Result tables as frames and as Parquet bytes (what levsim's Python
//! package hands to polars), and a frame from rows of JSON objects.

use polars::prelude::*;

/// `df` as the bytes of a Parquet file: what the report's writer would
/// put in the file, without the file.
pub fn to_parquet_bytes(df: &mut DataFrame) -> PolarsResult<Vec<u8>> {
    let mut buf = std::io::Cursor::new(Vec::new());
    ParquetWriter::new(&mut buf).finish(df)?;
    Ok(buf.into_inner())
}

/// A bar tape as a frame: `ts_ns` (bar open, ns UTC), `time` (ISO 8601),
/// `open`, `high`, `low`, `close`, `volume`.
pub fn bars_frame(tape: &levsim_core::MarketTape) -> PolarsResult<DataFrame> {
    DataFrame::new(
        tape.len(),
        vec![
            Column::new("ts_ns".into(), tape.ts.clone()),
            Column::new(
                "time".into(),
                tape.ts
                    .iter()
                    .map(|t| levsim_core::time::to_iso(*t))
                    .collect::<Vec<String>>(),
            ),
            Column::new("open".into(), tape.open.clone()),
            Column::new("high".into(), tape.high.clone()),
            Column::new("low".into(), tape.low.clone()),
            Column::new("close".into(), tape.close.clone()),
            Column::new("volume".into(), tape.volume.clone()),
        ],
    )
}

/// A frame from rows of JSON objects: the `first` keys in that order,
/// then the others sorted. A column of whole numbers is Int64, of other
/// numbers Float64, of booleans Boolean, otherwise String; `null` is a
/// missing value. A pair of numbers (`[lo, hi]`, an interval) becomes two
/// columns `KEY_lo` and `KEY_hi`; `params` (an object) becomes
/// `params_json` as in `results.parquet`; other objects and arrays are
/// their JSON text.
pub fn json_frame(rows: &[serde_json::Value], first: &[&str]) -> PolarsResult<DataFrame> {
    use serde_json::Value;
    // Flatten each row to (column, scalar).
    let flat: Vec<Vec<(String, Value)>> = rows
        .iter()
        .map(|r| {
            let mut out = Vec::new();
            if let Value::Object(o) = r {
                for (k, v) in o {
                    match v {
                        Value::Array(a) if a.len() == 2 && a.iter().all(Value::is_number) => {
                            out.push((format!("{k}_lo"), a[0].clone()));
                            out.push((format!("{k}_hi"), a[1].clone()));
                        }
                        Value::Object(_) if k == "params" => {
                            out.push(("params_json".into(), Value::String(v.to_string())));
                        }
                        Value::Object(_) | Value::Array(_) => {
                            out.push((k.clone(), Value::String(v.to_string())));
                        }
                        other => out.push((k.clone(), other.clone())),
                    }
                }
            }
            out
        })
        .collect();
    let mut names: Vec<String> = Vec::new();
    for row in &flat {
        for (k, _) in row {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    let rank = |n: &str| {
        let base = if n == "params_json" { "params" } else { n };
        first.iter().position(|f| *f == base).unwrap_or(first.len())
    };
    names.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    let n = rows.len();
    let mut cols = Vec::with_capacity(names.len());
    for name in &names {
        let vals: Vec<Option<&Value>> = flat
            .iter()
            .map(|r| r.iter().find(|(k, _)| k == name).map(|(_, v)| v))
            .map(|v| v.filter(|v| !v.is_null()))
            .collect();
        let present = || vals.iter().flatten();
        let col = if present().all(|v| v.is_i64() || v.is_u64()) && present().next().is_some() {
            Column::new(
                name.as_str().into(),
                vals.iter()
                    .map(|v| v.and_then(Value::as_i64))
                    .collect::<Vec<Option<i64>>>(),
            )
        } else if present().all(|v| v.is_number()) && present().next().is_some() {
            Column::new(
                name.as_str().into(),
                vals.iter()
                    .map(|v| v.and_then(Value::as_f64))
                    .collect::<Vec<Option<f64>>>(),
            )
        } else if present().all(|v| v.is_boolean()) && present().next().is_some() {
            Column::new(
                name.as_str().into(),
                vals.iter()
                    .map(|v| v.and_then(Value::as_bool))
                    .collect::<Vec<Option<bool>>>(),
            )
        } else {
            Column::new(
                name.as_str().into(),
                vals.iter()
                    .map(|v| {
                        v.map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                    })
                    .collect::<Vec<Option<String>>>(),
            )
        };
        cols.push(col);
    }
    DataFrame::new(n, cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_typed_columns() {
        let rows = vec![
            serde_json::json!({"b": 1, "a": 0.5, "ci": [0.1, 0.2], "params": {"x": 1}, "s": "x", "n": null}),
            serde_json::json!({"b": 2, "a": 1, "ci": [0.3, 0.4], "params": {"x": 2}, "s": "y", "n": 3.5}),
        ];
        let df = json_frame(&rows, &["s", "params"]).unwrap();
        let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["s", "params_json", "a", "b", "ci_hi", "ci_lo", "n"]);
        assert_eq!(df.column("b").unwrap().dtype(), &DataType::Int64);
        assert_eq!(df.column("a").unwrap().dtype(), &DataType::Float64);
        assert_eq!(df.column("n").unwrap().null_count(), 1);
        let lo = df.column("ci_lo").unwrap().f64().unwrap().get(1);
        assert_eq!(lo, Some(0.3));
        let p = df.column("params_json").unwrap().str().unwrap().get(0);
        assert_eq!(p, Some(r#"{"x":1}"#));
        // The bytes read back as the same frame.
        let mut d = df.clone();
        let bytes = to_parquet_bytes(&mut d).unwrap();
        let back = ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap();
        assert!(back.equals_missing(&df));
    }
}
