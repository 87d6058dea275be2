//! `levsim data inspect|import`.

use std::path::Path;

use levsim_core::time::{fmt_duration, to_iso};
use levsim_data::{inspect as inspect_file, load_tape, write_parquet_tape, Format, Inspection};

use crate::Failure;

pub(crate) fn parse_format(s: Option<&str>) -> Result<Option<Format>, Failure> {
    s.map(Format::from_name)
        .transpose()
        .map_err(|m| Failure::input(anyhow::anyhow!("--format: {m}")))
}

pub(crate) fn inspect(file: &Path, format: Option<&str>, json: bool) -> Result<(), Failure> {
    let format = parse_format(format)?;
    let ins = inspect_file(file, format).map_err(Failure::input)?;
    // As a validator: exit 2 when a row would make `levsim run` refuse the
    // file, after listing every such row (text and --json alike).
    let problems = match &ins {
        Inspection::Bars { report, .. } => report.anomalies.len(),
        _ => 0,
    };
    let verdict = || {
        if problems == 0 {
            Ok(())
        } else {
            Err(Failure::input(anyhow::anyhow!(
                "{}: {problems} row problem(s) above; `levsim run` refuses this file until they are fixed",
                file.display()
            )))
        }
    };
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&ins).map_err(Failure::other)?
        );
        return verdict();
    }
    match ins {
        Inspection::Book(b) => {
            let or_none = |v: Option<f64>| v.map_or("none".to_string(), |x| format!("{x}"));
            outln!("file:      {}", b.file);
            outln!(
                "format:    {} ({}; {} messages, {} trades)",
                b.format,
                b.format.describe(),
                b.messages,
                b.trades
            );
            outln!("symbol:    {}", b.symbol);
            outln!(
                "range:     {} .. {}",
                b.first.as_deref().unwrap_or("none"),
                b.last.as_deref().unwrap_or("none")
            );
            outln!(
                "sequence gaps: {}; crossed levels repaired: {}",
                b.sequence_gaps,
                b.crossed_repairs
            );
            outln!(
                "book after the last message: bid {} / ask {} (spread {}), {} bid and {} ask levels",
                or_none(b.best_bid),
                or_none(b.best_ask),
                or_none(b.spread),
                b.bid_levels,
                b.ask_levels
            );
            outln!(
                "depth within 1 % of mid: bids {}, asks {} (base units)",
                or_none(b.bid_depth_1pct),
                or_none(b.ask_depth_1pct)
            );
        }
        Inspection::Trades(t) => {
            outln!("file:      {}", t.file);
            outln!("trades:    {}", t.trades);
            outln!(
                "range:     {} .. {}",
                t.first.unwrap_or_default(),
                t.last.unwrap_or_default()
            );
            outln!(
                "taker buys {} / sells {} (size)",
                t.taker_buy_size,
                t.taker_sell_size
            );
            if let Some((lo, hi)) = t.price_range {
                outln!("prices:    {lo} .. {hi}");
            }
        }
        Inspection::Funding(f) => {
            outln!("file:      {}", f.file);
            outln!("format:    binance-funding");
            outln!("rows:      {}", f.rows);
            outln!("range:     {} .. {}", f.first, f.last);
            outln!(
                "rate:      min {:.6}  mean {:.6}  max {:.6} (fraction per interval)",
                f.min_rate,
                f.mean_rate,
                f.max_rate
            );
        }
        Inspection::Bars {
            symbol,
            report,
            prices,
        } => {
            outln!("file:      {}", report.file);
            outln!(
                "format:    {} (time unit: {})",
                report.format,
                report.time_unit
            );
            if !symbol.is_empty() {
                outln!("symbol:    {symbol} (from the file name)");
            }
            outln!("rows:      {}", report.rows);
            if let (Some(a), Some(b)) = (report.first_ts, report.last_ts) {
                outln!(
                    "range:     {} .. {} (bar open times, UTC)",
                    to_iso(a),
                    to_iso(b)
                );
            }
            outln!("interval:  {}", fmt_duration(report.interval_ns));
            if let Some(p) = prices {
                outln!("low:       {} at {}", p.min_low, p.min_low_at);
                outln!("high:      {} at {}", p.max_high, p.max_high_at);
            }
            outln!(
                "gaps:      {} ({} missing bars)",
                report.gaps.len(),
                report.missing_bars()
            );
            for g in report.gaps.iter().take(20) {
                outln!("  - {}", g.describe(report.interval_ns));
            }
            if report.gaps.len() > 20 {
                outln!("  … {} more (use --json for all)", report.gaps.len() - 20);
            }
            outln!("anomalies: {}", report.anomalies.len());
            for a in &report.anomalies {
                outln!("  - line {}, field `{}`: {}", a.line, a.field, a.message);
            }
            if !report.gaps.is_empty() {
                outln!(
                    "note:      gaps are not errors here; `levsim run` needs `on_gap = \"skip\"` or `\"ffill\"` for a window that crosses one"
                );
            }
        }
    }
    verdict()
}

pub(crate) fn import(
    file: &Path,
    out: &Path,
    format: Option<&str>,
    force: bool,
) -> Result<(), Failure> {
    let format = parse_format(format)?;
    if out.extension().and_then(|e| e.to_str()) != Some("parquet") {
        return Err(Failure::input(anyhow::anyhow!(
            "--out: {} must end in .parquet",
            out.display()
        )));
    }
    if out.exists() && !force {
        return Err(Failure::input(anyhow::anyhow!(
            "--out: {} exists; pass --force to replace it",
            out.display()
        )));
    }
    let (tape, report) = load_tape(file, format).map_err(Failure::input)?;
    write_parquet_tape(out, &tape).map_err(Failure::other)?;
    outln!(
        "wrote {} ({} bars, {} .. {}, {} gaps kept as gaps)",
        out.display(),
        tape.len(),
        report.first_ts.map(to_iso).unwrap_or_default(),
        report.last_ts.map(to_iso).unwrap_or_default(),
        report.gaps.len()
    );
    Ok(())
}
