//! The simulation loop of a portfolio account.

use levsim_core::{ContractKind, FundingSeries, LiquidationEvent, PortfolioTape, Side};
use levsim_core::{TimestampNs, MAX_INSTRUMENTS};
use levsim_policy::{Cadence, PortfolioDecision, PortfolioObservation, PortfolioPolicy};

use super::book::Book;
use super::metrics::{LegMetrics, PortfolioOutput, PortfolioSeries};
use super::scope::MarginScope;
use crate::metrics::MetricsAcc;
use crate::venue::{waterfall, AccountOrder, VenueProfile};
use crate::{intrabar_path, AccountConfig, EngineError};

/// The market of a portfolio run.
#[derive(Debug, Clone, Copy)]
pub struct PortfolioMarket<'a> {
    /// Every leg's bars on one clock.
    pub tape: &'a PortfolioTape,
    /// Funding per leg (instrument order; `None` or a short slice: none).
    pub funding: &'a [Option<&'a FundingSeries>],
    /// Venue rules per leg: the venue's tables for that leg's symbol. The
    /// venue-wide rules (insurance fund, ADL, how a cross account is
    /// liquidated) are leg 0's.
    pub rules: &'a [VenueProfile],
    /// The legs that are European options (instrument order; empty or
    /// `None`: none), with their volatility per bar. An option leg's bars
    /// in the tape are its own prices (see `levsim_options::tape`).
    pub options: &'a [Option<OptionLeg>],
}

/// A leg that is a European option, as the loop needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionLeg {
    /// What it is.
    pub spec: super::book::LegOption,
    /// Its implied volatility at each bar (annual).
    pub iv: Vec<f64>,
}

/// Account accumulators per leg, beyond [`LegMetrics`].
#[derive(Debug, Clone, Default)]
struct LegAcc {
    m: LegMetrics,
    lev_sum: f64,
    open_bars: u64,
    mm_sum: f64,
}

struct Run<'a, S, P> {
    tape: &'a PortfolioTape,
    rules: &'a [VenueProfile],
    scope: &'a S,
    account: &'a AccountConfig,
    policy: &'a mut P,
    book: Book,
    acc: MetricsAcc,
    legs: Vec<LegAcc>,
    liqs: Vec<LiquidationEvent>,
    liq_legs: Vec<u16>,
    liq_causes: Vec<u16>,
    stopped: bool,
    reserve: f64,
    reserve_yield: f64,
    bar_years: f64,
    /// Reused buffers.
    target: Vec<f64>,
    dist: Vec<f64>,
    /// Each leg's maintenance at the last `distances`.
    mm: Vec<f64>,
    /// Equity minus requirement per bucket at the last `distances`.
    slack: Vec<f64>,
    notional: Vec<f64>,
    /// Per-unit delta of each leg and the leg it is on (observations).
    delta: Vec<f64>,
    gamma: Vec<f64>,
    vega: Vec<f64>,
    leg_iv: Vec<f64>,
    delta_leg: Vec<usize>,
    liquidated_this_bar: bool,
    /// Transfers between isolated accounts on their way: (due, to bucket,
    /// amount), in due order; the amount in transit; per bucket, whether
    /// one is on its way to it.
    pending: std::collections::VecDeque<(TimestampNs, usize, f64)>,
    in_transit: f64,
    incoming: Vec<bool>,
    transfers: super::TransferMetrics,
    /// Per bucket, a bound of its requirement over the rest of the run.
    run_bound: Vec<f64>,
    /// Set when a size changed since `run_bound` was computed.
    bounds_stale: bool,
    /// What collateral sold at liquidations fetched (after haircuts).
    collateral_sold: f64,
}

/// Runs a portfolio policy over a portfolio market under a margin scope.
///
/// Per bar: funding per leg at the open (`qty · open · rate`); a bucket
/// whose requirement the open already meets is liquidated at the open
/// prices (a gap); then the joint intrabar path (see the
/// [module docs](super)), a bucket being liquidated at the point where its
/// equity meets its requirement; then the close: metrics, series, and the
/// policy's decision, filled at the closes with each leg's taker fee.
///
/// A liquidation follows leg 0's venue rule for accounts
/// ([`AccountOrder`]): all legs of the bucket at once, or the leg with the
/// largest maintenance first until the bucket is above its requirement.
/// Each closed leg pays its venue's liquidation fee on its notional (capped
/// by the bucket's equity left); a bucket left below zero is bad debt,
/// paid by the insurance fund then ADL or socialization as in a
/// single-instrument run. Without `reenter`, the policy is not asked again
/// after a liquidation (open legs in other buckets run on).
///
/// `series_stride > 0` keeps account series every that many bars.
pub fn simulate_portfolio<S: MarginScope, P: PortfolioPolicy>(
    market: PortfolioMarket<'_>,
    scope: &S,
    account: &AccountConfig,
    policy: &mut P,
    series_stride: usize,
) -> Result<PortfolioOutput, EngineError> {
    account.validate()?;
    let tape = market.tape;
    let legs = tape.legs();
    let n = tape.len();
    if n == 0 || legs == 0 {
        return Err(EngineError::EmptyMarket);
    }
    if legs > MAX_INSTRUMENTS || market.rules.len() != legs {
        return Err(EngineError::config(
            "venue",
            format!(
                "{} venue rule sets for {legs} instruments",
                market.rules.len()
            ),
        ));
    }
    // One settlement currency per account: quote-margined legs, or one
    // coin-margined leg (several coins need multi-asset collateral) with
    // options on it settled in that coin (Deribit's BTC options: premium
    // and settlement in BTC, their bars priced in coin).
    let is_option = |k: usize| market.options.get(k).is_some_and(Option::is_some);
    let inverse = (0..legs)
        .filter(|&k| !is_option(k) && market.rules[k].contract == ContractKind::Inverse)
        .count();
    let base_legs = (0..legs).filter(|&k| !is_option(k)).count();
    if inverse > 0 && base_legs > 1 {
        let (id, inst) = tape
            .instruments
            .iter()
            .find(|(id, _)| market.rules[id.index()].contract == ContractKind::Inverse)
            .unwrap_or((
                levsim_core::InstrumentId(0),
                tape.instruments.get(levsim_core::InstrumentId(0)),
            ));
        return Err(EngineError::config(
            &format!("market.instrument[{}]", id.index()),
            format!(
                "{} settles inverse (coin-margined): an account holds one coin-margined instrument, alone, for now",
                inst.symbol
            ),
        ));
    }
    if inverse > 0 && (scope.joint_initial(&[0.0]).is_some() || scope.revalues()) {
        return Err(EngineError::config(
            "account.margin_mode",
            "portfolio, SPAN and Greek margin revalue quote-settled books; coin-margined ones are isolated or cross",
        ));
    }
    if account.latency.is_some() || account.withdrawal_delay_ns() != 0 {
        return Err(EngineError::config(
            "account.latency",
            "decision latency and withdrawal delays apply to single-instrument runs for now",
        ));
    }
    let mut collateral = Vec::new();
    for (i, c) in account.collateral.iter().enumerate() {
        if scope.isolated() || inverse > 0 {
            return Err(EngineError::config(
                "account.collateral",
                "collateral in other assets backs a quote-margined cross or portfolio account (Binance's multi-assets mode)",
            ));
        }
        let Some(id) = tape.instruments.id(&c.price) else {
            return Err(EngineError::config(
                &format!("account.collateral[{i}].price"),
                format!(
                    "no instrument {} values it; the market's instruments: {}",
                    c.price,
                    tape.instruments.symbols().join(", ")
                ),
            ));
        };
        collateral.push((id.index(), c.amount * (1.0 - c.haircut)));
    }
    policy.reset();
    let bar_years = tape.interval_ns as f64 / (365.0 * 86_400e9);
    // The collateral's value at the first open counts as committed capital.
    let coll0: f64 = collateral.iter().map(|&(k, w)| w * tape.open[k * n]).sum();
    let mut r = Run {
        tape,
        rules: market.rules,
        scope,
        account,
        policy,
        book: Book::new(
            (0..legs)
                .map(|k| !is_option(k) && market.rules[k].contract == ContractKind::Inverse)
                .collect(),
            scope.isolated(),
            account.capital,
        ),
        acc: MetricsAcc::new(account.capital + coll0, market.rules[0].insurance_fund),
        legs: vec![LegAcc::default(); legs],
        liqs: Vec::new(),
        liq_legs: Vec::new(),
        liq_causes: Vec::new(),
        stopped: false,
        reserve: account.reserve,
        reserve_yield: 0.0,
        bar_years,
        target: vec![0.0; legs],
        dist: vec![f64::NAN; legs],
        mm: vec![0.0; legs],
        slack: vec![f64::NAN; if scope.isolated() { legs } else { 1 }],
        notional: vec![0.0; legs],
        delta: vec![1.0; legs],
        gamma: vec![0.0; legs],
        vega: vec![0.0; legs],
        leg_iv: vec![0.0; legs],
        delta_leg: (0..legs).collect(),
        liquidated_this_bar: false,
        pending: std::collections::VecDeque::new(),
        in_transit: 0.0,
        incoming: vec![false; if scope.isolated() { legs } else { 1 }],
        transfers: super::TransferMetrics::default(),
        run_bound: vec![f64::INFINITY; if scope.isolated() { legs } else { 1 }],
        bounds_stale: true,
        collateral_sold: 0.0,
    };
    r.book.collateral = collateral;
    for (k, o) in market.options.iter().enumerate() {
        if let Some(o) = o {
            if o.spec.underlying >= legs
                || market
                    .options
                    .get(o.spec.underlying)
                    .is_some_and(Option::is_some)
            {
                return Err(EngineError::config(
                    &format!("market.instrument[{k}].underlying"),
                    "must be a leg of the market that is not an option",
                ));
            }
            if o.iv.len() != n {
                return Err(EngineError::config(
                    &format!("market.instrument[{k}]"),
                    format!("{} volatilities for {n} bars", o.iv.len()),
                ));
            }
            r.book.option[k] = Some(o.spec);
            r.book.has_options = true;
            r.book.coin_options = inverse > 0;
            r.delta_leg[k] = o.spec.underlying;
        }
    }
    r.acc.committed = account.capital + coll0 + account.reserve;
    r.acc.reserve_end = account.reserve;
    r.acc.years = n as f64 * bar_years;
    let every_bar = r.policy.cadence() == Cadence::EveryBar;
    let mut series = (series_stride > 0).then(|| PortfolioSeries {
        close: vec![Vec::new(); legs],
        notional: vec![Vec::new(); legs],
        maintenance: vec![Vec::new(); legs],
        ..Default::default()
    });
    let mut fi: Vec<usize> = (0..legs)
        .map(|k| match market.funding.get(k).copied().flatten() {
            Some(f) if market.rules[k].funding => f.ts.partition_point(|&t| t < tape.ts[0]),
            _ => usize::MAX,
        })
        .collect();
    let mut marks = vec![0.0; legs];
    let mut prev = vec![0.0; legs];
    let mut cur = vec![0.0; legs];
    let mut at = vec![0.0; legs];
    let mut pts = vec![[0.0; 3]; legs];
    let mut max_notional = vec![0.0; legs];
    let mut bound = vec![0.0; r.book.buckets()];
    for i in 0..n {
        let ts = tape.ts[i];
        r.liquidated_this_bar = false;
        for (k, m) in marks.iter_mut().enumerate() {
            *m = tape.open[k * n + i];
        }
        r.book.now = ts;
        if r.book.has_options {
            for (k, o) in market.options.iter().enumerate() {
                if let Some(o) = o {
                    r.book.iv[k] = o.iv[i];
                }
            }
            // Options at or past expiry settle at this open, at their
            // price there: the intrinsic value.
            for k in 0..legs {
                if r.book.expired(k) && r.book.qty[k] != 0.0 {
                    r.settle(k, &marks);
                }
            }
        }
        // Transfers due by this bar's open land in their accounts.
        while r.pending.front().is_some_and(|&(due, _, _)| due <= ts) {
            let Some((_, b, x)) = r.pending.pop_front() else {
                break;
            };
            if !r.book.bucket_open(b) {
                r.transfers.landed_too_late += 1;
            }
            r.book.wallet[b] += x;
            r.in_transit -= x;
            r.incoming[b] = false;
            r.bounds_stale = true;
        }
        for k in 0..legs {
            let Some(f) = market.funding.get(k).copied().flatten() else {
                continue;
            };
            while fi[k] < f.ts.len() && f.ts[fi[k]] <= ts {
                let q = r.book.qty[k];
                if q != 0.0 {
                    // Longs pay a positive rate on their notional.
                    let pay = r.book.notional(k, &marks) * f.rate[fi[k]];
                    let b = r.book.bucket[k];
                    r.book.wallet[b] -= pay;
                    r.acc.funding -= pay;
                    r.legs[k].m.funding -= pay;
                }
                fi[k] += 1;
            }
        }
        if i == 0 {
            r.decide(ts, &marks, 0);
        } else if !r.book.is_flat() {
            if r.bounds_stale {
                r.refresh_run_bounds(i, &mut max_notional);
            }
            let equity = r.book.equity(&marks);
            let one = r.book.buckets() == 1;
            let mut changed = false;
            for b in 0..r.book.buckets() {
                let e = if one {
                    equity
                } else {
                    r.book.bucket_equity(b, &marks)
                };
                if e > r.run_bound[b] || !r.book.bucket_open(b) {
                    continue;
                }
                if r.book.slack(scope, r.rules, b, &marks) <= 0.0 {
                    r.liquidate(b, ts, &marks, true);
                    changed = true;
                }
            }
            r.acc.mark_equity(if changed {
                r.book.equity(&marks)
            } else {
                equity
            });
        }
        if !r.book.is_flat() {
            for (k, p) in pts.iter_mut().enumerate() {
                let j = k * n + i;
                *p = intrabar_path(tape.open[j], tape.high[j], tape.low[j], tape.close[j]);
            }
            if r.bounds_stale {
                r.refresh_run_bounds(i, &mut max_notional);
            }
            // The bar's own (tighter) bounds, computed when a point comes
            // near the run's.
            let mut bar_bounds = false;
            prev.copy_from_slice(&marks);
            for step in 0..3 {
                for k in 0..legs {
                    cur[k] = pts[k][step];
                }
                let mut changed = false;
                let equity = r.book.equity(&cur);
                let one = r.book.buckets() == 1;
                for b in 0..r.book.buckets() {
                    // Equity above every requirement the rest of the run
                    // (then this bar) can reach: nothing to check here.
                    let e = if one {
                        equity
                    } else {
                        r.book.bucket_equity(b, &cur)
                    };
                    if e > r.run_bound[b] || !r.book.bucket_open(b) {
                        continue;
                    }
                    if !bar_bounds {
                        for k in 0..legs {
                            let j = k * n + i;
                            let pk = pts[k];
                            let o = tape.open[j];
                            let hi = o.max(pk[0]).max(pk[1]).max(pk[2]);
                            let lo = o.min(pk[0]).min(pk[1]).min(pk[2]);
                            let q = r.book.qty[k].abs();
                            max_notional[k] = if r.book.inverse[k] { q / lo } else { q * hi };
                        }
                        for (c, x) in bound.iter_mut().enumerate() {
                            *x = scope.requirement_bound(&r.book, r.rules, c, &max_notional);
                        }
                        bar_bounds = true;
                    }
                    if e > bound[b] {
                        continue;
                    }
                    if r.book.slack(scope, r.rules, b, &cur) <= 0.0 {
                        r.crossing(b, &prev, &cur, &mut at);
                        r.liquidate(b, ts, &at, false);
                        changed = true;
                    }
                }
                if changed {
                    // Sizes changed: the bounds are read again.
                    r.refresh_run_bounds(i, &mut max_notional);
                    bar_bounds = false;
                }
                r.acc
                    .mark_equity(if changed { r.book.equity(&cur) } else { equity });
                if r.book.is_flat() {
                    break;
                }
                prev.copy_from_slice(&cur);
            }
        }
        for (k, m) in marks.iter_mut().enumerate() {
            *m = tape.close[k * n + i];
        }
        r.close_bar(&marks);
        if let Some(rule) = account.transfer.as_ref().filter(|_| r.book.buckets() > 1) {
            r.start_transfers(rule, ts + tape.interval_ns, &marks);
        }
        if let Some(s) = series.as_mut() {
            if i % series_stride == 0 || r.liquidated_this_bar || i + 1 == n {
                r.record(s, ts, &marks);
            }
        }
        if i + 1 < n && !r.stopped {
            if !r.book.is_flat() {
                if every_bar {
                    r.decide(ts, &marks, i + 1);
                }
            } else if r.book.equity(&marks) >= account.min_equity() {
                r.decide(ts, &marks, i + 1);
            } else {
                r.stopped = true;
            }
        }
    }
    let final_equity = r.book.equity(&marks);
    for k in 0..legs {
        let l = &mut r.legs[k];
        l.m.pnl += r.book.upnl(k, marks[k]);
        l.m.final_qty = r.book.qty[k];
        l.m.final_mark = marks[k];
        if l.open_bars > 0 {
            l.m.avg_leverage = l.lev_sum / l.open_bars as f64;
        }
        l.m.avg_maintenance = l.mm_sum / n as f64;
    }
    let metrics = r.acc.finish(final_equity);
    let pnl: f64 = r.legs.iter().map(|l| l.m.pnl).sum();
    let collateral_pnl = r.collateral_sold + r.book.collateral_value(&marks) - coll0;
    let conservation_error =
        account.capital + coll0 + account.reserve + pnl + collateral_pnl + metrics.funding
            - metrics.trading_fees
            - metrics.liquidation_fees
            + metrics.bad_debt
            + r.reserve_yield
            - final_equity
            - r.reserve
            - r.in_transit;
    let mut transfers = r.transfers;
    transfers.in_transit_end = r.in_transit;
    Ok(PortfolioOutput {
        metrics,
        legs: r.legs.into_iter().map(|l| l.m).collect(),
        liquidations: r.liqs,
        liquidation_legs: r.liq_legs,
        liquidation_causes: r.liq_causes,
        series,
        conservation_error,
        collateral_pnl,
        transfers,
    })
}

impl<S: MarginScope, P: PortfolioPolicy> Run<'_, S, P> {
    /// The point of the segment `prev → cur` where bucket `b`'s equity
    /// meets its requirement (equity minus requirement is concave along
    /// it, positive at `prev` and not at `cur`): bisection, then the root
    /// of the line through the last bracket.
    fn crossing(&self, b: usize, prev: &[f64], cur: &[f64], out: &mut [f64]) {
        let point = |t: f64, out: &mut [f64]| {
            for k in 0..out.len() {
                out[k] = prev[k] + t * (cur[k] - prev[k]);
            }
        };
        let f = |t: f64, out: &mut [f64]| {
            point(t, out);
            self.book.slack(self.scope, self.rules, b, out)
        };
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        let mut f_lo = f(lo, out);
        let mut f_hi = f(hi, out);
        if f_lo <= 0.0 {
            point(0.0, out);
            return;
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            let fm = f(mid, out);
            if fm > 0.0 {
                lo = mid;
                f_lo = fm;
            } else {
                hi = mid;
                f_hi = fm;
            }
        }
        let t = if f_lo - f_hi > 0.0 {
            (lo + (hi - lo) * f_lo / (f_lo - f_hi)).clamp(lo, hi)
        } else {
            hi
        };
        point(t, out);
    }

    /// Liquidates bucket `b` at prices `px` (one per leg).
    fn liquidate(&mut self, b: usize, ts: TimestampNs, px: &[f64], gapped: bool) {
        let legs = self.book.legs();
        let in_b = |book: &Book, k: usize| book.bucket[k] == b && book.qty[k] != 0.0;
        // The leg that caused it: the largest unrealized loss of the bucket.
        let cause = (0..legs)
            .filter(|&k| in_b(&self.book, k))
            .min_by(|&x, &y| {
                self.book
                    .upnl(x, px[x])
                    .total_cmp(&self.book.upnl(y, px[y]))
            })
            .unwrap_or(0);
        self.legs[cause].m.liquidations_caused += 1;
        self.acc.events += 1;
        if self.acc.first_liq_ts.is_none() {
            self.acc.first_liq_ts = Some(ts);
            self.acc.first_liq_price = Some(px[cause]);
        }
        self.liquidated_this_bar = true;
        let order = if self.scope.isolated() {
            AccountOrder::CloseAccount
        } else {
            self.rules[0].liquidation.account_order
        };
        if b == 0 && !self.book.collateral.is_empty() {
            // The venue sells the collateral at the mark to cover the
            // account (its haircut value).
            let v = self.book.collateral_value(px);
            self.book.wallet[0] += v;
            self.collateral_sold += v;
            self.book.collateral.clear();
        }
        match order {
            AccountOrder::CloseAccount => {
                let open: Vec<usize> = (0..legs).filter(|&k| in_b(&self.book, k)).collect();
                let equity_close = self.book.bucket_equity(b, px);
                let fees: Vec<f64> = open
                    .iter()
                    .map(|&k| self.rules[k].liquidation_fee * self.book.notional(k, px).abs())
                    .collect();
                let fee_sum: f64 = fees.iter().sum();
                let (fee, bad) = if equity_close < 0.0 {
                    (0.0, -equity_close)
                } else if self.rules[0].liquidation.sweep_margin {
                    (equity_close, 0.0)
                } else {
                    (fee_sum.min(equity_close), 0.0)
                };
                let last = open.len().saturating_sub(1);
                for (j, &k) in open.iter().enumerate() {
                    let share = if fee_sum > 0.0 {
                        fee * fees[j] / fee_sum
                    } else if j == 0 {
                        fee
                    } else {
                        0.0
                    };
                    let leg_bad = if j == last { bad } else { 0.0 };
                    self.close_leg(k, b, ts, px, share, leg_bad, gapped, cause);
                }
                // The bucket keeps what is left, never below zero.
                self.book.wallet[b] = self.book.wallet[b].max(0.0);
            }
            AccountOrder::LargestMaintenanceFirst => {
                while let Some(k) = (0..legs).filter(|&k| in_b(&self.book, k)).max_by(|&x, &y| {
                    self.book
                        .leg_maintenance(self.rules, x, px)
                        .total_cmp(&self.book.leg_maintenance(self.rules, y, px))
                }) {
                    let after = self.book.bucket_equity(b, px);
                    let fee = (self.rules[k].liquidation_fee * self.book.notional(k, px).abs())
                        .min(after.max(0.0));
                    let last = (0..legs).filter(|&j| in_b(&self.book, j)).count() == 1;
                    let bad = if last { (-after).max(0.0) } else { 0.0 };
                    self.close_leg(k, b, ts, px, fee, bad, gapped, cause);
                    if last {
                        self.book.wallet[b] = self.book.wallet[b].max(0.0);
                        break;
                    }
                    if self.book.slack(self.scope, self.rules, b, px) > 0.0 {
                        break;
                    }
                }
            }
        }
        self.acc.mark_equity(self.book.equity(px));
        if !self.account.reenter {
            self.stopped = true;
        }
    }

    /// Closes leg `k` of bucket `b` at `px[k]` by liquidation, charging
    /// `fee` and recording `bad` debt.
    #[allow(clippy::too_many_arguments)]
    fn close_leg(
        &mut self,
        k: usize,
        b: usize,
        ts: TimestampNs,
        px: &[f64],
        fee: f64,
        bad: f64,
        gapped: bool,
        cause: usize,
    ) {
        let q = self.book.qty[k];
        let equity_before = self.book.bucket_equity(b, px);
        let bankruptcy = self.book.zero_equity_price(k, px[k], equity_before);
        let (_, realized) = self.book.trade_to(k, 0.0, px[k], 0.0);
        self.bounds_stale = true;
        self.book.wallet[b] -= fee;
        if bad > 0.0 {
            // The account keeps zero; the venue covers the rest.
            self.book.wallet[b] += bad;
        }
        let l = &mut self.legs[k].m;
        l.pnl += realized;
        l.liquidations += 1;
        l.liquidation_fees += fee;
        l.liquidated_notional += q.abs() * px[k];
        l.first_liquidation_ts.get_or_insert(ts);
        let a = &mut self.acc;
        a.tranches += 1;
        a.liquidation_fees += fee;
        a.bad_debt += bad;
        a.fund.deposit(fee);
        if bad > 0.0 {
            let venue = &self.rules[0];
            let w = waterfall::settle(bad, &mut a.fund, venue.adl, f64::INFINITY, !venue.adl);
            a.waterfall.insurance_fund += w.insurance_fund;
            a.waterfall.adl += w.adl;
            a.waterfall.socialized += w.socialized;
            a.waterfall.unresolved += w.unresolved;
        }
        let side = if q > 0.0 { Side::Long } else { Side::Short };
        self.liqs.push(LiquidationEvent {
            ts,
            side,
            qty: q.abs(),
            remaining_qty: 0.0,
            liquidation_price: px[k],
            fill_price: px[k],
            // Where the bucket's equity would be zero with the others held.
            bankruptcy_price: bankruptcy,
            fee,
            bad_debt: bad,
            equity_after: self.book.bucket_equity(b, px),
            gapped,
            backstop: false,
        });
        self.liq_legs.push(k as u16);
        self.liq_causes.push(cause as u16);
    }

    /// Each leg's maintenance (into `self.mm`), each bucket's slack, the
    /// distance per leg to its bucket's requirement with the others held
    /// (at the current bracket), and the account's worst bucket ratio.
    ///
    /// `equity`: the account's equity at `marks` when the caller has it
    /// (the one bucket of a cross account has that equity).
    fn distances(&mut self, marks: &[f64], equity: Option<f64>) -> f64 {
        let legs = self.book.legs();
        let one = !self.book.isolated && self.book.wallet.len() == 1;
        for k in 0..legs {
            self.mm[k] = self.book.leg_maintenance(self.rules, k, marks);
        }
        let sums = self.scope.sums_leg_maintenance();
        let mut worst = 0.0f64;
        for b in 0..self.book.buckets() {
            if !self.book.bucket_open(b) {
                self.slack[b] = f64::NAN;
                continue;
            }
            let e = match equity {
                Some(e) if one => e,
                _ => self.book.bucket_equity(b, marks),
            };
            let req = if sums {
                (0..legs)
                    .filter(|&k| self.book.bucket[k] == b)
                    .map(|k| self.mm[k])
                    .sum()
            } else {
                self.scope.requirement(&self.book, self.rules, b, marks)
            };
            self.slack[b] = e - req;
            worst = worst.max(if e > 0.0 { req / e } else { f64::INFINITY });
        }
        for k in 0..legs {
            let q = self.book.qty[k];
            self.dist[k] = if q == 0.0 {
                f64::NAN
            } else {
                let slack = self.slack[self.book.bucket[k]];
                let n = self.book.notional(k, marks).abs();
                let rate = if sums { self.mm[k] / n } else { 0.0 };
                // An adverse move moves the requirement with the coin
                // notional of an inverse leg, against the quote notional
                // of a linear one.
                let drift = if self.book.inverse[k] { -rate } else { rate };
                let denom = n * (1.0 - q.signum() * drift);
                if slack <= 0.0 {
                    0.0
                } else if denom > 0.0 {
                    slack / denom
                } else {
                    f64::INFINITY
                }
            };
        }
        worst
    }

    /// Each bucket's requirement bound over the rest of the run (bars
    /// `i..`) at the current sizes: a point whose equity is above it cannot
    /// be liquidated. Read again whenever a size changes.
    fn refresh_run_bounds(&mut self, i: usize, max_notional: &mut [f64]) {
        let t = self.tape;
        let n = t.len();
        for (k, m) in max_notional.iter_mut().enumerate() {
            let q = self.book.qty[k].abs();
            let r = k * n + i..(k + 1) * n;
            *m = if q == 0.0 {
                0.0
            } else if self.book.inverse[k] {
                let lo = [&t.low[r.clone()], &t.open[r.clone()], &t.close[r]]
                    .iter()
                    .flat_map(|c| c.iter())
                    .fold(f64::INFINITY, |a, &x| a.min(x));
                q / lo
            } else {
                let hi = [&t.high[r.clone()], &t.open[r.clone()], &t.close[r]]
                    .iter()
                    .flat_map(|c| c.iter())
                    .fold(0.0f64, |a, &x| a.max(x));
                q * hi
            };
        }
        for b in 0..self.book.buckets() {
            self.run_bound[b] = if self.book.bucket_open(b) {
                self.scope
                    .requirement_bound(&self.book, self.rules, b, max_notional)
            } else {
                f64::NEG_INFINITY
            };
        }
        self.bounds_stale = false;
    }

    fn close_bar(&mut self, marks: &[f64]) {
        let earned = self.reserve * self.account.reserve_yield * self.bar_years;
        self.reserve += earned;
        self.reserve_yield += earned;
        self.acc.reserve_end = self.reserve;
        let a = &mut self.acc;
        a.bars += 1;
        let equity = self.book.equity(marks);
        if !self.book.is_flat() {
            let gross: f64 = (0..self.book.legs())
                .map(|k| self.book.notional(k, marks).abs())
                .sum();
            a.bars_in_market += 1;
            a.lev_sum += gross / equity;
            a.exposure_sum += gross;
            let ratio = self.distances(marks, Some(equity));
            if equity > 0.0 {
                self.acc.util_sum += ratio;
            }
            for k in 0..self.book.legs() {
                let d = self.dist[k];
                if d.is_finite() && d < self.acc.min_dist {
                    self.acc.min_dist = d;
                }
            }
        }
        if self.reserve > 0.0 && equity + self.reserve > 0.0 {
            self.acc.idle_sum += self.reserve / (equity + self.reserve);
        }
        let open = !self.book.is_flat();
        for k in 0..self.book.legs() {
            let q = self.book.qty[k];
            let l = &mut self.legs[k];
            // `distances` left each leg's maintenance at this close.
            if open {
                l.mm_sum += self.mm[k];
            }
            if q != 0.0 && equity > 0.0 {
                l.open_bars += 1;
                l.lev_sum += self.book.notional(k, marks) / equity;
            }
        }
    }

    fn record(&mut self, s: &mut PortfolioSeries, ts: TimestampNs, marks: &[f64]) {
        let equity = self.book.equity(marks);
        let gross: f64 = (0..self.book.legs())
            .map(|k| self.book.notional(k, marks).abs())
            .sum();
        let ratio = if self.book.is_flat() {
            0.0
        } else {
            self.distances(marks, Some(equity))
        };
        s.ts.push(ts);
        s.equity.push(equity);
        s.leverage
            .push(if equity > 0.0 { gross / equity } else { 0.0 });
        s.margin_ratio.push(ratio);
        let (mut delta, mut gamma, mut vega) = (0.0, 0.0, 0.0);
        for k in 0..self.book.legs() {
            s.close[k].push(marks[k]);
            s.notional[k].push(self.book.notional(k, marks));
            s.maintenance[k].push(self.book.leg_maintenance(self.rules, k, marks));
            let q = self.book.qty[k];
            match self.book.option[k].filter(|_| self.book.has_options) {
                Some(o) => {
                    let t = (o.expiry - self.book.now) as f64 / (365.0 * 86_400e9);
                    let u = marks[o.underlying];
                    let g = levsim_options::greeks(u, o.strike, t, self.book.iv[k], o.kind);
                    delta += q * g.delta * u;
                    gamma += q * g.gamma * u * u / 100.0;
                    vega += q * g.vega;
                }
                // An inverse leg's size is its USD face: its delta in USD.
                None if self.book.inverse[k] => delta += q,
                None => delta += self.book.notional(k, marks),
            }
        }
        s.delta_notional.push(delta);
        s.gamma_1pct.push(gamma);
        s.vega.push(vega);
        if self.book.has_options && !self.book.coin_options {
            let m = super::models::model_margins(&self.book, marks);
            s.margin_greek.push(m.greek);
            s.margin_full.push(m.full);
            s.margin_span.push(m.span);
            s.binding_move.push(m.binding_move);
            s.binding_vol.push(m.binding_vol);
            if m.full > 0.0 && s.stress.as_ref().is_none_or(|t| m.full > t.full) {
                s.stress = Some(super::models::stress_table(&self.book, marks, ts, m.full));
            }
        }
    }

    fn decide(&mut self, ts: TimestampNs, marks: &[f64], seen: usize) {
        let ratio = if self.book.is_flat() {
            self.dist.iter_mut().for_each(|d| *d = f64::NAN);
            0.0
        } else {
            self.distances(marks, None)
        };
        let requirement: f64 = (0..self.book.buckets())
            .map(|b| self.scope.requirement(&self.book, self.rules, b, marks))
            .sum();
        self.target.iter_mut().for_each(|t| *t = 0.0);
        for k in 0..self.book.legs() {
            self.notional[k] = self.book.notional(k, marks);
            let (delta, gamma, vega, iv) = match self.book.option[k]
                .filter(|_| self.book.has_options)
            {
                Some(o) => {
                    let t = (o.expiry - self.book.now) as f64 / (365.0 * 86_400e9);
                    let iv = self.book.iv[k];
                    let g = levsim_options::greeks(marks[o.underlying], o.strike, t, iv, o.kind);
                    (g.delta, g.gamma, g.vega, iv)
                }
                None => (1.0, 0.0, 0.0, 0.0),
            };
            self.delta[k] = delta;
            self.gamma[k] = gamma;
            self.vega[k] = vega;
            self.leg_iv[k] = iv;
        }
        let obs = PortfolioObservation {
            ts,
            seen,
            bar_years: self.bar_years,
            marks,
            qty: &self.book.qty,
            notional: &self.notional,
            entry: &self.book.entry,
            delta: &self.delta,
            gamma: &self.gamma,
            vega: &self.vega,
            iv: &self.leg_iv,
            delta_leg: &self.delta_leg,
            liquidation_distance: &self.dist,
            equity: self.book.equity(marks),
            requirement,
            margin_ratio: ratio,
            reserve: self.reserve,
            liquidations: self.acc.tranches,
            close_columns: &self.tape.close,
            bars: self.tape.len(),
        };
        let d = self.policy.decide(&obs, &mut self.target);
        match d {
            PortfolioDecision::Hold => {}
            PortfolioDecision::TopUp(x) => self.top_up(x, marks),
            PortfolioDecision::Close => {
                self.target.iter_mut().for_each(|t| *t = 0.0);
                self.trade(ts, marks);
            }
            PortfolioDecision::Target => self.trade(ts, marks),
        }
    }

    /// `account.transfer` at a bar close (`now`: the bar's end): to each
    /// open isolated account whose margin ratio reaches the trigger, with
    /// nothing already on its way, the account with the most to spare
    /// sends that share of its cash above what keeps it at the trigger
    /// (when that is at least 1 % of the receiving account's requirement).
    fn start_transfers(&mut self, rule: &crate::TransferRule, now: TimestampNs, marks: &[f64]) {
        let nb = self.book.buckets();
        for b in 0..nb {
            if !self.book.bucket_open(b) || self.incoming[b] {
                continue;
            }
            let e = self.book.bucket_equity(b, marks);
            let req = self.scope.requirement(&self.book, self.rules, b, marks);
            if !(e <= 0.0 || req / e >= rule.trigger) {
                continue;
            }
            let spare = |s: usize| {
                let es = self.book.bucket_equity(s, marks);
                let rs = if self.book.bucket_open(s) {
                    self.scope.requirement(&self.book, self.rules, s, marks)
                } else {
                    0.0
                };
                // Cash only (no unrealized profit), and what keeps the
                // source below the trigger; a closed account sends what
                // is left in it.
                (es - rs / rule.trigger).min(self.book.wallet[s])
            };
            let Some((s, free)) = (0..nb)
                .filter(|&s| s != b)
                .map(|s| (s, spare(s)))
                .max_by(|x, y| x.1.total_cmp(&y.1).then(y.0.cmp(&x.0)))
            else {
                continue;
            };
            // Not worth a transfer below 1 % of what the account needs.
            let x = rule.share * free;
            if !(x > 0.01 * req) {
                continue;
            }
            self.book.wallet[s] -= x;
            self.in_transit += x;
            self.incoming[b] = true;
            self.pending.push_back((now + rule.delay_ns(), b, x));
            self.transfers.transfers += 1;
            self.transfers.transferred += x;
            self.bounds_stale = true;
        }
    }

    fn top_up(&mut self, x: f64, marks: &[f64]) {
        let x = if x.is_finite() {
            x.min(self.reserve).max(0.0)
        } else {
            0.0
        };
        if x <= 0.0 {
            self.acc.refused += u32::from(!(x == 0.0));
            return;
        }
        // Into the most loaded bucket.
        let b = (0..self.book.buckets())
            .filter(|&b| self.book.bucket_open(b))
            .max_by(|&p, &q| {
                let ratio = |b: usize| {
                    let e = self.book.bucket_equity(b, marks);
                    let r = self.scope.requirement(&self.book, self.rules, b, marks);
                    if e > 0.0 {
                        r / e
                    } else {
                        f64::INFINITY
                    }
                };
                ratio(p).total_cmp(&ratio(q))
            })
            .unwrap_or(0);
        self.reserve -= x;
        self.book.wallet[b] += x;
        self.acc.topups += 1;
        self.acc.topped_up += x;
    }

    /// Settles expired option leg `k` at its price (intrinsic value): the
    /// position closes with no fee and its PnL is realized.
    fn settle(&mut self, k: usize, marks: &[f64]) {
        let (_, realized) = self.book.trade_to(k, 0.0, marks[k], 0.0);
        self.bounds_stale = true;
        let l = &mut self.legs[k].m;
        l.pnl += realized;
        l.expired += 1;
    }

    /// The initial margin of leg `k` at `size` on its own: a linear or
    /// inverse leg's notional over the venue's maximum leverage for it; a
    /// short option's Deribit standard rate (SPEC §8.2 in quote:
    /// `max(0.15·S − OTM, 0.1·S) + mark` per option; in coin for
    /// coin-settled options), a long option's none
    /// beyond the premium it pays.
    fn leg_initial(&self, k: usize, size: f64, notional: f64, marks: &[f64]) -> f64 {
        match &self.book.option[k] {
            None => {
                let n = notional.abs();
                if n > 0.0 {
                    // Size-scaled rates see base units: the coin notional
                    // of an inverse leg, the size of a linear one.
                    let base = if self.book.inverse[k] { n } else { size.abs() };
                    n / self.rules[k].max_leverage_sized(n, base)
                } else {
                    0.0
                }
            }
            Some(o) if size < 0.0 => {
                let s = marks[o.underlying];
                let otm = match o.kind {
                    levsim_options::OptionKind::Call => (o.strike - s).max(0.0),
                    levsim_options::OptionKind::Put => (s - o.strike).max(0.0),
                };
                // Coin-settled: per option in coin, `max(0.15 − OTM/S,
                // 0.1) + mark` (the mark already in coin).
                let scale = if self.book.coin_options { 1.0 / s } else { 1.0 };
                -size * ((0.15 * s - otm).max(0.1 * s) * scale + marks[k])
            }
            Some(_) => 0.0,
        }
    }

    /// Trades every leg to the signed leverages in `self.target` at
    /// `marks`, each paying its taker fee; sizes are solved so that the
    /// leverages hold after the fees. Refused (and counted) when a target
    /// is not finite, the account has no equity, or a bucket would hold
    /// less than its initial margin (Σ notional / the venue's maximum
    /// leverage for it; under portfolio margin the grid's requirement of
    /// the new positions).
    fn trade(&mut self, ts: TimestampNs, marks: &[f64]) {
        let legs = self.book.legs();
        // NaN means "keep this leg as it is"; an infinite target is refused.
        if self.target.iter().any(|t| t.is_infinite()) {
            self.acc.refused += 1;
            return;
        }
        let equity = self.book.equity(marks);
        if equity <= 0.0 {
            self.acc.refused += 1;
            return;
        }
        // Nothing is traded in an expired option.
        for k in 0..legs {
            if self.book.expired(k) {
                self.target[k] = 0.0;
            }
        }
        let fee_of = |e1: f64, book: &Book, target: &[f64], rules: &[VenueProfile]| -> f64 {
            (0..legs)
                .filter(|&k| !target[k].is_nan())
                .map(|k| (target[k] * e1 - book.notional(k, marks)).abs() * rules[k].taker_fee)
                .sum()
        };
        let mut e1 = equity;
        for _ in 0..60 {
            let e2 = equity - fee_of(e1, &self.book, &self.target, self.rules);
            let done = (e2 - e1).abs() <= 1e-15 * equity;
            e1 = e2;
            if done {
                break;
            }
        }
        // Kept legs: their current leverage at the equity after the fees.
        for k in 0..legs {
            if self.target[k].is_nan() {
                self.target[k] = self.book.notional(k, marks) / e1;
            }
        }
        let gross: f64 = self.target.iter().map(|t| t.abs()).sum();
        // Initial margin per bucket after the trade (isolated buckets get
        // the equity in proportion to their legs' targets).
        let mut need = vec![0.0; self.book.buckets()];
        let signed: Vec<f64> = self.target.iter().map(|t| t * e1).collect();
        let options = self.book.option.iter().any(Option::is_some);
        match self.scope.joint_initial(&signed) {
            Some(joint) if !options => need[0] = joint,
            _ => {
                for k in 0..legs {
                    let size = self.book.size_for(k, signed[k], marks);
                    need[self.book.bucket[k]] += self.leg_initial(k, size, signed[k], marks);
                }
            }
        }
        for (b, n) in need.iter().enumerate() {
            let have = if self.scope.isolated() {
                if gross > 0.0 {
                    e1 * self.target[b].abs() / gross
                } else {
                    0.0
                }
            } else {
                e1
            };
            if *n > have * (1.0 + 1e-12) {
                self.acc.refused += 1;
                return;
            }
        }
        let mut traded = false;
        for k in 0..legs {
            let q = self.book.size_for(k, self.target[k] * e1, marks);
            let before = self.book.qty[k];
            if (q - before).abs() <= 1e-12 * q.abs().max(before.abs()) {
                continue;
            }
            let (fee, realized) = self.book.trade_to(k, q, marks[k], self.rules[k].taker_fee);
            self.bounds_stale = true;
            let l = &mut self.legs[k].m;
            l.trading_fees += fee;
            l.pnl += realized;
            l.trades += 1;
            self.acc.trading_fees += fee;
            self.acc.trades += 1;
            traded = true;
        }
        if !traded {
            return;
        }
        if self.scope.isolated() && gross > 0.0 {
            // Re-split the margin in proportion to the targets (a trader
            // moving margin between isolated positions).
            let total = self.book.equity(marks);
            for k in 0..legs {
                let want = total * self.target[k].abs() / gross;
                let have = self.book.bucket_equity(k, marks);
                self.book.wallet[k] += want - have;
            }
        }
        self.acc.mark_equity(self.book.equity(marks));
        // A trade whose own fees leave a bucket at its requirement is
        // liquidated on the spot.
        for b in 0..self.book.buckets() {
            if self.book.bucket_open(b) && self.book.slack(self.scope, self.rules, b, marks) <= 0.0
            {
                self.liquidate(b, ts, marks, true);
            }
        }
    }
}
