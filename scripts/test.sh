#!/usr/bin/env bash
# The README's test command: everything the test suite needs, then the
# suite. On a fresh machine it installs Debian's Chromium (the browser test
# opens reports in it) and makes the Python virtualenv (Ray and pyarrow,
# scripts/setup-python.sh), then runs `cargo test --workspace`. Extra
# arguments go to cargo test (`bash scripts/test.sh -p levsim-engine`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${LEVSIM_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
    echo "test.sh: installing chromium (Debian package) for the browser test" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
command -v chromium >/dev/null 2>&1 || [ -n "${LEVSIM_CHROMIUM:-}" ] || {
    echo "test.sh: Chromium is needed for the browser test (apt-get install chromium, or set LEVSIM_CHROMIUM)" >&2
    exit 1
}

if ! python3 -m venv --help >/dev/null 2>&1; then
    echo "test.sh: python3 with venv is needed for the Ray and pyarrow tests" >&2
    exit 1
fi
echo "test.sh: python venv: $(bash scripts/setup-python.sh)" >&2

exec cargo test --workspace --locked "$@"
