"""Store access for flow tasks: one engine per URL per process, and a transaction per unit of work."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

T = TypeVar("T")


def engine_for(database_url: str) -> Engine:
    """An engine for ``database_url`` whose schema is checked to be at head (StoreError naming the fix if not)."""
    from db.engine import absolute_sqlite_url

    return _engine(absolute_sqlite_url(database_url))


@functools.lru_cache(maxsize=8)
def _engine(database_url: str) -> Engine:
    from db.engine import open_store

    return open_store(database_url)


@contextlib.contextmanager
def transaction(database_url: str) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back (nothing written) on error."""
    from db.engine import session_factory

    with session_factory(engine_for(database_url)).begin() as session:
        yield session


def run_transaction(database_url: str, work: Callable[[Session], T], *, what: str) -> T:
    """Run ``work(session)`` in one transaction and return its result; a dropped connection, a deadlock or a locked
    SQLite database rolls the attempt back and runs ``work`` again with backoff (:mod:`db.retry`), and after the
    last attempt a StoreError names ``what`` and the reason. ``work`` must be safe to run twice: bon's reads and
    idempotent upserts are."""
    from db.engine import session_factory
    from db.retry import run_in_transaction

    return run_in_transaction(session_factory(engine_for(database_url)), work, what=what)
