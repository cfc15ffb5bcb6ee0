"""4 processes generating and scoring into the same run, on disjoint and overlapping shards, on SQLite and on
PostgreSQL: no row lost or duplicated, no unhandled deadlock or "database is locked". Bounded: < 60 s.

Each process is this file run as a script: it creates (or joins) the run and its problems the way the generate flow
does, then writes every shard through the flows' own store functions (``shard_todo``/``store_candidates`` and
``shard_to_score``/``store_scores`` of :mod:`flows.shard_store`) with deterministic texts and scores in place of
the models. Worker ``k`` takes its own shards and those of worker ``k+1``, so every shard is written by two
processes, often at the same moment.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKERS, PROBLEMS, SAMPLES, STEPS, SHARD = 4, 64, 4, 3, 4
AGGREGATIONS = 5  # flows.shard_store.AGGREGATIONS


def _score(source_id: str, sample: int, step: int) -> float:
    return ((int(source_id[1:]) * 31 + sample * 7 + step) % 97) / 97


def _shards() -> list[list[str]]:
    ids = [f"p{i:03d}" for i in range(PROBLEMS)]
    return [ids[i : i + SHARD] for i in range(0, PROBLEMS, SHARD)]


def worker(url: str, k: int) -> dict:
    """Write worker ``k``'s shards (its own and worker k+1's, interleaved); return what it did."""
    from bon_core.types import Candidate, Problem, ScorerInfo, Step
    from db import repository
    from flows.shard_store import shard_to_score, shard_todo, store_candidates, store_scores
    from flows.store import run_transaction

    retries = []
    handler = logging.Handler()
    handler.emit = retries.append
    logging.getLogger("db.retry").addHandler(handler)
    problems = [Problem("arith", f"p{i:03d}", f"q{i}", str(i)) for i in range(PROBLEMS)]

    def start(session):  # what generate_flow and score_flow do before mapping shards
        run = repository.get_or_create_run(session, "stress", "arith", "policy", {"n": SAMPLES}, 0)
        repository.upsert_problems(session, problems)
        return run, repository.upsert_scorer(session, ScorerInfo("prm", "stress", "1"))

    run, scorer = run_transaction(url, start, what="starting the run")
    shards = _shards()
    mine = [shards[i] for i in range(len(shards)) if i % WORKERS == k]
    theirs = [shards[i] for i in range(len(shards)) if i % WORKERS == (k + 1) % WORKERS]
    written = scored = 0
    # Even workers start with the next worker's shard while that worker starts with it too: real collisions.
    pairs = zip(theirs, mine, strict=True) if k % 2 == 0 else zip(mine, theirs, strict=True)
    for shard in [s for pair in pairs for s in pair]:
        todo, _ = shard_todo(url, run, "arith", shard, SAMPLES)
        candidates = [
            Candidate(
                p.source_id, i, f"{p.source_id}/{i}", steps=tuple(Step(s, f"s{s}", s, s + 1) for s in range(STEPS))
            )
            for p in todo
            for i in range(SAMPLES)
        ]
        store_candidates(url, run, todo, candidates)
        _, to_score, _ = shard_to_score(url, run, scorer, shard)
        store_scores(
            url,
            scorer,
            to_score,
            [[_score(c.problem_id, c.sample_index, s) for s in range(STEPS)] for _, c in to_score],
        )
        written, scored = written + len(candidates), scored + len(to_score)
    return {"worker": k, "candidates_written": written, "candidates_scored": scored, "retries": len(retries)}


def _check(url: str) -> dict:
    from sqlalchemy import text

    from db.engine import make_engine

    engine = make_engine(url)
    duplicates = {
        "candidates": "SELECT run_id, problem_id, sample_index FROM candidates GROUP BY 1, 2, 3 HAVING COUNT(*) > 1",
        "steps": "SELECT candidate_id, step_index FROM steps GROUP BY 1, 2 HAVING COUNT(*) > 1",
        "step_scores": "SELECT candidate_id, step_index, scorer_id FROM step_scores GROUP BY 1, 2, 3 "
        "HAVING COUNT(*) > 1",
        "problems": "SELECT task, source_id FROM problems GROUP BY 1, 2 HAVING COUNT(*) > 1",
    }
    with engine.connect() as connection:
        counts = {
            table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            for table in ("runs", "problems", "scorers", "candidates", "steps", "step_scores", "candidate_scores")
        }
        dup = sum(len(connection.execute(text(sql)).all()) for sql in duplicates.values())
        texts = connection.execute(
            text("SELECT p.source_id, c.sample_index, c.text FROM candidates c JOIN problems p ON p.id = c.problem_id")
        ).all()
        scores = connection.execute(
            text(
                "SELECT p.source_id, c.sample_index, s.step_index, s.score FROM step_scores s "
                "JOIN candidates c ON c.id = s.candidate_id JOIN problems p ON p.id = c.problem_id"
            )
        ).all()
    engine.dispose()
    wrong_texts = sum(t != f"{s}/{i}" for s, i, t in texts)
    wrong_scores = sum(abs(v - _score(s, i, k)) > 1e-9 for s, i, k, v in scores)
    return {"counts": counts, "duplicates": dup, "wrong_texts": wrong_texts, "wrong_scores": wrong_scores}


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_four_writers_lose_and_duplicate_nothing(dialect, tmp_path, request):
    from db.migrate import upgrade

    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'stress.db'}"
    else:
        url = request.getfixturevalue("pg_database_factory")()
    upgrade(url)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, url, str(k)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(WORKERS)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    seconds = time.perf_counter() - started
    errors = [err[-800:] for p, (_, err) in zip(processes, outputs, strict=True) if p.returncode != 0]
    reports = [
        json.loads(out.strip().splitlines()[-1])
        for p, (out, _) in zip(processes, outputs, strict=True)
        if p.returncode == 0
    ]
    found = _check(url)
    expected = {
        "runs": 1, "problems": PROBLEMS, "scorers": 1, "candidates": PROBLEMS * SAMPLES,
        "steps": PROBLEMS * SAMPLES * STEPS, "step_scores": PROBLEMS * SAMPLES * STEPS,
        "candidate_scores": PROBLEMS * SAMPLES * AGGREGATIONS,
    }  # fmt: skip
    print(
        f"\n{dialect}: {WORKERS} processes, {len(_shards())} shards each written twice, {seconds:.1f} s; "
        f"rows expected {sum(expected.values())}, found {sum(found['counts'].values())}; "
        f"duplicates {found['duplicates']}; wrong texts {found['wrong_texts']}, wrong scores {found['wrong_scores']}; "
        f"errors {len(errors)}; transient failures retried {sum(r['retries'] for r in reports)}; "
        f"candidates written {sum(r['candidates_written'] for r in reports)} (>= {PROBLEMS * SAMPLES} because of "
        f"overlapping shards)"
    )
    assert errors == []
    assert found == {"counts": expected, "duplicates": 0, "wrong_texts": 0, "wrong_scores": 0}
    assert sum(r["candidates_written"] for r in reports) >= PROBLEMS * SAMPLES


if __name__ == "__main__":
    print(json.dumps(worker(sys.argv[1], int(sys.argv[2]))))
