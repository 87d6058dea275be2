//! Policies written in Python, run inside the engine loop: the GIL is
//! taken only at decision points; a factory makes one policy per run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use levsim_core::{Side, TimestampNs};
use levsim_policy::{
    Cadence, Decision as RustDecision, LeveragePolicy, Observation as RustObservation, ParamValue,
    PolicyKind, PortfolioDecision, PortfolioObservation as RustPortfolioObservation,
    PortfolioPolicy,
};
use levsim_scenario::{ExternalPolicies, RunSpec};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// What a policy wants (`levsim.Decision.hold()`, `.target_leverage(x)`,
/// `.top_up(x)`, `.withdraw(x)`, `.close()`, and for a portfolio
/// `.target_legs(...)`).
#[pyclass(module = "levsim", frozen, from_py_object)]
#[derive(Clone, Debug)]
pub struct Decision {
    pub(crate) inner: Choice,
}

#[derive(Clone, Debug)]
pub(crate) enum Choice {
    Hold,
    Target(f64),
    TopUp(f64),
    Withdraw(f64),
    Close,
    /// Signed leverage per leg, by position or by symbol (NaN: keep).
    Legs(Vec<f64>),
    LegsBySymbol(Vec<(String, f64)>),
}

fn finite(what: &str, x: f64) -> PyResult<f64> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(pyo3::exceptions::PyValueError::new_err(format!(
            "Decision.{what}: needs a finite number, got {x}"
        )))
    }
}

#[pymethods]
impl Decision {
    /// Do nothing.
    #[staticmethod]
    fn hold() -> Self {
        Self {
            inner: Choice::Hold,
        }
    }
    /// Trade to this effective leverage (notional / equity) on the
    /// account's side; 0 closes.
    #[staticmethod]
    fn target_leverage(x: f64) -> PyResult<Self> {
        let x = finite("target_leverage", x)?;
        if x < 0.0 {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "Decision.target_leverage: leverage is ≥ 0 (the side is the account's), got {x}"
            )));
        }
        Ok(Self {
            inner: Choice::Target(x),
        })
    }
    /// Move this much quote collateral from the reserve into the margin.
    #[staticmethod]
    fn top_up(x: f64) -> PyResult<Self> {
        Ok(Self {
            inner: Choice::TopUp(finite("top_up", x)?),
        })
    }
    /// Move this much quote collateral from the margin to the reserve.
    #[staticmethod]
    fn withdraw(x: f64) -> PyResult<Self> {
        Ok(Self {
            inner: Choice::Withdraw(finite("withdraw", x)?),
        })
    }
    /// Close the position (every leg of a portfolio).
    #[staticmethod]
    fn close() -> Self {
        Self {
            inner: Choice::Close,
        }
    }
    /// A portfolio: each leg to a signed leverage (negative: short), as a
    /// list in instrument order or a dict by symbol (legs a dict leaves
    /// out, and NaN entries, are kept as they are).
    #[staticmethod]
    fn target_legs(legs: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(d) = legs.cast::<PyDict>() {
            let mut v = Vec::new();
            for (k, x) in d.iter() {
                v.push((k.extract::<String>()?, x.extract::<f64>()?));
            }
            return Ok(Self {
                inner: Choice::LegsBySymbol(v),
            });
        }
        Ok(Self {
            inner: Choice::Legs(legs.extract::<Vec<f64>>()?),
        })
    }
    fn __repr__(&self) -> String {
        match &self.inner {
            Choice::Hold => "Decision.hold()".into(),
            Choice::Target(x) => format!("Decision.target_leverage({x})"),
            Choice::TopUp(x) => format!("Decision.top_up({x})"),
            Choice::Withdraw(x) => format!("Decision.withdraw({x})"),
            Choice::Close => "Decision.close()".into(),
            Choice::Legs(v) => format!("Decision.target_legs({v:?})"),
            Choice::LegsBySymbol(v) => format!("Decision.target_legs({v:?})"),
        }
    }
    fn __eq__(&self, other: &Self) -> bool {
        self.__repr__() == other.__repr__()
    }
}

/// Closes seen so far in a run, shared by its observations (append-only,
/// so an observation kept by the policy keeps its own prefix).
type Closes = Arc<RwLock<Vec<f64>>>;

fn grow(buf: &Closes, closes: &[f64]) {
    let have = buf.read().map_or(0, |b| b.len());
    if closes.len() > have {
        if let Ok(mut b) = buf.write() {
            let have = b.len();
            b.extend_from_slice(&closes[have..]);
        }
    } else if closes.len() < have {
        // A new run in the same policy object.
        if let Ok(mut b) = buf.write() {
            b.clear();
            b.extend_from_slice(closes);
        }
    }
}

/// What a single-instrument policy can know at a decision point: the
/// fields of levsim's Rust `Observation`, under the same names.
#[pyclass(module = "levsim", frozen)]
pub struct Observation {
    /// Time (ns UTC): the close of the bar just completed.
    #[pyo3(get)]
    ts: TimestampNs,
    /// Mark price.
    #[pyo3(get)]
    mark: f64,
    /// Bar length in years (365-day).
    #[pyo3(get)]
    bar_years: f64,
    /// "long" or "short".
    #[pyo3(get)]
    side: &'static str,
    /// Equity at mark (wallet + unrealized PnL).
    #[pyo3(get)]
    equity: f64,
    /// Signed position in base units (0 when flat).
    #[pyo3(get)]
    position_qty: f64,
    /// Average entry price (0 when flat).
    #[pyo3(get)]
    entry_price: f64,
    /// Notional at mark / equity (0 when flat).
    #[pyo3(get)]
    leverage: f64,
    /// Maintenance / equity (≥ 1: liquidatable; 0 when flat).
    #[pyo3(get)]
    margin_ratio: f64,
    /// Liquidation price of the open position, or None.
    #[pyo3(get)]
    liquidation_price: Option<f64>,
    /// Collateral outside the position, available for top-ups.
    #[pyo3(get)]
    reserve: f64,
    /// Decisions made but not landed yet.
    #[pyo3(get)]
    pending: u32,
    /// Liquidation orders so far in the run.
    #[pyo3(get)]
    liquidations: u32,
    closes: Closes,
    seen: usize,
}

#[pymethods]
impl Observation {
    /// Bar closes from the start of the run to this bar (a list; it is
    /// copied on each access, so take `closes[-n:]` once).
    #[getter]
    fn closes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let b = self.closes.read().map_err(|_| lock_err())?;
        PyList::new(py, &b[..self.seen.min(b.len())])
    }
    /// The last `n` closes (fewer at the start of the run).
    fn recent_closes<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyList>> {
        let b = self.closes.read().map_err(|_| lock_err())?;
        let end = self.seen.min(b.len());
        PyList::new(py, &b[end.saturating_sub(n)..end])
    }
    /// True when no position is open.
    fn is_flat(&self) -> bool {
        self.position_qty == 0.0
    }
    /// Relative distance from mark to the liquidation price, or None.
    fn distance_to_liquidation(&self) -> Option<f64> {
        self.liquidation_price
            .map(|lp| (self.mark - lp).abs() / self.mark)
    }
    fn __repr__(&self) -> String {
        format!(
            "Observation(ts={}, mark={}, equity={}, position_qty={}, leverage={}, margin_ratio={}, liquidation_price={:?}, reserve={})",
            levsim_core::time::to_iso(self.ts),
            self.mark,
            self.equity,
            self.position_qty,
            self.leverage,
            self.margin_ratio,
            self.liquidation_price,
            self.reserve
        )
    }
}

fn lock_err() -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err("levsim: the closes buffer was poisoned")
}

/// What a portfolio policy can know: the fields of levsim's Rust
/// `PortfolioObservation` (one entry per leg, in instrument order).
#[pyclass(module = "levsim", frozen)]
pub struct PortfolioObservation {
    /// Time (ns UTC).
    #[pyo3(get)]
    ts: TimestampNs,
    /// Instrument symbols, in leg order.
    #[pyo3(get)]
    symbols: Vec<String>,
    /// Bar length in years.
    #[pyo3(get)]
    bar_years: f64,
    /// Mark of each leg.
    #[pyo3(get)]
    marks: Vec<f64>,
    /// Signed position of each leg.
    #[pyo3(get)]
    qty: Vec<f64>,
    /// Signed notional of each leg at mark.
    #[pyo3(get)]
    notional: Vec<f64>,
    /// Average entry of each leg (0 when flat).
    #[pyo3(get)]
    entry: Vec<f64>,
    /// Delta of one unit of each leg (1 for a perpetual).
    #[pyo3(get)]
    delta: Vec<f64>,
    /// Gamma of one unit of each leg.
    #[pyo3(get)]
    gamma: Vec<f64>,
    /// Vega of one unit of each leg (per vol point).
    #[pyo3(get)]
    vega: Vec<f64>,
    /// Implied volatility of each option leg (0 for a perpetual).
    #[pyo3(get)]
    iv: Vec<f64>,
    /// Relative distance of each leg's mark to its bucket's liquidation (NaN: none).
    #[pyo3(get)]
    liquidation_distance: Vec<f64>,
    /// Account equity at mark.
    #[pyo3(get)]
    equity: f64,
    /// Maintenance requirement of the account.
    #[pyo3(get)]
    requirement: f64,
    /// Requirement / equity of the most loaded bucket.
    #[pyo3(get)]
    margin_ratio: f64,
    /// Collateral outside the account.
    #[pyo3(get)]
    reserve: f64,
    /// Liquidation orders so far.
    #[pyo3(get)]
    liquidations: u32,
    closes: Vec<Closes>,
    seen: usize,
}

#[pymethods]
impl PortfolioObservation {
    /// Closes of leg `leg` (an index or a symbol) up to this bar.
    fn closes<'py>(
        &self,
        py: Python<'py>,
        leg: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let k = match leg.extract::<usize>() {
            Ok(k) => k,
            Err(_) => {
                let s: String = leg.extract()?;
                self.symbols.iter().position(|x| *x == s).ok_or_else(|| {
                    pyo3::exceptions::PyKeyError::new_err(format!(
                        "no leg {s:?} (legs: {:?})",
                        self.symbols
                    ))
                })?
            }
        };
        let buf = self.closes.get(k).ok_or_else(|| {
            pyo3::exceptions::PyIndexError::new_err(format!("leg {k} of {}", self.symbols.len()))
        })?;
        let b = buf.read().map_err(|_| lock_err())?;
        PyList::new(py, &b[..self.seen.min(b.len())])
    }
    /// True when every leg is flat.
    fn is_flat(&self) -> bool {
        self.qty.iter().all(|q| *q == 0.0)
    }
    /// Number of legs.
    fn legs(&self) -> usize {
        self.symbols.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "PortfolioObservation(ts={}, symbols={:?}, marks={:?}, qty={:?}, equity={}, margin_ratio={})",
            levsim_core::time::to_iso(self.ts),
            self.symbols,
            self.marks,
            self.qty,
            self.equity,
            self.margin_ratio
        )
    }
}

/// The first failure of a sweep's Python policies, and the flag that stops
/// the sweep when one fails.
#[derive(Default)]
pub(crate) struct Failures {
    pub(crate) first: Mutex<Option<(String, PyErr)>>,
    pub(crate) cancel: AtomicBool,
    /// Python calls to `decide` (for the overhead figures).
    pub(crate) calls: std::sync::atomic::AtomicU64,
}

impl Failures {
    fn record(&self, what: String, err: PyErr) {
        if let Ok(mut f) = self.first.lock() {
            if f.is_none() {
                *f = Some((what, err));
            }
        }
        self.cancel.store(true, Ordering::Relaxed);
    }
    fn failed(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// When a Python policy is called.
#[derive(Clone, Copy, Debug)]
enum When {
    Bar,
    Flat,
    /// At the first decision point, then once at least this many ns have
    /// passed since the last call.
    Every(i64),
}

/// The factories of a sweep, by name.
pub(crate) struct PyPolicies {
    pub(crate) factories: Py<PyDict>,
    pub(crate) failures: Arc<Failures>,
}

fn param_to_py<'py>(py: Python<'py>, v: &ParamValue) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        ParamValue::Number(x) => x.into_pyobject(py)?.into_any(),
        ParamValue::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        ParamValue::Text(s) => s.into_pyobject(py)?.into_any(),
        ParamValue::Table(t) => {
            let d = PyDict::new(py);
            for (k, x) in t {
                d.set_item(k, x)?;
            }
            d.into_any()
        }
    })
}

/// A Python exception as one line: `Type: message`.
pub(crate) fn describe(py: Python<'_>, e: &PyErr) -> String {
    let ty = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let msg = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    if msg.is_empty() {
        ty
    } else {
        format!("{ty}: {msg}")
    }
}

impl PyPolicies {
    /// Calls the run's factory with its parameters; returns the policy
    /// object and when to call it.
    fn make(&self, spec: &RunSpec) -> Result<(Py<PyAny>, When), String> {
        let PolicyKind::Python { name, params } = &spec.kind else {
            return Err("not a python policy".into());
        };
        Python::attach(|py| {
            let factories = self.factories.bind(py);
            let factory = factories
                .get_item(name)
                .map_err(|e| describe(py, &e))?
                .ok_or_else(|| {
                    let known: Vec<String> =
                        factories.keys().iter().map(|k| k.to_string()).collect();
                    format!(
                        "policy[{}].name: no factory {name:?} in policies= (given: {known:?})",
                        spec.policy_index
                    )
                })?;
            let kwargs = PyDict::new(py);
            for (k, v) in params {
                kwargs
                    .set_item(k, param_to_py(py, v).map_err(|e| describe(py, &e))?)
                    .map_err(|e| describe(py, &e))?;
            }
            let obj = factory.call((), Some(&kwargs)).map_err(|e| {
                let text = format!("factory {name:?} raised {}", describe(py, &e));
                self.failures.record(text.clone(), e);
                text
            })?;
            if !obj.hasattr("decide").unwrap_or(false) {
                return Err(format!(
                    "factory {name:?} returned {}, which has no decide(obs) method",
                    obj.repr().map(|r| r.to_string()).unwrap_or_default()
                ));
            }
            let when = cadence(py, &obj).map_err(|m| format!("{name}.cadence: {m}"))?;
            Ok((obj.unbind(), when))
        })
    }
}

/// The policy's `cadence` (an attribute or a method): "every_bar"
/// (default), "when_flat", or a duration such as "1h" (at the first
/// decision point, then whenever that long has passed since the last call).
fn cadence(py: Python<'_>, obj: &Bound<'_, PyAny>) -> Result<When, String> {
    let Ok(c) = obj.getattr("cadence") else {
        return Ok(When::Bar);
    };
    let c = if c.is_callable() {
        c.call0().map_err(|e| describe(py, &e))?
    } else {
        c
    };
    if c.is_none() {
        return Ok(When::Bar);
    }
    let s: String = c.extract().map_err(|_| {
        "a string: \"every_bar\", \"when_flat\" or a duration such as \"1h\"".to_string()
    })?;
    match s.as_str() {
        "every_bar" => Ok(When::Bar),
        "when_flat" => Ok(When::Flat),
        d => match levsim_core::time::parse_duration(d) {
            Ok(ns) if ns > 0 => Ok(When::Every(ns)),
            _ => Err(format!(
                "{d:?} is not \"every_bar\", \"when_flat\" or a duration such as \"1h\""
            )),
        },
    }
}

impl ExternalPolicies for PyPolicies {
    fn leverage_policy(&self, spec: &RunSpec) -> Result<Box<dyn LeveragePolicy + Send>, String> {
        let (obj, when) = self.make(spec)?;
        Ok(Box::new(PyLeverage {
            core: Core::new(obj, when, spec, self.failures.clone()),
            closes: Arc::default(),
        }))
    }

    fn portfolio_policy(
        &self,
        spec: &RunSpec,
        symbols: &[String],
        side: Side,
    ) -> Result<Box<dyn PortfolioPolicy + Send>, String> {
        let (obj, when) = self.make(spec)?;
        Ok(Box::new(PyPortfolio {
            core: Core::new(obj, when, spec, self.failures.clone()),
            symbols: symbols.to_vec(),
            side,
            closes: symbols.iter().map(|_| Arc::default()).collect(),
        }))
    }
}

/// What both kinds of Python policy share: the object, its cadence, the
/// run it is in and the sweep's failure slot.
struct Core {
    obj: Py<PyAny>,
    when: When,
    run_id: String,
    failures: Arc<Failures>,
    last_call: Option<TimestampNs>,
}

impl Core {
    fn new(obj: Py<PyAny>, when: When, spec: &RunSpec, failures: Arc<Failures>) -> Self {
        Self {
            obj,
            when,
            run_id: spec.run_id.clone(),
            failures,
            last_call: None,
        }
    }

    /// Whether Python is asked at this decision point.
    fn due(&mut self, ts: TimestampNs) -> bool {
        if self.failures.failed() {
            return false;
        }
        if let When::Every(period) = self.when {
            if self.last_call.is_some_and(|t| ts - t < period) {
                return false;
            }
        }
        self.last_call = Some(ts);
        true
    }

    fn cadence(&self) -> Cadence {
        match self.when {
            When::Flat => Cadence::WhenFlat,
            _ => Cadence::EveryBar,
        }
    }

    /// Calls `decide(obs)` and returns the decision, or records the
    /// failure (the sweep stops; the run holds until it ends).
    /// Hands `obs` to Python and calls `decide` with it.
    fn ask<T: pyo3::PyClass + Into<pyo3::PyClassInitializer<T>>>(
        &self,
        py: Python<'_>,
        obs: T,
        ts: TimestampNs,
    ) -> Option<Choice> {
        match Bound::new(py, obs) {
            Ok(b) => self.call(py, b.into_any(), ts),
            Err(e) => {
                self.failures.record(self.run_id.clone(), e);
                None
            }
        }
    }

    fn call(&self, py: Python<'_>, obs: Bound<'_, PyAny>, ts: TimestampNs) -> Option<Choice> {
        self.failures
            .calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let at = || format!("{} at {}", self.run_id, levsim_core::time::to_iso(ts));
        match self.obj.bind(py).call_method1("decide", (obs,)) {
            Ok(d) => match d.extract::<Decision>() {
                Ok(d) => Some(d.inner),
                Err(_) => {
                    let r = d.repr().map(|r| r.to_string()).unwrap_or_default();
                    let msg = format!(
                        "decide(obs) returned {r}, not a levsim.Decision (Decision.hold(), .target_leverage(x), .top_up(x), .withdraw(x), .close())"
                    );
                    self.failures.record(
                        format!("{}: {msg}", at()),
                        pyo3::exceptions::PyTypeError::new_err(msg),
                    );
                    None
                }
            },
            Err(e) => {
                self.failures
                    .record(format!("{}: decide raised {}", at(), describe(py, &e)), e);
                None
            }
        }
    }

    fn reset(&mut self) {
        self.last_call = None;
        if self.failures.failed() {
            return;
        }
        Python::attach(|py| {
            let o = self.obj.bind(py);
            if o.hasattr("reset").unwrap_or(false) {
                if let Err(e) = o.call_method0("reset") {
                    self.failures.record(
                        format!("{}: reset raised {}", self.run_id, describe(py, &e)),
                        e,
                    );
                }
            }
        });
    }

    fn fail(&self, msg: String) {
        self.failures.record(
            format!("{}: {msg}", self.run_id),
            pyo3::exceptions::PyValueError::new_err(msg),
        );
    }
}

struct PyLeverage {
    core: Core,
    closes: Closes,
}

impl LeveragePolicy for PyLeverage {
    fn decide(&mut self, obs: &RustObservation<'_>) -> RustDecision {
        if !self.core.due(obs.ts) {
            return RustDecision::Hold;
        }
        grow(&self.closes, obs.closes);
        let choice = Python::attach(|py| {
            let o = Observation {
                ts: obs.ts,
                mark: obs.mark,
                bar_years: obs.bar_years,
                side: match obs.side {
                    Side::Long => "long",
                    Side::Short => "short",
                },
                equity: obs.equity,
                position_qty: obs.position_qty,
                entry_price: obs.entry_price,
                leverage: obs.leverage,
                margin_ratio: obs.margin_ratio,
                liquidation_price: obs.liquidation_price,
                reserve: obs.reserve,
                pending: obs.pending,
                liquidations: obs.liquidations,
                closes: self.closes.clone(),
                seen: obs.closes.len(),
            };
            self.core.ask(py, o, obs.ts)
        });
        match choice {
            None | Some(Choice::Hold) => RustDecision::Hold,
            Some(Choice::Target(x)) => RustDecision::TargetLeverage(x),
            Some(Choice::TopUp(x)) => RustDecision::TopUp(x),
            Some(Choice::Withdraw(x)) => RustDecision::Withdraw(x),
            Some(Choice::Close) => RustDecision::Close,
            Some(Choice::Legs(_) | Choice::LegsBySymbol(_)) => {
                self.core.fail(
                    "Decision.target_legs sizes the legs of a portfolio; this market has one instrument (use Decision.target_leverage)".into(),
                );
                RustDecision::Hold
            }
        }
    }

    fn cadence(&self) -> Cadence {
        self.core.cadence()
    }

    fn reset(&mut self) {
        if let Ok(mut b) = self.closes.write() {
            b.clear();
        }
        self.core.reset();
    }
}

struct PyPortfolio {
    core: Core,
    symbols: Vec<String>,
    side: Side,
    closes: Vec<Closes>,
}

impl PortfolioPolicy for PyPortfolio {
    fn decide(
        &mut self,
        obs: &RustPortfolioObservation<'_>,
        target: &mut [f64],
    ) -> PortfolioDecision {
        if !self.core.due(obs.ts) {
            return PortfolioDecision::Hold;
        }
        for (k, buf) in self.closes.iter().enumerate() {
            grow(buf, obs.closes(k));
        }
        let choice = Python::attach(|py| {
            let o = PortfolioObservation {
                ts: obs.ts,
                symbols: self.symbols.clone(),
                bar_years: obs.bar_years,
                marks: obs.marks.to_vec(),
                qty: obs.qty.to_vec(),
                notional: obs.notional.to_vec(),
                entry: obs.entry.to_vec(),
                delta: obs.delta.to_vec(),
                gamma: obs.gamma.to_vec(),
                vega: obs.vega.to_vec(),
                iv: obs.iv.to_vec(),
                liquidation_distance: obs.liquidation_distance.to_vec(),
                equity: obs.equity,
                requirement: obs.requirement,
                margin_ratio: obs.margin_ratio,
                reserve: obs.reserve,
                liquidations: obs.liquidations,
                closes: self.closes.clone(),
                seen: obs.seen,
            };
            self.core.ask(py, o, obs.ts)
        });
        let n = self.symbols.len();
        match choice {
            None | Some(Choice::Hold) => PortfolioDecision::Hold,
            Some(Choice::Close) => PortfolioDecision::Close,
            Some(Choice::TopUp(x)) => PortfolioDecision::TopUp(x),
            Some(Choice::Withdraw(_)) => {
                self.core
                    .fail("Decision.withdraw: a portfolio account does not withdraw (yet)".into());
                PortfolioDecision::Hold
            }
            Some(Choice::Target(x)) if n == 1 => {
                target[0] = match self.side {
                    Side::Long => x,
                    Side::Short => -x,
                };
                PortfolioDecision::Target
            }
            Some(Choice::Target(_)) => {
                self.core.fail(format!(
                    "Decision.target_leverage sizes one instrument; this account has {n} legs ({}): use Decision.target_legs",
                    self.symbols.join(", ")
                ));
                PortfolioDecision::Hold
            }
            Some(Choice::Legs(v)) => {
                if v.len() != n {
                    self.core.fail(format!(
                        "Decision.target_legs: {} leverages for {n} legs ({})",
                        v.len(),
                        self.symbols.join(", ")
                    ));
                    return PortfolioDecision::Hold;
                }
                target.copy_from_slice(&v);
                PortfolioDecision::Target
            }
            Some(Choice::LegsBySymbol(v)) => {
                target.fill(f64::NAN);
                for (s, x) in v {
                    match self.symbols.iter().position(|y| *y == s) {
                        Some(k) => target[k] = x,
                        None => {
                            self.core.fail(format!(
                                "Decision.target_legs: no leg {s:?} (legs: {})",
                                self.symbols.join(", ")
                            ));
                            return PortfolioDecision::Hold;
                        }
                    }
                }
                PortfolioDecision::Target
            }
        }
    }

    fn cadence(&self) -> Cadence {
        self.core.cadence()
    }

    fn reset(&mut self) {
        for b in &self.closes {
            if let Ok(mut b) = b.write() {
                b.clear();
            }
        }
        self.core.reset();
    }
}
