//! Book replay throughput, levsim against hftbacktest on the same Binance
//! USD-M BTCUSDT recording (`data/hftbacktest_binance_usdm_btcusdt_20240808.jsonl.gz`).
//!
//! Run through `benches/peers/book_compare.sh`, which builds this binary,
//! installs hftbacktest into a virtualenv, converts the recording with
//! hftbacktest's own converter, times both replays and prints the ratio.
//! Here: the recording is loaded outside the timing, then replayed (best of
//! 5) as (a) plain book updates and (b) through `BookLiquidity` with a
//! market order every 1,000 messages (consumed liquidity and impact
//! tracking on). Events = level updates + trades.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use levsim_core::Book;
use levsim_data::book::{apply_repairing, load_book};
use levsim_engine::liquidity::{BookLiquidity, LiquidityModel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../data/hftbacktest_binance_usdm_btcusdt_20240808.jsonl.gz")
        });
    let (tape, trades, _) = load_book(&path, None)?;
    let events = tape.price.len() + trades.len();
    let mut best_plain = f64::INFINITY;
    let mut best_liq = f64::INFINITY;
    let mut check = 0.0;
    // The recording as the liquidity model shares it (built once, as a
    // sweep shares it between its runs; not a replay's cost).
    let shared = Arc::new(tape.clone());
    for _ in 0..5 {
        let t0 = Instant::now();
        let mut book = Book::for_tape(&tape);
        for i in 0..tape.len() {
            apply_repairing(&mut book, &tape, i);
        }
        check += book.mid().unwrap_or(0.0);
        best_plain = best_plain.min(t0.elapsed().as_secs_f64());

        let t0 = Instant::now();
        let mut m = BookLiquidity::new(Arc::clone(&shared), 1.0, 30.0);
        for i in (0..tape.len()).step_by(1_000) {
            let side = if (i / 1_000) % 2 == 0 { 0.05 } else { -0.05 };
            check += m.fill(tape.ts[i], 0.0, side).vwap;
        }
        let _ = m.mid(*tape.ts.last().unwrap_or(&0));
        best_liq = best_liq.min(t0.elapsed().as_secs_f64());
    }
    println!(
        "{{\"events\": {events}, \"messages\": {}, \"replay_s\": {best_plain}, \"replay_with_liquidity_s\": {best_liq}, \"check\": {check}}}",
        tape.len()
    );
    Ok(())
}
