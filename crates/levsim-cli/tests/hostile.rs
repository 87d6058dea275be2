//! Regression tests for what a hostile new user found (issue 13), each named
//! after the bug it pins: paths that normalize to the working directory,
//! absurd thread counts, junk in unused columns, silent trims, exit codes
//! and messages.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{levsim_in, stderr};

fn root() -> PathBuf {
    common::root().canonicalize().unwrap()
}

fn btc_1m() -> PathBuf {
    root().join("data/binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz")
}

/// A small historical scenario (2 static runs over 6 hours) whose data
/// path is absolute, so it runs from any directory. `extra` replaces lines
/// of the market table.
fn scenario(dir: &Path, name: &str, market_extra: &str) -> PathBuf {
    let text = format!(
        "name = \"{name}\"\nseed = 1\n\n[market]\nkind = \"historical\"\nfile = \"{}\"\nformat = \"binance-klines\"\nstart = \"2020-03-12T00:00:00Z\"\n{market_extra}\n\n[venue]\nprofile = \"binance-usdm\"\n\n[account]\ncapital = 10000.0\nside = \"long\"\nmargin_mode = \"isolated\"\nreenter = false\n\n[[policy]]\nkind = \"static\"\nleverage = [2, 5]\n",
        btc_1m().display()
    );
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

fn small(dir: &Path) -> PathBuf {
    scenario(
        dir,
        "small",
        "end = \"2020-03-12T06:00:00Z\"\non_gap = \"error\"",
    )
}

/// The lines of the BTC 1m file, decompressed.
fn kline_lines(n: usize) -> Vec<String> {
    use std::io::Read;
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(btc_1m()).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s.lines().take(n).map(str::to_string).collect()
}

#[test]
fn regression_out_nothere_dotdot_overwrote_the_working_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let sc = small(cwd);
    std::fs::write(cwd.join("summary.md"), "my notes").unwrap();
    std::fs::write(cwd.join("index.html"), "my page").unwrap();
    let o = levsim_in(
        cwd,
        &[
            "run",
            sc.to_str().unwrap(),
            "--out",
            "nothere/..",
            "--quiet",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not created by levsim"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(cwd.join("summary.md")).unwrap(),
        "my notes"
    );
    assert_eq!(
        std::fs::read_to_string(cwd.join("index.html")).unwrap(),
        "my page"
    );
    assert!(!cwd.join(".levsim-report").exists());
    assert!(!cwd.join("nothere").exists());
}

#[test]
fn regression_scenario_name_dotdot_wrote_into_the_working_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let sc = scenario(cwd, "x", "end = \"2020-03-12T06:00:00Z\"");
    let text = std::fs::read_to_string(&sc)
        .unwrap()
        .replace("name = \"x\"", "name = \"..\"");
    std::fs::write(&sc, text).unwrap();
    std::fs::create_dir(cwd.join("reports")).unwrap();
    let o = levsim_in(cwd, &["run", sc.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("name: \"..\""), "{}", stderr(&o));
    assert!(!cwd.join(".levsim-report").exists());
    assert!(!cwd.join("index.html").exists());
}

#[test]
fn regression_a_stray_marker_does_not_license_overwriting_user_files() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let sc = small(cwd);
    let out = cwd.join("out");
    std::fs::create_dir(&out).unwrap();
    // The marker the data-loss bug left behind, beside the user's file.
    std::fs::write(
        out.join(".levsim-report"),
        "This directory is a levsim report; levsim may replace its contents.\n",
    )
    .unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let o = levsim_in(
        cwd,
        &["run", sc.to_str().unwrap(), "--out", "out", "--quiet"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("notes.txt"), "{}", stderr(&o));
    // A report levsim wrote itself is replaced; a file the user adds of a
    // name levsim writes is not.
    let o = levsim_in(
        cwd,
        &["run", sc.to_str().unwrap(), "--out", "mine", "--quiet"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = levsim_in(
        cwd,
        &["run", sc.to_str().unwrap(), "--out", "mine", "--quiet"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::write(cwd.join("mine/review.md"), "my review").unwrap();
    let o = levsim_in(
        cwd,
        &["run", sc.to_str().unwrap(), "--out", "mine", "--quiet"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("review.md"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(cwd.join("mine/review.md")).unwrap(),
        "my review"
    );
}

#[test]
fn regression_threads_10000_ran_for_minutes_and_left_an_empty_report() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let sc = small(cwd);
    let o = levsim_in(
        cwd,
        &[
            "run",
            sc.to_str().unwrap(),
            "--threads",
            "10000",
            "--quiet",
            "--out",
            "r",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--threads 10000: at most"),
        "{}",
        stderr(&o)
    );
    assert!(
        !cwd.join("r").exists(),
        "an empty report directory was left"
    );
    // Above the bound no thread is started; within it, as many as asked.
    let o = levsim_in(
        cwd,
        &[
            "run",
            sc.to_str().unwrap(),
            "--threads",
            "256",
            "--quiet",
            "--out",
            "r",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn regression_unwritable_out_exited_1_and_printed_the_os_error_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let sc = small(cwd);
    std::fs::write(cwd.join("afile"), "x").unwrap();
    let o = levsim_in(
        cwd,
        &["run", sc.to_str().unwrap(), "--out", "afile/sub", "--quiet"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(e.matches("os error").count(), 1, "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn regression_report_on_an_empty_levsim_directory_exited_1() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("r");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join(".levsim-report"), "# levsim\n").unwrap();
    let o = levsim_in(tmp.path(), &["report", "r"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("incomplete levsim report"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn regression_junk_in_unused_kline_columns_was_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lines = kline_lines(40);
    for (row, col) in [(5, 7), (9, 9), (13, 6), (17, 8)] {
        let mut f: Vec<String> = lines[row].split(',').map(str::to_string).collect();
        f[col] = "869146>89672".into();
        lines[row] = f.join(",");
    }
    let p = tmp.path().join("BTCUSDT_junk.csv");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let o = levsim_in(tmp.path(), &["data", "inspect", "BTCUSDT_junk.csv"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for field in ["quote_volume", "taker_buy_volume", "close_time", "count"] {
        assert!(out.contains(&format!("field `{field}`")), "{field}: {out}");
    }
    let sc = scenario(tmp.path(), "junk", "end = \"2020-03-12T06:00:00Z\"");
    let text = std::fs::read_to_string(&sc)
        .unwrap()
        .replace(&btc_1m().display().to_string(), p.to_str().unwrap())
        .replace(
            "start = \"2020-03-12T00:00:00Z\"\nend = \"2020-03-12T06:00:00Z\"",
            "",
        );
    std::fs::write(&sc, text).unwrap();
    let o = levsim_in(tmp.path(), &["run", sc.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("line 6, field `quote_volume`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn regression_data_inspect_exited_0_on_files_run_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lines = kline_lines(30);
    let edit = |l: &str, col: usize, v: &str| {
        let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
        f[col] = v.into();
        f.join(",")
    };
    lines[4] = edit(&lines[4], 3, "-5"); // a non-positive low
    lines[8] = edit(&lines[8], 4, "NaN"); // a NaN close
    lines.swap(12, 13); // unsorted
    let dup = lines[20].clone();
    lines.insert(21, dup); // a duplicate
    let p = tmp.path().join("bad.csv");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let o = levsim_in(tmp.path(), &["data", "inspect", "bad.csv"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    for line in [5, 9, 14, 22] {
        assert!(out.contains(&format!("line {line},")), "line {line}: {out}");
    }
    let o = levsim_in(tmp.path(), &["data", "inspect", "bad.csv", "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let lines: Vec<u64> = v["report"]["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["line"].as_u64().unwrap())
        .collect();
    for line in [5, 9, 14, 22] {
        assert!(lines.contains(&line), "{line}: {lines:?}");
    }
    // A clean file still exits 0.
    let o = levsim_in(&root(), &["data", "inspect", btc_1m().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn regression_messages_for_empty_corrupt_and_binary_files() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("empty.csv"), "").unwrap();
    let o = levsim_in(d, &["data", "inspect", "empty.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("empty.csv: the file is empty"),
        "{}",
        stderr(&o)
    );

    // A gzip with one flipped byte in the middle, and one cut in half.
    let gz = std::fs::read(btc_1m()).unwrap();
    let mut flipped = gz.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    std::fs::write(d.join("flipped.csv.gz"), &flipped).unwrap();
    std::fs::write(d.join("cut.csv.gz"), &gz[..mid]).unwrap();
    for f in ["flipped.csv.gz", "cut.csv.gz"] {
        let o = levsim_in(d, &["data", "inspect", f]);
        assert_eq!(o.status.code(), Some(2), "{f}");
        assert!(
            stderr(&o).contains("damaged gzip data"),
            "{f}: {}",
            stderr(&o)
        );
    }

    // Binary garbage is described, not echoed.
    let garbage: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(d.join("garbage.csv"), &garbage).unwrap();
    let o = levsim_in(d, &["data", "inspect", "garbage.csv"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("binary data"), "{e}");
    assert!(
        e.bytes().all(|b| b == b'\n' || (0x20..0x7f).contains(&b)),
        "raw bytes on the terminal: {e:?}"
    );
}

#[test]
fn regression_window_end_past_the_data_was_cut_silently() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = scenario(
        tmp.path(),
        "late",
        "end = \"2020-03-20T00:00:00Z\"\non_gap = \"error\"",
    );
    let o = levsim_in(tmp.path(), &["run", sc.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("is past the data"), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("reports/late/summary.json")).unwrap(),
    )
    .unwrap();
    let notes = s["scenario"]["market"]["data_notes"].as_array().unwrap();
    assert!(notes
        .iter()
        .any(|n| n.as_str().unwrap().contains("past the data")));
    let md = std::fs::read_to_string(tmp.path().join("reports/late/summary.md")).unwrap();
    assert!(md.contains("Data note: market.end"), "{md}");
    let html = std::fs::read_to_string(tmp.path().join("reports/late/index.html")).unwrap();
    assert!(html.contains("is past the data"));
}

#[test]
fn regression_on_gap_skip_left_no_note() {
    // A kline file with two bars missing, run under on_gap = "skip" and
    // "ffill": both say what they did, on stderr and in the report.
    let tmp = tempfile::tempdir().unwrap();
    let mut lines = kline_lines(400);
    lines.drain(100..102);
    let p = tmp.path().join("BTCUSDT_gappy.csv");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    for (policy, word) in [("skip", "skipped"), ("ffill", "filled")] {
        let sc = scenario(tmp.path(), &format!("gap-{policy}"), "");
        let text = std::fs::read_to_string(&sc)
            .unwrap()
            .replace(&btc_1m().display().to_string(), p.to_str().unwrap())
            .replace(
                "start = \"2020-03-12T00:00:00Z\"",
                &format!("on_gap = \"{policy}\""),
            );
        std::fs::write(&sc, text).unwrap();
        let o = levsim_in(tmp.path(), &["run", sc.to_str().unwrap(), "--quiet"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("1 gap(s) in the window, 2 missing bars"), "{e}");
        assert!(e.contains(word), "{e}");
        let md =
            std::fs::read_to_string(tmp.path().join(format!("reports/gap-{policy}/summary.md")))
                .unwrap();
        assert!(md.contains(word), "{md}");
    }
}

#[test]
fn regression_book_inspect_printed_rust_debug_text() {
    let o = levsim_in(
        &root(),
        &[
            "data",
            "inspect",
            "data/bybit_linear_XRPUSDT_ob500_2024-12-01.jsonl.gz",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("bybit-jsonl"), "{out}");
    assert!(!out.contains("Some("), "{out}");
    assert!(!out.contains("BybitJsonl"), "{out}");
    let o = levsim_in(&root(), &["data", "inspect", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    for f in ["Bybit", "Tardis", "Nautilus", "trades"] {
        assert!(help.contains(f), "{f}: {help}");
    }
}

#[test]
fn regression_report_and_optimize_recommended_different_points() {
    // One criterion: P(liquidation) below 5 % with 95 % confidence. The
    // report's answer and `levsim optimize` over the same grid name the
    // same point.
    let tmp = tempfile::tempdir().unwrap();
    let text = "name = \"crit\"\nseed = 3\n\n[market]\nkind = \"gbm\"\nsymbol = \"BTCUSDT\"\nmu = 0.0\nsigma = 0.8\ndt = \"1h\"\nhorizon = \"7d\"\npaths = 600\nstart_price = 60000.0\nstart = \"2026-01-01T00:00:00Z\"\n\n[venue]\nprofile = \"binance-usdm\"\nfunding = false\n\n[account]\ncapital = 10000.0\nside = \"long\"\n\n[[policy]]\nkind = \"static\"\nleverage = [2, 3, 4, 5, 6, 7, 8, 10]\n";
    let sc = tmp.path().join("crit.toml");
    std::fs::write(&sc, text).unwrap();
    let o = levsim_in(tmp.path(), &["run", "crit.toml", "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = std::fs::read_to_string(tmp.path().join("reports/crit/summary.md")).unwrap();
    let chosen = md
        .lines()
        .find_map(|l| {
            let rest = l.split("static[leverage=").nth(1)?;
            rest.split(']').next()?.parse::<f64>().ok()
        })
        .unwrap_or_else(|| panic!("no chosen static point in {md}"));
    let o = levsim_in(
        tmp.path(),
        &[
            "optimize",
            "crit.toml",
            "--constraint",
            "p_liquidation <= 0.05",
            "--objective",
            "capital_efficiency",
            "--json",
            "--out",
            "opt",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let line = String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        v["best_params"]["leverage"].as_f64(),
        Some(chosen),
        "{v}\n{md}"
    );
    assert!(v["p_liquidation_ci"][1].as_f64().unwrap() <= 0.05, "{v}");
}

#[test]
fn regression_tier_reduction_tranches_were_counted_as_liquidations() {
    // Black Thursday, static 50x long, no re-entry, Binance tier reduction:
    // one liquidation event, done in several orders; the report names both
    // and explains the constant-leverage runs that lost everything without
    // a liquidation.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bt");
    let o = levsim_in(
        &root(),
        &[
            "run",
            "scenarios/black-thursday-2020.toml",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let run = |id: &str| {
        s["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["run_id"] == id)
            .unwrap_or_else(|| panic!("{id}"))["metrics"]
            .clone()
    };
    let m = run("static[leverage=50]");
    assert_eq!(m["liquidations"], 1, "{m}");
    assert!(m["liquidation_tranches"].as_u64().unwrap() >= 2, "{m}");
    for lev in [2, 3, 5, 10, 20] {
        let m = run(&format!("static[leverage={lev}]"));
        assert_eq!(m["liquidations"], 1, "{lev}x: {m}");
    }
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("liquidations (orders)"), "{md}");
    assert!(md.contains("lost 100.00 % without a liquidation"), "{md}");
    assert!(
        md.contains("Exposure / committed: the position's notional"),
        "{md}"
    );
}

#[test]
fn regression_conservation_error_was_reported_for_path_0_only() {
    // A crowd over 8 generated paths: the report's conservation error is
    // the worst over every path's market pass (markets.json holds them
    // all), not path 0's.
    let tmp = tempfile::tempdir().unwrap();
    let text = "name = \"cons\"\nseed = 4\n[market]\nkind = \"gbm\"\nsymbol = \"BTCUSDT\"\nmu = 0.0\nsigma = 0.8\ndt = \"5m\"\nhorizon = \"1d\"\npaths = 8\nstart_price = 60000.0\nstart = \"2026-01-01T00:00:00Z\"\n[[shock]]\nkind = \"gap\"\nat = \"2026-01-01T12:00:00Z\"\nsize = -0.07\n[population]\naccounts = 400\nopen_interest = 2.0e7\nlong_share = 0.65\nleverage = { dist = \"lognormal\", median = 10.0, sigma = 0.7, cap = 100.0 }\nsize_sigma = 1.0\n[liquidity]\nmodel = \"linear\"\ndepth = 1.5e8\nhalf_life_s = 300\n[venue]\nprofile = \"binance-usdm\"\nfunding = false\ninsurance_fund = 2.0e4\n[account]\ncapital = 10000.0\nside = \"long\"\n[[policy]]\nkind = \"static\"\nleverage = 5\n";
    std::fs::write(tmp.path().join("cons.toml"), text).unwrap();
    let o = levsim_in(tmp.path(), &["run", "cons.toml", "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dir = tmp.path().join("reports/cons");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let passes: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("markets.json")).unwrap()).unwrap();
    let errors: Vec<f64> = passes
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metrics"]["conservation_error"].as_f64().unwrap().abs())
        .collect();
    assert_eq!(errors.len(), 8);
    let worst = errors.iter().copied().fold(0.0, f64::max);
    let m = &s["market"][0];
    assert_eq!(m["conservation_error_worst"].as_f64(), Some(worst), "{m}");
    assert_eq!(m["conservation_paths"], 8);
    // Money is conserved on every path, to rounding on $20M of positions.
    assert!(worst < 1e-3, "{errors:?}");
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("conservation error (worst path)"), "{md}");
}

#[test]
fn venue_set_overrides_in_a_scenario_are_applied_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = small(tmp.path());
    let text = std::fs::read_to_string(&sc).unwrap();
    let with = |set: &str| {
        let t = text.replace(
            "[venue]\nprofile = \"binance-usdm\"\n",
            &format!("[venue]\nprofile = \"binance-usdm\"\nset = {{ {set} }}\n"),
        );
        std::fs::write(&sc, t).unwrap();
        levsim_in(
            tmp.path(),
            &["run", sc.to_str().unwrap(), "--quiet", "--out", "r"],
        )
    };
    let o = with("taker_fee = 0.5");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("venue.set.taker_fee: must be in [0, 0.1)"),
        "{}",
        stderr(&o)
    );
    let o = with("taker_fee = 0.001");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("r/summary.json")).unwrap())
            .unwrap();
    let v = &s["scenario"]["venue"];
    assert_eq!(v["taker_fee"].as_f64(), Some(0.001), "{v}");
    assert!(
        v["overrides"].to_string().contains("taker_fee = 0.001"),
        "{v}"
    );
}
