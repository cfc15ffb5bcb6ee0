"""Where a plain ``alembic upgrade head`` finds the store without bon's settings: ``-x url=...``, then
``BON_DATABASE_URL``, then ``database_url`` in ``./bon.toml``, then the default under bon's home."""

from __future__ import annotations

from pathlib import Path

import pytest

from db import migrate
from db.config import DEFAULT_DATABASE_URL, configured_database_url
from db.errors import StoreError

ALEMBIC_INI = str(Path(__file__).resolve().parents[1] / "alembic.ini")


def test_precedence_environment_then_file_then_default(clean_cwd, monkeypatch):
    assert configured_database_url() == DEFAULT_DATABASE_URL == "sqlite:///./.bon/bon.db"
    (clean_cwd / "bon.toml").write_text('home = "state"\n')
    assert configured_database_url() == "sqlite:///./state/bon.db"
    monkeypatch.setenv("BON_HOME", "/srv/bon")
    assert configured_database_url() == "sqlite:////srv/bon/bon.db"
    (clean_cwd / "bon.toml").write_text('database_url = "sqlite:///from-file.db"\nmlflow_tracking_uri = "x"\n')
    assert configured_database_url() == "sqlite:///from-file.db"
    monkeypatch.setenv("BON_DATABASE_URL", "sqlite:///from-env.db")
    assert configured_database_url() == "sqlite:///from-env.db"


def test_a_malformed_file_is_one_line(clean_cwd):
    (clean_cwd / "bon.toml").write_text("database_url = \n")
    with pytest.raises(StoreError, match=r"^cannot parse bon.toml: "):
        configured_database_url()


def test_alembic_cli_reads_environment_then_bon_toml(clean_cwd, monkeypatch):
    from alembic.config import main as alembic_main

    from_file, from_env = (f"sqlite:///{(clean_cwd / name).resolve()}" for name in ("file.db", "env.db"))
    (clean_cwd / "bon.toml").write_text(f'database_url = "{from_file}"\n')
    alembic_main(argv=["-c", ALEMBIC_INI, "upgrade", "head"])
    assert migrate.current_revision(from_file) == migrate.head_revision()
    monkeypatch.setenv("BON_DATABASE_URL", from_env)
    alembic_main(argv=["-c", ALEMBIC_INI, "upgrade", "head"])
    assert migrate.current_revision(from_env) == migrate.head_revision()


def test_alembic_cli_defaults_to_the_store_under_dot_bon(clean_cwd):
    from alembic.config import main as alembic_main

    (clean_cwd / ".bon").mkdir()
    alembic_main(argv=["-c", ALEMBIC_INI, "upgrade", "head"])
    assert migrate.current_revision(f"sqlite:///{clean_cwd / '.bon' / 'bon.db'}") == migrate.head_revision()
