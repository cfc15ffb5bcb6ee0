"""``bon demo``, ``bon score``, ``bon evaluate`` and ``bon runs``: the flows, from the command line."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from flows.cli.app import BonError, app, console

ConfigOption = typer.Option(None, "--config", help="A bon.toml (settings and defaults) to read.", show_default=False)
runs_app = typer.Typer(help="List and inspect stored runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


def flow_environment(config: Path | None = None):
    """Settings with the home folder created, Prefect and MLflow configured; the store must be at head."""
    from db.errors import StoreError
    from flows.runtime import configure_mlflow, configure_prefect, quiet_libraries
    from flows.settings import ensure_home, load_settings
    from flows.store import engine_for

    quiet_libraries()
    try:
        settings = load_settings(config)
    except ValueError as exc:
        raise BonError(str(exc)) from None
    ensure_home(settings)
    configure_prefect(settings)
    try:
        engine_for(settings.database_url)
    except StoreError as exc:
        raise BonError(str(exc)) from None
    configure_mlflow(settings)
    return settings


@app.command("demo")
def demo(
    quick: bool = typer.Option(False, "--quick", help="Smoke-test sizes (same code path, about a minute or two)."),
    config: Path | None = ConfigOption,
) -> None:
    """The main job, offline on the arith task: train a policy, generate N=16 pools, train a PRM and an ORM,
    register them in MLflow, score, select and evaluate; prints the results table."""
    _init_store(config)  # the demo is the first thing a newcomer runs: it creates its store if needed
    settings = flow_environment(config)  # before Prefect is imported: it reads its settings at import
    from flows.cli.progress_ui import progress_bars
    from flows.pipeline import DemoConfig, pipeline_flow

    demo_config = DemoConfig.quick() if quick else DemoConfig()
    started = time.perf_counter()
    with progress_bars():
        result = pipeline_flow(
            settings.database_url, str(settings.home), config=_asdict(demo_config), registry=settings.registry_name
        )
    elapsed = time.perf_counter() - started
    console.print(result.evaluation.markdown, soft_wrap=True)
    console.print(f"policy greedy accuracy: {result.policy_accuracy:.1%}")
    for label, trained in (("PRM", result.prm), ("ORM", result.orm)):
        if trained is not None:
            decision = "promoted to champion" if trained.promoted else "kept the current champion"
            console.print(
                f"{label}: val step AUROC {trained.best_val_auroc:.3f}, val best@N "
                f"{trained.val_best_at_n:.3f}, {trained.registered_name} v{trained.registered_version} ({decision})"
            )
    console.print(f"\nfinished in {elapsed:.0f} s", soft_wrap=True)
    _where(settings, result.evaluation.plots)


def _init_store(config: Path | None) -> None:
    """Create the home folder and bring the store to head (idempotent), as ``bon init`` does."""
    from db import migrate
    from db.errors import StoreError
    from flows.settings import ensure_home, load_settings

    try:
        settings = load_settings(config)
        ensure_home(settings)
        migrate.upgrade(settings.database_url)
    except (ValueError, StoreError) as exc:
        raise BonError(str(exc)) from None


def _asdict(cfg) -> dict:
    from dataclasses import asdict

    data = asdict(cfg)
    data["aggregations"] = list(data["aggregations"])
    return data


def _where(settings, plots) -> None:
    from db.errors import mask_url

    console.print(
        f"store:   {mask_url(settings.database_url)}  (query it: sqlite3 {settings.database_url.removeprefix('sqlite:///')})",
        soft_wrap=True,
    )
    console.print(
        f"MLflow:  {settings.mlflow_tracking_uri}  (UI: mlflow ui --backend-store-uri {settings.mlflow_tracking_uri})",
        soft_wrap=True,
    )
    for plot in plots:
        console.print(f"plot:    {plot}", soft_wrap=True)


@app.command("score")
def score(
    run: str = typer.Option(..., "--run", help="Name of the stored run whose candidates to score."),
    prm: str = typer.Option(..., "--prm", help="models:/NAME@ALIAS, models:/NAME/VERSION, a local path or a Hub id."),
    prm_format: str = typer.Option("bon", "--format", help="Scorer format: bon or a published PRM format."),
    shard_size: int = typer.Option(64, help="Problems per mapped scoring task."),
    config: Path | None = ConfigOption,
) -> None:
    """Score a stored run's candidates with a PRM/ORM (skips what that scorer already scored)."""
    settings = flow_environment(config)
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


@app.command("evaluate")
def evaluate(
    run: str = typer.Option(..., "--run", help="Name of the stored, scored run."),
    scorer: list[str] = typer.Option([], "--scorer", help="Scorer NAME[:VERSION]=AGG[,AGG...]; repeatable."),
    n: int | None = typer.Option(None, "-n", help="Pool size (default: the full stored pool)."),
    config: Path | None = ConfigOption,
) -> None:
    """Select and evaluate: every strategy × scorer × aggregation × N, stored and logged; prints the table."""
    settings = flow_environment(config)
    from flows.select_evaluate import select_evaluate_flow

    labels: dict[str, list[str]] = {}
    for item in scorer:
        name, _, aggs = item.partition("=")
        labels[name] = [a for a in aggs.split(",") if a] or ["min"]
    primary = f"{next(iter(labels))}:{labels[next(iter(labels))][0]}" if labels else None
    report = select_evaluate_flow(
        settings.database_url, run, labels, primary=primary, n=n, out_dir=str(settings.home / "results")
    )
    console.print(report.markdown, soft_wrap=True)
    for plot in report.plots:
        console.print(f"plot: {plot}", soft_wrap=True)


@runs_app.command("list")
def runs_list(config: Path | None = ConfigOption) -> None:
    """Stored runs with their status and candidate counts."""
    from rich.table import Table

    from db import reads
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
    """One run: its settings, provenance and evaluations."""
    from db import reads
    from flows.store import transaction

    settings = flow_environment(config)
    with transaction(settings.database_url) as session:
        try:
            run = reads.get_run(session, int(name) if name.isdigit() else name)
        except (KeyError, ValueError, LookupError) as exc:
            raise BonError(str(exc)) from None
        points = reads.load_evaluations(session, run.id)
    console.print(f"[bold]{run.name}[/] (id {run.id}) task={run.task} status={run.status}", soft_wrap=True)
    console.print(f"policy: {run.policy}\ngeneration: {run.generation_config}", soft_wrap=True)
    console.print(f"MLflow run: {run.mlflow_run_id}  Prefect flow run: {run.prefect_flow_run_id}", soft_wrap=True)
    if points:
        from bon_core.results import results_table, to_markdown

        console.print(to_markdown(results_table(p for p in points if p.metric == "accuracy")), soft_wrap=True)


@app.command("select")
def select_command(
    run: str = typer.Option(..., "--run", help="Name of the stored run."),
    strategy: str = typer.Option("max", "--strategy", help="max, majority, weighted, composite, early_stop, ..."),
    scorer: str | None = typer.Option(None, "--scorer", help="Scorer NAME[:VERSION] (needed by score-based rules)."),
    aggregation: str = typer.Option("min", "--aggregation", help="min, prod, last, mean or sum."),
    param: list[str] = typer.Option([], "--param", help="Strategy parameter KEY=VALUE (JSON value); repeatable."),
    n: int | None = typer.Option(None, "-n", help="Use the first N samples of each pool (default: all)."),
    show: int = typer.Option(10, "--show", help="How many selections to print."),
    config: Path | None = ConfigOption,
) -> None:
    """Apply one selection strategy to every problem of a stored run; stores and prints the selections."""
    import json

    from rich.table import Table

    from bon_core.evaluation import group_pools
    from bon_core.select import select
    from bon_core.tasks import get_task
    from db import reads, repository
    from flows.select_evaluate import _scorer_id
    from flows.store import transaction

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
    with transaction(settings.database_url) as session:
        try:
            stored = reads.get_run(session, run)
            scorer_id = _scorer_id(session, scorer) if scorer else None
        except (KeyError, LookupError, ValueError) as exc:
            raise BonError(str(exc)) from None
        problems = reads.load_problems(session, run_id=stored.id)
        scores = reads.load_candidate_scores(session, stored.id, scorer_id, aggregation) if scorer_id else None
        pools = group_pools(reads.load_candidates(session, stored.id), n)
        normalize = get_task(stored.task).normalize_answer
        try:
            chosen = [
                select(pool, [scores.get((c.problem_id, c.sample_index), 0.0) for c in pool] if scores else None,
                       strategy, params, normalize)
                for pool in pools.values()
            ]  # fmt: skip
        except ValueError as exc:
            raise BonError(str(exc)) from None
        ids = repository.upsert_problems(session, problems)
        repository.insert_selections(session, stored.id, ids, chosen, scorer_id=scorer_id)
    table = Table("problem", "selected sample", "answer", "correct")
    for s in chosen[:show]:
        table.add_row(s.problem_id, str(s.sample_index), str(s.answer), str(s.correct))
    console.print(table)
    accuracy = sum(bool(s.correct) for s in chosen) / max(len(chosen), 1)
    console.print(f"{strategy}: accuracy {accuracy:.1%} on {len(chosen)} problems (stored in the selections table)")


@app.command("bench")
def bench(
    quick: bool = typer.Option(False, "--quick", help="CI sizes (correctness checks, rough ratios)."),
    only: list[str] = typer.Option([], "--only", help="Run only these benchmarks; repeatable."),
    threads: int | None = typer.Option(None, "--threads", help="torch threads (1 is steadier on 2 shared cores)."),
) -> None:
    """Benchmarks of bon against the naive way, timed side by side; prints ratios and writes benchmarks/results/."""
    import benchmarks
    from benchmarks.harness import render_table

    try:
        benchmarks.check_names(only or None)
    except ValueError as exc:
        raise BonError(str(exc)) from None
    results, skipped, seconds = benchmarks.run_benchmarks(quick, only or None, write=True, threads=threads)
    console.print(render_table(results))
    for name, reason in skipped.items():
        console.print(f"[yellow]skipped {name}:[/] {reason}")
    console.print(f"total {seconds:.0f} s; JSON in benchmarks/results/")
