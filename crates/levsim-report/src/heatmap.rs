//! Heatmaps of one metric over two sweep axes: the two parameters that vary
//! within a policy's grid, or the venue configuration against the policy
//! point. The metric is P(liquidation) over Monte Carlo paths, or the
//! return on committed capital on history.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::charts::{render_chart, Chart, Figure};
use crate::markdown::num;
use crate::{ReportError, ReportInput};

/// One heatmap: `values[y][x]`, NaN where no point was run.
struct Grid {
    title: String,
    x_desc: String,
    y_desc: String,
    x_labels: Vec<String>,
    y_labels: Vec<String>,
    values: Vec<Vec<f64>>,
    /// Probability (0..1, light = safe) or return (percent, light = good).
    probability: bool,
}

/// Light yellow to dark red, monotone in lightness (reads in grey).
fn shade(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(255.0, 140.0), lerp(247.0, 10.0), lerp(200.0, 20.0))
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, g: &Grid) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (nx, ny) = (g.x_labels.len() as i32, g.y_labels.len() as i32);
    let mut chart = ChartBuilder::on(root)
        .caption(&g.title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(180)
        .build_cartesian_2d((0..nx - 1).into_segmented(), (0..ny - 1).into_segmented())
        .map_err(|e| e.to_string())?;
    let xl = g.x_labels.clone();
    let yl = g.y_labels.clone();
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(g.x_desc.as_str())
        .y_desc(g.y_desc.as_str())
        .x_labels(nx as usize + 1)
        .y_labels(ny as usize + 1)
        .x_label_formatter(&move |i| seg_label(&xl, i))
        .y_label_formatter(&move |i| seg_label(&yl, i))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()
        .map_err(|e| e.to_string())?;
    for (y, row) in g.values.iter().enumerate() {
        for (x, &v) in row.iter().enumerate() {
            let (x, y) = (x as i32, y as i32);
            if !v.is_finite() {
                continue;
            }
            // Darker = worse: higher probability, or lower return.
            // Absolute scales, so small differences are not exaggerated:
            // probability 0..1; return 0 % (or better) .. −100 %.
            let t = if g.probability { v } else { -v / 100.0 };
            let fill = shade(t);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [
                        (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
                    ],
                    ShapeStyle::from(&fill).filled(),
                )))
                .map_err(|e| e.to_string())?;
            let text = if g.probability {
                format!("{} %", num(100.0 * v, 1))
            } else {
                format!("{} %", num(v, 1))
            };
            let ink = if t > 0.55 { WHITE } else { BLACK };
            // Centre of the cell in pixels, then the label there.
            let (px, py) =
                chart.backend_coord(&(SegmentValue::Exact(x), SegmentValue::Exact(y + 1)));
            let (qx, qy) =
                chart.backend_coord(&(SegmentValue::Exact(x + 1), SegmentValue::Exact(y)));
            root.draw(&Text::new(
                text,
                ((px + qx) / 2 - 24, (py + qy) / 2 - 8),
                ("sans-serif", 16).into_font().color(&ink),
            ))
            .map_err(|e| e.to_string())?;
        }
    }
    root.present().map_err(|e| e.to_string())
}

impl Figure for Grid {
    fn size(&self) -> (u32, u32) {
        (
            1100,
            (140 + 60 * self.y_labels.len()).clamp(320, 900) as u32,
        )
    }
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        draw(root, self)
    }
}

fn render(dir: &Path, name: &str, g: &Grid, caption: String) -> Result<Chart, ReportError> {
    render_chart(dir, name, &g.title, g, caption)
}

/// The label of a category (its centre), empty elsewhere.
fn seg_label(labels: &[String], v: &SegmentValue<i32>) -> String {
    match v {
        SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

/// Whether a grid says anything: its values differ by more than `tol`.
fn varies(values: &[Vec<f64>], tol: f64) -> bool {
    let (lo, hi) = values
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    hi - lo > tol
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

fn label(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A metric of a point.
type Metric<'a> = dyn Fn(&levsim_scenario::Aggregate) -> f64 + 'a;
/// Fills a grid with a metric.
type Fill<'a> = dyn Fn(&Metric<'_>) -> Vec<Vec<f64>> + 'a;

/// The heatmaps a scenario's sweep supports (none for fewer than two axes).
pub(crate) fn render_all(dir: &Path, input: &ReportInput<'_>) -> Result<Vec<Chart>, ReportError> {
    let aggs = &input.sweep.aggregates;
    let mc = input.scenario.paths > 1;
    // P(liquidation) where it varies over the grid, else the (median)
    // return on committed capital where that varies, else nothing.
    let choose = |fill: &Fill<'_>| {
        let p = fill(&|a| a.p_liquidation);
        if mc && varies(&p, 1e-9) {
            return Some((p, true, "probability of liquidation over the paths"));
        }
        let r = fill(&|a| a.return_on_committed_pct_p50);
        varies(&r, 0.5).then_some((
            r,
            false,
            if mc {
                "median return on committed capital"
            } else {
                "return on committed capital"
            },
        ))
    };
    let mut charts = Vec::new();
    // Families: (venue, policy) with exactly two varying parameters.
    let mut fams: Vec<(String, String)> = Vec::new();
    for a in aggs {
        let k = (a.venue.clone(), a.policy.clone());
        if !fams.contains(&k) {
            fams.push(k);
        }
    }
    for (venue, policy) in &fams {
        let pts: Vec<&levsim_scenario::Aggregate> = aggs
            .iter()
            .filter(|a| a.venue == *venue && a.policy == *policy)
            .collect();
        let keys: Vec<&String> = pts[0].params.keys().collect();
        let axes: Vec<(&String, Vec<String>)> = keys
            .iter()
            .map(|k| {
                let mut vals: Vec<String> = Vec::new();
                for p in &pts {
                    let v = p.params.get(*k).map(label).unwrap_or_default();
                    if !vals.contains(&v) {
                        vals.push(v);
                    }
                }
                (*k, vals)
            })
            .filter(|(_, v)| v.len() > 1)
            .collect();
        if axes.len() != 2 {
            continue;
        }
        let (xk, xs) = &axes[0];
        let (yk, ys) = &axes[1];
        let fill = |metric: &Metric<'_>| {
            let mut values = vec![vec![f64::NAN; xs.len()]; ys.len()];
            for p in &pts {
                let x = p.params.get(*xk).map(label).unwrap_or_default();
                let y = p.params.get(*yk).map(label).unwrap_or_default();
                if let (Some(xi), Some(yi)) = (
                    xs.iter().position(|v| *v == x),
                    ys.iter().position(|v| *v == y),
                ) {
                    values[yi][xi] = metric(p);
                }
            }
            values
        };
        let Some((values, probability, metric_name)) = choose(&fill) else {
            continue;
        };
        let fam = crate::overview::family_label(venue, policy);
        let name = format!("heatmap-{}", charts.len() + 1);
        charts.push(render(
            dir,
            &name,
            &Grid {
                title: format!("{fam}: {metric_name}"),
                x_desc: (*xk).clone(),
                y_desc: (*yk).clone(),
                x_labels: xs.clone(),
                y_labels: ys.clone(),
                values,
                probability,
            },
            format!(
                "{} of {fam} over its two swept parameters, {xk} and {yk}; darker is worse.",
                capitalized(metric_name)
            ),
        )?);
    }
    // Venue configuration × policy point.
    let venues: Vec<String> = {
        let mut v: Vec<String> = Vec::new();
        for a in aggs {
            if !v.contains(&a.venue) {
                v.push(a.venue.clone());
            }
        }
        v
    };
    if venues.len() > 1 {
        let point = |a: &levsim_scenario::Aggregate| {
            crate::overview::point_label(&a.point_id, &a.venue).to_string()
        };
        let mut xs: Vec<String> = Vec::new();
        for a in aggs {
            let p = point(a);
            if !xs.contains(&p) {
                xs.push(p);
            }
        }
        let fill = |metric: &Metric<'_>| {
            let mut values = vec![vec![f64::NAN; xs.len()]; venues.len()];
            for a in aggs {
                if let (Some(xi), Some(yi)) = (
                    xs.iter().position(|v| *v == point(a)),
                    venues.iter().position(|v| *v == a.venue),
                ) {
                    values[yi][xi] = metric(a);
                }
            }
            values
        };
        let Some((values, probability, metric_name)) = choose(&fill) else {
            return Ok(charts);
        };
        charts.push(render(
            dir,
            "heatmap-venues",
            &Grid {
                title: format!("Venue configuration × policy point: {metric_name}"),
                x_desc: "policy point".into(),
                y_desc: "venue configuration".into(),
                x_labels: xs,
                y_labels: venues,
                values,
                probability,
            },
            format!(
                "{} of each policy point under each venue configuration; darker is worse.",
                capitalized(metric_name)
            ),
        )?);
    }
    Ok(charts)
}
