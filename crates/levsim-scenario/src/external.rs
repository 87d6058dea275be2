//! Policies levsim does not build itself, and what an embedding program
//! (levsim's Python package) hands the executor besides the scenario.
//!
//! A scenario names such a policy with `kind = "python"` and `name =
//! "NAME"` ([`levsim_policy::PolicyKind::Python`]); the program that runs
//! it implements [`ExternalPolicies`], which makes one policy per run from
//! the run's name and parameters.

use std::sync::atomic::{AtomicBool, Ordering};

use levsim_core::Side;
use levsim_policy::{LeveragePolicy, PortfolioPolicy};

use crate::RunSpec;

/// Makes the external policies of a scenario, one per run. Called from
/// the executor's worker threads.
pub trait ExternalPolicies: Sync {
    /// The single-instrument policy of run `spec` (its kind is
    /// `PolicyKind::Python`). An error names what went wrong; the run's
    /// `policy[i]` is prefixed.
    fn leverage_policy(&self, spec: &RunSpec) -> Result<Box<dyn LeveragePolicy + Send>, String>;

    /// The policy of run `spec` over a portfolio of `symbols` (instrument
    /// order), trading on `side` where it sizes one leg.
    fn portfolio_policy(
        &self,
        spec: &RunSpec,
        symbols: &[String],
        side: Side,
    ) -> Result<Box<dyn PortfolioPolicy + Send>, String>;
}

/// What the executor reports to, asks, and builds with besides the
/// scenario: progress after each run, a flag that stops the sweep before
/// its next run, and the external policies.
#[derive(Clone, Copy)]
pub struct Hooks<'a> {
    /// Called after each run (from worker threads).
    pub progress: &'a (dyn Fn() + Sync),
    /// When set, no further run starts and the sweep ends with
    /// [`crate::ScenarioError::Interrupted`].
    pub cancel: Option<&'a AtomicBool>,
    /// The policies of `kind = "python"`.
    pub external: Option<&'a dyn ExternalPolicies>,
    /// Runs each worker thread of the sweep's pool (it must call the
    /// function it is given, once): how Python keeps one thread state per
    /// worker for the whole sweep instead of one per decision.
    pub worker: Option<&'a Worker>,
}

/// A wrapper around a worker thread's life (see [`Hooks::worker`]).
pub type Worker = dyn Fn(&mut (dyn FnMut() + Send)) + Sync;

impl<'a> Hooks<'a> {
    /// Progress only (what the command line uses).
    pub fn progress(progress: &'a (dyn Fn() + Sync)) -> Self {
        Self {
            progress,
            cancel: None,
            external: None,
            worker: None,
        }
    }

    /// Err when the sweep was cancelled.
    pub(crate) fn check(&self) -> Result<(), crate::ScenarioError> {
        match self.cancel {
            Some(c) if c.load(Ordering::Relaxed) => Err(crate::ScenarioError::Interrupted),
            _ => Ok(()),
        }
    }

    /// The external policies, or the error a scenario naming one gets
    /// without them.
    pub(crate) fn external(
        &self,
        sc: &crate::Scenario,
        spec: &RunSpec,
    ) -> Result<&'a dyn ExternalPolicies, crate::ScenarioError> {
        self.external.ok_or_else(|| crate::ScenarioError::Invalid {
            file: sc.path.clone(),
            problems: vec![python_only(spec)],
        })
    }
}

/// The message for a `kind = "python"` policy run where no Python is.
pub fn python_only(spec: &RunSpec) -> String {
    let name = match &spec.kind {
        levsim_policy::PolicyKind::Python { name, .. } => name.as_str(),
        _ => "NAME",
    };
    format!(
        "policy[{}].kind: \"python\" policies run from Python: \
         levsim.run(scenario, policies={{\"{name}\": factory}}) (pip install ./python; see the README)",
        spec.policy_index
    )
}

/// The problems of a plan whose python policies cannot be run here (none
/// when every point is built in).
pub fn python_problems(plan: &crate::RunPlan) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    plan.points
        .iter()
        .filter(|p| matches!(p.kind, levsim_policy::PolicyKind::Python { .. }))
        .filter(|p| seen.insert(p.policy_index))
        .map(python_only)
        .collect()
}
