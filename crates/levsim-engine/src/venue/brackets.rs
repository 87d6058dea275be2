//! Tiered notional brackets (Binance "tax bracket" maintenance margin).

use serde::{Deserialize, Serialize};

use crate::EngineError;

/// One bracket as written in a profile: notional cap (inclusive), maximum
/// leverage and maintenance rate. The floor is the previous cap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BracketSpec {
    /// Upper notional bound of the bracket (quote), inclusive.
    pub cap: f64,
    /// Highest leverage allowed for a position in this bracket.
    pub max_leverage: f64,
    /// Maintenance margin rate.
    pub mmr: f64,
}

/// A validated bracket with its floor and maintenance amount.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bracket {
    /// Lower notional bound (exclusive; 0 for the first bracket).
    pub floor: f64,
    /// Upper notional bound (inclusive).
    pub cap: f64,
    /// Highest leverage allowed.
    pub max_leverage: f64,
    /// Maintenance margin rate.
    pub mmr: f64,
    /// Maintenance amount: `MM = N·mmr − cum`.
    pub cum: f64,
}

/// A validated bracket table: `MM(N) = N·mmr_k − cum_k` for the bracket
/// `floor_k < N ≤ cap_k`, with `cum_k = cum_{k−1} + floor_k·(mmr_k − mmr_{k−1})`
/// so that MM is continuous in N.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BracketTable {
    brackets: Vec<Bracket>,
}

impl BracketTable {
    /// Builds a table from caps, leverages and rates; `path` names the table
    /// in errors. Caps must increase, rates must be in (0, 0.5] and must not
    /// decrease, leverages must be ≥ 1 and must not increase.
    pub fn new(specs: &[BracketSpec], path: &str) -> Result<Self, EngineError> {
        if specs.is_empty() {
            return Err(EngineError::config(path, "at least one bracket is needed"));
        }
        let mut out = Vec::with_capacity(specs.len());
        let (mut floor, mut prev_mmr, mut cum) = (0.0_f64, 0.0_f64, 0.0_f64);
        for (i, s) in specs.iter().enumerate() {
            let here = format!("{path}[{i}]");
            if !(s.cap > floor) {
                return Err(EngineError::config(
                    &format!("{here}.cap"),
                    format!("caps must increase: {} after {}", s.cap, floor),
                ));
            }
            if !(s.mmr > 0.0 && s.mmr <= 0.5) || s.mmr < prev_mmr {
                return Err(EngineError::config(
                    &format!("{here}.mmr"),
                    format!(
                        "must be in (0, 0.5] and not below the previous bracket's, got {}",
                        s.mmr
                    ),
                ));
            }
            if !(s.max_leverage >= 1.0)
                || out
                    .last()
                    .is_some_and(|b: &Bracket| s.max_leverage > b.max_leverage)
            {
                return Err(EngineError::config(
                    &format!("{here}.max_leverage"),
                    format!(
                        "must be ≥ 1 and not above the previous bracket's, got {}",
                        s.max_leverage
                    ),
                ));
            }
            cum += floor * (s.mmr - prev_mmr);
            out.push(Bracket {
                floor,
                cap: s.cap,
                max_leverage: s.max_leverage,
                mmr: s.mmr,
                cum,
            });
            floor = s.cap;
            prev_mmr = s.mmr;
        }
        Ok(Self { brackets: out })
    }

    /// Hyperliquid-style tiers (SPEC §3.1): `(lower bound, max leverage)`
    /// pairs, lowest first; each tier's maintenance rate is half its initial
    /// rate at maximum leverage, `mmr = 1/(2·max_leverage)`, and the
    /// deductions follow the same recursion as Binance's maintenance amounts.
    pub fn from_leverage_tiers(tiers: &[(f64, f64)], path: &str) -> Result<Self, EngineError> {
        if tiers.first().map(|t| t.0) != Some(0.0) {
            return Err(EngineError::config(path, "the first tier must start at 0"));
        }
        let specs: Vec<BracketSpec> = tiers
            .iter()
            .enumerate()
            .map(|(i, &(_, lev))| BracketSpec {
                cap: tiers.get(i + 1).map_or(f64::INFINITY, |t| t.0),
                max_leverage: lev,
                mmr: 1.0 / (2.0 * lev),
            })
            .collect();
        Self::new(&specs, path)
    }

    /// One flat rate for all notionals (no maintenance amount).
    pub fn flat(mmr: f64, max_leverage: f64) -> Self {
        Self {
            brackets: vec![Bracket {
                floor: 0.0,
                cap: f64::INFINITY,
                max_leverage,
                mmr,
                cum: 0.0,
            }],
        }
    }

    /// All brackets, lowest first.
    pub fn brackets(&self) -> &[Bracket] {
        &self.brackets
    }

    /// The bracket of a notional (the last one for notionals above every cap).
    #[inline]
    pub fn bracket_for(&self, notional: f64) -> &Bracket {
        let i = self
            .brackets
            .partition_point(|b| b.cap < notional)
            .min(self.brackets.len() - 1);
        &self.brackets[i]
    }

    /// Maintenance margin of a position of this notional.
    #[inline]
    pub fn maintenance(&self, notional: f64) -> f64 {
        let b = self.bracket_for(notional);
        notional * b.mmr - b.cum
    }

    /// Highest leverage allowed at this notional.
    pub fn max_leverage(&self, notional: f64) -> f64 {
        self.bracket_for(notional).max_leverage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(cap: f64, lev: f64, mmr: f64) -> BracketSpec {
        BracketSpec {
            cap,
            max_leverage: lev,
            mmr,
        }
    }

    #[test]
    fn maintenance_is_continuous_at_every_cap() {
        let t = BracketTable::new(
            &[
                spec(100.0, 50.0, 0.01),
                spec(1000.0, 20.0, 0.02),
                spec(1e9, 5.0, 0.1),
            ],
            "t",
        )
        .unwrap();
        for b in t.brackets().iter().take(2) {
            let at = t.maintenance(b.cap);
            let above = t.maintenance(b.cap * (1.0 + 1e-12));
            assert!((at - above).abs() < 1e-6, "cap {}: {at} vs {above}", b.cap);
        }
        assert_eq!(t.bracket_for(100.0).mmr, 0.01);
        assert_eq!(t.bracket_for(100.01).mmr, 0.02);
        assert_eq!(t.bracket_for(1e12).mmr, 0.1);
    }

    #[test]
    fn bad_tables_name_the_field() {
        let e = BracketTable::new(&[spec(100.0, 50.0, 0.01), spec(50.0, 20.0, 0.02)], "b")
            .unwrap_err()
            .to_string();
        assert!(e.contains("b[1].cap"), "{e}");
        let e = BracketTable::new(&[spec(100.0, 50.0, 1.5)], "b")
            .unwrap_err()
            .to_string();
        assert!(e.contains("b[0].mmr"), "{e}");
        let e = BracketTable::new(&[spec(100.0, 50.0, 0.01), spec(200.0, 60.0, 0.02)], "b")
            .unwrap_err()
            .to_string();
        assert!(e.contains("b[1].max_leverage"), "{e}");
    }
}
