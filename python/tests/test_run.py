"""levsim.run from Python: the same numbers as the command line, Python
policies inside the engine loop, errors as named exceptions."""

import json
import re
import math
import subprocess
from pathlib import Path

import polars as pl
import pytest

import levsim
from levsim import Decision

BT = Path("scenarios/black-thursday-2020.toml")
BT_PORTFOLIO = Path("scenarios/black-thursday-2020-portfolio.toml")

# Columns that name a run rather than measure it.
IDENTITY = {"run_id", "point_id", "policy", "params_json", "seed"}


class Static:
    """The built-in `static` written in Python: open at `leverage` when
    flat, then hold."""

    cadence = "when_flat"

    def __init__(self, leverage):
        self.leverage = leverage

    def decide(self, obs):
        if obs.is_flat():
            return Decision.target_leverage(self.leverage)
        return Decision.hold()


class StaticEveryBar(Static):
    """The same, consulted at every bar (it holds while a position is open)."""

    cadence = "every_bar"


def with_python_policy(text: str, block: str) -> str:
    return text + "\n" + block


def metrics(df: pl.DataFrame) -> pl.DataFrame:
    return df.drop([c for c in df.columns if c in IDENTITY])


def test_python_static_equals_builtin_static_run_for_run():
    text = BT.read_text()
    # Only the static table, then the same grid as a Python policy.
    builtin_only = text.split("[[policy]]\nkind = \"constant_leverage\"")[0]
    block = '[[policy]]\nkind = "python"\nname = "static_py"\nleverage = [2, 3, 5, 10, 20, 50]\n'
    block_every = '[[policy]]\nkind = "python"\nname = "static_every_bar"\nleverage = [2, 3, 5, 10, 20, 50]\n'
    r = levsim.run(
        builtin_only + "\n" + block + "\n" + block_every,
        progress=False,
        policies={"static_py": Static, "static_every_bar": StaticEveryBar},
    )
    runs = r.runs
    rust = runs.filter(pl.col("policy") == "static")
    assert rust.height == 6
    py = runs.filter(pl.col("params_json").str.contains('"name":"static_py"'))
    every = runs.filter(pl.col("params_json").str.contains('"name":"static_every_bar"'))
    assert py.height == every.height == 6
    # Each Python policy is a family of its own in the results and report.
    assert set(py["policy"]) == {"python:static_py"}
    assert set(every["policy"]) == {"python:static_every_bar"}
    # Identical metrics, run for run (liquidation times and prices, fees,
    # funding, equity): the loop does not know who decided.
    assert metrics(rust).equals(metrics(py))
    # Asked at every bar, the same decisions go through the full per-bar
    # loop instead of the quiet path's chunks: the same to the bit but for
    # the sums over bars, equal to rounding (as the engine's property test
    # `quiet_chunks_match_bar_by_bar` states).
    sums = ["avg_leverage", "avg_exposure_per_committed", "margin_utilization_pct",
            "min_distance_to_liquidation_pct"]
    assert metrics(rust).drop(sums).equals(metrics(every).drop(sums))
    for c in sums:
        a, b = rust[c].to_list(), every[c].to_list()
        assert all(x == y or abs(x - y) <= 1e-12 * max(abs(x), abs(y)) for x, y in zip(a, b)), c
    # The run was not trivial: the high-leverage runs were liquidated.
    assert rust["liquidations"].sum() >= 3
    # Python was called only while flat for the when_flat policy.
    assert r.python_calls > 0


def test_dataframes_equal_the_parquet_files(tmp_path):
    out = tmp_path / "report"
    r = levsim.run(BT, out=out, progress=False)
    assert r.report is not None and Path(r.report).exists()
    assert r.runs.equals(pl.read_parquet(out / "results.parquet"))
    assert r.timeseries.equals(pl.read_parquet(out / "timeseries.parquet"))
    assert r.aggregates.equals(pl.read_parquet(out / "aggregates.parquet"))
    # And the runs are the ones summary.json lists, with its metrics.
    summary = json.loads((out / "summary.json").read_text())
    by_id = {x["run_id"]: x["metrics"] for x in summary["runs"]}
    for row in r.runs.iter_rows(named=True):
        m = by_id[row["run_id"]]
        assert row["final_equity"] == m["final_equity"]
        assert row["liquidations"] == m["liquidations"]
    # to_pandas works on every table (pyarrow in the test environment).
    assert len(r.runs.to_pandas()) == r.runs.height


def test_portfolio_tables_equal_the_parquet_files(tmp_path):
    head = portfolio_head()
    scenario = head + (
        '[[policy]]\nkind = "static"\nleverage = [3, 10]\n'
        'weights = { BTCUSDT = 0.5, ETHUSDT = -0.5 }\n'
    )
    out = tmp_path / "pf"
    r = levsim.run(scenario, out=out, progress=False)
    assert r.legs is not None and r.legs.height == 4
    assert r.legs.equals(pl.read_parquet(out / "legs.parquet"))
    assert r.runs.equals(pl.read_parquet(out / "results.parquet"))


def portfolio_head() -> str:
    """The BTC+ETH scenario's market, venue and account, without its
    policies and portfolio-margin grid."""
    head = BT_PORTFOLIO.read_text().split("[[policy]]")[0]
    return re.sub(r"\[account\.portfolio_margin\]\n(.+\n)*", "", head)


class Weights:
    """Built-in static with weights, in Python: each leg to w·leverage
    (weights normalized to Σ|w| = 1) when flat."""

    cadence = "when_flat"

    def __init__(self, leverage, weights):
        gross = sum(abs(w) for w in weights.values())
        self.target = {s: leverage * w / gross for s, w in weights.items()}

    def decide(self, obs):
        assert obs.symbols == ["BTCUSDT", "ETHUSDT"]
        if obs.is_flat():
            return Decision.target_legs(self.target)
        return Decision.hold()


def test_python_portfolio_policy_equals_builtin_static_with_weights():
    head = portfolio_head()
    w = "weights = { BTCUSDT = 0.5, ETHUSDT = -0.5 }\n"
    modes = 'margin_mode = ["isolated", "cross"]\n'
    scenario = (
        head
        + '[[policy]]\nkind = "static"\nleverage = [3, 10]\n' + w + modes
        + '[[policy]]\nkind = "python"\nname = "weights"\nleverage = [3, 10]\n' + w + modes
    )
    r = levsim.run(scenario, progress=False, policies={"weights": Weights})
    rust = r.runs.filter(pl.col("policy") == "static")
    py = r.runs.filter(pl.col("policy") == "python:weights")
    assert rust.height == py.height == 4
    assert metrics(rust).equals(metrics(py))
    legs = r.legs
    assert metrics(legs.filter(pl.col("run_id").str.starts_with("static"))).equals(
        metrics(legs.filter(pl.col("run_id").str.starts_with("python")))
    )


class Recorder:
    """Keeps what it saw, to check the observation's fields."""

    seen = []

    def __init__(self, leverage):
        self.leverage = leverage

    def decide(self, obs):
        Recorder.seen.append(
            dict(
                ts=obs.ts,
                mark=obs.mark,
                equity=obs.equity,
                position_qty=obs.position_qty,
                leverage=obs.leverage,
                margin_ratio=obs.margin_ratio,
                liquidation_price=obs.liquidation_price,
                reserve=obs.reserve,
                n_closes=len(obs.closes),
                last_close=(obs.recent_closes(1) or [None])[-1],
                flat=obs.is_flat(),
                side=obs.side,
            )
        )
        return Decision.target_leverage(self.leverage) if obs.is_flat() else Decision.hold()


def test_observation_fields_are_the_engines():
    Recorder.seen = []
    text = BT.read_text().split("[[policy]]")[0]
    scenario = text + '[[policy]]\nkind = "python"\nname = "rec"\nleverage = 5\n'
    r = levsim.run(scenario, progress=False, policies={"rec": Recorder}, threads=1)
    seen = Recorder.seen
    assert len(seen) == r.python_calls
    # The 5x long is liquidated on 03-12 and not re-opened (reenter =
    # false): the engine stops asking after that.
    liq_ts = r.runs["first_liquidation_ts_ns"][0]
    assert liq_ts is not None and seen[-1]["ts"] <= liq_ts
    first, second = seen[0], seen[1]
    # At the first bar's open: flat, equity = capital, no close yet.
    assert first["flat"] and first["equity"] == 10_000.0 and first["side"] == "long"
    assert first["liquidation_price"] is None and first["n_closes"] == 0
    # After opening at 5x: the leverage is about 5, a liquidation price
    # below the mark, the mark is the last close.
    assert not second["flat"]
    assert 4.5 < second["leverage"] < 5.5
    assert 0 < second["liquidation_price"] < second["mark"]
    assert second["mark"] == second["last_close"]
    assert 0 < second["margin_ratio"] < 1
    # The closes grow one bar at a time, and the mark follows the timeseries.
    assert all(b["n_closes"] == a["n_closes"] + 1 for a, b in zip(seen[1:], seen[2:]))
    ts = r.timeseries
    row = ts.filter(pl.col("ts_ns") == seen[100]["ts"])
    if row.height:
        assert math.isclose(row["mark"][0], seen[100]["mark"])


def test_bad_scenario_raises_with_the_field_path():
    bad = BT.read_text().replace("leverage = [2, 3, 5, 10, 20, 50]", "leverage = -1")
    with pytest.raises(levsim.ScenarioError, match=r"policy\[0\]\.leverage"):
        levsim.run(bad, progress=False)
    with pytest.raises(levsim.ScenarioError, match=r"no such scenario file"):
        levsim.run("scenarios/nope.toml", progress=False)


def test_a_python_policy_without_its_factory_is_named():
    text = BT.read_text().split("[[policy]]")[0]
    scenario = text + '[[policy]]\nkind = "python"\nname = "mine"\nleverage = 2\n'
    with pytest.raises(levsim.ScenarioError, match=r'policy\[0\]\.name: "mine" has no factory'):
        levsim.run(scenario, progress=False)
    with pytest.raises(levsim.ScenarioError, match=r"policy\[0\]\.name"):
        levsim.run(text + '[[policy]]\nkind = "python"\nleverage = 2\n', progress=False)


class Raises:
    def __init__(self, leverage):
        self.n = 0

    def decide(self, obs):
        self.n += 1
        if self.n == 50:
            raise ValueError("boom at fifty")
        return Decision.target_leverage(2) if obs.is_flat() else Decision.hold()


class Garbage:
    def __init__(self, leverage):
        pass

    def decide(self, obs):
        return 3.0


def test_a_policy_that_raises_or_returns_garbage_is_a_named_error():
    text = BT.read_text().split("[[policy]]")[0]
    scenario = text + '[[policy]]\nkind = "python"\nname = "p"\nleverage = [2, 3]\n'
    with pytest.raises(levsim.PolicyError, match=r"python\[name=p,leverage=2\] at 2020-03-12.*decide raised ValueError: boom at fifty") as e:
        levsim.run(scenario, progress=False, policies={"p": Raises}, threads=1)
    assert isinstance(e.value.__cause__, ValueError)
    with pytest.raises(levsim.PolicyError, match=r"returned 3\.0, not a levsim\.Decision"):
        levsim.run(scenario, progress=False, policies={"p": Garbage})
    with pytest.raises(levsim.PolicyError, match=r"factory \"p\" raised TypeError"):
        levsim.run(scenario, progress=False, policies={"p": lambda: None})
    # Decisions check their arguments.
    with pytest.raises(ValueError):
        Decision.target_leverage(float("nan"))


class Rebalance:
    """Constant leverage checked hourly (a decision every 60 bars)."""

    cadence = "1h"

    def __init__(self, leverage):
        self.leverage = leverage

    def decide(self, obs):
        if obs.is_flat() or abs(obs.leverage / self.leverage - 1) > 0.1:
            return Decision.target_leverage(self.leverage)
        return Decision.hold()


def test_results_do_not_depend_on_threads_and_generated_paths_run():
    scenario = {
        "name": "gbm-python",
        "seed": 11,
        "market": {
            "kind": "gbm",
            "symbol": "BTCUSDT",
            "start_price": 10000.0,
            "sigma": 0.8,
            "mu": 0.0,
            "dt": "1m",
            "horizon": "1d",
            "paths": 40,
            "start": "2026-01-01T00:00:00Z",
        },
        "venue": {"profile": "binance-usdm", "funding": False},
        "account": {"capital": 10000.0, "side": "long"},
        "policy": [
            {"kind": "python", "name": "reb", "leverage": [5.0, 20.0]},
            {"kind": "constant_leverage", "leverage": [5.0, 20.0]},
        ],
    }
    one = levsim.run(scenario, threads=1, progress=False, policies={"reb": Rebalance})
    two = levsim.run(scenario, threads=2, progress=False, policies={"reb": Rebalance})
    assert one.runs.equals(two.runs)
    assert one.runs.height == 4 * 40
    agg = one.aggregates
    assert agg.height == 4 and "p_liquidation" in agg.columns
    # Hourly: 24 calls per run (and one at the start), never every bar.
    assert one.python_calls <= 2 * 40 * 26


def test_calculator_equals_the_command_line(levsim_bin):
    kw = dict(side="long", qty=2.5, entry=60000, mark=58000, leverage=20)
    py = levsim.margin("binance-usdm", **kw)
    cli = subprocess.run(
        [levsim_bin, "margin", "--venue", "binance-usdm", "--side", "long", "--qty", "2.5",
         "--entry", "60000", "--mark", "58000", "--leverage", "20", "--json"],
        capture_output=True, text=True, check=True,
    )
    assert py == json.loads(cli.stdout)
    assert py["positions"][0]["liquidation_price"] > 0
    with pytest.raises(levsim.InputError, match="unknown venue profile"):
        levsim.margin("nowhere", side="long", qty=1, entry=1)
    # Deribit's options calculator from an account file and a chain.
    acct = Path("python/tests/deribit_account.json")
    chain = "data/deribit_btc_option_chain_2020-05-14.csv.gz"
    py = levsim.margin("deribit", account=acct, chain=chain)
    cli = subprocess.run(
        [levsim_bin, "margin", "--venue", "deribit", "--account", str(acct), "--chain", chain, "--json"],
        capture_output=True, text=True, check=True,
    )
    assert py == json.loads(cli.stdout)
    assert len(py["positions"]) == 3 and py["margin"]["portfolio"]["maintenance"] > 0


def test_a_python_policy_from_the_command_line_is_refused_by_name(levsim_bin, tmp_path):
    text = BT.read_text().split("[[policy]]")[0]
    s = tmp_path / "py.toml"
    s.write_text(text + '[[policy]]\nkind = "python"\nname = "mine"\nleverage = 2\n')
    o = subprocess.run([levsim_bin, "run", str(s), "--out", str(tmp_path / "r")],
                       capture_output=True, text=True)
    assert o.returncode == 2
    assert 'policies={"mine": factory}' in o.stderr


def test_venues_and_load_bars():
    v = levsim.venues()
    assert "binance-usdm" in v["name"].to_list()
    b = levsim.load_bars("data/binance_um_BTCUSDT_1m_2020-03-11_2020-03-13.csv.gz")
    # A DataFrame of the bars, with the loader's findings beside it.
    assert isinstance(b, pl.DataFrame)
    assert b.height == 3 * 1440 and b.problems.height == 0
    assert b.columns == ["ts_ns", "time", "open", "high", "low", "close", "volume"]
    assert b.bars["low"].min() == pytest.approx(3621.81)
    with pytest.raises(levsim.ScenarioError, match="nope.csv"):
        levsim.load_bars("data/nope.csv")


def test_load_bars_lists_row_problems(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text(
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n"
        "1584000000000,100,110,90,105,1,1584000059999,0,0,0,0,0\n"
        "1584000060000,105,104,95,100,1,1584000119999,0,0,0,0,0\n"
        "1584000120000,100,101,99,100,1,1584000179999,0,0,0,0,0\n"
    )
    b = levsim.load_bars(f)
    assert b.bars.height == b.height == 3
    assert b.problems.height >= 1
    assert b.problems["line"][0] == 3


def long_sweep(name, paths):
    """A sweep long enough to stop half way: `paths` 30-day 1m GBM paths
    under a Python policy `reb` at 2x and 3x."""
    return {
        "name": name,
        "seed": 3,
        "market": {
            "kind": "gbm", "symbol": "BTCUSDT", "start_price": 10000.0,
            "sigma": 0.8, "mu": 0.0, "dt": "1m", "horizon": "30d",
            "paths": paths, "start": "2026-01-01T00:00:00Z",
        },
        "venue": {"profile": "binance-usdm", "funding": False},
        "account": {"capital": 10000.0, "side": "long"},
        "policy": [{"kind": "python", "name": "reb", "leverage": [2.0, 3.0]}],
    }


def test_an_interrupt_stops_the_sweep_before_it_ends():
    # Ctrl-C arrives as KeyboardInterrupt in the thread that watches the
    # sweep; a progress callback raising it stands in for the signal.
    seen = []

    def progress(done, total):
        seen.append((done, total))
        if len(seen) == 2:
            raise KeyboardInterrupt

    scenario = long_sweep("long-sweep", 4000)
    with pytest.raises(KeyboardInterrupt):
        levsim.run(scenario, progress=progress, policies={"reb": Rebalance})
    done, total = seen[-1]
    assert total == 8000 and done < total


def test_optimize_equals_the_command_line(levsim_bin, tmp_path):
    s = tmp_path / "opt.toml"
    s.write_text(
        'name = "opt-small"\nseed = 5\n'
        '[market]\nkind = "gbm"\nsymbol = "BTCUSDT"\nmu = 0.0\nsigma = 0.8\ndt = "1h"\n'
        'horizon = "2d"\npaths = 200\nstart_price = 60000.0\nstart = "2026-01-01T00:00:00Z"\n'
        '[venue]\nprofile = "binance-usdm"\nfunding = false\n'
        '[account]\ncapital = 10000.0\nside = "long"\n'
        '[[policy]]\nkind = "static"\nleverage = { min = 1.0, max = 30.0 }\n'
    )
    py = levsim.optimize(s, out=tmp_path / "py", constraint="p_liquidation <= 0.05")
    cli = subprocess.run(
        [levsim_bin, "optimize", str(s), "--out", str(tmp_path / "cli"),
         "--constraint", "p_liquidation <= 0.05", "--json"],
        capture_output=True, text=True, check=True,
    )
    assert py == [json.loads(line) for line in cli.stdout.splitlines()]
    assert len(py) == 1 and py[0]["policy"] == "static" and 1.0 <= py[0]["best_params"]["leverage"] <= 30.0
    assert (tmp_path / "py" / "optimize.json").exists()


def test_ctrl_c_stops_the_sweep():
    # A real SIGINT half a second in: the watching thread sees it between
    # waits and the sweep stops before its next run.
    import os
    import signal
    import threading
    import time

    scenario = long_sweep("long-sweep-sigint", 20000)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            levsim.run(scenario, progress=False, policies={"reb": Rebalance})
    finally:
        timer.cancel()
    # 40,000 runs of 30 days would take minutes; the stop comes within a
    # few chunks of runs.
    assert time.monotonic() - t0 < 30
