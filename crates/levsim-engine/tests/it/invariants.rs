//! Invariants checked on random paths (proptest).

use levsim_core::{Fill, FundingSeries, LiquidationEvent, Side};
use levsim_engine::{simulate, Market, Observer};
use levsim_policy::{BuiltinPolicy, ConstantLeverage, StaticLeverage};
use proptest::prelude::*;

use crate::support::*;

#[derive(Default)]
struct Cash {
    flows: f64,
    qty: f64,
    fees: f64,
    liqs: Vec<LiquidationEvent>,
}

impl Observer for Cash {
    fn on_fill(&mut self, f: &Fill) {
        self.flows -= f.qty * f.price;
        self.qty += f.qty;
        self.fees += f.fee;
    }
    fn on_liquidation(&mut self, e: &LiquidationEvent) {
        self.liqs.push(*e);
    }
}

fn bars() -> impl Strategy<Value = Vec<(f64, f64, f64, f64)>> {
    prop::collection::vec(
        (-0.08f64..0.08, 0.0f64..0.05, 0.0f64..0.05, -0.05f64..0.05),
        2..200,
    )
    .prop_map(walk)
}

/// Bars from relative moves `(gap, up, down, ret)`, starting at 100: each
/// opens `gap` from the last close, closes `ret` from its open, and
/// reaches `up` above the higher and `down` below the lower of the two.
fn walk(steps: Vec<(f64, f64, f64, f64)>) -> Vec<(f64, f64, f64, f64)> {
    let mut p = 100.0;
    steps
        .into_iter()
        .map(|(gap, up, down, ret)| {
            let o = p * (1.0 + gap);
            let c = o * (1.0 + ret);
            let h = o.max(c) * (1.0 + up);
            let l = o.min(c) * (1.0 - down);
            p = c;
            (o, h, l, c)
        })
        .collect()
}

proptest! {
    /// Money is conserved: final equity = capital + trading cash flows +
    /// mark-to-market of what is held − fees + funding + bad debt covered by
    /// the insurance fund. And no position is left beyond its liquidation
    /// price at a bar close.
    #[test]
    fn money_is_conserved(rows in bars(), lev in 1.5f64..60.0, short in any::<bool>(),
                          constant in any::<bool>(), reenter in any::<bool>(), mode in 0u8..6, liq in 0u8..3,
                          rates in prop::collection::vec(-0.003f64..0.003, 0..20)) {
        use levsim_engine::venue::LiquidationMode;
        let mut venue = flat_venue(0.005, 0.0004, 0.005);
        venue.funding = true;
        // Every execution rule: full, 20 % tranches, close factor, engine
        // takeover with the margin, and a backstop threshold.
        match mode {
            1 => venue.liquidation.mode = LiquidationMode::Partial { fraction: 0.2, above_notional: 0.0, cooldown_s: 30.0 },
            2 => venue.liquidation.mode = LiquidationMode::CloseFactor { close_factor: 0.5, full_below_hf: 0.95, bonus: 1.05 },
            3 => venue.liquidation.sweep_margin = true,
            4 => {
                venue.liquidation.mode = LiquidationMode::Partial { fraction: 0.2, above_notional: 0.0, cooldown_s: 30.0 };
                venue.liquidation.backstop_fraction = Some(2.0 / 3.0);
            }
            5 => {
                use levsim_engine::venue::{BracketSpec, BracketTable, MarginModelAny};
                let spec = |cap, mmr| BracketSpec { cap, max_leverage: 100.0, mmr };
                venue.margin = MarginModelAny::Tiered(
                    BracketTable::new(&[spec(50_000.0, 0.005), spec(200_000.0, 0.01), spec(f64::INFINITY, 0.02)], "t").unwrap(),
                );
                venue.liquidation.mode = LiquidationMode::TierReduction;
            }
            _ => {}
        }
        let t = tape(&rows);
        let f = FundingSeries {
            ts: (0..rates.len() as i64).map(|i| i * 7 * MIN).collect(),
            rate: rates,
        };
        let side = if short { Side::Short } else { Side::Long };
        let mut policy = if constant {
            BuiltinPolicy::ConstantLeverage(ConstantLeverage { leverage: lev, band: 0.1 })
        } else {
            BuiltinPolicy::Static(StaticLeverage { leverage: lev })
        };
        let mut cash = Cash::default();
        // With and without liquidity models: trades then settle at VWAPs.
        use levsim_engine::liquidity::{LinearImpact, LiquidityAny, LiquidityModel, NoImpact, SqrtImpact};
        let mut model = match liq {
            1 => LiquidityAny::Linear(LinearImpact::new(5e6, 1.0, 120.0)),
            2 => LiquidityAny::Sqrt(SqrtImpact::new(0.02, 500.0, 1.0, 120.0)),
            _ => LiquidityAny::None(NoImpact),
        };
        let out = levsim_engine::simulate_with(Market::new(&t).with_funding(Some(&f)), &venue, &account(side, reenter), &mut policy, &mut model, &mut cash).unwrap();
        let m = &out.metrics;
        // Holdings are valued at the final mark (the close moved by impact).
        let last = *t.close.last().unwrap() * (1.0 + model.impact(t.ts[t.len() - 1] + t.interval_ns));
        let expect = 10_000.0 + cash.flows + cash.qty * last - cash.fees + m.funding + m.bad_debt;
        prop_assert!((m.final_equity - expect).abs() < 1e-6 * 10_000.0, "{} vs {}", m.final_equity, expect);
        // Summed in a different order: equal to rounding (relative).
        prop_assert!((m.fees - cash.fees).abs() <= 1e-12 * m.fees.abs().max(1.0), "fees {} vs {}", m.fees, cash.fees);
        prop_assert!(m.final_equity >= 0.0);
        // Every unit of bad debt was paid by someone.
        prop_assert!((m.bad_debt - (m.bad_debt_insurance_fund + m.bad_debt_adl + m.bad_debt_socialized)).abs() < 1e-6);
        prop_assert!(m.insurance_fund_end >= 0.0 && m.insurance_fund_min <= m.insurance_fund_end + 1e-9);
        // Every order the observer saw is a tranche; events group them.
        prop_assert_eq!(m.liquidation_tranches as usize, cash.liqs.len());
        prop_assert!(m.liquidations <= m.liquidation_tranches);
        prop_assert_eq!(m.liquidations == 0, m.liquidation_tranches == 0);
        for e in &cash.liqs {
            // Fee and bad debt are never both positive; equity left is never negative.
            prop_assert!(e.fee == 0.0 || e.bad_debt == 0.0);
            prop_assert!(e.equity_after >= 0.0);
        }
        if !reenter && (mode == 0 || mode == 3) {
            prop_assert!(m.liquidations <= 1);
        }
    }
}

/// Static leverage consulted at every bar: the same decisions as
/// `StaticLeverage`, but its cadence sends every bar through the full loop.
struct EveryBarStatic(StaticLeverage);

impl levsim_policy::LeveragePolicy for EveryBarStatic {
    fn decide(&mut self, obs: &levsim_policy::Observation<'_>) -> levsim_policy::Decision {
        self.0.decide(obs)
    }
}

proptest! {
    /// The lean path for quiet bars (taken by policies that only act while
    /// flat) gives the results of the full per-bar loop: liquidations and
    /// every recorded bar exactly, the metrics as `same_metrics` (its sums
    /// are added a chunk at a time).
    #[test]
    fn quiet_path_equals_the_full_loop(rows in bars(), lev in 1.5f64..60.0, short in any::<bool>(),
                                       reenter in any::<bool>(),
                                       rates in prop::collection::vec(-0.003f64..0.003, 0..20)) {
        use levsim_engine::SeriesRecorder;
        use levsim_policy::LeveragePolicy;
        let (venue, t, f, acct) = funded_long_or_short(&rows, rates, 7, short, reenter);
        let ct = levsim_core::CheckedTape::new(t.clone());
        let market = Market::of_checked(&ct).with_funding(Some(&f));
        let mut lean = StaticLeverage { leverage: lev };
        prop_assert_eq!(lean.cadence(), levsim_policy::Cadence::WhenFlat);
        let (mut r1, mut r2) = (SeriesRecorder::new(1), SeriesRecorder::new(1));
        let a = simulate(market, &venue, &acct, &mut lean, &mut r1).unwrap();
        let b = simulate(market, &venue, &acct, &mut EveryBarStatic(StaticLeverage { leverage: lev }), &mut r2).unwrap();
        prop_assert_eq!(&a.liquidations, &b.liquidations);
        same_metrics(&a.metrics, &b.metrics)?;
        prop_assert_eq!(r1.equity, r2.equity);
        prop_assert_eq!(r1.leverage, r2.leverage);
        prop_assert_eq!(r1.ts, r2.ts);
        // Bit for bit (a flat account's liquidation price is NaN).
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&r1.mark), bits(&r2.mark));
        prop_assert_eq!(bits(&r1.liquidation_price), bits(&r2.liquidation_price));
        prop_assert_eq!(bits(&r1.margin_ratio), bits(&r2.margin_ratio));
    }
}

/// Quiet markets with a crash somewhere: long stretches of small bars (the
/// quiet path's chunks) and a few large ones (liquidations, new peaks).
fn quiet_bars() -> impl Strategy<Value = Vec<(f64, f64, f64, f64)>> {
    prop::collection::vec(
        (
            -0.002f64..0.002,
            0.0f64..0.002,
            0.0f64..0.002,
            -0.002f64..0.002,
            0u8..100,
        ),
        20..600,
    )
    .prop_map(|steps| {
        // One bar in fifty moves 5 % either way.
        walk(
            steps
                .into_iter()
                .map(|(gap, up, down, ret, shock)| {
                    let ret = match shock {
                        0 => -0.05,
                        1 => 0.05,
                        _ => ret,
                    };
                    (gap, up, down, ret)
                })
                .collect(),
        )
    })
}

proptest! {
    /// Without a recorder the quiet path takes whole chunks (issue 18):
    /// the same liquidations (bars, prices, sizes), counts and final
    /// equity as the full per-bar loop, exactly; the per-bar sums (mean
    /// leverage, exposure, margin use) and the closest distance to the
    /// liquidation price equal to rounding (1e-12 relative).
    #[test]
    fn quiet_chunks_match_bar_by_bar(rows in quiet_bars(), lev in 1.5f64..60.0, short in any::<bool>(),
                                     reenter in any::<bool>(),
                                     rates in prop::collection::vec(-0.003f64..0.003, 0..20)) {
        let (venue, t, f, acct) = funded_long_or_short(&rows, rates, 37, short, reenter);
        let ct = levsim_core::CheckedTape::new(t.clone());
        let market = Market::of_checked(&ct).with_funding(Some(&f));
        let a = simulate(market, &venue, &acct, &mut StaticLeverage { leverage: lev }, &mut ()).unwrap();
        // Checked bars (open and close inside the range: chunks tested on
        // lows and highs) give the unchecked run's results to the bit.
        let unchecked = Market::new(&t).with_funding(Some(&f));
        let u = simulate(unchecked, &venue, &acct, &mut StaticLeverage { leverage: lev }, &mut ()).unwrap();
        prop_assert_eq!(&a, &u);
        let b = simulate(market, &venue, &acct, &mut EveryBarStatic(StaticLeverage { leverage: lev }), &mut ()).unwrap();
        prop_assert_eq!(&a.liquidations, &b.liquidations);
        same_metrics(&a.metrics, &b.metrics)?;
        // A recorder changes nothing: a run kept for its series has the
        // metrics it had in the sweep, to the bit.
        let mut rec = levsim_engine::SeriesRecorder::new(3);
        let c = simulate(market, &venue, &acct, &mut StaticLeverage { leverage: lev }, &mut rec).unwrap();
        prop_assert_eq!(&a, &c);
    }
}

proptest! {
    /// Bars whose open lies outside their [low, high] (a gap printed only
    /// in the open, as some feeds have it) keep the chunk test on all four
    /// prices (`Market::new` finds them unordered): a chunk whose lows and
    /// highs stay clear but whose open reaches the liquidation price still
    /// stops there, as the full loop does, checked or not.
    #[test]
    fn unordered_bars_keep_the_open_in_the_chunk_test(rows in quiet_bars(),
                                                      gaps in prop::collection::vec((0usize..600, -0.08f64..0.08), 1..8),
                                                      lev in 1.5f64..60.0, short in any::<bool>(),
                                                      reenter in any::<bool>()) {
        let mut rows = rows;
        for (k, g) in gaps {
            let i = k % rows.len();
            rows[i].0 *= 1.0 + g;
        }
        let (venue, t, f, acct) = funded_long_or_short(&rows, vec![], 37, short, reenter);
        prop_assume!(!t.ranges_hold_open_and_close());
        let ct = levsim_core::CheckedTape::new(t.clone());
        let market = Market::of_checked(&ct).with_funding(Some(&f));
        let a = simulate(market, &venue, &acct, &mut StaticLeverage { leverage: lev }, &mut ()).unwrap();
        let b = simulate(market, &venue, &acct, &mut EveryBarStatic(StaticLeverage { leverage: lev }), &mut ()).unwrap();
        prop_assert_eq!(&a.liquidations, &b.liquidations);
        same_metrics(&a.metrics, &b.metrics)?;
    }
}

/// The quiet-path tests' set-up: a flat 0.5 % venue with funding paid every
/// `every` minutes at `rates`, the bars as a tape, a long or short account.
fn funded_long_or_short(
    rows: &[(f64, f64, f64, f64)],
    rates: Vec<f64>,
    every: i64,
    short: bool,
    reenter: bool,
) -> (
    levsim_engine::VenueProfile,
    levsim_core::MarketTape,
    FundingSeries,
    levsim_engine::AccountConfig,
) {
    let mut venue = flat_venue(0.005, 0.0004, 0.005);
    venue.funding = true;
    let f = FundingSeries {
        ts: (0..rates.len() as i64).map(|i| i * every * MIN).collect(),
        rate: rates,
    };
    let side = if short { Side::Short } else { Side::Long };
    (venue, tape(rows), f, account(side, reenter))
}

/// Metrics of the chunked quiet path against the full per-bar loop:
/// liquidations, counts, final equity, drawdown and time in market to the
/// bit; the sums over bars (mean leverage, exposure, margin use) and the
/// closest distance to liquidation to 1e-12 relative.
fn same_metrics(
    x: &levsim_engine::RunMetrics,
    y: &levsim_engine::RunMetrics,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(x.liquidations, y.liquidations);
    prop_assert_eq!(x.liquidation_tranches, y.liquidation_tranches);
    prop_assert_eq!(x.trades, y.trades);
    prop_assert_eq!(x.bars, y.bars);
    prop_assert_eq!(x.first_liquidation_ts, y.first_liquidation_ts);
    prop_assert_eq!(x.liquidation_price, y.liquidation_price);
    prop_assert_eq!(x.final_equity.to_bits(), y.final_equity.to_bits());
    prop_assert_eq!(x.fees.to_bits(), y.fees.to_bits());
    prop_assert_eq!(x.funding.to_bits(), y.funding.to_bits());
    prop_assert_eq!(x.max_drawdown_pct.to_bits(), y.max_drawdown_pct.to_bits());
    prop_assert_eq!(
        x.time_in_market_pct.to_bits(),
        y.time_in_market_pct.to_bits()
    );
    let close = |p: f64, q: f64| (p - q).abs() <= 1e-12 * p.abs().max(q.abs()).max(1e-300);
    prop_assert!(
        close(x.avg_leverage, y.avg_leverage),
        "avg_leverage {} vs {}",
        x.avg_leverage,
        y.avg_leverage
    );
    prop_assert!(close(
        x.avg_exposure_per_committed,
        y.avg_exposure_per_committed
    ));
    prop_assert!(close(x.margin_utilization_pct, y.margin_utilization_pct));
    match (
        x.min_distance_to_liquidation_pct,
        y.min_distance_to_liquidation_pct,
    ) {
        (Some(p), Some(q)) => prop_assert!(close(p, q), "min distance {} vs {}", p, q),
        (p, q) => prop_assert_eq!(p, q),
    }
    Ok(())
}
