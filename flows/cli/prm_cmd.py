"""``bon train-prm`` (train a PRM or ORM on a step-labelled data file) and ``bon score-steps`` (score one solution)."""

from __future__ import annotations

from pathlib import Path

import typer

from bon_core.prm.config import HEAD_INPUTS, HeadConfig, PRMSpec, PRMTrainConfig
from flows.cli.app import BonError, app, console
from flows.cli.options import option


@app.command("train-prm")
def train_prm_command(
    data_arg: str | None = typer.Argument(None, metavar="[DATA]", help="Same as --data.", show_default=False),
    data: str | None = typer.Option(
        None, "--data", help="Step-labelled data as FORMAT:PATH, PATH a file or glob (e.g. prmbench:dir/train_*.jsonl)."
    ),
    base: str = typer.Option(..., "--base", help="Base model directory (any AutoModel checkpoint) or 'minilm'."),
    out: Path = typer.Option(..., "--out", help="Directory to save the trained PRM to."),
    kind: str = option(PRMTrainConfig, "kind", "--kind"),
    max_steps: int = option(PRMTrainConfig, "max_steps", "--max-steps"),
    batch_size: int = option(PRMTrainConfig, "batch_size", "--batch-size"),
    learning_rate: float = option(PRMTrainConfig, "learning_rate", "--lr"),
    eval_steps: int = option(PRMTrainConfig, "eval_steps", "--eval-steps"),
    val_fraction: float = option(PRMTrainConfig, "val_fraction", "--val-fraction"),
    max_length: int = option(PRMSpec, "max_length", "--max-length"),
    freeze_layers: int = option(PRMTrainConfig, "freeze_layers", "--freeze-layers"),
    head_inputs: str = option(HeadConfig, "inputs", "--head-inputs"),
    lm_loss_weight: float = option(PRMTrainConfig, "lm_loss_weight", "--lm-loss-weight"),
    group_by_length: bool = option(PRMTrainConfig, "group_by_length", default=True),  # faster on CPU
    mask_after_first_error: bool = option(PRMTrainConfig, "mask_after_first_error"),
    register: str | None = typer.Option(
        None, "--register", help="MLflow registered-model name (default: bon-BASE-KIND for a named base like minilm)."
    ),
    no_register: bool = typer.Option(False, "--no-register", help="Log to MLflow but do not register the model."),
    validation_run: str | None = typer.Option(
        None,
        "--validation-run",
        help="Stored run (of problems not trained on) on which best@N decides promotion to champion; without it "
        "a registered model is never promoted.",
    ),
    val_aggregation: str | None = typer.Option(
        None, "--val-aggregation", help="Aggregation of step scores for that best@N (default: min; last for an ORM)."
    ),
    seed: int = option(PRMTrainConfig, "seed", "--seed"),
    config: Path | None = typer.Option(None, "--config", help="A bon.toml to read.", show_default=False),
) -> None:
    """Train a PRM/ORM (early stopping on validation step AUROC), save it in the bon format, log it to MLflow and
    register it; it becomes the registry's champion only if its best@N on --validation-run beats the champion's on
    the same run, N and metric."""
    from bon_core.prm.bases import NAMED_BASES, resolve_base_model
    from bon_core.stepdata import parse_spec
    from flows.cli import checks
    from flows.cli.environment import flow_environment

    if (data_arg is None) == (data is None):
        raise BonError("give the training data once: --data FORMAT:PATH (or as the first argument)")
    source = data or data_arg
    checks.known("--kind", kind, ("prm", "orm"))
    for flag, value in (("--max-steps", max_steps), ("--batch-size", batch_size), ("--lr", learning_rate),
                        ("--eval-steps", eval_steps), ("--max-length", max_length)):  # fmt: skip
        checks.positive(flag, value)
    checks.non_negative("--lm-loss-weight", lm_loss_weight)
    checks.known("--head-inputs", head_inputs, HEAD_INPUTS)
    if not 0.0 < val_fraction < 1.0:
        raise BonError(f"--val-fraction must be in (0, 1), got {val_fraction}")
    if val_aggregation is not None:
        checks.aggregation("--val-aggregation", val_aggregation)
    try:
        if not source.startswith("run:"):
            parse_spec(source)  # a bad spec fails here, before Prefect and MLflow start
        base_dir = resolve_base_model(base)
    except ValueError as exc:
        raise BonError(str(exc)) from exc
    name = None if no_register else register or (f"bon-{base}-{kind}" if base in NAMED_BASES else None)
    stored = ([source[4:]] if source.startswith("run:") else []) + ([validation_run] if validation_run else [])
    # before Prefect is imported; the runs must be in the store
    settings = flow_environment(config, lambda url: [checks.stored_run(url, name) for name in stored])
    from flows.cli.progress_ui import progress_bars
    from flows.train import train_prm_flow

    try:
        train_config = PRMTrainConfig(
            max_steps=max_steps, batch_size=batch_size, learning_rate=learning_rate, eval_steps=eval_steps,
            val_fraction=val_fraction, freeze_layers=freeze_layers, group_by_length=group_by_length, seed=seed,
            mask_after_first_error=mask_after_first_error, lm_loss_weight=lm_loss_weight,
        )  # fmt: skip
        spec = PRMSpec(max_length=max_length, head=HeadConfig(inputs=head_inputs))
        with progress_bars():
            trained = train_prm_flow(
                source, str(base_dir), str(out), kind=kind, database_url=settings.database_url, register_as=name,
                validation_run=validation_run, val_aggregation=val_aggregation, config=train_config, spec=spec,
            )  # fmt: skip
    except ValueError as exc:
        raise BonError(str(exc)) from exc
    if trained.resumed_from_step is not None:
        console.print(f"resumed from the checkpoint at step {trained.resumed_from_step} (in {out}.checkpoints)")
    where = f", registered as {trained.registered_name} v{trained.registered_version}" if name else ""
    val = f", best@N {trained.val_best_at_n:.3f} on {validation_run}" if trained.val_best_at_n is not None else ""
    console.print(
        f"saved {kind} to {out}: best val step AUROC {trained.best_val_auroc:.3f}{val}{where}; "
        f"took {trained.seconds:.0f} s (load, train, save, log)",
        soft_wrap=True,
    )
    if name:
        from flows.cli.environment import print_promotion

        print_promotion(trained.registered_name, trained.registered_version)


@app.command("score-steps")
def score_steps_command(
    model: str = typer.Argument(..., help="PRM directory."),
    problem: str = typer.Option(..., "--problem", help="Problem text."),
    steps: list[str] = typer.Option(..., "--step", help="One reasoning step (repeat for each step)."),
    format: str = typer.Option("bon", "--format", help="bon or a published format (qwen-prm, math-shepherd, ...)."),
) -> None:
    """Print the PRM's score for every step of one solution."""
    from bon_core.prm import load_prm

    try:
        prm = load_prm(model, format=format)
        (scores,) = prm.score([problem], [list(steps)])
    except (ValueError, OSError) as exc:
        raise BonError(str(exc)) from exc
    for index, (step, score) in enumerate(zip(steps, scores, strict=True)):
        typer.echo(f"{index}\t{score:.4f}\t{step}")  # tab-separated, for scripts
