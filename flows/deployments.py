"""Prefect deployments of bon's flows: a nightly evaluation of the ``champion`` PRM and on-demand jobs.

The flows themselves are deployed. Each reads the store, MLflow and task-runner settings from the environment of
the process that runs it (the worker, or ``bon serve``) when no ``database_url`` is given, so no database password
is stored in a deployment's parameters. Entrypoints are module paths (``flows.generate.generate_flow``): any
machine with bon installed can run them.

- ``nightly-champion-eval/nightly`` (cron, default 02:00 UTC; ``flows.nightly``): score a fixed benchmark run with
  ``models:/NAME@champion``, then select/evaluate it.
- ``train-prm/on-demand``: train (and register, by default as the deploying ``--registry``) a PRM or ORM; without
  ``out_dir`` it goes to ``HOME/prms/KIND-FLOW_RUN_ID`` on the worker.
- ``generate/on-demand``: sample a run's candidates.
"""

from __future__ import annotations

from typing import Any

NIGHTLY_CRON = "0 2 * * *"
ON_DEMAND = "on-demand"
NIGHTLY = "nightly"


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

    from flows.generate import generate_flow
    from flows.nightly import nightly_champion_eval
    from flows.train import train_prm_flow

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
        train_prm_flow.to_deployment(
            name=ON_DEMAND, parameters={"register_as": registry_name}, tags=["bon", "train"], **common
        )
    )
    deployments.append(generate_flow.to_deployment(name=ON_DEMAND, tags=["bon", "generate"], **common))
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
