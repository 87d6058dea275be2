//! Cascades against closed forms (CLOSED_FORM F8) and the accounting
//! invariants (F9) through whole cascades.

#![allow(clippy::unwrap_used)]

use levsim_core::{FundingSeries, MarketTape};
use levsim_engine::crowd::{
    market_pass, market_pass_with, Crossing, MarginGroup, PassOptions, Population, TopUpRule,
};
use levsim_engine::liquidity::{LinearImpact, SqrtImpact};
use levsim_engine::{VenueConfig, VenueProfile};

const P0: f64 = 100.0;
const MINUTE: i64 = 60_000_000_000;

/// `n` longs with liquidation prices spread uniformly over
/// `(P0·(1 − w), P0]`, each of `q` base units, no maintenance margin.
fn uniform_longs(n: usize, w: f64, q: f64) -> Population {
    let mut p = Population {
        groups: vec![MarginGroup {
            rate: 0.0,
            cum: 0.0,
        }],
        ..Default::default()
    };
    for j in 0..n {
        let liq = P0 * (1.0 - (j as f64 + 0.5) / n as f64 * w);
        p.side.push(1);
        p.qty.push(q);
        p.entry.push(P0);
        p.collateral.push(q * (P0 - liq));
        p.group.push(0);
    }
    p
}

/// A flat bar at P0, then the price gaps to P0·(1 − s0) and stays.
fn shock(s0: f64) -> MarketTape {
    let mut t = MarketTape {
        symbol: "X".into(),
        interval_ns: MINUTE,
        ..Default::default()
    };
    t.push(0, P0, P0, P0, P0, 0.0);
    let p = P0 * (1.0 - s0);
    t.push(MINUTE, p, p, p, p, 0.0);
    t
}

fn venue(adl: bool, fund: f64) -> VenueProfile {
    VenueProfile::resolve(
        &VenueConfig {
            profile: "binance-usdm".into(),
            maintenance_rate: Some(0.005),
            liquidation_fee: Some(0.0),
            insurance_fund: Some(fund),
            adl: Some(adl),
            funding: Some(true),
            ..Default::default()
        },
        "BTCUSDT",
    )
    .unwrap()
}

/// The final move of the simulated mark from P0, relative.
fn total_move(pass: &levsim_engine::crowd::MarketPass) -> f64 {
    1.0 - pass.tape.low[1] / P0
}

/// Linear book, uniform liquidation density: S = s0 / (1 − R) for R < 1.
/// With impact relative to the shocked price p = P0(1 − s0), the
/// continuum fixed point is exact for R = (1 − s0)·ℓ_q·p / D (ℓ_q: base
/// units per unit of relative move); 20,000 accounts make the discreteness
/// error at most w/n = 2.5e-5 of the move.
#[test]
fn linear_book_cascade_reaches_s0_over_one_minus_r() {
    let (n, w, q, s0) = (20_000, 0.5, 1.0, 0.01);
    let pop = uniform_longs(n, w, q);
    let p = P0 * (1.0 - s0);
    let l_q = n as f64 * q / w;
    for r in [0.2, 0.5, 0.8, 0.95] {
        let depth = (1.0 - s0) * l_q * p / r;
        let mut liq = LinearImpact::new(depth, 1.0, f64::INFINITY);
        let pass = market_pass(&shock(s0), None, &venue(true, 0.0), &pop, &mut liq, 10_000);
        let want = s0 / (1.0 - r);
        let got = total_move(&pass);
        // The cascade stops short of the continuum by less than one
        // account's spacing, amplified by 1/(1 − R).
        assert!(
            (got - want).abs() < 5e-4 * want + 2.0 * w / n as f64 / (1.0 - r),
            "R {r}: move {got} vs {want}"
        );
        assert!(pass.metrics.cascade_rounds_max > 1);
        assert!(
            (pass.metrics.cascade_ratio_max - r).abs() < 0.01,
            "R {r}: {:?}",
            pass.metrics.cascade_ratio_max
        );
    }
    // R ≥ 1 runs away until the crowd is exhausted: everyone liquidated,
    // the move beyond the crowd's deepest liquidation price.
    let depth = (1.0 - s0) * l_q * p / 1.5;
    let mut liq = LinearImpact::new(depth, 1.0, f64::INFINITY);
    let pass = market_pass(&shock(s0), None, &venue(true, 0.0), &pop, &mut liq, 10_000);
    assert_eq!(pass.metrics.accounts_liquidated, n as u64);
    assert!(total_move(&pass) >= w, "{}", total_move(&pass));
}

/// Square-root impact: √S = (a + √(a² + 4·s0))/2 with
/// a = (1 − s0)·Y·σ·√(ℓ_q/V), always finite (F8).
#[test]
fn sqrt_impact_cascade_reaches_its_fixed_point() {
    let (n, w, q, s0) = (20_000, 0.5, 1.0, 0.01);
    let pop = uniform_longs(n, w, q);
    let l_q = n as f64 * q / w;
    for (y, v) in [(0.05, 40_000.0), (0.1, 40_000.0), (0.2, 100_000.0)] {
        let mut liq = SqrtImpact::new(y, v, 1.0, f64::INFINITY);
        let pass = market_pass(&shock(s0), None, &venue(true, 0.0), &pop, &mut liq, 10_000);
        let a = (1.0 - s0) * y * (l_q / v).sqrt();
        let root = (a + (a * a + 4.0 * s0).sqrt()) / 2.0;
        let want = root * root;
        let got = total_move(&pass);
        assert!(
            (got - want).abs() < 1e-3 * want + 2.0 * w / n as f64,
            "Yσ {y} V {v}: move {got} vs {want}"
        );
    }
}

/// A mixed crowd (both sides, partial liquidation, funding, a small fund)
/// through a crash and a rebound: money is conserved to rounding, and the
/// deficit the fund could not pay is exactly what ADL (or socialization)
/// covered (F9).
#[test]
fn money_is_conserved_and_deficits_are_covered_through_cascades() {
    let mut pop = Population {
        groups: vec![
            MarginGroup {
                rate: 0.005,
                cum: 0.0,
            },
            MarginGroup {
                rate: 0.01,
                cum: 50.0,
            },
        ],
        ..Default::default()
    };
    // Deterministic pseudo-random crowd.
    let mut x: u64 = 12345;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..5_000 {
        let side: i8 = if next() < 0.6 { 1 } else { -1 };
        let lev = 2.0 + 60.0 * next();
        let entry = P0 * (0.97 + 0.06 * next());
        let notional = 1_000.0 + 100_000.0 * next();
        pop.side.push(side);
        pop.qty.push(notional / entry);
        pop.entry.push(entry);
        pop.collateral.push(notional / lev);
        pop.group.push(u16::from(next() < 0.3));
    }
    pop.topup = (0..pop.len()).map(|i| i % 3 == 0).collect();
    let mut tape = MarketTape {
        symbol: "X".into(),
        interval_ns: MINUTE,
        ..Default::default()
    };
    let path = [
        100.0, 98.0, 93.0, 88.0, 91.0, 97.0, 104.0, 110.0, 102.0, 99.0,
    ];
    for (k, w) in path.windows(2).enumerate() {
        let (o, c) = (w[0], w[1]);
        tape.push(
            k as i64 * MINUTE,
            o,
            o.max(c) * 1.004,
            o.min(c) * 0.996,
            c,
            0.0,
        );
    }
    let funding = FundingSeries {
        ts: vec![2 * MINUTE, 5 * MINUTE, 7 * MINUTE],
        rate: vec![0.002, -0.003, 0.001],
    };
    for adl in [true, false] {
        for fraction in [None, Some(0.25)] {
            let mut cfg = VenueConfig {
                profile: "binance-usdm".into(),
                maintenance_rate: Some(0.005),
                liquidation_fee: Some(0.01),
                insurance_fund: Some(20_000.0),
                adl: Some(adl),
                funding: Some(true),
                ..Default::default()
            };
            if let Some(f) = fraction {
                cfg.crowd_liquidation = Some(levsim_engine::crowd::CrowdLiquidation::Partial);
                cfg.partial_fraction = Some(f);
            }
            let v = VenueProfile::resolve(&cfg, "BTCUSDT").unwrap();
            // A third of the crowd tops up (half its margin, 2 minutes after
            // the mark comes within 3 % of its liquidation price).
            let topup = Some(TopUpRule {
                trigger: 0.03,
                amount: 0.5,
                delay_ns: 2 * MINUTE,
            });
            let mut liq = LinearImpact::new(1e9, 1.0, 120.0);
            let opts = PassOptions {
                max_rounds: 100,
                topup,
                crossing: Crossing::Index,
                renew: None,
            };
            let pass = market_pass_with(&tape, Some(&funding), &v, &pop, &mut liq, &opts);
            // The sorted index finds exactly what a scan of every account
            // finds: the whole pass is identical.
            let mut liq = LinearImpact::new(1e9, 1.0, 120.0);
            let opts = PassOptions {
                max_rounds: 100,
                topup,
                crossing: Crossing::Scan,
                renew: None,
            };
            let scan = market_pass_with(&tape, Some(&funding), &v, &pop, &mut liq, &opts);
            assert!(
                pass == scan,
                "index and scan differ: {:?} vs {:?}",
                pass.metrics,
                scan.metrics
            );
            let m = &pass.metrics;
            assert!(m.topups > 0, "{m:?}");
            let money = pop.collateral.iter().sum::<f64>() + 20_000.0;
            assert!(
                m.conservation_error.abs() < 1e-9 * money,
                "adl {adl} fraction {fraction:?}: {m:?}"
            );
            assert!(m.liquidations > 0 && m.bad_debt > 0.0, "{m:?}");
            let fund_paid = m.insurance_fund_start + m.insurance_fund_income - m.insurance_fund_end;
            let others = m.adl_covered + m.socialized_loss + m.uncovered_deficit;
            assert!(
                (m.bad_debt - fund_paid - others).abs() < 1e-6 * m.bad_debt,
                "adl {adl}: bad debt {} = fund {fund_paid} + others {others}",
                m.bad_debt
            );
            // With ADL the profitable opposite side pays first (what its
            // profit cannot cover is socialized); without, all is socialized.
            if adl {
                assert!(m.adl_covered > 0.0 && m.adl_count > 0, "{m:?}");
            } else {
                assert!(m.adl_count == 0 && m.socialized_loss > 0.0, "{m:?}");
            }
        }
    }
}

/// A crowd account that tops up: the top-up that lands before the mark
/// reaches the liquidation price saves it; the one that lands after is too
/// late. Index and scan agree, and the deposits keep the ledger balanced.
#[test]
fn a_timely_top_up_saves_an_account_and_a_late_one_does_not() {
    // One long: 1 unit at 100 with 10 of margin, no maintenance: liquidated
    // at 90. Doubling the margin moves that to 80.
    let mut pop = uniform_longs(1, 0.0, 1.0);
    pop.collateral[0] = 10.0;
    pop.topup = vec![true];
    // The price falls 1 per minute from 100 to 85.
    let mut tape = MarketTape {
        symbol: "X".into(),
        interval_ns: MINUTE,
        ..Default::default()
    };
    for k in 0..15 {
        let (o, c) = (100.0 - k as f64, 99.0 - k as f64);
        tape.push(k as i64 * MINUTE, o, o, c, c, 0.0);
    }
    // The trigger (mark within 5 % of 90, i.e. at 94.5) fires in the bar
    // from 95 to 94; the mark reaches 90 about five minutes later.
    let run = |delay_min: i64, crossing: Crossing| {
        let opts = PassOptions {
            max_rounds: 10,
            topup: Some(TopUpRule {
                trigger: 0.05,
                amount: 1.0,
                delay_ns: delay_min * MINUTE,
            }),
            crossing,
            renew: None,
        };
        let mut liq = LinearImpact::new(1e12, 1.0, f64::INFINITY);
        market_pass_with(&tape, None, &venue(true, 0.0), &pop, &mut liq, &opts)
    };
    let early = run(2, Crossing::Index);
    assert_eq!(early.metrics.topups, 1);
    assert_eq!(early.metrics.liquidations, 0, "{:?}", early.metrics);
    assert!((early.metrics.topup_deposits - 10.0).abs() < 1e-12);
    let late = run(30, Crossing::Index);
    assert_eq!(late.metrics.liquidations, 1);
    assert_eq!(late.metrics.topups, 0);
    assert_eq!(
        late.metrics.topups_too_late, 0,
        "the pass ended before it landed"
    );
    let late_in_window = run(8, Crossing::Index);
    assert_eq!(late_in_window.metrics.liquidations, 1);
    assert_eq!(late_in_window.metrics.topups_too_late, 1);
    for d in [2, 8, 30] {
        assert!(
            run(d, Crossing::Index) == run(d, Crossing::Scan),
            "delay {d}"
        );
        assert!(run(d, Crossing::Index).metrics.conservation_error.abs() < 1e-9);
    }
}

/// A renewing crowd over waves of crashes and rallies: liquidated traders
/// are replaced at the mark (so more traders are liquidated than without
/// renewal), money is conserved with the new collateral counted as
/// deposits, and the sorted indexes find exactly what a scan finds.
#[test]
fn a_renewing_crowd_holds_its_open_interest() {
    let cfg = levsim_engine::crowd::PopulationConfig {
        accounts: 3_000,
        file: None,
        open_interest: Some(3e7),
        open_interest_adv: None,
        long_share: 0.6,
        leverage: Some(levsim_engine::crowd::LeverageDist::Lognormal {
            median: 20.0,
            sigma: 0.6,
            cap: 100.0,
            min: 1.1,
        }),
        entry_window: None,
        size_sigma: 1.0,
        margin_mode: None,
        max_rounds: 50,
        topup_share: 0.0,
        topup_trigger: 0.02,
        topup_amount: 0.5,
        topup_delay: None,
        couple_subject: false,
        renew: true,
        renew_band: 0.05,
    };
    let v = VenueProfile::resolve(
        &VenueConfig {
            profile: "binance-usdm".into(),
            insurance_fund: Some(1e6),
            funding: Some(true),
            ..Default::default()
        },
        "BTCUSDT",
    )
    .unwrap();
    // 600 bars: ±8 % waves.
    let mut tape = MarketTape {
        symbol: "BTCUSDT".into(),
        interval_ns: MINUTE,
        ..Default::default()
    };
    let price = |k: usize| 30_000.0 * (1.0 + 0.08 * (k as f64 / 40.0).sin());
    for k in 0..600 {
        let (o, c) = (price(k), price(k + 1));
        tape.push(
            k as i64 * MINUTE,
            o,
            o.max(c) * 1.002,
            o.min(c) * 0.998,
            c,
            1.0,
        );
    }
    let history = MarketTape {
        symbol: "BTCUSDT".into(),
        interval_ns: MINUTE,
        ..Default::default()
    };
    let pop = cfg.generate(3, &history, 0, tape.open[0], &v).unwrap();
    let funding = FundingSeries {
        ts: vec![100 * MINUTE, 300 * MINUTE],
        rate: vec![0.001, -0.002],
    };
    let rule = cfg.renew_rule(9).unwrap();
    let run = |renew: bool, crossing: Crossing| {
        let mut liq = SqrtImpact::new(0.02, 2_000.0, 1.0, 60.0);
        let opts = PassOptions {
            max_rounds: 50,
            topup: None,
            crossing,
            renew: renew.then_some(&rule),
        };
        market_pass_with(&tape, Some(&funding), &v, &pop, &mut liq, &opts)
    };
    let renewing = run(true, Crossing::Index);
    let scan = run(true, Crossing::Scan);
    assert!(
        renewing == scan,
        "{:?} vs {:?}",
        renewing.metrics,
        scan.metrics
    );
    let plain = run(false, Crossing::Index);
    assert!(
        renewing.metrics.renewed_accounts > 100,
        "{:?}",
        renewing.metrics
    );
    assert_eq!(plain.metrics.renewed_accounts, 0);
    // More liquidations than the crowd's size: traders came back.
    assert!(renewing.metrics.accounts_liquidated > plain.metrics.accounts_liquidated);
    let money = 3e7 + renewing.metrics.renewed_collateral;
    assert!(
        renewing.metrics.conservation_error.abs() < 1e-9 * money,
        "{}",
        renewing.metrics.conservation_error
    );
}
