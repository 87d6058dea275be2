//! End-to-end tests of the `levsim` binary.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Output;

use common::{levsim_in, root, stderr};

fn levsim(args: &[&str]) -> Output {
    levsim_in(&root(), args)
}

fn gz_lines(path: &Path) -> Vec<String> {
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s.lines().map(str::to_string).collect()
}

/// An independent hand computation of a static isolated long under
/// Binance's BTCUSDT snapshot-A brackets (SPEC.md §1.2, maintenance amounts
/// as listed there), 0.04 % taker fee on opening and funding from the raw
/// file: returns (bar open ms, liquidation price, fill price) of the first
/// bar whose open or intrabar path reaches the liquidation price.
fn hand_liquidation(lev: f64) -> Option<(i64, f64, f64)> {
    const BRACKETS: [(f64, f64, f64, f64); 10] = [
        (0.0, 50e3, 0.004, 0.0),
        (50e3, 250e3, 0.005, 50.0),
        (250e3, 1e6, 0.01, 1_300.0),
        (1e6, 5e6, 0.025, 16_300.0),
        (5e6, 20e6, 0.05, 141_300.0),
        (20e6, 50e6, 0.10, 1_141_300.0),
        (50e6, 100e6, 0.125, 2_391_300.0),
        (100e6, 200e6, 0.15, 4_891_300.0),
        (200e6, 300e6, 0.25, 24_891_300.0),
        (300e6, 500e6, 0.50, 99_891_300.0),
    ];
    let (start, end) = (1_583_971_200_000_i64, 1_584_144_000_000_i64); // 03-12, 03-14
    let bars: Vec<Vec<f64>> =
        gz_lines(&root().join("data/binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz"))
            .iter()
            .skip(1)
            .map(|l| l.split(',').take(5).map(|x| x.parse().unwrap()).collect())
            .filter(|r: &Vec<f64>| (r[0] as i64) >= start && (r[0] as i64) < end)
            .collect();
    let funding: Vec<(i64, f64)> =
        gz_lines(&root().join("data/binance_um_BTCUSDT_funding_2020-01-01_2024-06-30.csv.gz"))
            .iter()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].parse().unwrap(), f[2].parse().unwrap())
            })
            .collect();
    let (capital, fee) = (10_000.0, 0.0004);
    let entry = bars[0][1];
    let qty = lev * capital / (entry * (1.0 + lev * fee));
    let mut wallet = capital - qty * entry * fee;
    let lp = |w: f64| {
        BRACKETS.iter().find_map(|&(floor, cap, mmr, cum)| {
            let p = (w + cum - qty * entry) / (qty * mmr - qty);
            (qty * p > floor && qty * p <= cap).then_some(p)
        })
    };
    for (i, b) in bars.iter().enumerate() {
        let (t, o, h, l, c) = (b[0] as i64, b[1], b[2], b[3], b[4]);
        if i > 0 {
            for &(ft, rate) in &funding {
                // Funding due at this bar's open (events before the window,
                // or at its first bar before the position opens, do not count).
                if ft > bars[i - 1][0] as i64 && ft <= t {
                    wallet -= qty * o * rate;
                }
            }
        }
        let liq = lp(wallet)?;
        if i > 0 && o <= liq {
            return Some((t, liq, o));
        }
        let first = if c >= o { l } else { h };
        let second = if c >= o { h } else { l };
        if first <= liq || second <= liq || c <= liq {
            return Some((t, liq, liq));
        }
    }
    None
}

/// `levsim run scenarios/black-thursday-2020.toml --out DIR --quiet`.
fn run_black_thursday(dir: &Path) -> Output {
    levsim(&[
        "run",
        "scenarios/black-thursday-2020.toml",
        "--out",
        dir.to_str().unwrap(),
        "--quiet",
    ])
}

#[test]
fn black_thursday_report_matches_a_hand_computation() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("bt");
    let o = run_black_thursday(&dir);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "index.html",
        "summary.md",
        "summary.json",
        "results.parquet",
        "timeseries.parquet",
        "manifest.json",
        "charts/price.svg",
        "charts/price.png",
        "charts/equity.svg",
        "charts/leverage.png",
    ] {
        let meta = std::fs::metadata(dir.join(f)).unwrap_or_else(|_| panic!("{f} missing"));
        assert!(meta.len() > 100, "{f} is nearly empty");
    }
    let summary: serde_json::Value = read_json(&dir.join("summary.json"));
    let runs = summary["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 9);
    let mut checked = 0;
    for r in runs.iter().filter(|r| r["policy"] == "static") {
        let lev = r["params"]["leverage"].as_f64().unwrap();
        let m = &r["metrics"];
        for key in [
            "final_equity",
            "return_pct",
            "max_drawdown_pct",
            "liquidations",
            "first_liquidation_ts",
            "liquidation_price",
            "fees",
            "funding",
            "bad_debt",
            "avg_leverage",
            "time_in_market_pct",
        ] {
            assert!(m.get(key).is_some(), "metrics.{key} missing");
        }
        let (t_ms, lp, fill) =
            hand_liquidation(lev).expect("every static long is liquidated on Black Thursday");
        let want_ts = levsim_core::time::to_iso(t_ms * 1_000_000);
        assert_eq!(
            m["first_liquidation_ts"].as_str().unwrap(),
            want_ts,
            "{lev}x"
        );
        let got = m["liquidation_price"].as_f64().unwrap();
        assert!((got - lp).abs() < 1e-6 * lp, "{lev}x: {got} vs hand {lp}");
        let ev = &r["liquidation_events"][0];
        assert!(
            (ev["fill_price"].as_f64().unwrap() - fill).abs() < 1e-6 * fill,
            "{lev}x fill"
        );
        // Binance's smart liquidation may first cut a large position to a
        // lower bracket, so later liquidations can follow the first.
        assert!(m["liquidations"].as_u64().unwrap() >= 1);
        checked += 1;
    }
    assert_eq!(checked, 6);
    let manifest: serde_json::Value = read_json(&dir.join("manifest.json"));
    assert!(manifest["scenario_text"]
        .as_str()
        .unwrap()
        .contains("black-thursday-2020"));
    assert_eq!(manifest["data_files"].as_array().unwrap().len(), 2);
    // Running again into its own report directory is allowed.
    let o = run_black_thursday(&dir);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let o = levsim(&["run", "no/such/scenario.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no/such/scenario.toml"),
        "{}",
        stderr(&o)
    );
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\n[market]\nkind = \"historical\"\n").unwrap();
    let o = levsim(&["run", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("missing field `venue`"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("panicked"));
    // A directory the user made is never overwritten.
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("thesis.txt"), "keep").unwrap();
    let o = run_black_thursday(&mine);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not created by levsim"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(mine.join("thesis.txt")).unwrap(),
        "keep"
    );
    // Unknown subcommand and bad format name.
    assert_eq!(levsim(&["fly"]).status.code(), Some(2));
    let o = levsim(&[
        "data",
        "inspect",
        "data/binance_um_BTCUSDT_funding_2020-01-01_2024-06-30.csv.gz",
        "--format",
        "csvv",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--format"));
}

#[test]
fn data_inspect_and_import() {
    let o = levsim(&[
        "data",
        "inspect",
        "data/binance_spot_BTCUSDT_1h_2018-01-01_2024-06-30.csv.gz",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["report"]["rows"], 56_830);
    assert_eq!(v["report"]["gaps"].as_array().unwrap().len(), 27);
    let o = levsim(&[
        "data",
        "inspect",
        "data/binance_spot_BTCUSDT_1h_2018-01-01_2024-06-30.csv.gz",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("gaps:      27") && text.contains("33h missing"),
        "{text}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("btc.parquet");
    let o = levsim(&[
        "data",
        "import",
        "data/binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = levsim(&["data", "inspect", out.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["report"]["rows"], 4_320);
    // Importing over an existing file needs --force.
    let o = levsim(&[
        "data",
        "import",
        "data/binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// A JSON file the CLI wrote.
fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_of(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn margin_calculator_answers_for_every_profile() {
    // The issue's three examples.
    let v = json_of(&levsim(&[
        "margin",
        "--venue",
        "binance-usdm",
        "--side",
        "long",
        "--qty",
        "0.02",
        "--entry",
        "50000",
        "--wallet",
        "500",
        "--mode",
        "cross",
        "--json",
    ]));
    assert!(
        (v["liquidation_price"].as_f64().unwrap() - 25_100.40).abs() < 0.005,
        "BIN-3"
    );
    for key in [
        "initial_margin",
        "maintenance_margin",
        "margin_ratio",
        "equity",
        "liquidatable",
        "liquidation_price",
        "bankruptcy_price",
    ] {
        assert!(v.get(key).is_some(), "{key} missing");
    }
    let v = json_of(&levsim(&[
        "margin",
        "--venue",
        "hyperliquid",
        "--side",
        "short",
        "--qty",
        "1",
        "--entry",
        "100000",
        "--leverage",
        "10",
        "--mode",
        "isolated",
        "--json",
    ]));
    assert_eq!(v["backstop_eligible"], false);
    let tmp = tempfile::tempdir().unwrap();
    let acct = tmp.path().join("account.json");
    std::fs::write(
        &acct,
        r#"{"collateral": 499, "mode": "cross", "positions": [{"instrument": "BTC-USD", "side": "long", "size": 0.1, "entry": 50000}]}"#,
    )
    .unwrap();
    let v = json_of(&levsim(&[
        "margin",
        "--venue",
        "dydx-v4",
        "--account",
        acct.to_str().unwrap(),
        "--oracle",
        "50000",
        "--json",
    ]));
    assert!(v["positions"][0]["fillable_price"].as_f64().is_some());
    // Every profile answers, linear and inverse, isolated and cross.
    for venue in [
        "binance-usdm",
        "binance-coinm",
        "bitmex",
        "hyperliquid",
        "dydx-v4",
        "drift",
        "aave-v3",
        "deribit",
    ] {
        for mode in ["isolated", "cross"] {
            let o = levsim(&[
                "margin", "--venue", venue, "--side", "long", "--qty", "10", "--entry", "100",
                "--wallet", "0.5", "--mode", mode, "--json",
            ]);
            let v = json_of(&o);
            assert!(
                v["maintenance_margin"].as_f64().unwrap() > 0.0,
                "{venue} {mode}"
            );
        }
    }
    let v = json_of(&levsim(&[
        "margin", "--venue", "aave-v3", "--symbol", "ETH", "--side", "long", "--qty", "5",
        "--entry", "2000", "--mark", "1900", "--wallet", "1800", "--json",
    ]));
    assert!(v["health_factor"].as_f64().unwrap() < 1.0);
    assert!(
        v["max_repay"].as_f64().unwrap() > 0.0 && v["collateral_seized"].as_f64().unwrap() > 0.0
    );
}

/// BIN-1 [V-3p] end to end: a cross account with a BTCUSDT and an ETHUSDT
/// position, each under its own bracket table; the ETH liquidation price is
/// 1,153.26 (tolerance 0.005).
#[test]
fn margin_calculator_bin_1_cross_account() {
    let tmp = tempfile::tempdir().unwrap();
    let acct = tmp.path().join("bin1.json");
    // BTC mark from its mark notional 3,500,032.458 over 109.488 BTC.
    let btc_mark = 3_500_032.458 / 109.488;
    std::fs::write(
        &acct,
        format!(
            r#"{{"collateral": 1535443.01, "mode": "cross", "positions": [
                {{"instrument": "ETHUSDT", "side": "long", "size": 3683.979, "entry": 1456.84}},
                {{"instrument": "BTCUSDT", "side": "long", "size": 109.488, "entry": 32481.98, "mark": {btc_mark}}}]}}"#
        ),
    )
    .unwrap();
    let v = json_of(&levsim(&[
        "margin",
        "--venue",
        "binance-usdm",
        "--account",
        acct.to_str().unwrap(),
        "--json",
    ]));
    let lp = v["positions"][0]["liquidation_price"].as_f64().unwrap();
    assert!((lp - 1_153.26).abs() < 0.005, "BIN-1: {lp}");
    // The BTC position's maintenance: 3,500,032.458 · 2.5 % − 16,300.
    let mm_btc = v["positions"][1]["maintenance_margin"].as_f64().unwrap();
    assert!((mm_btc - 71_200.811_44).abs() < 1e-4, "{mm_btc}");
}

#[test]
fn margin_calculator_names_the_bad_flag() {
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "--venue",
                "binance-usdm",
                "--side",
                "long",
                "--qty",
                "-1",
                "--entry",
                "50000",
                "--leverage",
                "5",
            ],
            "--qty",
        ),
        (
            &[
                "--venue",
                "binance-usdm",
                "--side",
                "long",
                "--qty",
                "1",
                "--entry",
                "50000",
                "--leverage",
                "200",
            ],
            "--leverage",
        ),
        (
            &[
                "--venue",
                "kraken",
                "--side",
                "long",
                "--qty",
                "1",
                "--entry",
                "50000",
                "--leverage",
                "2",
            ],
            "--venue",
        ),
        (
            &[
                "--venue",
                "binance-usdm",
                "--side",
                "up",
                "--qty",
                "1",
                "--entry",
                "50000",
                "--leverage",
                "2",
            ],
            "--side",
        ),
    ];
    for (args, flag) in cases {
        let mut all = vec!["margin"];
        all.extend_from_slice(args);
        let o = levsim(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(flag), "{flag}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
}

#[test]
fn venues_are_listed_and_shown() {
    let o = levsim(&["venues"]);
    let text = String::from_utf8_lossy(&o.stdout);
    for v in [
        "binance-usdm",
        "binance-coinm",
        "bitmex",
        "hyperliquid",
        "dydx-v4",
        "drift",
        "aave-v3",
        "deribit",
    ] {
        assert!(text.contains(v), "{v} missing from {text}");
    }
    let o = levsim(&["venues", "show", "hyperliquid"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("leverage_tiers"));
    assert_eq!(levsim(&["venues", "show", "nope"]).status.code(), Some(2));
}

#[test]
fn one_scenario_under_two_venues_shows_the_difference() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let o = levsim(&[
        "run",
        "scenarios/black-thursday-2020-venues.toml",
        "--out",
        dir.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value = read_json(&dir.join("summary.json"));
    let runs = s["runs"].as_array().unwrap();
    let get = |id: &str| runs.iter().find(|r| r["run_id"] == id).unwrap()["metrics"].clone();
    let (bn, hl) = (
        get("binance/static[leverage=10]"),
        get("hyperliquid/static[leverage=10]"),
    );
    // Each venue liquidates at its own price and in its own steps: Binance
    // cuts the 500k position to its 250k bracket cap, Hyperliquid by 20 %:
    // one liquidation event in several orders.
    assert_ne!(bn["liquidation_price"], hl["liquidation_price"]);
    assert_eq!(hl["liquidations"].as_u64(), Some(1), "{hl}");
    assert!(hl["liquidation_tranches"].as_u64().unwrap() > 1, "{hl}");
    let first = |id: &str| {
        runs.iter().find(|r| r["run_id"] == id).unwrap()["liquidation_events"][0].clone()
    };
    let (b0, h0) = (
        first("binance/static[leverage=10]"),
        first("hyperliquid/static[leverage=10]"),
    );
    let f = |e: &serde_json::Value, k: &str| e[k].as_f64().unwrap();
    assert!(
        (f(&b0, "remaining_qty") * f(&b0, "fill_price") - 250_000.0).abs() < 1e-6,
        "{b0}"
    );
    let q = f(&h0, "qty") + f(&h0, "remaining_qty");
    assert!((f(&h0, "qty") - 0.2 * q).abs() < 1e-9, "{h0}");
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("Venue binance") && md.contains("Venue hyperliquid"));
}

/// One process, three shards merged, and two threads give identical
/// results (row for row; results.parquet byte for byte); a missing shard is
/// refused.
#[test]
fn shards_merge_into_the_single_run_report() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = tmp.path().join("g.toml");
    std::fs::write(
        &sc,
        "name = \"g\"\nseed = 3\n[market]\nkind = \"gbm\"\nsigma = 0.9\ndt = \"1h\"\nhorizon = \"3d\"\npaths = 30\nstart_price = 100.0\n\
         [venue]\nprofile = \"binance-usdm\"\nmaintenance_rate = 0.005\n[account]\ncapital = 1000.0\nside = \"long\"\n\
         [[policy]]\nkind = \"static\"\nleverage = [5, 20]\n[[policy]]\nkind = \"constant_leverage\"\nleverage = [3]\n",
    )
    .unwrap();
    let s = sc.to_str().unwrap();
    let single = tmp.path().join("single");
    let o = levsim(&[
        "run",
        s,
        "--out",
        single.to_str().unwrap(),
        "--quiet",
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let two = tmp.path().join("two");
    let o = levsim(&[
        "run",
        s,
        "--out",
        two.to_str().unwrap(),
        "--quiet",
        "--threads",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let shards = tmp.path().join("shards");
    for i in 0..3 {
        let o = levsim(&[
            "run",
            s,
            "--shard",
            &format!("{i}/3"),
            "--out",
            shards.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(shards
            .join(format!("shard-{i:05}-of-00003.parquet"))
            .exists());
    }
    let merged = tmp.path().join("merged");
    let o = levsim(&[
        "merge",
        shards.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs = |d: &Path| {
        let v = read_json(&d.join("summary.json"));
        (v["runs"].clone(), v["aggregates"].clone())
    };
    assert_eq!(runs(&single), runs(&merged));
    assert_eq!(runs(&single), runs(&two));
    let bytes = |d: &Path| std::fs::read(d.join("results.parquet")).unwrap();
    assert_eq!(bytes(&single), bytes(&merged));
    assert_eq!(bytes(&single), bytes(&two));
    // A missing shard, or a bad shard spec, is bad input.
    std::fs::remove_file(shards.join("shard-00001-of-00003.json")).unwrap();
    let o = levsim(&[
        "merge",
        shards.to_str().unwrap(),
        "--out",
        tmp.path().join("m2").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("missing shard(s) [1] of 3"),
        "{}",
        stderr(&o)
    );
    assert_eq!(levsim(&["run", s, "--shard", "3/3"]).status.code(), Some(2));
}

/// `levsim optimize`: one JSON line per policy with the documented keys, the
/// frontier and candidates written with --out, and bad arguments exit 2.
#[test]
fn optimize_prints_json_and_writes_the_frontier() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = tmp.path().join("o.toml");
    std::fs::write(
        &sc,
        "name = \"o\"\nseed = 2\n[market]\nkind = \"gbm\"\nsigma = 0.8\ndt = \"1h\"\nhorizon = \"2d\"\npaths = 300\nstart_price = 100.0\n\
         [venue]\nprofile = \"binance-usdm\"\nmaintenance_rate = 0.005\n[account]\ncapital = 1000.0\nside = \"long\"\n\
         [[policy]]\nkind = \"static\"\nleverage = { min = 1.0, max = 30.0 }\n",
    )
    .unwrap();
    let out = tmp.path().join("opt");
    let o = levsim(&[
        "optimize",
        sc.to_str().unwrap(),
        "--constraint",
        "p_liquidation <= 0.05",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line = String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    for k in [
        "policy",
        "best_params",
        "objective",
        "p_liquidation",
        "p_liquidation_ci",
        "evaluated",
    ] {
        assert!(v.get(k).is_some(), "missing {k}: {line}");
    }
    assert!(v["p_liquidation"].as_f64().unwrap() <= 0.05);
    for f in [
        "optimize.json",
        "optimize.md",
        "frontier.svg",
        "frontier.png",
    ] {
        assert!(out.join(f).metadata().unwrap().len() > 0, "{f}");
    }
    let o = levsim(&[
        "optimize",
        sc.to_str().unwrap(),
        "--constraint",
        "sharpe >= 1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--constraint"), "{}", stderr(&o));

    // An expected-shortfall bound over a shorter --horizon: the frontier's
    // axis is the bound's measure, the run is recorded as a variant, and a
    // shorter horizon allows at least as much leverage.
    let es = tmp.path().join("es");
    let o = levsim(&[
        "optimize",
        sc.to_str().unwrap(),
        "--constraint",
        "expected_shortfall_5pct <= 40",
        "--horizon",
        "6h",
        "--json",
        "--out",
        es.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let opt = read_json(&es.join("optimize.json"));
    assert_eq!(opt["horizon"], "6h");
    let svg = std::fs::read_to_string(es.join("frontier.svg")).unwrap();
    assert!(svg.contains("expected shortfall"), "frontier axis");
    let long = read_json(&out.join("optimize.json"));
    assert_ne!(opt["scenario_sha256"], long["scenario_sha256"]);
    let line = String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let es_lev = v["best_params"]["leverage"].as_f64().unwrap();
    let o = levsim(&[
        "optimize",
        sc.to_str().unwrap(),
        "--constraint",
        "expected_shortfall_5pct <= 40",
        "--json",
        "--out",
        tmp.path().join("es2d").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line = String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let full_lev = v["best_params"]["leverage"].as_f64().unwrap();
    assert!(es_lev > full_lev, "6h: {es_lev}x, 2d: {full_lev}x");
    let o = levsim(&["optimize", sc.to_str().unwrap(), "--horizon", "soon"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--horizon"), "{}", stderr(&o));
}

/// `levsim report DIR` rebuilds the pages from the directory's own files,
/// byte for byte; `levsim optimize --out DIR` folds its recommendations
/// into that report; a stale optimize.json, a missing directory and a
/// changed data file are each refused or reported by name.
#[test]
fn report_rebuilds_from_its_files_and_takes_optimize_recommendations() {
    let tmp = tempfile::tempdir().unwrap();
    // A copy of the bundled file, to change later.
    let data = tmp.path().join("bt.csv.gz");
    std::fs::copy(
        root().join("data/binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz"),
        &data,
    )
    .unwrap();
    let sc = tmp.path().join("r.toml");
    std::fs::write(
        &sc,
        format!(
            "name = \"r\"\nseed = 3\n[market]\nkind = \"bootstrap\"\nfile = \"{}\"\nformat = \"binance-klines\"\n\
             start = \"2020-03-11T00:00:00Z\"\nend = \"2020-03-13T00:00:00Z\"\nhorizon = \"1d\"\nblock = \"1h\"\npaths = 200\n\
             symbol = \"BTCUSDT\"\n[venue]\nprofile = \"binance-usdm\"\n[account]\ncapital = 1000.0\nside = \"long\"\n\
             [[policy]]\nkind = \"static\"\nleverage = [2, 5, 10, 20]\n",
            data.display()
        ),
    )
    .unwrap();
    let out = tmp.path().join("rep");
    let o = levsim(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pages = [
        "index.html",
        "summary.md",
        "charts/ecdf.svg",
        "charts/price.svg",
        "manifest.json",
    ];
    let before: Vec<Vec<u8>> = pages
        .iter()
        .map(|p| std::fs::read(out.join(p)).unwrap())
        .collect();
    // The pages go; manifest.json (an input of the rebuild) is rewritten.
    for p in &pages[..4] {
        std::fs::remove_file(out.join(p)).unwrap();
    }
    let o = levsim(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for (p, b) in pages.iter().zip(&before) {
        assert!(
            std::fs::read(out.join(p)).unwrap() == *b,
            "{p} differs after the rebuild"
        );
    }

    // optimize into the report directory: the report shows its choice. (A
    // bound that holds with 95 % confidence for some leverage on 200
    // bootstrapped crash days.)
    let o = levsim(&[
        "optimize",
        sc.to_str().unwrap(),
        "--constraint",
        "p_liquidation <= 0.2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("rebuilt"), "{}", stderr(&o));
    let opt = read_json(&out.join("optimize.json"));
    let best = opt["policies"][0]["best_params"]["leverage"]
        .as_f64()
        .unwrap();
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Recommended by levsim optimize"));
    assert!(
        html.contains(&format!("{{&quot;leverage&quot;:{best:?}}}")),
        "best {best} not in the report"
    );
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("Recommended by `levsim optimize`"));

    // An optimize.json from another scenario text is left out, with a note.
    let mut stale = opt.clone();
    stale["scenario_sha256"] = "0".repeat(64).into();
    std::fs::write(out.join("optimize.json"), stale.to_string()).unwrap();
    let o = levsim(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(!html.contains("Recommended by levsim optimize"));
    assert!(html.contains("another version of the scenario"));

    // Not a report; a changed input.
    let o = levsim(&["report", tmp.path().join("nope").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a levsim report"), "{}", stderr(&o));
    let mut bytes = std::fs::read(&data).unwrap();
    bytes.push(b'\n');
    std::fs::write(&data, bytes).unwrap();
    let o = levsim(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("bt.csv.gz") && e.contains("changed since"),
        "{e}"
    );
}

/// A run made with relative paths (`levsim run scenarios/x.toml` in a
/// project directory, writing `reports/x`) is rebuilt from any working
/// directory, byte for byte: the manifest records where the run was made,
/// relative to the report, and keeps the run's provenance.
#[test]
fn report_rebuilds_from_another_working_directory() {
    let tail =
        "symbol = \"BTCUSDT\"\n[venue]\nprofile = \"binance-usdm\"\n[account]\ncapital = 1000.0\n\
                side = \"long\"\n[[policy]]\nkind = \"static\"\nleverage = [5, 20]\n";
    // History, and a bootstrap of it (whose generator names the file too).
    let markets = [
        "kind = \"historical\"\nstart = \"2020-03-12T00:00:00Z\"\nend = \"2020-03-12T12:00:00Z\"\n",
        "kind = \"bootstrap\"\nstart = \"2020-03-11T00:00:00Z\"\nend = \"2020-03-13T00:00:00Z\"\n\
         horizon = \"6h\"\nblock = \"1h\"\npaths = 20\n",
    ];
    for market in markets {
        let tmp = tempfile::tempdir().unwrap();
        let project = tmp.path().join("project");
        std::fs::create_dir_all(project.join("scenarios")).unwrap();
        std::fs::create_dir_all(project.join("data")).unwrap();
        std::fs::copy(
            root().join("data/binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz"),
            project.join("data/bt.csv.gz"),
        )
        .unwrap();
        std::fs::write(
            project.join("scenarios/w.toml"),
            format!(
                "name = \"w\"\nseed = 5\n[market]\n{market}file = \"data/bt.csv.gz\"\n\
                 format = \"binance-klines\"\n{tail}"
            ),
        )
        .unwrap();
        let o = levsim_in(&project, &["run", "scenarios/w.toml", "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = project.join("reports/w");
        let manifest = read_json(&out.join("manifest.json"));
        assert_eq!(manifest["run_root"], "../..");
        assert_eq!(manifest["scenario_file"], "scenarios/w.toml");
        assert_eq!(manifest["data_files"][0]["path"], "data/bt.csv.gz");
        let pages = [
            "index.html",
            "summary.md",
            "charts/price.svg",
            "manifest.json",
        ];
        let before: Vec<Vec<u8>> = pages
            .iter()
            .map(|p| std::fs::read(out.join(p)).unwrap())
            .collect();
        for p in &pages[..3] {
            std::fs::remove_file(out.join(p)).unwrap();
        }
        // From the parent of the project, and from inside the report itself.
        for (cwd, arg) in [(tmp.path(), "project/reports/w"), (&out, ".")] {
            let o = levsim_in(cwd, &["report", arg]);
            assert!(o.status.success(), "from {}: {}", cwd.display(), stderr(&o));
            for (p, b) in pages.iter().zip(&before) {
                assert!(
                    std::fs::read(out.join(p)).unwrap() == *b,
                    "{p} differs after the rebuild from {} ({market})",
                    cwd.display()
                );
            }
        }
    }
}

/// A venue of one's own: `levsim venues export` writes a preset as a
/// profile file; a scenario and `levsim margin --profile` that name the
/// file give exactly what the preset gives (round trip); an edited file
/// changes the results; a broken or missing one is named, exit 2.
#[test]
fn a_profile_file_round_trips_and_its_edits_count() {
    let tmp = tempfile::tempdir().unwrap();
    let o = levsim(&["venues", "export", "binance-usdm"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let exported = String::from_utf8(o.stdout).unwrap();
    let own = tmp.path().join("mine.toml");
    std::fs::write(&own, &exported).unwrap();
    let base = std::fs::read_to_string(root().join("scenarios/black-thursday-2020.toml")).unwrap();
    let results = |profile: &str, name: &str| -> Vec<(String, f64, u64)> {
        let text = base
            .replace(
                "profile = \"binance-usdm\"",
                &format!("profile = {profile:?}"),
            )
            .replace(
                "name = \"black-thursday-2020\"",
                &format!("name = \"{name}\""),
            );
        let sc = tmp.path().join(format!("{name}.toml"));
        std::fs::write(&sc, text).unwrap();
        let out = tmp.path().join(name);
        let o = levsim(&["run", sc.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        read_json(&out.join("summary.json"))["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["policy"].as_str().unwrap_or("").to_string() + &r["params"].to_string(),
                    r["metrics"]["final_equity"].as_f64().unwrap(),
                    r["metrics"]["liquidations"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let preset = results("binance-usdm", "preset");
    let file = results(own.to_str().unwrap(), "file");
    assert_eq!(preset, file);
    // Double the maintenance rates: the 10x long is liquidated sooner and
    // keeps a different equity.
    let stricter = exported
        .replace("mmr = 0.004", "mmr = 0.008")
        .replace("mmr = 0.005 }", "mmr = 0.01 }");
    let edited = tmp.path().join("stricter.toml");
    std::fs::write(&edited, stricter).unwrap();
    assert_ne!(results(edited.to_str().unwrap(), "edited"), preset);
    // The calculator: the same answer from the preset and from its file.
    let args = [
        "--side",
        "long",
        "--qty",
        "1",
        "--entry",
        "50000",
        "--leverage",
        "10",
        "--json",
    ];
    let by_name = levsim(&[&["margin", "--venue", "binance-usdm"][..], &args[..]].concat());
    let by_file = levsim(
        &[
            &["margin", "--profile", own.to_str().unwrap()][..],
            &args[..],
        ]
        .concat(),
    );
    assert!(by_name.status.success() && by_file.status.success());
    assert_eq!(by_name.stdout, by_file.stdout);
    // A broken file, a missing one, an unknown preset to export.
    let broken = tmp.path().join("broken.toml");
    std::fs::write(
        &broken,
        exported.replace("taker_fee = 0.0004", "taker_fee = \"x\""),
    )
    .unwrap();
    let o = levsim(
        &[
            &["margin", "--profile", broken.to_str().unwrap()][..],
            &args[..],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("--profile") && e.contains("broken.toml") && e.contains("taker_fee"),
        "{e}"
    );
    let o = levsim(
        &[
            &["margin", "--profile", "/nonexistent/x.toml"][..],
            &args[..],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no such file"));
    assert_eq!(levsim(&["venues", "export", "nope"]).status.code(), Some(2));
    let text = base.replace(
        "profile = \"binance-usdm\"",
        "profile = \"venues/none.toml\"",
    );
    let sc = tmp.path().join("missing.toml");
    std::fs::write(&sc, text).unwrap();
    let o = levsim(&["run", sc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("venue.profile: venues/none.toml not found"),
        "{}",
        stderr(&o)
    );
}
