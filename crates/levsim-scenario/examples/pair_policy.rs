//! A policy of one's own for a two-leg account: long BTC, short ETH, sized
//! by how far the pair's price ratio has moved, de-risked when the
//! account's margin gets tight. Runs on the bundled Black Thursday BTC and
//! ETH bars under Binance's cross margin.
//!
//! `cargo run -p levsim-scenario --example pair_policy`

use levsim_engine::portfolio::{simulate_portfolio, Cross, PortfolioMarket};
use levsim_policy::{Cadence, PortfolioDecision, PortfolioObservation, PortfolioPolicy};
use levsim_scenario::{LoadedMarket, Scenario};

/// Long the first leg, short the second, at `gross` leverage; the short
/// leg's weight grows as the ratio first/second rises above where the
/// position opened (leaning into the spread), and the whole book is cut
/// to half when requirement / equity passes `tight`.
struct Pair {
    gross: f64,
    tight: f64,
    /// The price ratio at the first decision.
    ratio0: Option<f64>,
    /// Whether the book was cut.
    cut: bool,
}

impl PortfolioPolicy for Pair {
    fn decide(&mut self, obs: &PortfolioObservation<'_>, target: &mut [f64]) -> PortfolioDecision {
        let ratio = obs.marks[0] / obs.marks[1];
        let r0 = *self.ratio0.get_or_insert(ratio);
        if !self.cut && !obs.is_flat() && obs.margin_ratio > self.tight {
            self.cut = true;
        }
        let gross = if self.cut {
            self.gross / 2.0
        } else {
            self.gross
        };
        // Short weight between 0.3 and 0.7 of the book as the ratio moves.
        let tilt = (0.5 + 2.0 * (ratio / r0 - 1.0)).clamp(0.3, 0.7);
        let want = [gross * (1.0 - tilt), -gross * tilt];
        // Trade only when a leg is 10 % away from where it should be.
        let off = (0..2).any(|k| (obs.leg_leverage(k) - want[k]).abs() > 0.1 * want[k].abs());
        if obs.is_flat() || off {
            target.copy_from_slice(&want);
            PortfolioDecision::Target
        } else {
            PortfolioDecision::Hold
        }
    }

    fn cadence(&self) -> Cadence {
        Cadence::EveryBar
    }

    fn reset(&mut self) {
        self.ratio0 = None;
        self.cut = false;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join("scenarios/black-thursday-2020-portfolio.toml");
    // The scenario names the market, the venue and the account; the
    // policy is ours.
    let sc = Scenario::parse_in(&std::fs::read_to_string(&path)?, &path, &root)?;
    let market = LoadedMarket::load(&sc)?;
    let p = market.portfolio.as_ref().ok_or("a portfolio scenario")?;
    let mut policy = Pair {
        gross: 6.0,
        tight: 0.3,
        ratio0: None,
        cut: false,
    };
    let funding: Vec<_> = p.funding.iter().map(Option::as_ref).collect();
    let out = simulate_portfolio(
        PortfolioMarket {
            tape: &p.tape,
            funding: &funding,
            rules: &p.rules[0],
            options: &[],
        },
        &Cross,
        &sc.account,
        &mut policy,
        0,
    )?;
    let m = &out.metrics;
    println!(
        "pair BTC/ETH at 6x gross, cross margin: return {:.2} %, max drawdown {:.2} %, {} liquidation(s), {} trades, fees {:.2}, funding {:.2}",
        m.return_pct, m.max_drawdown_pct, m.liquidations, m.trades, m.fees, m.funding
    );
    for (sym, leg) in p.tape.instruments.symbols().iter().zip(&out.legs) {
        println!(
            "  {sym}: PnL {:.2}, avg leverage {:.2}, liquidated {} time(s)",
            leg.pnl, leg.avg_leverage, leg.liquidations
        );
    }
    println!("money conserved to {:.1e}", out.conservation_error);
    Ok(())
}
