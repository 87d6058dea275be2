//! `levsim._levsim`: the extension module of levsim's Python package.
//!
//! The Python package (`python/levsim`) wraps it: `levsim.run` loads and
//! runs a scenario here (Python policies inside the engine loop, the GIL
//! taken only at their decision points), and the result tables cross as
//! the bytes of the Parquet files the report writes, which polars reads.

mod policy;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use levsim_report::{ReportInput, Timings};
use levsim_scenario::{Hooks, LoadedMarket, Scenario, ScenarioError as ScenarioErr, Sweep};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

create_exception!(levsim, LevsimError, PyException, "Any levsim error.");
create_exception!(
    levsim,
    ScenarioError,
    LevsimError,
    "A scenario, its data or its arguments are invalid (the command line's exit code 2): the message names the field path."
);
create_exception!(
    levsim,
    PolicyError,
    LevsimError,
    "A Python policy (or its factory) raised or returned something that is not a levsim.Decision."
);
create_exception!(
    levsim,
    InterruptedError,
    LevsimError,
    "The sweep was stopped (Ctrl-C)."
);

fn scenario_err(e: ScenarioErr) -> PyErr {
    match e {
        ScenarioErr::Interrupted => InterruptedError::new_err(e.to_string()),
        ScenarioErr::Policy { .. } => PolicyError::new_err(e.to_string()),
        other => ScenarioError::new_err(other.to_string()),
    }
}

/// A finished sweep: the scenario, its market and its results, from which
/// the tables and the report are made.
#[pyclass(module = "levsim", frozen)]
struct RunOutcome {
    scenario: Scenario,
    market: LoadedMarket,
    sweep: Sweep,
    timings: Timings,
    command: String,
    /// Python `decide` calls made by the sweep.
    #[pyo3(get)]
    python_calls: u64,
}

impl RunOutcome {
    fn input(&self) -> ReportInput<'_> {
        ReportInput {
            scenario: &self.scenario,
            market: &self.market,
            sweep: &self.sweep,
            timings: &self.timings,
            command: &self.command,
            origin: None,
        }
    }
}

#[pymethods]
impl RunOutcome {
    /// A result table as the bytes of its Parquet file: "runs"
    /// (results.parquet), "aggregates", "timeseries", "legs", "markets";
    /// None when the run has no such table.
    fn table<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let input = self.input();
        let df = match name {
            "runs" => self
                .sweep
                .rows
                .as_ref()
                .map(|rows| levsim_report::results_frame(&self.scenario.plan, rows)),
            "aggregates" => Some(levsim_report::aggregates_frame(&input)),
            "timeseries" => Some(levsim_report::timeseries_frame(&input)),
            "legs" => levsim_report::legs_frame(&input).transpose(),
            "markets" => levsim_report::markets_frame(&input).transpose(),
            other => {
                return Err(pyo3::exceptions::PyKeyError::new_err(format!(
                    "no table {other:?} (runs, aggregates, timeseries, legs, markets)"
                )))
            }
        };
        let Some(df) = df else { return Ok(None) };
        let bytes = df
            .and_then(|mut d| levsim_report::frames::to_parquet_bytes(&mut d))
            .map_err(|e| LevsimError::new_err(format!("table {name}: {e}")))?;
        Ok(Some(PyBytes::new(py, &bytes)))
    }

    /// Writes the report (index.html, summary.json, Parquet files,
    /// charts) into `dir`, under the command line's rules for output
    /// directories (never into a directory levsim did not make). Returns
    /// the path of index.html.
    fn write_report(&self, py: Python<'_>, dir: PathBuf) -> PyResult<String> {
        py.detach(|| {
            let out = levsim_report::prepare_out_dir(&dir)
                .map_err(|e| ScenarioError::new_err(e.to_string()))?;
            let written = levsim_report::write_report(&out.path, &self.input());
            if written.is_err() && out.created {
                let _ = std::fs::remove_dir_all(&out.path);
            }
            let files = written.map_err(|e| LevsimError::new_err(e.to_string()))?;
            Ok(files.index_html.display().to_string())
        })
    }

    /// Seconds the sweep took.
    #[getter]
    fn simulate_s(&self) -> f64 {
        self.timings.simulate_s
    }

    /// The scenario's name.
    #[getter]
    fn name(&self) -> String {
        self.scenario.name.clone()
    }

    /// Number of runs.
    #[getter]
    fn runs(&self) -> usize {
        self.sweep.runs
    }

    /// Notes of the data loader (gaps filled, wicks dropped, ...).
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.market.notes.clone()
    }
}

/// Loads a scenario from its text; `path` names it in messages and is
/// where relative data paths are looked up from.
fn load(text: &str, path: &Path) -> PyResult<(Scenario, LoadedMarket)> {
    let sc = Scenario::parse(text, path).map_err(scenario_err)?;
    let market = LoadedMarket::load(&sc).map_err(scenario_err)?;
    Ok((sc, market))
}

/// Runs a scenario. `text` is its TOML, `path` its file (or a name for
/// messages); `policies` maps `kind = "python"` names to factories;
/// `progress(done, total)` is called from this thread about ten times a
/// second; Ctrl-C stops the sweep (InterruptedError).
#[pyfunction]
#[pyo3(signature = (text, path, threads=0, policies=None, progress=None, command=String::new()))]
fn run(
    py: Python<'_>,
    text: &str,
    path: PathBuf,
    threads: usize,
    policies: Option<Bound<'_, PyDict>>,
    progress: Option<Bound<'_, PyAny>>,
    command: String,
) -> PyResult<RunOutcome> {
    let t0 = Instant::now();
    let started_at = levsim_core::time::to_iso(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64),
    );
    levsim_scenario::check_threads(threads).map_err(ScenarioError::new_err)?;
    let (sc, market) = py.detach(|| load(text, &path))?;
    // Every python policy has its factory, before anything runs.
    let given: Vec<String> = policies
        .as_ref()
        .map(|d| d.keys().iter().map(|k| k.to_string()).collect())
        .unwrap_or_default();
    let mut missing = Vec::new();
    for p in &sc.plan.points {
        if let levsim_policy::PolicyKind::Python { name, .. } = &p.kind {
            let line = format!(
                "policy[{}].name: {name:?} has no factory in policies= (given: {given:?})",
                p.policy_index
            );
            if !given.contains(name) && !missing.contains(&line) {
                missing.push(line);
            }
        }
    }
    if !missing.is_empty() {
        return Err(ScenarioError::new_err(format!(
            "{}: invalid scenario:\n  - {}",
            path.display(),
            missing.join("\n  - ")
        )));
    }
    let failures = Arc::new(policy::Failures::default());
    let external = policies.map(|d| policy::PyPolicies {
        factories: d.unbind(),
        failures: failures.clone(),
    });
    let load_s = t0.elapsed().as_secs_f64();
    let total = sc.plan.len();
    let done = AtomicUsize::new(0);
    let tick = || {
        done.fetch_add(1, Ordering::Relaxed);
    };
    // Each worker thread attaches to Python once for the whole sweep (a
    // thread state of its own, the GIL released at once), so that a
    // decision only takes the GIL instead of making and dropping a thread
    // state (8.8 µs a decision on one thread before; benches/README.md).
    let attached = |run: &mut (dyn FnMut() + Send)| {
        Python::attach(|py| py.detach(run));
    };
    let hooks = Hooks {
        progress: &tick,
        cancel: Some(&failures.cancel),
        external: external
            .as_ref()
            .map(|e| e as &dyn levsim_scenario::ExternalPolicies),
        worker: external
            .as_ref()
            .map(|_| &attached as &levsim_scenario::Worker),
    };
    let mut interrupted = None;
    let result = std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        // Sync, for the closure that waits without the GIL.
        let rx = std::sync::Mutex::new(rx);
        let (sc, market, hooks) = (&sc, &market, &hooks);
        let worker = s.spawn(move || {
            let t1 = Instant::now();
            let r = levsim_scenario::execute_sweep_with(sc, market, threads, true, hooks);
            let _ = tx.send(t1.elapsed().as_secs_f64());
            r
        });
        // This thread keeps the GIL only to report progress and to see
        // Ctrl-C; Python policies take it from the worker threads. It
        // wakes when the sweep ends (the sweep's own time is measured in
        // its thread).
        let seconds = loop {
            let got = py.detach(|| match rx.lock() {
                Ok(r) => r.recv_timeout(Duration::from_millis(100)),
                Err(_) => Err(std::sync::mpsc::RecvTimeoutError::Disconnected),
            });
            match got {
                Ok(s) => break s,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break f64::NAN,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
            if let Err(e) = py.check_signals() {
                failures.cancel.store(true, Ordering::Relaxed);
                interrupted.get_or_insert(e);
            }
            if let Some(cb) = &progress {
                if let Err(e) = cb.call1((done.load(Ordering::Relaxed), total)) {
                    failures.cancel.store(true, Ordering::Relaxed);
                    interrupted.get_or_insert(e);
                }
            }
        };
        py.detach(|| worker.join()).map(|r| (r, seconds))
    });
    let (result, simulate_s) =
        result.map_err(|_| LevsimError::new_err("levsim: the sweep panicked"))?;
    if let Some(cb) = &progress {
        let _ = cb.call1((done.load(Ordering::Relaxed), total));
    }
    if let Some(e) = interrupted {
        return Err(e);
    }
    // A policy's own failure first (it cancelled the sweep), with its
    // Python exception as the cause.
    if let Some((what, cause)) = failures.first.lock().ok().and_then(|mut f| f.take()) {
        let err = PolicyError::new_err(what);
        err.set_cause(py, Some(cause));
        return Err(err);
    }
    let sweep = result.map_err(scenario_err)?;
    Ok(RunOutcome {
        timings: Timings {
            load_s,
            simulate_s,
            threads: levsim_scenario::threads_asked(threads),
            started_at,
        },
        scenario: sc,
        market,
        sweep,
        command,
        python_calls: failures.calls.load(Ordering::Relaxed),
    })
}

/// Runs a levsim command line in-process (without the program name) and
/// returns (exit code, standard output, error message or None): the
/// calculator, `venues` and `optimize` give Python exactly what the
/// command line prints.
#[pyfunction]
fn cli(py: Python<'_>, args: Vec<String>) -> (u8, String, Option<String>) {
    let c = py.detach(|| levsim_cli::capture(args));
    (c.code, c.stdout, c.error)
}

/// Reads a market data file as `levsim data inspect` does; returns
/// (Parquet bytes of the bars, the loader's report as JSON text).
#[pyfunction]
#[pyo3(signature = (path, format=None))]
fn load_bars<'py>(
    py: Python<'py>,
    path: PathBuf,
    format: Option<String>,
) -> PyResult<(Bound<'py, PyBytes>, String)> {
    let (bytes, report) = py.detach(|| -> PyResult<(Vec<u8>, String)> {
        let format = format
            .as_deref()
            .map(levsim_data::Format::from_name)
            .transpose()
            .map_err(|m| ScenarioError::new_err(format!("format: {m}")))?;
        let (tape, report) = levsim_data::read_bars_lenient(&path, format)
            .map_err(|e| ScenarioError::new_err(e.to_string()))?;
        let bytes = levsim_report::frames::bars_frame(&tape)
            .and_then(|mut d| levsim_report::frames::to_parquet_bytes(&mut d))
            .map_err(|e| LevsimError::new_err(format!("{}: {e}", path.display())))?;
        let report =
            serde_json::to_string(&report).map_err(|e| LevsimError::new_err(e.to_string()))?;
        Ok((bytes, report))
    })?;
    Ok((PyBytes::new(py, &bytes), report))
}

/// TOML text of a scenario given as JSON (a dict from Python).
#[pyfunction]
fn json_to_toml(json: &str) -> PyResult<String> {
    // Straight from the JSON text, so the tables keep the dict's order
    // (run ids list parameters in file order).
    let t: toml::Value = serde_json::from_str(json)
        .map_err(|e| ScenarioError::new_err(format!("scenario dict: {e}")))?;
    toml::to_string(&t).map_err(|e| ScenarioError::new_err(format!("scenario dict: {e}")))
}

#[pymodule]
fn _levsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    m.add_function(wrap_pyfunction!(load_bars, m)?)?;
    m.add_function(wrap_pyfunction!(json_to_toml, m)?)?;
    m.add_class::<RunOutcome>()?;
    m.add_class::<policy::Decision>()?;
    m.add_class::<policy::Observation>()?;
    m.add_class::<policy::PortfolioObservation>()?;
    m.add("LevsimError", py.get_type::<LevsimError>())?;
    m.add("ScenarioError", py.get_type::<ScenarioError>())?;
    m.add("PolicyError", py.get_type::<PolicyError>())?;
    m.add("InterruptedError", py.get_type::<InterruptedError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
