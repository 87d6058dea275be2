//! Charts across Monte Carlo paths: the distribution of outcomes (ECDF of
//! the return on committed capital), the survival curve (share of paths
//! not yet liquidated against time) and the efficiency–risk frontier of the
//! scenario's own parameter points.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::charts::{render_chart, Chart, Figure, FrontierSeries};
use crate::pen::{draw_line, pen, Pen};
use crate::{ReportError, ReportInput};

/// A step or line series on numeric axes.
struct Xy {
    name: String,
    pen: Pen,
    points: Vec<(f64, f64)>,
}

struct XySpec<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    x: (f64, f64),
    y: (f64, f64),
    series: &'a [Xy],
}

fn draw_xy<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &XySpec<'_>,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(root)
        .caption(s.title, ("sans-serif", 24))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(s.x.0..s.x.1, s.y.0..s.y.1)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(s.x_desc)
        .y_desc(s.y_desc)
        .x_label_formatter(&|x| crate::markdown::num(*x, crate::charts::axis_decimals(s.x)))
        .y_label_formatter(&|y| crate::markdown::num(*y, crate::charts::axis_decimals(s.y)))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()
        .map_err(|e| e.to_string())?;
    for x in s.series {
        draw_line(
            &mut chart,
            x.points.iter().copied(),
            x.pen,
            2,
            Some(&x.name),
        )?;
    }
    crate::legend::draw_legend(&mut chart, |px| {
        crate::legend::place(
            &crate::legend::PlotArea {
                x: s.x,
                y: s.y,
                log_y: false,
                px,
            },
            s.series.iter().flat_map(|x| x.points.iter().copied()),
            s.series.iter().map(|x| x.name.as_str()),
        )
    })?;
    root.present().map_err(|e| e.to_string())
}

impl Figure for XySpec<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 560)
    }
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        draw_xy(root, self)
    }
}

fn render_xy(
    dir: &Path,
    name: &str,
    spec: &XySpec<'_>,
    caption: String,
) -> Result<Chart, ReportError> {
    render_chart(dir, name, spec.title, spec, caption)
}

/// A step function through sorted `xs`: the share of values ≤ x.
fn ecdf(mut xs: Vec<f64>) -> Vec<(f64, f64)> {
    xs.retain(|x| x.is_finite());
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    let mut out = Vec::with_capacity(2 * xs.len());
    for (i, &x) in xs.iter().enumerate() {
        out.push((x, i as f64 / n));
        out.push((x, (i + 1) as f64 / n));
    }
    out
}

/// Share of runs not yet liquidated at each hour a run was, as a step
/// function from 1 at the start to the end of the window (`end_h`).
fn survival(mut hours: Vec<f64>, runs: usize, end_h: f64) -> Vec<(f64, f64)> {
    hours.sort_by(f64::total_cmp);
    let n = runs.max(1) as f64;
    let mut out = vec![(0.0, 1.0)];
    for (i, &h) in hours.iter().enumerate() {
        out.push((h, 1.0 - i as f64 / n));
        out.push((h, 1.0 - (i + 1) as f64 / n));
    }
    out.push((end_h, 1.0 - hours.len() as f64 / n));
    out
}

/// The ECDF, survival and frontier charts; empty for a single path or when
/// the per-run rows were not kept (`--no-results`).
pub(crate) fn render(
    dir: &Path,
    input: &ReportInput<'_>,
    chosen: &[String],
) -> Result<Vec<Chart>, ReportError> {
    let plan = &input.scenario.plan;
    let Some(rows) = &input.sweep.rows else {
        return Ok(Vec::new());
    };
    if plan.paths < 2 || plan.points.is_empty() {
        return Ok(Vec::new());
    }
    let t = &input.market.tape;
    let start = t.ts.first().copied().unwrap_or(0);
    let end_h = (t.end_ns().unwrap_or(start) - start) as f64 / 3.6e12;
    let n_points = plan.points.len();
    let mut roc = vec![Vec::new(); n_points];
    let mut ttl = vec![Vec::new(); n_points];
    for r in rows {
        let p = r.index / plan.paths;
        if p < n_points {
            roc[p].push(r.metrics.return_on_committed_pct);
            if let Some(ts) = r.metrics.first_liquidation_ts {
                ttl[p].push((ts - start) as f64 / 3.6e12);
            }
        }
    }
    let legend = crate::charts::legend(input);
    let label = |i: usize| legend.name(&plan.points[i].point_id);
    let ecdfs: Vec<Xy> = (0..n_points)
        .map(|i| Xy {
            name: label(i),
            pen: pen(i),
            points: ecdf(roc[i].clone()),
        })
        .collect();
    let (x0, x1) = ecdfs
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    let pad = ((x1 - x0) * 0.03).max(0.5);
    let mut charts = vec![render_xy(
        dir,
        "ecdf",
        &XySpec {
            title: "Outcomes across paths",
            x_desc: "return on committed capital (%)",
            y_desc: "share of paths ≤ x",
            x: (x0 - pad, x1 + pad),
            y: (0.0, 1.0),
            series: &ecdfs,
        },
        format!(
            "Empirical distribution of each policy point's return on committed capital (margin + reserve) over the {} paths: read the share of paths that did worse than a given return; the further right, the better.",
            plan.paths
        ),
    )?];
    let surv: Vec<Xy> = (0..n_points)
        .filter(|&i| !ttl[i].is_empty())
        .map(|i| Xy {
            name: label(i),
            pen: pen(i),
            points: survival(ttl[i].clone(), roc[i].len(), end_h),
        })
        .collect();
    if !surv.is_empty() {
        let lo = surv
            .iter()
            .filter_map(|s| s.points.last().map(|p| p.1))
            .fold(1.0f64, f64::min);
        charts.push(render_xy(
            dir,
            "survival",
            &XySpec {
                title: "Time to liquidation",
                x_desc: "hours since start",
                y_desc: "share of paths not liquidated",
                x: (0.0, end_h.max(1e-3)),
                y: ((lo - 0.05).max(0.0), 1.0),
                series: &surv,
            },
            "Survival curve: the share of paths on which the point has not yet been liquidated, against time since the start (points never liquidated are left out).".into(),
        )?);
    }
    // The frontier of the scenario's own points: one series per family.
    let mut fams: Vec<(String, FrontierSeries)> = Vec::new();
    for a in &input.sweep.aggregates {
        let fam = crate::overview::family_label(&a.venue, &a.policy);
        let pt = (
            a.p_liquidation,
            a.exposure_per_committed_p50,
            a.p_liquidation_ci[1] <= crate::overview::ANSWER_BOUND,
        );
        let is_chosen = chosen.contains(&a.point_id);
        match fams.iter_mut().find(|(k, _)| *k == fam) {
            Some((_, s)) => {
                s.points.push(pt);
                if is_chosen {
                    s.chosen = Some((pt.0, pt.1));
                }
            }
            None => fams.push((
                fam.clone(),
                FrontierSeries {
                    name: fam,
                    points: vec![pt],
                    chosen: is_chosen.then_some((pt.0, pt.1)),
                },
            )),
        }
    }
    if input.sweep.aggregates.len() > 1 {
        let series: Vec<FrontierSeries> = fams.into_iter().map(|(_, s)| s).collect();
        let svg = dir.join("charts").join("frontier.svg");
        let png = dir.join("charts").join("frontier.png");
        let markup = crate::charts::render_frontier_at(
            &svg,
            &png,
            &series,
            "exposure per unit of committed capital",
            crate::charts::FrontierRisk::PLiquidation,
            crate::overview::ANSWER_BOUND,
        )?;
        charts.push(Chart {
            title: "Efficiency–risk frontier".into(),
            caption: format!(
                "Each parameter point's median exposure per unit of committed capital against its probability of liquidation over the paths, one colour per policy; filled: P(liquidation) below {} % with 95 % confidence; ringed: the answer's choice per policy.",
                100.0 * crate::overview::ANSWER_BOUND
            ),
            svg,
            png,
            markup,
        });
    }
    Ok(charts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdf_and_survival_are_step_functions() {
        let e = ecdf(vec![3.0, 1.0, f64::NAN, 2.0]);
        assert_eq!(e.first(), Some(&(1.0, 0.0)));
        assert_eq!(e.last(), Some(&(3.0, 1.0)));
        assert!(e.windows(2).all(|w| w[1].0 >= w[0].0 && w[1].1 >= w[0].1));
        // 2 of 4 runs liquidated, at 5 h and 1 h: half survive to the end.
        let s = survival(vec![5.0, 1.0], 4, 10.0);
        assert_eq!(s.first(), Some(&(0.0, 1.0)));
        assert_eq!(s[2], (1.0, 0.75));
        assert_eq!(s.last(), Some(&(10.0, 0.5)));
    }
}
