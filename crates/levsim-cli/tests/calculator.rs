//! The calculator reproduces the published examples of SPEC §11 from the
//! command line (`--json`), one test per vector family. Expected numbers
//! are the spec's (venue tests, documentation, or derivations stated
//! there), with the tolerances named in each assertion.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `levsim ARGS` in `cwd`: exit code, stdout as JSON (null when not), stderr.
fn levsim(cwd: &Path, args: &[&str]) -> (i32, Value, String) {
    let o = common::levsim_in(cwd, args);
    let err = common::stderr(&o);
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), v, err)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn close(got: &Value, want: f64, tol: f64, what: &str) {
    let g = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: no number in {got}"));
    assert!(
        (g - want).abs() <= tol,
        "{what}: got {g}, want {want} ± {tol}"
    );
}

/// dYdX's test perpetual "BtcUsd_20PercentInitial_10PercentMaintenance"
/// (IMF 20 %, MF 50 %) at oracle 50,000, 0.1 BTC long, default config
/// (BA 1, SMMR 0.1, fee cap 0.5 %): DYDX-FP-1..3, FP-5, BP-1, IF-1..2.
#[test]
fn dydx_fillable_price_and_insurance_fund_delta() {
    let tmp = tempfile::tempdir().unwrap();
    let acct = |usdc_less_cost: f64| {
        format!(
            "{{\"collateral\": {usdc_less_cost}, \"mode\": \"cross\", \"positions\": [{{\"instrument\": \"BTC-USD\", \"side\": \"long\", \"size\": 0.1, \"entry\": 50000}}]}}"
        )
    };
    // USDC −4,501 against a 5,000 position: TNC 499.
    let f = write(tmp.path(), "fp.json", &acct(499.0));
    let base = [
        "margin",
        "--venue",
        "dydx-v4",
        "--account",
        f.to_str().unwrap(),
        "--oracle",
        "50000",
        "--set",
        "imf=0.2",
        "--set",
        "mf=0.5",
        "--json",
    ];
    for (extra, want, id) in [
        (vec![], 49_999.0, "DYDX-FP-1"),
        (
            vec!["--set", "bankruptcy_adjustment=2"],
            49_998.0,
            "DYDX-FP-2",
        ),
        (vec!["--set", "spread_to_mmr=0.2"], 49_998.0, "DYDX-FP-3"),
    ] {
        let args: Vec<&str> = base.iter().copied().chain(extra).collect();
        let (code, v, err) = levsim(tmp.path(), &args);
        assert_eq!(code, 0, "{id}: {err}");
        close(&v["fillable_price"], want, 1e-6, id);
        close(&v["positions"][0]["fillable_price"], want, 1e-6, id);
    }
    // TNC 0: 49,500 whatever the size.
    for size in ["0.1", "0.05"] {
        let f = write(
            tmp.path(),
            "fp5.json",
            &acct(0.0).replace("\"size\": 0.1", &format!("\"size\": {size}")),
        );
        let mut args = base.to_vec();
        args[4] = f.to_str().unwrap();
        // TNC 0 at either size: the limit is the oracle less SMMR · MMR / size.
        let (_, v, err) = levsim(tmp.path(), &args);
        close(
            &v["fillable_price"],
            49_500.0,
            1e-6,
            &format!("DYDX-FP-5 size {size}: {err}"),
        );
    }
    // TNC −100: bankruptcy at 51,000; a sell at 56,100 pays the fund
    // 28.05 (0.5 % cap), 140.25 with a 2.5 % cap.
    let f = write(tmp.path(), "bp.json", &acct(-100.0));
    let mut args = base.to_vec();
    args[4] = f.to_str().unwrap();
    args.extend(["--fill-price", "56100"]);
    let (code, v, err) = levsim(tmp.path(), &args);
    assert_eq!(code, 0, "{err}");
    close(&v["bankruptcy_price"], 51_000.0, 1e-6, "DYDX-BP-1");
    close(&v["insurance_fund_delta"], 28.05, 1e-9, "DYDX-IF-1");
    close(
        &v["positions"][0]["insurance_fund_delta"],
        28.05,
        1e-9,
        "DYDX-IF-1",
    );
    args.extend(["--set", "max_liquidation_fee=0.025"]);
    let (_, v, _) = levsim(tmp.path(), &args);
    close(&v["insurance_fund_delta"], 140.25, 1e-9, "DYDX-IF-2");
    // An unknown key is an error naming it.
    let (code, _, err) = levsim(
        tmp.path(),
        &[
            "margin",
            "--venue",
            "dydx-v4",
            "--account",
            f.to_str().unwrap(),
            "--set",
            "imff=0.2",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("--set imff") && err.contains("no parameter \"imff\""),
        "{err}"
    );
    // A value outside its meaning is refused by the key it came in.
    for (kv, want) in [
        (
            "taker_fee=0.5",
            "--set taker_fee: must be in [0, 0.1), got 0.5",
        ),
        ("imf=0", "--set imf: must be in (0, 1], got 0"),
        (
            "spread_to_mmr=inf",
            "--set spread_to_mmr: must be a finite number",
        ),
    ] {
        let (code, _, err) = levsim(
            tmp.path(),
            &[
                "margin",
                "--venue",
                "dydx-v4",
                "--account",
                f.to_str().unwrap(),
                "--set",
                kv,
            ],
        );
        assert_eq!(code, 2, "{kv}");
        assert!(err.contains(want), "{kv}: {err}");
    }
    let (code, _, err) = levsim(
        tmp.path(),
        &[
            "margin",
            "--venue",
            "binance-usdm",
            "--side",
            "long",
            "--qty",
            "1",
            "--entry",
            "100",
            "--leverage",
            "2",
            "--fill-price",
            "90",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("--fill-price"), "{err}");
}

/// Drift's base to cover a shortage and insurance-fund fee: DRIFT-BASE-1..3
/// (shortage $10, MR 10 %, price $100) and DRIFT-IF-1 (shortage $20, base
/// 10, price 100, MR 5 %, liquidator fee 1 %, IF cap 5 %), with the buffer
/// set to 0 so that the maintenance ratio is the vector's MR.
#[test]
fn drift_base_to_cover_and_insurance_fee() {
    let tmp = tempfile::tempdir().unwrap();
    // 10 SOL long at 100 in a cross account of 90: requirement 100
    // (MR 10 %), collateral 90, shortage 10.
    let run = |mr: &str, wallet: &str, liq: &str, iff: &str, quote: &str| {
        levsim(
            tmp.path(),
            &[
                "margin",
                "--venue",
                "drift",
                "--symbol",
                "SOL-PERP",
                "--side",
                "long",
                "--qty",
                "10",
                "--entry",
                "100",
                "--mode",
                "cross",
                "--wallet",
                wallet,
                "--set",
                &format!("mm={mr}"),
                "--set",
                &format!("liquidator_fee={liq}"),
                "--set",
                &format!("if_liquidation_fee={iff}"),
                "--set",
                "liquidation_margin_buffer=0",
                "--quote-price",
                quote,
                "--json",
            ],
        )
    };
    for (liq, iff, want, id) in [
        ("0", "0", 1.0, "DRIFT-BASE-1"),
        ("0.01", "0", 10.0 / 9.0, "DRIFT-BASE-2"),
        ("0.01", "0.01", 1.25, "DRIFT-BASE-3"),
    ] {
        let (code, v, err) = run("0.1", "90", liq, iff, "1");
        assert_eq!(code, 0, "{id}: {err}");
        close(&v["margin_shortage"], 10.0, 1e-9, id);
        close(&v["base_to_cover"], want, 1e-8, id);
    }
    // DRIFT-IF-1: MR 5 % of 1,000 = 50, shortage 20 → collateral 30.
    let (_, v, _) = run("0.05", "30", "0.01", "0.05", "1");
    close(&v["if_fee"], 0.019, 1e-12, "DRIFT-IF-1");
    // DRIFT-IF-3: a $1,000 shortage leaves no room for the fee.
    let (_, v, _) = run("0.05", "-950", "0.01", "0.05", "1");
    close(&v["if_fee"], 0.0, 0.0, "DRIFT-IF-3");
    // The quote price scales the liquidator's side of the formula:
    // 10 / (100·0.5·0.1) = 2 base at a quote price of 0.5.
    let (_, v, _) = run("0.1", "90", "0", "0", "0.5");
    close(&v["base_to_cover"], 2.0, 1e-9, "quote price 0.5");
}

/// Aave with the example's liquidation threshold: AAVE-HF-1 ($10,000 ETH,
/// LT 80 %, $6,000 debt: HF 1.333) and AAVE-LIQ-1 (5 WETH at 2,000, LT
/// 80 %, debt 8,200, bonus 5 %, protocol fee 10 %).
#[test]
fn aave_liquidation_call_with_the_published_threshold() {
    let tmp = tempfile::tempdir().unwrap();
    // Debt = size · entry − margin: 5 · 2,000 − wallet.
    let aave = |wallet: &str| {
        levsim(
            tmp.path(),
            &[
                "margin",
                "--venue",
                "aave-v3",
                "--symbol",
                "ETH",
                "--side",
                "long",
                "--qty",
                "5",
                "--entry",
                "2000",
                "--wallet",
                wallet,
                "--set",
                "liquidation_threshold=0.8",
                "--json",
            ],
        )
    };
    let (code, v, err) = aave("1800");
    assert_eq!(code, 0, "{err}");
    close(&v["health_factor"], 0.975_609_756, 1e-8, "AAVE-LIQ-1 HF");
    close(&v["max_repay"], 4_100.0, 1e-9, "AAVE-LIQ-1 repay");
    close(&v["collateral_seized"], 2.1525, 1e-12, "AAVE-LIQ-1 seized");
    close(&v["protocol_fee"], 0.01025, 1e-12, "AAVE-LIQ-1 fee");
    close(&v["to_liquidator"], 2.14225, 1e-12, "AAVE-LIQ-1 liquidator");
    close(
        &v["health_factor_after"],
        1.1112,
        5e-5,
        "AAVE-LIQ-1 HF after",
    );
    assert!(
        v["overrides"]
            .to_string()
            .contains("liquidation_threshold = 0.8"),
        "{v}"
    );
    let (_, v, _) = aave("4000");
    close(&v["health_factor"], 4.0 / 3.0, 1e-9, "AAVE-HF-1");
}

/// SPAN-1: McMillan's long S&P future (PSR $10,000, extreme $7,000 as
/// published) needs $10,000; a spread of a long and a short future needs
/// nothing; PM-1: a delta-neutral perp and two short calls need 2,960.
#[test]
fn span_scanning_risk_and_greek_margin() {
    let tmp = tempfile::tempdir().unwrap();
    let arr =
        "[0,0,3330,3330,-3330,-3330,6670,6670,-6670,-6670,10000,10000,-10000,-10000,7000,-7000]";
    let f = write(
        tmp.path(),
        "span.json",
        &format!(
            "{{\"positions\": [{{\"instrument\": \"ES\", \"size\": 1, \"risk_array\": {arr}}}]}}"
        ),
    );
    let (code, v, err) = levsim(
        tmp.path(),
        &[
            "margin",
            "--venue",
            "span",
            "--account",
            f.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    close(&v["scanning_risk"], 10_000.0, 0.0, "SPAN-1");
    let span = |name: &str, positions: &str| {
        let f = write(tmp.path(), name, &format!("{{\"positions\": {positions}}}"));
        levsim(
            tmp.path(),
            &[
                "margin",
                "--venue",
                "span",
                "--account",
                f.to_str().unwrap(),
                "--json",
            ],
        )
        .1
    };
    let v = span(
        "hedged.json",
        &format!(
            "[{{\"size\": 2, \"risk_array\": {arr}}}, {{\"size\": -2, \"risk_array\": {arr}}}]"
        ),
    );
    close(&v["scanning_risk"], 0.0, 0.0, "hedged");
    let v = span(
        "short.json",
        &format!("[{{\"size\": -3, \"risk_array\": {arr}}}]"),
    );
    close(&v["scanning_risk"], 30_000.0, 0.0, "three short futures");
    let bad = write(
        tmp.path(),
        "bad.json",
        "{\"positions\": [{\"risk_array\": [1, 2]}]}",
    );
    let (code, _, err) = levsim(
        tmp.path(),
        &[
            "margin",
            "--venue",
            "span",
            "--account",
            bad.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("positions[0].risk_array: needs 16 scenario values, got 2"),
        "{err}"
    );

    let pm = write(
        tmp.path(),
        "pm1.json",
        "{\"spot\": 50000, \"vol_moves\": [-10, 10], \"positions\": [{\"instrument\": \"BTC-PERP\", \"size\": 1, \"delta\": 1}, {\"instrument\": \"C\", \"size\": -2, \"delta\": 0.5, \"gamma\": 4e-5, \"vega\": 20}]}",
    );
    let (code, v, err) = levsim(
        tmp.path(),
        &[
            "margin",
            "--venue",
            "greek-pm",
            "--account",
            pm.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    close(&v["maintenance_margin"], 2_960.0, 1e-9, "PM-1");
    close(
        &v["worst_vol_move"],
        10.0,
        0.0,
        "PM-1 binding volatility move",
    );
}

/// The ADL queue: scores given or computed (BMX-ADL-2's ranking 0.57895
/// from its values), highest first, each account closed in full before the
/// next, at the given price.
#[test]
fn adl_allocates_the_queue_by_score() {
    let tmp = tempfile::tempdir().unwrap();
    // Account "bmx" is BMX-ADL-2's long: 10 units entered at 100, marked
    // at 110, bankrupt at 91 (wallet 90): ranking 0.578947.
    let f = write(
        tmp.path(),
        "queue.json",
        r#"[{"account": "a", "qty": 3, "score": 0.5},
            {"account": "b", "qty": 2, "score": 1.5},
            {"account": "bmx", "qty": 10, "entry": 100, "wallet": 90, "mark": 110},
            {"account": 4, "qty": 1, "score": 0.5}]"#,
    );
    let adl = |side: &str, qty: &str, price: &str| {
        levsim(
            tmp.path(),
            &[
                "adl",
                "--venue",
                "bitmex",
                "--positions",
                f.to_str().unwrap(),
                "--side",
                side,
                "--qty",
                qty,
                "--price",
                price,
                "--json",
            ],
        )
    };
    let (code, v, err) = adl("short", "13.5", "111.5");
    assert_eq!(code, 0, "{err}");
    let queue = v["queue"].as_array().unwrap();
    close(&queue[1]["score"], 0.578_947_368, 1e-8, "BMX-ADL-2 ranking");
    let fills: Vec<(String, f64)> = v["fills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            close(&f["price"], 111.5, 0.0, "fill price");
            (f["account"].to_string(), f["qty"].as_f64().unwrap())
        })
        .collect();
    assert_eq!(
        fills,
        vec![
            ("\"b\"".into(), 2.0),
            ("\"bmx\"".into(), 10.0),
            ("\"a\"".into(), 1.5)
        ]
    );
    close(&v["unfilled"], 0.0, 0.0, "unfilled");
    // Equal scores keep the file's order; a queue too short leaves the rest.
    let (_, v, _) = adl("short", "100", "111.5");
    let order: Vec<String> = v["fills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["account"].to_string())
        .collect();
    assert_eq!(order, ["\"b\"", "\"bmx\"", "\"a\"", "4"]);
    close(&v["unfilled"], 84.0, 1e-9, "unfilled");
    let (code, _, err) = adl("up", "1", "1");
    assert_eq!(code, 2);
    assert!(err.contains("--side"), "{err}");
}

fn v_positions(v: &Value) -> Vec<Value> {
    v["positions"].as_array().cloned().unwrap_or_default()
}

/// The options calculator contract: `levsim margin --venue deribit
/// --account FILE --chain CHAIN --json` prices each option at the chain's
/// mark_iv and underlying_price; its mark (coin) and delta equal Deribit's
/// own (the chain's mark_price and greeks, an outside oracle); the short
/// options' standard maintenance follows SPEC §8.2 from those marks; bad
/// names, unlisted or expired options and broken chain rows exit 2 by
/// field.
#[test]
fn options_are_priced_from_the_chain_with_three_margins() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::root();
    let chain = root.join("data/deribit_btc_option_chain_2020-05-14.csv.gz");
    let acct = write(
        tmp.path(),
        "book.json",
        r#"{"positions": [
            {"instrument": "BTC-26JUN20-10000-C", "size": -2},
            {"instrument": "BTC-26JUN20-8000-P", "size": -1},
            {"instrument": "BTC-25SEP20-12000-C", "size": 3}
        ]}"#,
    );
    let args = |a: &Path| {
        vec![
            "margin".to_string(),
            "--venue".into(),
            "deribit".into(),
            "--account".into(),
            a.display().to_string(),
            "--chain".into(),
            chain.display().to_string(),
            "--json".into(),
        ]
    };
    let run = |a: &Path| {
        let v = args(a);
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        levsim(tmp.path(), &refs)
    };
    let (code, v, err) = run(&acct);
    assert_eq!(code, 0, "{err}");
    let book = levsim_data::load_chain(&chain).unwrap();
    let mut standard_mm = 0.0;
    for p in v["positions"].as_array().unwrap() {
        let name = p["instrument"].as_str().unwrap();
        let row = book.get(name).unwrap();
        close(&p["mark"], row.mark_price, 2e-4, &format!("{name} mark"));
        close(
            &p["delta"],
            row.greeks["delta"],
            2e-4,
            &format!("{name} delta"),
        );
        close(
            &p["vega"],
            row.greeks["vega"],
            2e-3 * row.greeks["vega"],
            &format!("{name} vega"),
        );
        let size = p["size"].as_f64().unwrap();
        if size < 0.0 {
            let mark = row.mark_price;
            let mm = if name.ends_with("-C") {
                0.075 + mark
            } else {
                (0.075f64).max(0.075 * mark) + mark
            };
            standard_mm += -size * mm;
        }
    }
    close(
        &v["margin"]["standard"]["maintenance"],
        standard_mm,
        1e-3,
        "standard maintenance",
    );
    for m in ["standard", "greek", "portfolio"] {
        for k in ["initial", "maintenance"] {
            assert!(v["margin"][m][k].as_f64().unwrap() > 0.0, "margin.{m}.{k}");
        }
    }
    // Bad input, by field, exit 2.
    for (text, want) in [
        (
            r#"{"positions": [{"instrument": "BTC-26JUN20-10000-X", "size": 1}]}"#,
            "positions[0].instrument",
        ),
        (
            r#"{"positions": [{"instrument": "BTC-26JUN20-10001-C", "size": 1}]}"#,
            "is not in the chain",
        ),
        (
            r#"{"positions": [{"instrument": "BTC-26JUN20-10000-C", "size": 0}]}"#,
            "positions[0].size",
        ),
    ] {
        let bad = write(tmp.path(), "bad.json", text);
        let (code, _, err) = run(&bad);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(want), "{want}: {err}");
    }
    // Without a chain: the valuation time, the underlying and an IV per
    // expiry give the same mark and Greeks as the chain's row.
    let row = book.get("BTC-26JUN20-10000-C").unwrap();
    let manual = write(
        tmp.path(),
        "manual.json",
        &format!(
            r#"{{"timestamp": "{}", "underlying_price": {}, "ivs": {{"26JUN20": {}}},
                "positions": [{{"instrument": "BTC-26JUN20-10000-C", "size": -2}}]}}"#,
            levsim_core::time::to_iso(row.ts),
            row.forward,
            row.mark_iv
        ),
    );
    let (code, m, err) = levsim(
        tmp.path(),
        &[
            "margin",
            "--venue",
            "deribit",
            "--account",
            manual.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let chain_pos = &v_positions(&run(&acct).1)[0];
    for k in ["mark", "delta", "gamma", "vega", "theta"] {
        close(
            &m["positions"][0][k],
            chain_pos[k].as_f64().unwrap(),
            1e-9,
            k,
        );
    }
    let no_iv = write(
        tmp.path(),
        "no_iv.json",
        r#"{"timestamp": "2020-05-14T05:42:00Z", "underlying_price": 9359.9,
            "positions": [{"instrument": "BTC-26JUN20-10000-C", "size": -2}]}"#,
    );
    let (code, _, err) = levsim(
        tmp.path(),
        &[
            "margin",
            "--venue",
            "deribit",
            "--account",
            no_iv.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ivs.26JUN20"), "{err}");
    let broken = write(
        tmp.path(),
        "chain.csv",
        "instrument_name,timestamp,underlying_price,index_price,mark_price,mark_iv,greeks\nBTC-26JUN20-10000-C,1589434897494,9359.9,9350.1,0.2,abc,\"{'delta': 0.7}\"\n",
    );
    let v = args(&acct);
    let mut refs: Vec<&str> = v.iter().map(String::as_str).collect();
    let b = broken.display().to_string();
    refs[6] = &b;
    let (code, _, err) = levsim(tmp.path(), &refs);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 2") && err.contains("mark_iv"), "{err}");
}

/// Deribit's standard futures margin (SPEC §8.2: BTC MM = 1 % + size_BTC ×
/// 0.005 %): a 10 BTC long of the perpetual (50,000 contracts of 10 USD at
/// 50,000) keeps 10 × 1.05 % = 0.105 BTC; 1 BTC keeps 1.005 %. Without an
/// account of options, `--venue deribit` is the perpetual under the
/// `deribit` profile.
#[test]
fn deribit_futures_margin_grows_with_size() {
    let root = common::root();
    for (contracts, btc, rate) in [("50000", 10.0, 0.0105), ("5000", 1.0, 0.01005)] {
        let (code, v, err) = levsim(
            &root,
            &[
                "margin",
                "--venue",
                "deribit",
                "--side",
                "long",
                "--qty",
                contracts,
                "--entry",
                "50000",
                "--leverage",
                "10",
                "--json",
            ],
        );
        assert_eq!(code, 0, "{err}");
        close(&v["maintenance_margin"], btc * rate, 1e-12, "Deribit MM");
    }
}
