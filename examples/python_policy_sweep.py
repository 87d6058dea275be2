"""Sweep a policy written in Python over Monte Carlo paths and plot its
probability of liquidation against its return on committed capital.

    pip install ./python            # or: cd python && maturin develop
    python examples/python_policy_sweep.py [--paths 400] [--out reports/python-policy-sweep]

The policy, `DeLever`, holds a long at `leverage` and, when the mark comes
within `buffer` (relative) of its liquidation price, cuts to half that
leverage; it re-levers hourly when the distance is back above twice the
buffer. The market is a week of Merton jump-diffusion (hourly bars whose
extremes are the Brownian bridge's, so liquidations are seen within the
bar), Binance's BTCUSDT rules. Each (leverage, buffer) point runs on the
same paths (common random numbers), so the points differ by what the
policy decides, not by luck.

Writes the report (index.html, Parquet files, charts) and
`frontier.png` (or `frontier.svg` without matplotlib) into --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

import levsim
from levsim import Decision


class DeLever:
    """Long at `leverage`; at `buffer` from liquidation, half of it."""

    # Consulted every bar: it must see the mark approach its liquidation price.
    cadence = "every_bar"

    def __init__(self, leverage: float, buffer: float):
        self.leverage = leverage
        self.buffer = buffer
        self.cut = False

    def reset(self):
        self.cut = False

    def decide(self, obs):
        if obs.is_flat() and not self.cut:
            return Decision.target_leverage(self.leverage)
        d = obs.distance_to_liquidation()
        if d is None:
            return Decision.hold()
        if not self.cut and d < self.buffer:
            self.cut = True
            return Decision.target_leverage(self.leverage / 2)
        if self.cut and d > 2 * self.buffer:
            self.cut = False
            return Decision.target_leverage(self.leverage)
        return Decision.hold()


def scenario(paths: int) -> dict:
    return {
        "name": "python-policy-sweep",
        "description": "DeLever (a Python policy) over a week of Merton jumps: leverage × buffer.",
        "seed": 2026,
        "market": {
            "kind": "merton",
            "symbol": "BTCUSDT",
            "sigma": 0.6,
            "jump_rate": 12.0,
            "jump_mean": -0.1,
            "jump_sigma": 0.03,
            "dt": "1h",
            "horizon": "7d",
            "paths": paths,
            "start_price": 60000.0,
            "start": "2026-01-01T00:00:00Z",
        },
        "venue": {"profile": "binance-usdm", "funding": False},
        "account": {"capital": 10000.0, "side": "long"},
        "policy": [
            {
                "kind": "python",
                "name": "delever",
                "leverage": [3.0, 5.0, 10.0, 20.0],
                "buffer": [0.02, 0.05, 0.1],
            },
            # The built-in static longs beside it, for reference.
            {"kind": "static", "leverage": [3.0, 5.0, 10.0, 20.0]},
        ],
    }


def plot(agg: pl.DataFrame, out: Path) -> Path:
    """P(liquidation) against median return on committed capital, one
    point per parameter point, the 95 % interval of P as a bar."""
    x = agg["p_liquidation"].to_list()
    lo = agg["p_liquidation_ci_lo"].to_list()
    hi = agg["p_liquidation_ci_hi"].to_list()
    y = agg["return_on_committed_pct_p50"].to_list()
    labels = agg["point_id"].to_list()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return _svg(x, lo, hi, y, labels, out / "frontier.svg")
    fig, ax = plt.subplots(figsize=(9, 6))
    # DeLever: colour by leverage, marker by buffer; static: grey squares.
    colours = {3.0: "#2ca02c", 5.0: "#1f77b4", 10.0: "#ff7f0e", 20.0: "#d62728"}
    markers = {0.02: "o", 0.05: "^", 0.1: "D"}
    params = agg["params_json"].to_list()
    import json

    for xi, l, h, yi, lab, pj in zip(x, lo, hi, y, labels, params):
        p = json.loads(pj)
        lev, buf = p["leverage"], p.get("buffer")
        if buf is None:
            ax.errorbar(xi, yi, xerr=[[xi - l], [h - xi]], fmt="s", color="#888888", capsize=3)
            ax.annotate(f"static {lev:g}x", (xi, yi), textcoords="offset points", xytext=(6, -10), fontsize=8, color="#555555")
        else:
            ax.errorbar(
                xi, yi, xerr=[[xi - l], [h - xi]], fmt=markers.get(buf, "o"),
                color=colours.get(lev, "black"), capsize=3, alpha=0.85,
            )
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, marker="o", ls="", label=f"DeLever {k:g}x") for k, c in colours.items()]
    handles += [Line2D([], [], color="black", marker=m, ls="", label=f"buffer {b:.0%}") for b, m in markers.items()]
    handles += [Line2D([], [], color="#888888", marker="s", ls="", label="static (built in)")]
    ax.legend(handles=handles, loc="lower left", fontsize=8)
    ax.set_xlabel("P(liquidation) within the week (95 % Wilson interval)")
    ax.set_ylabel("median return on committed capital (%)")
    ax.set_title("DeLever (Python; colour: leverage, marker: buffer) vs static (grey), Merton week, Binance BTCUSDT")
    ax.grid(alpha=0.3)
    path = out / "frontier.png"
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def _short(point_id: str) -> str:
    return point_id.replace("python[name=delever,", "[").replace("static[", "static [")


def _svg(x, lo, hi, y, labels, path: Path) -> Path:
    """The same chart as plain SVG, for a machine without matplotlib."""
    w, h, m = 900, 600, 70
    x0, x1 = 0.0, max(max(hi), 0.05)
    y0, y1 = min(y) - 5, max(y) + 5
    px = lambda v: m + (v - x0) / (x1 - x0) * (w - 2 * m)
    py = lambda v: h - m - (v - y0) / (y1 - y0) * (h - 2 * m)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="black"/>',
        f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="black"/>',
        f'<text x="{w / 2}" y="{h - 25}" text-anchor="middle">P(liquidation) within the week (95 % interval)</text>',
        f'<text x="18" y="{h / 2}" transform="rotate(-90 18 {h / 2})" text-anchor="middle">median return on committed capital (%)</text>',
    ]
    for t in range(6):
        v = x0 + (x1 - x0) * t / 5
        parts.append(f'<text x="{px(v)}" y="{h - m + 16}" text-anchor="middle">{v:.2f}</text>')
        u = y0 + (y1 - y0) * t / 5
        parts.append(f'<text x="{m - 6}" y="{py(u) + 4}" text-anchor="end">{u:.0f}</text>')
    for xi, l, hh, yi, lab in zip(x, lo, hi, y, labels):
        c = "#888" if lab.startswith("static") else "#1f77b4"
        parts.append(f'<line x1="{px(l)}" y1="{py(yi)}" x2="{px(hh)}" y2="{py(yi)}" stroke="{c}"/>')
        parts.append(f'<circle cx="{px(xi)}" cy="{py(yi)}" r="4" fill="{c}"/>')
        parts.append(f'<text x="{px(xi) + 6}" y="{py(yi) - 5}" font-size="9">{_short(lab)}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paths", type=int, default=400)
    ap.add_argument("--out", default="reports/python-policy-sweep")
    args = ap.parse_args()
    out = Path(args.out)
    r = levsim.run(scenario(args.paths), out=out, policies={"delever": DeLever})
    agg = r.aggregates.sort("point_id")
    print(
        agg.select(
            "point_id",
            "p_liquidation",
            "p_liquidation_ci_lo",
            "p_liquidation_ci_hi",
            "return_on_committed_pct_p50",
            "return_on_committed_pct_p05",
        )
    )
    chart = plot(agg, out)
    print(f"{r.runs.height} runs in {r.simulate_s:.1f} s ({r.python_calls} Python decisions)")
    print(f"report: {r.report}\nchart:  {chart}")


if __name__ == "__main__":
    main()
