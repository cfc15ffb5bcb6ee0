"""Prefect deployments of bon's flows: a nightly evaluation of the ``champion`` PRM and on-demand jobs.

The deployed flows are thin wrappers that read the store, MLflow and task-runner settings from the environment of
the process that runs them (the worker, or ``bon serve``), so no database password is stored in a deployment's
parameters. Entrypoints are module paths (``flows.deployments:...``): any machine with bon installed can run them.

- ``nightly-champion-eval/nightly`` (cron, default 02:00 UTC): score a fixed benchmark run with
  ``models:/NAME@champion``, then select/evaluate it.
- ``train-prm-job/on-demand``: train (and register) a PRM.
- ``generate-job/on-demand``: sample a run's candidates.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.runtime import settings_from_environment

NIGHTLY_CRON = "0 2 * * *"
ON_DEMAND = "on-demand"
NIGHTLY = "nightly"


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
    from flows.runtime import task_runner
    from flows.score import score_flow
    from flows.select_evaluate import select_evaluate_flow
    from flows.store import transaction

    settings = settings_from_environment()
    registry_name = registry_name or settings.registry_name
    aggregations = list(aggregations or ["min", "last"])
    scorer_id = score_flow.with_options(task_runner=task_runner())(
        settings.database_url, run_name, f"models:/{registry_name}@{alias}"
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


@flow(name="train-prm-job", log_prints=True)
def train_prm_job(
    source: str,
    base: str,
    out_dir: str | None = None,
    kind: str = "prm",
    validation_run: str | None = None,
    register_as: str | None = None,
    config: dict[str, Any] | None = None,
    spec: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train a PRM/ORM (``train-prm``) against the worker's store; registers it under ``register_as`` (default:
    the worker's ``BON_REGISTRY_NAME``) and promotes it to ``champion`` when it beats the current one."""
    from dataclasses import asdict

    from prefect.runtime import flow_run

    from flows.train import train_prm_flow

    settings = settings_from_environment()
    out_dir = out_dir or str(settings.home / "prms" / f"{kind}-{flow_run.id or 'local'}")
    trained = train_prm_flow(
        source, base, out_dir, kind=kind, database_url=settings.database_url, validation_run=validation_run,
        register_as=register_as or settings.registry_name, config=config, spec=spec,
    )  # fmt: skip
    return asdict(trained)


@flow(name="generate-job", log_prints=True)
def generate_job(
    run_name: str,
    task_name: str,
    policy: str,
    n: int = 16,
    split: str = "test",
    limit: int | None = None,
    generation: dict[str, Any] | None = None,
    task_options: dict[str, Any] | None = None,
    shard_size: int = 32,
) -> int:
    """Sample ``n`` candidates per problem (``generate``) into the worker's store with its task runner."""
    from flows.generate import generate_flow
    from flows.runtime import task_runner

    settings = settings_from_environment()
    return generate_flow.with_options(task_runner=task_runner())(
        settings.database_url, run_name, task_name, policy, n=n, split=split, limit=limit,
        generation=generation, task_options=task_options, shard_size=shard_size,
    )  # fmt: skip


def build_deployments(
    benchmark_run: str | None,
    registry_name: str,
    cron: str = NIGHTLY_CRON,
    timezone: str = "UTC",
    aggregations: list[str] | None = None,
) -> list[Any]:
    """The deployments: the nightly champion evaluation (only with a ``benchmark_run``) and the on-demand jobs."""
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    if benchmark_run is not None and not benchmark_run.strip():
        raise ValueError("the nightly benchmark run name is empty")
    try:
        schedule = Cron(cron, timezone=timezone)
    except ValueError as exc:
        raise ValueError(f"cron schedule {cron!r} (timezone {timezone!r}) is invalid: {exc}") from None
    common = {"entrypoint_type": EntrypointType.MODULE_PATH}
    deployments = []
    if benchmark_run:
        parameters = {"run_name": benchmark_run, "registry_name": registry_name}
        if aggregations:
            parameters["aggregations"] = list(aggregations)
        deployments.append(
            nightly_champion_eval.to_deployment(
                name=NIGHTLY,
                schedules=[schedule],
                parameters=parameters,
                tags=["bon", "nightly"],
                description=f"Nightly: {registry_name}@champion on run {benchmark_run!r}",
                **common,
            )  # fmt: skip
        )
    deployments.append(
        train_prm_job.to_deployment(
            name=ON_DEMAND, parameters={"register_as": registry_name}, tags=["bon", "train"], **common
        )
    )
    deployments.append(generate_job.to_deployment(name=ON_DEMAND, tags=["bon", "generate"], **common))
    return deployments


def register_deployments(deployments: list[Any], work_pool: str, pool_type: str = "process") -> list[str]:
    """Create (or update) ``deployments`` on the Prefect server for ``work_pool``, creating the pool if missing;
    returns the deployments' ``FLOW/NAME`` names."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    template = None
    if pool_type == "process":
        from prefect.workers.process import ProcessWorker

        template = ProcessWorker.get_default_base_job_template()
    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=work_pool, type=pool_type, base_job_template=template or {}))
        except ObjectAlreadyExists:
            pass
    names = []
    for deployment in deployments:
        deployment.apply(work_pool_name=work_pool)
        names.append(f"{deployment.flow_name}/{deployment.name}")
    return names
