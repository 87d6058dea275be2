//! The results of every shipped scenario, frozen before the portfolio
//! redesign of the core (issue "Portfolios": "every shipped scenario gives
//! the results it gives today"). `fixtures/shipped.json` was recorded from
//! main at the end of issue 13 by this test with `LEVSIM_RECORD=1`; the
//! test compares every run again: first liquidation time and liquidation
//! count exactly, final equity and the return quantiles to 1e-9 relative,
//! P(liquidation) exactly (it is a count over paths), and each crowd pass's
//! liquidated notional to 1e-9 relative.
//!
//! A change that moves these numbers on purpose re-records the file and
//! says why in its commit. `LEVSIM_RECORD=new` records only scenarios not
//! yet in the file (a new shipped scenario), leaving the others as they
//! were recorded: the portfolio scenarios were added so, after the
//! redesign had passed against every earlier entry.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use levsim_scenario::{execute_sweep, LoadedMarket, Scenario};
use serde_json::{json, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What one scenario produced, as stored.
fn results(path: &std::path::Path) -> Value {
    let sc = Scenario::load(path).unwrap();
    let market = LoadedMarket::load(&sc).unwrap();
    let sweep = execute_sweep(&sc, &market, 0, &|| {}, false).unwrap();
    let runs: Vec<Value> = sweep
        .kept
        .iter()
        .map(|r| {
            let m = &r.output.metrics;
            json!({
                "run_id": r.spec.run_id,
                "final_equity": m.final_equity,
                "liquidations": m.liquidations,
                "first_liquidation_ts": m.first_liquidation_ts,
            })
        })
        .collect();
    let aggregates: Vec<Value> = sweep
        .aggregates
        .iter()
        .map(|a| {
            json!({
                "point_id": a.point_id,
                "runs": a.runs,
                "p_liquidation": a.p_liquidation,
                "return_pct_p05": a.return_pct_p05,
                "return_pct_p50": a.return_pct_p50,
            })
        })
        .collect();
    let markets: Vec<Value> = sweep
        .markets
        .iter()
        .filter(|m| m.path == 0)
        .map(|m| json!({"venue_index": m.venue_index, "liquidated_notional": m.metrics.liquidated_notional}))
        .collect();
    json!({"runs": runs, "aggregates": aggregates, "markets": markets})
}

fn close(a: &Value, b: &Value, what: &str) {
    let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
    let tol = 1e-9 * x.abs().max(y.abs()).max(1.0);
    assert!((x - y).abs() <= tol, "{what}: {x} now, {y} recorded");
}

#[test]
fn every_shipped_scenario_gives_its_recorded_results() {
    let fixture = root().join("crates/levsim-scenario/tests/fixtures/shipped.json");
    let mut names: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("toml"))
        .collect();
    names.sort();
    let now: serde_json::Map<String, Value> = names
        .iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            (name, results(p))
        })
        .collect();
    let recorded: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    match std::env::var("LEVSIM_RECORD").as_deref() {
        Ok("new") => {
            let mut all = recorded.clone();
            for (k, v) in &now {
                all.entry(k.clone()).or_insert_with(|| v.clone());
            }
            std::fs::write(&fixture, serde_json::to_string_pretty(&all).unwrap() + "\n").unwrap();
            return;
        }
        Ok(_) => {
            std::fs::write(&fixture, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
            return;
        }
        Err(_) => {}
    }
    for (name, want) in &recorded {
        let got = now
            .get(name)
            .unwrap_or_else(|| panic!("{name}: recorded but no longer shipped"));
        for (kind, key) in [("runs", "run_id"), ("aggregates", "point_id")] {
            let (g, w) = (
                got[kind].as_array().unwrap(),
                want[kind].as_array().unwrap(),
            );
            assert_eq!(g.len(), w.len(), "{name}: number of {kind}");
            for (g, w) in g.iter().zip(w) {
                let at = format!("{name}: {}", w[key]);
                assert_eq!(g[key], w[key], "{at}");
                for (k, v) in w.as_object().unwrap() {
                    match k.as_str() {
                        "final_equity" | "return_pct_p05" | "return_pct_p50" => {
                            close(&g[k], v, &format!("{at} {k}"));
                        }
                        _ => assert_eq!(&g[k], v, "{at} {k}"),
                    }
                }
            }
        }
        let (g, w) = (
            got["markets"].as_array().unwrap(),
            want["markets"].as_array().unwrap(),
        );
        assert_eq!(g.len(), w.len(), "{name}: crowd passes");
        for (g, w) in g.iter().zip(w) {
            assert_eq!(g["venue_index"], w["venue_index"]);
            close(
                &g["liquidated_notional"],
                &w["liquidated_notional"],
                &format!("{name} crowd"),
            );
        }
    }
    for name in now.keys() {
        assert!(
            recorded.contains_key(name),
            "{name}: shipped but not recorded (LEVSIM_RECORD=1)"
        );
    }
}
