//! The simulation loop for one subject account on one market path.

use levsim_core::{CheckedTape, FundingSeries, LiquidationEvent, MarketTape, Side, TimestampNs};
use levsim_core::{ContractKind, Fill, FillReason};
use levsim_policy::{Cadence, Decision, LeveragePolicy, Observation};

use crate::account::{AccountConfig, Position};
use crate::liquidity::{LiquidityModel, NoImpact};
use crate::metrics::MetricsAcc;
use crate::venue::{waterfall, LiquidationMode, MarginModel, MarginModelAny, VenueProfile};
use crate::{intrabar_path, BarState, EngineError, Observer, RunMetrics};

/// The market a run replays: bars and, optionally, funding events and a
/// crowd's ADL events.
///
/// Built on a [`CheckedTape`] ([`Market::of_checked`]) whose bars all keep
/// their open and close inside [low, high], quiet stretches test a
/// chunk's range from the lows and highs alone (three columns read instead
/// of four; the results are the same bits). The fields are private so that
/// what the check found cannot be paired with another tape.
#[derive(Debug, Clone, Copy)]
pub struct Market<'a> {
    tape: &'a MarketTape,
    funding: Option<&'a FundingSeries>,
    adl: &'a [crate::crowd::AdlEvent],
    ordered: bool,
    span_ns: Option<i64>,
}

impl<'a> Market<'a> {
    /// A market of these bars, without funding or ADL events.
    pub fn new(tape: &'a MarketTape) -> Self {
        Market {
            tape,
            funding: None,
            adl: &[],
            ordered: false,
            span_ns: None,
        }
    }

    /// A market of checked bars (see [`Market`]).
    pub fn of_checked(tape: &'a CheckedTape) -> Self {
        Market {
            ordered: tape.ordered(),
            ..Market::new(tape)
        }
    }

    /// With funding events (ignored when the venue has funding off).
    pub fn with_funding(self, funding: Option<&'a FundingSeries>) -> Self {
        Market { funding, ..self }
    }

    /// With the ADL events of a crowd market pass, in time order: at each,
    /// a profitable subject position on that side ranked at or above the
    /// cutoff is closed, giving up its profit.
    pub fn with_adl(self, adl: &'a [crate::crowd::AdlEvent]) -> Self {
        Market { adl, ..self }
    }

    /// Covering `span_ns` of time when its bars differ in length (None:
    /// bars × `interval_ns`, the default): annualized metrics (log growth)
    /// divide by it.
    pub fn spanning(self, span_ns: Option<i64>) -> Self {
        Market { span_ns, ..self }
    }

    /// The price bars (the mark path).
    pub fn tape(&self) -> &'a MarketTape {
        self.tape
    }

    /// The funding events, if any.
    pub fn funding(&self) -> Option<&'a FundingSeries> {
        self.funding
    }

    /// The ADL events (empty: none).
    pub fn adl(&self) -> &'a [crate::crowd::AdlEvent] {
        self.adl
    }
}

/// Nanoseconds in a 365-day year (annualised rates and metrics).
const YEAR_NS: f64 = 365.0 * 86_400e9;

/// What a run returns: its metrics and every liquidation.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    /// Summary metrics.
    pub metrics: RunMetrics,
    /// Liquidations in time order.
    pub liquidations: Vec<LiquidationEvent>,
}

struct Ctx<'a, P, O, L> {
    venue: &'a VenueProfile,
    liq: &'a mut L,
    account: &'a AccountConfig,
    policy: &'a mut P,
    obs: &'a mut O,
    pos: Position,
    acc: MetricsAcc,
    liqs: Vec<LiquidationEvent>,
    stopped: bool,
    /// Time of the last partial liquidation (for cooldowns).
    last_partial: Option<TimestampNs>,
    /// Set while a liquidation must close the whole position.
    force_full: bool,
    /// Set after a partial liquidation tranche until the position is closed
    /// or traded: the next tranche belongs to the same liquidation event.
    in_liquidation: bool,
    /// Bar length in years.
    bar_years: f64,
    /// Collateral outside the position.
    reserve: f64,
    /// Bar length, ns.
    bar_ns: i64,
    /// Decisions waiting for their latency: (due, decision, liquidation orders
    /// when decided).
    pending: std::collections::VecDeque<(TimestampNs, Decision, u32)>,
    /// Draws of the decision latency.
    rng: rand_pcg::Pcg64Mcg,
    /// The decision latency, parsed once.
    latency: Option<crate::account::LatencyNs>,
    /// The withdrawal delay, ns.
    withdrawal_ns: i64,
}

/// Runs one policy over one market under one venue's rules.
///
/// Per bar, in order:
/// 1. **Funding** events with time ≤ the bar's open are paid at the open
///    price on the position's notional (`qty · open · rate`; longs pay a
///    positive rate).
/// 2. **Open**: if the open is at or beyond the liquidation price (the price
///    gapped through it between bars, or funding moved the liquidation
///    price past it), the position is liquidated at the open price.
/// 3. **Intrabar path** `L, H, C` (up bar) or `H, L, C` (down bar): the
///    first point at or beyond the liquidation price liquidates the position
///    **at the liquidation price** (the price moved through it continuously).
/// 4. **Close**: metrics, then the observer, then the policy decides and its
///    trade fills at the close with the taker fee. After a liquidation the
///    account reopens here only when `reenter = true` and its equity is at
///    least `min_equity`.
///
/// A liquidation closes the whole position. The clearance fee
/// (`liquidation_fee · qty · fill`) goes to the insurance fund, capped at the
/// equity left; a fill beyond the bankruptcy price leaves bad debt, which the
/// insurance fund pays, and the account keeps zero.
pub fn simulate<P: LeveragePolicy, O: Observer>(
    market: Market<'_>,
    venue: &VenueProfile,
    account: &AccountConfig,
    policy: &mut P,
    observer: &mut O,
) -> Result<RunOutput, EngineError> {
    simulate_with(market, venue, account, policy, &mut NoImpact, observer)
}

/// [`simulate`] with every order filled through a liquidity model: trades
/// and liquidations execute at the model's VWAP (what finds no liquidity
/// fills at the last price reached), and the impact the account's own
/// orders leave is part of the mark (`mark = price · (1 + impact)`, decaying
/// with the model's half-life) that the trigger, funding and equity use.
pub fn simulate_with<P: LeveragePolicy, L: LiquidityModel, O: Observer>(
    market: Market<'_>,
    venue: &VenueProfile,
    account: &AccountConfig,
    policy: &mut P,
    liquidity: &mut L,
    observer: &mut O,
) -> Result<RunOutput, EngineError> {
    account.validate()?;
    if !account.collateral.is_empty() {
        return Err(EngineError::config(
            "account.collateral",
            "collateral in other assets backs a cross or portfolio account of a market of instruments ([[market.instrument]]), whose marks value it",
        ));
    }
    if venue.contract != ContractKind::Linear {
        return Err(EngineError::config(
            "venue.profile",
            format!(
                "{} settles inverse (coin-margined) contracts; the simulation loop runs linear \
                 contracts for now (`levsim margin` covers inverse positions)",
                venue.name
            ),
        ));
    }
    let tape = market.tape;
    let n = tape.len();
    if n == 0 {
        return Err(EngineError::EmptyMarket);
    }
    policy.reset();
    liquidity.reset();
    let funding = market.funding.filter(|_| venue.funding);
    let mut fi = funding.map_or(0, |f| f.ts.partition_point(|&t| t < tape.ts[0]));
    let every_bar = policy.cadence() == Cadence::EveryBar;
    let mut cx = Ctx {
        venue,
        liq: liquidity,
        account,
        policy,
        obs: observer,
        pos: Position::new(account.capital),
        acc: MetricsAcc::new(account.capital, venue.insurance_fund),
        liqs: Vec::new(),
        stopped: false,
        last_partial: None,
        force_full: false,
        in_liquidation: false,
        bar_years: tape.interval_ns as f64 / YEAR_NS,
        reserve: account.reserve,
        bar_ns: tape.interval_ns,
        pending: std::collections::VecDeque::new(),
        rng: rand::SeedableRng::seed_from_u64(account.seed),
        latency: account.latency.as_ref().map(crate::Latency::resolve),
        withdrawal_ns: account.withdrawal_delay_ns(),
    };
    cx.acc.committed = account.capital + account.reserve;
    cx.acc.reserve_end = account.reserve;
    cx.acc.years = match market.span_ns {
        Some(ns) => ns as f64 / YEAR_NS,
        None => n as f64 * cx.bar_years,
    };
    // Latency, a reserve or a withdrawal delay make every bar matter.
    let lean_ok = cx.latency.is_none() && account.reserve == 0.0 && cx.withdrawal_ns == 0;

    let adl = market.adl;
    let mut ai = adl.partition_point(|e| e.ts < tape.ts[0]);
    let mut i = 0;
    while i < n {
        if cx.stopped
            && !cx.pos.is_open()
            && cx.pending.is_empty()
            && cx.reserve == 0.0
            && !cx.obs.records_bars()
        {
            // Flat for good, nothing on its way and nobody watching: the
            // rest of the bars only count (as `close_bar` counts a flat bar).
            cx.acc.bars += (n - i) as u64;
            break;
        }
        if i > 0 && lean_ok && !every_bar && cx.pos.is_open() && cx.liq.impact(tape.ts[i]) == 0.0 {
            // Up to the next funding time nothing but the price can change
            // this position: run those bars on the lean path.
            let to = match funding {
                Some(f) if fi < f.ts.len() => i + tape.ts[i..].partition_point(|&t| t < f.ts[fi]),
                Some(_) | None => n,
            };
            // Nor past the bar of the next crowd ADL event.
            let to = match adl.get(ai) {
                Some(e) => to.min(tape.ts.partition_point(|&t| t + tape.interval_ns <= e.ts)),
                None => to,
            };
            i = if market.ordered {
                quiet_bars::<_, true>(tape, i, to, &cx.pos, cx.venue, &mut cx.acc, &mut *cx.obs)
            } else {
                quiet_bars::<_, false>(tape, i, to, &cx.pos, cx.venue, &mut cx.acc, &mut *cx.obs)
            };
            if i == n {
                break;
            }
        }
        let ts = tape.ts[i];
        // The mark: the exogenous price moved by the impact of our own orders.
        let open = tape.open[i] * (1.0 + cx.liq.impact(ts));
        // Decisions whose latency has run out land at this bar's open.
        while cx.pending.front().is_some_and(|p| p.0 <= ts) {
            if let Some((_, d, liqs)) = cx.pending.pop_front() {
                if cx.acc.tranches > liqs && !matches!(d, Decision::Hold) {
                    // The account was liquidated while the decision travelled.
                    cx.acc.too_late += 1;
                    continue;
                }
                cx.apply(ts, open, d);
            }
        }
        if let Some(f) = funding {
            while fi < f.ts.len() && f.ts[fi] <= ts {
                if cx.pos.is_open() {
                    let pay = cx.pos.qty * open * f.rate[fi];
                    cx.pos.wallet -= pay;
                    cx.acc.funding -= pay;
                    cx.pos.refresh(venue);
                }
                fi += 1;
            }
        }
        if i == 0 {
            cx.decide(ts, open, &tape.close[..0]);
        } else if cx.pos.is_open() {
            if cx.pos.crossed(open) {
                cx.liquidate(ts, ts, open, true);
            } else {
                cx.acc.mark_equity(cx.pos.equity(open));
            }
        }
        if cx.pos.is_open() {
            let path = intrabar_path(tape.open[i], tape.high[i], tape.low[i], tape.close[i]);
            for (k, p) in path.into_iter().enumerate() {
                // Path points are a third of a bar apart (for cooldowns).
                let at = ts + (k as i64 + 1) * tape.interval_ns / 3;
                // On the way to the point the mark crosses each liquidation
                // price in turn: after a partial one the rest has a new,
                // further one the point may also be beyond, and the forced
                // order's own impact has moved the mark, so both are read
                // again.
                let raw = p;
                let mark = |liq: &L| raw * (1.0 + liq.impact(at));
                while cx.pos.is_open() && cx.pos.crossed(mark(cx.liq)) {
                    let lp = cx.pos.liq;
                    cx.liquidate(ts, at, lp, false);
                }
                if !cx.pos.is_open() {
                    break;
                }
                cx.acc.mark_equity(cx.pos.equity(mark(cx.liq)));
            }
        }
        let close = tape.close[i] * (1.0 + cx.liq.impact(ts + tape.interval_ns));
        // Crowd ADL events in this bar, applied at its close: a profitable
        // position on the deleveraged side ranked at or above the cutoff
        // (PnL % × leverage) is closed at its entry price, giving up its
        // profit to cover the crowd's deficits.
        while ai < adl.len() && adl[ai].ts < ts + tape.interval_ns {
            let e = adl[ai];
            ai += 1;
            let p = &cx.pos;
            if !p.is_open() || (p.qty > 0.0) != (e.side > 0) {
                continue;
            }
            let pnl = p.qty * (close - p.entry);
            if pnl <= 0.0 || p.wallet <= 0.0 {
                continue;
            }
            let score = pnl / p.wallet * (p.qty.abs() * close / (p.wallet + pnl));
            if score >= e.cutoff {
                cx.acc.adl_closed_notional += p.qty.abs() * close;
                cx.acc.adl_forfeited += pnl;
                cx.pos.qty = 0.0;
                cx.pos.entry = 0.0;
                cx.pos.refresh(venue);
                // Like a liquidation: back in only if the account re-enters.
                if !account.reenter {
                    cx.stopped = true;
                }
            }
        }
        cx.close_bar(ts, tape.close[i], close);
        if i + 1 < n && !cx.stopped {
            if cx.pos.is_open() {
                if every_bar {
                    cx.decide(ts, close, &tape.close[..=i]);
                }
            } else if cx.pos.equity(close) >= account.min_equity() {
                cx.decide(ts, close, &tape.close[..=i]);
            } else {
                cx.stopped = true;
            }
        }
        i += 1;
    }
    // Final equity at the final mark (the close moved by any impact left).
    let last_mark = tape.close[n - 1] * (1.0 + cx.liq.impact(tape.ts[n - 1] + tape.interval_ns));
    let final_equity = cx.pos.equity(last_mark);
    Ok(RunOutput {
        metrics: cx.acc.finish(final_equity),
        liquidations: cx.liqs,
    })
}

impl<P: LeveragePolicy, O: Observer, L: LiquidityModel> Ctx<'_, P, O, L> {
    fn close_bar(&mut self, ts: TimestampNs, close: f64, mark: f64) {
        self.reserve *= 1.0 + self.account.reserve_yield * self.bar_years;
        let mut state = close_metrics(&mut self.acc, &self.pos, ts, close, mark);
        // The reserve's share of the money (exposure and margin use are
        // accumulated in `close_metrics`, which the lean path shares).
        let equity = state.equity;
        if self.reserve > 0.0 && equity + self.reserve > 0.0 {
            self.acc.idle_sum += self.reserve / (equity + self.reserve);
        }
        self.acc.reserve_end = self.reserve;
        if self.obs.records_bars() && self.pos.is_open() && equity > 0.0 {
            // As the policy's observation has it, only when someone keeps it.
            state.margin_ratio = margin_ratio(self.venue, &self.pos, mark, equity);
        }
        self.obs.on_bar(&state);
    }

    /// Executes a signed order through the liquidity model; returns the
    /// average price, with any size the model could not fill at the last
    /// price it reached.
    fn execute(&mut self, t: TimestampNs, reference: f64, qty: f64) -> f64 {
        let r = self.liq.fill(t, reference, qty);
        if r.filled > 0.0 {
            (r.vwap * r.filled + r.last_price * r.unfilled) / (r.filled + r.unfilled)
        } else {
            reference
        }
    }

    fn decide(&mut self, ts: TimestampNs, price: f64, closes: &[f64]) {
        let equity = self.pos.equity(price);
        let open = self.pos.is_open();
        let notional = self.pos.qty.abs() * price;
        let observation = Observation {
            ts,
            mark: price,
            closes,
            bar_years: self.bar_years,
            side: self.account.side,
            equity,
            position_qty: self.pos.qty,
            entry_price: self.pos.entry,
            leverage: if open { notional / equity } else { 0.0 },
            margin_ratio: if open {
                margin_ratio(self.venue, &self.pos, price, equity)
            } else {
                0.0
            },
            liquidation_price: self.pos.liq.is_finite().then_some(self.pos.liq),
            reserve: self.reserve,
            pending: self.pending.len() as u32,
            liquidations: self.acc.tranches,
        };
        let decision = self.policy.decide(&observation);
        if matches!(decision, Decision::Hold) {
            return;
        }
        // Decisions land after the latency (plus the withdrawal delay for a
        // top-up); with neither they are carried out at once.
        let mut delay = 0;
        if let Some(l) = self.latency {
            let u: f64 = rand::RngExt::random(&mut self.rng);
            let z: f64 =
                rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut self.rng);
            delay += l.draw(u, z, || realized_vol(closes, self.bar_years));
        }
        if matches!(decision, Decision::TopUp(_)) {
            delay += self.withdrawal_ns;
        }
        if delay > 0 {
            self.pending
                .push_back((ts + self.bar_ns + delay, decision, self.acc.tranches));
            return;
        }
        self.apply(ts, price, decision);
    }

    /// Carries out a decision at `price`.
    fn apply(&mut self, ts: TimestampNs, price: f64, decision: Decision) {
        let open = self.pos.is_open();
        let target = match decision {
            Decision::TopUp(x) => {
                let x = x.min(self.reserve).max(0.0);
                if x > 0.0 {
                    self.reserve -= x;
                    self.pos.wallet += x;
                    self.pos.refresh(self.venue);
                    self.acc.topups += 1;
                    self.acc.topped_up += x;
                }
                return;
            }
            Decision::Withdraw(x) => {
                // Only margin above what the position needs to open again.
                let q = self.pos.qty.abs();
                let need = if q > 0.0 {
                    q * price / self.venue.max_leverage_sized(q * price, q)
                } else {
                    0.0
                };
                let x = x.min(self.pos.equity(price) - need).max(0.0);
                if x > 0.0 {
                    self.pos.wallet -= x;
                    self.reserve += x;
                    self.pos.refresh(self.venue);
                }
                return;
            }
            _ => decision,
        };
        let target = match target {
            Decision::Hold => return,
            Decision::Close => 0.0,
            Decision::TargetLeverage(l) if l.is_finite() && l >= 0.0 => {
                let q =
                    self.pos
                        .qty_for_leverage(self.account.side, l, price, self.venue.taker_fee);
                if l > self.venue.max_leverage_sized(q.abs() * price, q.abs()) * (1.0 + 1e-12) {
                    self.acc.refused += 1;
                    return;
                }
                q
            }
            Decision::TargetLeverage(_) | Decision::TopUp(_) | Decision::Withdraw(_) => {
                self.acc.refused += 1;
                return;
            }
        };
        if (target - self.pos.qty).abs() <= 1e-12 * target.abs().max(self.pos.qty.abs()) {
            return;
        }
        let reason = if !open {
            FillReason::Open
        } else if target == 0.0 {
            FillReason::Close
        } else {
            FillReason::Rebalance
        };
        let qty_before = self.pos.qty;
        let impact_before = self.liq.impact(ts);
        let px = self.execute(ts, price, target - qty_before);
        let fee = self.pos.trade_to(target, px, self.venue.taker_fee);
        self.pos.refresh(self.venue);
        self.acc.trading_fees += fee;
        self.acc.trades += 1;
        self.in_liquidation = false;
        self.acc.mark_equity(self.pos.equity(price));
        self.obs.on_fill(&Fill {
            ts,
            qty: target - qty_before,
            price: px,
            fee,
            reason,
        });
        // A trade whose own slippage and impact leave the position at or
        // beyond maintenance is liquidated on the spot, at the mark.
        let mark = price * (1.0 + self.liq.impact(ts)) / (1.0 + impact_before);
        let q = self.pos.qty.abs();
        if self.pos.is_open()
            && (self.pos.crossed(mark)
                || self.pos.equity(mark) <= self.venue.margin.maintenance(q * mark, q))
        {
            self.liquidate(ts, ts, mark, true);
        }
    }

    /// Liquidates at `fill` (the liquidation price on a continuous cross, the
    /// gap price otherwise) under the venue's rule, repeating while the
    /// position is still beyond its (recomputed) liquidation price at that
    /// price: a partial tranche, then the whole rest inside the cooldown.
    /// `at` is the time of the path point, for cooldowns.
    fn liquidate(&mut self, ts: TimestampNs, at: TimestampNs, fill: f64, gapped: bool) {
        // Each round closes a share of what is left; a cap keeps a rule that
        // converges slowly (a close factor eaten by its own bonus) finite.
        for _ in 0..64 {
            self.liquidate_once(ts, at, fill, gapped);
            if !(self.pos.is_open() && self.pos.crossed(fill)) {
                return;
            }
        }
        // Still beyond its liquidation price after 64 rounds: close the rest.
        self.force_full = true;
        self.liquidate_once(ts, at, fill, gapped);
        self.force_full = false;
    }

    fn liquidate_once(&mut self, ts: TimestampNs, at: TimestampNs, fill: f64, gapped: bool) {
        let pos = self.pos;
        let side = if pos.qty > 0.0 {
            Side::Long
        } else {
            Side::Short
        };
        let venue = self.venue;
        let rule = &venue.liquidation;
        let qty = pos.qty.abs();
        let notional = qty * fill;
        let equity_close = pos.equity(fill);
        let mm = venue.margin.maintenance(notional, qty);
        let backstop = rule
            .backstop_fraction
            .is_some_and(|f| equity_close < f * mm);
        // Size to close and the fee on it (to the fund or the liquidator).
        let (close_qty, rule_fee) = if backstop {
            (qty, f64::NAN)
        } else if self.force_full {
            (qty, venue.liquidation_fee * notional)
        } else {
            match rule.mode {
                LiquidationMode::Full => (qty, venue.liquidation_fee * notional),
                LiquidationMode::TierReduction => tier_reduction(venue, qty, fill, equity_close)
                    .unwrap_or((qty, venue.liquidation_fee * notional)),
                LiquidationMode::Partial { .. } => {
                    let since = self.last_partial.map(|t| at - t);
                    let c = rule
                        .partial()
                        .map_or(qty, |p| p.order_qty(qty, notional, since));
                    (c, venue.liquidation_fee * c * fill)
                }
                LiquidationMode::CloseFactor {
                    close_factor,
                    full_below_hf,
                    bonus,
                } => close_factor_size(
                    &pos,
                    side,
                    fill,
                    mm / notional,
                    close_factor,
                    full_below_hf,
                    bonus,
                ),
            }
        };
        // A partial close whose fee would take all the equity left is a full
        // one: nothing would remain to margin the rest.
        let mut eats_all = rule_fee >= equity_close;
        let mut full = close_qty >= qty * (1.0 - 1e-12) || eats_all;
        // The forced order goes through the liquidity model: it settles at
        // its average price, not at the trigger price.
        let exec_qty = if full { qty } else { close_qty };
        let mut px = self.execute(at, fill, -pos.qty.signum() * exec_qty);
        let rule_fee = rule_fee * px / fill;
        if !full && pos.equity(px) - rule_fee <= 0.0 {
            // Slippage ate the margin: the rest is bankrupt too and goes with
            // this order.
            let rest = qty - close_qty;
            let px_rest = self.execute(at, fill, -pos.qty.signum() * rest);
            px = (px * close_qty + px_rest * rest) / qty;
            full = true;
            eats_all = true;
        }
        let equity_close = pos.equity(px);
        let fill = px;
        let (fee, bad_debt, equity_after, remaining) = if full {
            let (fee, bad) = if equity_close < 0.0 {
                (0.0, -equity_close)
            } else if backstop || rule.sweep_margin || eats_all {
                // The backstop or the engine takes the position with all its margin.
                (equity_close, 0.0)
            } else {
                (rule_fee.min(equity_close), 0.0)
            };
            self.pos = Position::new((equity_close - fee).max(0.0));
            (fee, bad, self.pos.wallet, 0.0)
        } else {
            let keep = pos.qty.signum() * (qty - close_qty);
            self.pos.trade_to(keep, fill, 0.0);
            let fee = rule_fee;
            self.pos.wallet -= fee;
            self.pos.refresh(venue);
            self.last_partial = Some(at);
            (fee, 0.0, self.pos.equity(fill), qty - close_qty)
        };
        let event = LiquidationEvent {
            ts,
            side,
            qty: if full { qty } else { close_qty },
            remaining_qty: remaining,
            liquidation_price: pos.liq,
            fill_price: fill,
            bankruptcy_price: pos.bankruptcy_price(),
            fee,
            bad_debt,
            equity_after,
            gapped,
            backstop,
        };
        let a = &mut self.acc;
        // Tranches of one event: the venue keeps closing the position it
        // started on (Binance's tier reduction, Hyperliquid's partial
        // orders) until it is closed or the owner trades it.
        if !self.in_liquidation {
            a.events += 1;
        }
        self.in_liquidation = !full;
        a.tranches += 1;
        if a.first_liq_ts.is_none() {
            a.first_liq_ts = Some(ts);
            a.first_liq_price = Some(pos.liq);
        }
        a.liquidation_fees += fee;
        a.bad_debt += bad_debt;
        // Clearance fees and seized margin go to the fund; a close-factor
        // bonus goes to the liquidator.
        if !matches!(rule.mode, LiquidationMode::CloseFactor { .. }) {
            a.fund.deposit(fee);
        }
        if bad_debt > 0.0 {
            // Counterparties are not modelled here, so ADL can always absorb
            // what the fund cannot; venues without ADL socialize it.
            let w = waterfall::settle(bad_debt, &mut a.fund, venue.adl, f64::INFINITY, !venue.adl);
            a.waterfall.insurance_fund += w.insurance_fund;
            a.waterfall.adl += w.adl;
            a.waterfall.socialized += w.socialized;
            a.waterfall.unresolved += w.unresolved;
        }
        a.mark_equity(equity_after);
        self.obs.on_liquidation(&event);
        self.obs.on_fill(&Fill {
            ts,
            qty: -pos.qty.signum() * event.qty,
            price: fill,
            fee,
            reason: FillReason::Liquidation,
        });
        self.liqs.push(event);
        if full && !self.account.reenter {
            self.stopped = true;
        }
    }
}

/// Maintenance margin over equity at `mark` (the venue's maintenance at
/// the position's size): what policies observe and series record.
fn margin_ratio(venue: &VenueProfile, pos: &Position, mark: f64, equity: f64) -> f64 {
    let qty = pos.qty.abs();
    venue.margin.maintenance(qty * mark, qty) / equity
}

/// Bar-close bookkeeping shared by both paths: counts, leverage, distance
/// to liquidation, all at the mark; returns the state the observer sees.
#[inline(always)]
fn close_metrics(
    acc: &mut MetricsAcc,
    pos: &Position,
    ts: TimestampNs,
    close: f64,
    mark: f64,
) -> BarState {
    let close_price = close;
    let close = mark;
    let equity = pos.equity(close);
    acc.bars += 1;
    let mut leverage = 0.0;
    if pos.is_open() {
        // One division per bar: the committed capital divides at the end.
        // (Both paths accumulate here, bar by bar, so the lean path with a
        // recorder stays bit-identical to the full loop; without one it
        // adds whole chunks, equal to a few ulps: see `quiet_bars`.)
        let notional = pos.qty.abs() * close;
        leverage = notional / equity;
        acc.bars_in_market += 1;
        acc.lev_sum += leverage;
        acc.exposure_sum += notional;
        if equity > 0.0 {
            acc.util_sum += pos.mmr * leverage;
        }
        let gap = (close - pos.liq).abs();
        if gap < acc.min_dist * close {
            acc.min_dist = gap / close;
        }
    }
    BarState {
        ts,
        close: close_price,
        mark,
        equity,
        leverage,
        liquidation_price: pos.liq,
        position_qty: pos.qty,
        margin_ratio: 0.0,
    }
}

/// Annualized realized volatility of the last day of closes (at least two
/// returns; 0 before).
fn realized_vol(closes: &[f64], bar_years: f64) -> f64 {
    let per_day = ((1.0 / 365.0) / bar_years).round().max(2.0) as usize;
    let w = &closes[closes.len().saturating_sub(per_day + 1)..];
    if w.len() < 3 {
        return 0.0;
    }
    let (mut n, mut sum, mut sq) = (0.0, 0.0, 0.0);
    for p in w.windows(2) {
        let r = (p[1] / p[0]).ln();
        n += 1.0;
        sum += r;
        sq += r * r;
    }
    ((sq - sum * sum / n) / (n - 1.0) / bar_years)
        .max(0.0)
        .sqrt()
}

/// Bars per chunk of the quiet path: one liquidation and one drawdown test
/// per chunk, then the chunk's metrics in plain array loops (issue 18).
const QUIET_CHUNK: usize = 16;

/// The lean path for bars `from..to` of an open position that nothing but
/// the price can change (a `WhenFlat` policy, no funding due). Stops at the
/// first bar whose open or path reaches the liquidation price and returns
/// its index (or `to`); that bar is then processed in full.
///
/// It goes a chunk at a time: a chunk whose price range does not reach
/// the liquidation price adds to the run's sums (mean leverage, exposure,
/// margin use, closest distance to liquidation) as a tree, after walking
/// the drawdown bar by bar only where equity can set a new peak or
/// drawdown; a chunk that reaches it goes bar by bar up to the
/// liquidation. The sums differ from the full loop's bar-by-bar sums by a
/// few ulps (`quiet_chunks_match_bar_by_bar`); a recorder, which gets every
/// bar's state, changes nothing in them, so a run kept for its series has
/// the metrics it had in the sweep.
///
/// `ORDERED`: every bar's open and close lie inside its [low, high]
/// (the market's [`CheckedTape`] found), so a bar's range is its low and high and
/// the open is read only where the drawdown is walked.
#[inline(never)]
fn quiet_bars<O: Observer, const ORDERED: bool>(
    tape: &MarketTape,
    from: usize,
    to: usize,
    pos: &Position,
    venue: &VenueProfile,
    acc: &mut MetricsAcc,
    obs: &mut O,
) -> usize {
    let records = obs.records_bars();
    let pos = *pos;
    let long = pos.qty > 0.0;
    let q = pos.qty.abs();
    let n = to.saturating_sub(from);
    let mut k = 0;
    let mut a = acc.clone();
    while k + QUIET_CHUNK <= n {
        let at = from + k;
        let (Some(o), Some(h), Some(l), Some(c)) = (
            chunk(&tape.open, at),
            chunk(&tape.high, at),
            chunk(&tape.low, at),
            chunk(&tape.close, at),
        ) else {
            break;
        };
        // Element-wise extremes (packed min/max), then a tree.
        let mut lo = [0.0; QUIET_CHUNK];
        let mut hi = [0.0; QUIET_CHUNK];
        for j in 0..QUIET_CHUNK {
            (lo[j], hi[j]) = bar_range::<ORDERED>(o[j], h[j], l[j], c[j]);
        }
        let (lo, hi) = (tree(&lo, min2), tree(&hi, max2));
        if reaches_liquidation(&pos, lo, hi) {
            // Bar by bar up to the liquidation.
            *acc = a;
            let stop = quiet_bars_each(tape, at, at + QUIET_CHUNK, &pos, venue, acc, obs);
            if stop < at + QUIET_CHUNK {
                return stop;
            }
            a = acc.clone();
            k += QUIET_CHUNK;
            continue;
        }
        if moves_drawdown(&a, &pos, lo, hi) {
            // A new peak or drawdown in the chunk: the drawdown bar by bar
            // as the full loop walks it (the sums below do not depend on it).
            for j in 0..QUIET_CHUNK {
                let bar = [o[j], h[j], l[j], c[j]];
                let range = bar_range::<ORDERED>(o[j], h[j], l[j], c[j]);
                bar_drawdown(&mut a, &pos, range, bar);
            }
        }
        let mut num = [0.0; QUIET_CHUNK];
        let mut den = [0.0; QUIET_CHUNK];
        for j in 0..QUIET_CHUNK {
            num[j] = q * c[j];
            den[j] = pos.equity(c[j]);
        }
        let lev = divide(&num, &den);
        let lev_sum = tree(&lev, |x, y| x + y);
        if records {
            // Each bar's state as `close_bar` has it (the same leverage).
            for j in 0..QUIET_CHUNK {
                let equity = pos.equity(c[j]);
                let state = BarState {
                    ts: tape.ts[at + j],
                    close: c[j],
                    mark: c[j],
                    equity,
                    leverage: lev[j],
                    liquidation_price: pos.liq,
                    position_qty: pos.qty,
                    margin_ratio: if equity > 0.0 {
                        margin_ratio(venue, &pos, c[j], equity)
                    } else {
                        0.0
                    },
                };
                obs.on_bar(&state);
            }
        }
        a.lev_sum += lev_sum;
        a.exposure_sum += q * tree(c, |x, y| x + y);
        a.util_sum += pos.mmr * lev_sum;
        a.bars += QUIET_CHUNK as u64;
        a.bars_in_market += QUIET_CHUNK as u64;
        // The closest close to the liquidation price: the lowest for a
        // long, the highest for a short (distance / price is monotone).
        let extreme = if long { tree(c, min2) } else { tree(c, max2) };
        let gap = (extreme - pos.liq).abs();
        if gap < a.min_dist * extreme {
            a.min_dist = gap / extreme;
        }
        k += QUIET_CHUNK;
    }
    *acc = a;
    quiet_bars_each(tape, from + k, to, &pos, venue, acc, obs)
}

/// A bar's price range (robust to bars whose open or close lies outside
/// [low, high]); min/max as compare-selects.
#[inline(always)]
fn range4(open: f64, high: f64, low: f64, close: f64) -> (f64, f64) {
    (
        min2(min2(open, high), min2(low, close)),
        max2(max2(open, high), max2(low, close)),
    )
}

/// A bar's price range: its low and high when its open and close are
/// known to lie inside them (`ORDERED`, the open not read), else
/// [`range4`].
#[inline(always)]
fn bar_range<const ORDERED: bool>(open: f64, high: f64, low: f64, close: f64) -> (f64, f64) {
    if ORDERED {
        (low, high)
    } else {
        range4(open, high, low, close)
    }
}

/// Whether a price range (of a bar or a chunk) reaches the position's
/// liquidation price: any path point at or beyond it does.
#[inline(always)]
fn reaches_liquidation(pos: &Position, lo: f64, hi: f64) -> bool {
    if pos.qty > 0.0 {
        lo <= pos.liq
    } else {
        hi >= pos.liq
    }
}

/// Whether prices in `[lo, hi]` can set a new equity peak or a deeper
/// drawdown: equity is monotone in the price, so a range that keeps
/// equity between the drawdown floor and the running peak changes
/// neither.
#[inline(always)]
fn moves_drawdown(a: &MetricsAcc, pos: &Position, lo: f64, hi: f64) -> bool {
    let (e_lo, e_hi) = if pos.qty > 0.0 {
        (pos.equity(lo), pos.equity(hi))
    } else {
        (pos.equity(hi), pos.equity(lo))
    };
    e_hi > a.peak || a.peak - e_lo > a.max_dd * a.peak
}

/// One bar's drawdown as the full loop has it: the ordered walk over the
/// open and the intrabar path, only where the bar's range `(lo, hi)` (from
/// [`range4`]) can move it.
#[inline(always)]
fn bar_drawdown(a: &mut MetricsAcc, pos: &Position, (lo, hi): (f64, f64), bar: [f64; 4]) {
    let [open, high, low, close] = bar;
    if moves_drawdown(a, pos, lo, hi) {
        a.mark_equity(pos.equity(open));
        for p in intrabar_path(open, high, low, close) {
            a.mark_equity(pos.equity(p));
        }
    }
}

/// `num / den` lane by lane as packed divisions (`divpd`, through `wide`:
/// LLVM's cost model for baseline x86-64 keeps divisions scalar, and they
/// bound the chunk's speed). Each quotient is the IEEE one `/` gives.
#[inline(always)]
fn divide(num: &[f64; QUIET_CHUNK], den: &[f64; QUIET_CHUNK]) -> [f64; QUIET_CHUNK] {
    let mut out = [0.0; QUIET_CHUNK];
    for j in (0..QUIET_CHUNK).step_by(4) {
        let n = wide::f64x4::new([num[j], num[j + 1], num[j + 2], num[j + 3]]);
        let d = wide::f64x4::new([den[j], den[j + 1], den[j + 2], den[j + 3]]);
        out[j..j + 4].copy_from_slice(&(n / d).to_array());
    }
    out
}

/// The chunk of `v` starting at `at`, if whole.
#[inline(always)]
fn chunk(v: &[f64], at: usize) -> Option<&[f64; QUIET_CHUNK]> {
    v.get(at..at + QUIET_CHUNK).and_then(|s| s.try_into().ok())
}

/// `a < b ? a : b` (a packed `minpd`; prices are never NaN).
#[inline(always)]
fn min2(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

/// `a > b ? a : b` (a packed `maxpd`).
#[inline(always)]
fn max2(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

/// A chunk reduced pairwise (no serial chain).
#[inline(always)]
fn tree(v: &[f64; QUIET_CHUNK], f: impl Fn(f64, f64) -> f64) -> f64 {
    // Four lanes (two packed pairs) reduced over the chunk, then a tree.
    let mut l = [v[0], v[1], v[2], v[3]];
    let mut j = 4;
    while j < QUIET_CHUNK {
        l = [
            f(l[0], v[j]),
            f(l[1], v[j + 1]),
            f(l[2], v[j + 2]),
            f(l[3], v[j + 3]),
        ];
        j += 4;
    }
    f(f(l[0], l[1]), f(l[2], l[3]))
}

/// The lean path bar by bar (see [`quiet_bars`]): the same per-bar steps
/// as the full loop (open, intrabar path, close) with the account and
/// accumulators in locals. Stops at the first bar whose open or path
/// reaches the liquidation price and returns its index (or `to`).
#[inline(never)]
fn quiet_bars_each<O: Observer>(
    tape: &MarketTape,
    from: usize,
    to: usize,
    pos: &Position,
    venue: &VenueProfile,
    acc: &mut MetricsAcc,
    obs: &mut O,
) -> usize {
    let pos = *pos;
    // The margin ratio only for an observer that keeps it (as `close_bar`).
    let records = obs.records_bars();
    let mut a = acc.clone();
    // Equal-length slices: one bounds check for the whole run.
    let ts = &tape.ts[from..to];
    let (o, h, l) = (
        &tape.open[from..to],
        &tape.high[from..to],
        &tape.low[from..to],
    );
    let c = &tape.close[from..to];
    let len = ts.len().min(o.len()).min(h.len()).min(l.len()).min(c.len());
    let mut k = 0;
    while k < len {
        let (open, high, low, close) = (o[k], h[k], l[k], c[k]);
        let range = range4(open, high, low, close);
        if reaches_liquidation(&pos, range.0, range.1) {
            break;
        }
        bar_drawdown(&mut a, &pos, range, [open, high, low, close]);
        let mut state = close_metrics(&mut a, &pos, ts[k], close, close);
        if records && state.equity > 0.0 {
            state.margin_ratio = margin_ratio(venue, &pos, close, state.equity);
        }
        obs.on_bar(&state);
        k += 1;
    }
    *acc = a;
    from + k
}

/// Binance-style tier reduction: close down to the cap of the next lower
/// bracket if the rest is then above its maintenance after the fee on the
/// closed part; `None` (close everything) in the lowest bracket, when the
/// reduction would not restore the margin, or without brackets.
fn tier_reduction(venue: &VenueProfile, qty: f64, price: f64, equity: f64) -> Option<(f64, f64)> {
    let MarginModelAny::Tiered(table) = &venue.margin else {
        return None;
    };
    let notional = qty * price;
    let brackets = table.brackets();
    // A position just cut to a cap is in the lower bracket, rounding aside.
    let k = brackets
        .iter()
        .position(|b| notional <= b.cap * (1.0 + 1e-9))
        .unwrap_or(brackets.len() - 1);
    let lower = brackets.get(k.checked_sub(1)?)?;
    let keep = lower.cap / price;
    let closed = qty - keep;
    let fee = venue.liquidation_fee * closed * price;
    // Trading at the mark leaves equity unchanged but for the fee.
    (equity - fee > table.maintenance(lower.cap)).then_some((closed, fee))
}

/// Aave-style close factor on a collateralised loop, in the engine's terms
/// (a long holds the collateral and owes `qty·entry − wallet` of quote; a
/// short owes its size in base and holds `wallet + qty·entry` of quote).
/// With `LT = 1 − mmr`, the health factor decides between the partial and
/// the full close factor; the liquidator repays that share of the debt and
/// takes collateral worth `bonus ×` the repayment. Returns the base size
/// closed and the bonus paid (the fee).
fn close_factor_size(
    pos: &Position,
    side: Side,
    price: f64,
    mmr: f64,
    close_factor: f64,
    full_below_hf: f64,
    bonus: f64,
) -> (f64, f64) {
    let qty = pos.qty.abs();
    let lt = 1.0 - mmr;
    match side {
        Side::Long => {
            let debt = (qty * pos.entry - pos.wallet).max(0.0);
            let hf = if debt > 0.0 {
                qty * price * lt / debt
            } else {
                f64::INFINITY
            };
            let cf = if hf <= full_below_hf {
                1.0
            } else {
                close_factor
            };
            let seized = (cf * debt * bonus / price).min(qty);
            (seized, seized * price * (1.0 - 1.0 / bonus))
        }
        Side::Short => {
            let collateral = pos.wallet + qty * pos.entry;
            let hf = collateral * lt / (qty * price);
            let cf = if hf <= full_below_hf {
                1.0
            } else {
                close_factor
            };
            let repaid = cf * qty;
            (repaid, repaid * price * (bonus - 1.0))
        }
    }
}
