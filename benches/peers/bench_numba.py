"""Tight-loop numba reference for levsim's peer task.

A 10x long, flat 0.5 % maintenance rate, no fees or funding, on OHLC bars:
liquidation price LP = (q*entry - wallet) / (q*(1 - m)); the open gapping
through LP liquidates at the open; otherwise the intrabar path (L, H, C for
an up bar, H, L, C for a down bar) reaching LP liquidates at LP; after a
liquidation the account reopens at that bar's close with the equity left.
These are levsim's rules (README "How a run is simulated"), written
independently here. Prints JSON: {"seconds": best of 5, "liquidations": n}.

usage: python3 bench_numba.py BARS_FILE N
BARS_FILE holds N open, then N high, N low, N close values (little-endian f64).
"""
import json
import sys
import time

import numpy as np
from numba import njit


@njit(cache=False)
def run(o, h, l, c, lev, m, capital, min_equity):
    n = o.shape[0]
    wallet = capital
    q = lev * wallet / o[0]
    entry = o[0]
    lp = (q * entry - wallet) / (q * (1.0 - m))
    open_pos = True
    liqs = 0
    for i in range(n):
        if open_pos:
            fill = -1.0
            if i > 0 and o[i] <= lp:
                fill = o[i]
            else:
                if c[i] >= o[i]:
                    a, b = l[i], h[i]
                else:
                    a, b = h[i], l[i]
                if a <= lp or b <= lp or c[i] <= lp:
                    fill = lp
            if fill > 0.0:
                eq = wallet + q * (fill - entry)
                wallet = eq if eq > 0.0 else 0.0
                open_pos = False
                liqs += 1
        if (not open_pos) and i + 1 < n and wallet >= min_equity:
            q = lev * wallet / c[i]
            entry = c[i]
            lp = (q * entry - wallet) / (q * (1.0 - m))
            open_pos = True
    return liqs


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    a = np.fromfile(path, dtype="<f8")
    o, h, l, c = a[:n], a[n:2 * n], a[2 * n:3 * n], a[3 * n:]
    run(o[:1000], h[:1000], l[:1000], c[:1000], 10.0, 0.005, 10_000.0, 1e-300)  # compile
    best, liqs = float("inf"), 0
    for _ in range(5):
        t0 = time.perf_counter()
        liqs = run(o, h, l, c, 10.0, 0.005, 10_000.0, 1e-300)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"seconds": best, "liquidations": int(liqs)}))


if __name__ == "__main__":
    main()
