//! The margin calculator behind `levsim margin`: what a venue would do to a
//! position or a cross account, in the venue's own terms.

use levsim_core::{ContractKind, Side};
use serde::{Deserialize, Serialize};

use super::aave::{liquidation_call, AaveParams};
use super::dydx::{bankruptcy_quote, fillable_price, insurance_fund_delta, DydxAccount};
use super::hyperliquid::backstop_eligible;
use super::{LiquidationMode, MarginModel, VenueProfile};
use crate::EngineError;

/// Isolated or cross margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Each position has its own margin.
    Isolated,
    /// One collateral pool backs every position.
    Cross,
}

/// A position as the user describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionInput {
    /// Instrument (informational; the venue's table is chosen by the profile's symbol).
    #[serde(default)]
    pub instrument: Option<String>,
    /// Direction.
    pub side: Side,
    /// Size: base units (linear) or contracts (inverse).
    pub size: f64,
    /// Average entry price.
    pub entry: f64,
    /// Mark (or oracle) price; defaults to the account's oracle, else the entry.
    #[serde(default)]
    pub mark: Option<f64>,
    /// Isolated margin of this position (quote for linear, coin for inverse).
    #[serde(default)]
    pub margin: Option<f64>,
    /// Chosen leverage: isolated margin = entry notional / leverage.
    #[serde(default)]
    pub leverage: Option<f64>,
}

/// An account as the user describes it (the `--account` JSON file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// Cross collateral (quote for linear, coin for inverse): the wallet
    /// balance, not counting what positions cost (Binance's convention; a
    /// dYdX USDC balance of −4,501 against a 0.1 BTC long bought at 50,000
    /// is a collateral of 499). Ignored by isolated positions.
    #[serde(default)]
    pub collateral: f64,
    /// Isolated or cross.
    pub mode: Mode,
    /// Positions.
    pub positions: Vec<PositionInput>,
}

/// One position's assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionReport {
    /// Instrument.
    pub instrument: String,
    /// Direction.
    pub side: Side,
    /// Size as given.
    pub size: f64,
    /// Entry price.
    pub entry: f64,
    /// Mark price used.
    pub mark: f64,
    /// Notional at mark (quote for linear, coin for inverse).
    pub notional: f64,
    /// Unrealized PnL at mark (settlement currency).
    pub unrealized_pnl: f64,
    /// Initial margin at mark.
    pub initial_margin: f64,
    /// Maintenance margin at mark.
    pub maintenance_margin: f64,
    /// Margin backing this position (isolated margin, or the cross wallet
    /// net of the other positions' maintenance and PnL, as Binance counts it).
    pub margin: f64,
    /// Price at which this position is liquidated (null: none).
    pub liquidation_price: Option<f64>,
    /// Price at which its margin is exhausted.
    pub bankruptcy_price: Option<f64>,
    /// dYdX: the liquidation order's limit price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fillable_price: Option<f64>,
    /// dYdX, with a fill price: the insurance fund's change when the whole
    /// position is closed at that price (positive: the user pays the fund,
    /// capped at the maximum liquidation fee; negative: the fund pays).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insurance_fund_delta: Option<f64>,
    /// Drift: base units a liquidator must take to cover the account's
    /// margin shortage (0 when there is none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_to_cover: Option<f64>,
    /// Drift: the insurance-fund fee rate of that liquidation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_fee: Option<f64>,
}

/// What the calculator needs beyond the account.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalcOptions {
    /// Oracle price used as every position's mark (dYdX, Drift).
    pub oracle: Option<f64>,
    /// dYdX: a liquidation fill price, for the insurance-fund delta.
    pub fill_price: Option<f64>,
    /// Drift: the quote asset's price (1 for USDC at par).
    pub quote_price: f64,
}

impl Default for CalcOptions {
    fn default() -> Self {
        Self {
            oracle: None,
            fill_price: None,
            quote_price: 1.0,
        }
    }
}

/// The assessment of an account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// Venue profile.
    pub venue: String,
    /// Margin table used.
    pub symbol: String,
    /// Linear or inverse.
    pub contract: ContractKind,
    /// Isolated or cross.
    pub mode: Mode,
    /// Account equity (wallet + unrealized PnL).
    pub equity: f64,
    /// Total initial margin.
    pub initial_margin: f64,
    /// Total maintenance margin.
    pub maintenance_margin: f64,
    /// Maintenance / equity (≥ 1: liquidatable on Binance's terms).
    pub margin_ratio: f64,
    /// Whether the venue's trigger fires now (any position for isolated).
    pub liquidatable: bool,
    /// Liquidation price of the first position (convenience for one position).
    pub liquidation_price: Option<f64>,
    /// Bankruptcy price of the first position.
    pub bankruptcy_price: Option<f64>,
    /// Hyperliquid: equity below 2/3 of maintenance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backstop_eligible: Option<bool>,
    /// Aave: health factor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_factor: Option<f64>,
    /// Aave: debt a liquidator may repay now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_repay: Option<f64>,
    /// Aave: collateral a full allowed repayment would seize (base units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collateral_seized: Option<f64>,
    /// Aave: the protocol's share of the seized bonus (base units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_fee: Option<f64>,
    /// Aave: collateral the liquidator receives (seized less the protocol fee).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_liquidator: Option<f64>,
    /// Aave: the health factor after that liquidation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_factor_after: Option<f64>,
    /// dYdX: the first position's fillable price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fillable_price: Option<f64>,
    /// dYdX, with a fill price: the insurance-fund delta over all positions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insurance_fund_delta: Option<f64>,
    /// Drift: the account's margin shortage (maintenance plus buffer, less
    /// collateral; 0 when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin_shortage: Option<f64>,
    /// Drift: the first position's base to cover.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_to_cover: Option<f64>,
    /// Drift: the first position's insurance-fund fee rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_fee: Option<f64>,
    /// Profile parameters overridden (`--set`), as `name = value`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    /// Per position.
    pub positions: Vec<PositionReport>,
}

/// A position's size in base units, as size-scaled margin sees it: the
/// size of a linear position, the coin notional of an inverse one.
fn base_units(v: &VenueProfile, p: &PositionInput, notional: f64) -> f64 {
    match v.contract {
        ContractKind::Linear => p.size,
        ContractKind::Inverse => notional,
    }
}

struct Valued {
    notional: f64,
    upnl: f64,
    mm: f64,
    mark: f64,
}

fn value(v: &VenueProfile, p: &PositionInput, mark: f64) -> Valued {
    match v.contract {
        ContractKind::Linear => {
            let notional = p.size * mark;
            Valued {
                notional,
                upnl: p.side.sign() * p.size * (mark - p.entry),
                mm: v.margin.maintenance(notional, p.size),
                mark,
            }
        }
        ContractKind::Inverse => {
            let q = p.size * v.contract_size;
            let notional = q / mark;
            Valued {
                notional,
                upnl: p.side.sign() * q * (1.0 / p.entry - 1.0 / mark),
                mm: v.margin.maintenance(notional, notional),
                mark,
            }
        }
    }
}

/// Notional at the entry price (quote for linear, coin for inverse).
fn entry_notional(v: &VenueProfile, p: &PositionInput) -> f64 {
    match v.contract {
        ContractKind::Linear => p.size * p.entry,
        ContractKind::Inverse => p.size * v.contract_size / p.entry,
    }
}

fn liq_price(v: &VenueProfile, p: &PositionInput, margin: f64) -> Option<f64> {
    match v.contract {
        ContractKind::Linear => v
            .margin
            .linear_liquidation_price(p.side, p.size, p.entry, margin),
        ContractKind::Inverse => {
            v.margin
                .inverse_liquidation_price(p.side, p.size * v.contract_size, p.entry, margin)
        }
    }
}

fn bankruptcy(v: &VenueProfile, p: &PositionInput, margin: f64) -> Option<f64> {
    let bp = match v.contract {
        ContractKind::Linear => p.entry - p.side.sign() * margin / p.size,
        ContractKind::Inverse => {
            let q = p.size * v.contract_size;
            1.0 / (1.0 / p.entry + p.side.sign() * margin / q)
        }
    };
    (bp.is_finite() && bp > 0.0).then_some(bp)
}

/// Checks an account description; every problem names its field.
fn validate(vs: &[&VenueProfile], a: &AccountInput) -> Result<(), EngineError> {
    if a.positions.is_empty() {
        return Err(EngineError::config(
            "positions",
            "at least one position is needed",
        ));
    }
    // Negative collateral is a quote debt (dYdX accounts hold negative USDC
    // against longs), so only finiteness is required.
    if !a.collateral.is_finite() {
        return Err(EngineError::config("collateral", "must be a finite amount"));
    }
    if vs.len() != a.positions.len() {
        return Err(EngineError::config(
            "positions",
            "one venue table per position is needed",
        ));
    }
    for (i, (p, v)) in a.positions.iter().zip(vs).enumerate() {
        let at = |k: &str| format!("positions[{i}].{k}");
        let pos = |x: f64| x.is_finite() && x > 0.0;
        if !pos(p.size) {
            return Err(EngineError::config(
                &at("size"),
                format!("must be > 0, got {}", p.size),
            ));
        }
        if !pos(p.entry) {
            return Err(EngineError::config(
                &at("entry"),
                format!("must be > 0, got {}", p.entry),
            ));
        }
        if let Some(m) = p.mark {
            if !pos(m) {
                return Err(EngineError::config(
                    &at("mark"),
                    format!("must be > 0, got {m}"),
                ));
            }
        }
        if let Some(l) = p.leverage {
            let entry_notional = entry_notional(v, p);
            let max = v.max_leverage_sized(entry_notional, base_units(v, p, entry_notional));
            if !(l.is_finite() && l >= 1.0) {
                return Err(EngineError::config(
                    &at("leverage"),
                    format!("must be ≥ 1, got {l}"),
                ));
            }
            if l > max {
                return Err(EngineError::config(
                    &at("leverage"),
                    format!(
                        "{l}x is above {}'s maximum of {max}x for a position of {entry_notional} notional",
                        v.name
                    ),
                ));
            }
        }
        if a.mode == Mode::Isolated && p.margin.is_none() && p.leverage.is_none() {
            return Err(EngineError::config(
                &at("margin"),
                "an isolated position needs its margin or its leverage",
            ));
        }
        if let Some(m) = p.margin {
            if !(m.is_finite() && m >= 0.0) {
                return Err(EngineError::config(
                    &at("margin"),
                    format!("must be ≥ 0, got {m}"),
                ));
            }
        }
    }
    Ok(())
}

/// Assesses an account under a venue profile. `oracle` overrides every
/// position's mark (dYdX and Drift price from the oracle).
pub fn assess(
    v: &VenueProfile,
    a: &AccountInput,
    oracle: Option<f64>,
) -> Result<Assessment, EngineError> {
    let vs = vec![v; a.positions.len()];
    assess_positions(&vs, a, oracle)
}

/// Like [`assess`], with each position under its own instrument table of
/// the venue (`vs[i]` for position `i`; account-level rules from `vs[0]`),
/// as a cross account holding BTCUSDT and ETHUSDT needs.
pub fn assess_positions(
    vs: &[&VenueProfile],
    a: &AccountInput,
    oracle: Option<f64>,
) -> Result<Assessment, EngineError> {
    assess_with(
        vs,
        a,
        &CalcOptions {
            oracle,
            ..CalcOptions::default()
        },
    )
}

/// [`assess_positions`] with every option: dYdX's insurance-fund delta for
/// a fill price, Drift's quote price.
pub fn assess_with(
    vs: &[&VenueProfile],
    a: &AccountInput,
    o: &CalcOptions,
) -> Result<Assessment, EngineError> {
    let oracle = o.oracle;
    validate(vs, a)?;
    for (name, v) in [
        ("fill_price", o.fill_price),
        ("quote_price", Some(o.quote_price)),
    ] {
        if let Some(v) = v {
            if !(v.is_finite() && v > 0.0) {
                return Err(EngineError::config(name, format!("must be > 0, got {v}")));
            }
        }
    }
    let v = vs[0];
    let marks: Vec<f64> = a
        .positions
        .iter()
        .map(|p| oracle.or(p.mark).unwrap_or(p.entry))
        .collect();
    let vals: Vec<Valued> = a
        .positions
        .iter()
        .zip(&marks)
        .zip(vs)
        .map(|((p, &m), v)| value(v, p, m))
        .collect();
    let isolated_margin = |p: &PositionInput, v: &VenueProfile| {
        p.margin
            .unwrap_or_else(|| entry_notional(v, p) / p.leverage.unwrap_or(1.0))
    };
    let total_mm: f64 = vals.iter().map(|x| x.mm).sum();
    let total_upnl: f64 = vals.iter().map(|x| x.upnl).sum();
    let mut positions = Vec::new();
    let mut equity = 0.0;
    let mut any_liquidatable = false;
    let mut initial = 0.0;
    for ((p, x), &v) in a.positions.iter().zip(&vals).zip(vs) {
        let margin = match a.mode {
            Mode::Isolated => isolated_margin(p, v),
            // Binance's cross formula: the wallet less the other positions'
            // maintenance, plus their unrealized PnL.
            Mode::Cross => a.collateral - (total_mm - x.mm) + (total_upnl - x.upnl),
        };
        let bp_margin = match a.mode {
            Mode::Isolated => margin,
            Mode::Cross => a.collateral + (total_upnl - x.upnl),
        };
        if a.mode == Mode::Isolated {
            equity += margin + x.upnl;
            any_liquidatable |= margin + x.upnl <= x.mm;
        }
        let im = p.leverage.map_or(
            x.notional
                * v.margin
                    .initial_rate_sized(x.notional, base_units(v, p, x.notional)),
            |l| x.notional / l,
        );
        initial += im;
        let dydx_account = DydxAccount {
            tnc: match a.mode {
                Mode::Isolated => margin + x.upnl,
                Mode::Cross => a.collateral + total_upnl,
            },
            tmmr: if a.mode == Mode::Isolated {
                x.mm
            } else {
                total_mm
            },
        };
        let signed = p.side.sign() * p.size;
        let fillable = v
            .dydx
            .as_ref()
            .map(|cfg| fillable_price(dydx_account, cfg, signed, x.mark, x.mm));
        // Closing the whole position: its value and maintenance leave the
        // account; the fill brings `signed · fill` of quote.
        let if_delta = match (v.dydx.as_ref(), o.fill_price) {
            (Some(cfg), Some(fill)) => Some(insurance_fund_delta(
                signed * fill,
                bankruptcy_quote(dydx_account, -signed * x.mark, -x.mm),
                cfg.max_liquidation_fee,
            )),
            _ => None,
        };
        positions.push(PositionReport {
            instrument: p.instrument.clone().unwrap_or_else(|| v.symbol.clone()),
            side: p.side,
            size: p.size,
            entry: p.entry,
            mark: x.mark,
            notional: x.notional,
            unrealized_pnl: x.upnl,
            initial_margin: im,
            maintenance_margin: x.mm,
            margin,
            liquidation_price: liq_price(v, p, margin),
            bankruptcy_price: bankruptcy(v, p, bp_margin),
            fillable_price: fillable,
            insurance_fund_delta: if_delta,
            base_to_cover: None,
            if_fee: None,
        });
    }
    if a.mode == Mode::Cross {
        equity = a.collateral + total_upnl;
        any_liquidatable = equity <= total_mm;
    }
    let margin_ratio = if equity > 0.0 {
        total_mm / equity
    } else {
        f64::INFINITY
    };
    let backstop = v
        .liquidation
        .backstop_fraction
        .map(|f| backstop_eligible(equity, total_mm, f));
    let shortage = v
        .drift
        .map(|d| drift_cover(d, a, &vals, &mut positions, o.quote_price));
    let (mut hf, mut max_repay, mut seized) = (None, None, None);
    let mut aave_after = None;
    if let (
        Some(extra),
        LiquidationMode::CloseFactor {
            full_below_hf,
            bonus,
            ..
        },
    ) = (v.aave, v.liquidation.mode)
    {
        // A loop long: collateral = the position, debt = its cost less the own margin.
        let p = &a.positions[0];
        let x = &vals[0];
        let own = positions[0].margin;
        let debt = (p.size * p.entry - own).max(0.0);
        let params = AaveParams {
            liquidation_threshold: 1.0 - x.mm / x.notional,
            liquidation_bonus: bonus,
            protocol_fee: extra.protocol_fee,
            close_factor_hf_threshold: full_below_hf,
            min_base_max_close_factor: extra.min_base_max_close_factor,
        };
        let r = liquidation_call(&params, p.size, x.mark, debt, 1.0, None);
        hf = Some(r.health_factor);
        max_repay = Some(r.max_repay);
        seized = Some(r.collateral_seized);
        aave_after = Some(r);
        any_liquidatable = r.health_factor < 1.0;
    }
    Ok(Assessment {
        venue: v.name.clone(),
        symbol: v.symbol.clone(),
        contract: v.contract,
        mode: a.mode,
        equity,
        initial_margin: initial,
        maintenance_margin: total_mm,
        margin_ratio,
        liquidatable: any_liquidatable,
        liquidation_price: positions.first().and_then(|p| p.liquidation_price),
        bankruptcy_price: positions.first().and_then(|p| p.bankruptcy_price),
        backstop_eligible: backstop,
        health_factor: hf,
        max_repay,
        collateral_seized: seized,
        protocol_fee: aave_after.map(|r| r.protocol_fee),
        to_liquidator: aave_after.map(|r| r.to_liquidator),
        health_factor_after: aave_after.map(|r| r.health_factor_after),
        fillable_price: positions.first().and_then(|p| p.fillable_price),
        insurance_fund_delta: o.fill_price.and(v.dydx).map(|_| {
            positions
                .iter()
                .filter_map(|p| p.insurance_fund_delta)
                .sum()
        }),
        margin_shortage: shortage,
        base_to_cover: positions.first().and_then(|p| p.base_to_cover),
        if_fee: positions.first().and_then(|p| p.if_fee),
        overrides: v.overrides.clone(),
        positions,
    })
}

/// Drift's margin shortage of the account in liquidation (SPEC §5.1: the
/// maintenance requirement plus the buffer on every liability, less the
/// collateral with the buffer on a negative quote balance), and for each
/// position the insurance-fund fee and the base a liquidator must take to
/// cover it (SPEC §5.2 steps 3 and 4). Returns the shortage.
fn drift_cover(
    d: super::DriftExtras,
    a: &AccountInput,
    vals: &[Valued],
    positions: &mut [PositionReport],
    quote_price: f64,
) -> f64 {
    let buffer = d.liquidation_margin_buffer;
    let requirement: f64 = vals.iter().map(|x| x.mm + x.notional.abs() * buffer).sum();
    let collateral = match a.mode {
        Mode::Cross => a.collateral + vals.iter().map(|x| x.upnl).sum::<f64>(),
        Mode::Isolated => positions
            .iter()
            .zip(vals)
            .map(|(p, x)| p.margin + x.upnl)
            .sum(),
    };
    let negative_quote = a.collateral.min(0.0);
    let shortage = (requirement - (collateral + buffer * negative_quote)).max(0.0);
    for (p, x) in positions.iter_mut().zip(vals) {
        let ratio = x.mm / x.notional + buffer;
        let fee = super::drift::if_fee(
            d.if_liquidation_fee,
            ratio,
            d.liquidator_fee,
            shortage,
            p.size,
            x.mark,
        );
        p.if_fee = Some(fee);
        p.base_to_cover = Some(if shortage > 0.0 {
            super::drift::base_to_cover_quoted(
                shortage,
                x.mark,
                quote_price,
                ratio,
                d.liquidator_fee,
                fee,
            )
        } else {
            0.0
        });
    }
    shortage
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VenueConfig;

    fn venue(name: &str, sym: &str) -> VenueProfile {
        VenueProfile::resolve(
            &VenueConfig {
                profile: name.into(),
                ..Default::default()
            },
            sym,
        )
        .unwrap()
    }

    fn one(
        side: Side,
        size: f64,
        entry: f64,
        mode: Mode,
        margin: Option<f64>,
        lev: Option<f64>,
        collateral: f64,
    ) -> AccountInput {
        AccountInput {
            collateral,
            mode,
            positions: vec![PositionInput {
                instrument: None,
                side,
                size,
                entry,
                mark: None,
                margin,
                leverage: lev,
            }],
        }
    }

    /// BIN-3 through the calculator: cross, WB 500, 0.02 BTC @ 50,000.
    #[test]
    fn binance_cross_single_position() {
        let a = assess(
            &venue("binance-usdm", "BTCUSDT"),
            &one(Side::Long, 0.02, 50_000.0, Mode::Cross, None, None, 500.0),
            None,
        )
        .unwrap();
        assert!((a.liquidation_price.unwrap() - 25_100.40).abs() < 0.005);
        assert!((a.maintenance_margin - 4.0).abs() < 1e-9);
        assert!(!a.liquidatable);
        // Bankruptcy: 50,000 − 500/0.02 = 25,000.
        assert!((a.bankruptcy_price.unwrap() - 25_000.0).abs() < 1e-9);
    }

    /// HL-LP-1 mirrored for a short: isolated 10x short of 1 BTC.
    #[test]
    fn hyperliquid_isolated_short() {
        let a = assess(
            &venue("hyperliquid", "BTC"),
            &one(
                Side::Short,
                1.0,
                100_000.0,
                Mode::Isolated,
                None,
                Some(10.0),
                0.0,
            ),
            None,
        )
        .unwrap();
        let lp = a.liquidation_price.unwrap();
        // Equity at the liquidation price equals maintenance at 1.25 %.
        assert!((10_000.0 - (lp - 100_000.0) - 0.0125 * lp).abs() < 1e-6);
        assert_eq!(a.backstop_eligible, Some(false));
        let e = assess(
            &venue("hyperliquid", "BTC"),
            &one(
                Side::Short,
                1.0,
                100_000.0,
                Mode::Isolated,
                None,
                Some(50.0),
                0.0,
            ),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("positions[0].leverage"), "{e}");
    }

    /// Inverse: a 10x BitMEX long of 100,000 contracts; equity = maintenance
    /// at the liquidation price, and the coin-margined MM of BIN-6.
    #[test]
    fn inverse_positions() {
        let v = venue("bitmex", "XBTUSD");
        let a = assess(
            &v,
            &one(
                Side::Long,
                100_000.0,
                10_000.0,
                Mode::Isolated,
                None,
                Some(10.0),
                0.0,
            ),
            None,
        )
        .unwrap();
        let lp = a.liquidation_price.unwrap();
        let w = 1.0; // 100,000 USD / 10,000 / 10x
        let eq = w + 100_000.0 * (1.0 / 10_000.0 - 1.0 / lp);
        let mm = 100_000.0 / lp * 0.005;
        assert!((eq - mm).abs() < 1e-9, "{eq} vs {mm}");
        assert!((a.bankruptcy_price.unwrap() - 10_000.0 * 10.0 / 11.0).abs() < 1e-6);
        let c = venue("binance-coinm", "BTCUSD_PERP");
        let a = assess(
            &c,
            &AccountInput {
                collateral: 1.0,
                mode: Mode::Cross,
                positions: vec![PositionInput {
                    instrument: None,
                    side: Side::Long,
                    size: 100.0,
                    entry: 25_000.0,
                    mark: Some(25_000.0),
                    margin: None,
                    leverage: None,
                }],
            },
            None,
        )
        .unwrap();
        assert!((a.maintenance_margin - 0.0016).abs() < 1e-12, "BIN-6");
    }

    /// dYdX: an account shaped like DYDX-FP-1 (0.1 BTC long against −4,501
    /// USDC, i.e. collateral 499 net of the position's cost) under the
    /// Large-Cap tier (1.2 % maintenance), and one deep enough that the
    /// fillable price moves away from the oracle.
    #[test]
    fn dydx_fillable_price_from_an_account() {
        let v = venue("dydx-v4", "BTC-USD");
        let acct = |usdc: f64| AccountInput {
            collateral: usdc,
            mode: Mode::Cross,
            positions: vec![PositionInput {
                instrument: None,
                side: Side::Long,
                size: 0.1,
                entry: 50_000.0,
                mark: None,
                margin: None,
                leverage: None,
            }],
        };
        // TNC 499 ≫ TMMR 60: ABR 0, the limit is the oracle.
        let r = assess(&v, &acct(499.0), Some(50_000.0)).unwrap();
        assert!((r.positions[0].fillable_price.unwrap() - 50_000.0).abs() < 1e-9);
        assert!(!r.liquidatable);
        // TNC 30 = TMMR/2: ABR 0.5, FP = 50,000 − 0.5·0.1·60/0.1 = 49,970.
        let r = assess(&v, &acct(30.0), Some(50_000.0)).unwrap();
        assert!((r.positions[0].fillable_price.unwrap() - 49_970.0).abs() < 1e-9);
        assert!(r.liquidatable);
    }

    /// Aave: a 5 WETH loop with 1,800 of own money: debt 8,200 at 2,000.
    #[test]
    fn aave_loop_health_factor() {
        let v = venue("aave-v3", "ETH");
        let a = assess(
            &v,
            &one(
                Side::Long,
                5.0,
                2_000.0,
                Mode::Isolated,
                Some(1_800.0),
                None,
                0.0,
            ),
            None,
        )
        .unwrap();
        // HF = 5·2,000·0.83/8,200.
        assert!((a.health_factor.unwrap() - 10_000.0 * 0.83 / 8_200.0).abs() < 1e-9);
        assert_eq!(a.max_repay, Some(0.0));
        let a = assess(
            &v,
            &AccountInput {
                positions: vec![PositionInput {
                    mark: Some(1_900.0),
                    ..one(
                        Side::Long,
                        5.0,
                        2_000.0,
                        Mode::Isolated,
                        Some(1_800.0),
                        None,
                        0.0,
                    )
                    .positions[0]
                        .clone()
                }],
                ..one(
                    Side::Long,
                    5.0,
                    2_000.0,
                    Mode::Isolated,
                    Some(1_800.0),
                    None,
                    0.0,
                )
            },
            None,
        )
        .unwrap();
        assert!(a.health_factor.unwrap() < 1.0 && a.liquidatable);
        assert!((a.max_repay.unwrap() - 4_100.0).abs() < 1e-9);
    }

    #[test]
    fn impossible_input_names_the_field() {
        let v = venue("binance-usdm", "BTCUSDT");
        let e = assess(
            &v,
            &one(Side::Long, -1.0, 50_000.0, Mode::Cross, None, None, 500.0),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("positions[0].size"), "{e}");
        let e = assess(
            &v,
            &one(Side::Long, 1.0, 50_000.0, Mode::Isolated, None, None, 0.0),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("positions[0].margin"), "{e}");
        let e = assess(
            &v,
            &one(
                Side::Long,
                0.02,
                50_000.0,
                Mode::Isolated,
                None,
                Some(200.0),
                0.0,
            ),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("maximum of 125x"), "{e}");
    }
}
