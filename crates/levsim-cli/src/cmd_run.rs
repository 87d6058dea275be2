//! `levsim run`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use levsim_report::{
    check_out_dir, prepare_out_dir, write_report, write_results_to, ReportError, ReportFiles,
    ReportInput, Timings,
};
use levsim_scenario::{
    execute_shard, execute_sweep, merge_shards, shard_scenario, write_shard, LoadedMarket,
    Scenario, Shard, Sweep,
};

use crate::Failure;

pub(crate) fn run(
    path: &Path,
    out: Option<PathBuf>,
    threads: usize,
    quiet: bool,
    shard: Option<&str>,
    keep_rows: bool,
) -> Result<(), Failure> {
    let shard = shard
        .map(|s| Shard::parse(s).map_err(|e| Failure::input(anyhow::anyhow!("--shard: {e}"))))
        .transpose()?;
    levsim_scenario::check_threads(threads).map_err(|m| Failure::input(anyhow::anyhow!(m)))?;
    let t0 = Instant::now();
    let started_at = levsim_core::time::to_iso(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64),
    );
    let sc = Scenario::load(path).map_err(Failure::input)?;
    // Before the data loads: a policy written in Python runs from Python.
    let python = levsim_scenario::python_problems(&sc.plan);
    if !python.is_empty() {
        return Err(Failure::input(levsim_scenario::ScenarioError::Invalid {
            file: path.to_path_buf(),
            problems: python,
        }));
    }
    let market = LoadedMarket::load(&sc).map_err(Failure::input)?;
    for n in &market.notes {
        eprintln!("note: {n}");
    }
    let out = out.unwrap_or_else(|| PathBuf::from("reports").join(&sc.name));
    if let Some(shard) = shard {
        let results =
            execute_shard(&sc, &market, Some(shard), threads, &|| {}).map_err(Failure::input)?;
        let json = write_shard(&out, shard, &sc, &results).map_err(Failure::other)?;
        let pq = out.join(format!("{}.parquet", shard.stem()));
        let rows: Vec<levsim_scenario::RunRow> = results
            .iter()
            .map(|r| levsim_scenario::RunRow {
                index: r.spec.index,
                metrics: r.output.metrics.clone(),
                legs: Vec::new(),
            })
            .collect();
        write_results_to(&pq, &sc.plan, &rows).map_err(Failure::other)?;
        outln!(
            "{}: shard {}/{}: {} runs → {} and {}",
            sc.name,
            shard.index,
            shard.count,
            results.len(),
            json.display(),
            pq.display()
        );
        return Ok(());
    }
    // Checked before the sweep (no long run ends in a refusal), written
    // after it (a failed run leaves no empty report directory behind).
    check_out_dir(&out).map_err(out_failure)?;
    let load_s = t0.elapsed().as_secs_f64();
    let n = sc.plan.len();
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(n as u64);
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} runs ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b.set_message(format!("{} × {} bars", sc.name, market.tape.len()));
        b
    };
    let t1 = Instant::now();
    let sweep =
        execute_sweep(&sc, &market, threads, &|| bar.inc(1), keep_rows).map_err(Failure::input)?;
    bar.finish_and_clear();
    let simulate_s = t1.elapsed().as_secs_f64();
    let timings = Timings {
        load_s,
        simulate_s,
        threads: levsim_scenario::threads_asked(threads),
        started_at,
    };
    let command = command_line();
    let files = write_into(
        &out,
        &ReportInput {
            scenario: &sc,
            market: &market,
            sweep: &sweep,
            timings: &timings,
            command: &command,
            origin: None,
        },
    )?;
    outln!(
        "{}: {} runs over {} bars in {:.2}s",
        sc.name,
        n,
        market.tape.len(),
        simulate_s
    );
    if sc.paths > 1 {
        for a in &sweep.aggregates {
            outln!(
                "  {:<40} P(liq) {:.4} [{:.4}, {:.4}]  return p05 {:>8.2}%  p50 {:>8.2}%",
                a.point_id,
                a.p_liquidation,
                a.p_liquidation_ci[0],
                a.p_liquidation_ci[1],
                a.return_pct_p05,
                a.return_pct_p50
            );
        }
    }
    for r in sweep.kept.iter().filter(|_| sc.paths == 1) {
        let m = &r.output.metrics;
        outln!(
            "  {:<40} return {:>9.2}%  liquidations {:>3}{}",
            r.spec.run_id,
            m.return_pct,
            m.liquidations,
            m.first_liquidation_ts
                .map(|t| format!("  first at {}", levsim_core::time::to_iso(t)))
                .unwrap_or_default()
        );
    }
    outln!("report: {}", files.index_html.display());
    Ok(())
}

/// An output-directory error: exit 2 when the directory is one levsim may
/// not write to (foreign, or refused by the OS), 1 otherwise.
pub(crate) fn out_failure(e: ReportError) -> Failure {
    match e {
        ReportError::ForeignDirectory(_) | ReportError::ForeignFile(_) | ReportError::Io { .. } => {
            Failure::input(e)
        }
        other => Failure::other(other),
    }
}

/// Prepares `out` (resolved: `nothere/..` is the directory it names) and
/// writes the report there. A directory this call created is removed again
/// when the report cannot be written, so no empty report is left behind.
fn write_into(out: &Path, input: &ReportInput<'_>) -> Result<ReportFiles, Failure> {
    let levsim_report::OutDir { path: dir, created } = prepare_out_dir(out).map_err(out_failure)?;
    let written = write_report(&dir, input).map_err(Failure::other);
    if written.is_err() && created {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mut files = written?;
    // Show the report where the user asked for it, unless that path
    // needed resolving.
    if !out
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        if let Ok(rel) = files.index_html.strip_prefix(&dir) {
            files.index_html = out.join(rel);
        }
    }
    Ok(files)
}

/// The command line as a user would type it again: the program as
/// `levsim`, not the path it was started from.
fn command_line() -> String {
    std::iter::once("levsim".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `levsim report DIR`.
pub(crate) fn report(dir: &Path) -> Result<(), Failure> {
    let files = levsim_report::rebuild_report(dir).map_err(|e| match e {
        ReportError::Io { .. } | ReportError::Chart { .. } => Failure::other(e),
        other => Failure::input(other),
    })?;
    outln!("report: {}", files.index_html.display());
    Ok(())
}

pub(crate) fn merge(dirs: &[PathBuf], out: &Path) -> Result<(), Failure> {
    let path = shard_scenario(dirs).map_err(Failure::input)?;
    let sc = Scenario::load(&path).map_err(Failure::input)?;
    let market = LoadedMarket::load(&sc).map_err(Failure::input)?;
    let results = merge_shards(dirs, &sc).map_err(Failure::input)?;
    let n = results.len();
    let start = market.tape.ts.first().copied().unwrap_or(0);
    let sweep = Sweep::from_results(&sc, results, start, true)
        .with_representatives(&sc, &market, 0)
        .map_err(Failure::input)?;
    let command = command_line();
    let files = write_into(
        out,
        &ReportInput {
            scenario: &sc,
            market: &market,
            sweep: &sweep,
            timings: &Timings::default(),
            command: &command,
            origin: None,
        },
    )?;
    outln!(
        "{}: merged {} runs from {} dir(s); report: {}",
        sc.name,
        n,
        dirs.len(),
        files.index_html.display()
    );
    Ok(())
}
