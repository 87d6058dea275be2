//! How the i-th series is drawn: a colour and a dash pattern chosen so that
//! the charts read in grey (printed, photocopied) as well as in colour.
//!
//! The colours are nine steps of viridis (dark purple to light green, one
//! lightness order in colour and in grey, and kind to colour-blind
//! readers); each step has one of three dash patterns, by its rank modulo
//! three. Neighbouring steps therefore always differ in dash, and steps
//! with the same dash are three steps (56 of 255) apart in grey. The
//! series are assigned so that the first few are far apart in lightness.

use plotters::coord::ranged1d::Ranged;
use plotters::element::{DashedPathElement, IntoDynElement};
use plotters::prelude::*;

/// viridis sampled at nine evenly spaced greys (Rec. 601 luma 30 to 180,
/// t = 0 to 0.85 of the map, interpolated between its published tenths;
/// the pale yellow end is left out, too faint on white).
const VIRIDIS: [RGBColor; 9] = [
    RGBColor(68, 1, 84),    // t = 0.000, grey 30
    RGBColor(71, 26, 107),  // t = 0.072, grey 49
    RGBColor(67, 56, 128),  // t = 0.165, grey 67
    RGBColor(54, 92, 140),  // t = 0.291, grey 86
    RGBColor(37, 132, 142), // t = 0.454, grey 105
    RGBColor(38, 166, 132), // t = 0.591, grey 124
    RGBColor(65, 188, 114), // t = 0.690, grey 143
    RGBColor(105, 203, 91), // t = 0.770, grey 161
    RGBColor(155, 216, 60), // t = 0.850, grey 180
];

/// The lightness rank of the i-th series (i < 9): dark, middle and light
/// first, then filling in; `RANK[i] % 3 == i % 3`.
const RANK: [usize; 9] = [0, 4, 8, 6, 1, 2, 3, 7, 5];

/// A line's dash pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dash {
    /// Continuous.
    Solid,
    /// Dashes of 9 px.
    Dashed,
    /// Dots.
    Dotted,
    /// Long dashes (the second round of nine series).
    Long,
}

/// A colour and a dash pattern.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pen {
    pub color: RGBColor,
    pub dash: Dash,
}

impl Pen {
    /// A solid line of `color` (reference lines, bands, samples).
    pub(crate) const fn solid(color: RGBColor) -> Self {
        Pen {
            color,
            dash: Dash::Solid,
        }
    }

    /// The same pen, its colour moved towards white by `t` in [0, 1].
    pub(crate) fn lighter(self, t: f64) -> Self {
        let m = |x: u8| (f64::from(x) + (255.0 - f64::from(x)) * t).round() as u8;
        let c = self.color;
        Pen {
            color: RGBColor(m(c.0), m(c.1), m(c.2)),
            dash: self.dash,
        }
    }
}

/// The pen of the i-th series: series 9 to 17 take the colours of 0 to 8
/// in long dashes; then the cycle repeats.
pub(crate) fn pen(i: usize) -> Pen {
    let rank = RANK[i % RANK.len()];
    Pen {
        color: VIRIDIS[rank],
        dash: match (i / RANK.len() % 2, rank % 3) {
            (1, _) => Dash::Long,
            (_, 0) => Dash::Solid,
            (_, 1) => Dash::Dashed,
            _ => Dash::Dotted,
        },
    }
}

/// The colour of the i-th series (markers, bars, swatches).
pub(crate) fn color(i: usize) -> RGBColor {
    pen(i).color
}

/// Draws `points` as one line in `pen` of `width` px; with a `label`, adds
/// a legend entry drawn the same way.
pub(crate) fn draw_line<'a, DB, X, Y, I>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    points: I,
    pen: Pen,
    width: u32,
    label: Option<&str>,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
    I: Iterator<Item = (f64, f64)> + Clone,
{
    let style = ShapeStyle::from(&pen.color).stroke_width(width);
    let legend = ShapeStyle::from(&pen.color).stroke_width(width + 1);
    // Dash and gap lengths in pixels, scaled with the stroke.
    let (dash, gap) = match pen.dash {
        Dash::Solid => (0, 0),
        Dash::Dashed => (9, 5),
        Dash::Dotted => (width.max(2), 2 * width.max(2) + 1),
        Dash::Long => (18, 5),
    };
    let anno = if pen.dash == Dash::Solid {
        chart.draw_series(LineSeries::new(points, style))
    } else {
        chart.draw_series(DashedLineSeries::new(points, dash, gap, style))
    }
    .map_err(|e| e.to_string())?;
    if let Some(name) = label {
        let solid = pen.dash == Dash::Solid;
        anno.label(name).legend(move |(x, y)| {
            let pts = vec![(x, y), (x + 24, y)];
            if solid {
                PathElement::new(pts, legend).into_dyn()
            } else {
                DashedPathElement::new(pts, dash, gap, legend).into_dyn()
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(c: RGBColor) -> f64 {
        0.299 * f64::from(c.0) + 0.587 * f64::from(c.1) + 0.114 * f64::from(c.2)
    }

    /// Any two of the first nine series differ in dash or by at least 50
    /// in grey; the lightness order is the palette's order.
    #[test]
    fn series_read_in_grey() {
        for w in VIRIDIS.windows(2) {
            assert!(grey(w[1]) > grey(w[0]) + 10.0, "{w:?}");
        }
        let mut ranks = RANK.to_vec();
        ranks.sort_unstable();
        assert_eq!(ranks, (0..9).collect::<Vec<_>>());
        for i in 0..9 {
            for j in 0..i {
                let (a, b) = (pen(i), pen(j));
                if a.dash == b.dash {
                    let d = (grey(a.color) - grey(b.color)).abs();
                    assert!(
                        d >= 50.0,
                        "series {i} and {j}: same dash, {d:.0} apart in grey"
                    );
                }
            }
        }
        // The second nine differ from the first in dash.
        for i in 0..9 {
            assert_eq!(pen(i + 9).color, pen(i).color);
            assert!(pen(i + 9).dash != pen(i).dash);
        }
        // The first three are dark, middle and light.
        assert!(grey(color(0)) < 60.0 && grey(color(2)) > 150.0);
    }
}
