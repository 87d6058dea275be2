#!/usr/bin/env bash
# Book replay: levsim vs hftbacktest on the same recording, one machine, one run.
# Usage: bash benches/peers/book_compare.sh   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/../.."
REC=data/hftbacktest_binance_usdm_btcusdt_20240808.jsonl.gz
VENV=${HBT_VENV:-$HOME/.cache/levsim-hbt-venv}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "hftbacktest==2.4.4"
fi
cargo build --release -q -p levsim-benches --bin book_compare
LEVSIM=$(target_dir=${CARGO_TARGET_DIR:-target}; "$target_dir/release/book_compare" "$REC")
HBT=$("$VENV/bin/python" benches/peers/bench_hftbacktest.py "$REC" "$(mktemp -d)/btc.npz" | tail -1)
python3 - "$LEVSIM" "$HBT" <<'PY'
import json, sys
l, h = json.loads(sys.argv[1]), json.loads(sys.argv[2])
lv = l["events"] / l["replay_with_liquidity_s"]
hv = h["events"] / h["replay_s"]
print(f"levsim:      {l['events']:>9} events ({l['messages']} messages) replayed in {l['replay_s']:.4f} s; "
      f"with BookLiquidity {l['replay_with_liquidity_s']:.4f} s = {lv/1e6:.2f} M events/s")
print(f"hftbacktest: {h['events']:>9} events replayed in {h['replay_s']:.4f} s = {hv/1e6:.2f} M events/s")
print(f"ratio (per event, levsim with impact tracking / hftbacktest): {lv/hv:.2f}x")
PY
