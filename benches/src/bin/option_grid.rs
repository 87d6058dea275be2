//! The option revaluation benchmark of issue 15: a book of 100 European
//! options (3 expiries, strikes 60–160 % of spot, calls and puts, long and
//! short) fully revalued over a 21 × 7 price-volatility grid (±30 %, ±30
//! volatility points) at every bar of a year of 1h bars (8,760 bars:
//! 128.8 M option valuations), on one core, beside a numba reference of
//! the same task with the exact normal CDF (`peers/bench_numba_options.py`,
//! the same inputs). Prints both times, the ratio, and the largest
//! difference of the per-bar worst loss.
//!
//! `cargo run --release -p levsim-benches --bin option_grid`

use std::time::Instant;

use levsim_benches::SplitMix64;
use levsim_options::revalue::{revalue, GridBook, PriceVolGrid};
use levsim_options::OptionKind;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bars = 8_760usize;
    let bar_years: f64 = 1.0 / 8_760.0;
    let mut rng = SplitMix64(2026);
    // A year of hourly GBM prices, σ = 60 %.
    let mut f = Vec::with_capacity(bars);
    let mut p = 50_000.0f64;
    let sd = 0.6 * bar_years.sqrt();
    for _ in 0..bars {
        f.push(p);
        p *= (sd * rng.normal() - 0.5 * sd * sd).exp();
    }
    let mut book = GridBook::default();
    for i in 0..100 {
        let m = 0.6 + 1.0 * (i as f64 / 99.0);
        book.strike.push((50_000.0 * m / 500.0).round() * 500.0);
        book.kind.push(if i % 2 == 0 {
            OptionKind::Call
        } else {
            OptionKind::Put
        });
        let q = 1.0 + (rng.uniform() * 5.0).floor();
        book.size.push(if rng.uniform() < 0.6 { -q } else { q });
        book.sigma.push(0.5 + 0.3 * m.ln().abs());
        book.expiry.push([1.1, 1.3, 1.6][i % 3]);
    }
    let grid = PriceVolGrid::new(
        (0..21).map(|i| -0.3 + 0.03 * f64::from(i)).collect(),
        (0..7).map(|i| -30.0 + 10.0 * f64::from(i)).collect(),
    );
    let mut pnl = vec![0.0; grid.len()];
    let mut worst = vec![0.0; bars];
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t0 = Instant::now();
        for (b, w) in worst.iter_mut().enumerate() {
            *w = revalue(&book, &grid, f[b], b as f64 * bar_years, &mut pnl).0;
        }
        best = best.min(t0.elapsed().as_secs_f64());
    }
    let evals = (bars * 100 * grid.len()) as f64;
    println!(
        "levsim, 1 thread: {best:.3} s (best of 3) for {bars} bars × 100 options × {} scenarios = {:.1} M valuations/s",
        grid.len(),
        evals / best / 1e6
    );
    let input =
        std::env::temp_dir().join(format!("levsim-option-grid-{}.json", std::process::id()));
    let json = serde_json::json!({
        "f": f,
        "bar_years": bar_years,
        "strike": book.strike,
        "size": book.size,
        "call": book.kind.iter().map(|k| *k == OptionKind::Call).collect::<Vec<_>>(),
        "sigma": book.sigma,
        "expiry": book.expiry,
        "moves": grid.moves,
        "vol_moves": grid.vol_moves,
    });
    std::fs::write(&input, serde_json::to_string(&json)?)?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/bench_numba_options.py");
    if let Some(v) = levsim_benches::run_peer(script, &[input.display().to_string()]) {
        let s = v["seconds"].as_f64().unwrap_or(f64::NAN);
        let theirs: Vec<f64> = v["worst"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
            .unwrap_or_default();
        let diff = worst
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let scale = theirs.iter().copied().fold(0.0, f64::max);
        println!(
            "numba,  1 thread: {s:.3} s (best of 3); levsim / numba = {:.2}x",
            s / best
        );
        println!(
            "per-bar worst loss: largest difference {diff:.4} USD of a largest loss {scale:.0} USD ({:.1e} relative){}",
            diff / scale,
            if diff <= 1e-5 * scale { ", agree" } else { ", DISAGREE" }
        );
    }
    std::fs::remove_file(&input).ok();
    Ok(())
}
