"""Engines, sessions, and the checks that turn connection and schema problems into one clear line.

Create an engine with :func:`make_engine`, or with :func:`open_store`, which also connects and refuses a
schema that is not at the migration head (read from :mod:`db.revisions`; this module never imports
:mod:`db.migrate`). Sessions come from :func:`session_factory`; the caller owns the transaction
(``with factory.begin() as session: ...``). Database URLs are handled here too: :func:`normalize_url` (the psycopg 3
driver for plain ``postgresql://``), :func:`sqlite_path` and :func:`absolute_sqlite_url`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from db.config import DEFAULT_DATABASE_URL
from db.errors import StoreError, mask_url

URL_EXAMPLES = f"{DEFAULT_DATABASE_URL} or postgresql+psycopg://user@host:5432/dbname"


def normalize_url(url: str) -> str:
    """Return ``url`` with a plain ``postgresql://``/``postgres://`` scheme mapped to the psycopg 3 driver.

    Raises StoreError for text that is not a database URL.
    """
    try:
        parsed = make_url(str(url).strip())
    except ArgumentError as exc:
        raise StoreError(f"invalid database URL '{mask_url(url)}': {exc}; expected e.g. {URL_EXAMPLES}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, or ``None`` for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def absolute_sqlite_url(url: str) -> str:
    """A ``sqlite:///relative/path`` URL made absolute against the current directory (other URLs unchanged).

    Engines and MLflow stores are cached per URL string, so a relative URL would keep pointing at the first
    directory it was opened from.
    """
    path = sqlite_path(url) if url.startswith("sqlite") else None
    if path is None or path.is_absolute():
        return url
    return url.split(":///", 1)[0] + ":///" + str(path.resolve())


SQLITE_BUSY_TIMEOUT_MS = 30_000


def _configure_sqlite(foreign_keys: bool):
    def on_connect(dbapi_connection, _record) -> None:
        # The driver's own transaction handling is off (SQLAlchemy's "begin" hook below issues BEGIN), so the
        # PRAGMAs run outside any transaction, where SQLite honours them.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # SQLite ignores FOREIGN KEY clauses (so ON DELETE CASCADE too) unless each connection turns them on.
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        # Several processes write one store: wait for a lock instead of failing at once ...
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # ... and let readers go on while one of them writes (a no-op for in-memory databases).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return on_connect


def _begin(connection) -> None:
    # Reads and writes of one unit of work share one snapshot (the driver would begin only at the first write).
    # A deferred transaction that read an older snapshot and then writes gets "database is locked" at once when
    # another writer committed meanwhile; db.retry runs such a unit of work again.
    connection.exec_driver_sql("BEGIN")


def make_engine(url: str, *, foreign_keys: bool = True, **kwargs) -> Engine:
    """Create an engine for ``url`` (SQLite or PostgreSQL via psycopg 3); nothing connects yet.

    PostgreSQL connections are checked before use (``pool_pre_ping``), so connections the server dropped are
    replaced. SQLite connections use WAL journaling (readers never wait for the writer) and a busy timeout of
    30 s (a writer waits for another instead of failing), and transactions begin with an explicit BEGIN;
    foreign keys (and so cascading deletes) are enabled unless ``foreign_keys=False`` (migrations turn them off
    so batch table rebuilds cannot cascade).
    """
    normalized = normalize_url(url)
    if make_url(normalized).get_backend_name() == "postgresql":
        kwargs.setdefault("connect_args", {"connect_timeout": 5})
        kwargs.setdefault("pool_pre_ping", True)
    try:
        engine = create_engine(normalized, **kwargs)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise StoreError(f"unsupported database URL '{mask_url(url)}': {exc}; expected e.g. {URL_EXAMPLES}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite(foreign_keys))
        event.listen(engine, "begin", _begin)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; objects stay readable after commit (``expire_on_commit=False``)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def store_errors(url: object) -> Iterator[None]:
    """Turn connection failures inside the block into one StoreError line naming the (masked) URL and the fix."""
    try:
        yield
    except OperationalError as exc:
        raise StoreError(connection_error_message(url, exc)) from None
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreError(connection_error_message(url, exc)) from None
        raise


def connection_error_message(url: object, exc: Exception) -> str:
    """One line saying which database could not be reached, why (first line of the driver's error) and what to do."""
    orig = getattr(exc, "orig", None) or exc
    reason = next((line.strip() for line in str(orig).splitlines() if line.strip()), type(orig).__name__)
    masked = mask_url(url)
    if masked.startswith("sqlite"):
        return (
            f"cannot open SQLite database '{masked}': {reason}; check that its folder exists "
            "(`bon init` creates ./.bon) or set BON_DATABASE_URL"
        )
    return (
        f"cannot connect to database '{masked}': {reason}; check that the server is running and the URL "
        "(BON_DATABASE_URL or database_url in bon.toml) is right"
    )


def schema_revision(engine: Engine) -> str | None:
    """The migration revision of the database behind ``engine`` (``None`` for one without bon's schema)."""
    from db.revisions import revision_of

    with store_errors(engine.url), engine.connect() as connection:
        return revision_of(connection)


def check_schema_at_head(engine: Engine) -> str:
    """Return the database's revision if it is the migration head; otherwise raise StoreError naming the fix."""
    from db.revisions import head_revision

    database = engine.url.database
    if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:") and not Path(database).exists():
        # Checking must not leave an empty file behind (connecting would create one).
        raise StoreError(f"no database at {mask_url(engine.url)}: run `bon init` or `bon db upgrade`")
    current = schema_revision(engine)
    head = head_revision()
    if current != head:
        raise StoreError(
            f"database at {mask_url(engine.url)} is at revision {current or 'none (empty)'}, "
            f"code expects head {head}: run `bon db upgrade`"
        )
    return current


def open_store(url: str, **kwargs) -> Engine:
    """Create an engine, check that the database is reachable and its schema at head, and return the engine."""
    engine = make_engine(url, **kwargs)
    try:
        check_schema_at_head(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
