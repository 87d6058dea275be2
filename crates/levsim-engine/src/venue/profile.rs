//! Named venue presets (shipped inside the binary) and scenario overrides.

use std::collections::BTreeMap;

use levsim_core::ContractKind;
use serde::{Deserialize, Serialize};

use super::{BracketSpec, BracketTable, MarginModel, MarginModelAny};
use crate::EngineError;

/// The presets shipped with levsim: `(name, TOML text)`.
const PRESETS: &[(&str, &str)] = &[("binance-usdm", include_str!("presets/binance-usdm.toml"))];

/// Names of the shipped presets.
pub fn preset_names() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, _)| *n).collect()
}

/// The TOML text of a shipped preset.
pub fn preset_text(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
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
    let text = preset_text(name).ok_or_else(|| {
        EngineError::config(
            "venue.profile",
            format!(
                "unknown venue profile {name:?}; available: {}",
                preset_names().join(", ")
            ),
        )
    })?;
    toml::from_str(text)
        .map_err(|e| EngineError::config("venue.profile", format!("preset {name}: {e}")))
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
    taker_fee: f64,
    maker_fee: f64,
    liquidation_fee: f64,
    funding: bool,
    symbols: BTreeMap<String, SymbolFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SymbolFile {
    liquidation_fee: Option<f64>,
    brackets: Vec<BracketSpec>,
}

/// The `[venue]` table of a scenario: a preset name plus optional overrides.
/// Unknown fields are errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueConfig {
    /// Preset name (`levsim venues` lists them).
    pub profile: String,
    /// Which of the preset's per-symbol tables to use; defaults to the
    /// market's symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// One flat maintenance rate replacing the brackets (e.g. 0.005).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_rate: Option<f64>,
    /// Maximum leverage (replaces every bracket's limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_leverage: Option<f64>,
    /// Taker fee rate on opening and rebalancing trades.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taker_fee: Option<f64>,
    /// Maker fee rate (recorded; the engine trades as taker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maker_fee: Option<f64>,
    /// Liquidation clearance fee rate on the liquidated notional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidation_fee: Option<f64>,
    /// Whether funding is paid (`false` switches it off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<bool>,
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
    /// Maintenance margin model.
    pub margin: MarginModelAny,
    /// Taker fee rate.
    pub taker_fee: f64,
    /// Maker fee rate.
    pub maker_fee: f64,
    /// Liquidation clearance fee rate (to the insurance fund).
    pub liquidation_fee: f64,
    /// Funding on or off.
    pub funding: bool,
    /// Overrides applied, as `field = value` strings, for reports.
    pub overrides: Vec<String>,
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
        let file = parse_preset(&cfg.profile)?;
        let mut overrides = Vec::new();
        let symbol = cfg
            .symbol
            .clone()
            .unwrap_or_else(|| market_symbol.to_string());
        let table = file.symbols.get(&symbol);
        let (margin, sym_fee) = match (cfg.maintenance_rate, table) {
            (Some(m), _) => {
                let m = rate("venue.maintenance_rate", m, 1.0)?;
                if m == 0.0 {
                    return Err(EngineError::config("venue.maintenance_rate", "must be > 0"));
                }
                overrides.push(format!("maintenance_rate = {m}"));
                let max_lev = cfg.max_leverage.unwrap_or(1.0 / m);
                (
                    BracketTable::flat(m, max_lev),
                    table.and_then(|t| t.liquidation_fee),
                )
            }
            (None, Some(t)) => {
                let path = format!("venue profile {} symbols.{symbol}.brackets", file.name);
                let mut specs = t.brackets.clone();
                if let Some(l) = cfg.max_leverage {
                    specs
                        .iter_mut()
                        .for_each(|b| b.max_leverage = b.max_leverage.min(l));
                }
                (BracketTable::new(&specs, &path)?, t.liquidation_fee)
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
                        symbol,
                        file.symbols.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        };
        if let Some(l) = cfg.max_leverage {
            if !(l.is_finite() && l >= 1.0) {
                return Err(EngineError::config(
                    "venue.max_leverage",
                    format!("must be ≥ 1, got {l}"),
                ));
            }
            overrides.push(format!("max_leverage = {l}"));
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
        if let Some(f) = cfg.funding {
            overrides.push(format!("funding = {f}"));
        }
        if file.contract != ContractKind::Linear {
            return Err(EngineError::config(
                "venue.profile",
                "only linear contracts are simulated so far",
            ));
        }
        Ok(VenueProfile {
            name: file.name,
            version: file.version,
            as_of: file.as_of,
            source: file.source,
            symbol,
            contract: file.contract,
            margin: MarginModelAny::Tiered(margin),
            taker_fee,
            maker_fee,
            liquidation_fee,
            funding: cfg.funding.unwrap_or(file.funding),
            overrides,
        })
    }

    /// Highest leverage the venue accepts for a position of this notional.
    pub fn max_leverage(&self, notional: f64) -> f64 {
        self.margin.max_leverage(notional)
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
    fn unknown_fields_are_rejected() {
        let e = toml::from_str::<VenueConfig>("profile = \"binance-usdm\"\ntaker_fees = 0.1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("taker_fees"), "{e}");
    }
}
