"""``bon bench``: bon against the naive way, timed side by side.

:mod:`benchmarks` is imported inside the command only: the command line does not depend on it otherwise."""

from __future__ import annotations

import typer

from flows.cli.app import BonError, app, console


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
