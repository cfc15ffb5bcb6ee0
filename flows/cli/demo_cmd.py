"""``bon demo``: the main job, every flow in turn on the offline arith task, from the command line."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from flows.cli.app import BonError, app, console
from flows.cli.environment import ConfigOption, flow_environment, print_promotion


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
        result = pipeline_flow(settings.database_url, str(settings.home), config=demo_config, registry=registry)
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
