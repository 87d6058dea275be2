#!/usr/bin/env python3
"""Reads a levsim report's Parquet files as a Python user would (pyarrow)
and prints what it found as JSON: the columns with their Arrow types, row
counts, and per parameter point the share of runs with a liquidation and
the median return on committed capital, recomputed from the rows.

Usage: read_results.py REPORT_DIR
"""
import json
import statistics
import sys

import pyarrow.parquet as pq


def main(report_dir: str) -> None:
    results = pq.read_table(f"{report_dir}/results.parquet")
    series = pq.read_table(f"{report_dir}/timeseries.parquet")
    rows = results.to_pylist()
    by_point: dict[str, list[dict]] = {}
    for r in rows:
        by_point.setdefault(r["point_id"], []).append(r)
    out = {
        "results": {
            "rows": results.num_rows,
            "columns": {f.name: str(f.type) for f in results.schema},
        },
        "timeseries": {
            "rows": series.num_rows,
            "columns": {f.name: str(f.type) for f in series.schema},
            "run_ids": sorted(set(series.column("run_id").to_pylist())),
        },
        "points": {
            p: {
                "runs": len(rs),
                "p_liquidation": sum(1 for r in rs if r["liquidations"] > 0) / len(rs),
                "return_on_committed_pct_p50": statistics.median(
                    r["return_on_committed_pct"] for r in rs
                ),
                "paths": sorted(r["path"] for r in rs),
            }
            for p, rs in by_point.items()
        },
    }
    try:
        legs = pq.read_table(f"{report_dir}/legs.parquet")
    except FileNotFoundError:
        legs = None
    if legs is not None:
        caused: dict[str, dict[str, int]] = {}
        for r in legs.to_pylist():
            point = caused.setdefault(r["point_id"], {})
            point[r["symbol"]] = point.get(r["symbol"], 0) + r["liquidations_caused"]
        out["legs"] = {
            "rows": legs.num_rows,
            "columns": {f.name: str(f.type) for f in legs.schema},
            "symbols": sorted(set(legs.column("symbol").to_pylist())),
            "caused_by_point": caused,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
