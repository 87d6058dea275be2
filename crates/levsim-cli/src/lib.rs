//! `levsim`: run leverage-policy scenarios on market data and write reports.
//!
//! Exit codes: 0 success; 2 bad input (scenario, data, arguments, an output
//! directory levsim may not write to); 1 any other failure.
//!
//! The command line is also a library: [`main_with`] is the binary, and
//! [`capture`] runs a command in-process and returns what it printed (how
//! levsim's Python package calls the calculator, `venues` and `optimize`,
//! so that Python and the command line give the same output).

#[macro_use]
mod out;

mod cmd_adl;
mod cmd_data;
mod cmd_margin;
mod cmd_optimize;
mod cmd_options;
mod cmd_run;
mod cmd_venues;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Historical backtesting and stress simulation of leverage policies on
/// leveraged crypto derivatives.
#[derive(Debug, Parser)]
#[command(name = "levsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario and write its report (default: reports/NAME, NAME from the scenario).
    Run {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Report directory; default reports/NAME (the scenario name). An existing
        /// directory is only replaced if levsim created it.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (default: all cores). Results do not depend on it.
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Run only shard I of N (runs with index % N == I) and write
        /// DIR/shard-IIIII-of-NNNNN.{json,parquet} instead of a report;
        /// `levsim merge` builds the report from all shards.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Do not write results.parquet (one row per run): the sweep then
        /// keeps only seven numbers per run for the aggregates, and the runs
        /// of path 0 whole.
        #[arg(long)]
        no_results: bool,
    },
    /// Merge shard directories into the report a single run builds; fails
    /// (exit 2) if a shard is missing, doubled or from another scenario.
    Merge {
        /// Directories holding shard-*-of-*.json files.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Report directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Rebuild a report directory's index.html, summary.md, charts and
    /// manifest from its own results.parquet, timeseries.parquet,
    /// summary.json and markets.json (and optimize.json, when `levsim
    /// optimize` wrote one for the same scenario), without simulating again;
    /// the market data must still have the hashes manifest.json recorded.
    Report {
        /// A directory `levsim run` (or `levsim merge`) wrote.
        dir: PathBuf,
    },
    /// Search each policy's parameters for the best objective within a risk
    /// constraint, over the scenario's paths (common random numbers).
    /// Ranges (`leverage = { min = 1.0, max = 50.0 }`) are searched
    /// (bisection on the constraint, then golden section on the objective;
    /// several ranges: grid refinement); lists are evaluated as a grid.
    ///
    /// JSON (--json): one object per policy with policy, best_params,
    /// objective, p_liquidation, p_liquidation_ci, evaluated.
    Optimize {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// return_on_capital | log_growth | capital_efficiency.
        #[arg(long, default_value = "capital_efficiency")]
        objective: String,
        /// e.g. "p_liquidation <= 0.01" or "expected_shortfall_5pct <= 30".
        #[arg(long, default_value = "p_liquidation <= 0.01")]
        constraint: String,
        /// Evaluate over this horizon instead of the scenario's (e.g. "1d"):
        /// a generated market's `horizon`, or a historical window from its
        /// `start`. The recommendations then belong to that variant, not to
        /// the scenario's own report (default --out: reports/NAME-horizon-D).
        #[arg(long)]
        horizon: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Where to write optimize.json (every candidate: the frontier),
        /// optimize.md and frontier.svg/png (default: reports/NAME, the
        /// scenario's report directory, whose next report then shows the
        /// recommendations).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (default: all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Inspect or convert market-data files.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// What a venue would do to a position or account (margins, liquidation
    /// and bankruptcy prices, venue-specific values).
    ///
    /// Portfolio margin: `--venue span --account FILE` (positions with
    /// `risk_array`, 16 values, gains positive) prints scanning_risk;
    /// `--venue greek-pm --account FILE` ({"spot", "positions": [{"size",
    /// "delta", "gamma", "vega"}], optional "moves", "vol_moves"}) prints
    /// the Greek scenario margin of SPEC §8.3.
    ///
    /// Options: `--venue deribit --account FILE --chain CHAIN.csv` with
    /// {"positions": [{"instrument": "BTC-26JUN20-10000-C", "size": -2}]}
    /// (Deribit names, signed size in options) prices each option at the
    /// chain's mark_iv and underlying_price at the chain's timestamp and
    /// prints its mark (coin per option), delta, gamma, vega, theta, and the
    /// account's margin under standard, greek and portfolio rules (JSON:
    /// positions[], margin.{standard,greek,portfolio}.{initial,maintenance},
    /// in coin).
    ///
    /// JSON keys (--json): venue, symbol, contract, mode, equity,
    /// initial_margin, maintenance_margin, margin_ratio, liquidatable,
    /// liquidation_price, bankruptcy_price (of the first position),
    /// backstop_eligible (Hyperliquid), health_factor, max_repay,
    /// collateral_seized (Aave), and positions[] with instrument, side, size,
    /// entry, mark, notional, unrealized_pnl, initial_margin,
    /// maintenance_margin, margin, liquidation_price, bankruptcy_price and
    /// fillable_price (dYdX). Amounts are in the settlement currency (quote
    /// for linear, coin for inverse contracts).
    Margin {
        /// Venue profile (see `levsim venues`).
        #[arg(long, required_unless_present = "profile", conflicts_with = "profile")]
        venue: Option<String>,
        /// A venue profile file of one's own (the presets' schema; `levsim
        /// venues export NAME` writes one to start from).
        #[arg(long)]
        profile: Option<PathBuf>,
        /// Margin table of the profile (default: its BTC table).
        #[arg(long)]
        symbol: Option<String>,
        /// long or short.
        #[arg(long)]
        side: Option<String>,
        /// Size: base units (linear) or contracts (inverse).
        #[arg(long, allow_negative_numbers = true)]
        qty: Option<f64>,
        /// Entry price.
        #[arg(long, allow_negative_numbers = true)]
        entry: Option<f64>,
        /// Mark price (default: the entry).
        #[arg(long, allow_negative_numbers = true)]
        mark: Option<f64>,
        /// Isolated margin of the position, or the cross account's collateral.
        #[arg(long, allow_negative_numbers = true)]
        wallet: Option<f64>,
        /// Leverage (isolated margin = entry notional / leverage).
        #[arg(long, allow_negative_numbers = true)]
        leverage: Option<f64>,
        /// isolated or cross.
        #[arg(long, default_value = "isolated")]
        mode: String,
        /// An account JSON file instead of the single-position flags:
        /// {"collateral", "mode", "positions": [{"instrument", "side", "size",
        /// "entry", "mark", "margin", "leverage"}]}.
        #[arg(long)]
        account: Option<PathBuf>,
        /// Oracle price used as every position's mark (dYdX, Drift).
        #[arg(long, allow_negative_numbers = true)]
        oracle: Option<f64>,
        /// Override a profile parameter by its name in `levsim venues show
        /// NAME` (repeatable): `--set imf=0.2`, `--set
        /// liquidation_threshold=0.8`, `--set dydx.spread_to_mmr=0.2`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// dYdX: a liquidation fill price; prints insurance_fund_delta for
        /// closing each position there.
        #[arg(long, allow_negative_numbers = true)]
        fill_price: Option<f64>,
        /// Drift: the quote asset's price for base_to_cover (default 1).
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
        quote_price: f64,
        /// Deribit options: an option chain (CSV, Deribit's ticker
        /// columns) pricing the account's options.
        #[arg(long)]
        chain: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Auto-deleveraging: allocate a liquidated position against the
    /// opposite side's queue, ranked as the venue ranks it.
    ///
    /// FILE is a JSON list of {"account", "qty", "score"}; without a score,
    /// one is computed from the position ("entry" and "wallet" or
    /// "leverage", optional "mark"), or for BitMEX from "pnl_pct" and
    /// "effective_leverage". JSON (--json): venue, ranking, side, qty,
    /// price, queue [{account, qty, score}], fills [{account, qty, price}],
    /// unfilled.
    Adl {
        /// Venue profile (its ADL ranking is used).
        #[arg(long)]
        venue: String,
        /// JSON file of the opposite side's positions.
        #[arg(long)]
        positions: PathBuf,
        /// Side of the liquidated position (long or short).
        #[arg(long)]
        side: String,
        /// Size to deleverage (base units).
        #[arg(long, allow_negative_numbers = true)]
        qty: f64,
        /// Price of the fills (the liquidated order's bankruptcy price).
        #[arg(long, allow_negative_numbers = true)]
        price: f64,
        /// Mark price for computed scores (default: --price).
        #[arg(long, allow_negative_numbers = true)]
        mark: Option<f64>,
        /// Margin table for computed scores' maintenance (default: the
        /// profile's BTC table).
        #[arg(long)]
        symbol: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the venue profiles shipped with levsim, or show one.
    Venues {
        #[command(subcommand)]
        command: Option<VenuesCommand>,
    },
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Print rows, time range, interval, gaps and every row problem of a
    /// file; exit 2 when a row would make `levsim run` refuse it.
    ///
    /// Bars: Binance klines, FTX, canonical Parquet, bars from trades.
    /// Funding: Binance funding CSV. Trades: Tardis trades CSV, trades
    /// Parquet. Order books: Bybit JSONL, Binance websocket recordings
    /// (hftbacktest), Nautilus depth CSV, Tardis incremental_book_L2 and
    /// book_snapshot_25 CSV, Binance bookDepth. Plain or gzip.
    Inspect {
        /// A bar, funding, trade or order-book file (plain or .gz).
        file: PathBuf,
        /// Bar or funding format (binance-klines, ftx, binance-funding,
        /// parquet, trades); detected when omitted, as book formats always are.
        #[arg(long)]
        format: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Convert a bar file to canonical Parquet (ts_ns, open, high, low, close, volume).
    Import {
        /// Input bar file.
        file: PathBuf,
        /// Output .parquet file (refused if it exists, unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Format; detected when omitted.
        #[arg(long)]
        format: Option<String>,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
enum VenuesCommand {
    /// Print a profile's parameters (its TOML preset).
    Show {
        /// Profile name.
        name: String,
    },
    /// Print a preset as a profile file of one's own (redirect it to a
    /// file, edit it, and name it in a scenario, `profile =
    /// "venues/my-venue.toml"`, or in `levsim margin --profile FILE`).
    Export {
        /// Preset name.
        name: String,
    },
}

/// An error with its exit code.
pub(crate) struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    /// Bad input: exit code 2.
    pub(crate) fn input(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: 2,
            error: error.into(),
        }
    }
    /// Anything else: exit code 1.
    pub(crate) fn other(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: 1,
            error: error.into(),
        }
    }
}

/// Runs the command line `args` (the program name first) and returns its
/// exit code: what the `levsim` binary does.
pub fn main_with<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", message(&f.error));
            ExitCode::from(f.code)
        }
    }
}

/// What a command run by [`capture`] printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// Exit code (0 success, 2 bad input, 1 other failure).
    pub code: u8,
    /// Its standard output.
    pub stdout: String,
    /// The error message (what the binary prints after `error: `), if it failed.
    pub error: Option<String>,
}

/// Runs the command line `args` (without the program name) in-process,
/// collecting its standard output instead of printing it. Argument errors
/// come back as exit code 2 with clap's message.
pub fn capture<I, T>(args: I) -> Captured
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let argv =
        std::iter::once(std::ffi::OsString::from("levsim")).chain(args.into_iter().map(Into::into));
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let text = e.render().to_string();
            return Captured {
                code,
                stdout: if code == 0 {
                    text.clone()
                } else {
                    String::new()
                },
                error: (code != 0).then(|| text.trim_end().to_string()),
            };
        }
    };
    let (result, stdout) = out::capturing(|| dispatch(cli));
    match result {
        Ok(()) => Captured {
            code: 0,
            stdout,
            error: None,
        },
        Err(f) => Captured {
            code: f.code,
            stdout,
            error: Some(message(&f.error)),
        },
    }
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Run {
            scenario,
            out,
            threads,
            quiet,
            shard,
            no_results,
        } => cmd_run::run(
            &scenario,
            out,
            threads,
            quiet,
            shard.as_deref(),
            !no_results,
        ),
        Command::Merge { dirs, out } => cmd_run::merge(&dirs, &out),
        Command::Report { dir } => cmd_run::report(&dir),
        Command::Optimize {
            scenario,
            objective,
            constraint,
            horizon,
            json,
            out,
            threads,
        } => cmd_optimize::run(
            &scenario,
            &cmd_optimize::Options {
                objective: &objective,
                constraint: &constraint,
                horizon: horizon.as_deref(),
                json_out: json,
                out: out.as_deref(),
                threads,
            },
        ),
        Command::Data { command } => match command {
            DataCommand::Inspect { file, format, json } => {
                cmd_data::inspect(&file, format.as_deref(), json)
            }
            DataCommand::Import {
                file,
                out,
                format,
                force,
            } => cmd_data::import(&file, &out, format.as_deref(), force),
        },
        Command::Margin {
            venue,
            profile,
            symbol,
            side,
            qty,
            entry,
            mark,
            wallet,
            leverage,
            mode,
            account,
            oracle,
            set,
            fill_price,
            quote_price,
            chain,
            json,
        } => match cmd_margin::venue_or_profile(venue, profile.as_deref()) {
            Err(f) => Err(f),
            Ok((venue, flag)) => cmd_margin::margin(&cmd_margin::MarginArgs {
                venue: &venue,
                venue_flag: flag,
                symbol: symbol.as_deref(),
                side: side.as_deref(),
                qty,
                entry,
                mark,
                wallet,
                leverage,
                mode: &mode,
                account: account.as_deref(),
                oracle,
                set: &set,
                fill_price,
                quote_price,
                chain: chain.as_deref(),
                json,
            }),
        },
        Command::Adl {
            venue,
            positions,
            side,
            qty,
            price,
            mark,
            symbol,
            json,
        } => cmd_adl::adl(&cmd_adl::AdlArgs {
            venue: &venue,
            positions: &positions,
            side: &side,
            qty,
            price,
            mark,
            symbol: symbol.as_deref(),
            json,
        }),
        Command::Venues { command } => match command {
            None => cmd_venues::list(),
            Some(VenuesCommand::Show { name }) => cmd_venues::show(&name),
            Some(VenuesCommand::Export { name }) => cmd_venues::export(&name),
        },
    }
}

/// An error and its causes on one line, each cause once: an error whose
/// text already quotes its cause (`file: Permission denied`) does not
/// repeat it.
fn message(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}
