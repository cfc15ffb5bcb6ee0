"""``bon evaluate`` (every strategy × scorer × aggregation × N, the select-evaluate flow) and ``bon select`` (one
strategy on a stored run), from the command line.

The inputs are checked (:mod:`flows.cli.checks`) before anything runs."""

from __future__ import annotations

from pathlib import Path

import typer

from bon_core.aggregate import AGGREGATORS
from bon_core.scorer_choice import DEFAULT_AGGREGATION, primary_label
from bon_core.select import STRATEGIES
from flows.cli.app import BonError, app, console
from flows.cli.environment import ConfigOption, flow_environment


@app.command("evaluate")
def evaluate(
    run: str = typer.Option(..., "--run", help="Name of the stored, scored run."),
    scorer: list[str] = typer.Option([], "--scorer", help="Scorer NAME[:VERSION]=AGG[,AGG...]; repeatable."),
    n: int | None = typer.Option(None, "-n", help="Pool size (default: the full stored pool)."),
    validation_run: str | None = typer.Option(
        None,
        "--validation-run",
        help="Run of other problems scored by the first scorer: early_stop's threshold is "
        "a quantile of its scores (without it, early_stop is skipped).",
    ),
    threshold_quantile: float = typer.Option(0.9, "--threshold-quantile", help="That quantile, in [0, 1]."),
    config: Path | None = ConfigOption,
) -> None:
    """Select and evaluate: every strategy × scorer × aggregation × N, stored and logged; prints the table."""
    from flows.cli import checks

    labels: dict[str, list[str]] = {}
    for item in scorer:
        name, _, aggs = item.partition("=")
        labels[name] = [a for a in aggs.split(",") if a] or [DEFAULT_AGGREGATION]
        for how in labels[name]:
            checks.aggregation(f"aggregation in --scorer {item!r}:", how)
    checks.positive("-n", n)
    if not 0.0 <= threshold_quantile <= 1.0:
        raise BonError(f"--threshold-quantile must be in [0, 1], got {threshold_quantile}")

    def check_store(url: str) -> None:
        for name in (run, *([validation_run] if validation_run else [])):
            checks.stored_run(url, name)
        for name in labels:
            checks.stored_scorer(url, name)

    settings = flow_environment(config, check_store)
    from flows import progress
    from flows.cli.progress_ui import progress_bars
    from flows.cli.render import markdown_tables
    from flows.select_evaluate import select_evaluate_flow

    primary = primary_label(labels)
    with progress_bars():
        progress.start("evaluate", f"evaluating {run} (strategies x scorers x N)", None)
        report = select_evaluate_flow(
            settings.database_url, run, labels, primary=primary, n=n, out_dir=str(settings.home / "results"),
            validation_run=validation_run, threshold_quantile=threshold_quantile,
        )  # fmt: skip
        progress.advance("evaluate", 1, "done")
    for renderable in markdown_tables(report.markdown, title=f"{run}: accuracy (%)"):
        console.print(renderable)
    for plot in report.plots:
        console.print(f"plot: {plot}", soft_wrap=True, markup=False)
    if validation_run and labels:
        from flows.step_analysis import analyse_scorers

        # thresholds from the validation run's stored scores; no twin pairs (they need the models themselves)
        comparison = analyse_scorers(
            settings.database_url, run, validation_run, {name: (None, hows[0]) for name, hows in labels.items()}
        )
        for renderable in markdown_tables(comparison.markdown, title="scorers vs a free baseline, paired"):
            console.print(renderable)


@app.command("select")
def select_command(
    run: str = typer.Option(..., "--run", help="Name of the stored run."),
    strategy: str = typer.Option("max", "--strategy", help=f"One of {', '.join(STRATEGIES)}."),
    scorer: str | None = typer.Option(None, "--scorer", help="Scorer NAME[:VERSION] (needed by score-based rules)."),
    aggregation: str = typer.Option(
        DEFAULT_AGGREGATION, "--aggregation", help=f"How step scores become one: {', '.join(AGGREGATORS)}."
    ),
    param: list[str] = typer.Option([], "--param", help="Strategy parameter KEY=VALUE (JSON value); repeatable."),
    n: int | None = typer.Option(None, "-n", help="Use the first N samples of each pool (default: all)."),
    show: int = typer.Option(10, "--show", help="How many selections to print."),
    config: Path | None = ConfigOption,
) -> None:
    """Apply one selection strategy to every problem of a stored run; stores and prints the selections."""
    import json

    from flows.cli import checks

    checks.strategy(strategy)
    checks.aggregation("--aggregation", aggregation)
    checks.positive("-n", n)

    from rich.table import Table

    from flows.select_evaluate import select_stored_run

    settings = flow_environment(config)
    params = {}
    for item in param:
        key, sep, value = item.partition("=")
        if not sep:
            raise BonError(f"--param {item!r} must be KEY=VALUE")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    try:
        result = select_stored_run(settings.database_url, run, strategy, params, scorer, aggregation, n)
    except (LookupError, ValueError) as exc:  # an unknown run or scorer, a strategy that cannot run on this data
        raise BonError(str(exc)) from None
    table = Table("problem", "selected sample", "answer", "correct")
    for s in result.selections[:show]:
        table.add_row(s.problem_id, str(s.sample_index), str(s.answer), str(s.correct))
    console.print(table)
    console.print(
        f"{strategy}: accuracy {result.accuracy:.1%} on {len(result.selections)} problems "
        "(stored in the selections table)"
    )
