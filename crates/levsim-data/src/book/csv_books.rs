//! CSV book formats: Binance depth snapshot/update (Nautilus) and Tardis
//! `incremental_book_L2` / `book_snapshot_25`.

use std::path::Path;

use levsim_core::{BookMessageKind, BookSide, BookTape, TradeTape};

use super::{check_level, check_time, Loaded};
use crate::klines::{parse_f64, parse_i64};
use crate::reader::CsvRows;
use crate::DataError;

fn side_of(file: &str, line: u64, s: &str) -> Result<BookSide, DataError> {
    match s {
        "b" | "bid" | "buy" => Ok(BookSide::Bid),
        "a" | "ask" | "sell" => Ok(BookSide::Ask),
        other => Err(DataError::Field {
            file: file.into(),
            line,
            field: "side".into(),
            message: format!("expected b/a or bid/ask, got {other:?}"),
        }),
    }
}

/// Groups consecutive rows with the same key into one message.
struct Grouper {
    tape: BookTape,
    lines: Vec<u64>,
    cur: Option<(i64, BookMessageKind, (u64, u64), u64)>,
    levels: Vec<(BookSide, f64, f64)>,
}

impl Grouper {
    fn new() -> Self {
        Self {
            tape: BookTape::new(""),
            lines: Vec::new(),
            cur: None,
            levels: Vec::new(),
        }
    }

    fn row(
        &mut self,
        ts: i64,
        kind: BookMessageKind,
        seq: (u64, u64),
        line: u64,
        level: (BookSide, f64, f64),
    ) {
        if self.cur.is_some_and(|c| (c.0, c.1, c.2) != (ts, kind, seq)) {
            self.flush();
        }
        if self.cur.is_none() {
            self.cur = Some((ts, kind, seq, line));
        }
        self.levels.push(level);
    }

    fn flush(&mut self) {
        if let Some((ts, kind, seq, line)) = self.cur.take() {
            self.tape.push(ts, kind, seq, self.levels.drain(..));
            self.lines.push(line);
        }
    }

    fn finish(mut self, symbol: String) -> Loaded {
        self.flush();
        self.tape.symbol = symbol;
        Loaded {
            tape: self.tape,
            trades: TradeTape::default(),
            lines: self.lines,
        }
    }
}

/// `symbol,timestamp(ms),first_update_id,last_update_id,side,update_type(snap|set),price,qty,pu`.
pub(crate) fn load_nautilus(path: &Path) -> Result<Loaded, DataError> {
    let file = path.display().to_string();
    let mut rows = CsvRows::open(path, |n| n == 9, "9 fields")?;
    let mut g = Grouper::new();
    let (mut symbol, mut prev_ts, mut prev_last) = (String::new(), None, None::<u64>);
    while let Some((line, rec)) = rows.next_row()? {
        symbol = rec[0].to_string();
        let ts = crate::klines::parse_ts(&file, line, "timestamp", &rec[1], 1_000_000)?;
        check_time(&file, line, prev_ts, ts)?;
        prev_ts = Some(ts);
        let first = parse_i64(&file, line, "first_update_id", &rec[2])? as u64;
        let last = parse_i64(&file, line, "last_update_id", &rec[3])? as u64;
        let side = side_of(&file, line, &rec[4])?;
        let kind = match &rec[5] {
            "snap" => BookMessageKind::Snapshot,
            "set" => BookMessageKind::Delta,
            other => {
                return Err(DataError::Field {
                    file,
                    line,
                    field: "update_type".into(),
                    message: format!("expected snap or set, got {other:?}"),
                })
            }
        };
        let (p, q) = (
            parse_f64(&file, line, "price", &rec[6])?,
            parse_f64(&file, line, "qty", &rec[7])?,
        );
        check_level(&file, line, p, q)?;
        let new_message = g
            .cur
            .is_none_or(|c| (c.0, c.1, c.2) != (ts, kind, (first, last)));
        if new_message && kind == BookMessageKind::Delta {
            let pu = parse_i64(&file, line, "pu", &rec[8])?;
            if prev_last.is_some_and(|pl| pu as u64 != pl) {
                g.tape.sequence_gaps += 1;
            }
        }
        if new_message {
            prev_last = Some(last);
        }
        g.row(ts, kind, (first, last), line, (side, p, q));
    }
    Ok(g.finish(symbol))
}

/// `exchange,symbol,timestamp(µs),local_timestamp,is_snapshot,side,price,amount`.
pub(crate) fn load_tardis_l2(path: &Path) -> Result<Loaded, DataError> {
    let file = path.display().to_string();
    let mut rows = CsvRows::open(path, |n| n == 8, "8 fields")?;
    let mut g = Grouper::new();
    let (mut symbol, mut prev_ts) = (String::new(), None);
    let mut seq = 0u64;
    let mut prev_key: Option<(i64, bool)> = None;
    while let Some((line, rec)) = rows.next_row()? {
        symbol = rec[1].to_string();
        let ts = crate::klines::parse_ts(&file, line, "timestamp", &rec[2], 1_000)?;
        check_time(&file, line, prev_ts, ts)?;
        prev_ts = Some(ts);
        let snap = match &rec[4] {
            "true" => true,
            "false" => false,
            other => {
                return Err(DataError::Field {
                    file,
                    line,
                    field: "is_snapshot".into(),
                    message: format!("expected true or false, got {other:?}"),
                })
            }
        };
        // A snapshot following updates starts a new book; rows of one
        // timestamp and kind form one message.
        if prev_key != Some((ts, snap)) {
            seq += 1;
            prev_key = Some((ts, snap));
        }
        let side = side_of(&file, line, &rec[5])?;
        let (p, q) = (
            parse_f64(&file, line, "price", &rec[6])?,
            parse_f64(&file, line, "amount", &rec[7])?,
        );
        check_level(&file, line, p, q)?;
        let kind = if snap {
            BookMessageKind::Snapshot
        } else {
            BookMessageKind::Delta
        };
        g.row(ts, kind, (seq, seq), line, (side, p, q));
    }
    Ok(g.finish(symbol))
}

/// `exchange,symbol,timestamp(µs),local_timestamp, asks[k].price, asks[k].amount, bids[k].price, bids[k].amount …`.
pub(crate) fn load_tardis_snapshot(path: &Path) -> Result<Loaded, DataError> {
    let file = path.display().to_string();
    let mut rows = CsvRows::open(path, |n| n >= 8 && (n - 4) % 4 == 0, "4 + 4·k fields")?;
    let mut g = Grouper::new();
    let (mut symbol, mut prev_ts) = (String::new(), None);
    let mut n = 0u64;
    while let Some((line, rec)) = rows.next_row()? {
        symbol = rec[1].to_string();
        let ts = crate::klines::parse_ts(&file, line, "timestamp", &rec[2], 1_000)?;
        check_time(&file, line, prev_ts, ts)?;
        prev_ts = Some(ts);
        n += 1;
        let mut lv = Vec::new();
        for k in 0..(rec.len() - 4) / 4 {
            let base = 4 + 4 * k;
            for (side, off, name) in [(BookSide::Ask, 0, "asks"), (BookSide::Bid, 2, "bids")] {
                let (ps, qs) = (&rec[base + off], &rec[base + off + 1]);
                if ps.is_empty() {
                    continue; // fewer levels than the header's 25
                }
                let p = parse_f64(&file, line, &format!("{name}[{k}].price"), ps)?;
                let q = parse_f64(&file, line, &format!("{name}[{k}].amount"), qs)?;
                check_level(&file, line, p, q)?;
                lv.push((side, p, q));
            }
        }
        for level in lv {
            g.row(ts, BookMessageKind::Snapshot, (n, n), line, level);
        }
        g.flush();
    }
    Ok(g.finish(symbol))
}
