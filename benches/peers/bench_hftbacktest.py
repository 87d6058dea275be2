"""hftbacktest replay of the Binance USD-M BTCUSDT recording, for
book_compare.sh. Converts the raw recording with hftbacktest's own
converter (outside the timing), then times a full replay (best of 3) with
`elapse` in 100 ms steps and prints JSON {"events", "replay_s"}."""
import json
import sys
import time

from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest
from hftbacktest.data.utils import binancefutures
from numba import njit


def make(npz):
    a = (BacktestAsset().data([npz]).linear_asset(1.0)
         .constant_order_latency(0, 0).risk_adverse_queue_model().no_partial_fill_exchange()
         .trading_value_fee_model(0.0, 0.0).tick_size(0.1).lot_size(0.001))
    return HashMapMarketDepthBacktest([a])


@njit
def run(hbt):
    n = 0
    while hbt.elapse(100_000_000) == 0:
        n += 1
    return n


def main():
    raw, npz = sys.argv[1], sys.argv[2]
    data = binancefutures.convert(raw, output_filename=npz, combined_stream=True)
    hbt = make(npz)
    run(hbt)  # compile
    hbt.close()
    best = float("inf")
    for _ in range(3):
        hbt = make(npz)
        t0 = time.perf_counter()
        run(hbt)
        best = min(best, time.perf_counter() - t0)
        hbt.close()
    print(json.dumps({"events": int(len(data)), "replay_s": best}))


if __name__ == "__main__":
    main()
