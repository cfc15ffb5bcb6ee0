"""No store password leaks: with a password planted in ``BON_DATABASE_URL`` (the real PostgreSQL at 127.0.0.1:5432
accepts any password under trust auth), no CLI output, no MLflow param and no byte of bon's local state (the MLflow
store, Prefect's database with the flow runs' parameters, artifacts) contains it; the "query it" hint suggests
``psql`` for PostgreSQL and ``sqlite3`` for SQLite, without a password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prm_tiny import tiny_gpt2_lm

SECRET = "Pl4nted-S3cret"
BON = str(Path(sys.executable).with_name("bon"))


def test_query_hint_names_the_right_client_and_no_password():
    from flows.settings import query_hint

    assert query_hint("postgresql+psycopg://bon:" + SECRET + "@db:5432/bon") == 'psql "postgresql://bon@db:5432/bon"'
    assert query_hint("sqlite:///./.bon/bon.db") == "sqlite3 .bon/bon.db"
    assert query_hint("sqlite://") is None


def test_demo_summary_masks_the_store_and_tracking_passwords():
    from flows.cli.app import console
    from flows.cli.demo_cmd import _where
    from flows.settings import Settings

    settings = Settings(
        database_url=f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:5432/bon",
        mlflow_tracking_uri=f"postgresql://mlflow:{SECRET}@127.0.0.1:5432/mlflow",
    )
    with console.capture() as captured:
        _where(settings, [])
    text = captured.get()
    assert SECRET not in text
    assert 'query it: psql "postgresql://postgres@127.0.0.1:5432/bon"' in text and "sqlite3" not in text
    assert "postgresql://mlflow:***@127.0.0.1:5432/mlflow" in text


def _password_moves_to_environment():
    from flows.runtime import password_to_environment
    from flows.settings import Settings

    settings = Settings(database_url=f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:5432/test")
    password_to_environment(settings)
    return settings.database_url


def test_the_password_leaves_the_url_for_pgpassword(monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    assert _password_moves_to_environment() == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert os.environ["PGPASSWORD"] == SECRET


@pytest.mark.postgres
def test_no_command_prints_or_stores_the_password(pg_database_factory, tmp_path):
    from sqlalchemy.engine import make_url

    url = make_url(pg_database_factory()).set(password=SECRET).render_as_string(hide_password=False)
    policy = tiny_gpt2_lm(tmp_path / "policy")
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BON_", "MLFLOW_", "PREFECT_", "PG"))}
    env.update(BON_DATABASE_URL=url, BON_HOME=str(work / ".bon"), COLUMNS="200")

    def bon(*args: str) -> str:
        result = subprocess.run([BON, *args], cwd=work, env=env, capture_output=True, text=True, timeout=1500)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    outputs = {
        "init": bon("init"),
        "db status": bon("db", "status"),
        "generate": bon(
            "generate",
            "--task",
            "arith",
            "--policy",
            str(policy),
            "-n",
            "2",
            "--limit",
            "2",
            "--max-new-tokens",
            "12",
            "--run",
            "secret-run",
            "--shard-size",
            "1",
        ),  # fmt: skip
        "runs list": bon("runs", "list"),
        "runs show": bon("runs", "show", "secret-run"),
    }
    assert "postgres:***@127.0.0.1" in outputs["init"] and "4 candidates stored" in outputs["generate"]
    assert {name: SECRET in text for name, text in outputs.items()} == dict.fromkeys(outputs, False)
    # every file bon wrote: the MLflow store (params, tags), Prefect's database (flow-run parameters), artifacts
    files = [p for p in (work / ".bon").rglob("*") if p.is_file()]
    assert any(p.name == "mlflow.db" for p in files) and any(p.suffix == ".db" and "prefect" in str(p) for p in files)
    assert [str(p) for p in files if SECRET.encode() in p.read_bytes()] == []
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{work / '.bon' / 'mlflow.db'}")
    try:
        (run,) = mlflow.search_runs(experiment_names=["bon"], output_format="list")
        assert run.data.params["run"] == "secret-run" and not any(SECRET in v for v in run.data.params.values())
    finally:
        mlflow.set_tracking_uri(None)
