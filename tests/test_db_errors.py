"""A bad URL, an unreachable server, a missing file or a schema behind head: one clear line, password masked."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from db import migrate
from db.engine import normalize_url, open_store
from db.errors import StoreError


def _one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_bad_url():
    with pytest.raises(StoreError) as info:
        migrate.upgrade("not a url")
    assert _one_line(info).startswith("invalid database URL 'not a url': ")
    assert "expected e.g. sqlite:///./.bon/bon.db" in _one_line(info)


def test_unsupported_driver_masks_password():
    with pytest.raises(StoreError) as info:
        open_store("mysql://bon:secret@db/bon")
    message = _one_line(info)
    assert message.startswith("unsupported database URL 'mysql://bon:***@db/bon'")
    assert "secret" not in message


def test_plain_postgresql_scheme_uses_psycopg3():
    assert normalize_url("postgresql://u:p@h:5/d") == "postgresql+psycopg://u:p@h:5/d"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_unreachable_server():
    with pytest.raises(StoreError) as info:
        open_store("postgresql://postgres:secret@127.0.0.1:1/test")
    message = _one_line(info)
    assert message.startswith("cannot connect to database 'postgresql+psycopg://postgres:***@127.0.0.1:1/test': ")
    assert "Connection refused" in message
    assert message.endswith(
        "check that the server is running and the URL (BON_DATABASE_URL or database_url in bon.toml) is right"
    )
    assert "secret" not in message


def test_missing_postgres_database(pg_database_factory):
    with pytest.raises(StoreError) as info:
        migrate.current_revision("postgresql+psycopg://postgres@127.0.0.1:5432/bon_no_such_database")
    assert 'database "bon_no_such_database" does not exist' in _one_line(info)


def test_sqlite_in_missing_folder(tmp_path):
    url = f"sqlite:///{tmp_path / 'missing' / 'bon.db'}"
    with pytest.raises(StoreError) as info:
        migrate.upgrade(url)
    assert _one_line(info).startswith(f"cannot open SQLite database '{url}': unable to open database file")


def test_open_store_on_missing_sqlite_file_creates_nothing(tmp_path):
    path = tmp_path / "bon.db"
    with pytest.raises(StoreError) as info:
        open_store(f"sqlite:///{path}")
    assert _one_line(info) == f"no database at sqlite:///{path}: run `bon init` or `bon db upgrade`"
    assert not path.exists()


def test_cli_reports_unreachable_server_as_one_line(clean_cwd, monkeypatch):
    from flows.cli.app import BonError, app

    monkeypatch.setenv("BON_DATABASE_URL", "postgresql+psycopg://postgres:secret@127.0.0.1:1/test")
    result = CliRunner().invoke(app, ["db", "status"])
    assert result.exit_code != 0
    assert isinstance(result.exception, BonError)
    message = str(result.exception)
    assert message.startswith("cannot connect to database 'postgresql+psycopg://postgres:***@127.0.0.1:1/test'")
    assert "\n" not in message
