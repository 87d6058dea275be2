//! The report's first screen: the answer in sentences and the policy table
//! (from `summary.json`'s aggregates), plus what `levsim optimize`
//! recommended when its `optimize.json` sits beside the report and was made
//! from the same scenario text.

use std::path::Path;

use serde_json::Value;

use crate::markdown::num;

/// Risk bound of the answer: the 95 % upper limit of P(liquidation).
pub(crate) const ANSWER_BOUND: f64 = 0.05;

/// On history, a point "came through" if it was never liquidated and its
/// drawdown stayed below this (percent): deleveraging all the way down is
/// not surviving.
pub(crate) const HISTORY_MAX_DD_PCT: f64 = 50.0;

/// The first screen, as display strings.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overview {
    /// The answer, one sentence per line (the first introduces the rest).
    pub answer: Vec<String>,
    /// Policy table header.
    pub head: Vec<&'static str>,
    /// Policy table rows, one per parameter point.
    pub rows: Vec<Vec<String>>,
    /// The answer's point per policy family (`point_id`), for charts.
    pub chosen: Vec<String>,
    /// `levsim optimize`'s recommendations (header, rows), if any.
    pub recommended: Option<(Vec<&'static str>, Vec<Vec<String>>)>,
    /// A note when an `optimize.json` was found but not used.
    pub optimize_note: Option<String>,
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn pct(p: f64) -> String {
    if p > 0.0 && p < 0.001 {
        "< 0.1 %".into()
    } else {
        format!("{} %", num(100.0 * p, 1))
    }
}

/// The family a point belongs to, `venue/policy` (the policy kind alone
/// with one venue): the answer, frontier and heatmaps group by it.
pub(crate) fn family_label(venue: &str, policy: &str) -> String {
    if venue.is_empty() {
        policy.to_string()
    } else {
        format!("{venue}/{policy}")
    }
}

/// A point's id without its venue label (`venue/static[...]` →
/// `static[...]`), to line the same point up across venues.
pub(crate) fn point_label<'a>(point_id: &'a str, venue: &str) -> &'a str {
    point_id
        .strip_prefix(venue)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(point_id)
}

fn family(a: &Value) -> String {
    family_label(
        a["venue"].as_str().unwrap_or(""),
        a["policy"].as_str().unwrap_or(""),
    )
}

/// Reads `dir/optimize.json` when it was made from `scenario_text`.
pub(crate) fn load_optimize(dir: &Path, scenario_text: &str) -> (Option<Value>, Option<String>) {
    let path = dir.join("optimize.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return (None, None);
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return (
            None,
            Some("optimize.json beside this report is not valid JSON; it was left out.".into()),
        );
    };
    if v["scenario_sha256"].as_str() != Some(&levsim_scenario::text_sha256(scenario_text)) {
        return (
            None,
            Some("optimize.json beside this report was made from another version of the scenario; rerun `levsim optimize` to include its recommendations.".into()),
        );
    }
    (Some(v), None)
}

/// With several venue configurations: which one treats the same policy
/// points best (median return on committed capital), and by how much.
fn venue_comparison(aggs: &[Value], mc: bool) -> Option<String> {
    let venues: Vec<&str> = {
        let mut v: Vec<&str> = aggs.iter().filter_map(|a| a["venue"].as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    if venues.len() < 2 || venues.iter().any(|v| v.is_empty()) {
        return None;
    }
    // Points without the venue prefix.
    let key = |a: &Value| {
        point_label(
            a["point_id"].as_str().unwrap_or(""),
            a["venue"].as_str().unwrap_or(""),
        )
        .to_string()
    };
    let mut groups: Vec<(String, Vec<&Value>)> = Vec::new();
    for a in aggs {
        let k = key(a);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(a),
            None => groups.push((k, vec![a])),
        }
    }
    let roc = |a: &Value| f(&a["return_on_committed_pct_p50"]);
    let mut wins: Vec<(&str, usize)> = venues.iter().map(|v| (*v, 0)).collect();
    let mut widest: Option<(f64, String, &Value, &Value)> = None;
    for (k, g) in &groups {
        if g.len() < 2 {
            continue;
        }
        let best = g.iter().max_by(|a, b| roc(a).total_cmp(&roc(b)))?;
        let worst = g.iter().min_by(|a, b| roc(a).total_cmp(&roc(b)))?;
        if roc(best) > roc(worst) + MATERIAL_PP {
            if let Some(w) = wins
                .iter_mut()
                .find(|(v, _)| Some(*v) == best["venue"].as_str())
            {
                w.1 += 1;
            }
        }
        let gap = roc(best) - roc(worst);
        if widest.as_ref().is_none_or(|w| gap > w.0) {
            widest = Some((gap, k.clone(), best, worst));
        }
    }
    let (venue, n) = wins.iter().max_by_key(|w| w.1).copied()?;
    let (_, point, best, worst) = widest?;
    if n == 0 {
        return Some(format!(
            "Across venue configurations the policy points' {}return on committed capital is the same within {MATERIAL_PP} percentage points.",
            if mc { "median " } else { "" }
        ));
    }
    Some({
        format!(
            "Across venue configurations, {venue} gives the best {}return on committed capital for {n} of {} policy points; the widest gap: {point} at {} % under {} against {} % under {}.",
            if mc { "median " } else { "" },
            groups.iter().filter(|(_, g)| g.len() > 1).count(),
            num(roc(best), 2),
            best["venue"].as_str().unwrap_or(""),
            num(roc(worst), 2),
            worst["venue"].as_str().unwrap_or("")
        )
    })
}

/// A difference in return (percentage points) worth a sentence.
const MATERIAL_PP: f64 = 0.5;

/// Builds the overview from the summary, an optimize result and the note
/// on an `optimize.json` left out (see [`load_optimize`]).
pub(crate) fn build(
    summary: &Value,
    optimize: Option<&Value>,
    optimize_note: Option<String>,
) -> Overview {
    let aggs: Vec<Value> = summary["aggregates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mc = aggs.iter().any(|a| a["runs"].as_u64().unwrap_or(0) > 1);
    let paths = aggs.first().and_then(|a| a["runs"].as_u64()).unwrap_or(0);
    let mut families: Vec<(String, Vec<&Value>)> = Vec::new();
    for a in &aggs {
        let fam = family(a);
        match families.iter_mut().find(|(k, _)| *k == fam) {
            Some((_, v)) => v.push(a),
            None => families.push((fam, vec![a])),
        }
    }
    let eff = |a: &Value| f(&a["exposure_per_committed_p50"]);
    let mut answer = vec![if mc {
        format!(
            "How much leverage: per policy, the most capital-efficient point whose probability of liquidation stays below {} with 95 % confidence, over {paths} paths.",
            pct(ANSWER_BOUND)
        )
    } else {
        format!(
            "How much leverage this history allowed: per policy, the most capital-efficient point that came through, never liquidated and with a drawdown below {HISTORY_MAX_DD_PCT} %."
        )
    }];
    let mut chosen = Vec::new();
    for (fam, points) in &families {
        let ok = |a: &&&Value| {
            if mc {
                f(&a["p_liquidation_ci"][1]) <= ANSWER_BOUND
            } else {
                f(&a["p_liquidation"]) == 0.0 && f(&a["max_drawdown_pct_p50"]) < HISTORY_MAX_DD_PCT
            }
        };
        let best = points
            .iter()
            .filter(ok)
            .max_by(|a, b| eff(a).total_cmp(&eff(b)));
        let id = |a: &Value| a["point_id"].as_str().unwrap_or("").to_string();
        match best {
            Some(a) => {
                chosen.push(id(a));
                answer.push(if mc {
                    format!(
                        "{fam}: {}: {}x exposure per unit of committed capital, P(liquidation) {} (95 % CI {} – {}), median return on committed capital {} %.",
                        id(a),
                        num(eff(a), 2),
                        pct(f(&a["p_liquidation"])),
                        pct(f(&a["p_liquidation_ci"][0])),
                        pct(f(&a["p_liquidation_ci"][1])),
                        num(f(&a["return_on_committed_pct_p50"]), 2)
                    )
                } else {
                    format!(
                        "{fam}: {}: {}x exposure per unit of committed capital, return on committed capital {} %, max drawdown {} %.",
                        id(a),
                        num(eff(a), 2),
                        num(f(&a["return_on_committed_pct_p50"]), 2),
                        num(f(&a["max_drawdown_pct_p50"]), 2)
                    )
                });
            }
            None => {
                let safest = points
                    .iter()
                    .min_by(|a, b| f(&a["p_liquidation"]).total_cmp(&f(&b["p_liquidation"])));
                answer.push(match safest {
                    Some(a) if mc => format!(
                        "{fam}: no point meets the bound; the safest, {}, is liquidated on {} of paths.",
                        id(a),
                        pct(f(&a["p_liquidation"]))
                    ),
                    _ => format!(
                        "{fam}: none came through (each was liquidated or lost half its equity or more)."
                    ),});
            }
        }
    }
    // With nothing chosen anywhere, one line says so instead of one per family.
    if chosen.is_empty() && families.len() > 1 {
        answer.truncate(1);
        answer.push(if mc {
            "No policy point meets the bound under any configuration.".into()
        } else {
            "No policy point came through: each was liquidated or lost half its equity or more."
                .into()
        });
    }
    if let Some(line) = venue_comparison(&aggs, mc) {
        answer.push(line);
    }
    let liquidated: Vec<String> = aggs
        .iter()
        .filter(|a| f(&a["p_liquidation"]) > 0.5)
        .map(|a| a["point_id"].as_str().unwrap_or("").to_string())
        .collect();
    if liquidated.len() == aggs.len() {
        // Said above.
    } else if liquidated.len() > 6 {
        answer.push(format!(
            "{} of {} points were liquidated{}; the table has each.",
            liquidated.len(),
            aggs.len(),
            if mc {
                " on more than half of the paths"
            } else {
                ""
            }
        ));
    } else if !liquidated.is_empty() {
        answer.push(if mc {
            format!(
                "Liquidated on more than half of the paths: {}.",
                liquidated.join(", ")
            )
        } else {
            format!("Liquidated: {}.", liquidated.join(", "))
        });
    }
    let head = if mc {
        vec![
            "point",
            "P(liquidation)",
            "95 % CI",
            "return on committed p50 %",
            "p05 %",
            "max DD p50 %",
            "exposure / committed",
            "fees p50",
            "funding p50",
        ]
    } else {
        vec![
            "point",
            "liquidations",
            "return on committed %",
            "max DD %",
            "exposure / committed",
            "fees",
            "funding",
        ]
    };
    let rows = aggs
        .iter()
        .map(|a| {
            let mut r = vec![a["point_id"].as_str().unwrap_or("").to_string()];
            if mc {
                r.push(num(f(&a["p_liquidation"]), 4));
                r.push(format!(
                    "{} – {}",
                    num(f(&a["p_liquidation_ci"][0]), 4),
                    num(f(&a["p_liquidation_ci"][1]), 4)
                ));
                r.push(num(f(&a["return_on_committed_pct_p50"]), 2));
                r.push(num(f(&a["return_on_committed_pct_p05"]), 2));
            } else {
                r.push(num(f(&a["liquidations_mean"]), 0));
                r.push(num(f(&a["return_on_committed_pct_p50"]), 2));
            }
            r.push(num(f(&a["max_drawdown_pct_p50"]), 2));
            r.push(num(eff(a), 2));
            r.push(num(f(&a["fees_p50"]), 2));
            r.push(num(f(&a["funding_p50"]), 2));
            r
        })
        .collect();
    let recommended = optimize.map(|o| {
        let s = |v: &Value| match v {
            Value::Null => "–".to_string(),
            other => other.to_string(),
        };
        let rows = o["policies"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        vec![
                            p["policy"].as_str().unwrap_or("").to_string(),
                            if p["best_params"].is_null() {
                                "none meets the constraint".into()
                            } else {
                                s(&p["best_params"])
                            },
                            s(&p["best_params_ci"]),
                            p["objective"].as_f64().map_or("–".into(), |v| num(v, 3)),
                            p["objective_ci"].as_array().map_or("–".into(), |c| {
                                format!("{} – {}", num(f(&c[0]), 3), num(f(&c[1]), 3))
                            }),
                            p["p_liquidation"]
                                .as_f64()
                                .map_or("–".into(), |v| num(v, 4)),
                            p["evaluated"].to_string(),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        (
            vec![
                "policy",
                "recommended parameters",
                "95 % range",
                "objective",
                "95 % CI",
                "P(liquidation)",
                "evaluated",
            ],
            rows,
        )
    });
    if let Some(o) = optimize {
        answer.push(format!(
            "levsim optimize (objective {}, constraint {} ≤ {}) recommends the parameters in the table below.",
            o["objective"].as_str().unwrap_or("?"),
            o["constraint"]["metric"].as_str().unwrap_or("?"),
            o["constraint"]["bound"]
        ));
    }
    Overview {
        answer,
        head,
        rows,
        chosen,
        recommended,
        optimize_note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agg(id: &str, venue: &str, p: f64, ci: [f64; 2], eff: f64, roc: f64, dd: f64) -> Value {
        json!({
            "point_id": id, "policy": "static", "venue": venue, "runs": 1000,
            "p_liquidation": p, "p_liquidation_ci": ci,
            "exposure_per_committed_p50": eff, "return_on_committed_pct_p50": roc,
            "return_on_committed_pct_p05": roc - 10.0, "max_drawdown_pct_p50": dd,
            "fees_p50": 1.0, "funding_p50": 0.0, "liquidations_mean": p,
        })
    }

    /// Monte Carlo: the most efficient point whose upper 95 % bound is
    /// within 5 %, not the one whose estimate is.
    #[test]
    fn the_answer_takes_the_upper_bound_of_the_risk() {
        let s = json!({ "aggregates": [
            agg("static[leverage=2]", "", 0.0, [0.0, 0.004], 1.9, -1.0, 20.0),
            agg("static[leverage=5]", "", 0.047, [0.038, 0.057], 4.9, -5.0, 50.0),
            agg("static[leverage=20]", "", 0.7, [0.68, 0.72], 7.6, -99.0, 99.0),
        ]});
        let o = build(&s, None, None);
        assert_eq!(o.chosen, vec!["static[leverage=2]".to_string()]);
        assert_eq!(o.rows.len(), 3);
        assert!(o
            .answer
            .iter()
            .any(|a| a.contains("more than half") && a.contains("leverage=20")));
    }

    /// History: never liquidated is not enough with a drawdown of half the
    /// equity or more; a venue comparison names the better venue.
    #[test]
    fn history_needs_a_bounded_drawdown_and_venues_are_compared() {
        let mut a = agg(
            "a/static[leverage=3]",
            "a",
            0.0,
            [0.0, 0.8],
            3.0,
            -20.0,
            60.0,
        );
        let mut b = agg(
            "b/static[leverage=3]",
            "b",
            0.0,
            [0.0, 0.8],
            2.0,
            -5.0,
            30.0,
        );
        a["runs"] = json!(1);
        b["runs"] = json!(1);
        let o = build(&json!({ "aggregates": [a, b] }), None, None);
        assert_eq!(o.chosen, vec!["b/static[leverage=3]".to_string()]);
        assert!(o
            .answer
            .iter()
            .any(|l| l.starts_with("a/static: none came through")));
        assert!(
            o.answer
                .iter()
                .any(|l| l.contains("b gives the best return") && l.contains("1 of 1")),
            "{:?}",
            o.answer
        );
    }
}
