//! `levsim optimize`.

use std::fmt::Write as _;
use std::path::Path;

use levsim_scenario::optimize::{optimize, scenario_identity, Constraint, Objective};
use serde_json::json;

use crate::Failure;

pub(crate) fn run(
    scenario: &Path,
    objective: &str,
    constraint: &str,
    json_out: bool,
    out: Option<&Path>,
    threads: usize,
) -> Result<(), Failure> {
    let obj = Objective::parse(objective)
        .map_err(|e| Failure::input(anyhow::anyhow!("--objective: {e}")))?;
    let con = Constraint::parse(constraint)
        .map_err(|e| Failure::input(anyhow::anyhow!("--constraint: {e}")))?;
    let res = optimize(scenario, obj, con, threads, &|msg| {
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
    let mut md = format!(
        "# optimize {}\n\nObjective: {objective}; constraint: {constraint}.\n\n| policy | best parameters | 95 % range | objective | 95 % CI | P(liquidation) | 95 % CI | evaluated |\n|---|---|---|---|---|---|---|---|\n",scenario.display()
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
    let (name, sha) = scenario_identity(scenario).map_err(Failure::input)?;
    let dir = out.map_or_else(|| Path::new("reports").join(&name), Path::to_path_buf);
    {
        let dir = dir.as_path();
        levsim_report::prepare_out_dir(dir).map_err(|e| match e {
            levsim_report::ReportError::ForeignDirectory(_) => Failure::input(e),
            other => Failure::other(other),
        })?;
        let full = json!({
            "scenario": scenario.display().to_string(),
            "scenario_sha256": sha,"objective": obj,
            "constraint": con,
            "policies": res,
        });
        std::fs::write(
            dir.join("optimize.json"),
            serde_json::to_string_pretty(&full).unwrap_or_default() + "\n",
        )
        .map_err(Failure::other)?;
        std::fs::write(dir.join("optimize.md"), &md).map_err(Failure::other)?;
        let series: Vec<levsim_report::FrontierSeries> = res
            .iter()
            .map(|r| levsim_report::FrontierSeries {
                name: r.policy.clone(),
                points: r
                    .candidates
                    .iter()
                    .map(|c| (c.p_liquidation, c.objective, c.feasible))
                    .collect(),
                chosen: r.p_liquidation.zip(r.objective),
            })
            .collect();
        let bound = match con.metric {
            levsim_scenario::optimize::ConstraintMetric::PLiquidation => con.bound,
            levsim_scenario::optimize::ConstraintMetric::ExpectedShortfall => f64::NAN,
        };
        levsim_report::render_frontier(dir, &series, objective, bound).map_err(Failure::other)?;
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
                    dir.display()
                );
            } else {
                eprintln!(
                    "wrote {0}/optimize.json, optimize.md and frontier.svg; `levsim run {1} --out {0}` puts the recommendations in a report",
                    dir.display(),
                    scenario.display()
                );
            }
        }
    }
    if json_out {
        for s in summary {
            println!("{s}");
        }
    } else {
        print!("{md}");
    }
    Ok(())
}
