"""Numba reference for levsim's portfolio benchmark (portfolio_compare).

The task, written from levsim's documented rules (README "Portfolios", not
levsim code): 5 instruments with correlated GBM paths (mu = 0, sigmas
SIGMAS per year, pairwise correlation RHO, 1-minute steps, start prices
P0), each step's high and low per instrument drawn from the exact law of
its Brownian-bridge extremes in log price, the two exponential draws of a
step shared by every instrument. On every path, a cross-margined account of
10,000 quote holds each of 5 weight vectors at 20x gross (no fees, flat
maintenance rate 0.5 % per leg): leg k's size is w_k * 20 * 10,000 / P0_k
(w normalized so that sum |w| = 1). The legs walk their bars in step:
open, then each leg's first extreme (the low of an up bar, the high of a
down bar), its second extreme, its close, prices moving linearly between
points; the account is liquidated (then flat) at the first point of that
joint path where equity = capital + sum q_k (p_k - P0_k) reaches the
requirement m * sum |q_k| p_k, at the crossing on the segment. Per path and
weight vector: liquidated or not, and the return.

Usage: python3 bench_numba_portfolio.py PATHS STEPS
Prints one JSON object: seconds per thread count (best of 3), and the
probability of liquidation and mean return per weight vector.
"""
import json
import sys
import time

import numba
import numpy as np

SIGMAS = np.array([0.6, 0.8, 0.9, 1.0, 1.2])
P0 = np.array([60000.0, 3000.0, 150.0, 7.0, 0.5])
RHO = 0.6
WEIGHTS = np.array([
    [0.2, 0.2, 0.2, 0.2, 0.2],
    [1.0, 0.0, 0.0, 0.0, 0.0],
    [0.3, 0.3, 0.4, -0.5, -0.5],
    [0.5, -0.5, 0.0, 0.0, 0.0],
    [0.1, 0.2, -0.3, 0.4, -0.5],
])
LEVERAGE = 20.0
MMR = 0.005
CAPITAL = 10000.0


def cholesky():
    n = SIGMAS.shape[0]
    c = np.full((n, n), RHO)
    np.fill_diagonal(c, 1.0)
    return np.linalg.cholesky(c)


@numba.njit(parallel=True, fastmath=False, cache=False)
def sweep(paths, steps, dt, chol, sigmas, p0, w, lev, mmr, capital, liquidated, returns):
    n = sigmas.shape[0]
    nw = w.shape[0]
    for k in numba.prange(paths):
        np.random.seed(2000003 + k)
        qty = np.empty((nw, n))
        for v in range(nw):
            g = 0.0
            for i in range(n):
                g += abs(w[v, i])
            for i in range(n):
                qty[v, i] = w[v, i] / g * lev * capital / p0[i]
        alive = np.ones(nw, dtype=np.bool_)
        x = np.log(p0)
        z = np.empty(n)
        pts = np.empty((n, 4))
        for _ in range(steps):
            for i in range(n):
                z[i] = np.random.standard_normal()
            e1 = -np.log(1.0 - np.random.random())
            e2 = -np.log(1.0 - np.random.random())
            for i in range(n):
                zc = 0.0
                for j in range(i + 1):
                    zc += chol[i, j] * z[j]
                var = sigmas[i] * sigmas[i] * dt
                y = x[i] - 0.5 * var + np.sqrt(var) * zc
                d2 = (y - x[i]) * (y - x[i])
                hi = np.exp(0.5 * (x[i] + y + np.sqrt(d2 + 2.0 * var * e1)))
                lo = np.exp(0.5 * (x[i] + y - np.sqrt(d2 + 2.0 * var * e2)))
                o = np.exp(x[i])
                c = np.exp(y)
                pts[i, 0] = o
                if c >= o:
                    pts[i, 1] = lo
                    pts[i, 2] = hi
                else:
                    pts[i, 1] = hi
                    pts[i, 2] = lo
                pts[i, 3] = c
                x[i] = y
            for v in range(nw):
                if not alive[v]:
                    continue
                f_prev = 0.0
                for s in range(4):
                    eq = capital
                    mm = 0.0
                    for i in range(n):
                        eq += qty[v, i] * (pts[i, s] - p0[i])
                        mm += mmr * abs(qty[v, i]) * pts[i, s]
                    f = eq - mm
                    if f <= 0.0 and s > 0:
                        # Equity and requirement are linear on the segment.
                        t = f_prev / (f_prev - f)
                        eq_t = capital
                        mm_t = 0.0
                        for i in range(n):
                            p = pts[i, s - 1] + t * (pts[i, s] - pts[i, s - 1])
                            eq_t += qty[v, i] * (p - p0[i])
                            mm_t += mmr * abs(qty[v, i]) * p
                        alive[v] = False
                        liquidated[k, v] = True
                        returns[k, v] = (eq_t / capital - 1.0) * 100.0
                        break
                    f_prev = f
        for v in range(nw):
            if alive[v]:
                eq = capital
                for i in range(n):
                    eq += qty[v, i] * (np.exp(x[i]) - p0[i])
                returns[k, v] = (eq / capital - 1.0) * 100.0


def run(paths, steps):
    nw = WEIGHTS.shape[0]
    liquidated = np.zeros((paths, nw), dtype=np.bool_)
    returns = np.zeros((paths, nw))
    sweep(paths, steps, 60.0 / (365.0 * 86400.0), cholesky(), SIGMAS, P0, WEIGHTS,
          LEVERAGE, MMR, CAPITAL, liquidated, returns)
    return liquidated, returns


def main():
    paths, steps = int(sys.argv[1]), int(sys.argv[2])
    run(4, 10)  # compile
    seconds = {}
    for threads in (1, 2):
        if threads > numba.config.NUMBA_NUM_THREADS:
            continue
        numba.set_num_threads(threads)
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            liquidated, returns = run(paths, steps)
            best = min(best, time.perf_counter() - t0)
        seconds[str(threads)] = best
    print(json.dumps({
        "seconds": seconds,
        "p_liquidation": liquidated.mean(axis=0).tolist(),
        "mean_return_pct": returns.mean(axis=0).tolist(),
        "numba": numba.__version__,
    }))


if __name__ == "__main__":
    main()
