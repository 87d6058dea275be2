//! `levsim optimize`.

use std::fmt::Write as _;
use std::path::Path;

use levsim_scenario::optimize::{
    optimize, scenario_identity, with_horizon, Constraint, ConstraintMetric, Objective,
};
use levsim_scenario::ScenarioError;
use serde_json::json;

use crate::Failure;

/// The command line's options.
pub(crate) struct Options<'a> {
    pub objective: &'a str,
    pub constraint: &'a str,
    pub horizon: Option<&'a str>,
    pub json_out: bool,
    pub out: Option<&'a Path>,
    pub threads: usize,
}

pub(crate) fn run(scenario: &Path, o: &Options<'_>) -> Result<(), Failure> {
    let (objective, constraint, json_out) = (o.objective, o.constraint, o.json_out);
    let obj = Objective::parse(objective)
        .map_err(|e| Failure::input(anyhow::anyhow!("--objective: {e}")))?;
    let con = Constraint::parse(constraint)
        .map_err(|e| Failure::input(anyhow::anyhow!("--constraint: {e}")))?;
    // The scenario is read once; --horizon evaluates a variant of it.
    let mut text = std::fs::read_to_string(scenario).map_err(|source| {
        Failure::input(ScenarioError::Io {
            file: scenario.to_path_buf(),
            source,
        })
    })?;
    if let Some(h) = o.horizon {
        text = with_horizon(scenario, &text, h).map_err(Failure::input)?;
    }
    levsim_scenario::check_threads(o.threads).map_err(|m| Failure::input(anyhow::anyhow!(m)))?;
    let (name, sha) = scenario_identity(scenario, &text).map_err(Failure::input)?;
    // A --horizon variant gets its own directory: it does not replace the
    // scenario's own recommendations.
    let default_dir = match o.horizon {
        Some(h) => format!("{name}-horizon-{h}"),
        None => name,
    };
    let shown = o.out.map_or_else(
        || Path::new("reports").join(&default_dir),
        Path::to_path_buf,
    );
    // Refused before the search, not after it.
    levsim_report::check_out_dir(&shown).map_err(crate::cmd_run::out_failure)?;
    let res = optimize(scenario, &text, obj, con, o.threads, &|msg| {
        if !json_out {
            eprint!("\r{msg}    ");
        }
    })
    .map_err(Failure::input)?;
    if !json_out {
        eprintln!();
    }
    let summary: Vec<serde_json::Value> = res
        .iter()
        .map(|r| {
            json!({
                "policy": r.policy,
                "best_params": r.best_params,
                "best_params_ci": r.best_params_ci,
                "objective": r.objective,
                "objective_ci": r.objective_ci,"p_liquidation": r.p_liquidation,
                "p_liquidation_ci": r.p_liquidation_ci,
                "evaluated": r.evaluated,
            })
        })
        .collect();
    let horizon_note = o.horizon.map_or(String::new(), |h| {
        format!(" Horizon: {h} (`--horizon`, not the scenario's).")
    });
    let mut md = format!(
        "# optimize {}\n\nObjective: {objective}; constraint: {constraint}.{horizon_note}\n\n| policy | best parameters | 95 % range | objective | 95 % CI | P(liquidation) | 95 % CI | evaluated |\n|---|---|---|---|---|---|---|---|\n",scenario.display()
    );
    for r in &res {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.policy,
            r.best_params.as_ref().map_or("none feasible".into(), |p| {
                serde_json::Value::Object(p.clone()).to_string()
            }),
            r.best_params_ci.as_ref().map_or("–".into(), |p| {
                serde_json::Value::Object(p.clone()).to_string()
            }),
            r.objective.map_or("–".into(), |v| format!("{v:.4}")),
            r.objective_ci
                .map_or("–".into(), |c| format!("{:.4} – {:.4}", c[0], c[1])),
            r.p_liquidation.map_or("–".into(), |v| format!("{v:.4}")),
            r.p_liquidation_ci
                .map_or("–".into(), |c| format!("{:.4} – {:.4}", c[0], c[1])),
            r.evaluated
        );
    }
    {
        let resolved = levsim_report::prepare_out_dir(&shown)
            .map_err(crate::cmd_run::out_failure)?
            .path;
        let dir = resolved.as_path();
        let full = json!({
            "scenario": scenario.display().to_string(),
            "scenario_sha256": sha,
            "horizon": o.horizon,
            "objective": obj,
            "constraint": con,
            "policies": res,
        });
        std::fs::write(
            dir.join("optimize.json"),
            serde_json::to_string_pretty(&full).unwrap_or_default() + "\n",
        )
        .map_err(Failure::other)?;
        std::fs::write(dir.join("optimize.md"), &md).map_err(Failure::other)?;
        // The frontier plots the constrained risk measure.
        let (risk, x_of): (_, fn(&levsim_scenario::optimize::Candidate) -> f64) = match con.metric {
            ConstraintMetric::PLiquidation => (levsim_report::FrontierRisk::PLiquidation, |c| {
                c.p_liquidation
            }),
            ConstraintMetric::ExpectedShortfall => {
                (levsim_report::FrontierRisk::ExpectedShortfall, |c| {
                    -c.expected_shortfall_5pct
                })
            }
        };
        let series: Vec<levsim_report::FrontierSeries> = res
            .iter()
            .map(|r| levsim_report::FrontierSeries {
                name: r.policy.clone(),
                points: r
                    .candidates
                    .iter()
                    .map(|c| (x_of(c), c.objective, c.feasible))
                    .collect(),
                chosen: r
                    .candidates
                    .iter()
                    .find(|c| Some(&c.params) == r.best_params.as_ref())
                    .map(|c| (x_of(c), c.objective)),
            })
            .collect();
        levsim_report::render_frontier(dir, &series, obj.describe(), risk, con.bound)
            .map_err(Failure::other)?;
        let written: Vec<_> = [
            "optimize.json",
            "optimize.md",
            "frontier.svg",
            "frontier.png",
        ]
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.exists())
        .collect();
        levsim_report::record_files(dir, &written).map_err(Failure::other)?;
        // A report already in the directory gets the recommendations now.
        let has_report = dir.join("manifest.json").exists() && dir.join("results.parquet").exists();
        let rebuilt = if has_report {
            match levsim_report::rebuild_report(dir) {
                Ok(_) => true,
                Err(e) => {
                    eprintln!("could not rebuild the report in {}: {e}", dir.display());
                    false
                }
            }
        } else {
            false
        };
        if !json_out {
            if rebuilt {
                eprintln!(
                    "wrote {0}/optimize.json, optimize.md and frontier.svg, and rebuilt {0}/index.html with the recommendations",
                    shown.display()
                );
            } else {
                eprintln!(
                    "wrote {0}/optimize.json, optimize.md and frontier.svg; `levsim run {1} --out {0}` puts the recommendations in a report",
                    shown.display(),
                    scenario.display()
                );
            }
        }
    }
    if json_out {
        for s in summary {
            outln!("{s}");
        }
    } else {
        out!("{md}");
    }
    Ok(())
}
