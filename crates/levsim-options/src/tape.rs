//! An option's price bars from its underlying's bars: each point of the
//! underlying's bar priced with Black-76 at the bar's volatility, so the
//! option's extremes fall where the underlying's do (a call's high at the
//! underlying's high, a put's at its low) and a portfolio's joint
//! intrabar path stays consistent.

use levsim_core::TimestampNs;

use crate::{price, OptionKind};

const YEAR_NS: f64 = 365.0 * 86_400e9;

/// The option's open, high, low and close per bar, written into the four
/// slices (one value per bar of `ts`). `iv[i]` is the volatility of bar
/// `i` (annual); the open, high and low are priced at the bar's open time,
/// the close at its end; at and after expiry the price is the intrinsic
/// value.
#[allow(clippy::too_many_arguments)]
pub fn option_bars(
    ts: &[TimestampNs],
    interval_ns: i64,
    under: [&[f64]; 4],
    strike: f64,
    expiry: TimestampNs,
    kind: OptionKind,
    iv: &[f64],
    out: [&mut [f64]; 4],
) {
    bars_of(ts, interval_ns, under, expiry, iv, out, |f, t, s| {
        price(f, strike, t, s, kind)
    });
}

/// [`option_bars`] for options settled in coin (Deribit's BTC options):
/// each point's price divided by the underlying's price there, in coin per
/// option. A call's coin price rises with the underlying and a put's falls
/// (`d(V/S)/dS = (ΔS − V)/S²`: `K·N(d2)` for a call, `−K·N(−d2)` for a
/// put), so the extremes still fall at the underlying's extremes.
#[allow(clippy::too_many_arguments)]
pub fn option_bars_in_coin(
    ts: &[TimestampNs],
    interval_ns: i64,
    under: [&[f64]; 4],
    strike: f64,
    expiry: TimestampNs,
    kind: OptionKind,
    iv: &[f64],
    out: [&mut [f64]; 4],
) {
    bars_of(ts, interval_ns, under, expiry, iv, out, |f, t, s| {
        price(f, strike, t, s, kind) / f
    });
}

/// Bars of `value(underlying, years to expiry, volatility)` at each point
/// of the underlying's bars: open, high and low at the bar's open time,
/// close at its end; the high and low the extremes of the four.
fn bars_of(
    ts: &[TimestampNs],
    interval_ns: i64,
    under: [&[f64]; 4],
    expiry: TimestampNs,
    iv: &[f64],
    out: [&mut [f64]; 4],
    value: impl Fn(f64, f64, f64) -> f64,
) {
    let [uo, uh, ul, uc] = under;
    let [oo, oh, ol, oc] = out;
    for i in 0..ts.len() {
        let t0 = (expiry - ts[i]) as f64 / YEAR_NS;
        let t1 = (expiry - ts[i] - interval_ns) as f64 / YEAR_NS;
        let v = |f: f64, t: f64| value(f, t, iv[i]);
        let (a, b) = (v(uh[i], t0), v(ul[i], t0));
        oo[i] = v(uo[i], t0);
        oc[i] = v(uc[i], t1);
        oh[i] = a.max(b).max(oo[i]).max(oc[i]);
        ol[i] = a.min(b).min(oo[i]).min(oc[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_bars_follow_the_underlying_and_expire_at_intrinsic() {
        let h = 3_600_000_000_000i64;
        let ts = [0, h, 2 * h];
        let (o, hi, lo, c) = (
            [100.0, 102.0, 95.0],
            [103.0, 104.0, 101.0],
            [99.0, 96.0, 94.0],
            [102.0, 97.0, 96.0],
        );
        let mut out = [[0.0; 3]; 4];
        let [a, b, cc, d] = &mut out;
        option_bars(
            &ts,
            h,
            [&o, &hi, &lo, &c],
            100.0,
            2 * h,
            OptionKind::Call,
            &[0.8; 3],
            [a, b, cc, d],
        );
        let [oo, oh, ol, oc] = out;
        // A call's high at the underlying's high, its low at its low.
        assert!(
            (oh[0]
                - price(
                    103.0,
                    100.0,
                    2.0 * h as f64 / YEAR_NS,
                    0.8,
                    OptionKind::Call
                ))
            .abs()
                < 1e-12
        );
        assert!(
            (ol[0] - price(99.0, 100.0, 2.0 * h as f64 / YEAR_NS, 0.8, OptionKind::Call)).abs()
                < 1e-12
        );
        // The bar that ends at expiry closes at intrinsic; after it, intrinsic.
        assert_eq!(oc[1], 0.0);
        assert_eq!(oo[2], 0.0);
        assert_eq!(oc[2], 0.0);
        assert!(oo.iter().zip(&oh).all(|(x, y)| x <= y));
    }

    /// In coin: every point is the USD price over the underlying's, and
    /// at expiry the intrinsic value in coin, max(S − K, 0)/S.
    #[test]
    fn coin_bars_are_usd_bars_over_the_underlying() {
        let ts = [0i64, 3_600_000_000_000];
        let u = (
            [50_000.0, 52_000.0],
            [51_000.0, 53_000.0],
            [49_000.0, 50_500.0],
            [52_000.0, 52_500.0],
        );
        let iv = [0.8, 0.8];
        let expiry = 3_600_000_000_000 * 2;
        for kind in [OptionKind::Call, OptionKind::Put] {
            let (mut a, mut b, mut c, mut d) = ([0.0; 2], [0.0; 2], [0.0; 2], [0.0; 2]);
            let (mut e, mut f, mut g, mut h) = ([0.0; 2], [0.0; 2], [0.0; 2], [0.0; 2]);
            let under = [&u.0[..], &u.1[..], &u.2[..], &u.3[..]];
            option_bars(
                &ts,
                3_600_000_000_000,
                under,
                51_000.0,
                expiry,
                kind,
                &iv,
                [&mut a, &mut b, &mut c, &mut d],
            );
            option_bars_in_coin(
                &ts,
                3_600_000_000_000,
                under,
                51_000.0,
                expiry,
                kind,
                &iv,
                [&mut e, &mut f, &mut g, &mut h],
            );
            for i in 0..2 {
                assert!((e[i] - a[i] / u.0[i]).abs() < 1e-15);
                assert!((h[i] - d[i] / u.3[i]).abs() < 1e-15);
                assert!(f[i] >= e[i].max(h[i]) && g[i] <= e[i].min(h[i]));
            }
            // The second bar closes at expiry: intrinsic value in coin.
            let want = match kind {
                OptionKind::Call => (52_500.0f64 - 51_000.0).max(0.0) / 52_500.0,
                OptionKind::Put => (51_000.0f64 - 52_500.0).max(0.0) / 52_500.0,
            };
            assert!((h[1] - want).abs() < 1e-12, "{kind:?}: {} vs {want}", h[1]);
        }
    }
}
