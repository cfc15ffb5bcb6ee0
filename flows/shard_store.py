"""The store side of one generate or score shard: what it still has to do, and writing its results.

Each function is one transaction through :func:`flows.store.run_transaction` (retried after a dropped connection,
a deadlock or a locked SQLite database) and touches only the shard's rows, so a shard costs the same whatever the
size of the run. The Prefect tasks in :mod:`flows.generate` and :mod:`flows.score` call these around the model;
they import no Prefect, so a process that only writes to the store starts fast.
"""

from __future__ import annotations

from collections.abc import Sequence

from bon_core.aggregate import AGGREGATORS, aggregate
from flows.store import run_transaction

AGGREGATIONS: tuple[str, ...] = tuple(AGGREGATORS)  # every candidate is stored under each of them


def shard_todo(database_url: str, run_id: int, task_name: str, source_ids: list[str], n: int) -> tuple[list, int]:
    """The problems of one shard that still miss some of their ``n`` samples, and the shard's stored problem count.

    Reads only the shard's rows, so a shard costs the same whatever the size of the run.
    """
    from db import reads

    def read(session):
        have = reads.existing_sample_keys(session, run_id, problem_ids=source_ids)
        problems = reads.load_problems(session, task=task_name, source_ids=source_ids)
        return [p for p in problems if any((p.source_id, i) not in have for i in range(n))], len(problems)

    return run_transaction(database_url, read, what=f"reading a generate shard of run {run_id}")


def store_candidates(database_url: str, run_id: int, problems: list, candidates: list) -> None:
    """Write one shard's problems and candidates (with their steps) in one transaction, retried if it fails for a
    transient reason: a candidate's steps are committed with it or not at all."""
    from db import repository

    def write(session) -> None:
        ids = repository.upsert_problems(session, problems)
        repository.upsert_candidates(session, run_id, ids, candidates)

    run_transaction(database_url, write, what=f"writing {len(candidates)} candidates of run {run_id}")


def shard_to_score(database_url: str, run_id: int, scorer_id: int, source_ids: list[str]) -> tuple[list, list, int]:
    """One shard's problems, its ``(candidate id, candidate)`` pairs with steps that ``scorer_id`` has not scored
    yet, and its number of stored candidates. Reads only the shard's rows (one statement per table)."""
    from db import reads

    def read(session):
        problems = reads.load_problems(session, run_id=run_id, source_ids=source_ids)
        rows = reads.load_candidate_rows(session, run_id, problem_ids=source_ids)
        done = reads.scored_candidate_ids(session, run_id, scorer_id, problem_ids=source_ids)
        return problems, [(cid, c) for cid, c in rows if cid not in done and c.steps], len(rows)

    return run_transaction(database_url, read, what=f"reading a score shard of run {run_id}")


def store_scores(database_url: str, scorer_id: int, todo: list, step_scores: list[Sequence[float]]) -> None:
    """Write the step scores of ``todo``'s candidates and their aggregates under :data:`AGGREGATIONS`, all in one
    transaction (retried if it fails for a transient reason)."""
    from db import repository

    step_rows, candidate_rows = [], []
    for (cid, c), scores in zip(todo, step_scores, strict=True):
        step_rows += [(cid, c.steps[i].index, float(s)) for i, s in enumerate(scores)]
        candidate_rows += [(cid, how, aggregate(scores, how)) for how in AGGREGATIONS]

    def write(session) -> None:
        repository.upsert_step_scores(session, scorer_id, step_rows)
        repository.upsert_candidate_scores(session, scorer_id, candidate_rows)

    run_transaction(database_url, write, what=f"writing scores of {len(todo)} candidates (scorer {scorer_id})")
