"""Shared fixtures: databases for the store tests (SQLite and PostgreSQL), a clean working directory, one Prefect
test server for the session and a temporary MLflow tracking store per module.

Store tests are parametrised over both dialects. PostgreSQL tests use fresh databases ``bon_test_<random>``
created on the server at ``BON_TEST_POSTGRES_URL`` (default: the local server's ``test`` database) and dropped at
the end of the session; they are skipped, with the reason, only when that server cannot be reached.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("BON_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DIALECTS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
_ENV_VARS = ("BON_", "MLFLOW_TRACKING_URI", "MLFLOW_ARTIFACT", "PREFECT_API_URL", "PREFECT_HOME")


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_database_factory() -> Iterator[Callable[[], str]]:
    """Return a function that creates a fresh, empty PostgreSQL database and returns its URL (dropped at exit)."""
    import psycopg

    try:
        admin = psycopg.connect(_libpq(PG_ADMIN_URL), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0]
        pytest.skip(f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({reason}); start it to run the postgres tests")
    created: list[str] = []

    def create() -> str:
        name = f"bon_test_{uuid.uuid4().hex[:12]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _with_database(PG_ADMIN_URL, name)

    yield create
    for name in created:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(params=DIALECTS)
def empty_db_url(request, tmp_path) -> str:
    """URL of a fresh, empty database (no tables), per test, for each dialect."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("pg_database_factory")()


@pytest.fixture(scope="session", params=DIALECTS)
def store_url(request, tmp_path_factory) -> str:
    """URL of a database migrated to head, shared by the session (tests get it emptied via ``engine``)."""
    from db.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'bon.db'}"
    else:
        url = request.getfixturevalue("pg_database_factory")()
    upgrade(url)
    return url


@pytest.fixture
def engine(store_url):
    """An engine on the at-head store, with every table emptied before the test."""
    from sqlalchemy import text

    from db.engine import make_engine
    from db.models import Base

    engine = make_engine(store_url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f"DELETE FROM {name}"))
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    """A session on the emptied store; the test commits what it wants to keep, the rest is rolled back."""
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()


@pytest.fixture
def clean_cwd(tmp_path, monkeypatch):
    """Run in an empty working directory with no bon/MLflow/Prefect settings from the environment."""
    for name in list(os.environ):
        if name.startswith(_ENV_VARS):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def migrated_home(clean_cwd):
    """A migrated store under ./.bon in a clean working directory, for CLI commands; the environment and MLflow's
    tracking URI (which the commands set) are restored after."""
    import mlflow

    from db.migrate import upgrade

    saved = dict(os.environ)
    home = clean_cwd / ".bon"
    home.mkdir()
    upgrade(f"sqlite:///{home / 'bon.db'}")
    yield home
    os.environ.clear()
    os.environ.update(saved)
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server, on a temporary database, for every test that runs flows: started when the first
    test asks for it (the server takes a while on a busy 2-core machine) and stopped at the end of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="module")
def tracking(tmp_path_factory) -> Iterator[Path]:
    """A real MLflow tracking store (SQLite) with its artifacts in a temporary folder, one per test module; the
    tracking URI is reset after."""
    import mlflow

    from flows.runtime import configure_mlflow
    from flows.settings import Settings

    home = tmp_path_factory.mktemp("mlflow-home")
    configure_mlflow(Settings(home=home, mlflow_tracking_uri=f"sqlite:///{home}/mlflow.db"), experiment="bon-tests")
    yield home
    mlflow.set_tracking_uri(None)
