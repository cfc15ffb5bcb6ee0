"""``bon study prm-vs-orm``: process vs outcome supervision on the demo's stored candidates."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import typer

from flows.cli.app import BonError, app, console
from flows.cli.environment import ConfigOption, flow_environment

study_app = typer.Typer(help="Controlled comparisons on stored candidates (no regeneration).", no_args_is_help=True)
app.add_typer(study_app, name="study")


@study_app.command("prm-vs-orm")
def prm_vs_orm(
    prefix: str = typer.Option("demo", "--prefix", help="The demo whose runs (PREFIX-train/-validation/-test) and "
                               "policy (.bon/models/PREFIX/policy) are used."),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Training seeds per budget and kind."),
    budgets: str = typer.Option("0.125,0.25,0.5,1", "--budgets",
                                help="Comma-separated shares of the train problems to train on."),
    steps: int = typer.Option(150, "--steps", min=1, help="Optimiser steps per trained scorer (the demo's PRM "
                              "takes 600): 24 scorers at the default size must fit on a laptop."),
    lm_problems: int = typer.Option(4000, "--lm-problems", min=0, help="Fresh reference solutions the base keeps "
                                    "learning arith from, as a language model."),
    config: Path | None = ConfigOption,
) -> None:  # fmt: skip
    """Train a PRM and an ORM on the same texts (PRM: step labels, ORM: outcomes) for every seed and budget, score
    the stored test pool with each, and print best@k (mean ± sd over seeds), the paired PRM − ORM interval and the
    sample-efficiency table. Needs a finished `bon demo` (or `bon demo --quick` with --prefix demo-quick)."""
    try:
        shares = tuple(float(b) for b in budgets.split(","))
    except ValueError:
        raise BonError(f"--budgets must be comma-separated numbers in (0, 1], got {budgets!r}") from None
    if any(not 0 < b <= 1 for b in shares):
        raise BonError(f"--budgets must be shares of the train problems in (0, 1], got {budgets!r}")
    settings = flow_environment(config)
    from flows.cli.progress_ui import progress_bars
    from flows.cli.render import markdown_tables
    from flows.pipeline import DemoConfig, scorer_training
    from flows.study import study_prm_vs_orm_flow

    demo = DemoConfig.quick() if prefix.endswith("quick") else DemoConfig()
    policy = Path(settings.home) / "models" / prefix / "policy"
    if not (policy / "config.json").exists():
        raise BonError(f"no trained policy at {policy}; run `bon demo` first (the study reuses its runs and policy)")
    demo = replace(demo, prm_steps=steps, prm_lm_problems=lm_problems)
    training = scorer_training(demo, Path(settings.home) / "models" / prefix / "study")
    if not lm_problems:
        training["lm_problems"] = None
    started = time.perf_counter()
    with progress_bars():
        report = study_prm_vs_orm_flow(
            settings.database_url, f"{prefix}-train", f"{prefix}-test", str(policy.resolve()),
            str(Path(settings.home) / "models" / prefix / "study"), validation_run=f"{prefix}-validation",
            seeds=seeds, budgets=shares, **training,
        )  # fmt: skip
    for renderable in markdown_tables(report.markdown, title="PRM vs ORM"):
        console.print(renderable)
    for plot in report.plots:
        console.print(f"plot: {plot}", soft_wrap=True)
    console.print(f"\nfinished in {time.perf_counter() - started:.0f} s")
