//! `manifest.json`: what it takes to reproduce a report.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use crate::error::io;
use crate::{ReportError, ReportInput};

/// Wall-clock timings of a run, in seconds (manifest only: results never
/// contain wall-clock values).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Timings {
    /// Loading and validating data.
    pub load_s: f64,
    /// Running the simulations.
    pub simulate_s: f64,
    /// Worker threads used.
    pub threads: usize,
    /// When the run started (ISO 8601 UTC, from the wall clock).
    pub started_at: String,
}

fn git_revision() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The path that leads from directory `from` to directory `to` (both
/// absolute and canonical): `..` up to their common ancestor, then down.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let (a, b): (Vec<_>, Vec<_>) = (from.components().collect(), to.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// The run's working directory as seen from the report directory `dir`, so
/// that `levsim report` finds the inputs from wherever it is started.
fn run_root(dir: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let cwd = std::env::current_dir().ok()?.canonicalize().ok()?;
    Some(relative_path(&dir, &cwd).display().to_string())
}

/// The manifest's content for the report in `dir`.
pub(crate) fn build(dir: &Path, input: &ReportInput<'_>) -> serde_json::Value {
    let sc = input.scenario;
    let files: Vec<_> = input
        .market
        .files
        .iter()
        .map(|(p, sha)| json!({"path": p, "sha256": sha}))
        .collect();
    let seeds: Vec<_> = input
        .sweep
        .kept
        .iter()
        .map(|r| json!({"run_id": r.spec.run_id, "seed": r.spec.seed}))
        .collect();
    let mut m = json!({
        "levsim_version": env!("CARGO_PKG_VERSION"),
        "git_revision": git_revision(),
        "command": input.command,
        "scenario_file": sc.path.display().to_string(),
        "scenario_text": sc.text,
        "scenario_seed": sc.seed,
        "run_seeds": seeds,
        "venue_profiles": input.market.venues.iter().map(|v| json!({"name": v.name, "version": v.version, "as_of": v.as_of})).collect::<Vec<_>>(),
        "data_files": files,
        "run_root": run_root(dir),
        "timings": input.timings,
        "platform": {"os": std::env::consts::OS, "arch": std::env::consts::ARCH},
    });
    if let Some(origin) = input.origin {
        for key in PROVENANCE {
            if let Some(v) = origin.get(key) {
                m[key] = v.clone();
            }
        }
    }
    m
}

/// The fields a rebuilt manifest takes from the run's: they describe the
/// run, not the rebuild (the scenario and data paths are the run's already).
const PROVENANCE: [&str; 4] = ["levsim_version", "git_revision", "run_root", "platform"];

/// Writes `manifest.json`.
pub(crate) fn write(dir: &Path, m: &serde_json::Value) -> Result<PathBuf, ReportError> {
    let path = dir.join("manifest.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(m).unwrap_or_default() + "\n",
    )
    .map_err(io(&path))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::relative_path;
    use std::path::Path;

    #[test]
    fn relative_path_climbs_to_the_common_ancestor() {
        let rel = |a: &str, b: &str| relative_path(Path::new(a), Path::new(b));
        assert_eq!(rel("/w/main/reports/bt", "/w/main"), Path::new("../.."));
        assert_eq!(rel("/out/x", "/w/main"), Path::new("../../w/main"));
        assert_eq!(rel("/w/main", "/w/main"), Path::new("."));
        assert_eq!(rel("/w", "/w/main/sub"), Path::new("main/sub"));
        // Joined back, it leads to the same place.
        let back = Path::new("/out/x").join(rel("/out/x", "/w/main"));
        assert_eq!(back, Path::new("/out/x/../../w/main"));
    }
}
