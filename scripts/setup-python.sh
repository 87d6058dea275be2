#!/usr/bin/env bash
# The Python environment levsim's tests use: Ray for the scale-out test,
# pyarrow for the test that reads results.parquet as a Python user would,
# maturin, polars, pandas and pytest for the Python package's tests.
# Creates (or reuses) a virtualenv at $LEVSIM_VENV (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/levsim-venv), installs pinned packages
# into it and prints the interpreter's path.
set -euo pipefail
venv="${LEVSIM_VENV:-}"
if [ -z "$venv" ]; then
    cache="${XDG_CACHE_HOME:-${HOME:?set HOME, XDG_CACHE_HOME or LEVSIM_VENV}/.cache}"
    venv="$cache/levsim-venv"
fi
want=(ray==2.52.0 pyarrow==26.0.1 maturin==1.16.0 polars==2.1.0 pytest==9.2.0 pandas==3.1.1)
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" - <<'PY' 2>/dev/null
import sys
import pandas
import polars
import pyarrow
import pytest
import ray
from importlib.metadata import version
sys.exit(
    ray.__version__ != "2.52.0"
    or pyarrow.__version__ != "26.0.1"
    or polars.__version__ != "2.1.0"
    or pytest.__version__ != "9.2.0"
    or pandas.__version__ != "3.1.1"
    or version("maturin") != "1.16.0"
)
PY
then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${want[@]}" >&2
fi
echo "$venv/bin/python"
