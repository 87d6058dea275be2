//! Side-by-side run of the peer task: levsim against the numba tight-loop
//! reference (`benches/peers/bench_numba.py`) on the same 2,000,000
//! synthetic 1m bars, in one process run on one machine.
//!
//! `cargo run --release -p levsim-benches --bin peer_compare [-- N_BARS]`
//! Needs `python3` with numba and numpy (`pip install numba numpy`); without
//! them only levsim's figure is printed.
//!
//! levsim runs on the bars as a scenario loads them: a `CheckedTape`,
//! whose one check (every open and close inside [low, high]) is done at
//! load, as numba gets its arrays loaded; that check is timed and printed
//! apart, and so is a run on the same bars unchecked.

use std::process::Command;
use std::time::Instant;

use levsim_benches::{peer_account, peer_venue, synthetic_bars, write_ohlc_bin};
use levsim_core::CheckedTape;
use levsim_engine::{simulate, Market};
use levsim_policy::StaticLeverage;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = levsim_benches::first_arg(2_000_000)?;
    let tape = synthetic_bars(n, 0.8, 42);
    // The check done when bars are loaded, apart.
    let mut check = f64::INFINITY;
    for _ in 0..5 {
        let t0 = Instant::now();
        std::hint::black_box(std::hint::black_box(&tape).ranges_hold_open_and_close());
        check = check.min(t0.elapsed().as_secs_f64());
    }
    let checked = CheckedTape::new(tape.clone());
    let (unchecked, unchecked_liqs) = best_of_5(Market::new(&tape))?;
    let (best, liqs) = best_of_5(Market::of_checked(&checked))?;
    if unchecked_liqs != liqs {
        return Err(
            format!("checked bars give {liqs} liquidations, unchecked {unchecked_liqs}").into(),
        );
    }
    // Floor: the task's rules as a bare Rust loop without levsim's metrics,
    // to separate language speed from the engine's per-bar bookkeeping.
    let mut bare_best = f64::INFINITY;
    let mut bare_liqs = 0;
    for _ in 0..5 {
        let t0 = Instant::now();
        bare_liqs = bare_loop(&tape);
        bare_best = bare_best.min(t0.elapsed().as_secs_f64());
    }
    println!(
        "levsim: {n} bars in {:.4} s (best of 5) = {:.1} M bars/s, {liqs} liquidations",
        best,
        n as f64 / best / 1e6
    );
    println!(
        "        the check of the bars at load (CheckedTape): {:.4} s; the run on unchecked bars: {:.4} s = {:.1} M bars/s",
        check,
        unchecked,
        n as f64 / unchecked / 1e6
    );
    println!(
        "bare:   {n} bars in {:.4} s (best of 5) = {:.1} M bars/s, {bare_liqs} liquidations (rules only, no metrics)",
        bare_best,
        n as f64 / bare_best / 1e6
    );
    let dir = std::env::temp_dir().join(format!("levsim-peer-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let bin = dir.join("bars.f64");
    write_ohlc_bin(&bin, &tape)?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/bench_numba.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&bin)
        .arg(n.to_string())
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let v: serde_json::Value = serde_json::from_str(text.trim())?;
            let secs = v["seconds"].as_f64().unwrap_or(f64::NAN);
            let peer_liqs = v["liquidations"].as_u64().unwrap_or(0);
            println!(
                "numba:  {n} bars in {secs:.4} s (best of 5) = {:.1} M bars/s, {peer_liqs} liquidations",
                n as f64 / secs / 1e6
            );
            println!(
                "ratio:  levsim is {:.2}x the numba loop's speed (single core each); {:.2}x on unchecked bars",
                secs / best,
                secs / unchecked
            );
            if peer_liqs != u64::from(liqs) {
                return Err(
                    format!("liquidation counts differ: levsim {liqs}, numba {peer_liqs}").into(),
                );
            }
            println!("both count {liqs} liquidations");
        }
        Ok(o) => println!("numba peer failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => println!("numba peer not run: {e}"),
    }
    Ok(())
}

/// Best of five runs of the peer task on `market`: seconds and the
/// liquidations counted.
fn best_of_5(market: Market<'_>) -> Result<(f64, u32), levsim_engine::EngineError> {
    let (venue, account) = (peer_venue(), peer_account());
    let (mut best, mut liqs) = (f64::INFINITY, 0);
    for _ in 0..5 {
        let t0 = Instant::now();
        let out = simulate(
            market,
            &venue,
            &account,
            &mut StaticLeverage { leverage: 10.0 },
            &mut (),
        )?;
        best = best.min(t0.elapsed().as_secs_f64());
        liqs = out.metrics.liquidations;
    }
    Ok((best, liqs))
}

/// The peer task's rules with nothing else: no drawdown, leverage or
/// distance metrics, no observer, no policy call.
fn bare_loop(t: &levsim_core::MarketTape) -> u32 {
    let (o, h, l, c) = (&t.open, &t.high, &t.low, &t.close);
    let n = o.len();
    let (lev, m) = (10.0, 0.005);
    let mut wallet = 10_000.0;
    let mut q = lev * wallet / o[0];
    let mut entry = o[0];
    let mut lp = (q * entry - wallet) / (q * (1.0 - m));
    let mut open = true;
    let mut liqs = 0;
    for i in 0..n {
        if open {
            let mut fill = -1.0;
            if i > 0 && o[i] <= lp {
                fill = o[i];
            } else if l[i].min(h[i]).min(c[i]) <= lp {
                fill = lp;
            }
            if fill > 0.0 {
                let eq: f64 = wallet + q * (fill - entry);
                wallet = eq.max(0.0);
                open = false;
                liqs += 1;
            }
        }
        if !open && i + 1 < n && wallet >= 1e-300 {
            q = lev * wallet / c[i];
            entry = c[i];
            lp = (q * entry - wallet) / (q * (1.0 - m));
            open = true;
        }
    }
    liqs
}
