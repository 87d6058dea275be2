//! Helpers shared by the end-to-end tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A Python with the test packages (Ray, pyarrow): `LEVSIM_PYTHON`, else
/// the virtualenv `scripts/setup-python.sh` makes (or finds) and prints.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("LEVSIM_PYTHON") {
        return PathBuf::from(p);
    }
    let o = Command::new("bash")
        .arg(root().join("scripts/setup-python.sh"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "scripts/setup-python.sh failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
}

/// `levsim ARGS` run in `cwd`.
pub fn levsim_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_levsim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// A command's standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}
