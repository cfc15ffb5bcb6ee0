"""``bon demo``, ``bon score``, ``bon evaluate``, ``bon select`` and ``bon bench``: the flows, from the command line.

Every command checks its inputs (:mod:`flows.cli.checks`) before a flow starts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import typer

from flows.cli.app import BonError, app, console

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
    return settings


@app.command("demo")
def demo(
    quick: bool = typer.Option(
        False, "--quick", help="Smoke-test sizes (same code path, about a minute); registers as REGISTRY-quick."
    ),
    config: Path | None = ConfigOption,
) -> None:
    """The main job, offline on the arith task: train a policy, generate N=16 pools, train a PRM and an ORM,
    register them in MLflow, score, select and evaluate; prints the results table."""
    _init_store(config)  # the demo is the first thing a newcomer runs: it creates its store if needed
    settings = flow_environment(config)  # before Prefect is imported: it reads its settings at import
    from flows.cli.progress_ui import progress_bars
    from flows.cli.render import markdown_tables
    from flows.pipeline import DemoConfig, pipeline_flow

    demo_config = DemoConfig.quick() if quick else DemoConfig()
    registry = demo_registry(settings.registry_name, quick)
    started = time.perf_counter()
    with progress_bars():
        result = pipeline_flow(
            settings.database_url, str(settings.home), config=_asdict(demo_config), registry=registry
        )
    elapsed = time.perf_counter() - started
    for renderable in markdown_tables(result.evaluation.markdown, title=f"{demo_config.prefix}-test: accuracy (%)"):
        console.print(renderable)
    for renderable in markdown_tables(result.comparison.markdown, title="PRM vs ORM vs a free baseline, paired"):
        console.print(renderable)
    console.print(f"policy greedy accuracy: {result.policy_accuracy:.1%}")
    for label, trained in (("PRM", result.prm), ("ORM", result.orm)):
        if trained is not None:
            val = f", val best@N {trained.val_best_at_n:.3f}" if trained.val_best_at_n is not None else ""
            console.print(f"{label}: val step AUROC {trained.best_val_auroc:.3f}{val}")
            print_promotion(trained.registered_name, trained.registered_version)
    console.print(f"\nfinished in {elapsed:.0f} s", soft_wrap=True)
    _where(settings, result.evaluation.plots)


def demo_registry(name: str, quick: bool) -> str:
    """The registered-model name the demo's PRM uses (its ORM replaces ``prm`` by ``orm``): a ``--quick`` model,
    evaluated on another run and N, gets names of its own (``bon-prm-quick``, ``bon-orm-quick``) so it is never
    compared with, or promoted over, a full demo's model."""
    return f"{name}-quick" if quick else name


def print_promotion(name: str | None, version: str | None) -> None:
    """Print what the registry's promotion rule decided for a registered version, and why."""
    if name and version:
        from flows.registry import promotion_reason

        console.print(f"  {promotion_reason(name, version) or f'registered as {name} v{version}'}", soft_wrap=True,
                      markup=False)  # fmt: skip


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
    from flows.settings import query_hint

    hint = query_hint(settings.database_url)
    console.print(f"store:   {mask_url(settings.database_url)}" + (f"  (query it: {hint})" if hint else ""),
                  soft_wrap=True, markup=False)  # fmt: skip
    tracking = mask_url(settings.mlflow_tracking_uri)
    console.print(f"MLflow:  {tracking}  (UI: mlflow ui --backend-store-uri {tracking})", soft_wrap=True, markup=False)
    for plot in plots:
        console.print(f"plot:    {plot}", soft_wrap=True, markup=False)


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
        labels[name] = [a for a in aggs.split(",") if a] or ["min"]
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

    primary = f"{next(iter(labels))}:{labels[next(iter(labels))][0]}" if labels else None
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
    strategy: str = typer.Option("max", "--strategy", help="max, majority, weighted, composite, early_stop, ..."),
    scorer: str | None = typer.Option(None, "--scorer", help="Scorer NAME[:VERSION] (needed by score-based rules)."),
    aggregation: str = typer.Option(
        "min", "--aggregation", help="How step scores become one: min, prod, last, mean, sum."
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

    from bon_core.evaluation import group_pools
    from bon_core.select import STRATEGIES, select
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
        if strategy in STRATEGIES and not STRATEGIES[strategy].uses_scorer(params):  # e.g. majority: no scorer read
            scorer_id = None
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
