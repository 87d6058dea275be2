//! Portfolio accounts: the portfolio loop against the single-instrument
//! loop (old versus new), Binance's cross formula (SPEC BIN-3), the
//! portfolio-margin grid in closed form, and money conservation.

use levsim_core::{FundingSeries, Instrument, InstrumentTable, MarketTape, PortfolioTape, Side};
use levsim_engine::portfolio::{
    simulate_portfolio, Cross, Isolated, MarginScope, Portfolio, PortfolioMarket, PortfolioOutput,
    ScenarioGrid,
};
use levsim_engine::venue::cross::binance_cross_liquidation_price;
use levsim_engine::venue::{MarginModel, MarginModelAny};
use levsim_engine::{simulate, AccountConfig, MarginMode, Market, VenueConfig, VenueProfile};
use levsim_policy::{
    ConstantLeverage, OnFirstLeg, PortfolioPolicy, Sizing, StaticLeverage, WeightsPolicy,
};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};

use crate::support::*;

fn binance(symbol: &str, taker: f64) -> VenueProfile {
    VenueProfile::resolve(
        &VenueConfig {
            profile: "binance-usdm".into(),
            taker_fee: Some(taker),
            ..Default::default()
        },
        symbol,
    )
    .unwrap()
}

/// A seeded random walk with a crash in the middle, `n` one-minute bars.
fn walk(seed: u64, n: usize, start: f64, crash: f64) -> MarketTape {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let mut t = MarketTape {
        symbol: "BTCUSDT".into(),
        interval_ns: MIN,
        ..Default::default()
    };
    let mut p = start;
    for i in 0..n {
        let o = p;
        let drift = if i == n / 2 { crash } else { 0.0 };
        let c = o * (1.0 + drift + 0.004 * (rng.random::<f64>() - 0.5));
        let h = o.max(c) * (1.0 + 0.003 * rng.random::<f64>());
        let l = o.min(c) * (1.0 - 0.003 * rng.random::<f64>());
        t.push(i as i64 * MIN, o, h, l, c, 1.0);
        p = c;
    }
    t
}

fn funding(n: usize) -> FundingSeries {
    let mut f = FundingSeries::default();
    for i in (0..n).step_by(480) {
        f.ts.push(i as i64 * MIN);
        f.rate.push(if i % 960 == 0 { 0.0003 } else { -0.0001 });
    }
    f
}

fn table(symbols: &[&str]) -> InstrumentTable {
    InstrumentTable::new(symbols.iter().map(|s| Instrument::linear(*s)).collect()).unwrap()
}

fn run_pf<S: MarginScope, P: PortfolioPolicy>(
    tape: &PortfolioTape,
    funding: &[Option<&FundingSeries>],
    rules: &[VenueProfile],
    scope: &S,
    acct: &AccountConfig,
    policy: &mut P,
) -> PortfolioOutput {
    simulate_portfolio(
        PortfolioMarket {
            tape,
            funding,
            rules,
            options: &[],
        },
        scope,
        acct,
        policy,
        0,
    )
    .unwrap()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

/// The portfolio loop with one leg in isolated margin is the
/// single-instrument loop: same liquidation bars and prices, same final
/// equity, fees and funding, for static and rebalancing policies on both
/// sides (positions in the first bracket, where Binance closes whole).
#[test]
fn one_leg_isolated_is_the_single_instrument_loop() {
    let venue = binance("BTCUSDT", 0.0004);
    let mut liquidated = 0;
    for seed in 0..6u64 {
        let tape = walk(
            seed,
            3_000,
            30_000.0,
            if seed % 2 == 0 { -0.12 } else { 0.12 },
        );
        let f = funding(tape.len());
        let pt = PortfolioTape::single(&tape);
        for side in [Side::Long, Side::Short] {
            for lev in [3.0, 8.0, 15.0] {
                let mut acct = account(side, seed % 3 == 0);
                acct.capital = 1_000.0;
                let single = simulate(
                    Market::new(&tape).with_funding(Some(&f)),
                    &venue,
                    &acct,
                    &mut StaticLeverage { leverage: lev },
                    &mut (),
                )
                .unwrap();
                let mut p = OnFirstLeg {
                    policy: StaticLeverage { leverage: lev },
                    side,
                };
                let pf = run_pf(
                    &pt,
                    &[Some(&f)],
                    std::slice::from_ref(&venue),
                    &Isolated,
                    &acct,
                    &mut p,
                );
                let (a, b) = (&single.metrics, &pf.metrics);
                let at = format!("seed {seed} {side:?} {lev}x");
                assert_eq!(a.first_liquidation_ts, b.first_liquidation_ts, "{at}");
                assert_eq!(a.liquidations, b.liquidations, "{at}");
                match (a.liquidation_price, b.liquidation_price) {
                    (Some(x), Some(y)) => assert!(close(x, y, 1e-9), "{at}: {x} vs {y}"),
                    (x, y) => assert_eq!(x, y, "{at}"),
                }
                for (name, x, y) in [
                    ("final_equity", a.final_equity, b.final_equity),
                    ("fees", a.fees, b.fees),
                    ("funding", a.funding, b.funding),
                    ("bad_debt", a.bad_debt, b.bad_debt),
                    ("max_drawdown_pct", a.max_drawdown_pct, b.max_drawdown_pct),
                    ("avg_leverage", a.avg_leverage, b.avg_leverage),
                ] {
                    assert!(close(x, y, 1e-9), "{at} {name}: {x} vs {y}");
                }
                assert_eq!(a.trades, b.trades, "{at}");
                liquidated += usize::from(a.liquidations > 0);
                assert!(pf.conservation_error.abs() < 1e-7, "{at}");
            }
        }
        // Rebalancing every bar it drifts: the same trades.
        let mut acct = account(Side::Long, false);
        acct.capital = 1_000.0;
        let single = simulate(
            Market::new(&tape).with_funding(Some(&f)),
            &venue,
            &acct,
            &mut ConstantLeverage {
                leverage: 5.0,
                band: 0.05,
            },
            &mut (),
        )
        .unwrap();
        let mut p = OnFirstLeg {
            policy: ConstantLeverage {
                leverage: 5.0,
                band: 0.05,
            },
            side: Side::Long,
        };
        let pf = run_pf(
            &pt,
            &[Some(&f)],
            std::slice::from_ref(&venue),
            &Isolated,
            &acct,
            &mut p,
        );
        assert_eq!(single.metrics.trades, pf.metrics.trades, "seed {seed}");
        assert!(close(
            single.metrics.final_equity,
            pf.metrics.final_equity,
            1e-9
        ));
        assert_eq!(
            single.metrics.first_liquidation_ts,
            pf.metrics.first_liquidation_ts
        );
    }
    // The comparison covered liquidated and surviving runs alike.
    assert!(
        (10..62).contains(&liquidated),
        "{liquidated} of 72 liquidated"
    );
}

/// One instrument listed twice under two symbols, 0.5/0.5 in a cross
/// account, is the one-instrument run at full size.
#[test]
fn an_instrument_split_in_two_legs_is_the_same_account() {
    for seed in 10..16u64 {
        let tape = walk(seed, 2_000, 2_000.0, -0.2);
        let mut twin = tape.clone();
        twin.symbol = "TWIN".into();
        let (two, _) =
            PortfolioTape::align(table(&["BTCUSDT", "TWIN"]), &[tape.clone(), twin]).unwrap();
        let one = PortfolioTape::single(&tape);
        let v = flat_venue(0.005, 0.0005, 0.01);
        let f = funding(tape.len());
        let mut acct = account(Side::Long, false);
        acct.margin_mode = MarginMode::Cross;
        for lev in [4.0, 10.0, 30.0] {
            let mut a = WeightsPolicy::new(&[1.0], Sizing::Static(lev)).unwrap();
            let mut b = WeightsPolicy::new(&[0.5, 0.5], Sizing::Static(lev)).unwrap();
            let ra = run_pf(
                &one,
                &[Some(&f)],
                std::slice::from_ref(&v),
                &Cross,
                &acct,
                &mut a,
            );
            let rb = run_pf(
                &two,
                &[Some(&f), Some(&f)],
                &[v.clone(), v.clone()],
                &Cross,
                &acct,
                &mut b,
            );
            let at = format!("seed {seed} {lev}x");
            assert_eq!(
                ra.metrics.first_liquidation_ts, rb.metrics.first_liquidation_ts,
                "{at}"
            );
            assert_eq!(ra.metrics.liquidations, rb.metrics.liquidations, "{at}");
            for (x, y) in [
                (ra.metrics.final_equity, rb.metrics.final_equity),
                (ra.metrics.fees, rb.metrics.fees),
                (ra.metrics.funding, rb.metrics.funding),
                (ra.metrics.max_drawdown_pct, rb.metrics.max_drawdown_pct),
            ] {
                assert!(close(x, y, 1e-9), "{at}: {x} vs {y}");
            }
            // Each leg carries half of it.
            assert!(close(rb.legs[0].pnl, rb.legs[1].pnl, 1e-9));
            assert!(close(ra.legs[0].pnl, 2.0 * rb.legs[0].pnl, 1e-9));
        }
    }
}

/// SPEC BIN-3: wallet 500, long 0.02 BTC at 50,000 in a cross account
/// (MMR 0.4 %, cum 0) has its liquidation price at 25,100.40. The run
/// fills there, on the first bar whose low reaches it.
#[test]
fn a_cross_account_is_liquidated_at_binances_price() {
    let venue = binance("BTCUSDT", 0.0);
    // Falling 1 % a bar from 50,000.
    let t = falling("BTCUSDT", 50_000.0, 0.01, 120);
    let mut acct = account(Side::Long, false);
    acct.capital = 500.0;
    acct.margin_mode = MarginMode::Cross;
    // 1,000 notional on 500 of equity: 2x.
    let mut pol = WeightsPolicy::new(&[1.0], Sizing::Static(2.0)).unwrap();
    let pt = PortfolioTape::single(&t);
    let out = run_pf(
        &pt,
        &[],
        std::slice::from_ref(&venue),
        &Cross,
        &acct,
        &mut pol,
    );
    let lp = out.metrics.liquidation_price.unwrap();
    assert!((lp - 25_100.40).abs() < 0.01, "{lp}");
    // Independently: the first bar whose low is at or below the price.
    let bar = t.low.iter().position(|&l| l <= 25_100.401_6).unwrap();
    assert_eq!(out.metrics.first_liquidation_ts, Some(t.ts[bar]));
}

/// Two legs in one cross account: ETH falls while BTC holds. ETH's fill is
/// Binance's cross liquidation price with BTC's maintenance and PnL as the
/// "other positions" (SPEC §1.3), and it falls on the bar an independent
/// scan finds; the whole account is closed and ETH caused it.
#[test]
fn a_crash_in_one_leg_takes_the_cross_account_down() {
    let (btc_v, eth_v) = (binance("BTCUSDT", 0.0), binance("ETHUSDT", 0.0));
    let (pt, eth) = flat_btc_falling_eth(200);
    let mut acct = account(Side::Long, false);
    acct.capital = 10_000.0;
    acct.margin_mode = MarginMode::Cross;
    let mut pol = WeightsPolicy::new(&[0.5, 0.5], Sizing::Static(4.0)).unwrap();
    let rules = [btc_v.clone(), eth_v.clone()];
    let out = run_pf(&pt, &[], &rules, &Cross, &acct, &mut pol);
    // Positions as opened: 20,000 of each at the first open, no fees.
    let (q_btc, q_eth) = (20_000.0 / 50_000.0, 20_000.0 / 2_000.0);
    let (MarginModelAny::Tiered(bt), MarginModelAny::Tiered(et)) = (&btc_v.margin, &eth_v.margin)
    else {
        panic!("Binance margins are bracket tables");
    };
    let b = bt.bracket_for(20_000.0);
    let btc_mm = 20_000.0 * b.mmr - b.cum;
    // ETH's bracket at the liquidation notional (iterate to a fixed point).
    let mut lp = 1_000.0;
    for _ in 0..20 {
        let e = et.bracket_for(q_eth * lp);
        let (mmr, cum) = (e.mmr, e.cum);
        lp = binance_cross_liquidation_price(
            10_000.0,
            btc_mm,
            0.0,
            cum,
            Side::Long,
            q_eth,
            2_000.0,
            mmr,
        );
    }
    assert_eq!(out.liquidations.len(), 2, "both legs closed");
    assert_eq!(out.liquidation_causes, vec![1, 1]);
    let eth_fill = out.liquidations[out.liquidation_legs.iter().position(|&k| k == 1).unwrap()];
    assert!(
        (eth_fill.fill_price - lp).abs() < 1e-6 * lp,
        "{} vs {lp}",
        eth_fill.fill_price
    );
    let bar = eth.low.iter().position(|&l| l <= lp).unwrap();
    assert_eq!(out.metrics.first_liquidation_ts, Some(eth.ts[bar]));
    // What `levsim margin` says for the same cross account (BTC held at
    // its entry mark): the calculator's liquidation price of the ETH leg.
    use levsim_engine::venue::calculator::{assess_positions, AccountInput, Mode, PositionInput};
    let pos = |sym: &str, size: f64, entry: f64| PositionInput {
        instrument: Some(sym.into()),
        side: Side::Long,
        size,
        entry,
        mark: Some(entry),
        margin: None,
        leverage: None,
    };
    let calc = assess_positions(
        &[&btc_v, &eth_v],
        &AccountInput {
            collateral: 10_000.0,
            mode: Mode::Cross,
            positions: vec![
                pos("BTCUSDT", q_btc, 50_000.0),
                pos("ETHUSDT", q_eth, 2_000.0),
            ],
        },
        None,
    )
    .unwrap();
    let calc_lp = calc.positions[1].liquidation_price.unwrap();
    assert!(
        (eth_fill.fill_price - calc_lp).abs() < 1e-6 * calc_lp,
        "run {} vs levsim margin {calc_lp}",
        eth_fill.fill_price
    );
    assert_eq!(out.legs[1].liquidations_caused, 1);
    assert_eq!(out.legs[0].liquidations_caused, 0);
    // The same legs isolated: only ETH goes, BTC runs to the end.
    let mut pol = WeightsPolicy::new(&[0.5, 0.5], Sizing::Static(4.0)).unwrap();
    let iso = run_pf(&pt, &[], &rules, &Isolated, &acct, &mut pol);
    assert_eq!(iso.liquidation_legs, vec![1]);
    assert!(iso.legs[0].final_qty > 0.0);
    assert!(iso.metrics.first_liquidation_ts < out.metrics.first_liquidation_ts);
}

/// BTC flat at 50,000 and ETH falling 0.5 % a bar from 2,000, `n` one-minute
/// bars on one clock; ETH's own tape beside it.
fn flat_btc_falling_eth(n: usize) -> (PortfolioTape, MarketTape) {
    let mut btc = MarketTape {
        symbol: "BTCUSDT".into(),
        interval_ns: MIN,
        ..Default::default()
    };
    for i in 0..n {
        btc.push(i as i64 * MIN, 50_000.0, 50_000.0, 50_000.0, 50_000.0, 1.0);
    }
    let eth = falling("ETHUSDT", 2_000.0, 0.005, n);
    let (pt, _) =
        PortfolioTape::align(table(&["BTCUSDT", "ETHUSDT"]), &[btc, eth.clone()]).unwrap();
    (pt, eth)
}

/// Portfolio margin of one long: the requirement is the grid's worst loss,
/// `r · notional`, so the fill is where `W + q(p − P) = r·q·p`.
#[test]
fn portfolio_margin_liquidates_at_the_grid_requirement() {
    let venue = flat_venue(0.005, 0.0, 0.0);
    let t = falling("TEST", 100.0, 0.01, 100);
    let mut acct = account(Side::Long, false);
    acct.margin_mode = MarginMode::Portfolio;
    let grid = ScenarioGrid::principal(&[1.0], &[0.16], 9, 0.0).unwrap();
    let scope = Portfolio::new(grid);
    let mut pol = WeightsPolicy::new(&[1.0], Sizing::Static(4.0)).unwrap();
    let out = run_pf(
        &PortfolioTape::single(&t),
        &[],
        std::slice::from_ref(&venue),
        &scope,
        &acct,
        &mut pol,
    );
    let (w, q, entry) = (10_000.0, 400.0, 100.0);
    let want = (q * entry - w) / (q * (1.0 - 0.16));
    let got = out.metrics.liquidation_price.unwrap();
    assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
}

/// A long and an equal short of perfectly correlated instruments under
/// portfolio margin: the hedge offsets and the account outlives a crash
/// that takes the long alone (isolated) down.
#[test]
fn hedged_legs_offset_under_portfolio_margin() {
    let crash = walk(3, 1_000, 100.0, -0.3);
    let mut twin = crash.clone();
    twin.symbol = "B".into();
    let (pt, _) = PortfolioTape::align(table(&["BTCUSDT", "B"]), &[crash, twin]).unwrap();
    let v = flat_venue(0.01, 0.0, 0.0);
    let rules = [v.clone(), v];
    let mut acct = account(Side::Long, false);
    acct.margin_mode = MarginMode::Portfolio;
    let scope = Portfolio::new(
        ScenarioGrid::principal(&[1.0, 1.0, 1.0, 1.0], &[0.16, 0.16], 9, 0.01).unwrap(),
    );
    let mut pol = WeightsPolicy::new(&[0.5, -0.5], Sizing::Static(10.0)).unwrap();
    let pm = run_pf(&pt, &[], &rules, &scope, &acct, &mut pol);
    assert_eq!(pm.metrics.liquidations, 0);
    let mut pol = WeightsPolicy::new(&[0.5, -0.5], Sizing::Static(10.0)).unwrap();
    let iso = run_pf(&pt, &[], &rules, &Isolated, &acct, &mut pol);
    assert_eq!(iso.liquidation_legs, vec![0], "the long leg alone");
}

/// Multi-asset collateral and wrong-way risk: an account whose margin is
/// BTC held as collateral, long BTC at 5x, loses margin twice as BTC
/// falls; it is liquidated where `W + c·p + q(p − P0) = m·q·p`
/// (c = BTC units after the haircut), at a higher price than the same
/// account margined with the same value in quote.
#[test]
fn collateral_in_the_asset_held_liquidates_earlier() {
    let venue = flat_venue(0.005, 0.0, 0.0);
    let t = falling("TEST", 10_000.0, 0.004, 300);
    let (units, haircut) = (0.25, 0.05);
    let c = units * (1.0 - haircut);
    let mut acct = account(Side::Long, false);
    acct.margin_mode = MarginMode::Cross;
    acct.capital = 1.0;
    acct.collateral = vec![levsim_engine::CollateralConfig {
        asset: "BTC".into(),
        amount: units,
        haircut,
        price: "TEST".into(),
    }];
    let pt = PortfolioTape::single(&t);
    let mut pol = WeightsPolicy::new(&[1.0], Sizing::Static(5.0)).unwrap();
    let out = run_pf(
        &pt,
        &[],
        std::slice::from_ref(&venue),
        &Cross,
        &acct,
        &mut pol,
    );
    let (w, p0, m) = (1.0, 10_000.0, 0.005);
    let q = 5.0 * (w + c * p0) / p0;
    let want = q * p0 / (c + q - m * q) - w / (c + q - m * q);
    let got = out.metrics.liquidation_price.unwrap();
    assert!((got - want).abs() < 1e-6 * want, "{got} vs {want}");
    assert!(
        out.conservation_error.abs() < 1e-9,
        "{}",
        out.conservation_error
    );
    assert!(out.collateral_pnl < 0.0);
    // The same value in quote: liquidated later (lower).
    let mut quote = account(Side::Long, false);
    quote.margin_mode = MarginMode::Cross;
    quote.capital = w + c * p0;
    let mut pol = WeightsPolicy::new(&[1.0], Sizing::Static(5.0)).unwrap();
    let plain = run_pf(
        &pt,
        &[],
        std::slice::from_ref(&venue),
        &Cross,
        &quote,
        &mut pol,
    );
    assert!(plain.metrics.liquidation_price.unwrap() < got);
    // An unknown pricing instrument and an isolated account are refused.
    acct.collateral[0].price = "NOPE".into();
    let mut pol = WeightsPolicy::new(&[1.0], Sizing::Static(5.0)).unwrap();
    let e = simulate_portfolio(
        PortfolioMarket {
            tape: &pt,
            funding: &[],
            rules: std::slice::from_ref(&venue),
            options: &[],
        },
        &Cross,
        &acct,
        &mut pol,
        0,
    )
    .unwrap_err();
    assert!(e.to_string().contains("account.collateral[0].price"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Money is conserved across legs, fees, funding and liquidations in
    /// every margin mode, and the legs add up to the account.
    #[test]
    fn money_is_conserved_across_legs(
        seed in 0u64..10_000,
        w in prop::collection::vec(-1.0f64..1.0, 3),
        lev in 1.0f64..40.0,
        mode in 0u8..3,
        rebalance in any::<bool>(),
        reenter in any::<bool>(),
        collateral in 0.0f64..2.0,
    ) {
        prop_assume!(w.iter().map(|x| x.abs()).sum::<f64>() > 0.05);
        let tapes: Vec<MarketTape> = (0..3)
            .map(|k| {
                let mut t = walk(seed * 3 + k, 600, 100.0 * (k + 1) as f64, -0.15 + 0.1 * k as f64);
                t.symbol = format!("S{k}");
                t
            })
            .collect();
        let (pt, _) = PortfolioTape::align(table(&["S0", "S1", "S2"]), &tapes).unwrap();
        let f = funding(600);
        let fund = [Some(&f), None, Some(&f)];
        let rules: Vec<VenueProfile> = (0..3).map(|k| flat_venue(0.004 + 0.002 * k as f64, 0.0005, 0.01)).collect();
        let mut acct = account(Side::Long, reenter);
        acct.capital = 1_000.0;
        if mode > 0 && collateral > 1.0 {
            // Collateral in the second asset, with a haircut.
            acct.collateral = vec![levsim_engine::CollateralConfig {
                asset: "S1".into(),
                amount: collateral,
                haircut: 0.1,
                price: "S1".into(),
            }];
        }
        let sizing = if rebalance {
            Sizing::Rebalanced { leverage: lev, band: 0.1 }
        } else {
            Sizing::Static(lev)
        };
        let mut pol = WeightsPolicy::new(&w, sizing).unwrap();
        let out = match mode {
            0 => run_pf(&pt, &fund, &rules, &Isolated, &acct, &mut pol),
            1 => run_pf(&pt, &fund, &rules, &Cross, &acct, &mut pol),
            _ => {
                let scope = Portfolio::new(ScenarioGrid::principal(
                        &[1.0, 0.5, 0.2, 0.5, 1.0, 0.3, 0.2, 0.3, 1.0],
                        &[0.1, 0.15, 0.2],
                        9,
                        0.01,
                    ).unwrap());
                run_pf(&pt, &fund, &rules, &scope, &acct, &mut pol)
            }
        };
        prop_assert!(out.conservation_error.abs() < 1e-7 * 1_000.0, "{}", out.conservation_error);
        let m = &out.metrics;
        let sum = |f: fn(&levsim_engine::portfolio::LegMetrics) -> f64| out.legs.iter().map(f).sum::<f64>();
        prop_assert!(close(sum(|l| l.trading_fees), m.trading_fees, 1e-12));
        prop_assert!(close(sum(|l| l.liquidation_fees), m.liquidation_fees, 1e-12));
        prop_assert!(close(sum(|l| l.funding), m.funding, 1e-12));
        prop_assert!(m.final_equity >= 0.0);
        prop_assert_eq!(out.liquidations.len() as u32, m.liquidation_tranches);
    }
}

fn inverse_venue(profile: &str, symbol: &str) -> VenueProfile {
    VenueProfile::resolve(
        &VenueConfig {
            profile: profile.into(),
            taker_fee: Some(0.0),
            funding: Some(false),
            ..Default::default()
        },
        symbol,
    )
    .unwrap()
}

/// A falling tape from `p0`, `step` per bar (relative).
fn falling(symbol: &str, p0: f64, step: f64, n: usize) -> MarketTape {
    let mut t = MarketTape {
        symbol: symbol.into(),
        interval_ns: MIN,
        ..Default::default()
    };
    let mut p = p0;
    for i in 0..n {
        let c = p * (1.0 - step);
        t.push(i as i64 * MIN, p, p, c, c, 1.0);
        p = c;
    }
    t
}

/// SPEC BIN-6 through the loop: a COIN-M static long of 100 BTCUSD_PERP
/// contracts (100 USD each) opened at 25,000 holds 0.4 BTC of notional and
/// 0.0016 BTC of maintenance at that mark; its liquidation price is the
/// calculator's inverse formula, and its PnL is in coin,
/// `contracts·size·(1/entry − 1/p)`.
#[test]
fn a_coin_margined_long_runs_in_coin() {
    let venue = inverse_venue("binance-coinm", "BTCUSD_PERP");
    // Flat at 25,000 for a bar, then down 1 % a bar.
    let mut t = falling("BTCUSD_PERP", 25_000.0, 0.01, 200);
    t.close[0] = 25_000.0;
    t.low[0] = 25_000.0;
    t.open[1] = 25_000.0;
    t.high[1] = 25_000.0;
    let mut acct = account(Side::Long, false);
    acct.capital = 0.2; // BTC
    let mut pol = OnFirstLeg {
        policy: StaticLeverage { leverage: 2.0 },
        side: Side::Long,
    };
    let pt = PortfolioTape::single(&t);
    let out = simulate_portfolio(
        PortfolioMarket {
            tape: &pt,
            funding: &[],
            rules: std::slice::from_ref(&venue),
            options: &[],
        },
        &Isolated,
        &acct,
        &mut pol,
        1,
    )
    .unwrap();
    let s = out.series.as_ref().unwrap();
    assert!(
        (s.notional[0][0] - 0.4).abs() < 1e-12,
        "{}",
        s.notional[0][0]
    );
    assert!(
        (s.maintenance[0][0] - 0.0016).abs() < 1e-12,
        "{}",
        s.maintenance[0][0]
    );
    // PnL in coin at the second bar's close.
    let p = t.close[1];
    let want = 10_000.0 * (1.0 / 25_000.0 - 1.0 / p);
    assert!(
        (s.equity[1] - (0.2 + want)).abs() < 1e-12,
        "{} vs {}",
        s.equity[1],
        0.2 + want
    );
    // The liquidation price: the calculator's, for this position.
    let lp = venue
        .margin
        .inverse_liquidation_price(Side::Long, 10_000.0, 25_000.0, 0.2)
        .unwrap();
    let got = out.metrics.liquidation_price.unwrap();
    assert!((got - lp).abs() < 1e-6 * lp, "{got} vs {lp}");
    assert!(out.conservation_error.abs() < 1e-12);
}

/// SPEC BMX-BP-1: a BitMEX XBTUSD long of 200,000 contracts at 10,000 at
/// 20x (initial margin 1 XBT, fees ignored) has its bankruptcy price at
/// 200,000 / (20 + 1) = 9,523.81.
#[test]
fn a_bitmex_long_goes_bankrupt_at_spec_price() {
    let venue = inverse_venue("bitmex", "XBTUSD");
    let t = falling("XBTUSD", 10_000.0, 0.002, 200);
    let mut acct = account(Side::Long, false);
    acct.capital = 1.0; // XBT
    let mut pol = OnFirstLeg {
        policy: StaticLeverage { leverage: 20.0 },
        side: Side::Long,
    };
    let pt = PortfolioTape::single(&t);
    let out = run_pf(
        &pt,
        &[],
        std::slice::from_ref(&venue),
        &Isolated,
        &acct,
        &mut pol,
    );
    let e = &out.liquidations[0];
    assert!((e.qty - 200_000.0).abs() < 1e-6, "{}", e.qty);
    assert!(
        (e.bankruptcy_price - 9_523.81).abs() < 0.005,
        "{}",
        e.bankruptcy_price
    );
}

/// A covered call through the loop: long the underlying, short a call on
/// it (its price bars from the underlying's, Black-76 at a constant
/// volatility), the call settling at its intrinsic value at expiry. The
/// short call's standard maintenance is Deribit's rate (0.075·S + mark per
/// option), the settlement is `max(S − K, 0)` at the first open at or
/// after expiry, nothing trades in it afterwards, and money is conserved.
#[test]
fn a_covered_call_settles_at_expiry() {
    use levsim_engine::portfolio::{LegOption, OptionLeg};
    use levsim_options::{tape::option_bars, OptionKind};
    let under = walk(7, 600, 100.0, 0.05);
    let n = under.len();
    let (strike, expiry) = (105.0, under.ts[300] + 30 * MIN);
    let iv = vec![0.8; n];
    let mut call = MarketTape {
        symbol: "CALL".into(),
        interval_ns: MIN,
        ts: under.ts.clone(),
        open: vec![0.0; n],
        high: vec![0.0; n],
        low: vec![0.0; n],
        close: vec![0.0; n],
        volume: vec![0.0; n],
    };
    {
        let MarketTape {
            open,
            high,
            low,
            close,
            ..
        } = &mut call;
        option_bars(
            &under.ts,
            MIN,
            [&under.open, &under.high, &under.low, &under.close],
            strike,
            expiry,
            OptionKind::Call,
            &iv,
            [open, high, low, close],
        );
    }
    let (pt, _) =
        PortfolioTape::align(table(&["BTCUSDT", "CALL"]), &[under.clone(), call.clone()]).unwrap();
    let v = flat_venue(0.005, 0.0, 0.0);
    let options = [
        None,
        Some(OptionLeg {
            spec: LegOption {
                underlying: 0,
                strike,
                expiry,
                kind: OptionKind::Call,
            },
            iv,
        }),
    ];
    let mut acct = account(Side::Long, false);
    acct.margin_mode = MarginMode::Cross;
    // 1x long the underlying, short as many calls (delta-notional −1x).
    let mut pol = WeightsPolicy::new(&[1.0, -1.0], Sizing::Static(2.0)).unwrap();
    let out = simulate_portfolio(
        PortfolioMarket {
            tape: &pt,
            funding: &[],
            rules: &[v.clone(), v],
            options: &options,
        },
        &Cross,
        &acct,
        &mut pol,
        1,
    )
    .unwrap();
    let s = out.series.as_ref().unwrap();
    // Standard maintenance of the short call at the first close.
    let q = -s.notional[1][0] / under.close[0];
    let want = q * (0.075 * under.close[0] + call.close[0]);
    assert!(
        (s.maintenance[1][0] - want).abs() < 1e-9 * want,
        "{} vs {want}",
        s.maintenance[1][0]
    );
    // The book's delta notional at the first close: the long underlying
    // plus the short calls' delta (a finite difference of their price).
    let t0 = (expiry - under.ts[0]) as f64 / (365.0 * 86_400e9);
    let s0 = under.close[0];
    let h = s0 * 1e-5;
    let p = |x: f64| levsim_options::price(x, strike, t0, 0.8, OptionKind::Call);
    let delta = (p(s0 + h) - p(s0 - h)) / (2.0 * h);
    let want = s.notional[0][0] - q * delta * s0;
    assert!(
        (s.delta_notional[0] - want).abs() < 1e-4 * want.abs(),
        "{} vs {want}",
        s.delta_notional[0]
    );
    assert!(
        s.gamma_1pct[0] < 0.0 && s.vega[0] < 0.0,
        "short call: short gamma and vega"
    );
    // Settled once, at intrinsic value at the first open at or after expiry.
    let call_leg = &out.legs[1];
    assert_eq!(call_leg.expired, 1);
    assert_eq!(call_leg.final_qty, 0.0);
    let at = under.ts.iter().position(|&t| t >= expiry).unwrap();
    let intrinsic = (under.open[at] - strike).max(0.0);
    let entry = call.open[0];
    assert!(
        (call_leg.pnl - q * (entry - intrinsic)).abs() < 1e-9 * (q * entry).max(1.0),
        "{} vs {}",
        call_leg.pnl,
        q * (entry - intrinsic)
    );
    assert!(
        out.conservation_error.abs() < 1e-9,
        "{}",
        out.conservation_error
    );
    assert_eq!(out.metrics.liquidations, 0);
}

/// Isolated accounts on two venues (BTC flat, ETH falling 0.5 % a bar)
/// with `account.transfer`: a transfer that lands at once (delay 0: the
/// next bar) moves the flat account's spare cash to ETH's and puts its
/// liquidation off; one that takes longer than the fall lands too late.
/// Money is conserved with transfers on their way.
#[test]
fn transfers_between_isolated_accounts_and_their_delay() {
    let (btc_v, eth_v) = (binance("BTCUSDT", 0.0), binance("ETHUSDT", 0.0));
    let (pt, _) = flat_btc_falling_eth(200);
    let rules = [btc_v, eth_v];
    let run = |rule: Option<levsim_engine::TransferRule>| {
        let mut acct = account(Side::Long, false);
        acct.capital = 10_000.0;
        acct.margin_mode = MarginMode::Isolated;
        acct.transfer = rule;
        let mut pol = WeightsPolicy::new(&[0.5, 0.5], Sizing::Static(4.0)).unwrap();
        run_pf(&pt, &[], &rules, &Isolated, &acct, &mut pol)
    };
    let rule = |delay: &str| levsim_engine::TransferRule {
        trigger: 0.5,
        share: 1.0,
        delay: delay.into(),
    };
    let none = run(None);
    let fast = run(Some(rule("0s")));
    let slow = run(Some(rule("10h")));
    let first = |o: &levsim_engine::portfolio::PortfolioOutput| o.metrics.first_liquidation_ts;
    assert_eq!(none.liquidation_legs, vec![1]);
    assert_eq!(none.transfers.transfers, 0);
    // Fast: the BTC account sends cash; ETH is liquidated later.
    assert!(fast.transfers.transfers >= 1 && fast.transfers.transferred > 0.0);
    assert!(
        first(&fast).is_none() || first(&fast) > first(&none),
        "{:?} {:?}",
        first(&fast),
        first(&none)
    );
    // Slow: the cash leaves BTC's account and is still on its way.
    assert!(slow.transfers.transfers >= 1);
    assert_eq!(first(&slow), first(&none));
    assert!(slow.transfers.in_transit_end > 0.0);
    for o in [&none, &fast, &slow] {
        assert!(
            o.conservation_error.abs() < 1e-6,
            "{}",
            o.conservation_error
        );
    }
}
