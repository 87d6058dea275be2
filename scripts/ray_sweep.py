#!/usr/bin/env python3
"""Run a levsim scenario as N shards on a Ray cluster, then merge them.

Each shard is one Ray task that calls the levsim binary:

    levsim run SCENARIO --shard I/N --out SHARD_DIR --threads T

A shard that fails with a retryable error (any exit code but 2) is
submitted again, up to --retries times; exit code 2 is bad input (the
scenario itself is wrong), so the sweep stops at once. When every shard is
in, the driver runs `levsim merge SHARD_DIR --out REPORT`, which checks that
every shard is present and writes the same report a single-machine run
writes (identical results.parquet: each run's seed depends only on the
scenario seed and the run's key, never on the shard, node or thread).

On a cluster: the levsim binary (--levsim), the scenario, its data files
and SHARD_DIR must be reachable at the same paths on every node (a shared
filesystem); point the driver at the cluster with --address (or the
RAY_ADDRESS environment variable), e.g. `--address ray://head:10001` or
`--address auto` on a node of the cluster. Without an address a local Ray
instance is started with --num-cpus CPUs and shut down at the end.

Exit codes: 0 merged; 2 bad input (from levsim, or bad arguments);
1 shards still failing after their retries, or the merge failed.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import ray


@ray.remote(max_retries=0)
def run_shard(levsim, scenario, index, count, out, threads):
    """One shard: returns (index, exit code, seconds, last stderr lines, host)."""
    t0 = time.time()
    proc = subprocess.run(
        [levsim, "run", scenario, "--shard", f"{index}/{count}", "--out", out,
         "--threads", str(threads), "--quiet"],
        capture_output=True, text=True,
    )
    tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
    return index, proc.returncode, time.time() - t0, tail, os.uname().nodename


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--shards", type=int, required=True, help="number of shards N")
    p.add_argument("--out", required=True, help="shard directory (shared by all nodes)")
    p.add_argument("--report", help="report directory for the merge (default: OUT/report)")
    p.add_argument("--levsim", default="levsim", help="path of the levsim binary on every node")
    p.add_argument("--address", default=os.environ.get("RAY_ADDRESS"),
                   help="Ray cluster address (default: start a local instance)")
    p.add_argument("--num-cpus", type=int, default=None,
                   help="CPUs of the local instance (no --address)")
    p.add_argument("--threads", type=int, default=1, help="threads per shard (and CPUs per task)")
    p.add_argument("--retries", type=int, default=2, help="resubmissions of a failing shard")
    args = p.parse_args(argv)
    if args.shards < 1 or args.threads < 1 or args.retries < 0:
        p.error("--shards and --threads must be at least 1, --retries at least 0")
    scenario = os.path.abspath(args.scenario)
    out = os.path.abspath(args.out)
    report = os.path.abspath(args.report or os.path.join(out, "report"))
    levsim = os.path.abspath(args.levsim) if os.sep in args.levsim else args.levsim
    os.makedirs(out, exist_ok=True)

    if args.address:
        ray.init(address=args.address, log_to_driver=False)
    else:
        ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    task = run_shard.options(num_cpus=args.threads)
    attempts = {i: 1 for i in range(args.shards)}
    pending = {task.remote(levsim, scenario, i, args.shards, out, args.threads): i
               for i in range(args.shards)}
    failed = {}
    status = 0
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            i = pending.pop(ref)
            try:
                _, code, secs, tail, host = ray.get(ref)
            except Exception as e:  # the task itself died (node lost, OOM)
                code, secs, tail, host = -1, 0.0, repr(e), "?"
            if code == 0:
                print(f"shard {i}/{args.shards}: done in {secs:.1f} s on {host} "
                      f"(attempt {attempts[i]})", flush=True)
                continue
            if code == 2:
                print(f"shard {i}/{args.shards}: bad input, not retried:\n{tail}",
                      file=sys.stderr, flush=True)
                status = 2
                break
            if attempts[i] <= args.retries:
                attempts[i] += 1
                print(f"shard {i}/{args.shards}: failed with exit code {code}, "
                      f"retrying (attempt {attempts[i]}): {tail}", file=sys.stderr, flush=True)
                pending[task.remote(levsim, scenario, i, args.shards, out, args.threads)] = i
            else:
                failed[i] = (code, tail)
        if status == 0 and failed:
            for i, (code, tail) in sorted(failed.items()):
                print(f"shard {i}/{args.shards}: failed {attempts[i]} times, last exit code "
                      f"{code}: {tail}", file=sys.stderr)
            status = 1
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        ray.shutdown()
    if status:
        return status
    merge = subprocess.run([levsim, "merge", out, "--out", report])
    if merge.returncode != 0:
        return 2 if merge.returncode == 2 else 1
    print(json.dumps({"report": report, "shards": args.shards,
                      "attempts": [attempts[i] for i in range(args.shards)]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
