"""Numba reference for levsim's option-book revaluation benchmark
(option_grid): the same inputs (read from a JSON file levsim writes), the
same task written from the documented rule — Black-76 (r = 0) on the
forward F(1 + m) with volatility sigma + dv/100 for every option of the
book at every point of the price-volatility grid, at every bar; the book's
worst loss per bar — with the exact normal CDF (math.erf), one thread.

Usage: python3 bench_numba_options.py INPUT.json
Prints one JSON object: seconds (best of 3) and the worst loss per bar.
"""
import json
import math
import sys
import time

import numba
import numpy as np


@numba.njit(fastmath=False, cache=False)
def ncdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@numba.njit(fastmath=False, cache=False)
def black(f, k, t, s, call):
    sd = s * math.sqrt(t)
    d1 = math.log(f / k) / sd + 0.5 * sd
    c = f * ncdf(d1) - k * ncdf(d1 - sd)
    return c if call else c - (f - k)


@numba.njit(fastmath=False, cache=False)
def worst_losses(fs, bar_years, strike, size, call, sigma, expiry, moves, vol_moves, out):
    nb = fs.shape[0]
    no = strike.shape[0]
    nm = moves.shape[0]
    nv = vol_moves.shape[0]
    pnl = np.zeros(nm * nv)
    for b in range(nb):
        f = fs[b]
        now = b * bar_years
        pnl[:] = 0.0
        for o in range(no):
            t = expiry[o] - now
            if t <= 0.0:
                continue
            base = black(f, strike[o], t, sigma[o], call[o])
            for j in range(nv):
                s = max(sigma[o] + vol_moves[j] / 100.0, 1e-4)
                for i in range(nm):
                    v = black(f * (1.0 + moves[i]), strike[o], t, s, call[o])
                    pnl[j * nm + i] += size[o] * (v - base)
        w = 0.0
        for x in pnl:
            if -x > w:
                w = -x
        out[b] = w


def main(path):
    d = json.load(open(path))
    args = [np.array(d[k], dtype=np.float64) for k in ("f",)]
    fs = args[0]
    strike = np.array(d["strike"], dtype=np.float64)
    size = np.array(d["size"], dtype=np.float64)
    call = np.array(d["call"], dtype=np.bool_)
    sigma = np.array(d["sigma"], dtype=np.float64)
    expiry = np.array(d["expiry"], dtype=np.float64)
    moves = np.array(d["moves"], dtype=np.float64)
    vol_moves = np.array(d["vol_moves"], dtype=np.float64)
    out = np.zeros(fs.shape[0])
    worst_losses(fs[:2], d["bar_years"], strike, size, call, sigma, expiry, moves, vol_moves, out[:2])
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        worst_losses(fs, d["bar_years"], strike, size, call, sigma, expiry, moves, vol_moves, out)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"seconds": best, "worst": out.tolist(), "numba": numba.__version__}))


if __name__ == "__main__":
    main(sys.argv[1])
