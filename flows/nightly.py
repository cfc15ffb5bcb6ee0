"""``nightly-champion-eval``: score a fixed benchmark run with the registry's ``champion`` and select/evaluate it,
against the store, MLflow and task runner of the process that runs it (a worker, or ``bon serve``); deployed on a
cron schedule by ``flows.deployments``."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import settings_from_environment


@flow(name="nightly-champion-eval", log_prints=True)
def nightly_champion_eval(
    run_name: str,
    registry_name: str | None = None,
    alias: str = "champion",
    aggregations: list[str] | None = None,
) -> dict[str, Any]:
    """Score stored run ``run_name`` with ``models:/REGISTRY@ALIAS`` and select/evaluate it; returns a summary.

    Scoring skips candidates this exact model version has already scored, so only a new champion costs compute.
    """
    from db import reads
    from flows.score import run_score
    from flows.select_evaluate import select_evaluate_flow
    from flows.store import transaction

    settings = settings_from_environment()
    registry_name = registry_name or settings.registry_name
    aggregations = list(aggregations or ["min", "last"])
    scorer_id = run_score(
        database_url=settings.database_url, run_name=run_name, model_uri=f"models:/{registry_name}@{alias}"
    )
    with transaction(settings.database_url) as session:
        label = reads.scorer_label(session, scorer_id)
    report = select_evaluate_flow(
        settings.database_url,
        run_name,
        {label: aggregations},
        primary=f"{label}:{aggregations[0]}",
        out_dir=str(settings.home / "results"),
    )
    chosen = [p for p in report.selection_points if p.scorer == label and p.aggregation == aggregations[0]]
    accuracy = chosen[0].value if chosen else None
    print(f"nightly: {label} on run {run_name!r} ({report.num_problems} problems, N={report.n}): {accuracy}")
    return {"run_name": run_name, "scorer": label, "problems": report.num_problems, "n": report.n,
            "accuracy": accuracy}  # fmt: skip
