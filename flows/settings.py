"""bon's settings: where the store, MLflow and Prefect keep their state.

Sources, strongest first: arguments to :func:`load_settings`, environment variables (``BON_*``, plus the standard
``MLFLOW_TRACKING_URI`` and ``PREFECT_API_URL``), a ``bon.toml`` in the working directory (or the file given as
``config_path``), then defaults. Every default lives under ``home`` (``./.bon``), so nothing is written outside
the working directory unless configured.

Example ``bon.toml``::

    database_url = "postgresql+psycopg://bon@db:5432/bon"
    mlflow_tracking_uri = "http://mlflow:5000"
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from db.config import DEFAULT_CONFIG_FILE, DEFAULT_HOME, default_database_url, shown_home


class Settings(BaseSettings):
    """Locations of bon's state. Unset locations default to files under ``home``."""

    model_config = SettingsConfigDict(
        env_prefix="BON_", toml_file=DEFAULT_CONFIG_FILE, extra="forbid", populate_by_name=True
    )

    home: Path = Field(Path(DEFAULT_HOME), description="Folder for bon's local state (default ./.bon).")
    database_url: str | None = Field(None, description="SQLAlchemy URL of the store (default: SQLite in home).")
    mlflow_tracking_uri: str | None = Field(
        None,
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "BON_MLFLOW_TRACKING_URI", "mlflow_tracking_uri"),
        description="MLflow tracking URI (default: a SQLite-backed store in home).",
    )
    mlflow_artifact_root: str | None = Field(
        None,
        description="Artifact location (default home/mlartifacts with a local tracking store; else the server's).",
    )
    prefect_home: Path | None = Field(None, description="PREFECT_HOME for ephemeral Prefect (default home/prefect).")
    prefect_api_url: str | None = Field(
        None,
        validation_alias=AliasChoices("PREFECT_API_URL", "BON_PREFECT_API_URL", "prefect_api_url"),
        description="A Prefect server to report to; unset runs Prefect ephemerally.",
    )
    registry_name: str = Field("bon-prm", description="MLflow registered-model name for trained PRMs.")

    @model_validator(mode="after")
    def _fill_defaults_under_home(self) -> Settings:
        home = shown_home(self.home)  # keep defaults visibly relative: sqlite:///./.bon/bon.db
        if self.database_url is None:
            self.database_url = default_database_url(home)
        if self.mlflow_tracking_uri is None:
            self.mlflow_tracking_uri = f"sqlite:///{home}/mlflow.db"
        tracking_is_local = (
            self.mlflow_tracking_uri.startswith(("sqlite:", "file:")) or "://" not in self.mlflow_tracking_uri
        )
        if self.mlflow_artifact_root is None and tracking_is_local:
            # With a tracking server, the server decides where artifacts go (e.g. --serve-artifacts).
            self.mlflow_artifact_root = f"{home}/mlartifacts"
        if self.prefect_home is None:
            self.prefect_home = Path(home) / "prefect"
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


def load_settings(config_path: str | Path | None = None, **overrides) -> Settings:
    """Load settings; ``config_path`` replaces ``./bon.toml`` and must exist. ``overrides`` win over everything.

    Raises ValueError for a missing config file or invalid values.
    """
    from pydantic import ValidationError

    cls: type[Settings] = Settings
    if config_path is not None:
        path = Path(config_path)
        if not path.is_file():
            raise ValueError(f"config file '{path}' does not exist")
        cls = type("Settings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": path}})
    try:
        return cls(**overrides)
    except ValidationError as exc:
        known = ", ".join(Settings.model_fields)
        problems = "; ".join(
            f"unknown setting {'.'.join(map(str, e['loc']))!r} (known: {known})"
            if e["type"] == "extra_forbidden"
            else f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in exc.errors()
        )
        source = config_path or (DEFAULT_CONFIG_FILE if Path(DEFAULT_CONFIG_FILE).is_file() else None)
        raise ValueError(f"invalid bon settings{f' in {source}' if source else ''}: {problems}") from None
    except Exception as exc:  # a malformed bon.toml surfaces as a TOML decode error
        if type(exc).__name__ == "TOMLDecodeError":
            raise ValueError(f"cannot parse {config_path or DEFAULT_CONFIG_FILE}: {exc}") from None
        raise


def query_hint(url: str) -> str | None:
    """The shell command that opens the store at ``url`` for SQL, never with its password: ``sqlite3 FILE`` or
    ``psql "postgresql://USER@HOST:PORT/DB"`` (libpq asks for the password or reads ``PGPASSWORD``)."""
    from sqlalchemy.engine import make_url

    from db.engine import sqlite_path

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        return f"sqlite3 {path}" if path is not None else None
    if parsed.get_backend_name() == "postgresql":
        plain = parsed._replace(drivername="postgresql", password=None).render_as_string(hide_password=True)
        return f'psql "{plain}"'
    return None


def ensure_home(settings: Settings) -> Path:
    """Create ``home`` and the folders of local SQLite files and artifacts it points at; return ``home``."""
    from db.engine import sqlite_path

    settings.home.mkdir(parents=True, exist_ok=True)
    for url in (settings.database_url, settings.mlflow_tracking_uri):
        path = sqlite_path(url) if url and url.startswith("sqlite") else None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    if settings.mlflow_artifact_root and "://" not in settings.mlflow_artifact_root:
        Path(settings.mlflow_artifact_root).mkdir(parents=True, exist_ok=True)
    return settings.home
