//! Where a chart's legend goes: the corner or edge middle in which its box
//! hides the fewest data points.

use plotters::chart::{ChartContext, SeriesLabelPosition};
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;

/// Draws the chart's legend in the house style at the place `place`
/// chooses given the plotting area's size in pixels.
pub(crate) fn draw_legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    place: impl FnOnce((f64, f64)) -> SeriesLabelPosition,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    X: Ranged,
    Y: Ranged,
{
    let (w, h) = chart.plotting_area().dim_in_pixel();
    let position = place((f64::from(w.max(1)), f64::from(h.max(1))));
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .position(position)
        .draw()
        .map_err(|e| e.to_string())
}

/// A plot's data space: ranges, whether y is logarithmic, and the plotting
/// area in pixels (to size the legend box against).
pub(crate) struct PlotArea {
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub log_y: bool,
    pub px: (f64, f64),
}

impl PlotArea {
    /// A data point as a fraction of the plot, (0, 0) bottom left; `None`
    /// for points that are not drawn.
    fn unit(&self, (x, y): (f64, f64)) -> Option<(f64, f64)> {
        let f = |v: f64, (a, b): (f64, f64)| (v - a) / (b - a);
        let u = f(x, self.x);
        let v = if self.log_y {
            (y > 0.0).then(|| f(y.ln(), (self.y.0.ln(), self.y.1.ln())))?
        } else {
            f(y, self.y)
        };
        (u.is_finite() && v.is_finite()).then_some((u, v))
    }
}

/// Where a legend may go, in order of preference on a tie (the corners
/// first; the upper right is the usual place for time series), each with
/// its horizontal and vertical anchor (0 left/bottom, 0.5 middle, 1
/// right/top).
const PLACES: [(SeriesLabelPosition, f64, f64); 8] = [
    (SeriesLabelPosition::UpperRight, 1.0, 1.0),
    (SeriesLabelPosition::UpperLeft, 0.0, 1.0),
    (SeriesLabelPosition::LowerRight, 1.0, 0.0),
    (SeriesLabelPosition::LowerLeft, 0.0, 0.0),
    (SeriesLabelPosition::MiddleRight, 1.0, 0.5),
    (SeriesLabelPosition::MiddleLeft, 0.0, 0.5),
    (SeriesLabelPosition::UpperMiddle, 0.5, 1.0),
    (SeriesLabelPosition::LowerMiddle, 0.5, 0.0),
];

/// Where a legend of `labels` over `points` goes: of the corners and edge
/// middles, the place whose legend-sized box holds the fewest points (ties
/// in the order of [`PLACES`]).
pub(crate) fn place<'a>(
    area: &PlotArea,
    points: impl IntoIterator<Item = (f64, f64)>,
    labels: impl IntoIterator<Item = &'a str>,
) -> SeriesLabelPosition {
    place_avoiding(area, points, std::iter::empty(), labels)
}

/// [`place`] with `markers` that come first: the place covering the fewest
/// markers, then the fewest points (a legend covers lines before it covers
/// one marker).
pub(crate) fn place_avoiding<'a>(
    area: &PlotArea,
    points: impl IntoIterator<Item = (f64, f64)>,
    markers: impl IntoIterator<Item = (f64, f64)>,
    labels: impl IntoIterator<Item = &'a str>,
) -> SeriesLabelPosition {
    let (mut n, mut longest) = (0usize, 0usize);
    for l in labels {
        n += 1;
        longest = longest.max(l.chars().count());
    }
    // 14 px labels: about 7.5 px a character plus the sample and padding;
    // 20 px a row.
    let w = ((7.5 * longest as f64 + 50.0) / area.px.0).min(1.0);
    let h = ((20.0 * n as f64 + 12.0) / area.px.1).min(1.0);
    // A box of w × h anchored at (ax, ay): its lower-left corner.
    let boxes = PLACES.map(|(_, ax, ay)| (ax * (1.0 - w), ay * (1.0 - h)));
    let count = |pts: &mut dyn Iterator<Item = (f64, f64)>| {
        let mut counts = [0usize; PLACES.len()];
        for p in pts {
            let Some((u, v)) = area.unit(p) else {
                continue;
            };
            for (c, &(x0, y0)) in counts.iter_mut().zip(&boxes) {
                *c += usize::from(u >= x0 && u <= x0 + w && v >= y0 && v <= y0 + h);
            }
        }
        counts
    };
    let covered = count(&mut markers.into_iter());
    let counts = count(&mut points.into_iter());
    let best = (0..PLACES.len())
        .min_by_key(|&i| (covered[i], counts[i]))
        .unwrap_or(0);
    PLACES[best].0.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(log_y: bool) -> PlotArea {
        PlotArea {
            x: (0.0, 100.0),
            y: (1.0, 1000.0),
            log_y,
            px: (1000.0, 500.0),
        }
    }

    fn name(p: &SeriesLabelPosition) -> &'static str {
        match p {
            SeriesLabelPosition::UpperRight => "upper right",
            SeriesLabelPosition::UpperLeft => "upper left",
            SeriesLabelPosition::LowerRight => "lower right",
            SeriesLabelPosition::LowerLeft => "lower left",
            SeriesLabelPosition::MiddleRight => "middle right",
            SeriesLabelPosition::MiddleLeft => "middle left",
            SeriesLabelPosition::UpperMiddle => "upper middle",
            SeriesLabelPosition::LowerMiddle => "lower middle",
            _ => "other",
        }
    }

    /// The legend goes to a corner the data leave free, the preferred one
    /// on a tie; a log axis is measured as drawn.
    #[test]
    fn the_legend_avoids_the_data() {
        let labels = ["a series", "another series"];
        let at = |a: &PlotArea, pts: &[(f64, f64)]| name(&place(a, pts.iter().copied(), labels));
        // Rising from bottom left to top right: the upper left is free.
        let rising: Vec<_> = (0..=100)
            .map(|i| (i as f64, 1.0 + 9.99 * i as f64))
            .collect();
        assert_eq!(at(&area(false), &rising), "upper left");
        // Falling: the upper right (and the lower left) are free.
        let falling: Vec<_> = rising.iter().map(|&(x, y)| (100.0 - x, y)).collect();
        assert_eq!(at(&area(false), &falling), "upper right");
        // Along the top (a survival curve that stays near 1): lower right.
        let top: Vec<_> = (0..=100).map(|i| (i as f64, 990.0)).collect();
        assert_eq!(at(&area(false), &top), "lower right");
        // 500 is mid-height on a linear axis, near the top on a log one.
        let mid: Vec<_> = (0..=100).map(|i| (i as f64, 500.0)).collect();
        assert_eq!(at(&area(false), &mid), "upper right");
        assert_eq!(at(&area(true), &mid), "lower right");
        // Lines along the top and the bottom: the middle of the right edge.
        let both: Vec<_> = (0..=100)
            .flat_map(|i| [(i as f64, 990.0), (i as f64, 5.0)])
            .collect();
        assert_eq!(at(&area(false), &both), "middle right");
        // Nothing drawn (a non-positive value on a log axis): upper right.
        assert_eq!(at(&area(true), &[(1.0, -5.0)]), "upper right");
    }
}
