#!/usr/bin/env bash
# What the test suite needs beyond Rust, installed when missing (the first
# half of the README's test command, `bash scripts/test-deps.sh && cargo
# test --workspace`): Debian's Chromium, which the browser test opens
# reports in, and the Python virtualenv with Ray and pyarrow
# (scripts/setup-python.sh). Nothing is reinstalled when present.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${LEVSIM_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
    echo "test-deps.sh: installing chromium (Debian package) for the browser test" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
command -v chromium >/dev/null 2>&1 || [ -n "${LEVSIM_CHROMIUM:-}" ] || {
    echo "test-deps.sh: Chromium is needed for the browser test (apt-get install chromium, or set LEVSIM_CHROMIUM)" >&2
    exit 1
}

if ! python3 -m venv --help >/dev/null 2>&1; then
    echo "test-deps.sh: python3 with venv is needed for the Ray and pyarrow tests" >&2
    exit 1
fi
echo "test-deps.sh: python venv: $(bash scripts/setup-python.sh)" >&2
