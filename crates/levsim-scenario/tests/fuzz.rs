//! Fuzzing the scenario parser on stable Rust: proptest mutates every
//! shipped scenario (values replaced by hostile tokens, lines dropped,
//! doubled or swapped, bytes flipped) and parses the result. The parser may
//! refuse a mutant with a message naming the file; it may never panic, and
//! a scenario it accepts has a plan it can expand. Historical markets it
//! accepts are loaded too (the data loaders are fuzzed in levsim-data).
//!
//! A longer run: `LEVSIM_FUZZ_CASES=5000 cargo test --release -p
//! levsim-scenario --test fuzz`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use levsim_scenario::{LoadedMarket, Scenario};
use proptest::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cases() -> u32 {
    std::env::var("LEVSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

/// The fuzzer's random generator: seeded, so the suite is reproducible
/// (`LEVSIM_FUZZ_SEED=N` for another stream in a longer run).
fn rng() -> proptest::test_runner::TestRng {
    let seed: u64 = std::env::var("LEVSIM_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_261_206);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    proptest::test_runner::TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &bytes)
}

/// What a hostile user types where a value belongs.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "\"\"",
    "\"..\"",
    "\"/\"",
    "[]",
    "{}",
    "[1, \"a\"]",
    "true",
    "\"2020-13-45T00:00:00Z\"",
    "\"1y\"",
    "\"0s\"",
    "\"-5m\"",
    "99999999999999999",
    "{ min = 5.0, max = 1.0 }",
    "\"data/nothere.csv\"",
    "1.5",
    "\"\\u0000\"",
    "\"x\"",
];

#[derive(Debug, Clone)]
enum Edit {
    Value(usize, usize),
    Drop(usize),
    Double(usize),
    Swap(usize, usize),
    Byte(usize, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), 0..VALUES.len()).prop_map(|(l, v)| Edit::Value(l, v)),
        1 => any::<usize>().prop_map(Edit::Drop),
        1 => any::<usize>().prop_map(Edit::Double),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Byte(i, b)),
    ]
}

fn apply(text: &str, e: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    let n = lines.len();
    match *e {
        Edit::Value(l, v) => {
            // The value of the l-th assignment.
            let assigns: Vec<usize> = (0..n).filter(|&i| lines[i].contains(" = ")).collect();
            if let Some(&k) = assigns.get(l % assigns.len().max(1)) {
                let key = lines[k].split(" = ").next().unwrap_or("").to_string();
                lines[k] = format!("{key} = {}", VALUES[v]);
            }
        }
        Edit::Drop(l) => {
            lines.remove(l % n);
        }
        Edit::Double(l) => {
            let k = l % n;
            lines.insert(k, lines[k].clone());
        }
        Edit::Swap(a, b) => lines.swap(a % n, b % n),
        Edit::Byte(i, b) => {
            let mut bytes = lines.join("\n").into_bytes();
            let len = bytes.len().max(1);
            if !bytes.is_empty() {
                bytes[i % len] = b;
            }
            return String::from_utf8_lossy(&bytes).to_string();
        }
    }
    lines.join("\n") + "\n"
}

#[test]
fn fuzz_every_shipped_scenario() {
    let mut seeds: Vec<(PathBuf, String)> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("toml"))
        .map(|p| {
            let t = std::fs::read_to_string(&p).unwrap();
            (p, t)
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 10, "{} scenarios", seeds.len());
    for (path, text) in &seeds {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut runner = proptest::test_runner::TestRunner::new_with_rng(
            ProptestConfig {
                cases: cases(),
                failure_persistence: None,
                ..ProptestConfig::default()
            },
            rng(),
        );
        let fake = root().join("scenarios").join(format!("fuzz-{name}"));
        let result = runner.run(&proptest::collection::vec(edit(), 1..5), |edits| {
            let mutant = edits.iter().fold(text.clone(), |t, e| apply(&t, e));
            check(&fake, &mutant)
        });
        if let Err(e) = result {
            panic!("{name}: {e}");
        }
    }
}

fn check(path: &Path, text: &str) -> Result<(), TestCaseError> {
    match Scenario::parse(text, path) {
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(msg.contains("fuzz-"), "error without the file: {msg}");
        }
        Ok(sc) => {
            prop_assert!(!sc.plan.is_empty());
            // Loading a historical window reads real files: cheap. Generated
            // markets may ask for millions of paths, so only small ones.
            if sc.generator.is_none() || sc.paths * sc.plan.len() <= 50_000 {
                let _ = LoadedMarket::load(&sc);
            }
        }
    }
    Ok(())
}
