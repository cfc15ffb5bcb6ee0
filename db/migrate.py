"""Run bon's Alembic migrations from code: the same history `bon db upgrade` and `alembic upgrade` apply.

The migration scripts ship inside the package (``db/migrations``), so this works when bon is installed, with
no ``alembic.ini`` in sight. The URL always comes from the caller. Where the scripts are and which revision is
the head live in :mod:`db.revisions`, re-exported here.
"""

from __future__ import annotations

from alembic import command
from alembic.util import CommandError
from sqlalchemy import Engine

from db.engine import make_engine, schema_revision, store_errors
from db.errors import StoreError, mask_url
from db.revisions import MIGRATIONS_DIR, alembic_config, head_revision

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "downgrade", "head_revision", "upgrade"]


def current_revision(url: str | Engine) -> str | None:
    """The database's current revision (``None`` for a database without bon's schema)."""
    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        return schema_revision(engine)
    finally:
        if engine is not url:
            engine.dispose()


def _run(url: str, action, revision: str) -> None:
    # Foreign keys off on SQLite: batch mode rebuilds tables, and dropping the old copy must not cascade.
    engine = make_engine(url, foreign_keys=False)
    config = alembic_config()
    try:
        with store_errors(engine.url), engine.begin() as connection:
            config.attributes["connection"] = connection
            action(config, revision)
    except CommandError as exc:
        raise StoreError(f"cannot migrate database at {mask_url(engine.url)} to '{revision}': {exc}") from None
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (default: the head)."""
    _run(url, command.upgrade, revision)


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision`` (``"base"`` removes every bon table and view)."""
    _run(url, command.downgrade, revision)
