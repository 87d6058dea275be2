//! The market pass (DESIGN §4.1): the exogenous path and the crowd through
//! the venue's liquidation engine, with cascades.
//!
//! Per bar, at its open and at each intrabar point (`L, H, C` or `H, L, C`;
//! four points a bar, a quarter of the bar apart):
//! the mark is the exogenous price times `1 + impact`; every crowd account
//! the mark has crossed is liquidated (most underwater first) in one round,
//! their forced orders fill through the liquidity model as one order, the
//! impact moves the mark, and the next round checks again, until a round
//! crosses nobody or `max_rounds` is reached (recorded). A partially
//! liquidated account waits for the next point before its next tranche (a
//! cooldown, as venues with partial liquidation have). Impact decays
//! between points with the liquidity model's half-life. Deficits go to the
//! insurance fund; what it cannot pay after a round goes to ADL against the
//! profitable opposite side (ranked by PnL % × leverage; what their profit
//! cannot cover is socialized) or, without ADL, is socialized over the
//! opposite side's open interest.
//!
//! Money is tracked as cash in four places, crowd accounts, the insurance
//! fund, traders who left (paid out) and the outside world (the book that
//! takes the forced orders, and funding counterparties), so
//! `conservation_error` is the imbalance of a double-entry ledger.

use levsim_core::{FundingSeries, MarketTape, TimestampNs};
use serde::{Deserialize, Serialize};

use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use super::index::SideIndex;
use super::population::{MarginGroup, Population};
use crate::liquidity::LiquidityModel;
use crate::path::intrabar_path;
use crate::VenueProfile;

/// Per-bar series of a market pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MarketSeries {
    /// Bar open time.
    pub ts: Vec<TimestampNs>,
    /// Exogenous (historical or generated) close.
    pub price_close: Vec<f64>,
    /// Simulated mark at the close.
    pub mark_close: Vec<f64>,
    /// Lowest simulated mark in the bar.
    pub mark_low: Vec<f64>,
    /// Long notional liquidated in the bar (quote, at fill prices).
    pub liquidated_long: Vec<f64>,
    /// Short notional liquidated in the bar.
    pub liquidated_short: Vec<f64>,
    /// Most cascade rounds at one point of the bar.
    pub rounds: Vec<u32>,
    /// Insurance fund at the bar's end.
    pub insurance_fund: Vec<f64>,
    /// ADL notional in the bar.
    pub adl_notional: Vec<f64>,
    /// Loss socialized in the bar.
    pub socialized: Vec<f64>,
}

/// Summary of a market pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MarketMetrics {
    /// Crowd accounts at the start.
    pub accounts: usize,
    /// Generated accounts dropped as liquidated before the start.
    pub dropped_before_start: usize,
    /// Open interest at entry (quote).
    pub open_interest: f64,
    /// Crowd margin locked per unit of exposure at the start (capital
    /// efficiency: lower = more exposure per unit of collateral).
    pub margin_per_exposure: f64,
    /// Notional liquidated (quote, at fill prices).
    pub liquidated_notional: f64,
    /// Of which longs.
    pub liquidated_notional_long: f64,
    /// Of which shorts.
    pub liquidated_notional_short: f64,
    /// Liquidation events (a partial liquidation counts once per tranche).
    pub liquidations: u64,
    /// Of which longs.
    pub liquidations_long: u64,
    /// Of which shorts.
    pub liquidations_short: u64,
    /// Accounts fully closed by liquidation.
    pub accounts_liquidated: u64,
    /// Accounts replayed from a book of positions (`[population] file`).
    #[serde(default)]
    pub book_accounts: usize,
    /// Of them, fully closed by liquidation.
    #[serde(default)]
    pub book_accounts_liquidated: u64,
    /// Notional liquidated from them (quote, at fill prices).
    #[serde(default)]
    pub book_liquidated_notional: f64,
    /// Most cascade rounds at one point.
    pub cascade_rounds_max: u32,
    /// Points where the round cap stopped a cascade.
    pub round_cap_hits: u32,
    /// Largest |simulated mark / exogenous price − 1|, percent.
    pub max_mark_deviation_pct: f64,
    /// Largest cascade ratio R at one point: impact of the point's
    /// liquidations over the total move (exogenous + impact); for a linear
    /// book and uniform liquidation density, R = ℓ/D of CLOSED_FORM F8.
    pub cascade_ratio_max: f64,
    /// Cascade ratio over all points with liquidations: Σ impact of their
    /// liquidations / Σ total move (exogenous + impact) there.
    pub cascade_ratio: f64,
    /// Insurance fund at the start.
    pub insurance_fund_start: f64,
    /// Lowest insurance fund.
    pub insurance_fund_min: f64,
    /// Insurance fund at the end.
    pub insurance_fund_end: f64,
    /// Largest fall of the fund from its running peak.
    pub insurance_fund_drawdown: f64,
    /// What the fund received: partial-liquidation fees and the margin left
    /// in fully liquidated accounts.
    pub insurance_fund_income: f64,
    /// Losses beyond liquidated accounts' margin.
    pub bad_debt: f64,
    /// ADL events.
    pub adl_count: u64,
    /// Notional closed by ADL (at the mark).
    pub adl_notional: f64,
    /// Deficit covered by ADL.
    pub adl_covered: f64,
    /// Deficit socialized over the opposite side.
    pub socialized_loss: f64,
    /// Deficit nobody covered (no fund, no counterparty left).
    pub uncovered_deficit: f64,
    /// Forced-order size the book could not fill (base units).
    pub unfilled: f64,
    /// Crowd accounts whose margin top-up landed.
    pub topups: u64,
    /// Collateral they added (quote, from outside the venue).
    pub topup_deposits: f64,
    /// Top-ups that landed after their account was liquidated.
    pub topups_too_late: u64,
    /// Accounts opened by renewal (`renew`), replacing liquidated ones.
    #[serde(default)]
    pub renewed_accounts: u64,
    /// Collateral they brought (quote, from outside the venue).
    #[serde(default)]
    pub renewed_collateral: f64,
    /// Imbalance of the money ledger (quote; ~0).
    pub conservation_error: f64,
}

/// A crowd ADL event, for the subject accounts of the account pass: at
/// `ts`, profitable positions on `side` ranked at or above `cutoff`
/// (PnL % × leverage, the lowest score the crowd's ADL reached) were closed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdlEvent {
    /// When.
    pub ts: TimestampNs,
    /// +1: longs were deleveraged; −1: shorts.
    pub side: i8,
    /// Lowest ranking score reached.
    pub cutoff: f64,
}

/// The result of a market pass.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketPass {
    /// The simulated mark as bars (open, extremes over every point and
    /// round, close): what the subject accounts then trade against.
    pub tape: MarketTape,
    /// Per-bar series.
    pub series: MarketSeries,
    /// Summary.
    pub metrics: MarketMetrics,
    /// The crowd's ADL events (for the subjects' account pass).
    pub adl_events: Vec<AdlEvent>,
}

struct State {
    side: Vec<i8>,
    qty: Vec<f64>,
    entry: Vec<f64>,
    coll: Vec<f64>,
    o_ins: Vec<f64>,
    version: Vec<u32>,
    alive: Vec<bool>,
    group: Vec<u16>,
    rate: Vec<f64>,
    cum: Vec<f64>,
    /// Funding and socialized losses per unit, long and short.
    o_long: f64,
    o_short: f64,
    q_long: f64,
    q_short: f64,
    /// Accounts alive per side (the quantities above carry rounding).
    n_long: usize,
    n_short: usize,
    fund: f64,
    paid_out: f64,
    outside: f64,
    /// Slots of closed generated accounts a renewing crowd reuses (None:
    /// the crowd does not renew); the book's accounts are not reused.
    free: Option<Vec<u32>>,
    book: std::ops::Range<usize>,
}

impl State {
    fn offset(&self, side: i8) -> f64 {
        if side > 0 {
            self.o_long
        } else {
            self.o_short
        }
    }

    /// Collateral after funding and socialized losses since insertion.
    fn coll_eff(&self, i: usize) -> f64 {
        let s = self.side[i];
        self.coll[i] - f64::from(s) * (self.offset(s) - self.o_ins[i]) * self.qty[i]
    }

    /// The signed index key of account `i` (crossed when key ≥ threshold).
    fn key(&self, i: usize) -> f64 {
        let g = self.group[i] as usize;
        let s = f64::from(self.side[i]);
        let k = self.entry[i] - s * (self.coll[i] + self.cum[g]) / self.qty[i] - self.o_ins[i];
        s * k
    }

    fn close(&mut self, i: usize) {
        self.alive[i] = false;
        if let Some(f) = self.free.as_mut() {
            if !self.book.contains(&i) {
                f.push(i as u32);
            }
        }
        if self.side[i] > 0 {
            self.n_long -= 1;
        } else {
            self.n_short -= 1;
        }
    }

    /// Index of account `i`'s (group, side) in the per-bucket indexes.
    fn bucket(&self, i: usize) -> usize {
        self.group[i] as usize * 2 + usize::from(self.side[i] < 0)
    }

    fn remove_qty(&mut self, i: usize, q: f64) {
        if self.side[i] > 0 {
            self.q_long -= q;
        } else {
            self.q_short -= q;
        }
    }
}

/// Runs the crowd `pop` over `tape` under `venue`'s rules with forced
/// orders filled by `liquidity`; `max_rounds` caps the cascade rounds at
/// one point.
pub fn market_pass<L: LiquidityModel>(
    tape: &MarketTape,
    funding: Option<&FundingSeries>,
    venue: &VenueProfile,
    pop: &Population,
    liquidity: &mut L,
    max_rounds: usize,
) -> MarketPass {
    let opts = PassOptions {
        max_rounds,
        ..PassOptions::default()
    };
    market_pass_with(tape, funding, venue, pop, liquidity, &opts)
}

/// Options of a market pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassOptions<'a> {
    /// Most cascade rounds at one price point.
    pub max_rounds: usize,
    /// How crowd accounts flagged in [`Population::topup`] top up.
    pub topup: Option<super::TopUpRule>,
    /// How crossed accounts are found.
    pub crossing: Crossing,
    /// How the crowd renews itself (None: it does not).
    pub renew: Option<&'a super::RenewRule>,
}

impl Default for PassOptions<'_> {
    fn default() -> Self {
        Self {
            max_rounds: 50,
            topup: None,
            crossing: Crossing::Index,
            renew: None,
        }
    }
}

/// How a market pass finds the accounts a mark has crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossing {
    /// The sorted indexes: O(k log N) for k crossed accounts.
    Index,
    /// A scan of every live account at every check: O(N), the baseline the
    /// index is measured and tested against.
    Scan,
}

/// [`market_pass`] with all its options.
pub fn market_pass_with<L: LiquidityModel>(
    tape: &MarketTape,
    funding: Option<&FundingSeries>,
    venue: &VenueProfile,
    pop: &Population,
    liquidity: &mut L,
    opts: &PassOptions<'_>,
) -> MarketPass {
    let (max_rounds, crossing) = (opts.max_rounds, opts.crossing);
    let topup = opts.topup.filter(|_| pop.topup.iter().any(|&t| t));
    liquidity.reset();
    let n = pop.len();
    let groups = pop.groups.len();
    let mut st = State {
        side: pop.side.clone(),
        qty: pop.qty.clone(),
        entry: pop.entry.clone(),
        coll: pop.collateral.clone(),
        o_ins: vec![0.0; n],
        version: vec![0; n],
        alive: vec![true; n],
        group: pop.group.clone(),
        rate: pop.groups.iter().map(|g| g.rate).collect(),
        cum: pop.groups.iter().map(|g| g.cum).collect(),
        o_long: 0.0,
        o_short: 0.0,
        q_long: 0.0,
        q_short: 0.0,
        n_long: 0,
        n_short: 0,
        fund: venue.insurance_fund,
        paid_out: 0.0,
        outside: 0.0,
        free: opts.renew.map(|_| Vec::new()),
        book: pop.book.clone(),
    };
    let initial_money: f64 = pop.collateral.iter().sum::<f64>() + venue.insurance_fund;
    let mut buckets: Vec<Vec<(f64, u32)>> = vec![Vec::new(); groups * 2];
    for i in 0..n {
        let b = st.bucket(i);
        buckets[b].push((st.key(i), i as u32));
        if st.side[i] > 0 {
            st.q_long += st.qty[i];
            st.n_long += 1;
        } else {
            st.q_short += st.qty[i];
            st.n_short += 1;
        }
    }
    let mut index: Vec<SideIndex> = buckets.into_iter().map(SideIndex::new).collect();
    // Top-up triggers: the same keys, for the accounts that top up, crossed
    // at a threshold `trigger` before the liquidation price.
    let mut tbuckets: Vec<Vec<(f64, u32)>> = vec![Vec::new(); groups * 2];
    let tkey: Vec<f64> = if topup.is_some() {
        (0..n).map(|i| st.key(i)).collect()
    } else {
        Vec::new()
    };
    if topup.is_some() {
        for i in (0..n).filter(|&i| pop.topup[i]) {
            tbuckets[st.bucket(i)].push((tkey[i], i as u32));
        }
    }
    let mut tindex: Vec<SideIndex> = tbuckets.into_iter().map(SideIndex::new).collect();
    let mut triggered = vec![false; if topup.is_some() { n } else { 0 }];
    let mut pending: std::collections::VecDeque<(TimestampNs, u32)> =
        std::collections::VecDeque::new();
    let init_coll = pop.collateral.clone();
    let mut deposits = 0.0;
    let mut fired: Vec<u32> = Vec::new();
    let (oi_l, oi_s) = pop.open_interest();
    let mut m = MarketMetrics {
        accounts: n,
        book_accounts: pop.book.len(),
        dropped_before_start: pop.dropped,
        open_interest: oi_l + oi_s,
        margin_per_exposure: pop.margin_per_exposure(),
        insurance_fund_start: venue.insurance_fund,
        insurance_fund_min: venue.insurance_fund,
        ..Default::default()
    };
    let mut series = MarketSeries::default();
    let mut out = MarketTape {
        symbol: tape.symbol.clone(),
        interval_ns: tape.interval_ns,
        ..Default::default()
    };
    let liq_fee = venue.liquidation_fee;
    let fraction = venue.crowd.fraction;
    // Dynamic maintenance: realized volatility of bar closes over a window.
    let dynamic = venue.crowd.dynamic_margin.as_ref().map(|(d, w)| {
        let bars = ((*w as f64 / tape.interval_ns.max(1) as f64).round() as usize).max(2);
        (d.clone(), bars)
    });
    let year_bars = 365.0 * 86_400e9 / tape.interval_ns.max(1) as f64;
    let mut sq_returns: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
    let mut sq_sum = 0.0;
    let mut base_rates = st.rate.clone();
    let mut group_list: Vec<MarginGroup> = pop.groups.clone();
    let mut renew_rng = rand_pcg::Pcg64Mcg::seed_from_u64(opts.renew.map_or(0, |r| r.seed));
    let mut fi = funding.map_or(0, |f| {
        f.ts.partition_point(|&t| t < tape.ts.first().copied().unwrap_or(0))
    });
    let mut fund_peak = st.fund;
    let mut prev_price = tape.open.first().copied().unwrap_or(0.0);
    let mut last_mark = prev_price;
    let mut crossed: Vec<u32> = Vec::new();
    let mut cooling: Vec<u32> = Vec::new();
    let mut cool = vec![false; n];
    let (mut r_num, mut r_den) = (0.0, 0.0);
    // Deficits of the current round from bankrupt longs and shorts.
    let mut round_bad = [0.0f64; 2];
    let mut adl_events: Vec<AdlEvent> = Vec::new();
    for k in 0..tape.len() {
        let t0 = tape.ts[k];
        // Funding due at or before this bar's open, at the last mark.
        if let Some(f) = funding.filter(|_| venue.funding) {
            while fi < f.ts.len() && f.ts[fi] <= t0 {
                let d = f.rate[fi] * last_mark;
                st.o_long += d;
                st.o_short += d;
                st.outside += d * (st.q_long - st.q_short);
                fi += 1;
            }
        }
        if let Some((d, bars)) = &dynamic {
            let sigma = if sq_returns.len() >= 2 {
                (sq_sum / sq_returns.len() as f64 * year_bars).sqrt()
            } else {
                d.sigma_ref
            };
            for (r, b) in st.rate.iter_mut().zip(&base_rates) {
                *r = (b * (sigma / d.sigma_ref).powf(d.beta)).clamp(d.mmr_min, d.mmr_max);
            }
            let _ = bars;
        }
        let (mut hi, mut lo) = (f64::NEG_INFINITY, f64::INFINITY);
        let mut open_mark = f64::NAN;
        let mut bar_liq = (0.0, 0.0);
        let mut bar_rounds = 0u32;
        let mut bar_adl = 0.0;
        let mut bar_social = 0.0;
        let path = intrabar_path(tape.open[k], tape.high[k], tape.low[k], tape.close[k]);
        let points = [tape.open[k], path[0], path[1], path[2]];
        for (j, &p) in points.iter().enumerate() {
            let t = t0 + tape.interval_ns * j as i64 / 4;
            if let Some(rule) = topup {
                // Land the top-ups that are due, then look for new triggers.
                while pending.front().is_some_and(|&(due, _)| due <= t) {
                    let Some((_, id)) = pending.pop_front() else {
                        break;
                    };
                    let i = id as usize;
                    if !st.alive[i] {
                        m.topups_too_late += 1;
                        continue;
                    }
                    let add = rule.amount * init_coll[i];
                    st.coll[i] = st.coll_eff(i) + add;
                    st.o_ins[i] = st.offset(st.side[i]);
                    st.version[i] += 1;
                    deposits += add;
                    m.topups += 1;
                    m.topup_deposits += add;
                    if crossing == Crossing::Index {
                        let b = st.bucket(i);
                        index[b].insert(st.key(i), id, st.version[i]);
                    }
                }
                let mark = p * (1.0 + liquidity.impact(t));
                fired.clear();
                match crossing {
                    Crossing::Index => {
                        for g in 0..st.rate.len() {
                            let r = st.rate[g];
                            let trig = &triggered;
                            let a = &st.alive;
                            let live = |id: u32, _: u32| a[id as usize] && !trig[id as usize];
                            tindex[g * 2].pop_crossed(
                                mark * (1.0 - r) / (1.0 + rule.trigger) - st.o_long,
                                &live,
                                &mut fired,
                            );
                            tindex[g * 2 + 1].pop_crossed(
                                -(mark * (1.0 + r) / (1.0 - rule.trigger) - st.o_short),
                                &live,
                                &mut fired,
                            );
                        }
                    }
                    Crossing::Scan => {
                        for i in (0..n).filter(|&i| pop.topup[i] && st.alive[i] && !triggered[i]) {
                            let r = st.rate[st.group[i] as usize];
                            let thr = if st.side[i] > 0 {
                                mark * (1.0 - r) / (1.0 + rule.trigger) - st.o_long
                            } else {
                                -(mark * (1.0 + r) / (1.0 - rule.trigger) - st.o_short)
                            };
                            if tkey[i] >= thr {
                                fired.push(i as u32);
                            }
                        }
                    }
                }
                fired.sort_unstable();
                for &id in &fired {
                    triggered[id as usize] = true;
                    pending.push_back((t + rule.delay_ns, id));
                }
            }
            let impact_before = liquidity.impact(t);
            let mut rounds = 0u32;
            let mut liq_here = false;
            loop {
                let mark = p * (1.0 + liquidity.impact(t));
                hi = hi.max(mark);
                lo = lo.min(mark);
                m.max_mark_deviation_pct =
                    m.max_mark_deviation_pct.max((mark / p - 1.0).abs() * 100.0);
                crossed.clear();
                match crossing {
                    Crossing::Index => {
                        for g in 0..st.rate.len() {
                            let r = st.rate[g];
                            let v = &st.version;
                            let a = &st.alive;
                            let live = |id: u32, ver: u32| a[id as usize] && v[id as usize] == ver;
                            index[g * 2].pop_crossed(
                                mark * (1.0 - r) - st.o_long,
                                &live,
                                &mut crossed,
                            );
                            index[g * 2 + 1].pop_crossed(
                                -(mark * (1.0 + r) - st.o_short),
                                &live,
                                &mut crossed,
                            );
                        }
                    }
                    Crossing::Scan => {
                        for (i, &cooling_down) in cool.iter().enumerate() {
                            if !st.alive[i] || cooling_down {
                                continue;
                            }
                            let r = st.rate[st.group[i] as usize];
                            let thr = if st.side[i] > 0 {
                                mark * (1.0 - r) - st.o_long
                            } else {
                                -(mark * (1.0 + r) - st.o_short)
                            };
                            if st.key(i) >= thr {
                                crossed.push(i as u32);
                            }
                        }
                    }
                }
                if crossed.is_empty() {
                    break;
                }
                if rounds as usize >= max_rounds {
                    // The cap binds: put them back, untouched.
                    for &id in &crossed {
                        let i = id as usize;
                        let b = st.bucket(i);
                        index[b].insert(st.key(i), id, st.version[i]);
                    }
                    // (The scan finds them again at the next check.)
                    m.round_cap_hits += 1;
                    break;
                }
                rounds += 1;
                liq_here = true;
                // Most underwater first: lowest equity over maintenance at the mark.
                let ratio = |i: usize| {
                    let g = st.group[i] as usize;
                    let eq =
                        st.coll_eff(i) + f64::from(st.side[i]) * st.qty[i] * (mark - st.entry[i]);
                    let mm = st.rate[g] * st.qty[i] * mark - st.cum[g];
                    eq / mm.max(1e-12)
                };
                let mut order: Vec<(f64, u32)> =
                    crossed.iter().map(|&id| (ratio(id as usize), id)).collect();
                order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                // One forced order for the round.
                let sizes: Vec<f64> = order
                    .iter()
                    .map(|&(_, id)| {
                        let i = id as usize;
                        if fraction < 1.0 && st.qty[i] * mark * (1.0 - fraction) > 1.0 {
                            st.qty[i] * fraction
                        } else {
                            st.qty[i]
                        }
                    })
                    .collect();
                let q_net: f64 = order
                    .iter()
                    .zip(&sizes)
                    .map(|(&(_, id), x)| -f64::from(st.side[id as usize]) * x)
                    .sum();
                let fill = liquidity.fill(t, p, q_net);
                m.unfilled += fill.unfilled;
                let p_exec = mark * fill.vwap / p;
                for (&(_, id), &x) in order.iter().zip(&sizes) {
                    let i = id as usize;
                    let s = f64::from(st.side[i]);
                    let c = st.coll_eff(i);
                    let notional = x * p_exec;
                    let in_book = pop.book.contains(&i);
                    if in_book {
                        m.book_liquidated_notional += notional;
                    }
                    if s > 0.0 {
                        bar_liq.0 += notional;
                        m.liquidations_long += 1;
                    } else {
                        bar_liq.1 += notional;
                        m.liquidations_short += 1;
                    }
                    m.liquidations += 1;
                    let realized = s * x * (p_exec - st.entry[i]);
                    st.outside -= realized;
                    let full = x >= st.qty[i];
                    let mut equity = c + realized;
                    if !full {
                        let fee = (liq_fee * notional).min(equity.max(0.0));
                        equity -= fee;
                        st.fund += fee;
                        m.insurance_fund_income += fee;
                        let q_left = st.qty[i] - x;
                        let eq_left = equity + s * q_left * (p_exec - st.entry[i]);
                        if equity > 0.0 && eq_left > 0.0 {
                            st.remove_qty(i, x);
                            st.qty[i] = q_left;
                            st.coll[i] = equity;
                            st.o_ins[i] = st.offset(st.side[i]);
                            st.version[i] += 1;
                            // Cooldown: back in the index after this point's
                            // cascade, so one point takes one tranche.
                            cooling.push(id);
                            cool[i] = true;
                            continue;
                        }
                        // Bankrupt at this tranche: the rest goes too.
                        let r2 = s * q_left * (p_exec - st.entry[i]);
                        st.outside -= r2;
                        equity += r2;
                    }
                    // Full liquidation: the fund takes what is left, or pays
                    // the deficit (side·Q·(P_exec − P_bankruptcy), F9).
                    st.remove_qty(i, st.qty[i]);
                    st.close(i);
                    m.accounts_liquidated += 1;
                    if in_book {
                        m.book_accounts_liquidated += 1;
                    }
                    st.fund += equity;
                    if equity < 0.0 {
                        m.bad_debt -= equity;
                        round_bad[usize::from(st.side[i] < 0)] -= equity;
                    } else {
                        m.insurance_fund_income += equity;
                    }
                }
                // What the fund cannot pay after the round goes to the side
                // opposite the bankrupt accounts, in proportion to their
                // deficits (one ADL ranking per round, not per account).
                if st.fund < 0.0 {
                    let deficit = -st.fund;
                    st.fund = 0.0;
                    let total = round_bad[0] + round_bad[1];
                    for (k, opposite) in [(0usize, -1i8), (1, 1)] {
                        let d = if total > 0.0 {
                            deficit * round_bad[k] / total
                        } else {
                            deficit * 0.5
                        };
                        if d > 0.0 {
                            let (adl, social) = cover(
                                &mut st,
                                &mut index,
                                d,
                                opposite,
                                (t, mark),
                                venue.adl,
                                &mut m,
                                &mut adl_events,
                            );
                            bar_adl += adl;
                            bar_social += social;
                        }
                    }
                }
                round_bad = [0.0; 2];
                m.insurance_fund_min = m.insurance_fund_min.min(st.fund);
            }
            for id in cooling.drain(..) {
                let i = id as usize;
                cool[i] = false;
                if st.alive[i] && crossing == Crossing::Index {
                    let b = st.bucket(i);
                    index[b].insert(st.key(i), id, st.version[i]);
                }
            }
            if liq_here {
                let s0 = (p / prev_price - 1.0).abs();
                let imp = (liquidity.impact(t) - impact_before).abs();
                if s0 + imp > 0.0 {
                    m.cascade_ratio_max = m.cascade_ratio_max.max(imp / (s0 + imp));
                    r_num += imp;
                    r_den += s0 + imp;
                }
            }
            bar_rounds = bar_rounds.max(rounds);
            prev_price = p;
            last_mark = p * (1.0 + liquidity.impact(t));
            if j == 0 {
                open_mark = last_mark;
            }
        }
        if let Some((_, bars)) = &dynamic {
            if k > 0 {
                let r = (tape.close[k] / tape.close[k - 1]).ln().powi(2);
                sq_returns.push_back(r);
                sq_sum += r;
                if sq_returns.len() > *bars {
                    sq_sum -= sq_returns.pop_front().unwrap_or(0.0);
                }
            }
        }
        fund_peak = fund_peak.max(st.fund);
        m.insurance_fund_drawdown = m.insurance_fund_drawdown.max(fund_peak - st.fund);
        m.insurance_fund_min = m.insurance_fund_min.min(st.fund);
        m.cascade_rounds_max = m.cascade_rounds_max.max(bar_rounds);
        m.liquidated_notional_long += bar_liq.0;
        m.liquidated_notional_short += bar_liq.1;
        out.push(t0, open_mark, hi, lo, last_mark, tape.volume[k]);
        // A renewing crowd: new traders open at the mark in the slots of
        // liquidated ones while open interest is below its band.
        if let Some(rule) = opts.renew {
            let oi = (st.q_long + st.q_short) * last_mark;
            let mut need = if oi < rule.target * (1.0 - rule.band) {
                rule.target - oi
            } else {
                0.0
            };
            while need > 0.0 {
                let Some(id) = st.free.as_mut().and_then(Vec::pop) else {
                    break;
                };
                let i = id as usize;
                let side: i8 = if renew_rng.random::<f64>() < rule.long_share {
                    1
                } else {
                    -1
                };
                let z: f64 = StandardNormal.sample(&mut renew_rng);
                let sg = rule.size_sigma;
                let size = rule.mean_size * (sg * z - 0.5 * sg * sg).exp();
                let entry = last_mark;
                let qty = size / entry;
                let lev = rule
                    .leverage
                    .sample(&mut renew_rng)
                    .min(venue.max_leverage_sized(size, qty))
                    .max(1.0);
                let g = MarginGroup::of(venue, qty, entry);
                let gi = match group_list.iter().position(|x| *x == g) {
                    Some(k) => k,
                    None => {
                        group_list.push(g);
                        st.rate.push(g.rate);
                        st.cum.push(g.cum);
                        base_rates.push(g.rate);
                        index.push(SideIndex::new(Vec::new()));
                        index.push(SideIndex::new(Vec::new()));
                        group_list.len() - 1
                    }
                };
                st.side[i] = side;
                st.qty[i] = qty;
                st.entry[i] = entry;
                st.coll[i] = size / lev;
                st.o_ins[i] = st.offset(side);
                st.version[i] += 1;
                st.alive[i] = true;
                st.group[i] = gi as u16;
                cool[i] = false;
                if side > 0 {
                    st.q_long += qty;
                    st.n_long += 1;
                } else {
                    st.q_short += qty;
                    st.n_short += 1;
                }
                deposits += st.coll[i];
                m.renewed_accounts += 1;
                m.renewed_collateral += st.coll[i];
                if crossing == Crossing::Index {
                    let b = st.bucket(i);
                    index[b].insert(st.key(i), id, st.version[i]);
                }
                need -= size;
            }
        }
        series.ts.push(t0);
        series.price_close.push(tape.close[k]);
        series.mark_close.push(last_mark);
        series.mark_low.push(lo);
        series.liquidated_long.push(bar_liq.0);
        series.liquidated_short.push(bar_liq.1);
        series.rounds.push(bar_rounds);
        series.insurance_fund.push(st.fund);
        series.adl_notional.push(bar_adl);
        series.socialized.push(bar_social);
    }
    m.liquidated_notional = m.liquidated_notional_long + m.liquidated_notional_short;
    m.cascade_ratio = if r_den > 0.0 { r_num / r_den } else { 0.0 };
    m.insurance_fund_end = st.fund;
    let crowd_cash: f64 = (0..n)
        .filter(|&i| st.alive[i])
        .map(|i| st.coll_eff(i))
        .sum();
    m.conservation_error = crowd_cash + st.fund + st.paid_out + st.outside
        - m.uncovered_deficit
        - initial_money
        - deposits;
    MarketPass {
        tape: out,
        series,
        metrics: m,
        adl_events,
    }
}

/// Covers `deficit` from the `side` that profits: ADL against its accounts
/// ranked by PnL % × leverage (each gives up profit, closing that share of
/// its position at the mark), or socialized over its open interest.
/// Returns (ADL notional, socialized amount).
#[allow(clippy::too_many_arguments)]
fn cover(
    st: &mut State,
    index: &mut [SideIndex],
    deficit: f64,
    side: i8,
    (t, mark): (TimestampNs, f64),
    adl: bool,
    m: &mut MarketMetrics,
    events: &mut Vec<AdlEvent>,
) -> (f64, f64) {
    let mut left = deficit;
    let mut adl_notional = 0.0;
    if adl {
        let mut ranked: Vec<(f64, usize)> = (0..st.side.len())
            .filter(|&i| st.alive[i] && st.side[i] == side)
            .filter_map(|i| {
                let pnl = f64::from(side) * st.qty[i] * (mark - st.entry[i]);
                let c = st.coll_eff(i);
                (pnl > 0.0 && c > 0.0).then(|| {
                    let lev = st.qty[i] * mark / (c + pnl);
                    (pnl / c * lev, i)
                })
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut cutoff = f64::INFINITY;
        for (score, i) in ranked {
            if left <= 0.0 {
                break;
            }
            cutoff = score;
            let pnl = f64::from(side) * st.qty[i] * (mark - st.entry[i]);
            let take = pnl.min(left);
            let share = take / pnl;
            let c = st.coll_eff(i);
            // The closed share realizes its profit at the mark and hands it
            // over; its collateral leaves with the trader.
            st.outside -= take;
            st.fund += take;
            st.paid_out += share * c;
            let q_closed = share * st.qty[i];
            adl_notional += q_closed * mark;
            m.adl_count += 1;
            st.remove_qty(i, q_closed);
            st.qty[i] -= q_closed;
            st.coll[i] = c - share * c;
            st.o_ins[i] = st.offset(side);
            st.version[i] += 1;
            if st.qty[i] <= 0.0 || share >= 1.0 {
                st.close(i);
                st.paid_out += st.coll[i];
                st.coll[i] = 0.0;
            } else {
                let b = st.bucket(i);
                index[b].insert(st.key(i), i as u32, st.version[i]);
            }
            st.fund -= take;
            left -= take;
        }
        m.adl_notional += adl_notional;
        m.adl_covered += deficit - left;
        if cutoff.is_finite() {
            events.push(AdlEvent {
                ts: t,
                side,
                cutoff,
            });
        }
    }
    let mut social = 0.0;
    if left > 0.0 {
        let (q, alive) = if side > 0 {
            (st.q_long, st.n_long)
        } else {
            (st.q_short, st.n_short)
        };
        if alive > 0 && q > 0.0 {
            // Every account of the side loses `left / q` per unit held.
            if side > 0 {
                st.o_long += left / q;
            } else {
                st.o_short -= left / q;
            }
            social = left;
            m.socialized_loss += left;
        } else {
            m.uncovered_deficit += left;
        }
    }
    (adl_notional, social)
}
