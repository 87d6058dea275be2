//! Throughput benchmarks of the engine and the scenario runner.
//!
//! - `static_run_1h_history`: one static 3x long (re-entering) over the
//!   bundled BTCUSDT 1h history, 56,830 bars → bars per second;
//! - `black_thursday_scenario`: all 9 runs of `scenarios/black-thursday-2020.toml`
//!   on one thread (data loaded once, outside the timing) → runs per second;
//! - `peer_task_2m_bars`: the peer task (10x long, liquidated and re-opened)
//!   on 2,000,000 synthetic 1m bars → bars per second. The side-by-side
//!   comparison with the numba reference is `src/bin/peer_compare.rs`.
//!
//! Run: `cargo bench -p levsim-benches`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use levsim_benches::{peer_account, peer_venue, synthetic_bars};
use levsim_core::Side;
use levsim_data::load_tape;
use levsim_engine::{simulate, AccountConfig, MarginMode, Market, VenueConfig, VenueProfile};
use levsim_policy::StaticLeverage;
use levsim_scenario::{execute, LoadedMarket, Scenario};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn static_run_1h_history(c: &mut Criterion) {
    let (tape, _) = load_tape(
        &root().join("data/binance_spot_BTCUSDT_1h_2018-01-01_2024-06-30.csv.gz"),
        None,
    )
    .expect("bundled data loads");
    let venue = VenueProfile::resolve(
        &VenueConfig {
            profile: "binance-usdm".into(),
            ..Default::default()
        },
        "BTCUSDT",
    )
    .expect("profile");
    let account = AccountConfig {
        capital: 10_000.0,
        side: Side::Long,
        margin_mode: MarginMode::Isolated,
        reenter: true,
        min_equity: Some(1e-6),
        ..Default::default()
    };
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(tape.len() as u64));
    g.bench_function("static_run_1h_history", |b| {
        b.iter(|| {
            simulate(
                Market::new(&tape),
                &venue,
                &account,
                &mut StaticLeverage { leverage: 3.0 },
                &mut (),
            )
            .expect("runs")
        })
    });
    let synth = synthetic_bars(2_000_000, 0.8, 42);
    let (pv, pa) = (peer_venue(), peer_account());
    g.throughput(Throughput::Elements(synth.len() as u64));
    g.sample_size(10);
    g.bench_function("peer_task_2m_bars", |b| {
        b.iter(|| {
            simulate(
                Market::new(&synth),
                &pv,
                &pa,
                &mut StaticLeverage { leverage: 10.0 },
                &mut (),
            )
            .expect("runs")
        })
    });
    g.finish();
}

fn black_thursday_scenario(c: &mut Criterion) {
    let sc = Scenario::load(&root().join("scenarios/black-thursday-2020.toml")).expect("scenario");
    // Data paths in the scenario are relative to the repository root.
    std::env::set_current_dir(root()).expect("cd");
    let market = LoadedMarket::load(&sc).expect("market");
    let mut g = c.benchmark_group("scenario");
    g.throughput(Throughput::Elements(sc.plan.len() as u64));
    g.bench_function("black_thursday_scenario", |b| {
        b.iter(|| execute(&sc, &market, 1, &|| {}).expect("runs"))
    });
    g.finish();
}

criterion_group!(benches, static_run_1h_history, black_thursday_scenario);
criterion_main!(benches);
