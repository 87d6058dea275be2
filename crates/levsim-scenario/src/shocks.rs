//! Shock overlays (`[[shock]]`): deterministic stresses applied on top of a
//! market path, historical or generated.

use levsim_core::time::{parse_iso, to_iso};
use levsim_core::{FundingSeries, MarketTape, TimestampNs};
use levsim_engine::liquidity::{FillResult, LiquidityModel};
use serde::{Deserialize, Serialize};

/// What a shock does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShockKind {
    /// From `at` on, every price is multiplied by `1 + size` (a gap).
    Gap,
    /// Within `[from, to)` log moves from the window's first open are
    /// multiplied by `factor`; after it, the path continues from where the
    /// stretched window ended (returns unchanged).
    VolScale,
    /// Adds `rate` to every funding payment in `[from, to)`.
    FundingSpike,
    /// Within `[from, to)` every liquidity model has `scale` of its depth.
    LiquidityDrain,
    /// Stale mark / oracle delay: within `[from, to)` the venue's price (mark,
    /// liquidation checks and fills, as on a venue that trades at its
    /// oracle) is the market's price `delay` earlier, frozen at the price at
    /// `from` until `from + delay`; at `to` it catches up in one gap. The
    /// delay is applied in whole bars (rounded to the nearest).
    StaleMark,
    /// Options' implied volatility within `[from, to)`: times `factor`, or
    /// plus `points` volatility points (a joint price-volatility stress
    /// with a `gap` on the underlying).
    Vol,
}

/// One `[[shock]]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShockConfig {
    /// Kind.
    pub kind: ShockKind,
    /// The instrument it hits, by symbol (markets of several instruments;
    /// default: every instrument).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrument: Option<String>,
    /// Gap: when (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Gap: relative size (−0.2 = a 20 % drop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<f64>,
    /// Window start (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Window end (RFC 3339, exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Vol scale: multiplier of log moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// Funding spike: rate added per funding event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Liquidity drain: share of depth left (0.2 = 80 % drained).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Vol: volatility points added (e.g. 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<f64>,
    /// Stale mark: how late the venue's price is, e.g. "1h".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
}

/// A validated shock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Shock {
    /// See [`ShockKind::Gap`].
    Gap {
        /// When the gap happens.
        at: TimestampNs,
        /// Relative size of the gap.
        size: f64,
    },
    /// See [`ShockKind::VolScale`].
    VolScale {
        /// Window start.
        from: TimestampNs,
        /// Window end (exclusive).
        to: TimestampNs,
        /// Multiplier of log moves.
        factor: f64,
    },
    /// See [`ShockKind::FundingSpike`].
    FundingSpike {
        /// Window start.
        from: TimestampNs,
        /// Window end (exclusive).
        to: TimestampNs,
        /// Rate added per funding event.
        rate: f64,
    },
    /// See [`ShockKind::LiquidityDrain`].
    LiquidityDrain {
        /// Window start.
        from: TimestampNs,
        /// Window end (exclusive).
        to: TimestampNs,
        /// Share of depth left.
        scale: f64,
    },
    /// See [`ShockKind::Vol`].
    Vol {
        /// Window start.
        from: TimestampNs,
        /// Window end (exclusive).
        to: TimestampNs,
        /// Multiplier of the volatility (1 with `points`).
        factor: f64,
        /// Points added (0 with `factor`).
        points: f64,
    },
    /// See [`ShockKind::StaleMark`].
    StaleMark {
        /// Window start.
        from: TimestampNs,
        /// Window end (exclusive).
        to: TimestampNs,
        /// How late the price is, ns.
        delay: i64,
    },
}

/// A fraction as a signed percentage, rounded to a millionth of a percent
/// so that binary noise (`-7.000000000000001`) does not show.
fn pct(x: f64) -> String {
    format!("{:+}", (x * 100.0 * 1e6).round() / 1e6)
}

impl std::fmt::Display for Shock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = |a: TimestampNs, b: TimestampNs| format!("{} to {}", to_iso(a), to_iso(b));
        match *self {
            Shock::Gap { at, size } => write!(f, "gap of {} % at {}", pct(size), to_iso(at)),
            Shock::VolScale { from, to, factor } => {
                write!(f, "log moves ×{factor} from {}", w(from, to))
            }
            Shock::FundingSpike { from, to, rate } => {
                write!(
                    f,
                    "funding {} % per payment from {}",
                    pct(rate),
                    w(from, to)
                )
            }
            Shock::LiquidityDrain { from, to, scale } => {
                write!(f, "depth ×{scale} from {}", w(from, to))
            }
            Shock::Vol {
                from,
                to,
                factor,
                points,
            } => {
                if points != 0.0 {
                    write!(
                        f,
                        "options' volatility {points:+} points from {}",
                        w(from, to)
                    )
                } else {
                    write!(f, "options' volatility ×{factor} from {}", w(from, to))
                }
            }
            Shock::StaleMark { from, to, delay } => write!(
                f,
                "mark {} stale from {}",
                levsim_core::time::fmt_duration(delay),
                w(from, to)
            ),
        }
    }
}

impl ShockConfig {
    /// Validates shock `i`; every problem names its field (`shock[i].size`).
    pub(crate) fn build(&self, i: usize, problems: &mut Vec<String>) -> Option<Shock> {
        let at = |k: &str| format!("shock[{i}].{k}");
        let before = problems.len();
        let time = |v: &Option<String>, k: &str, problems: &mut Vec<String>| -> TimestampNs {
            match v.as_deref().map(parse_iso) {
                Some(Ok(t)) => t,
                Some(Err(e)) => {
                    problems.push(format!("{}: {e}", at(k)));
                    0
                }
                None => {
                    problems.push(format!("{}: required for kind = {:?}", at(k), self.kind));
                    0
                }
            }
        };
        let num = |v: Option<f64>,
                   k: &str,
                   ok: &dyn Fn(f64) -> bool,
                   what: &str,
                   problems: &mut Vec<String>|
         -> f64 {
            match v {
                Some(x) if x.is_finite() && ok(x) => x,
                Some(x) => {
                    problems.push(format!("{}: {what}, got {x}", at(k)));
                    0.0
                }
                None => {
                    problems.push(format!("{}: required for kind = {:?}", at(k), self.kind));
                    0.0
                }
            }
        };
        let window = |problems: &mut Vec<String>| {
            let (f, t) = (
                time(&self.from, "from", problems),
                time(&self.to, "to", problems),
            );
            if self.from.is_some() && self.to.is_some() && t <= f {
                problems.push(format!("{}: must be after from", at("to")));
            }
            (f, t)
        };
        let shock = match self.kind {
            ShockKind::Gap => Shock::Gap {
                at: time(&self.at, "at", problems),
                size: num(self.size, "size", &|x| x > -1.0, "must be > −1", problems),
            },
            ShockKind::VolScale => {
                let (from, to) = window(problems);
                Shock::VolScale {
                    from,
                    to,
                    factor: num(self.factor, "factor", &|x| x > 0.0, "must be > 0", problems),
                }
            }
            ShockKind::FundingSpike => {
                let (from, to) = window(problems);
                Shock::FundingSpike {
                    from,
                    to,
                    rate: num(
                        self.rate,
                        "rate",
                        &|x| x.abs() < 1.0,
                        "must be a fraction with |rate| < 1",
                        problems,
                    ),
                }
            }
            ShockKind::LiquidityDrain => {
                let (from, to) = window(problems);
                Shock::LiquidityDrain {
                    from,
                    to,
                    scale: num(
                        self.scale,
                        "scale",
                        &|x| x > 0.0 && x <= 1.0,
                        "must be in (0, 1]",
                        problems,
                    ),
                }
            }
            ShockKind::Vol => {
                let (from, to) = window(problems);
                let (factor, points) = match (self.factor, self.points) {
                    (Some(f), None) if f.is_finite() && f > 0.0 => (f, 0.0),
                    (None, Some(p)) if p.is_finite() && p.abs() < 1_000.0 => (1.0, p),
                    (Some(_), Some(_)) => {
                        problems.push(format!(
                            "{}: give either factor or points, not both",
                            at("points")
                        ));
                        (1.0, 0.0)
                    }
                    (None, None) => {
                        problems.push(format!(
                            "{}: required for kind = \"vol\" (or factor)",
                            at("points")
                        ));
                        (1.0, 0.0)
                    }
                    (f, p) => {
                        problems.push(format!(
                            "{}: a factor > 0 or finite points, got factor {f:?}, points {p:?}",
                            at("points")
                        ));
                        (1.0, 0.0)
                    }
                };
                Shock::Vol {
                    from,
                    to,
                    factor,
                    points,
                }
            }
            ShockKind::StaleMark => {
                let (from, to) = window(problems);
                let delay = match self.delay.as_deref().map(levsim_core::time::parse_duration) {
                    Some(Ok(ns)) if ns > 0 => ns,
                    Some(Ok(_)) => {
                        problems.push(format!("{}: must be longer than zero", at("delay")));
                        0
                    }
                    Some(Err(e)) => {
                        problems.push(format!("{}: {e}", at("delay")));
                        0
                    }
                    None => {
                        problems.push(format!(
                            "{}: required for kind = {:?}",
                            at("delay"),
                            self.kind
                        ));
                        0
                    }
                };
                Shock::StaleMark { from, to, delay }
            }
        };
        // Keys another kind uses are refused, not silently ignored.
        for (k, set, kinds) in [
            ("at", self.at.is_some(), &[ShockKind::Gap][..]),
            ("size", self.size.is_some(), &[ShockKind::Gap][..]),
            (
                "factor",
                self.factor.is_some(),
                &[ShockKind::VolScale, ShockKind::Vol][..],
            ),
            ("points", self.points.is_some(), &[ShockKind::Vol][..]),
            ("rate", self.rate.is_some(), &[ShockKind::FundingSpike][..]),
            (
                "scale",
                self.scale.is_some(),
                &[ShockKind::LiquidityDrain][..],
            ),
            ("delay", self.delay.is_some(), &[ShockKind::StaleMark][..]),
            (
                "from",
                self.from.is_some(),
                &[
                    ShockKind::VolScale,
                    ShockKind::FundingSpike,
                    ShockKind::LiquidityDrain,
                    ShockKind::StaleMark,
                    ShockKind::Vol,
                ][..],
            ),
        ] {
            if set && !kinds.contains(&self.kind) {
                problems.push(format!("{}: not used by kind = {:?}", at(k), self.kind));
            }
        }
        (problems.len() == before).then_some(shock)
    }
}

/// Applies the price and funding shocks, in order, to a path.
pub fn apply(shocks: &[Shock], tape: &mut MarketTape, funding: &mut Option<FundingSeries>) {
    for s in shocks {
        match *s {
            Shock::Gap { at, size } => {
                let k = tape.ts.partition_point(|&t| t < at);
                scale_from(tape, k, 1.0 + size);
            }
            Shock::VolScale { from, to, factor } => {
                let a = tape.ts.partition_point(|&t| t < from);
                let b = tape.ts.partition_point(|&t| t < to);
                if a >= b {
                    continue;
                }
                // x ↦ base·(x/base)^factor is increasing for factor > 0, so
                // every bar keeps low ≤ open, close ≤ high.
                let base = tape.open[a];
                let end_before = tape.close[b - 1];
                for col in [
                    &mut tape.open,
                    &mut tape.high,
                    &mut tape.low,
                    &mut tape.close,
                ] {
                    col[a..b]
                        .iter_mut()
                        .for_each(|v| *v = base * (*v / base).powf(factor));
                }
                scale_from(tape, b, tape.close[b - 1] / end_before);
            }
            Shock::FundingSpike { from, to, rate } => {
                if let Some(f) = funding {
                    for (t, r) in f.ts.iter().zip(f.rate.iter_mut()) {
                        if (from..to).contains(t) {
                            *r += rate;
                        }
                    }
                }
            }
            // Options' volatility is shocked where it is built.
            Shock::LiquidityDrain { .. } | Shock::Vol { .. } => {}
            Shock::StaleMark { from, to, delay } => {
                let a = tape.ts.partition_point(|&t| t < from);
                let b = tape.ts.partition_point(|&t| t < to);
                let k = ((delay as f64 / tape.interval_ns.max(1) as f64).round() as usize).min(b);
                if a >= b || k == 0 {
                    continue;
                }
                let p = tape.open[a];
                // From the end backwards, so every source bar is read before
                // it is overwritten.
                for i in (a..b).rev() {
                    let (o, h, l, c) = if i >= a + k {
                        let j = i - k;
                        (tape.open[j], tape.high[j], tape.low[j], tape.close[j])
                    } else {
                        (p, p, p, p)
                    };
                    tape.open[i] = o;
                    tape.high[i] = h;
                    tape.low[i] = l;
                    tape.close[i] = c;
                }
            }
        }
    }
}

/// Multiplies every price from bar `k` on by `factor`.
fn scale_from(tape: &mut MarketTape, k: usize, factor: f64) {
    for col in [
        &mut tape.open,
        &mut tape.high,
        &mut tape.low,
        &mut tape.close,
    ] {
        col[k..].iter_mut().for_each(|v| *v *= factor);
    }
}

/// A liquidity model with drain windows: inside a window an order of `q`
/// meets the liquidity an order of `q / scale` meets normally (the same as
/// scaling every depth by `scale` for the linear, square-root and book
/// models).
#[derive(Debug, Clone)]
pub struct Drained<L> {
    /// The model.
    pub inner: L,
    /// `(from, to, scale)` windows.
    pub windows: Vec<(TimestampNs, TimestampNs, f64)>,
}

impl<L> Drained<L> {
    fn scale_at(&self, t: TimestampNs) -> f64 {
        self.windows
            .iter()
            .filter(|w| (w.0..w.1).contains(&t))
            .map(|w| w.2)
            .fold(1.0, |a, s| a * s)
    }
}

impl<L: LiquidityModel> LiquidityModel for Drained<L> {
    fn fill(&mut self, t: TimestampNs, mid: f64, qty: f64) -> FillResult {
        let s = self.scale_at(t);
        let mut r = self.inner.fill(t, mid, qty / s);
        r.filled *= s;
        r.unfilled *= s;
        r
    }
    fn impact(&self, t: TimestampNs) -> f64 {
        self.inner.impact(t)
    }
    fn reset(&mut self) {
        self.inner.reset();
    }
}

/// The drain windows among `shocks`.
pub fn drain_windows(shocks: &[Shock]) -> Vec<(TimestampNs, TimestampNs, f64)> {
    shocks
        .iter()
        .filter_map(|s| match *s {
            Shock::LiquidityDrain { from, to, scale } => Some((from, to, scale)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shocks_describe_themselves_without_binary_noise() {
        let gap = Shock::Gap { at: 0, size: -0.07 };
        assert_eq!(gap.to_string(), "gap of -7 % at 1970-01-01T00:00:00Z");
        assert_eq!(pct(0.0125), "+1.25");
        assert_eq!(pct(-0.07 - 1e-17), "-7");
        assert_eq!(pct(0.1 + 0.2), "+30");
    }

    fn flat(n: usize) -> MarketTape {
        let mut t = MarketTape {
            symbol: "X".into(),
            interval_ns: 60,
            ..Default::default()
        };
        for i in 0..n {
            t.push(i as i64 * 60, 100.0, 100.0, 100.0, 100.0, 1.0);
        }
        t
    }

    #[test]
    fn overlays_on_a_flat_path_do_what_they_say() {
        // Gap of −20 % at bar 5.
        let mut t = flat(10);
        apply(
            &[Shock::Gap {
                at: 300,
                size: -0.2,
            }],
            &mut t,
            &mut None,
        );
        assert_eq!(t.close[4], 100.0);
        assert!((t.open[5] - 80.0).abs() < 1e-12 && (t.close[9] - 80.0).abs() < 1e-12);
        // Volatility scaling: a 10 % rise inside the window becomes ~21 % at
        // factor 2; after the window the path keeps its own returns.
        let mut t = flat(10);
        for i in 3..10 {
            t.close[i] = 110.0;
            t.high[i] = 110.0;
            if i > 3 {
                t.open[i] = 110.0;
                t.low[i] = 110.0;
            }
        }
        apply(
            &[Shock::VolScale {
                from: 180,
                to: 300,
                factor: 2.0,
            }],
            &mut t,
            &mut None,
        );
        assert!((t.close[3] - 121.0).abs() < 1e-9, "{}", t.close[3]);
        assert!((t.close[9] - 121.0).abs() < 1e-9);
        assert_eq!(t.close[2], 100.0);
        // Funding spike on the events inside the window only.
        let mut f = Some(FundingSeries {
            ts: vec![0, 100, 200],
            rate: vec![0.0001; 3],
        });
        apply(
            &[Shock::FundingSpike {
                from: 50,
                to: 150,
                rate: 0.01,
            }],
            &mut flat(3),
            &mut f,
        );
        assert_eq!(f.unwrap().rate, vec![0.0001, 0.0101, 0.0001]);
    }

    /// On a ramp (+1 per bar) a 3-bar stale mark over bars 10..20 freezes
    /// at bar 10's open for 3 bars, then lags 3 bars, then gaps back.
    #[test]
    fn a_stale_mark_freezes_then_lags_then_catches_up() {
        let mut t = flat(30);
        for i in 0..30 {
            let p = 100.0 + i as f64;
            t.open[i] = p;
            t.low[i] = p;
            t.close[i] = p + 1.0;
            t.high[i] = p + 1.0;
        }
        let orig = t.clone();
        let stale = Shock::StaleMark {
            from: 600,
            to: 1200,
            delay: 180,
        };
        apply(&[stale], &mut t, &mut None);
        for i in 10..13 {
            assert_eq!(
                (t.open[i], t.high[i], t.low[i], t.close[i]),
                (110.0, 110.0, 110.0, 110.0)
            );
        }
        for i in 13..20 {
            assert_eq!(t.close[i], orig.close[i - 3], "bar {i}");
            assert_eq!(t.open[i], orig.open[i - 3], "bar {i}");
        }
        assert_eq!(t.close[9], orig.close[9]);
        // The catch-up: bar 20 opens at its true price, the 3 bars of the
        // ramp the mark was behind above the last stale close.
        assert_eq!(t.open[20], orig.open[20]);
        assert_eq!(t.open[20] - t.close[19], 3.0);
        // A flat path has nothing to delay.
        let mut f = flat(30);
        apply(&[stale], &mut f, &mut None);
        assert_eq!(f, flat(30));
        let m = 60_000_000_000;
        let shown = Shock::StaleMark {
            from: 10 * m,
            to: 20 * m,
            delay: 3 * m,
        };
        assert_eq!(
            shown.to_string(),
            "mark 3m stale from 1970-01-01T00:10:00Z to 1970-01-01T00:20:00Z"
        );
    }

    #[test]
    fn keys_of_another_kind_are_refused() {
        let c = ShockConfig {
            kind: ShockKind::Gap,
            instrument: None,
            points: None,
            at: Some("2020-01-01T00:00:00Z".into()),
            size: Some(-0.1),
            from: None,
            to: None,
            factor: None,
            rate: None,
            scale: None,
            delay: Some("1h".into()),
        };
        let mut problems = Vec::new();
        assert!(c.build(2, &mut problems).is_none());
        assert_eq!(
            problems,
            vec!["shock[2].delay: not used by kind = Gap".to_string()]
        );
    }

    #[test]
    fn a_drain_thins_every_depth_inside_its_window() {
        use levsim_engine::liquidity::LinearImpact;
        let mut d = Drained {
            inner: LinearImpact::new(1e6, 1.0, f64::INFINITY),
            windows: vec![(100, 200, 0.25)],
        };
        let out = d.fill(50, 100.0, -100.0); // 10,000 quote: −1 %
        assert!((out.last_price - 99.0).abs() < 1e-9);
        let inside = d.fill(150, 100.0, -100.0); // a quarter of the depth: −4 %
        assert!((inside.last_price - 96.0).abs() < 1e-9);
        assert!((inside.filled - 100.0).abs() < 1e-9);
    }
}
