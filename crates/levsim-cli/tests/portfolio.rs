//! Portfolio scenarios end to end: the CLI writes `runs[].instruments.<SYMBOL>`
//! beside the account's `runs[].metrics`, a `legs.parquet` that pyarrow
//! reads with the documented columns and whose causes add up to the
//! report's, and refuses bad portfolio input by field with exit 2.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;

mod common;
use common::{levsim_in, python, root, stderr};

#[test]
fn a_generated_portfolio_reports_its_legs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_levsim"))
        .args([
            "run",
            "scenarios/correlated-crash-portfolio-7d.toml",
            "--out",
        ])
        .arg(&out)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let runs = summary["runs"].as_array().unwrap();
    assert!(!runs.is_empty());
    for r in runs {
        // The account's metrics under today's keys, each leg's beside them.
        for k in ["final_equity", "liquidations", "return_pct", "fees"] {
            assert!(r["metrics"][k].is_number(), "metrics.{k}");
        }
        for sym in ["BTCUSDT", "ETHUSDT"] {
            let leg = &r["instruments"][sym];
            for k in ["liquidations", "liquidations_caused", "pnl", "avg_leverage"] {
                assert!(leg[k].is_number(), "instruments.{sym}.{k}: {leg}");
            }
        }
        assert!(r["conservation_error"].as_f64().unwrap().abs() < 1e-6);
    }
    let o = Command::new(python())
        .arg(root().join("scripts/read_results.py"))
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let py: Value = serde_json::from_slice(&o.stdout).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let legs = &py["legs"];
    for name in legs["columns"].as_object().unwrap().keys() {
        assert!(
            readme.contains(&format!("`{name}`")),
            "legs.parquet column {name} is not documented in README.md"
        );
    }
    assert_eq!(legs["symbols"], serde_json::json!(["BTCUSDT", "ETHUSDT"]));
    assert_eq!(
        legs["rows"].as_u64().unwrap(),
        2 * py["results"]["rows"].as_u64().unwrap()
    );
    // Who caused the liquidations, over every path: the Parquet rows add
    // up to the report's aggregates.
    let mut any = false;
    for a in summary["aggregates"].as_array().unwrap() {
        let id = a["point_id"].as_str().unwrap();
        for sym in ["BTCUSDT", "ETHUSDT"] {
            let rows = legs["caused_by_point"][id][sym].as_u64().unwrap_or(0);
            let agg = a["liquidations_caused_by"][sym].as_u64().unwrap_or(0);
            assert_eq!(rows, agg, "{id} {sym}");
            any |= agg > 0;
        }
    }
    assert!(any, "the stress liquidates some accounts");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("## Portfolio: margin modes side by side"));
    assert!(out.join("charts/price-ETHUSDT.svg").exists());
}

#[test]
fn bad_portfolio_input_exits_2_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("scenarios/black-thursday-2020-portfolio.toml"))
        .unwrap()
        .replace(
            "weights = { BTCUSDT = 0.5, ETHUSDT = 0.5 }\nmargin_mode",
            "weights = { BTCUSDT = 0.5, SOLUSDT = 0.5 }\nmargin_mode",
        )
        .replace("data/", &format!("{}/data/", root().display()));
    let p = tmp.path().join("bad.toml");
    std::fs::write(&p, text).unwrap();
    let o = levsim_in(tmp.path(), &["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("policy[1].weights.SOLUSDT"),
        "{}",
        stderr(&o)
    );
    assert!(!tmp.path().join("reports").exists(), "nothing written");
}
