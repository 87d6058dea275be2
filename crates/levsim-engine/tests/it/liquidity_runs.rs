//! Orders through liquidity models: slippage on forced orders, and the
//! mark impact they leave.

use levsim_core::{LiquidationEvent, Side};
use levsim_engine::liquidity::{LinearImpact, NoImpact, SqrtImpact};
use levsim_engine::{simulate_with, Market, Observer, SeriesRecorder};
use levsim_policy::StaticLeverage;

use crate::support::*;

/// A 10x long on a slow slide: without impact the liquidation fills at the
/// liquidation price; through a linear book of 1,000,000 quote per 100 %
/// move, the 90,000-quote forced sell fills half its 9 % move lower on
/// average, and the mark stays below the exogenous price, decaying with the
/// half-life.
#[test]
fn forced_sells_slip_and_move_the_mark() {
    let venue = flat_venue(0.005, 0.0, 0.0);
    let mut rows = vec![flat(100.0)];
    let mut p = 100.0;
    for _ in 0..200 {
        let next = p * 0.999;
        rows.push((p, p, next, next));
        p = next;
    }
    rows.extend(std::iter::repeat_n(flat(p), 10));
    let t = tape(&rows);
    let market = Market::new(&t);
    let acct = account(Side::Long, false);
    let run = |liq: &mut dyn FnMut(&mut SeriesRecorder) -> levsim_engine::RunOutput| {
        let mut rec = SeriesRecorder::new(1);
        let out = liq(&mut rec);
        (out, rec)
    };
    let (base, _) = run(&mut |rec| {
        simulate_with(
            market,
            &venue,
            &acct,
            &mut StaticLeverage { leverage: 10.0 },
            &mut NoImpact,
            rec,
        )
        .unwrap()
    });
    let e0 = base.liquidations[0];
    assert_eq!(e0.fill_price, e0.liquidation_price);

    // The opening buy of 100,000 quote moves the mark up 10 % at once in this
    // thin book, so use a deeper one for the open and compare the forced sell.
    let depth = 1e7; // quote per 100 % move
    let mut lin = LinearImpact::new(depth, 1.0, 60.0);
    let (out, rec) = run(&mut |rec| {
        simulate_with(
            market,
            &venue,
            &acct,
            &mut StaticLeverage { leverage: 10.0 },
            &mut lin,
            rec,
        )
        .unwrap()
    });
    let e: LiquidationEvent = out.liquidations[0];
    // VWAP of a linear walk: half of the move N/D below the trigger.
    let n = e.qty * e.liquidation_price;
    let want = e.liquidation_price * (1.0 - 0.5 * n / depth);
    assert!(
        (e.fill_price - want).abs() < 1e-9 * want,
        "{} vs {want}",
        e.fill_price
    );
    assert!(e.fill_price < e.liquidation_price);
    // After the forced sell the mark sits below the exogenous close, and the
    // gap shrinks with the 60 s half-life (1-minute bars).
    let k = rec.ts.iter().position(|&ts| ts >= e.ts + MIN).unwrap();
    let gap = |j: usize| rec.mark[j] / t.close[j] - 1.0;
    assert!(gap(k) < 0.0);
    assert!(
        gap(k + 1) > gap(k) && (gap(k + 1) / gap(k) - 0.5).abs() < 1e-6,
        "{} {}",
        gap(k),
        gap(k + 1)
    );
}

/// A square-root model fills a larger order proportionally worse.
#[test]
fn sqrt_model_slippage_grows_with_size() {
    let venue = flat_venue(0.005, 0.0, 0.0);
    let t = tape(&[flat(100.0), flat(100.0), flat(100.0)]);
    let market = Market::new(&t);
    let mut slip = Vec::new();
    for capital in [1_000.0, 4_000.0, 16_000.0] {
        let mut acct = account(Side::Long, false);
        acct.capital = capital;
        struct First(Option<f64>);
        impl Observer for First {
            fn on_fill(&mut self, f: &levsim_core::Fill) {
                self.0.get_or_insert(f.price);
            }
        }
        let mut first = First(None);
        let mut m = SqrtImpact::new(0.01, 100.0, 1.0, 60.0);
        simulate_with(
            market,
            &venue,
            &acct,
            &mut StaticLeverage { leverage: 2.0 },
            &mut m,
            &mut first,
        )
        .unwrap();
        slip.push(first.0.unwrap() / 100.0 - 1.0);
    }
    // Four times the size: twice the slippage.
    assert!((slip[1] / slip[0] - 2.0).abs() < 1e-9, "{slip:?}");
    assert!((slip[2] / slip[1] - 2.0).abs() < 1e-9, "{slip:?}");
}
