//! Fixtures shared by levsim's benchmarks: deterministic synthetic bars and
//! the common "peer task" (a 10x long on synthetic 1m bars, liquidated and
//! re-opened), which the numba reference in `peers/bench_numba.py` runs too.

use levsim_core::{MarketTape, Side};
use levsim_engine::{AccountConfig, MarginMode, VenueConfig, VenueProfile};

/// The benchmark's first command-line argument (a size), or `default`.
pub fn first_arg<T: std::str::FromStr>(default: T) -> Result<T, T::Err> {
    std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()
        .map(|v| v.unwrap_or(default))
}

/// SplitMix64: a small, portable, seeded generator for fixtures.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller, one draw per call).
    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// `n` one-minute GBM bars (annual volatility `sigma`, no drift) starting at
/// 30,000, with four sub-steps per bar for open/high/low/close.
pub fn synthetic_bars(n: usize, sigma: f64, seed: u64) -> MarketTape {
    let mut rng = SplitMix64(seed);
    let step_sd = sigma * (1.0 / (365.0 * 24.0 * 60.0 * 4.0_f64)).sqrt();
    let mut t = MarketTape {
        symbol: "SYNTH".into(),
        interval_ns: 60_000_000_000,
        ..Default::default()
    };
    t.ts.reserve(n);
    let mut p = 30_000.0_f64;
    for i in 0..n {
        let o = p;
        let (mut h, mut l) = (o, o);
        for _ in 0..4 {
            p *= (step_sd * rng.normal() - 0.5 * step_sd * step_sd).exp();
            h = h.max(p);
            l = l.min(p);
        }
        t.push(i as i64 * 60_000_000_000, o, h, l, p, 1.0);
    }
    t
}

/// The peer task's venue: flat 0.5 % maintenance, no fees, no funding.
pub fn peer_venue() -> VenueProfile {
    VenueProfile::resolve(
        &VenueConfig {
            profile: "binance-usdm".into(),
            maintenance_rate: Some(0.005),
            taker_fee: Some(0.0),
            liquidation_fee: Some(0.0),
            funding: Some(false),
            ..Default::default()
        },
        "SYNTH",
    )
    .expect("the built-in profile resolves")
}

/// The peer task's account: 10,000 long, re-entering after every
/// liquidation with what is left (the task is scale-free, so equity may
/// shrink without changing the path of decisions).
pub fn peer_account() -> AccountConfig {
    AccountConfig {
        capital: 10_000.0,
        side: Side::Long,
        margin_mode: MarginMode::Isolated,
        reenter: true,
        min_equity: Some(1e-300),
        ..Default::default()
    }
}

/// Writes a tape's open/high/low/close as little-endian f64, column after
/// column, for the Python peer.
pub fn write_ohlc_bin(path: &std::path::Path, t: &MarketTape) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(t.len() * 32);
    for col in [&t.open, &t.high, &t.low, &t.close] {
        for v in col.iter() {
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::write(path, buf)
}

/// Runs a peer script (`python3 SCRIPT ARGS`) that prints one JSON object;
/// `None` (with the reason printed) when python3, numba or the script
/// fails, so levsim's own figures still stand.
pub fn run_peer(script: &str, args: &[String]) -> Option<serde_json::Value> {
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output();
    match out {
        Ok(o) if o.status.success() => match serde_json::from_slice(&o.stdout) {
            Ok(v) => Some(v),
            Err(e) => {
                println!("peer reference printed no JSON: {e}");
                None
            }
        },
        Ok(o) => {
            println!(
                "peer reference failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            println!("peer reference not run (python3: {e})");
            None
        }
    }
}

/// Prints the peer's time per thread count beside levsim's (`secs[i]` for
/// `i + 1` threads) as runs/s and the ratio levsim / peer.
pub fn print_peer_seconds(peer: &serde_json::Value, runs: usize, secs: &[f64]) {
    for (i, threads) in ["1", "2"].iter().enumerate() {
        if let (Some(s), Some(mine)) = (peer["seconds"][threads].as_f64(), secs.get(i)) {
            println!(
                "numba  {threads} thread(s): {s:.3} s (best of 3) = {:.0} runs/s; levsim / numba = {:.2}x",
                runs as f64 / s,
                s / mine
            );
        }
    }
}

/// Whether two probabilities estimated on `paths` independent paths each
/// agree within 4 standard errors; returns (4 se, agree).
pub fn agree(a: f64, b: f64, paths: usize) -> (f64, bool) {
    let p = 0.5 * (a + b);
    let se = (2.0 * p * (1.0 - p) / paths as f64).sqrt();
    (4.0 * se, (a - b).abs() <= 4.0 * se + 1e-12)
}
