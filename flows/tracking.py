"""MLflow logging for flow runs: parameters with provenance, metric curves, tables and plots as artifacts."""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import bon_core


def git_commit() -> str:
    """The current git commit of the working directory, or ``"unknown"`` outside a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, prefix=f"{name}."))
        else:
            flat[name] = str(value)[:6000]
    return flat


def ensure_tracking_store() -> None:
    """Point MLflow at bon's configured store when nothing chose one, so a flow called from Python (not the CLI)
    logs where the CLI would, never to MLflow's own default (``./mlflow.db``)."""
    from mlflow.tracking._tracking_service.utils import is_tracking_uri_set

    if not is_tracking_uri_set():
        from flows.runtime import settings_from_environment

        settings_from_environment()


@contextlib.contextmanager
def tracked_run(
    name: str, params: Mapping[str, Any] | None = None, tags: Mapping[str, str] | None = None
) -> Iterator[Any]:
    """An MLflow run named ``name``, nested under the active one if any, with params, bon version and commit."""
    import mlflow

    nested = mlflow.active_run() is not None
    if not nested:
        ensure_tracking_store()
    with mlflow.start_run(run_name=name, nested=nested) as run:
        mlflow.set_tags({"bon.version": bon_core.__version__, "git.commit": git_commit(), **(tags or {})})
        if params:
            mlflow.log_params(_flatten(params))
        yield run


def log_curve(metric: str, points: Sequence[tuple[int, float]]) -> None:
    """Log ``metric`` once per (step, value) so the MLflow UI draws it as a curve over ``step``."""
    import mlflow

    for step, value in points:
        mlflow.log_metric(metric, float(value), step=int(step))


def log_candidate_throughput(count_metric: str, count: int, seconds: float) -> None:
    """Log how many candidates a flow processed (as ``count_metric``), how long it took and the rate."""
    import mlflow

    rate = count / seconds if seconds > 0 else 0.0
    mlflow.log_metrics({count_metric: count, "seconds": seconds, "candidates_per_second": rate})


def log_text_artifacts(files: Mapping[str, str], artifact_path: str | None = None) -> None:
    """Log in-memory text files (e.g. ``{"results.csv": ..., "results.md": ...}``) as run artifacts."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        for filename, text in files.items():
            (Path(tmp) / filename).write_text(text)
        mlflow.log_artifacts(tmp, artifact_path=artifact_path)


def log_config(config: Mapping[str, Any], filename: str = "config.json") -> None:
    """Log a run's full configuration as a JSON artifact."""
    log_text_artifacts({filename: json.dumps(config, indent=2, sort_keys=True, default=str)})
