"""Compute backends: a Dask LocalCluster gives the same numbers, in the same order, as local."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sopkit import compute
from sopkit.cli import main
from sopkit.errors import ParameterError
from sopkit.forecast import (
    StatisticalForecaster,
    _exact_sum_float,
    _exact_sum_parts,
    class_prior,
    score_sums,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import synthetic  # noqa: E402  (the benchmarks' seeded generator)

# two thread workers: quick to start, and the chunks still travel through Dask
CLUSTER = {"backend": "dask-local", "workers": 2, "processes": False}


@pytest.fixture(scope="module")
def ragged_actuals() -> pd.DataFrame:
    """1,200 synthetic series, some starting 14 months late, some silent for a year."""
    values, _ = synthetic.demand_matrix(1200, 40, seed=11)
    values[:150, :14] = np.nan  # launched later: the chunk's own history would start later
    values[150:180, -13:] = 0.0  # inactive
    spikes = np.random.default_rng(11).lognormal(0.0, 1.2, size=(120, 40))
    values[180:300] = np.round(values[180:300] * spikes)  # erratic
    actuals = synthetic.long_frame(values).dropna(subset=["qty"])
    # no rows at all in the last two months for SKUs 10-20 (a chunk of them alone
    # would otherwise end two months early)
    last = actuals["period"] >= actuals["period"].max() - pd.DateOffset(months=1)
    actuals = actuals[~(last & actuals["sku"].between("SKU000010", "SKU000020"))]
    # shuffled rows, so nothing relies on the input being sorted
    return actuals.sample(frac=1.0, random_state=3).reset_index(drop=True)


def _assert_same(local, other) -> None:
    pd.testing.assert_frame_equal(local.predict(), other.predict(), check_exact=True)
    pd.testing.assert_frame_equal(local.selection_, other.selection_, check_exact=True)
    pd.testing.assert_frame_equal(local.classes_, other.classes_, check_exact=True)
    pd.testing.assert_frame_equal(local.selected_backtest(), other.selected_backtest(),
                                  check_exact=True)


def test_dask_local_forecast_equals_local(ragged_actuals):
    params = {"horizon": 12, "quantiles": (0.1, 0.5, 0.9)}
    local = StatisticalForecaster(**params).fit(ragged_actuals)
    # chunks of 173 SKUs: 7 chunks, none aligned with the patterns or the late starters
    distributed = compute.fit_forecaster(StatisticalForecaster(**params), ragged_actuals,
                                         compute={**CLUSTER, "chunk_size": 173})
    _assert_same(local, distributed)
    # the data exercises what chunking could break: pooled classes and padded histories
    classes = set(local.selection_["demand_class"])
    assert {"smooth", "erratic", "intermittent", "lumpy", "inactive"} <= classes
    assert len(distributed.selection_) == 1200
    assert distributed.selection_["sku"].is_monotonic_increasing


def test_last_cycles_models_are_kept_the_same_on_dask(ragged_actuals):
    params = {"horizon": 12}
    end = ragged_actuals["period"].max() - pd.DateOffset(months=1)
    last = StatisticalForecaster(**params).fit(ragged_actuals, end=end).selection_
    local = StatisticalForecaster(**params).fit(ragged_actuals, incumbent=last)
    distributed = compute.fit_forecaster(StatisticalForecaster(**params), ragged_actuals,
                                         compute={**CLUSTER, "chunk_size": 173},
                                         incumbent=last[["sku", "model"]])
    _assert_same(local, distributed)
    # the rule did something: models kept that a fresh choice would have changed
    fresh = StatisticalForecaster(**params, keep_margin=0).fit(ragged_actuals).selection_
    kept = local.selection_["kept"].to_numpy()
    assert kept.sum() > 50
    assert (local.selection_["model"] == last["model"])[kept].all()
    assert (fresh["model"] != last["model"])[kept].all()


def test_one_chunk_per_sku_is_still_identical(ragged_actuals):
    """The most extreme split: the class prior and the error pool come from 40 chunks."""
    few = ragged_actuals[ragged_actuals["sku"] <= "SKU000040"]
    local = StatisticalForecaster(horizon=6).fit(few)
    split = compute.fit_forecaster(StatisticalForecaster(horizon=6), few,
                                   compute={**CLUSTER, "chunk_size": 1})
    _assert_same(local, split)


def test_class_prior_is_exact_whatever_the_split():
    rng = np.random.default_rng(0)
    own = rng.lognormal(0, 3, size=(2, 5000))  # 13 orders of magnitude: rounding matters
    scale = np.ones(5000)
    classes = np.array(["smooth", "lumpy"])[rng.integers(0, 2, 5000)]
    whole = class_prior([score_sums(own, scale, classes)])
    cuts = [0, 7, 1000, 1001, 3333, 5000]
    parts = [score_sums(own[:, a:b], scale[a:b], classes[a:b])
             for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    split = class_prior(parts[::-1])  # any order
    for name in ("smooth", "lumpy"):
        np.testing.assert_array_equal(whole[name], split[name])
        from fractions import Fraction

        # the correctly rounded exact sum, then divided by the count
        exact = [float(sum(Fraction(v) for v in own[k, classes == name]))
                 / (classes == name).sum() for k in range(2)]
        np.testing.assert_array_equal(whole[name], exact)


def test_exact_sum_by_hand():
    values = np.array([1e16, 1.0, -1e16, 0.5, 3.0])
    assert _exact_sum_float(_exact_sum_parts(values)) == 4.5  # a float sum gives 3.5 or 4.0
    assert _exact_sum_float(_exact_sum_parts(np.array([]))) == 0.0


def test_scenarios_as_dask_tasks_equal_local(sample_dir):
    from sopkit.io import load_data
    from sopkit.scenarios import run_scenarios

    data = load_data(sample_dir)
    forecast = StatisticalForecaster(horizon=6).fit(data.actuals).predict()
    plan = forecast.rename(columns={"qty_forecast": "qty_consensus"})
    cycle = forecast["period"].min()
    specs = [
        {"name": "Downturn 10 %", "kind": "shock", "demand": [{"scope": "all", "factor": 0.9}]},
        {"name": "Boom", "kind": "shock", "demand": [{"scope": "all", "factor": 1.4}]},
        {"name": "Overtime off", "supply": {"allow_overtime": False}},
    ]
    local = run_scenarios(plan, data, specs, cycle=cycle, horizon=6,
                          safety_stock_column="qty_q95")
    distributed = run_scenarios(plan, data, specs, cycle=cycle, horizon=6,
                                safety_stock_column="qty_q95", compute=CLUSTER)
    pd.testing.assert_frame_equal(local, distributed, check_exact=True)
    assert list(distributed["scenario"]) == ["Baseline", "Downturn 10 %", "Boom", "Overtime off"]
    # the scenarios really differ, so equal rows mean equal plans
    assert local["fill_rate"].nunique() > 1 or local["revenue"].nunique() > 1


@pytest.mark.parametrize("value, message", [
    ("cluster", "backend must be one of local, dask, dask-local"),
    ({"backend": "dask"}, "needs a scheduler address"),
    ({"backend": "dask", "scheduler": "scheduler-host"}, "has no protocol"),
    ({"backend": "dask", "scheduler": "tcp://host:99999"}, "bad scheduler address"),
    ({"backend": "dask", "scheduler": "tcp://:8786"}, "bad scheduler address"),
    ({"backend": "dask-local", "chunk_size": 0}, "chunk_size must be a whole number >= 1"),
    ({"backend": "dask-local", "chunk_size": 2.5}, "chunk_size must be a whole number >= 1"),
    ({"backend": "local", "scheduler": "tcp://h:8786"}, "only used with backend 'dask'"),
    ({"backend": "local", "threads": 4}, "unknown key(s) threads"),
])
def test_bad_settings(value, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compute.compute_settings(value)


def test_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(compute, "CONNECT_TIMEOUT", "1s")
    history = tmp_path / "history.csv"
    history.write_text("sku,period,qty\nA,2025-01,3\nA,2025-02,4\n")
    code = main(["forecast", str(history), "--out", str(tmp_path / "f.csv"),
                 "--compute", "dask", "--scheduler", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in err
    assert "Traceback" not in err


def test_bad_chunk_size_on_the_command_line(tmp_path, capsys):
    history = tmp_path / "history.csv"
    history.write_text("sku,period,qty\nA,2025-01,3\n")
    code = main(["forecast", str(history), "--out", str(tmp_path / "f.csv"),
                 "--compute", "dask-local", "--chunk-size", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "chunk_size must be a whole number >= 1, got 0" in err


def test_parquet_dataset_in_and_out(tmp_path, ragged_actuals):
    """A dataset of one file per month (not by SKU) forecast into part files, in SKU order."""
    history = tmp_path / "history"
    history.mkdir()
    frame = ragged_actuals[ragged_actuals["sku"] <= "SKU000300"].copy()
    for month, part in frame.groupby(frame["period"].dt.strftime("%Y-%m")):
        part.assign(period=part["period"].dt.strftime("%Y-%m")).to_parquet(
            history / f"month={month}.parquet", index=False)
    out = tmp_path / "forecast"
    code = main(["forecast", str(history), "--out", str(out), "--horizon", "6",
                 "--compute", "dask-local", "--workers", "2", "--chunk-size", "80"])
    assert code == 0
    written = pd.read_parquet(out)
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) >= 2
    expected = StatisticalForecaster(horizon=6).fit(frame).predict()
    expected["period"] = expected["period"].dt.strftime("%Y-%m")
    written["sku"] = written["sku"].astype("string")
    written["model"] = written["model"].astype("string")
    written["demand_class"] = written["demand_class"].astype("string")
    pd.testing.assert_frame_equal(written.reset_index(drop=True), expected,
                                  check_exact=True, check_dtype=False)


def test_existing_cluster_by_address(ragged_actuals):
    """backend 'dask' connects to a running scheduler (and checks the workers' sopkit)."""
    from distributed import LocalCluster

    few = ragged_actuals[ragged_actuals["sku"] <= "SKU000100"]
    local = StatisticalForecaster(horizon=6).fit(few)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=":0") as cluster:
        said = []
        remote = compute.fit_forecaster(
            StatisticalForecaster(horizon=6), few, say=said.append,
            compute={"backend": "dask", "scheduler": cluster.scheduler_address,
                     "chunk_size": 30})
    _assert_same(local, remote)
    assert said and "1 worker(s); dashboard http" in said[0]


def test_cycle_options_override_the_parameters_file():
    from types import SimpleNamespace

    args = SimpleNamespace(compute="dask", scheduler="tcp://sched:8786", workers=None,
                           chunk_size=5000)
    params = compute.cycle_compute_override({"compute": "local", "horizon": 6}, args)
    assert params == {"horizon": 6, "compute": {"backend": "dask",
                                                "scheduler": "tcp://sched:8786",
                                                "chunk_size": 5000}}
    none = SimpleNamespace(compute=None, scheduler=None, workers=None, chunk_size=None)
    assert compute.cycle_compute_override({"horizon": 6}, none) == {"horizon": 6}
    with pytest.raises(ParameterError, match="has no protocol"):
        compute.cycle_compute_override({}, SimpleNamespace(compute="dask", scheduler="sched",
                                                           workers=None, chunk_size=None))


def test_parquet_dataset_stored_by_sku_range(tmp_path, ragged_actuals):
    """Files of disjoint SKU ranges are cut into chunks on the workers, without a shuffle;
    periods stored as timestamps."""
    history = tmp_path / "history"
    history.mkdir()
    frame = ragged_actuals[ragged_actuals["sku"] <= "SKU000300"].copy()
    for i, low in enumerate(("SKU000001", "SKU000101", "SKU000201")):
        high = f"SKU{int(low[3:]) + 99:06d}"
        part = frame[frame["sku"].between(low, high)]
        part.to_parquet(history / f"skus-{2 - i}.parquet", index=False)  # names not in order
    out = tmp_path / "forecast.parquet"
    result = compute.forecast_dataset(history, out, {"horizon": 6}, say=None,
                                      compute={**CLUSTER, "chunk_size": 40})
    assert result.n_chunks == 9  # 3 files x ceil(100 / 40)
    assert result.n_series == 300 and result.n_rows == 300 * 6
    written = pd.read_parquet(out)
    expected = StatisticalForecaster(horizon=6).fit(frame).predict()
    expected["period"] = expected["period"].dt.strftime("%Y-%m")
    for column in ("sku", "model", "demand_class"):
        written[column] = written[column].astype("string")
    pd.testing.assert_frame_equal(written.reset_index(drop=True), expected,
                                  check_exact=True, check_dtype=False)


def test_task_errors_reach_the_user_once(tmp_path, capsys):
    """A DataError raised on a worker: the CLI's one message and exit 3, no worker log."""
    pd.DataFrame({"sku": ["A", "A", "B"], "period": ["2025-01", "2025-01", "2025-02"],
                  "qty": [1.0, 2.0, 3.0]}).to_parquet(tmp_path / "dup.parquet")
    code = main(["forecast", str(tmp_path / "dup.parquet"), "--out", str(tmp_path / "out"),
                 "--compute", "dask-local", "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 3
    assert "duplicated (sku, period)" in err and "A 2025-01" in err
    assert "Compute Failed" not in err and "Traceback" not in err


def test_something_else_on_the_port_is_named(capsys):
    """An HTTP server where the scheduler should be (the dashboard's port, say)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def answer():
        with server:
            connection, _ = server.accept()
            with connection:
                connection.recv(1024)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" * 50)

    threading.Thread(target=answer, daemon=True).start()
    with pytest.raises(ParameterError, match=f"tcp://127.0.0.1:{port}"):
        with compute.open_client(compute.compute_settings(
                {"backend": "dask", "scheduler": f"tcp://127.0.0.1:{port}"}), say=None):
            pass


def _certificates(folder: Path) -> dict[str, str]:
    """A throw-away CA and one certificate it signed (for scheduler, worker and client)."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make test certificates")
    run = lambda *args: subprocess.run(["openssl", *args], cwd=folder, check=True,  # noqa: E731
                                       capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
        "-keyout", "ca-key.pem", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "key.pem", "-out", "cert.csr")
    run("x509", "-req", "-in", "cert.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
        "-CAcreateserial", "-days", "1", "-out", "cert.pem")
    return {name: str(folder / f"{name}.pem") for name in ("ca", "cert", "key")}


def test_tls_cluster_needs_the_certificates(tmp_path, ragged_actuals):
    """A tls:// scheduler: with the compute setting's certificates the forecast runs (same
    numbers); without them the connection is refused with one clear message."""
    from distributed import LocalCluster
    from distributed.security import Security

    pem = _certificates(tmp_path)
    security = Security(tls_ca_file=pem["ca"], tls_scheduler_cert=pem["cert"],
                        tls_scheduler_key=pem["key"], tls_worker_cert=pem["cert"],
                        tls_worker_key=pem["key"], tls_client_cert=pem["cert"],
                        tls_client_key=pem["key"], require_encryption=True)
    few = ragged_actuals[ragged_actuals["sku"] <= "SKU000060"]
    local = StatisticalForecaster(horizon=6).fit(few)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tls",
                      host="127.0.0.1", security=security, dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        setting = {"backend": "dask", "scheduler": address, "chunk_size": 25,
                   "tls_ca_file": pem["ca"], "tls_cert": pem["cert"], "tls_key": pem["key"]}
        remote = compute.fit_forecaster(StatisticalForecaster(horizon=6), few, compute=setting)
        _assert_same(local, remote)
        with pytest.raises(ParameterError, match=f"{address} is a TLS address: give the "
                                                 "certificates"):
            compute.fit_forecaster(StatisticalForecaster(horizon=6), few,
                                   compute={"backend": "dask", "scheduler": address})
