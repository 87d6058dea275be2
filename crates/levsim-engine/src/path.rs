//! The intrabar price path of a bar.

/// The price points a bar visits after its open: `L, H, C` when the bar
/// closed up (`close ≥ open`), else `H, L, C`. This is the usual
/// conservative assumption for OHLC data (the move against the close comes
/// first), so a wick below the liquidation price is seen even when the bar
/// closes above it.
#[inline]
pub fn intrabar_path(open: f64, high: f64, low: f64, close: f64) -> [f64; 3] {
    // Arithmetic select (exact: x·1 + y·0 = x for finite prices): up and
    // down bars alternate at random, and a branch here mispredicts half the
    // time, which costs more than the rest of a quiet bar.
    let up = f64::from(u8::from(close >= open));
    let down = 1.0 - up;
    [low * up + high * down, high * up + low * down, close]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_bars_visit_the_low_first() {
        assert_eq!(intrabar_path(10.0, 12.0, 9.0, 11.0), [9.0, 12.0, 11.0]);
        assert_eq!(intrabar_path(10.0, 12.0, 9.0, 9.5), [12.0, 9.0, 9.5]);
        assert_eq!(intrabar_path(10.0, 10.0, 10.0, 10.0), [10.0, 10.0, 10.0]);
    }
}
