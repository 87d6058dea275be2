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
    let [uo, uh, ul, uc] = under;
    let [oo, oh, ol, oc] = out;
    for i in 0..ts.len() {
        let t0 = (expiry - ts[i]) as f64 / YEAR_NS;
        let t1 = (expiry - ts[i] - interval_ns) as f64 / YEAR_NS;
        let s = iv[i];
        let v = |f: f64, t: f64| price(f, strike, t, s, kind);
        let (a, b) = (v(uh[i], t0), v(ul[i], t0));
        oo[i] = v(uo[i], t0);
        oh[i] = a.max(b).max(oo[i]);
        ol[i] = a.min(b).min(oo[i]);
        oc[i] = v(uc[i], t1);
        oh[i] = oh[i].max(oc[i]);
        ol[i] = ol[i].min(oc[i]);
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
}
