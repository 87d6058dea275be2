"""The Python side of `python_overhead` (benches/src/bin/python_overhead.rs):
runs a scenario through levsim's Python package with the benchmark's two
policies written in Python, and prints one JSON line per run setting:
seconds in the sweep, Python decisions, and per run (final equity,
liquidations, trades) for the Rust side to compare.

    python benches/peers/python_policy.py SCENARIO.toml THREADS [REPEAT]

(the best of REPEAT sweeps, default 3)

Needs the package installed in release mode (`maturin develop --release -m
python/Cargo.toml`, or `pip install ./python`): a debug build measures the
debug engine.
"""

import json
import sys

import levsim
from levsim import Decision


class Rebalance:
    """Constant leverage, checked hourly: back to `leverage` when flat or
    when the leverage has drifted more than `band` (relative)."""

    cadence = "1h"

    def __init__(self, leverage, band):
        self.leverage = leverage
        self.band = band

    def decide(self, obs):
        if obs.is_flat() or abs(obs.leverage / self.leverage - 1.0) > self.band:
            return Decision.target_leverage(self.leverage)
        return Decision.hold()


class Static:
    """The built-in `static`: open at `leverage` when flat."""

    cadence = "when_flat"

    def __init__(self, leverage):
        self.leverage = leverage

    def decide(self, obs):
        return Decision.target_leverage(self.leverage) if obs.is_flat() else Decision.hold()


def main():
    path, threads = sys.argv[1], int(sys.argv[2])
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    best = None
    for _ in range(repeat):
        r = levsim.run(
            path,
            threads=threads,
            progress=False,
            policies={"rebalance": Rebalance, "static": Static},
        )
        best = r.simulate_s if best is None else min(best, r.simulate_s)
    runs = r.runs.sort("run_id")
    print(
        json.dumps(
            {
                "seconds": best,
                "calls": r.python_calls,
                "runs": {
                    rid: [eq, liq, tr]
                    for rid, eq, liq, tr in zip(
                        runs["run_id"], runs["final_equity"], runs["liquidations"], runs["trades"]
                    )
                },
            }
        )
    )


if __name__ == "__main__":
    main()
