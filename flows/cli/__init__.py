"""The ``bon`` command line (Typer + Rich).

Each command group lives in its own module and registers itself on :data:`app`. Heavy imports (torch, Prefect,
MLflow) happen inside the commands, so ``bon --help`` stays fast.
"""

from __future__ import annotations

# Each module registers its commands on import; this order is the order of `bon --help`.
# isort: off
from flows.cli import (  # noqa: F401
    db_cmd,
    deploy_cmd,
    generate_cmd,
    demo_cmd,
    score_cmd,
    evaluate_cmd,
    bench_cmd,
    prm_cmd,
    prm_eval_cmd,
    runs_cmd,
    study_cmd,
    tasks_cmd,
)

# isort: on
from flows.cli.app import app, main

__all__ = ["app", "main"]
