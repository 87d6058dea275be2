//! The simulation loop under different venue profiles: the same scripted
//! market liquidates differently on Binance (full), Hyperliquid (20 %
//! tranches, backstop), BitMEX-style takeover and Aave's close factor.

use levsim_core::Side;
use levsim_engine::{simulate, AccountConfig, MarginMode, Market, VenueConfig, VenueProfile};
use levsim_policy::StaticLeverage;

use crate::support::*;

fn venue(profile: &str) -> VenueProfile {
    VenueProfile::resolve(
        &VenueConfig {
            profile: profile.into(),
            funding: Some(false),
            taker_fee: Some(0.0),
            ..Default::default()
        },
        "BTCUSDT",
    )
    .unwrap()
}

fn big_account() -> AccountConfig {
    AccountConfig {
        capital: 50_000.0,
        side: Side::Long,
        margin_mode: MarginMode::Isolated,
        reenter: false,
        min_equity: None,
        ..Default::default()
    }
}

/// A slow continuous slide of 0.05 % per 1-minute bar from 100,000.
fn slide(bars: usize) -> Vec<(f64, f64, f64, f64)> {
    let mut rows = vec![flat(100_000.0)];
    let mut p = 100_000.0;
    for _ in 0..bars {
        let next = p * 0.9995;
        rows.push((p, p, next, next));
        p = next;
    }
    rows
}

/// 10x on 50,000 is a 500,000 notional: Hyperliquid liquidates it 20 % at a
/// time at each liquidation price the slide reaches (1-minute bars are
/// longer than the 30 s cooldown); Binance's smart liquidation cuts it to
/// the next lower bracket's cap (250,000, then 50,000) while that leaves it
/// compliant, then closes the rest.
#[test]
fn hyperliquid_liquidates_in_tranches_binance_by_brackets() {
    let t = tape(&slide(400));
    let hl = run(
        &t,
        &venue("hyperliquid"),
        &big_account(),
        &mut StaticLeverage { leverage: 10.0 },
    );
    assert!(hl.liquidations.len() >= 3, "{}", hl.liquidations.len());
    let first = hl.liquidations[0];
    assert!(
        (first.qty - 0.2 * 5.0).abs() < 1e-9,
        "first tranche {}",
        first.qty
    );
    assert!((first.remaining_qty - 0.8 * 5.0).abs() < 1e-9);
    assert!(!first.backstop && first.bad_debt == 0.0);
    // Each tranche leaves the rest further from its new liquidation price.
    for w in hl.liquidations.windows(2) {
        assert!(w[1].liquidation_price < w[0].liquidation_price);
    }
    // Hyperliquid's 1.25 % tier gives 100,000·0.9/0.9875.
    assert!((first.liquidation_price - 100_000.0 * 0.9 / 0.9875).abs() < 1e-6);
    assert!((first.fill_price - first.liquidation_price).abs() < 1e-9);

    let bn = run(
        &t,
        &venue("binance-usdm"),
        &big_account(),
        &mut StaticLeverage { leverage: 10.0 },
    );
    let ev = &bn.liquidations;
    assert!(ev.len() >= 2, "{ev:?}");
    assert!(
        (ev[0].remaining_qty * ev[0].fill_price - 250_000.0).abs() < 1e-6,
        "{:?}",
        ev[0]
    );
    assert!(
        (ev[1].remaining_qty * ev[1].fill_price - 50_000.0).abs() < 1e-6,
        "{:?}",
        ev[1]
    );
    assert_eq!(ev.last().unwrap().remaining_qty, 0.0);
    assert_ne!(ev[0].liquidation_price, first.liquidation_price);
}

/// A gap far through the liquidation price leaves equity below 2/3 of
/// maintenance: Hyperliquid's backstop takes the whole position and its
/// margin at once.
#[test]
fn hyperliquid_backstop_takes_everything_on_a_deep_gap() {
    let mut rows = vec![flat(100_000.0); 3];
    // Equity at 90,500 is 50,000 − 5·9,500 = 2,500, below 2/3 of the
    // maintenance 452,500·1.25 % = 5,656.
    rows.push((90_500.0, 90_800.0, 90_400.0, 90_700.0));
    rows.push(flat(95_000.0));
    let t = tape(&rows);
    let out = run(
        &t,
        &venue("hyperliquid"),
        &big_account(),
        &mut StaticLeverage { leverage: 10.0 },
    );
    assert_eq!(out.liquidations.len(), 1);
    let e = out.liquidations[0];
    assert!(e.backstop && e.gapped);
    assert_eq!(e.remaining_qty, 0.0);
    assert_eq!(e.equity_after, 0.0);
    assert_eq!(out.metrics.final_equity, 0.0);
}

/// With `sweep_margin` (BitMEX's takeover) the remaining margin goes with
/// the position; without it only the clearance fee is charged.
#[test]
fn sweep_takes_the_remaining_margin() {
    let mut v = flat_venue(0.005, 0.0, 0.003);
    let rows = vec![flat(100.0), (100.0, 100.0, 80.0, 85.0), flat(85.0)];
    let t = tape(&rows);
    let plain = run(
        &t,
        &v,
        &account(Side::Long, false),
        &mut StaticLeverage { leverage: 10.0 },
    );
    assert!(plain.metrics.final_equity > 0.0);
    v.liquidation.sweep_margin = true;
    let swept = run(
        &t,
        &v,
        &account(Side::Long, false),
        &mut StaticLeverage { leverage: 10.0 },
    );
    assert_eq!(swept.metrics.final_equity, 0.0);
    assert!(swept.metrics.liquidation_fees > plain.metrics.liquidation_fees);
}

/// Aave: when the health factor of a 3x ETH loop falls below 1, liquidators
/// repay half the debt and take collateral with a 5 % bonus; the position
/// survives, smaller, instead of being closed.
#[test]
fn aave_close_factor_keeps_part_of_the_loop() {
    let v = VenueProfile::resolve(
        &VenueConfig {
            profile: "aave-v3".into(),
            ..Default::default()
        },
        "ETHUSDT",
    )
    .unwrap();
    let mut rows = vec![flat(2_000.0)];
    let mut p = 2_000.0;
    for _ in 0..600 {
        let next = p * 0.999;
        rows.push((p, p, next, next));
        p = next;
    }
    let t = tape(&rows);
    let out = run(
        &t,
        &v,
        &account(Side::Long, false),
        &mut StaticLeverage { leverage: 3.0 },
    );
    let first = out.liquidations[0];
    assert!(first.remaining_qty > 0.0, "{first:?}");
    // Opening 3x with a 0.05 % fee: value q·2,000 = 30,000/1.0015, margin
    // 10,000 − its fee; the debt is the rest. The trigger is met
    // continuously (HF = 1 > 0.95), so half the debt is repaid and collateral
    // worth 1.05 × that is taken.
    let value = 30_000.0 / (1.0 + 3.0 * 0.0005);
    let debt = value - (10_000.0 - value * 0.0005);
    let taken = first.qty * first.fill_price;
    assert!(
        (taken - 0.5 * debt * 1.05).abs() < 1e-6 * taken,
        "{taken} vs {}",
        0.5 * debt * 1.05
    );
    assert!((first.fee - first.qty * first.fill_price * (1.0 - 1.0 / 1.05)).abs() < 1e-6);
    assert!(first.equity_after > 0.0);
}

/// Inverse profiles are refused by the loop with a clear message.
#[test]
fn inverse_profiles_are_refused_by_the_loop() {
    let v = VenueProfile::resolve(
        &VenueConfig {
            profile: "bitmex".into(),
            ..Default::default()
        },
        "XBTUSD",
    )
    .unwrap();
    let t = tape(&[flat(100.0), flat(100.0)]);
    let e = simulate(
        Market::new(&t),
        &v,
        &account(Side::Long, false),
        &mut StaticLeverage { leverage: 2.0 },
        &mut (),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("inverse") && e.contains("levsim margin"), "{e}");
}
