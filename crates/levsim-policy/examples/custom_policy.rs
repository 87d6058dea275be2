//! A user-written policy, run on a scenario's market and venue.
//!
//! `DistanceGuard` opens at `leverage` and closes the position when the mark
//! comes within `stop` (relative) of the liquidation price; it opens again
//! once the price has recovered `rearm` above the level where it closed.
//! Implementing [`LeveragePolicy`] is one method; the engine hands it only
//! what was known at the time.
//!
//! ```sh
//! cargo run -p levsim-policy --example custom_policy -- scenarios/black-thursday-2020.toml
//! ```

use levsim_engine::{simulate, Market};
use levsim_policy::{Decision, LeveragePolicy, Observation};
use levsim_scenario::{LoadedMarket, Scenario};

/// Opens at `leverage`; closes `stop` away from liquidation; re-arms after a
/// `rearm` recovery.
struct DistanceGuard {
    leverage: f64,
    stop: f64,
    rearm: f64,
    closed_at: Option<f64>,
}

impl LeveragePolicy for DistanceGuard {
    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        if obs.is_flat() {
            return match self.closed_at {
                Some(p) if obs.mark < p * (1.0 + self.rearm) => Decision::Hold,
                _ => {
                    self.closed_at = None;
                    Decision::TargetLeverage(self.leverage)
                }
            };
        }
        match obs.distance_to_liquidation() {
            Some(d) if d < self.stop => {
                self.closed_at = Some(obs.mark);
                Decision::Close
            }
            _ => Decision::Hold,
        }
    }

    fn reset(&mut self) {
        self.closed_at = None;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "scenarios/black-thursday-2020.toml".into());
    let sc = Scenario::load(std::path::Path::new(&path))?;
    let market = LoadedMarket::load(&sc)?;
    println!(
        "{}: {} bars of {}",
        sc.name,
        market.tape.len(),
        market.tape.symbol
    );
    for (leverage, stop) in [(10.0, 0.02), (10.0, 0.05), (20.0, 0.02)] {
        let mut policy = DistanceGuard {
            leverage,
            stop,
            rearm: 0.03,
            closed_at: None,
        };
        let out = simulate(
            Market::new(&market.tape).with_funding(market.funding.as_ref()),
            &market.venues[0],
            &sc.account,
            &mut policy,
            &mut (),
        )?;
        let m = out.metrics;
        println!(
            "  {leverage}x, close {:.0} % from liquidation: return {:>8.2} %, {} liquidations, {} trades, fees {:.2}",
            stop * 100.0,
            m.return_pct,
            m.liquidations,
            m.trades,
            m.fees
        );
    }
    Ok(())
}
