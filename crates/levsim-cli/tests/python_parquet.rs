//! The Parquet results as a Python user reads them: `scripts/read_results.py`
//! (pyarrow, in the virtualenv `scripts/setup-python.sh` makes) reads the
//! report of a shipped Monte Carlo scenario; the columns are the documented
//! ones with the documented types, and the per-point probability of
//! liquidation and median return recomputed in Python from the rows equal
//! the report's aggregates.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;

mod common;
use common::{python, root};

/// Columns of `results.parquet` and their Arrow types, as the README
/// documents them (money and prices in quote currency as doubles, `_pct` in
/// percent, counts unsigned, `_ns` signed nanoseconds since the epoch, UTC).
const RESULT_COLUMNS: &[(&str, &str)] = &[
    ("run_id", "string_view"),
    ("point_id", "string_view"),
    ("path", "uint64"),
    ("venue", "string_view"),
    ("policy", "string_view"),
    ("params_json", "string_view"),
    ("seed", "uint64"),
    ("final_equity", "double"),
    ("return_pct", "double"),
    ("max_drawdown_pct", "double"),
    ("liquidations", "uint32"),
    ("first_liquidation_ts", "string_view"),
    ("first_liquidation_ts_ns", "int64"),
    ("liquidation_price", "double"),
    ("fees", "double"),
    ("funding", "double"),
    ("bad_debt", "double"),
    ("return_on_committed_pct", "double"),
    ("log_growth", "double"),
    ("avg_exposure_per_committed", "double"),
    ("bars", "uint64"),
];

const SERIES_COLUMNS: &[(&str, &str)] = &[
    ("run_id", "string_view"),
    ("ts_ns", "int64"),
    ("equity", "double"),
    ("leverage", "double"),
    ("liquidation_price", "double"),
    ("mark", "double"),
    ("margin_ratio", "double"),
];

#[test]
fn results_parquet_reads_in_pyarrow_as_documented() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_levsim"))
        .args(["run", "scenarios/gbm-stress-7d.toml", "--out"])
        .arg(&out)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(python())
        .arg(root().join("scripts/read_results.py"))
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let py: Value = serde_json::from_slice(&o.stdout).unwrap();
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();

    // Every column the file has is documented in the README; the contract
    // columns have their types.
    for (table, contract) in [("results", RESULT_COLUMNS), ("timeseries", SERIES_COLUMNS)] {
        let cols = py[table]["columns"].as_object().unwrap();
        for name in cols.keys() {
            assert!(
                readme.contains(&format!("`{name}`")),
                "{table}.parquet column {name} is not documented in README.md"
            );
        }
        for (name, ty) in contract {
            assert_eq!(
                cols.get(*name).and_then(Value::as_str),
                Some(*ty),
                "{table}.{name}"
            );
        }
    }

    // One row per run; the aggregates recomputed from the rows.
    let aggs = summary["aggregates"].as_array().unwrap();
    let paths = aggs[0]["runs"].as_u64().unwrap();
    assert_eq!(
        py["results"]["rows"].as_u64().unwrap(),
        paths * aggs.len() as u64
    );
    for a in aggs {
        let id = a["point_id"].as_str().unwrap();
        let p = &py["points"][id];
        assert_eq!(p["runs"], a["runs"], "{id}");
        let want: Vec<u64> = (0..paths).collect();
        assert_eq!(p["paths"], serde_json::json!(want), "{id}: paths");
        assert_eq!(
            p["p_liquidation"].as_f64(),
            a["p_liquidation"].as_f64(),
            "{id}"
        );
        let (m, w) = (
            p["return_on_committed_pct_p50"].as_f64().unwrap(),
            a["return_on_committed_pct_p50"].as_f64().unwrap(),
        );
        assert!(
            (m - w).abs() <= 1e-9 * w.abs().max(1.0),
            "{id}: median {m} vs {w}"
        );
    }
    // The time series hold the runs of path 0 and the representative runs.
    let mut runs: Vec<String> = ["runs", "representative_runs"]
        .iter()
        .flat_map(|k| summary[*k].as_array().unwrap().clone())
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect();
    runs.sort();
    runs.dedup();
    assert!(summary["representative_runs"].as_array().unwrap().len() >= aggs.len());
    assert_eq!(py["timeseries"]["run_ids"], serde_json::json!(runs));
}
