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

/// The manifest's content.
pub(crate) fn build(input: &ReportInput<'_>) -> serde_json::Value {
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
    json!({
        "levsim_version": env!("CARGO_PKG_VERSION"),
        "git_revision": git_revision(),
        "command": input.command,
        "scenario_file": sc.path.display().to_string(),
        "scenario_text": sc.text,
        "scenario_seed": sc.seed,
        "run_seeds": seeds,
        "venue_profiles": input.market.venues.iter().map(|v| json!({"name": v.name, "version": v.version, "as_of": v.as_of})).collect::<Vec<_>>(),
        "data_files": files,
        "timings": input.timings,
        "platform": {"os": std::env::consts::OS, "arch": std::env::consts::ARCH},
    })
}

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
