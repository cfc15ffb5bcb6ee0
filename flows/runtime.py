"""Process-level setup for flows: Prefect's home and analytics, quiet logging, MLflow's tracking store, and the
task runner that spreads a flow's mapped shards.

Prefect reads its settings when it is first imported, so :func:`configure_prefect` must run before any
``import prefect``; the CLI calls it first thing in every command that runs a flow.

Shards run on threads in-process (default) or on a Dask cluster (:func:`task_runner`):
``BON_TASK_RUNNER=threads|dask``, ``BON_MAX_WORKERS`` (threads; default 1, since one torch model already uses
every core) and ``BON_DASK_ADDRESS`` (a scheduler such as ``tcp://10.0.0.5:8786``; unset starts a local cluster of
``BON_DASK_WORKERS`` processes).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flows.settings import Settings


def configure_prefect(settings: Settings) -> None:
    """Run Prefect ephemerally with its home under ``./.bon/`` unless ``PREFECT_API_URL`` points at a server."""
    home = Path(settings.prefect_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    # The temporary server can take a while to start on a busy 2-core machine (the default waits 20 s).
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    # Results are persisted so that a re-run can reuse finished shards.
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "true")
    os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", str(home / "storage"))
    if settings.prefect_api_url:
        os.environ["PREFECT_API_URL"] = settings.prefect_api_url


@contextmanager
def ephemeral_flow_settings() -> Iterator[None]:
    """Flow runs without Prefect's heartbeat thread when no Prefect server is configured (``PREFECT_API_URL``
    unset: the ephemeral API lives and dies with this process). Heartbeats let a server's automations find crashed
    runs; nothing reads them here, and ending a run joins the thread, which sleeps in 1 s steps: about 1 s of every
    flow run (``benchmarks/orchestration.py``). Against a server they stay on."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings

    if get_current_settings().api.url:
        yield
        return

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


GPU_TAG = "gpu"


def gpu_tagged(task: Any) -> Any:
    """``task`` tagged ``gpu`` when a Prefect server is configured, where a tag concurrency limit (``prefect
    concurrency-limit create gpu N``) keeps GPU work to N tasks at once; untagged when Prefect is ephemeral, where no
    such limit can be set from outside the process and asking the temporary server for one stalled about 2 s of
    every task run after the first (``benchmarks/orchestration.py``)."""
    from prefect.settings import get_current_settings

    return task.with_options(tags={GPU_TAG}) if get_current_settings().api.url else task


def quiet_flow_errors() -> None:
    """Leave reporting a failed flow to the CLI (one line; ``--debug`` for the traceback): Prefect's flow- and
    task-run loggers stay silent below CRITICAL. Must run before Prefect configures logging (its first import)."""
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL", "CRITICAL")
    # While it drains at exit, Prefect's event worker warns "Still processing items: N items remaining..." (on a
    # busy machine the last events of a short command can still be queued): progress, not a problem of the command.
    logging.getLogger("EventsWorker").setLevel(logging.ERROR)


def password_to_environment(settings: Settings) -> None:
    """Keep the store's password out of flow parameters (which Prefect records) and MLflow params: a PostgreSQL
    password in ``database_url`` moves to ``PGPASSWORD`` (libpq reads it; Dask workers started from this process
    inherit it) and ``settings.database_url`` keeps the URL without it."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() != "postgresql" or not url.password:
        return
    os.environ["PGPASSWORD"] = str(url.password)
    settings.database_url = url._replace(password=None).render_as_string(hide_password=False)


def is_transient(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's retry_condition_fn signature
    """Prefect ``retry_condition_fn``: retry a task only for failures another attempt can get past (a dropped or
    refused connection, a timeout, a locked or unreachable database), never for a user error such as a missing
    model or an unknown name."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    error = state.data if isinstance(state.data, BaseException) else None
    if error is None:
        try:
            error = state.result(raise_on_failure=False)
        except Exception as exc:  # noqa: BLE001 - a result that cannot be read: judge what reading it raised
            error = exc
    transient = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
    try:
        import httpx

        transient += (httpx.TransportError,)
    except ImportError:  # pragma: no cover - httpx is a dependency
        pass
    return isinstance(error, transient)


RUNNERS = ("threads", "dask")


def task_runner(kind: str | None = None, max_workers: int | None = None, address: str | None = None) -> Any:
    """Build the configured Prefect task runner; arguments override the environment."""
    kind = kind or os.environ.get("BON_TASK_RUNNER", "threads")
    if kind == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=max_workers or int(os.environ.get("BON_MAX_WORKERS", "1")))
    if kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise ValueError("BON_TASK_RUNNER=dask needs the dask extra: pip install 'bon[dask]'") from None
        address = address or os.environ.get("BON_DASK_ADDRESS")
        if address:
            return DaskTaskRunner(address=address)
        workers = max_workers or int(os.environ.get("BON_DASK_WORKERS", "2"))
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    raise ValueError(f"unknown task runner {kind!r} (BON_TASK_RUNNER); known: {', '.join(RUNNERS)}")


def shards(items: list[Any], size: int) -> list[list[Any]]:
    """Split ``items`` into consecutive shards of at most ``size``."""
    if size < 1:
        raise ValueError(f"shard size must be >= 1, got {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def settings_from_environment() -> Settings:
    """The settings of this process (environment, ``./bon.toml``, defaults) with home created and MLflow pointed at
    the configured tracking store: what a deployed flow or a flow called from Python (not the CLI) runs with."""
    from flows.settings import ensure_home, load_settings

    settings = load_settings()
    ensure_home(settings)
    configure_mlflow(settings)
    return settings


def quiet_libraries() -> None:
    """Keep the CLI's output to bon's own progress bars and tables: no per-load "Loading weights" bars or advisory
    messages from transformers / huggingface_hub, no INFO lines from MLflow (read from the environment when they
    are first imported)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # no "Creating initial MLflow database tables..."
    logging.getLogger("mlflow").setLevel(os.environ["MLFLOW_LOGGING_LEVEL"])  # if MLflow was imported already
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


class TrackingUnreachableError(RuntimeError):
    """The configured MLflow tracking store cannot be reached."""


def check_tracking_reachable(uri: str, timeout_s: float = 5.0) -> None:
    """Fail fast, before any expensive work, when the MLflow tracking store at ``uri`` cannot be reached: an
    ``http(s)`` server must answer ``GET /health``, a database server must accept a TCP connection. Local stores
    (files, SQLite) are not checked. MLflow itself would retry an unreachable server for minutes."""
    import base64
    import socket
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    from db.errors import mask_url

    parts = urlsplit(uri)
    if not parts.hostname or parts.scheme in ("file", "databricks") or parts.scheme.startswith("sqlite"):
        return
    shown = mask_url(uri)
    hint = "start it, or point MLFLOW_TRACKING_URI / mlflow_tracking_uri in bon.toml at a running store"
    if parts.scheme in ("http", "https"):
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        netloc = f"{host}:{parts.port}" if parts.port else host
        request = urllib.request.Request(f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}/health")
        if parts.username:  # credentials in the URL travel as basic auth, as MLflow's client sends them
            token = base64.b64encode(f"{parts.username}:{parts.password or ''}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                if response.status == 200:
                    return
                why = f"GET /health answered {response.status}"
        except urllib.error.HTTPError as exc:
            why = f"GET /health answered {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            why = str(getattr(exc, "reason", exc))
        raise TrackingUnreachableError(f"MLflow tracking server {shown} is unreachable ({why}); {hint}")
    try:
        port = parts.port or {"postgresql": 5432, "mysql": 3306, "mssql": 1433}.get(parts.scheme.split("+")[0])
    except ValueError:
        port = None
    if port is None:
        return
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout_s).close()
    except OSError as exc:
        raise TrackingUnreachableError(f"MLflow tracking store {shown} is unreachable ({exc}); {hint}") from None


def configure_mlflow(settings: Settings, experiment: str = "bon") -> str:
    """Point MLflow at the configured tracking store and make sure ``experiment`` exists; returns its id. Raises
    :class:`TrackingUnreachableError` at once when the store is a server that does not answer."""
    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from db.engine import absolute_sqlite_url

    check_tracking_reachable(settings.mlflow_tracking_uri)
    mlflow.set_tracking_uri(absolute_sqlite_url(settings.mlflow_tracking_uri))
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is not None:
        mlflow.set_experiment(experiment)
        return existing.experiment_id
    artifact_root = settings.mlflow_artifact_root
    location = None
    if artifact_root and "://" not in str(artifact_root):
        path = Path(artifact_root).resolve()
        path.mkdir(parents=True, exist_ok=True)
        location = path.as_uri()
    elif artifact_root:
        location = str(artifact_root)
    experiment_id = mlflow.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment)
    return experiment_id
