"""Numba reference for levsim's Monte Carlo sweep benchmark (mc_compare).

The task, written from levsim's documented rules (not levsim code):
GBM paths (mu = 0, sigma = 0.8 per year, 1-minute steps, 1,440 steps,
start 60,000), each step's high and low drawn from the exact law of the
Brownian bridge extremes in log price (as levsim's generator does); on every
path, five static isolated longs at 2x, 5x, 10x, 20x and 50x of 10,000 quote,
no fees, flat maintenance rate 0.5 %, liquidated (and then flat) when a low
reaches the liquidation price P0 (1 - 1/L) / (1 - m). Per path and
leverage: liquidated or not, and the return.

Usage: python3 bench_mc_numba.py PATHS STEPS
Prints one JSON object: seconds per thread count (best of 3), and the
probability of liquidation and mean return per leverage.
"""
import json
import sys
import time

import numba
import numpy as np

LEVERAGES = np.array([2.0, 5.0, 10.0, 20.0, 50.0])


@numba.njit(parallel=True, fastmath=False, cache=False)
def sweep(paths, steps, sigma, dt, p0, mmr, capital, levs, liquidated, returns):
    nl = levs.shape[0]
    var = sigma * sigma * dt
    drift = -0.5 * var
    sd = np.sqrt(var)
    for k in numba.prange(paths):
        np.random.seed(1000003 + k)
        liq_price = np.empty(nl)
        qty = np.empty(nl)
        alive = np.ones(nl, dtype=np.bool_)
        for j in range(nl):
            liq_price[j] = p0 * (1.0 - 1.0 / levs[j]) / (1.0 - mmr)
            qty[j] = levs[j] * capital / p0
        x = np.log(p0)
        for _ in range(steps):
            y = x + drift + sd * np.random.standard_normal()
            u = 1.0 - np.random.random()
            d2 = (y - x) * (y - x)
            lo = np.exp(0.5 * (x + y - np.sqrt(d2 - 2.0 * var * np.log(u))))
            x = y
            for j in range(nl):
                if alive[j] and lo <= liq_price[j]:
                    alive[j] = False
                    liquidated[k, j] = True
                    # Closed at the liquidation price: equity = mmr * notional.
                    returns[k, j] = (mmr * qty[j] * liq_price[j] / capital - 1.0) * 100.0
        close = np.exp(x)
        for j in range(nl):
            if alive[j]:
                returns[k, j] = qty[j] * (close - p0) / capital * 100.0


def run(paths, steps):
    liquidated = np.zeros((paths, LEVERAGES.shape[0]), dtype=np.bool_)
    returns = np.zeros((paths, LEVERAGES.shape[0]))
    sweep(paths, steps, 0.8, 60.0 / (365.0 * 86400.0), 60000.0, 0.005, 10000.0,
          LEVERAGES, liquidated, returns)
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
        "leverage": LEVERAGES.tolist(),
        "p_liquidation": liquidated.mean(axis=0).tolist(),
        "mean_return_pct": returns.mean(axis=0).tolist(),
        "numba": numba.__version__,
    }))


if __name__ == "__main__":
    main()
