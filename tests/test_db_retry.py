"""SQLite engines are set up for several writers (WAL, busy timeout, explicit BEGIN), and db.retry runs a unit of
work again after a transient failure (a real "database is locked") but never after a bug."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from bon_core.types import Problem
from db import repository as repo
from db.engine import make_engine, session_factory
from db.errors import StoreError
from db.migrate import upgrade
from db.retry import RetryPolicy, is_transient, run_in_transaction


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'bon.db'}"
    upgrade(url)
    return url


def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        settings = [connection.exec_driver_sql(f"PRAGMA {name}").scalar_one() for name in ("journal_mode",
                    "busy_timeout", "foreign_keys")]  # fmt: skip
    engine.dispose()
    assert settings == ["wal", 30000, 1]
    migrations = make_engine(sqlite_url, foreign_keys=False)
    with migrations.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 0
    migrations.dispose()


def _hold_write_lock(path: str, seconds: float, locked: threading.Event) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("INSERT INTO problems (task, source_id, question, reference, metadata) "
                       "VALUES ('arith', 'held', 'q', '1', '{}')")  # fmt: skip
    locked.set()
    time.sleep(seconds)
    connection.execute("COMMIT")
    connection.close()


def test_a_locked_database_is_retried_until_the_other_writer_commits(sqlite_url, tmp_path):
    # A busy timeout of 50 ms (instead of 30 s) makes the writer fail with "database is locked" while the other
    # connection holds the write lock for 0.6 s; the retries wait it out and the write lands once.
    engine = make_engine(sqlite_url)
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout=50"))  # after bon's 30 s
    locked, failures = threading.Event(), []
    holder = threading.Thread(target=_hold_write_lock, args=(str(tmp_path / "bon.db"), 0.6, locked))
    holder.start()
    locked.wait(5)
    run_in_transaction(
        session_factory(engine),
        lambda session: repo.upsert_problems(session, [Problem("arith", "mine", "q", "2")]),
        policy=RetryPolicy(attempts=8, base_delay_s=0.1, max_delay_s=0.4),
        on_retry=lambda attempt, exc: failures.append(str(exc.orig)),
    )
    holder.join()
    assert failures and set(failures) == {"database is locked"}
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT source_id FROM problems ORDER BY source_id")).scalars().all()
    engine.dispose()
    assert rows == ["held", "mine"]


def test_retries_give_up_with_one_line_naming_the_work(sqlite_url, tmp_path):
    engine = make_engine(sqlite_url)
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout=10"))
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(str(tmp_path / "bon.db"), 1.5, locked))
    holder.start()
    locked.wait(5)
    with pytest.raises(StoreError) as caught:
        run_in_transaction(
            session_factory(engine),
            lambda session: repo.upsert_problems(session, [Problem("arith", "mine", "q", "2")]),
            what="writing shard 3",
            policy=RetryPolicy(attempts=2, base_delay_s=0.01),
        )
    holder.join()
    assert str(caught.value).startswith("writing shard 3 failed 2 times in ")
    assert "(database is locked); nothing of it was committed, earlier commits are kept: re-run to resume" in str(
        caught.value
    )
    with engine.connect() as connection:
        assert connection.execute(text("SELECT source_id FROM problems")).scalars().all() == ["held"]
    engine.dispose()


def test_only_transient_failures_are_retried(sqlite_url):
    engine = make_engine(sqlite_url)
    calls = []

    def bug(session):
        calls.append(1)
        session.execute(text("SELECT no_such_column FROM problems"))

    with pytest.raises(OperationalError, match="no such column") as caught:
        run_in_transaction(session_factory(engine), bug)
    engine.dispose()
    assert calls == [1]
    assert not is_transient(caught.value)
    assert not is_transient(ValueError("database is locked"))
