//! Scenarios: TOML files → validated [`Scenario`] → [`RunPlan`] → results.
//!
//! A scenario names the market (a historical file and window), the venue
//! profile with overrides, the subject account and a list of policies, each
//! with an optional parameter grid (a list value is a sweep axis). Parsing
//! rejects unknown fields and names the field path of every error
//! (`policy[1].band: …`). [`execute`] runs the plan in parallel with rayon;
//! results come back in plan order and do not depend on the thread count.

mod aggregate;
pub mod bootstrap;
pub mod correlation;
mod error;
mod exec;
mod external;
mod file;
pub mod first_passage;
pub mod fit;
pub mod generators;
mod grid;
mod liquidity;
mod market;
pub mod multi;
pub mod optimize;
pub mod portfolio;
mod portfolio_exec;
mod portfolio_load;
mod seed;
mod shard;
pub mod shocks;
mod sweep;

pub use aggregate::{aggregate, median_ci, quantile, wilson, Aggregate, PointValues};
pub use error::ScenarioError;
pub use exec::{
    check_threads, execute, execute_shard, execute_shard_with, threads_asked, ContagionOutcome,
    MarketOutcome, PortfolioRun, RunResult, MAX_THREADS,
};
pub use external::{python_only, python_problems, ExternalPolicies, Hooks, Worker};
pub use file::{Fitted, FittedKind, MarketConfig, MarketKind, Scenario};
pub use grid::{path_seed, RunPlan, RunSpec};
pub use liquidity::{LiquidityConfig, LiquidityKind};
pub use market::{sha256_file, text_sha256, LoadedMarket};
pub use portfolio_load::{Assembly, LoadedPortfolio, PathGen};
pub use seed::run_seed;
pub use shard::{merge_shards, shard_scenario, write_shard, Shard};
pub use sweep::{execute_sweep, execute_sweep_with, representative_runs, RunRow, Sweep};
