"""Migrations: up to head, down to base and up again, on SQLite and PostgreSQL; models and migrations agree."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from db import migrate
from db.engine import check_schema_at_head, make_engine, open_store
from db.errors import StoreError
from db.models import Base
from db.queries import VIEWS

VIEWS_REVISION = "8d4e61b0c2a5"
TABLES = {
    "runs",
    "problems",
    "candidates",
    "steps",
    "scorers",
    "step_scores",
    "candidate_scores",
    "selections",
    "evaluations",
}


def _schema(url: str) -> tuple[set[str], set[str]]:
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        return set(inspector.get_table_names()) - {"alembic_version"}, set(inspector.get_view_names())
    finally:
        engine.dispose()


def _columns(url: str, table: str) -> list[str]:
    engine = make_engine(url)
    try:
        return [c["name"] for c in inspect(engine).get_columns(table)]
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_db_url):
    assert migrate.current_revision(empty_db_url) is None
    migrate.upgrade(empty_db_url)
    assert migrate.current_revision(empty_db_url) == migrate.head_revision()
    assert _schema(empty_db_url) == (TABLES, set(VIEWS))
    assert _columns(empty_db_url, "evaluations")[-2:] == ["method", "ci_method"]
    assert _columns(empty_db_url, "v_best_at_n")[-2:] == ["method", "ci_method"]

    migrate.downgrade(empty_db_url, "-1")  # the evaluation method labels only
    assert migrate.current_revision(empty_db_url) == VIEWS_REVISION
    assert _schema(empty_db_url) == (TABLES, set(VIEWS))
    assert "method" not in _columns(empty_db_url, "evaluations")
    assert _columns(empty_db_url, "v_best_at_n")[-1] == "scorer_tokens"

    migrate.downgrade(empty_db_url, "-1")  # the views revision
    assert _schema(empty_db_url) == (TABLES, set())

    migrate.downgrade(empty_db_url, "base")
    assert migrate.current_revision(empty_db_url) is None
    assert _schema(empty_db_url) == (set(), set())

    migrate.upgrade(empty_db_url)
    assert _schema(empty_db_url) == (TABLES, set(VIEWS))


def test_rows_stored_before_the_method_labels_survive_both_ways(empty_db_url):
    from sqlalchemy import text

    migrate.upgrade(empty_db_url, VIEWS_REVISION)
    engine = make_engine(empty_db_url)
    insert = (
        "INSERT INTO evaluations (run_id, strategy, scorer, aggregation, metric, n, value, ci_low, ci_high) "
        "VALUES (1, 'max', 'prm', 'min', 'accuracy', 4, 0.5, 0.25, 0.75)"
    )
    read = "SELECT run_name, n, value, method, ci_method FROM v_best_at_n"
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO runs (id, name, task, policy, generation_config, seed) "
                                    "VALUES (1, 'old', 'gsm8k', 'tiny', '{}', 0)"))  # fmt: skip
            connection.execute(text(insert))
        migrate.upgrade(empty_db_url)
        with engine.connect() as connection:
            assert connection.execute(text(read)).all() == [("old", 4, 0.5, "", "")]  # '': not recorded
        migrate.downgrade(empty_db_url, VIEWS_REVISION)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT run_name, n, value FROM v_best_at_n")).all() == [("old", 4, 0.5)]
    finally:
        engine.dispose()


def test_models_and_migrations_agree(store_url):
    engine = make_engine(store_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_schema_behind_head_is_one_clear_line(empty_db_url):
    first = "3f1c2a9e7b10"
    migrate.upgrade(empty_db_url, first)
    engine = make_engine(empty_db_url)
    try:
        with pytest.raises(StoreError) as info:
            check_schema_at_head(engine)
    finally:
        engine.dispose()
    message = str(info.value)
    assert "\n" not in message
    assert f"is at revision {first}, code expects head {migrate.head_revision()}: run `bon db upgrade`" in message


def test_open_store_checks_head(empty_db_url):
    assert migrate.current_revision(empty_db_url) is None  # connects, so the SQLite file now exists, empty
    with pytest.raises(StoreError, match=r"revision none \(empty\), code expects head .*: run `bon db upgrade`"):
        open_store(empty_db_url)
    migrate.upgrade(empty_db_url)
    engine = open_store(empty_db_url)
    assert check_schema_at_head(engine) == migrate.head_revision()
    engine.dispose()


def test_alembic_cli_uses_root_ini_and_url_from_x_argument(tmp_path, monkeypatch):
    from pathlib import Path

    from alembic.config import main as alembic_main

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    alembic_main(argv=["-c", "alembic.ini", "-x", f"url={url}", "upgrade", "head"])
    assert migrate.current_revision(url) == migrate.head_revision()
