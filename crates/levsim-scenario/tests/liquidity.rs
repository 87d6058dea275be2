//! Liquidity models on real books and in scenarios.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use levsim_core::Book;
use levsim_data::book::{apply_repairing, load_book};
use levsim_engine::liquidity::{LiquidityModel, SqrtImpact};
use levsim_scenario::{execute, LoadedMarket, Scenario};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn final_book(name: &str) -> Book {
    let (tape, _, _) = load_book(&root().join("data").join(name), None).unwrap();
    let mut book = Book::default();
    for i in 0..tape.len() {
        apply_repairing(&mut book, &tape, i);
    }
    book
}

/// Calibrating the square-root model on a real book recovers the book's own
/// depth at 1 %: the order size the fitted model needs for a 1 % move is
/// within 35 % of the depth within 1 % of mid (geometric mean of the two
/// sides; a real book is not exactly square-root shaped). The book is the
/// complete Bybit one (snapshot + deltas); the Binance recording has no
/// snapshot, so its far levels are only partly known and its shape says
/// little about the venue's.
#[test]
fn sqrt_calibration_recovers_the_depth_at_one_percent() {
    {
        let name = "bybit_linear_XRPUSDT_ob500_2024-12-01.jsonl.gz";
        let book = final_book(name);
        let (bid, ask) = book.depth_within(0.01).unwrap();
        let depth = (bid * ask).sqrt();
        let (model, c) = SqrtImpact::calibrate(&book, 0.01, 60.0).unwrap();
        let implied = (0.01 / c).powi(2);
        let err = (implied / depth - 1.0).abs();
        println!(
            "{name}: implied depth at 1 % {implied:.0} vs book {depth:.0} ({:+.1} %)",
            (implied / depth - 1.0) * 100.0
        );
        assert!(
            err < 0.35,
            "{name}: implied {implied} vs depth {depth} ({:.0} %)",
            err * 100.0
        );
        assert!((model.move_for(implied) - 0.01).abs() < 1e-9);
    }
}

/// The shipped book-replay scenario: orders walk the replayed (drained)
/// book, the 20x position's forced sell fills far below its liquidation
/// price, and the runs' marks leave the traded price.
#[test]
fn book_replay_scenario_fills_through_the_book() {
    std::env::set_current_dir(root()).unwrap();
    let sc = Scenario::load(&root().join("scenarios/btcusdt-book-replay-2024.toml")).unwrap();
    let m = LoadedMarket::load(&sc).unwrap();
    let mut probe = m.liquidity.clone();
    assert!(probe.fill(m.tape.ts[0], m.tape.open[0], 1.0).filled > 0.0);
    let results = execute(&sc, &m, 1, &|| {}).unwrap();
    let r20 = results
        .iter()
        .find(|r| r.spec.run_id == "static[leverage=20]")
        .unwrap();
    let e = r20.output.liquidations[0];
    assert!(e.fill_price < e.liquidation_price * 0.99, "{e:?}");
    // Opening slippage: even 2x loses more than the taker fee.
    let r2 = &results[0].output.metrics;
    assert!(r2.return_pct < -2.0 * 0.045, "{}", r2.return_pct);
    assert!(results
        .iter()
        .all(|r| r.series.mark.iter().zip(&r.series.ts).any(|(mk, ts)| {
            let k = m.tape.ts.binary_search(ts).unwrap();
            (mk / m.tape.close[k] - 1.0).abs() > 1e-6
        })));
}

/// The ladder book (issue 18) replays the real recordings exactly as the
/// sorted-map book: at every message the same best bid and ask and level
/// counts, at the end the same levels in the same order, on Binance's
/// BTCUSDT diffs (far levels from 560 to 621,368.7, beyond the ladder's
/// window) and on Bybit's XRPUSDT snapshot and deltas.
#[test]
fn ladder_book_replays_the_recordings_as_the_map_book() {
    for name in [
        "hftbacktest_binance_usdm_btcusdt_20240808.jsonl.gz",
        "bybit_linear_XRPUSDT_ob500_2024-12-01.jsonl.gz",
    ] {
        let (tape, _, _) = load_book(&root().join("data").join(name), None).unwrap();
        let mut ladder = Book::for_tape(&tape);
        let mut map = Book::default();
        let mut far = 0;
        for i in 0..tape.len() {
            let a = apply_repairing(&mut ladder, &tape, i);
            let b = apply_repairing(&mut map, &tape, i);
            assert_eq!(a, b, "{name}: repairs at message {i}");
            assert_eq!(
                ladder.best_bid(),
                map.best_bid(),
                "{name}: best bid at message {i}"
            );
            assert_eq!(
                ladder.best_ask(),
                map.best_ask(),
                "{name}: best ask at message {i}"
            );
            assert_eq!(
                ladder.levels(),
                map.levels(),
                "{name}: levels at message {i}"
            );
            if let (Some(b), Some(a)) = (map.best_bid(), map.bids().last()) {
                far = far.max(((b.0 - a.0) / b.0 * 100.0) as i64);
            }
        }
        assert!(ladder == map, "{name}: final book");
        assert!(ladder.bids().eq(map.bids()) && ladder.asks().eq(map.asks()));
        assert!(map.levels().0 > 100, "{name}: a real book");
        if name.starts_with("hftbacktest") {
            // Levels far beyond the ladder's window were in play.
            assert!(far > 50, "{name}: deepest bid {far} % below the best");
        }
    }
}
