"""``bon init`` and ``bon db status|upgrade|downgrade``: create and migrate the store, and show what it holds."""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli.app import BonError, app, console

db_app = typer.Typer(help="Inspect and migrate bon's SQL store.", no_args_is_help=True)
app.add_typer(db_app, name="db")

ConfigOption = typer.Option(None, "--config", help="A bon.toml to read instead of ./bon.toml.", show_default=False)


def _settings(config: Path | None, *, create: bool = True):
    """Load settings; with ``create`` make ./.bon (or the configured home), else require an existing SQLite file."""
    from db.engine import sqlite_path
    from db.errors import mask_url
    from flows.settings import ensure_home, load_settings

    try:
        settings = load_settings(config)
    except ValueError as exc:
        raise BonError(str(exc)) from None
    if create:
        ensure_home(settings)
    else:
        path = sqlite_path(settings.database_url) if settings.database_url.startswith("sqlite") else None
        if path is not None and not path.exists():
            raise BonError(f"no store at {mask_url(settings.database_url)}: run `bon init` (or set BON_DATABASE_URL)")
    return settings


def _store_call(fn, *args):
    """Run a db function, turning StoreError into BonError (one line, no traceback)."""
    from db.errors import StoreError

    try:
        return fn(*args)
    except StoreError as exc:
        raise BonError(str(exc)) from None


@app.command("init")
def init(config: Path | None = ConfigOption) -> None:
    """Create ./.bon, bring the store's schema to head, and print where bon keeps its state."""
    from db import migrate
    from db.errors import mask_url

    settings = _settings(config)
    _store_call(migrate.upgrade, settings.database_url)
    revision = _store_call(migrate.current_revision, settings.database_url)
    console.print(f"[green]bon initialised[/] in {settings.home.resolve()}", soft_wrap=True)
    console.print(f"  store:            {mask_url(settings.database_url)} (revision {revision})", soft_wrap=True)
    console.print(f"  MLflow tracking:  {mask_url(settings.mlflow_tracking_uri)}", soft_wrap=True)
    console.print(f"  MLflow artifacts: {settings.mlflow_artifact_root}", soft_wrap=True)
    prefect = settings.prefect_api_url or f"ephemeral (PREFECT_HOME={settings.prefect_home})"
    console.print(f"  Prefect:          {prefect}", soft_wrap=True)


@db_app.command("status")
def status(config: Path | None = ConfigOption) -> None:
    """Print the store's URL, its schema revision against the code's head, and the row count of every table."""
    from rich.table import Table

    from db import migrate
    from db.errors import mask_url

    settings = _settings(config, create=False)
    url = settings.database_url
    current = _store_call(migrate.current_revision, url)
    head = migrate.head_revision()
    console.print(f"store:    {mask_url(url)}", soft_wrap=True)
    state = "[green]at head[/]" if current == head else "[red]behind head: run `bon db upgrade`[/]"
    console.print(f"revision: {current or 'none (empty database)'} (head {head}) {state}", soft_wrap=True)
    if current != head:
        return
    counts = _store_call(_row_counts, url)
    table = Table("table", "rows", title="Row counts")
    for name, count in counts.items():
        table.add_row(name, str(count))
    console.print(table)


def _row_counts(url: str) -> dict[str, int]:
    from sqlalchemy.orm import Session

    from db.engine import make_engine, store_errors
    from db.reads import row_counts

    engine = make_engine(url)
    try:
        with store_errors(url), Session(engine) as session:
            return row_counts(session)
    finally:
        engine.dispose()


@db_app.command("upgrade")
def upgrade(
    revision: str = typer.Argument("head", help="Target revision (default: head)."),
    config: Path | None = ConfigOption,
) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from db import migrate
    from db.errors import mask_url

    settings = _settings(config)
    _store_call(migrate.upgrade, settings.database_url, revision)
    current = _store_call(migrate.current_revision, settings.database_url)
    console.print(f"{mask_url(settings.database_url)} is at revision {current}", soft_wrap=True)


@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def downgrade(
    revision: str = typer.Argument(..., help="Target revision, e.g. -1 or base (drops every bon table)."),
    config: Path | None = ConfigOption,
) -> None:
    """Revert migrations down to REVISION ('base' removes bon's tables and all their data)."""
    from db import migrate
    from db.errors import mask_url

    settings = _settings(config)
    _store_call(migrate.downgrade, settings.database_url, revision)
    current = _store_call(migrate.current_revision, settings.database_url)
    console.print(f"{mask_url(settings.database_url)} is at revision {current or 'base (empty)'}", soft_wrap=True)
