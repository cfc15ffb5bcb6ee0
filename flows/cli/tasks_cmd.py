"""``bon tasks``: list the registered reasoning tasks and show parsed problems with their reference answers."""

from __future__ import annotations

from pathlib import Path

import typer

from flows.cli.app import BonError, app, console

tasks_app = typer.Typer(help="Reasoning tasks: list them, show parsed problems.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")


def _shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def plain_docstring(text: str) -> str:
    """The first line of a docstring without reST markup: ``code`` -> code, :role:`target` -> target, and a
    leading ``name: `` (a module docstring naming its subject) dropped."""
    import re

    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    line = re.sub(r":\w+:`~?([^`]+)`", r"\1", line)
    line = re.sub(r"``([^`]+)``", r"\1", line)
    return re.sub(r"^\w+: ", "", line)


def _description(task) -> str:
    """A task's ``description``, else the first line of its module's docstring (what the task is), as plain text."""
    import sys

    described = getattr(task, "description", None)
    if described:
        return described
    module = sys.modules.get(type(task).__module__)
    return plain_docstring((module.__doc__ if module else None) or type(task).__doc__ or "")


@tasks_app.command("list")
def list_tasks() -> None:
    """List the task names with a one-line description each."""
    from rich.table import Table
    from rich.text import Text

    from bon_core.tasks import TASK_NAMES, get_task

    table = Table(title="bon tasks")
    table.add_column("name", style="bold")
    table.add_column("description")
    for name in TASK_NAMES:
        try:
            task = get_task(name)
            description = _description(task)
        except Exception as exc:  # noqa: BLE001 - one broken task must not hide the others
            description = f"(unavailable: {exc})"
        table.add_row(name, Text(description))
    console.print(table)


@tasks_app.command("show")
def show_task(
    name: str = typer.Argument(..., help="Task name (see `bon tasks list`)."),
    limit: int = typer.Option(3, "--limit", "-n", min=1, help="How many problems to show."),
    split: str = typer.Option("test", "--split", help="Which split to load."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Folder with the task's data files."),
    width: int = typer.Option(90, "--width", help="Truncate questions and answers to this many characters."),
) -> None:
    """Show the first problems of a task as parsed: id, question and reference answer."""
    from rich.table import Table
    from rich.text import Text

    from bon_core.tasks import get_task

    options = {"data_dir": data_dir} if data_dir is not None else {}
    try:
        task = get_task(name, **options)
        problems = task.load(split=split, limit=limit)
    except (ValueError, FileNotFoundError, TypeError) as exc:
        raise BonError(str(exc)) from exc
    table = Table(title=f"{name} ({split}): first {len(problems)} problems")
    table.add_column("id", style="bold", no_wrap=True)
    table.add_column("question")
    table.add_column("reference answer", style="green")
    for problem in problems:
        # Text, not markup: a question's "\[" or "[b]" is LaTeX or data, printed as is.
        table.add_row(
            Text(problem.source_id), Text(_shorten(problem.question, width)), Text(_shorten(problem.reference, width))
        )
    console.print(table)
