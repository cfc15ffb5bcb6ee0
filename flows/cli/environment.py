"""What every command that runs a flow shares: the ``--config`` option, :func:`flow_environment` (settings, Prefect,
MLflow and the store made ready, or one line saying what is wrong; flow runs without heartbeats when Prefect is
ephemeral, see ``flows.runtime.ephemeral_flow_settings``) and :func:`print_promotion`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
import typer

from flows.cli.app import BonError, console

ConfigOption = typer.Option(None, "--config", help="A bon.toml (settings and defaults) to read.", show_default=False)


def flow_environment(config: Path | None = None, check_store: Callable[[str], None] | None = None):
    """Settings with the home folder created, Prefect and MLflow configured; the store must be at head. A store
    password leaves the URL for ``PGPASSWORD`` (see ``flows.runtime.password_to_environment``).
    ``check_store(database_url)`` runs as soon as the store is open, before the slow MLflow set-up, so a wrong run
    name fails fast."""
    from db.errors import StoreError
    from flows.cli.app import debugging
    from flows.runtime import (
        TrackingUnreachableError,
        configure_mlflow,
        configure_prefect,
        ephemeral_flow_settings,
        password_to_environment,
        quiet_flow_errors,
        quiet_libraries,
    )
    from flows.settings import ensure_home, load_settings
    from flows.store import engine_for

    quiet_libraries()
    if not debugging():
        quiet_flow_errors()
    try:
        settings = load_settings(config)
    except ValueError as exc:
        raise BonError(str(exc)) from None
    password_to_environment(settings)
    ensure_home(settings)
    configure_prefect(settings)
    try:
        engine_for(settings.database_url)
    except StoreError as exc:
        raise BonError(str(exc)) from None
    if check_store is not None:
        check_store(settings.database_url)
    try:
        configure_mlflow(settings)
    except TrackingUnreachableError as exc:
        raise BonError(str(exc)) from None
    context = click.get_current_context(silent=True)
    if context is not None:  # for the rest of the command
        context.with_resource(ephemeral_flow_settings())
    return settings


def print_promotion(name: str | None, version: str | None) -> None:
    """Print what the registry's promotion rule decided for a registered version, and why."""
    if name and version:
        from flows.registry import promotion_reason

        console.print(f"  {promotion_reason(name, version) or f'registered as {name} v{version}'}", soft_wrap=True,
                      markup=False)  # fmt: skip
