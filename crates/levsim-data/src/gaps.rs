//! What to do with missing bars.

use std::path::Path;

use levsim_core::MarketTape;
use serde::{Deserialize, Serialize};

use crate::{DataError, DataReport};

/// A scenario's choice for gaps in the bars (`[market] on_gap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GapPolicy {
    /// Refuse to run on data with gaps (the default: gaps are visible, never silent).
    #[default]
    Error,
    /// Run across gaps: the price jumps from the last close before the gap to
    /// the first open after it, and a liquidation price crossed by that jump
    /// fills at the open (a gap fill).
    Skip,
    /// Insert flat bars (open = high = low = close = last close, volume 0) for
    /// every missing interval.
    Ffill,
}

/// Applies `policy` to a tape whose gaps are listed in `report`; returns the
/// number of bars inserted (ffill) or an error (error).
pub fn apply_gap_policy(
    path: &Path,
    tape: &mut MarketTape,
    report: &DataReport,
    policy: GapPolicy,
) -> Result<usize, DataError> {
    let interval = tape.interval_ns;
    // Only gaps inside the tape matter (the tape may be a window of the file).
    let (first, last) = match (tape.ts.first(), tape.ts.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => return Ok(0),
    };
    let inside: Vec<_> = report.gaps_within(first, last).collect();
    match policy {
        GapPolicy::Skip => Ok(0),
        GapPolicy::Error => match inside.first() {
            None => Ok(0),
            Some(g) => Err(DataError::Gaps {
                file: path.display().to_string(),
                count: inside.len(),
                first: g.describe(interval),
            }),
        },
        GapPolicy::Ffill => {
            if inside.is_empty() || interval <= 0 {
                return Ok(0);
            }
            let n_new = tape.len()
                + inside
                    .iter()
                    .map(|g| g.missing_bars as usize)
                    .sum::<usize>();
            let mut out = MarketTape {
                symbol: tape.symbol.clone(),
                interval_ns: interval,
                ..Default::default()
            };
            out.ts.reserve(n_new);
            let mut inserted = 0;
            for i in 0..tape.len() {
                if i > 0 {
                    let mut t = tape.ts[i - 1] + interval;
                    let c = tape.close[i - 1];
                    while t < tape.ts[i] {
                        out.push(t, c, c, c, c, 0.0);
                        inserted += 1;
                        t += interval;
                    }
                }
                out.push(
                    tape.ts[i],
                    tape.open[i],
                    tape.high[i],
                    tape.low[i],
                    tape.close[i],
                    tape.volume[i],
                );
            }
            *tape = out;
            Ok(inserted)
        }
    }
}
