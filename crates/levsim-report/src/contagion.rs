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
        let mut entry = crate::cascade::pass_entry(
            input,
            v,
            first.path,
            &first.metrics,
            passes.iter().map(|p| p.metrics.conservation_error),
        );
        entry["instruments"] = serde_json::to_value(&first.instruments).unwrap_or(Value::Null);
        // Each instrument's own venue (a market may span venues).
        if let (Some(p), Value::Array(items)) =
            (input.market.portfolio.as_ref(), &mut entry["instruments"])
        {
            for (k, i) in items.iter_mut().enumerate() {
                if let Some(r) = p.rules.get(v).and_then(|r| r.get(k)) {
                    i["venue"] = json!(r.name);
                }
            }
        }
        out.push(entry);
    }
    Value::Array(out)
}

use crate::cascade::cell as f;

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
        "ADL overshoot",
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
                f(&m["adl_overshoot_notional"], 0),
                f(&m["adl_accounts"], 0),
                m["adl_top_decile_share"]
                    .as_f64()
                    .map_or("–".into(), |x| num(x * 100.0, 1)),
                f(&m["socialized_loss"], 0),
                crate::cascade::conservation_cell(m),
            ]
        })
        .collect();
    Some((head, rows))
}

/// Per venue configuration and instrument.
pub(crate) fn instrument_rows(summary: &Value) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let ms = summary["contagion"].as_array().filter(|a| !a.is_empty())?;
    let head = vec![
        "venue configuration",
        "instrument (venue)",
        "open interest",
        "liquidated (long / short)",
        "legs liquidated",
        "contagion notional (legs)",
        "ADL notional",
        "socialized",
        "max mark dev. %",
        "premium min / max %",
        "premium funding min / max %",
        "unfilled (base)",
    ];
    let mut rows = Vec::new();
    for m in ms {
        for i in m["instruments"].as_array().into_iter().flatten() {
            rows.push(vec![
                m["venue"].as_str().unwrap_or("").to_string(),
                format!(
                    "{} ({})",
                    i["symbol"].as_str().unwrap_or(""),
                    i["venue"].as_str().unwrap_or("")
                ),
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
                format!(
                    "{} / {}",
                    f(&i["premium_min_pct"], 3),
                    f(&i["premium_max_pct"], 3)
                ),
                {
                    let (lo, hi) = (
                        i["funding_rate_min"].as_f64(),
                        i["funding_rate_max"].as_f64(),
                    );
                    if lo == Some(0.0) && hi == Some(0.0) {
                        "–".to_string()
                    } else {
                        format!(
                            "{} / {}",
                            lo.map_or("–".into(), |x| num(x * 100.0, 4)),
                            hi.map_or("–".into(), |x| num(x * 100.0, 4))
                        )
                    }
                },
                f(&i["unfilled"], 3),
            ]);
        }
    }
    Some((head, rows))
}

/// What the tables mean.
pub(crate) const NOTE: &str = "The crowd's contagion pass (path 0): each bucket (a cross account on one venue, or one isolated leg) is liquidated whole when its equity at the marks reaches its maintenance, each leg under its own instrument's rules; each instrument's forced orders fill in its own book. A liquidation's cause is the bucket's leg with the largest loss; its legs in other instruments are contagion, and \"by another asset\" counts the accounts that lost such a leg. Bad debt beyond the insurance fund is taken by ADL from the profitable opposite side of the cause's instrument under the venue's ranking (or pro rata), else socialized over that side. ADL overshoot: the notional ADL closed beyond the least whose profit would have covered what it took (the most profitable per unit of notional first). ADL from top decile: the share of the profit ADL took that came from the top tenth of winners (by profit) at each event. Fund min: every venue's funds together. An instrument on an index is marked at it and fills in its own book: premium, its traded price over that mark; premium funding, the rates its venue's rule set from it per interval. Notional in quote at fill prices; conservation error: the largest imbalance of the money ledger over every path.";

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
            "{}: bad debt {}, insurance fund down to {}; ADL took {} of profit from {} accounts ({} % from the top decile of winners), closing {} of positions where {} would have done, {} socialized.",
            m["venue"].as_str().unwrap_or(""),
            num(g(m, "bad_debt"), 0),
            num(g(m, "insurance_fund_min"), 0),
            num(g(m, "adl_profit_taken"), 0),
            num(g(m, "adl_accounts"), 0),
            num(100.0 * g(m, "adl_top_decile_share"), 1),
            num(g(m, "adl_notional"), 0),
            num(g(m, "adl_notional_required"), 0),
            num(g(m, "socialized_loss"), 0),
        ));
    }
    Some(out)
}

/// Collateral moved between isolated accounts (`account.transfer`), one
/// row per run of path 0 with transfers configured.
pub(crate) fn transfer_rows(
    input: &ReportInput<'_>,
) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    input.scenario.account.transfer.as_ref()?;
    let rows: Vec<Vec<String>> = crate::charts::path0(input)
        .filter_map(|r| r.portfolio.as_ref().map(|p| (r, p.transfers)))
        .map(|(r, t)| {
            vec![
                r.spec.point_id.to_string(),
                num(t.transfers as f64, 0),
                num(t.transferred, 0),
                num(t.landed_too_late as f64, 0),
                num(t.in_transit_end, 0),
                r.output
                    .metrics
                    .first_liquidation_ts
                    .map_or("–".into(), levsim_core::time::to_iso),
            ]
        })
        .collect();
    (!rows.is_empty()).then(|| {
        (
            vec![
                "run",
                "transfers",
                "sent",
                "landed after a liquidation",
                "in transit at the end",
                "first liquidation",
            ],
            rows,
        )
    })
}

/// What the transfers table means.
pub(crate) const TRANSFER_NOTE: &str = "Isolated accounts (one per leg: e.g. one per venue) move cash to an account whose margin ratio reaches the trigger, at bar closes, from the account with the most to spare (the share of its cash above what keeps it below the trigger, when that is at least 1 % of the receiving account's requirement), landing after the delay; a run's `transfer_delay` replaces the account's (\"none\": no transfers). Sent in quote.";
