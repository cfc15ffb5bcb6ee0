"""``bon train-prm`` (train a PRM or ORM on a step-labelled data file) and ``bon score-steps`` (score one solution)."""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli.app import BonError, app, console


@app.command("train-prm")
def train_prm_command(
    data: str = typer.Argument(..., help="Step-labelled data as FORMAT:PATH (e.g. trl:data/train.jsonl)."),
    base: str = typer.Option(..., "--base", help="Base model directory (any AutoModel checkpoint) or 'minilm'."),
    out: Path = typer.Option(..., "--out", help="Directory to save the trained PRM to."),
    kind: str = typer.Option("prm", "--kind", help="prm (step labels) or orm (final-answer label only)."),
    max_steps: int = typer.Option(300, "--max-steps", help="Optimizer steps."),
    batch_size: int = typer.Option(8, "--batch-size"),
    learning_rate: float = typer.Option(5e-5, "--lr"),
    eval_steps: int = typer.Option(50, "--eval-steps", help="Steps between validation AUROC checks."),
    limit: int = typer.Option(0, "--limit", help="Use only the first N records (0 = all)."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Train a PRM/ORM with early stopping on validation step AUROC and save it in the bon format."""
    from rich.progress import Progress

    from bon_core.prm import PRMTrainConfig, from_labelled_solution, train_prm
    from bon_core.prm.bases import resolve_base_model
    from bon_core.stepdata import read_labelled

    try:
        config = PRMTrainConfig(
            kind=kind, max_steps=max_steps, batch_size=batch_size, learning_rate=learning_rate,
            eval_steps=eval_steps, seed=seed,
        )  # fmt: skip
        records = read_labelled(data)
        base_dir = resolve_base_model(base)
    except (ValueError, OSError) as exc:
        raise BonError(str(exc)) from exc
    if limit:
        records = records[:limit]
    if not records:
        raise BonError(f"{data}: no step-labelled records found")
    examples = [from_labelled_solution(r) for r in records]
    with Progress(console=console) as progress:
        task = progress.add_task(f"training {kind}", total=max_steps)

        def on_log(step: int, total: int, logs: dict) -> None:
            auroc = logs.get("eval_auroc")
            note = f" val AUROC {auroc:.3f}" if auroc is not None else ""
            progress.update(task, completed=step, total=total, description=f"training {kind}{note}")

        prm, report = train_prm(examples, config, base_dir, on_log=on_log)
    prm.save_pretrained(out)
    console.print(
        f"saved {kind} to {out}: {report.steps} steps in {report.seconds:.0f}s, best val step AUROC "
        f"{report.best_val_auroc:.3f} ({report.train_examples} train / {report.val_examples} val examples, "
        f"{report.dropped_examples} too long)"
    )


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
