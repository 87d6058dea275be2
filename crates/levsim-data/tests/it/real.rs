//! Every real file in `data/` loads, with the facts its source documents.

use levsim_core::time::{parse_iso, to_iso, HOUR_NS, MINUTE_NS};
use levsim_data::{
    detect_format, inspect, load_funding, load_tape, read_parquet_tape, write_parquet_tape, Format,
    Inspection,
};

use crate::data_dir;

#[test]
fn binance_perp_1m_black_thursday() {
    let p = data_dir().join("binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz");
    assert_eq!(detect_format(&p).unwrap(), Format::BinanceKlines);
    let (t, r) = load_tape(&p, None).unwrap();
    // data/SOURCES.md: 4,320 rows, 2020-03-11 00:00 .. 2020-03-13 23:59, no gaps.
    assert_eq!(t.len(), 4_320);
    assert_eq!(t.interval_ns, MINUTE_NS);
    assert_eq!(t.symbol, "BTCUSDT");
    assert_eq!(to_iso(t.ts[0]), "2020-03-11T00:00:00Z");
    assert_eq!(to_iso(*t.ts.last().unwrap()), "2020-03-13T23:59:00Z");
    assert!(r.gaps.is_empty() && r.anomalies.is_empty());
    assert_eq!(r.time_unit, "ms");
    // Low 3,621.81 at 2020-03-13 02:16 UTC.
    let (i, low) = t
        .low
        .iter()
        .enumerate()
        .fold((0, f64::MAX), |a, (i, &l)| if l < a.1 { (i, l) } else { a });
    assert_eq!(low, 3_621.81);
    assert_eq!(to_iso(t.ts[i]), "2020-03-13T02:16:00Z");
}

#[test]
fn binance_spot_1h_histories_report_their_real_gaps() {
    for name in [
        "binance_spot_BTCUSDT_1h_2018-01-01_2024-06-30.csv.gz",
        "binance_spot_ETHUSDT_1h_2018-01-01_2024-06-30.csv.gz",
    ] {
        let (t, r) = load_tape(&data_dir().join(name), None).unwrap();
        assert_eq!(t.len(), 56_830, "{name}");
        assert_eq!(t.interval_ns, HOUR_NS);
        assert_eq!(r.gaps.len(), 27, "{name}: 27 real exchange gaps");
        // The 33 h outage of 2018-02-08.
        assert!(
            r.gaps
                .iter()
                .any(|g| g.missing_bars == 33 && to_iso(g.after_ts).starts_with("2018-02-08")),
            "{name}"
        );
        assert!(r.anomalies.is_empty());
    }
    let (t, _) = load_tape(
        &data_dir().join("binance_spot_BTCUSDT_1h_2018-01-01_2024-06-30.csv.gz"),
        None,
    )
    .unwrap();
    let at =
        t.ts.binary_search(&parse_iso("2020-03-13T02:00:00Z").unwrap())
            .unwrap();
    assert_eq!(t.low[at], 3_782.13);
}

#[test]
fn ftx_bars_are_shifted_to_open_time() {
    let p = data_dir().join("ftx_BTC-PERP_1m_2021-12-31_2022-02-01.csv.gz");
    assert_eq!(detect_format(&p).unwrap(), Format::Ftx);
    let (t, r) = load_tape(&p, None).unwrap();
    assert_eq!(t.len(), 45_031);
    assert!(r.gaps.is_empty());
    // The first row is stamped 23:01: the bar that opened at 23:00.
    assert_eq!(to_iso(t.ts[0]), "2021-12-31T23:00:00Z");
    assert_eq!(t.symbol, "BTC-PERP");
}

#[test]
fn fil_crash_month_and_funding_files() {
    let (t, r) = load_tape(
        &data_dir().join("binance_um_FILUSDT_1m_2025-04.csv.gz"),
        None,
    )
    .unwrap();
    assert_eq!(t.len(), 43_200);
    assert!(r.gaps.is_empty());
    let low = t.low.iter().copied().fold(f64::MAX, f64::min);
    assert_eq!(low, 2.111);
    for (name, rows) in [
        (
            "binance_um_BTCUSDT_funding_2020-01-01_2024-06-30.csv.gz",
            4_929,
        ),
        (
            "binance_um_ETHUSDT_funding_2020-01-01_2024-06-30.csv.gz",
            4_929,
        ),
        ("binance_um_FILUSDT_funding_until_2025-04-30.csv.gz", 4_973),
    ] {
        let f = load_funding(&data_dir().join(name)).unwrap();
        assert_eq!(f.len(), rows, "{name}");
    }
    // Black Thursday: the −0.3 % cap at 2020-03-13 08:00 UTC.
    let f =
        load_funding(&data_dir().join("binance_um_BTCUSDT_funding_2020-01-01_2024-06-30.csv.gz"))
            .unwrap();
    let i =
        f.ts.binary_search(&parse_iso("2020-03-13T08:00:00Z").unwrap())
            .unwrap();
    assert_eq!(f.rate[i], -0.003);
}

#[test]
fn parquet_round_trip_is_exact() {
    let (t, _) = load_tape(
        &data_dir().join("binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz"),
        None,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("BTCUSDT_1m.parquet");
    write_parquet_tape(&p, &t).unwrap();
    let back = read_parquet_tape(&p).unwrap();
    assert_eq!(back, t);
    let (again, r) = load_tape(&p, None).unwrap();
    assert_eq!(again.ts, t.ts);
    assert_eq!(r.format, "parquet");
}

#[test]
fn inspect_summarises_bars_and_funding() {
    match inspect(
        &data_dir().join("binance_spot_ETHUSDT_1h_2018-01-01_2024-06-30.csv.gz"),
        None,
    )
    .unwrap()
    {
        Inspection::Bars { report, prices, .. } => {
            assert_eq!(report.gaps.len(), 27);
            assert!(prices.unwrap().min_low > 0.0);
        }
        other => panic!("{other:?}"),
    }
    match inspect(
        &data_dir().join("binance_um_BTCUSDT_funding_2020-01-01_2024-06-30.csv.gz"),
        None,
    )
    .unwrap()
    {
        Inspection::Funding(f) => assert_eq!(f.min_rate, -0.003),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_parquet_tape_with_a_missing_column_or_a_null_names_it() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, mut df: DataFrame| {
        let p = dir.path().join(name);
        ParquetWriter::new(std::fs::File::create(&p).unwrap())
            .finish(&mut df)
            .unwrap();
        p
    };
    let cols = |close: Vec<Option<f64>>, with_volume: bool| {
        let mut c = vec![
            Column::new("ts_ns".into(), [0i64, 60_000_000_000]),
            Column::new("open".into(), [1.0, 1.0]),
            Column::new("high".into(), [1.0, 1.0]),
            Column::new("low".into(), [1.0, 1.0]),
            Column::new("close".into(), close),
        ];
        if with_volume {
            c.push(Column::new("volume".into(), [1.0, 1.0]));
        }
        DataFrame::new(2, c).unwrap()
    };
    let p = write("a.parquet", cols(vec![Some(1.0), Some(1.0)], false));
    let e = read_parquet_tape(&p).unwrap_err().to_string();
    assert!(
        e.contains("a.parquet") && e.contains("missing column `volume`"),
        "{e}"
    );
    let p = write("b.parquet", cols(vec![Some(1.0), None], true));
    let e = read_parquet_tape(&p).unwrap_err().to_string();
    assert!(
        e.contains("b.parquet") && e.contains("close") && e.contains('2'),
        "{e}"
    );
}

#[test]
fn binance_eth_perp_1m_black_thursday_with_its_bad_print() {
    // data/SOURCES.md: 2,880 bars 2020-03-12 00:00 .. 03-13 23:59, no gaps,
    // every time also in the BTCUSDT 1m file; low 84.23 at 03-13 02:16;
    // the 02:39 bar's published high is 323.00 (open 109.00, close 117.44).
    let p = data_dir().join("binance_um_ETHUSDT_1m_2020-03-12_2020-03-13.csv.gz");
    let (t, r) = load_tape(&p, None).unwrap();
    assert_eq!(t.len(), 2_880);
    assert_eq!(t.symbol, "ETHUSDT");
    assert!(r.gaps.is_empty() && r.anomalies.is_empty());
    let (i, low) = t
        .low
        .iter()
        .enumerate()
        .fold((0, f64::MAX), |a, (i, &l)| if l < a.1 { (i, l) } else { a });
    assert_eq!(
        (low, to_iso(t.ts[i]).as_str()),
        (84.23, "2020-03-13T02:16:00Z")
    );
    let k =
        t.ts.binary_search(&parse_iso("2020-03-13T02:39:00Z").unwrap())
            .unwrap();
    assert_eq!((t.open[k], t.high[k], t.close[k]), (109.0, 323.0, 117.44));
    let (btc, _) = load_tape(
        &data_dir().join("binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz"),
        None,
    )
    .unwrap();
    assert!(t.ts.iter().all(|ts| btc.ts.binary_search(ts).is_ok()));
}
