//! Properties of every venue profile's margin model (SPEC-wide, proptest).

use levsim_core::{ContractKind, Side};
use levsim_engine::venue::waterfall::settle;
use levsim_engine::venue::{preset_meta, preset_names, InsuranceFund, MarginModel, MarginModelAny};
use levsim_engine::{VenueConfig, VenueProfile};
use proptest::prelude::*;

/// Every (profile, symbol table) shipped.
fn all_tables() -> Vec<VenueProfile> {
    let mut out = Vec::new();
    for name in preset_names() {
        for sym in preset_meta(name).unwrap().symbols {
            let cfg = VenueConfig {
                profile: name.into(),
                symbol: Some(sym.clone()),
                ..Default::default()
            };
            out.push(VenueProfile::resolve(&cfg, &sym).unwrap());
        }
    }
    out
}

/// Equity minus maintenance at price `p` for a position opened at `entry`
/// with `margin` (linear: base `size`; inverse: `size` USD).
fn surplus(v: &VenueProfile, side: Side, size: f64, entry: f64, margin: f64, p: f64) -> f64 {
    match v.contract {
        ContractKind::Linear => {
            margin + side.sign() * size * (p - entry) - v.margin.maintenance(size * p, size)
        }
        ContractKind::Inverse => {
            margin + side.sign() * size * (1.0 / entry - 1.0 / p)
                - v.margin.maintenance(size / p, size / p)
        }
    }
}

fn liq(v: &VenueProfile, side: Side, size: f64, entry: f64, margin: f64) -> Option<f64> {
    match v.contract {
        ContractKind::Linear => v.margin.linear_liquidation_price(side, size, entry, margin),
        ContractKind::Inverse => v
            .margin
            .inverse_liquidation_price(side, size, entry, margin),
    }
}

/// Position size and margin for leverage `lev` at `entry`, scaled so the
/// notional is `notional` (quote).
fn position(v: &VenueProfile, notional: f64, entry: f64, lev: f64) -> (f64, f64) {
    match v.contract {
        ContractKind::Linear => (notional / entry, notional / lev),
        ContractKind::Inverse => (notional, notional / entry / lev),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// At the computed liquidation price equity equals maintenance (to
    /// 1e-6 of the notional) for continuous models; for BitMEX's stepped
    /// risk limits the surplus changes sign there. Every profile, symbol,
    /// contract type and side.
    #[test]
    fn equity_equals_maintenance_at_the_liquidation_price(
        lev_frac in 0.05f64..0.9, entry in 10.0f64..100_000.0, notional in 1_000.0f64..50_000_000.0, short in any::<bool>()
    ) {
        let side = if short { Side::Short } else { Side::Long };
        for v in all_tables() {
            // The margin model sees the position's value in the margin
            // currency: quote for linear, coin for inverse (BitMEX's risk
            // limits are steps of XBT). A position whose initial rate is
            // 100 % or more at that value cannot be opened at any leverage.
            let value = match v.contract { ContractKind::Linear => notional, ContractKind::Inverse => notional / entry };
            let coins = notional / entry;
            let im = v.margin.initial_rate_sized(value, coins);
            if im >= 1.0 { continue; }
            let max = v.max_leverage_sized(value, coins).min(1.0 / im).max(1.0);
            let lev = 1.0 + (max - 1.0) * lev_frac;
            let (size, margin) = position(&v, notional, entry, lev);
            let Some(lp) = liq(&v, side, size, entry, margin) else { continue };
            prop_assert!(lp > 0.0, "{} {}", v.name, v.symbol);
            let s = surplus(&v, side, size, entry, margin, lp);
            let scale = notional.max(1.0) * match v.contract { ContractKind::Linear => 1.0, ContractKind::Inverse => 1.0 / lp };
            match v.margin {
                MarginModelAny::RiskLimit(_) => {
                    let (a, b) = (surplus(&v, side, size, entry, margin, lp * (1.0 - 1e-6)), surplus(&v, side, size, entry, margin, lp * (1.0 + 1e-6)));
                    prop_assert!(a * b <= 0.0 || s.abs() <= 1e-6 * scale, "{} {}: {a} {b}", v.name, v.symbol);
                }
                _ => prop_assert!(s.abs() <= 1e-6 * scale, "{} {} {side} {lev}x: surplus {s} at {lp}", v.name, v.symbol),
            }
        }
    }

    /// Higher leverage puts the liquidation price closer to entry.
    #[test]
    fn liquidation_price_moves_toward_entry_as_leverage_rises(
        a in 1.5f64..20.0, b in 1.5f64..20.0, entry in 10.0f64..100_000.0, short in any::<bool>()
    ) {
        let side = if short { Side::Short } else { Side::Long };
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let v = VenueProfile::resolve(&VenueConfig { profile: "binance-usdm".into(), maintenance_rate: Some(0.01), ..Default::default() }, "X").unwrap();
        let notional = 10_000.0;
        let (s1, m1) = position(&v, notional, entry, lo);
        let (s2, m2) = position(&v, notional, entry, hi);
        let p1 = liq(&v, side, s1, entry, m1);
        let p2 = liq(&v, side, s2, entry, m2).unwrap();
        if let Some(p1) = p1 {
            prop_assert!((p2 - entry).abs() <= (p1 - entry).abs() + 1e-9 * entry);
        }
    }

    /// Linear and inverse liquidation prices agree to second order in
    /// 1/L and m (CLOSED_FORM F1, F2): for a long,
    /// `lin − inv = (m² − a²) / ((1 − m)(1 + a))` with `a = 1/L`, so they meet
    /// as leverage and the maintenance rate make both small.
    #[test]
    fn linear_and_inverse_agree_to_second_order(lev_frac in 0.0f64..1.0, m in 0.001f64..0.05, entry in 10.0f64..100_000.0) {
        let v = VenueProfile::resolve(&VenueConfig { profile: "binance-usdm".into(), maintenance_rate: Some(m), ..Default::default() }, "X").unwrap();
        // Leverage from 2x up to (not reaching) 1/m or 200x.
        let lev = 2.0 + lev_frac * (200.0f64.min(1.0 / m) * 0.999 - 2.0);
        let q = 10_000.0;
        let lin = v.margin.linear_liquidation_price(Side::Long, q / entry, entry, q / lev).unwrap() / entry;
        let inv = v.margin.inverse_liquidation_price(Side::Long, q, entry, q / entry / lev).unwrap() / entry;
        let a = 1.0 / lev;
        prop_assert!(((lin - inv) - (m * m - a * a) / ((1.0 - m) * (1.0 + a))).abs() < 1e-9);
    }

    /// The deficit waterfall conserves money: fund + ADL + socialized +
    /// unresolved = deficit, ADL takes exactly what the fund left (up to its
    /// capacity), and the fund never goes negative.
    #[test]
    fn waterfall_conserves_money(deficit in 0.0f64..1e7, fund in 0.0f64..1e7, cap in 0.0f64..1e7, adl in any::<bool>(), social in any::<bool>()) {
        let mut f = InsuranceFund::new(fund);
        let w = settle(deficit, &mut f, adl, cap, social);
        prop_assert!((w.insurance_fund + w.adl + w.socialized + w.unresolved - deficit).abs() < 1e-6);
        prop_assert!(f.balance >= 0.0);
        prop_assert!((f.balance - (fund - w.insurance_fund)).abs() < 1e-6);
        let residual = (deficit - fund).max(0.0);
        if adl {
            prop_assert!((w.adl - residual.min(cap)).abs() < 1e-6);
        } else {
            prop_assert_eq!(w.adl, 0.0);
        }
    }
}

/// Every preset written out as a profile file (what `levsim venues export`
/// prints) and read back gives the same venue for every one of its
/// instrument tables: the same margin model, fees, liquidation rule,
/// funding, fund and ADL, so runs under it are identical.
#[test]
fn every_preset_round_trips_through_a_profile_file() {
    let dir = std::env::temp_dir().join(format!("levsim-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in preset_names() {
        let text = levsim_engine::venue::preset_text(name).unwrap();
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, format!("# exported\n{text}")).unwrap();
        for sym in preset_meta(name).unwrap().symbols {
            let cfg = |profile: String| VenueConfig {
                profile,
                symbol: Some(sym.clone()),
                ..Default::default()
            };
            let a = VenueProfile::resolve(&cfg(name.to_string()), &sym).unwrap();
            let b = VenueProfile::resolve(&cfg(file.display().to_string()), &sym).unwrap();
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{name} {sym}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
