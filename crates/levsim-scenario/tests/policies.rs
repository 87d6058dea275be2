//! The dynamic policies through the engine: they never see the future, and
//! `liquidation_buffer` sizes at the leverage the closed forms give.

#![allow(clippy::unwrap_used)]

use levsim_core::{MarketTape, Side};
use levsim_engine::{
    simulate, AccountConfig, MarginMode, Market, SeriesRecorder, VenueConfig, VenueProfile,
};
use levsim_policy::estimate::buffer_leverage;
use levsim_policy::PolicyKind;
use levsim_scenario::generators::{Gbm, Model};
use proptest::prelude::*;

const HOUR: i64 = 3_600_000_000_000;

fn venue() -> VenueProfile {
    VenueProfile::resolve(
        &VenueConfig {
            profile: "binance-usdm".into(),
            maintenance_rate: Some(0.005),
            taker_fee: Some(0.0004),
            liquidation_fee: Some(0.0),
            funding: Some(false),
            ..Default::default()
        },
        "BTCUSDT",
    )
    .unwrap()
}

fn account() -> AccountConfig {
    AccountConfig {
        capital: 10_000.0,
        side: Side::Long,
        margin_mode: MarginMode::Isolated,
        reenter: true,
        min_equity: None,
        ..Default::default()
    }
}

fn gbm(sigma: f64, steps: usize, seed: u64) -> MarketTape {
    Gbm {
        mu: 0.0,
        sigma,
        dt_ns: HOUR,
        steps,
        start_price: 100.0,
        start_ns: 0,
        model: Model::Gbm,
        monitoring: Default::default(),
    }
    .path(seed)
}

/// Effective leverage per bar and the metrics.
fn run(kind: &PolicyKind, tape: &MarketTape) -> (Vec<f64>, u32) {
    let mut policy = kind.build().unwrap();
    let mut rec = SeriesRecorder::new(1);
    let out = simulate(
        Market::new(tape),
        &venue(),
        &account(),
        &mut policy,
        &mut rec,
    )
    .unwrap();
    (rec.leverage, out.metrics.trades)
}

fn kinds() -> Vec<PolicyKind> {
    let text = r#"
[[p]]
kind = "vol_target"
target_vol = 2.0
halflife_h = 24.0
[[p]]
kind = "liquidation_buffer"
epsilon = 0.02
horizon_h = 12.0
halflife_h = 24.0
[[p]]
kind = "liquidation_buffer"
rule = "distance"
k = 2.0
horizon_h = 24.0
[[p]]
kind = "kelly"
mu_prior = 0.5
halflife_h = 48.0
[[p]]
kind = "drawdown_control"
leverage = 8.0
max_drawdown = 0.3
"#;
    #[derive(serde::Deserialize)]
    struct F {
        p: Vec<PolicyKind>,
    }
    toml::from_str::<F>(text).unwrap().p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Feed a path, then change only its future (from bar `k` on): every
    /// decision up to bar k is unchanged, so the leverage series agree
    /// through bar k − 1 (bar k's open already differs).
    #[test]
    fn policies_never_see_the_future(seed in 0u64..1_000, k in 5usize..300, shock in -0.3f64..0.3) {
        let a = gbm(0.9, 320, seed);
        let mut b = a.clone();
        for col in [&mut b.open, &mut b.high, &mut b.low, &mut b.close] {
            for v in col[k..].iter_mut() {
                *v *= 1.0 + shock;
            }
        }
        for kind in kinds() {
            let (la, _) = run(&kind, &a);
            let (lb, _) = run(&kind, &b);
            prop_assert_eq!(&la[..k], &lb[..k], "{:?}", kind);
        }
    }
}

/// On a long GBM path of known σ, `liquidation_buffer` (F3 rule) ends up
/// at the leverage F3 gives for that σ (its EWMA estimate with a 500-hour
/// half-life is within a few per cent of σ), and within its band.
#[test]
fn liquidation_buffer_sizes_at_the_closed_form_leverage() {
    let sigma = 0.8;
    let tape = gbm(sigma, 4_000, 7);
    let kind: PolicyKind = toml::from_str(
        "kind = \"liquidation_buffer\"\nepsilon = 0.01\nhorizon_h = 24.0\nhalflife_h = 500.0\nmax_leverage = 50.0\nband = 0.05",
    )
    .unwrap();
    let (lev, trades) = run(&kind, &tape);
    let want = buffer_leverage(0.01, sigma, 1.0 / 365.0, 0.005, true, 1.0, 50.0);
    let (lo, hi) = (
        buffer_leverage(0.01, sigma * 1.08, 1.0 / 365.0, 0.005, true, 1.0, 50.0),
        buffer_leverage(0.01, sigma * 0.92, 1.0 / 365.0, 0.005, true, 1.0, 50.0),
    );
    let last = *lev.last().unwrap();
    assert!(
        last > lo * 0.94 && last < hi * 1.06,
        "leverage {last} vs F3's {want} (σ ± 8 %: {lo}..{hi})"
    );
    assert!(trades > 1, "it rebalances");
}

/// The optimizer on a GBM scenario with one leverage range: the most
/// capital-efficient static leverage whose simulated probability of
/// liquidation within a day is at most 10 % is where F3's probability
/// crosses 10 % (within 4 Monte Carlo standard errors, plus the bisection's
/// last step).
#[test]
fn the_optimizer_finds_the_leverage_where_p_liquidation_crosses_epsilon() {
    use levsim_scenario::optimize::{optimize, Constraint, Objective};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opt.toml");
    std::fs::write(
        &path,
        r#"
name = "opt"
seed = 3
[market]
kind = "gbm"
sigma = 0.8
dt = "1h"
horizon = "1d"
paths = 4000
start_price = 100.0
[venue]
profile = "binance-usdm"
maintenance_rate = 0.005
taker_fee = 0.0
liquidation_fee = 0.0
funding = false
[account]
capital = 10000.0
side = "long"
[[policy]]
kind = "static"
leverage = { min = 1.0, max = 60.0 }
"#,
    )
    .unwrap();
    let eps = 0.1;
    let res = optimize(
        &path,
        &std::fs::read_to_string(&path).unwrap(),
        Objective::CapitalEfficiency,
        Constraint::parse(&format!("p_liquidation <= {eps}")).unwrap(),
        2,
        &|_| {},
    )
    .unwrap();
    assert_eq!(res.len(), 1);
    let r = &res[0];
    let l = r.best_params.as_ref().unwrap()["leverage"]
        .as_f64()
        .unwrap();
    assert!(r.p_liquidation.unwrap() <= eps);
    let p_closed = levsim_policy::estimate::first_passage(
        levsim_policy::estimate::liquidation_distance(l, 0.005, true),
        0.8,
        1.0 / 365.0,
        true,
    );
    let se = (eps * (1.0 - eps) / 4000.0).sqrt();
    let want = buffer_leverage(eps, 0.8, 1.0 / 365.0, 0.005, true, 1.0, 60.0);
    assert!(
        (p_closed - eps).abs() < 4.0 * se + 0.01,
        "found {l}x (F3 P = {p_closed}), closed form {want}x"
    );
    assert!(r.evaluated >= 10 && r.candidates.iter().any(|c| !c.feasible));
    // `levsim run` refuses a range, naming the field and the command that takes it.
    let e = levsim_scenario::Scenario::load(&path)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("policy[0].leverage") && e.contains("levsim optimize"),
        "{e}"
    );
}

/// Mean `log_growth` and mean average leverage of `kind` over `paths` daily
/// GBM paths (μ, σ) of `years` years, with no fees or funding; asserts no
/// run was liquidated.
fn f5_growth(
    kind: &PolicyKind,
    mu: f64,
    sigma: f64,
    years: usize,
    paths: u64,
    tag: &str,
) -> (f64, f64) {
    let venue = VenueProfile::resolve(
        &VenueConfig {
            profile: "binance-usdm".into(),
            maintenance_rate: Some(0.005),
            taker_fee: Some(0.0),
            liquidation_fee: Some(0.0),
            funding: Some(false),
            ..Default::default()
        },
        "BTCUSDT",
    )
    .unwrap();
    let (mut growth, mut lev) = (0.0, 0.0);
    for k in 0..paths {
        let t = Gbm {
            mu,
            sigma,
            dt_ns: 24 * HOUR,
            steps: 365 * years,
            start_price: 100.0,
            start_ns: 0,
            model: Model::Gbm,
            monitoring: Default::default(),
        }
        .path(levsim_scenario::run_seed(5, &format!("{tag}/{k}")));
        let mut policy = kind.build().unwrap();
        let out = simulate(
            Market::new(&t),
            &venue,
            &account(),
            &mut policy,
            &mut SeriesRecorder::disabled(),
        )
        .unwrap();
        assert_eq!(out.metrics.liquidations, 0);
        growth += out.metrics.log_growth;
        lev += out.metrics.avg_leverage;
    }
    (growth / paths as f64, lev / paths as f64)
}

/// CLOSED_FORM F5 / Table D (μ 40 %, σ 60 %, r = 0): a constant leverage
/// rebalanced every day grows at g(L) = L·μ − L²σ²/2 — 0.2222 at the Kelly
/// leverage L* = μ/σ² = 1.111 and 0.1667 at L*/2 — measured as the mean of
/// the runs' `log_growth` over 400 GBM paths of 20 years. Tolerance: 4
/// standard errors (L·σ/√(T·paths)) plus 0.01 for daily rather than
/// continuous rebalancing.
#[test]
fn constant_leverage_grows_at_the_f5_rate() {
    let (mu, sigma, years, paths) = (0.4, 0.6, 20usize, 400u64);
    let l_star = mu / (sigma * sigma);
    for (lev, want) in [(l_star, 0.2222), (l_star / 2.0, 0.1667)] {
        let kind = PolicyKind::ConstantLeverage {
            leverage: lev,
            band: 1e-6,
            weights: None,
        };
        let (g, _) = f5_growth(&kind, mu, sigma, years, paths, "f5");
        let se = lev * sigma / ((years as f64) * paths as f64).sqrt();
        assert!(
            (g - want).abs() < 4.0 * se + 0.01,
            "L {lev:.3}: growth {g:.4} vs F5 {want} (se {se:.4})"
        );
    }
}

/// CLOSED_FORM F5 through the `kelly` policy itself (μ 40 %, σ 60 %,
/// r = 0, daily bars over 20 years, the drift given as a view and σ
/// estimated by an EWMA with a one-year half-life): full Kelly grows at
/// g(L*) = 0.2222, half Kelly at g(L*/2) = 0.1667 (Table D) and double
/// Kelly at g(2L*) = r = 0. The issue's "half of it at 2L*" does not match
/// F5, which gives r at 2L*; the test follows F5. Tolerance: 4 standard
/// errors (L·σ/√(T·paths)) plus 0.015 for daily rebalancing and the
/// estimate's noise (a 2 % error in σ̂ moves L by 4 %).
#[test]
fn kelly_grows_at_the_f5_rate() {
    let (mu, sigma, years, paths) = (0.4, 0.6, 20usize, 300u64);
    let l_star = mu / (sigma * sigma);
    for (fraction, want) in [(1.0, 0.2222), (0.5, 0.1667), (2.0, 0.0)] {
        let kind: PolicyKind = toml::from_str(&format!(
            "kind = \"kelly\"\nfraction = {fraction}\nmu = {mu}\nhalflife_h = 8760.0\n\
             sigma_prior = {sigma}\nmax_leverage = 20.0\nband = 0.000001\nk = 10.0"
        ))
        .unwrap();
        let (g, avg_lev) = f5_growth(&kind, mu, sigma, years, paths, "kelly");
        let lev = fraction * l_star;
        assert!(
            (avg_lev / lev - 1.0).abs() < 0.05,
            "fraction {fraction}: average leverage {avg_lev:.3} vs {lev:.3}"
        );
        let se = lev * sigma / ((years as f64) * paths as f64).sqrt();
        assert!(
            (g - want).abs() < 4.0 * se + 0.015,
            "fraction {fraction}: growth {g:.4} vs F5 {want} (se {se:.4})"
        );
    }
}
