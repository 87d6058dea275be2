//! The GBM generator through the engine reproduces the first-passage
//! probabilities of CLOSED_FORM.md F3 / Table B (continuous monitoring).

#![allow(clippy::unwrap_used)]

use levsim_core::Side;
use levsim_engine::{simulate, AccountConfig, MarginMode, Market, VenueConfig, VenueProfile};
use levsim_policy::estimate::first_passage;
use levsim_policy::StaticLeverage;
use levsim_scenario::generators::Gbm;
use levsim_scenario::run_seed;

const HOUR: i64 = 3_600_000_000_000;

/// Share of `paths` GBM paths (μ = 0, σ = 60 %, hourly bars with
/// Brownian-bridge extremes) on which a static long at `lev` (flat 0.5 %
/// maintenance, no fees, no funding) is liquidated within `days`.
fn p_liquidation(lev: f64, days: usize, paths: usize) -> f64 {
    let venue = VenueProfile::resolve(
        &VenueConfig {
            profile: "binance-usdm".into(),
            maintenance_rate: Some(0.005),
            taker_fee: Some(0.0),
            liquidation_fee: Some(0.0),
            funding: Some(false),
            ..Default::default()
        },
        "GBM",
    )
    .unwrap();
    let acct = AccountConfig {
        capital: 10_000.0,
        side: Side::Long,
        margin_mode: MarginMode::Isolated,
        reenter: false,
        min_equity: None,
        ..Default::default()
    };
    let g = Gbm {
        mu: 0.0,
        sigma: 0.6,
        dt_ns: HOUR,
        steps: days * 24,
        start_price: 100.0,
        start_ns: 0,
        model: levsim_scenario::generators::Model::Gbm,
        monitoring: Default::default(),
    };
    let mut hit = 0;
    for k in 0..paths {
        let t = g.path(run_seed(42, &format!("path/{k}")));
        let out = simulate(
            Market::new(&t),
            &venue,
            &acct,
            &mut StaticLeverage { leverage: lev },
            &mut (),
        )
        .unwrap();
        hit += usize::from(out.metrics.liquidations > 0);
    }
    hit as f64 / paths as f64
}

/// Table B (μ = 0, m = 0.5 %, continuous monitoring): the simulated share
/// is within 4 Monte Carlo standard errors of the closed form. The engine
/// opens at the first bar's open and checks each bar's range, which the
/// generator draws from the bridge's exact extremes, so the step size does
/// not bias the estimate (F4's discrete-monitoring correction is not needed).
#[test]
fn table_b_first_passage_probabilities() {
    for (lev, days, table, paths) in [
        (10.0, 7, 0.2387, 20_000),
        (20.0, 1, 0.1439, 20_000),
        (50.0, 1, 0.6334, 20_000),
        (5.0, 30, 0.2279, 8_000),
    ] {
        let p = p_liquidation(lev, days, paths);
        let se = (table * (1.0 - table) / paths as f64).sqrt();
        assert!(
            (p - table).abs() < 4.0 * se,
            "{lev}x {days}d: simulated {p:.4} vs table {table} (se {se:.4})"
        );
    }
}

/// How the estimate depends on the step (F4): on the same daily GBM paths,
/// a 5x long checked against each bar's range (the bridge's exact extremes)
/// gives the continuous first-passage probability whatever the step, while
/// checking only the closes (discrete monitoring, Δt = 1 day) gives less,
/// the continuous probability of a barrier moved β·σ·√Δt further away
/// (Broadie–Glasserman–Kou, β = 0.5826). Tolerances: 4 Monte Carlo
/// standard errors, plus 0.005 for the correction's own error at 30 steps.
#[test]
fn discrete_monitoring_understates_risk_as_f4_says() {
    let (sigma, days, lev, m, paths) = (0.6, 30usize, 5.0, 0.005, 20_000u64);
    let g = Gbm {
        mu: 0.0,
        sigma,
        dt_ns: 24 * HOUR,
        steps: days,
        start_price: 100.0,
        start_ns: 0,
        model: levsim_scenario::generators::Model::Gbm,
        monitoring: Default::default(),
    };
    let liq = 100.0 * (1.0 - 1.0 / lev) / (1.0 - m);
    let (mut by_range, mut by_close) = (0u64, 0u64);
    for k in 0..paths {
        let t = g.path(run_seed(99, &format!("f4/{k}")));
        by_range += u64::from(t.low.iter().any(|&l| l <= liq));
        by_close += u64::from(t.close.iter().any(|&c| c <= liq));
    }
    let n = paths as f64;
    let (pr, pc) = (by_range as f64 / n, by_close as f64 / n);
    let a = (100.0 / liq).ln();
    let (big_t, dt): (f64, f64) = (days as f64 / 365.0, 1.0 / 365.0);
    // F3 for a long (the closed form of `levsim_policy::estimate`, checked
    // against Table B there).
    let want_cont = first_passage(a, sigma, big_t, true);
    let want_disc = first_passage(a + 0.5826 * sigma * dt.sqrt(), sigma, big_t, true);
    let se = |p: f64| (p * (1.0 - p) / n).sqrt();
    assert!(
        (pr - want_cont).abs() < 4.0 * se(want_cont),
        "range-checked {pr:.4} vs continuous {want_cont:.4}"
    );
    assert!(
        (pc - want_disc).abs() < 4.0 * se(want_disc) + 0.005,
        "close-checked {pc:.4} vs F4 {want_disc:.4}"
    );
    assert!(
        pc < pr - 0.02,
        "discrete monitoring should understate risk: {pc} vs {pr}"
    );
}

/// `[market] monitoring` through a whole scenario: the same GBM paths
/// (common random numbers), a static 5x long over 30 daily bars, checked
/// continuously gives F3 and checked at closes only gives F4's corrected
/// probability (Broadie–Glasserman–Kou, β = 0.5826), within 4 standard
/// errors (plus 0.005 for the correction's own error at 30 steps).
#[test]
fn scenario_monitoring_close_reproduces_f4() {
    let (sigma, days, lev, m, paths): (f64, usize, f64, f64, usize) = (0.6, 30, 5.0, 0.005, 6_000);
    let p_liq = |monitoring: &str| {
        let text = format!(
            "name = \"f4\"\nseed = 5\n[market]\nkind = \"gbm\"\nsymbol = \"X\"\nmu = 0.0\nsigma = {sigma}\ndt = \"1d\"\nhorizon = \"{days}d\"\npaths = {paths}\nstart_price = 100.0\nmonitoring = \"{monitoring}\"\n[venue]\nprofile = \"binance-usdm\"\nmaintenance_rate = {m}\ntaker_fee = 0.0\nliquidation_fee = 0.0\nfunding = false\n[account]\ncapital = 10000.0\nside = \"long\"\nreenter = false\n[[policy]]\nkind = \"static\"\nleverage = {lev}\n"
        );
        let sc = levsim_scenario::Scenario::parse(&text, std::path::Path::new("f4.toml")).unwrap();
        let market = levsim_scenario::LoadedMarket::load(&sc).unwrap();
        let sweep = levsim_scenario::execute_sweep(&sc, &market, 0, &|| {}, false).unwrap();
        sweep.aggregates[0].p_liquidation
    };
    let (pc, pd) = (p_liq("continuous"), p_liq("close"));
    let liq = 100.0 * (1.0 - 1.0 / lev) / (1.0 - m);
    let a = (100.0 / liq).ln();
    let (big_t, dt): (f64, f64) = (days as f64 / 365.0, 1.0 / 365.0);
    let want_cont = first_passage(a, sigma, big_t, true);
    let want_disc = first_passage(a + 0.5826 * sigma * dt.sqrt(), sigma, big_t, true);
    let se = |p: f64| (p * (1.0 - p) / paths as f64).sqrt();
    assert!(
        (pc - want_cont).abs() < 4.0 * se(want_cont),
        "continuous {pc:.4} vs F3 {want_cont:.4}"
    );
    assert!(
        (pd - want_disc).abs() < 4.0 * se(want_disc) + 0.005,
        "close-only {pd:.4} vs F4 {want_disc:.4}"
    );
    assert!(
        pd < pc,
        "close-only checks should miss liquidations: {pd} vs {pc}"
    );
    // Refused where bars are recorded.
    let bad = "name = \"x\"\n[market]\nkind = \"historical\"\nfile = \"data/binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz\"\nmonitoring = \"close\"\n[venue]\nprofile = \"binance-usdm\"\n[account]\ncapital = 1.0\nside = \"long\"\n[[policy]]\nkind = \"static\"\nleverage = 2\n";
    let e = levsim_scenario::Scenario::parse(bad, std::path::Path::new("x.toml")).unwrap_err();
    assert!(
        e.to_string()
            .contains("market.monitoring: only for generated markets"),
        "{e}"
    );
}
