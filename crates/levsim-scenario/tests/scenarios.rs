//! Every file in `scenarios/` loads, validates and expands; its market loads.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use levsim_scenario::{execute, LoadedMarket, Scenario};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_shipped_scenario_loads() {
    let mut n = 0;
    for entry in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let sc = Scenario::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(!sc.plan.is_empty(), "{}", p.display());
        let m = LoadedMarket::load(&sc).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(!m.tape.is_empty());
        // Input files with their sha256 (none for a generated market).
        let inputs = usize::from(sc.gbm.is_none()) + usize::from(sc.market.funding.is_some());
        assert_eq!(m.files.len(), inputs);
        n += 1;
    }
    assert!(n >= 2, "expected at least two shipped scenarios, found {n}");
}

const GOOD: &str = r#"
name = "t"
seed = 3
[market]
kind = "historical"
file = "data/binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz"
start = "2020-03-12T00:00:00Z"
end = "2020-03-12T06:00:00Z"
[venue]
profile = "binance-usdm"
[account]
capital = 10000.0
side = "long"
[[policy]]
kind = "static"
leverage = [2, 10]
[[policy]]
kind = "constant_leverage"
leverage = [3]
"#;

fn parse(text: &str) -> Result<Scenario, String> {
    Scenario::parse(text, &root().join("scenarios/test.toml")).map_err(|e| e.to_string())
}

#[test]
fn errors_name_the_field_path() {
    let cases = [
        (
            GOOD.replace("capital = 10000.0", "capital = 10000.0\ncapitl = 1"),
            "account",
        ),
        (
            GOOD.replace("side = \"long\"", "side = \"sideways\""),
            "account.side",
        ),
        (
            GOOD.replace("capital = 10000.0", "capital = -5.0"),
            "account.capital",
        ),
        (
            GOOD.replace("leverage = [2, 10]", "leverage = [2, 0]"),
            "policy[0].leverage",
        ),
        (
            GOOD.replace("[venue]", "[venue]\ntaker_fees = 0.1"),
            "venue",
        ),
        (
            GOOD.replace("2020-03-12T06:00:00Z", "yesterday"),
            "market.end",
        ),
        (
            GOOD.replace("binance_um_BTCUSDT_1m", "nothing_here"),
            "market.file",
        ),
        (GOOD.replace("seed = 3", "seed = 3\nfoo = 1"), "foo"),
        (
            GOOD.replace("[account]", "[liquidity]\nmodel = \"linear\"\n[account]"),
            "liquidity.depth",
        ),
        (
            GOOD.replace("[account]", "[liquidity]\nmodel = \"sqrt\"\n[account]"),
            "liquidity.y_sigma",
        ),
        (
            GOOD.replace("[account]", "[liquidity]\nmodel = \"book\"\n[account]"),
            "liquidity.file",
        ),
        (
            GOOD.replace(
                "[account]",
                "[liquidity]\nmodel = \"linear\"\ndepth = 1e6\nscale = 0\n[account]",
            ),
            "liquidity.scale",
        ),
        (
            GOOD.replace("[account]", "[liquidity]\nmodel = \"lienar\"\n[account]"),
            "lienar",
        ),
        (
            GOOD.replace(
                "end = \"2020-03-12T06:00:00Z\"",
                "end = \"2020-03-12T06:00:00Z\"\nbar = \"1x\"",
            ),
            "market.bar",
        ),
    ];
    for (text, path) in cases {
        let e = parse(&text).unwrap_err();
        assert!(e.contains(path), "expected {path} in: {e}");
    }
    // Several problems are reported at once.
    let e = parse(
        &GOOD
            .replace("capital = 10000.0", "capital = 0.0")
            .replace("[2, 10]", "[-2]"),
    )
    .unwrap_err();
    assert!(
        e.contains("account.capital") && e.contains("policy[0].leverage"),
        "{e}"
    );
}

#[test]
fn leverage_above_the_venue_maximum_is_refused_before_running() {
    let sc = parse(&GOOD.replace("[2, 10]", "[2, 100]")).unwrap();
    let e = LoadedMarket::load(&sc).unwrap_err().to_string();
    assert!(
        e.contains("policy[0].leverage") && e.contains("maximum of 50x"),
        "{e}"
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let sc = parse(GOOD).unwrap();
    let m = LoadedMarket::load(&sc).unwrap();
    let one = execute(&sc, &m, 1, &|| {}).unwrap();
    let two = execute(&sc, &m, 2, &|| {}).unwrap();
    assert_eq!(one.len(), 3);
    for (a, b) in one.iter().zip(&two) {
        assert_eq!(a.spec, b.spec);
        assert_eq!(a.output, b.output);
        assert_eq!(a.series.equity, b.series.equity);
    }
}

#[test]
fn several_venues_are_compared_and_named() {
    let two = GOOD.replace(
        "[venue]\nprofile = \"binance-usdm\"",
        "[[venue]]\nprofile = \"binance-usdm\"\n[[venue]]\nprofile = \"hyperliquid\"\nlabel = \"hl\"",
    );
    let sc = parse(&two).unwrap();
    assert_eq!(sc.plan.len(), 6);
    assert_eq!(sc.plan.runs[3].run_id, "hl/static[leverage=2]");
    let m = LoadedMarket::load(&sc).unwrap();
    assert_eq!(m.venues.len(), 2);
    assert_eq!(m.venues[1].name, "hyperliquid");
    // Errors inside the second venue name it; two unlabelled copies clash.
    let bad = GOOD.replace(
        "[venue]\nprofile = \"binance-usdm\"",
        "[[venue]]\nprofile = \"binance-usdm\"\n[[venue]]\nprofile = \"hyperliquid\"\ntaker_fees = 0.1",
    );
    let e = parse(&bad).unwrap_err();
    assert!(e.contains("venue[1]") && e.contains("taker_fees"), "{e}");
    let dup = GOOD.replace(
        "[venue]\nprofile = \"binance-usdm\"",
        "[[venue]]\nprofile = \"binance-usdm\"\n[[venue]]\nprofile = \"binance-usdm\"",
    );
    let e = parse(&dup).unwrap_err();
    assert!(e.contains("venue[1].label"), "{e}");
}

/// A generated market: every run draws its own path from (scenario seed,
/// path), so results are identical on 1 and 2 threads, policies share
/// paths, and the plan crosses points with paths.
#[test]
fn generated_paths_are_deterministic_and_shared() {
    let text = r#"
name = "g"
seed = 5
[market]
kind = "gbm"
sigma = 0.8
dt = "1h"
horizon = "2d"
paths = 40
start_price = 100.0
[venue]
profile = "binance-usdm"
maintenance_rate = 0.005
[account]
capital = 1000.0
side = "long"
[[policy]]
kind = "static"
leverage = [5, 20]
"#;
    let sc = parse(text).unwrap();
    assert_eq!(sc.plan.len(), 80);
    assert_eq!(sc.plan.runs[41].run_id, "static[leverage=20]#1");
    let m = LoadedMarket::load(&sc).unwrap();
    let one = execute(&sc, &m, 1, &|| {}).unwrap();
    let two = execute(&sc, &m, 2, &|| {}).unwrap();
    for (a, b) in one.iter().zip(&two) {
        assert_eq!(a.output, b.output);
    }
    // Both leverages ran on the same path 7: the same bars, so the 20x long
    // is liquidated no later than the 5x one.
    let t = |id: &str| {
        one.iter()
            .find(|r| r.spec.run_id == id)
            .unwrap()
            .output
            .metrics
            .first_liquidation_ts
    };
    if let (Some(a), Some(b)) = (t("static[leverage=20]#7"), t("static[leverage=5]#7")) {
        assert!(a <= b);
    }
    let aggs = levsim_scenario::aggregate(&one, 0);
    assert_eq!(aggs.len(), 2);
    assert_eq!(aggs[0].runs, 40);
    assert!(aggs[1].p_liquidation >= aggs[0].p_liquidation);
    // Generator fields are refused on a historical market and required on a generated one.
    let e = parse(&GOOD.replace(
        "kind = \"historical\"",
        "kind = \"historical\"\nsigma = 0.5",
    ))
    .unwrap_err();
    assert!(e.contains("market.sigma"), "{e}");
    let e = parse(&text.replace("sigma = 0.8\n", "")).unwrap_err();
    assert!(e.contains("market.sigma: required"), "{e}");
}

#[test]
fn a_gap_shock_liquidates_what_the_plain_history_does_not() {
    let sc = parse(GOOD).unwrap();
    let m = LoadedMarket::load(&sc).unwrap();
    let plain = execute(&sc, &m, 1, &|| {}).unwrap();
    // A 30 % gap down in the middle of the window: a 10x long cannot survive
    // it (its whole margin is a 10 % move), a 2x long can.
    let shocked_text =
        format!("{GOOD}\n[[shock]]\nkind = \"gap\"\nat = \"2020-03-12T03:00:00Z\"\nsize = -0.3\n");
    let sc = parse(&shocked_text).unwrap();
    let m = LoadedMarket::load(&sc).unwrap();
    let shocked = execute(&sc, &m, 2, &|| {}).unwrap();
    let find = |runs: &[levsim_scenario::RunResult], id: &str| {
        runs.iter()
            .find(|r| r.spec.run_id == id)
            .unwrap()
            .output
            .metrics
            .clone()
    };
    let ten = find(&shocked, "static[leverage=10]");
    assert_eq!(ten.liquidations, 1);
    let two = find(&shocked, "static[leverage=2]");
    assert_eq!(two.liquidations, 0);
    assert!(two.final_equity < find(&plain, "static[leverage=2]").final_equity);
    // A bad shock names its field; a funding spike needs funding.
    for (extra, field) in [
        ("kind = \"gap\"\nat = \"2020-03-12T03:00:00Z\"\nsize = -1.5", "shock[0].size"),
        ("kind = \"vol_scale\"\nfrom = \"2020-03-12T03:00:00Z\"\nfactor = 2.0", "shock[0].to"),
        ("kind = \"gap\"\nat = \"2020-03-12T03:00:00Z\"\nsize = 0.1\nsise = 1", "sise"),
        ("kind = \"funding_spike\"\nfrom = \"2020-03-12T03:00:00Z\"\nto = \"2020-03-12T04:00:00Z\"\nrate = 0.01", "shock[0].kind"),
    ] {
        let e = parse(&format!("{GOOD}\n[[shock]]\n{extra}\n")).unwrap_err();
        assert!(e.contains(field), "{field}: {e}");
    }
}

#[test]
fn merton_crash_jumps_liquidate_more_than_gbm_of_the_same_sigma() {
    let gbm = r#"
name = "m"
seed = 9
[market]
kind = "gbm"
sigma = 0.6
dt = "1h"
horizon = "7d"
paths = 1000
start_price = 100.0
[venue]
profile = "binance-usdm"
maintenance_rate = 0.005
[account]
capital = 1000.0
side = "long"
[[policy]]
kind = "static"
leverage = [10]
"#;
    let merton = gbm.replace(
        "kind = \"gbm\"",
        "kind = \"merton\"\njump_rate = 20.0\njump_mean = -0.12\njump_sigma = 0.03",
    );
    let p = |text: &str| {
        let sc = parse(text).unwrap();
        let m = LoadedMarket::load(&sc).unwrap();
        let runs = execute(&sc, &m, 2, &|| {}).unwrap();
        levsim_scenario::aggregate(&runs, 0)[0].p_liquidation
    };
    let (pg, pm) = (p(gbm), p(&merton));
    // 20 jumps a year of −12 % over a week: P(at least one) = 1 − e^{−0.38}
    // ≈ 32 %, each enough to take a 10x long through its liquidation price
    // (the compensating drift −λκ ≈ +2.25 a year, +4 % over the week,
    // takes back part of it). The difference must stand out of the MC error.
    let se = ((pm * (1.0 - pm) + pg * (1.0 - pg)) / 1000.0).sqrt();
    assert!(pm - pg > 4.0 * se, "merton {pm} vs gbm {pg} (se {se})");
    // Jump keys belong to kind = "merton" only, and it needs all three.
    let e = parse(&gbm.replace("sigma = 0.6", "sigma = 0.6\njump_rate = 1.0")).unwrap_err();
    assert!(
        e.contains("market.jump_rate: only for kind = \"merton\""),
        "{e}"
    );
    let e = parse(&merton.replace("jump_mean = -0.12\n", "")).unwrap_err();
    assert!(
        e.contains("market.jump_mean: required for kind = \"merton\""),
        "{e}"
    );
}

#[test]
fn a_regime_market_runs_and_names_its_missing_keys() {
    let text = r#"
name = "r"
seed = 4
[market]
kind = "regime"
sigma = 0.4
stress_sigma = 1.6
to_stressed = 12.0
to_calm = 52.0
dt = "1h"
horizon = "7d"
paths = 300
start_price = 100.0
[venue]
profile = "binance-usdm"
maintenance_rate = 0.005
[account]
capital = 1000.0
side = "long"
[[policy]]
kind = "static"
leverage = [10]
"#;
    let sc = parse(text).unwrap();
    let m = LoadedMarket::load(&sc).unwrap();
    let one = execute(&sc, &m, 1, &|| {}).unwrap();
    let two = execute(&sc, &m, 2, &|| {}).unwrap();
    assert_eq!(one.len(), 300);
    for (a, b) in one.iter().zip(&two) {
        assert_eq!(a.output, b.output);
    }
    let e = parse(&text.replace("stress_sigma = 1.6\n", "")).unwrap_err();
    assert!(
        e.contains("market.stress_sigma: required for kind = \"regime\""),
        "{e}"
    );
    let e = parse(&text.replace("to_calm = 52.0", "to_calm = -1.0")).unwrap_err();
    assert!(e.contains("market.to_calm: must be ≥ 0"), "{e}");
}

#[test]
fn a_garch_market_runs_and_refuses_explosive_parameters() {
    let text = r#"
name = "g"
seed = 8
[market]
kind = "garch"
sigma = 0.6
garch_alpha = 0.1
garch_beta = 0.85
garch_nu = 6.0
dt = "1h"
horizon = "7d"
paths = 200
start_price = 100.0
[venue]
profile = "binance-usdm"
maintenance_rate = 0.005
[account]
capital = 1000.0
side = "long"
[[policy]]
kind = "static"
leverage = [5]
"#;
    let sc = parse(text).unwrap();
    let m = LoadedMarket::load(&sc).unwrap();
    let one = execute(&sc, &m, 1, &|| {}).unwrap();
    let two = execute(&sc, &m, 2, &|| {}).unwrap();
    assert_eq!(one.len(), 200);
    for (a, b) in one.iter().zip(&two) {
        assert_eq!(a.output, b.output);
    }
    let e = parse(&text.replace("garch_beta = 0.85", "garch_beta = 0.95")).unwrap_err();
    assert!(
        e.contains("market.garch_beta") && e.contains("α + β < 1"),
        "{e}"
    );
    let e = parse(&text.replace("garch_nu = 6.0", "garch_nu = 2.0")).unwrap_err();
    assert!(e.contains("market.garch_nu: must be > 2"), "{e}");
}
