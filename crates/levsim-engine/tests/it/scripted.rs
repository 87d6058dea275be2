//! Scripted price paths that narrate their phases.

use levsim_core::{FundingSeries, Side};
use levsim_engine::{simulate, Market, SeriesRecorder};
use levsim_policy::{ConstantLeverage, StaticLeverage};

use crate::support::*;

/// Flat at 100, then the price gaps from 100 to 85 between two bars (a 10x
/// long's liquidation price is ≈ 90.45), then recovers to 120: exactly one
/// liquidation, filled at the gap price 85, not at the liquidation price,
/// and the account stays out afterwards.
#[test]
fn flat_gap_through_then_recovery_liquidates_once_at_the_gap_price() {
    let venue = flat_venue(0.005, 0.0, 0.0);
    let mut rows = vec![flat(100.0); 10];
    rows.push((85.0, 86.0, 84.0, 86.0)); // gap bar
    for i in 0..10 {
        rows.push(flat(90.0 + 3.0 * i as f64)); // recovery
    }
    let t = tape(&rows);
    let out = run(
        &t,
        &venue,
        &account(Side::Long, false),
        &mut StaticLeverage { leverage: 10.0 },
    );
    assert_eq!(out.liquidations.len(), 1);
    let ev = out.liquidations[0];
    assert!(ev.gapped);
    assert_eq!(ev.ts, 10 * MIN, "liquidated in the gap bar");
    assert_eq!(ev.fill_price, 85.0);
    assert!((ev.liquidation_price - 100.0 * 0.9 / 0.995).abs() < 1e-9);
    // Filled below the bankruptcy price (90): the loss beyond the margin is bad debt.
    assert!((ev.bankruptcy_price - 90.0).abs() < 1e-9);
    // qty = 10 · 10,000 / 100 = 1,000; 5 below bankruptcy.
    assert!(
        (ev.bad_debt - 1_000.0 * 5.0).abs() < 1e-6,
        "{}",
        ev.bad_debt
    );
    assert_eq!(out.metrics.final_equity, 0.0);
    assert_eq!(out.metrics.return_pct, -100.0);
    // The fund starts empty, so Binance's ADL absorbs the whole deficit.
    assert!((out.metrics.bad_debt_adl - 5_000.0).abs() < 1e-6);
    assert_eq!(out.metrics.bad_debt_insurance_fund, 0.0);
}

/// A down bar whose low wicks to the liquidation price while the close stays
/// above it: the position is liquidated intrabar at the liquidation price.
#[test]
fn a_wick_through_the_liquidation_price_liquidates_even_if_the_close_is_above() {
    let venue = flat_venue(0.005, 0.0, 0.0);
    let lp = 100.0 * 0.8 / 0.995; // 5x long
    let rows = vec![flat(100.0), (100.0, 100.5, lp - 0.01, 99.0), flat(99.0)];
    let t = tape(&rows);
    let out = run(
        &t,
        &venue,
        &account(Side::Long, false),
        &mut StaticLeverage { leverage: 5.0 },
    );
    assert_eq!(out.liquidations.len(), 1);
    let ev = out.liquidations[0];
    assert!(!ev.gapped);
    assert_eq!(ev.ts, MIN);
    assert!((ev.fill_price - lp).abs() < 1e-9);
    // At the liquidation price equity equals maintenance: 0.5 % of notional.
    let notional = 500.0 * lp; // qty = 5 · 10,000 / 100
    assert!((ev.equity_after - 0.005 * notional).abs() < 1e-6);
    // A wick that stops one cent short of it does not liquidate.
    let rows = vec![flat(100.0), (100.0, 100.5, lp + 0.01, 99.0), flat(99.0)];
    let t = tape(&rows);
    let out = run(
        &t,
        &venue,
        &account(Side::Long, false),
        &mut StaticLeverage { leverage: 5.0 },
    );
    assert!(out.liquidations.is_empty());
}

/// Up bars visit their low before their high: an up bar whose low touches a
/// short's liquidation price does nothing, but its high does.
#[test]
fn short_is_liquidated_by_the_high() {
    let venue = flat_venue(0.005, 0.0, 0.0);
    let lp = 100.0 * 1.1 / 1.005;
    let rows = vec![flat(100.0), (100.0, lp + 1.0, 95.0, 101.0), flat(101.0)];
    let t = tape(&rows);
    let out = run(
        &t,
        &venue,
        &account(Side::Short, false),
        &mut StaticLeverage { leverage: 10.0 },
    );
    assert_eq!(out.liquidations.len(), 1);
    assert_eq!(out.liquidations[0].side, Side::Short);
    assert!((out.liquidations[0].fill_price - lp).abs() < 1e-9);
}

/// With `reenter = true` the account reopens at the close of the bar of each
/// liquidation with what is left, and every liquidation is counted.
#[test]
fn reentry_counts_every_liquidation() {
    let venue = flat_venue(0.005, 0.0, 0.0);
    // Three 15 % crashes, each followed by a flat stretch.
    let mut rows = vec![flat(100.0)];
    let mut p = 100.0;
    for _ in 0..3 {
        let low = p * 0.85;
        rows.push((p, p, low, low));
        p = low;
        rows.extend(std::iter::repeat_n(flat(p), 3));
    }
    let t = tape(&rows);
    let mut rec = SeriesRecorder::new(1);
    let mut acct = account(Side::Long, true);
    acct.min_equity = Some(0.01);
    let out = simulate(
        Market::new(&t),
        &venue,
        &acct,
        &mut StaticLeverage { leverage: 10.0 },
        &mut rec,
    )
    .unwrap();
    assert_eq!(out.metrics.liquidations, 3);
    assert_eq!(out.metrics.first_liquidation_ts, Some(MIN));
    // Each liquidation leaves the 0.5 % maintenance margin: equity shrinks
    // by the factor (notional at LP · m) / equity = 10 · (0.9/0.995) · 0.005.
    let keep: f64 = 10.0 * (0.9 / 0.995) * 0.005;
    let want = 10_000.0 * keep.powi(3);
    assert!(
        (out.metrics.final_equity - want).abs() < 1e-6 * want,
        "{} vs {want}",
        out.metrics.final_equity
    );
    assert_eq!(rec.ts.len(), t.len());
    // With the default threshold (1 % of capital) it stops after the second:
    // 10,000 → 452 → 20.4 < 100.
    let out = run(
        &t,
        &venue,
        &account(Side::Long, true),
        &mut StaticLeverage { leverage: 10.0 },
    );
    assert_eq!(out.metrics.liquidations, 2);
}

/// Funding: a long pays a positive rate on its notional at the open of the
/// bar at the funding time, and receives a negative one.
#[test]
fn funding_is_paid_on_the_notional_at_mark() {
    let mut venue = flat_venue(0.005, 0.0, 0.0);
    venue.funding = true;
    let rows = vec![flat(100.0), flat(100.0), flat(110.0), flat(110.0)];
    let t = tape(&rows);
    let f = FundingSeries {
        ts: vec![MIN, 2 * MIN],
        rate: vec![0.001, -0.002],
    };
    let out = simulate(
        Market::new(&t).with_funding(Some(&f)),
        &venue,
        &account(Side::Long, false),
        &mut StaticLeverage { leverage: 2.0 },
        &mut (),
    )
    .unwrap();
    // qty = 200; pays 200·100·0.001 = 20, receives 200·110·0.002 = 44.
    assert!(
        (out.metrics.funding - 24.0).abs() < 1e-9,
        "{}",
        out.metrics.funding
    );
    assert!((out.metrics.final_equity - (10_000.0 + 2_000.0 + 24.0)).abs() < 1e-9);
}

/// Constant leverage rebalances as the price moves and pays taker fees on
/// every trade; a static position of the same leverage does not.
#[test]
fn constant_leverage_rebalances_and_pays_fees() {
    let venue = flat_venue(0.005, 0.0004, 0.0);
    let rows: Vec<_> = (0..20)
        .map(|i| flat(100.0 * (1.0 - 0.01 * i as f64)))
        .collect();
    let t = tape(&rows);
    let out = run(
        &t,
        &venue,
        &account(Side::Long, false),
        &mut ConstantLeverage {
            leverage: 3.0,
            band: 0.05,
        },
    );
    assert!(out.metrics.trades > 3, "{}", out.metrics.trades);
    assert!(out.metrics.avg_leverage < 3.0 * 1.05 + 1e-9);
    let st = run(
        &t,
        &venue,
        &account(Side::Long, false),
        &mut StaticLeverage { leverage: 3.0 },
    );
    assert_eq!(st.metrics.trades, 1);
    assert!(out.metrics.trading_fees > st.metrics.trading_fees);
}

/// A 5x short profits as the price falls from 100 to 80; at minute 12 the
/// crowd's ADL reaches shorts ranked down to a score the short beats: its
/// position is closed at its entry price, giving up the profit, and it
/// stays flat. With a cutoff above its score nothing happens.
#[test]
fn a_profitable_subject_is_caught_by_the_crowds_adl() {
    use levsim_engine::crowd::AdlEvent;
    let venue = flat_venue(0.005, 0.0, 0.0);
    let mut rows = Vec::new();
    for k in 0..20 {
        let p = 100.0 - k as f64;
        rows.push((p, p, p - 1.0, p - 1.0));
    }
    let t = tape(&rows);
    let run_with = |events: &[AdlEvent]| {
        simulate(
            Market::new(&t).with_adl(events),
            &venue,
            &account(Side::Short, false),
            &mut StaticLeverage { leverage: 5.0 },
            &mut SeriesRecorder::disabled(),
        )
        .unwrap()
        .metrics
    };
    // At minute 12 the close is 87: PnL = 500 units × 13 = 6,500 on a
    // 10,000 wallet (65 %), leverage 500 × 87 / 16,500 ≈ 2.64: score ≈ 1.71.
    let at = 12 * MIN + 1;
    let hit = run_with(&[AdlEvent {
        ts: at,
        side: -1,
        cutoff: 1.5,
    }]);
    let miss = run_with(&[AdlEvent {
        ts: at,
        side: -1,
        cutoff: 2.0,
    }]);
    let longs = run_with(&[AdlEvent {
        ts: at,
        side: 1,
        cutoff: 0.0,
    }]);
    let none = run_with(&[]);
    assert_eq!(miss, none);
    assert_eq!(longs, none);
    assert!((hit.adl_forfeited - 6_500.0).abs() < 1e-6, "{hit:?}");
    assert!((hit.adl_closed_notional - 500.0 * 87.0).abs() < 1e-6);
    assert_eq!(hit.trades, 1, "without re-entry it stays flat: {hit:?}");
    assert!(
        (hit.final_equity - 10_000.0).abs() < 1e-6,
        "closed at its entry: {hit:?}"
    );
    assert!((none.final_equity - 20_000.0).abs() < 1e-6);
}

/// Decision latency: every decision lands late, the opening one too (here
/// while the price is flat at 100). A 10x long (1,000 of capital, 9,000 in
/// reserve; liquidation price ≈ 90.45) sees the price fall 1 a minute from
/// bar 12 and asks for a top-up when maintenance / equity passes 10 %
/// (close 95, bar 16). Landing 2 minutes later (bar 19, at 93) it saves
/// the account, which rides the fall to 82; landing 10 minutes later (bar
/// 27) it arrives after the liquidation (bar 21, low 90) and is counted as
/// too late.
#[test]
fn a_top_up_that_lands_in_time_saves_the_account_and_a_late_one_does_not() {
    use levsim_engine::{AccountConfig, Latency};
    use levsim_policy::MarginTopup;
    let venue = flat_venue(0.005, 0.0, 0.0);
    let rows: Vec<_> = (0..30)
        .map(|k| {
            if k < 12 {
                return flat(100.0);
            }
            let p = 100.0 - (k - 12) as f64;
            (p, p, p - 1.0, p - 1.0)
        })
        .collect();
    let t = tape(&rows);
    let run_with = |latency: &str| {
        let acct = AccountConfig {
            capital: 1_000.0,
            reserve: 9_000.0,
            latency: Some(Latency::Constant {
                value: latency.into(),
            }),
            ..AccountConfig::default()
        };
        simulate(
            Market::new(&t),
            &venue,
            &acct,
            &mut MarginTopup {
                leverage: 10.0,
                threshold: 0.1,
                target: 0.02,
            },
            &mut SeriesRecorder::disabled(),
        )
        .unwrap()
        .metrics
    };
    let fast = run_with("2m");
    assert_eq!(fast.topups, 1, "{fast:?}");
    assert_eq!(fast.liquidations, 0, "{fast:?}");
    assert!(fast.topped_up > 1_000.0 && fast.reserve_end < 9_000.0);
    // Committed capital 10,000; the position (100 units from 100) lost 18
    // a unit by the final close of 82.
    let loss = 100.0 * 18.0;
    assert!(
        (fast.return_on_committed_pct + loss / 100.0).abs() < 1e-6,
        "{fast:?}"
    );
    assert_eq!(fast.trades, 1);
    let slow = run_with("10m");
    assert_eq!(slow.liquidations, 1, "{slow:?}");
    assert_eq!(slow.decisions_too_late, 1);
    assert_eq!(slow.topups, 0);
    assert!((slow.reserve_end - 9_000.0).abs() < 1e-9);
    assert!(slow.idle_collateral_pct > 80.0, "{slow:?}");
}
