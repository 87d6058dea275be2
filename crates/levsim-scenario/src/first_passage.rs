//! Liquidation times inside coarse bars ([`crate::generators::Coarse`]).
//!
//! A coarse bar's low is the exact minimum of the Brownian bridge (in log
//! price) between its open and close, so whether a static position's
//! liquidation price is reached in it has its exact probability; what the
//! bar does not tell is *when*. The first passage time `τ` of a barrier
//! `b` has a known law given the bar's open `x`, close `y`, total variance
//! `v` and its minimum `m ≤ b`: by the strong Markov property at `τ` its
//! density is the hitting density of `b` from `x` at `t` times the density
//! that the bridge from `b` at `t` to `y` has its minimum at `m`, which
//! (by reflection) is a hitting density again:
//! `f(t) ∝ h(α, t)·h(γ, T − t)`, `h(d, t) = d·t^{-3/2}·e^{−d²/(2vt/T)}`,
//! with `α = x − b` and `γ = (y − m) + (b − m)`. With `r = t/(T − t)` it is
//! the mixture `(IG + μ·size-biased IG)/(1 + μ)` of the inverse Gaussian
//! law `IG(μ = α/γ, λ = α²/v)` (the drift cancels in a bridge); [`hit_cdf`]
//! is its distribution function. Given the minimum, the times of all
//! barriers come from one path, so their laws are ordered (a barrier
//! further from the open is reached later); [`refine`] inverts one uniform
//! per path and bar for every run liquidated in that bar (a comonotone
//! coupling): each run's time has its exact law, and runs on the same path
//! keep the order of their liquidation prices.

use crate::generators::Coarse;
use levsim_core::{MarketTape, Side};
use levsim_engine::RunOutput;
use levsim_options::black76::norm_cdf;

/// `P(τ ≤ s·T | x, y, m)` at `s` in `[0, 1]`, for a barrier `alpha > 0`
/// below the open and a bar whose minimum is `gamma = (y − m) + (b − m)`
/// away in the sense of the module doc, with total variance `v` (σ²·T):
/// `Φ(a) + ((γ − α)/(γ + α))·e^{2αγ/v}·Φ(−c)` at `r = s/(1 − s)`,
/// `a = (rγ − α)/√(vr)`, `c = (rγ + α)/√(vr)`, the second term computed as
/// `e^{−a²/2}·M(c)` (`c²/2 = a²/2 + 2αγ/v`) so that it neither overflows
/// nor underflows. (With `γ = |y − b|` and coefficient 1 instead it is the
/// law given only that the barrier is reached; the tests hold the two
/// against each other.)
pub fn hit_cdf(alpha: f64, gamma: f64, v: f64, s: f64) -> f64 {
    ig_mix(alpha, gamma, v, s, (gamma - alpha) / (gamma + alpha))
}

/// `Φ(a) + w·e^{−a²/2}·M(c)` (see [`hit_cdf`]).
fn ig_mix(alpha: f64, gamma: f64, v: f64, s: f64, w: f64) -> f64 {
    if s <= 0.0 {
        return 0.0;
    }
    if s >= 1.0 {
        return 1.0;
    }
    let r = s / (1.0 - s);
    let root = (v * r).sqrt();
    let a = (r * gamma - alpha) / root;
    let c = (r * gamma + alpha) / root;
    (norm_cdf(a) + w * (-0.5 * a * a).exp() * mills(c)).clamp(0.0, 1.0)
}

/// `M(z) = Φ(−z)·e^{z²/2}` for `z ≥ 0`: directly while both factors are
/// representable, beyond by its asymptotic series (relative error below
/// 1e-12 there).
fn mills(z: f64) -> f64 {
    if z <= 37.0 {
        return norm_cdf(-z) * (0.5 * z * z).exp();
    }
    let w = 1.0 / (z * z);
    let series = 1.0 - w * (1.0 - 3.0 * w * (1.0 - 5.0 * w * (1.0 - 7.0 * w)));
    series / (z * (2.0 * std::f64::consts::PI).sqrt())
}

/// The step of a bar of `steps` steps in which the bridge first reached the
/// barrier, for the uniform `u`: the smallest `k` with
/// `hit_cdf(…, (k + 1)/steps) > u` (bisection, `log2(steps)` evaluations).
pub fn hit_step(alpha: f64, gamma: f64, v: f64, steps: usize, u: f64) -> usize {
    let (mut lo, mut hi) = (0, steps.saturating_sub(1));
    while lo < hi {
        let mid = (lo + hi) / 2;
        if hit_cdf(alpha, gamma, v, (mid + 1) as f64 / steps as f64) > u {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Moves the liquidations of a run on coarse bars to the step at which
/// the price reached their trigger, drawn from its exact law (see the
/// module doc), and counts time in steps: the events' and the first
/// liquidation's times, and `time_in_market_pct` over the steps' closes
/// (the run annualizes over the bars' span itself, `Market::spanning`).
/// Liquidations at a bar's open (gaps)
/// keep the open's time. `seed` is the path's: the uniforms depend on the
/// path and the bar only, so every run and shard draws the same.
pub fn refine(out: &mut RunOutput, tape: &MarketTape, coarse: &Coarse, side: Side, seed: u64) {
    let g = &coarse.gbm;
    let stream = crate::run_seed(seed, "liquidation-minute");
    let bar_of = |ts: i64| tape.ts.partition_point(|&t| t <= ts).saturating_sub(1);
    for e in out.liquidations.iter_mut() {
        if e.gapped {
            continue;
        }
        let k = bar_of(e.ts);
        let (first, len) = coarse.bar(k);
        // In log price, turned so that the barrier is below the open.
        let (x, y, b, m) = match side {
            Side::Long => (
                tape.open[k],
                tape.close[k],
                e.liquidation_price,
                tape.low[k],
            ),
            Side::Short => (
                1.0 / tape.open[k],
                1.0 / tape.close[k],
                1.0 / e.liquidation_price,
                1.0 / tape.high[k],
            ),
        };
        let (x, y, b, m) = (x.ln(), y.ln(), b.ln(), m.ln());
        let alpha = x - b;
        let gamma = (y - m) + (b - m).max(0.0);
        if !(alpha > 0.0 && gamma > 0.0) || len < 2 {
            continue;
        }
        // One uniform per path and bar, in [0, 1).
        let u = (crate::seed::splitmix64(stream ^ k as u64) >> 11) as f64 / (1u64 << 53) as f64;
        let v = g.sigma * g.sigma * len as f64 * g.step_years();
        let step = hit_step(alpha, gamma, v, len, u);
        e.ts = g.start_ns + (first + step) as i64 * g.dt_ns;
    }
    let m = &mut out.metrics;
    if m.first_liquidation_ts.is_some() {
        m.first_liquidation_ts = out.liquidations.first().map(|e| e.ts);
    }
    // Closes with an open position, in steps: the static position opens at
    // bar 0's close (step 0) and holds until its liquidation's step or the
    // end.
    if (m.trades > 0 || !out.liquidations.is_empty()) && g.steps > 0 {
        let last = out
            .liquidations
            .first()
            .map_or(g.steps, |e| ((e.ts - g.start_ns) / g.dt_ns) as usize);
        m.time_in_market_pct = last.saturating_sub(1) as f64 / g.steps as f64 * 100.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// `P(τ ≤ s·T | the bridge reaches the barrier)`, not knowing the bar's
    /// minimum: the inverse Gaussian law `IG(α/β, α²/v)` in `r`,
    /// `β = |y − b|`.
    fn hit_cdf_given_reach(alpha: f64, beta: f64, v: f64, s: f64) -> f64 {
        ig_mix(alpha, beta, v, s, 1.0)
    }
    use rand_distr::{Distribution, StandardNormal};
    use rand_pcg::Pcg64Mcg;

    /// The laws against brute-force bridges: fine Brownian bridges from
    /// `x` to `y` (exact extremes per fine step), kept when their minimum
    /// reaches the barrier; the share of them that reached it by each point
    /// of the bar against [`hit_cdf_given_reach`], and, split at the median
    /// minimum, against the mean of [`hit_cdf`] over each half's minima;
    /// within 4 standard errors.
    #[test]
    fn hit_cdf_is_the_bridge_first_passage_law() {
        let (x, y, b, v) = (0.0_f64, 0.01_f64, -0.02_f64, 0.0009_f64);
        let (steps, paths) = (100, 40_000);
        let var = v / steps as f64;
        let mut rng = Pcg64Mcg::seed_from_u64(11);
        // (step of the first passage, minimum of the bar)
        let mut hits: Vec<(usize, f64)> = Vec::new();
        for _ in 0..paths {
            let (mut p, mut min, mut hit) = (x, f64::INFINITY, None);
            for i in 0..steps {
                let left = (steps - i) as f64;
                let z: f64 = StandardNormal.sample(&mut rng);
                let q = p + (y - p) / left + (var * (left - 1.0) / left).sqrt() * z;
                let e: f64 = rand_distr::Exp1.sample(&mut rng);
                let lo = 0.5 * (p + q - ((q - p) * (q - p) + 2.0 * var * e).sqrt());
                p = q;
                min = min.min(lo);
                if lo <= b && hit.is_none() {
                    hit = Some(i);
                }
            }
            if let Some(i) = hit {
                hits.push((i, min));
            }
        }
        let n = hits.len() as f64;
        // The crossing probability itself: exp(−2αβ/v).
        let p = (-2.0 * (x - b) * (y - b) / v).exp();
        let se = (p * (1.0 - p) / paths as f64).sqrt();
        assert!(
            (n / paths as f64 - p).abs() < 4.0 * se,
            "P(cross) {} vs {p}",
            n / paths as f64
        );
        let check = |set: &[(usize, f64)], law: &dyn Fn(f64, f64) -> f64, what: &str| {
            let n = set.len() as f64;
            for q in [0.1, 0.25, 0.4, 0.6, 0.8] {
                let emp = set
                    .iter()
                    .filter(|h| ((h.0 + 1) as f64) <= q * steps as f64)
                    .count() as f64
                    / n;
                let want = set.iter().map(|h| law(h.1, q)).sum::<f64>() / n;
                let se = (want * (1.0 - want) / n).sqrt().max(1e-4);
                assert!(
                    (emp - want).abs() < 4.0 * se,
                    "{what} at {q}: {emp} vs {want} ± {se}"
                );
            }
        };
        check(
            &hits,
            &|_, q| hit_cdf_given_reach(x - b, (y - b).abs(), v, q),
            "given reach",
        );
        hits.sort_by(|a, b| a.1.total_cmp(&b.1));
        let gamma = |m: f64| (y - m) + (b - m);
        let (deep, shallow) = hits.split_at(hits.len() / 2);
        check(deep, &|m, q| hit_cdf(x - b, gamma(m), v, q), "deepest half");
        check(
            shallow,
            &|m, q| hit_cdf(x - b, gamma(m), v, q),
            "shallowest half",
        );
    }

    /// Averaged over the minimum's law (`P(min ≤ m) = e^{−2(x−m)(y−m)/v}`)
    /// below the barrier, the law given the minimum is the law given the
    /// reach (quadrature to 1e-6).
    #[test]
    fn the_law_given_the_minimum_averages_to_the_law_given_the_reach() {
        for &(x, y, b, v) in &[
            (0.0_f64, 0.01_f64, -0.02_f64, 0.0009_f64),
            (0.0, -0.03, -0.01, 0.0004),
            (0.0, 0.0, -0.005, 0.0001),
        ] {
            let cdf = |m: f64| (-2.0_f64 * (x - m) * (y - m) / v).exp();
            let top: f64 = f64::min(b, y);
            let (n, width) = (200_000, 1.0);
            let h = width / n as f64;
            for s in [0.05, 0.2, 0.5, 0.8] {
                let (mut mass, mut sum) = (0.0, 0.0);
                for i in 0..n {
                    let (hi, lo) = (top - i as f64 * h, top - (i + 1) as f64 * h);
                    let w = cdf(hi) - cdf(lo);
                    let m = 0.5 * (hi + lo);
                    mass += w;
                    sum += w * hit_cdf(x - b, (y - m) + (b - m), v, s);
                }
                // Closes below the barrier: the minimum lies below both.
                let want = hit_cdf_given_reach(x - b, (y - b).abs(), v, s);
                assert!(
                    (sum / mass - want).abs() < 1e-6,
                    "{x} {y} {b} {v} at {s}: {} vs {want}",
                    sum / mass
                );
            }
        }
    }

    /// Given the minimum, a barrier further from the open is reached no
    /// earlier: the laws are ordered, so one uniform keeps the runs' order.
    #[test]
    fn hit_cdf_is_a_distribution_function_ordered_by_distance() {
        for &v in &[0.0001_f64, 0.0009, 0.01] {
            for &y in &[0.03_f64, 0.005, 0.0, -0.004, -0.02] {
                for &m in &[-0.021_f64, -0.05, -0.3] {
                    let m = m.min(y);
                    let barriers: Vec<f64> = (0..40)
                        .map(|i| -1e-4 + (m + 1e-4) * i as f64 / 39.0)
                        .collect();
                    let law = |b: f64, s: f64| hit_cdf(-b, (y - m) + (b - m), v, s);
                    for i in 0..=200 {
                        let s = i as f64 / 200.0;
                        for w in barriers.windows(2) {
                            let (near, far) = (law(w[0], s), law(w[1], s));
                            assert!(near.is_finite() && (0.0..=1.0).contains(&near));
                            assert!(
                                far <= near + 1e-12,
                                "v {v} y {y} m {m}: {} reached before {} at {s}: {far} > {near}",
                                w[1],
                                w[0]
                            );
                        }
                        if i > 0 {
                            let b = barriers[5];
                            assert!(law(b, s) >= law(b, (i - 1) as f64 / 200.0) - 1e-12);
                        }
                    }
                    assert_eq!(law(m, 1.0), 1.0);
                    assert!((law(m * 0.5, 1.0 - 1e-9) - 1.0).abs() < 1e-3);
                }
            }
        }
    }

    #[test]
    fn mills_series_meets_the_direct_form() {
        for z in [30.0, 34.0, 37.0] {
            let direct = norm_cdf(-z) * (0.5 * z * z).exp();
            let w = 1.0 / (z * z);
            let series = (1.0 - w * (1.0 - 3.0 * w * (1.0 - 5.0 * w * (1.0 - 7.0 * w))))
                / (z * (2.0 * std::f64::consts::PI).sqrt());
            assert!(
                (direct / series - 1.0).abs() < 1e-9,
                "{z}: {direct} vs {series}"
            );
        }
    }

    #[test]
    fn hit_step_inverts_the_law() {
        let (alpha, gamma, v, steps) = (0.02, 0.035, 0.0009, 60);
        for k in 0..steps {
            let at = |k: usize| hit_cdf(alpha, gamma, v, k as f64 / steps as f64);
            let u = 0.5 * (at(k) + at(k + 1));
            if at(k + 1) > at(k) {
                assert_eq!(hit_step(alpha, gamma, v, steps, u), k);
            }
        }
        // Against a linear scan, for uniforms across (0, 1).
        let at = |k: usize| hit_cdf(alpha, gamma, v, k as f64 / steps as f64);
        for i in 0..1000 {
            let u = (i as f64 + 0.5) / 1000.0;
            let scan = (0..steps).find(|&k| at(k + 1) > u).unwrap_or(steps - 1);
            assert_eq!(hit_step(alpha, gamma, v, steps, u), scan, "u {u}");
        }
        assert_eq!(hit_step(alpha, gamma, v, steps, 0.0), 0);
    }
}
