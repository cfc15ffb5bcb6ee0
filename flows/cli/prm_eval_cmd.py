"""``bon eval-prm``: a PRM judged on step-labelled files like ProcessBench, next to two baselines."""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli.app import BonError, app, console


@app.command("eval-prm")
def eval_prm_command(
    data: str = typer.Option(
        ...,
        "--data",
        help="Step-labelled data (or FORMAT:DATA): a .jsonl/.json/.parquet file, a directory or glob of them, "
        "DIR@SPLIT[,SPLIT] for a data set saved with save_to_disk, or hub:NAME[@SPLIT,...] for Hugging Face Hub "
        "splits. Each file or split is one subset.",
    ),
    format: str = typer.Option(..., "--format", help="processbench or prmbench (any step-data reader name works)."),
    prm: str = typer.Option(..., "--prm", help="A bon PRM directory, or models:/NAME@ALIAS / models:/NAME/VERSION."),
    base: str = typer.Option(
        "minilm", "--base", help="The PRM's base model (named or a directory): the untrained-encoder baseline."
    ),
    validation_fraction: float = typer.Option(
        0.2, "--validation-fraction", help="Share of the problems used to choose each scorer's threshold."
    ),
    limit: int = typer.Option(
        0,
        "--limit",
        help="Use a random sample of N solutions per subset (seeded by --seed), keeping its mix of all-correct and "
        "wrong solutions (0 = all).",
    ),
    max_length: int = typer.Option(0, "--max-length", help="Tokens per scoring window (0 = the PRM's own)."),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the --limit sample, the validation split and the baseline's fresh head."
    ),
    config: Path | None = typer.Option(None, "--config", help="A bon.toml to read.", show_default=False),
) -> None:
    """Print step AUROC and ProcessBench F1 per subset (file or split) and overall — pooled, and as the mean of
    per-subset F1 that ProcessBench publishes — for the PRM, the untrained encoder with a fresh head and the
    position-length baseline; stores them in the ``evaluations`` table and MLflow. Thresholds are chosen per subset
    on its validation part (the pooled validation split where that part lacks correct or wrong solutions, said so)
    and printed. The data and the validation split are checked before any model is loaded."""
    from bon_core.prm.bases import resolve_base_model
    from bon_core.prm.evaluation import prepare_split
    from bon_core.stepdata import READERS, read_subsets

    if format not in READERS:
        raise BonError(f"unknown --format {format!r}; known: {', '.join(READERS)}")
    if limit < 0:
        raise BonError(f"--limit must be >= 0, got {limit}")
    try:
        if not 0.0 < validation_fraction < 1.0:
            raise ValueError(f"--validation-fraction must be in (0, 1), got {validation_fraction}")
        split = prepare_split(read_subsets(data, format, limit or None, seed), validation_fraction, seed)
        base_dir = resolve_base_model(base)
    except ValueError as exc:
        raise BonError(str(exc)) from exc
    if not prm.startswith("models:/") and not (Path(prm) / "bon_prm.json").is_file():
        raise BonError(f"--prm {prm}: not a bon PRM directory (no bon_prm.json) nor a models:/ URI")
    settings = flow_environment_for(config)  # before Prefect is imported
    from flows.cli.progress_ui import progress_bars
    from flows.eval_prm import eval_prm_flow

    try:
        with progress_bars():
            result = eval_prm_flow(
                data, format, prm, str(base_dir), settings.database_url, validation_fraction=validation_fraction,
                limit=limit or None, seed=seed, max_length=max_length or None,
            )  # fmt: skip
    except ValueError as exc:
        raise BonError(str(exc)) from exc
    console.print(result.markdown, soft_wrap=True, markup=False)
    console.print(thresholds_line(result.figures), soft_wrap=True, markup=False)
    for note in split.plan.notes:
        console.print(f"note: {note}", soft_wrap=True, markup=False)
    console.print(
        f"{result.validation_solutions} validation / {result.test_solutions} test solutions; stored as run "
        f"{result.run_name!r} (MLflow run {result.mlflow_run_id}) in {result.seconds:.0f} s",
        soft_wrap=True,
        markup=False,
    )


def thresholds_line(figures) -> str:
    """``thresholds (chosen on the validation split, per subset): PRM: a 0.420, b 0.510; ...`` (per scorer)."""
    from bon_core.prm.evaluation import GROUP_LABELS

    per_scorer: dict[str, list[str]] = {}
    for f in figures:
        if f.group not in GROUP_LABELS:
            per_scorer.setdefault(f.scorer, []).append(f"{f.group} {f.threshold:.3f}")
    parts = [f"{scorer}: {', '.join(items)}" for scorer, items in per_scorer.items()]
    return "thresholds (chosen on the validation split, per subset): " + "; ".join(parts)


def flow_environment_for(config: Path | None):
    """The settings with Prefect, MLflow and the store set up (see ``environment.flow_environment``)."""
    from flows.cli.environment import flow_environment

    return flow_environment(config)
