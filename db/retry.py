"""Retrying a unit of work whose transaction failed for a transient reason: a dropped connection, a deadlock, a
serialization failure or a locked SQLite database.

The unit of work is a function of a Session run in one transaction, so a failed attempt is rolled back whole and
the next attempt starts from a clean slate; bon's writes are idempotent upserts and its reads have no side
effects, so running one twice changes nothing. Anything else (a constraint violation, a bug) is raised at once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from db.errors import StoreError

T = TypeVar("T")
log = logging.getLogger(__name__)

# PostgreSQL SQLSTATEs worth another attempt: serialization failure, deadlock, admin shutdown/termination,
# crash shutdown, cannot connect now, and the connection-exception class (08xxx).
_RETRY_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03"}
_SQLITE_BUSY = ("database is locked", "database table is locked", "database schema has changed")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: ``attempts`` in all, sleeping ``base_delay_s * 2**k`` (capped at
    ``max_delay_s``, with up to 50% random jitter so that colliding writers spread out) between them."""

    attempts: int = 6
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return min(self.max_delay_s, self.base_delay_s * 2**attempt) * (1.0 + 0.5 * rng.random())


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure that another attempt of the same transaction can get past."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _RETRY_SQLSTATES or sqlstate.startswith("08")
    if isinstance(exc, OperationalError):
        message = str(orig).lower()
        # SQLite: a lock held past busy_timeout; psycopg: a connection that died without a SQLSTATE.
        return any(text in message for text in _SQLITE_BUSY) or "connection" in message or "closed" in message
    return False


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return next((line.strip() for line in str(orig).splitlines() if line.strip()), type(orig).__name__)


def run_in_transaction(
    factory: sessionmaker[Session],
    work: Callable[[Session], T],
    *,
    what: str = "store transaction",
    policy: RetryPolicy = RetryPolicy(),
    on_retry: Callable[[int, BaseException], None] | None = None,
) -> T:
    """Run ``work(session)`` in one transaction of ``factory`` and return its result, retrying transient failures.

    Each attempt commits all of ``work`` or nothing. After ``policy.attempts`` transient failures, raises
    StoreError naming ``what``, the attempts and the last reason; a non-transient error is raised unchanged.
    ``on_retry(attempt, exc)`` is called before each new attempt (for counting and logging).
    """
    rng = random.Random()
    started = time.monotonic()
    for attempt in range(policy.attempts):
        try:
            with factory.begin() as session:
                return work(session)
        except DBAPIError as exc:
            if not is_transient(exc):
                raise
            if attempt + 1 == policy.attempts:
                raise StoreError(
                    f"{what} failed {policy.attempts} times in {time.monotonic() - started:.1f} s "
                    f"({_reason(exc)}); nothing of it was committed, earlier commits are kept: re-run to resume"
                ) from None
            log.warning("%s: attempt %d failed (%s); retrying", what, attempt + 1, _reason(exc))
            if on_retry is not None:
                on_retry(attempt + 1, exc)
            time.sleep(policy.delay(attempt, rng))
    raise AssertionError("unreachable")  # the loop returns or raises
