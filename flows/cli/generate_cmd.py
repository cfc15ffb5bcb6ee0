"""``bon train-policy`` (the demo policy) and ``bon generate`` (sample candidates and show their checked steps)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer

from bon_core.generation.policy import PolicyTrainConfig
from bon_core.types import GenerationConfig
from flows.cli.app import BonError, app, console
from flows.cli.options import option


@app.command("train-policy")
def train_policy_cmd(
    task: str = typer.Option("arith", help="Task whose gold solutions the policy learns."),
    out: Path = typer.Option(..., help="Directory to write the model and tokenizer to (rerun resumes)."),
    quick: bool = typer.Option(False, "--quick", help="Small, fast budget (< 1 min on a free CPU)."),
    max_steps: int | None = typer.Option(None, help="Override the number of optimiser steps."),
    seed: int = option(PolicyTrainConfig, "seed"),
) -> None:
    """Train the tiny demo policy and print its greedy accuracy on held-out problems."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from bon_core.generation.policy import train_policy
    from bon_core.tasks import get_task

    try:
        task_obj = get_task(task)
    except ValueError as exc:
        raise BonError(str(exc)) from exc
    overrides = {"seed": seed, **({"max_steps": max_steps} if max_steps else {})}
    config = PolicyTrainConfig.quick(**overrides) if quick else PolicyTrainConfig(**overrides)
    columns = (
        TextColumn("training"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} loss {task.fields[loss]}"),
    )
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task("train", total=config.max_steps, loss="-")

        def update(step: int, total: int, loss: float | None) -> None:
            progress.update(bar, completed=step, total=total, loss=f"{loss:.3f}" if loss is not None else "-")

        report = train_policy(task_obj, out, config, progress=update)
    console.print(
        f"[bold]greedy accuracy[/] {report.greedy_accuracy:.1%} (process {report.process_accuracy:.1%}) on "
        f"{report.num_eval} held-out problems; {report.train_steps} steps in {report.train_seconds:.0f}s; "
        f"model in {report.out_dir}"
    )


@app.command("generate")
def generate_cmd(
    task: str = typer.Option("arith", help="Task to sample problems from."),
    policy: str = typer.Option(..., help="Local model directory (or a Hub id already in the local cache)."),
    n: int = typer.Option(8, "-n", help="Samples per problem."),
    limit: int = typer.Option(20, help="Number of problems."),
    split: str = typer.Option("test", help="Problem split."),
    temperature: float = option(GenerationConfig, "temperature"),
    top_p: float = option(GenerationConfig, "top_p"),
    max_new_tokens: int = option(GenerationConfig, "max_new_tokens", default=96),
    seed: int = option(GenerationConfig, "seed"),
    out: Path | None = typer.Option(None, help="Write candidates as JSONL here instead of printing them."),
    run: str | None = typer.Option(
        None, "--run", help="Store the candidates in the store as this run (through the generate flow; resumable)."
    ),
    batch_size: int = option(GenerationConfig, "batch_size", default=512),
    shard_size: int = typer.Option(32, help="Problems per mapped generation task (with --run)."),
    config: Path | None = typer.Option(None, "--config", help="A bon.toml to read.", show_default=False),
) -> None:
    """Sample N candidates per problem from a policy and show their steps and correctness (or write JSONL, or
    store them as a run with --run)."""
    from flows.cli import checks

    checks.task(task)
    for flag, value in (("-n", n), ("--limit", limit), ("--max-new-tokens", max_new_tokens),
                        ("--batch-size", batch_size), ("--shard-size", shard_size)):  # fmt: skip
        checks.positive(flag, value)
    checks.non_negative("--temperature", temperature)
    if not 0.0 < top_p <= 1.0:
        raise BonError(f"--top-p must be in (0, 1], got {top_p}")
    checks.model_reference("--policy", policy, fmt="hf")  # a directory or a Hub id (train one: bon train-policy)
    try:
        gen_config = GenerationConfig(
            temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed, batch_size=batch_size
        )
    except ValueError as exc:
        raise BonError(str(exc)) from exc
    if run is not None:
        _generate_into_store(run, task, policy, n, limit, split, gen_config, shard_size, config)
        return
    from rich.table import Table

    from bon_core.generation import candidates_for, get_backend
    from bon_core.tasks import get_task

    try:
        task_obj = get_task(task)
        backend = get_backend("hf", model=policy)
        problems = task_obj.load(split, limit=limit)
    except ValueError as exc:
        raise BonError(str(exc)) from exc
    with console.status(f"sampling {n} x {len(problems)} candidates"):
        samples = backend.generate([task_obj.format_prompt(p) for p in problems], n, gen_config)
    pools = [candidates_for(p, s, task_obj) for p, s in zip(problems, samples, strict=True)]
    if out is not None:
        with out.open("w") as fh:
            for problem, pool in zip(problems, pools, strict=True):
                for c in pool:
                    fh.write(json.dumps({"question": problem.question, "reference": problem.reference, **asdict(c)}))
                    fh.write("\n")
        console.print(f"wrote {sum(len(p) for p in pools)} candidates to {out}")
    else:
        for problem, pool in zip(problems, pools, strict=True):
            table = Table(title=f"{problem.question} = {problem.reference}", show_lines=True, title_justify="left")
            for column in ("#", "steps", "answer", "ok", "logp"):
                table.add_column(column)
            for c in pool:
                steps = "\n".join(
                    f"[{'green' if s.label == 'correct' else 'red'}]{s.text}[/]" if s.label else s.text for s in c.steps
                )
                table.add_row(
                    str(c.sample_index), steps, str(c.answer), "✓" if c.correct else "✗", f"{c.mean_logprob:.2f}"
                )
            console.print(table)
    correct = [sum(bool(c.correct) for c in pool) / max(len(pool), 1) for pool in pools]
    covered = sum(any(c.correct for c in pool) for pool in pools)
    console.print(
        f"mean accuracy per sample {sum(correct) / max(len(correct), 1):.1%}; pass@{n} {covered}/{len(pools)}"
    )


def _generate_into_store(
    run: str, task: str, policy: str, n: int, limit: int, split: str, generation: GenerationConfig, shard_size: int,
    config: Path | None,
) -> None:  # fmt: skip
    from flows.cli.environment import flow_environment

    settings = flow_environment(config)
    from db import reads
    from flows.cli.progress_ui import progress_bars
    from flows.generate import run_generate
    from flows.store import transaction

    try:
        with progress_bars():
            run_id = run_generate(
                database_url=settings.database_url, run_name=run, task_name=task, policy=policy,
                n=n, split=split, limit=limit, generation=generation, shard_size=shard_size,
            )  # fmt: skip
    except ValueError as exc:
        raise BonError(str(exc)) from None
    with transaction(settings.database_url) as session:
        candidates = reads.load_candidates(session, run_id)
    correct = sum(bool(c.correct) for c in candidates)
    console.print(f"run {run!r}: {len(candidates)} candidates stored; {correct / max(len(candidates), 1):.1%} correct")
