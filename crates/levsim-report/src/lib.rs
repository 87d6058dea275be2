//! Reports of levsim runs.
//!
//! [`write_report`] turns a scenario's results into a directory a person
//! can open: `summary.json` and `summary.md` (the per-run metrics),
//! `results.parquet` (one row per run), `timeseries.parquet` (equity,
//! leverage and liquidation price per kept bar and run), `charts/*.svg` and
//! `charts/*.png` (plotters, with an embedded DejaVu Sans font so no system
//! fonts are needed), a self-contained `index.html`, and `manifest.json`
//! (scenario text, seeds, versions, git revision, input hashes, timings).
//!
//! Output directories are protected: levsim writes only into a directory
//! that is new, empty, or marked as its own by a previous report
//! ([`prepare_out_dir`]).

mod cascade;
mod charts;
mod contagion;
mod dist;
mod error;
pub mod frames;
mod heatmap;
mod html;
mod labels;
mod legend;
mod legs;
mod manifest;
mod markdown;
mod models;
mod outdir;
mod overview;
mod parquet;
mod pen;
mod rebuild;

pub use charts::{render_frontier, FrontierRisk, FrontierSeries};
pub use parquet::{
    aggregates_frame, legs_frame, markets_frame, results_frame, timeseries_frame, write_results_to,
};
mod summary;

use std::path::{Path, PathBuf};

use levsim_scenario::{LoadedMarket, Scenario};

pub use error::ReportError;
pub use manifest::Timings;
pub use outdir::{check_out_dir, prepare_out_dir, record_files, resolve_dir, OutDir, MARKER_FILE};
pub use rebuild::rebuild_report;

/// Everything a report is made of.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// Its market.
    pub market: &'a LoadedMarket,
    /// The sweep: kept runs (path 0), rows, aggregates, market passes.
    pub sweep: &'a levsim_scenario::Sweep,
    /// Wall-clock timings (go to the manifest only).
    pub timings: &'a Timings,
    /// The command line that produced the report.
    pub command: &'a str,
    /// When rebuilding: the run's own `manifest.json`, whose provenance
    /// (levsim version, git revision, platform, its working directory) the
    /// new one keeps.
    pub origin: Option<&'a serde_json::Value>,
}

/// Files written by [`write_report`].
#[derive(Debug, Clone)]
pub struct ReportFiles {
    /// The report's `index.html`.
    pub index_html: PathBuf,
    /// Every file written.
    pub files: Vec<PathBuf>,
}

/// Writes the whole report into `dir` (which [`prepare_out_dir`] prepared).
pub fn write_report(dir: &Path, input: &ReportInput<'_>) -> Result<ReportFiles, ReportError> {
    let mut files = Vec::new();
    let summary = summary::build(input);
    files.push(summary::write_json(dir, &summary)?);
    let (optimized, note) = overview::load_optimize(dir, &input.scenario.text);
    let ov = overview::build(&summary, optimized.as_ref(), note);
    files.push(markdown::write(dir, input, &summary, &ov)?);
    files.extend(parquet::write_results(dir, input)?);
    files.extend(parquet::write_legs(dir, input)?);
    files.push(parquet::write_timeseries(dir, input)?);
    files.push(parquet::write_aggregates(dir, input)?);
    files.extend(parquet::write_markets(dir, input)?);
    if !input.sweep.markets.is_empty() {
        // The crowd market passes, for `levsim report` to rebuild from.
        let path = dir.join("markets.json");
        let text = serde_json::to_string(&input.sweep.markets).unwrap_or_default();
        std::fs::write(&path, text).map_err(error::io(&path))?;
        files.push(path);
    }
    let mut charts = charts::render_all(dir, input)?;
    charts.extend(charts::render_representative(dir, input)?);
    charts.extend(dist::render(dir, input, &ov.chosen)?);
    charts.extend(heatmap::render_all(dir, input)?);
    files.extend(charts.iter().flat_map(|c| [c.svg.clone(), c.png.clone()]));
    let manifest = manifest::build(dir, input);
    let index_html = html::write(
        dir,
        input,
        &html::Parts {
            summary: &summary,
            overview: &ov,
            charts: &charts,
            manifest: &manifest,
            optimize_frontier: optimized
                .is_some()
                .then(|| dir.join("frontier.svg"))
                .filter(|p| p.exists()),
        },
    )?;
    files.push(index_html.clone());
    files.push(manifest::write(dir, &manifest)?);
    outdir::record_files(dir, &files)?;
    Ok(ReportFiles { index_html, files })
}
