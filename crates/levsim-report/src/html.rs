//! `index.html`: self-contained (inline CSS and SVG, no network).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::charts::{color, Chart};
use crate::error::io;
use crate::markdown::run_rows;
use crate::{ReportError, ReportInput};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1240px;color:#222;padding:0 1rem}\
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}\
table{border-collapse:collapse;font-size:.9rem;width:100%}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:right}\
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}tr:nth-child(even){background:#fafafa}\
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.4rem;vertical-align:middle;border-radius:2px}\
figure{margin:1rem 0}figure svg{width:100%;height:auto}figcaption{color:#555;font-size:.9rem}\
.meta{color:#555}pre{background:#f6f6f6;padding:1rem;overflow:auto;font-size:.8rem}\
@media print{figure{page-break-inside:avoid}body{margin:0}}";

/// Appends a plain table (every cell escaped).
fn table<S: AsRef<str>>(h: &mut String, head: &[S], rows: &[Vec<String>]) {
    let _ = write!(h, "<table><thead><tr>");
    for c in head {
        let _ = write!(h, "<th>{}</th>", esc(c.as_ref()));
    }
    let _ = write!(h, "</tr></thead><tbody>");
    for r in rows {
        let _ = write!(h, "<tr>");
        for cell in r {
            let _ = write!(h, "<td>{}</td>", esc(cell));
        }
        let _ = write!(h, "</tr>");
    }
    let _ = write!(h, "</tbody></table>");
}

pub(crate) fn write(
    dir: &Path,
    input: &ReportInput<'_>,
    summary: &Value,
    charts: &[Chart],
) -> Result<PathBuf, ReportError> {
    let sc = input.scenario;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>levsim: {}</title><style>{CSS}</style></head><body>",
        esc(&sc.name)
    );
    let _ = write!(h, "<h1 id=\"top\">{}</h1>", esc(&sc.name));
    if !sc.description.trim().is_empty() {
        let _ = write!(h, "<p>{}</p>", esc(sc.description.trim()));
    }
    let lines: Vec<String> = crate::summary::scenario_lines(summary, input)
        .iter()
        .map(|l| esc(l))
        .collect();
    let _ = write!(h, "<p class=\"meta\">{}</p>", lines.join("<br>"));
    if let Some((head, rows)) = crate::cascade::rows(summary) {
        let _ = write!(h, "<h2 id=\"cascade\">Cascades</h2>");
        if let Some(v) = crate::cascade::verdict(summary) {
            let _ = write!(h, "<p><strong>{}</strong></p>", esc(&v));
        }
        table(&mut h, &head, &rows);
        let _ = write!(
            h,
            "<p class=\"meta\">The crowd's market pass (path 0): notional at fill prices; rounds: liquidation rounds at one price point; R: the cascade ratio, impact of the liquidations over the total move (exogenous + impact) at the points where accounts were liquidated; margin / exposure: the crowd's collateral per unit of position at the start (capital efficiency); conservation error: imbalance of the money ledger (quote).</p>"
        );
        if let Some((head, rows)) = crate::cascade::path_rows(summary) {
            table(&mut h, &head, &rows);
            let _ = write!(
                h,
                "<p class=\"meta\">The same over every Monte Carlo path.</p>"
            );
        }
    }
    if let Some((head, rows)) = crate::markdown::aggregate_rows(summary) {
        let _ = write!(h, "<h2 id=\"aggregates\">Across {} paths</h2>", sc.paths);
        table(&mut h, &head, &rows);
        let _ = write!(
            h,
            "<p class=\"meta\">P(liquidation): share of paths with at least one liquidation, with its Wilson 95 % interval. ES 5 %: mean return of the worst 5 % of paths. The runs table and the charts show path 0; results.parquet has every run.</p>"
        );
    }
    let _ = write!(h, "<h2 id=\"runs\">Runs</h2><table><thead><tr>");
    let (head, rows) = run_rows(input);
    for c in &head {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    let _ = write!(h, "</tr></thead><tbody>");
    for (i, r) in rows.iter().enumerate() {
        let c = color(i);
        let _ = write!(h, "<tr>");
        for (j, cell) in r.iter().enumerate() {
            if j == 0 {
                let _ = write!(
                    h,
                    "<td><span class=\"swatch\" style=\"background:rgb({},{},{})\"></span>{}</td>",
                    c.0,
                    c.1,
                    c.2,
                    esc(cell)
                );
            } else {
                let _ = write!(h, "<td>{}</td>", esc(cell));
            }
        }
        let _ = write!(h, "</tr>");
    }
    let _ = write!(
        h,
        "</tbody></table><p class=\"meta\">Money in quote currency. A liquidation's time is the open time of the bar in which the mark reached the liquidation price; the price is the liquidation price when the path crossed it continuously, or the bar's open when it gapped through.</p>"
    );
    let _ = write!(h, "<h2 id=\"charts\">Charts</h2>");
    for c in charts {
        let svg = std::fs::read_to_string(&c.svg).map_err(io(&c.svg))?;
        let svg = svg.trim_start_matches(|ch| ch != '<');
        let svg = svg
            .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            .unwrap_or(svg);
        let _ = write!(
            h,
            "<figure role=\"img\" aria-label=\"{}\">{}<figcaption>{} (PNG: <a href=\"charts/{}\">charts/{}</a>)</figcaption></figure>",
            esc(&c.title),
            svg,
            esc(&c.caption),
            c.png.file_name().and_then(|s| s.to_str()).unwrap_or(""),
            c.png.file_name().and_then(|s| s.to_str()).unwrap_or(""),
        );
    }
    let _ = write!(
        h,
        "<h2 id=\"reproduce\">Reproduce</h2><p><code>{}</code></p><p>Files: summary.json, summary.md, {}timeseries.parquet, manifest.json (seeds, versions, input sha256).</p><details><summary>Scenario file</summary><pre>{}</pre></details></body></html>",
        esc(input.command),
        if input.sweep.rows.is_some() {
            "results.parquet (one row per run), "
        } else {
            ""
        },
        esc(&sc.text)
    );
    let path = dir.join("index.html");
    std::fs::write(&path, h).map_err(io(&path))?;
    Ok(path)
}
