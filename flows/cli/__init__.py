"""The ``bon`` command line (Typer + Rich).

Each command group lives in its own module and registers itself on :data:`app`. Heavy imports (torch, Prefect,
MLflow) happen inside the commands, so ``bon --help`` stays fast.
"""

from __future__ import annotations

from flows.cli.app import app, main
from flows.cli import db_cmd, tasks_cmd, generate_cmd, prm_cmd, pipeline_cmd  # noqa: F401,E402  (registration)

__all__ = ["app", "main"]
