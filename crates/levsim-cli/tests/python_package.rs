//! The Python package (`python/`): built into the test virtualenv with
//! `maturin develop` (the dev profile, sharing this build's target
//! directory), then its pytest suite (`python/tests`): Python policies
//! equal to the built-ins run for run, DataFrames equal to the Parquet
//! files, errors named, the calculator equal to this binary's JSON.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

mod common;
use common::{python, root};

/// The target directory this test binary was built in (`…/debug/deps/x`).
fn target_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(d);
    }
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_levsim"));
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

#[test]
fn python_package_builds_and_its_tests_pass() {
    let py = python();
    let venv = py.parent().unwrap().parent().unwrap().to_path_buf();
    let bin = venv.join("bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The extension, built as a user's `maturin develop` does.
    let o = Command::new(bin.join("maturin"))
        .args(["develop", "--quiet", "-m", "python/Cargo.toml"])
        .current_dir(root())
        .env("VIRTUAL_ENV", &venv)
        .env("PATH", &path)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "maturin develop failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let o = Command::new(&py)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "python/tests",
        ])
        .current_dir(root())
        .env("LEVSIM_BIN", env!("CARGO_BIN_EXE_levsim"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "pytest failed:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Every test ran (none skipped for want of the binary).
    assert!(!out.contains("skipped"), "{out}");
}
