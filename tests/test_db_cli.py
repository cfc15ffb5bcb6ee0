"""`bon init`, `bon db status|upgrade|downgrade` through the Typer app, in an empty working directory."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from db import migrate
from flows.cli.app import BonError, app

HEAD = migrate.head_revision()
PREVIOUS = "8d4e61b0c2a5"  # the revision before head


def _run(*args: str):
    result = CliRunner().invoke(app, list(args))
    return result


@pytest.fixture
def store_env(clean_cwd, empty_db_url, monkeypatch):
    """Default SQLite store under ./.bon for the sqlite case; BON_DATABASE_URL for the postgres case."""
    if empty_db_url.startswith("postgresql"):
        monkeypatch.setenv("BON_DATABASE_URL", empty_db_url)
    return clean_cwd


def test_init_status_downgrade_upgrade(store_env):
    result = _run("init")
    assert result.exit_code == 0, result.output
    assert (store_env / ".bon").is_dir()
    assert f"(revision {HEAD})" in result.output
    assert "MLflow tracking:  sqlite:///./.bon/mlflow.db" in result.output

    status = _run("db", "status")
    assert status.exit_code == 0, status.output
    assert f"revision: {HEAD} (head {HEAD}) at head" in status.output
    for table in ("runs", "problems", "candidates", "steps", "step_scores", "selections", "evaluations"):
        assert re.search(rf"│ {table}\s+│ 0\s+│", status.output), status.output

    down = _run("db", "downgrade", "-1")
    assert down.exit_code == 0, down.output
    assert f"is at revision {PREVIOUS}" in down.output
    behind = _run("db", "status")
    assert f"revision: {PREVIOUS} (head {HEAD}) behind head: run `bon db upgrade`" in behind.output

    up = _run("db", "upgrade")
    assert up.exit_code == 0 and f"is at revision {HEAD}" in up.output


def test_status_counts_rows(clean_cwd):
    assert _run("init").exit_code == 0
    from sqlalchemy.orm import Session

    from db import repository as repo
    from db.engine import make_engine

    engine = make_engine("sqlite:///./.bon/bon.db")
    with Session(engine) as session, session.begin():
        repo.create_run(session, "r1", "toy", "m", {}, 0)
    engine.dispose()
    status = _run("db", "status")
    assert re.search(r"│ runs\s+│ 1\s+│", status.output), status.output


def test_status_without_store_says_run_init(clean_cwd):
    result = _run("db", "status")
    assert isinstance(result.exception, BonError)
    assert str(result.exception) == "no store at sqlite:///./.bon/bon.db: run `bon init` (or set BON_DATABASE_URL)"
    assert not (clean_cwd / ".bon").exists()


def test_config_file_option(clean_cwd):
    (clean_cwd / "other.toml").write_text('database_url = "sqlite:///./elsewhere.db"\n')
    result = _run("init", "--config", "other.toml")
    assert result.exit_code == 0, result.output
    assert (clean_cwd / "elsewhere.db").is_file()
    missing = _run("db", "status", "--config", "nope.toml")
    assert str(missing.exception) == "config file 'nope.toml' does not exist"
