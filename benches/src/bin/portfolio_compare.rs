//! The portfolio benchmark of issue 14, side by side with a numba
//! reference in the same run: 10,000 correlated GBM paths × 1,440
//! one-minute steps × 5 instruments × 5 static weight vectors at 20x gross
//! in a cross account (flat 0.5 % maintenance per leg, no fees), on 1 and
//! 2 threads. levsim runs the real sweep executor (`execute`: each path of
//! every instrument drawn once inside the runs that use it, every weight
//! vector on it, full metrics and per-leg metrics); the reference is
//! `peers/bench_numba_portfolio.py`, written from the README's rules.
//! Then the cost per run-step for 1, 2 and 5 instruments (same paths and
//! rules), to show it linear in the number of instruments.
//!
//! `cargo run --release -p levsim-benches --bin portfolio_compare [-- PATHS]`
//! (needs `python3` with numba and numpy for the peer).

use std::time::Instant;

use levsim_scenario::{aggregate, execute, LoadedMarket, Scenario};

const SYMBOLS: [&str; 5] = ["AAA", "BBB", "CCC", "DDD", "EEE"];
const SIGMAS: [f64; 5] = [0.6, 0.8, 0.9, 1.0, 1.2];
const P0: [f64; 5] = [60000.0, 3000.0, 150.0, 7.0, 0.5];
const RHO: f64 = 0.6;
const WEIGHTS: [[f64; 5]; 5] = [
    [0.2, 0.2, 0.2, 0.2, 0.2],
    [1.0, 0.0, 0.0, 0.0, 0.0],
    [0.3, 0.3, 0.4, -0.5, -0.5],
    [0.5, -0.5, 0.0, 0.0, 0.0],
    [0.1, 0.2, -0.3, 0.4, -0.5],
];

/// The scenario of `n` instruments (the first `n` of the five).
fn scenario(paths: usize, n: usize) -> String {
    let corr: Vec<String> = (0..n)
        .map(|i| {
            let row: Vec<String> = (0..n)
                .map(|j| {
                    if i == j {
                        "1.0".into()
                    } else {
                        format!("{RHO}")
                    }
                })
                .collect();
            format!("[{}]", row.join(", "))
        })
        .collect();
    let instruments: String = (0..n)
        .map(|k| {
            format!(
                "[[market.instrument]]\nsymbol = \"{}\"\nstart_price = {}\nsigma = {}\n",
                SYMBOLS[k], P0[k], SIGMAS[k]
            )
        })
        .collect();
    let weights: Vec<String> = WEIGHTS
        .iter()
        .map(|w| {
            // Vectors that have no size on the first n instruments are
            // replaced by an equal long (the scaling rows keep 5 vectors).
            let live = w[..n].iter().any(|x| *x != 0.0);
            let parts: Vec<String> = (0..n)
                .map(|k| {
                    let x = if live { w[k] } else { 1.0 };
                    format!("{} = {x}", SYMBOLS[k])
                })
                .collect();
            format!("{{ {} }}", parts.join(", "))
        })
        .collect();
    format!(
        r#"
name = "portfolio-bench"
seed = 42
[market]
kind = "gbm"
dt = "1m"
horizon = "1d"
paths = {paths}
correlation = [{}]
{instruments}
[venue]
profile = "binance-usdm"
maintenance_rate = 0.005
taker_fee = 0.0
liquidation_fee = 0.0
max_leverage = 100.0
funding = false
[account]
capital = 10000.0
margin_mode = "cross"
[[policy]]
kind = "static"
leverage = 20
weights = [{}]
"#,
        corr.join(", "),
        weights.join(", ")
    )
}

fn load(paths: usize, n: usize) -> Result<(Scenario, LoadedMarket), Box<dyn std::error::Error>> {
    let sc = Scenario::parse(
        &scenario(paths, n),
        std::path::Path::new("portfolio-bench.toml"),
    )?;
    let market = LoadedMarket::load(&sc)?;
    Ok((sc, market))
}

fn best_of_3(
    sc: &Scenario,
    m: &LoadedMarket,
    threads: usize,
) -> Result<(f64, Vec<levsim_scenario::RunResult>), Box<dyn std::error::Error>> {
    let mut best = f64::INFINITY;
    let mut results = Vec::new();
    for _ in 0..3 {
        let t0 = Instant::now();
        results = execute(sc, m, threads, &|| {})?;
        best = best.min(t0.elapsed().as_secs_f64());
    }
    Ok((best, results))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: usize = levsim_benches::first_arg(10_000)?;
    let (sc, market) = load(paths, 5)?;
    let steps = market.tape.len();
    let runs = sc.plan.len();
    println!(
        "task: {paths} correlated GBM paths × {steps} steps × 5 instruments × 5 weight vectors = {runs} runs, {:.1} M run-steps",
        (runs * steps) as f64 / 1e6
    );
    // Path generation alone (one thread), to split the time.
    if let Some(g) = market.portfolio.as_ref().and_then(|p| p.generator.as_ref()) {
        let t0 = Instant::now();
        let mut sink = 0.0;
        for k in 0..paths {
            sink += g.path(levsim_scenario::path_seed(sc.seed, k)).close[steps - 1];
        }
        let s = t0.elapsed().as_secs_f64();
        println!(
            "levsim path generation alone, 1 thread: {s:.3} s = {:.1} M instrument-steps/s (checksum {sink:.3e})",
            (paths * steps * 5) as f64 / s / 1e6
        );
    }
    let mut secs = Vec::new();
    let mut results = Vec::new();
    for threads in [1usize, 2] {
        let (best, r) = best_of_3(&sc, &market, threads)?;
        println!(
            "levsim {threads} thread(s): {best:.3} s (best of 3) = {:.0} runs/s = {:.2} M run-steps/s",
            runs as f64 / best,
            (runs * steps) as f64 / best / 1e6
        );
        secs.push(best);
        results = r;
    }
    let aggs = aggregate(&results, market.tape.ts[0]);
    let p_levsim: Vec<f64> = aggs.iter().map(|a| a.p_liquidation).collect();
    let worst = results
        .iter()
        .filter_map(|r| r.portfolio.as_ref())
        .map(|p| p.conservation_error.abs())
        .fold(0.0, f64::max);
    println!("levsim P(liquidation) per weight vector: {p_levsim:.4?}; worst conservation error {worst:.2e}");

    // Cost per run-step against the number of instruments (1 thread, a
    // tenth of the paths): linear means a flat cost per run-step-instrument.
    let small = (paths / 10).max(100);
    for n in [1usize, 2, 5] {
        let (sc, m) = load(small, n)?;
        let (best, _) = best_of_3(&sc, &m, 1)?;
        let rs = (sc.plan.len() * m.tape.len()) as f64;
        println!(
            "scaling, {n} instrument(s), {small} paths, 1 thread: {:.1} ns per run-step = {:.1} ns per run-step-instrument",
            best / rs * 1e9,
            best / rs / n as f64 * 1e9
        );
    }

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/peers/bench_numba_portfolio.py"
    );
    if let Some(v) = levsim_benches::run_peer(script, &[paths.to_string(), steps.to_string()]) {
        let p_peer: Vec<f64> = v["p_liquidation"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
            .unwrap_or_default();
        levsim_benches::print_peer_seconds(&v, runs, &secs);
        println!("numba  P(liquidation) per weight vector: {p_peer:.4?}");
        for (k, (a, b)) in p_levsim.iter().zip(&p_peer).enumerate() {
            let (se4, ok) = levsim_benches::agree(*a, *b, paths);
            println!(
                "  weights {:?}: levsim {a:.4} numba {b:.4} (4 se = {se4:.4}) {}",
                WEIGHTS[k],
                if ok { "agree" } else { "DISAGREE" }
            );
        }
    }
    Ok(())
}
