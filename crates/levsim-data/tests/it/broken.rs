//! Broken copies of a real file: each defect gets its own error, naming the
//! file, the line and the field.

use std::path::PathBuf;

use levsim_data::{apply_gap_policy, inspect, load_funding, load_tape, GapPolicy, Inspection};

use crate::lines_of;

const KLINES: &str = "binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz";

struct Broken {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

/// Writes the first 50 lines of the real file, transformed by `f`.
fn broken(f: impl FnOnce(&mut Vec<String>)) -> Broken {
    let mut lines: Vec<String> = lines_of(KLINES).into_iter().take(50).collect();
    f(&mut lines);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("BTCUSDT_broken.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    Broken { _dir: dir, path }
}

/// Rewrites field `i` of a CSV line with `f(old value)`.
fn edit(line: &mut String, i: usize, f: impl FnOnce(&str) -> String) {
    let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
    fields[i] = f(&fields[i]);
    *line = fields.join(",");
}

fn err(b: &Broken) -> String {
    load_tape(&b.path, None).unwrap_err().to_string()
}

fn assert_names(msg: &str, file: &str, line: u64, field: Option<&str>) {
    assert!(msg.contains(file), "no file in: {msg}");
    assert!(
        msg.contains(&format!("line {line}")),
        "no line {line} in: {msg}"
    );
    if let Some(f) = field {
        assert!(msg.contains(&format!("`{f}`")), "no field {f} in: {msg}");
    }
}

#[test]
fn truncated_row() {
    let b = broken(|l| l[10] = l[10].split(',').take(5).collect::<Vec<_>>().join(","));
    let e = err(&b);
    assert_names(&e, "BTCUSDT_broken.csv", 11, None);
    assert!(
        e.contains("expected 12 fields") && e.contains("found 5"),
        "{e}"
    );
}

#[test]
fn bad_number() {
    let b2 = broken(|l| {
        edit(&mut l[7], 2, |_| "12o34.5".into());
    });
    let e = err(&b2);
    assert_names(&e, "BTCUSDT_broken.csv", 8, Some("high"));
    assert!(e.contains("12o34.5"), "{e}");
}

#[test]
fn unsorted_rows() {
    let b = broken(|l| l.swap(20, 21));
    let e = err(&b);
    assert_names(&e, "BTCUSDT_broken.csv", 22, Some("time"));
    assert!(e.contains("out of order"), "{e}");
}

#[test]
fn duplicate_rows() {
    let b = broken(|l| {
        let dup = l[30].clone();
        l.insert(31, dup);
    });
    let e = err(&b);
    assert_names(&e, "BTCUSDT_broken.csv", 32, Some("time"));
    assert!(e.contains("duplicate") && e.contains("line 31"), "{e}");
}

#[test]
fn gap_is_reported_and_on_gap_decides() {
    let b = broken(|l| {
        l.drain(25..28);
    });
    let (mut t, r) = load_tape(&b.path, None).unwrap();
    assert_eq!(r.gaps.len(), 1);
    assert_eq!(r.gaps[0].missing_bars, 3);
    assert_eq!(r.gaps[0].line, 26);
    let e = apply_gap_policy(&b.path, &mut t.clone(), &r, GapPolicy::Error)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("1 gap") && e.contains("3m missing") && e.contains("line 26"),
        "{e}"
    );
    assert_eq!(
        apply_gap_policy(&b.path, &mut t.clone(), &r, GapPolicy::Skip).unwrap(),
        0
    );
    let n = t.len();
    assert_eq!(
        apply_gap_policy(&b.path, &mut t, &r, GapPolicy::Ffill).unwrap(),
        3
    );
    assert_eq!(t.len(), n + 3);
    assert!(t.ts.windows(2).all(|w| w[1] - w[0] == t.interval_ns));
}

#[test]
fn nan_and_non_positive_prices() {
    let b = broken(|l| {
        edit(&mut l[5], 4, |_| "NaN".into());
    });
    let e = err(&b);
    assert_names(&e, "BTCUSDT_broken.csv", 6, Some("close"));
    assert!(e.contains("NaN"), "{e}");
    let b = broken(|l| {
        edit(&mut l[5], 3, |_| "-1".into());
    });
    let e = err(&b);
    assert_names(&e, "BTCUSDT_broken.csv", 6, Some("low"));
    assert!(e.contains("positive"), "{e}");
}

#[test]
fn ohlc_inconsistency_is_an_error_and_inspect_lists_it() {
    let b = broken(|l| {
        edit(&mut l[9], 2, |_| "1.0".into()); // high below open and close
        edit(&mut l[9], 3, |_| "0.5".into());
    });
    let e = err(&b);
    assert_names(&e, "BTCUSDT_broken.csv", 10, Some("high"));
    assert!(e.contains("below max(open, close)"), "{e}");
    match inspect(&b.path, None).unwrap() {
        Inspection::Bars { report, .. } => {
            assert_eq!(report.anomalies.len(), 1);
            assert_eq!(report.anomalies[0].line, 10);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn headerless_and_microsecond_files() {
    let b = broken(|l| {
        l.remove(0);
    });
    let (t, _) = load_tape(&b.path, None).unwrap();
    assert_eq!(t.len(), 49);
    // Newer Binance spot files use microseconds: same instants.
    let us = broken(|l| {
        for line in l.iter_mut().skip(1) {
            edit(line, 0, |v| format!("{v}000"));
            edit(line, 6, |v| format!("{v}999"));
        }
    });
    let (tu, r) = load_tape(&us.path, None).unwrap();
    assert_eq!(r.time_unit, "us");
    let ms = broken(|_| {});
    let (tm, _) = load_tape(&ms.path, None).unwrap();
    assert_eq!(tu.ts, tm.ts);
    assert_eq!(tu.interval_ns, tm.interval_ns);
    // A unit change inside one file is refused.
    let mixed = broken(|l| {
        edit(&mut l[40], 0, |v| format!("{v}000"));
    });
    let e = err(&mixed);
    assert_names(&e, "BTCUSDT_broken.csv", 41, Some("open_time"));
}

#[test]
fn broken_funding_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.csv");
    std::fs::write(&p, "calc_time,funding_interval_hours,last_funding_rate\n1577836800000,8,0.0001\n1577836800000,8,0.0002\n").unwrap();
    let e = load_funding(&p).unwrap_err().to_string();
    assert!(e.contains("line 3") && e.contains("duplicate"), "{e}");
    std::fs::write(
        &p,
        "calc_time,funding_interval_hours,last_funding_rate\n1577836800000,8,abc\n",
    )
    .unwrap();
    let e = load_funding(&p).unwrap_err().to_string();
    assert!(
        e.contains("line 2") && e.contains("`last_funding_rate`"),
        "{e}"
    );
}

#[test]
fn undetectable_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.csv");
    std::fs::write(&p, "a,b,c\n1,2,3\n").unwrap();
    let e = load_tape(&p, None).unwrap_err().to_string();
    assert!(e.contains("x.csv") && e.contains("cannot detect"), "{e}");
    let e = load_tape(&dir.path().join("nope.csv"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope.csv"), "{e}");
}
