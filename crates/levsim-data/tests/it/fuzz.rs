//! Fuzzing every loader on stable Rust: proptest mutates small seeds cut
//! from the real files in `data/` (bytes flipped, inserted, deleted, lines
//! cut, doubled or swapped, fields replaced by hostile tokens, the result
//! optionally gzipped, or the gzip itself damaged) and hands each mutant to
//! every loader. A loader may refuse a mutant, with an error that names the
//! file; it may never panic, and what it accepts must be a valid tape.
//!
//! The suite runs a few dozen cases per loader. A longer run:
//! `LEVSIM_FUZZ_CASES=20000 cargo test --release -p levsim-data --test it fuzz`
//! with `LEVSIM_FUZZ_SEED=N` for a fresh stream (the suite's seed is fixed, so
//! it is reproducible); a failure prints its shrunk input, to be kept as a
//! named regression test.

use std::io::{Read, Write};
use std::path::Path;

use levsim_core::MarketTape;
use levsim_data::book::{load_book, load_trades};
use levsim_data::{
    inspect, load_funding, load_tape, read_parquet_tape, write_parquet_tape, DataError, Format,
};
use proptest::prelude::*;

use crate::data_dir;

/// Cases per loader (`LEVSIM_FUZZ_CASES`, default 48).
fn cases() -> u32 {
    std::env::var("LEVSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

/// The fuzzer's random generator: seeded, so the suite is reproducible
/// (`LEVSIM_FUZZ_SEED=N` for another stream in a longer run).
fn rng() -> proptest::test_runner::TestRng {
    let seed: u64 = std::env::var("LEVSIM_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_261_206);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    proptest::test_runner::TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &bytes)
}

/// The first `n` lines of a data file, decompressed.
fn head(name: &str, n: usize) -> Vec<u8> {
    let f = std::fs::File::open(data_dir().join(name)).unwrap();
    let mut r: Box<dyn Read> = if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(f))
    } else {
        Box::new(f)
    };
    let mut s = String::new();
    r.read_to_string(&mut s).unwrap();
    let mut out: String = s.lines().take(n).collect::<Vec<_>>().join("\n");
    out.push('\n');
    out.into_bytes()
}

/// Tokens a hostile file holds where numbers should be.
const JUNK: &[&str] = &[
    "NaN",
    "-1",
    "0",
    "-0",
    "1e308",
    "-1e308",
    "inf",
    "",
    ",",
    "\n",
    "\"",
    "\u{0}",
    "\u{1b}[2J",
    "9999999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "1583884800000",
    "869146>89672",
    "{",
    "}",
    "[",
    "]",
    ":",
    "null",
    "true",
    "é",
    "\u{fffd}",
    "0x1f",
    "1,2",
    " ",
    "\r\n",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, usize),
    Delete(usize, usize),
    Truncate(usize),
    DupLine(usize),
    SwapLines(usize, usize),
    Field(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 0..JUNK.len()).prop_map(|(i, j)| Mutation::Insert(i, j)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::DupLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), any::<usize>(), 0..JUNK.len())
            .prop_map(|(l, c, j)| Mutation::Field(l, c, j)),
    ]
}

fn apply(mut b: Vec<u8>, m: &Mutation) -> Vec<u8> {
    let n = b.len().max(1);
    match *m {
        Mutation::Flip(i, v) => {
            if !b.is_empty() {
                b[i % n] = v;
            }
        }
        Mutation::Insert(i, j) => {
            let at = i % (b.len() + 1);
            b.splice(at..at, JUNK[j].bytes());
        }
        Mutation::Delete(i, k) => {
            let at = i % n;
            let end = (at + k).min(b.len());
            if at < end {
                b.drain(at..end);
            }
        }
        Mutation::Truncate(i) => b.truncate(i % n),
        Mutation::DupLine(i) | Mutation::SwapLines(i, _) | Mutation::Field(i, _, _) => {
            let text = String::from_utf8_lossy(&b).to_string();
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            if lines.is_empty() {
                return b;
            }
            let k = i % lines.len();
            match *m {
                Mutation::DupLine(_) => lines.insert(k, lines[k].clone()),
                Mutation::SwapLines(_, j) => {
                    let j = j % lines.len();
                    lines.swap(k, j);
                }
                Mutation::Field(_, c, j) => {
                    let mut f: Vec<String> = lines[k].split(',').map(str::to_string).collect();
                    let c = c % f.len();
                    f[c] = JUNK[j].to_string();
                    lines[k] = f.join(",");
                }
                _ => {}
            }
            b = (lines.join("\n") + "\n").into_bytes();
        }
    }
    b
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// How the mutant reaches the disk: plain, gzipped, or gzipped and then
/// damaged.
fn packing() -> impl Strategy<Value = (u8, usize, u8)> {
    (0u8..3, any::<usize>(), any::<u8>())
}

fn pack(b: Vec<u8>, (how, i, v): (u8, usize, u8)) -> Vec<u8> {
    match how {
        0 => b,
        1 => gzip(&b),
        _ => {
            let mut g = gzip(&b);
            let n = g.len();
            g[i % n] = v;
            g
        }
    }
}

/// An error must name the file it is about.
fn names_file(e: &DataError, path: &Path) -> Result<(), TestCaseError> {
    let msg = e.to_string();
    let name = path.display().to_string();
    prop_assert!(msg.contains(&name), "error without the file name: {msg}");
    Ok(())
}

/// What a loader accepts is a tape the engine can run on.
fn valid_tape(t: &MarketTape) -> Result<(), TestCaseError> {
    for i in 0..t.len() {
        prop_assert!(
            t.open[i].is_finite() && t.open[i] > 0.0,
            "open {}",
            t.open[i]
        );
        prop_assert!(
            t.close[i].is_finite() && t.close[i] > 0.0,
            "close {}",
            t.close[i]
        );
        prop_assert!(
            t.low[i] > 0.0 && t.low[i] <= t.open[i].min(t.close[i]),
            "low"
        );
        prop_assert!(
            t.high[i].is_finite() && t.high[i] >= t.open[i].max(t.close[i]),
            "high"
        );
        if i > 0 {
            prop_assert!(t.ts[i] > t.ts[i - 1], "time order at {i}");
        }
    }
    Ok(())
}

fn mutant(seed: &[u8], muts: &[Mutation], packing: (u8, usize, u8)) -> Vec<u8> {
    let b = muts.iter().fold(seed.to_vec(), apply);
    pack(b, packing)
}

fn fuzz_file(name: &str, seed: Vec<u8>, check: impl Fn(&Path) -> Result<(), TestCaseError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(
        ProptestConfig {
            cases: cases(),
            failure_persistence: None,
            ..ProptestConfig::default()
        },
        rng(),
    );
    let result = runner.run(
        &(proptest::collection::vec(mutation(), 1..6), packing()),
        |(muts, packing)| {
            std::fs::write(&path, mutant(&seed, &muts, packing)).unwrap();
            check(&path)
        },
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

fn bars(path: &Path, format: Option<Format>) -> Result<(), TestCaseError> {
    match load_tape(path, format) {
        Ok((t, _)) => valid_tape(&t),
        Err(e) => names_file(&e, path),
    }
}

fn inspected(path: &Path) -> Result<(), TestCaseError> {
    match inspect(path, None) {
        Ok(_) => Ok(()),
        Err(e) => names_file(&e, path),
    }
}

#[test]
fn fuzz_binance_klines() {
    let seed = head("binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz", 40);
    fuzz_file("binance_um_BTCUSDT_1m_fuzz.csv", seed.clone(), |p| {
        bars(p, None)?;
        bars(p, Some(Format::BinanceKlines))?;
        inspected(p)
    });
}

#[test]
fn fuzz_ftx_bars() {
    let seed = head("ftx_BTC-PERP_1m_2021-12-31_2022-02-01.csv.gz", 40);
    fuzz_file("ftx_BTC-PERP_fuzz.csv", seed, |p| {
        bars(p, None)?;
        bars(p, Some(Format::Ftx))?;
        inspected(p)
    });
}

#[test]
fn fuzz_funding() {
    let seed = head(
        "binance_um_BTCUSDT_funding_2020-01-01_2024-06-30.csv.gz",
        40,
    );
    fuzz_file("funding_fuzz.csv", seed, |p| {
        if let Err(e) = load_funding(p) {
            names_file(&e, p)?;
        }
        inspected(p)
    });
}

#[test]
fn fuzz_trades() {
    let seed = head(
        "tardis_binance-futures_trades_BTCUSDT_2020-02-22.csv.gz",
        40,
    );
    fuzz_file("tardis_trades_fuzz.csv", seed, |p| {
        if let Err(e) = load_trades(p) {
            names_file(&e, p)?;
        }
        bars(p, Some(Format::Trades))?;
        inspected(p)
    });
}

#[test]
fn fuzz_order_books() {
    for (name, n) in [
        ("bybit_linear_XRPUSDT_ob500_2024-12-01.jsonl.gz", 6),
        ("hftbacktest_binance_usdm_btcusdt_20240808.jsonl.gz", 30),
        ("nautilus_binance_um_btcusdt-depth-snap.csv", 30),
        (
            "tardis_sample_binance-futures_book_snapshot_25_BTCUSDT.csv",
            8,
        ),
        (
            "tardis_sample_deribit_incremental_book_L2_BTC-PERPETUAL.csv",
            30,
        ),
    ] {
        let seed = head(name, n);
        let fuzz_name = name.trim_end_matches(".gz").replace("2024", "fuzz");
        fuzz_file(&fuzz_name, seed, |p| {
            if let Err(e) = load_book(p, None) {
                names_file(&e, p)?;
            }
            inspected(p)
        });
    }
}

#[test]
fn fuzz_parquet() {
    // A canonical Parquet of real bars, its bytes mutated (no text
    // mutations apply; the packing step gzips some, which is not Parquet).
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_parquet(dir.path());
    fuzz_file("fuzz.parquet", seed, |p| {
        // The raw reader may return what validation would refuse; it must
        // not panic, and its errors name the file.
        if let Err(e) = read_parquet_tape(p) {
            names_file(&e, p)?;
        }
        bars(p, None)?;
        inspected(p)
    });
}

/// Regression (found by the fuzzer above): timestamps whose conversion to
/// ns overflowed i64 panicked ("attempt to multiply with overflow") in the
/// Tardis trades and Nautilus depth loaders.
#[test]
fn regression_timestamp_overflow_panicked() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "28282751452843401";
    let p = dir.path().join("trades.csv");
    std::fs::write(
        &p,
        format!("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nbinance-futures,BTCUSDT,{huge},1,1,buy,100.0,1.0\n"),
    )
    .unwrap();
    let e = load_trades(&p).unwrap_err().to_string();
    assert!(e.contains("out of range for a timestamp"), "{e}");
    assert!(e.contains("trades.csv"), "{e}");
    let snap = String::from_utf8(head("nautilus_binance_um_btcusdt-depth-snap.csv", 3)).unwrap();
    let mut lines: Vec<String> = snap.lines().map(str::to_string).collect();
    let mut f: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    f[1] = huge.into();
    lines[1] = f.join(",");
    let p = dir
        .path()
        .join("nautilus_binance_um_btcusdt-depth-snap.csv");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let e = load_book(&p, None).unwrap_err().to_string();
    assert!(e.contains("out of range for a timestamp"), "{e}");
}

/// The seed Parquet of [`fuzz_parquet`]: 40 real bars.
fn seed_parquet(dir: &Path) -> Vec<u8> {
    let src = dir.join("seed.parquet");
    let (tape, _) = load_tape(
        &data_dir().join("binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz"),
        None,
    )
    .unwrap();
    let small = tape.window(tape.ts.first().copied(), tape.ts.get(40).copied());
    write_parquet_tape(&src, &small).unwrap();
    std::fs::read(&src).unwrap()
}

/// Regression (found by the fuzzer in CI): Parquet whose metadata is
/// damaged made the decoder unwrap a `None` and crash the process; byte
/// 240 of the seed set to 0 is one such file. It is now a named error.
#[test]
fn regression_damaged_parquet_metadata_panicked() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = seed_parquet(dir.path());
    b[240] = 0;
    let p = dir.path().join("damaged.parquet");
    std::fs::write(&p, &b).unwrap();
    let e = read_parquet_tape(&p).unwrap_err().to_string();
    assert!(e.contains("damaged.parquet"), "{e}");
    assert!(e.contains("the file is damaged"), "{e}");
    assert!(load_tape(&p, None).is_err());
}

/// Regression (found by the fuzzer): Parquet bars with times near the ends
/// of i64 overflowed the interval detection; times outside 1970–2096 are
/// now named anomalies.
#[test]
fn regression_extreme_parquet_times_overflowed() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = MarketTape::default();
    for (k, ts) in [i64::MIN + 5, 0, i64::MAX - 5].into_iter().enumerate() {
        t.push(
            ts,
            100.0 + k as f64,
            101.0 + k as f64,
            99.0,
            100.5 + k as f64,
            1.0,
        );
    }
    let p = dir.path().join("times.parquet");
    write_parquet_tape(&p, &t).unwrap();
    let e = load_tape(&p, None).unwrap_err().to_string();
    assert!(e.contains("outside the years 1970 to 2096"), "{e}");
    match inspect(&p, None).unwrap() {
        levsim_data::Inspection::Bars { report, .. } => assert_eq!(
            report
                .anomalies
                .iter()
                .filter(|a| a.message.contains("1970 to 2096"))
                .count(),
            2
        ),
        other => panic!("{other:?}"),
    }
}

/// Regression: a kline whose `close_time` is near `i64::MAX` overflowed the
/// interval hint taken from it; the hint is now skipped when it does not fit.
#[test]
fn regression_wild_close_time_overflowed_the_interval_hint() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = String::from_utf8(head(
        "binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz",
        6,
    ))
    .unwrap()
    .lines()
    .map(str::to_string)
    .collect();
    let mut f: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    f[6] = i64::MAX.to_string();
    lines[1] = f.join(",");
    let p = dir.path().join("BTCUSDT_wild.csv");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let (t, r) = load_tape(&p, None).unwrap();
    assert_eq!(t.len(), 5);
    assert_eq!(r.interval_ns, 60_000_000_000);
}
