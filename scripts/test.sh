#!/usr/bin/env bash
# The README's test command: every test, including the ones that need the
# Python environment (a local Ray cluster for the scale-out test), which
# this script sets up first (scripts/setup-python.sh, a virtualenv under
# $HOME/.cache). Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
LEVSIM_PYTHON="$(bash scripts/setup-python.sh)"
export LEVSIM_PYTHON
cargo test --workspace --locked "$@" -- --include-ignored
