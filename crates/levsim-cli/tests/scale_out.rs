//! Scale-out drivers: the Ray driver (`scripts/ray_sweep.py`) on a local Ray
//! cluster, and the Slurm array template (`scripts/slurm_sweep.sbatch`) run
//! as its array tasks would be; both must give the single-machine report.
//!
//! The Ray test needs a Python with Ray: it uses `LEVSIM_PYTHON` when set,
//! else runs `scripts/setup-python.sh`, which makes (once) a virtualenv in
//! `$HOME/.cache/levsim-venv` with a pinned Ray from PyPI.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{python, root};

const SCENARIO: &str = "name = \"ray\"\nseed = 5\n[market]\nkind = \"gbm\"\nsigma = 0.9\ndt = \"1h\"\nhorizon = \"3d\"\npaths = 40\nstart_price = 100.0\n\
     [venue]\nprofile = \"binance-usdm\"\nmaintenance_rate = 0.005\n[account]\ncapital = 1000.0\nside = \"long\"\n\
     [[policy]]\nkind = \"static\"\nleverage = [5, 20]\n";

/// The scenario written to `dir`, and its single-machine report.
fn single_run(dir: &Path) -> (PathBuf, PathBuf) {
    let sc = dir.join("ray.toml");
    std::fs::write(&sc, SCENARIO).unwrap();
    let single = dir.join("single");
    let o = Command::new(env!("CARGO_BIN_EXE_levsim"))
        .args([
            "run",
            sc.to_str().unwrap(),
            "--out",
            single.to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (sc, single)
}

fn same_results(a: &Path, b: &Path) {
    let bytes = |d: &Path| std::fs::read(d.join("results.parquet")).unwrap();
    assert!(
        bytes(a) == bytes(b),
        "results.parquet of {} and {} differ",
        a.display(),
        b.display()
    );
    let aggs = |d: &Path| {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("summary.json")).unwrap()).unwrap();
        v["aggregates"].clone()
    };
    assert_eq!(aggs(a), aggs(b));
}

/// Processes whose command line mentions `needle` (from /proc).
fn pids_mentioning(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmd).contains(needle) && pid != std::process::id() {
                out.push(pid);
            }
        }
    }
    out
}

/// A local Ray cluster (2 CPUs) started by the test, the sweep as 3 shards
/// with one shard failing once (retried), merged into the single-machine
/// report; the cluster is stopped and none of its processes is left.
#[test]
fn ray_sweep_on_a_local_cluster_matches_a_single_run() {
    let py = python();
    assert!(
        py.exists(),
        "{} not found: set LEVSIM_PYTHON to a Python with Ray",
        py.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let (sc, single) = single_run(tmp.path());
    // Ray's sockets need a short path: a short name in the system's
    // temporary directory.
    let ray_dir = std::env::temp_dir().join(format!("lsray-{}", std::process::id()));
    let ray_bin = py.parent().unwrap().join("ray");
    let port = 26_379 + (std::process::id() % 1_000) as u16;
    let start = Command::new(&ray_bin)
        .args([
            "start",
            "--head",
            "--num-cpus=2",
            &format!("--port={port}"),
            &format!("--temp-dir={}", ray_dir.display()),
            "--include-dashboard=false",
            "--disable-usage-stats",
        ])
        .output()
        .unwrap();
    assert!(
        start.status.success(),
        "ray start: {}",
        String::from_utf8_lossy(&start.stderr)
    );
    let started = pids_mentioning(&ray_dir.display().to_string());
    assert!(
        !started.is_empty(),
        "no Ray processes found after ray start"
    );
    // levsim behind a wrapper whose first call for shard 1 fails (exit 1, a
    // retryable error), so the retry path is exercised.
    let marker = tmp.path().join("failed-once");
    let wrapper = tmp.path().join("levsim-flaky");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ncase \"$*\" in *\"--shard 1/3\"*) if [ ! -e '{m}' ]; then touch '{m}'; echo 'injected failure' >&2; exit 1; fi;; esac\nexec '{bin}' \"$@\"\n",
            m = marker.display(),
            bin = env!("CARGO_BIN_EXE_levsim")
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let shards = tmp.path().join("shards");
    let report = tmp.path().join("merged");
    let run = Command::new(&py)
        .arg(root().join("scripts/ray_sweep.py"))
        .args([
            sc.to_str().unwrap(),
            "--shards",
            "3",
            "--out",
            shards.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
            "--levsim",
            wrapper.to_str().unwrap(),
            "--address",
            &format!("127.0.0.1:{port}"),
        ])
        .output()
        .unwrap();
    let stop = Command::new(&ray_bin)
        .args(["stop", "--force"])
        .output()
        .unwrap();
    // Give the processes a moment to exit, then check every one is gone.
    let mut left = Vec::new();
    for _ in 0..50 {
        left = started
            .iter()
            .copied()
            .filter(|p| Path::new(&format!("/proc/{p}")).exists())
            .collect();
        if left.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = std::fs::remove_dir_all(&ray_dir);
    assert!(
        stop.status.success(),
        "ray stop: {}",
        String::from_utf8_lossy(&stop.stderr)
    );
    assert!(left.is_empty(), "Ray processes left behind: {left:?}");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "ray_sweep.py: {err}");
    assert!(
        marker.exists() && err.contains("retrying (attempt 2)"),
        "{err}"
    );
    let out: serde_json::Value = serde_json::from_slice(
        String::from_utf8_lossy(&run.stdout)
            .lines()
            .last()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(out["attempts"], serde_json::json!([1, 2, 1]));
    same_results(&single, &report);
}

/// The Slurm template run as three array tasks (the environment Slurm
/// sets), then merged: the single-machine report; an index outside the
/// array is bad input.
#[test]
fn slurm_array_template_matches_a_single_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (sc, single) = single_run(tmp.path());
    let shards = tmp.path().join("shards");
    let task = |i: usize| {
        Command::new("bash")
            .arg(root().join("scripts/slurm_sweep.sbatch"))
            .env("SCENARIO", &sc)
            .env("OUT", &shards)
            .env("LEVSIM", env!("CARGO_BIN_EXE_levsim"))
            .env("SLURM_ARRAY_TASK_ID", i.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .env("SLURM_CPUS_PER_TASK", "1")
            .output()
            .unwrap()
    };
    for i in 0..3 {
        let o = task(i);
        assert!(
            o.status.success(),
            "task {i}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let merged = tmp.path().join("merged");
    let o = Command::new(env!("CARGO_BIN_EXE_levsim"))
        .args([
            "merge",
            shards.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    same_results(&single, &merged);
    let o = task(3);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--array=0-2"));
}
