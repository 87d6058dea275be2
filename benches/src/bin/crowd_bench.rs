//! The market pass at scale (issue 5's benchmark): a crowd of 10k, 100k and
//! 1M accounts over a year of hourly BTCUSDT bars and over the 1-minute
//! Black Thursday crash day, with the sorted liquidation indexes and, in the
//! same run, with a scan of every account at every check (the O(N)
//! baseline). Both give identical passes (checked here as in the tests).
//!
//! `cargo run --release -p levsim-benches --bin crowd_bench [-- MAX_N]`

use std::path::Path;
use std::time::Instant;

use levsim_core::MarketTape;
use levsim_engine::crowd::{
    market_pass_with, Crossing, LeverageDist, PassOptions, PopulationConfig,
};
use levsim_engine::liquidity::SqrtImpact;
use levsim_engine::{VenueConfig, VenueProfile};

fn load(
    file: &str,
    start: &str,
    end: &str,
) -> Result<(MarketTape, MarketTape), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (full, _) = levsim_data::load_tape(&root.join(file), None)?;
    let s = levsim_core::time::parse_iso(start)?;
    let e = levsim_core::time::parse_iso(end)?;
    Ok((full.window(None, Some(s)), full.window(Some(s), Some(e))))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let max_n: usize = levsim_benches::first_arg(1_000_000)?;
    let venue = VenueProfile::resolve(
        &VenueConfig {
            profile: "binance-usdm".into(),
            insurance_fund: Some(5e6),
            funding: Some(false),
            ..Default::default()
        },
        "BTCUSDT",
    )?;
    let markets = [
        (
            "BTCUSDT 1h, 2022 (8,760 bars)",
            load(
                "data/binance_spot_BTCUSDT_1h_2018-01-01_2024-06-30.csv.gz",
                "2022-01-01T00:00:00Z",
                "2023-01-01T00:00:00Z",
            )?,
            "7d",
        ),
        (
            "BTCUSDT-PERP 1m, 2020-03-12 (1,440 bars)",
            load(
                "data/binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz",
                "2020-03-12T00:00:00Z",
                "2020-03-13T00:00:00Z",
            )?,
            "1d",
        ),
    ];
    println!("| market | accounts | search | time | steps/s | liquidations | liquidations/s | speed-up |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, (history, tape), window) in &markets {
        for n in [10_000usize, 100_000, 1_000_000]
            .into_iter()
            .filter(|&n| n <= max_n)
        {
            let cfg = PopulationConfig {
                accounts: n,
                file: None,
                open_interest: Some(3e8),
                open_interest_adv: None,
                long_share: 0.6,
                leverage: Some(LeverageDist::Lognormal {
                    median: 10.0,
                    sigma: 0.7,
                    cap: 125.0,
                    min: 1.1,
                }),
                entry_window: Some((*window).into()),
                size_sigma: 1.0,
                margin_mode: None,
                max_rounds: 50,
                topup_share: 0.0,
                topup_trigger: 0.02,
                topup_amount: 0.5,
                topup_delay: None,
                couple_subject: false,
                renew: false,
                renew_band: 0.05,
            };
            let pop = cfg.generate(42, history, tape.ts[0], tape.open[0], &venue)?;
            let steps = tape.len() * 4;
            let mut index_secs = f64::NAN;
            let mut index_pass = None;
            for crossing in [Crossing::Index, Crossing::Scan] {
                // The scan over 1M accounts for a year of bars takes minutes:
                // it is run up to 100k there.
                if crossing == Crossing::Scan && n > 100_000 && tape.len() > 2_000 {
                    println!("| {name} | {n} | scan | (skipped: O(N) per check) | | | | |");
                    continue;
                }
                let mut liq = SqrtImpact::new(0.02, 1000.0, 1.0, 60.0);
                let t0 = Instant::now();
                let opts = PassOptions {
                    max_rounds: 50,
                    topup: None,
                    crossing,
                    renew: None,
                };
                let pass = market_pass_with(tape, None, &venue, &pop, &mut liq, &opts);
                let secs = t0.elapsed().as_secs_f64();
                let liqs = pass.metrics.liquidations;
                let speedup = if crossing == Crossing::Scan {
                    format!("index {:.1}x faster", secs / index_secs)
                } else {
                    String::new()
                };
                println!(
                    "| {name} | {n} | {} | {secs:.3} s | {:.0} | {liqs} | {:.0} | {speedup} |",
                    if crossing == Crossing::Index {
                        "index"
                    } else {
                        "scan"
                    },
                    steps as f64 / secs,
                    liqs as f64 / secs
                );
                match crossing {
                    Crossing::Index => {
                        index_secs = secs;
                        index_pass = Some(pass);
                    }
                    Crossing::Scan => {
                        if index_pass.as_ref() != Some(&pass) {
                            return Err("index and scan passes differ".into());
                        }
                    }
                }
            }
        }
    }
    renewing(max_n, &venue)?;
    Ok(())
}

/// A crowd that renews itself (liquidated traders replaced at the mark,
/// open interest held within 5 % of $300M) over a year of synthetic 1m
/// bars (525,600; GBM, σ 80 %/yr, seed 42): the index at 10k and 1M
/// accounts, the scan at 10k beside it (the passes checked identical).
fn renewing(max_n: usize, venue: &VenueProfile) -> Result<(), Box<dyn std::error::Error>> {
    let bars = 525_600;
    let tape = levsim_benches::synthetic_bars(bars, 0.8, 42);
    let history = MarketTape {
        symbol: tape.symbol.clone(),
        interval_ns: tape.interval_ns,
        ..Default::default()
    };
    println!();
    println!("A renewing crowd over a year of 1m bars ({bars} bars, 4 points each):");
    println!("| accounts | search | time | steps/s | liquidations | renewed | speed-up |");
    println!("|---|---|---|---|---|---|---|");
    for n in [10_000usize, 1_000_000].into_iter().filter(|&n| n <= max_n) {
        let cfg = PopulationConfig {
            accounts: n,
            file: None,
            open_interest: Some(3e8),
            open_interest_adv: None,
            long_share: 0.6,
            leverage: Some(LeverageDist::Lognormal {
                median: 10.0,
                sigma: 0.7,
                cap: 125.0,
                min: 1.1,
            }),
            entry_window: None,
            size_sigma: 1.0,
            margin_mode: None,
            max_rounds: 50,
            topup_share: 0.0,
            topup_trigger: 0.02,
            topup_amount: 0.5,
            topup_delay: None,
            couple_subject: false,
            renew: true,
            renew_band: 0.05,
        };
        let pop = cfg.generate(42, &history, tape.ts[0], tape.open[0], venue)?;
        let rule = cfg.renew_rule(7).ok_or("no renewal rule")?;
        let run = |crossing| {
            // The book scaled with the crowd's size, as above.
            let mut liq = SqrtImpact::new(0.02, 1000.0, 1.0, 60.0);
            let opts = PassOptions {
                max_rounds: 50,
                topup: None,
                crossing,
                renew: Some(&rule),
            };
            let t0 = Instant::now();
            let pass = market_pass_with(&tape, None, venue, &pop, &mut liq, &opts);
            (t0.elapsed().as_secs_f64(), pass)
        };
        let (ti, a) = run(Crossing::Index);
        let row = |search: &str, t: f64, m: &levsim_engine::crowd::MarketMetrics, up: &str| {
            println!(
                "| {n} | {search} | {t:.2} s | {:.0} | {} | {} | {up} |",
                (bars * 4) as f64 / t,
                m.liquidations,
                m.renewed_accounts
            );
        };
        if n <= 10_000 {
            let (ts, b) = run(Crossing::Scan);
            if a != b {
                return Err("index and scan passes differ (renewing crowd)".into());
            }
            row("index", ti, &a.metrics, &format!("{:.1}x", ts / ti));
            row("scan", ts, &b.metrics, "1x");
        } else {
            row("index", ti, &a.metrics, "(scan not run)");
        }
        if a.metrics.conservation_error.abs() > 1e-6 * (3e8 + a.metrics.renewed_collateral) {
            return Err(format!("money not conserved: {}", a.metrics.conservation_error).into());
        }
    }
    Ok(())
}
