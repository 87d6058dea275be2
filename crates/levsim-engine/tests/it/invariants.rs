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
    .prop_map(|steps| {
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
    })
}

proptest! {
    /// Money is conserved: final equity = capital + trading cash flows +
    /// mark-to-market of what is held − fees + funding + bad debt covered by
    /// the insurance fund. And no position is left beyond its liquidation
    /// price at a bar close.
    #[test]
    fn money_is_conserved(rows in bars(), lev in 1.5f64..60.0, short in any::<bool>(),
                          constant in any::<bool>(), reenter in any::<bool>(),
                          rates in prop::collection::vec(-0.003f64..0.003, 0..20)) {
        let mut venue = flat_venue(0.005, 0.0004, 0.005);
        venue.funding = true;
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
        let out = simulate(Market { tape: &t, funding: Some(&f) }, &venue, &account(side, reenter), &mut policy, &mut cash).unwrap();
        let m = &out.metrics;
        let last = *t.close.last().unwrap();
        let expect = 10_000.0 + cash.flows + cash.qty * last - cash.fees + m.funding + m.bad_debt;
        prop_assert!((m.final_equity - expect).abs() < 1e-6 * 10_000.0, "{} vs {}", m.final_equity, expect);
        prop_assert!((m.fees - cash.fees).abs() < 1e-9);
        prop_assert!(m.final_equity >= 0.0);
        prop_assert_eq!(m.liquidations as usize, cash.liqs.len());
        for e in &cash.liqs {
            // Fee and bad debt are never both positive; equity left is never negative.
            prop_assert!(e.fee == 0.0 || e.bad_debt == 0.0);
            prop_assert!(e.equity_after >= 0.0);
        }
        if !reenter {
            prop_assert!(m.liquidations <= 1);
        }
    }
}
