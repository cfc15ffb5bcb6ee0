"""Shards spread over a local Dask cluster of 2 worker processes write exactly the rows an in-process run writes:
``generate`` then ``score`` with a tiny GPT-2 policy and a tiny PRM, into two SQLite stores, compared row by row.
"""

from __future__ import annotations

import pytest

pytest.importorskip("prefect_dask", reason="the dask extra is not installed: pip install '.[dask]'")
from prm_tiny import tiny_gpt2_lm
from sqlalchemy import text

FAST_GENERATION = {"temperature": 1.0, "max_new_tokens": 24, "seed": 5}


def _rows(url: str, sql: str) -> list[tuple]:
    from db.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(text(sql)).all()]
    engine.dispose()
    return rows


CANDIDATES = "SELECT p.source_id, c.sample_index, c.text FROM candidates c JOIN problems p ON p.id = c.problem_id"
STEP_SCORES = (
    "SELECT p.source_id, c.sample_index, x.step_index, x.score FROM step_scores x "
    "JOIN candidates c ON c.id = x.candidate_id JOIN problems p ON p.id = c.problem_id"
)
CANDIDATE_SCORES = (
    "SELECT p.source_id, c.sample_index, x.aggregation, x.score FROM candidate_scores x "
    "JOIN candidates c ON c.id = x.candidate_id JOIN problems p ON p.id = c.problem_id"
)


def _generate(url: str, policy: str) -> None:
    from flows.generate import run_generate

    run_generate(database_url=url, run_name="r", task_name="arith", policy=policy, n=3, split="test", limit=4,
                 generation=FAST_GENERATION, shard_size=1)  # fmt: skip


def _score(url: str, prm: str) -> None:
    from flows.score import run_score

    run_score(database_url=url, run_name="r", model_uri=prm, shard_size=1)


@pytest.mark.slow
def test_dask_cluster_of_two_workers_writes_the_rows_of_an_in_process_run(
    prefect_harness, tracking, tmp_path, monkeypatch
):
    from distributed import Client, LocalCluster
    from prefect_dask import DaskTaskRunner

    from bon_core.prm import new_prm
    from db.migrate import upgrade
    from flows.runtime import task_runner

    policy = str(tiny_gpt2_lm(tmp_path / "policy"))
    prm = tmp_path / "prm"
    new_prm(policy).save_pretrained(prm)
    # Absolute paths: the Dask workers are separate processes that open the same SQLite files and models.
    local, dask = (f"sqlite:///{(tmp_path / name).resolve()}" for name in ("local.db", "dask.db"))
    for url in (local, dask):
        upgrade(url)

    monkeypatch.setenv("BON_TASK_RUNNER", "threads")
    _generate(local, policy)
    _score(local, str(prm))

    # generate on a local cluster that the task runner starts (BON_DASK_WORKERS) ...
    monkeypatch.setenv("BON_TASK_RUNNER", "dask")
    monkeypatch.setenv("BON_DASK_WORKERS", "2")
    runner = task_runner()
    assert isinstance(runner, DaskTaskRunner)
    assert runner.cluster_kwargs == {"n_workers": 2, "threads_per_worker": 1, "processes": True}
    _generate(dask, policy)
    # ... and score on an existing cluster by its scheduler address (BON_DASK_ADDRESS), whose workers must
    # have loaded the PRM themselves.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
        monkeypatch.setenv("BON_DASK_ADDRESS", cluster.scheduler_address)
        _score(dask, str(prm))
        loaded = client.run(lambda: __import__("flows.model_cache", fromlist=["_scorer"])._scorer.cache_info().currsize)
    assert len(loaded) == 2 and sum(loaded.values()) >= 1, loaded

    local_candidates, dask_candidates = sorted(_rows(local, CANDIDATES)), sorted(_rows(dask, CANDIDATES))
    assert len(local_candidates) == 4 * 3
    assert dask_candidates == local_candidates
    for sql in (STEP_SCORES, CANDIDATE_SCORES):
        local_scores, dask_scores = sorted(_rows(local, sql)), sorted(_rows(dask, sql))
        assert len(local_scores) > 0
        assert [r[:-1] for r in dask_scores] == [r[:-1] for r in local_scores]
        # Same model, same batches; only the worker's thread count may reorder float sums.
        assert [r[-1] for r in dask_scores] == pytest.approx([r[-1] for r in local_scores], abs=1e-5)
