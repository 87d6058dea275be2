"""Shared fixtures: the repository root (tests run from it) and the
command-line binary the Rust harness built (LEVSIM_BIN)."""

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    # Scenarios name their data relative to the repository.
    monkeypatch.chdir(ROOT)


@pytest.fixture
def levsim_bin():
    b = os.environ.get("LEVSIM_BIN") or shutil.which("levsim")
    if not b:
        pytest.skip("LEVSIM_BIN is not set (the Rust harness sets it)")
    return b
