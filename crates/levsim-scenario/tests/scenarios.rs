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
        // Input files with their sha256 (none for a generated market):
        // bars, funding, volatility indexes, chains and books of positions.
        let inputs = match &sc.portfolio {
            Some(p) => {
                let mut indexes: Vec<_> = p
                    .instruments
                    .iter()
                    .flat_map(|i| [i.iv_index.clone(), i.surface.clone()])
                    .flatten()
                    .collect();
                indexes.sort();
                indexes.dedup();
                p.instruments
                    .iter()
                    .map(|i| usize::from(i.file.is_some()) + usize::from(i.funding.is_some()))
                    .sum::<usize>()
                    + indexes.len()
                    + usize::from(p.crowd.as_ref().is_some_and(|c| c.file.is_some()))
            }
            None => {
                usize::from(sc.generator.is_none())
                    + usize::from(sc.market.funding.is_some())
                    + usize::from(sc.population.as_ref().is_some_and(|p| p.file.is_some()))
            }
        };
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

/// Runs `sc` on one and on two threads, asserts the outputs are identical,
/// and returns the runs.
fn same_on_one_and_two_threads(sc: &Scenario, m: &LoadedMarket) -> Vec<levsim_scenario::RunResult> {
    let one = execute(sc, m, 1, &|| {}).unwrap();
    let two = execute(sc, m, 2, &|| {}).unwrap();
    assert_eq!(one.len(), two.len());
    for (a, b) in one.iter().zip(&two) {
        assert_eq!(a.output, b.output);
    }
    one
}

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
    assert_eq!(sc.plan.run(3).unwrap().run_id, "hl/static[leverage=2]");
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
    assert_eq!(sc.plan.run(41).unwrap().run_id, "static[leverage=20]#1");
    let m = LoadedMarket::load(&sc).unwrap();
    let one = same_on_one_and_two_threads(&sc, &m);
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
paths = 4000
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
    // takes back part of it). The difference (about 7 points) must stand out
    // of the MC error: 4,000 paths make 4 standard errors about 4 points.
    let se = ((pm * (1.0 - pm) + pg * (1.0 - pg)) / 4000.0).sqrt();
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
    let one = same_on_one_and_two_threads(&sc, &m);
    assert_eq!(one.len(), 300);
    let e = parse(&text.replace("stress_sigma = 1.6\n", "")).unwrap_err();
    assert!(
        e.contains("market.stress_sigma: required for kind = \"regime\""),
        "{e}"
    );
    let e = parse(&text.replace("to_calm = 52.0", "to_calm = -1.0")).unwrap_err();
    assert!(e.contains("market.to_calm: must be ≥ 0"), "{e}");
    // A NaN or infinity is one problem, named once, with the value read.
    for (key, bad) in [
        ("sigma = 0.4", "sigma = nan"),
        ("to_calm = 52.0", "to_calm = inf"),
    ] {
        let e = parse(&text.replace(key, bad)).unwrap_err();
        let field = bad.split(' ').next().unwrap_or_default();
        assert_eq!(e.matches(&format!("market.{field}:")).count(), 1, "{e}");
        assert!(e.contains("must be finite, got"), "{e}");
    }
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
    let one = same_on_one_and_two_threads(&sc, &m);
    assert_eq!(one.len(), 200);
    let e = parse(&text.replace("garch_beta = 0.85", "garch_beta = 0.95")).unwrap_err();
    assert!(
        e.contains("market.garch_beta") && e.contains("α + β < 1"),
        "{e}"
    );
    let e = parse(&text.replace("garch_nu = 6.0", "garch_nu = 2.0")).unwrap_err();
    assert!(e.contains("market.garch_nu: must be > 2"), "{e}");
}

const BOOTSTRAP: &str = r#"
name = "b"
seed = 4
[market]
kind = "bootstrap"
file = "data/binance_spot_BTCUSDT_1h_2018-01-01_2024-06-30.csv.gz"
start = "2022-01-01T00:00:00Z"
end = "2023-03-01T00:00:00Z"
block = "12h"
horizon = "3d"
paths = 60
[venue]
profile = "binance-usdm"
funding = false
[account]
capital = 1000.0
side = "long"
[[policy]]
kind = "static"
leverage = [3, 25]
"#;

/// A bootstrap market resamples the window's hourly bars into paths that
/// start where the window ends, at its last close; runs are reproducible
/// on any thread count, and higher leverage is liquidated more often.
#[test]
fn a_bootstrap_market_resamples_history_after_its_window() {
    let sc = parse(BOOTSTRAP).unwrap();
    let m = LoadedMarket::load(&sc).unwrap();
    let hist = levsim_data::load_tape(&sc.market.file, None).unwrap().0;
    let window = hist.window(sc.start_ns, sc.end_ns);
    assert_eq!(m.tape.ts[0], window.end_ns().unwrap());
    assert!((m.tape.open[0] / window.close[window.len() - 1] - 1.0).abs() < 1e-12);
    assert_eq!(m.tape.len(), 72);
    assert_eq!(m.files.len(), 1);
    let label = m.generator.as_ref().unwrap().label();
    let bars = format!("{} bars", window.len());
    assert!(
        label.contains("mean block 12 bars") && label.contains(&bars),
        "{label}"
    );
    let one = same_on_one_and_two_threads(&sc, &m);
    assert_eq!(one.len(), 120);
    let aggs = levsim_scenario::aggregate(&one, m.tape.ts[0]);
    assert!(aggs[1].p_liquidation > aggs[0].p_liquidation, "{aggs:?}");
    // Keys a bootstrap does not use, and a missing horizon, are named.
    for (from, to, field) in [
        (
            "block = \"12h\"",
            "block = \"12h\"\nsigma = 0.5",
            "market.sigma: not used",
        ),
        ("horizon = \"3d\"\n", "", "market.horizon: required"),
        ("block = \"12h\"", "block = \"-1h\"", "market.block"),
        (
            "kind = \"bootstrap\"",
            "kind = \"historical\"",
            "market.block: only for kind = \"bootstrap\"",
        ),
    ] {
        let e = parse(&BOOTSTRAP.replace(from, to)).unwrap_err();
        assert!(e.contains(field), "{field}: {e}");
    }
}

/// `kind = "garch"` with a file fits the model to the window's returns:
/// the fitted persistence is that of a volatility-clustering market and
/// the long-run σ is the window's realized volatility.
#[test]
fn a_garch_market_can_be_fitted_to_a_file() {
    let text = BOOTSTRAP
        .replace("kind = \"bootstrap\"", "kind = \"garch\"")
        .replace("block = \"12h\"\n", "");
    let sc = parse(&text).unwrap();
    let m = LoadedMarket::load(&sc).unwrap();
    let Some(levsim_scenario::generators::Generator::Params(g)) = &m.generator else {
        panic!("expected a parametric generator");
    };
    let levsim_scenario::generators::Model::Garch(fit) = g.model else {
        panic!("expected GARCH");
    };
    assert!(
        fit.alpha > 0.0 && fit.beta > 0.5 && fit.alpha + fit.beta < 1.0,
        "{fit:?}"
    );
    assert!(fit.nu > 2.0 && fit.nu < 30.0, "{fit:?}");
    let hist = levsim_data::load_tape(&sc.market.file, None).unwrap().0;
    let w = hist.window(sc.start_ns, sc.end_ns);
    let r: Vec<f64> = w
        .close
        .iter()
        .zip(&w.open)
        .map(|(c, o)| (c / o).ln())
        .collect();
    let n = r.len() as f64;
    let mean = r.iter().sum::<f64>() / n;
    let realized = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n * 24.0 * 365.0).sqrt();
    assert!(
        (g.sigma - realized).abs() < 1e-9,
        "{} vs {realized}",
        g.sigma
    );
    let e = parse(&text.replace("horizon = \"3d\"", "horizon = \"3d\"\ngarch_alpha = 0.1"))
        .unwrap_err();
    assert!(
        e.contains("market.garch_alpha: not used with a file"),
        "{e}"
    );
}

/// A frozen oracle over Black Thursday's crash hour: the venue's price
/// stops 10 minutes before the live liquidation and stays there (the delay
/// is longer than the window), then catches up in one gap an hour later,
/// where the 10x long is liquidated at a far worse price, in the gap.
#[test]
fn a_stale_mark_liquidates_later_and_deeper() {
    let base = GOOD
        .replace("leverage = [2, 10]", "leverage = [10]")
        .replace(
            "end = \"2020-03-12T06:00:00Z\"",
            "end = \"2020-03-13T06:00:00Z\"",
        );
    let live = parse(&base).unwrap();
    let m = LoadedMarket::load(&live).unwrap();
    let live_runs = execute(&live, &m, 1, &|| {}).unwrap();
    let live_ten = &live_runs[0].output;
    let t_live = live_ten.metrics.first_liquidation_ts.unwrap();
    let minute = 60_000_000_000;
    let (from, to) = (t_live - 10 * minute, t_live + 60 * minute);
    let iso = levsim_core::time::to_iso;
    let text = format!(
        "{base}\n[[shock]]\nkind = \"stale_mark\"\nfrom = \"{}\"\nto = \"{}\"\ndelay = \"2h\"\n",
        iso(from),
        iso(to)
    );
    let stale = parse(&text).unwrap();
    let m = LoadedMarket::load(&stale).unwrap();
    let stale_runs = execute(&stale, &m, 1, &|| {}).unwrap();
    let s = &stale_runs[0].output;
    let first = &s.liquidations[0];
    assert_eq!(first.ts, to, "{first:?}");
    assert!(first.gapped, "{first:?}");
    assert!(
        first.fill_price < live_ten.liquidations[0].fill_price,
        "{first:?} vs {:?}",
        live_ten.liquidations[0]
    );
}

/// The streaming sweep (chunks of paths, seven numbers kept per run) gives
/// the aggregates of the whole result set, rows in plan order, and keeps
/// only path 0 whole; any thread count gives the same.
#[test]
fn a_streamed_sweep_matches_the_full_results() {
    let text = r#"
name = "s"
seed = 12
[market]
kind = "gbm"
sigma = 0.9
dt = "1h"
horizon = "2d"
paths = 700
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
    let m = LoadedMarket::load(&sc).unwrap();
    let all = execute(&sc, &m, 2, &|| {}).unwrap();
    let want = levsim_scenario::aggregate(&all, m.tape.ts[0]);
    for threads in [1, 2] {
        let s = levsim_scenario::execute_sweep(&sc, &m, threads, &|| {}, true).unwrap();
        assert_eq!(s.aggregates, want);
        assert_eq!(s.runs, 1400);
        assert_eq!(s.kept.len(), 2);
        assert!(s.kept.iter().all(|r| r.spec.path == 0));
        let rows = s.rows.unwrap();
        assert_eq!(rows.len(), 1400);
        for (row, full) in rows.iter().zip(&all) {
            assert_eq!(row.index, full.spec.index);
            assert_eq!(row.metrics, full.output.metrics);
        }
        // The representative runs, run again with their series, are the runs
        // at the median and 5th percentile of the return on committed
        // capital, with the metrics the sweep had for them.
        let picks = levsim_scenario::representative_runs(&sc.plan, &rows);
        assert_eq!(picks.len(), 4);
        for (point, chunk) in picks.chunks(2).enumerate() {
            let mut roc: Vec<f64> = all[point * 700..(point + 1) * 700]
                .iter()
                .map(|r| r.output.metrics.return_on_committed_pct)
                .collect();
            roc.sort_by(f64::total_cmp);
            assert_eq!(chunk[0].1, "median");
            assert_eq!(rows[chunk[0].0].metrics.return_on_committed_pct, roc[349]);
            assert_eq!(chunk[1].1, "worst 5 %");
            assert_eq!(rows[chunk[1].0].metrics.return_on_committed_pct, roc[34]);
        }
        assert!(!s.representative.is_empty());
        for r in &s.representative {
            assert!(picks.iter().any(|p| p.0 == r.spec.index));
            assert_eq!(r.output.metrics, all[r.spec.index].output.metrics);
            assert!(!r.series.equity.is_empty(), "{}", r.spec.run_id);
        }
    }
    let lean = levsim_scenario::execute_sweep(&sc, &m, 2, &|| {}, false).unwrap();
    assert!(lean.rows.is_none());
    assert_eq!(lean.aggregates, want);
}

/// A policy's `latency` and top-up keys are grid axes on any policy: they
/// name the runs, reach the engine (a slower decision opens later, at
/// another price), and bad values name their field.
#[test]
fn latency_and_topup_keys_ride_on_any_policy() {
    let text = GOOD.replace(
        "kind = \"constant_leverage\"\nleverage = [3]",
        "kind = \"constant_leverage\"\nleverage = [3]\nlatency = [\"0s\", \"30m\"]\ntopup_threshold = 0.5",
    )
    .replace("side = \"long\"", "side = \"long\"\nreserve = 5000.0");
    let sc = parse(&text).unwrap();
    let ids: Vec<&str> = sc.plan.points.iter().map(|p| p.run_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "static[leverage=2]",
            "static[leverage=10]",
            "constant_leverage[leverage=3,latency=0s,topup_threshold=0.5]",
            "constant_leverage[leverage=3,latency=30m,topup_threshold=0.5]",
        ]
    );
    assert!(sc.plan.points[2].topup.is_some());
    let m = LoadedMarket::load(&sc).unwrap();
    let out = execute(&sc, &m, 1, &|| {}).unwrap();
    // Opened at once vs 30 minutes later: different fees on a different notional.
    assert_ne!(out[2].output.metrics.fees, out[3].output.metrics.fees);
    for (bad, field) in [
        ("latency = [\"0s\", \"-5m\"]", "policy[1].latency"),
        ("latency = [\"0s\", \"soon\"]", "policy[1].latency"),
        ("latency = 5", "policy[1].latency"),
    ] {
        let e = parse(&text.replace("latency = [\"0s\", \"30m\"]", bad)).unwrap_err();
        assert!(e.contains(field), "{bad}: {e}");
    }
    let e = parse(&text.replace("topup_threshold = 0.5", "topup_threshold = 1.5")).unwrap_err();
    assert!(e.contains("policy[1].topup_threshold"), "{e}");
    // Top-ups need a reserve.
    let e = LoadedMarket::load(&parse(&text.replace("reserve = 5000.0", "reserve = 0.0")).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("reserve"), "{e}");
}
