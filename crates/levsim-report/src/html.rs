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
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:.4rem 0;z-index:1}nav a{margin-right:1rem;color:#1f4e79;text-decoration:none}\
.answer{background:#f3f7fb;border-left:4px solid #1f77b4;padding:.5rem 1rem;margin:1rem 0}.answer ul{margin:.3rem 0}\
code{word-break:break-all}td{white-space:nowrap}td:first-child{white-space:normal;word-break:break-word}.kv td{text-align:left;white-space:normal;word-break:break-all}.kv th{text-align:left}\
@media print{figure,table{page-break-inside:avoid}body{margin:0;max-width:none}nav{display:none}details{display:block}a{color:inherit}}";

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

/// What the page is made of besides the scenario.
pub(crate) struct Parts<'a> {
    pub summary: &'a Value,
    pub overview: &'a crate::overview::Overview,
    pub charts: &'a [Chart],
    pub manifest: &'a Value,
    /// `frontier.svg` written by `levsim optimize` beside the report.
    pub optimize_frontier: Option<PathBuf>,
}

/// The section a chart belongs to, by its file name.
fn section_of(c: &Chart) -> &'static str {
    let stem = c.svg.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    match stem {
        "price" | "mark" | "fan" => "market",
        s if s.starts_with("price-") => "market",
        s if s.starts_with("margin-") && s != "margin-ratio" => "portfolio",
        s if s.starts_with("greeks-") => "portfolio",
        s if s.starts_with("models-") => "options",
        "cascade-price" | "cascade-volume" | "cascade-rounds" | "insurance-fund" | "adl" => {
            "cascade"
        }
        s if s.starts_with("contagion") => "contagion",
        "frontier" => "sweeps",
        s if s.starts_with("heatmap") => "sweeps",
        _ => "policies",
    }
}

/// SVG markup without its XML declaration, to inline in the page.
fn inline_svg(svg: &str) -> &str {
    let svg = svg.trim_start_matches(|ch| ch != '<');
    svg.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .unwrap_or(svg)
}

fn figure(h: &mut String, dir: &Path, c: &Chart) -> Result<(), ReportError> {
    let svg = inline_svg(&c.markup);
    let png = c
        .png
        .strip_prefix(dir)
        .unwrap_or(&c.png)
        .to_string_lossy()
        .replace('\\', "/");
    let _ = write!(
        h,
        "<figure role=\"img\" aria-label=\"{}\">{}<figcaption>{} (PNG: <a href=\"{png}\">{png}</a>)</figcaption></figure>",
        esc(&c.title),
        svg,
        esc(&c.caption),
    );
    Ok(())
}

pub(crate) fn write(
    dir: &Path,
    input: &ReportInput<'_>,
    parts: &Parts<'_>,
) -> Result<PathBuf, ReportError> {
    let sc = input.scenario;
    let summary = parts.summary;
    let ov = parts.overview;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>levsim: {}</title><style>{CSS}</style></head><body>",
        esc(&sc.name)
    );
    let _ = write!(h, "<h1 id=\"top\">{}</h1>", esc(&sc.name));
    if !sc.description.trim().is_empty() {
        let _ = write!(h, "<p>{}</p>", esc(sc.description.trim()));
    }
    let mut lines: Vec<String> = crate::summary::scenario_lines(summary, input)
        .iter()
        .map(|l| esc(l))
        .collect();
    if sc.paths > 1 {
        lines.push(format!(
            "Paths: {} (seed {}); every policy point runs on the same paths.",
            sc.paths, sc.seed
        ));
    }
    let _ = write!(h, "<p class=\"meta\">{}</p>", lines.join("<br>"));
    let has = |sec: &str| parts.charts.iter().any(|c| section_of(c) == sec);
    let cascade = crate::cascade::rows(summary);
    let mut nav = vec![("summary", "Summary"), ("market", "Market")];
    if cascade.is_some() {
        nav.push(("cascade", "Cascade"));
    }
    let contagion = crate::contagion::rows(summary);
    if contagion.is_some() {
        nav.push(("contagion", "Contagion"));
    }
    if sc.portfolio.is_some() {
        nav.push(("portfolio", "Portfolio"));
    }
    nav.push(("policies", "Policies"));
    if has("sweeps") || parts.optimize_frontier.is_some() {
        nav.push(("sweeps", "Sweeps"));
    }
    nav.push(("runs", "Runs"));
    nav.push(("reproduce", "Reproducibility"));
    let _ = write!(h, "<nav>");
    for (id, name) in &nav {
        let _ = write!(h, "<a href=\"#{id}\">{name}</a>");
    }
    let _ = write!(h, "</nav>");

    // Summary: the answer first.
    let _ = write!(h, "<h2 id=\"summary\">Summary</h2><div class=\"answer\">");
    // A scenario with a crowd asks about cascades first.
    let verdict = crate::cascade::verdict(summary);
    if let Some((first, rest)) = verdict.as_ref().and_then(|v| v.split_first()) {
        let _ = write!(h, "<p><strong>Cascades.</strong> {}</p><ul>", esc(first));
        for line in rest {
            let _ = write!(h, "<li>{}</li>", esc(line));
        }
        let _ = write!(h, "</ul>");
    }
    if let Some((first, rest)) = crate::contagion::verdict(summary)
        .as_ref()
        .and_then(|v| v.split_first())
    {
        let _ = write!(h, "<p><strong>Contagion.</strong> {}</p><ul>", esc(first));
        for line in rest {
            let _ = write!(h, "<li>{}</li>", esc(line));
        }
        let _ = write!(h, "</ul>");
    }
    if let Some((first, rest)) = ov.answer.split_first() {
        let _ = write!(h, "<p><strong>{}</strong></p><ul>", esc(first));
        for a in rest {
            let _ = write!(h, "<li>{}</li>", esc(a));
        }
        let _ = write!(h, "</ul>");
    }
    let _ = write!(h, "</div>");
    table(&mut h, &ov.head, &ov.rows);
    let _ = write!(
        h,
        "<p class=\"meta\">{}Return on committed capital: final equity plus reserve over margin plus reserve committed, percent. {}{} Fees and funding in quote currency (funding: net received, negative when paid).</p>",
        if sc.paths > 1 {
            "One row per policy point over all paths: P(liquidation) is the share of paths with a liquidation, with its Wilson 95 % interval; p50 and p05 are the median and 5th percentile across paths. "
        } else {
            "One row per policy point on the historical window. "
        },
        esc(crate::markdown::EXPOSURE_NOTE),
        if sc.paths > 1 { " (the table gives its median over paths)" } else { "" }
    );
    if let Some((head, rows)) = &ov.recommended {
        let _ = write!(
            h,
            "<h3 id=\"recommended\">Recommended by levsim optimize</h3>"
        );
        table(&mut h, head, rows);
        let _ = write!(
            h,
            "<p class=\"meta\">From optimize.json beside this report. 95 % range: the evaluated parameter values that could be the optimum (their risk interval reaches the bound and no candidate surely within it is better with a disjoint objective interval).</p>"
        );
    }
    if let Some(n) = &ov.optimize_note {
        let _ = write!(h, "<p class=\"meta\">{}</p>", esc(n));
    }

    // Market.
    let _ = write!(h, "<h2 id=\"market\">Market</h2>");
    for c in parts.charts.iter().filter(|c| section_of(c) == "market") {
        figure(&mut h, dir, c)?;
    }

    // Cascade.
    if let Some((head, rows)) = cascade {
        let _ = write!(h, "<h2 id=\"cascade\">Cascade</h2>");
        table(&mut h, &head, &rows);
        let _ = write!(
            h,
            "<p class=\"meta\">The crowd's market pass (path 0): notional at fill prices; rounds: liquidation rounds at one price point; R: the cascade ratio, impact of the liquidations over the total move (exogenous + impact) at the points where accounts were liquidated; margin / exposure: the crowd's collateral per unit of position at the start (capital efficiency); conservation error: the largest imbalance of the money ledger (quote) over every path the crowd ran, with the number of paths.</p>"
        );
        if let Some((head, rows)) = crate::cascade::path_rows(summary) {
            table(&mut h, &head, &rows);
            let _ = write!(
                h,
                "<p class=\"meta\">The same over every Monte Carlo path.</p>"
            );
        }
        for c in parts.charts.iter().filter(|c| section_of(c) == "cascade") {
            figure(&mut h, dir, c)?;
        }
    }

    // Contagion between the instruments of a crowd.
    if let Some((head, rows)) = contagion {
        let _ = write!(h, "<h2 id=\"contagion\">Contagion between assets</h2>");
        table(&mut h, &head, &rows);
        if let Some((head, rows)) = crate::contagion::instrument_rows(summary) {
            let _ = write!(h, "<h3>Each instrument</h3>");
            table(&mut h, &head, &rows);
        }
        let _ = write!(h, "<p class=\"meta\">{}</p>", esc(crate::contagion::NOTE));
        for c in parts.charts.iter().filter(|c| section_of(c) == "contagion") {
            figure(&mut h, dir, c)?;
        }
    }

    // Portfolio: margin modes side by side, and each leg.
    if let Some((head, rows)) = crate::legs::mode_rows(input) {
        let _ = write!(
            h,
            "<h2 id=\"portfolio\">Portfolio: margin modes side by side</h2>"
        );
        table(&mut h, &head, &rows);
        if let Some((head, rows)) = crate::legs::leg_rows(input) {
            let _ = write!(h, "<h3>Each leg (runs on path 0)</h3>");
            table(&mut h, &head, &rows);
        }
        if let Some((head, rows)) = crate::legs::correlation_rows(input) {
            let _ = write!(
                h,
                "<h3>Correlation of the instruments' bar returns</h3><p class=\"meta\">Set (the market's, or the one portfolio margin assumes) and realized on path 0.</p>"
            );
            table(&mut h, &head, &rows);
        }
        let _ = write!(h, "<p class=\"meta\">{}</p>", esc(crate::legs::LEGS_NOTE));
        if let Some((head, rows)) = crate::contagion::transfer_rows(input) {
            let _ = write!(h, "<h3>Transfers between the isolated accounts</h3>");
            table(&mut h, &head, &rows);
            let _ = write!(
                h,
                "<p class=\"meta\">{}</p>",
                esc(crate::contagion::TRANSFER_NOTE)
            );
        }
        for c in parts.charts.iter().filter(|c| section_of(c) == "portfolio") {
            figure(&mut h, dir, c)?;
        }
    }

    // Option books: margin models side by side and the stress tables.
    if let Some((head, rows)) = crate::models::model_rows(input) {
        let _ = write!(
            h,
            "<h2 id=\"options\">Options: margin models side by side</h2>"
        );
        table(&mut h, &head, &rows);
        let _ = write!(
            h,
            "<p class=\"meta\">{}</p>",
            esc(crate::models::MODELS_NOTE)
        );
        for (title, head, rows) in crate::models::stress_tables(input) {
            let _ = write!(h, "<h3>Price-volatility stress: {}</h3>", esc(&title));
            table(&mut h, &head, &rows);
        }
        for c in parts.charts.iter().filter(|c| section_of(c) == "options") {
            figure(&mut h, dir, c)?;
        }
    }

    // Policies.
    let _ = write!(h, "<h2 id=\"policies\">Policies</h2>");
    if let Some((head, rows)) = crate::markdown::aggregate_rows(summary) {
        table(&mut h, &head, &rows);
        let _ = write!(
            h,
            "<p class=\"meta\">Across {} paths. ES 5 %: mean return of the worst 5 % of paths. The equity and leverage charts show path 0; results.parquet has every run.</p>",
            sc.paths
        );
    }
    for c in parts.charts.iter().filter(|c| section_of(c) == "policies") {
        figure(&mut h, dir, c)?;
    }

    // Sweeps.
    if has("sweeps") || parts.optimize_frontier.is_some() {
        let _ = write!(h, "<h2 id=\"sweeps\">Sweeps</h2>");
        for c in parts.charts.iter().filter(|c| section_of(c) == "sweeps") {
            figure(&mut h, dir, c)?;
        }
        if let Some(f) = &parts.optimize_frontier {
            let _ = write!(
                h,
                "<figure role=\"img\" aria-label=\"levsim optimize frontier\">{}<figcaption>Every candidate levsim optimize evaluated: objective against P(liquidation), filled where it meets the constraint, the chosen point ringed (PNG: <a href=\"frontier.png\">frontier.png</a>).</figcaption></figure>",
                inline_svg(&std::fs::read_to_string(f).map_err(io(f))?)
            );
        }
    }

    // Runs on path 0.
    let _ = write!(
        h,
        "<h2 id=\"runs\">Runs{}</h2><table><thead><tr>",
        if sc.paths > 1 { " on path 0" } else { "" }
    );
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
        "</tbody></table><p class=\"meta\">{} A liquidation's time is the open time of the bar in which the mark reached the liquidation price; the price is the liquidation price when the path crossed it continuously, or the bar's open when it gapped through.</p>",
        esc(crate::markdown::money_note(input))
    );
    for n in crate::markdown::run_notes(input) {
        let _ = write!(h, "<p class=\"meta\">{}</p>", esc(&n));
    }

    // Reproducibility.
    let m = parts.manifest;
    let st = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let _ = write!(
        h,
        "<h2 id=\"reproduce\">Reproducibility</h2><p>Command: <code>{}</code></p>",
        esc(input.command)
    );
    let mut facts: Vec<Vec<String>> = vec![
        vec!["levsim version".to_string(), st(&m["levsim_version"])],
        vec![
            "git revision".to_string(),
            m["git_revision"].as_str().unwrap_or("unknown").to_string(),
        ],
        vec!["scenario file".to_string(), st(&m["scenario_file"])],
        vec!["scenario seed".to_string(), st(&m["scenario_seed"])],
        vec![
            "platform".to_string(),
            format!(
                "{} {}",
                st(&m["platform"]["os"]),
                st(&m["platform"]["arch"])
            ),
        ],
    ];
    for v in m["venue_profiles"].as_array().into_iter().flatten() {
        let row = vec![
            "venue profile".to_string(),
            format!(
                "{} {} (as of {})",
                st(&v["name"]),
                st(&v["version"]),
                st(&v["as_of"])
            ),
        ];
        if !facts.contains(&row) {
            facts.push(row);
        }
    }
    let _ = write!(h, "<div class=\"kv\">");
    table(&mut h, &["what", "value"], &facts);
    let _ = write!(h, "</div>");
    let files: Vec<Vec<String>> = m["data_files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| vec![st(&f["path"]), st(&f["sha256"])])
        .collect();
    if !files.is_empty() {
        let _ = write!(h, "<h3>Data files</h3>");
        table(&mut h, &["file", "sha256"], &files);
    }
    let _ = write!(
        h,
        "<p class=\"meta\">Every run's seed is in manifest.json (run_seeds) and results.parquet (seed); the same scenario and seed give the same results on any thread count or shard layout. Files: summary.json, summary.md, {}timeseries.parquet, manifest.json.</p><details><summary>Scenario file</summary><pre>{}</pre></details></body></html>",
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
