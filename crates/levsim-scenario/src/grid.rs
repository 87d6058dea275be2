//! Parameter grids: a `[[policy]]` table whose list values are sweep axes.

use std::sync::Arc;

use levsim_policy::PolicyKind;
use serde::Serialize;

use crate::seed::run_seed;

/// One run: one policy with one parameter point on one market path. The
/// point-level fields are shared (`Arc`) by every path of the point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSpec {
    /// Position in the plan (0-based).
    pub index: usize,
    /// Stable key, e.g. `static[leverage=5]`; identical across shards.
    pub run_id: String,
    /// Index of the `[[policy]]` table it came from.
    pub policy_index: usize,
    /// Index of the venue configuration it runs under.
    pub venue_index: usize,
    /// Label of that venue configuration (empty when the scenario has one).
    pub venue: Arc<str>,
    /// Market path index (0 for a historical market).
    pub path: usize,
    /// The parameter point (venue, policy and parameters) without the path:
    /// the key runs are aggregated by.
    pub point_id: Arc<str>,
    /// Policy kind name.
    pub policy: Arc<str>,
    /// The scalar parameters (everything but `kind`), in file order.
    pub params: Arc<serde_json::Map<String, serde_json::Value>>,
    /// The validated policy.
    #[serde(skip)]
    pub kind: PolicyKind,
    /// Margin top-ups on top of the policy (`topup_threshold` and
    /// `topup_target` in its table), if any.
    #[serde(skip)]
    pub topup: Option<levsim_policy::TopupRule>,
    /// A constant decision latency for this policy (`latency = "5m"` in its
    /// table, a grid axis like any other), replacing `[account] latency`.
    #[serde(skip)]
    pub latency: Option<levsim_engine::Latency>,
    /// The margin mode for this policy (`margin_mode = "cross"` in its
    /// table, a grid axis like any other: the same positions under
    /// isolated, cross and portfolio margin), replacing `[account]`'s.
    #[serde(skip)]
    pub margin_mode: Option<levsim_engine::MarginMode>,
    /// How long this policy's transfers between isolated accounts take
    /// (`transfer_delay = "30m"` in its table, or `"none"` for no
    /// transfers; a grid axis like any other), replacing
    /// `[account] transfer`'s delay.
    #[serde(skip)]
    pub transfer_delay: Option<Option<String>>,
    /// Seed of this run, from the scenario seed and `run_id`.
    pub seed: u64,
}

/// All runs of a scenario, in a fixed order: venue configurations as
/// written, then policies as written, within a policy the grid in
/// row-major order of its list-valued keys, and within a parameter point
/// the market paths. Runs are built on demand from the points (a sweep of
/// a million paths does not hold a million run descriptions).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunPlan {
    /// The parameter points (each as its path-0 run).
    pub points: Vec<RunSpec>,
    /// Market paths per point.
    pub paths: usize,
    /// The scenario seed (run seeds derive from it and the run id).
    pub seed: u64,
}

impl RunPlan {
    /// Number of runs (points × paths).
    pub fn len(&self) -> usize {
        self.points.len() * self.paths
    }

    /// True when there are no runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Run `index` (`point · paths + path`); None past the end.
    pub fn run(&self, index: usize) -> Option<RunSpec> {
        if index >= self.len() {
            return None;
        }
        let (point, path) = (index / self.paths, index % self.paths);
        Some(self.run_at(point, path))
    }

    /// The run of `point` on `path`.
    pub fn run_at(&self, point: usize, path: usize) -> RunSpec {
        let p = &self.points[point];
        // One path: the point's id; several: `point#path`.
        let run_id = if self.paths > 1 {
            format!("{}#{path}", p.point_id)
        } else {
            p.point_id.to_string()
        };
        RunSpec {
            index: point * self.paths + path,
            seed: run_seed(self.seed, &run_id),
            run_id,
            path,
            ..p.clone()
        }
    }

    /// Every run, in plan order.
    pub fn runs(&self) -> impl Iterator<Item = RunSpec> + '_ {
        (0..self.len()).map(|i| self.run_at(i / self.paths, i % self.paths))
    }
}

fn fmt_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(f) => format!("{f}"),
        // Weights: `BTCUSDT:0.5+ETHUSDT:-0.5`, compact and plain.
        toml::Value::Table(t) => t
            .iter()
            .map(|(k, v)| match v {
                toml::Value::Integer(i) => format!("{k}:{i}"),
                other => format!("{k}:{}", fmt_value(other)),
            })
            .collect::<Vec<_>>()
            .join("+"),
        other => other.to_string(),
    }
}

/// Expands every `[[policy]]` table into parameter points, once per venue
/// label (an empty label: a single venue, ids without prefix; otherwise
/// `label/policy[...]`), each run on `paths` paths; every problem is
/// returned with its field path (`policy[1].leverage: …`).
pub(crate) fn expand(
    tables: &[toml::Table],
    venues: &[String],
    paths: usize,
    scenario_seed: u64,
) -> Result<RunPlan, Vec<String>> {
    let (policy_runs, problems) = expand_policies(tables);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut points = Vec::with_capacity(policy_runs.len() * venues.len());
    for (vi, label) in venues.iter().enumerate() {
        for r in &policy_runs {
            let point_id: Arc<str> = if label.is_empty() {
                r.run_id.as_str().into()
            } else {
                format!("{label}/{}", r.run_id).into()
            };
            points.push(RunSpec {
                venue_index: vi,
                venue: label.as_str().into(),
                point_id,
                ..r.clone()
            });
        }
    }
    let plan = RunPlan {
        points,
        paths,
        seed: scenario_seed,
    };
    // Each point as its path-0 run (index, id and seed filled in).
    let points = (0..plan.points.len()).map(|i| plan.run_at(i, 0)).collect();
    Ok(RunPlan { points, ..plan })
}

/// The seed of market path `path`: shared by every policy and venue that
/// runs on it (common random numbers), independent of shards and threads.
pub fn path_seed(scenario_seed: u64, path: usize) -> u64 {
    run_seed(scenario_seed, &format!("path/{path}"))
}

/// The runs of the policy tables alone (no venue, no seed yet).
fn expand_policies(tables: &[toml::Table]) -> (Vec<RunSpec>, Vec<String>) {
    let mut runs = Vec::new();
    let mut problems = Vec::new();
    for (pi, table) in tables.iter().enumerate() {
        let at = |k: &str| format!("policy[{pi}].{k}");
        let Some(kind) = table.get("kind").and_then(|v| v.as_str()) else {
            problems.push(format!("policy[{pi}]: `kind` is missing or not a string"));
            continue;
        };
        // Axes: (key, values); scalars are axes of length one.
        let mut axes: Vec<(String, Vec<toml::Value>)> = Vec::new();
        let mut ok = true;
        for (k, v) in table.iter().filter(|(k, _)| k.as_str() != "kind") {
            match v {
                toml::Value::Array(a) if a.is_empty() => {
                    problems.push(format!("{}: an empty list gives no runs", at(k)));
                    ok = false;
                }
                toml::Value::Array(a) => axes.push((k.clone(), a.clone())),
                // Portfolio weights are one value (a list of them an axis).
                toml::Value::Table(_) if k == "weights" => axes.push((k.clone(), vec![v.clone()])),
                toml::Value::Table(_) => {
                    problems.push(format!(
                        "{}: a range {{ min, max }} is searched by `levsim optimize`; `levsim run` needs a number or a list",
                        at(k)
                    ));
                    ok = false;
                }
                other => axes.push((k.clone(), vec![other.clone()])),
            }
        }
        if !ok {
            continue;
        }
        let total: usize = axes.iter().map(|(_, v)| v.len()).product();
        let mut point_problems = Vec::new();
        for flat in 0..total {
            let mut rest = flat;
            let mut point = toml::Table::new();
            point.insert("kind".into(), toml::Value::String(kind.to_string()));
            let mut label = Vec::new();
            // Row-major: the last axis varies fastest.
            let mut idx = vec![0; axes.len()];
            for (ai, (_, vals)) in axes.iter().enumerate().rev() {
                idx[ai] = rest % vals.len();
                rest /= vals.len();
            }
            for (ai, (k, vals)) in axes.iter().enumerate() {
                let mut v = vals[idx[ai]].clone();
                if let toml::Value::Integer(i) = v {
                    // Parameters are real numbers; `leverage = [2, 3]` is fine.
                    v = toml::Value::Float(i as f64);
                }
                label.push(format!("{k}={}", fmt_value(&v)));
                point.insert(k.clone(), v);
            }
            // Top-up keys ride on any policy; the policy itself never sees them.
            let mut bare = point.clone();
            let topup = match (
                bare.remove("topup_threshold").map(|v| v.as_float()),
                bare.remove("topup_target").map(|v| v.as_float()),
            ) {
                (None, None) => None,
                (Some(Some(threshold)), target)
                    if kind != "margin_topup" && !matches!(target, Some(None)) =>
                {
                    let target = target.flatten();
                    let rule = levsim_policy::TopupRule {
                        threshold,
                        target: target.unwrap_or(0.05),
                    };
                    if let Err(e) = rule.validate() {
                        point_problems.push(format!("{}: {}", at(e.field), e.message));
                        continue;
                    }
                    Some(rule)
                }
                _ => {
                    point_problems.push(format!(
                        "{}: needs a number `topup_threshold` (and optionally `topup_target`), on any policy but margin_topup (which has `threshold` and `target`)",
                        at("topup_threshold")
                    ));
                    break;
                }
            };
            // So is a constant latency: how fast this policy's decisions land.
            let latency = match bare.remove("latency") {
                None => None,
                Some(toml::Value::String(value)) => {
                    // The engine's own check, reported under this key.
                    let l = levsim_engine::Latency::Constant { value };
                    match l.validate() {
                        Ok(()) => Some(l),
                        Err(levsim_engine::EngineError::Config { message, .. }) => {
                            point_problems.push(format!("{}: {message}", at("latency")));
                            continue;
                        }
                        Err(e) => {
                            point_problems.push(format!("{}: {e}", at("latency")));
                            continue;
                        }
                    }
                }
                Some(_) => {
                    point_problems.push(format!(
                        "{}: a duration such as \"5m\" (or a list of them): this policy's decisions land that long after they are made",
                        at("latency")
                    ));
                    break;
                }
            };
            // And the margin mode the policy's positions are held under.
            let margin_mode = match bare.remove("margin_mode") {
                None => None,
                Some(v) => match v.clone().try_into::<levsim_engine::MarginMode>() {
                    Ok(m) => Some(m),
                    Err(_) => {
                        point_problems.push(format!(
                            "{}: {} is not a margin mode: \"isolated\", \"cross\" or \"portfolio\"",
                            at("margin_mode"),
                            fmt_value(&v)
                        ));
                        break;
                    }
                },
            };
            // And how long its transfers between isolated accounts take.
            let transfer_delay = match bare.remove("transfer_delay") {
                None => None,
                Some(toml::Value::String(d)) if d == "none" => Some(None),
                Some(toml::Value::String(d)) => match levsim_core::time::parse_duration(&d) {
                    Ok(ns) if ns >= 0 => Some(Some(d)),
                    _ => {
                        point_problems.push(format!(
                            "{}: {d:?} is not a duration such as \"30m\" (or \"none\")",
                            at("transfer_delay")
                        ));
                        continue;
                    }
                },
                Some(v) => {
                    point_problems.push(format!(
                        "{}: {} is not a duration such as \"30m\" (or \"none\": no transfers)",
                        at("transfer_delay"),
                        fmt_value(&v)
                    ));
                    break;
                }
            };
            let parsed: Result<PolicyKind, String> = if kind == "python" {
                python_kind(&bare)
            } else {
                bare.try_into::<PolicyKind>()
                    .map_err(|e| format!(": {}", e.message()))
            };
            let kind_val = match parsed {
                Ok(p) => p,
                Err(e) => {
                    point_problems.push(format!("policy[{pi}]{e}"));
                    break;
                }
            };
            if let Err(e) = kind_val.validate() {
                point_problems.push(format!(
                    "{}: {} (at {})",
                    at(e.field),
                    e.message,
                    label.join(", ")
                ));
                continue;
            }
            let run_id = format!("{kind}[{}]", label.join(","));
            let params = point
                .iter()
                .filter(|(k, _)| k.as_str() != "kind")
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect();
            runs.push(RunSpec {
                index: 0,
                seed: 0,
                run_id,
                policy_index: pi,
                venue_index: 0,
                venue: "".into(),
                path: 0,
                point_id: "".into(),
                // A Python policy's family is its name: two of them are
                // two policies in the report, not one.
                policy: match &kind_val {
                    PolicyKind::Python { name, .. } => format!("python:{name}").into(),
                    _ => kind.into(),
                },
                params: Arc::new(params),
                kind: kind_val,
                topup,
                latency,
                margin_mode,
                transfer_delay,
            });
        }
        problems.extend(point_problems);
    }
    let mut seen = std::collections::BTreeSet::new();
    for r in &runs {
        if !seen.insert(r.run_id.clone()) {
            problems.push(format!(
                "policy[{}]: run {} appears twice",
                r.policy_index, r.run_id
            ));
        }
    }
    (runs, problems)
}

/// A `kind = "python"` point: its `name` and every other key as a
/// parameter. Errors start with the field (`.name: …`) or `: …`, to follow
/// `policy[i]`.
fn python_kind(point: &toml::Table) -> Result<PolicyKind, String> {
    let name = match point.get("name") {
        Some(toml::Value::String(n)) => n.clone(),
        Some(_) => return Err(".name: must be a string (the key of levsim.run(..., policies={\"NAME\": factory}))".into()),
        None => return Err(".name: a python policy needs `name = \"NAME\"`, the key of levsim.run(..., policies={\"NAME\": factory})".into()),
    };
    let mut params = Vec::new();
    for (k, v) in point
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "kind" | "name"))
    {
        let p = match v {
            toml::Value::Float(x) => levsim_policy::ParamValue::Number(*x),
            toml::Value::Integer(i) => levsim_policy::ParamValue::Number(*i as f64),
            toml::Value::Boolean(b) => levsim_policy::ParamValue::Bool(*b),
            toml::Value::String(t) => levsim_policy::ParamValue::Text(t.clone()),
            toml::Value::Table(t) => {
                let mut w = levsim_policy::Weights::new();
                for (sym, x) in t {
                    let x = match x {
                        toml::Value::Float(x) => *x,
                        toml::Value::Integer(i) => *i as f64,
                        _ => return Err(format!(".{k}.{sym}: a table parameter holds numbers")),
                    };
                    w.insert(sym.clone(), x);
                }
                levsim_policy::ParamValue::Table(w)
            }
            other => {
                return Err(format!(
                    ".{k}: {} is not a number, boolean, string or table of numbers",
                    other.type_str()
                ))
            }
        };
        params.push((k.clone(), p));
    }
    Ok(PolicyKind::Python { name, params })
}

fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Value::from(*f),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Table(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
        other => serde_json::Value::String(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(s: &str) -> Vec<toml::Table> {
        #[derive(serde::Deserialize)]
        struct F {
            policy: Vec<toml::Table>,
        }
        toml::from_str::<F>(s).unwrap().policy
    }

    #[test]
    fn lists_are_axes_in_row_major_order() {
        let t = tables(
            "[[policy]]\nkind = \"constant_leverage\"\nleverage = [2, 3]\nband = [0.1, 0.2]\n\
             [[policy]]\nkind = \"static\"\nleverage = 5\n",
        );
        let plan = expand(&t, &[String::new()], 1, 1).unwrap();
        let runs: Vec<RunSpec> = plan.runs().collect();
        let ids: Vec<_> = runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "constant_leverage[leverage=2,band=0.1]",
                "constant_leverage[leverage=2,band=0.2]",
                "constant_leverage[leverage=3,band=0.1]",
                "constant_leverage[leverage=3,band=0.2]",
                "static[leverage=5]",
            ]
        );
        assert_eq!(runs[4].index, 4);
        assert_eq!(
            runs[4].kind,
            PolicyKind::Static {
                leverage: 5.0,
                weights: None
            }
        );
        // Two venue configurations: every policy run under each, prefixed.
        let two = expand(&t, &["binance".into(), "hl".into()], 1, 1).unwrap();
        assert_eq!(two.len(), 10);
        let two_runs: Vec<RunSpec> = two.runs().collect();
        assert_eq!(
            two_runs[5].run_id,
            "hl/constant_leverage[leverage=2,band=0.1]"
        );
        assert_eq!(two_runs[5].venue_index, 1);
        assert_eq!(two_runs[9].index, 9);
        assert_ne!(two_runs[0].seed, two_runs[5].seed);
        // Paths are the innermost axis; `run(i)` is the i-th run.
        let three = expand(&t, &[String::new()], 3, 1).unwrap();
        assert_eq!(three.len(), 15);
        let runs: Vec<RunSpec> = three.runs().collect();
        assert_eq!(runs[4].run_id, "constant_leverage[leverage=2,band=0.2]#1");
        assert_eq!(runs[4].path, 1);
        for (i, r) in runs.iter().enumerate() {
            assert_eq!(r.index, i);
            assert_eq!(three.run(i).as_ref(), Some(r));
            assert_eq!(r.seed, run_seed(1, &r.run_id));
        }
        assert_eq!(three.run(15), None);
    }

    #[test]
    fn bad_points_and_fields_are_named() {
        let t = tables("[[policy]]\nkind = \"static\"\nleverage = [2, -1]\n");
        let e = expand(&t, &[String::new()], 1, 1).unwrap_err();
        assert!(e[0].starts_with("policy[0].leverage"), "{e:?}");
        let t = tables("[[policy]]\nkind = \"static\"\nleverage = 2\nbnad = 1\n");
        let e = expand(&t, &[String::new()], 1, 1).unwrap_err();
        assert!(e[0].contains("bnad"), "{e:?}");
        let t = tables("[[policy]]\nleverage = 2\n");
        assert!(expand(&t, &[String::new()], 1, 1).unwrap_err()[0].contains("kind"));
    }
}
