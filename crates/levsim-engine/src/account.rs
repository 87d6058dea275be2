//! The subject account: configuration and isolated-margin position state.

use levsim_core::Side;
use serde::{Deserialize, Serialize};

use crate::venue::{MarginModel, VenueProfile};
use crate::EngineError;

/// Margin scope of the subject account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarginMode {
    /// The position has its own margin bucket.
    #[default]
    Isolated,
    /// The account's whole balance backs its positions: equity against the
    /// sum of every position's maintenance (Binance's cross rule). With one
    /// position and all capital committed it has the same liquidation
    /// price as isolated margin.
    Cross,
    /// The account's whole balance against the worst loss over a grid of
    /// joint price moves of its instruments (SPEC §8): hedged legs offset.
    Portfolio,
    /// The account's whole balance against CME SPAN's 16 scenarios per
    /// underlying (SPEC §8.1: price scan range 16 %, volatility scan range
    /// 10 points, extreme moves of 48 % covered at 35 %), options revalued
    /// in full (see `portfolio::models`).
    Span,
    /// The account's whole balance against the Greek (Taylor) worst loss
    /// per underlying over Deribit's grid of ±16 % × −10/0/+10 points
    /// (SPEC §8.3).
    Greek,
}

impl MarginMode {
    /// True for the modes that margin a whole portfolio account jointly
    /// (portfolio, SPAN, Greek), which need a market of instruments.
    pub fn is_joint(self) -> bool {
        matches!(
            self,
            MarginMode::Portfolio | MarginMode::Span | MarginMode::Greek
        )
    }
}

/// The `[account]` of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Starting capital in quote currency (all of it is the position's margin).
    pub capital: f64,
    /// Direction the account trades.
    pub side: Side,
    /// Margin scope.
    #[serde(default)]
    pub margin_mode: MarginMode,
    /// After a liquidation, reopen at the close of that bar with the equity
    /// left, as long as it is at least `min_equity`.
    #[serde(default)]
    pub reenter: bool,
    /// Equity below which the account stops re-entering (quote). Default:
    /// 1 % of `capital`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_equity: Option<f64>,
    /// Collateral held outside the position (quote) that a policy can move
    /// in (`TopUp`) and out (`Withdraw`); committed capital is
    /// `capital + reserve`.
    #[serde(default)]
    pub reserve: f64,
    /// Annual yield the reserve earns (simple, accrued per bar).
    #[serde(default)]
    pub reserve_yield: f64,
    /// Time a top-up takes to leave the reserve and land as margin (e.g.
    /// "30m" for a bank or chain withdrawal), on top of the decision latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal_delay: Option<String>,
    /// How late the policy's decisions land (default: at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// The scenario grid of `margin_mode = "portfolio"` (defaults: Deribit's
    /// ±16 % in 9 buckets, 1 % floor; SPEC §8.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portfolio_margin: Option<PortfolioMarginConfig>,
    /// Collateral held in other assets (`[[account.collateral]]`), valued
    /// at an instrument's mark with a haircut and counted in a cross or
    /// portfolio account's margin (Binance's multi-assets mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collateral: Vec<CollateralConfig>,
    /// Isolated accounts of a portfolio (one per leg: e.g. a leg on each
    /// of two venues): move collateral from the account with the most to
    /// spare to one whose margin ratio reaches `trigger`, landing after
    /// `delay` (a withdrawal, a chain or bank transfer, a deposit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferRule>,
    /// Seed of the run's latency draws (set per run by the scenario).
    #[serde(skip)]
    pub seed: u64,
}

/// The `account.transfer` table: collateral moved between a portfolio's
/// isolated accounts to meet a margin call, with a delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRule {
    /// Margin ratio (requirement / equity) of an account at which a
    /// transfer to it starts (checked at bar closes).
    pub trigger: f64,
    /// Share of the source account's spare collateral sent (its equity
    /// above what keeps it at the trigger).
    pub share: f64,
    /// Time the transfer takes to land, e.g. "30m".
    pub delay: String,
}

impl TransferRule {
    /// Checks the rule; errors name the key.
    pub fn validate(&self) -> Result<(), EngineError> {
        if !(self.trigger > 0.0 && self.trigger < 1.0) {
            return Err(EngineError::config(
                "account.transfer.trigger",
                format!("a margin ratio in (0, 1), got {}", self.trigger),
            ));
        }
        if !(self.share > 0.0 && self.share <= 1.0) {
            return Err(EngineError::config(
                "account.transfer.share",
                format!("must be in (0, 1], got {}", self.share),
            ));
        }
        dur("account.transfer.delay", &self.delay)?;
        Ok(())
    }

    /// The delay in ns.
    pub fn delay_ns(&self) -> i64 {
        levsim_core::time::parse_duration(&self.delay).unwrap_or(0)
    }
}

/// One `[[account.collateral]]` table: an amount of an asset whose value,
/// `amount × mark × (1 − haircut)`, backs the account. A falling asset
/// shrinks the margin it gives (wrong-way risk when the account is long
/// the same asset). A liquidation sells it at the mark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollateralConfig {
    /// The asset's name, e.g. `BTC` (informational).
    pub asset: String,
    /// Units of the asset held.
    pub amount: f64,
    /// Share of its value not counted (Binance's multi-assets haircut).
    #[serde(default)]
    pub haircut: f64,
    /// The instrument whose mark values it, by symbol (e.g. `BTCUSDT`).
    pub price: String,
}

/// `[account.portfolio_margin]`: the joint moves portfolio margin scans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioMarginConfig {
    /// Price scan range of every instrument, as a fraction (0.16 = ±16 %);
    /// an instrument's own `scan_range` replaces it.
    #[serde(default = "default_scan")]
    pub scan_range: f64,
    /// Evenly spaced moves across the range, ends included (odd: 0 too).
    #[serde(default = "default_buckets")]
    pub buckets: usize,
    /// Requirement per unit of gross notional on top of the worst loss.
    #[serde(default = "default_floor")]
    pub floor: f64,
    /// Correlation the venue's grid assumes, in instrument order (default:
    /// the market's `correlation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<Vec<Vec<f64>>>,
    /// Option books: Deribit's extended table for far out-of-the-money
    /// short options (moves −66 %, −33 %, +50 %, +100 % … +500 % with
    /// volatility up), this fraction of its worst loss counted. Deribit
    /// publishes the moves but not the fraction or its dampener; none by
    /// default (no extended table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_fraction: Option<f64>,
}

fn default_scan() -> f64 {
    0.16
}
fn default_buckets() -> usize {
    9
}
fn default_floor() -> f64 {
    0.01
}

impl Default for PortfolioMarginConfig {
    fn default() -> Self {
        Self {
            scan_range: default_scan(),
            buckets: default_buckets(),
            floor: default_floor(),
            correlation: None,
            extended_fraction: None,
        }
    }
}

impl Default for AccountConfig {
    /// 10,000 of capital, long, isolated, no re-entry, no reserve.
    fn default() -> Self {
        Self {
            capital: 10_000.0,
            side: Side::Long,
            margin_mode: MarginMode::Isolated,
            reenter: false,
            min_equity: None,
            reserve: 0.0,
            reserve_yield: 0.0,
            withdrawal_delay: None,
            transfer: None,
            latency: None,
            portfolio_margin: None,
            collateral: Vec::new(),
            seed: 0,
        }
    }
}

/// The delay between a policy's decision and its execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Latency {
    /// Always `value` (e.g. "5s", "2h").
    Constant {
        /// The delay.
        value: String,
    },
    /// Uniform between `min` and `max`.
    Uniform {
        /// Shortest delay.
        min: String,
        /// Longest delay.
        max: String,
    },
    /// Log-normal with this median and log-spread.
    Lognormal {
        /// Median delay.
        median: String,
        /// Standard deviation of ln(delay).
        sigma: f64,
    },
    /// Congestion: `base·(σ̂/sigma_ref)^elasticity`, σ̂ the realized
    /// volatility of the last day of closes (annual): busy markets are slow.
    Congestion {
        /// Delay at the reference volatility.
        base: String,
        /// Reference volatility (annual).
        sigma_ref: f64,
        /// How fast the delay grows with volatility.
        elasticity: f64,
    },
}

fn dur(field: &str, s: &str) -> Result<i64, EngineError> {
    match levsim_core::time::parse_duration(s) {
        Ok(ns) if ns >= 0 => Ok(ns),
        Ok(_) => Err(EngineError::config(field, "must not be negative")),
        Err(e) => Err(EngineError::config(field, e.to_string())),
    }
}

impl Latency {
    /// Checks the durations and parameters.
    pub fn validate(&self) -> Result<(), EngineError> {
        match self {
            Latency::Constant { value } => dur("account.latency.value", value).map(|_| ()),
            Latency::Uniform { min, max } => {
                let (a, b) = (
                    dur("account.latency.min", min)?,
                    dur("account.latency.max", max)?,
                );
                if b < a {
                    return Err(EngineError::config("account.latency.max", "must be ≥ min"));
                }
                Ok(())
            }
            Latency::Lognormal { median, sigma } => {
                dur("account.latency.median", median)?;
                if !(*sigma >= 0.0 && sigma.is_finite()) {
                    return Err(EngineError::config(
                        "account.latency.sigma",
                        format!("must be ≥ 0, got {sigma}"),
                    ));
                }
                Ok(())
            }
            Latency::Congestion {
                base,
                sigma_ref,
                elasticity,
            } => {
                dur("account.latency.base", base)?;
                if !(*sigma_ref > 0.0 && sigma_ref.is_finite()) {
                    return Err(EngineError::config(
                        "account.latency.sigma_ref",
                        format!("must be > 0, got {sigma_ref}"),
                    ));
                }
                if !(elasticity.is_finite() && *elasticity >= 0.0) {
                    return Err(EngineError::config(
                        "account.latency.elasticity",
                        format!("must be ≥ 0, got {elasticity}"),
                    ));
                }
                Ok(())
            }
        }
    }

    /// The distribution with its durations in ns, parsed once (a run
    /// draws from it at every decision).
    pub fn resolve(&self) -> LatencyNs {
        let d = |s: &str| levsim_core::time::parse_duration(s).unwrap_or(0) as f64;
        match self {
            Latency::Constant { value } => LatencyNs::Constant(d(value)),
            Latency::Uniform { min, max } => LatencyNs::Uniform(d(min), d(max)),
            Latency::Lognormal { median, sigma } => LatencyNs::Lognormal(d(median), *sigma),
            Latency::Congestion {
                base,
                sigma_ref,
                elasticity,
            } => LatencyNs::Congestion(d(base), *sigma_ref, *elasticity),
        }
    }
}

/// A [`Latency`] with its durations in ns (see [`Latency::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencyNs {
    /// Always this delay.
    Constant(f64),
    /// Uniform between the two.
    Uniform(f64, f64),
    /// Median and log-spread.
    Lognormal(f64, f64),
    /// Base delay, reference volatility, elasticity.
    Congestion(f64, f64, f64),
}

impl LatencyNs {
    /// One delay in ns; `u`, `z` are a uniform and a standard normal draw;
    /// `sigma_hat` gives the current realized volatility (annual), asked
    /// for only by the congestion model.
    pub fn draw(&self, u: f64, z: f64, sigma_hat: impl FnOnce() -> f64) -> i64 {
        let ns = match *self {
            LatencyNs::Constant(v) => v,
            LatencyNs::Uniform(a, b) => a + u * (b - a),
            LatencyNs::Lognormal(m, s) => m * (s * z).exp(),
            LatencyNs::Congestion(base, sigma_ref, elasticity) => {
                base * (sigma_hat().max(0.0) / sigma_ref).powf(elasticity)
            }
        };
        ns.clamp(0.0, 1e18) as i64
    }
}

impl AccountConfig {
    /// Checks the values; errors name the field (`account.capital`, …).
    pub fn validate(&self) -> Result<(), EngineError> {
        for (i, c) in self.collateral.iter().enumerate() {
            if !(c.amount.is_finite() && c.amount >= 0.0) {
                return Err(EngineError::config(
                    &format!("account.collateral[{i}].amount"),
                    format!("must be a finite amount ≥ 0, got {}", c.amount),
                ));
            }
            if !(0.0..1.0).contains(&c.haircut) {
                return Err(EngineError::config(
                    &format!("account.collateral[{i}].haircut"),
                    format!("must be in [0, 1), got {}", c.haircut),
                ));
            }
        }
        if !(self.capital.is_finite() && self.capital > 0.0) {
            return Err(EngineError::config(
                "account.capital",
                format!("must be a finite amount > 0, got {}", self.capital),
            ));
        }
        if let Some(m) = self.min_equity {
            if !(m.is_finite() && m > 0.0 && m <= self.capital) {
                return Err(EngineError::config(
                    "account.min_equity",
                    format!("must be in (0, capital], got {m}"),
                ));
            }
        }
        if !(self.reserve.is_finite() && self.reserve >= 0.0) {
            return Err(EngineError::config(
                "account.reserve",
                format!("must be a finite amount ≥ 0, got {}", self.reserve),
            ));
        }
        if !(self.reserve_yield.is_finite()
            && self.reserve_yield > -1.0
            && self.reserve_yield < 1.0)
        {
            return Err(EngineError::config(
                "account.reserve_yield",
                format!(
                    "must be an annual rate in (−1, 1), got {}",
                    self.reserve_yield
                ),
            ));
        }
        if let Some(w) = &self.withdrawal_delay {
            dur("account.withdrawal_delay", w)?;
        }
        if let Some(t) = &self.transfer {
            t.validate()?;
        }
        if let Some(l) = &self.latency {
            l.validate()?;
        }
        Ok(())
    }

    /// The withdrawal delay in ns (0 when absent).
    pub fn withdrawal_delay_ns(&self) -> i64 {
        self.withdrawal_delay
            .as_deref()
            .and_then(|w| levsim_core::time::parse_duration(w).ok())
            .unwrap_or(0)
    }

    /// The effective re-entry threshold.
    pub fn min_equity(&self) -> f64 {
        self.min_equity.unwrap_or(0.01 * self.capital)
    }
}

/// An isolated linear position with all of the account's cash as its margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Position {
    /// Isolated wallet balance: cash, realized PnL, fees and funding (quote).
    pub wallet: f64,
    /// Signed size in base units.
    pub qty: f64,
    /// Average entry price.
    pub entry: f64,
    /// Cached liquidation price (NaN when flat or none).
    pub liq: f64,
    /// Maintenance rate of the position's size at entry (for the margin
    /// utilization metric).
    pub mmr: f64,
}

impl Position {
    pub fn new(capital: f64) -> Self {
        Self {
            wallet: capital,
            qty: 0.0,
            entry: 0.0,
            liq: f64::NAN,
            mmr: 0.0,
        }
    }

    #[inline]
    pub fn equity(&self, price: f64) -> f64 {
        self.wallet + self.qty * (price - self.entry)
    }

    #[inline]
    pub fn is_open(&self) -> bool {
        self.qty != 0.0
    }

    /// Recomputes the cached liquidation price after any change of wallet,
    /// size or entry.
    pub fn refresh(&mut self, venue: &VenueProfile) {
        let n = self.qty.abs() * self.entry;
        self.mmr = if n > 0.0 {
            venue.margin.maintenance(n, self.qty.abs()) / n
        } else {
            0.0
        };
        self.liq = if self.qty == 0.0 {
            f64::NAN
        } else {
            let side = if self.qty > 0.0 {
                Side::Long
            } else {
                Side::Short
            };
            venue
                .margin
                .linear_liquidation_price(side, self.qty.abs(), self.entry, self.wallet)
                .unwrap_or(f64::NAN)
        };
    }

    /// True when the mark at `price` is at or beyond the liquidation price
    /// (equity ≤ maintenance margin).
    #[inline]
    pub fn crossed(&self, price: f64) -> bool {
        (self.qty > 0.0 && price <= self.liq) || (self.qty < 0.0 && price >= self.liq)
    }

    /// Bankruptcy price: where equity is zero.
    pub fn bankruptcy_price(&self) -> f64 {
        self.entry - self.wallet / self.qty
    }

    /// Trades to `target` (signed base units) at `price`, paying `fee_rate`
    /// on the traded notional. Returns the fee paid.
    pub fn trade_to(&mut self, target: f64, price: f64, fee_rate: f64) -> f64 {
        let delta = target - self.qty;
        if delta == 0.0 {
            return 0.0;
        }
        let fee = delta.abs() * price * fee_rate;
        self.wallet -= fee;
        if self.qty == 0.0 || self.qty.signum() == delta.signum() {
            // Adding: weighted average entry.
            self.entry = (self.qty * self.entry + delta * price) / target;
        } else {
            // Reducing (and possibly flipping): realize PnL on the closed part.
            let closed = delta.abs().min(self.qty.abs());
            self.wallet += closed * self.qty.signum() * (price - self.entry);
            if delta.abs() > self.qty.abs() {
                self.entry = price;
            }
        }
        self.qty = target;
        if self.qty == 0.0 {
            self.entry = 0.0;
        }
        fee
    }

    /// The signed size that gives effective leverage `lev` on `side` after
    /// paying the taker fee on the trade itself.
    pub fn qty_for_leverage(&self, side: Side, lev: f64, price: f64, fee_rate: f64) -> f64 {
        let e = self.equity(price);
        let q = self.qty.abs()
            * if self.qty * side.sign() >= 0.0 {
                1.0
            } else {
                -1.0
            };
        // Increasing: q'·p·(1 + L·f) = L·(E + f·q·p); decreasing: with −f.
        let up = lev * (e + fee_rate * q * price) / (price * (1.0 + lev * fee_rate));
        let target = if up >= q {
            up
        } else {
            lev * (e - fee_rate * q * price) / (price * (1.0 - lev * fee_rate))
        };
        side.sign() * target.max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizing_hits_the_target_leverage_after_fees() {
        let mut p = Position::new(10_000.0);
        let f = 0.0004;
        let q = p.qty_for_leverage(Side::Long, 10.0, 100.0, f);
        p.trade_to(q, 100.0, f);
        let lev = p.qty.abs() * 100.0 / p.equity(100.0);
        assert!((lev - 10.0).abs() < 1e-9, "{lev}");
        // Price falls, leverage rises; rebalance down to 10x.
        let q = p.qty_for_leverage(Side::Long, 10.0, 95.0, f);
        p.trade_to(q, 95.0, f);
        let lev = p.qty.abs() * 95.0 / p.equity(95.0);
        assert!((lev - 10.0).abs() < 1e-9, "{lev}");
        // Short side.
        let mut s = Position::new(1_000.0);
        let q = s.qty_for_leverage(Side::Short, 3.0, 50.0, f);
        s.trade_to(q, 50.0, f);
        assert!(s.qty < 0.0);
        assert!((s.qty.abs() * 50.0 / s.equity(50.0) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn reducing_realizes_pnl_and_keeps_equity() {
        let mut p = Position::new(1_000.0);
        p.trade_to(10.0, 100.0, 0.0);
        let e_before = p.equity(110.0);
        p.trade_to(4.0, 110.0, 0.0);
        assert!((p.wallet - 1_060.0).abs() < 1e-9);
        assert_eq!(p.entry, 100.0);
        assert!((p.equity(110.0) - e_before).abs() < 1e-9);
        p.trade_to(0.0, 90.0, 0.0);
        assert!((p.wallet - 1_020.0).abs() < 1e-9);
        assert!(!p.is_open());
    }

    #[test]
    fn latencies_resolve_once_and_draw_in_ns() {
        let min = 60e9;
        let c = Latency::Constant { value: "5m".into() }.resolve();
        assert_eq!(c.draw(0.3, 1.0, || unreachable!()), (5.0 * min) as i64);
        let u = Latency::Uniform {
            min: "1m".into(),
            max: "3m".into(),
        }
        .resolve();
        assert_eq!(u.draw(0.5, 0.0, || unreachable!()), (2.0 * min) as i64);
        let l = Latency::Lognormal {
            median: "10m".into(),
            sigma: 1.0,
        }
        .resolve();
        assert_eq!(l.draw(0.9, 0.0, || unreachable!()), (10.0 * min) as i64);
        // Only congestion asks for the volatility: twice the reference,
        // elasticity 2, four times the base.
        let g = Latency::Congestion {
            base: "10s".into(),
            sigma_ref: 0.5,
            elasticity: 2.0,
        }
        .resolve();
        assert_eq!(g.draw(0.0, 0.0, || 1.0), 40_000_000_000);
    }
}
