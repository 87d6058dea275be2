//! Helpers for building venues, accounts and scripted tapes.

use levsim_core::{MarketTape, Side};
use levsim_engine::{
    simulate, AccountConfig, MarginMode, Market, RunOutput, VenueConfig, VenueProfile,
};
use levsim_policy::LeveragePolicy;

pub const MIN: i64 = 60_000_000_000;

/// A venue with a flat maintenance rate and optional fees.
pub fn flat_venue(mmr: f64, taker: f64, liq_fee: f64) -> VenueProfile {
    VenueProfile::resolve(
        &VenueConfig {
            profile: "binance-usdm".into(),
            maintenance_rate: Some(mmr),
            taker_fee: Some(taker),
            liquidation_fee: Some(liq_fee),
            funding: Some(false),
            ..Default::default()
        },
        "TEST",
    )
    .unwrap()
}

pub fn account(side: Side, reenter: bool) -> AccountConfig {
    AccountConfig {
        capital: 10_000.0,
        side,
        margin_mode: MarginMode::Isolated,
        reenter,
        min_equity: None,
        ..Default::default()
    }
}

/// A tape from (open, high, low, close) rows, one minute apart.
pub fn tape(rows: &[(f64, f64, f64, f64)]) -> MarketTape {
    let mut t = MarketTape {
        symbol: "TEST".into(),
        interval_ns: MIN,
        ..Default::default()
    };
    for (i, &(o, h, l, c)) in rows.iter().enumerate() {
        t.push(i as i64 * MIN, o, h, l, c, 1.0);
    }
    t
}

/// A flat bar at `p`.
pub fn flat(p: f64) -> (f64, f64, f64, f64) {
    (p, p, p, p)
}

/// Runs `policy` over `t` without funding and without an observer.
pub fn run<P: LeveragePolicy>(
    t: &MarketTape,
    venue: &VenueProfile,
    acct: &AccountConfig,
    policy: &mut P,
) -> RunOutput {
    simulate(Market::new(t), venue, acct, policy, &mut ()).unwrap()
}
