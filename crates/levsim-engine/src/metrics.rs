//! Per-run metrics, accumulated in the loop without storing the path.

use levsim_core::TimestampNs;
use serde::{Deserialize, Serialize};

use crate::venue::waterfall::Waterfall;
use crate::venue::InsuranceFund;

/// What one run produced. Money is in quote currency; percentages are in
/// percent (12.5 = 12.5 %).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    /// Equity at the end of the last bar.
    pub final_equity: f64,
    /// `(final_equity / capital − 1) · 100`.
    pub return_pct: f64,
    /// Largest fall of equity from its running peak, in percent of the peak,
    /// measured at every intrabar path point.
    pub max_drawdown_pct: f64,
    /// Liquidation events: a position the venue started liquidating, until
    /// it is closed or its owner trades it, however many orders that took.
    pub liquidations: u32,
    /// Liquidation orders (tranches): a Binance tier reduction or a
    /// Hyperliquid partial liquidation closes one event in several.
    #[serde(default)]
    pub liquidation_tranches: u32,
    /// Open time of the bar of the first liquidation (ns UTC).
    pub first_liquidation_ts: Option<TimestampNs>,
    /// Liquidation price of the first liquidation.
    pub liquidation_price: Option<f64>,
    /// All fees paid: trading fees plus liquidation clearance fees.
    pub fees: f64,
    /// Taker fees on opening, rebalancing and closing trades.
    pub trading_fees: f64,
    /// Liquidation clearance fees (to the insurance fund).
    pub liquidation_fees: f64,
    /// Net funding: received minus paid (negative when the account paid).
    pub funding: f64,
    /// Losses beyond the margin (the account keeps 0); who paid them is below.
    pub bad_debt: f64,
    /// Part of the bad debt paid by the insurance fund.
    pub bad_debt_insurance_fund: f64,
    /// Part closed against profitable counterparties by ADL.
    pub bad_debt_adl: f64,
    /// Part socialized over open interest (venues without ADL).
    pub bad_debt_socialized: f64,
    /// Insurance-fund balance at the end (starts at the venue's `insurance_fund`;
    /// receives clearance fees and seized margin, pays bad debt).
    pub insurance_fund_end: f64,
    /// Lowest insurance-fund balance during the run.
    pub insurance_fund_min: f64,
    /// Mean effective leverage over the bar closes with an open position.
    pub avg_leverage: f64,
    /// Share of bar closes with an open position, in percent.
    pub time_in_market_pct: f64,
    /// Trades executed (excluding liquidations).
    pub trades: u32,
    /// Policy decisions the venue refused (e.g. above the bracket's maximum leverage).
    pub refused_decisions: u32,
    /// Smallest distance from the mark at a bar close to the liquidation
    /// price, in percent of the mark (None if never in the market).
    pub min_distance_to_liquidation_pct: Option<f64>,
    /// Number of bars simulated.
    pub bars: u64,
    /// Notional of the subject's positions closed by the crowd's ADL
    /// (profitable positions taken to cover crowd deficits).
    #[serde(default)]
    pub adl_closed_notional: f64,
    /// Unrealized profit those closes forfeited.
    #[serde(default)]
    pub adl_forfeited: f64,
    /// Decisions that landed after the account was liquidated (latency).
    #[serde(default)]
    pub decisions_too_late: u32,
    /// Top-ups moved from the reserve into the margin.
    #[serde(default)]
    pub topups: u32,
    /// Collateral they moved (quote).
    #[serde(default)]
    pub topped_up: f64,
    /// Reserve at the end (quote, with its yield).
    #[serde(default)]
    pub reserve_end: f64,
    /// `(final equity + reserve) / (capital + initial reserve) − 1`, percent.
    #[serde(default)]
    pub return_on_committed_pct: f64,
    /// Annualized log growth of the committed capital,
    /// `ln((final equity + reserve) / committed) / years` (−∞ when wiped out
    /// is reported as NaN-free −1e9).
    #[serde(default)]
    pub log_growth: f64,
    /// Mean position notional per unit of committed capital, over bars.
    #[serde(default)]
    pub avg_exposure_per_committed: f64,
    /// Mean share of the account's money idle in the reserve, percent.
    #[serde(default)]
    pub idle_collateral_pct: f64,
    /// Mean maintenance margin / equity over bars in the market, percent.
    #[serde(default)]
    pub margin_utilization_pct: f64,
}

/// Running accumulators for [`RunMetrics`].
#[derive(Debug, Clone)]
pub(crate) struct MetricsAcc {
    pub capital: f64,
    pub peak: f64,
    pub max_dd: f64,
    /// Liquidation orders (tranches).
    pub tranches: u32,
    /// Liquidation events (see [`RunMetrics::liquidations`]).
    pub events: u32,
    pub first_liq_ts: Option<TimestampNs>,
    pub first_liq_price: Option<f64>,
    pub trading_fees: f64,
    pub liquidation_fees: f64,
    pub funding: f64,
    pub bad_debt: f64,
    pub fund: InsuranceFund,
    pub waterfall: Waterfall,
    pub lev_sum: f64,
    pub bars_in_market: u64,
    pub bars: u64,
    pub trades: u32,
    pub refused: u32,
    pub min_dist: f64,
    pub adl_closed_notional: f64,
    pub adl_forfeited: f64,
    pub too_late: u32,
    pub topups: u32,
    pub topped_up: f64,
    pub exposure_sum: f64,
    pub idle_sum: f64,
    pub util_sum: f64,
    pub reserve_end: f64,
    pub committed: f64,
    pub years: f64,
}

impl MetricsAcc {
    pub fn new(capital: f64, insurance_fund: f64) -> Self {
        Self {
            capital,
            peak: capital,
            max_dd: 0.0,
            tranches: 0,
            events: 0,
            first_liq_ts: None,
            first_liq_price: None,
            trading_fees: 0.0,
            liquidation_fees: 0.0,
            funding: 0.0,
            bad_debt: 0.0,
            fund: InsuranceFund::new(insurance_fund),
            waterfall: Waterfall::default(),
            lev_sum: 0.0,
            bars_in_market: 0,
            bars: 0,
            trades: 0,
            refused: 0,
            min_dist: f64::INFINITY,
            adl_closed_notional: 0.0,
            adl_forfeited: 0.0,
            too_late: 0,
            topups: 0,
            topped_up: 0.0,
            exposure_sum: 0.0,
            idle_sum: 0.0,
            util_sum: 0.0,
            reserve_end: 0.0,
            committed: capital,
            years: 0.0,
        }
    }

    /// Updates peak and drawdown with an equity observation.
    #[inline]
    pub fn mark_equity(&mut self, equity: f64) {
        // A plain compare-select (maxsd); `f64::max`'s NaN handling costs a
        // longer dependency chain, and equity is never NaN here.
        self.peak = if equity > self.peak {
            equity
        } else {
            self.peak
        };
        // Rarely true, so well predicted; the division happens only then
        // (a cold call: left inline, LLVM turns the branch into a select
        // and divides at every point).
        if self.peak - equity > self.max_dd * self.peak && self.peak > 0.0 {
            self.deeper(equity);
        }
    }

    /// A new maximum drawdown at `equity`.
    #[cold]
    #[inline(never)]
    fn deeper(&mut self, equity: f64) {
        self.max_dd = (self.peak - equity) / self.peak;
    }

    pub fn finish(&self, final_equity: f64) -> RunMetrics {
        RunMetrics {
            final_equity,
            return_pct: (final_equity / self.capital - 1.0) * 100.0,
            max_drawdown_pct: self.max_dd * 100.0,
            liquidations: self.events,
            liquidation_tranches: self.tranches,
            first_liquidation_ts: self.first_liq_ts,
            liquidation_price: self.first_liq_price,
            fees: self.trading_fees + self.liquidation_fees,
            trading_fees: self.trading_fees,
            liquidation_fees: self.liquidation_fees,
            funding: self.funding,
            bad_debt: self.bad_debt,
            bad_debt_insurance_fund: self.waterfall.insurance_fund,
            bad_debt_adl: self.waterfall.adl,
            bad_debt_socialized: self.waterfall.socialized + self.waterfall.unresolved,
            insurance_fund_end: self.fund.balance,
            insurance_fund_min: self.fund.min_balance,
            avg_leverage: if self.bars_in_market > 0 {
                self.lev_sum / self.bars_in_market as f64
            } else {
                0.0
            },
            time_in_market_pct: if self.bars > 0 {
                self.bars_in_market as f64 / self.bars as f64 * 100.0
            } else {
                0.0
            },
            trades: self.trades,
            refused_decisions: self.refused,
            min_distance_to_liquidation_pct: self
                .min_dist
                .is_finite()
                .then_some(self.min_dist * 100.0),
            bars: self.bars,
            adl_closed_notional: self.adl_closed_notional,
            adl_forfeited: self.adl_forfeited,
            decisions_too_late: self.too_late,
            topups: self.topups,
            topped_up: self.topped_up,
            reserve_end: self.reserve_end,
            return_on_committed_pct: ((final_equity + self.reserve_end) / self.committed - 1.0)
                * 100.0,
            log_growth: {
                let w = (final_equity + self.reserve_end) / self.committed;
                if w > 0.0 && self.years > 0.0 {
                    w.ln() / self.years
                } else if self.years > 0.0 {
                    -1e9
                } else {
                    0.0
                }
            },
            avg_exposure_per_committed: if self.bars > 0 {
                self.exposure_sum / self.committed / self.bars as f64
            } else {
                0.0
            },
            idle_collateral_pct: if self.bars > 0 {
                self.idle_sum / self.bars as f64 * 100.0
            } else {
                0.0
            },
            margin_utilization_pct: if self.bars_in_market > 0 {
                self.util_sum / self.bars_in_market as f64 * 100.0
            } else {
                0.0
            },
        }
    }
}
