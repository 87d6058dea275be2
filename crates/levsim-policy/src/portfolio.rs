//! Policies over a portfolio: what a trader of several instruments knows at
//! a decision point, what it may decide, and the built-ins that trade a
//! vector of weights.

use levsim_core::{Side, TimestampNs};

use crate::{Cadence, Decision, LeveragePolicy, Observation};

/// What a portfolio trader can know at a decision point. Borrowed from the
/// engine; every per-leg slice is indexed by instrument id (leg order).
#[derive(Debug, Clone, Copy)]
pub struct PortfolioObservation<'a> {
    /// Current time (ns UTC): the close of the bar just completed.
    pub ts: TimestampNs,
    /// Closes visible so far per leg (0 at the first bar's open, then the
    /// bar index + 1): [`PortfolioObservation::closes`] has this many.
    pub seen: usize,
    /// Bar length in years (365-day).
    pub bar_years: f64,
    /// Current mark of each leg.
    pub marks: &'a [f64],
    /// Signed position of each leg (base units; the USD face of the
    /// contracts for an inverse leg; 0 when flat).
    pub qty: &'a [f64],
    /// Signed notional of each leg at mark, in the account's settlement
    /// currency (quote; coin for an inverse leg).
    pub notional: &'a [f64],
    /// Average entry price of each leg (0 when flat).
    pub entry: &'a [f64],
    /// Delta of one unit of each leg in its underlying's units: 1 for a
    /// perpetual, the Black-76 delta for an option (on its underlying).
    pub delta: &'a [f64],
    /// Gamma of one unit of each leg, per unit of its underlying's price
    /// (per USD for a USD underlying): 0 for a perpetual.
    pub gamma: &'a [f64],
    /// Vega of one unit of each leg, in the settlement currency per
    /// volatility point (0.01): 0 for a perpetual.
    pub vega: &'a [f64],
    /// Implied volatility (annual) each option leg is marked at this bar;
    /// 0 for a perpetual.
    pub iv: &'a [f64],
    /// For each leg, the leg whose price its delta is on (itself for a
    /// perpetual, the underlying for an option).
    pub delta_leg: &'a [usize],
    /// Relative distance from each leg's mark to the price at which its
    /// margin bucket reaches maintenance with the other legs' marks held
    /// (NaN when flat or out of reach).
    pub liquidation_distance: &'a [f64],
    /// Account equity at mark (wallets + unrealized PnL), in the
    /// settlement currency.
    pub equity: f64,
    /// Maintenance requirement of the account at mark (sum over buckets).
    pub requirement: f64,
    /// Requirement / equity of the most loaded margin bucket (≥ 1 means
    /// liquidatable; 0 when flat).
    pub margin_ratio: f64,
    /// Collateral outside the account (quote), available for top-ups.
    pub reserve: f64,
    /// Liquidation orders so far in this run.
    pub liquidations: u32,
    /// Closes of every leg, instrument-major over the whole run: use
    /// [`PortfolioObservation::closes`], which stops at the current bar.
    pub close_columns: &'a [f64],
    /// Bars per leg in `close_columns`.
    pub bars: usize,
}

impl PortfolioObservation<'_> {
    /// Number of legs.
    pub fn legs(&self) -> usize {
        self.marks.len()
    }

    /// Closes of leg `k` from the start of the run up to and including the
    /// current bar (nothing from the future).
    pub fn closes(&self, k: usize) -> &[f64] {
        &self.close_columns[k * self.bars..k * self.bars + self.seen]
    }

    /// True when no leg is open.
    pub fn is_flat(&self) -> bool {
        self.qty.iter().all(|&q| q == 0.0)
    }

    /// Signed leverage of leg `k`: notional at mark / account equity.
    pub fn leg_leverage(&self, k: usize) -> f64 {
        if self.equity > 0.0 {
            self.notional[k] / self.equity
        } else {
            0.0
        }
    }

    /// Gross leverage: Σ |notional| / equity.
    pub fn gross_leverage(&self) -> f64 {
        (0..self.legs()).map(|k| self.leg_leverage(k).abs()).sum()
    }
}

/// What a portfolio policy wants. A target is written into the buffer the
/// engine hands over (one signed leverage per leg: notional / account
/// equity, negative for a short), so deciding allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PortfolioDecision {
    /// Do nothing.
    Hold,
    /// Trade every leg to the signed leverage written in the target buffer
    /// (NaN for a leg: keep it as it is).
    Target,
    /// Move this much quote collateral from the reserve into the account.
    TopUp(f64),
    /// Close every leg.
    Close,
}

/// A policy over a portfolio: one required method, called at every
/// decision point.
pub trait PortfolioPolicy {
    /// Decides given the observation; on [`PortfolioDecision::Target`] the
    /// per-leg signed leverages are in `target` (zeroed before the call).
    fn decide(&mut self, obs: &PortfolioObservation<'_>, target: &mut [f64]) -> PortfolioDecision;

    /// When the engine asks for a decision (default: at every bar close).
    fn cadence(&self) -> Cadence {
        Cadence::EveryBar
    }

    /// Clears internal state before a new run.
    fn reset(&mut self) {}
}

impl<P: PortfolioPolicy + ?Sized> PortfolioPolicy for Box<P> {
    fn decide(&mut self, obs: &PortfolioObservation<'_>, target: &mut [f64]) -> PortfolioDecision {
        (**self).decide(obs, target)
    }
    fn cadence(&self) -> Cadence {
        (**self).cadence()
    }
    fn reset(&mut self) {
        (**self).reset()
    }
}

impl crate::TopupRule {
    /// The top-up a portfolio observation calls for, if any: when the
    /// account's margin ratio (requirement / equity) passes `threshold`,
    /// enough of the reserve to bring it to `target`.
    pub fn decide_portfolio(&self, obs: &PortfolioObservation<'_>) -> Option<PortfolioDecision> {
        if obs.is_flat() || obs.reserve <= 0.0 || obs.margin_ratio <= self.threshold {
            return None;
        }
        Some(PortfolioDecision::TopUp(
            (obs.requirement / self.target - obs.equity).max(0.0),
        ))
    }
}

/// A portfolio policy with the [`crate::TopupRule`] on top (the
/// `topup_threshold` keys on a policy of any kind): the inner policy
/// decides at every bar, a due top-up takes the bar's place of its
/// decision.
pub struct PortfolioTopup<P> {
    /// The sizing policy.
    pub inner: P,
    /// The top-up rule.
    pub rule: crate::TopupRule,
}

impl<P: PortfolioPolicy> PortfolioPolicy for PortfolioTopup<P> {
    fn decide(&mut self, obs: &PortfolioObservation<'_>, target: &mut [f64]) -> PortfolioDecision {
        let d = self.inner.decide(obs, target);
        self.rule.decide_portfolio(obs).unwrap_or(d)
    }
    fn reset(&mut self) {
        self.inner.reset();
    }
}

/// Runs a single-instrument policy on leg 0 of a portfolio, unchanged: it
/// sees leg 0's mark, closes and position and the account's equity, and
/// its leverage becomes leg 0's (on `side`).
#[derive(Debug, Clone)]
pub struct OnFirstLeg<P> {
    /// The single-instrument policy.
    pub policy: P,
    /// The side it trades.
    pub side: Side,
}

impl<P: LeveragePolicy> PortfolioPolicy for OnFirstLeg<P> {
    fn decide(&mut self, obs: &PortfolioObservation<'_>, target: &mut [f64]) -> PortfolioDecision {
        let mark = obs.marks[0];
        let qty = obs.qty[0];
        let open = qty != 0.0;
        let d = obs.liquidation_distance[0];
        let o = Observation {
            ts: obs.ts,
            mark,
            closes: obs.closes(0),
            bar_years: obs.bar_years,
            side: self.side,
            equity: obs.equity,
            position_qty: qty,
            entry_price: obs.entry[0],
            leverage: if open {
                obs.notional[0].abs() / obs.equity
            } else {
                0.0
            },
            margin_ratio: obs.margin_ratio,
            liquidation_price: (open && d.is_finite()).then_some(mark * (1.0 - qty.signum() * d)),
            reserve: obs.reserve,
            pending: 0,
            liquidations: obs.liquidations,
        };
        match self.policy.decide(&o) {
            Decision::Hold => PortfolioDecision::Hold,
            Decision::Close => PortfolioDecision::Close,
            Decision::TopUp(x) => PortfolioDecision::TopUp(x),
            // A withdrawal has no portfolio form yet: held.
            Decision::Withdraw(_) => PortfolioDecision::Hold,
            Decision::TargetLeverage(l) => {
                target[0] = self.side.sign() * l;
                PortfolioDecision::Target
            }
        }
    }
    fn cadence(&self) -> Cadence {
        self.policy.cadence()
    }
    fn reset(&mut self) {
        self.policy.reset()
    }
}

/// How a weights policy sizes the whole portfolio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sizing {
    /// Open at this gross leverage (Σ |notional| / equity) and hold.
    Static(f64),
    /// Trade back to this gross leverage and the weights whenever a leg's
    /// leverage drifts more than `band` (relative) from its target.
    Rebalanced {
        /// Gross leverage.
        leverage: f64,
        /// Relative tolerance.
        band: f64,
    },
    /// Gross leverage `target_vol / σ̂_p`, σ̂_p the weights' volatility
    /// under an EWMA covariance of the legs' log returns, capped.
    VolTarget {
        /// Target annual volatility of the portfolio.
        target_vol: f64,
        /// Gross leverage cap.
        max_leverage: f64,
        /// Rebalancing band (relative).
        band: f64,
        /// EWMA half-life, hours.
        halflife_h: f64,
        /// σ of every leg before warm-up (annual).
        sigma_prior: f64,
    },
    /// Gross leverage `target_vol / σ̂_p` with `σ̂_p` a forecast of the
    /// book's volatility rather than its realized past ([`Forecast`]),
    /// capped.
    Forecast {
        /// Where the forecast comes from.
        source: Forecast,
        /// Target annual volatility of the portfolio.
        target_vol: f64,
        /// Gross leverage cap.
        max_leverage: f64,
        /// Rebalancing band (relative).
        band: f64,
        /// EWMA half-life of the realized covariance, hours.
        halflife_h: f64,
        /// σ of every leg before warm-up (annual).
        sigma_prior: f64,
    },
    /// The liquidation buffer on the portfolio's value: the gross leverage
    /// `liquidation_buffer` gives (F3 first-passage probability or F7
    /// distance) at the portfolio's volatility σ̂_p (EWMA covariance of the
    /// legs, as `VolTarget`), as if the weights were one long position.
    Buffer {
        /// F3 or F7.
        rule: crate::BufferRule,
        /// F3: tolerated probability of touching within the horizon.
        epsilon: f64,
        /// F7: distance in σ.
        k: f64,
        /// Horizon, hours.
        horizon_h: f64,
        /// Maintenance rate the rule assumes.
        mmr: f64,
        /// Gross leverage cap.
        max_leverage: f64,
        /// Rebalancing band (relative).
        band: f64,
        /// EWMA half-life, hours.
        halflife_h: f64,
        /// σ of every leg before warm-up (annual).
        sigma_prior: f64,
    },
}

/// Where a forecasting weights policy reads its volatility.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Forecast {
    /// The implied volatility of leg `leg` (an option priced at an index
    /// such as DVOL): the book's realized covariance rescaled by implied
    /// over realized volatility of that option's underlying (for a book
    /// of that underlying alone, the implied volatility itself).
    Implied {
        /// The option leg whose implied volatility is read.
        leg: usize,
    },
    /// A two-state regime filter ([`crate::regime::TwoStateHmm`]) fitted
    /// by EM to the book's returns over the last `window_h` hours, refitted
    /// every `refit_h` hours and run forward as a filter between fits; the
    /// forecast is the regime mixture's variance over the next day.
    Regime {
        /// Fit window, hours.
        window_h: f64,
        /// Hours between fits.
        refit_h: f64,
    },
}

/// `delta_hedge`: holds a book of options opened at `leverage` (gross, by
/// the underlying's notional) in proportion to `weights`, and trades the
/// `hedge` leg (a perpetual on the options' underlying) back to zero net
/// delta whenever the book's delta notional passes `band` × equity.
#[derive(Debug, Clone)]
pub struct DeltaHedged {
    weights: Vec<f64>,
    leverage: f64,
    hedge: usize,
    band: f64,
    opened: bool,
    /// Hours between hedge checks (0: every bar).
    every_h: f64,
    /// Hours from a hedge decision to its order (0: at once).
    latency_h: f64,
    /// A hedge decided and not yet sent: (bar count it is due at, hedge
    /// size in the hedge's units).
    pending: Option<(usize, f64)>,
}

impl DeltaHedged {
    /// The policy; `Err` when the weights have no size or `hedge` is out
    /// of range.
    pub fn new(weights: &[f64], leverage: f64, hedge: usize, band: f64) -> Result<Self, String> {
        let gross: f64 = weights.iter().map(|w| w.abs()).sum();
        if !(gross > 0.0 && gross.is_finite()) {
            return Err("the weights sum to zero in absolute value: nothing to trade".into());
        }
        if hedge >= weights.len() {
            return Err("the hedge instrument is not in the market".into());
        }
        Ok(Self {
            weights: weights.iter().map(|w| w / gross).collect(),
            leverage,
            hedge,
            band,
            opened: false,
            every_h: 0.0,
            latency_h: 0.0,
            pending: None,
        })
    }

    /// Hedge only every `every_h` hours (0: at every bar close), and send
    /// each hedge `latency_h` hours after it was decided (at the price
    /// then: the hedge trades on a stale delta). The opening trade is not
    /// delayed.
    pub fn with_timing(mut self, every_h: f64, latency_h: f64) -> Self {
        self.every_h = every_h;
        self.latency_h = latency_h;
        self
    }

    /// The book's net delta in the hedge's units (underlying units).
    fn net_delta(&self, obs: &PortfolioObservation<'_>) -> f64 {
        (0..obs.legs())
            .filter(|&k| obs.delta_leg[k] == self.hedge)
            .map(|k| obs.qty[k] * obs.delta[k])
            .sum()
    }
}

impl PortfolioPolicy for DeltaHedged {
    fn decide(&mut self, obs: &PortfolioObservation<'_>, target: &mut [f64]) -> PortfolioDecision {
        if obs.equity <= 0.0 {
            return PortfolioDecision::Hold;
        }
        let s = obs.marks[self.hedge];
        if obs.is_flat() && !self.opened {
            // Open the options; hedge their delta in the same trade.
            self.opened = true;
            let mut delta = 0.0;
            for (k, t) in target.iter_mut().enumerate() {
                if k == self.hedge {
                    continue;
                }
                *t = self.weights[k] * self.leverage;
                // Size from leverage (by the underlying's notional).
                let q = *t * obs.equity / s;
                if obs.delta_leg[k] == self.hedge {
                    delta += q * obs.delta[k];
                }
            }
            target[self.hedge] = -delta * s / obs.equity;
            return PortfolioDecision::Target;
        }
        if obs.is_flat() {
            self.pending = None;
            return PortfolioDecision::Hold;
        }
        let bars_per_h = 1.0 / (obs.bar_years * 365.0 * 24.0);
        // Only the hedge trades; the options stay as they are.
        let send = |units: f64, target: &mut [f64]| {
            for t in target.iter_mut() {
                *t = f64::NAN;
            }
            target[self.hedge] = units * s / obs.equity;
            PortfolioDecision::Target
        };
        if let Some((due, units)) = self.pending {
            if obs.seen >= due {
                self.pending = None;
                return send(units, target);
            }
            return PortfolioDecision::Hold;
        }
        let every = (self.every_h * bars_per_h).round().max(1.0) as usize;
        if obs.seen % every != 0 {
            return PortfolioDecision::Hold;
        }
        let net = self.net_delta(obs);
        if (net * s).abs() <= self.band * obs.equity {
            return PortfolioDecision::Hold;
        }
        let hedge_delta = obs.qty[self.hedge] * obs.delta[self.hedge];
        let units = -(net - hedge_delta);
        let latency = (self.latency_h * bars_per_h).round() as usize;
        if latency > 0 {
            self.pending = Some((obs.seen + latency, units));
            return PortfolioDecision::Hold;
        }
        send(units, target)
    }

    fn reset(&mut self) {
        self.opened = false;
        self.pending = None;
    }
}

/// The built-in portfolio policies: a vector of weights (signed: negative
/// is short; normalized so that Σ |w| = 1) sized by a [`Sizing`].
#[derive(Debug, Clone)]
pub struct WeightsPolicy {
    weights: Vec<f64>,
    sizing: Sizing,
    /// EWMA covariance of log returns per bar, row-major.
    cov: Vec<f64>,
    /// Bars seen by the estimate.
    seen: usize,
    /// Returns buffer (per leg).
    ret: Vec<f64>,
    /// Account-level top-ups from the reserve, if any.
    topup: Option<crate::TopupRule>,
    /// The regime filter: its fit and the state probabilities now.
    regime: Option<(crate::regime::TwoStateHmm, [f64; 2])>,
    /// Bar count (`seen`) at which the regime model is fitted again.
    refit_at: usize,
}

impl WeightsPolicy {
    /// A policy trading `weights` (any non-zero scale) with `sizing`.
    /// `Err` when the weights have no size or are not finite.
    pub fn new(weights: &[f64], sizing: Sizing) -> Result<Self, String> {
        let gross: f64 = weights.iter().map(|w| w.abs()).sum();
        if !(gross > 0.0 && gross.is_finite()) {
            return Err("the weights sum to zero in absolute value: nothing to trade".into());
        }
        let n = weights.len();
        Ok(Self {
            weights: weights.iter().map(|w| w / gross).collect(),
            sizing,
            cov: vec![0.0; n * n],
            seen: 0,
            ret: vec![0.0; n],
            topup: None,
            regime: None,
            refit_at: 0,
        })
    }

    /// The policy with account-level top-ups: when the account's margin
    /// ratio (requirement / equity) passes `rule.threshold`, enough of the
    /// reserve to bring it to `rule.target` (the decision of that bar).
    pub fn with_topup(mut self, rule: Option<crate::TopupRule>) -> Self {
        self.topup = rule;
        self
    }

    fn top_up(&self, obs: &PortfolioObservation<'_>) -> Option<PortfolioDecision> {
        self.topup?.decide_portfolio(obs)
    }

    /// The normalized weights (Σ |w| = 1).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    fn update_cov(&mut self, obs: &PortfolioObservation<'_>, halflife_h: f64) {
        let n = self.weights.len();
        if obs.seen < 2 {
            return;
        }
        for k in 0..n {
            let c = obs.closes(k);
            let (a, b) = (c[c.len() - 2], c[c.len() - 1]);
            self.ret[k] = if a > 0.0 && b > 0.0 {
                (b / a).ln()
            } else {
                0.0
            };
        }
        let bars_per_h = 1.0 / (obs.bar_years * 365.0 * 24.0);
        let lambda = 0.5f64.powf(1.0 / (halflife_h * bars_per_h).max(1e-9));
        for i in 0..n {
            for j in 0..n {
                let x = self.ret[i] * self.ret[j];
                let c = &mut self.cov[i * n + j];
                *c = if self.seen == 0 {
                    x
                } else {
                    lambda * *c + (1.0 - lambda) * x
                };
            }
        }
        self.seen += 1;
    }

    /// Annual volatility of the weights under the current estimate (the
    /// prior, uncorrelated, before a day of returns).
    fn portfolio_vol(&self, bar_years: f64, sigma_prior: f64) -> f64 {
        let n = self.weights.len();
        let warm = (1.0 / 365.0 / bar_years).ceil() as usize;
        if self.seen < warm.max(2) {
            let var: f64 = self.weights.iter().map(|w| w * w).sum::<f64>() * sigma_prior.powi(2);
            return var.sqrt();
        }
        let mut var = 0.0;
        for i in 0..n {
            for j in 0..n {
                var += self.weights[i] * self.weights[j] * self.cov[i * n + j];
            }
        }
        (var.max(0.0) / bar_years).sqrt()
    }

    /// The implied forecast (see [`Forecast::Implied`]).
    fn implied_vol(&self, obs: &PortfolioObservation<'_>, leg: usize, sigma_prior: f64) -> f64 {
        let iv = obs.iv[leg];
        let u = obs.delta_leg[leg];
        let n = self.weights.len();
        let realized_u = (self.cov[u * n + u].max(0.0) / obs.bar_years).sqrt();
        let warm = (1.0 / 365.0 / obs.bar_years).ceil() as usize;
        if self.seen < warm.max(2) || realized_u <= 0.0 {
            let w2: f64 = self.weights.iter().map(|w| w * w).sum();
            return iv * w2.sqrt();
        }
        self.portfolio_vol(obs.bar_years, sigma_prior) * iv / realized_u
    }

    /// The regime forecast (see [`Forecast::Regime`]): annual volatility
    /// of the book over the next day from the filter's state now; the
    /// prior until half a window of returns is there to fit.
    fn regime_vol(
        &mut self,
        obs: &PortfolioObservation<'_>,
        window_h: f64,
        refit_h: f64,
        sigma_prior: f64,
    ) -> f64 {
        let bars_per_h = 1.0 / (obs.bar_years * 365.0 * 24.0);
        let window = (window_h * bars_per_h).round().max(20.0) as usize;
        let refit = (refit_h * bars_per_h).round().max(1.0) as usize;
        let day = (24.0 * bars_per_h).round().max(1.0) as usize;
        let book_return = |t: usize| -> f64 {
            (0..self.weights.len())
                .map(|k| {
                    let c = obs.closes(k);
                    let (a, b) = (c[t - 1], c[t]);
                    if a > 0.0 && b > 0.0 {
                        self.weights[k] * (b / a).ln()
                    } else {
                        0.0
                    }
                })
                .sum()
        };
        let seen = obs.seen;
        if seen >= self.refit_at && seen > window / 2 {
            let from = seen.saturating_sub(window).max(1);
            let r: Vec<f64> = (from..seen).map(book_return).collect();
            self.regime = crate::regime::TwoStateHmm::fit(&r, 100);
            self.refit_at = seen + refit;
        } else if let Some((m, prob)) = self.regime.as_mut() {
            if seen >= 2 {
                *prob = m.filter(*prob, book_return(seen - 1));
            }
        }
        match &self.regime {
            Some((m, prob)) => (m.forecast_variance(*prob, day) / obs.bar_years).sqrt(),
            None => {
                let w2: f64 = self.weights.iter().map(|w| w * w).sum();
                sigma_prior * w2.sqrt()
            }
        }
    }

    fn write(&self, gross: f64, target: &mut [f64]) {
        for (t, w) in target.iter_mut().zip(&self.weights) {
            *t = w * gross;
        }
    }

    /// Gross leverage `target_vol / vol` (capped; the cap when `vol` is 0),
    /// traded to when flat or when a leg drifted out of `band`.
    fn size_to_vol(
        &mut self,
        obs: &PortfolioObservation<'_>,
        vol: f64,
        (target_vol, max_leverage, band): (f64, f64, f64),
        target: &mut [f64],
    ) -> PortfolioDecision {
        let gross = if vol > 0.0 {
            (target_vol / vol).min(max_leverage)
        } else {
            max_leverage
        };
        if obs.is_flat() || self.drifted(obs, gross, band) {
            self.write(gross, target);
            PortfolioDecision::Target
        } else {
            PortfolioDecision::Hold
        }
    }

    fn drifted(&self, obs: &PortfolioObservation<'_>, gross: f64, band: f64) -> bool {
        self.weights.iter().enumerate().any(|(k, w)| {
            let want = w * gross;
            let have = obs.leg_leverage(k);
            (have - want).abs() > band * want.abs().max(1e-12)
        })
    }
}

impl PortfolioPolicy for WeightsPolicy {
    fn decide(&mut self, obs: &PortfolioObservation<'_>, target: &mut [f64]) -> PortfolioDecision {
        let d = self.size(obs, target);
        match self.top_up(obs) {
            Some(t) => {
                target.iter_mut().for_each(|x| *x = 0.0);
                t
            }
            None => d,
        }
    }

    fn cadence(&self) -> Cadence {
        match self.sizing {
            Sizing::Static(_) if self.topup.is_none() => Cadence::WhenFlat,
            _ => Cadence::EveryBar,
        }
    }

    fn reset(&mut self) {
        self.cov.iter_mut().for_each(|c| *c = 0.0);
        self.seen = 0;
        self.regime = None;
        self.refit_at = 0;
    }
}

impl WeightsPolicy {
    fn size(&mut self, obs: &PortfolioObservation<'_>, target: &mut [f64]) -> PortfolioDecision {
        match self.sizing {
            Sizing::Static(l) => {
                if obs.is_flat() {
                    self.write(l, target);
                    PortfolioDecision::Target
                } else {
                    PortfolioDecision::Hold
                }
            }
            Sizing::Rebalanced { leverage, band } => {
                if obs.is_flat() || self.drifted(obs, leverage, band) {
                    self.write(leverage, target);
                    PortfolioDecision::Target
                } else {
                    PortfolioDecision::Hold
                }
            }
            Sizing::VolTarget {
                target_vol,
                max_leverage,
                band,
                halflife_h,
                sigma_prior,
            } => {
                self.update_cov(obs, halflife_h);
                let vol = self.portfolio_vol(obs.bar_years, sigma_prior);
                self.size_to_vol(obs, vol, (target_vol, max_leverage, band), target)
            }
            Sizing::Forecast {
                source,
                target_vol,
                max_leverage,
                band,
                halflife_h,
                sigma_prior,
            } => {
                self.update_cov(obs, halflife_h);
                let vol = match source {
                    Forecast::Implied { leg } => self.implied_vol(obs, leg, sigma_prior),
                    Forecast::Regime { window_h, refit_h } => {
                        self.regime_vol(obs, window_h, refit_h, sigma_prior)
                    }
                };
                self.size_to_vol(obs, vol, (target_vol, max_leverage, band), target)
            }
            Sizing::Buffer {
                rule,
                epsilon,
                k,
                horizon_h,
                mmr,
                max_leverage,
                band,
                halflife_h,
                sigma_prior,
            } => {
                self.update_cov(obs, halflife_h);
                let vol = self.portfolio_vol(obs.bar_years, sigma_prior);
                let buffer = crate::LiquidationBuffer {
                    rule,
                    epsilon,
                    k,
                    horizon_h,
                    mmr,
                    max_leverage,
                    band,
                    est: crate::Estimates::new(halflife_h, sigma_prior),
                };
                let gross = buffer.leverage_for(vol, Side::Long).max(0.0);
                if (obs.is_flat() && gross > 0.0)
                    || (!obs.is_flat() && self.drifted(obs, gross, band))
                {
                    self.write(gross, target);
                    PortfolioDecision::Target
                } else {
                    PortfolioDecision::Hold
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs<'a>(
        closes: &'a [f64],
        bars: usize,
        bar: usize,
        marks: &'a [f64],
        qty: &'a [f64],
        equity: f64,
    ) -> PortfolioObservation<'a> {
        let notional: &'a [f64] = Box::leak(
            qty.iter()
                .zip(marks)
                .map(|(q, m)| q * m)
                .collect::<Vec<f64>>()
                .into_boxed_slice(),
        );
        PortfolioObservation {
            ts: 0,
            seen: bar + 1,
            bar_years: 1.0 / (365.0 * 24.0),
            marks,
            qty,
            notional,
            entry: qty,
            delta: Box::leak(vec![1.0; qty.len()].into_boxed_slice()),
            gamma: Box::leak(vec![0.0; qty.len()].into_boxed_slice()),
            vega: Box::leak(vec![0.0; qty.len()].into_boxed_slice()),
            iv: Box::leak(vec![0.0; qty.len()].into_boxed_slice()),
            delta_leg: Box::leak((0..qty.len()).collect::<Vec<usize>>().into_boxed_slice()),
            liquidation_distance: qty,
            equity,
            requirement: 0.0,
            margin_ratio: 0.0,
            reserve: 0.0,
            liquidations: 0,
            close_columns: closes,
            bars,
        }
    }

    #[test]
    fn static_weights_open_once_at_the_gross_leverage() {
        let mut p = WeightsPolicy::new(&[3.0, -1.0], Sizing::Static(4.0)).unwrap();
        let closes = [100.0, 50.0];
        let mut t = [0.0; 2];
        let o = obs(&closes, 1, 0, &[100.0, 50.0], &[0.0, 0.0], 1_000.0);
        assert_eq!(p.decide(&o, &mut t), PortfolioDecision::Target);
        assert_eq!(t, [3.0, -1.0]);
        let o = obs(&closes, 1, 0, &[100.0, 50.0], &[30.0, -20.0], 1_000.0);
        assert_eq!(p.decide(&o, &mut t), PortfolioDecision::Hold);
        assert_eq!(p.cadence(), Cadence::WhenFlat);
        assert!(WeightsPolicy::new(&[0.0, 0.0], Sizing::Static(1.0)).is_err());
    }

    #[test]
    fn rebalancing_waits_for_the_band() {
        let mut p = WeightsPolicy::new(
            &[0.5, 0.5],
            Sizing::Rebalanced {
                leverage: 2.0,
                band: 0.1,
            },
        )
        .unwrap();
        let closes = [100.0, 100.0];
        let mut t = [0.0; 2];
        // 1.05x per leg against 1x: inside 10 %.
        let o = obs(&closes, 1, 0, &[100.0, 100.0], &[10.5, 10.0], 1_000.0);
        assert_eq!(p.decide(&o, &mut t), PortfolioDecision::Hold);
        let o = obs(&closes, 1, 0, &[100.0, 100.0], &[12.0, 10.0], 1_000.0);
        assert_eq!(p.decide(&o, &mut t), PortfolioDecision::Target);
        assert_eq!(t, [1.0, 1.0]);
    }

    #[test]
    fn topups_come_from_the_account_ratio() {
        let rule = crate::TopupRule {
            threshold: 0.5,
            target: 0.2,
        };
        let mut p = WeightsPolicy::new(&[1.0, 1.0], Sizing::Static(3.0))
            .unwrap()
            .with_topup(Some(rule));
        assert_eq!(p.cadence(), Cadence::EveryBar);
        let closes = [100.0, 50.0];
        let mut t = [0.0; 2];
        let mut o = obs(&closes, 1, 0, &[100.0, 50.0], &[10.0, 20.0], 1_000.0);
        o.reserve = 5_000.0;
        o.requirement = 600.0;
        o.margin_ratio = 0.6;
        // 600 / (1,000 + x) = 0.2 ⇒ x = 2,000.
        assert_eq!(p.decide(&o, &mut t), PortfolioDecision::TopUp(2_000.0));
        o.margin_ratio = 0.4;
        assert_eq!(p.decide(&o, &mut t), PortfolioDecision::Hold);
    }

    #[test]
    fn the_portfolio_buffer_is_the_single_rule_at_the_portfolio_vol() {
        // Before warm-up σ̂_p is the prior over the weights (0.8 / √2 for
        // two equal uncorrelated legs): the F7 leverage at that σ.
        let (k, h, m) = (3.0, 24.0, 0.005);
        let mut p = WeightsPolicy::new(
            &[1.0, 1.0],
            Sizing::Buffer {
                rule: crate::BufferRule::Distance,
                epsilon: 0.01,
                k,
                horizon_h: h,
                mmr: m,
                max_leverage: 50.0,
                band: 0.1,
                halflife_h: 24.0,
                sigma_prior: 0.8,
            },
        )
        .unwrap();
        let closes = [100.0, 50.0];
        let mut t = [0.0; 2];
        let o = obs(&closes, 1, 0, &[100.0, 50.0], &[0.0, 0.0], 1_000.0);
        assert_eq!(p.decide(&o, &mut t), PortfolioDecision::Target);
        let sigma = 0.8 / 2f64.sqrt();
        let want = crate::estimate::distance_leverage(k, sigma, h / 8760.0, m, true);
        assert!((t[0] + t[1] - want).abs() < 1e-12, "{t:?} vs {want}");
    }

    #[test]
    fn the_delta_hedge_trades_the_hedge_leg_back_to_zero_delta() {
        // Leg 0 the perpetual, leg 1 a short call with delta 0.5.
        let mut p = DeltaHedged::new(&[0.0, -1.0], 2.0, 0, 0.05).unwrap();
        let closes = [100.0, 5.0];
        let mut t = [0.0; 2];
        let mut o = obs(&closes, 1, 0, &[100.0, 5.0], &[0.0, 0.0], 1_000.0);
        let delta = [1.0, 0.5];
        let legs = [0usize, 0];
        o.delta = &delta;
        o.delta_leg = &legs;
        assert_eq!(p.decide(&o, &mut t), PortfolioDecision::Target);
        // 2x short calls (20 calls by the underlying's notional), delta −10
        // units: the hedge buys 10 units, 1x.
        assert_eq!(t, [1.0, -2.0]);
        // Hedged and inside the band: hold; the delta moves: re-hedge.
        let qty = [10.0, -20.0];
        let mut o = obs(&closes, 1, 0, &[100.0, 5.0], &qty, 1_000.0);
        o.delta = &delta;
        o.delta_leg = &legs;
        assert_eq!(p.decide(&o, &mut t), PortfolioDecision::Hold);
        let delta = [1.0, 0.7];
        o.delta = &delta;
        let mut t = [0.0; 2];
        assert_eq!(p.decide(&o, &mut t), PortfolioDecision::Target);
        assert!((t[0] - 14.0 * 100.0 / 1_000.0).abs() < 1e-12, "{t:?}");
        assert!(t[1].is_nan(), "the options are kept");
    }

    /// Hedging every 4 hours checks only at those bars; a 2-hour latency
    /// sends the hedge decided on the stale delta two bars later, priced
    /// then.
    #[test]
    fn the_delta_hedge_keeps_its_cadence_and_latency() {
        let mut p = DeltaHedged::new(&[0.0, -1.0], 2.0, 0, 0.05)
            .unwrap()
            .with_timing(4.0, 2.0);
        let closes = vec![100.0; 40];
        let (delta, legs) = ([1.0, 0.7], [0usize, 0]);
        let qty = [10.0, -20.0];
        let at = |bar: usize, mark: f64| {
            let marks: &'static [f64] = Box::leak(vec![mark, 5.0].into_boxed_slice());
            let mut o = obs(&closes, 20, bar, marks, &qty, 1_000.0);
            o.delta = &delta;
            o.delta_leg = &legs;
            o
        };
        let mut t = [0.0; 2];
        // seen = bar + 1: bar 2 is not a check (seen 3), bar 3 is (seen 4).
        assert_eq!(p.decide(&at(2, 100.0), &mut t), PortfolioDecision::Hold);
        assert_eq!(p.decide(&at(3, 100.0), &mut t), PortfolioDecision::Hold);
        assert_eq!(p.decide(&at(4, 100.0), &mut t), PortfolioDecision::Hold);
        // Due two bars after the decision, at that bar's price: 14 units.
        assert_eq!(p.decide(&at(5, 110.0), &mut t), PortfolioDecision::Target);
        assert!((t[0] - 14.0 * 110.0 / 1_000.0).abs() < 1e-12, "{t:?}");
        assert!(t[1].is_nan());
    }

    #[test]
    fn vol_target_sees_the_hedge() {
        // Two legs that move together: long/short is a hedge, long/long is not.
        let n = 400;
        let mut cols = vec![0.0; 2 * n];
        let mut x = 100.0;
        for i in 0..n {
            x *= if i % 2 == 0 { 1.01 } else { 0.99 };
            cols[i] = x;
            cols[n + i] = x * 2.0;
        }
        let sizing = Sizing::VolTarget {
            target_vol: 0.5,
            max_leverage: 100.0,
            band: 0.0,
            halflife_h: 24.0,
            sigma_prior: 0.8,
        };
        let mut same = WeightsPolicy::new(&[0.5, 0.5], sizing).unwrap();
        let mut hedge = WeightsPolicy::new(&[0.5, -0.5], sizing).unwrap();
        let (mut a, mut b) = ([0.0; 2], [0.0; 2]);
        for i in 0..n {
            let marks = [cols[i], cols[n + i]];
            let o = obs(&cols, n, i, &marks, &[0.0, 0.0], 1_000.0);
            same.decide(&o, &mut a);
            hedge.decide(&o, &mut b);
        }
        // Perfectly correlated legs: the hedge has no variance and goes to
        // the cap; the same-direction pair is sized by the common vol.
        assert_eq!(b[0], 50.0);
        assert!(a[0] < 1.0, "{a:?}");
    }

    /// The implied forecast sizes a book of the option's underlying at
    /// `target / IV` (before warm-up, and after it when realized and
    /// implied agree up to the rescaling): doubling the implied volatility
    /// halves the leverage at once, whatever the past returns said.
    #[test]
    fn the_implied_forecast_sizes_on_the_option_volatility() {
        let sizing = |leg| Sizing::Forecast {
            source: Forecast::Implied { leg },
            target_vol: 0.6,
            max_leverage: 100.0,
            band: 0.0,
            halflife_h: 72.0,
            sigma_prior: 0.8,
        };
        let n = 200;
        let mut cols = vec![0.0; 2 * n];
        let mut x = 100.0;
        for i in 0..n {
            x *= if i % 2 == 0 { 1.004 } else { 0.996 };
            cols[i] = x;
            cols[n + i] = 5.0;
        }
        let mut p = WeightsPolicy::new(&[1.0, 0.0], sizing(1)).unwrap();
        let mut t = [0.0; 2];
        let mut last = 0.0;
        for i in 0..n {
            let marks = [cols[i], 5.0];
            let iv = if i < 150 { 0.6 } else { 1.2 };
            let ivs = [0.0, iv];
            let o = PortfolioObservation {
                iv: &ivs,
                delta_leg: &[0, 0],
                ..obs(&cols, n, i, &marks, &[0.0, 0.0], 1_000.0)
            };
            p.decide(&o, &mut t);
            if i == 10 {
                // Before a day of returns: target / IV.
                assert!((t[0] - 1.0).abs() < 1e-12, "{t:?}");
            }
            if i == 149 {
                last = t[0];
            }
        }
        assert!(
            (t[0] - 0.5 * last).abs() < 1e-9 * last,
            "{} vs {last}",
            t[0]
        );
    }

    /// De-levering before realized volatility arrives: a month of calm
    /// returns with two short storms, then the first bars of a third; the
    /// regime filter moves its
    /// weight to the stressed state within those bars and sizes the book
    /// smaller than the EWMA of realized volatility (72 h half-life) does.
    #[test]
    fn the_regime_filter_delevers_before_the_ewma() {
        let calm = 720;
        let n = calm + 6;
        let mut cols = vec![0.0; n];
        let mut x = 100.0;
        for (i, c) in cols.iter_mut().enumerate() {
            // ±0.5 % a bar in calm (about 47 % a year), ±3 % in a storm:
            // two half-day storms in the month the filter learns from, and
            // the one that starts at its end.
            let storm = (200..212).contains(&i) || (400..412).contains(&i) || i >= calm;
            let step = if storm { 0.03 } else { 0.005 };
            x *= if i % 2 == 0 { 1.0 + step } else { 1.0 - step };
            *c = x;
        }
        let common = |source| Sizing::Forecast {
            source,
            target_vol: 0.5,
            max_leverage: 100.0,
            band: 0.0,
            halflife_h: 72.0,
            sigma_prior: 0.8,
        };
        let mut regime = WeightsPolicy::new(
            &[1.0],
            common(Forecast::Regime {
                window_h: 720.0,
                refit_h: 24.0,
            }),
        )
        .unwrap();
        let mut ewma = WeightsPolicy::new(
            &[1.0],
            Sizing::VolTarget {
                target_vol: 0.5,
                max_leverage: 100.0,
                band: 0.0,
                halflife_h: 72.0,
                sigma_prior: 0.8,
            },
        )
        .unwrap();
        let (mut a, mut b) = ([0.0], [0.0]);
        let (mut before, mut before_ewma) = (0.0, 0.0);
        for i in 0..n {
            let marks = [cols[i]];
            let o = PortfolioObservation {
                delta_leg: &[0],
                ..obs(&cols, n, i, &marks, &[0.0], 1_000.0)
            };
            regime.decide(&o, &mut a);
            ewma.decide(&o, &mut b);
            if i == calm - 1 {
                before = a[0];
                before_ewma = b[0];
            }
        }
        // Six bars into the storm the filter has cut the book by more than
        // half and by far more than the EWMA has.
        let (cut, cut_ewma) = (a[0] / before, b[0] / before_ewma);
        assert!(cut < 0.5, "{cut}");
        assert!(cut < 0.6 * cut_ewma, "regime {cut} vs ewma {cut_ewma}");
    }
}
