//! Golden values: CLOSED_FORM.md Table A and F1, and the Binance vectors of
//! SPEC.md §1.9 that apply to one isolated position.

use levsim_core::Side;
use levsim_engine::venue::{BracketTable, MarginModel};
use levsim_engine::{VenueConfig, VenueProfile};
use levsim_policy::StaticLeverage;

use crate::support::*;

/// CLOSED_FORM.md Table A (m = 0.5 %): P_liq / P0 for long and short, given
/// to 5 decimals, so the tolerance is half a unit in the 5th decimal.
const TABLE_A: [(f64, f64, f64); 6] = [
    (2.0, 0.50251, 1.49254),
    (5.0, 0.80402, 1.19403),
    (10.0, 0.90452, 1.09453),
    (20.0, 0.95477, 1.04478),
    (50.0, 0.98492, 1.01493),
    (100.0, 0.99497, 1.00498),
];

/// Runs a static position at `lev` from 100 along a path that moves
/// steadily against it, and returns the liquidation price the engine used.
fn engine_liquidation_price(side: Side, lev: f64) -> f64 {
    let venue = flat_venue(0.005, 0.0, 0.0);
    let p0 = 100.0;
    // A slow continuous slide of 0.01 % per bar against the position.
    let step = match side {
        Side::Long => -0.0001,
        Side::Short => 0.0001,
    };
    let mut rows = vec![flat(p0)];
    let mut p = p0;
    for _ in 0..12_000 {
        let next = p * (1.0 + step);
        rows.push((p, p.max(next), p.min(next), next));
        p = next;
    }
    let t = tape(&rows);
    let out = run(
        &t,
        &venue,
        &account(side, false),
        &mut StaticLeverage { leverage: lev },
    );
    assert_eq!(out.liquidations.len(), 1, "{side} {lev}x");
    let ev = out.liquidations[0];
    assert!(!ev.gapped);
    assert_eq!(ev.fill_price, ev.liquidation_price);
    ev.liquidation_price / p0
}

#[test]
fn table_a_isolated_liquidation_prices() {
    let m = 0.005;
    for (lev, long, short) in TABLE_A {
        let got_long = engine_liquidation_price(Side::Long, lev);
        let got_short = engine_liquidation_price(Side::Short, lev);
        assert!(
            (got_long - long).abs() <= 0.5e-5,
            "long {lev}x: {got_long} vs table {long}"
        );
        assert!(
            (got_short - short).abs() <= 0.5e-5,
            "short {lev}x: {got_short} vs table {short}"
        );
        // And the exact F1 formulas.
        let f1_long = (1.0 - 1.0 / lev) / (1.0 - m);
        let f1_short = (1.0 + 1.0 / lev) / (1.0 + m);
        assert!((got_long - f1_long).abs() < 1e-12, "long {lev}x");
        assert!((got_short - f1_short).abs() < 1e-12, "short {lev}x");
    }
}

fn btc_brackets() -> VenueProfile {
    VenueProfile::resolve(
        &VenueConfig {
            profile: "binance-usdm".into(),
            ..Default::default()
        },
        "BTCUSDT",
    )
    .unwrap()
}

fn table(p: &VenueProfile) -> &BracketTable {
    match &p.margin {
        levsim_engine::venue::MarginModelAny::Tiered(t) => t,
        other => panic!("binance-usdm should use brackets, got {other:?}"),
    }
}

/// BIN-5: maintenance amounts of snapshot A follow from the recursion
/// (SPEC.md §1.2 lists them; exact integers).
#[test]
fn bin5_cum_recursion_btc_and_eth() {
    let btc = btc_brackets();
    let cum: Vec<f64> = table(&btc).brackets().iter().map(|b| b.cum).collect();
    let want = [
        0.0,
        50.0,
        1_300.0,
        16_300.0,
        141_300.0,
        1_141_300.0,
        2_391_300.0,
        4_891_300.0,
        24_891_300.0,
        99_891_300.0,
    ];
    for (g, w) in cum.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{cum:?}");
    }
    let eth = VenueProfile::resolve(
        &VenueConfig {
            profile: "binance-usdm".into(),
            ..Default::default()
        },
        "ETHUSDT",
    )
    .unwrap();
    let cum: Vec<f64> = table(&eth).brackets().iter().map(|b| b.cum).collect();
    let want = [
        0.0,
        15.0,
        365.0,
        5_365.0,
        35_365.0,
        135_365.0,
        260_365.0,
        510_365.0,
        2_510_365.0,
    ];
    for (g, w) in cum.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{cum:?}");
    }
}

/// BIN-7 (isolated long, D): IWB 50, long 0.02 BTC @ 50,000, MMR 0.4 % →
/// LP 47,690.76 (tolerance 0.005).
#[test]
fn bin7_isolated_long() {
    let v = btc_brackets();
    let lp = v
        .margin
        .linear_liquidation_price(Side::Long, 0.02, 50_000.0, 50.0)
        .unwrap();
    assert!((lp - 47_690.76).abs() < 0.005, "{lp}");
}

/// BIN-3 (V-doc): WB 500, long 0.02 BTC @ 50,000, MMR 0.4 %, cum 0 →
/// LP 25,100.40. With one position the cross formula is the isolated one
/// with the cross wallet.
#[test]
fn bin3_single_position_cross_long() {
    let v = btc_brackets();
    let lp = v
        .margin
        .linear_liquidation_price(Side::Long, 0.02, 50_000.0, 500.0)
        .unwrap();
    assert!((lp - 25_100.40).abs() < 0.005, "{lp}");
}

/// A position large enough that its liquidation price falls in a higher
/// bracket than its entry notional: the iteration must land on the bracket
/// of the notional *at the liquidation price*, where equity equals MM.
#[test]
fn bracket_iteration_lands_where_equity_equals_maintenance() {
    let v = btc_brackets();
    let t = table(&v);
    for &(qty, wallet, side) in &[
        (30.0, 100_000.0, Side::Long),
        (30.0, 100_000.0, Side::Short),
        (5.0, 10_000.0, Side::Short),
        (200.0, 2_000_000.0, Side::Long),
    ] {
        let entry = 40_000.0;
        let lp = v
            .margin
            .linear_liquidation_price(side, qty, entry, wallet)
            .unwrap();
        let equity = wallet + side.sign() * qty * (lp - entry);
        let mm = t.maintenance(qty * lp);
        assert!(
            (equity - mm).abs() < 1e-6 * mm.max(1.0),
            "{side} {qty}: equity {equity} vs MM {mm}"
        );
    }
}
