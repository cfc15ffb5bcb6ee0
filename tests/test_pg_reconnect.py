"""The PostgreSQL connection drops mid-run (the server terminates the run's backends): writes retry with backoff and
complete, or fail with one clear line; nothing committed is lost.

Only backends of this test's own freshly created database are terminated (``datname = current_database()`` on a
connection to that database), never another session's.
"""

from __future__ import annotations

import logging
import threading

import psycopg
import pytest
from sqlalchemy import func, select

from bon_core.types import Candidate, Problem, ScorerInfo, Step
from db import repository as repo
from db.engine import make_engine, session_factory
from db.errors import StoreError
from db.models import CandidateRow, StepRow, StepScoreRow
from db.retry import RetryPolicy, run_in_transaction

pytestmark = pytest.mark.postgres
TERMINATE = (
    "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.fixture
def pg_url(pg_database_factory) -> str:
    from db.migrate import upgrade

    url = pg_database_factory()
    upgrade(url)
    return url


def _terminate_others(url: str) -> int:
    """Terminate every other backend of the database at ``url`` (the test's own); return how many."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as admin:
        return admin.execute(TERMINATE).fetchone()[0]


def _problems(n: int) -> list[Problem]:
    return [Problem("arith", f"p{i:03d}", f"q{i}", str(i)) for i in range(n)]


def _candidates(problems: list[Problem]) -> list[Candidate]:
    return [
        Candidate(p.source_id, k, f"{p.source_id}/{k}", steps=(Step(0, "a", 0, 1), Step(1, "b", 1, 2)))
        for p in problems
        for k in range(2)
    ]


def _counts(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        candidates = connection.execute(select(func.count()).select_from(CandidateRow)).scalar_one()
        steps = connection.execute(select(func.count()).select_from(StepRow)).scalar_one()
    return candidates, steps


def test_a_write_whose_connection_is_terminated_mid_transaction_is_retried_and_completes(pg_url):
    engine = make_engine(pg_url)
    factory = session_factory(engine)
    first, second = _problems(10)[:5], _problems(10)[5:]
    with factory.begin() as session:
        run = repo.create_run(session, "r", "arith", "m", {}, 0)
        repo.upsert_candidates(session, run, repo.upsert_problems(session, first), _candidates(first))
    attempts, retried = [], []

    def write(session) -> None:
        attempts.append(1)
        ids = repo.upsert_problems(session, second)
        if len(attempts) == 1:  # the server drops this connection between two statements of the transaction
            assert _terminate_others(pg_url) >= 1
        repo.upsert_candidates(session, run, ids, _candidates(second))

    run_in_transaction(factory, write, policy=RetryPolicy(base_delay_s=0.05), on_retry=lambda k, e: retried.append(k))
    assert (len(attempts), retried) == (2, [1])
    assert _counts(engine) == (20, 40)  # the first commit kept, the retried one whole, nothing twice
    engine.dispose()


def test_a_write_that_keeps_losing_its_connection_fails_with_one_line_and_keeps_earlier_commits(pg_url):
    engine = make_engine(pg_url)
    factory = session_factory(engine)
    first, second = _problems(6)[:3], _problems(6)[3:]
    with factory.begin() as session:
        run = repo.create_run(session, "r", "arith", "m", {}, 0)
        repo.upsert_candidates(session, run, repo.upsert_problems(session, first), _candidates(first))

    def write(session) -> None:
        ids = repo.upsert_problems(session, second)
        _terminate_others(pg_url)
        repo.upsert_candidates(session, run, ids, _candidates(second))

    with pytest.raises(StoreError) as caught:
        run_in_transaction(factory, write, what="writing shard 2", policy=RetryPolicy(attempts=3, base_delay_s=0.01))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("writing shard 2 failed 3 times in ")
    assert "connection" in message  # the driver's reason: "server closed the connection unexpectedly" or similar
    assert message.endswith("nothing of it was committed, earlier commits are kept: re-run to resume")
    assert _counts(engine) == (6, 12)  # shard 1 only
    engine.dispose()


def test_a_bug_in_the_unit_of_work_is_not_retried(pg_url):
    engine = make_engine(pg_url)
    calls = []

    def broken(session) -> None:
        calls.append(1)
        repo.upsert_candidates(session, 12345, {}, [Candidate("nope", 0, "x")])

    with pytest.raises(ValueError, match="unstored problem"):
        run_in_transaction(session_factory(engine), broken)
    assert calls == [1]
    engine.dispose()


def test_flow_shard_writes_complete_while_backends_are_terminated_at_random_points(pg_url, caplog):
    """The flows' shard reads and writes (through flows.store.run_transaction) go on while a second connection
    terminates all of the test database's other backends once per shard, at a random moment of its reads and
    writes (or just after them when the shard was faster): every row lands exactly once."""
    import random

    from flows.shard_store import shard_to_score, shard_todo, store_candidates, store_scores
    from flows.store import run_transaction

    problems = _problems(40)

    def start(session):
        run = repo.get_or_create_run(session, "r", "arith", "m", {}, 0)
        repo.upsert_problems(session, problems)
        return run, repo.upsert_scorer(session, ScorerInfo("prm", "p", "1"))

    run, scorer = run_transaction(pg_url, start, what="start")
    shard_started, stop, terminated = threading.Event(), threading.Event(), []
    dropped = threading.Semaphore(0)  # one release per drop: the next shard starts only after this one's drop
    rng = random.Random(0)

    def terminator() -> None:
        with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as admin:
            while not stop.is_set():
                if shard_started.wait(0.05):
                    shard_started.clear()
                    stop.wait(rng.uniform(0.0, 0.08))
                    terminated.append(admin.execute(TERMINATE).fetchone()[0])
                    dropped.release()

    thread = threading.Thread(target=terminator)
    caplog.set_level(logging.WARNING, logger="db.retry")
    thread.start()
    try:
        for start_index in range(0, 40, 4):
            shard = [p.source_id for p in problems[start_index : start_index + 4]]
            shard_started.set()
            todo, _ = shard_todo(pg_url, run, "arith", shard, 2)
            store_candidates(pg_url, run, todo, _candidates(todo))
            _, to_score, _ = shard_to_score(pg_url, run, scorer, shard)
            store_scores(pg_url, scorer, to_score, [[0.5, 0.25]] * len(to_score))
            assert dropped.acquire(timeout=30), "the terminator did not drop the connections during this shard"
    finally:
        stop.set()
        thread.join()
    retries = [r for r in caplog.records if r.name == "db.retry"]
    print(f"\n{len(terminated)} drops, {sum(terminated)} backends terminated; transactions retried {len(retries)}")
    engine = make_engine(pg_url)
    assert _counts(engine) == (80, 160)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(StepScoreRow)).scalar_one() == 160
    engine.dispose()
    assert len(terminated) == 10  # one drop per shard, at a random moment of it (or just after it, if it was fast)
