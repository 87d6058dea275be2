//! The Monte Carlo sweep benchmark of issue 6, side by side with a numba
//! reference in the same run: 10,000 GBM paths × 1,440 one-minute steps ×
//! 5 static policies (2x, 5x, 10x, 20x, 50x longs, flat 0.5 % maintenance,
//! no fees), on 1 and 2 threads. levsim runs the real sweep executor
//! (`levsim_scenario::execute`: each path drawn once inside the runs that
//! use it, bridge-extreme highs and lows, every policy on it, full metrics)
//! twice: on the 1,440 one-minute bars, and on the same day drawn as hourly
//! bars with exact extremes and each liquidation's minute drawn from its
//! law (`[market] coarse = "1h"`, 25 bars; the same P(liquidation), final
//! equity and liquidation minutes in law). The reference is
//! `peers/bench_numba_mc.py` (numba `prange`, one-minute steps).
//!
//! `cargo run --release -p levsim-benches --bin mc_compare [-- PATHS]`
//! (needs `python3` with numba and numpy for the peer; without them only
//! levsim's figures are printed).

use std::time::Instant;

use levsim_scenario::{aggregate, execute, LoadedMarket, Scenario};

const LEVERAGES: [f64; 5] = [2.0, 5.0, 10.0, 20.0, 50.0];

fn scenario(paths: usize, coarse: &str) -> String {
    format!(
        r#"
name = "mc-bench"
seed = 42
[market]
kind = "gbm"
symbol = "BTCUSDT"
mu = 0.0
sigma = 0.8
dt = "1m"
horizon = "1d"
{coarse}
paths = {paths}
start_price = 60000.0
[venue]
profile = "binance-usdm"
maintenance_rate = 0.005
taker_fee = 0.0
liquidation_fee = 0.0
max_leverage = 100.0
funding = false
[account]
capital = 10000.0
side = "long"
[[policy]]
kind = "static"
leverage = [2, 5, 10, 20, 50]
"#
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: usize = levsim_benches::first_arg(10_000)?;
    let text = scenario(paths, "");
    let sc = Scenario::parse(&text, std::path::Path::new("mc-bench.toml"))?;
    let market = LoadedMarket::load(&sc)?;
    let steps = market.tape.len();
    let runs = sc.plan.len();
    println!(
        "task: {paths} GBM paths × {steps} steps × {} policies = {runs} runs, {:.1} M run-steps",
        LEVERAGES.len(),
        (runs * steps) as f64 / 1e6
    );
    // Path generation alone (one thread), to split the time.
    if let Some(g) = &market.generator {
        let t0 = Instant::now();
        let mut sink = 0.0;
        for k in 0..paths {
            sink += g.path(levsim_scenario::path_seed(sc.seed, k)).close[steps - 1];
        }
        let s = t0.elapsed().as_secs_f64();
        println!(
            "levsim path generation alone, 1 thread: {s:.3} s = {:.1} M steps/s (checksum {:.3e})",
            (paths * steps) as f64 / s / 1e6,
            sink
        );
    }
    // The streaming sweep (what `levsim run --no-results` does): the same
    // runs, seven numbers kept per run; its time and the process's peak RSS.
    let t0 = Instant::now();
    let sweep = levsim_scenario::execute_sweep(&sc, &market, 2, &|| {}, false)?;
    println!(
        "levsim streaming sweep, 2 threads: {:.3} s, {} aggregates; peak RSS so far (before any full result set): {}",
        t0.elapsed().as_secs_f64(),
        sweep.aggregates.len(),
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" ")))
            .unwrap_or_else(|| "unknown".into())
    );
    let (secs, p_levsim) = timed(&sc, &market, "one-minute bars", steps)?;
    // The same day as hourly bars with exact extremes (`coarse = "1h"`).
    let coarse_sc = Scenario::parse(
        &scenario(paths, "coarse = \"1h\""),
        std::path::Path::new("mc-bench-coarse.toml"),
    )?;
    let coarse_market = LoadedMarket::load(&coarse_sc)?;
    let (coarse_secs, p_coarse) = timed(
        &coarse_sc,
        &coarse_market,
        "hourly bars (coarse = \"1h\")",
        steps,
    )?;
    println!(
        "peak RSS after holding every run's full result: {}",
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).map(|l| l
                .split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")))
            .unwrap_or_else(|| "unknown".into())
    );

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/bench_numba_mc.py");
    if let Some(v) = levsim_benches::run_peer(script, &[paths.to_string(), steps.to_string()]) {
        let p_peer: Vec<f64> = v["p_liquidation"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
            .unwrap_or_default();
        println!("numba  P(liquidation) per leverage: {p_peer:.4?}");
        for (what, secs, p) in [
            ("one-minute bars", &secs, &p_levsim),
            ("hourly bars (coarse = \"1h\")", &coarse_secs, &p_coarse),
        ] {
            println!("levsim on {what}:");
            levsim_benches::print_peer_seconds(&v, runs, secs);
            // Same task: the probabilities agree within Monte Carlo error
            // (independent random numbers, so not equal).
            for ((l, a), b) in LEVERAGES.iter().zip(p).zip(&p_peer) {
                let (se4, ok) = levsim_benches::agree(*a, *b, paths);
                println!(
                    "  {l:>4}x: levsim {a:.4} numba {b:.4} (4 se = {se4:.4}) {}",
                    if ok { "agree" } else { "DISAGREE" }
                );
            }
        }
    }
    Ok(())
}

/// Best of 3 on 1 and 2 threads (printed) and P(liquidation) per leverage.
fn timed(
    sc: &Scenario,
    market: &LoadedMarket,
    what: &str,
    steps: usize,
) -> Result<(Vec<f64>, Vec<f64>), Box<dyn std::error::Error>> {
    let runs = sc.plan.len();
    let mut secs = Vec::new();
    let mut results = Vec::new();
    for threads in [1usize, 2] {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t0 = Instant::now();
            let r = execute(sc, market, threads, &|| {})?;
            best = best.min(t0.elapsed().as_secs_f64());
            results = r;
        }
        println!(
            "levsim on {what}, {threads} thread(s): {best:.3} s (best of 3) = {:.0} runs/s = {:.1} M run-steps/s",
            runs as f64 / best,
            (runs * steps) as f64 / best / 1e6
        );
        secs.push(best);
    }
    println!("levsim scaling 1 → 2 threads: {:.2}x", secs[0] / secs[1]);
    let aggs = aggregate(&results, market.tape.ts[0]);
    let p: Vec<f64> = aggs.iter().map(|a| a.p_liquidation).collect();
    println!("levsim P(liquidation) per leverage {LEVERAGES:?}: {p:.4?}");
    Ok((secs, p))
}
