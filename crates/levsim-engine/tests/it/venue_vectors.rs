//! SPEC.md §11 golden vectors, one test per id, each with its tolerance.
//! Inputs are the vectors' own; expected values are the published (or, for
//! [D] vectors, re-derived) outputs.

// Numbers are written as SPEC.md prints them.
#![allow(clippy::inconsistent_digit_grouping)]

use levsim_core::Side;
use levsim_engine::venue::aave::{health_factor, liquidation_call, AaveParams};
use levsim_engine::venue::adl::{binance_score, bitmex_score, AdlCandidate, AdlRanking};
use levsim_engine::venue::cross::{binance_cross_liquidation_price, margin_ratio};
use levsim_engine::venue::drift::{
    base_to_cover, if_fee, liquidation_fee, max_liquidatable_pct, social_loss_per_base,
};
use levsim_engine::venue::dydx::{
    bankruptcy_quote, fillable_price, insurance_fund_delta, DydxAccount, DydxLiquidationConfig,
};
use levsim_engine::venue::funding::{clamped_rate, dydx_max_rate_8h, premium_index, FundingRule};
use levsim_engine::venue::hyperliquid::{backstop_eligible, PartialLiquidation};
use levsim_engine::venue::mango::{health, liab_needed};
use levsim_engine::venue::portfolio::{
    greek_scenario_margin, scanning_risk, span_scenarios, Greeks,
};
use levsim_engine::venue::{
    BracketSpec, BracketTable, FractionOfNotional, MarginModel, RiskLimitSteps,
};

fn close(got: f64, want: f64, tol: f64, id: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{id}: got {got}, want {want} ± {tol}"
    );
}

/// BIN-1 [V-3p]: ETHUSDT cross liquidation price with a BTCUSDT position
/// in the same account; tolerance 0.005.
#[test]
fn bin_1_eth_cross_liquidation_price() {
    let tmm1 = 3_500_032.458 * 0.025 - 16_300.0;
    // The FAQ lists TMM1 to 5 decimals.
    close(tmm1, 71_200.81144, 1e-4, "BIN-1 TMM1");
    let lp = binance_cross_liquidation_price(
        1_535_443.01,
        tmm1,
        -56_354.57,
        135_365.0,
        Side::Long,
        3_683.979,
        1_456.84,
        0.10,
    );
    close(lp, 1_153.26, 0.005, "BIN-1");
}

/// BIN-4 [V-doc]: margin ratio 100.265 % ⇒ liquidate; tolerance 1e-6.
#[test]
fn bin_4_trigger() {
    let r = margin_ratio(25_923.055_532_02, -17_444.086_776, 8_501.442_188);
    close(r, 1.002650, 1e-6, "BIN-4");
    assert!(r >= 1.0);
}

/// BIN-6 [V-doc]: COIN-M MM of 100 BTCUSD contracts (100 USD each) at
/// 25,000 = 0.4 BTC × 0.4 % = 0.0016 BTC; tolerance 1e-12.
#[test]
fn bin_6_coinm_maintenance() {
    let t = BracketTable::flat(0.004, 125.0);
    let notional_btc = 100.0 * 100.0 / 25_000.0;
    close(
        MarginModel::maintenance(&t, notional_btc, notional_btc),
        0.0016,
        1e-12,
        "BIN-6",
    );
}

/// BIN-9 [D]: ADL LeveragePnL = PnL% × margin ratio; tolerance 5e-5.
#[test]
fn bin_9_adl_leverage_pnl() {
    // Margin ratio 13.42 % = MM / (WB + UPNL).
    let (upnl, wb) = (40.2, 4.27);
    let mm = 0.1342 * (wb + upnl);
    let c = AdlCandidate {
        id: 1,
        size: 1.0,
        upnl,
        wallet: wb,
        maintenance: mm,
        mark_value: 1.0,
        entry_value: 1.0,
        bankrupt_value: 0.0,
    };
    close(upnl / wb, 9.4145, 5e-5, "BIN-9 PnL%");
    close(binance_score(&c), 1.2634, 5e-5, "BIN-9");
}

/// BMX-RL-1 [V-doc]: XBTUSD 180 → 230 XBT crosses the 200 XBT base limit:
/// MM 0.50 % → 1.00 % (0.90 XBT at 180), IM 1.00 % → 1.50 %.
#[test]
fn bmx_rl_1_risk_limit_step() {
    let x = RiskLimitSteps {
        base_mm: 0.005,
        base_im: 0.01,
        base_limit: 200.0,
        step: 150.0,
    };
    assert_eq!(x.rates(180.0), (0.005, 0.01));
    close(x.maintenance(180.0, 0.0), 0.9, 1e-12, "BMX-RL-1 MM at 180");
    let (mm, im) = x.rates(230.0);
    close(mm, 0.010, 1e-12, "BMX-RL-1 mm");
    close(im, 0.015, 1e-12, "BMX-RL-1 im");
}

/// BMX-ADL-2 [D]: PnL% 0.10, EffLev 5.7895, ranking 0.57895; tolerance 5e-5.
#[test]
fn bmx_adl_2_ranking() {
    let c = AdlCandidate {
        id: 1,
        size: 1.0,
        upnl: 100.0,
        wallet: 0.0,
        maintenance: 0.0,
        mark_value: 1_100.0,
        entry_value: 1_000.0,
        bankrupt_value: 910.0,
    };
    close(bitmex_score(&c), 0.57895, 5e-5, "BMX-ADL-2");
}

/// BMX-BP-1 [D]: inverse long 200,000 contracts @ 10,000 at 20x (IM 1 XBT):
/// BP = 200,000 / (20 + 1) = 9,523.81; our inverse liquidation price with a
/// zero maintenance rate is the bankruptcy price; tolerance 0.005.
#[test]
fn bmx_bp_1_inverse_bankruptcy_price() {
    let t = BracketTable::new(
        &[BracketSpec {
            cap: f64::INFINITY,
            max_leverage: 100.0,
            mmr: 1e-15,
        }],
        "t",
    )
    .unwrap();
    let bp = t
        .inverse_liquidation_price(Side::Long, 200_000.0, 10_000.0, 1.0)
        .unwrap();
    close(bp, 9_523.81, 0.005, "BMX-BP-1");
}

fn btc_tiers() -> BracketTable {
    BracketTable::from_leverage_tiers(&[(0.0, 40.0), (150e6, 20.0)], "hl").unwrap()
}

/// HL-MM-1 [D]: deduction 1,875,000; MM(200M) = 3,125,000; continuous at 150M.
#[test]
fn hl_mm_1_tiers() {
    let t = btc_tiers();
    close(t.brackets()[1].cum, 1_875_000.0, 1e-6, "HL-MM-1 deduction");
    close(t.maintenance(200e6), 3_125_000.0, 1e-6, "HL-MM-1");
    close(t.maintenance(150e6), 1_875_000.0, 1e-6, "HL-MM-1 at 150M");
    close(
        t.maintenance(150e6 + 1.0),
        1_875_000.0 + 0.025,
        1e-6,
        "HL-MM-1 above 150M",
    );
}

/// HL-LP-1 [D]: isolated long 1 BTC @ 100,000 at 10x under 40x max leverage:
/// LP = 91,139.24, where equity equals maintenance; tolerance 0.005.
#[test]
fn hl_lp_1_isolated_long() {
    let t = btc_tiers();
    let lp = t
        .linear_liquidation_price(Side::Long, 1.0, 100_000.0, 10_000.0)
        .unwrap();
    close(lp, 91_139.24, 0.005, "HL-LP-1");
    close(
        10_000.0 + (lp - 100_000.0),
        1_139.24,
        0.005,
        "HL-LP-1 equity at LP",
    );
}

/// HL-FUND-1 [V-doc]: impact bid 10,100 over oracle 10,000: P = 1 %,
/// F_8h = 0.95 %, hourly 0.11875 %, 10 BTC long pays 118.75 per hour.
#[test]
fn hl_fund_1_funding() {
    let p = premium_index(10_100.0, 10_200.0, 10_000.0);
    close(p, 0.01, 1e-12, "HL-FUND-1 premium");
    close(
        clamped_rate(p, 0.0001, 0.0005),
        0.0095,
        1e-12,
        "HL-FUND-1 F8h",
    );
    let hourly = FundingRule {
        interval_hours: 1.0,
        interest_8h: 0.0001,
        clamp_8h: 0.0005,
        cap_per_interval: 0.04,
    }
    .rate(p);
    close(hourly, 0.0011875, 1e-12, "HL-FUND-1 hourly");
    close(10.0 * 10_000.0 * hourly, 118.75, 1e-9, "HL-FUND-1 payment");
}

/// HL-BACKSTOP-1 [D]: MM 3,000: equity 1,999 is eligible, 2,000 is not.
#[test]
fn hl_backstop_1() {
    assert!(backstop_eligible(1_999.0, 3_000.0, 2.0 / 3.0));
    assert!(!backstop_eligible(2_000.0, 3_000.0, 2.0 / 3.0));
}

/// HL-PARTIAL-1 [D]: 150k notional: first order 20 % (30k); within 30 s the
/// next is the full remainder.
#[test]
fn hl_partial_1() {
    let p = PartialLiquidation {
        fraction: 0.2,
        above_notional: 100_000.0,
        cooldown_s: 30.0,
    };
    let (qty, px) = (1.5, 100_000.0);
    close(
        p.order_qty(qty, qty * px, None) * px,
        30_000.0,
        1e-9,
        "HL-PARTIAL-1 first",
    );
    let rest = qty * 0.8;
    close(
        p.order_qty(rest, rest * px, Some(10_000_000_000)),
        rest,
        1e-12,
        "HL-PARTIAL-1 cooldown",
    );
    close(
        p.order_qty(rest, rest * px, Some(31_000_000_000)),
        rest * 0.2,
        1e-12,
        "HL-PARTIAL-1 after",
    );
}

fn dydx_cfg() -> DydxLiquidationConfig {
    DydxLiquidationConfig {
        bankruptcy_adjustment: 1.0,
        spread_to_mmr: 0.1,
        max_liquidation_fee: 0.005,
    }
}

/// DYDX-FP-1, -2, -3, -5 [V-test]: fillable prices 49,999 / 49,998 /
/// 49,998 / 49,500 for a 0.1 BTC long at oracle 50,000 (10 % maintenance);
/// tolerance 1e-6.
#[test]
fn dydx_fp_fillable_prices() {
    let (size, oracle, pmmr) = (0.1, 50_000.0, 500.0);
    let acct = |usdc: f64| DydxAccount {
        tnc: usdc + size * oracle,
        tmmr: pmmr,
    };
    close(
        fillable_price(acct(-4_501.0), &dydx_cfg(), size, oracle, pmmr),
        49_999.0,
        1e-6,
        "DYDX-FP-1",
    );
    let ba2 = DydxLiquidationConfig {
        bankruptcy_adjustment: 2.0,
        ..dydx_cfg()
    };
    close(
        fillable_price(acct(-4_501.0), &ba2, size, oracle, pmmr),
        49_998.0,
        1e-6,
        "DYDX-FP-2",
    );
    let smmr2 = DydxLiquidationConfig {
        spread_to_mmr: 0.2,
        ..dydx_cfg()
    };
    close(
        fillable_price(acct(-4_501.0), &smmr2, size, oracle, pmmr),
        49_998.0,
        1e-6,
        "DYDX-FP-3",
    );
    close(
        fillable_price(acct(-5_000.0), &dydx_cfg(), size, oracle, pmmr),
        49_500.0,
        1e-6,
        "DYDX-FP-5",
    );
    // Size-independent: half the position, half its maintenance.
    close(
        fillable_price(acct(-5_000.0), &dydx_cfg(), size / 2.0, oracle, pmmr / 2.0),
        49_500.0,
        1e-6,
        "DYDX-FP-5 half",
    );
}

/// DYDX-BP-1 [V-test comment]: long 0.1, USDC −5,100 (TNC −100): closing it
/// has bankruptcy quote 5,100, price 51,000. DYDX-IF-1/-2 [V-test]: selling
/// at 56,100 pays the fund 28.05 (0.5 % cap) or 140.25 (2.5 %); tolerance 1e-9.
#[test]
fn dydx_bp_and_if_deltas() {
    let acct = DydxAccount {
        tnc: -5_100.0 + 0.1 * 50_000.0,
        tmmr: 500.0,
    };
    let bq = bankruptcy_quote(acct, -5_000.0, -500.0);
    close(bq, 5_100.0, 1e-9, "DYDX-BP-1 quote");
    close(bq / 0.1, 51_000.0, 1e-6, "DYDX-BP-1 price");
    let received = 0.1 * 56_100.0;
    close(
        insurance_fund_delta(received, bq, 0.005),
        28.05,
        1e-9,
        "DYDX-IF-1",
    );
    close(
        insurance_fund_delta(received, bq, 0.025),
        140.25,
        1e-9,
        "DYDX-IF-2",
    );
}

/// DYDX-OIMF-1 [D]: IMF 10 %, caps 20M–50M, open notional 35M → 55 %.
/// DYDX-FUND-1 [D]: max |F_8h| = 600 % × (2 % − 1.2 %) = 4.8 %.
#[test]
fn dydx_oimf_and_funding_cap() {
    let f = FractionOfNotional {
        imf: 0.10,
        mf: 0.5,
        oi_lower: 20e6,
        oi_upper: 50e6,
        open_notional: 35e6,
    };
    close(f.imf_effective(35e6), 0.55, 1e-12, "DYDX-OIMF-1");
    close(
        f.max_leverage(1.0),
        1.0 / 0.55,
        1e-9,
        "DYDX-OIMF-1 leverage",
    );
    close(
        dydx_max_rate_8h(6.0, 0.02, 0.012),
        0.048,
        1e-12,
        "DYDX-FUND-1",
    );
}

/// DRIFT-BASE-1..3 [V-test]: 1.0, 1.1111111, 1.25 base; tolerance 1e-7.
#[test]
fn drift_base_to_cover() {
    close(
        base_to_cover(10.0, 100.0, 0.10, 0.0, 0.0),
        1.0,
        1e-7,
        "DRIFT-BASE-1",
    );
    close(
        base_to_cover(10.0, 100.0, 0.10, 0.01, 0.0),
        1.1111111,
        1e-7,
        "DRIFT-BASE-2",
    );
    close(
        base_to_cover(10.0, 100.0, 0.10, 0.01, 0.01),
        1.25,
        1e-7,
        "DRIFT-BASE-3",
    );
}

/// DRIFT-IF-1 [V-test]: 1.9 %; DRIFT-IF-3: 0 for a $1,000 shortage or a 10 % fee.
#[test]
fn drift_if_fee() {
    close(
        if_fee(0.05, 0.05, 0.01, 20.0, 10.0, 100.0),
        0.019,
        1e-12,
        "DRIFT-IF-1",
    );
    assert_eq!(
        if_fee(0.05, 0.05, 0.01, 1_000.0, 10.0, 100.0),
        0.0,
        "DRIFT-IF-3 shortage"
    );
    assert_eq!(
        if_fee(0.05, 0.05, 0.10, 20.0, 10.0, 100.0),
        0.0,
        "DRIFT-IF-3 fee"
    );
}

/// DRIFT-FEE-1 [V-test]: base 2 %, max 5 %: 2 % / 3 % / 5 % at 10 /
/// 10,000 / 100,000 slots; DRIFT-PCT-1: a $49 shortage is liquidated fully.
#[test]
fn drift_fee_ramp_and_pct() {
    for (slots, want) in [(10, 0.02), (10_000, 0.03), (100_000, 0.05)] {
        close(
            liquidation_fee(0.02, 0.05, slots, 1_500, 1e-6),
            want,
            1e-12,
            "DRIFT-FEE-1",
        );
    }
    assert_eq!(
        max_liquidatable_pct(49.0, 50.0, 0.1, 0, 150),
        1.0,
        "DRIFT-PCT-1"
    );
    assert!(max_liquidatable_pct(51.0, 50.0, 0.1, 0, 150) < 1.0);
}

/// DRIFT-SOC-1 [V-test]: loss $100 over 7 long + 4 short base → 9.0909091.
#[test]
fn drift_social_loss() {
    close(
        social_loss_per_base(-100.0, 7.0, -4.0),
        9.0909091,
        1e-7,
        "DRIFT-SOC-1",
    );
}

/// MANGO-LIQ-1 [V-test]: +10 asset, −9 liab (init liab weight 1.4, maint
/// 1.2): H_maint −0.8, H_le −2.6; taking 6.5 liab restores H_le to 0 with
/// 3.5 asset and −2.5 liab left; tolerance 1e-9.
#[test]
fn mango_liq_1() {
    let h_maint = health(&[(10.0, 1.0, 1.0, 1.0), (-9.0, 1.0, 1.0, 1.2)]);
    let h_le = health(&[(10.0, 1.0, 1.0, 1.0), (-9.0, 1.0, 1.0, 1.4)]);
    close(h_maint, -0.8, 1e-9, "MANGO-LIQ-1 maint");
    close(h_le, -2.6, 1e-9, "MANGO-LIQ-1 le");
    let x = liab_needed(h_le, 1.4, 1.0, 1.0, 1.0);
    close(x, 6.5, 1e-9, "MANGO-LIQ-1 transfer");
    let (asset, liab) = (10.0 - x, -9.0 + x);
    close(asset, 3.5, 1e-9, "MANGO-LIQ-1 asset");
    close(liab, -2.5, 1e-9, "MANGO-LIQ-1 liab");
    close(
        health(&[(asset, 1.0, 1.0, 1.0), (liab, 1.0, 1.0, 1.4)]),
        0.0,
        1e-9,
        "MANGO-LIQ-1 H_le after",
    );
}

fn aave() -> AaveParams {
    AaveParams {
        liquidation_threshold: 0.8,
        liquidation_bonus: 1.05,
        protocol_fee: 0.1,
        close_factor_hf_threshold: 0.95,
        min_base_max_close_factor: 2_000.0,
    }
}

/// AAVE-HF-1 [V-doc]: $10,000 ETH at LT 80 % against $6,000 debt → 1.3333.
#[test]
fn aave_hf_1() {
    close(
        health_factor(10_000.0 * 0.8, 6_000.0),
        1.3333,
        5e-5,
        "AAVE-HF-1",
    );
}

/// AAVE-LIQ-1 [D from code]: 5 WETH @ 2,000 against 8,200 USDC; tolerance 1e-9
/// (HF after: 5e-5).
#[test]
fn aave_liq_1() {
    let r = liquidation_call(&aave(), 5.0, 2_000.0, 8_200.0, 1.0, None);
    close(r.health_factor, 0.97561, 5e-5, "AAVE-LIQ-1 HF");
    close(r.max_repay, 4_100.0, 1e-9, "AAVE-LIQ-1 repay");
    close(r.collateral_seized, 2.1525, 1e-9, "AAVE-LIQ-1 seized");
    close(r.bonus, 0.1025, 1e-9, "AAVE-LIQ-1 bonus");
    close(r.protocol_fee, 0.01025, 1e-9, "AAVE-LIQ-1 fee");
    close(r.to_liquidator, 2.14225, 1e-9, "AAVE-LIQ-1 liquidator");
    close(r.health_factor_after, 1.1112, 5e-5, "AAVE-LIQ-1 HF after");
}

/// SPAN-1 [V-doc]: a long S&P future, PSR $10,000, extreme move 2·PSR at
/// 35 %: scanning risk $10,000.
#[test]
fn span_1_long_future() {
    let psr = 10_000.0;
    let s = span_scenarios(|k, _v| k * psr, 2.0, 0.35);
    assert_eq!(s.len(), 16);
    // The published array: the extreme scenarios are ±7,000 after weighting.
    close(s[15].0 * s[15].1, -7_000.0, 1e-9, "SPAN-1 extreme down");
    close(scanning_risk(&s), 10_000.0, 1e-9, "SPAN-1");
}

/// PM-1 [D]: long 1 perp + short 2 calls (net Δ 0, Γ −8e-5, vega −40/pt),
/// ±16 % in 9 buckets × vol ±10 pts: MM 2,960.
#[test]
fn pm_1_greek_grid() {
    let moves: Vec<f64> = (-4..=4).map(|k| k as f64 * 0.04).collect();
    let g = Greeks {
        delta: 0.0,
        gamma: -8e-5,
        vega: -40.0,
    };
    close(
        greek_scenario_margin(g, 50_000.0, &moves, &[-10.0, 0.0, 10.0]),
        2_960.0,
        1e-6,
        "PM-1",
    );
}

/// ADL queues on a handmade book: ranking order and greedy allocation.
#[test]
fn adl_queue_ranking_and_allocation() {
    let mk = |id, size: f64, upnl, wallet, mm| AdlCandidate {
        id,
        size,
        upnl,
        wallet,
        maintenance: mm,
        mark_value: 1.0,
        entry_value: 1.0,
        bankrupt_value: 0.0,
    };
    let book = [
        mk(1, 2.0, 100.0, 1_000.0, 50.0), // PnL% 0.1, MR 50/1100
        mk(2, 1.0, 500.0, 500.0, 100.0),  // PnL% 1.0, MR 0.1 → highest
        mk(3, 3.0, -10.0, 1_000.0, 10.0), // losing: score 0
        mk(4, 1.5, 500.0, 500.0, 100.0),  // ties with 2, larger id
    ];
    let order = AdlRanking::Binance.order(&book, 0);
    assert_eq!(order, vec![1, 3, 0, 2]);
    let (fills, left) = levsim_engine::venue::adl::allocate_queue(&book, &order, 3.0);
    assert_eq!(fills, vec![(1, 1.0), (3, 1.5), (0, 0.5)]);
    assert_eq!(left, 0.0);
    let (_, left) = levsim_engine::venue::adl::allocate_queue(&book, &order, 100.0);
    close(left, 100.0 - 7.5, 1e-12, "ADL leftover");
    // The fill price rule: bankruptcy price (Binance, BitMEX, dYdX) or the
    // previous mark (Hyperliquid).
    use levsim_engine::venue::adl::AdlPrice;
    assert_eq!(AdlPrice::Bankruptcy.price(90.0, 95.0, 96.0), 90.0);
    assert_eq!(AdlPrice::PreviousMark.price(90.0, 95.0, 96.0), 95.0);
    // dYdX: no ranking, a rotation from the seed.
    assert_eq!(AdlRanking::Unranked.order(&book, 5), vec![1, 2, 3, 0]);
}

/// DRIFT-W-1 [V-doc]: 2,000 SOL, w0 0.80, imf 0.003 → min(0.80, 0.96987) = 0.80.
#[test]
fn drift_w_1_asset_weight() {
    use levsim_engine::venue::drift::asset_weight;
    close(
        1.1 / (1.0 + 0.003 * 2_000f64.sqrt()),
        0.96987,
        1e-5,
        "DRIFT-W-1 discount",
    );
    close(asset_weight(0.80, 0.003, 2_000.0), 0.80, 1e-12, "DRIFT-W-1");
}

/// Drift's exit buffer (SPEC §5.1): in at TC < MR; out only past the buffer.
#[test]
fn drift_exit_buffer() {
    use levsim_engine::venue::drift::in_liquidation;
    // MR 100 on liabilities 1,000, buffer 2 %: enter below 100, leave at 120.
    assert!(in_liquidation(false, 99.0, 100.0, 1_000.0, 0.0, 0.02));
    assert!(!in_liquidation(false, 101.0, 100.0, 1_000.0, 0.0, 0.02));
    assert!(in_liquidation(true, 110.0, 100.0, 1_000.0, 0.0, 0.02));
    assert!(!in_liquidation(true, 120.0, 100.0, 1_000.0, 0.0, 0.02));
}
