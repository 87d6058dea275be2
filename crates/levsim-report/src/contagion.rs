//! Crowds holding several instruments in the report: `summary.json`'s
//! `contagion` array, the venue-wide and per-instrument tables, the
//! verdict, and the chart of liquidations per instrument.

use serde_json::{json, Value};

use crate::markdown::num;
use crate::ReportInput;

/// One entry per venue configuration: its path-0 contagion pass (venue-wide
/// metrics, `instruments` per instrument) and the worst money-ledger
/// imbalance over every path. Empty without a crowd of several instruments.
pub(crate) fn summary(input: &ReportInput<'_>) -> Value {
    let mut out = Vec::new();
    for v in 0..input.scenario.venues.len() {
        let passes: Vec<&levsim_scenario::ContagionOutcome> = input
            .sweep
            .contagion
            .iter()
            .filter(|m| m.venue_index == v)
            .collect();
        let Some(first) = passes.iter().find(|m| m.path == 0).or(passes.first()) else {
            continue;
        };
        let profile = input.market.venues.get(v).map_or("", |x| x.name.as_str());
        let label = input.scenario.venues[v]
            .label
            .clone()
            .unwrap_or_else(|| profile.to_string());
        let mut entry = json!({
            "venue": label,
            "profile": profile,
            "path": first.path,
        });
        if let (Value::Object(e), Value::Object(m)) = (
            &mut entry,
            serde_json::to_value(&first.metrics).unwrap_or(Value::Null),
        ) {
            e.extend(m);
        }
        entry["instruments"] = serde_json::to_value(&first.instruments).unwrap_or(Value::Null);
        entry["conservation_error_worst"] = json!(passes
            .iter()
            .map(|p| p.metrics.conservation_error.abs())
            .fold(0.0, f64::max));
        entry["conservation_paths"] = json!(passes.len());
        out.push(entry);
    }
    Value::Array(out)
}

fn f(v: &Value, d: usize) -> String {
    v.as_f64().map_or("–".into(), |x| num(x, d))
}

/// The venue-wide table, one row per venue configuration.
pub(crate) fn rows(summary: &Value) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let ms = summary["contagion"].as_array().filter(|a| !a.is_empty())?;
    let head = vec![
        "venue",
        "accounts liquidated (cross / isolated)",
        "by another asset",
        "liquidated notional",
        "of which contagion",
        "max rounds",
        "fund min",
        "bad debt",
        "ADL notional",
        "ADL accounts",
        "ADL from top decile %",
        "socialized",
        "conservation error (worst path)",
    ];
    let rows = ms
        .iter()
        .map(|m| {
            vec![
                m["venue"].as_str().unwrap_or("").to_string(),
                format!(
                    "{} of {} ({} / {})",
                    f(&m["accounts_liquidated"], 0),
                    f(&m["accounts"], 0),
                    f(&m["cross_accounts_liquidated"], 0),
                    f(&m["isolated_accounts_liquidated"], 0)
                ),
                f(&m["accounts_liquidated_by_other_asset"], 0),
                f(&m["liquidated_notional"], 0),
                f(&m["contagion_notional"], 0),
                m["cascade_rounds_max"].to_string(),
                f(&m["insurance_fund_min"], 0),
                f(&m["bad_debt"], 0),
                f(&m["adl_notional"], 0),
                f(&m["adl_accounts"], 0),
                m["adl_top_decile_share"]
                    .as_f64()
                    .map_or("–".into(), |x| num(x * 100.0, 1)),
                f(&m["socialized_loss"], 0),
                format!(
                    "{:.1e} (of {})",
                    m["conservation_error_worst"].as_f64().unwrap_or(f64::NAN),
                    m["conservation_paths"]
                ),
            ]
        })
        .collect();
    Some((head, rows))
}

/// Per venue configuration and instrument.
pub(crate) fn instrument_rows(summary: &Value) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let ms = summary["contagion"].as_array().filter(|a| !a.is_empty())?;
    let head = vec![
        "venue",
        "instrument",
        "open interest",
        "liquidated (long / short)",
        "legs liquidated",
        "contagion notional (legs)",
        "ADL notional",
        "socialized",
        "max mark dev. %",
        "unfilled (base)",
    ];
    let mut rows = Vec::new();
    for m in ms {
        for i in m["instruments"].as_array().into_iter().flatten() {
            rows.push(vec![
                m["venue"].as_str().unwrap_or("").to_string(),
                i["symbol"].as_str().unwrap_or("").to_string(),
                f(&i["open_interest"], 0),
                format!(
                    "{} / {}",
                    f(&i["liquidated_notional_long"], 0),
                    f(&i["liquidated_notional_short"], 0)
                ),
                f(&i["legs_liquidated"], 0),
                format!(
                    "{} ({})",
                    f(&i["contagion_notional"], 0),
                    f(&i["contagion_legs"], 0)
                ),
                f(&i["adl_notional"], 0),
                f(&i["socialized_loss"], 0),
                f(&i["max_mark_deviation_pct"], 2),
                f(&i["unfilled"], 3),
            ]);
        }
    }
    Some((head, rows))
}

/// What the tables mean.
pub(crate) const NOTE: &str = "The crowd's contagion pass (path 0): each bucket (a cross account, or one isolated leg) is liquidated whole when its equity at the marks reaches its maintenance, each leg under its own instrument's rules; each instrument's forced orders fill in its own book. A liquidation's cause is the bucket's leg with the largest loss; its legs in other instruments are contagion, and \"by another asset\" counts the accounts that lost such a leg. Bad debt beyond the insurance fund is taken by ADL from the profitable opposite side of the cause's instrument under the venue's ranking (or pro rata), else socialized over that side. ADL from top decile: the share of the profit ADL took that came from the top tenth of winners (by profit) at each event. Notional in quote at fill prices; conservation error: the largest imbalance of the money ledger over every path.";

/// The answer in a few lines: how much each instrument sold because of
/// another, and who paid under each ADL configuration.
pub(crate) fn verdict(summary: &Value) -> Option<Vec<String>> {
    let ms = summary["contagion"].as_array().filter(|a| !a.is_empty())?;
    let first = &ms[0];
    let g = |v: &Value, k: &str| v[k].as_f64().unwrap_or(0.0);
    let mut parts = Vec::new();
    for i in first["instruments"].as_array().into_iter().flatten() {
        let liq = g(i, "liquidated_notional");
        let c = g(i, "contagion_notional");
        parts.push(format!(
            "{} {} force-sold because another asset sank its account ({} % of its {} liquidated)",
            num(c, 0),
            i["symbol"].as_str().unwrap_or(""),
            if liq > 0.0 {
                num(100.0 * c / liq, 1)
            } else {
                "0".into()
            },
            num(liq, 0)
        ));
    }
    let mut out = vec![format!(
        "Under {}, {} of the {} accounts were liquidated, {} of them losing a leg in another asset than the one that sank them: {}.",
        first["venue"].as_str().unwrap_or(""),
        num(g(first, "accounts_liquidated"), 0),
        num(g(first, "accounts"), 0),
        num(g(first, "accounts_liquidated_by_other_asset"), 0),
        parts.join("; ")
    )];
    for m in ms {
        out.push(format!(
            "{}: bad debt {}, insurance fund down to {}; ADL took {} of profit from {} accounts ({} % from the top decile of winners), {} socialized.",
            m["venue"].as_str().unwrap_or(""),
            num(g(m, "bad_debt"), 0),
            num(g(m, "insurance_fund_min"), 0),
            num(g(m, "adl_profit_taken"), 0),
            num(g(m, "adl_accounts"), 0),
            num(100.0 * g(m, "adl_top_decile_share"), 1),
            num(g(m, "socialized_loss"), 0),
        ));
    }
    Some(out)
}
