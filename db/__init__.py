"""bon's SQL store: SQLAlchemy 2 models, Alembic migrations, and repository functions over sessions.

- :mod:`db.models` — the tables; :mod:`db.migrate` — upgrade/downgrade programmatically;
- :mod:`db.engine` — engines, sessions and the at-head check; :mod:`db.repository` — reads and bulk idempotent
  writes that convert to and from :mod:`bon_core.types`; :mod:`db.queries` — example queries over the views;
- :mod:`db.retry` — a unit of work run again after a dropped connection, a deadlock or a locked SQLite database.
"""

from db.errors import StoreError

__all__ = ["StoreError"]
