"""bon's migration history as Alembic sees it: where the scripts are, the head, and a database's revision.

Both :mod:`db.engine` (the at-head check of :func:`db.engine.open_store`) and :mod:`db.migrate` (upgrade and
downgrade) read revisions from here, so neither imports the other. Nothing here opens an engine.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migration scripts (no ini file, no URL)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The revision id of the newest migration."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "db/migrations has no revisions"
    return head


def revision_of(connection: Connection) -> str | None:
    """The revision of the database behind ``connection`` (``None`` for a database without bon's schema)."""
    return MigrationContext.configure(connection).get_current_revision()
