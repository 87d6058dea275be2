#!/usr/bin/env bash
# The Python environment levsim's tests use (Ray for the scale-out test).
# Creates (or reuses) a virtualenv at $LEVSIM_VENV (default
# $HOME/.cache/levsim-venv) and installs pinned packages into it; prints
# the interpreter's path.
set -euo pipefail
venv="${LEVSIM_VENV:-${HOME:-/root}/.cache/levsim-venv}"
want="ray==2.52.0"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c "import ray, sys; sys.exit(ray.__version__ != '2.52.0')" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check $want >&2
fi
echo "$venv/bin/python"
