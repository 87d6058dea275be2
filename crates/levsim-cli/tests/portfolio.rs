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

/// An option book's report: the margin models side by side per run, the
/// price-volatility stress tables whose legs add up to the book's loss,
/// and a chart of the models over time per policy.
#[test]
fn an_option_report_puts_the_margin_models_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_levsim"))
        .args(["run", "scenarios/may-2021-options.toml", "--out"])
        .arg(&out)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Options: margin models side by side"));
    let section = md
        .split("## Options: margin models side by side")
        .nth(1)
        .unwrap();
    let num = |c: &str| -> f64 {
        c.trim()
            .replace(',', "")
            .replace('−', "-")
            .trim_end_matches(" %")
            .parse()
            .unwrap_or_else(|_| panic!("{c:?}"))
    };
    // The short strangle at 1x under standard margin: Deribit's per-option
    // rates ask more than the grid's worst loss.
    let row = section
        .lines()
        .find(|l| l.starts_with("| static[leverage=1,weights=BTC-25JUN21-65000-C:-1+BTC-25JUN21-45000-P:-1,margin_mode=cross]"))
        .unwrap();
    let cells: Vec<&str> = row.split('|').collect();
    let peak = |c: &str| num(c.split('/').next().unwrap());
    let (standard, greek, full) = (peak(cells[2]), peak(cells[3]), peak(cells[4]));
    assert!(standard > 2.0 * full, "{row}");
    // Greek against full revaluation: within 10 % at the peak.
    assert!(
        (greek / full - 1.0).abs() < 0.1 && num(cells[6]).abs() < 10.0,
        "{row}"
    );
    // Stress tables: the legs add up to the book (to rounding), worst first.
    let mut tables = 0;
    for t in section.split("Price-volatility stress:").skip(1) {
        let rows: Vec<Vec<f64>> = t
            .lines()
            .filter(|l| l.starts_with("| ") && l.contains(" points |"))
            .map(|l| {
                l.split('|')
                    .skip(3)
                    .filter(|c| !c.trim().is_empty())
                    .map(num)
                    .collect()
            })
            .collect();
        assert_eq!(rows.len(), 6);
        for w in rows.windows(2) {
            assert!(w[0][0] >= w[1][0]);
        }
        for r in &rows {
            let legs: f64 = r[1..].iter().sum();
            assert!((legs - r[0]).abs() <= r.len() as f64, "{r:?}");
        }
        tables += 1;
    }
    assert_eq!(tables, 3, "one per policy kind");
    for i in 0..3 {
        assert!(out.join(format!("charts/models-{i}.svg")).exists());
    }
}
