//! A crowd whose accounts hold several instruments: accounts → margin
//! buckets → legs, as flat columns (CSR), and its generator from a mix of
//! holdings.
//!
//! A cross-margined account is one bucket holding all its legs against one
//! wallet; an isolated account is one bucket per leg, each with its own
//! wallet. Liquidation acts on a bucket: a cross account's whole book goes
//! at once (Binance's cross liquidation closes the account), an isolated
//! leg goes alone.

use std::collections::BTreeMap;

use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use super::LeverageDist;
use crate::{EngineError, VenueProfile};

/// Accounts holding several instruments, as columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CrowdBook {
    /// Instruments on the market's clock (legs refer to them by index).
    pub instruments: usize,
    /// Accounts (an isolated account has one bucket per leg).
    pub accounts: usize,
    /// Owning account of each bucket.
    pub bucket_account: Vec<u32>,
    /// Whether each bucket is a cross-margined account.
    pub bucket_cross: Vec<bool>,
    /// Collateral of each bucket (quote).
    pub wallet: Vec<f64>,
    /// Legs of bucket `b`: `leg_start[b]..leg_start[b + 1]`.
    pub leg_start: Vec<u32>,
    /// Instrument of each leg.
    pub leg_inst: Vec<u16>,
    /// Signed size of each leg (base units, + long).
    pub leg_qty: Vec<f64>,
    /// Entry price of each leg.
    pub leg_entry: Vec<f64>,
    /// Accounts `0..file_accounts` come from a book of positions (the
    /// rest are generated).
    pub file_accounts: usize,
}

impl CrowdBook {
    /// An empty crowd over `instruments` instruments.
    pub fn new(instruments: usize) -> Self {
        Self {
            instruments,
            leg_start: vec![0],
            ..Default::default()
        }
    }

    /// Margin buckets.
    pub fn buckets(&self) -> usize {
        self.wallet.len()
    }

    /// Leg indices of bucket `b`.
    #[inline]
    pub fn legs(&self, b: usize) -> std::ops::Range<usize> {
        self.leg_start[b] as usize..self.leg_start[b + 1] as usize
    }

    /// Adds an account: `legs` as (instrument, signed size, entry); a cross
    /// account posts `collateral[0]` for all of them, an isolated one
    /// `collateral[i]` for leg `i`. Returns the account's id.
    pub fn push_account(
        &mut self,
        cross: bool,
        legs: &[(u16, f64, f64)],
        collateral: &[f64],
    ) -> u32 {
        let id = self.add_account();
        if cross {
            self.push_bucket(id, true, collateral[0], legs);
        } else {
            for (leg, &c) in legs.iter().zip(collateral) {
                self.push_bucket(id, false, c, std::slice::from_ref(leg));
            }
        }
        id
    }

    /// A new account with no bucket yet (add them with
    /// [`CrowdBook::push_bucket`]); returns its id.
    pub fn add_account(&mut self) -> u32 {
        self.accounts += 1;
        (self.accounts - 1) as u32
    }

    /// Adds a margin bucket of `account`: a cross account's legs against
    /// one wallet, or one isolated leg.
    pub fn push_bucket(
        &mut self,
        account: u32,
        cross: bool,
        wallet: f64,
        legs: &[(u16, f64, f64)],
    ) {
        self.bucket_account.push(account);
        self.bucket_cross.push(cross);
        self.wallet.push(wallet);
        for &(k, q, e) in legs {
            self.leg_inst.push(k);
            self.leg_qty.push(q);
            self.leg_entry.push(e);
        }
        self.leg_start.push(self.leg_inst.len() as u32);
    }

    /// Adds an account whose legs may sit on several venues (`venue_of`
    /// per instrument): a cross account gets one bucket per venue, its
    /// `collateral` split in proportion to the legs' notional there; an
    /// isolated one a bucket per leg with `collateral[i]`.
    pub fn push_account_on(
        &mut self,
        cross: bool,
        legs: &[(u16, f64, f64)],
        collateral: &[f64],
        venue_of: &[usize],
    ) -> u32 {
        if !cross {
            return self.push_account(false, legs, collateral);
        }
        let id = self.add_account();
        let gross: f64 = legs.iter().map(|&(_, q, e)| q.abs() * e).sum();
        let mut venues: Vec<usize> = legs.iter().map(|&(k, _, _)| venue_of[k as usize]).collect();
        venues.sort_unstable();
        venues.dedup();
        for v in venues {
            let mine: Vec<(u16, f64, f64)> = legs
                .iter()
                .copied()
                .filter(|&(k, _, _)| venue_of[k as usize] == v)
                .collect();
            let n: f64 = mine.iter().map(|&(_, q, e)| q.abs() * e).sum();
            let share = if gross > 0.0 {
                n / gross
            } else {
                1.0 / legs.len() as f64
            };
            self.push_bucket(id, true, collateral[0] * share, &mine);
        }
        id
    }

    /// Open interest per instrument at entry (quote, both sides).
    pub fn open_interest(&self) -> Vec<f64> {
        let mut oi = vec![0.0; self.instruments];
        for ((&k, q), e) in self.leg_inst.iter().zip(&self.leg_qty).zip(&self.leg_entry) {
            oi[k as usize] += q.abs() * e;
        }
        oi
    }
}

/// One kind of holding in a multi-asset crowd: weights per symbol (signed:
/// a negative weight is held against the account's direction) and the
/// share of accounts holding it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldingMix {
    /// Weight per symbol (normalized by the sum of their magnitudes).
    pub weights: BTreeMap<String, f64>,
    /// Relative share of accounts holding this mix.
    #[serde(default = "one")]
    pub share: f64,
}

fn one() -> f64 {
    1.0
}
fn half() -> f64 {
    0.5
}

/// The `[population]` table of a portfolio scenario: a crowd whose accounts
/// hold mixes of the market's instruments, cross or isolated.
///
/// Calibration: `open_interest` is the crowd's gross notional at the start
/// over every instrument (e.g. the venue's published open interest in
/// them, quote); `long_share` the share of accounts whose direction is
/// long; `leverage` their leverage; `mix` what they hold (the share of
/// accounts in BTC alone, in BTC and ETH, ...). Accounts open at the first
/// bar's prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrowdMixConfig {
    /// A book of positions replayed as (part of) the crowd: CSV or
    /// Parquet, one row per account and instrument (`account, symbol,
    /// side, size, entry_price, margin_mode, collateral`); a cross
    /// account's rows share one wallet, the sum of their collateral.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<std::path::PathBuf>,
    /// Number of generated accounts (beside the file's; 0: the file alone).
    #[serde(default)]
    pub accounts: usize,
    /// Gross notional of the generated accounts at the start (quote, all
    /// instruments).
    #[serde(default)]
    pub open_interest: f64,
    /// Share of accounts whose direction is long.
    #[serde(default = "half")]
    pub long_share: f64,
    /// Share of accounts in cross margin (the rest isolated).
    #[serde(default = "half")]
    pub cross_share: f64,
    /// Leverage of each generated account (gross notional over
    /// collateral).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leverage: Option<LeverageDist>,
    /// Log-spread of account sizes (log-normal around the mean size).
    #[serde(default = "one")]
    pub size_sigma: f64,
    /// What generated accounts hold.
    #[serde(default)]
    pub mix: Vec<HoldingMix>,
    /// Most cascade rounds at one price point.
    #[serde(default = "rounds")]
    pub max_rounds: usize,
}

fn rounds() -> usize {
    50
}

impl CrowdMixConfig {
    /// Checks the table against the market's symbols; errors name the key.
    pub fn validate(&self, symbols: &[String]) -> Result<(), EngineError> {
        let bad = |k: &str, m: String| Err(EngineError::config(&format!("population.{k}"), m));
        if self.accounts == 0 {
            if self.file.is_none() {
                return bad("accounts", "give accounts > 0, or a positions file".into());
            }
            return Ok(());
        }
        if !(self.open_interest.is_finite() && self.open_interest > 0.0) {
            return bad(
                "open_interest",
                format!("must be > 0, got {}", self.open_interest),
            );
        }
        for (k, v) in [
            ("long_share", self.long_share),
            ("cross_share", self.cross_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(k, format!("must be in [0, 1], got {v}"));
            }
        }
        if !(self.size_sigma.is_finite() && self.size_sigma >= 0.0) {
            return bad(
                "size_sigma",
                format!("must be ≥ 0, got {}", self.size_sigma),
            );
        }
        match self.leverage.as_ref() {
            None => return bad("leverage", "required with accounts > 0".into()),
            Some(LeverageDist::Lognormal {
                median,
                sigma,
                cap,
                min,
            }) => {
                if !(*min >= 1.0 && median >= min && cap >= median && *sigma >= 0.0) {
                    return bad(
                        "leverage",
                        "need 1 ≤ min ≤ median ≤ cap and sigma ≥ 0".into(),
                    );
                }
            }
            Some(LeverageDist::Histogram { values, weights }) => {
                if values.is_empty()
                    || values.len() != weights.len()
                    || values.iter().any(|v| !(*v >= 1.0))
                    || weights.iter().any(|w| !(*w >= 0.0))
                    || weights.iter().sum::<f64>() <= 0.0
                {
                    return bad(
                        "leverage",
                        "values ≥ 1 and weights ≥ 0 of one length, some weight > 0".into(),
                    );
                }
            }
        }
        if self.mix.is_empty() {
            return bad("mix", "give at least one holding".into());
        }
        for (i, m) in self.mix.iter().enumerate() {
            if !(m.share.is_finite() && m.share > 0.0) {
                return bad(
                    &format!("mix[{i}].share"),
                    format!("must be > 0, got {}", m.share),
                );
            }
            if m.weights.values().all(|w| *w == 0.0) {
                return bad(&format!("mix[{i}].weights"), "give a nonzero weight".into());
            }
            for (s, w) in &m.weights {
                if !symbols.contains(s) {
                    return bad(
                        &format!("mix[{i}].weights.{s}"),
                        format!("not an instrument of the market ({})", symbols.join(", ")),
                    );
                }
                if !w.is_finite() {
                    return bad(&format!("mix[{i}].weights.{s}"), "must be a number".into());
                }
            }
        }
        if self.max_rounds == 0 {
            return bad("max_rounds", "must be ≥ 1".into());
        }
        Ok(())
    }

    /// Draws the generated accounts from `seed` into `book` (after the
    /// accounts already there): they open at `prices` (one per instrument,
    /// in `symbols` order) under each instrument's venue rules, leverage
    /// capped at what every leg's venue accepts; a cross account holding
    /// instruments on several venues (`venue_of`) has one bucket on each.
    pub fn generate_into(
        &self,
        book: &mut CrowdBook,
        seed: u64,
        symbols: &[String],
        prices: &[f64],
        rules: &[VenueProfile],
        venue_of: &[usize],
    ) -> Result<(), EngineError> {
        self.validate(symbols)?;
        let Some(dist) = self.leverage.as_ref().filter(|_| self.accounts > 0) else {
            return Ok(());
        };
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let mixes: Vec<Vec<(u16, f64)>> = self
            .mix
            .iter()
            .map(|m| {
                let gross: f64 = m.weights.values().map(|w| w.abs()).sum();
                symbols
                    .iter()
                    .enumerate()
                    .filter_map(|(k, s)| {
                        m.weights
                            .get(s)
                            .filter(|w| **w != 0.0)
                            .map(|w| (k as u16, w / gross))
                    })
                    .collect()
            })
            .collect();
        let total_share: f64 = self.mix.iter().map(|m| m.share).sum();
        let mean = self.open_interest / self.accounts as f64;
        let s = self.size_sigma;
        let mut legs = Vec::new();
        let mut coll = Vec::new();
        for _ in 0..self.accounts {
            let mut u = rng.random::<f64>() * total_share;
            let mut pick = mixes.len() - 1;
            for (i, m) in self.mix.iter().enumerate() {
                if u < m.share {
                    pick = i;
                    break;
                }
                u -= m.share;
            }
            let dir = if rng.random::<f64>() < self.long_share {
                1.0
            } else {
                -1.0
            };
            let cross = rng.random::<f64>() < self.cross_share;
            let z: f64 = StandardNormal.sample(&mut rng);
            let gross = mean * (s * z - 0.5 * s * s).exp();
            let mut lev = dist.sample(&mut rng);
            legs.clear();
            for &(k, w) in &mixes[pick] {
                let p = prices[k as usize];
                let notional = gross * w.abs();
                let max = rules[k as usize].max_leverage_sized(notional, notional / p);
                lev = lev.min(max);
                legs.push((k, dir * w.signum() * notional / p, p));
            }
            let lev = lev.max(1.0);
            coll.clear();
            if cross {
                coll.push(gross / lev);
            } else {
                coll.extend(legs.iter().map(|&(_, q, e)| q.abs() * e / lev));
            }
            book.push_account_on(cross, &legs, &coll, venue_of);
        }
        Ok(())
    }

    /// [`CrowdMixConfig::generate_into`] an empty book, every instrument on
    /// one venue.
    pub fn generate(
        &self,
        seed: u64,
        symbols: &[String],
        prices: &[f64],
        rules: &[VenueProfile],
    ) -> Result<CrowdBook, EngineError> {
        let mut book = CrowdBook::new(symbols.len());
        self.generate_into(
            &mut book,
            seed,
            symbols,
            prices,
            rules,
            &vec![0; symbols.len()],
        )?;
        Ok(book)
    }
}
