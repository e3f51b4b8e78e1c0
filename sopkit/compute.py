"""Where the heavy work runs: in-process, on a Dask cluster, or on a local Dask cluster.

The compute setting (``compute`` in ``params/cycle.yaml``, ``--compute`` on
``sop forecast`` and ``sop cycle``) is one of

``local``       (default) everything in this Python process;
``dask``        an existing Dask cluster, given by its scheduler address
                (``tcp://host:8786``, or ``tls://host:8786`` with certificates);
``dask-local``  a :class:`distributed.LocalCluster` started for the run and
                closed after it (``workers`` processes, one thread each).

In a YAML file or a notebook parameter it is a string (``"dask-local"``) or a
mapping: ``{backend: dask, scheduler: "tls://host:8786", chunk_size: 50000,
tls_ca_file: ca.pem, tls_cert: client.pem, tls_key: client-key.pem}``.

Forecasting splits SKUs into chunks (a series is never split) and runs the
three phases of :meth:`sopkit.forecast.StatisticalForecaster.fit` on each chunk
as Dask tasks; the two statistics that pool SKUs of a demand class (the class
prior of the model ranking and the backtest errors behind the smooth/erratic
quantiles) are computed over all chunks between the phases, so the numbers and
their order are the same as one in-process fit, whatever the chunks
(``docs/scaling.md``). Scenario runs are independent tasks. Scheduling, data
transfer and retries are Dask's; this module only cuts the work and collects
the results.
"""

from __future__ import annotations

import contextlib
import copy
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sopkit.errors import DataError, ParameterError, Problem, whole_number

BACKENDS = ("local", "dask", "dask-local")
DEFAULT_CHUNK_SIZE = 20_000
CONNECT_TIMEOUT = "10s"


@dataclass(frozen=True)
class ComputeSettings:
    """Validated compute setting (see the module docstring).

    Attributes
    ----------
    backend : {"local", "dask", "dask-local"}
    scheduler : str or None
        Scheduler address (``dask`` only).
    workers : int or None
        Worker processes of ``dask-local`` (default: the CPU count).
    chunk_size : int
        SKUs per forecasting task.
    processes : bool
        ``dask-local`` workers as processes (True) or threads of this process.
    tls_ca_file, tls_cert, tls_key : str or None
        Certificates for a ``tls://`` scheduler (else Dask's configuration).
    progress : bool
        Show a progress bar in the terminal while tasks run.
    """

    backend: str = "local"
    scheduler: str | None = None
    workers: int | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    processes: bool = True
    tls_ca_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    progress: bool = False

    @property
    def distributed(self) -> bool:
        return self.backend != "local"


_KEYS = {"backend", "scheduler", "workers", "chunk_size", "processes", "tls_ca_file",
         "tls_cert", "tls_key", "progress"}



def check_scheduler_address(address) -> str:
    """``tcp://host:port`` (or ``tls://``, ``ws://``…) checked by Dask's own parser.

    Raises
    ------
    ParameterError
        With the address and what is wrong with it.
    """
    from distributed.comm.addressing import parse_address, parse_host_port

    if not isinstance(address, str) or not address.strip():
        raise ParameterError("compute: backend 'dask' needs a scheduler address, e.g. "
                             "tcp://scheduler-host:8786 (--scheduler on the command line)")
    address = address.strip()
    if "://" not in address:
        raise ParameterError(f"compute: scheduler address {address!r} has no protocol; "
                             "write it as tcp://host:8786 (or tls://host:8786)")
    try:
        protocol, location = parse_address(address, strict=True)
        if protocol in ("tcp", "tls", "ws", "wss"):
            host, port = parse_host_port(location)
            if not host or not port:
                raise ValueError("host and port are both needed")
            if not 0 < int(port) < 65536:
                raise ValueError(f"port {port} is out of range")
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"compute: bad scheduler address {address!r}: {exc}") from None
    return address


def compute_settings(value=None, **overrides) -> ComputeSettings:
    """Check a compute setting and return it as :class:`ComputeSettings`.

    Parameters
    ----------
    value : None, str, mapping or ComputeSettings
        ``None``/``"local"``, ``"dask-local"``, ``"dask"`` (then ``scheduler=``
        is needed), or a mapping with the keys of :class:`ComputeSettings`.
    **overrides
        Keys of :class:`ComputeSettings` that replace those of ``value``
        (``None`` values are ignored), e.g. from command-line options.

    Raises
    ------
    ParameterError
        On an unknown backend or key, a bad address, or a bad chunk size.
    """
    if isinstance(value, ComputeSettings):
        fields = dict(value.__dict__)
    elif value is None or value == "":
        fields = {}
    elif isinstance(value, str):
        fields = {"backend": value}
    elif isinstance(value, dict):
        fields = dict(value)
    else:
        raise ParameterError(f"compute: expected 'local', 'dask', 'dask-local' or a mapping, "
                             f"got {value!r}")
    fields.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(fields) - _KEYS)
    if unknown:
        raise ParameterError(f"compute: unknown key(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(_KEYS))}")
    backend = fields.get("backend", "local")
    if backend not in BACKENDS:
        raise ParameterError(f"compute: backend must be one of {', '.join(BACKENDS)}, "
                             f"got {backend!r}")
    if "chunk_size" in fields:
        fields["chunk_size"] = whole_number("compute: chunk_size", fields["chunk_size"])
    if fields.get("workers") is not None:
        fields["workers"] = whole_number("compute: workers", fields["workers"])
    if backend == "dask":
        fields["scheduler"] = check_scheduler_address(fields.get("scheduler"))
    elif fields.get("scheduler"):
        raise ParameterError(f"compute: a scheduler address is only used with backend 'dask' "
                             f"(backend is {backend!r})")
    for key in ("tls_ca_file", "tls_cert", "tls_key"):
        if fields.get(key) and not Path(fields[key]).is_file():
            raise ParameterError(f"compute: {key}: file not found: {fields[key]}")
    return ComputeSettings(**fields)


# --------------------------------------------------------------------------- clients


def _security(settings: ComputeSettings):
    if not (settings.tls_ca_file or settings.tls_cert or settings.tls_key):
        return None  # Dask's configuration (distributed.comm.tls.*) applies
    from distributed.security import Security

    return Security(tls_ca_file=settings.tls_ca_file, tls_client_cert=settings.tls_cert,
                    tls_client_key=settings.tls_key, require_encryption=True)


# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536; setting any trim
# threshold switches off glibc's dynamic mmap threshold, so every large NumPy
# temporary is mmap'd and unmapped again: the forecast ran 3x slower in a worker
# than in-process (8.2 vs 2.6 CPU s for 20,000 series). A fixed mmap threshold
# of 64 MiB restores the speed and still returns big blocks to the system.
WORKER_ENVIRON = {"MALLOC_MMAP_THRESHOLD_": 1 << 26}


def _quiet_task_failures() -> None:
    """A task's error (a DataError, say) reaches the user once, as the CLI's message:
    not also as the worker's "Compute Failed" log with a traceback. Memory
    warnings of the workers stay visible."""
    import logging

    logging.getLogger("distributed.worker").setLevel(logging.CRITICAL)
    logging.getLogger("distributed.worker.memory").setLevel(logging.WARNING)


def start_local_cluster(n_workers: int, *, processes: bool = True):
    """A :class:`distributed.LocalCluster` of single-threaded workers (``dask-local``).

    Worker processes get :data:`WORKER_ENVIRON`; the dashboard takes a free port.
    """
    import logging

    import dask
    from distributed import LocalCluster

    # quiet: a LocalCluster's start-up logging is not the user's business
    logging.getLogger("distributed").setLevel(logging.ERROR)
    environ = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ENVIRON.items()}
    with dask.config.set(environ):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                            dashboard_address=":0")


def _check_scheduler(address: str, security) -> None:
    """Ask the scheduler for its identity before a Client is built.

    A Client whose connection fails half-way (another service on the port: an
    HTTP dashboard at 8787, a proxy) leaves a broken object that prints a
    traceback when Python exits; a bare RPC call fails cleanly instead.

    Raises
    ------
    ParameterError
        When nothing answers, or what answers is not a Dask scheduler.
    """
    import asyncio

    from dask.utils import parse_timedelta
    from distributed.core import rpc
    from distributed.security import Security

    args = (security or Security()).get_connection_args("client")
    if address.startswith("tls://") and args.get("ssl_context") is None:
        raise ParameterError(f"compute: {address} is a TLS address: give the certificates "
                             "(compute keys tls_ca_file, tls_cert, tls_key, or "
                             "distributed.comm.tls.* in the Dask configuration; "
                             "docs/scaling.md)")
    timeout = parse_timedelta(CONNECT_TIMEOUT)

    async def identity():
        async with rpc(address, connection_args=args, timeout=timeout) as scheduler:
            return await asyncio.wait_for(scheduler.identity(), timeout)

    try:
        info = asyncio.run(asyncio.wait_for(identity(), timeout + 1))
    except (OSError, TimeoutError) as exc:
        raise ParameterError(f"compute: cannot reach the Dask scheduler at {address}: "
                             f"{str(exc) or type(exc).__name__}") from None
    except Exception as exc:  # garbage on the wire: not a Dask comm
        raise ParameterError(f"compute: {address} did not answer as a Dask scheduler "
                             f"({type(exc).__name__}); is it the scheduler's port (8786), "
                             "not the dashboard's (8787)?") from None
    if not isinstance(info, dict) or info.get("type") != "Scheduler":
        raise ParameterError(f"compute: {address} is not a Dask scheduler")


@contextlib.contextmanager
def open_client(settings: ComputeSettings, *, say: Callable[[str], None] | None = print
                ) -> Iterator[object | None]:
    """A :class:`distributed.Client` for the setting (``None`` for ``local``).

    ``dask-local`` starts a LocalCluster and closes it on exit; ``dask``
    connects to the scheduler (and leaves the cluster running). The dashboard
    link is passed to ``say``.

    Raises
    ------
    ParameterError
        When the scheduler cannot be reached.
    """
    if not settings.distributed:
        yield None
        return
    from distributed import Client

    if settings.backend == "dask-local":
        n_workers = settings.workers or os.cpu_count() or 1
        cluster = start_local_cluster(n_workers, processes=settings.processes)
        try:
            with Client(cluster) as client:
                _quiet_task_failures()
                client.run(_quiet_task_failures)
                if say:
                    say(f"Dask LocalCluster: {n_workers} worker(s); dashboard "
                        f"{client.dashboard_link}")
                yield client
        finally:
            cluster.close()
        return
    security = _security(settings)
    _check_scheduler(settings.scheduler, security)
    try:
        client = Client(settings.scheduler, timeout=CONNECT_TIMEOUT, security=security,
                        set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ParameterError(f"compute: cannot reach the Dask scheduler at "
                             f"{settings.scheduler}: {exc}") from None
    try:
        check_workers(client)
        if say:
            n_workers = len(client.scheduler_info().get("workers", {}))
            say(f"Dask scheduler {settings.scheduler}: {n_workers} worker(s); dashboard "
                f"{client.dashboard_link}")
        yield client
    finally:
        client.close()


def _sopkit_version() -> str:
    import sopkit

    return sopkit.__version__


def check_workers(client) -> None:
    """The cluster's workers run this sopkit version and matching Dask packages.

    Raises
    ------
    ParameterError
        Naming the workers without sopkit or with another version, or Dask's
        own version mismatch report.
    """
    from sopkit import __version__

    try:
        client.get_versions(check=True)
    except ValueError as exc:
        raise ParameterError(f"compute: the Dask cluster's packages do not match this "
                             f"client's: {exc}") from None
    try:
        versions = client.run(_sopkit_version)
    except ImportError:
        raise ParameterError("compute: sopkit is not installed on the Dask workers; install "
                             f"sopkit {__version__} there (docs/scaling.md)") from None
    other = sorted(f"{worker} has {version}" for worker, version in versions.items()
                   if version != __version__)
    if other:
        raise ParameterError(f"compute: workers must run sopkit {__version__}: "
                             + "; ".join(other))


def _wait(client, futures, settings: ComputeSettings):
    """Wait for ``futures``, with a terminal progress bar when asked."""
    from distributed import wait

    # wait() and progress() use the current client; this one may not be the default
    with client.as_current():
        if settings.progress and futures:
            from distributed.diagnostics.progressbar import progress

            progress(futures, notebook=False)
            sys.stdout.write("\n")
        wait(futures)


def run_tasks(function: Callable, arguments: Sequence[tuple], compute=None) -> list:
    """``[function(*args) for args in arguments]``, as parallel Dask tasks when asked.

    Results come back in the order of ``arguments`` whatever the backend;
    an exception in a task is raised here as it would be in-process.
    """
    settings = compute_settings(compute)
    if not settings.distributed:
        return [function(*args) for args in arguments]
    with open_client(settings, say=None) as client:
        futures = [client.submit(function, *args, pure=False) for args in arguments]
        _wait(client, futures, settings)
        return client.gather(futures)


# --------------------------------------------------------------------------- forecasting


def chunk_skus(skus: Sequence[str], chunk_size: int) -> list[np.ndarray]:
    """Sorted SKU codes cut into consecutive chunks of at most ``chunk_size``."""
    ordered = np.sort(pd.unique(np.asarray(skus, dtype=object)))
    return [ordered[i:i + chunk_size] for i in range(0, len(ordered), chunk_size)]


def _chunk_backtest(params: dict, actuals: pd.DataFrame, incumbent, end=None, start=None):
    from sopkit.forecast import StatisticalForecaster

    return StatisticalForecaster(**params).fit_backtest(actuals, end=end, start=start,
                                                        incumbent=incumbent)


def _chunk_sums(part) -> dict:
    return part.score_sums()


def _chunk_select(part, prior: dict):
    part = copy.copy(part)  # results of earlier tasks stay as they were
    part._state = dict(part._state)
    return part.fit_select(prior)


def _chunk_errors(part) -> dict:
    return part.residual_errors()


def _chunk_finish(part, z: dict):
    part = copy.copy(part)
    part._state = dict(part._state)
    part._state["quant"] = part._state["quant"].copy()
    return part.fit_finish(z)


def _pooled_z(errors: list, horizon: int, window: int, levels) -> dict:
    from sopkit.forecast import pooled_residual_z

    return pooled_residual_z(errors, horizon, window, levels)


def _fit_phases(client, chunks: list, params: dict, end, start, settings: ComputeSettings,
                incumbents: list | None = None):
    """The three fit phases over ``chunks`` (futures or frames; ``incumbents``: each
    chunk's last-cycle models, or None); returns fitted futures."""
    from sopkit.forecast import StatisticalForecaster, class_prior

    probe = StatisticalForecaster(**params)
    levels, window, _ = probe._validated()  # a bad parameter fails before any task runs
    states = client.map(_chunk_backtest, [params] * len(chunks), chunks,
                        incumbents or [None] * len(chunks), end=end, start=start, pure=False)
    _wait(client, states, settings)
    prior = class_prior(client.gather(client.map(_chunk_sums, states, pure=False)))
    selected = client.map(_chunk_select, states, prior=prior, pure=False)
    errors = client.map(_chunk_errors, selected, pure=False)
    z = client.submit(_pooled_z, errors, int(params.get("horizon", 18)), window, levels,
                      pure=False)
    finished = client.map(_chunk_finish, selected, z=z, pure=False)
    _wait(client, finished, settings)
    del states, errors  # let the workers free the backtests
    return finished


def fit_forecaster(forecaster, actuals: pd.DataFrame, *, end=None, compute=None,
                   say: Callable[[str], None] | None = None, incumbent=None):
    """``forecaster.fit(actuals, end=end, incumbent=incumbent)`` on the chosen backend.

    With ``local`` this is exactly ``forecaster.fit``. With ``dask`` or
    ``dask-local`` the SKUs are cut into chunks of ``chunk_size`` and fitted as
    Dask tasks; the fitted chunks are joined into one forecaster
    (:func:`sopkit.forecast.concat_fitted`) whose ``predict()``,
    ``selection_``, ``backtest_`` and ``selected_backtest()`` equal those of an
    in-process fit, number for number and row for row.

    Returns
    -------
    StatisticalForecaster
        Fitted (a new object with dask, ``forecaster`` itself with local).
    """
    from sopkit.classify import check_freq, normalise_periods
    from sopkit.forecast import concat_fitted

    settings = compute_settings(compute)
    if not settings.distributed:
        return forecaster.fit(actuals, end=end, incumbent=incumbent)
    forecaster._validated()
    missing = [c for c in ("sku", "period", "qty") if c not in actuals.columns]
    if missing:
        raise DataError([Problem("actuals", None, c, "required column is missing")
                         for c in missing])
    freq = check_freq(forecaster.freq)
    periods = normalise_periods(pd.to_datetime(actuals["period"], errors="coerce"), freq)
    if end is not None:
        end = normalise_periods(pd.Series([pd.Timestamp(end)]), freq).iloc[0]
        periods = periods[periods <= end]
    elif periods.notna().any():
        end = periods.max()  # every chunk ends there, not at its own last row
    start = periods.min() if periods.notna().any() else None
    params = _params(forecaster)
    sku_text = actuals["sku"].astype("string")
    blank = sku_text.isna()
    if blank.any():
        forecaster.fit(actuals, end=end)  # raises the in-process DataError naming the records
    groups = chunk_skus(sku_text.to_numpy(), settings.chunk_size)
    with open_client(settings, say=say) as client:
        frames, incumbents = [], None
        for codes in groups:
            frames.append(actuals[sku_text.isin(codes).to_numpy()])
        if incumbent is not None:
            last = (incumbent.set_index("sku")["model"] if isinstance(incumbent, pd.DataFrame)
                    else pd.Series(incumbent))
            last.index = last.index.astype(str)
            incumbents = [last[last.index.isin(codes)] for codes in groups]
        scattered = client.scatter(frames)
        fitted = client.gather(_fit_phases(client, scattered, params, end, start, settings,
                                           incumbents))
    return concat_fitted(fitted)


def _params(forecaster) -> dict:
    import inspect

    names = [p for p in inspect.signature(type(forecaster)).parameters]
    return {name: getattr(forecaster, name) for name in names}


# --------------------------------------------------------------------------- Parquet datasets


def is_parquet_path(path) -> bool:
    """A folder (a partitioned dataset) or a ``.parquet`` / ``.pq`` name."""
    path = Path(str(path))
    return path.is_dir() or path.suffix.lower() in (".parquet", ".pq")


def _read_chunk(partition: pd.DataFrame, freq: str) -> pd.DataFrame:
    """A Parquet partition as ``sku, period, qty`` with periods as timestamps."""
    frame = partition.reset_index() if "sku" not in partition.columns else partition
    frame = frame[["sku", "period", "qty"]]
    if not pd.api.types.is_datetime64_any_dtype(frame["period"]):
        frame = frame.assign(period=_parse_periods(frame["period"], freq))
    return frame


def _parse_periods(text: pd.Series, freq: str) -> pd.Series:
    from sopkit.periods import parse_week_series

    text = text.astype("string")
    if freq == "W-MON":
        parsed, bad = parse_week_series(text)
    else:
        parsed = pd.to_datetime(text, format="%Y-%m", errors="coerce")
        bad = parsed.isna() & text.notna()
    if bad.any():
        shown = text[bad.to_numpy()].head(5).tolist()
        raise DataError([Problem("history", None, "period",
                                 "not a " + ("ISO week YYYY-Www" if freq == "W-MON"
                                             else "month YYYY-MM"), str(value))
                         for value in shown],
                        headline=f"{int(bad.sum())} unreadable period(s) in the history dataset")
    return parsed


def dataset_frequency(path) -> str:
    """``"MS"`` or ``"W-MON"`` from the first rows of a Parquet dataset's ``period``."""
    import pyarrow.dataset as ds

    from sopkit.periods import period_format

    try:
        dataset = ds.dataset(str(path), format="parquet")
    except (OSError, ValueError) as exc:
        raise ParameterError(f"{path}: not a readable Parquet dataset: {exc}") from None
    missing = [c for c in ("sku", "period", "qty") if c not in dataset.schema.names]
    if missing:
        raise DataError([Problem(Path(path).name, None, c, "required column is missing")
                         for c in missing])
    head = dataset.head(1000, columns=["period"]).to_pandas()["period"]
    if head.empty:
        raise DataError([Problem(Path(path).name, None, None, "has no data rows")])
    if pd.api.types.is_datetime64_any_dtype(head):
        weekly = (head.dt.day_of_week == 0).all() and not (head.dt.day == 1).all()
        return "W-MON" if weekly else "MS"
    kinds = period_format(head.astype("string"))
    return "W-MON" if (kinds == "week").all() else "MS"


def _sku_ordered_partitions(history, settings: ComputeSettings):
    """The dataset as a dask DataFrame re-sorted by SKU (partitions hold whole SKUs)."""
    import dask.dataframe as dd

    frame = dd.read_parquet(str(history), columns=["sku", "period", "qty"])
    frame["sku"] = frame["sku"].astype("string")
    n_skus = int(frame["sku"].nunique_approx().compute())
    n_parts = max(1, int(np.ceil(n_skus / settings.chunk_size)))
    shuffled = frame.set_index("sku", npartitions=n_parts, sort=True)
    return shuffled, shuffled.npartitions


def _write_part(part, folder: str, index: int, freq: str) -> dict:
    from sopkit.workspace import MONTH_COLUMNS

    forecast = part.predict()
    out = forecast.copy()
    for col in MONTH_COLUMNS:
        if col in out.columns:
            out[col] = _format_periods(out[col], freq)
    out.to_parquet(f"{folder}/part-{index:05d}.parquet", index=False)
    return {"rows": len(forecast), "skus": len(part.skus_),
            "models": part.selection_["model"].value_counts().to_dict()}


def _format_periods(stamps: pd.Series, freq: str) -> pd.Series:
    from sopkit.periods import fmt_week

    return fmt_week(stamps) if freq == "W-MON" else stamps.dt.strftime("%Y-%m")


@dataclass(frozen=True)
class DatasetForecast:
    """Summary of :func:`forecast_dataset` (the forecast itself is on disk)."""

    n_series: int
    n_rows: int
    n_chunks: int
    models: dict
    freq: str


def forecast_dataset(history, out, params: dict, compute=None,
                     say: Callable[[str], None] | None = print) -> DatasetForecast:
    """Forecast a partitioned Parquet history into a partitioned Parquet folder.

    The client only plans the work: workers read their chunk of the history,
    fit it and write ``out/part-NNNNN.parquet`` (one file per chunk, in SKU
    order, periods written as ``YYYY-MM`` / ``YYYY-Www`` like the CSV output).
    ``out`` must be reachable by every worker under the same path (a shared
    file system, or an fsspec URL such as ``s3://…``).

    With ``local`` the dataset is read into this process and fitted in one go.
    """
    settings = compute_settings(compute)
    freq = dataset_frequency(history)
    params = {**params, "freq": freq}
    if freq == "W-MON" and not params.get("season_length"):
        params["season_length"] = 52
    out = str(out)
    if "://" not in out:
        Path(out).mkdir(parents=True, exist_ok=True)
        for old in Path(out).glob("part-*.parquet"):
            old.unlink()  # a previous run's parts must not mix with this one's
    if not settings.distributed:
        from sopkit.forecast import StatisticalForecaster

        frame = _read_chunk(pd.read_parquet(str(history), columns=["sku", "period", "qty"]),
                            freq)
        fitted = StatisticalForecaster(**params).fit(frame)
        summary = _write_part(fitted, out, 0, freq)
        return DatasetForecast(summary["skus"], summary["rows"], 1, summary["models"], freq)

    with open_client(settings, say=say) as client:
        chunks = _sku_chunks(client, history, freq, settings)
        n_parts = len(chunks)
        probe = client.gather(client.map(_period_range, chunks, freq=freq, pure=False))
        lows = [p[0] for p in probe if p[0] is not None]
        if not lows:
            raise DataError([Problem(Path(str(history)).name, None, None, "has no data rows")])
        start, end = min(lows), max(p[1] for p in probe if p[1] is not None)
        fitted = _fit_phases(client, chunks, params, end, start, settings)
        del chunks
        written = client.map(_write_part, fitted, [out] * len(fitted), range(len(fitted)),
                             [freq] * len(fitted), pure=False)
        _wait(client, written, settings)
        summaries = client.gather(written)
    models: dict = {}
    for summary in summaries:
        for model, count in summary["models"].items():
            models[model] = models.get(model, 0) + int(count)
    return DatasetForecast(sum(s["skus"] for s in summaries), sum(s["rows"] for s in summaries),
                           n_parts, dict(sorted(models.items(), key=lambda kv: -kv[1])), freq)


def _file_skus(file: str, filesystem) -> tuple:
    """First and last SKU code and number of SKUs of one Parquet file (read on a worker)."""
    import pyarrow.parquet as pq

    codes = pq.read_table(file, columns=["sku"], filesystem=filesystem).column("sku")
    unique = np.sort(pd.unique(np.asarray(codes.drop_null().cast("string"), dtype=object)))
    return (unique[0], unique[-1], len(unique)) if len(unique) else (None, None, 0)


def _read_file_chunk(file: str, filesystem, index: int, chunk_size: int, freq: str):
    """The ``index``-th block of ``chunk_size`` SKUs of one Parquet file (read on a worker)."""
    import pyarrow.parquet as pq

    table = pq.read_table(file, columns=["sku", "period", "qty"], filesystem=filesystem)
    frame = table.to_pandas()
    frame["sku"] = frame["sku"].astype("string")
    return _sub_chunk(_read_chunk(frame, freq), index, chunk_size)


def _sku_chunks(client, history, freq: str, settings: ComputeSettings) -> list:
    """Futures of the history's chunks: whole SKUs, at most ``chunk_size`` each, in SKU order.

    A dataset stored by SKU range (every file a disjoint range of SKU codes) is
    cut file by file: each chunk task reads its file and keeps its block of
    SKUs, so chunks go to any worker. Any other layout (one file per month,
    say) is first re-sorted by SKU by Dask (``set_index``, a shuffle).
    """
    import dask
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(history), format="parquet")
    files, filesystem = list(dataset.files), dataset.filesystem
    bounds = client.gather(client.map(_file_skus, files, filesystem=filesystem, pure=False))
    stored = sorted((b for b in zip(files, bounds, strict=True) if b[1][2]),
                    key=lambda item: item[1][0])
    ordered = all(later[1][0] > earlier[1][1]
                  for earlier, later in zip(stored[:-1], stored[1:], strict=True))
    size = settings.chunk_size
    if ordered:
        return [client.submit(_read_file_chunk, file, filesystem, i, size, freq, pure=False)
                for file, (_, _, count) in stored for i in range(int(np.ceil(count / size)))]
    frame, _ = _sku_ordered_partitions(history, settings)
    parts = client.compute([dask.delayed(_read_chunk)(d, freq) for d in frame.to_delayed()])
    counts = client.gather(client.map(_n_skus, parts, pure=False))
    return [client.submit(_sub_chunk, part, i, size, pure=False)
            for part, count in zip(parts, counts, strict=True)
            for i in range(int(np.ceil(count / size)))]


def _n_skus(frame: pd.DataFrame) -> int:
    return int(frame["sku"].nunique())


def _sub_chunk(frame: pd.DataFrame, index: int, chunk_size: int) -> pd.DataFrame:
    """The ``index``-th block of ``chunk_size`` SKUs (in SKU order) of a partition."""
    codes = np.sort(frame["sku"].dropna().unique().to_numpy(dtype=object))
    keep = codes[index * chunk_size:(index + 1) * chunk_size]
    return frame[frame["sku"].isin(keep).to_numpy()]


def _period_range(frame: pd.DataFrame, freq: str):
    from sopkit.classify import normalise_periods

    periods = normalise_periods(pd.to_datetime(frame["period"], errors="coerce").dropna(), freq)
    if periods.empty:
        return None, None
    return periods.min(), periods.max()


__all__ = [
    "BACKENDS", "ComputeSettings", "compute_settings", "check_scheduler_address", "open_client",
    "run_tasks", "fit_forecaster", "forecast_dataset", "DatasetForecast", "is_parquet_path",
    "chunk_skus",
]


def cycle_compute_override(params: dict, args) -> dict:
    """``params`` with ``compute`` from ``sop cycle --compute/--scheduler/…`` merged in.

    The options override the ``compute`` entry of the parameters file key by
    key; the result is checked here, so a bad address fails before any notebook
    runs. Returns ``params`` unchanged when no option is given.
    """
    options = {"backend": getattr(args, "compute", None),
               "scheduler": getattr(args, "scheduler", None),
               "workers": getattr(args, "workers", None),
               "chunk_size": getattr(args, "chunk_size", None)}
    given = {k: v for k, v in options.items() if v is not None}
    if not given and "compute" not in params:
        return params
    base = params.get("compute")
    base = {"backend": base} if isinstance(base, str) else dict(base or {})
    if "backend" in given and given["backend"] != base.get("backend"):
        base.pop("scheduler", None)  # an address belongs to the backend it came with
    merged = {**base, **given}
    compute_settings(merged)  # raises ParameterError with the reason
    return {**params, "compute": merged}
