//! The contagion pass: a crowd holding several instruments through the
//! venue's liquidation engine on one clock, each instrument's forced orders
//! walking its own liquidity, so a crash in one asset liquidates legs in
//! another (cross accounts lose the margin that kept their other legs
//! alive) and the forced selling there moves that asset's mark.
//!
//! Per bar, every instrument walks `open → extremes → close` in step (four
//! points a bar, as the single-instrument pass). At each point the marks
//! are the exogenous prices times `1 + impact`; every bucket whose equity
//! is at or below its maintenance at the marks (each leg under its own
//! instrument's rules) is liquidated whole in one round, most underwater
//! first; their forced orders are summed per instrument and filled there;
//! the impacts move the marks and the next round checks again, until a
//! round finds nobody or `max_rounds` is reached.
//!
//! Venues and indexes ([`VenueLinks`]): each instrument trades on a venue
//! with its own insurance fund (a bucket's legs are on one venue). An
//! instrument on an index is marked at the index of the instruments'
//! traded prices (each its exogenous price times `1 + ` its own book's
//! impact): forced selling on one venue moves the other's mark, while each
//! venue's forced orders fill in its own book. Its funding can come from
//! the premium of its traded price over that mark, averaged over each
//! funding interval, by the venue's rule.
//!
//! A liquidated bucket's cause is its leg with the largest loss at the
//! marks; its legs in other instruments are contagion. What a bankrupt
//! bucket leaves unpaid goes to its venue's insurance fund; what the fund
//! cannot pay goes to ADL against the profitable
//! opposite side of the cause's instrument, ranked by that instrument's
//! venue ranking (or pro rata), each giving up profit at the mark, and
//! what profit cannot cover is socialized over that side's positions.
//!
//! Finding crossed buckets. A bucket's surplus (equity − maintenance) can
//! fall, from reference marks `P0`, by at most `Σ |q_k| P0_k (1 + r_k) u`
//! when no mark has moved more than `u` (relative) from `P0`, `r_k`
//! bounding the slope of instrument `k`'s maintenance. So a bucket with
//! surplus `S` at `P0` is safe while `u < ρ = S / Σ |q_k| P0_k (1 + r_k)`.
//! Buckets sorted by `ρ` give the candidates at each check (those with
//! `ρ ≤ u`), checked exactly. Only the smallest radii are kept sorted; the
//! rest are safe until a mark moves as far as the smallest of them (then
//! every radius is recomputed at the current marks, as when wallets change
//! through funding, ADL or socialized losses), and the sorted prefix is
//! refreshed at the current marks once its checks have cost as much. [`Crossing::Scan`] checks every bucket at every
//! point instead: the same buckets are found (the bound only prunes), and
//! the tests and benchmark hold the two side by side.

use levsim_core::{FundingSeries, PortfolioTape, TimestampNs};
use serde::{Deserialize, Serialize};

use super::book::CrowdBook;
use super::Crossing;
use crate::liquidity::LiquidityModel;
use crate::path::intrabar_path;
use crate::venue::adl::{position_score, AdlRanking};
use crate::venue::MarginModel;
use crate::VenueProfile;

/// What one instrument saw in a contagion pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstrumentCascade {
    /// Symbol.
    pub symbol: String,
    /// Crowd open interest at the start (quote, both sides).
    pub open_interest: f64,
    /// Notional liquidated (quote, at fill prices).
    pub liquidated_notional: f64,
    /// Of which long legs.
    pub liquidated_notional_long: f64,
    /// Of which short legs.
    pub liquidated_notional_short: f64,
    /// Legs liquidated.
    pub legs_liquidated: u64,
    /// Notional of legs liquidated because another instrument's loss sank
    /// their (cross) account.
    pub contagion_notional: f64,
    /// Legs liquidated that way.
    pub contagion_legs: u64,
    /// Notional closed by ADL (at the mark).
    pub adl_notional: f64,
    /// Loss socialized over this instrument's positions.
    pub socialized_loss: f64,
    /// Size its book could not fill (base units).
    pub unfilled: f64,
    /// Largest |mark / exogenous price − 1|, percent.
    pub max_mark_deviation_pct: f64,
    /// Lowest and highest premium of the traded price over the mark at a
    /// point, percent (0 for an instrument marked at its own price).
    pub premium_min_pct: f64,
    /// Highest premium, percent.
    pub premium_max_pct: f64,
    /// Lowest and highest funding rate paid from the premium (per
    /// interval; 0 without premium funding).
    pub funding_rate_min: f64,
    /// Highest such rate.
    pub funding_rate_max: f64,
}

/// Venue-wide summary of a contagion pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContagionMetrics {
    /// Crowd accounts.
    pub accounts: usize,
    /// Of which cross-margined.
    pub cross_accounts: usize,
    /// Accounts with at least one bucket liquidated.
    pub accounts_liquidated: u64,
    /// Accounts replayed from a book of positions.
    pub book_accounts: usize,
    /// Of them, with at least one bucket liquidated.
    pub book_accounts_liquidated: u64,
    /// Notional liquidated from them (quote, at fill prices).
    pub book_liquidated_notional: f64,
    /// Cross accounts liquidated.
    pub cross_accounts_liquidated: u64,
    /// Isolated accounts with a leg liquidated.
    pub isolated_accounts_liquidated: u64,
    /// Accounts that lost a leg in an instrument other than the one whose
    /// loss sank them.
    pub accounts_liquidated_by_other_asset: u64,
    /// Notional liquidated over every instrument (quote).
    pub liquidated_notional: f64,
    /// Of which contagion (legs sunk by another instrument).
    pub contagion_notional: f64,
    /// Most cascade rounds at one point.
    pub cascade_rounds_max: u32,
    /// Points where the round cap stopped a cascade.
    pub round_cap_hits: u32,
    /// Insurance fund at the start.
    pub insurance_fund_start: f64,
    /// Lowest insurance fund.
    pub insurance_fund_min: f64,
    /// Insurance fund at the end (every venue's).
    pub insurance_fund_end: f64,
    /// Each venue's insurance fund at the end.
    pub insurance_funds_end: Vec<f64>,
    /// Each venue's lowest insurance fund.
    pub insurance_funds_min: Vec<f64>,
    /// Losses beyond liquidated buckets' collateral.
    pub bad_debt: f64,
    /// ADL events (legs hit, a leg hit twice counts twice).
    pub adl_count: u64,
    /// Distinct buckets hit by ADL.
    pub adl_accounts: u64,
    /// Notional closed by ADL (at the mark).
    pub adl_notional: f64,
    /// Profit taken by ADL (= deficit covered by ADL).
    pub adl_profit_taken: f64,
    /// The least notional whose profit would have covered what ADL took
    /// (the most profitable per unit of notional first).
    pub adl_notional_required: f64,
    /// ADL notional beyond that least (overshoot: positions closed that the
    /// deficit did not require; it depends on the ranking).
    pub adl_overshoot_notional: f64,
    /// Share of that profit taken from the top decile of winners (by
    /// profit, among the candidates of each ADL event).
    pub adl_top_decile_share: f64,
    /// Deficit socialized.
    pub socialized_loss: f64,
    /// Deficit nobody covered (no counterparty left).
    pub uncovered_deficit: f64,
    /// Times the radius index was rebuilt (every live bucket).
    pub index_rebuilds: u64,
    /// Times its sorted prefix alone was refreshed.
    pub index_refreshes: u64,
    /// Exact bucket checks made (the index's work; a scan makes one per
    /// live bucket per check).
    pub exact_checks: u64,
    /// Imbalance of the money ledger (quote; ~0).
    pub conservation_error: f64,
}

/// Per-bar series of a contagion pass (instrument-major where per
/// instrument: `[k·bars + t]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContagionSeries {
    /// Bar open times.
    pub ts: Vec<TimestampNs>,
    /// Notional liquidated per instrument and bar.
    pub liquidated: Vec<f64>,
    /// Of which contagion, per instrument and bar.
    pub contagion: Vec<f64>,
    /// Insurance fund at each bar's end.
    pub insurance_fund: Vec<f64>,
    /// Most cascade rounds in the bar.
    pub rounds: Vec<u32>,
}

/// The result of a contagion pass.
#[derive(Debug, Clone, PartialEq)]
pub struct ContagionPass {
    /// The simulated marks as bars on the input's clock.
    pub tape: PortfolioTape,
    /// Per instrument.
    pub instruments: Vec<InstrumentCascade>,
    /// Venue-wide.
    pub metrics: ContagionMetrics,
    /// Per bar.
    pub series: ContagionSeries,
    /// Per instrument funded from its premium, the payments made (for the
    /// subject accounts trading on the simulated marks).
    pub funding: Vec<Option<FundingSeries>>,
}

/// How the instruments' venues tie together: which venue each trades on
/// (each venue has its own insurance fund), the index a mark follows, and
/// funding from the premium the crowd's selling opens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VenueLinks {
    /// Per instrument, its venue (an index into `funds`).
    pub venue_of: Vec<usize>,
    /// Each venue's insurance fund at the start.
    pub funds: Vec<f64>,
    /// Per instrument, the index its mark follows, as weights over the
    /// instruments' traded prices (`None`: its own traded price).
    pub index: Vec<Option<Vec<(usize, f64)>>>,
    /// Per instrument: funding from the premium of its traded price over
    /// its mark (the venue's funding rule on the interval's mean premium)
    /// instead of the funding file.
    pub premium_funding: Vec<bool>,
}

impl VenueLinks {
    /// Every instrument on one venue with this fund, marked at its own
    /// traded price, funded from its file.
    pub fn single(instruments: usize, fund: f64) -> Self {
        Self {
            venue_of: vec![0; instruments],
            funds: vec![fund],
            index: vec![None; instruments],
            premium_funding: vec![false; instruments],
        }
    }
}

/// Options of a contagion pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContagionOptions {
    /// Most cascade rounds at one point.
    pub max_rounds: usize,
    /// How crossed buckets are found.
    pub crossing: Crossing,
    /// Seed of the unranked (rotating) ADL order.
    pub seed: u64,
}

impl Default for ContagionOptions {
    fn default() -> Self {
        Self {
            max_rounds: 50,
            crossing: Crossing::Index,
            seed: 0,
        }
    }
}

/// Buckets sorted by their safe radius, in two levels. A full rebuild at
/// marks `p_out` computes every live bucket's radius and keeps the
/// smallest (a sixteenth, at least 1,024 and twice those already crossed)
/// sorted in `order`; every other bucket's radius is at least `cut`, so it
/// is safe while no mark has moved `cut` from `p_out`. Between full
/// rebuilds the prefix alone is refreshed at the current marks (`p0`)
/// whenever its checks have cost as much as refreshing it.
struct RadiusIndex {
    /// Marks of the last full rebuild (the outsiders' reference).
    p_out: Vec<f64>,
    /// Marks of the last refresh of the prefix (its radii's reference).
    p0: Vec<f64>,
    /// (radius from `p0`, bucket), ascending.
    order: Vec<(f64, u32)>,
    /// Candidates so far: `order[..pos]`.
    pos: usize,
    /// Smallest radius from `p_out` outside `order`.
    cut: f64,
    /// Wallets changed (funding, ADL, socialized losses): rebuild.
    stale: bool,
    /// Exact checks since the last refresh.
    work: u64,
    /// Buckets whose positions changed since the last rebuild (ADL): their
    /// radii are unknown, so they are checked at every point.
    dirty: Vec<u32>,
    is_dirty: Vec<bool>,
}

struct Crowd<'a> {
    book: &'a CrowdBook,
    rules: &'a [VenueProfile],
    /// Slope bound per instrument (None: no bound, always a candidate).
    slope: Vec<Option<f64>>,
    wallet: Vec<f64>,
    qty: Vec<f64>,
    alive: Vec<bool>,
    /// Per instrument, its legs as (leg, bucket), for ADL and socialized
    /// losses.
    inst_legs: Vec<Vec<(u32, u32)>>,
}

impl Crowd<'_> {
    /// Equity and maintenance of bucket `b` at `marks`.
    #[inline]
    fn state(&self, b: usize, marks: &[f64]) -> (f64, f64) {
        let (mut eq, mut mm) = (self.wallet[b], 0.0);
        for l in self.book.legs(b) {
            let k = self.book.leg_inst[l] as usize;
            let q = self.qty[l];
            let m = marks[k];
            eq += q * (m - self.book.leg_entry[l]);
            mm += self.rules[k].margin.maintenance(q.abs() * m, q.abs());
        }
        (eq, mm)
    }

    /// Funding of `per_unit` (rate × mark) on every live leg in instrument
    /// `k`, longs paying a positive rate; returns what left the wallets.
    fn pay_funding(&mut self, k: usize, per_unit: f64) -> f64 {
        let mut paid = 0.0;
        for &(l, b) in &self.inst_legs[k] {
            let (l, b) = (l as usize, b as usize);
            if self.alive[b] {
                let pay = per_unit * self.qty[l];
                self.wallet[b] -= pay;
                paid += pay;
            }
        }
        paid
    }

    fn radius(&self, b: usize, marks: &[f64]) -> f64 {
        let (eq, mm) = self.state(b, marks);
        let mut d = 0.0;
        for l in self.book.legs(b) {
            let k = self.book.leg_inst[l] as usize;
            match self.slope[k] {
                Some(r) => d += self.qty[l].abs() * marks[k] * (1.0 + r),
                None => return f64::NEG_INFINITY,
            }
        }
        if d > 0.0 {
            (eq - mm) / d
        } else {
            f64::INFINITY
        }
    }
}

impl RadiusIndex {
    fn cmp(a: &(f64, u32), b: &(f64, u32)) -> std::cmp::Ordering {
        a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
    }

    /// Every live bucket's radius at `marks`.
    fn rebuild(&mut self, c: &Crowd<'_>, marks: &[f64], rebuilds: &mut u64) {
        *rebuilds += 1;
        self.p_out.clear();
        self.p_out.extend_from_slice(marks);
        self.p0.clone_from(&self.p_out);
        self.order.clear();
        self.order.extend(
            (0..c.alive.len())
                .filter(|&b| c.alive[b])
                .map(|b| (c.radius(b, marks), b as u32)),
        );
        self.work = 0;
        // Every bucket already at or below its maintenance here (radius ≤ 0)
        // must be in the sorted prefix: at least twice as many are kept.
        let crossed = self.order.iter().filter(|x| x.0 <= 0.0).count();
        let keep = (self.order.len() / 16).max(1024).max(2 * crossed);
        if self.order.len() > keep {
            self.order.select_nth_unstable_by(keep, Self::cmp);
            self.cut = self.order[keep].0;
            self.order.truncate(keep);
        } else {
            self.cut = f64::INFINITY;
        }
        self.order.sort_unstable_by(Self::cmp);
        self.pos = 0;
        self.stale = false;
        for &b in &self.dirty {
            self.is_dirty[b as usize] = false;
        }
        self.dirty.clear();
    }

    /// Marks bucket `b` as changed.
    fn touch(&mut self, b: usize) {
        if !self.is_dirty[b] {
            self.is_dirty[b] = true;
            self.dirty.push(b as u32);
        }
    }

    /// The prefix's radii at `marks` (the outsiders keep `p_out`, `cut`).
    fn refresh(&mut self, c: &Crowd<'_>, marks: &[f64]) {
        self.p0.clear();
        self.p0.extend_from_slice(marks);
        self.order.retain(|x| c.alive[x.1 as usize]);
        for x in &mut self.order {
            x.0 = c.radius(x.1 as usize, marks);
        }
        self.order.sort_unstable_by(Self::cmp);
        self.pos = 0;
        self.work = 0;
    }

    fn moved(marks: &[f64], from: &[f64]) -> f64 {
        marks
            .iter()
            .zip(from)
            .map(|(m, p)| (m / p - 1.0).abs())
            .fold(0.0, f64::max)
    }

    /// Makes `order[..pos]` hold every bucket that can be crossed at
    /// `marks`, rebuilding or refreshing as due.
    fn prepare(&mut self, c: &Crowd<'_>, marks: &[f64], rebuilds: &mut u64, refreshes: &mut u64) {
        if self.stale
            || self.dirty.len() > self.order.len()
            || Self::moved(marks, &self.p_out) >= self.cut
        {
            self.rebuild(c, marks, rebuilds);
        } else if self.work > self.order.len() as u64 {
            *refreshes += 1;
            self.refresh(c, marks);
        }
        let u = Self::moved(marks, &self.p0);
        while self.pos < self.order.len() && self.order[self.pos].0 <= u {
            self.pos += 1;
        }
    }
}

/// Runs the crowd `book` over `tape` (linear instruments), each instrument
/// `k` under `rules[k]` with funding `funding[k]` and forced orders filled
/// by `liquidity[k]`, its venue, mark and funding as `links` says (every
/// bucket's legs on one venue).
// The point index walks every instrument's path in step (`points[k][j]`).
#[allow(clippy::needless_range_loop)]
pub fn contagion_pass<L: LiquidityModel>(
    tape: &PortfolioTape,
    funding: &[Option<&FundingSeries>],
    rules: &[VenueProfile],
    links: &VenueLinks,
    book: &CrowdBook,
    liquidity: &mut [L],
    opts: &ContagionOptions,
) -> ContagionPass {
    let kn = tape.legs();
    let bars = tape.len();
    let symbols = tape.instruments.symbols();
    for l in liquidity.iter_mut() {
        l.reset();
    }
    let mut c = Crowd {
        book,
        rules,
        slope: rules
            .iter()
            .map(|r| r.margin.maintenance_slope_bound())
            .collect(),
        wallet: book.wallet.clone(),
        qty: book.leg_qty.clone(),
        alive: vec![true; book.buckets()],
        inst_legs: {
            let mut v = vec![Vec::new(); kn];
            for b in 0..book.buckets() {
                for l in book.legs(b) {
                    v[book.leg_inst[l] as usize].push((l as u32, b as u32));
                }
            }
            v
        },
    };
    let n = book.buckets();
    let fund0: f64 = links.funds.iter().sum();
    let mut funds = links.funds.clone();
    let mut funds_min = links.funds.clone();
    let mut outside = 0.0;
    let initial_money: f64 = book.wallet.iter().sum::<f64>() + fund0;
    let oi = book.open_interest();
    let mut inst: Vec<InstrumentCascade> = symbols
        .iter()
        .zip(&oi)
        .map(|(s, &o)| InstrumentCascade {
            symbol: s.clone(),
            open_interest: o,
            funding_rate_min: f64::INFINITY,
            funding_rate_max: f64::NEG_INFINITY,
            ..Default::default()
        })
        .collect();
    let mut m = ContagionMetrics {
        accounts: book.accounts,
        cross_accounts: {
            let mut seen = vec![false; book.accounts];
            for b in 0..n {
                seen[book.bucket_account[b] as usize] |= book.bucket_cross[b];
            }
            seen.iter().filter(|&&x| x).count()
        },
        book_accounts: book.file_accounts,
        insurance_fund_start: fund0,
        insurance_fund_min: fund0,
        ..Default::default()
    };
    let mut series = ContagionSeries {
        liquidated: vec![0.0; kn * bars],
        contagion: vec![0.0; kn * bars],
        ..Default::default()
    };
    let mut out = PortfolioTape {
        instruments: tape.instruments.clone(),
        interval_ns: tape.interval_ns,
        ts: tape.ts.clone(),
        open: vec![0.0; kn * bars],
        high: vec![0.0; kn * bars],
        low: vec![0.0; kn * bars],
        close: vec![0.0; kn * bars],
        volume: tape.volume.clone(),
    };
    let mut acct_hit = vec![false; book.accounts];
    let mut acct_contagion = vec![false; book.accounts];
    let mut adl_hit = vec![false; n];
    let (mut adl_top, mut adl_taken) = (0.0, 0.0);
    let mut fi: Vec<usize> = funding
        .iter()
        .map(|f| {
            f.map_or(0, |f| {
                f.ts.partition_point(|&t| t < tape.ts.first().copied().unwrap_or(0))
            })
        })
        .collect();
    let mut last_mark: Vec<f64> = (0..kn)
        .map(|k| tape.open.get(k * bars).copied().unwrap_or(0.0))
        .collect();
    let mut idx = RadiusIndex {
        p_out: Vec::new(),
        p0: Vec::new(),
        order: Vec::new(),
        pos: 0,
        cut: f64::INFINITY,
        stale: true,
        work: 0,
        dirty: Vec::new(),
        is_dirty: vec![false; n],
    };
    let mut points = vec![[0.0f64; 4]; kn];
    let mut marks = vec![0.0; kn];
    let mut hi = vec![0.0; kn];
    let mut lo = vec![0.0; kn];
    let mut crossed: Vec<(f64, u32)> = Vec::new();
    let mut q_net = vec![0.0; kn];
    let mut exec = vec![0.0; kn];
    let mut round_bad = vec![[0.0f64; 2]; kn];
    let mut touched: Vec<u32> = Vec::new();
    let mut traded = vec![0.0; kn];
    let start = tape.ts.first().copied().unwrap_or(0);
    let mut next_funding: Vec<i64> = (0..kn)
        .map(|k| start + (rules[k].funding_rule.interval_hours * 3.6e12) as i64)
        .collect();
    let (mut prem_sum, mut prem_n) = (vec![0.0; kn], vec![0u64; kn]);
    let mut stress_funding: Vec<Option<FundingSeries>> = vec![None; kn];
    // Marks from the traded prices: an instrument on an index follows it.
    let mark_of = |traded: &[f64], marks: &mut [f64]| {
        for k in 0..traded.len() {
            marks[k] = match &links.index[k] {
                Some(w) => w.iter().map(|&(j, x)| x * traded[j]).sum(),
                None => traded[k],
            };
        }
    };
    for t_i in 0..bars {
        let t0 = tape.ts[t_i];
        // Funding from the premium: each interval's mean premium of the
        // traded price over the mark, by the venue's rule, due at the first
        // bar open at or after the interval's end.
        for k in (0..kn).filter(|&k| links.premium_funding[k] && rules[k].funding) {
            let every = (rules[k].funding_rule.interval_hours * 3.6e12) as i64;
            if every <= 0 || t0 < next_funding[k] {
                continue;
            }
            let premium = if prem_n[k] > 0 {
                prem_sum[k] / prem_n[k] as f64
            } else {
                0.0
            };
            let rate = rules[k].funding_rule.rate(premium);
            let d = rate * last_mark[k];
            outside += c.pay_funding(k, d);
            let f = stress_funding[k].get_or_insert_with(FundingSeries::default);
            f.ts.push(t0);
            f.rate.push(rate);
            let ic = &mut inst[k];
            ic.funding_rate_min = ic.funding_rate_min.min(rate);
            ic.funding_rate_max = ic.funding_rate_max.max(rate);
            (prem_sum[k], prem_n[k]) = (0.0, 0);
            while next_funding[k] <= t0 {
                next_funding[k] += every;
            }
            idx.stale = true;
        }
        // Funding due at or before this bar's open, at the last marks.
        for k in 0..kn {
            let Some(f) = funding
                .get(k)
                .copied()
                .flatten()
                .filter(|_| rules[k].funding && !links.premium_funding[k])
            else {
                continue;
            };
            while fi[k] < f.ts.len() && f.ts[fi[k]] <= t0 {
                let d = f.rate[fi[k]] * last_mark[k];
                outside += c.pay_funding(k, d);
                idx.stale = true;
                fi[k] += 1;
            }
        }
        for k in 0..kn {
            let j = k * bars + t_i;
            let path = intrabar_path(tape.open[j], tape.high[j], tape.low[j], tape.close[j]);
            points[k] = [tape.open[j], path[0], path[1], path[2]];
            hi[k] = f64::NEG_INFINITY;
            lo[k] = f64::INFINITY;
        }
        let mut bar_rounds = 0u32;
        for j in 0..4 {
            let t = t0 + tape.interval_ns * j as i64 / 4;
            let mut rounds = 0u32;
            loop {
                for k in 0..kn {
                    traded[k] = points[k][j] * (1.0 + liquidity[k].impact(t));
                }
                mark_of(&traded, &mut marks);
                for k in 0..kn {
                    let p = points[k][j];
                    hi[k] = hi[k].max(marks[k]);
                    lo[k] = lo[k].min(marks[k]);
                    inst[k].max_mark_deviation_pct = inst[k]
                        .max_mark_deviation_pct
                        .max((marks[k] / p - 1.0).abs() * 100.0);
                }
                crossed.clear();
                let check = |b: usize, crossed: &mut Vec<(f64, u32)>| {
                    let (eq, mm) = c.state(b, &marks);
                    if eq <= mm {
                        crossed.push((eq / mm.max(1e-12), b as u32));
                    }
                };
                match opts.crossing {
                    Crossing::Scan => {
                        for b in (0..n).filter(|&b| c.alive[b]) {
                            m.exact_checks += 1;
                            check(b, &mut crossed);
                        }
                    }
                    Crossing::Index => {
                        idx.prepare(&c, &marks, &mut m.index_rebuilds, &mut m.index_refreshes);
                        for &(_, b) in &idx.order[..idx.pos] {
                            if c.alive[b as usize] && !idx.is_dirty[b as usize] {
                                idx.work += 1;
                                m.exact_checks += 1;
                                check(b as usize, &mut crossed);
                            }
                        }
                        for &b in &idx.dirty {
                            if c.alive[b as usize] {
                                m.exact_checks += 1;
                                check(b as usize, &mut crossed);
                            }
                        }
                    }
                }
                if crossed.is_empty() {
                    break;
                }
                if rounds as usize >= opts.max_rounds {
                    m.round_cap_hits += 1;
                    break;
                }
                rounds += 1;
                crossed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                // One forced order per instrument for the round.
                q_net.iter_mut().for_each(|q| *q = 0.0);
                for &(_, b) in &crossed {
                    for l in book.legs(b as usize) {
                        q_net[book.leg_inst[l] as usize] -= c.qty[l];
                    }
                }
                // Forced orders fill in each instrument's own book, from its
                // traded price.
                for k in 0..kn {
                    exec[k] = traded[k];
                    if q_net[k] != 0.0 {
                        let p = points[k][j];
                        let fill = liquidity[k].fill(t, p, q_net[k]);
                        inst[k].unfilled += fill.unfilled;
                        exec[k] = traded[k] * fill.vwap / p;
                    }
                }
                for &(_, b) in &crossed {
                    let b = b as usize;
                    let legs = book.legs(b);
                    // The cause: the leg with the largest loss at the marks.
                    let cause = legs
                        .clone()
                        .min_by(|&x, &y| {
                            let px =
                                c.qty[x] * (marks[book.leg_inst[x] as usize] - book.leg_entry[x]);
                            let py =
                                c.qty[y] * (marks[book.leg_inst[y] as usize] - book.leg_entry[y]);
                            px.total_cmp(&py).then(x.cmp(&y))
                        })
                        .unwrap_or(legs.start);
                    let cause_k = book.leg_inst[cause] as usize;
                    let account = book.bucket_account[b] as usize;
                    let mut equity = c.wallet[b];
                    for l in legs {
                        let k = book.leg_inst[l] as usize;
                        let q = c.qty[l];
                        let realized = q * (exec[k] - book.leg_entry[l]);
                        outside -= realized;
                        equity += realized;
                        let notional = q.abs() * exec[k];
                        if account < book.file_accounts {
                            m.book_liquidated_notional += notional;
                        }
                        let ic = &mut inst[k];
                        ic.liquidated_notional += notional;
                        if q > 0.0 {
                            ic.liquidated_notional_long += notional;
                        } else {
                            ic.liquidated_notional_short += notional;
                        }
                        ic.legs_liquidated += 1;
                        series.liquidated[k * bars + t_i] += notional;
                        if k != cause_k {
                            ic.contagion_notional += notional;
                            ic.contagion_legs += 1;
                            series.contagion[k * bars + t_i] += notional;
                            acct_contagion[account] = true;
                        }
                        c.qty[l] = 0.0;
                    }
                    c.wallet[b] = 0.0;
                    c.alive[b] = false;
                    if !acct_hit[account] {
                        acct_hit[account] = true;
                        m.accounts_liquidated += 1;
                        if account < book.file_accounts {
                            m.book_accounts_liquidated += 1;
                        }
                        if book.bucket_cross[b] {
                            m.cross_accounts_liquidated += 1;
                        } else {
                            m.isolated_accounts_liquidated += 1;
                        }
                    }
                    // Its venue's fund takes what is left, or pays the deficit.
                    funds[links.venue_of[cause_k]] += equity;
                    if equity < 0.0 {
                        m.bad_debt -= equity;
                        let side = usize::from(c_side(book.leg_qty[cause]) < 0);
                        round_bad[cause_k][side] -= equity;
                    }
                }
                let mut socialized = false;
                touched.clear();
                for v in 0..funds.len() {
                    if funds[v] >= 0.0 {
                        continue;
                    }
                    let deficit = -funds[v];
                    funds[v] = 0.0;
                    let mine = |k: &usize| links.venue_of[*k] == v;
                    let total: f64 = (0..kn)
                        .filter(mine)
                        .map(|k| round_bad[k][0] + round_bad[k][1])
                        .sum();
                    for k in (0..kn).filter(mine).filter(|_| total > 0.0) {
                        for (s, opposite) in [(0usize, -1i8), (1, 1)] {
                            let d = deficit * round_bad[k][s] / total;
                            if d > 0.0 {
                                socialized |= cover(
                                    &mut c,
                                    k,
                                    opposite,
                                    d,
                                    &marks,
                                    &mut inst[k],
                                    &mut m,
                                    &mut outside,
                                    (&mut adl_hit, &mut touched),
                                    (&mut adl_top, &mut adl_taken),
                                    opts.seed ^ t as u64,
                                );
                            }
                        }
                    }
                }
                // Socialized losses move a whole side's wallets: every
                // radius is stale. ADL changes only the buckets it hit.
                if socialized {
                    idx.stale = true;
                } else {
                    for &b in &touched {
                        idx.touch(b as usize);
                    }
                }
                round_bad.iter_mut().for_each(|r| *r = [0.0; 2]);
                for (lo, f) in funds_min.iter_mut().zip(&funds) {
                    *lo = lo.min(*f);
                }
                m.insurance_fund_min = m.insurance_fund_min.min(funds.iter().sum());
            }
            bar_rounds = bar_rounds.max(rounds);
            for k in 0..kn {
                traded[k] = points[k][j] * (1.0 + liquidity[k].impact(t));
            }
            mark_of(&traded, &mut last_mark);
            for k in 0..kn {
                if j == 0 {
                    out.open[k * bars + t_i] = last_mark[k];
                }
                let premium = traded[k] / last_mark[k] - 1.0;
                prem_sum[k] += premium;
                prem_n[k] += 1;
                let ic = &mut inst[k];
                ic.premium_min_pct = ic.premium_min_pct.min(premium * 100.0);
                ic.premium_max_pct = ic.premium_max_pct.max(premium * 100.0);
            }
        }
        for k in 0..kn {
            let j = k * bars + t_i;
            out.high[j] = hi[k];
            out.low[j] = lo[k];
            out.close[j] = last_mark[k];
        }
        m.cascade_rounds_max = m.cascade_rounds_max.max(bar_rounds);
        let fund: f64 = funds.iter().sum();
        m.insurance_fund_min = m.insurance_fund_min.min(fund);
        series.ts.push(t0);
        series.insurance_fund.push(fund);
        series.rounds.push(bar_rounds);
    }
    m.accounts_liquidated_by_other_asset = acct_contagion.iter().filter(|&&x| x).count() as u64;
    m.liquidated_notional = inst.iter().map(|i| i.liquidated_notional).sum();
    m.contagion_notional = inst.iter().map(|i| i.contagion_notional).sum();
    m.adl_accounts = adl_hit.iter().filter(|&&x| x).count() as u64;
    m.adl_profit_taken = adl_taken;
    m.adl_top_decile_share = if adl_taken > 0.0 {
        adl_top / adl_taken
    } else {
        0.0
    };
    let fund: f64 = funds.iter().sum();
    m.insurance_fund_end = fund;
    m.insurance_funds_end = funds.clone();
    m.insurance_funds_min = funds_min;
    for ic in &mut inst {
        if ic.funding_rate_min > ic.funding_rate_max {
            (ic.funding_rate_min, ic.funding_rate_max) = (0.0, 0.0);
        }
    }
    let crowd_cash: f64 = (0..n).filter(|&b| c.alive[b]).map(|b| c.wallet[b]).sum();
    m.conservation_error = crowd_cash + fund + outside - m.uncovered_deficit - initial_money;
    ContagionPass {
        tape: out,
        instruments: inst,
        metrics: m,
        series,
        funding: stress_funding,
    }
}

#[inline]
fn c_side(q: f64) -> i8 {
    if q >= 0.0 {
        1
    } else {
        -1
    }
}

/// The least notional of positions whose profit covers `amount`, each
/// candidate `(profit, notional)` closable in part (its profit in
/// proportion): the highest profit per notional first. ADL beyond it is
/// overshoot: positions closed that the deficit did not require.
pub fn least_notional_to_cover(cands: &[(f64, f64)], amount: f64) -> f64 {
    let mut c: Vec<(f64, f64)> = cands
        .iter()
        .copied()
        .filter(|&(p, n)| p > 0.0 && n > 0.0)
        .collect();
    c.sort_by(|a, b| (b.0 / b.1).total_cmp(&(a.0 / a.1)));
    let (mut left, mut notional) = (amount, 0.0);
    for (p, n) in c {
        if left <= 0.0 {
            break;
        }
        let take = p.min(left);
        notional += n * take / p;
        left -= take;
    }
    notional
}

/// Covers `deficit` from the profitable `side` of instrument `k`: ADL
/// under the instrument's ranking (profit given up at the mark, the
/// position closed in that share; the buckets hit go to `touched`), or
/// socialized over the side's size. Returns whether wallets were
/// socialized.
#[allow(clippy::too_many_arguments)]
fn cover(
    c: &mut Crowd<'_>,
    k: usize,
    side: i8,
    deficit: f64,
    marks: &[f64],
    ic: &mut InstrumentCascade,
    m: &mut ContagionMetrics,
    outside: &mut f64,
    (adl_hit, touched): (&mut [bool], &mut Vec<u32>),
    (top, taken): (&mut f64, &mut f64),
    seed: u64,
) -> bool {
    let book = c.book;
    let rules = &c.rules[k];
    let mark = marks[k];
    let mut left = deficit;
    // (leg, bucket, profit) of the side's live legs in this instrument.
    let legs: Vec<(usize, usize, f64)> = c.inst_legs[k]
        .iter()
        .map(|&(l, b)| (l as usize, b as usize))
        .filter(|&(l, b)| c.alive[b] && c.qty[l] != 0.0 && c_side(c.qty[l]) == side)
        .map(|(l, b)| (l, b, c.qty[l] * (mark - book.leg_entry[l])))
        .collect();
    if rules.adl {
        let mut cands: Vec<(usize, usize, f64)> =
            legs.iter().copied().filter(|x| x.2 > 0.0).collect();
        // The top decile of winners by profit.
        let mut by_profit: Vec<f64> = cands.iter().map(|x| x.2).collect();
        by_profit.sort_by(|a, b| b.total_cmp(a));
        let decile = by_profit
            .get(by_profit.len().div_ceil(10).saturating_sub(1))
            .copied()
            .unwrap_or(f64::INFINITY);
        // The least notional whose profit covers the deficit: the most
        // profitable per unit of notional first.
        let least: Vec<(f64, f64)> = cands
            .iter()
            .map(|&(l, _, pnl)| (pnl, c.qty[l].abs() * mark))
            .collect();
        let required = least_notional_to_cover(&least, deficit);
        let closed_before = m.adl_notional;
        let share_all = match rules.adl_ranking {
            AdlRanking::ProRata => {
                let total: f64 = cands.iter().map(|x| x.2).sum();
                Some(if total > 0.0 {
                    (left / total).min(1.0)
                } else {
                    0.0
                })
            }
            r => {
                let score = |&(l, b, _): &(usize, usize, f64)| {
                    let q = c.qty[l].abs();
                    let s = if side > 0 {
                        levsim_core::Side::Long
                    } else {
                        levsim_core::Side::Short
                    };
                    let mm = rules.margin.maintenance(q * mark, q);
                    position_score(r, s, q, book.leg_entry[l], mark, c.wallet[b].max(0.0), mm)
                };
                match r {
                    AdlRanking::Unranked => {
                        cands.sort_by_key(|x| x.0);
                        if !cands.is_empty() {
                            let s = (seed % cands.len() as u64) as usize;
                            cands.rotate_left(s);
                        }
                    }
                    _ => {
                        let mut scored: Vec<(f64, (usize, usize, f64))> = cands
                            .iter()
                            .map(|x| (score(x).unwrap_or(0.0), *x))
                            .collect();
                        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1 .0.cmp(&b.1 .0)));
                        cands = scored.into_iter().map(|x| x.1).collect();
                    }
                }
                None
            }
        };
        for (l, b, pnl) in cands {
            if left <= 0.0 {
                break;
            }
            let take = match share_all {
                Some(s) => (pnl * s).min(left),
                None => pnl.min(left),
            };
            if take <= 0.0 {
                continue;
            }
            let share = take / pnl;
            let closed = share * c.qty[l].abs();
            // The closed share realizes its profit at the mark and hands it
            // to the fund, which passes it on to the deficit.
            *outside -= take;
            c.qty[l] *= 1.0 - share;
            left -= take;
            m.adl_count += 1;
            m.adl_notional += closed * mark;
            ic.adl_notional += closed * mark;
            adl_hit[b] = true;
            touched.push(b as u32);
            *taken += take;
            if pnl >= decile {
                *top += take;
            }
        }
        // The realized share no longer counts as unrealized profit: the
        // entry is unchanged and the size shrank, so nothing else moves.
        // What the ranking closed beyond the least that covers what it took.
        let took = deficit - left;
        if took > 0.0 {
            let need = least_notional_to_cover(&least, took.min(deficit)).min(required);
            m.adl_notional_required += need;
            m.adl_overshoot_notional += (m.adl_notional - closed_before - need).max(0.0);
        }
    }
    if left > 0.0 {
        let q: f64 = legs.iter().map(|&(l, _, _)| c.qty[l].abs()).sum();
        if q > 0.0 {
            for &(l, b, _) in &legs {
                c.wallet[b] -= left * c.qty[l].abs() / q;
            }
            m.socialized_loss += left;
            ic.socialized_loss += left;
            return true;
        }
        m.uncovered_deficit += left;
    }
    false
}
