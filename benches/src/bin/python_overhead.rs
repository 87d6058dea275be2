//! The cost of a policy written in Python (issue 17): the same policies run
//! through the same sweep executor, once as Rust and once as Python
//! (levsim's Python package, `benches/peers/python_policy.py`), in one run.
//!
//! - `rebalance`: constant leverage 5x, back to target when the leverage
//!   has drifted 10 %, checked hourly (cadence "1h": 24 decisions a day
//!   plus the opening one), over 10,000 GBM paths of one day of 1m bars;
//!   in Rust an [`ExternalPolicies`] that makes [`Hourly`] policies, in
//!   Python a class with the same arithmetic;
//! - `static`: open 5x when flat and hold (cadence "when_flat"): the
//!   built-in `static` against the same in Python, the cost of a factory
//!   call and one decision per run.
//!
//! Each side's time is the best of three sweeps. Both sides must give identical runs (final equity, liquidations,
//! trades), which the binary checks; it prints the time of each, the
//! overhead per Python decision and per run, on 1 and 2 threads.
//!
//! `cargo run --release -p levsim-benches --bin python_overhead [-- PATHS]`
//! with `LEVSIM_PYTHON` naming a Python that has levsim installed in
//! release mode (`maturin develop --release -m python/Cargo.toml`).

use std::collections::BTreeMap;
use std::time::Instant;

use levsim_core::{Side, TimestampNs};
use levsim_policy::{
    Decision, LeveragePolicy, Observation, ParamValue, PolicyKind, PortfolioPolicy,
};
use levsim_scenario::{
    execute_sweep_with, ExternalPolicies, Hooks, LoadedMarket, RunSpec, Scenario,
};

fn scenario(paths: usize, policy: &str) -> String {
    format!(
        r#"
name = "python-overhead"
seed = 42
[market]
kind = "gbm"
symbol = "BTCUSDT"
mu = 0.0
sigma = 0.8
dt = "1m"
horizon = "1d"
paths = {paths}
start_price = 60000.0
start = "2026-01-01T00:00:00Z"
[venue]
profile = "binance-usdm"
funding = false
[account]
capital = 10000.0
side = "long"
{policy}
"#
    )
}

const REBALANCE: &str =
    "[[policy]]\nkind = \"python\"\nname = \"rebalance\"\nleverage = 5\nband = 0.1\n";
const STATIC_PY: &str = "[[policy]]\nkind = \"python\"\nname = \"static\"\nleverage = 5\n";
const STATIC_RUST: &str = "[[policy]]\nkind = \"static\"\nleverage = 5\n";

/// `rebalance` in Rust: the Python class's arithmetic and the Python
/// wrapper's hourly cadence.
struct Hourly {
    leverage: f64,
    band: f64,
    last: Option<TimestampNs>,
}

impl LeveragePolicy for Hourly {
    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        const HOUR: i64 = 3_600_000_000_000;
        if self.last.is_some_and(|t| obs.ts - t < HOUR) {
            return Decision::Hold;
        }
        self.last = Some(obs.ts);
        if obs.is_flat() || (obs.leverage / self.leverage - 1.0).abs() > self.band {
            Decision::TargetLeverage(self.leverage)
        } else {
            Decision::Hold
        }
    }
    fn reset(&mut self) {
        self.last = None;
    }
}

struct RustPolicies;

impl ExternalPolicies for RustPolicies {
    fn leverage_policy(&self, spec: &RunSpec) -> Result<Box<dyn LeveragePolicy + Send>, String> {
        let PolicyKind::Python { params, .. } = &spec.kind else {
            return Err("not external".into());
        };
        let p = |k: &str| match params.iter().find(|(n, _)| n == k) {
            Some((_, ParamValue::Number(x))) => Ok(*x),
            _ => Err(format!("{k} missing")),
        };
        Ok(Box::new(Hourly {
            leverage: p("leverage")?,
            band: p("band")?,
            last: None,
        }))
    }
    fn portfolio_policy(
        &self,
        _: &RunSpec,
        _: &[String],
        _: Side,
    ) -> Result<Box<dyn PortfolioPolicy + Send>, String> {
        Err("one instrument".into())
    }
}

/// Per path (`#k`): final equity, liquidations, trades.
type Runs = BTreeMap<String, [f64; 3]>;

/// Seconds, Python decisions and runs of the Python side.
type PythonSide = (f64, u64, Runs);

/// (seconds, run id → [final equity, liquidations, trades]) of the Rust
/// side; run ids keyed by path for the built-in static (its id differs).
fn rust_side(text: &str, threads: usize) -> Result<(f64, Runs), Box<dyn std::error::Error>> {
    let sc = Scenario::parse(text, std::path::Path::new("python-overhead.toml"))?;
    let market = LoadedMarket::load(&sc)?;
    let hooks = Hooks {
        progress: &|| {},
        cancel: None,
        external: Some(&RustPolicies),
        worker: None,
    };
    // The best of three, as the Python side.
    let mut s = f64::INFINITY;
    let mut sweep = None;
    for _ in 0..3 {
        let t0 = Instant::now();
        let sw = execute_sweep_with(&sc, &market, threads, true, &hooks)?;
        s = s.min(t0.elapsed().as_secs_f64());
        sweep = Some(sw);
    }
    let sweep = sweep.ok_or("no sweep")?;
    let mut runs = BTreeMap::new();
    for r in sweep.rows.unwrap_or_default() {
        let spec = sc.plan.run(r.index).ok_or("run")?;
        let m = &r.metrics;
        runs.insert(
            format!("#{}", spec.path),
            [m.final_equity, m.liquidations as f64, m.trades as f64],
        );
    }
    Ok((s, runs))
}

fn python_side(
    text: &str,
    threads: usize,
) -> Result<Option<PythonSide>, Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("levsim-python-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("python-overhead.toml");
    std::fs::write(&file, text)?;
    let python = std::env::var("LEVSIM_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/python_policy.py");
    let o = std::process::Command::new(&python)
        .arg(script)
        .arg(&file)
        .arg(threads.to_string())
        .output()?;
    let _ = std::fs::remove_dir_all(&dir);
    if !o.status.success() {
        println!(
            "python side not run ({python}): {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return Ok(None);
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    let mut runs = BTreeMap::new();
    for (id, r) in v["runs"].as_object().ok_or("runs")? {
        let path = id.rsplit('#').next().unwrap_or("0");
        let f = |k: usize| r[k].as_f64().unwrap_or(f64::NAN);
        runs.insert(format!("#{path}"), [f(0), f(1), f(2)]);
    }
    Ok(Some((
        v["seconds"].as_f64().unwrap_or(f64::NAN),
        v["calls"].as_u64().unwrap_or(0),
        runs,
    )))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: usize = levsim_benches::first_arg(10_000)?;
    println!("task: {paths} GBM paths × 1,440 one-minute bars, one 5x long per path");
    println!(
        "| policy | threads | Rust s | Python s | Python decisions | overhead / decision | overhead / run | Rust / Python | identical runs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (label, rust_text, py_text) in [
        ("rebalance hourly", REBALANCE, REBALANCE),
        ("static (when flat)", STATIC_RUST, STATIC_PY),
    ] {
        for threads in [1, 2] {
            let (rs, rruns) = rust_side(&scenario(paths, rust_text), threads)?;
            let Some((ps, calls, pruns)) = python_side(&scenario(paths, py_text), threads)? else {
                println!("| {label} | {threads} | {rs:.3} | – | – | – | – | – | – |");
                continue;
            };
            let same = rruns == pruns && rruns.len() == paths;
            let extra = ps - rs;
            println!(
                "| {label} | {threads} | {rs:.3} | {ps:.3} | {calls} | {:.2} µs | {:.2} µs | {:.2}x | {} |",
                extra / calls.max(1) as f64 * 1e6,
                extra / paths as f64 * 1e6,
                rs / ps,
                if same { "yes" } else { "NO" }
            );
            if !same {
                let diff = rruns
                    .iter()
                    .find(|(k, v)| pruns.get(*k) != Some(v))
                    .map(|(k, v)| format!("{k}: rust {v:?} python {:?}", pruns.get(k)));
                println!("first difference: {diff:?}");
            }
        }
    }
    Ok(())
}
