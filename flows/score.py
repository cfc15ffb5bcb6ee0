"""``score``: a scorer (PRM, ORM, published PRM) over a run's stored candidates → ``step_scores`` and
``candidate_scores`` under every aggregation. Skips candidates this scorer has already scored, so a re-run (or a
run killed half-way) finishes only the missing work; a new PRM is compared on old candidates without
regenerating them.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE

from flows import progress
from flows.runtime import gpu_tagged, is_transient, shards, task_runner
from flows.shard_store import AGGREGATIONS, shard_to_score, store_scores  # noqa: F401  (AGGREGATIONS re-exported)
from flows.store import transaction


# Retried only for transient failures (a lost connection, a locked database), never for a user error.
@task(name="score-shard", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30],
      retry_condition_fn=is_transient)  # fmt: skip
def score_shard(
    database_url: str, run_id: int, scorer_id: int, model_path: str, model_format: str, source_ids: list[str]
) -> int:
    """Score the not-yet-scored candidates of one shard of problems; returns how many it scored."""
    from flows.model_cache import scorer

    problems, todo, stored = shard_to_score(database_url, run_id, scorer_id, source_ids)
    if todo:
        scored = scorer(model_path, model_format).score_candidates(problems, [c for _, c in todo])
        store_scores(database_url, scorer_id, todo, [s.scores for s in scored])
    progress.advance("score", stored)
    return len(todo)


def scorer_identity(model_uri: str, model_format: str, kind: str | None = None) -> tuple[str, Any]:
    """Resolve ``model_uri`` (``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, a path or a Hub id) to a local
    path and the ``ScorerInfo`` that leads back to the exact model."""
    import json
    from pathlib import Path

    from bon_core.types import ScorerInfo
    from flows.registry import resolve_model_path

    path, version = resolve_model_path(model_uri)
    name = version.split("/")[0] if model_uri.startswith("models:/") else Path(path).name or path
    if kind is None:
        spec = Path(path) / "bon_prm.json"
        kind = json.loads(spec.read_text()).get("kind", "prm") if spec.exists() else "prm"
    return path, ScorerInfo(kind=kind, name=name, version=version, config={"uri": model_uri, "format": model_format})


@flow(name="score", log_prints=True)
def score_flow(
    database_url: str, run_name: str, model_uri: str, model_format: str = "bon", shard_size: int = 64
) -> int:
    """Score every candidate of run ``run_name`` with the scorer at ``model_uri``; returns the scorer id."""
    import time

    from db import reads, repository
    from flows.tracking import log_candidate_throughput, tracked_run

    path, info = scorer_identity(model_uri, model_format)
    with transaction(database_url) as session:
        run = reads.get_run(session, run_name)
        scorer_id = repository.upsert_scorer(session, info)
        source_ids = [p.source_id for p in reads.load_problems(session, run_id=run.id)]
        total = len(reads.existing_sample_keys(session, run.id))
    params = {"run": run_name, "model_uri": model_uri, "format": model_format, "scorer": info.name,
              "scorer_version": info.version, "kind": info.kind, "shard_size": shard_size}  # fmt: skip
    with tracked_run(f"score:{run_name}:{info.name}", params, tags={"bon.scorer_id": str(scorer_id)}):
        started = time.perf_counter()
        progress.start("score", f"scoring {run_name} with {info.name}", total)
        static = [unmapped(x) for x in (database_url, run.id, scorer_id, path, model_format)]
        futures = gpu_tagged(score_shard).map(*static, shards(source_ids, shard_size))
        scored = sum(f.result() for f in futures)
        seconds = time.perf_counter() - started
        with transaction(database_url) as session:
            repository.update_run(session, run.id, status="scored")
        log_candidate_throughput("new_candidates_scored", scored, seconds)
    print(f"scorer {info.name} ({info.version}): scored {scored} new candidates of run {run_name!r}")
    return scorer_id


def run_score(**kwargs: Any) -> int:
    """Run :func:`score_flow` with the configured task runner."""
    return score_flow.with_options(task_runner=task_runner())(**kwargs)
