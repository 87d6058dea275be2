"""levsim from Python.

Run a scenario and get its results as polars DataFrames::

    import levsim
    r = levsim.run("scenarios/black-thursday-2020.toml")
    r.runs          # one row per run: the columns of results.parquet
    r.aggregates    # one row per parameter point (P(liquidation), returns, ...)
    r.timeseries    # equity, leverage, liquidation price per kept bar
    r.write_report("reports/bt-from-python")

Write a policy in Python and name it in the scenario
(``[[policy]] kind = "python"``, ``name = "mine"``, parameters as for
built-ins, lists are grid axes)::

    class Mine:
        cadence = "when_flat"          # or "every_bar" (default), or "1h"
        def __init__(self, leverage):
            self.leverage = leverage
        def decide(self, obs):
            return levsim.Decision.target_leverage(self.leverage)

    r = levsim.run(scenario, policies={"mine": Mine})

``Mine(**params)`` is called once per run; ``decide(obs)`` at every
decision point with an :class:`Observation` (``mark``, ``equity``,
``position_qty``, ``leverage``, ``margin_ratio``, ``liquidation_price``,
``reserve``, ``closes``, ``is_flat()``, ...) or, on a market of several
instruments, a :class:`PortfolioObservation`.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Union

import polars as pl

from . import _levsim
from ._levsim import (
    Decision,
    InterruptedError,
    LevsimError,
    Observation,
    PolicyError,
    PortfolioObservation,
    ScenarioError,
)

__version__ = _levsim.__version__

__all__ = [
    "run",
    "Result",
    "margin",
    "optimize",
    "venues",
    "venue",
    "load_bars",
    "Bars",
    "Decision",
    "Observation",
    "PortfolioObservation",
    "LevsimError",
    "ScenarioError",
    "PolicyError",
    "InputError",
    "InterruptedError",
]


class InputError(LevsimError, ValueError):
    """Bad arguments to the calculator, ``venues`` or ``optimize``: the
    command line's message (exit code 2)."""


def _polars():
    return pl


def _frame(data: Optional[bytes]):
    if data is None:
        return None
    return _polars().read_parquet(io.BytesIO(data))


class Result:
    """The results of :func:`run`: tables as polars DataFrames (the same
    numbers as the Parquet files the report writes) and the report."""

    def __init__(self, outcome: "_levsim.RunOutcome", report: Optional[str]):
        self._outcome = outcome
        self._tables: dict = {}
        #: Path of the report's index.html when ``run(..., out=DIR)`` wrote one.
        self.report = report

    def _table(self, name: str):
        if name not in self._tables:
            self._tables[name] = _frame(self._outcome.table(name))
        return self._tables[name]

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self._outcome.name

    @property
    def runs(self):
        """One row per run: the columns of ``results.parquet``."""
        return self._table("runs")

    @property
    def aggregates(self):
        """One row per parameter point over its paths (``aggregates.parquet``):
        ``p_liquidation`` with ``p_liquidation_ci_lo``/``_hi``, return
        quantiles, expected shortfall, fees, funding, ..."""
        return self._table("aggregates")

    @property
    def timeseries(self):
        """Equity, leverage, liquidation price, mark and margin ratio per
        kept bar of the runs on path 0 (``timeseries.parquet``)."""
        return self._table("timeseries")

    @property
    def legs(self):
        """One row per run and instrument of a portfolio (``legs.parquet``),
        or None for a market of one instrument."""
        return self._table("legs")

    @property
    def markets(self):
        """One row per crowd market pass (venue configuration and path:
        cascade size, bad debt, insurance fund, ...; ``markets.parquet``),
        or None without a crowd."""
        return self._table("markets")

    @property
    def notes(self) -> list:
        """What the data loader noted (gaps filled, wicks dropped)."""
        return self._outcome.notes

    @property
    def python_calls(self) -> int:
        """Calls of Python policies' ``decide`` in this sweep."""
        return self._outcome.python_calls

    @property
    def simulate_s(self) -> float:
        """Seconds the sweep took."""
        return self._outcome.simulate_s

    def write_report(self, dir: Union[str, os.PathLike]) -> str:
        """Writes the report (index.html, summary.json/md, Parquet files,
        charts) into ``dir`` as ``levsim run --out DIR`` would; returns the
        path of index.html. Like the command line, it only replaces a
        directory levsim made."""
        return self._outcome.write_report(os.fspath(dir))

    def __repr__(self) -> str:
        return f"<levsim.Result {self.name}: {self._outcome.runs} runs>"


def _scenario_text(scenario) -> tuple:
    """(TOML text, path used for messages and relative data paths)."""
    if isinstance(scenario, Mapping):
        return _levsim.json_to_toml(json.dumps(scenario)), Path("<dict>.toml")
    if isinstance(scenario, os.PathLike):
        p = Path(scenario)
        return p.read_text(encoding="utf-8"), p
    if isinstance(scenario, str):
        # A path when it names a file or looks like one, else TOML text.
        if "\n" not in scenario and "=" not in scenario:
            p = Path(scenario)
            if not p.exists():
                raise ScenarioError(f"{scenario}: no such scenario file")
            return p.read_text(encoding="utf-8"), p
        return scenario, Path("<string>.toml")
    raise TypeError(
        f"scenario: a path, TOML text or a dict, not {type(scenario).__name__}"
    )


class _Progress:
    """A progress bar: tqdm (notebook or terminal) when installed, else a
    line on stderr redrawn in place."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.last = -1
        try:
            from tqdm.auto import tqdm  # type: ignore

            self.tqdm = tqdm
        except ImportError:
            self.tqdm = None

    def __call__(self, done: int, total: int) -> None:
        if self.tqdm is not None:
            if self.bar is None:
                self.bar = self.tqdm(total=total, desc=self.label, unit="run")
            self.bar.update(done - self.bar.n)
            if done >= total:
                self.bar.close()
            return
        if done == self.last:
            return
        self.last = done
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{self.label}: {done}/{total} runs{end}")
        sys.stderr.flush()


def run(
    scenario: Union[str, os.PathLike, Mapping[str, Any]],
    threads: Optional[int] = None,
    out: Union[str, os.PathLike, None] = None,
    policies: Optional[Mapping[str, Callable[..., Any]]] = None,
    progress: Union[bool, Callable[[int, int], None]] = True,
) -> Result:
    """Runs a scenario (a path, TOML text, or a dict of the same tables)
    and returns its :class:`Result`.

    ``threads``: worker threads (default: all cores; results do not depend
    on it). ``out``: also write the report there. ``policies``: factories
    of the scenario's ``kind = "python"`` policies by name; each is called
    as ``factory(**params)`` once per run. ``progress``: a bar (True), none
    (False), or a callable ``progress(done, total)``. Ctrl-C stops the
    sweep (:class:`levsim.InterruptedError`).

    Raises :class:`ScenarioError` for a bad scenario or data (the message
    names the field, as the command line does) and :class:`PolicyError`
    when a Python policy raises or returns something else than a
    :class:`Decision`.
    """
    text, path = _scenario_text(scenario)
    if progress is True:
        cb = _Progress(f"levsim {path.stem}") if _interactive() else None
    elif progress is False or progress is None:
        cb = None
    else:
        cb = progress
    command = f"levsim.run({str(path)!r}) from Python"
    outcome = _levsim.run(
        text,
        os.fspath(path),
        threads=threads or 0,
        policies=dict(policies) if policies else None,
        progress=cb,
        command=command,
    )
    result = Result(outcome, None)
    if out is not None:
        result.report = result.write_report(out)
    return result


def _interactive() -> bool:
    # A bar where someone watches: a terminal or a notebook.
    if "ipykernel" in sys.modules:
        return True
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


def _cli(args: list) -> str:
    code, stdout, error = _levsim.cli([str(a) for a in args])
    if code != 0:
        raise InputError(error or f"levsim {' '.join(args)}: exit code {code}")
    return stdout


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def margin(venue: str, **args: Any) -> dict:
    """The margin calculator (``levsim margin --venue VENUE ... --json``):
    keyword arguments are its flags (``side="long", qty=1, entry=10000,
    mark=9000, leverage=20``; ``account="acct.json"``, ``chain=...``,
    ``set=["k=v", ...]``). Returns the JSON the command line prints, as a
    dict."""
    argv = ["margin", "--venue", venue]
    for k, v in args.items():
        if v is None or v is False:
            continue
        if v is True:
            argv.append(_flag(k))
        elif isinstance(v, (list, tuple)):
            for item in v:
                argv += [_flag(k), str(item)]
        else:
            argv += [_flag(k), os.fspath(v) if isinstance(v, os.PathLike) else str(v)]
    argv.append("--json")
    return json.loads(_cli(argv))


def venues():
    """The venue profiles levsim knows (``levsim venues``): a DataFrame
    with ``name`` and ``about`` (version, date, instrument tables)."""
    rows = []
    for line in _cli(["venues"]).splitlines():
        if "\t" in line:
            name, about = line.split("\t", 1)
            rows.append({"name": name.strip(), "about": about.strip()})
    return _polars().DataFrame(rows, schema={"name": _polars().Utf8, "about": _polars().Utf8})


def venue(name: str) -> dict:
    """A venue profile's parameters (``levsim venues show NAME``), parsed."""
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.9/3.10
        import tomli as tomllib  # type: ignore

    return tomllib.loads(_cli(["venues", "show", name]))


def optimize(
    scenario: Union[str, os.PathLike],
    out: Union[str, os.PathLike, None] = None,
    **args: Any,
) -> list:
    """``levsim optimize SCENARIO --json``: the recommended parameters per
    policy (a list of dicts: ``policy``, ``best_params``, ``objective``,
    ``p_liquidation``, ``p_liquidation_ci``, ``evaluated``), exactly what
    the command line prints; other flags as keyword arguments
    (``objective="log_growth"``, ``constraint="p_liquidation <= 0.05"``,
    ``horizon="1d"``). It writes optimize.json/md and the frontier chart
    into ``out`` (default: the scenario's report directory), as the
    command line does. Built-in policies only."""
    argv = ["optimize", os.fspath(scenario)]
    if out is not None:
        argv += ["--out", os.fspath(out)]
    for k, v in args.items():
        if v is True:
            argv.append(_flag(k))
        elif v not in (None, False):
            argv += [_flag(k), str(v)]
    argv.append("--json")
    # One JSON object per line, one line per policy.
    return [json.loads(line) for line in _cli(argv).splitlines() if line.strip()]


class Bars(pl.DataFrame):
    """What :func:`load_bars` read: a polars DataFrame of the rows as read
    (``ts_ns``, ``time``, ``open``, ``high``, ``low``, ``close``,
    ``volume``) with the loader's findings beside it: ``problems`` (a
    DataFrame of row problems: ``line``, ``field``, ``message``; empty for
    a clean file), ``gaps`` (missing bars) and ``report`` (the loader's
    report as a dict). Operations on it return plain DataFrames."""

    def __init__(self, bars, report: dict):
        super().__init__(bars)
        self.report = report
        self.problems = pl.DataFrame(
            report.get("anomalies") or [],
            schema={"line": pl.Int64, "field": pl.Utf8, "message": pl.Utf8},
        )
        self.gaps = pl.DataFrame(
            report.get("gaps") or [],
            schema={
                "after_ts": pl.Int64,
                "next_ts": pl.Int64,
                "missing_bars": pl.Int64,
                "line": pl.Int64,
            },
        )

    @property
    def bars(self):
        """The rows as a plain DataFrame."""
        return pl.DataFrame(self)

    def __repr__(self) -> str:
        return (
            f"<levsim.Bars {self.report.get('file')}: {self.height} bars, "
            f"{self.problems.height} problems, {self.gaps.height} gaps>\n"
            + super().__repr__()
        )


def load_bars(path: Union[str, os.PathLike], format: Optional[str] = None) -> Bars:
    """Reads a bar file (Binance klines CSV, FTX CSV, Parquet, trades) as
    ``levsim data inspect`` does: row problems are listed, not fatal.
    Returns a :class:`Bars`: the bars as a DataFrame, with ``.problems``,
    ``.gaps`` and ``.report``."""
    data, report = _levsim.load_bars(os.fspath(path), format)
    return Bars(_frame(data), json.loads(report))
