//! Charts rendered by plotters, as SVG (inlined in the HTML) and PNG.

use std::path::{Path, PathBuf};
use std::sync::Once;

use levsim_core::time::{to_iso, DAY_NS};
use plotters::coord::combinators::BindKeyPoints;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::markdown::num;
use crate::{ReportError, ReportInput};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static FONT_ONCE: Once = Once::new();

/// Registers the embedded DejaVu Sans as plotters' `sans-serif`.
pub(crate) fn ensure_font() {
    FONT_ONCE.call_once(|| {
        // The font is compiled in and known to be valid; a failure here would
        // show as missing text, never as a crash.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

pub(crate) use crate::pen::color;
use crate::pen::{draw_line, pen, Pen};

/// A rendered chart.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    pub title: String,
    pub caption: String,
    pub svg: PathBuf,
    pub png: PathBuf,
    /// The SVG as written to `svg` (the page inlines it without reading
    /// the file back).
    pub markup: String,
}

struct Series {
    name: String,
    pen: Pen,
    segments: Vec<Vec<(f64, f64)>>,
}

struct Markers {
    name: String,
    color: RGBColor,
    /// Index into the marker shapes ([`marker_outline`]): runs differ by
    /// shape as well as colour, so neighbours in grey or in a dense cluster
    /// stay apart.
    shape: usize,
    points: Vec<(f64, f64)>,
}

/// The outline of marker shape `shape` (mod 6: triangle up, circle, square,
/// diamond, triangle down, cross) of radius `r` px around the origin.
fn marker_outline(shape: usize, r: f64) -> Vec<(i32, i32)> {
    let pts: Vec<(f64, f64)> = match shape % 6 {
        0 => vec![(0.0, -r), (r, 0.8 * r), (-r, 0.8 * r)],
        1 => (0..16)
            .map(|k| {
                let a = f64::from(k) * std::f64::consts::PI / 8.0;
                (0.85 * r * a.cos(), 0.85 * r * a.sin())
            })
            .collect(),
        2 => vec![
            (-0.75 * r, -0.75 * r),
            (0.75 * r, -0.75 * r),
            (0.75 * r, 0.75 * r),
            (-0.75 * r, 0.75 * r),
        ],
        3 => vec![(0.0, -r), (r, 0.0), (0.0, r), (-r, 0.0)],
        4 => vec![(0.0, r), (r, -0.8 * r), (-r, -0.8 * r)],
        _ => {
            // An X of arms `w` wide.
            let (o, w) = (0.8 * r, 0.3 * r);
            vec![
                (-o, -o + w),
                (-o + w, -o),
                (0.0, -w),
                (o - w, -o),
                (o, -o + w),
                (w, 0.0),
                (o, o - w),
                (o - w, o),
                (0.0, w),
                (-o + w, o),
                (-o, o - w),
                (-w, 0.0),
            ]
        }
    };
    pts.into_iter()
        .map(|(x, y)| (x.round() as i32, y.round() as i32))
        .collect()
}

/// Vertical bars `(x0, x1, height)` drawn from zero, translucent so several
/// overlap readably.
struct Bars {
    name: String,
    color: RGBColor,
    bars: Vec<(f64, f64, f64)>,
}

struct Spec {
    title: String,
    y_desc: String,
    log_y: bool,
    lines: Vec<Series>,
    markers: Vec<Markers>,
    x_range: (f64, f64),
    bars: Vec<Bars>,
}

/// The tick step for a time span: the smallest of 1m … 1y giving at most
/// eight ticks.
fn tick_step(span_ns: f64) -> i64 {
    const M: i64 = 60_000_000_000;
    const STEPS: [i64; 18] = [
        M,
        5 * M,
        15 * M,
        30 * M,
        60 * M,
        3 * 60 * M,
        6 * 60 * M,
        12 * 60 * M,
        DAY_NS,
        2 * DAY_NS,
        7 * DAY_NS,
        14 * DAY_NS,
        30 * DAY_NS,
        61 * DAY_NS,
        91 * DAY_NS,
        182 * DAY_NS,
        365 * DAY_NS,
        730 * DAY_NS,
    ];
    STEPS
        .into_iter()
        .find(|&s| span_ns / s as f64 <= 8.0)
        .unwrap_or(1461 * DAY_NS)
}

/// Ticks at whole multiples of the step in UTC (midnights, whole hours),
/// so labels read 03-12 06:00, not 03-12 05:53.
fn time_ticks(x0: f64, x1: f64) -> Vec<f64> {
    let step = tick_step(x1 - x0);
    let first = ((x0 as i64).div_euclid(step) + 1) * step;
    let mut out = Vec::new();
    let mut t = first;
    // No tick at the right edge, where its label would be cut.
    let last = x1 - 0.04 * (x1 - x0);
    while (t as f64) <= last && out.len() < 20 {
        out.push(t as f64);
        t += step;
    }
    out
}

/// A time axis (ns as f64) whose ticks fall on whole UTC steps.
#[derive(Debug, Clone)]
struct TimeAxis {
    range: std::ops::Range<f64>,
    ticks: Vec<f64>,
}

impl TimeAxis {
    fn new(x0: f64, x1: f64) -> Self {
        Self {
            range: x0..x1,
            ticks: time_ticks(x0, x1),
        }
    }
}

impl plotters::coord::ranged1d::Ranged for TimeAxis {
    type FormatOption = plotters::coord::ranged1d::NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = (self.range.end - self.range.start).max(f64::MIN_POSITIVE);
        let f = (value - self.range.start) / span;
        limit.0 + (f * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Light mesh lines: none beyond the ticks themselves.
        if hint.max_num_points() == 0 || hint.weight().allow_light_points() {
            return Vec::new();
        }
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

impl plotters::coord::ranged1d::ValueFormatter<f64> for TimeAxis {
    fn format_ext(&self, value: &f64) -> String {
        time_label(*value, self.range.end - self.range.start)
    }
}

fn time_label(x: f64, span_ns: f64) -> String {
    let iso = to_iso(x as i64);
    if tick_step(span_ns) >= DAY_NS {
        iso.get(..10).unwrap_or(&iso).to_string()
    } else {
        iso.get(5..16).unwrap_or(&iso).replace('T', " ")
    }
}

fn y_range(spec: &Spec) -> (f64, f64) {
    let ys = spec
        .lines
        .iter()
        .flat_map(|s| s.segments.iter().flatten())
        .chain(spec.markers.iter().flat_map(|m| m.points.iter()))
        .map(|p| p.1)
        .chain(
            spec.bars
                .iter()
                .flat_map(|b| b.bars.iter().flat_map(|r| [0.0, r.2])),
        )
        .filter(|y| y.is_finite() && (!spec.log_y || *y > 0.0));
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if spec.log_y {
        (lo / 1.2, hi * 1.2)
    } else {
        let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-3).max(1e-9);
        (lo - pad, hi + pad)
    }
}

macro_rules! draw_body {
    ($root:expr, $spec:expr, $yr:expr, $legend:expr) => {{
        let spec: &Spec = $spec;
        let span = spec.x_range.1 - spec.x_range.0;
        let y_span = y_range(spec);
        let mut chart = ChartBuilder::on($root)
            .caption(&spec.title, ("sans-serif", 24))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(84)
            .build_cartesian_2d(TimeAxis::new(spec.x_range.0, spec.x_range.1), $yr)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("time (UTC)")
            .y_desc(spec.y_desc.as_str())
            .x_labels(7)
            .y_labels(8)
            .x_label_formatter(&|x| time_label(*x, span))
            .y_label_formatter(&|y| {
                let a = y.abs();
                // Large amounts in millions / billions, so labels fit.
                if a >= 1e9 {
                    return format!("{} B", num(*y / 1e9, if a >= 1e10 { 0 } else { 1 }));
                }
                if a >= 1e6 {
                    return format!("{} M", num(*y / 1e6, if a >= 1e7 { 0 } else { 1 }));
                }
                // Linear axes: as many decimals as the span needs; log
                // axes (ticks at round values): as many as the tick has.
                let d = if spec.log_y {
                    (0..6)
                        .find(|&d| {
                            let f = 10f64.powi(d);
                            ((*y * f).round() / f - *y).abs() <= 1e-9 * a.max(1e-12)
                        })
                        .unwrap_or(6) as usize
                } else {
                    axis_decimals(y_span)
                };
                num(*y, d)
            })
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()
            .map_err(|e| e.to_string())?;
        for b in &spec.bars {
            let c = b.color;
            chart
                .draw_series(b.bars.iter().map(|&(x0, x1, y)| {
                    Rectangle::new(
                        [(x0, 0.0), (x1, y)],
                        ShapeStyle::from(&c.mix(0.55)).filled(),
                    )
                }))
                .map_err(|e| e.to_string())?
                .label(b.name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new(
                        [(x, y - 5), (x + 18, y + 5)],
                        ShapeStyle::from(&c.mix(0.55)).filled(),
                    )
                });
        }
        for s in &spec.lines {
            // Series without a name share a neighbour's legend entry.
            let mut first = !s.name.is_empty();
            for seg in &s.segments {
                let label = first.then_some(s.name.as_str());
                draw_line(&mut chart, seg.iter().copied(), s.pen, 2, label)?;
                first = false;
            }
        }
        for m in &spec.markers {
            let c = m.color;
            let (halo, body) = (marker_outline(m.shape, 10.0), marker_outline(m.shape, 7.5));
            // A white halo keeps each marker legible on the lines under it.
            chart
                .draw_series(m.points.iter().map(|&p| {
                    EmptyElement::at(p)
                        + Polygon::new(halo.clone(), ShapeStyle::from(&WHITE).filled())
                }))
                .map_err(|e| e.to_string())?;
            let legend_body = marker_outline(m.shape, 6.5);
            chart
                .draw_series(m.points.iter().map(|&p| {
                    EmptyElement::at(p) + Polygon::new(body.clone(), ShapeStyle::from(&c).filled())
                }))
                .map_err(|e| e.to_string())?
                .label(m.name.clone())
                .legend(move |(x, y)| {
                    EmptyElement::at((x + 11, y))
                        + Polygon::new(legend_body.clone(), ShapeStyle::from(&c).filled())
                });
        }
        if $legend {
            crate::legend::draw_legend(&mut chart, |px| legend_place(px, spec))?;
        }
    }};
}

/// Legends with more entries than this go below the plot, in two columns
/// (the figure grows to hold them), instead of inside it.
const LEGEND_INSIDE_MAX: usize = 10;

/// Height of the plot part of a time chart, px.
const PLOT_H: u32 = 560;

impl Spec {
    /// Named entries of the legend.
    fn legend_entries(&self) -> usize {
        self.lines.iter().filter(|s| !s.name.is_empty()).count()
            + self.markers.len()
            + self.bars.len()
    }

    /// Rows of the legend below the plot (0: the legend is inside).
    fn legend_rows(&self) -> u32 {
        let n = self.legend_entries();
        if n > LEGEND_INSIDE_MAX {
            n.div_ceil(2) as u32
        } else {
            0
        }
    }
}

/// The legend below the plot: two columns of swatches and names.
fn draw_legend_below<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    spec: &Spec,
) -> Result<(), String> {
    let (w, _) = area.dim_in_pixel();
    let col = (w as i32 - 40) / 2;
    let font = ("sans-serif", 13).into_font().color(&RGBColor(40, 40, 40));
    let mut k = 0i32;
    let at = |k: i32| (20 + (k % 2) * col, 12 + (k / 2) * 20);
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    for s in spec.lines.iter().filter(|s| !s.name.is_empty()) {
        let (x, y) = at(k);
        let style = ShapeStyle::from(&s.pen.color).stroke_width(3);
        let pts = vec![(x, y), (x + 24, y)];
        let (dash, gap) = match s.pen.dash {
            crate::pen::Dash::Solid => (0, 0),
            crate::pen::Dash::Dashed => (9, 5),
            crate::pen::Dash::Dotted => (2, 5),
            crate::pen::Dash::Long => (18, 5),
        };
        if dash == 0 {
            area.draw(&PathElement::new(pts, style)).map_err(err)?;
        } else {
            area.draw(&DashedPathElement::new(pts, dash, gap, style))
                .map_err(err)?;
        }
        area.draw(&Text::new(s.name.clone(), (x + 32, y - 8), font.clone()))
            .map_err(err)?;
        k += 1;
    }
    for m in &spec.markers {
        let (x, y) = at(k);
        area.draw(
            &(EmptyElement::at((x + 11, y))
                + Polygon::new(
                    marker_outline(m.shape, 6.5),
                    ShapeStyle::from(&m.color).filled(),
                )),
        )
        .map_err(err)?;
        area.draw(&Text::new(m.name.clone(), (x + 32, y - 8), font.clone()))
            .map_err(err)?;
        k += 1;
    }
    for b in &spec.bars {
        let (x, y) = at(k);
        area.draw(&Rectangle::new(
            [(x, y - 5), (x + 18, y + 5)],
            ShapeStyle::from(&b.color.mix(0.55)).filled(),
        ))
        .map_err(err)?;
        area.draw(&Text::new(b.name.clone(), (x + 32, y - 8), font.clone()))
            .map_err(err)?;
        k += 1;
    }
    Ok(())
}

/// The kept runs of market path 0, one per point in plan order: what the
/// path-0 charts and the runs table show.
pub(crate) fn path0<'a>(
    input: &'a ReportInput<'_>,
) -> impl Iterator<Item = &'a levsim_scenario::RunResult> + 'a {
    input.sweep.kept.iter().filter(|r| r.spec.path == 0)
}

/// Where a time chart's legend hides the least data, on a plotting area
/// of `px` pixels.
fn legend_place(px: (f64, f64), spec: &Spec) -> SeriesLabelPosition {
    let area = crate::legend::PlotArea {
        x: spec.x_range,
        y: y_range(spec),
        log_y: spec.log_y,
        px,
    };
    let points = spec
        .lines
        .iter()
        .flat_map(|s| s.segments.iter().flatten().copied())
        .chain(spec.bars.iter().flat_map(|b| {
            // A bar covers its column from zero to its height.
            b.bars.iter().flat_map(|&(x0, x1, y)| {
                (0..=4).map(move |k| (0.5 * (x0 + x1), y * f64::from(k) / 4.0))
            })
        }));
    let labels = spec
        .lines
        .iter()
        .map(|l| l.name.as_str())
        .chain(spec.markers.iter().map(|m| m.name.as_str()))
        .chain(spec.bars.iter().map(|b| b.name.as_str()))
        .filter(|n| !n.is_empty());
    // The legend covers lines before it covers a single marker.
    let markers = spec.markers.iter().flat_map(|m| m.points.iter().copied());
    crate::legend::place_avoiding(&area, points, markers, labels)
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, spec: &Spec) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let below = spec.legend_rows() > 0;
    let (plot, legend) = if below {
        let (a, b) = root.split_vertically(PLOT_H);
        (a, Some(b))
    } else {
        (root.clone(), None)
    };
    let (lo, hi) = y_range(spec);
    if spec.log_y {
        let (bold, light) = log_ticks(lo, hi);
        draw_body!(
            &plot,
            spec,
            (lo..hi)
                .log_scale()
                .with_key_points(bold)
                .with_light_points(light),
            !below
        );
    } else {
        draw_body!(&plot, spec, lo..hi, !below);
    }
    if let Some(area) = legend {
        draw_legend_below(&area, spec)?;
    }
    root.present().map_err(|e| e.to_string())
}

/// A figure plotters can draw on any backend: each chart kind implements
/// it, and [`render_files`] writes it as SVG and PNG.
pub(crate) trait Figure {
    /// Size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the figure on `root`.
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

impl Spec {
    /// A linear-axis chart of `lines` over `x_range`.
    fn lines(
        title: impl Into<String>,
        y_desc: &str,
        x_range: (f64, f64),
        lines: Vec<Series>,
    ) -> Self {
        Spec {
            title: title.into(),
            y_desc: y_desc.into(),
            log_y: false,
            lines,
            markers: vec![],
            x_range,
            bars: vec![],
        }
    }

    /// A linear-axis chart of `bars` over `x_range`.
    fn bars(title: impl Into<String>, y_desc: &str, x_range: (f64, f64), bars: Vec<Bars>) -> Self {
        Spec {
            bars,
            ..Spec::lines(title, y_desc, x_range, vec![])
        }
    }
}

impl Figure for Spec {
    fn size(&self) -> (u32, u32) {
        (
            1200,
            PLOT_H + self.legend_rows() * 20 + if self.legend_rows() > 0 { 14 } else { 0 },
        )
    }
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        draw(root, self)
    }
}

/// Writes `fig` to `svg` and `png` and returns the SVG markup; errors name
/// the chart `name`.
pub(crate) fn render_files<F: Figure>(
    name: &str,
    svg: &Path,
    png: &Path,
    fig: &F,
) -> Result<String, ReportError> {
    ensure_font();
    let err = |message: String| ReportError::Chart {
        name: name.to_string(),
        message,
    };
    let mut markup = String::new();
    fig.draw_on(&SVGBackend::with_string(&mut markup, fig.size()).into_drawing_area())
        .map_err(err)?;
    std::fs::write(svg, &markup).map_err(crate::error::io(svg))?;
    rasterize(&markup, png).map_err(err)?;
    Ok(markup)
}

/// The SVG parser's options with the embedded font as every family, built
/// once.
fn svg_options() -> &'static resvg::usvg::Options<'static> {
    static OPTIONS: std::sync::OnceLock<resvg::usvg::Options<'static>> = std::sync::OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut o = resvg::usvg::Options {
            font_family: "DejaVu Sans".into(),
            ..Default::default()
        };
        let db = o.fontdb_mut();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        db.set_serif_family("DejaVu Sans");
        db.set_monospace_family("DejaVu Sans");
        o
    })
}

/// Writes the PNG of an SVG chart: the same drawing, text laid out by a
/// real shaper (resvg), so the PNG matches the SVG the page shows.
fn rasterize(markup: &str, png: &Path) -> Result<(), String> {
    let tree = resvg::usvg::Tree::from_str(markup, svg_options()).map_err(|e| e.to_string())?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| format!("cannot make a {}x{} image", size.width(), size.height()))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .save_png(png)
        .map_err(|e| format!("{}: {e}", png.display()))
}

/// `charts/NAME.svg` and `.png` of `fig`, as a chart of the report.
pub(crate) fn render_chart<F: Figure>(
    dir: &Path,
    name: &str,
    title: &str,
    fig: &F,
    caption: String,
) -> Result<Chart, ReportError> {
    let svg = dir.join("charts").join(format!("{name}.svg"));
    let png = dir.join("charts").join(format!("{name}.png"));
    let markup = render_files(name, &svg, &png, fig)?;
    Ok(Chart {
        title: title.to_string(),
        caption,
        svg,
        png,
        markup,
    })
}

fn render(dir: &Path, name: &str, spec: &Spec, caption: String) -> Result<Chart, ReportError> {
    render_chart(dir, name, &spec.title, spec, caption)
}

/// Splits a series into segments where `keep` holds (so flat periods are gaps).
fn segments(ts: &[i64], ys: &[f64], keep: impl Fn(f64) -> bool) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur = Vec::new();
    for (&t, &y) in ts.iter().zip(ys) {
        if keep(y) {
            cur.push((t as f64, y));
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Renders the price, equity and leverage charts.
pub(crate) fn render_all(dir: &Path, input: &ReportInput<'_>) -> Result<Vec<Chart>, ReportError> {
    let legend = legend(input);
    let t = &input.market.tape;
    let x_range = (t.ts[0] as f64, t.end_ns().unwrap_or(t.ts[0] + 1) as f64);
    // One line per run of a recorded series, split where `keep` fails.
    let per_run = |values: fn(&levsim_engine::SeriesRecorder) -> &[f64], keep: fn(f64) -> bool| {
        path0(input)
            .enumerate()
            .map(|(i, r)| Series {
                name: legend.name(&r.spec.point_id),
                pen: pen(i),
                segments: segments(&r.series.ts, values(&r.series), keep),
            })
            .collect()
    };
    let mut charts = Vec::new();
    // Historical price beside each run's simulated mark, when a liquidity
    // model moved it.
    let close_at = |ts: i64| t.ts.binary_search(&ts).ok().map(|k| t.close[k]);
    let moved = path0(input).any(|r| {
        r.series
            .ts
            .iter()
            .zip(&r.series.mark)
            .any(|(&ts, &m)| close_at(ts).is_some_and(|c| (m / c - 1.0).abs() > 1e-9))
    });
    if moved {
        let first = &input.sweep.kept[0].series; // path 0 comes first in plan order
        let hist: Vec<(f64, f64)> = first
            .ts
            .iter()
            .filter_map(|&ts| close_at(ts).map(|c| (ts as f64, c)))
            .collect();
        let mut lines = vec![Series {
            // A light backdrop: the simulated marks are what the chart shows.
            name: "historical close".into(),
            pen: Pen::solid(RGBColor(175, 175, 175)),
            segments: vec![hist],
        }];
        lines.extend(path0(input).enumerate().map(|(i, r)| Series {
            name: format!("{} mark", legend.name(&r.spec.point_id)),
            pen: pen(i),
            segments: segments(&r.series.ts, &r.series.mark, |y| y.is_finite() && y > 0.0),
        }));
        let mark = Spec::lines(
            format!("{}: historical price and simulated mark", t.symbol),
            "price (quote)",
            x_range,
            lines,
        );
        charts.push(render(
            dir,
            "mark",
            &mark,
            "The simulated mark is the historical price moved by the impact of each run's own orders (liquidity model), decaying with its half-life.".into(),
        )?);
    }
    if let Some(g) = &input.market.generator {
        charts.push(render_fan(dir, input, g, x_range)?);
    }
    charts.extend(render_market(dir, input, x_range)?);
    charts.extend(render_contagion(dir, input, x_range)?);
    const PRICE_CAPTION: &str = "Close (dark) and the lowest low of each plotted interval (light). Each run's liquidations are marked at their fill price, one shape and colour per run: the liquidation price where the price crossed it within a bar, or the bar's open where it gapped through; a fill can sit off the drawn line, which shows closes and each interval's lowest low rather than every price the bar traded.";
    let mut base = Vec::new();
    match &input.market.portfolio {
        // A panel per instrument, each with its own leg's liquidations.
        Some(p) => {
            for (id, inst) in p.tape.instruments.iter() {
                let leg = p.tape.leg_tape(id);
                let spec = price_spec(input, &legend, &leg, Some(id.0), x_range);
                base.push(render(
                    dir,
                    &format!("price-{}", inst.symbol),
                    &spec,
                    format!("{PRICE_CAPTION} Only this instrument's legs are marked; summary.md names the leg that caused each account liquidation."),
                )?);
            }
        }
        None => {
            let price = price_spec(input, &legend, t, None, x_range);
            base.push(render(dir, "price", &price, PRICE_CAPTION.into())?);
        }
    }
    base.extend(render_run_series(
        dir,
        "",
        x_range,
        per_run,
        [
            ("Equity per run", "Equity at each bar close, in quote currency."),
            (
                "Effective leverage per run (notional / equity, log scale)",
                "Effective leverage at each bar close; a line ends where the run was liquidated and stayed flat.",
            ),
            (
                "Margin ratio per run (maintenance margin / equity; liquidation at 1)",
                "Maintenance margin over equity at each bar close, as the venue computes it for the position's size: the venue liquidates when it reaches 1; top-up policies act on it.",
            ),
        ],
    )?);
    base.extend(charts);
    base.extend(render_leg_margin(dir, input, &legend, x_range)?);
    base.extend(render_greeks(dir, input, &legend, x_range)?);
    base.extend(render_models(dir, input, x_range)?);
    Ok(base)
}

/// Option books: the book's delta (as notional), gamma (delta change per
/// 1 % move) and vega over time, a line per run of path 0.
fn render_greeks(
    dir: &Path,
    input: &ReportInput<'_>,
    legend: &crate::labels::Legend,
    x_range: (f64, f64),
) -> Result<Vec<Chart>, ReportError> {
    let Some(spec) = &input.scenario.portfolio else {
        return Ok(Vec::new());
    };
    if spec.options.iter().all(Option::is_none) {
        return Ok(Vec::new());
    }
    type Col = fn(&levsim_engine::portfolio::PortfolioSeries) -> &[f64];
    let charts: [(&str, &str, &str, Col, &str); 3] = [
        (
            "greeks-delta",
            "The book's delta per run (notional, quote)",
            "delta notional (quote)",
            |s| &s.delta_notional,
            "Σ size × delta × underlying at each kept bar close: the book's exposure to the underlying (a hedged book stays near 0).",
        ),
        (
            "greeks-gamma",
            "The book's gamma per run (delta change per 1 % move)",
            "gamma per 1 % (quote)",
            |s| &s.gamma_1pct,
            "Σ size × gamma × S² / 100: how much the delta notional moves for a 1 % move of the underlying (negative: short gamma).",
        ),
        (
            "greeks-vega",
            "The book's vega per run (quote per volatility point)",
            "vega (quote per point)",
            |s| &s.vega,
            "Σ size × vega: the book's value change for one volatility point (negative: short volatility).",
        ),
    ];
    let mut out = Vec::new();
    for (name, title, y, col, caption) in charts {
        let lines: Vec<Series> = path0(input)
            .enumerate()
            .filter_map(|(i, r)| {
                let s = r.portfolio.as_ref()?.series.as_ref()?;
                Some(Series {
                    name: legend.name(&r.spec.point_id),
                    pen: pen(i),
                    segments: segments(&s.ts, col(s), |v| v.is_finite()),
                })
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        let spec = Spec::lines(title, y, x_range, lines);
        out.push(render(dir, name, &spec, caption.into())?);
    }
    Ok(out)
}

/// Option books: per policy, its most loaded run's requirement under each
/// margin model over time (standard, Greek, full revaluation, SPAN).
fn render_models(
    dir: &Path,
    input: &ReportInput<'_>,
    x_range: (f64, f64),
) -> Result<Vec<Chart>, ReportError> {
    let mut out = Vec::new();
    for (i, (r, s)) in crate::models::worst_per_policy(input)
        .into_iter()
        .enumerate()
    {
        let std = crate::models::standard(s);
        let cols: [(&str, &[f64]); 4] = [
            ("standard", &std),
            ("Greek (Taylor)", &s.margin_greek),
            ("full revaluation", &s.margin_full),
            ("SPAN", &s.margin_span),
        ];
        let lines: Vec<Series> = cols
            .iter()
            .enumerate()
            .map(|(j, (name, ys))| Series {
                name: (*name).to_string(),
                pen: pen(j),
                segments: segments(&s.ts, ys, |v| v.is_finite()),
            })
            .collect();
        let spec = Spec::lines(
            format!(
                "Margin under each model: {} (its most loaded run)",
                r.spec.policy.as_ref() as &str
            ),
            "requirement (quote)",
            x_range,
            lines,
        );
        out.push(render(
            dir,
            &format!("models-{i}"),
            &spec,
            format!(
                "The requirement each model puts on the book of {} at each kept bar close (this policy's run whose book asked most under full revaluation).",
                r.spec.run_id
            ),
        )?);
    }
    Ok(out)
}

/// Portfolio runs: the maintenance each leg locks on its own (its venue's
/// tables at its notional), one chart per instrument, a line per run of
/// path 0.
fn render_leg_margin(
    dir: &Path,
    input: &ReportInput<'_>,
    legend: &crate::labels::Legend,
    x_range: (f64, f64),
) -> Result<Vec<Chart>, ReportError> {
    let Some(spec) = &input.scenario.portfolio else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (k, inst) in spec.instruments.iter().enumerate() {
        let lines: Vec<Series> = path0(input)
            .enumerate()
            .filter_map(|(i, r)| {
                let s = r.portfolio.as_ref()?.series.as_ref()?;
                Some(Series {
                    name: legend.name(&r.spec.point_id),
                    pen: pen(i),
                    segments: segments(&s.ts, s.maintenance.get(k)?, |y| y.is_finite()),
                })
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        let spec = Spec::lines(
            format!("{}: maintenance margin locked per run", inst.symbol),
            "maintenance (settlement currency)",
            x_range,
            lines,
        );
        out.push(render(
            dir,
            &format!("margin-{}", inst.symbol),
            &spec,
            format!(
                "The maintenance margin {} locks on its own at each kept bar close (its venue's tables at its notional), per run: under cross margin the legs' sum is the account's requirement; portfolio margin's joint requirement is below it when legs hedge.",
                inst.symbol
            ),
        )?);
    }
    Ok(out)
}

/// The price chart of one instrument: closes, each plotted interval's
/// lowest low, and the path-0 runs' liquidations (of leg `leg` only, in a
/// portfolio) at their fill prices.
fn price_spec(
    input: &ReportInput<'_>,
    legend: &crate::labels::Legend,
    t: &levsim_core::MarketTape,
    leg: Option<u16>,
    x_range: (f64, f64),
) -> Spec {
    let stride = t.len().div_ceil(3_000).max(1);
    // Keep each stride's lowest low and highest high too, so crashes show.
    let mut close = Vec::new();
    let mut lows = Vec::new();
    for chunk_start in (0..t.len()).step_by(stride) {
        let end = (chunk_start + stride).min(t.len());
        let lo = (chunk_start..end).fold(f64::INFINITY, |a, i| a.min(t.low[i]));
        close.push((t.ts[end - 1] as f64, t.close[end - 1]));
        lows.push((t.ts[chunk_start] as f64, lo));
    }
    let sym = if t.symbol.is_empty() {
        "price"
    } else {
        t.symbol.as_str()
    };
    let mut price_markers = Vec::new();
    for (i, r) in path0(input).enumerate() {
        let on_leg = |j: usize| match (leg, &r.portfolio) {
            (Some(k), Some(p)) => p.liquidation_legs.get(j) == Some(&k),
            _ => true,
        };
        let points: Vec<(f64, f64)> = r
            .output
            .liquidations
            .iter()
            .enumerate()
            .filter(|(j, _)| on_leg(*j))
            .map(|(_, e)| (e.ts as f64, e.fill_price))
            .collect();
        if points.is_empty() {
            continue;
        }
        price_markers.push(Markers {
            name: format!("{} liquidated", legend.name(&r.spec.point_id)),
            color: color(i),
            shape: i,
            points,
        });
    }
    Spec {
        title: format!("{sym}: price and liquidations"),
        y_desc: "price (quote)".into(),
        log_y: false,
        lines: vec![
            Series {
                name: "bar low".into(),
                pen: Pen::solid(RGBColor(200, 200, 200)),
                segments: vec![lows],
            },
            Series {
                name: "close".into(),
                pen: Pen::solid(RGBColor(40, 40, 40)),
                segments: vec![close],
            },
        ],
        markers: price_markers,
        x_range,
        bars: vec![],
    }
}

/// A fan of the generated paths: 5/25/50/75/95 % quantiles of the close at
/// every step over up to 500 paths, and 20 sample paths.
fn render_fan(
    dir: &Path,
    input: &ReportInput<'_>,
    g: &levsim_scenario::generators::Generator,
    x_range: (f64, f64),
) -> Result<Chart, ReportError> {
    let legend = legend(input);
    let sc = input.scenario;
    let n = sc.paths.min(500);
    let paths: Vec<levsim_core::MarketTape> = (0..n)
        .map(|k| {
            // The paths the runs see: shocks included.
            let mut p = g.path(levsim_scenario::path_seed(sc.seed, k));
            levsim_scenario::shocks::apply(&sc.shocks, &mut p, &mut None);
            p
        })
        .collect();
    let mut bands: Vec<Vec<(f64, f64)>> = (0..5).map(|_| Vec::with_capacity(g.steps())).collect();
    let mut col = vec![0.0; n];
    for (k, &t) in paths[0].ts.iter().enumerate() {
        for (c, p) in col.iter_mut().zip(&paths) {
            *c = p.close[k];
        }
        col.sort_by(f64::total_cmp);
        for (band, q) in bands.iter_mut().zip([0.05, 0.25, 0.5, 0.75, 0.95]) {
            band.push((t as f64, levsim_scenario::quantile(&col, q)));
        }
    }
    let grey = RGBColor(205, 205, 205);
    let mut lines: Vec<Series> = paths
        .iter()
        .take(20)
        .enumerate()
        .map(|(i, p)| Series {
            name: if i == 0 {
                "sample paths".into()
            } else {
                String::new()
            },
            pen: Pen::solid(grey),
            segments: vec![p
                .ts
                .iter()
                .zip(&p.close)
                .map(|(&t, &c)| (t as f64, c))
                .collect()],
        })
        .collect();
    let names = ["5 % / 95 %", "25 % / 75 %", "median", "", ""];
    // Warm, light to dark: apart from the policies' viridis lines in colour
    // and ordered outer to inner in grey.
    let styles = [
        RGBColor(253, 174, 97),
        RGBColor(230, 97, 60),
        RGBColor(140, 20, 40),
    ];
    // The opening liquidation price of each path-0 run, drawn across the
    // fan where it falls within the 5–95 % band's range.
    let (lo5, hi95) = (
        bands[0].iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
        bands[4]
            .iter()
            .map(|p| p.1)
            .fold(f64::NEG_INFINITY, f64::max),
    );
    let mut liq_lines = Vec::new();
    for (i, r) in path0(input).enumerate() {
        let Some(lp) = r
            .series
            .liquidation_price
            .iter()
            .copied()
            .find(|x| x.is_finite())
        else {
            continue;
        };
        if lp >= 0.8 * lo5 && lp <= 1.2 * hi95 {
            liq_lines.push(Series {
                name: format!("liq. price {}", legend.name(&r.spec.point_id)),
                pen: pen(i),
                segments: vec![vec![(x_range.0, lp), (x_range.1, lp)]],
            });
        }
    }
    for (b, band) in bands.into_iter().enumerate() {
        let (name, band_color) = match b {
            0 | 4 => (if b == 0 { names[0] } else { "" }, styles[0]),
            1 | 3 => (if b == 1 { names[1] } else { "" }, styles[1]),
            _ => (names[2], styles[2]),
        };
        lines.push(Series {
            name: name.into(),
            pen: Pen::solid(band_color),
            segments: vec![band],
        });
    }
    lines.extend(liq_lines);
    let spec = Spec::lines(
        format!("Generated paths: quantiles over {n} of {} paths", sc.paths),
        "price (quote)",
        x_range,
        lines,
    );
    render(
        dir,
        "fan",
        &spec,
        format!("Closes of the generated paths ({}): 5–95 % and 25–75 % quantile bands, the median, and 20 sample paths in grey; coloured horizontal lines: each policy's liquidation price at opening (on path 0), where it falls within the fan.", g.label()),)
}

/// The contagion pass of the first venue configuration (path 0): per
/// instrument, the cumulative notional liquidated and the part of it
/// liquidated because another instrument sank the account.
fn render_contagion(
    dir: &Path,
    input: &ReportInput<'_>,
    x_range: (f64, f64),
) -> Result<Vec<Chart>, ReportError> {
    let Some((outcome, s)) = input
        .sweep
        .contagion
        .iter()
        .filter(|m| m.path == 0)
        .find_map(|m| m.series.as_ref().map(|s| (m, s)))
    else {
        return Ok(Vec::new());
    };
    let bars = s.ts.len();
    let stride = bars.div_ceil(2_000).max(1);
    let mut lines = Vec::new();
    for (k, inst) in outcome.instruments.iter().enumerate() {
        for (j, (what, col)) in [
            ("liquidated", &s.liquidated),
            ("of which contagion", &s.contagion),
        ]
        .into_iter()
        .enumerate()
        {
            let mut acc = 0.0;
            let mut pts = Vec::new();
            for t in 0..bars {
                acc += col[k * bars + t];
                if t % stride == 0 || t + 1 == bars {
                    pts.push((s.ts[t] as f64, acc));
                }
            }
            // One colour per instrument: its total solid, its contagion
            // part dashed.
            let base = pen(k);
            lines.push(Series {
                name: format!("{} {what}", inst.symbol),
                pen: crate::pen::Pen {
                    color: base.color,
                    dash: if j == 0 {
                        crate::pen::Dash::Solid
                    } else {
                        crate::pen::Dash::Dashed
                    },
                },
                segments: vec![pts],
            });
        }
    }
    let label = input.scenario.venues[outcome.venue_index]
        .label
        .clone()
        .unwrap_or_else(|| input.market.venues[outcome.venue_index].name.clone());
    let spec = Spec::lines(
        format!("Crowd liquidations per instrument, cumulative ({label})"),
        "notional (quote)",
        x_range,
        lines,
    );
    Ok(vec![render(
        dir,
        "contagion-liquidated",
        &spec,
        format!("Cumulative notional the crowd's liquidations sold (or bought) in each instrument under {label}, at fill prices, and the part of it from accounts sunk by another instrument's loss (contagion)."),
    )?])
}

/// The crowd's market passes (path 0), one colour per venue configuration:
/// price against simulated mark, liquidation volume, insurance fund, and
/// ADL / socialized losses when there were any.
fn render_market(
    dir: &Path,
    input: &ReportInput<'_>,
    x_range: (f64, f64),
) -> Result<Vec<Chart>, ReportError> {
    let passes: Vec<(String, &levsim_engine::crowd::MarketSeries)> = input
        .sweep
        .markets
        .iter()
        .filter(|m| m.path == 0)
        .filter_map(|m| {
            let label = input.scenario.venues[m.venue_index]
                .label
                .clone()
                .unwrap_or_else(|| input.market.venues[m.venue_index].name.clone());
            m.series.as_ref().map(|s| (label, s))
        })
        .collect();
    let Some((_, first)) = passes.first() else {
        return Ok(Vec::new());
    };
    let n = first.ts.len();
    let many = passes.len() > 1;
    let name = |label: &str, what: &str| {
        if many {
            format!("{what} ({label})")
        } else {
            what.to_string()
        }
    };
    // Down-sampled buckets: last close, lowest mark.
    let stride = n.div_ceil(2_000).max(1);
    let buckets: Vec<(usize, usize)> = (0..n)
        .step_by(stride)
        .map(|a| (a, (a + stride).min(n)))
        .collect();
    let mut lines = vec![Series {
        name: "price (exogenous close)".into(),
        pen: Pen::solid(RGBColor(175, 175, 175)),
        segments: vec![buckets
            .iter()
            .map(|&(_, b)| (first.ts[b - 1] as f64, first.price_close[b - 1]))
            .collect()],
    }];
    for (i, (label, s)) in passes.iter().enumerate() {
        lines.push(Series {
            name: name(label, "simulated mark, low"),
            pen: pen(i),
            segments: vec![buckets
                .iter()
                .map(|&(a, b)| {
                    let lo = s.mark_low[a..b]
                        .iter()
                        .copied()
                        .fold(f64::INFINITY, f64::min);
                    (s.ts[a] as f64, lo)
                })
                .collect()],
        });
    }
    let price = Spec::lines(
        "Historical price and the simulated mark the crowd's liquidations push",
        "price (quote)",
        x_range,
        lines,
    );
    let mut charts = vec![render(
        dir,
        "cascade-price",
        &price,
        "The exogenous close (light grey) and, per venue configuration, the lowest simulated mark in each interval: the price moved by the impact of the crowd's forced orders, decaying with the liquidity model's half-life.".into(),
    )?];
    // Liquidation volume and cascade rounds per time bucket, one bar per
    // venue configuration side by side in each bucket.
    let vb = n.div_ceil(120).max(1);
    let width = vb as f64 * input.market.tape.interval_ns as f64;
    let slot = 0.9 * width / passes.len().max(1) as f64;
    // Per bucket of `vb` bars, `value` of its bars folded by `fold` (sum or
    // max), as pass `i`'s bar in its slot; empty buckets left out.
    let per_bucket = |i: usize,
                      s: &levsim_engine::crowd::MarketSeries,
                      value: &dyn Fn(usize) -> f64,
                      fold: fn(f64, f64) -> f64| {
        (0..n)
            .step_by(vb)
            .map(|a| {
                let v = (a..(a + vb).min(n)).map(value).fold(0.0, fold);
                let x0 = s.ts[a] as f64 + slot * i as f64;
                (x0, x0 + slot, v)
            })
            .filter(|r| r.2 > 0.0)
            .collect::<Vec<_>>()
    };
    let bars: Vec<Bars> = passes
        .iter()
        .enumerate()
        .map(|(i, (label, s))| Bars {
            name: name(label, "liquidated notional"),
            color: color(i),
            bars: per_bucket(
                i,
                s,
                &|k| s.liquidated_long[k] + s.liquidated_short[k],
                |acc, x| acc + x,
            ),
        })
        .collect();
    let volume = Spec::bars(
        "Liquidation volume",
        "liquidated notional (quote)",
        x_range,
        bars,
    );
    charts.push(render(
        dir,
        "cascade-volume",
        &volume,
        format!(
            "Crowd notional liquidated per {} (at fill prices), one bar per venue configuration side by side.",
            fmt_interval(width as i64)
        ),
    )?);
    // The most rounds at one instant in the bucket (max, not sum).
    let round_bars: Vec<Bars> = passes
        .iter()
        .enumerate()
        .map(|(i, (label, s))| Bars {
            name: name(label, "rounds"),
            color: color(i),
            bars: per_bucket(i, s, &|k| f64::from(s.rounds[k]), f64::max),
        })
        .collect();
    if round_bars.iter().any(|b| !b.bars.is_empty()) {
        let rounds = Spec::bars(
            "Cascade rounds",
            "rounds at one instant",
            x_range,
            round_bars,
        );
        charts.push(render(
            dir,
            "cascade-rounds",
            &rounds,
            format!(
                "The most cascade rounds at one instant in each {}, per venue configuration: a round liquidates every account the mark has crossed, and its forced orders move the mark into the next; one round means no cascade.",
                fmt_interval(width as i64)
            ),
        )?);
    }
    let fund = Spec::lines(
        "Insurance fund",
        "balance (quote)",
        x_range,
        passes
            .iter()
            .enumerate()
            .map(|(i, (label, s))| Series {
                name: name(label, "insurance fund"),
                pen: pen(i),
                segments: vec![s
                    .ts
                    .iter()
                    .zip(&s.insurance_fund)
                    .map(|(&t, &f)| (t as f64, f))
                    .collect()],
            })
            .collect(),
    );
    charts.push(render(
        dir,
        "insurance-fund",
        &fund,
        "Insurance-fund balance at each bar's end: it receives the margin left in liquidated accounts and fees, and pays the deficits of bankrupt ones.".into(),
    )?);
    let any_loss = passes
        .iter()
        .any(|(_, s)| s.adl_notional.iter().chain(&s.socialized).any(|x| *x > 0.0));
    if any_loss {
        let cum = |v: &[f64]| -> Vec<f64> {
            v.iter()
                .scan(0.0, |a, x| {
                    *a += x;
                    Some(*a)
                })
                .collect()
        };
        let mut lines = Vec::new();
        for (i, (label, s)) in passes.iter().enumerate() {
            for (what, v) in [
                ("ADL notional", &s.adl_notional),
                ("socialized loss", &s.socialized),
            ] {
                let c = cum(v);
                if c.last().copied().unwrap_or(0.0) > 0.0 {
                    lines.push(Series {
                        name: name(label, what),
                        pen: if what == "ADL notional" {
                            pen(i)
                        } else {
                            pen(i).lighter(0.5)
                        },
                        segments: vec![s.ts.iter().zip(&c).map(|(&t, &y)| (t as f64, y)).collect()],
                    });
                }
            }
        }
        let adl = Spec::lines(
            "Auto-deleveraging and socialized losses (cumulative)",
            "quote",
            x_range,
            lines,
        );
        charts.push(render(
            dir,
            "adl",
            &adl,
            "Cumulative notional closed by ADL against the profitable side, and deficits socialized over its open interest, per venue configuration.".into(),
        )?);
    }
    Ok(charts)
}

fn fmt_interval(ns: i64) -> String {
    levsim_core::time::fmt_duration(ns.max(1))
}

/// The legend names of the scenario's points.
pub(crate) fn legend(input: &ReportInput<'_>) -> crate::labels::Legend {
    crate::labels::Legend::new(input.scenario.plan.points.iter().map(|p| &*p.point_id))
}

/// Ticks of a log axis over [lo, hi]: labelled at 1-2-5 multiples of the
/// powers of ten (only the powers over more than three decades), with
/// light lines at every integer multiple.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return (Vec::new(), Vec::new());
    }
    let (e0, e1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let mults: &[f64] = if e1 - e0 > 3 {
        &[1.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    let inside = |v: &f64| *v >= lo && *v <= hi;
    let mut bold = Vec::new();
    let mut light = Vec::new();
    for e in e0..=e1 {
        let p = 10f64.powi(e);
        bold.extend(mults.iter().map(|m| m * p).filter(inside));
        light.extend((1..10).map(|m| f64::from(m) * p).filter(inside));
    }
    (bold, light)
}

/// Decimals for axis labels over `range`: enough to tell ten steps apart
/// (none from a span of 10 up, one for 1 to 10, …).
pub(crate) fn axis_decimals(range: (f64, f64)) -> usize {
    let w = (range.1 - range.0).abs();
    if !(w > 0.0) || !w.is_finite() {
        return 2;
    }
    (10.0 / w).log10().ceil().clamp(0.0, 8.0) as usize
}

/// The risk measure on a frontier's horizontal axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontierRisk {
    /// Probability of liquidation, 0 to 1.
    PLiquidation,
    /// Expected shortfall at 5 %: the mean loss of the worst 5 % of paths,
    /// percent of committed capital.
    ExpectedShortfall,
}

impl FrontierRisk {
    fn axis(self) -> &'static str {
        match self {
            FrontierRisk::PLiquidation => "probability of liquidation",
            FrontierRisk::ExpectedShortfall => {
                "expected shortfall (5 %), loss in % of committed capital"
            }
        }
    }
    fn bound_label(self, bound: f64) -> String {
        match self {
            FrontierRisk::PLiquidation => format!("constraint: P(liquidation) ≤ {bound}"),
            FrontierRisk::ExpectedShortfall => {
                format!("constraint: expected shortfall ≤ {bound} %")
            }
        }
    }
}

/// One policy family on the efficiency–risk frontier: every candidate as
/// (risk, objective, feasible), and the chosen one.
pub struct FrontierSeries {
    /// Policy name.
    pub name: String,
    /// (risk, objective, meets the constraint).
    pub points: Vec<(f64, f64, bool)>,
    /// The chosen (risk, objective), if any.
    pub chosen: Option<(f64, f64)>,
}

/// Renders `DIR/frontier.svg` and `.png`: the objective against the
/// `risk` measure (the constraint's) for every candidate `levsim optimize`
/// evaluated, one colour per policy (filled: feasible, hollow: not), the
/// chosen points ringed and the constraint's `bound` as a vertical line.
pub fn render_frontier(
    dir: &Path,
    series: &[FrontierSeries],
    objective: &str,
    risk: FrontierRisk,
    bound: f64,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(crate::error::io(dir))?;
    let svg = dir.join("frontier.svg");
    let png = dir.join("frontier.png");
    render_frontier_at(&svg, &png, series, objective, risk, bound)?;
    Ok(vec![svg, png])
}

/// [`render_frontier`] into the given files; returns the SVG markup.
pub(crate) fn render_frontier_at(
    svg: &Path,
    png: &Path,
    series: &[FrontierSeries],
    objective: &str,
    risk: FrontierRisk,
    bound: f64,
) -> Result<String, ReportError> {
    let pts = series.iter().flat_map(|s| s.points.iter());
    let b = if bound.is_finite() { bound } else { 0.0 };
    let (mut x0, mut x1, mut y0, mut y1) = (0.0f64, b * 1.2, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y, _) in pts {
        if x.is_finite() && y.is_finite() {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if !y0.is_finite() {
        (y0, y1) = (0.0, 1.0);
    }
    let pad = ((y1 - y0) * 0.08).max(1e-6);
    let x1 = match risk {
        FrontierRisk::PLiquidation => (x1 * 1.05).min(1.0).max(b * 1.2),
        FrontierRisk::ExpectedShortfall => x1 + 0.05 * (x1 - x0).max(1.0),
    };
    let x0 = x0 - 0.02 * (x1 - x0).max(1e-9);
    let fig = Frontier {
        series,
        objective,
        risk,
        bound,
        range: (x0, x1, y0 - pad, y1 + pad),
    };
    render_files("frontier", svg, png, &fig)
}

/// The frontier as a [`Figure`], with its axis ranges.
struct Frontier<'a> {
    series: &'a [FrontierSeries],
    objective: &'a str,
    risk: FrontierRisk,
    bound: f64,
    range: (f64, f64, f64, f64),
}

impl Figure for Frontier<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 620)
    }
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        draw_frontier(root, self)
    }
}
/// Draws the frontier on `root` (see [`render_frontier`]).
fn draw_frontier<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Frontier<'_>,
) -> Result<(), String> {
    let (series, objective, bound) = (fig.series, fig.objective, fig.bound);
    let (x0, x1, y0, y1) = fig.range;
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(root)
        .caption("Efficiency–risk frontier", ("sans-serif", 24))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(84)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(fig.risk.axis())
        .y_desc(objective)
        .x_label_formatter(&|x| num(*x, axis_decimals((x0, x1))))
        .y_label_formatter(&|y| num(*y, axis_decimals((y0, y1))))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()
        .map_err(|e| e.to_string())?;
    let bound_label = fig.risk.bound_label(bound);
    if bound.is_finite() {
        chart
            .draw_series(LineSeries::new(
                vec![(bound, y0), (bound, y1)],
                ShapeStyle::from(&RGBColor(120, 120, 120)).stroke_width(1),
            ))
            .map_err(|e| e.to_string())?
            .label(bound_label.clone())
            .legend(|(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 22, y)],
                    ShapeStyle::from(&RGBColor(120, 120, 120)),
                )
            });
    }
    for (i, s) in series.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(
                s.points
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .map(|&(x, y, ok)| {
                        let style = if ok {
                            ShapeStyle::from(&c).filled()
                        } else {
                            ShapeStyle::from(&c).stroke_width(1)
                        };
                        Circle::new((x, y), 4, style)
                    }),
            )
            .map_err(|e| e.to_string())?
            .label(s.name.clone())
            .legend(move |(x, y)| Circle::new((x + 11, y), 5, ShapeStyle::from(&c).filled()));
        if let Some((x, y)) = s.chosen {
            chart
                .draw_series(std::iter::once(Circle::new(
                    (x, y),
                    9,
                    ShapeStyle::from(&BLACK).stroke_width(2),
                )))
                .map_err(|e| e.to_string())?;
        }
    }
    crate::legend::draw_legend(&mut chart, |px| {
        crate::legend::place(
            &crate::legend::PlotArea {
                x: (x0, x1),
                y: (y0, y1),
                log_y: false,
                px,
            },
            series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| (p.0, p.1)))
                .chain(
                    bound
                        .is_finite()
                        .then_some([(bound, y0), (bound, y1)])
                        .into_iter()
                        .flatten(),
                ),
            series
                .iter()
                .map(|s| s.name.as_str())
                .chain(bound.is_finite().then_some(bound_label.as_str())),
        )
    })?;
    root.present().map_err(|e| e.to_string())
}

/// Equity, effective leverage and margin ratio of the representative runs
/// (per point: the run at the median return on committed capital, in the
/// point's colour, and the one at the 5th percentile, lighter); none for a
/// single path.
pub(crate) fn render_representative(
    dir: &Path,
    input: &ReportInput<'_>,
) -> Result<Vec<Chart>, ReportError> {
    let reps = &input.sweep.representative;
    if reps.is_empty() {
        return Ok(Vec::new());
    }
    let roles = &input.sweep.representative_roles;
    let legend = legend(input);
    let t = &input.market.tape;
    let x_range = (t.ts[0] as f64, t.end_ns().unwrap_or(t.ts[0] + 1) as f64);
    let paths = input.scenario.plan.paths.max(1);
    let lines = |values: fn(&levsim_engine::SeriesRecorder) -> &[f64], keep: fn(f64) -> bool| {
        let mut out = Vec::new();
        for (idx, role) in roles {
            let Some(r) = reps.iter().find(|r| r.spec.index == *idx) else {
                continue;
            };
            let base = pen(idx / paths);
            out.push(Series {
                name: format!(
                    "{} · {role} (path {})",
                    legend.name(&r.spec.point_id),
                    r.spec.path
                ),
                pen: if *role == "median" {
                    base
                } else {
                    base.lighter(0.55)
                },
                segments: segments(&r.series.ts, values(&r.series), keep),
            });
        }
        out
    };
    render_run_series(
        dir,
        "rep-",
        x_range,
        lines,
        [
            (
                "Equity of the representative runs",
                "For each policy point, the path at its median return on committed capital (full colour) and the one at its 5th percentile (light): equity at each bar close.",
            ),
            (
                "Effective leverage of the representative runs (log scale)",
                "Notional over equity at each bar close for the median (full colour) and worst-5 % (light) runs; a line ends where the run was liquidated.",
            ),
            (
                "Margin ratio of the representative runs (liquidation at 1)",
                "Maintenance margin over equity for the median (full colour) and worst-5 % (light) runs: how close each came to the venue's liquidation line at 1.",
            ),
        ],
    )
}

/// A column of the recorded series.
type Column = fn(&levsim_engine::SeriesRecorder) -> &[f64];
/// Which values of a column to draw.
type Keep = fn(f64) -> bool;
/// One chart of [`render_run_series`]: file name, y axis, log scale,
/// column, values drawn.
type SeriesChart = (&'static str, &'static str, bool, Column, Keep);

/// The equity, effective leverage (log) and margin ratio (log) charts of a
/// set of runs, `NAMEequity`, `NAMEleverage` and `NAMEmargin-ratio`: `lines`
/// draws one chart's series from a column; `text` gives each chart's title
/// and caption.
fn render_run_series(
    dir: &Path,
    prefix: &str,
    x_range: (f64, f64),
    lines: impl Fn(Column, Keep) -> Vec<Series>,
    text: [(&str, &str); 3],
) -> Result<Vec<Chart>, ReportError> {
    let positive = |y: f64| y.is_finite() && y > 0.0;
    let charts: [SeriesChart; 3] = [
        (
            "equity",
            "equity (quote)",
            false,
            |s| &s.equity,
            |y| y.is_finite(),
        ),
        ("leverage", "leverage (x)", true, |s| &s.leverage, positive),
        (
            "margin-ratio",
            "maintenance / equity",
            true,
            |s| &s.margin_ratio,
            positive,
        ),
    ];
    charts
        .into_iter()
        .zip(text)
        .map(|((name, y_desc, log_y, column, keep), (title, caption))| {
            let spec = Spec {
                title: title.into(),
                y_desc: y_desc.into(),
                log_y,
                lines: lines(column, keep),
                markers: vec![],
                x_range,
                bars: vec![],
            };
            render(dir, &format!("{prefix}{name}"), &spec, caption.into())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::axis_decimals;
    use super::*;

    /// Regression (issue 13): the liquidation markers of 2x, 20x and 50x
    /// were one shape in nearly one colour.
    #[test]
    fn neighbouring_runs_get_different_marker_shapes() {
        let shapes: Vec<Vec<(i32, i32)>> = (0..6).map(|i| marker_outline(i, 10.0)).collect();
        for i in 0..6 {
            for j in (i + 1)..6 {
                assert_ne!(shapes[i], shapes[j], "shapes {i} and {j}");
            }
        }
        assert_eq!(marker_outline(6, 10.0), shapes[0]);
    }

    /// Regression (issue 13): legends covered liquidation markers; a
    /// marker outweighs any number of line points.
    #[test]
    fn the_legend_avoids_markers_before_lines() {
        // Lines everywhere but the top-right corner, where one marker is:
        // counting points alone, the legend would go on the marker.
        let mut line: Vec<(f64, f64)> = (0..1000).map(|k| (f64::from(k), 0.0)).collect();
        line.extend((0..700).map(|k| (f64::from(k), 100.0)));
        line.extend((0..800).map(|k| (1000.0, f64::from(k) / 10.0)));
        line.extend((0..1000).map(|k| (0.0, f64::from(k) / 10.0)));
        let spec = Spec {
            title: String::new(),
            y_desc: String::new(),
            log_y: false,
            lines: vec![Series {
                name: "line".into(),
                pen: pen(0),
                segments: vec![line],
            }],
            markers: vec![Markers {
                name: "run liquidated".into(),
                color: color(0),
                shape: 0,
                points: vec![(990.0, 100.0)],
            }],
            x_range: (0.0, 1000.0),
            bars: vec![],
        };
        let place = legend_place((1000.0, 500.0), &spec);
        assert!(
            !matches!(place, SeriesLabelPosition::UpperRight),
            "{place:?}"
        );
    }

    #[test]
    fn axis_labels_have_the_decimals_their_span_needs() {
        assert_eq!(axis_decimals((0.0, 28.0)), 0);
        assert_eq!(axis_decimals((3500.0, 8000.0)), 0);
        assert_eq!(axis_decimals((0.0, 5.0)), 1);
        assert_eq!(axis_decimals((0.0, 1.0)), 1);
        assert_eq!(axis_decimals((0.0, 0.6)), 2);
        assert_eq!(axis_decimals((0.001, 0.002)), 4);
        assert_eq!(axis_decimals((1.0, 1.0)), 2);
    }

    #[test]
    fn log_axes_are_labelled_at_round_values() {
        let (bold, light) = super::log_ticks(1.5, 25.0);
        assert_eq!(bold, vec![2.0, 5.0, 10.0, 20.0]);
        assert_eq!(light.len(), 8 + 2);
        let (bold, _) = super::log_ticks(0.003, 40.0);
        assert_eq!(bold, vec![0.01, 0.1, 1.0, 10.0]);
        assert!(super::log_ticks(0.0, 1.0).0.is_empty());
    }
}
