"""``bon score``: score a stored run's candidates with a PRM/ORM (the score flow), from the command line.

The inputs are checked (:mod:`flows.cli.checks`) before the flow starts."""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli.app import app, console
from flows.cli.environment import ConfigOption, flow_environment


@app.command("score")
def score(
    run: str = typer.Option(..., "--run", help="Name of the stored run whose candidates to score."),
    prm: str = typer.Option(..., "--prm", help="models:/NAME@ALIAS, models:/NAME/VERSION, a local path or a Hub id."),
    prm_format: str = typer.Option("bon", "--format", help="Scorer format: bon or a published PRM format."),
    shard_size: int = typer.Option(64, help="Problems per mapped scoring task."),
    config: Path | None = ConfigOption,
) -> None:
    """Score a stored run's candidates with a PRM/ORM (skips what that scorer already scored)."""
    from flows.cli import checks

    checks.prm_format(prm_format)
    checks.positive("--shard-size", shard_size)
    settings = flow_environment(config, lambda url: checks.stored_run(url, run))
    checks.model_reference("--prm", prm, prm_format)
    from flows.cli.progress_ui import progress_bars
    from flows.score import run_score

    with progress_bars():
        scorer_id = run_score(
            database_url=settings.database_url,
            run_name=run,
            model_uri=prm,
            model_format=prm_format,
            shard_size=shard_size,
        )
    console.print(f"scored run {run!r} with scorer id {scorer_id}")
