"""``bon select``'s work, ``flows.select_evaluate.select_stored_run``, on a real SQLite store: one strategy over a
stored run's pools, the selections stored and linked to the scorer only when the strategy reads one."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bon_core.types import Candidate, Problem, ScorerInfo

PROBLEMS = [Problem("arith", "a1", "2+3", "5"), Problem("arith", "a2", "9-4", "5")]
# source id -> [(answer, min score)]: the scorer prefers the wrong answer on a1, the right one on a2
POOLS = {"a1": [("5", 0.2), ("6", 0.9), ("5", 0.3)], "a2": [("4", 0.1), ("5", 0.8), ("4", 0.2)]}


@pytest.fixture
def store(tmp_path):
    from db import reads
    from db import repository as repo
    from db.engine import make_engine, session_factory
    from db.migrate import upgrade

    url = f"sqlite:///{tmp_path}/store.db"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        scorer_id = repo.upsert_scorer(session, ScorerInfo("prm", "sel-prm", "1"))
        run_id = repo.create_run(session, "sel-run", "arith", "policy", {}, 0)
        ids = repo.upsert_problems(session, PROBLEMS)
        candidates = [
            Candidate(pid, i, f"{pid}-{i}", num_tokens=5, answer=a, correct=a == "5")
            for pid, rows in POOLS.items()
            for i, (a, _) in enumerate(rows)
        ]
        repo.upsert_candidates(session, run_id, ids, candidates)
        cids = reads.candidate_ids(session, run_id)
        rows = [(cids[(pid, i)], "min", s) for pid, rows in POOLS.items() for i, (_, s) in enumerate(rows)]
        repo.upsert_candidate_scores(session, scorer_id, rows)
    yield url, engine, scorer_id
    engine.dispose()


def _stored(engine, strategy):
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT p.source_id, s.sample_index, s.scorer_id FROM selections s "
                "JOIN problems p ON p.id = s.problem_id WHERE s.strategy = :strategy ORDER BY 1"
            ),
            {"strategy": strategy},
        ).all()


def test_select_stored_run_stores_selections_with_the_scorer_only_when_read(store):
    from flows.select_evaluate import select_stored_run

    url, engine, scorer_id = store
    best = select_stored_run(url, "sel-run", "max", {}, "sel-prm", "min")
    assert best.uses_scorer and best.accuracy == 0.5
    assert [tuple(r) for r in _stored(engine, "max")] == [("a1", 1, scorer_id), ("a2", 1, scorer_id)]

    majority = select_stored_run(url, "sel-run", "majority", {}, "sel-prm", "min", n=2)
    assert not majority.uses_scorer and [s.n for s in majority.selections] == [2, 2]
    assert [tuple(r) for r in _stored(engine, "majority")] == [("a1", 0, None), ("a2", 0, None)]


def test_select_stored_run_fails_before_writing_anything(store):
    from flows.select_evaluate import select_stored_run

    url, engine, _ = store
    with pytest.raises(ValueError, match="strategy 'max' needs scores"):
        select_stored_run(url, "sel-run", "max", {})
    with pytest.raises(ValueError, match="unknown run 'no-such-run'; known: sel-run"):
        select_stored_run(url, "no-such-run", "majority", {})
    assert _stored(engine, "max") == []
