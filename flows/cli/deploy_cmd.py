"""``bon deploy`` and ``bon serve``: bon's flows as Prefect deployments on a Prefect server.

``bon deploy`` registers the deployments for a work pool, whose workers (``prefect worker start --pool NAME``) run
them; ``bon serve`` declares the same deployments and runs their flow runs itself until stopped (no work pool).
"""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli.app import BonError, app, console

RunOption = typer.Option(
    None, "--run", help="Stored benchmark run the nightly evaluation scores (without it: on-demand jobs only)."
)
RegistryOption = typer.Option(None, "--registry", help="MLflow registered-model name (default BON_REGISTRY_NAME).")
CronOption = typer.Option("0 2 * * *", "--cron", help="Cron schedule of the nightly evaluation.")
TimezoneOption = typer.Option("UTC", "--timezone", help="Time zone of the cron schedule.")
ConfigOption = typer.Option(None, "--config", help="A bon.toml (settings and defaults) to read.", show_default=False)


def _server_settings(config: Path | None):
    """Settings for talking to a Prefect server; refuses to run against Prefect's ephemeral in-process API."""
    from flows.runtime import configure_prefect
    from flows.settings import ensure_home, load_settings

    try:
        settings = load_settings(config)
    except ValueError as exc:
        raise BonError(str(exc)) from None
    if not settings.prefect_api_url:
        raise BonError(
            "no Prefect server: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api after `prefect server start`)"
        )
    ensure_home(settings)
    configure_prefect(settings)
    return settings


def _deployments(settings, run: str | None, registry: str | None, cron: str, timezone: str) -> list:
    from flows.deployments import build_deployments

    try:
        return build_deployments(run, registry or settings.registry_name, cron=cron, timezone=timezone)
    except ValueError as exc:
        raise BonError(str(exc)) from None


@app.command("deploy")
def deploy(
    pool: str = typer.Option("cpu", "--pool", help="Work pool the deployments run on (created, type process)."),
    run: str | None = RunOption,
    registry: str | None = RegistryOption,
    cron: str = CronOption,
    timezone: str = TimezoneOption,
    config: Path | None = ConfigOption,
) -> None:
    """Register the deployments (nightly champion evaluation, on-demand train/generate) for a work pool."""
    settings = _server_settings(config)
    deployments = _deployments(settings, run, registry, cron, timezone)
    from flows.deployments import register_deployments

    try:
        names = register_deployments(deployments, pool)
    except Exception as exc:  # the server is unreachable or refuses the deployment
        raise BonError(f"cannot register deployments at {settings.prefect_api_url}: {exc}") from None
    for name in names:
        console.print(f"deployed {name} -> pool {pool!r}", soft_wrap=True)
    console.print(f"start a worker: prefect worker start --pool {pool}", soft_wrap=True)


@app.command("serve")
def serve(
    run: str | None = RunOption,
    registry: str | None = RegistryOption,
    cron: str = CronOption,
    timezone: str = TimezoneOption,
    limit: int = typer.Option(1, "--limit", help="Flow runs executed at once by this process."),
    config: Path | None = ConfigOption,
) -> None:
    """Declare the deployments and run their flow runs in this process until stopped (Ctrl-C)."""
    settings = _server_settings(config)
    deployments = _deployments(settings, run, registry, cron, timezone)
    from prefect import serve as prefect_serve

    console.print(f"serving {len(deployments)} deployments from {settings.prefect_api_url}", soft_wrap=True)
    prefect_serve(*deployments, limit=limit, print_starting_message=False)
