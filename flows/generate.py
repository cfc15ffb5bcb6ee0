"""``generate``: N candidates per problem into ``candidates`` + ``steps``, one mapped task per shard of problems.

Resumable: each shard first asks the store which samples exist and generates only for problems that are missing
some. Sampling is seeded per (seed, prompt, sample index), so a re-run after a kill writes exactly the texts an
uninterrupted run would have written, and the upserts make repeated writes harmless.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE

from bon_core.types import GenerationConfig
from flows import progress
from flows.runtime import gpu_tagged, is_transient, settings_from_environment, shards, task_runner
from flows.shard_store import shard_todo, store_candidates
from flows.store import transaction


# Retried only for transient failures (a lost connection, a locked database), never for a user error.
@task(name="generate-shard", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30],
      retry_condition_fn=is_transient)  # fmt: skip
def generate_shard(
    database_url: str,
    run_id: int,
    task_name: str,
    task_options: dict[str, Any],
    policy: str,
    backend: str,
    base_url: str | None,
    source_ids: list[str],
    n: int,
    config: GenerationConfig,
) -> int:
    """Generate, grade, split and (where the task can) label the missing candidates of one shard."""
    from bon_core.generation import candidates_for
    from bon_core.tasks import get_task
    from flows.model_cache import policy_backend

    todo, stored = shard_todo(database_url, run_id, task_name, source_ids, n)
    if todo:
        the_task = get_task(task_name, **task_options)
        model = policy_backend(policy, backend, base_url)
        samples = model.generate([the_task.format_prompt(p) for p in todo], n, config)
        candidates = [c for p, pool in zip(todo, samples, strict=True) for c in candidates_for(p, pool, the_task)]
        store_candidates(database_url, run_id, todo, candidates)
    progress.advance("generate", stored * n)
    return len(todo) * n


# The task runner is read from the environment when this module is imported, so a deployed run (imported afresh
# by the worker or ``bon serve``) spreads its shards as that process is configured to (``flows.runtime``).
@flow(name="generate", log_prints=True, task_runner=task_runner())
def generate_flow(
    run_name: str,
    task_name: str,
    policy: str,
    n: int = 16,
    split: str = "test",
    limit: int | None = None,
    generation: GenerationConfig | None = None,
    task_options: dict[str, Any] | None = None,
    load_options: dict[str, Any] | None = None,
    backend: str = "hf",
    base_url: str | None = None,
    shard_size: int = 32,
    database_url: str | None = None,
) -> int:
    """Sample ``n`` candidates for each problem of ``task_name``/``split`` with ``policy``; returns the run id.

    ``generation`` is how to sample (default ``GenerationConfig()``; a deployment's JSON object is validated into
    one); ``task_options`` and ``load_options`` are the task's own keyword arguments (``get_task``, ``Task.load``).
    Without ``database_url`` the store (and MLflow) are this process's settings
    (``flows.runtime.settings_from_environment``): a deployment's parameters never hold a password.
    """
    import time

    from prefect.runtime import flow_run

    from bon_core.tasks import get_task
    from db import repository
    from flows.tracking import log_candidate_throughput, tracked_run

    if database_url is None:
        database_url = settings_from_environment().database_url
    generation = generation or GenerationConfig()
    config = asdict(generation)
    the_task = get_task(task_name, **(task_options or {}))
    problems = the_task.load(split, limit=limit, **(load_options or {}))
    if not problems:
        raise ValueError(f"task {task_name!r} split {split!r} has no problems")
    params = {"run": run_name, "task": task_name, "policy": policy, "backend": backend, "n": n, "split": split,
              "problems": len(problems), "shard_size": shard_size, "generation": config,
              "task_options": task_options or {}}  # fmt: skip
    with tracked_run(f"generate:{run_name}", params) as tracking:
        with transaction(database_url) as session:
            run_id = repository.get_or_create_run(
                session, run_name, task_name, policy, {**config, "n": n, "split": split}, config["seed"]
            )
            repository.upsert_problems(session, problems)
            repository.update_run(
                session, run_id, status="generating", prefect_flow_run_id=str(flow_run.id or ""),
                mlflow_run_id=tracking.info.run_id,
            )  # fmt: skip
        started = time.perf_counter()
        progress.start("generate", f"generating {run_name}", len(problems) * n)
        ids = [p.source_id for p in problems]
        static = [unmapped(x) for x in (database_url, run_id, task_name, task_options or {}, policy, backend, base_url)]
        futures = gpu_tagged(generate_shard).map(*static, shards(ids, shard_size), unmapped(n), unmapped(generation))
        generated = sum(f.result() for f in futures)
        seconds = time.perf_counter() - started
        with transaction(database_url) as session:
            repository.update_run(session, run_id, status="generated")
        log_candidate_throughput("new_candidates", generated, seconds)
    print(f"run {run_name!r}: {generated} new candidates ({len(problems)} problems x {n})")
    return run_id


def run_generate(**kwargs: Any) -> int:
    """Run :func:`generate_flow` with the configured task runner."""
    return generate_flow.with_options(task_runner=task_runner())(**kwargs)
