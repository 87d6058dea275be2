//! The crowd: N leveraged accounts generated from a seed (DESIGN §4.5).

use levsim_core::{MarketTape, TimestampNs};
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::venue::MarginModel;
use crate::{EngineError, VenueProfile};

/// How the crowd's leverage is distributed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum LeverageDist {
    /// Log-normal with this median and log-spread, clamped to
    /// `[min, cap]` (default min 1.1).
    Lognormal {
        /// Median leverage.
        median: f64,
        /// Standard deviation of ln(leverage).
        sigma: f64,
        /// Highest leverage.
        cap: f64,
        /// Lowest leverage.
        #[serde(default = "min_leverage")]
        min: f64,
    },
    /// An explicit histogram: `values[i]` with weight `weights[i]`.
    Histogram {
        /// Leverage values.
        values: Vec<f64>,
        /// Relative weights (any positive scale).
        weights: Vec<f64>,
    },
}

impl LeverageDist {
    /// One leverage drawn from the distribution (validated beforehand).
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            LeverageDist::Lognormal {
                median,
                sigma,
                cap,
                min,
            } => {
                let z: f64 = StandardNormal.sample(rng);
                (median * (sigma * z).exp()).clamp(*min, *cap)
            }
            LeverageDist::Histogram { values, weights } => {
                let total: f64 = weights.iter().sum();
                let mut u = rng.random::<f64>() * total;
                let mut pick = values[values.len() - 1];
                for (v, w) in values.iter().zip(weights) {
                    if u < *w {
                        pick = *v;
                        break;
                    }
                    u -= w;
                }
                pick
            }
        }
    }
}

fn min_leverage() -> f64 {
    1.1
}

fn one() -> f64 {
    1.0
}

fn half() -> f64 {
    0.5
}

fn rounds() -> usize {
    50
}

/// The `[population]` table of a scenario.
///
/// Calibration: set `open_interest` to the venue's open interest in the
/// instrument before the window (e.g. Binance BTCUSDT OI from its public
/// `openInterestHist` endpoint, quote value), or `open_interest_adv` to a
/// multiple of the average daily quote volume of the bars in the entry
/// window; set the leverage distribution so the liquidations of a known
/// crash day (e.g. the total long liquidations reported for it) come out
/// right, i.e. the share of OI within a move of the crash's size of its
/// liquidation price; `long_share` from the long/short account ratio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationConfig {
    /// Number of generated accounts (0: the crowd is the positions `file`
    /// alone).
    #[serde(default)]
    pub accounts: usize,
    /// A book of real positions replayed as (part of) the crowd: a CSV or
    /// Parquet file with one row per account and instrument (`account,
    /// symbol, side, size, entry_price, margin_mode, collateral`); its
    /// rows in the market's instrument join the generated accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<std::path::PathBuf>,
    /// Total open interest at entry, quote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_interest: Option<f64>,
    /// Total open interest as a multiple of the average daily quote volume
    /// of the bars in the entry window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_interest_adv: Option<f64>,
    /// Share of open interest held long (0..1; default 0.5).
    #[serde(default = "half")]
    pub long_share: f64,
    /// Leverage distribution (required for generated accounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leverage: Option<LeverageDist>,
    /// Entries spread uniformly over this window before the start (e.g.
    /// "7d"), at the historical close then; "0s" (default) = all at the
    /// start price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_window: Option<String>,
    /// Log-spread of account sizes (0 = equal sizes).
    #[serde(default = "one")]
    pub size_sigma: f64,
    /// `isolated` or `cross`: the same for single-position accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_mode: Option<crate::MarginMode>,
    /// Most cascade rounds per price point (the cap is recorded when hit).
    #[serde(default = "rounds")]
    pub max_rounds: usize,
    /// Share of accounts that top up their margin (the rest hold static).
    #[serde(default)]
    pub topup_share: f64,
    /// They act when the mark comes within this relative distance of their
    /// liquidation price (e.g. 0.02 = 2 %).
    #[serde(default = "topup_trigger")]
    pub topup_trigger: f64,
    /// They add this multiple of their initial collateral, once.
    #[serde(default = "topup_amount")]
    pub topup_amount: f64,
    /// The top-up lands this long after the trigger (e.g. "10m": a person
    /// noticing and wiring collateral); "0s" = at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topup_delay: Option<String>,
    /// Put the subject's opening position into the market pass as one more
    /// account (for a subject large enough to move the market): each
    /// parameter point then gets its own market pass, and the subject's
    /// account pass trades without a second impact of its own orders.
    #[serde(default)]
    pub couple_subject: bool,
    /// Renew the crowd: after each bar, while open interest is more than
    /// `renew_band` below `open_interest`, liquidated accounts are replaced
    /// by new ones opening at the mark (same side, size and leverage
    /// distributions), so a long window keeps a live crowd.
    #[serde(default)]
    pub renew: bool,
    /// How far open interest may fall below its target before renewal
    /// (default 0.05).
    #[serde(default = "renew_band")]
    pub renew_band: f64,
}

fn renew_band() -> f64 {
    0.05
}

/// How a market pass renews its crowd ([`PopulationConfig::renew`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RenewRule {
    /// Open interest to hold (quote).
    pub target: f64,
    /// Renewal starts when open interest is below `target × (1 − band)`.
    pub band: f64,
    /// Mean size of a new account (quote).
    pub mean_size: f64,
    /// Log-spread of sizes.
    pub size_sigma: f64,
    /// Share of new accounts that are long.
    pub long_share: f64,
    /// Leverage of new accounts.
    pub leverage: LeverageDist,
    /// Seed of the renewal draws.
    pub seed: u64,
}

fn topup_trigger() -> f64 {
    0.02
}

fn topup_amount() -> f64 {
    0.5
}

/// How top-up accounts act in a market pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopUpRule {
    /// Relative distance to the liquidation price that triggers them.
    pub trigger: f64,
    /// Multiple of the initial collateral added.
    pub amount: f64,
    /// Delay from trigger to the collateral landing, ns.
    pub delay_ns: i64,
}

/// A maintenance-margin group: accounts whose requirement is
/// `rate·notional − cum` (a bracket of the venue's table at their size).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MarginGroup {
    /// Maintenance rate.
    pub rate: f64,
    /// Maintenance amount subtracted (Binance's `cum`).
    pub cum: f64,
}

impl MarginGroup {
    /// The venue's requirement around a position of `qty` at `price`, as
    /// `rate·notional − cum`: the local slope of its maintenance margin and
    /// the amount that makes the line meet it (rounded, so the accounts of
    /// one bracket share a group).
    pub fn of(venue: &VenueProfile, qty: f64, price: f64) -> Self {
        let size = qty * price;
        let mm = venue.margin.maintenance(size, qty);
        let eps = 1e-7 * size;
        let rate = ((venue.margin.maintenance(size + eps, qty) - mm) / eps * 1e9).round() / 1e9;
        let cum = ((rate * size - mm) * 1e6).round() / 1e6;
        Self { rate, cum }
    }
}

/// The crowd, as columns. `side` is +1 long, −1 short.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Population {
    /// +1 long, −1 short.
    pub side: Vec<i8>,
    /// Position size, base units.
    pub qty: Vec<f64>,
    /// Entry price.
    pub entry: Vec<f64>,
    /// Collateral (isolated margin), quote.
    pub collateral: Vec<f64>,
    /// Index into `groups`.
    pub group: Vec<u16>,
    /// Whether each account tops up its margin (empty: none does).
    pub topup: Vec<bool>,
    /// Maintenance groups.
    pub groups: Vec<MarginGroup>,
    /// Candidates that would have been liquidated between their entry and
    /// the start (not in the crowd).
    pub dropped: usize,
    /// The accounts (a range of indices) replayed from a book of positions
    /// (`[population] file`), counted apart in the pass's metrics.
    pub book: std::ops::Range<usize>,
}

impl Population {
    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.side.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.side.is_empty()
    }

    /// Liquidation price of account `i` with funding offset 0.
    pub fn liquidation_price(&self, i: usize) -> f64 {
        let g = self.groups[self.group[i] as usize];
        let k =
            self.entry[i] - f64::from(self.side[i]) * (self.collateral[i] + g.cum) / self.qty[i];
        k / (1.0 - f64::from(self.side[i]) * g.rate)
    }

    /// Open interest (entry notional), long and short.
    pub fn open_interest(&self) -> (f64, f64) {
        let mut oi = (0.0, 0.0);
        for i in 0..self.len() {
            let n = self.qty[i] * self.entry[i];
            if self.side[i] > 0 {
                oi.0 += n;
            } else {
                oi.1 += n;
            }
        }
        oi
    }

    /// The crowd plus one more account (e.g. the subject): `side` +1/−1,
    /// `qty` base units entered at `entry` with `collateral`, in the venue's
    /// maintenance tier for its size. The new account is the last.
    pub fn with_account(
        &self,
        side: i8,
        qty: f64,
        entry: f64,
        collateral: f64,
        venue: &VenueProfile,
    ) -> Result<Population, EngineError> {
        let mut p = self.clone();
        let gi = p.intern(MarginGroup::of(venue, qty, entry))?;
        p.side.push(side);
        p.qty.push(qty);
        p.entry.push(entry);
        p.collateral.push(collateral);
        p.group.push(gi);
        if !p.topup.is_empty() {
            p.topup.push(false);
        }
        Ok(p)
    }

    /// Adds an account in place (see [`Population::with_account`]).
    pub fn push_account(
        &mut self,
        side: i8,
        qty: f64,
        entry: f64,
        collateral: f64,
        venue: &VenueProfile,
    ) -> Result<(), EngineError> {
        let gi = self.intern(MarginGroup::of(venue, qty, entry))?;
        self.side.push(side);
        self.qty.push(qty);
        self.entry.push(entry);
        self.collateral.push(collateral);
        self.group.push(gi);
        if !self.topup.is_empty() {
            self.topup.push(false);
        }
        Ok(())
    }

    /// The index of maintenance group `g`, added if new (at most 1,024).
    fn intern(&mut self, g: MarginGroup) -> Result<u16, EngineError> {
        if let Some(i) = self.groups.iter().position(|x| *x == g) {
            return Ok(i as u16);
        }
        if self.groups.len() >= 1024 {
            return Err(EngineError::config(
                "population",
                "the venue's margin model gives more than 1,024 distinct maintenance tiers for the crowd",
            ));
        }
        self.groups.push(g);
        Ok((self.groups.len() - 1) as u16)
    }

    /// Mean margin locked per unit of exposure (Σ collateral / Σ notional).
    pub fn margin_per_exposure(&self) -> f64 {
        let c: f64 = self.collateral.iter().sum();
        let (l, s) = self.open_interest();
        c / (l + s)
    }
}

impl PopulationConfig {
    /// Checks the table; every problem names its field.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |f: &str, m: String| Err(EngineError::config(&format!("population.{f}"), m));
        if self.accounts > 50_000_000 || (self.accounts == 0 && self.file.is_none()) {
            return bad(
                "accounts",
                format!(
                    "must be 1 to 50,000,000, got {} (or 0 with a positions `file`)",
                    self.accounts
                ),
            );
        }
        if self.accounts == 0 {
            // The crowd is the file's: nothing of a generated crowd applies.
            for (k, set) in [
                ("open_interest", self.open_interest.is_some()),
                ("open_interest_adv", self.open_interest_adv.is_some()),
                ("leverage", self.leverage.is_some()),
                ("entry_window", self.entry_window.is_some()),
            ] {
                if set {
                    return bad(k, "only for generated accounts (accounts > 0)".into());
                }
            }
        }
        if self.renew {
            if self.accounts == 0 || self.open_interest.is_none() {
                return bad(
                    "renew",
                    "renews generated accounts toward `open_interest`: give accounts > 0 and open_interest".into(),
                );
            }
            if self.topup_share > 0.0 || self.couple_subject {
                return bad(
                    "renew",
                    "not with topup_share or couple_subject (a renewed account is a new trader)"
                        .into(),
                );
            }
            if !(self.renew_band >= 0.0 && self.renew_band < 1.0) {
                return bad(
                    "renew_band",
                    format!("must be in [0, 1), got {}", self.renew_band),
                );
            }
        }
        match (self.open_interest, self.open_interest_adv) {
            (Some(_), Some(_)) => {
                return bad(
                    "open_interest_adv",
                    "give open_interest or open_interest_adv, not both".into(),
                )
            }
            (None, None) if self.accounts > 0 => {
                return bad("open_interest", "required (or open_interest_adv)".into())
            }
            (Some(x), None) | (None, Some(x)) if !(x > 0.0 && x.is_finite()) => {
                let f = if self.open_interest.is_some() {
                    "open_interest"
                } else {
                    "open_interest_adv"
                };
                return bad(f, format!("must be > 0, got {x}"));
            }
            _ => {}
        }
        if !(0.0..=1.0).contains(&self.long_share) {
            return bad(
                "long_share",
                format!("must be in [0, 1], got {}", self.long_share),
            );
        }
        if !(self.size_sigma >= 0.0 && self.size_sigma <= 5.0) {
            return bad(
                "size_sigma",
                format!("must be in [0, 5], got {}", self.size_sigma),
            );
        }
        if self.max_rounds == 0 {
            return bad("max_rounds", "must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.topup_share) {
            return bad(
                "topup_share",
                format!("must be in [0, 1], got {}", self.topup_share),
            );
        }
        if !(self.topup_trigger > 0.0 && self.topup_trigger < 1.0) {
            return bad(
                "topup_trigger",
                format!("must be in (0, 1), got {}", self.topup_trigger),
            );
        }
        if !(self.topup_amount > 0.0 && self.topup_amount.is_finite()) {
            return bad(
                "topup_amount",
                format!("must be > 0, got {}", self.topup_amount),
            );
        }
        if let Some(d) = &self.topup_delay {
            match levsim_core::time::parse_duration(d) {
                Ok(ns) if ns >= 0 => {}
                Ok(_) => return bad("topup_delay", "must not be negative".into()),
                Err(e) => return bad("topup_delay", e.to_string()),
            }
        }
        if let Some(w) = &self.entry_window {
            match levsim_core::time::parse_duration(w) {
                Ok(ns) if ns >= 0 => {}
                Ok(_) => return bad("entry_window", "must not be negative".into()),
                Err(e) => return bad("entry_window", e.to_string()),
            }
        }
        match &self.leverage {
            None if self.accounts > 0 => {
                return bad(
                    "leverage",
                    "required for generated accounts (a lognormal or histogram table)".into(),
                )
            }
            None => {}
            Some(LeverageDist::Lognormal {
                median,
                sigma,
                cap,
                min,
            }) => {
                if !(*min >= 1.0 && median >= min && cap >= median && cap.is_finite()) {
                    return bad(
                        "leverage",
                        format!("need 1 ≤ min ≤ median ≤ cap, got min {min}, median {median}, cap {cap}"),
                    );
                }
                if !(*sigma >= 0.0 && sigma.is_finite()) {
                    return bad("leverage.sigma", format!("must be ≥ 0, got {sigma}"));
                }
            }
            Some(LeverageDist::Histogram { values, weights }) => {
                if values.is_empty() || values.len() != weights.len() {
                    return bad(
                        "leverage.weights",
                        "needs one weight per value, at least one".into(),
                    );
                }
                if let Some(v) = values.iter().find(|v| !(**v >= 1.0 && v.is_finite())) {
                    return bad(
                        "leverage.values",
                        format!("every leverage must be ≥ 1, got {v}"),
                    );
                }
                if weights.iter().any(|w| !(*w >= 0.0 && w.is_finite()))
                    || weights.iter().sum::<f64>() <= 0.0
                {
                    return bad("leverage.weights", "must be ≥ 0 with a positive sum".into());
                }
            }
        }
        Ok(())
    }

    /// The top-up rule the market pass applies (None when nobody tops up).
    pub fn topup_rule(&self) -> Option<TopUpRule> {
        (self.topup_share > 0.0).then(|| TopUpRule {
            trigger: self.topup_trigger,
            amount: self.topup_amount,
            delay_ns: self
                .topup_delay
                .as_deref()
                .and_then(|w| levsim_core::time::parse_duration(w).ok())
                .unwrap_or(0),
        })
    }

    /// The renewal rule of a renewing crowd (`seed`: the renewal stream).
    pub fn renew_rule(&self, seed: u64) -> Option<RenewRule> {
        let (target, leverage) = (self.open_interest?, self.leverage.clone()?);
        (self.renew && self.accounts > 0).then(|| RenewRule {
            target,
            band: self.renew_band,
            mean_size: target / self.accounts as f64,
            size_sigma: self.size_sigma,
            long_share: self.long_share,
            leverage,
            seed,
        })
    }

    /// The entry window in ns (0 when absent).
    pub fn entry_window_ns(&self) -> i64 {
        self.entry_window
            .as_deref()
            .and_then(|w| levsim_core::time::parse_duration(w).ok())
            .unwrap_or(0)
    }

    /// Generates the crowd for a market starting at `start_ns` from `seed`.
    /// `history` holds the bars before (and at) the start: entries fall at
    /// bar closes in the entry window; without history bars there, every
    /// account enters at `start_price`. Candidates whose liquidation price
    /// was reached between their entry and the start are dropped (they are
    /// not in the market any more) and the survivors are scaled to the
    /// open interest.
    pub fn generate(
        &self,
        seed: u64,
        history: &MarketTape,
        start_ns: TimestampNs,
        start_price: f64,
        venue: &VenueProfile,
    ) -> Result<Population, EngineError> {
        self.validate()?;
        let Some(dist) = self.leverage.as_ref().filter(|_| self.accounts > 0) else {
            // No generated accounts: the crowd is the positions file's.
            return Ok(Population::default());
        };
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let window = self.entry_window_ns();
        let lo = history.ts.partition_point(|&t| t < start_ns - window);
        let hi = history.ts.partition_point(|&t| t < start_ns);
        let entries = if window > 0 && hi > lo { lo..hi } else { 0..0 };
        // Lowest low and highest high from each entry bar's close to the start.
        let n_e = entries.len();
        let mut min_after = vec![f64::INFINITY; n_e + 1];
        let mut max_after = vec![f64::NEG_INFINITY; n_e + 1];
        for k in (0..n_e).rev() {
            let j = entries.start + k + 1;
            let (l, h) = if j < hi {
                (history.low[j], history.high[j])
            } else {
                (f64::INFINITY, f64::NEG_INFINITY)
            };
            min_after[k] = min_after[k + 1].min(l);
            max_after[k] = max_after[k + 1].max(h);
        }
        let oi_target = match (self.open_interest, self.open_interest_adv) {
            (Some(x), _) => x,
            (None, Some(m)) => {
                let (a, b) = if n_e > 0 {
                    (entries.start, entries.end)
                } else {
                    (0, hi.max(1).min(history.len()))
                };
                let quote: f64 = (a..b).map(|j| history.volume[j] * history.close[j]).sum();
                let days = ((b - a) as f64 * history.interval_ns as f64 / 86_400e9).max(1e-9);
                if !(quote > 0.0) {
                    return Err(EngineError::config(
                        "population.open_interest_adv",
                        "the bars before the start have no volume to scale by; give open_interest",
                    ));
                }
                m * quote / days
            }
            (None, None) => unreachable!("validated"),
        };
        let imf_cap = venue.crowd.oi_initial_margin.map(|o| {
            let imf0 = 1.0
                / venue
                    .max_leverage(oi_target / self.accounts as f64)
                    .min(1e6);
            1.0 / o.imf(imf0, oi_target)
        });
        let mut pop = Population::default();
        let mean_size = oi_target / self.accounts as f64;
        for _ in 0..self.accounts {
            let side: i8 = if rng.random::<f64>() < self.long_share {
                1
            } else {
                -1
            };
            let tops_up = self.topup_share > 0.0 && rng.random::<f64>() < self.topup_share;
            let z: f64 = StandardNormal.sample(&mut rng);
            let size =
                mean_size * (self.size_sigma * z - 0.5 * self.size_sigma * self.size_sigma).exp();
            let mut lev = dist.sample(&mut rng);
            if let Some(cap) = imf_cap {
                lev = lev.min(cap);
            }
            let (entry, k) = if n_e > 0 {
                let k = rng.random_range(0..n_e);
                (history.close[entries.start + k], Some(k))
            } else {
                (start_price, None)
            };
            let qty = size / entry;
            // The venue's cap at this size (size-scaled rates see it).
            lev = lev.min(venue.max_leverage_sized(size, qty));
            let collateral = size / lev;
            let MarginGroup { rate, cum } = MarginGroup::of(venue, qty, entry);
            // Survived from entry to the start?
            let kk = entry - f64::from(side) * (collateral + cum) / qty;
            let liq = kk / (1.0 - f64::from(side) * rate);
            if let Some(k) = k {
                let crossed = if side > 0 {
                    min_after[k] <= liq || history.close[hi.max(1) - 1] <= liq
                } else {
                    max_after[k] >= liq || history.close[hi.max(1) - 1] >= liq
                };
                if crossed {
                    pop.dropped += 1;
                    continue;
                }
            }
            pop.side.push(side);
            pop.qty.push(qty);
            pop.entry.push(entry);
            pop.collateral.push(collateral);
            if self.topup_share > 0.0 {
                pop.topup.push(tops_up);
            }
        }
        if pop.is_empty() {
            return Err(EngineError::config(
                "population",
                format!(
                    "every one of the {} accounts would have been liquidated before the start; lower the leverage or shorten entry_window",
                    self.accounts
                ),
            ));
        }
        // Scale the survivors to the open interest (leverage unchanged).
        let (l, s) = pop.open_interest();
        let f = oi_target / (l + s);
        for i in 0..pop.len() {
            pop.qty[i] *= f;
            pop.collateral[i] *= f;
        }
        // Each account's maintenance group at its final size.
        for i in 0..pop.len() {
            let gi = pop.intern(MarginGroup::of(venue, pop.qty[i], pop.entry[i]))?;
            pop.group.push(gi);
        }
        Ok(pop)
    }
}
