"""``bon runs list`` and ``bon runs show``: the stored runs, their status, settings and evaluations."""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli.app import BonError, app, console

ConfigOption = typer.Option(None, "--config", help="A bon.toml (settings and defaults) to read.", show_default=False)
runs_app = typer.Typer(help="List and inspect stored runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def runs_list(config: Path | None = ConfigOption) -> None:
    """Stored runs with their status and candidate counts."""
    from rich.table import Table

    from db import reads
    from flows.cli.environment import flow_environment
    from flows.store import transaction

    settings = flow_environment(config)
    table = Table("id", "name", "task", "status", "candidates", "created")
    with transaction(settings.database_url) as session:
        for run in reads.list_runs(session):
            count = len(reads.existing_sample_keys(session, run.id))
            table.add_row(str(run.id), run.name, run.task, run.status, str(count), str(run.created_at)[:19])
    console.print(table)


@runs_app.command("show")
def runs_show(name: str = typer.Argument(..., help="Run name or id."), config: Path | None = ConfigOption) -> None:
    """One run: its settings, provenance and evaluations (accuracy per strategy and N)."""
    from db import reads
    from flows.cli.environment import flow_environment
    from flows.cli.render import key_values, markdown_tables
    from flows.store import transaction

    settings = flow_environment(config)
    with transaction(settings.database_url) as session:
        try:
            run = reads.get_run(session, int(name) if name.isdigit() else name)
        except (KeyError, ValueError, LookupError) as exc:
            raise BonError(str(exc)) from None
        points = reads.load_evaluations(session, run.id)
    about = {
        "id": run.id, "task": run.task, "status": run.status, "policy": run.policy, "seed": run.seed,
        "created": str(run.created_at)[:19], "updated": str(run.updated_at)[:19],
        "MLflow run": run.mlflow_run_id or "-", "Prefect flow run": run.prefect_flow_run_id or "-",
    }  # fmt: skip
    console.print(key_values(about, title=f"run {run.name}"))
    console.print(key_values(run.generation_config, title="generation"))
    accuracy = [p for p in points if p.metric == "accuracy"]
    if accuracy:
        from bon_core.results import results_table, to_markdown

        for renderable in markdown_tables(to_markdown(results_table(accuracy)), title="accuracy (%)"):
            console.print(renderable)
    else:
        console.print("no evaluations yet (run `bon evaluate --run NAME`)", soft_wrap=True)
