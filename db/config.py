"""Where the store is when no caller says: bon's default location and the one lookup of the configured URL.

:func:`configured_database_url` serves callers that have no settings object, such as a plain ``alembic upgrade
head`` at the repository root (``db/migrations/env.py``). It reads only what locates the store, in bon's order:
``BON_DATABASE_URL``, then ``database_url`` in ``./bon.toml``, then the default SQLite file under bon's home
(``BON_HOME`` or ``home`` in ``bon.toml``; ``./.bon`` by default). ``flows.settings`` loads and validates the full
settings (every key, with its errors) and takes its default URL from :func:`default_database_url`.

Only the standard library is imported here, so importing the settings stays cheap.
"""

from __future__ import annotations

import os
from pathlib import Path

from db.errors import StoreError

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

DEFAULT_CONFIG_FILE = "bon.toml"
DEFAULT_HOME = ".bon"
DATABASE_FILE = "bon.db"


def shown_home(home: str | Path) -> str:
    """``home`` as a POSIX path that is visibly relative when it is relative (``.bon`` -> ``./.bon``), so default
    URLs read ``sqlite:///./.bon/bon.db``."""
    shown = Path(home).as_posix()
    if shown != "." and not Path(shown).is_absolute() and not shown.startswith(("./", "../")):
        shown = f"./{shown}"
    return shown


def default_database_url(home: str | Path = DEFAULT_HOME) -> str:
    """The store bon uses when none is configured: the SQLite file ``bon.db`` in ``home``."""
    return f"sqlite:///{shown_home(home)}/{DATABASE_FILE}"


DEFAULT_DATABASE_URL = default_database_url()  # sqlite:///./.bon/bon.db


def configured_database_url(config_file: str | Path = DEFAULT_CONFIG_FILE) -> str:
    """The store's URL: ``BON_DATABASE_URL``, else ``database_url`` in ``config_file`` (if it exists), else the
    default under ``BON_HOME`` / ``home`` in that file / ``./.bon``. Raises StoreError for a file that is not TOML."""
    path = Path(config_file)
    file_values: dict = {}
    if path.is_file():
        try:
            file_values = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise StoreError(f"cannot parse {path}: {exc}") from None
    url = os.environ.get("BON_DATABASE_URL") or file_values.get("database_url")
    if url:
        return str(url)
    return default_database_url(os.environ.get("BON_HOME") or file_values.get("home") or DEFAULT_HOME)
