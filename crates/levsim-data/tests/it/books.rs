//! Order-book and trade loaders on every real book file in `data/` and on
//! broken copies.

use std::collections::HashMap;
use std::io::Read;

use levsim_core::Book;
use levsim_data::book::{detect_book_format, load_book, load_trades, BookFormat};

use crate::data_dir;

fn text(name: &str) -> String {
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(data_dir().join(name)).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// An independent rebuild of the Bybit book straight from the JSON, keyed by
/// the price strings as published: after every message the loader's replayed
/// book must hold exactly the same levels.
#[test]
fn bybit_book_rebuild_matches_an_independent_replay() {
    let name = "bybit_linear_XRPUSDT_ob500_2024-12-01.jsonl.gz";
    let (tape, _, report) = load_book(&data_dir().join(name), None).unwrap();
    assert_eq!(report.messages, 50);
    assert_eq!(
        tape.kind
            .iter()
            .filter(|k| **k == levsim_core::BookMessageKind::Snapshot)
            .count(),
        1
    );
    assert_eq!(report.sequence_gaps, 0);
    assert_eq!(report.crossed_repairs, 0);
    let mut bids: HashMap<String, String> = HashMap::new();
    let mut asks: HashMap<String, String> = HashMap::new();
    let mut book = Book::default();
    for (i, line) in text(name).lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["type"] == "snapshot" {
            bids.clear();
            asks.clear();
        }
        for (key, side) in [("b", &mut bids), ("a", &mut asks)] {
            for lv in v["data"][key].as_array().unwrap() {
                let (p, q) = (lv[0].as_str().unwrap(), lv[1].as_str().unwrap());
                if q.parse::<f64>().unwrap() == 0.0 {
                    side.remove(p);
                } else {
                    side.insert(p.to_string(), q.to_string());
                }
            }
        }
        book.apply(&tape, i);
        let mut mine: Vec<(f64, f64)> = bids
            .iter()
            .map(|(p, q)| (p.parse().unwrap(), q.parse().unwrap()))
            .collect();
        mine.sort_by(|a, b| b.0.total_cmp(&a.0));
        assert_eq!(
            book.bids().collect::<Vec<_>>(),
            mine,
            "bids after message {i}"
        );
        let mut mine: Vec<(f64, f64)> = asks
            .iter()
            .map(|(p, q)| (p.parse().unwrap(), q.parse().unwrap()))
            .collect();
        mine.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(
            book.asks().collect::<Vec<_>>(),
            mine,
            "asks after message {i}"
        );
    }
    assert_eq!(book.levels(), (bids.len(), asks.len()));
}

#[test]
fn binance_recording_has_depth_and_trades_without_a_snapshot() {
    let p = data_dir().join("hftbacktest_binance_usdm_btcusdt_20240808.jsonl.gz");
    assert_eq!(detect_book_format(&p).unwrap(), BookFormat::BinanceWs);
    let (tape, trades, report) = load_book(&p, None).unwrap();
    // `zcat … | grep -c depthUpdate` → 6,551; `grep -c '"e":"trade"'` → 21,313.
    assert_eq!(tape.len(), 6_551);
    assert_eq!(trades.len(), 21_313);
    assert_eq!(tape.symbol, "BTCUSDT");
    assert_eq!(tape.kind[0], levsim_core::BookMessageKind::Delta);
    // Trade prices of that night (2024-08-08) around 61–62k.
    assert!(trades
        .price
        .iter()
        .all(|&p| (55_000.0..65_000.0).contains(&p)));
    assert!(report.sequence_gaps < tape.len() / 100, "{report:?}");
}

#[test]
fn nautilus_and_tardis_books() {
    let (snap, _, r) = load_book(
        &data_dir().join("nautilus_binance_um_btcusdt-depth-snap.csv"),
        None,
    )
    .unwrap();
    assert_eq!(r.messages, 1);
    assert_eq!(snap.offsets[1], 100);
    let (_, _, r) = load_book(
        &data_dir().join("nautilus_binance_um_btcusdt-depth-update.csv"),
        None,
    )
    .unwrap();
    assert!(r.messages >= 1);
    let (t, _, r) = load_book(
        &data_dir().join("tardis_sample_binance-futures_book_snapshot_25_BTCUSDT.csv"),
        None,
    )
    .unwrap();
    assert!(r.messages >= 2);
    let mut b = Book::default();
    b.apply(&t, 0);
    // The first row: best ask 11657.08 × 1.714, best bid 11657.07 × 10.896.
    assert_eq!(b.best_ask(), Some((11_657.08, 1.714)));
    assert_eq!(b.best_bid(), Some((11_657.07, 10.896)));
    assert_eq!(b.levels(), (25, 25));
    let (t, _, r) = load_book(
        &data_dir().join("tardis_sample_deribit_incremental_book_L2_BTC-PERPETUAL.csv"),
        None,
    )
    .unwrap();
    assert_eq!(t.symbol, "BTC-PERPETUAL");
    assert!(r.messages >= 1);
}

#[test]
fn trade_tapes() {
    let t =
        load_trades(&data_dir().join("tardis_binance-futures_trades_BTCUSDT_2020-02-22.csv.gz"))
            .unwrap();
    assert_eq!(t.len(), 9_999);
    assert!(t.taker_buy[0]);
    assert_eq!(t.price[0], 9_682.0);
    let p =
        load_trades(&data_dir().join("nautilus_binance_spot_BTCUSDT_trades_2021-01-08.parquet"))
            .unwrap();
    assert_eq!(p.len(), 2_001);
    assert!(p.ts.windows(2).all(|w| w[0] <= w[1]));
}

fn broken_bybit(f: impl FnOnce(&mut Vec<String>)) -> (tempfile::TempDir, std::path::PathBuf) {
    let mut lines: Vec<String> = text("bybit_linear_XRPUSDT_ob500_2024-12-01.jsonl.gz")
        .lines()
        .map(str::to_string)
        .collect();
    f(&mut lines);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bybit_broken.jsonl");
    std::fs::write(&p, lines.join("\n")).unwrap();
    (dir, p)
}

#[test]
fn broken_books_get_their_errors() {
    // A bid above the best ask in a delta: the rebuilt book crosses.
    let (_d, p) =
        broken_bybit(|l| l[3] = l[3].replacen("\"b\":[[\"", "\"b\":[[\"9.9\",\"5\"],[\"", 1));
    let e = load_book(&p, None).unwrap_err().to_string();
    assert!(
        e.contains("bybit_broken.jsonl") && e.contains("line 4") && e.contains("crossed"),
        "{e}"
    );
    // A negative size.
    let (_d, p) =
        broken_bybit(|l| l[5] = l[5].replacen("\"b\":[[\"", "\"b\":[[\"1.0\",\"-5\"],[\"", 1));
    let e = load_book(&p, None).unwrap_err().to_string();
    assert!(e.contains("line 6") && e.contains("size"), "{e}");
    // Time going backwards.
    let (_d, p) = broken_bybit(|l| l.swap(10, 20));
    let e = load_book(&p, None).unwrap_err().to_string();
    // Line 11 now holds line 21's later time, so line 12 goes backwards.
    assert!(e.contains("line 12") && e.contains("out of order"), "{e}");
    // A gap in the update ids is counted (and the book repaired, not trusted).
    let (_d, p) = broken_bybit(|l| {
        l.remove(7);
    });
    let (_, _, r) = load_book(&p, None).unwrap();
    assert_eq!(r.sequence_gaps, 1);
}

/// Binance `bookDepth` bands: no sample of the real files is bundled, so
/// this fixture is written here in the documented layout (cumulative depth
/// and notional per ±1..2 % band) to check the conversion by hand.
#[test]
fn binance_book_depth_bands() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("BTCUSDT-bookDepth-2023-06-01.csv");
    std::fs::write(
        &p,
        "timestamp,percentage,depth,notional\n\
         2023-06-01 00:00:08,-2,30,2955\n\
         2023-06-01 00:00:08,-1,10,995\n\
         2023-06-01 00:00:08,1,20,2010\n\
         2023-06-01 00:00:08,2,50,5040\n\
         2023-06-01 00:00:38,-1,12,1194\n\
         2023-06-01 00:00:38,1,8,804\n",
    )
    .unwrap();
    assert_eq!(
        detect_book_format(&p).unwrap(),
        BookFormat::BinanceBookDepth
    );
    let (t, _, r) = load_book(&p, None).unwrap();
    assert_eq!(r.messages, 2);
    let mut b = Book::default();
    b.apply(&t, 0);
    // Bids: 10 at 995/10 = 99.5, then 20 at (2955 − 995)/20 = 98.
    assert_eq!(
        b.bids().collect::<Vec<_>>(),
        vec![(99.5, 10.0), (98.0, 20.0)]
    );
    // Asks: 20 at 100.5, then 30 at (5040 − 2010)/30 = 101.
    assert_eq!(
        b.asks().collect::<Vec<_>>(),
        vec![(100.5, 20.0), (101.0, 30.0)]
    );
    b.apply(&t, 1);
    assert_eq!(b.levels(), (1, 1));
    // A band whose cumulative depth shrinks is refused, naming its line.
    std::fs::write(&p, "timestamp,percentage,depth,notional\n2023-06-01 00:00:08,1,20,2010\n2023-06-01 00:00:08,2,10,3000\n").unwrap();
    let e = load_book(&p, None).unwrap_err().to_string();
    assert!(e.contains("line 3") && e.contains("cumulative"), "{e}");
}

/// Broken copies of the Binance recording and the Tardis and Nautilus CSVs.
#[test]
fn broken_recordings_and_csv_books() {
    let dir = tempfile::tempdir().unwrap();
    // A recording line cut in the middle of its JSON.
    let lines: Vec<String> = text("hftbacktest_binance_usdm_btcusdt_20240808.jsonl.gz")
        .lines()
        .take(30)
        .map(str::to_string)
        .collect();
    let mut cut = lines.clone();
    let half = cut[12].len() / 2;
    cut[12].truncate(half);
    let p = dir.path().join("rec.jsonl");
    std::fs::write(&p, cut.join("\n")).unwrap();
    let e = load_book(&p, Some(BookFormat::BinanceWs))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("rec.jsonl") && e.contains("line 13") && e.contains("JSON"),
        "{e}"
    );
    // A Tardis snapshot row with a bad amount.
    let src = std::fs::read_to_string(
        data_dir().join("tardis_sample_binance-futures_book_snapshot_25_BTCUSDT.csv"),
    )
    .unwrap();
    let mut rows: Vec<String> = src.lines().map(str::to_string).collect();
    let mut f: Vec<String> = rows[2].split(',').map(str::to_string).collect();
    f[5] = "1.7x".into();
    rows[2] = f.join(",");
    let p = dir.path().join("snap.csv");
    std::fs::write(&p, rows.join("\n")).unwrap();
    let e = load_book(&p, None).unwrap_err().to_string();
    assert!(e.contains("line 3") && e.contains("asks[0].amount"), "{e}");
    // A Nautilus update with an unknown update type.
    let src =
        std::fs::read_to_string(data_dir().join("nautilus_binance_um_btcusdt-depth-update.csv"))
            .unwrap();
    let p = dir.path().join("upd.csv");
    std::fs::write(&p, src.replacen(",set,", ",put,", 1)).unwrap();
    let e = load_book(&p, None).unwrap_err().to_string();
    assert!(e.contains("line 2") && e.contains("update_type"), "{e}");
    // Truncated rows: the line and the expected field count.
    let cut_row = |name: &str, row: usize| {
        let src = std::fs::read_to_string(data_dir().join(name)).unwrap();
        let mut rows: Vec<String> = src.lines().map(str::to_string).collect();
        let keep = rows[row].rsplitn(3, ',').last().unwrap().to_string();
        rows[row] = keep;
        let p = dir.path().join(format!("cut-{name}"));
        std::fs::write(&p, rows.join("\n")).unwrap();
        p
    };
    let p = cut_row("nautilus_binance_um_btcusdt-depth-update.csv", 3);
    let e = load_book(&p, None).unwrap_err().to_string();
    assert!(
        e.contains("line 4") && e.contains("expected 9 fields, found 7"),
        "{e}"
    );
    let p = cut_row(
        "tardis_sample_binance-futures_book_snapshot_25_BTCUSDT.csv",
        2,
    );
    let e = load_book(&p, None).unwrap_err().to_string();
    assert!(
        e.contains("line 3") && e.contains("expected 4 + 4·k fields"),
        "{e}"
    );
}
