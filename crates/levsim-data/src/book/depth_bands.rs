//! Binance `bookDepth` files (data.binance.vision, futures `bookDepth`):
//! `timestamp,percentage,depth,notional`, every 30–60 s, the cumulative
//! base size (`depth`) and quote value (`notional`) within ±1..5 % of mid
//! (negative percentages: bids). Each sample becomes a snapshot of a coarse
//! book: one level per band, at the band's average price
//! `Δnotional / Δdepth` with size `Δdepth`.

use std::collections::BTreeMap;
use std::path::Path;

use levsim_core::time::parse_naive_utc;
use levsim_core::{BookMessageKind, BookSide, BookTape, TradeTape};

use super::{check_time, Loaded};
use crate::klines::parse_f64;
use crate::reader::CsvRows;
use crate::DataError;

/// One band as read: percentage, cumulative depth and notional, line.
type Band = (f64, f64, f64, u64);

/// All bands of one sample time, with the sample's first line.
struct Sample {
    ts: i64,
    line: u64,
    bands: Vec<Band>,
}

pub(crate) fn load(path: &Path) -> Result<Loaded, DataError> {
    let file = path.display().to_string();
    let mut rows = CsvRows::open(
        path,
        |n| n == 4,
        "4 fields (timestamp,percentage,depth,notional)",
    )?;
    let mut samples: Vec<Sample> = Vec::new();
    let mut prev_ts = None;
    while let Some((line, rec)) = rows.next_row()? {
        let ts = parse_naive_utc(&rec[0]).ok_or_else(|| DataError::Field {
            file: file.clone(),
            line,
            field: "timestamp".into(),
            message: format!("cannot parse {:?} as `YYYY-MM-DD HH:MM:SS` UTC", &rec[0]),
        })?;
        check_time(&file, line, prev_ts, ts)?;
        prev_ts = Some(ts);
        let pct = parse_f64(&file, line, "percentage", &rec[1])?;
        if pct == 0.0 || pct.abs() > 100.0 {
            return Err(DataError::Field {
                file,
                line,
                field: "percentage".into(),
                message: format!("must be a non-zero band within ±100, got {pct}"),
            });
        }
        let depth = parse_f64(&file, line, "depth", &rec[2])?;
        let notional = parse_f64(&file, line, "notional", &rec[3])?;
        if depth < 0.0 || notional < 0.0 {
            return Err(DataError::Field {
                file,
                line,
                field: "depth".into(),
                message: format!("depth and notional must be ≥ 0, got {depth} and {notional}"),
            });
        }
        match samples.last_mut() {
            Some(s) if s.ts == ts => s.bands.push((pct, depth, notional, line)),
            _ => samples.push(Sample {
                ts,
                line,
                bands: vec![(pct, depth, notional, line)],
            }),
        }
    }
    let mut tape = BookTape::new(crate::symbol_from_path(path).unwrap_or_default());
    let mut lines = Vec::new();
    for Sample {
        ts,
        line: first_line,
        bands,
    } in samples
    {
        let mut levels = Vec::new();
        for (side, sign) in [(BookSide::Bid, -1.0), (BookSide::Ask, 1.0)] {
            let by_pct: BTreeMap<u64, (f64, f64, u64)> = bands
                .iter()
                .filter(|b| b.0.signum() == sign)
                .map(|&(p, d, n, l)| (p.abs().to_bits(), (d, n, l)))
                .collect();
            let (mut d0, mut n0) = (0.0, 0.0);
            for (_, (d, n, l)) in by_pct {
                if d < d0 || n < n0 {
                    return Err(DataError::Field {
                        file,
                        line: l,
                        field: "depth".into(),
                        message: "cumulative depth must not fall as the band widens".into(),
                    });
                }
                let (dd, dn) = (d - d0, n - n0);
                if dd > 0.0 {
                    levels.push((side, dn / dd, dd));
                }
                (d0, n0) = (d, n);
            }
        }
        tape.push(ts, BookMessageKind::Snapshot, (0, 0), levels);
        lines.push(first_line);
    }
    Ok(Loaded {
        tape,
        trades: TradeTape::default(),
        lines,
    })
}
