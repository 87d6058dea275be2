//! Named venue presets (shipped inside the binary) and scenario overrides.

use std::collections::BTreeMap;

use levsim_core::ContractKind;
use serde::{Deserialize, Serialize};

use super::adl::{AdlPrice, AdlRanking};
use super::dydx::DydxLiquidationConfig;
use super::funding::FundingRule;
use super::liquidation::{LiquidationRule, LiquidationSpec};
use super::{
    BracketSpec, BracketTable, FractionOfNotional, MarginModel, MarginModelAny, RiskLimitSteps,
    SizeScaled,
};
use crate::EngineError;

/// The presets shipped with levsim: `(name, TOML text)`.
const PRESETS: &[(&str, &str)] = &[
    ("binance-usdm", include_str!("presets/binance-usdm.toml")),
    ("binance-coinm", include_str!("presets/binance-coinm.toml")),
    ("bitmex", include_str!("presets/bitmex.toml")),
    ("hyperliquid", include_str!("presets/hyperliquid.toml")),
    ("dydx-v4", include_str!("presets/dydx-v4.toml")),
    ("drift", include_str!("presets/drift.toml")),
    ("aave-v3", include_str!("presets/aave-v3.toml")),
    ("deribit", include_str!("presets/deribit.toml")),
];

/// Names of the shipped presets.
pub fn preset_names() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, _)| *n).collect()
}

/// The TOML text of a shipped preset.
pub fn preset_text(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The TOML text of a venue profile: a shipped preset by name, or a file
/// of one's own with the presets' schema (a name ending in `.toml`, read
/// from that path).
pub fn profile_text(name: &str) -> Result<std::borrow::Cow<'static, str>, EngineError> {
    if name.ends_with(".toml") {
        return std::fs::read_to_string(name)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| EngineError::config("venue.profile", format!("{name}: {e}")));
    }
    preset_text(name).map(std::borrow::Cow::Borrowed).ok_or_else(|| {
        EngineError::config(
            "venue.profile",
            format!(
                "unknown venue profile {name:?}; available: {} (or a profile file of one's own, `venues/my-venue.toml`: `levsim venues export NAME` writes a preset as one)",
                preset_names().join(", ")
            ),
        )
    })
}

/// A shipped preset's identity: what `levsim venues` lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PresetMeta {
    /// Preset name.
    pub name: String,
    /// Parameter version.
    pub version: String,
    /// Date the parameters are from.
    pub as_of: String,
    /// Where they come from.
    pub source: String,
    /// Symbols with their own margin table.
    pub symbols: Vec<String>,
}

/// Parses a shipped preset; errors name the `venue.profile` field.
fn parse_preset(name: &str) -> Result<PresetFile, EngineError> {
    Ok(parse_preset_with(name, &BTreeMap::new(), None, "venue.set")?.0)
}

/// The key of the instrument table of `file` that serves `wanted`: the
/// exact symbol, else the first with the same base asset.
fn symbol_key<'a>(keys: impl Iterator<Item = &'a String>, wanted: &str) -> Option<&'a String> {
    let keys: Vec<&String> = keys.collect();
    keys.iter()
        .find(|k| k.as_str() == wanted)
        .or_else(|| keys.iter().find(|k| base_asset(k) == base_asset(wanted)))
        .copied()
}

/// Parses a shipped preset with the parameter overrides `set` (see
/// [`super::params`]) applied to its instrument table for `wanted`;
/// returns the applied overrides too.
fn parse_preset_with(
    name: &str,
    set: &BTreeMap<String, toml::Value>,
    wanted: Option<&str>,
    at: &str,
) -> Result<(PresetFile, Vec<String>), EngineError> {
    let text = profile_text(name)?;
    let mut table: toml::Table = toml::from_str(&text)
        .map_err(|e| EngineError::config("venue.profile", format!("profile {name}: {e}")))?;
    let applied = if set.is_empty() {
        Vec::new()
    } else {
        let key = match (wanted, table.get("symbols").and_then(toml::Value::as_table)) {
            (Some(w), Some(syms)) => symbol_key(syms.keys(), w).cloned(),
            _ => None,
        };
        super::params::apply(&mut table, key.as_deref(), set, at)?
    };
    // Every parameter within its meaning, whoever set it: an override is
    // named as the key it was given by.
    if let Err((path, message)) = super::params::check(&table) {
        let field = match applied.iter().find(|a| a.path == path) {
            Some(a) => format!("{at}.{}", a.key),
            None => format!("venue profile {name}: {path}"),
        };
        return Err(EngineError::config(&field, message));
    }
    let applied: Vec<String> = applied.iter().map(ToString::to_string).collect();
    let file: PresetFile = toml::Value::Table(table).try_into().map_err(|e| {
        let field = if set.is_empty() { "venue.profile" } else { at };
        EngineError::config(field, format!("profile {name}: {e}"))
    })?;
    Ok((file, applied))
}

/// The identity of a shipped preset.
pub fn preset_meta(name: &str) -> Result<PresetMeta, EngineError> {
    let f = parse_preset(name)?;
    Ok(PresetMeta {
        name: f.name,
        version: f.version,
        as_of: f.as_of,
        source: f.source,
        symbols: f.symbols.into_keys().collect(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    name: String,
    version: String,
    as_of: String,
    source: String,
    contract: ContractKind,
    /// Quote units per contract (inverse contracts: USD per contract).
    #[serde(default = "one")]
    contract_size: f64,
    /// Which price triggers liquidations (informational: `mark` or `oracle`).
    trigger_price: String,
    taker_fee: f64,
    maker_fee: f64,
    liquidation_fee: f64,
    funding: bool,
    #[serde(default)]
    insurance_fund: f64,
    #[serde(default)]
    adl: bool,
    adl_ranking: AdlRanking,
    adl_price: AdlPrice,
    funding_rule: FundingRule,
    liquidation: LiquidationSpec,
    #[serde(default)]
    dydx: Option<DydxLiquidationConfig>,
    #[serde(default)]
    aave: Option<AaveExtras>,
    #[serde(default)]
    drift: Option<DriftExtras>,
    symbols: BTreeMap<String, SymbolFile>,
}

/// Aave parameters beyond the liquidation rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AaveExtras {
    /// Protocol's share of the liquidation bonus.
    pub protocol_fee: f64,
    /// Reserve value below which the close factor is 100 % (quote).
    pub min_base_max_close_factor: f64,
}

fn one() -> f64 {
    1.0
}

/// A lending reserve's collateral parameters as the protocol publishes
/// them (Aave: `ltv` and `liquidation_threshold`). As a loop long, the
/// largest leverage is `1/(1 − ltv)` and the position is liquidated when
/// the debt reaches `liquidation_threshold` of the collateral value: a
/// maintenance rate of `1 − liquidation_threshold` on the notional.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollateralParams {
    /// Loan-to-value: the largest debt per unit of collateral value.
    pub ltv: f64,
    /// Liquidation threshold: the health factor's weight on collateral.
    pub liquidation_threshold: f64,
}

impl CollateralParams {
    /// The margin model, and a note when `ltv` had to be lowered to the
    /// liquidation threshold (Aave's configurator requires `ltv ≤ LT`; a
    /// threshold set below the preset's LTV, as AAVE-LIQ-1's 80 % is below
    /// WETH's 80.5 %, caps the LTV rather than failing).
    fn fraction(self, path: &str) -> Result<(FractionOfNotional, Option<String>), EngineError> {
        let (mut ltv, lt) = (self.ltv, self.liquidation_threshold);
        if !(lt > 0.0 && lt < 1.0) {
            return Err(EngineError::config(
                &format!("{path}.liquidation_threshold"),
                format!("must be in (0, 1), got {lt}"),
            ));
        }
        if !(ltv > 0.0 && ltv < 1.0) {
            return Err(EngineError::config(
                &format!("{path}.ltv"),
                format!("must be in (0, 1), got {ltv}"),
            ));
        }
        let mut note = None;
        if ltv > lt {
            note = Some(format!(
                "ltv lowered from {ltv} to the liquidation threshold {lt} (ltv ≤ liquidation_threshold)"
            ));
            ltv = lt;
        }
        let f = FractionOfNotional {
            imf: 1.0 - ltv,
            mf: (1.0 - lt) / (1.0 - ltv),
            oi_lower: 0.0,
            oi_upper: 0.0,
            open_notional: 0.0,
        };
        Ok((f, note))
    }
}

/// Drift's liquidation parameters beyond the fee (SPEC §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftExtras {
    /// The liquidator's fee as a fraction of the transferred value.
    pub liquidator_fee: f64,
    /// The market's cap on the insurance-fund fee (`if_liquidation_fee`).
    pub if_liquidation_fee: f64,
    /// `liquidation_margin_buffer_ratio`: added to the maintenance ratio
    /// while an account is in liquidation.
    pub liquidation_margin_buffer: f64,
}

/// One instrument's margin table; exactly one model field is set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SymbolFile {
    /// Where this table's values come from, and their date.
    #[allow(dead_code)]
    source: Option<String>,
    liquidation_fee: Option<f64>,
    /// Aave: the reserve's published LTV and liquidation threshold.
    collateral: Option<CollateralParams>,
    brackets: Option<Vec<BracketSpec>>,
    leverage_tiers: Option<Vec<[f64; 2]>>,
    risk_limit: Option<RiskLimitSteps>,
    fraction: Option<FractionOfNotional>,
    size_scaled: Option<SizeScaled>,
}

impl SymbolFile {
    fn model(&self, path: &str) -> Result<(MarginModelAny, Option<String>), EngineError> {
        let set = [
            self.collateral.is_some(),
            self.brackets.is_some(),
            self.leverage_tiers.is_some(),
            self.risk_limit.is_some(),
            self.fraction.is_some(),
            self.size_scaled.is_some(),
        ];
        if set.iter().filter(|&&b| b).count() != 1 {
            return Err(EngineError::config(
                path,
                "exactly one of collateral, brackets, leverage_tiers, risk_limit, fraction, size_scaled is needed",
            ));
        }
        if let Some(c) = self.collateral {
            let (f, note) = c.fraction(&format!("{path}.collateral"))?;
            return Ok((MarginModelAny::Fraction(f), note));
        }
        let model = if let Some(b) = &self.brackets {
            MarginModelAny::Tiered(BracketTable::new(b, &format!("{path}.brackets"))?)
        } else if let Some(t) = &self.leverage_tiers {
            let tiers: Vec<(f64, f64)> = t.iter().map(|x| (x[0], x[1])).collect();
            MarginModelAny::Tiered(BracketTable::from_leverage_tiers(
                &tiers,
                &format!("{path}.leverage_tiers"),
            )?)
        } else if let Some(r) = self.risk_limit {
            r.validate(&format!("{path}.risk_limit"))?;
            MarginModelAny::RiskLimit(r)
        } else if let Some(f) = self.fraction {
            MarginModelAny::Fraction(f)
        } else if let Some(z) = self.size_scaled {
            MarginModelAny::SizeScaled(z)
        } else {
            unreachable!("exactly one model is set")
        };
        Ok((model, None))
    }
}

/// The base asset of a symbol: `BTCUSDT`, `BTC-USD`, `BTC-PERP`,
/// `BTCUSD_PERP`, `XBTUSD` and `BTC` all give `BTC`.
fn base_asset(symbol: &str) -> &str {
    let s = symbol.split(['-', '_']).next().unwrap_or(symbol);
    let base = ["USDT", "USDC", "BUSD", "USD"]
        .iter()
        .find_map(|q| s.strip_suffix(q).filter(|b| !b.is_empty()))
        .unwrap_or(s);
    if base == "XBT" {
        "BTC"
    } else {
        base
    }
}

/// The `[venue]` table of a scenario: a preset name plus optional overrides.
/// Unknown fields are errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueConfig {
    /// Preset name (`levsim venues` lists them).
    pub profile: String,
    /// Name of this configuration in reports when a scenario compares
    /// several (`[[venue]]`); defaults to the profile name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Which of the preset's per-symbol tables to use; defaults to the
    /// market's symbol (matched exactly, else by base asset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// One flat maintenance rate replacing the preset's margin model (e.g. 0.005).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_rate: Option<f64>,
    /// Maximum leverage (caps the model's limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_leverage: Option<f64>,
    /// Taker fee rate on opening and rebalancing trades.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taker_fee: Option<f64>,
    /// Maker fee rate (recorded; the engine trades as taker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maker_fee: Option<f64>,
    /// Liquidation fee rate on the liquidated notional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidation_fee: Option<f64>,
    /// Starting insurance-fund balance (quote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurance_fund: Option<f64>,
    /// Auto-deleveraging on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adl: Option<bool>,
    /// Whether funding is paid (`false` switches it off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<bool>,
    /// Crowd market pass: `"full"` or `"partial"` liquidation (default:
    /// the preset's mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crowd_liquidation: Option<crate::crowd::CrowdLiquidation>,
    /// Crowd market pass: share closed per partial liquidation (default:
    /// the preset's, else 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_fraction: Option<f64>,
    /// Crowd market pass: volatility-scaled maintenance rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_margin: Option<crate::crowd::DynamicMargin>,
    /// Crowd market pass: open-interest-scaled initial margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oi_initial_margin: Option<crate::crowd::OiInitialMargin>,
    /// Any preset parameter by its name in `levsim venues show NAME`
    /// (`imf = 0.2`, `dydx.spread_to_mmr = 0.2`, `liquidation_threshold =
    /// 0.8`): see [`super::params`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set: BTreeMap<String, toml::Value>,
}

/// A resolved venue: rules for one instrument on one venue, after overrides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VenueProfile {
    /// Preset name.
    pub name: String,
    /// Preset version.
    pub version: String,
    /// Date the parameters are from.
    pub as_of: String,
    /// Where the parameters come from.
    pub source: String,
    /// Instrument table used.
    pub symbol: String,
    /// Linear or inverse.
    pub contract: ContractKind,
    /// Quote units per contract.
    pub contract_size: f64,
    /// Price that triggers liquidations (`mark` or `oracle`).
    pub trigger_price: String,
    /// Maintenance margin model.
    pub margin: MarginModelAny,
    /// Cap on leverage from an override (infinite when none).
    pub max_leverage_cap: f64,
    /// Taker fee rate.
    pub taker_fee: f64,
    /// Maker fee rate.
    pub maker_fee: f64,
    /// Liquidation fee rate on the closed notional.
    pub liquidation_fee: f64,
    /// How liquidations execute.
    pub liquidation: LiquidationRule,
    /// Funding on or off.
    pub funding: bool,
    /// Funding formula and schedule.
    pub funding_rule: FundingRule,
    /// Starting insurance-fund balance.
    pub insurance_fund: f64,
    /// Auto-deleveraging on or off.
    pub adl: bool,
    /// ADL ranking.
    pub adl_ranking: AdlRanking,
    /// Price at which ADL closes counterparties.
    pub adl_price: AdlPrice,
    /// dYdX's fillable-price and fee parameters, for dYdX profiles.
    pub dydx: Option<DydxLiquidationConfig>,
    /// Aave's protocol fee and close-factor floor, for Aave profiles.
    pub aave: Option<AaveExtras>,
    /// Drift's liquidator fee, insurance-fund fee cap and margin buffer.
    pub drift: Option<DriftExtras>,
    /// Overrides applied, as `field = value` strings, for reports.
    pub overrides: Vec<String>,
    /// How the crowd market pass liquidates and margins the crowd.
    pub crowd: crate::crowd::CrowdRules,
}

fn rate(path: &str, v: f64, max: f64) -> Result<f64, EngineError> {
    if v.is_finite() && (0.0..max).contains(&v) {
        Ok(v)
    } else {
        Err(EngineError::config(
            path,
            format!("must be in [0, {max}), got {v}"),
        ))
    }
}

impl VenueProfile {
    /// Resolves a scenario's `[venue]` for a market whose symbol is
    /// `market_symbol`. Every error names its field (`venue.taker_fee`, …).
    pub fn resolve(cfg: &VenueConfig, market_symbol: &str) -> Result<Self, EngineError> {
        let wanted = cfg
            .symbol
            .clone()
            .unwrap_or_else(|| market_symbol.to_string());
        let (file, mut overrides) =
            parse_preset_with(&cfg.profile, &cfg.set, Some(&wanted), "venue.set")?;
        let table =
            symbol_key(file.symbols.keys(), &wanted).and_then(|k| file.symbols.get_key_value(k));
        let symbol = table.map_or(wanted.clone(), |(k, _)| k.clone());
        let sym_fee = table.and_then(|(_, t)| t.liquidation_fee);
        let margin = match (cfg.maintenance_rate, table) {
            (Some(m), _) => {
                let m = rate("venue.maintenance_rate", m, 0.5)?;
                if m == 0.0 {
                    return Err(EngineError::config("venue.maintenance_rate", "must be > 0"));
                }
                overrides.push(format!("maintenance_rate = {m}"));
                MarginModelAny::Tiered(BracketTable::flat(m, 1.0 / m))
            }
            (None, Some((k, t))) => {
                let (model, note) = t.model(&format!("venue profile {} symbols.{k}", file.name))?;
                overrides.extend(note);
                model
            }
            (None, None) => {
                let field = if cfg.symbol.is_some() {
                    "venue.symbol"
                } else {
                    "market"
                };
                return Err(EngineError::config(
                    field,
                    format!(
                        "venue profile {} has no margin table for symbol {:?} (it has: {}); set \
                         `[venue] symbol` to one of them or give a flat `maintenance_rate`",
                        file.name,
                        wanted,
                        file.symbols.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        };
        let mut max_leverage_cap = f64::INFINITY;
        if let Some(l) = cfg.max_leverage {
            if !(l.is_finite() && l >= 1.0) {
                return Err(EngineError::config(
                    "venue.max_leverage",
                    format!("must be ≥ 1, got {l}"),
                ));
            }
            overrides.push(format!("max_leverage = {l}"));
            max_leverage_cap = l;
        }
        let mut pick = |name: &str, o: Option<f64>, base: f64| -> Result<f64, EngineError> {
            match o {
                Some(v) => {
                    overrides.push(format!("{name} = {v}"));
                    rate(&format!("venue.{name}"), v, 0.1)
                }
                None => Ok(base),
            }
        };
        let taker_fee = pick("taker_fee", cfg.taker_fee, file.taker_fee)?;
        let maker_fee = pick("maker_fee", cfg.maker_fee, file.maker_fee)?;
        let liquidation_fee = pick(
            "liquidation_fee",
            cfg.liquidation_fee,
            sym_fee.unwrap_or(file.liquidation_fee),
        )?;
        let insurance_fund = match cfg.insurance_fund {
            Some(v) if v.is_finite() && v >= 0.0 => {
                overrides.push(format!("insurance_fund = {v}"));
                v
            }
            Some(v) => {
                return Err(EngineError::config(
                    "venue.insurance_fund",
                    format!("must be a finite amount ≥ 0, got {v}"),
                ))
            }
            None => file.insurance_fund,
        };
        for (name, o) in [("funding", cfg.funding), ("adl", cfg.adl)] {
            if let Some(f) = o {
                overrides.push(format!("{name} = {f}"));
            }
        }
        let liquidation = file
            .liquidation
            .build(&format!("venue profile {} liquidation", file.name))?;
        let crowd = crate::crowd::CrowdRules::resolve(
            cfg.crowd_liquidation,
            cfg.partial_fraction,
            cfg.dynamic_margin.as_ref(),
            cfg.oi_initial_margin,
            liquidation.mode,
        )?;
        if cfg.crowd_liquidation.is_some()
            || cfg.partial_fraction.is_some()
            || cfg.dynamic_margin.is_some()
            || cfg.oi_initial_margin.is_some()
        {
            overrides.push("crowd rules".into());
        }
        Ok(VenueProfile {
            crowd,
            name: file.name,
            version: file.version,
            as_of: file.as_of,
            source: file.source,
            symbol,
            contract: file.contract,
            contract_size: file.contract_size,
            trigger_price: file.trigger_price,
            margin,
            max_leverage_cap,
            taker_fee,
            maker_fee,
            liquidation_fee,
            liquidation,
            funding: cfg.funding.unwrap_or(file.funding),
            funding_rule: file.funding_rule,
            insurance_fund,
            adl: cfg.adl.unwrap_or(file.adl),
            adl_ranking: file.adl_ranking,
            adl_price: file.adl_price,
            dydx: file.dydx,
            aave: file.aave,
            drift: file.drift,
            overrides,
        })
    }

    /// Highest leverage the venue accepts for a position of this notional.
    pub fn max_leverage(&self, notional: f64) -> f64 {
        self.margin
            .max_leverage(notional)
            .min(self.max_leverage_cap)
    }

    /// Highest leverage the venue accepts for a position of this notional
    /// and size in base units (size-scaled models tighten with size).
    pub fn max_leverage_sized(&self, notional: f64, size: f64) -> f64 {
        self.margin
            .max_leverage_sized(notional, size)
            .min(self.max_leverage_cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> VenueConfig {
        VenueConfig {
            profile: "binance-usdm".into(),
            ..Default::default()
        }
    }

    #[test]
    fn every_preset_parses_and_resolves() {
        for name in preset_names() {
            let c = VenueConfig {
                profile: name.into(),
                ..Default::default()
            };
            let p = VenueProfile::resolve(&c, "BTCUSDT").unwrap();
            assert_eq!(p.name, name);
            assert!(!p.source.is_empty() && !p.as_of.is_empty());
        }
    }

    #[test]
    fn overrides_apply_and_are_recorded() {
        let mut c = cfg();
        c.maintenance_rate = Some(0.005);
        c.taker_fee = Some(0.0);
        c.funding = Some(false);
        let p = VenueProfile::resolve(&c, "WHATEVER").unwrap();
        assert_eq!(p.max_leverage(1.0), 200.0);
        assert_eq!(p.margin.maintenance(1000.0, 10.0), 5.0);
        assert_eq!(p.taker_fee, 0.0);
        assert!(!p.funding);
        assert_eq!(p.overrides.len(), 3);
    }

    #[test]
    fn bad_overrides_name_their_field() {
        let mut c = cfg();
        c.taker_fee = Some(-0.1);
        let e = VenueProfile::resolve(&c, "BTCUSDT")
            .unwrap_err()
            .to_string();
        assert!(e.contains("venue.taker_fee"), "{e}");
        let e = VenueProfile::resolve(&cfg(), "DOGEUSDT")
            .unwrap_err()
            .to_string();
        assert!(e.contains("DOGEUSDT") && e.contains("BTCUSDT"), "{e}");
        let mut c = cfg();
        c.profile = "nope".into();
        let e = VenueProfile::resolve(&c, "BTCUSDT")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("venue.profile") && e.contains("binance-usdm"),
            "{e}"
        );
    }

    #[test]
    fn tables_match_by_base_asset() {
        assert_eq!(base_asset("BTCUSDT"), "BTC");
        assert_eq!(base_asset("BTC-USD"), "BTC");
        assert_eq!(base_asset("BTCUSD_PERP"), "BTC");
        assert_eq!(base_asset("BTC-PERP"), "BTC");
        assert_eq!(base_asset("ETH"), "ETH");
        assert_eq!(base_asset("XBTUSD"), "BTC");
        let c = VenueConfig {
            profile: "hyperliquid".into(),
            ..Default::default()
        };
        assert_eq!(VenueProfile::resolve(&c, "BTCUSDT").unwrap().symbol, "BTC");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let e = toml::from_str::<VenueConfig>("profile = \"binance-usdm\"\ntaker_fees = 0.1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("taker_fees"), "{e}");
    }
}
