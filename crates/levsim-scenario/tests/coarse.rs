//! Coarse bars (`[market] coarse`): a day of one-minute GBM drawn as
//! hourly bars with exact extremes, and each liquidation's minute drawn
//! from its law, against the closed forms of CLOSED_FORM.md F3 (the
//! probability of liquidation within any time, continuous monitoring) and
//! against the same scenario on one-minute bars.

#![allow(clippy::unwrap_used)]

use levsim_policy::estimate::{first_passage, liquidation_distance};
use levsim_scenario::{execute, execute_shard, RunResult, Scenario, Shard};
use levsim_scenario::{merge_shards, write_shard, LoadedMarket};

const MINUTE: i64 = 60_000_000_000;
const LEVERAGES: [f64; 3] = [10.0, 20.0, 50.0];
const SIGMA: f64 = 0.8;
const MMR: f64 = 0.005;
const YEAR_MIN: f64 = 365.0 * 1440.0;

fn scenario(paths: usize, side: &str, coarse: &str) -> Scenario {
    scenario_at(paths, side, coarse, "[10, 20, 50]")
}

fn scenario_at(paths: usize, side: &str, coarse: &str, leverage: &str) -> Scenario {
    let text = format!(
        r#"
name = "coarse"
seed = 7
[market]
kind = "gbm"
mu = 0.0
sigma = {SIGMA}
dt = "1m"
horizon = "1d"
{coarse}
paths = {paths}
start_price = 60000.0
[venue]
profile = "binance-usdm"
maintenance_rate = {MMR}
taker_fee = 0.0
liquidation_fee = 0.0
max_leverage = 100.0
funding = false
[account]
capital = 10000.0
side = "{side}"
[[policy]]
kind = "static"
leverage = {leverage}
"#
    );
    Scenario::parse(&text, std::path::Path::new("coarse.toml")).unwrap()
}

fn run(sc: &Scenario, threads: usize) -> Vec<RunResult> {
    let m = LoadedMarket::load(sc).unwrap();
    execute(sc, &m, threads, &|| {}).unwrap()
}

/// Minutes from the start to the first liquidation's bar, per leverage and
/// path (None: not liquidated).
fn minutes(results: &[RunResult], paths: usize) -> Vec<Vec<Option<i64>>> {
    let mut out = vec![vec![None; paths]; LEVERAGES.len()];
    for r in results {
        out[r.spec.index / paths][r.spec.path] =
            r.output.metrics.first_liquidation_ts.map(|t| t / MINUTE);
    }
    out
}

/// P(liquidated by minute t) against F3 for the time from the opening (the
/// close of minute 0), within 4 standard errors, at times inside hours (so
/// times left at the hour's open would fail), for both sides.
#[test]
fn liquidation_times_have_the_closed_form_law() {
    let paths = 3_000;
    for side in ["long", "short"] {
        let long = side == "long";
        let coarse = run(&scenario(paths, side, "coarse = \"1h\""), 2);
        assert_eq!(
            coarse[0].output.metrics.bars, 25,
            "one bar of a minute, 23 hours, 59 minutes"
        );
        let got = minutes(&coarse, paths);
        for (l, &lev) in LEVERAGES.iter().enumerate() {
            let a = liquidation_distance(lev, MMR, long);
            for t in [37_i64, 150, 441, 1439] {
                let n = got[l].iter().filter(|m| m.is_some_and(|m| m <= t)).count();
                let p = n as f64 / paths as f64;
                // A liquidation in minute bar f < t + 1 happened within t
                // minutes of the opening at the close of minute 0.
                let want = first_passage(a, SIGMA, t as f64 / YEAR_MIN, long);
                let se = (want * (1.0 - want) / paths as f64).sqrt().max(1e-3);
                assert!(
                    (p - want).abs() < 4.0 * se,
                    "{side} {lev}x by minute {t}: {p} vs F3 {want} ± {se}"
                );
            }
        }
        // Times fall on minutes inside the hours, not only at their opens.
        let inside = got[2]
            .iter()
            .flatten()
            .filter(|&&m| (m - 1) % 60 != 0)
            .count();
        assert!(
            inside * 10 > got[2].iter().flatten().count() * 9,
            "{side}: {inside}"
        );
    }
}

/// On every path a higher leverage (a liquidation price nearer the
/// opening) is liquidated no later than a lower one, and time in the
/// market is counted in minutes.
#[test]
fn runs_on_a_path_keep_the_order_of_their_liquidation_prices() {
    let paths = 2_000;
    // Liquidation prices 1.5 %, 1.8 % and 2.0 % below the opening, so
    // that many paths reach two of them in the same hour.
    let levs = [40.0, 45.0, 50.0];
    let res = run(
        &scenario_at(paths, "long", "coarse = \"1h\"", "[40, 45, 50]"),
        1,
    );
    let got = minutes(&res, paths);
    let mut same_hour = 0;
    for l in 1..levs.len() {
        for (k, pair) in got[l - 1].iter().zip(&got[l]).enumerate() {
            if let (Some(far), Some(near)) = pair {
                assert!(
                    near <= far,
                    "path {k}: {}x at minute {near}, {}x at {far}",
                    levs[l],
                    levs[l - 1]
                );
                same_hour += usize::from((near - 1) / 60 == (far - 1) / 60);
            }
        }
    }
    assert!(
        same_hour > 200,
        "the order is tested inside hours: {same_hour} pairs"
    );
    for r in &res {
        let m = &r.output.metrics;
        let want = match m.first_liquidation_ts {
            Some(t) => (t / MINUTE - 1) as f64 / 1440.0 * 100.0,
            None => 1439.0 / 1440.0 * 100.0,
        };
        assert!(
            (m.time_in_market_pct - want).abs() < 1e-9,
            "{}: {}",
            r.spec.run_id,
            m.time_in_market_pct
        );
        // Log growth annualized over the day the bars cover.
        if m.final_equity > 0.0 {
            let want = (m.final_equity / 10_000.0).ln() * 365.0;
            assert!(
                (m.log_growth - want).abs() < 1e-9 * want.abs().max(1.0),
                "{} vs {want}",
                m.log_growth
            );
        }
    }
}

/// The same draws on any thread count and shard layout.
#[test]
fn coarse_runs_do_not_depend_on_threads_or_shards() {
    let sc = scenario(300, "long", "coarse = \"1h\"");
    let one = run(&sc, 1);
    let two = run(&sc, 2);
    let m = LoadedMarket::load(&sc).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        let shard = Shard { index: i, count: 3 };
        let part = execute_shard(&sc, &m, Some(shard), 2, &|| {}).unwrap();
        write_shard(dir.path(), shard, &sc, &part).unwrap();
    }
    let merged = merge_shards(&[dir.path().to_path_buf()], &sc).unwrap();
    assert!(one.iter().any(|r| r.output.metrics.liquidations > 0));
    for ((a, b), c) in one.iter().zip(&two).zip(&merged) {
        assert_eq!(a.output, b.output);
        assert_eq!(a.output, c.output);
    }
}

/// Final equity has the law it has on one-minute bars: mean return of the
/// survivors and P(liquidation) match the one-minute scenario within 4
/// standard errors.
#[test]
fn coarse_bars_give_the_one_minute_results_in_law() {
    let paths = 3_000;
    let fine = run(&scenario(paths, "long", ""), 2);
    let coarse = run(&scenario(paths, "long", "coarse = \"1h\""), 2);
    for (l, lev) in LEVERAGES.iter().enumerate() {
        let of = |res: &[RunResult]| -> (f64, f64, f64) {
            let runs: Vec<_> = res.iter().filter(|r| r.spec.index / paths == l).collect();
            let liq = runs
                .iter()
                .filter(|r| r.output.metrics.liquidations > 0)
                .count() as f64;
            let rets: Vec<f64> = runs.iter().map(|r| r.output.metrics.return_pct).collect();
            let mean = rets.iter().sum::<f64>() / rets.len() as f64;
            let var =
                rets.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (rets.len() - 1) as f64;
            (liq / paths as f64, mean, (var / paths as f64).sqrt())
        };
        let (pf, mf, sf) = of(&fine);
        let (pc, mc, sc) = of(&coarse);
        let se = ((pf * (1.0 - pf) + pc * (1.0 - pc)) / paths as f64)
            .sqrt()
            .max(1e-3);
        assert!(
            (pf - pc).abs() < 4.0 * se,
            "{lev}x P(liq): minutes {pf}, hours {pc}"
        );
        let se = (sf * sf + sc * sc).sqrt();
        assert!(
            (mf - mc).abs() < 4.0 * se,
            "{lev}x mean return: minutes {mf}, hours {mc} ± {se}"
        );
    }
}

/// What coarse bars do not time exactly is refused by key.
#[test]
fn coarse_bars_refuse_what_they_cannot_time() {
    let base = |market_extra: &str, account_extra: &str, policy: &str| {
        format!(
            r#"
name = "x"
[market]
kind = "gbm"
sigma = 0.8
dt = "1m"
horizon = "1d"
paths = 2
start_price = 100.0
{market_extra}
[venue]
profile = "binance-usdm"
[account]
capital = 1000.0
side = "long"
{account_extra}
[[policy]]
{policy}
"#
        )
    };
    let fails = |text: String, key: &str| {
        let e = Scenario::parse(&text, std::path::Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(key), "expected {key} in: {e}");
    };
    let stat = "kind = \"static\"\nleverage = 5";
    fails(
        base("coarse = \"1h\"", "reenter = true", stat),
        "account.reenter",
    );
    fails(
        base(
            "coarse = \"1h\"",
            "",
            "kind = \"constant_leverage\"\nleverage = 5",
        ),
        "policy[0].kind",
    );
    fails(
        base("coarse = \"90s\"", "", stat),
        "market.coarse: 90s must be a multiple of dt",
    );
    fails(base("coarse = \"2d\"", "", stat), "must divide the horizon");
    fails(base("coarse = \"7h\"", "", stat), "must divide the horizon");
    fails(
        base("coarse = \"1h\"\nmonitoring = \"close\"", "", stat),
        r#"monitoring = "continuous""#,
    );
    fails(
        base(
            "coarse = \"1h\"\njump_rate = 5.0\njump_mean = -0.05\njump_sigma = 0.02",
            "",
            stat,
        )
        .replace("kind = \"gbm\"", "kind = \"merton\""),
        r#"only for kind = "gbm""#,
    );
    fails(base("coarse = \"soon\"", "", stat), "market.coarse:");
    // Not silently dropped where no parameters give the paths.
    fails(
        base("coarse = \"1h\"", "", stat).replace(
            "kind = \"gbm\"\nsigma = 0.8",
            "kind = \"bootstrap\"\nfile = \"data/none.csv\"",
        ),
        "market.coarse: only for a market of one instrument",
    );
    // Coin-margined venues run another loop, which does not time
    // liquidations inside coarse bars.
    let sc = Scenario::parse(
        &base("coarse = \"1h\"", "", "kind = \"static\"\nleverage = 1").replace(
            "binance-usdm\"",
            "binance-coinm\"\nsymbol = \"BTCUSD_PERP\"",
        ),
        std::path::Path::new("x.toml"),
    )
    .unwrap();
    let e = LoadedMarket::load(&sc).err().unwrap().to_string();
    assert!(
        e.contains("market.coarse: not available for coin-margined"),
        "{e}"
    );
    // Accepted: a static policy on plain GBM.
    Scenario::parse(
        &base("coarse = \"1h\"", "", stat),
        std::path::Path::new("x.toml"),
    )
    .unwrap();
}
