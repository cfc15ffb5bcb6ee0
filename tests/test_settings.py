"""Settings: defaults under ./.bon, BON_* and standard env vars, bon.toml, --config, and ensure_home."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.engine import absolute_sqlite_url, sqlite_path
from flows.settings import ensure_home, load_settings


def test_defaults_live_under_dot_bon(clean_cwd):
    s = load_settings()
    assert s.home == Path(".bon")
    assert s.database_url == "sqlite:///./.bon/bon.db"
    assert s.mlflow_tracking_uri == "sqlite:///./.bon/mlflow.db"
    assert s.mlflow_artifact_root == "./.bon/mlartifacts"
    assert s.prefect_home == Path(".bon/prefect")
    assert s.prefect_api_url is None
    assert s.registry_name == "bon-prm"


def test_environment_variables(clean_cwd, monkeypatch):
    monkeypatch.setenv("BON_HOME", "/srv/bon")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect:4200/api")
    monkeypatch.setenv("BON_REGISTRY_NAME", "my-prm")
    s = load_settings()
    assert s.database_url == "sqlite:////srv/bon/bon.db"  # derived from home
    assert s.mlflow_tracking_uri == "http://mlflow:5000"
    assert s.mlflow_artifact_root is None  # a tracking server decides where artifacts go
    assert s.prefect_home == Path("/srv/bon/prefect")
    assert s.prefect_api_url == "http://prefect:4200/api"
    assert s.registry_name == "my-prm"


def test_bon_toml_in_cwd_below_env_below_arguments(clean_cwd, monkeypatch):
    (clean_cwd / "bon.toml").write_text('database_url = "sqlite:///toml.db"\nregistry_name = "from-toml"\n')
    assert load_settings().database_url == "sqlite:///toml.db"
    monkeypatch.setenv("BON_DATABASE_URL", "sqlite:///env.db")
    s = load_settings()
    assert (s.database_url, s.registry_name) == ("sqlite:///env.db", "from-toml")
    assert load_settings(database_url="sqlite:///arg.db").database_url == "sqlite:///arg.db"


def test_config_path_replaces_bon_toml(clean_cwd):
    (clean_cwd / "bon.toml").write_text('registry_name = "cwd"\n')
    (clean_cwd / "other.toml").write_text('registry_name = "other"\nmlflow_tracking_uri = "http://m"\n')
    s = load_settings(clean_cwd / "other.toml")
    assert (s.registry_name, s.mlflow_tracking_uri) == ("other", "http://m")
    with pytest.raises(ValueError, match="config file 'missing.toml' does not exist"):
        load_settings("missing.toml")


def test_bad_config_is_a_clear_value_error(clean_cwd):
    (clean_cwd / "bon.toml").write_text("database_url = \n")
    with pytest.raises(ValueError, match="cannot parse bon.toml"):
        load_settings()
    (clean_cwd / "bon.toml").write_text("registry_name = 3\n")
    with pytest.raises(ValueError, match="invalid bon settings in bon.toml: registry_name: "):
        load_settings()


def test_unknown_keys_in_a_config_file_are_refused_by_name(clean_cwd, monkeypatch):
    (clean_cwd / "bon.toml").write_text('databse_url = "sqlite:///x.db"\n')  # a typo must not fall back silently
    with pytest.raises(ValueError, match=r"in bon.toml: unknown setting 'databse_url' \(known: home, database_url"):
        load_settings()
    other = clean_cwd / "other.toml"
    other.write_text("[tool]\nx = 1\n")
    with pytest.raises(ValueError, match=r"invalid bon settings in .*other.toml: unknown setting 'tool'"):
        load_settings(other)
    (clean_cwd / "bon.toml").unlink()
    monkeypatch.setenv("BON_WORK_POOL", "cpu")  # other programs' BON_* variables (the worker's) are not settings
    assert load_settings().home == Path(".bon")


def test_ensure_home_writes_only_in_cwd(clean_cwd):
    home = ensure_home(load_settings())
    assert home == Path(".bon")
    assert sorted(p.relative_to(clean_cwd).as_posix() for p in clean_cwd.rglob("*")) == [".bon", ".bon/mlartifacts"]


def test_sqlite_path():
    assert sqlite_path("sqlite:///./.bon/bon.db") == Path(".bon/bon.db")
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("postgresql+psycopg://u@h/d") is None


def test_absolute_sqlite_url(clean_cwd):
    assert absolute_sqlite_url("sqlite:///./.bon/bon.db") == f"sqlite:///{clean_cwd.resolve() / '.bon' / 'bon.db'}"
    assert absolute_sqlite_url("sqlite:////srv/bon.db") == "sqlite:////srv/bon.db"
    assert absolute_sqlite_url("sqlite://") == "sqlite://"
    assert absolute_sqlite_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"


def test_default_database_url_is_db_s(clean_cwd, monkeypatch):
    from db.config import DEFAULT_DATABASE_URL, configured_database_url

    assert load_settings().database_url == DEFAULT_DATABASE_URL == configured_database_url()
    monkeypatch.setenv("BON_HOME", "/srv/bon")
    assert load_settings().database_url == configured_database_url() == "sqlite:////srv/bon/bon.db"
